/*
 * metrics — counters, gauges and histograms rendered as Prometheus text exposition format 0.0.4.
 *
 * Registration (start-up, single thread) appends to a growing array of metric_t; updates are C11 atomics with
 * relaxed ordering, since a scrape needs no ordering between series. Rendering walks the array in registration
 * order and emits every series of a name under the first registration's # HELP / # TYPE, so labelled variants
 * ("outcome=ok", "outcome=error") group as Prometheus requires, whatever order they were registered in.
 *
 * Histograms keep one non-cumulative counter per bucket plus +Inf; the renderer accumulates them, and derives
 * _count from the same sum, so a scrape always shows count == the +Inf bucket even while other threads observe.
 * The sum is an atomic double: its IEEE-754 bits live in a uint64 updated by compare-and-swap (exact for any
 * values, no fixed-point scale to choose). A scrape may see _sum from a slightly later instant than the buckets;
 * Prometheus tolerates that.
 *
 * Limits: a name and its series are validated at registration ([a-zA-Z_:][a-zA-Z0-9_:]*); registering the same
 * name with another type, or the same name and labels twice, returns NULL (a programming error, caught at start).
 */
#include "core/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_INITIAL_CAP 16    /* registry slots before the first doubling */
#define METRICS_RENDER_CHUNK 4096 /* growth step of the output buffer */
#define METRICS_NUM_MAX 64        /* longest formatted number */
#define METRICS_EXACT_INT 1e15    /* integral values below this print without exponent */

typedef enum { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM } metric_type_t;

struct metric {
    const char *name; /* caller-owned, outlives the registry */
    const char *help; /* caller-owned */
    char *labels;     /* own copy; NULL when the series has none */
    metric_type_t type;
    atomic_uint_least64_t count;        /* counter value */
    atomic_int_least64_t gauge;         /* gauge value */
    double bounds[METRICS_MAX_BUCKETS]; /* histogram upper bounds, ascending */
    size_t n_bounds;
    atomic_uint_least64_t buckets[METRICS_MAX_BUCKETS + 1]; /* per-bucket (not cumulative); last is +Inf */
    atomic_uint_least64_t sum_bits;                         /* IEEE-754 bits of the running sum */
};

struct metrics {
    metric_t **items;
    size_t n, cap;
};

/* A growable text buffer; `failed` latches the first allocation failure. */
typedef struct {
    char *s;
    size_t len, cap;
    bool failed;
} mbuf_t;

metrics_t *metrics_new(void)
{
    return calloc(1, sizeof(metrics_t));
}

void metrics_free(metrics_t *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->items[i]->labels);
        free(m->items[i]);
    }
    free(m->items);
    free(m);
}

static bool metrics_valid_name(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return false;
    for (const char *p = name; *p; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':';
        bool digit = *p >= '0' && *p <= '9';
        if (!alpha && !(digit && p != name))
            return false;
    }
    return true;
}

static bool metrics_same_labels(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Rejects a type clash with an earlier metric of the same name, and a duplicate series. */
static bool metrics_conflicts(const metrics_t *m, const char *name, const char *labels, metric_type_t type)
{
    for (size_t i = 0; i < m->n; i++) {
        const metric_t *o = m->items[i];
        if (strcmp(o->name, name) != 0)
            continue;
        if (o->type != type || metrics_same_labels(o->labels, labels))
            return true;
    }
    return false;
}

static metric_t *metrics_add(metrics_t *m, const char *name, const char *labels, const char *help, metric_type_t type)
{
    if (m == NULL || !metrics_valid_name(name))
        return NULL;
    if (labels != NULL && labels[0] == '\0')
        labels = NULL;
    if (metrics_conflicts(m, name, labels, type))
        return NULL;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : METRICS_INITIAL_CAP;
        metric_t **items = realloc(m->items, cap * sizeof(*items));
        if (items == NULL)
            return NULL;
        m->items = items;
        m->cap = cap;
    }
    metric_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    if (labels != NULL && (c->labels = strdup(labels)) == NULL) {
        free(c);
        return NULL;
    }
    c->name = name;
    c->help = help ? help : "";
    c->type = type;
    m->items[m->n++] = c;
    return c;
}

metric_t *metrics_counter(metrics_t *m, const char *name, const char *labels, const char *help)
{
    return metrics_add(m, name, labels, help, METRIC_COUNTER);
}

metric_t *metrics_gauge(metrics_t *m, const char *name, const char *labels, const char *help)
{
    return metrics_add(m, name, labels, help, METRIC_GAUGE);
}

static bool metrics_valid_bounds(const double *bounds, size_t n)
{
    if (n > METRICS_MAX_BUCKETS || (n > 0 && bounds == NULL))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
            return false;
    }
    return true;
}

metric_t *metrics_histogram(metrics_t *m, const char *name, const char *labels, const char *help, const double *bounds,
                            size_t n_bounds)
{
    if (!metrics_valid_bounds(bounds, n_bounds))
        return NULL;
    metric_t *h = metrics_add(m, name, labels, help, METRIC_HISTOGRAM);
    if (h == NULL)
        return NULL;
    if (n_bounds > 0)
        memcpy(h->bounds, bounds, n_bounds * sizeof(double));
    h->n_bounds = n_bounds;
    return h;
}

void metric_inc(metric_t *c)
{
    metric_add(c, 1);
}

void metric_add(metric_t *c, uint64_t v)
{
    if (c == NULL || c->type != METRIC_COUNTER)
        return;
    atomic_fetch_add_explicit(&c->count, v, memory_order_relaxed);
}

void metric_set(metric_t *g, int64_t v)
{
    if (g == NULL || g->type != METRIC_GAUGE)
        return;
    atomic_store_explicit(&g->gauge, v, memory_order_relaxed);
}

static uint64_t metrics_double_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
}

static double metrics_bits_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

void metric_observe(metric_t *h, double v)
{
    if (h == NULL || h->type != METRIC_HISTOGRAM)
        return;
    size_t b = 0;
    while (b < h->n_bounds && !(v <= h->bounds[b])) /* NaN lands in +Inf */
        b++;
    atomic_fetch_add_explicit(&h->buckets[b], 1, memory_order_relaxed);

    uint64_t old = atomic_load_explicit(&h->sum_bits, memory_order_relaxed);
    uint64_t upd;
    do {
        upd = metrics_double_bits(metrics_bits_double(old) + v);
    } while (
        !atomic_compare_exchange_weak_explicit(&h->sum_bits, &old, upd, memory_order_relaxed, memory_order_relaxed));
}

/* ---- rendering ---- */

static void mbuf_append(mbuf_t *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->cap - b->len < n + 1) {
        size_t cap = b->cap + (n + 1 > METRICS_RENDER_CHUNK ? n + 1 : METRICS_RENDER_CHUNK);
        char *ns = realloc(b->s, cap);
        if (ns == NULL) {
            b->failed = true;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void mbuf_puts(mbuf_t *b, const char *s)
{
    mbuf_append(b, s, strlen(s));
}

static void mbuf_printf(mbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mbuf_printf(mbuf_t *b, const char *fmt, ...)
{
    char tmp[METRICS_NUM_MAX * 2];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        b->failed = true;
        return;
    }
    mbuf_append(b, tmp, (size_t)n);
}

/* Shortest text that reads back as the same double ("0.005", not "0.0050000000000000001"), integers without an
 * exponent; Prometheus spells
 * infinities +Inf/-Inf and not-a-number NaN. */
static void metrics_format_double(double d, char *out, size_t size)
{
    if (isnan(d)) {
        snprintf(out, size, "NaN");
        return;
    }
    if (isinf(d)) {
        snprintf(out, size, d > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* Range first: the cast is only defined for values that fit (and libm stays out of the link). */
    if (d > -METRICS_EXACT_INT && d < METRICS_EXACT_INT && d == (double)(long long)d) {
        snprintf(out, size, "%.0f", d); /* "20000", not "2e+04" */
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            return;
    }
}

/* HELP text escapes backslash and newline (exposition format 0.0.4). */
static void metrics_put_help(mbuf_t *b, const char *help)
{
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            mbuf_puts(b, "\\\\");
        else if (*p == '\n')
            mbuf_puts(b, "\\n");
        else
            mbuf_append(b, p, 1);
    }
}

static const char *metrics_type_name(metric_type_t t)
{
    switch (t) {
    case METRIC_COUNTER:
        return "counter";
    case METRIC_GAUGE:
        return "gauge";
    case METRIC_HISTOGRAM:
        return "histogram";
    }
    return "untyped";
}

/* name + suffix + {labels[,extra]} */
static void metrics_put_series(mbuf_t *b, const metric_t *c, const char *suffix, const char *extra)
{
    mbuf_puts(b, c->name);
    mbuf_puts(b, suffix);
    if (c->labels == NULL && extra == NULL)
        return;
    mbuf_puts(b, "{");
    if (c->labels != NULL)
        mbuf_puts(b, c->labels);
    if (c->labels != NULL && extra != NULL)
        mbuf_puts(b, ",");
    if (extra != NULL)
        mbuf_puts(b, extra);
    mbuf_puts(b, "}");
}

static void metrics_render_histogram(mbuf_t *b, const metric_t *h)
{
    char num[METRICS_NUM_MAX], le[METRICS_NUM_MAX + 8];
    uint64_t cumulative = 0;

    for (size_t i = 0; i <= h->n_bounds; i++) {
        cumulative += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        metrics_format_double(i < h->n_bounds ? h->bounds[i] : INFINITY, num, sizeof(num));
        snprintf(le, sizeof(le), "le=\"%s\"", num);
        metrics_put_series(b, h, "_bucket", le);
        mbuf_printf(b, " %llu\n", (unsigned long long)cumulative);
    }
    metrics_format_double(metrics_bits_double(atomic_load_explicit(&h->sum_bits, memory_order_relaxed)), num,
                          sizeof(num));
    metrics_put_series(b, h, "_sum", NULL);
    mbuf_printf(b, " %s\n", num);
    metrics_put_series(b, h, "_count", NULL);
    mbuf_printf(b, " %llu\n", (unsigned long long)cumulative);
}

static void metrics_render_one(mbuf_t *b, const metric_t *c)
{
    switch (c->type) {
    case METRIC_COUNTER:
        metrics_put_series(b, c, "", NULL);
        mbuf_printf(b, " %llu\n", (unsigned long long)atomic_load_explicit(&c->count, memory_order_relaxed));
        return;
    case METRIC_GAUGE:
        metrics_put_series(b, c, "", NULL);
        mbuf_printf(b, " %lld\n", (long long)atomic_load_explicit(&c->gauge, memory_order_relaxed));
        return;
    case METRIC_HISTOGRAM:
        metrics_render_histogram(b, c);
        return;
    }
}

static bool metrics_seen_before(const metrics_t *m, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (strcmp(m->items[j]->name, m->items[i]->name) == 0)
            return true;
    }
    return false;
}

char *metrics_render(const metrics_t *m)
{
    mbuf_t b = {0};

    mbuf_append(&b, "", 0); /* an empty registry renders as "" rather than NULL */
    for (size_t i = 0; m != NULL && i < m->n; i++) {
        const metric_t *first = m->items[i];
        if (metrics_seen_before(m, i))
            continue;
        mbuf_puts(&b, "# HELP ");
        mbuf_puts(&b, first->name);
        mbuf_puts(&b, " ");
        metrics_put_help(&b, first->help);
        mbuf_puts(&b, "\n# TYPE ");
        mbuf_puts(&b, first->name);
        mbuf_puts(&b, " ");
        mbuf_puts(&b, metrics_type_name(first->type));
        mbuf_puts(&b, "\n");
        for (size_t j = i; j < m->n; j++) {
            if (strcmp(m->items[j]->name, first->name) == 0)
                metrics_render_one(&b, m->items[j]);
        }
    }
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
