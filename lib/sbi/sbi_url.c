/*
 * sbi_url — absolute http(s) URL and "host:port" parsing for the SBI client and the daemons' --listen option.
 *
 * Deliberately narrow (RFC 3986 §3 subset, see sbi_url.h): what TS 29.501 apiRoots and mihua configs contain.
 * Everything is copied into fixed-size fields, and anything longer is refused rather than truncated.
 */
#include "sbi/sbi_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *s, size_t len, uint16_t *port)
{
    if (len == 0 || len > 5)
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

/* Splits "host", "host:port", "[v6]" or "[v6]:port" of length len. port is left alone when absent. */
static int split_hostport(const char *s, size_t len, char *host, size_t host_size, uint16_t *port, bool *has_port)
{
    const char *h = s, *colon = NULL;
    size_t hlen;
    *has_port = false;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return -1;
        h = s + 1;
        hlen = (size_t)(close - h);
        if (close + 1 < s + len) {
            if (close[1] != ':')
                return -1;
            colon = close + 1;
        }
    } else {
        colon = memchr(s, ':', len);
        hlen = colon ? (size_t)(colon - s) : len;
        if (colon && memchr(colon + 1, ':', len - hlen - 1))
            return -1; /* a bare IPv6 address needs brackets */
    }
    if (hlen == 0 || hlen >= host_size)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (colon) {
        if (parse_port(colon + 1, (size_t)(s + len - colon - 1), port))
            return -1;
        *has_port = true;
    }
    return 0;
}

int sbi_hostport_parse(const char *s, char *host, size_t host_size, uint16_t *port)
{
    bool has_port;
    if (!s || split_hostport(s, strlen(s), host, host_size, port, &has_port) || !has_port)
        return -1;
    return 0;
}

int sbi_url_parse(const char *url, sbi_url_t *out)
{
    static const char http[] = "http://", https[] = "https://";
    const char *p;
    memset(out, 0, sizeof(*out));
    if (!url)
        return -1;
    if (strncmp(url, https, sizeof(https) - 1) == 0) {
        out->tls = true;
        out->port = 443;
        p = url + sizeof(https) - 1;
    } else if (strncmp(url, http, sizeof(http) - 1) == 0) {
        out->port = 80;
        p = url + sizeof(http) - 1;
    } else {
        return -1;
    }
    size_t alen = strcspn(p, "/?#");
    if (memchr(p, '@', alen))
        return -1; /* userinfo is deprecated for http(s) (RFC 9110 §4.2.4) */
    bool has_port;
    if (split_hostport(p, alen, out->host, sizeof(out->host), &out->port, &has_port))
        return -1;
    if (alen >= sizeof(out->authority))
        return -1;
    memcpy(out->authority, p, alen);
    out->authority[alen] = '\0';
    out->path = p[alen] == '/' ? p + alen : "/";
    if (p[alen] == '?' || strchr(p, '#'))
        return -1; /* "http://h?x" has an empty path; a fragment never goes on the wire */
    return 0;
}
