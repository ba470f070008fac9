/*
 * sbi_router — method + path-pattern routing (see sbi_router.h for the contract).
 *
 * Patterns are split once, at registration, into segments that are either literals or `{name}` captures. A match
 * splits the request path in place (replacing '/' by NUL), compares segment counts first and then segments left
 * to right; capture values are percent-decoded only once a route has matched. No allocation happens per request.
 * Linear in the number of routes, which stays in the tens for any NF.
 */
#include "sbi/sbi_router.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_hex.h"
#include "core/log.h"

#define METHOD_MAX 16 /* "OPTIONS" is the longest standard method */

typedef struct {
    char *text; /* literal text, or the capture name */
    bool capture;
} segment_t;

typedef struct {
    char method[METHOD_MAX];
    segment_t seg[SBI_ROUTE_MAX_SEGMENTS];
    size_t n_seg;
    size_t n_captures;
    char raw_type[SBI_ROUTE_RAW_TYPE_MAX]; /* "" when the route takes JSON only */
    sbi_handler_fn handler;
    void *ud;
} route_t;

struct sbi_router {
    route_t *routes;
    size_t n, cap;
};

sbi_router_t *sbi_router_new(void)
{
    return calloc(1, sizeof(sbi_router_t));
}

static void route_clear(route_t *rt)
{
    for (size_t i = 0; i < rt->n_seg; i++)
        free(rt->seg[i].text);
}

void sbi_router_free(sbi_router_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        route_clear(&r->routes[i]);
    free(r->routes);
    free(r);
}

/* Splits "/a/{b}/c" into route segments. */
static int parse_pattern(const char *pattern, route_t *rt)
{
    if (pattern[0] != '/')
        return -1;
    const char *p = pattern + 1;
    for (;;) {
        size_t len = strcspn(p, "/");
        if (rt->n_seg == SBI_ROUTE_MAX_SEGMENTS)
            return -1;
        segment_t *s = &rt->seg[rt->n_seg];
        bool open = len > 0 && p[0] == '{';
        if (open) {
            if (len < 3 || p[len - 1] != '}' || memchr(p + 1, '{', len - 2) || memchr(p + 1, '}', len - 2) ||
                rt->n_captures == SBI_ROUTE_MAX_CAPTURES)
                return -1;
            s->text = strndup(p + 1, len - 2);
            s->capture = true;
            rt->n_captures++;
        } else {
            if (memchr(p, '{', len) || memchr(p, '}', len))
                return -1; /* a capture must be a whole segment */
            s->text = strndup(p, len);
        }
        if (!s->text)
            return -1;
        rt->n_seg++;
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

int sbi_router_add(sbi_router_t *r, const char *method, const char *pattern, sbi_handler_fn handler, void *ud)
{
    return sbi_router_add_raw(r, method, pattern, NULL, handler, ud);
}

int sbi_router_add_raw(sbi_router_t *r, const char *method, const char *pattern, const char *raw_type,
                       sbi_handler_fn handler, void *ud)
{
    if (!method || !pattern || !handler || strlen(method) >= METHOD_MAX ||
        (raw_type && (raw_type[0] == '\0' || strlen(raw_type) >= SBI_ROUTE_RAW_TYPE_MAX)))
        return -1;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        route_t *v = realloc(r->routes, cap * sizeof(*v));
        if (!v)
            return -1;
        r->routes = v;
        r->cap = cap;
    }
    route_t *rt = &r->routes[r->n];
    memset(rt, 0, sizeof(*rt));
    if (parse_pattern(pattern, rt)) {
        route_clear(rt);
        log_error("sbi", "bad route pattern %s %s", method, pattern);
        return -1;
    }
    strcpy(rt->method, method);
    if (raw_type)
        strcpy(rt->raw_type, raw_type);
    rt->handler = handler;
    rt->ud = ud;
    r->n++;
    return 0;
}

/* Splits the path in place; returns the number of segments or -1 when there are too many. */
static int split_path(char *path, char **seg)
{
    if (path[0] != '/')
        return -1;
    int n = 0;
    char *p = path + 1;
    for (;;) {
        if (n == SBI_ROUTE_MAX_SEGMENTS)
            return -1;
        seg[n++] = p;
        char *slash = strchr(p, '/');
        if (!slash)
            return n;
        *slash = '\0';
        p = slash + 1;
    }
}

static bool route_matches_path(const route_t *rt, char *const *seg, size_t n_seg)
{
    if (rt->n_seg != n_seg)
        return false;
    for (size_t i = 0; i < n_seg; i++) {
        if (rt->seg[i].capture ? seg[i][0] == '\0' : strcmp(rt->seg[i].text, seg[i]) != 0)
            return false;
    }
    return true;
}

static void allow_append(char *allow, const char *method)
{
    size_t used = strlen(allow), mlen = strlen(method);
    /* skip duplicates: "GET" twice when two patterns overlap */
    for (const char *p = allow; (p = strstr(p, method)) != NULL; p += mlen)
        if ((p == allow || p[-1] == ' ') && (p[mlen] == ',' || p[mlen] == '\0'))
            return;
    if (used + mlen + 3 > SBI_ROUTE_ALLOW_MAX)
        return;
    if (used)
        strcat(allow, ", ");
    strcat(allow, method);
}

static void fill_captures(const route_t *rt, char *const *seg, sbi_route_match_t *out)
{
    out->n_captures = 0;
    for (size_t i = 0; i < rt->n_seg; i++) {
        if (!rt->seg[i].capture)
            continue;
        sbi_percent_decode(seg[i]);
        out->captures[out->n_captures].name = rt->seg[i].text;
        out->captures[out->n_captures].value = seg[i];
        out->n_captures++;
    }
}

sbi_route_result_t sbi_router_match(const sbi_router_t *r, const char *method, char *path, sbi_route_match_t *out)
{
    char *seg[SBI_ROUTE_MAX_SEGMENTS];
    memset(out, 0, sizeof(*out));
    int n_seg = split_path(path, seg);
    if (n_seg < 0)
        return SBI_ROUTE_NOT_FOUND;
    bool path_known = false;
    for (size_t i = 0; i < r->n; i++) {
        const route_t *rt = &r->routes[i];
        if (!route_matches_path(rt, seg, (size_t)n_seg))
            continue;
        if (strcmp(rt->method, method) != 0) {
            path_known = true;
            allow_append(out->allow, rt->method);
            continue;
        }
        out->handler = rt->handler;
        out->ud = rt->ud;
        out->raw_type = rt->raw_type[0] ? rt->raw_type : NULL;
        out->allow[0] = '\0';
        fill_captures(rt, seg, out);
        return SBI_ROUTE_FOUND;
    }
    return path_known ? SBI_ROUTE_METHOD_NOT_ALLOWED : SBI_ROUTE_NOT_FOUND;
}

const char *sbi_route_capture(const sbi_route_match_t *m, const char *name)
{
    for (size_t i = 0; i < m->n_captures; i++)
        if (strcmp(m->captures[i].name, name) == 0)
            return m->captures[i].value;
    return NULL;
}

static bool is_control(unsigned c)
{
    return c < 0x20 || c == 0x7f;
}

long sbi_target_control_char(const char *target)
{
    for (const char *p = target; *p; p++) {
        int hi, lo;
        if (is_control((unsigned char)*p))
            return (long)(p - target);
        if (p[0] == '%' && (hi = core_hex_value(p[1])) >= 0 && (lo = core_hex_value(p[2])) >= 0 &&
            is_control((unsigned)(hi * 16 + lo)))
            return (long)(p - target);
    }
    return -1;
}

size_t sbi_percent_decode(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        int hi, lo;
        if (r[0] == '%' && (hi = core_hex_value(r[1])) >= 0 && (lo = core_hex_value(r[2])) >= 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}
