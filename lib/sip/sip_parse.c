/*
 * sip_parse — start line, lazy header scanning, body framing (RFC 3261 §7.1-§7.5, §18.3; RFC 3581).
 *
 * Design (after Kamailio's msg_parser.c): sip_msg_parse() reads only the start line. sip_parse_headers() then walks
 * header lines one at a time from where the last call stopped, parsing each known header's value as it meets it,
 * and stops as soon as every header the caller asked for has been seen. A proxy matching a transaction needs the
 * first Via and CSeq; it never pays for the rest. Headers that may repeat (Via, Contact, Route, ...) need the whole
 * section, so asking for one of them scans to the end.
 *
 * Lines end in CRLF; a bare LF is accepted too (robustness, as most stacks do). A line starting with SP or HTAB
 * continues the previous one (obsolete folding, §7.3.1); the folded CRLF stays inside the value slice and value
 * parsers treat it as white space, so no copy is needed. NUL bytes are refused anywhere before the body.
 *
 * Body (§18.3, §20.14): on a stream the frame is exactly headers + Content-Length (see sip_stream_frame()); on a
 * datagram a Content-Length larger than what arrived is an error, a smaller one cuts the body, and a missing one
 * means "the rest of the datagram".
 *
 * Trade-off: header values are parsed when their line is scanned, not when first read by the caller, so a malformed
 * header the caller never asked for is still reported if the scan had to pass it. That keeps the message struct
 * free of "parsed?" flags per header and makes errors deterministic for a given flag set.
 */
#include "sip/sip_msg.h"

#include "sip/sip_hdr.h"
#include "sip/sip_scan.h"

#include <string.h>

static sip_err_t sip_fail(sip_msg_t *msg, sip_err_t err, const char *reason)
{
    if (msg->err == SIP_OK) {
        msg->err = err;
        msg->err_reason = reason;
    }
    return msg->err;
}

static bool sip_has_nul(const char *p, int n)
{
    return n > 0 && memchr(p, '\0', (size_t)n) != NULL;
}

/*
 * Finds the end of the logical line starting at pos, including folded continuation lines. *end gets the index of
 * the terminator (CR of CRLF, or LF), *next the start of the following line. Returns 0, -1 when the buffer ends
 * before a terminator that is not followed by a continuation, -2 on a NUL byte.
 */
static int sip_logical_line(const char *buf, int len, int pos, int *end, int *next)
{
    int i = pos;
    for (;;) {
        const char *lf = memchr(buf + i, '\n', (size_t)(len - i));
        if (!lf)
            return sip_has_nul(buf + i, len - i) ? -2 : -1;
        int at = (int)(lf - buf);
        if (sip_has_nul(buf + i, at - i))
            return -2;
        if (at + 1 >= len)
            return -1; /* cannot tell whether a continuation follows; a complete message has an empty line next */
        if (at > pos && (buf[at + 1] == ' ' || buf[at + 1] == '\t')) {
            i = at + 1;
            continue;
        }
        *end = (at > pos && buf[at - 1] == '\r') ? at - 1 : at;
        *next = at + 1;
        return 0;
    }
}

/* True when the line at pos is empty (CRLF or LF); *next gets the start of what follows. */
static bool sip_empty_line(const char *buf, int len, int pos, int *next)
{
    if (pos < len && buf[pos] == '\n') {
        *next = pos + 1;
        return true;
    }
    if (pos + 1 < len && buf[pos] == '\r' && buf[pos + 1] == '\n') {
        *next = pos + 2;
        return true;
    }
    return false;
}

/* name HCOLON value. Returns 0 or -1. */
static int sip_split_header(const char *buf, int start, int end, sip_str_t *name, sip_str_t *body)
{
    int i = start;
    while (i < end && sip_is_token_char(buf[i]))
        i++;
    if (i == start)
        return -1;
    *name = (sip_str_t){buf + start, i - start};
    while (i < end && (buf[i] == ' ' || buf[i] == '\t'))
        i++;
    if (i >= end || buf[i] != ':')
        return -1;
    i++;
    *body = sip_trim((sip_str_t){buf + i, end - i});
    return 0;
}

/* ---- start line (§7.1 Request-Line, §7.2 Status-Line) ---- */

static int sip_next_sp(sip_str_t s, int from)
{
    for (int i = from; i < s.len; i++)
        if (s.s[i] == ' ')
            return i;
    return -1;
}

static sip_err_t sip_parse_status_line(sip_msg_t *msg, sip_str_t l)
{
    msg->is_request = false;
    int sp = sip_next_sp(l, 0);
    if (sp < 0 || !sip_str_ieq((sip_str_t){l.s, sp}, "SIP/2.0"))
        return sip_fail(msg, SIP_E_VERSION, "unsupported SIP version");
    uint32_t code;
    if (l.len < sp + 4 || sip_str_to_u32((sip_str_t){l.s + sp + 1, 3}, 699, &code) < 0 || code < 100)
        return sip_fail(msg, SIP_E_FIRST_LINE, "bad status code");
    msg->status = (int)code;
    int r = sp + 4;
    if (r < l.len && l.s[r] != ' ')
        return sip_fail(msg, SIP_E_FIRST_LINE, "bad status code");
    if (r < l.len)
        r++;
    msg->reason = (sip_str_t){l.s + r, l.len - r};
    return SIP_OK;
}

static sip_err_t sip_parse_request_line(sip_msg_t *msg, sip_str_t l)
{
    msg->is_request = true;
    int sp1 = sip_next_sp(l, 0);
    int sp2 = sp1 < 0 ? -1 : sip_next_sp(l, sp1 + 1);
    if (sp1 <= 0 || sp2 < 0 || sp2 == sp1 + 1 || sip_next_sp(l, sp2 + 1) >= 0)
        return sip_fail(msg, SIP_E_FIRST_LINE, "malformed Request-Line");
    msg->method_str = (sip_str_t){l.s, sp1};
    for (int i = 0; i < sp1; i++)
        if (!sip_is_token_char(l.s[i]))
            return sip_fail(msg, SIP_E_FIRST_LINE, "bad method");
    msg->method = sip_method_from_str(msg->method_str);
    if (!sip_str_ieq((sip_str_t){l.s + sp2 + 1, l.len - sp2 - 1}, "SIP/2.0"))
        return sip_fail(msg, SIP_E_VERSION, "unsupported SIP version");
    msg->ruri_raw = (sip_str_t){l.s + sp1 + 1, sp2 - sp1 - 1};
    if (sip_uri_parse(msg->ruri_raw, &msg->ruri) < 0)
        return sip_fail(msg, SIP_E_RURI, "bad Request-URI");
    return SIP_OK;
}

static void sip_msg_reset(sip_msg_t *msg, const char *buf, int len, sip_transport_t tp)
{
    memset(msg, 0, sizeof *msg);
    msg->buf = buf;
    msg->len = len;
    msg->transport = tp;
    msg->from.hdr = msg->to.hdr = -1;
    msg->call_id_hdr = msg->cseq_hdr = msg->max_forwards_hdr = -1;
    msg->expires_hdr = msg->content_length_hdr = -1;
    msg->max_forwards = msg->content_length = -1;
    msg->eoh = msg->body_off = -1;
}

sip_err_t sip_msg_parse(sip_msg_t *msg, const char *buf, size_t len, sip_transport_t tp)
{
    if (!msg)
        return SIP_E_ARG;
    sip_msg_reset(msg, buf, 0, tp);
    if (!buf)
        return sip_fail(msg, SIP_E_ARG, "no buffer");
    if (len > SIP_MAX_MSG_SIZE)
        return sip_fail(msg, SIP_E_TOO_BIG, "message too large");
    msg->len = (int)len;
    int pos = 0, next, end;
    while (sip_empty_line(buf, msg->len, pos, &next)) /* §7.5: ignore CRLFs before the start line */
        pos = next;
    const char *lf = memchr(buf + pos, '\n', (size_t)(msg->len - pos));
    if (!lf)
        return sip_fail(msg, sip_has_nul(buf + pos, msg->len - pos) ? SIP_E_NUL : SIP_E_TRUNCATED,
                        "incomplete start line");
    next = (int)(lf - buf) + 1;
    end = (next - 2 >= pos && buf[next - 2] == '\r') ? next - 2 : next - 1;
    if (sip_has_nul(buf + pos, end - pos))
        return sip_fail(msg, SIP_E_NUL, "NUL byte in start line");
    msg->first_line = (sip_str_t){buf + pos, end - pos};
    msg->scan = next;
    if (msg->first_line.len >= 4 && memcmp(msg->first_line.s, "SIP/", 4) == 0)
        return sip_parse_status_line(msg, msg->first_line);
    return sip_parse_request_line(msg, msg->first_line);
}

/* ---- header values ---- */

static sip_err_t sip_parse_via_list(sip_msg_t *msg, int h, sip_str_t body)
{
    sip_str_t rest = body, v;
    int rc;
    while ((rc = sip_list_next(&rest, &v)) == 1) {
        if (msg->nvia >= SIP_MAX_VIAS)
            return sip_fail(msg, SIP_E_TOO_MANY, "too many Via values");
        sip_via_t *via = &msg->via[msg->nvia];
        via->hdr = h;
        if (sip_hdr_parse_via(v, via) < 0)
            return sip_fail(msg, SIP_E_VIA, "malformed Via");
        msg->nvia++;
        msg->hdrs[h].nvalues++;
    }
    return rc < 0 || msg->hdrs[h].nvalues == 0 ? sip_fail(msg, SIP_E_VIA, "malformed Via") : SIP_OK;
}

static sip_err_t sip_parse_naddr_list(sip_msg_t *msg, int h, sip_str_t body, sip_naddr_t *arr, int *n, int max,
                                      sip_err_t err, const char *reason)
{
    bool contact = msg->hdrs[h].type == SIP_HDR_CONTACT;
    sip_str_t rest = body, v;
    int rc;
    while ((rc = sip_list_next(&rest, &v)) == 1) {
        if (*n >= max)
            return sip_fail(msg, SIP_E_TOO_MANY, "too many Contact/Route values");
        sip_naddr_t *na = &arr[*n];
        na->hdr = h;
        if (sip_hdr_parse_naddr(v, contact, na) < 0)
            return sip_fail(msg, err, reason);
        if (contact && *n > 0 && (na->star || arr[0].star))
            return sip_fail(msg, err, "Contact * must be the only Contact");
        (*n)++;
        msg->hdrs[h].nvalues++;
    }
    return rc < 0 || msg->hdrs[h].nvalues == 0 ? sip_fail(msg, err, reason) : SIP_OK;
}

static sip_err_t sip_parse_single_naddr(sip_msg_t *msg, int h, sip_str_t body, sip_naddr_t *na, sip_err_t err,
                                        const char *reason)
{
    if (na->hdr >= 0)
        return sip_fail(msg, SIP_E_DUPLICATE, "duplicate From or To");
    sip_str_t rest = body, v;
    if (sip_list_next(&rest, &v) != 1 || sip_trim(rest).len != 0)
        return sip_fail(msg, err, reason);
    na->hdr = h;
    if (sip_hdr_parse_naddr(v, false, na) < 0)
        return sip_fail(msg, err, reason);
    return SIP_OK;
}

static sip_err_t sip_parse_tokens(sip_msg_t *msg, sip_str_t body, sip_tokens_t *t)
{
    sip_str_t rest = body, v, tok;
    int rc;
    while ((rc = sip_list_next(&rest, &v)) == 1) {
        if (t->n >= SIP_MAX_TOKENS)
            return sip_fail(msg, SIP_E_TOO_MANY, "too many option tags or methods");
        if (sip_take_token(v, &tok) != v.len)
            return sip_fail(msg, SIP_E_HEADER, "malformed option tag or method list");
        t->items[t->n++] = tok;
    }
    return rc < 0 ? sip_fail(msg, SIP_E_HEADER, "malformed option tag or method list") : SIP_OK;
}

static sip_err_t sip_parse_warnings(sip_msg_t *msg, sip_str_t body)
{
    sip_str_t rest = body, v;
    int rc;
    while ((rc = sip_list_next(&rest, &v)) == 1) {
        if (msg->nwarning >= SIP_MAX_WARNINGS)
            return sip_fail(msg, SIP_E_TOO_MANY, "too many Warning values");
        if (sip_hdr_parse_warning(v, &msg->warning[msg->nwarning]) < 0)
            return sip_fail(msg, SIP_E_HEADER, "malformed Warning");
        msg->nwarning++;
    }
    return rc < 0 ? sip_fail(msg, SIP_E_HEADER, "malformed Warning") : SIP_OK;
}

/* delta-seconds; values above 2**32-1 saturate (RFC 3261 §20.19 / §10.2.1.1 leave the size unbounded). */
static int sip_delta_seconds(sip_str_t s, uint32_t *out)
{
    if (s.len <= 0)
        return -1;
    uint64_t v = 0;
    for (int i = 0; i < s.len; i++) {
        if (!sip_is_digit(s.s[i]))
            return -1;
        v = v * 10 + (uint64_t)(s.s[i] - '0');
        if (v > UINT32_MAX)
            v = UINT32_MAX;
    }
    *out = (uint32_t)v;
    return 0;
}

static bool sip_has_inner_lws(sip_str_t s)
{
    for (int i = 0; i < s.len; i++)
        if (sip_is_lws(s.s[i]))
            return true;
    return false;
}

static sip_err_t sip_parse_single(sip_msg_t *msg, int h, sip_str_t b)
{
    uint32_t u;
    switch (msg->hdrs[h].type) {
    case SIP_HDR_CALL_ID:
        if (msg->call_id_hdr >= 0)
            return sip_fail(msg, SIP_E_DUPLICATE, "duplicate Call-ID");
        if (b.len == 0 || sip_has_inner_lws(b))
            return sip_fail(msg, SIP_E_CALL_ID, "malformed Call-ID");
        msg->call_id = b;
        msg->call_id_hdr = h;
        return SIP_OK;
    case SIP_HDR_CSEQ:
        if (msg->cseq_hdr >= 0)
            return sip_fail(msg, SIP_E_DUPLICATE, "duplicate CSeq");
        if (sip_hdr_parse_cseq(b, &msg->cseq) < 0)
            return sip_fail(msg, SIP_E_CSEQ, "malformed CSeq");
        msg->cseq_hdr = h;
        return SIP_OK;
    case SIP_HDR_MAX_FORWARDS:
        if (msg->max_forwards_hdr >= 0)
            return sip_fail(msg, SIP_E_DUPLICATE, "duplicate Max-Forwards");
        if (sip_str_to_u32(b, SIP_MAX_MAX_FORWARDS, &u) < 0)
            return sip_fail(msg, SIP_E_MAX_FORWARDS, "malformed Max-Forwards");
        msg->max_forwards = (int)u;
        msg->max_forwards_hdr = h;
        return SIP_OK;
    case SIP_HDR_EXPIRES:
        if (msg->expires_hdr >= 0)
            return sip_fail(msg, SIP_E_DUPLICATE, "duplicate Expires");
        if (sip_delta_seconds(b, &msg->expires) < 0)
            return sip_fail(msg, SIP_E_EXPIRES, "malformed Expires");
        msg->expires_hdr = h;
        return SIP_OK;
    case SIP_HDR_CONTENT_TYPE:
        if (msg->content_type.s)
            return sip_fail(msg, SIP_E_DUPLICATE, "duplicate Content-Type");
        if (b.len == 0)
            return sip_fail(msg, SIP_E_HEADER, "empty Content-Type");
        msg->content_type = b;
        return SIP_OK;
    case SIP_HDR_CONTENT_LENGTH:
        if (msg->content_length_hdr >= 0)
            return sip_fail(msg, SIP_E_CONTENT_LENGTH, "duplicate Content-Length");
        if (sip_str_to_u32(b, SIP_MAX_MSG_SIZE, &u) < 0)
            return sip_fail(msg, SIP_E_CONTENT_LENGTH, "malformed Content-Length");
        msg->content_length = (int)u;
        msg->content_length_hdr = h;
        return SIP_OK;
    case SIP_HDR_RSEQ:
        if (msg->rseq)
            return sip_fail(msg, SIP_E_DUPLICATE, "duplicate RSeq");
        if (sip_str_to_u32(b, SIP_MAX_CSEQ, &u) < 0 || u == 0)
            return sip_fail(msg, SIP_E_RSEQ, "malformed RSeq");
        msg->rseq = u;
        return SIP_OK;
    case SIP_HDR_RACK:
        if (msg->rack.present)
            return sip_fail(msg, SIP_E_DUPLICATE, "duplicate RAck");
        if (sip_hdr_parse_rack(b, &msg->rack) < 0)
            return sip_fail(msg, SIP_E_RACK, "malformed RAck");
        return SIP_OK;
    default:
        return SIP_OK;
    }
}

static sip_err_t sip_parse_value(sip_msg_t *msg, int h)
{
    sip_str_t b = msg->hdrs[h].body;
    switch (msg->hdrs[h].type) {
    case SIP_HDR_VIA:
        return sip_parse_via_list(msg, h, b);
    case SIP_HDR_FROM:
        return sip_parse_single_naddr(msg, h, b, &msg->from, SIP_E_FROM, "malformed From");
    case SIP_HDR_TO:
        return sip_parse_single_naddr(msg, h, b, &msg->to, SIP_E_TO, "malformed To");
    case SIP_HDR_CONTACT:
        return sip_parse_naddr_list(msg, h, b, msg->contact, &msg->ncontact, SIP_MAX_CONTACTS, SIP_E_CONTACT,
                                    "malformed Contact");
    case SIP_HDR_ROUTE:
        return sip_parse_naddr_list(msg, h, b, msg->route, &msg->nroute, SIP_MAX_ROUTES, SIP_E_ROUTE,
                                    "malformed Route");
    case SIP_HDR_RECORD_ROUTE:
        return sip_parse_naddr_list(msg, h, b, msg->rr, &msg->nrr, SIP_MAX_ROUTES, SIP_E_ROUTE,
                                    "malformed Record-Route");
    case SIP_HDR_REQUIRE:
        return sip_parse_tokens(msg, b, &msg->require);
    case SIP_HDR_SUPPORTED:
        return sip_parse_tokens(msg, b, &msg->supported);
    case SIP_HDR_ALLOW:
        return sip_parse_tokens(msg, b, &msg->allow);
    case SIP_HDR_WARNING:
        return sip_parse_warnings(msg, b);
    default:
        msg->hdrs[h].nvalues = 1;
        return sip_parse_single(msg, h, b);
    }
}

/* Scans one header line (or the empty line ending the section). */
static sip_err_t sip_scan_line(sip_msg_t *msg)
{
    int next, end;
    if (sip_empty_line(msg->buf, msg->len, msg->scan, &next)) {
        msg->hdrs_done = true;
        msg->eoh = msg->scan;
        msg->body_off = next;
        msg->scan = next;
        return SIP_OK;
    }
    int rc = sip_logical_line(msg->buf, msg->len, msg->scan, &end, &next);
    if (rc == -2)
        return sip_fail(msg, SIP_E_NUL, "NUL byte in header section");
    if (rc < 0)
        return sip_fail(msg, SIP_E_TRUNCATED, "header section not terminated by an empty line");
    if (msg->nhdrs >= SIP_MAX_HEADERS)
        return sip_fail(msg, SIP_E_TOO_MANY, "too many header lines");
    sip_hdr_t *hd = &msg->hdrs[msg->nhdrs];
    memset(hd, 0, sizeof *hd);
    if (sip_split_header(msg->buf, msg->scan, end, &hd->name, &hd->body) < 0)
        return sip_fail(msg, SIP_E_HEADER, "malformed header line");
    hd->line = (sip_str_t){msg->buf + msg->scan, next - msg->scan};
    hd->type = sip_hdr_type_from_name(hd->name);
    int h = msg->nhdrs++;
    msg->scan = next;
    msg->seen |= SIP_HF(hd->type);
    return sip_parse_value(msg, h);
}

static bool sip_flags_satisfied(const sip_msg_t *msg, uint32_t flags)
{
    if (flags & (SIP_HF_MULTI | SIP_HF_BODY))
        return false;
    if ((flags & SIP_HF_VIA1) && msg->nvia == 0)
        return false;
    uint32_t single = flags & ~SIP_HF_VIA1;
    return (msg->seen & single) == single;
}

static sip_err_t sip_locate_body(sip_msg_t *msg)
{
    int rest = msg->len - msg->body_off;
    if (msg->content_length >= 0) {
        if (msg->content_length > rest)
            return sip_fail(msg, SIP_E_BODY_LENGTH, "Content-Length larger than the message");
        msg->body = (sip_str_t){msg->buf + msg->body_off, msg->content_length};
    } else {
        if (msg->transport == SIP_TP_STREAM)
            return sip_fail(msg, SIP_E_CONTENT_LENGTH, "Content-Length missing on a stream transport");
        msg->body = (sip_str_t){msg->buf + msg->body_off, rest};
    }
    msg->body_done = true;
    return SIP_OK;
}

sip_err_t sip_parse_headers(sip_msg_t *msg, uint32_t flags)
{
    if (!msg)
        return SIP_E_ARG;
    if (msg->err != SIP_OK)
        return msg->err;
    while (!msg->hdrs_done && !sip_flags_satisfied(msg, flags))
        if (sip_scan_line(msg) != SIP_OK)
            return msg->err;
    if ((flags & SIP_HF_BODY) && !msg->body_done)
        return sip_locate_body(msg);
    return SIP_OK;
}

sip_err_t sip_msg_check(sip_msg_t *msg)
{
    if (sip_parse_headers(msg, SIP_HF_ALL) != SIP_OK)
        return msg ? msg->err : SIP_E_ARG;
    if (msg->nvia == 0)
        return sip_fail(msg, SIP_E_MISSING, "missing Via");
    if (msg->from.hdr < 0)
        return sip_fail(msg, SIP_E_MISSING, "missing From");
    if (msg->to.hdr < 0)
        return sip_fail(msg, SIP_E_MISSING, "missing To");
    if (msg->call_id_hdr < 0)
        return sip_fail(msg, SIP_E_MISSING, "missing Call-ID");
    if (msg->cseq_hdr < 0)
        return sip_fail(msg, SIP_E_MISSING, "missing CSeq");
    if (msg->is_request && (msg->cseq.method_str.len != msg->method_str.len ||
                            memcmp(msg->cseq.method_str.s, msg->method_str.s, (size_t)msg->method_str.len) != 0))
        return sip_fail(msg, SIP_E_CSEQ_METHOD, "CSeq method does not match the request method");
    return SIP_OK;
}

/* ---- stream framing (§18.3) ---- */

static sip_frame_t sip_frame_err(const char **reason, const char *why)
{
    if (reason)
        *reason = why;
    return SIP_FRAME_ERROR;
}

/* Offset just after the empty line ending the header section, 0 when not (yet) found, -1 on NUL. */
static int sip_find_eoh(const char *buf, int len)
{
    for (int i = 0; i < len; i++) {
        if (buf[i] == '\0')
            return -1;
        if (buf[i] != '\n')
            continue;
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

sip_frame_t sip_stream_frame(const char *buf, size_t len, size_t *msg_len, const char **reason)
{
    if (!buf || !msg_len)
        return sip_frame_err(reason, "no buffer");
    size_t k = 0;
    while (k < len && (buf[k] == '\r' || buf[k] == '\n'))
        k++;
    if (k > 0) {
        *msg_len = k;
        return SIP_FRAME_KEEPALIVE;
    }
    int scan_len = len > SIP_MAX_MSG_SIZE ? SIP_MAX_MSG_SIZE : (int)len;
    int eoh = sip_find_eoh(buf, scan_len);
    if (eoh < 0)
        return sip_frame_err(reason, "NUL byte in header section");
    if (eoh == 0)
        return len >= SIP_MAX_MSG_SIZE ? sip_frame_err(reason, "header section too large") : SIP_FRAME_NEED_MORE;
    int pos = (int)((const char *)memchr(buf, '\n', (size_t)eoh) - buf) + 1, end, next;
    int cl = -1;
    while (pos < eoh) {
        sip_str_t name, body;
        if (sip_empty_line(buf, eoh, pos, &next))
            break;
        if (sip_logical_line(buf, eoh, pos, &end, &next) < 0 || sip_split_header(buf, pos, end, &name, &body) < 0)
            return sip_frame_err(reason, "malformed header line");
        if (sip_hdr_type_from_name(name) == SIP_HDR_CONTENT_LENGTH) {
            uint32_t v;
            if (cl >= 0)
                return sip_frame_err(reason, "duplicate Content-Length");
            if (sip_str_to_u32(body, SIP_MAX_MSG_SIZE, &v) < 0)
                return sip_frame_err(reason, "malformed Content-Length");
            cl = (int)v;
        }
        pos = next;
    }
    if (cl < 0)
        return sip_frame_err(reason, "Content-Length missing on a stream transport");
    size_t total = (size_t)eoh + (size_t)cl;
    if (total > SIP_MAX_MSG_SIZE)
        return sip_frame_err(reason, "message too large");
    if (total > len)
        return SIP_FRAME_NEED_MORE;
    *msg_len = total;
    return SIP_FRAME_OK;
}

/* ---- small queries ---- */

static const char *const sip_err_names[] = {
    [SIP_OK] = "ok",
    [SIP_E_ARG] = "invalid argument",
    [SIP_E_TOO_BIG] = "message too large",
    [SIP_E_TRUNCATED] = "truncated message",
    [SIP_E_NUL] = "NUL byte in message head",
    [SIP_E_FIRST_LINE] = "malformed start line",
    [SIP_E_VERSION] = "unsupported SIP version",
    [SIP_E_RURI] = "bad Request-URI",
    [SIP_E_HEADER] = "malformed header",
    [SIP_E_TOO_MANY] = "limit exceeded",
    [SIP_E_VIA] = "malformed Via",
    [SIP_E_FROM] = "malformed From",
    [SIP_E_TO] = "malformed To",
    [SIP_E_CALL_ID] = "malformed Call-ID",
    [SIP_E_CSEQ] = "malformed CSeq",
    [SIP_E_MAX_FORWARDS] = "malformed Max-Forwards",
    [SIP_E_CONTACT] = "malformed Contact",
    [SIP_E_ROUTE] = "malformed Route or Record-Route",
    [SIP_E_EXPIRES] = "malformed Expires",
    [SIP_E_CONTENT_LENGTH] = "bad Content-Length",
    [SIP_E_BODY_LENGTH] = "Content-Length larger than the message",
    [SIP_E_RSEQ] = "malformed RSeq",
    [SIP_E_RACK] = "malformed RAck",
    [SIP_E_DUPLICATE] = "duplicate header",
    [SIP_E_MISSING] = "missing mandatory header",
    [SIP_E_CSEQ_METHOD] = "CSeq method does not match",
};

const char *sip_err_str(sip_err_t err)
{
    if ((size_t)err >= sizeof sip_err_names / sizeof sip_err_names[0] || !sip_err_names[err])
        return "unknown error";
    return sip_err_names[err];
}

const char *sip_msg_reason(const sip_msg_t *msg)
{
    if (!msg || msg->err == SIP_OK)
        return "ok";
    return msg->err_reason ? msg->err_reason : sip_err_str(msg->err);
}

int sip_msg_find_hdr(const sip_msg_t *msg, const char *name)
{
    sip_str_t n = sip_str_c(name);
    sip_hdr_type_t t = sip_hdr_type_from_name(n);
    for (int i = 0; i < msg->nhdrs; i++) {
        if (t != SIP_HDR_OTHER ? msg->hdrs[i].type == t : sip_str_ieq(msg->hdrs[i].name, name))
            return i;
    }
    return -1;
}

bool sip_tokens_has(const sip_tokens_t *t, const char *tok)
{
    for (int i = 0; i < t->n; i++)
        if (sip_str_ieq(t->items[i], tok))
            return true;
    return false;
}

bool sip_param_get(sip_str_t params, const char *name, sip_str_t *value)
{
    sip_str_t rest = params, n, v;
    while (rest.s && sip_param_next(&rest, &n, &v) == 1) {
        if (sip_str_ieq(n, name)) {
            if (value)
                *value = v;
            return true;
        }
    }
    return false;
}

bool sip_via_branch_is_rfc3261(const sip_via_t *via)
{
    return via->branch.len > 7 && memcmp(via->branch.s, "z9hG4bK", 7) == 0;
}

bool sip_content_type_is(const sip_msg_t *msg, const char *type_subtype)
{
    sip_str_t ct = msg->content_type;
    int i = 0;
    while (i < ct.len && ct.s[i] != ';')
        i++;
    sip_str_t mt = sip_trim((sip_str_t){ct.s, i});
    /* LWS is allowed around the slash (§20.15); compare ignoring it. */
    const char *want = type_subtype;
    for (int k = 0; k < mt.len; k++) {
        if (sip_is_lws(mt.s[k]))
            continue;
        char a = mt.s[k], b = *want;
        if (!b || ((a | 0x20) != (b | 0x20) && a != b))
            return false;
        want++;
    }
    return ct.s && *want == '\0';
}
