/*
 * http_digest_parse — the Authorization and WWW-Authenticate parameter lists of HTTP Digest (RFC 7616 §3.3, §3.4;
 * syntax of RFC 7235 §2.1: auth-param = token BWS "=" BWS (token / quoted-string), RFC 7230 §3.2.6 quoted-string
 * and quoted-pair, §7 lists that tolerate empty elements).
 *
 * One forward pass over a bounded buffer (DIGEST_MAX_HEADER_LEN), no recursion, no allocation. Values are
 * unescaped straight into fixed-size fields of the output struct; a value longer than its field is an error, never
 * silently truncated. Control characters (other than HTAB) are refused anywhere, so a parsed value can never carry
 * CR/LF into a later header. Each known parameter may appear once (a duplicate would let two components read two
 * different values); unknown parameters are skipped after their syntax is checked. auth-int, userhash and
 * username* are refused as malformed: mihua clients never need them and every extra mode is attack surface.
 * Only syntax is checked here; the server (http_digest_server.c) checks semantics.
 */
#include "kms/http_digest_int.h"

#include <string.h>
#include <strings.h>

#include "core/core_hex.h"

/* Scratch for small values we only inspect (userhash, stale). */
#define DG_SCRATCH_LEN DIGEST_MAX_TOKEN_LEN

static int dg_is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

typedef struct {
    const char *p;   /* next byte */
    const char *end; /* one past the last byte */
} dg_scan_t;

static void dg_skip_ows(dg_scan_t *sc)
{
    while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t'))
        sc->p++;
}

/* Reads a token; returns its length (0 = no token here). */
static size_t dg_scan_token(dg_scan_t *sc, const char **tok)
{
    *tok = sc->p;
    while (sc->p < sc->end && dg_is_tchar((unsigned char)*sc->p))
        sc->p++;
    return (size_t)(sc->p - *tok);
}

/* Appends one byte to a bounded destination; dst NULL = validate only. */
static int dg_put_byte(char *dst, size_t cap, size_t *n, char c)
{
    if (!dst)
        return 0;
    if (*n + 1 >= cap)
        return -1;
    dst[(*n)++] = c;
    return 0;
}

/* Byte allowed inside a quoted-string or after a backslash: HTAB, SP, VCHAR, obs-text (RFC 7230 §3.2.6). */
int dg_qd_ok(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* At the opening quote: unescapes into dst (cap includes the NUL). */
static int dg_scan_quoted(dg_scan_t *sc, char *dst, size_t cap)
{
    size_t n = 0;

    sc->p++;
    while (sc->p < sc->end) {
        unsigned char c = (unsigned char)*sc->p++;
        if (c == '"') {
            if (dst)
                dst[n] = '\0';
            return 0;
        }
        if (c == '\\') {
            if (sc->p >= sc->end)
                return -1;
            c = (unsigned char)*sc->p++;
        }
        if (!dg_qd_ok(c) || dg_put_byte(dst, cap, &n, (char)c) < 0)
            return -1;
    }
    return -1; /* unterminated */
}

static int dg_scan_value(dg_scan_t *sc, char *dst, size_t cap)
{
    if (sc->p < sc->end && *sc->p == '"')
        return dg_scan_quoted(sc, dst, cap);

    const char *tok;
    size_t len = dg_scan_token(sc, &tok);
    if (len == 0)
        return -1;
    if (!dst)
        return 0;
    if (len >= cap)
        return -1;
    memcpy(dst, tok, len);
    dst[len] = '\0';
    return 0;
}

/* Where the value of one named parameter goes. dst NULL = unknown parameter, skip it. */
typedef struct {
    char *dst;
    size_t cap;
    unsigned bit;
} dg_slot_t;

typedef dg_slot_t (*dg_lookup_fn)(void *out, const char *name, size_t len, char *scratch);

static int dg_name_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

#define DG_SLOT(field, b) ((dg_slot_t){(field), sizeof(field), (b)})
#define DG_SCRATCH(b) ((dg_slot_t){scratch, DG_SCRATCH_LEN + 1, (b)})

static dg_slot_t dg_auth_slot(void *out, const char *name, size_t len, char *scratch)
{
    digest_auth_t *a = out;
    if (dg_name_is(name, len, "username"))
        return DG_SLOT(a->username, DIGEST_P_USERNAME);
    if (dg_name_is(name, len, "realm"))
        return DG_SLOT(a->realm, DIGEST_P_REALM);
    if (dg_name_is(name, len, "nonce"))
        return DG_SLOT(a->nonce, DIGEST_P_NONCE);
    if (dg_name_is(name, len, "uri"))
        return DG_SLOT(a->uri, DIGEST_P_URI);
    if (dg_name_is(name, len, "response"))
        return DG_SLOT(a->response, DIGEST_P_RESPONSE);
    if (dg_name_is(name, len, "cnonce"))
        return DG_SLOT(a->cnonce, DIGEST_P_CNONCE);
    if (dg_name_is(name, len, "opaque"))
        return DG_SLOT(a->opaque, DIGEST_P_OPAQUE);
    if (dg_name_is(name, len, "algorithm"))
        return DG_SLOT(a->algorithm, DIGEST_P_ALGORITHM);
    if (dg_name_is(name, len, "qop"))
        return DG_SLOT(a->qop, DIGEST_P_QOP);
    if (dg_name_is(name, len, "nc"))
        return DG_SLOT(a->nc_text, DIGEST_P_NC);
    if (dg_name_is(name, len, "userhash"))
        return DG_SCRATCH(DIGEST_P_USERHASH);
    if (dg_name_is(name, len, "username*"))
        return DG_SCRATCH(DIGEST_P_USERNAME_EXT);
    return (dg_slot_t){NULL, 0, 0};
}

static dg_slot_t dg_challenge_slot(void *out, const char *name, size_t len, char *scratch)
{
    digest_challenge_t *c = out;
    if (dg_name_is(name, len, "realm"))
        return DG_SLOT(c->realm, DIGEST_P_REALM);
    if (dg_name_is(name, len, "nonce"))
        return DG_SLOT(c->nonce, DIGEST_P_NONCE);
    if (dg_name_is(name, len, "opaque"))
        return DG_SLOT(c->opaque, DIGEST_P_OPAQUE);
    if (dg_name_is(name, len, "algorithm"))
        return DG_SLOT(c->algorithm, DIGEST_P_ALGORITHM);
    if (dg_name_is(name, len, "qop"))
        return DG_SLOT(c->qop, DIGEST_P_QOP);
    if (dg_name_is(name, len, "stale"))
        return DG_SCRATCH(DIGEST_P_STALE);
    if (dg_name_is(name, len, "userhash"))
        return DG_SCRATCH(DIGEST_P_USERHASH);
    if (dg_name_is(name, len, "domain") || dg_name_is(name, len, "charset")) /* known, unused: still once only */
        return (dg_slot_t){NULL, 0, dg_name_is(name, len, "domain") ? DIGEST_P_DOMAIN : DIGEST_P_CHARSET};
    return (dg_slot_t){NULL, 0, 0};
}

/* Post-processing hook, called after each known parameter with the scratch value when one was used. */
typedef int (*dg_after_fn)(void *out, unsigned bit, const char *scratch);

static int dg_bool_value(const char *v, int *out)
{
    if (strcasecmp(v, "true") == 0)
        *out = 1;
    else if (strcasecmp(v, "false") == 0)
        *out = 0;
    else
        return -1;
    return 0;
}

static int dg_auth_after(void *out, unsigned bit, const char *scratch)
{
    digest_auth_t *a = out;
    if (bit == DIGEST_P_USERNAME_EXT)
        return -1; /* RFC 8187 extended username: not supported */
    if (bit == DIGEST_P_USERHASH)
        return dg_bool_value(scratch, &a->userhash);
    if (bit != DIGEST_P_NC)
        return 0;
    if (strlen(a->nc_text) != DIGEST_NC_LEN)
        return -1;
    uint8_t be[DIGEST_NC_LEN / 2];
    if (core_hex_decode(a->nc_text, DIGEST_NC_LEN, be, sizeof(be)) < 0)
        return -1;
    a->nc = (uint32_t)be[0] << 24 | (uint32_t)be[1] << 16 | (uint32_t)be[2] << 8 | be[3];
    return 0;
}

static int dg_challenge_after(void *out, unsigned bit, const char *scratch)
{
    digest_challenge_t *c = out;
    int ignored;
    if (bit == DIGEST_P_STALE) {
        c->stale = strcasecmp(scratch, "true") == 0; /* RFC 7616 §3.3: anything but "true" means false */
        return 0;
    }
    if (bit == DIGEST_P_USERHASH)
        return dg_bool_value(scratch, &ignored);
    if (bit == DIGEST_P_OPAQUE)
        c->has_opaque = 1;
    return 0;
}

/* Checks the "Digest" scheme and positions the scanner on the first parameter. */
static int dg_scan_scheme(dg_scan_t *sc)
{
    const char *tok;

    dg_skip_ows(sc);
    size_t len = dg_scan_token(sc, &tok);
    if (!dg_name_is(tok, len, DG_SCHEME))
        return -1;
    if (sc->p < sc->end && *sc->p != ' ' && *sc->p != '\t')
        return -1; /* "Digestfoo" or "Digest=" */
    return 0;
}

/*
 * The auth-param list after the scheme. `stop_at_scheme`: a token not followed by '=' starts another challenge
 * (RFC 7235 §4.1 allows several in one header) and ends this one; otherwise it is an error.
 */
static int dg_scan_params(dg_scan_t *sc, void *out, unsigned *present, dg_lookup_fn lookup, dg_after_fn after,
                          int stop_at_scheme)
{
    char scratch[DG_SCRATCH_LEN + 1];
    size_t count = 0;

    for (;;) {
        while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == ','))
            sc->p++;
        if (sc->p >= sc->end)
            return 0;

        const char *name;
        size_t name_len = dg_scan_token(sc, &name);
        if (name_len == 0 || ++count > DIGEST_MAX_PARAMS)
            return -1;
        /* "username*" is one parameter name: '*' is a tchar, so the token already includes it. */
        dg_skip_ows(sc);
        if (sc->p >= sc->end || *sc->p != '=') {
            if (stop_at_scheme && count > 1) {
                sc->p = name;
                return 0;
            }
            return -1;
        }
        sc->p++;
        dg_skip_ows(sc);

        dg_slot_t slot = lookup(out, name, name_len, scratch);
        if (slot.bit && (*present & slot.bit))
            return -1; /* duplicate */
        if (dg_scan_value(sc, slot.dst, slot.cap) < 0)
            return -1;
        if (slot.bit) {
            *present |= slot.bit;
            if (after(out, slot.bit, scratch) < 0)
                return -1;
        }

        dg_skip_ows(sc);
        if (sc->p < sc->end && *sc->p != ',')
            return -1; /* two values without a comma between them */
    }
}

int digest_parse_authorization(const char *value, size_t len, digest_auth_t *out)
{
    if (!value || !out || len > DIGEST_MAX_HEADER_LEN)
        return -1;
    memset(out, 0, sizeof(*out));

    dg_scan_t sc = {value, value + len};
    if (dg_scan_scheme(&sc) < 0 || dg_scan_params(&sc, out, &out->present, dg_auth_slot, dg_auth_after, 0) < 0) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return 0;
}

/* Whether a comma-separated qop list offers "auth". */
static int dg_qop_list_has_auth(const char *list)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        if ((size_t)(p - start) == strlen(DG_QOP) && strncasecmp(start, DG_QOP, strlen(DG_QOP)) == 0)
            return 1;
    }
    return 0;
}

/* The algorithm a challenge or an Authorization names, if it is in `algs`: 0, or -1. Absent means MD5. */
int dg_alg_of(unsigned present, const char *name, unsigned algs, digest_alg_t *alg)
{
    if (!(present & DIGEST_P_ALGORITHM) || strcasecmp(name, DG_ALGORITHM_MD5) == 0)
        *alg = DIGEST_MD5;
    else if (strcasecmp(name, DG_ALGORITHM) == 0)
        *alg = DIGEST_SHA256;
    else
        return -1;
    return algs & (1u << *alg) ? 0 : -1;
}

int digest_parse_challenge(const char *value, size_t len, digest_challenge_t *out)
{
    return digest_parse_challenge_alg(value, len, DIGEST_ALGS_SHA256, out);
}

int digest_parse_challenge_alg(const char *value, size_t len, unsigned algs, digest_challenge_t *out)
{
    if (!value || !out || len > DIGEST_MAX_HEADER_LEN)
        return -1;
    memset(out, 0, sizeof(*out));

    dg_scan_t sc = {value, value + len};
    int ok = dg_scan_scheme(&sc) == 0 &&
             dg_scan_params(&sc, out, &out->present, dg_challenge_slot, dg_challenge_after, 1) == 0 &&
             (out->present & DIGEST_P_REALM) && (out->present & DIGEST_P_NONCE) && out->nonce[0] &&
             dg_alg_of(out->present, out->algorithm, algs, &out->alg) == 0 && (out->present & DIGEST_P_QOP) &&
             dg_qop_list_has_auth(out->qop);
    if (!ok) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return 0;
}
