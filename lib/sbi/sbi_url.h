/*
 * sbi_url — the small URL and address parsing the SBI needs (RFC 3986 §3 subset).
 *
 * Only absolute "http"/"https" URLs with an IP literal (IPv6 in brackets) or a host name, an optional port and a
 * path; no userinfo (TS 29.501 §4.4.1 apiRoot = scheme "://" authority). Parsing copies into a fixed struct so no
 * allocation is needed on the request path.
 */
#ifndef MIHUA_SBI_URL_H
#define MIHUA_SBI_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SBI_HOST_MAX 256 /* RFC 1035 names are at most 253 characters */

typedef struct {
    bool tls;                         /* https */
    char host[SBI_HOST_MAX];          /* without brackets */
    uint16_t port;                    /* explicit, or 80 / 443 */
    const char *path;                 /* points into the parsed URL: "/..." including the query, "/" when empty */
    char authority[SBI_HOST_MAX + 8]; /* host[:port] as it goes into :authority */
} sbi_url_t;

/* Parses `url`; out->path points into url. Returns 0, or -1 when it is not an absolute http(s) URL. */
int sbi_url_parse(const char *url, sbi_url_t *out);

/* Parses "ADDR:PORT" ("127.0.0.1:7701", "[::1]:0", "localhost:7701"). Returns 0 or -1. */
int sbi_hostport_parse(const char *s, char *host, size_t host_size, uint16_t *port);

#endif
