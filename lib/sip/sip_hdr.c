/*
 * sip_hdr — parsers for the values of the headers lib/sip understands, plus the header-name and method tables.
 *
 *   Via           RFC 3261 §20.42 / §25.1 via-parm; branch, received, rport (RFC 3581 §3, with or without value)
 *   From/To/Contact/Route/Record-Route  §20.10 / §20.20 / §20.39 / §20.34 / §20.30 name-addr or addr-spec with
 *                 header params; an addr-spec's trailing ";..." are header params, not URI params (§20.10)
 *   CSeq          §20.16, number < 2**31 (§8.1.1.5);  RAck RFC 3262 §7.2;  Warning §20.43
 *   compact forms §7.3.3 (v f t i m l c k, plus e s o r u x b y a j d for the opaque ones)
 *
 * Each function receives one comma-separated value already split by sip_list_next(), so it never has to think about
 * commas; every parameter list is validated and bounded by SIP_MAX_URI_PARAMS.
 */
#include "sip/sip_hdr.h"

#include "sip/sip_scan.h"

#include <string.h>

static const struct {
    const char *name;
    char compact;
    sip_hdr_type_t type;
} sip_hdr_names[] = {
    {"Via", 'v', SIP_HDR_VIA},
    {"From", 'f', SIP_HDR_FROM},
    {"To", 't', SIP_HDR_TO},
    {"Call-ID", 'i', SIP_HDR_CALL_ID},
    {"CSeq", 0, SIP_HDR_CSEQ},
    {"Max-Forwards", 0, SIP_HDR_MAX_FORWARDS},
    {"Route", 0, SIP_HDR_ROUTE},
    {"Record-Route", 0, SIP_HDR_RECORD_ROUTE},
    {"Contact", 'm', SIP_HDR_CONTACT},
    {"Expires", 0, SIP_HDR_EXPIRES},
    {"Content-Type", 'c', SIP_HDR_CONTENT_TYPE},
    {"Content-Length", 'l', SIP_HDR_CONTENT_LENGTH},
    {"RSeq", 0, SIP_HDR_RSEQ},
    {"RAck", 0, SIP_HDR_RACK},
    {"Require", 0, SIP_HDR_REQUIRE},
    {"Supported", 'k', SIP_HDR_SUPPORTED},
    {"Allow", 0, SIP_HDR_ALLOW},
    {"Warning", 0, SIP_HDR_WARNING},
};

sip_hdr_type_t sip_hdr_type_from_name(sip_str_t name)
{
    size_t n = sizeof sip_hdr_names / sizeof sip_hdr_names[0];
    for (size_t i = 0; i < n; i++) {
        if (name.len == 1 && sip_hdr_names[i].compact && (name.s[0] | 0x20) == sip_hdr_names[i].compact)
            return sip_hdr_names[i].type;
        if (sip_str_ieq(name, sip_hdr_names[i].name))
            return sip_hdr_names[i].type;
    }
    return SIP_HDR_OTHER;
}

static const char *const sip_method_names[] = {
    [SIP_METHOD_INVITE] = "INVITE",       [SIP_METHOD_ACK] = "ACK",           [SIP_METHOD_BYE] = "BYE",
    [SIP_METHOD_CANCEL] = "CANCEL",       [SIP_METHOD_REGISTER] = "REGISTER", [SIP_METHOD_OPTIONS] = "OPTIONS",
    [SIP_METHOD_PRACK] = "PRACK",         [SIP_METHOD_UPDATE] = "UPDATE",     [SIP_METHOD_INFO] = "INFO",
    [SIP_METHOD_SUBSCRIBE] = "SUBSCRIBE", [SIP_METHOD_NOTIFY] = "NOTIFY",     [SIP_METHOD_MESSAGE] = "MESSAGE",
    [SIP_METHOD_REFER] = "REFER",
};

sip_method_t sip_method_from_str(sip_str_t s)
{
    for (size_t i = 1; i < sizeof sip_method_names / sizeof sip_method_names[0]; i++)
        if (sip_str_eq(s, sip_method_names[i]))
            return (sip_method_t)i;
    return SIP_METHOD_OTHER;
}

/* Skips LWS from i; returns the new index. */
static int sip_skip_lws(sip_str_t s, int i)
{
    while (i < s.len && sip_is_lws(s.s[i]))
        i++;
    return i;
}

/* token, then LWS? "/" (when slash is true). Returns the index after, or -1. */
static int sip_via_proto_part(sip_str_t v, int i, bool slash, sip_str_t *tok)
{
    int n = sip_take_token((sip_str_t){v.s + i, v.len - i}, tok);
    if (n < 0)
        return -1;
    i = sip_skip_lws(v, i + n);
    if (!slash)
        return i;
    if (i >= v.len || v.s[i] != '/')
        return -1;
    return sip_skip_lws(v, i + 1);
}

static int sip_via_params(sip_via_t *via)
{
    sip_str_t rest = via->params, name, value;
    int rc, n = 0;
    while ((rc = sip_param_next(&rest, &name, &value)) == 1) {
        if (++n > SIP_MAX_URI_PARAMS)
            return -1;
        if (sip_str_ieq(name, "branch")) {
            if (!value.s)
                return -1;
            via->branch = value;
        } else if (sip_str_ieq(name, "received")) {
            via->received = value;
        } else if (sip_str_ieq(name, "rport")) {
            uint32_t port;
            if (value.s && sip_str_to_u32(value, 65535, &port) < 0)
                return -1;
            via->has_rport = true;
            via->rport = value;
            via->rport_name = name;
        }
    }
    return rc;
}

/* sent-by = host [ COLON port ]; LWS is allowed around the colon. Ends at ';' or the end of v. */
static int sip_via_sent_by(sip_str_t v, int i, sip_via_t *via)
{
    int start = i;
    if (i < v.len && v.s[i] == '[') {
        while (i < v.len && v.s[i] != ']')
            i++;
        if (i >= v.len)
            return -1;
        i++;
    } else {
        while (i < v.len && sip_is_token_char(v.s[i]))
            i++;
    }
    if (i == start)
        return -1;
    via->host = (sip_str_t){v.s + start, i - start};
    i = sip_skip_lws(v, i);
    if (i < v.len && v.s[i] == ':') {
        i = sip_skip_lws(v, i + 1);
        int ps = i;
        while (i < v.len && sip_is_digit(v.s[i]))
            i++;
        uint32_t port;
        via->port_str = (sip_str_t){v.s + ps, i - ps};
        if (sip_str_to_u32(via->port_str, 65535, &port) < 0 || port == 0)
            return -1;
        via->port = (int)port;
        i = sip_skip_lws(v, i);
    }
    return i;
}

int sip_hdr_parse_via(sip_str_t v, sip_via_t *via)
{
    sip_str_t name, version;
    int hdr = via->hdr;
    memset(via, 0, sizeof *via);
    via->hdr = hdr;
    via->raw = v;
    int i = sip_via_proto_part(v, 0, true, &name);
    if (i < 0 || !sip_str_ieq(name, "SIP"))
        return -1;
    i = sip_via_proto_part(v, i, true, &version);
    if (i < 0 || !sip_str_eq(version, "2.0"))
        return -1;
    int n = sip_take_token((sip_str_t){v.s + i, v.len - i}, &via->transport);
    if (n < 0)
        return -1;
    i += n;
    if (i >= v.len || !sip_is_lws(v.s[i]))
        return -1;
    i = sip_via_sent_by(v, sip_skip_lws(v, i), via);
    if (i < 0)
        return -1;
    if (i < v.len) {
        if (v.s[i] != ';')
            return -1;
        via->params = (sip_str_t){v.s + i, v.len - i};
    }
    return sip_via_params(via);
}

/* Index of the first c in s outside quoted strings, or -1 (also -1 on an unterminated quote). */
static int sip_find_unquoted(sip_str_t s, char c)
{
    int i = 0;
    while (i < s.len) {
        if (s.s[i] == '"') {
            i = sip_skip_quoted(s, i);
            if (i < 0)
                return -1;
            continue;
        }
        if (s.s[i] == c)
            return i;
        i++;
    }
    return -1;
}

static int sip_naddr_display(sip_str_t d, sip_naddr_t *na)
{
    d = sip_trim(d);
    if (d.len == 0)
        return 0;
    if (d.s[0] == '"') {
        if (sip_skip_quoted(d, 0) != d.len)
            return -1;
    } else {
        for (int i = 0; i < d.len; i++)
            if (!sip_is_token_char(d.s[i]) && !sip_is_lws(d.s[i]))
                return -1;
    }
    na->display = d;
    return 0;
}

static int sip_naddr_params(sip_naddr_t *na)
{
    sip_str_t rest = na->params, name, value;
    int rc, n = 0;
    while ((rc = sip_param_next(&rest, &name, &value)) == 1) {
        if (++n > SIP_MAX_URI_PARAMS)
            return -1;
        if (sip_str_ieq(name, "tag")) {
            if (!value.s || na->tag.s)
                return -1;
            na->tag = value;
        }
    }
    return rc;
}

int sip_hdr_parse_naddr(sip_str_t v, bool allow_star, sip_naddr_t *na)
{
    int hdr = na->hdr;
    memset(na, 0, sizeof *na);
    na->hdr = hdr;
    na->raw = v = sip_trim(v);
    if (allow_star && v.len == 1 && v.s[0] == '*') {
        na->star = true;
        return 0;
    }
    int lt = sip_find_unquoted(v, '<');
    int rest_at;
    if (lt >= 0) {
        if (sip_naddr_display((sip_str_t){v.s, lt}, na) < 0)
            return -1;
        int gt = lt + 1;
        while (gt < v.len && v.s[gt] != '>')
            gt++;
        if (gt >= v.len)
            return -1;
        na->uri_raw = (sip_str_t){v.s + lt + 1, gt - lt - 1};
        rest_at = gt + 1;
    } else {
        int semi = sip_find_unquoted(v, ';');
        int end = semi < 0 ? v.len : semi;
        na->uri_raw = sip_trim((sip_str_t){v.s, end});
        rest_at = end;
    }
    if (sip_uri_parse(na->uri_raw, &na->uri) < 0)
        return -1;
    sip_str_t rest = sip_trim((sip_str_t){v.s + rest_at, v.len - rest_at});
    if (rest.len > 0) {
        if (rest.s[0] != ';')
            return -1;
        na->params = rest;
    }
    return sip_naddr_params(na);
}

/* number LWS method; used by CSeq and the tail of RAck. */
static int sip_num_method(sip_str_t v, uint32_t max, uint32_t *num, sip_str_t *mstr, sip_method_t *m)
{
    int i = sip_skip_lws(v, 0), ds = i;
    while (i < v.len && sip_is_digit(v.s[i]))
        i++;
    if (sip_str_to_u32((sip_str_t){v.s + ds, i - ds}, max, num) < 0)
        return -1;
    if (i >= v.len || !sip_is_lws(v.s[i]))
        return -1;
    int n = sip_take_token((sip_str_t){v.s + i, v.len - i}, mstr);
    if (n < 0 || sip_skip_lws(v, i + n) != v.len)
        return -1;
    *m = sip_method_from_str(*mstr);
    return 0;
}

int sip_hdr_parse_cseq(sip_str_t v, sip_cseq_t *cseq)
{
    return sip_num_method(v, SIP_MAX_CSEQ, &cseq->num, &cseq->method_str, &cseq->method);
}

int sip_hdr_parse_rack(sip_str_t v, sip_rack_t *rack)
{
    int i = sip_skip_lws(v, 0), ds = i;
    while (i < v.len && sip_is_digit(v.s[i]))
        i++;
    if (sip_str_to_u32((sip_str_t){v.s + ds, i - ds}, SIP_MAX_CSEQ, &rack->rseq) < 0 || rack->rseq == 0)
        return -1;
    if (i >= v.len || !sip_is_lws(v.s[i]))
        return -1;
    if (sip_num_method((sip_str_t){v.s + i, v.len - i}, SIP_MAX_CSEQ, &rack->cseq, &rack->method_str, &rack->method) <
        0)
        return -1;
    rack->present = true;
    return 0;
}

int sip_hdr_parse_warning(sip_str_t v, sip_warning_t *w)
{
    int i = sip_skip_lws(v, 0), ds = i;
    uint32_t code;
    while (i < v.len && sip_is_digit(v.s[i]))
        i++;
    if (i - ds != 3 || sip_str_to_u32((sip_str_t){v.s + ds, 3}, 999, &code) < 0)
        return -1;
    w->code = (int)code;
    i = sip_skip_lws(v, i);
    int as = i;
    while (i < v.len && !sip_is_lws(v.s[i]) && v.s[i] != '"')
        i++;
    if (i == as)
        return -1;
    w->agent = (sip_str_t){v.s + as, i - as};
    i = sip_skip_lws(v, i);
    if (i >= v.len || v.s[i] != '"')
        return -1;
    int end = sip_skip_quoted(v, i);
    if (end < 0 || sip_skip_lws(v, end) != v.len)
        return -1;
    w->text = (sip_str_t){v.s + i, end - i};
    return 0;
}
