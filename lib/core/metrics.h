/*
 * metrics — a small registry of counters, gauges and histograms rendered as Prometheus text (exposition format
 * 0.0.4). Updates are lock-free atomics so freeDiameter's threads and the event loop can both count; registration
 * happens at start-up, before any thread runs, and is not thread-safe.
 */
#ifndef MIHUA_METRICS_H
#define MIHUA_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_BUCKETS 16

typedef struct metrics metrics_t;
typedef struct metric metric_t;

metrics_t *metrics_new(void);
void metrics_free(metrics_t *m);

/* `labels` is a preformatted label set such as `outcome="ok"` or NULL. Several metrics may share a name with
 * different labels; they are rendered under one HELP/TYPE header. The name and help must outlive the registry. */
metric_t *metrics_counter(metrics_t *m, const char *name, const char *labels, const char *help);
metric_t *metrics_gauge(metrics_t *m, const char *name, const char *labels, const char *help);
/* Upper bounds in ascending order, at most METRICS_MAX_BUCKETS; +Inf is implicit. */
metric_t *metrics_histogram(metrics_t *m, const char *name, const char *labels, const char *help, const double *bounds,
                            size_t n_bounds);

void metric_inc(metric_t *c);
void metric_add(metric_t *c, uint64_t v);
void metric_set(metric_t *g, int64_t v);
void metric_observe(metric_t *h, double v);

/* Renders everything; returns a malloc'd NUL-terminated text (caller frees) or NULL on allocation failure. */
char *metrics_render(const metrics_t *m);

#endif
