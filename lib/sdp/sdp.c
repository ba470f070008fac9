/*
 * sdp — parse and build the SDP subset of DESIGN §2 (RFC 4566 §5: v o s c t m a; RFC 3264 offer/answer direction
 * attributes; RFC 4568 §9.1 a=crypto with the "kms:" key-method extension that §9.1's grammar allows).
 *
 * Parsing is a single pass over lines ("<letter>=<value>", CRLF or bare LF), every field a slice into the body. Lines
 * of types mihua does not use (i u e p b r z k) are skipped; unknown attributes are kept per media so an answer can
 * echo them. Every array is bounded by a named limit and every loop by the body length, so a hostile body costs at
 * most SDP_MAX_LINES lines of work and is refused with a line number and a reason.
 *
 * Trade-offs: only the first key-param of an a=crypto line is decoded (RFC 4568 allows several for key rollover,
 * which mihua never sends); fields separated by several spaces are accepted although RFC 4566 asks for one.
 */
#include "sdp/sdp.h"
#include "sip/sip_wr.h"

#include <stdio.h>
#include <string.h>

#define SDP_MAX_NTP_DIGITS 20 /* a 64-bit NTP seconds value */

typedef struct {
    sdp_session_t *s;
    sdp_media_t *m; /* current media section, NULL at session level */
    int line;
} sdp_ctx_t;

static sdp_err_t sdp_fail(sdp_ctx_t *c, sdp_err_t err, const char *why)
{
    c->s->err_line = c->line;
    c->s->err_reason = why;
    return err;
}

/* Next space-separated field of *rest; false at the end. */
static bool sdp_field(sip_str_t *rest, sip_str_t *f)
{
    int i = 0;
    while (i < rest->len && rest->s[i] == ' ')
        i++;
    int st = i;
    while (i < rest->len && rest->s[i] != ' ')
        i++;
    if (i == st)
        return false;
    *f = (sip_str_t){rest->s + st, i - st};
    *rest = (sip_str_t){rest->s + i, rest->len - i};
    return true;
}

static bool sdp_rest_empty(sip_str_t rest)
{
    for (int i = 0; i < rest.len; i++)
        if (rest.s[i] != ' ')
            return false;
    return true;
}

static sdp_err_t sdp_parse_conn(sdp_ctx_t *c, sip_str_t v, sdp_conn_t *conn)
{
    if (!sdp_field(&v, &conn->nettype) || !sdp_field(&v, &conn->addrtype) || !sdp_field(&v, &conn->addr) ||
        !sdp_rest_empty(v))
        return sdp_fail(c, SDP_E_CONNECTION, "malformed c= line");
    return SDP_OK;
}

static sdp_err_t sdp_parse_origin(sdp_ctx_t *c, sip_str_t v)
{
    sdp_origin_t *o = &c->s->origin;
    if (!sdp_field(&v, &o->username) || !sdp_field(&v, &o->sess_id) || !sdp_field(&v, &o->sess_version))
        return sdp_fail(c, SDP_E_ORIGIN, "malformed o= line");
    if (sdp_parse_conn(c, v, &o->conn) != SDP_OK)
        return sdp_fail(c, SDP_E_ORIGIN, "malformed o= line");
    return SDP_OK;
}

/* NTP seconds (RFC 4566 §5.9): decimal digits; kept as text, so no 2036 wrap. */
static bool sdp_is_ntp(sip_str_t f)
{
    if (f.len < 1 || f.len > SDP_MAX_NTP_DIGITS)
        return false;
    for (int i = 0; i < f.len; i++)
        if (f.s[i] < '0' || f.s[i] > '9')
            return false;
    return true;
}

static sdp_err_t sdp_parse_timing(sdp_ctx_t *c, sip_str_t v)
{
    if (!sdp_field(&v, &c->s->t_start) || !sdp_field(&v, &c->s->t_stop) || !sdp_rest_empty(v) ||
        !sdp_is_ntp(c->s->t_start) || !sdp_is_ntp(c->s->t_stop))
        return sdp_fail(c, SDP_E_TIMING, "malformed t= line");
    return SDP_OK;
}

static sdp_err_t sdp_parse_media(sdp_ctx_t *c, sip_str_t v)
{
    if (c->s->nmedia >= SDP_MAX_MEDIA)
        return sdp_fail(c, SDP_E_TOO_MANY, "too many m= lines");
    sdp_media_t *m = &c->s->media[c->s->nmedia];
    memset(m, 0, sizeof *m);
    sip_str_t port;
    if (!sdp_field(&v, &m->type) || !sdp_field(&v, &port) || !sdp_field(&v, &m->proto))
        return sdp_fail(c, SDP_E_MEDIA, "malformed m= line");
    for (int i = 0; i < port.len; i++) /* <port>/<number of ports> */
        if (port.s[i] == '/')
            port.len = i;
    if (sip_str_to_u32(port, 65535, &m->port) < 0)
        return sdp_fail(c, SDP_E_MEDIA, "bad m= port");
    sip_str_t f;
    while (sdp_field(&v, &f)) {
        if (m->nfmt >= SDP_MAX_FMTS)
            return sdp_fail(c, SDP_E_TOO_MANY, "too many formats on m= line");
        m->fmts[m->nfmt++] = f;
    }
    if (m->nfmt == 0)
        return sdp_fail(c, SDP_E_MEDIA, "m= line without formats");
    c->m = m;
    c->s->nmedia++;
    return SDP_OK;
}

/* rtpmap:<pt> <encoding>/<clock>[/<params>] */
static sdp_err_t sdp_parse_rtpmap(sdp_ctx_t *c, sip_str_t v)
{
    sdp_media_t *m = c->m;
    if (m->nrtpmap >= SDP_MAX_RTPMAP)
        return sdp_fail(c, SDP_E_TOO_MANY, "too many a=rtpmap lines");
    sdp_rtpmap_t *r = &m->rtpmap[m->nrtpmap];
    sip_str_t pt, enc;
    if (!sdp_field(&v, &pt) || !sdp_field(&v, &enc) || !sdp_rest_empty(v) || sip_str_to_u32(pt, 127, &r->pt) < 0)
        return sdp_fail(c, SDP_E_RTPMAP, "malformed a=rtpmap");
    int s1 = -1, s2 = -1;
    for (int i = 0; i < enc.len; i++) {
        if (enc.s[i] != '/')
            continue;
        if (s1 < 0)
            s1 = i;
        else if (s2 < 0)
            s2 = i;
    }
    if (s1 <= 0)
        return sdp_fail(c, SDP_E_RTPMAP, "malformed a=rtpmap");
    r->encoding = (sip_str_t){enc.s, s1};
    int cend = s2 < 0 ? enc.len : s2;
    if (sip_str_to_u32((sip_str_t){enc.s + s1 + 1, cend - s1 - 1}, UINT32_MAX, &r->clock) < 0)
        return sdp_fail(c, SDP_E_RTPMAP, "bad a=rtpmap clock rate");
    r->params = s2 < 0 ? SIP_STR_NULL : (sip_str_t){enc.s + s2 + 1, enc.len - s2 - 1};
    m->nrtpmap++;
    return SDP_OK;
}

static bool sdp_is_suite_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
}

/* crypto:<tag> <suite> <key-params> [<session-params>]; key-param = key-method ":" key-info. */
static sdp_err_t sdp_parse_crypto(sdp_ctx_t *c, sip_str_t v)
{
    sdp_media_t *m = c->m;
    if (m->ncrypto >= SDP_MAX_CRYPTO)
        return sdp_fail(c, SDP_E_TOO_MANY, "too many a=crypto lines");
    sdp_crypto_t *k = &m->crypto[m->ncrypto];
    memset(k, 0, sizeof *k);
    sip_str_t tag;
    if (!sdp_field(&v, &tag) || tag.len > 9 || sip_str_to_u32(tag, 999999999, &k->tag) < 0 ||
        !sdp_field(&v, &k->suite) || !sdp_field(&v, &k->key_params))
        return sdp_fail(c, SDP_E_CRYPTO, "malformed a=crypto");
    for (int i = 0; i < k->suite.len; i++)
        if (!sdp_is_suite_char(k->suite.s[i]))
            return sdp_fail(c, SDP_E_CRYPTO, "bad a=crypto suite");
    int colon = -1, semi = 0;
    while (semi < k->key_params.len && k->key_params.s[semi] != ';')
        semi++;
    for (int i = 0; i < semi; i++)
        if (k->key_params.s[i] == ':') {
            colon = i;
            break;
        }
    if (colon <= 0 || colon == semi - 1)
        return sdp_fail(c, SDP_E_CRYPTO, "bad a=crypto key-params");
    k->method_str = (sip_str_t){k->key_params.s, colon};
    k->key_info = (sip_str_t){k->key_params.s + colon + 1, semi - colon - 1};
    k->method = sip_str_eq(k->method_str, "kms")      ? SDP_KEY_KMS
                : sip_str_eq(k->method_str, "inline") ? SDP_KEY_INLINE
                                                      : SDP_KEY_OTHER;
    int i = 0;
    while (i < v.len && v.s[i] == ' ')
        i++;
    if (i < v.len)
        k->session_params = (sip_str_t){v.s + i, v.len - i};
    m->ncrypto++;
    return SDP_OK;
}

static sdp_dir_t sdp_dir_from(sip_str_t a)
{
    if (sip_str_eq(a, "sendrecv"))
        return SDP_DIR_SENDRECV;
    if (sip_str_eq(a, "sendonly"))
        return SDP_DIR_SENDONLY;
    if (sip_str_eq(a, "recvonly"))
        return SDP_DIR_RECVONLY;
    if (sip_str_eq(a, "inactive"))
        return SDP_DIR_INACTIVE;
    return SDP_DIR_NONE;
}

static sdp_err_t sdp_parse_attr(sdp_ctx_t *c, sip_str_t v)
{
    int colon = 0;
    while (colon < v.len && v.s[colon] != ':')
        colon++;
    sip_str_t name = {v.s, colon};
    sip_str_t val = colon < v.len ? (sip_str_t){v.s + colon + 1, v.len - colon - 1} : SIP_STR_NULL;
    sdp_dir_t dir = val.s ? SDP_DIR_NONE : sdp_dir_from(name);
    if (dir != SDP_DIR_NONE) {
        if (c->m)
            c->m->dir = dir;
        else
            c->s->dir = dir;
        return SDP_OK;
    }
    if (!c->m)
        return SDP_OK; /* other session-level attributes are not used by mihua */
    if (sip_str_eq(name, "rtpmap") && val.s)
        return sdp_parse_rtpmap(c, val);
    if (sip_str_eq(name, "crypto") && val.s)
        return sdp_parse_crypto(c, val);
    if (c->m->nattr >= SDP_MAX_ATTRS)
        return sdp_fail(c, SDP_E_TOO_MANY, "too many a= lines");
    c->m->attrs[c->m->nattr++] = v;
    return SDP_OK;
}

static sdp_err_t sdp_parse_line(sdp_ctx_t *c, char type, sip_str_t v)
{
    if (c->line == 1)
        return type == 'v' && sip_str_eq(v, "0") ? SDP_OK : sdp_fail(c, SDP_E_VERSION, "first line is not v=0");
    switch (type) {
    case 'o':
        return c->m ? SDP_OK : sdp_parse_origin(c, v);
    case 's':
        if (!c->m)
            c->s->name = v;
        return SDP_OK;
    case 'c':
        return sdp_parse_conn(c, v, c->m ? &c->m->conn : &c->s->conn);
    case 't':
        return c->m ? SDP_OK : sdp_parse_timing(c, v);
    case 'm':
        return sdp_parse_media(c, v);
    case 'a':
        return sdp_parse_attr(c, v);
    default:
        return SDP_OK;
    }
}

sdp_err_t sdp_parse(sdp_session_t *s, const char *body, int len)
{
    if (!s)
        return SDP_E_ARG;
    memset(s, 0, sizeof *s);
    sdp_ctx_t c = {s, NULL, 0};
    if (!body || len <= 0)
        return sdp_fail(&c, SDP_E_ARG, "empty SDP");
    if (len > SDP_MAX_SIZE)
        return sdp_fail(&c, SDP_E_TOO_BIG, "SDP too large");
    int pos = 0;
    while (pos < len) {
        const char *lf = memchr(body + pos, '\n', (size_t)(len - pos));
        int end = lf ? (int)(lf - body) : len, next = lf ? end + 1 : len;
        if (end > pos && body[end - 1] == '\r')
            end--;
        c.line++;
        if (c.line > SDP_MAX_LINES)
            return sdp_fail(&c, SDP_E_TOO_MANY, "too many SDP lines");
        if (end - pos < 2 || body[pos] < 'a' || body[pos] > 'z' || body[pos + 1] != '=' ||
            memchr(body + pos, '\0', (size_t)(end - pos)))
            return sdp_fail(&c, SDP_E_SYNTAX, "malformed SDP line");
        sdp_err_t e = sdp_parse_line(&c, body[pos], (sip_str_t){body + pos + 2, end - pos - 2});
        if (e != SDP_OK)
            return e;
        pos = next;
    }
    if (!s->origin.username.s)
        return sdp_fail(&c, SDP_E_ORIGIN, "missing o= line");
    if (!s->t_start.s)
        return sdp_fail(&c, SDP_E_TIMING, "missing t= line");
    return SDP_OK;
}

/* ---- building ---- */

#define SDP_S(x) (x).len, (x).s ? (x).s : ""

static void sdp_build_conn(sip_wr_t *w, const sdp_conn_t *c)
{
    if (c->addr.s)
        sip_wr_printf(w, "c=%.*s %.*s %.*s\r\n", SDP_S(c->nettype), SDP_S(c->addrtype), SDP_S(c->addr));
}

static void sdp_build_media(sip_wr_t *w, const sdp_media_t *m)
{
    sip_wr_printf(w, "m=%.*s %u %.*s", SDP_S(m->type), (unsigned)m->port, SDP_S(m->proto));
    for (int i = 0; i < m->nfmt; i++)
        sip_wr_printf(w, " %.*s", SDP_S(m->fmts[i]));
    sip_wr_printf(w, "\r\n");
    sdp_build_conn(w, &m->conn);
    for (int i = 0; i < m->nrtpmap; i++) {
        const sdp_rtpmap_t *r = &m->rtpmap[i];
        sip_wr_printf(w, "a=rtpmap:%u %.*s/%u", (unsigned)r->pt, SDP_S(r->encoding), (unsigned)r->clock);
        if (r->params.s)
            sip_wr_printf(w, "/%.*s", SDP_S(r->params));
        sip_wr_printf(w, "\r\n");
    }
    for (int i = 0; i < m->ncrypto; i++) {
        const sdp_crypto_t *k = &m->crypto[i];
        sip_wr_printf(w, "a=crypto:%u %.*s %.*s:%.*s", (unsigned)k->tag, SDP_S(k->suite), SDP_S(k->method_str),
                      SDP_S(k->key_info));
        if (k->session_params.s)
            sip_wr_printf(w, " %.*s", SDP_S(k->session_params));
        sip_wr_printf(w, "\r\n");
    }
    for (int i = 0; i < m->nattr; i++)
        sip_wr_printf(w, "a=%.*s\r\n", SDP_S(m->attrs[i]));
    if (m->dir != SDP_DIR_NONE)
        sip_wr_printf(w, "a=%s\r\n", sdp_dir_str(m->dir));
}

int sdp_build(const sdp_session_t *s, char *out, int cap)
{
    if (!s || !out || cap <= 0 || !s->origin.username.s || !s->origin.conn.addr.s)
        return -1;
    for (int i = 0; i < s->nmedia; i++)
        if (!s->media[i].type.s || !s->media[i].proto.s || s->media[i].nfmt == 0)
            return -1;
    sip_wr_t w = SIP_WR_INIT(out, cap);
    const sdp_origin_t *o = &s->origin;
    sip_wr_printf(&w, "v=0\r\no=%.*s %.*s %.*s %.*s %.*s %.*s\r\n", SDP_S(o->username), SDP_S(o->sess_id),
                  SDP_S(o->sess_version), SDP_S(o->conn.nettype), SDP_S(o->conn.addrtype), SDP_S(o->conn.addr));
    sip_wr_printf(&w, "s=%.*s\r\n", s->name.s ? s->name.len : 1, s->name.s ? s->name.s : "-");
    sdp_build_conn(&w, &s->conn);
    sip_wr_printf(&w, "t=%.*s %.*s\r\n", s->t_start.s ? s->t_start.len : 1, s->t_start.s ? s->t_start.s : "0",
                  s->t_stop.s ? s->t_stop.len : 1, s->t_stop.s ? s->t_stop.s : "0");
    if (s->dir != SDP_DIR_NONE)
        sip_wr_printf(&w, "a=%s\r\n", sdp_dir_str(s->dir));
    for (int i = 0; i < s->nmedia; i++)
        sdp_build_media(&w, &s->media[i]);
    return w.overflow ? -1 : w.n;
}

int sdp_media_add_crypto(sdp_media_t *m, uint32_t tag, const char *suite, sdp_key_method_t method, const char *key_info)
{
    if (!m || !suite || !key_info || m->ncrypto >= SDP_MAX_CRYPTO || tag == 0 || tag > 999999999 ||
        method == SDP_KEY_OTHER)
        return -1;
    sdp_crypto_t *k = &m->crypto[m->ncrypto++];
    memset(k, 0, sizeof *k);
    k->tag = tag;
    k->suite = sip_str_c(suite);
    k->method = method;
    k->method_str = sip_str_c(method == SDP_KEY_KMS ? "kms" : "inline");
    k->key_info = sip_str_c(key_info);
    return 0;
}

const sdp_crypto_t *sdp_answer_crypto(const sdp_media_t *m)
{
    return m && m->ncrypto == 1 ? &m->crypto[0] : NULL;
}

int sdp_crypto_select(const sdp_media_t *offer, const char *const *supported, int nsupported)
{
    if (!offer || !supported)
        return -1;
    for (int i = 0; i < offer->ncrypto; i++)
        for (int j = 0; j < nsupported; j++)
            if (supported[j] && sip_str_eq(offer->crypto[i].suite, supported[j]))
                return i;
    return -1;
}

const sdp_media_t *sdp_find_media(const sdp_session_t *s, const char *type)
{
    for (int i = 0; s && i < s->nmedia; i++)
        if (sip_str_eq(s->media[i].type, type))
            return &s->media[i];
    return NULL;
}

const char *sdp_dir_str(sdp_dir_t dir)
{
    switch (dir) {
    case SDP_DIR_SENDRECV:
        return "sendrecv";
    case SDP_DIR_SENDONLY:
        return "sendonly";
    case SDP_DIR_RECVONLY:
        return "recvonly";
    case SDP_DIR_INACTIVE:
        return "inactive";
    default:
        return "";
    }
}

const char *sdp_err_str(sdp_err_t err)
{
    static const char *const names[] = {
        [SDP_OK] = "ok",
        [SDP_E_ARG] = "invalid argument",
        [SDP_E_TOO_BIG] = "SDP too large",
        [SDP_E_SYNTAX] = "malformed SDP line",
        [SDP_E_VERSION] = "bad SDP version",
        [SDP_E_ORIGIN] = "bad o= line",
        [SDP_E_CONNECTION] = "bad c= line",
        [SDP_E_TIMING] = "bad t= line",
        [SDP_E_MEDIA] = "bad m= line",
        [SDP_E_RTPMAP] = "bad a=rtpmap",
        [SDP_E_CRYPTO] = "bad a=crypto",
        [SDP_E_TOO_MANY] = "SDP limit exceeded",
    };
    if ((size_t)err >= sizeof names / sizeof names[0] || !names[err])
        return "unknown error";
    return names[err];
}
