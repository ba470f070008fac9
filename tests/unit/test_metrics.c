/* Unit tests for lib/core/metrics: exact Prometheus text, grouping, histogram buckets, concurrent updates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics.h"

#define THREADS 4
#define PER_THREAD 10000

static void assert_render(const metrics_t *m, const char *expected)
{
    char *text = metrics_render(m);
    assert_non_null(text);
    assert_string_equal(text, expected);
    free(text);
}

static void test_empty(void **state)
{
    (void)state;
    metrics_t *m = metrics_new();
    assert_non_null(m);
    assert_render(m, "");
    metrics_free(m);
}

static void test_counters_and_gauges(void **state)
{
    (void)state;
    metrics_t *m = metrics_new();
    metric_t *ok = metrics_counter(m, "mihua_sh_requests_total", "outcome=\"ok\"", "Sh requests handled.");
    metric_t *up = metrics_gauge(m, "mihua_peers_up", NULL, "Diameter peers in state open.");
    metric_t *bad = metrics_counter(m, "mihua_sh_requests_total", "outcome=\"error\"", "ignored");
    assert_non_null(ok);
    assert_non_null(up);
    assert_non_null(bad);
    metric_inc(ok);
    metric_inc(ok);
    metric_add(ok, 40);
    metric_inc(bad);
    metric_set(up, 3);
    metric_set(up, -2);
    assert_render(m, "# HELP mihua_sh_requests_total Sh requests handled.\n"
                     "# TYPE mihua_sh_requests_total counter\n"
                     "mihua_sh_requests_total{outcome=\"ok\"} 42\n"
                     "mihua_sh_requests_total{outcome=\"error\"} 1\n"
                     "# HELP mihua_peers_up Diameter peers in state open.\n"
                     "# TYPE mihua_peers_up gauge\n"
                     "mihua_peers_up -2\n");
    metrics_free(m);
}

static void test_histogram(void **state)
{
    (void)state;
    metrics_t *m = metrics_new();
    const double bounds[] = {0.005, 0.1, 1};
    metric_t *h = metrics_histogram(m, "mihua_udr_seconds", "peer=\"hss\"", "UDR round trip.", bounds, 3);
    metric_t *plain = metrics_histogram(m, "mihua_plain", NULL, "Line one\nback\\slash", bounds, 1);
    assert_non_null(h);
    assert_non_null(plain);
    metric_observe(h, 0.005); /* on a bound: counts in that bucket (le = less or equal) */
    metric_observe(h, 0.05);
    metric_observe(h, 0.25);
    metric_observe(h, 3);
    metric_observe(h, 0.001);
    metric_observe(plain, 2);
    assert_render(m, "# HELP mihua_udr_seconds UDR round trip.\n"
                     "# TYPE mihua_udr_seconds histogram\n"
                     "mihua_udr_seconds_bucket{peer=\"hss\",le=\"0.005\"} 2\n"
                     "mihua_udr_seconds_bucket{peer=\"hss\",le=\"0.1\"} 3\n"
                     "mihua_udr_seconds_bucket{peer=\"hss\",le=\"1\"} 4\n"
                     "mihua_udr_seconds_bucket{peer=\"hss\",le=\"+Inf\"} 5\n"
                     "mihua_udr_seconds_sum{peer=\"hss\"} 3.306\n"
                     "mihua_udr_seconds_count{peer=\"hss\"} 5\n"
                     "# HELP mihua_plain Line one\\nback\\\\slash\n"
                     "# TYPE mihua_plain histogram\n"
                     "mihua_plain_bucket{le=\"0.005\"} 0\n"
                     "mihua_plain_bucket{le=\"+Inf\"} 1\n"
                     "mihua_plain_sum 2\n"
                     "mihua_plain_count 1\n");
    metrics_free(m);
}

static void test_registration_errors(void **state)
{
    (void)state;
    metrics_t *m = metrics_new();
    const double descending[] = {1, 0.5};
    double too_many[METRICS_MAX_BUCKETS + 1];
    for (size_t i = 0; i < METRICS_MAX_BUCKETS + 1; i++)
        too_many[i] = (double)i;

    assert_non_null(metrics_counter(m, "x_total", "a=\"1\"", "x"));
    assert_null(metrics_counter(m, "x_total", "a=\"1\"", "x")); /* same series twice */
    assert_null(metrics_gauge(m, "x_total", "a=\"2\"", "x"));   /* same name, other type */
    assert_null(metrics_counter(m, "9bad", NULL, "x"));         /* invalid name */
    assert_null(metrics_counter(m, "bad-name", NULL, "x"));
    assert_null(metrics_histogram(m, "h", NULL, "h", descending, 2));
    assert_null(metrics_histogram(m, "h", NULL, "h", too_many, METRICS_MAX_BUCKETS + 1));
    assert_non_null(metrics_histogram(m, "h", NULL, "h", too_many, METRICS_MAX_BUCKETS));
    metrics_free(m);
}

static void *hammer(void *arg)
{
    metric_t **ms = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        metric_inc(ms[0]);
        metric_observe(ms[1], 0.5);
    }
    return NULL;
}

static void test_concurrent_updates(void **state)
{
    (void)state;
    metrics_t *m = metrics_new();
    const double bounds[] = {1};
    metric_t *ms[2] = {metrics_counter(m, "c_total", NULL, "c"), metrics_histogram(m, "h", NULL, "h", bounds, 1)};
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, ms), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert_render(m, "# HELP c_total c\n# TYPE c_total counter\nc_total 40000\n"
                     "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 40000\nh_bucket{le=\"+Inf\"} 40000\n"
                     "h_sum 20000\nh_count 40000\n");
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_counters_and_gauges),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_registration_errors),
        cmocka_unit_test(test_concurrent_updates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
