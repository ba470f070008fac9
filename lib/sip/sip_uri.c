/*
 * sip_uri — URI parser (RFC 3261 §19.1.1 SIP/SIPS URI components, §25.1 grammar; RFC 3966 tel URI).
 *
 * sip:user:password@host:port;uri-parameters?headers is cut at its delimiters into slices; escapes are not decoded
 * (comparison per §19.1.4 is the caller's business). The user part ends at the first '@', so user parameters such
 * as "+123;npdi@host" stay inside the user. The well-known parameters lr, transport, user and maddr are extracted;
 * the rest stay in the params slice (see sip_param_get()). Other schemes (absoluteURI) are accepted with only the
 * scheme recognised, because a Request-URI may legally be any absoluteURI and a proxy must still be able to reject
 * it with 416 instead of 400.
 */
#include "sip/sip_uri.h"

#include "sip/sip_msg.h"
#include "sip/sip_scan.h"

#include <string.h>

static int sip_find(sip_str_t s, char c, int from)
{
    for (int i = from; i < s.len; i++)
        if (s.s[i] == c)
            return i;
    return -1;
}

static bool sip_is_host_char(char c)
{
    return sip_is_token_char(c) && c != '%' && c != '*' && c != '+' && c != '`' && c != '\'' && c != '~' && c != '!';
}

static int sip_uri_port(sip_str_t p, sip_uri_t *uri)
{
    uint32_t port;
    if (sip_str_to_u32(p, 65535, &port) < 0 || port == 0)
        return -1;
    uri->port_str = p;
    uri->port = (int)port;
    return 0;
}

/* host [":" port]; host is a hostname, IPv4 address or "[" IPv6 "]". */
static int sip_uri_hostport(sip_str_t hp, sip_uri_t *uri)
{
    int i = 0;
    if (hp.len > 0 && hp.s[0] == '[') {
        int close = sip_find(hp, ']', 1);
        if (close < 0)
            return -1;
        for (int k = 1; k < close; k++)
            if (!(sip_is_digit(hp.s[k]) || (hp.s[k] >= 'a' && hp.s[k] <= 'f') || (hp.s[k] >= 'A' && hp.s[k] <= 'F') ||
                  hp.s[k] == ':' || hp.s[k] == '.'))
                return -1;
        i = close + 1;
    } else {
        while (i < hp.len && sip_is_host_char(hp.s[i]))
            i++;
    }
    if (i == 0)
        return -1;
    uri->host = (sip_str_t){hp.s, i};
    if (i == hp.len)
        return 0;
    if (hp.s[i] != ':')
        return -1;
    return sip_uri_port((sip_str_t){hp.s + i + 1, hp.len - i - 1}, uri);
}

static int sip_uri_params(sip_str_t params, sip_uri_t *uri)
{
    sip_str_t rest = params, name, value;
    int rc, n = 0;
    uri->params = params;
    while ((rc = sip_param_next(&rest, &name, &value)) == 1) {
        if (++n > SIP_MAX_URI_PARAMS)
            return -1;
        if (sip_str_ieq(name, "lr"))
            uri->lr = true;
        else if (sip_str_ieq(name, "transport"))
            uri->transport = value;
        else if (sip_str_ieq(name, "user"))
            uri->user_param = value;
        else if (sip_str_ieq(name, "maddr"))
            uri->maddr = value;
    }
    return rc;
}

static sip_uri_scheme_t sip_uri_scheme(sip_str_t s)
{
    if (sip_str_ieq(s, "sip"))
        return SIP_URI_SIP;
    if (sip_str_ieq(s, "sips"))
        return SIP_URI_SIPS;
    if (sip_str_ieq(s, "tel"))
        return SIP_URI_TEL;
    return SIP_URI_OTHER;
}

static int sip_uri_tel(sip_str_t rest, sip_uri_t *uri)
{
    int semi = sip_find(rest, ';', 0);
    int end = semi < 0 ? rest.len : semi;
    if (end == 0)
        return -1;
    uri->user = (sip_str_t){rest.s, end};
    for (int i = 0; i < end; i++)
        if (sip_is_lws(rest.s[i]) || rest.s[i] == '<' || rest.s[i] == '>' || rest.s[i] == '"')
            return -1;
    if (semi < 0)
        return 0;
    return sip_uri_params((sip_str_t){rest.s + semi, rest.len - semi}, uri);
}

static int sip_uri_sip(sip_str_t rest, sip_uri_t *uri)
{
    for (int i = 0; i < rest.len; i++)
        if (sip_is_lws(rest.s[i]) || rest.s[i] == '<' || rest.s[i] == '>' || rest.s[i] == '"')
            return -1;
    int q = sip_find(rest, '?', 0);
    if (q >= 0) {
        uri->headers = (sip_str_t){rest.s + q + 1, rest.len - q - 1};
        rest.len = q;
    }
    int at = sip_find(rest, '@', 0);
    int hp_start = 0;
    if (at >= 0) {
        sip_str_t ui = {rest.s, at};
        int colon = sip_find(ui, ':', 0);
        uri->user = colon < 0 ? ui : (sip_str_t){ui.s, colon};
        if (colon >= 0)
            uri->password = (sip_str_t){ui.s + colon + 1, ui.len - colon - 1};
        if (uri->user.len == 0)
            return -1;
        hp_start = at + 1;
    }
    int semi = sip_find(rest, ';', hp_start);
    int hp_end = semi < 0 ? rest.len : semi;
    if (sip_uri_hostport((sip_str_t){rest.s + hp_start, hp_end - hp_start}, uri) < 0)
        return -1;
    if (semi < 0)
        return 0;
    return sip_uri_params((sip_str_t){rest.s + semi, rest.len - semi}, uri);
}

int sip_uri_parse(sip_str_t s, sip_uri_t *uri)
{
    memset(uri, 0, sizeof *uri);
    if (!s.s || s.len <= 0)
        return -1;
    int colon = sip_find(s, ':', 0);
    if (colon <= 0)
        return -1;
    uri->scheme_str = (sip_str_t){s.s, colon};
    for (int i = 0; i < colon; i++)
        if (!((s.s[i] >= 'a' && s.s[i] <= 'z') || (s.s[i] >= 'A' && s.s[i] <= 'Z') ||
              (i > 0 && (sip_is_digit(s.s[i]) || s.s[i] == '+' || s.s[i] == '-' || s.s[i] == '.'))))
            return -1;
    uri->scheme = sip_uri_scheme(uri->scheme_str);
    sip_str_t rest = {s.s + colon + 1, s.len - colon - 1};
    switch (uri->scheme) {
    case SIP_URI_SIP:
    case SIP_URI_SIPS:
        return sip_uri_sip(rest, uri);
    case SIP_URI_TEL:
        return sip_uri_tel(rest, uri);
    default:
        for (int i = 0; i < rest.len; i++)
            if (sip_is_lws(rest.s[i]))
                return -1;
        return rest.len > 0 ? 0 : -1;
    }
}
