/*
 * sbi_router — method + path-pattern routing for SBI resources (TS 29.501 §4.4.1 resource URI structure).
 *
 * A pattern is an absolute path of literal segments and `{name}` captures, e.g.
 * "/nudm-uecm/v1/{ueId}/registrations/amf-3gpp-access". A capture matches exactly one non-empty segment; the
 * captured value is percent-decoded (RFC 3986 §2.1) after splitting, so "%2F" yields a '/' inside a value rather
 * than a new segment. Routes are tried in registration order and the first match wins: register the more literal
 * pattern first when two overlap. The table is small (tens of routes) so a linear scan over pre-split patterns
 * beats any tree in code size and is fast enough for 400k req/s.
 *
 * A path that matches some pattern but no route for the method gives SBI_ROUTE_METHOD_NOT_ALLOWED and the list of
 * methods that would match, for the Allow header of the 405 (RFC 9110 §15.5.6).
 */
#ifndef MIHUA_SBI_ROUTER_H
#define MIHUA_SBI_ROUTER_H

#include <stddef.h>

#define SBI_ROUTE_MAX_SEGMENTS 16 /* the deepest TS 29.5xx resource path has 8 segments */
#define SBI_ROUTE_MAX_CAPTURES 8  /* more than any 3GPP resource needs */
#define SBI_ROUTE_ALLOW_MAX 64    /* "GET, PUT, PATCH, POST, DELETE, HEAD, OPTIONS" fits */
#define SBI_ROUTE_RAW_TYPE_MAX 64 /* a media type's type/subtype is at most 127+127 (RFC 6838); ours are short */

typedef struct sbi_request sbi_request_t;
typedef void (*sbi_handler_fn)(sbi_request_t *req, void *ud);

typedef struct sbi_router sbi_router_t;

typedef struct {
    const char *name;  /* the pattern's capture name, without braces */
    const char *value; /* percent-decoded, points into the buffer given to sbi_router_match */
} sbi_capture_t;

typedef enum {
    SBI_ROUTE_FOUND = 0,
    SBI_ROUTE_NOT_FOUND,          /* no pattern matches the path: 404 */
    SBI_ROUTE_METHOD_NOT_ALLOWED, /* some pattern matches, not with this method: 405 with `allow` */
} sbi_route_result_t;

typedef struct {
    sbi_handler_fn handler;
    void *ud;
    sbi_capture_t captures[SBI_ROUTE_MAX_CAPTURES];
    size_t n_captures;
    const char *raw_type;            /* the route's raw media type (sbi_router_add_raw), or NULL: JSON bodies only */
    char allow[SBI_ROUTE_ALLOW_MAX]; /* filled for SBI_ROUTE_METHOD_NOT_ALLOWED: "GET, PUT" */
} sbi_route_match_t;

sbi_router_t *sbi_router_new(void);
void sbi_router_free(sbi_router_t *r);

/* Adds a route. `method` is an HTTP method token ("GET"); `pattern` must start with '/', have at most
 * SBI_ROUTE_MAX_SEGMENTS segments and SBI_ROUTE_MAX_CAPTURES captures, and each capture must be a whole segment.
 * Both strings are copied. Returns 0, or -1 for a malformed pattern (a programming error, logged). */
int sbi_router_add(sbi_router_t *r, const char *method, const char *pattern, sbi_handler_fn handler, void *ud);

/* As sbi_router_add, for a route that also takes a body of media type `raw_type` (e.g. "application/x-ndjson",
 * without parameters, compared case-insensitively), handed to the handler unparsed. JSON bodies are still parsed
 * and checked before the handler; only this one type is let through raw, so every other route keeps its 415/400
 * ahead of the handler. `raw_type` is copied (at most SBI_ROUTE_RAW_TYPE_MAX - 1 characters). */
int sbi_router_add_raw(sbi_router_t *r, const char *method, const char *pattern, const char *raw_type,
                       sbi_handler_fn handler, void *ud);

/* Matches `path` (no query string) in place: the buffer is split into segments and capture values are decoded
 * inside it, so `out` points into it and is valid as long as the buffer. */
sbi_route_result_t sbi_router_match(const sbi_router_t *r, const char *method, char *path, sbi_route_match_t *out);

/* The value of capture `name` in a match, or NULL. */
const char *sbi_route_capture(const sbi_route_match_t *m, const char *name);

/* Percent-decodes `s` in place (RFC 3986 §2.1); a '%' not followed by two hex digits is kept as is. Returns the new
 * length. */
size_t sbi_percent_decode(char *s);

/* The offset in `target` (path and query, as received) of the first character that is, or percent-decodes to, a
 * control character (below 0x20, or 0x7f), or -1 when there is none. Such a character has no business in an SBI
 * identifier, and %00 would silently cut a decoded value short (imsi-001...%00garbage would read as imsi-001...),
 * so the server refuses the request before routing. */
long sbi_target_control_char(const char *target);

#endif
