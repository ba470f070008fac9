/*
 * test_as_overload — the admission marks of mihua-as (overload.h): each mark sheds from exactly its threshold,
 * the first mark reached names the reason, the sustained rate follows the mark, an INVITE older than the age mark
 * is shed (and nothing is, with the mark off), and the lag probe (driven by a real event loop made to run late)
 * sheds while the loop is behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/metrics.h"
#include "overload.h"

static const overload_conf_t conf = {.txn_max = 1000,
                                     .txn_mark_pct = 80,
                                     .calls_max = 100,
                                     .calls_mark_pct = 90,
                                     .lag_mark_ms = 0,
                                     .age_mark_ms = 100,
                                     .retry_after_s = 5};

static void test_marks(void **state)
{
    (void)state;
    overload_t *o = overload_new(NULL, &conf, NULL);
    assert_non_null(o);
    assert_int_equal(overload_txn_mark(o), 800);
    assert_int_equal(overload_admit(o, 799, 89, 0), OVERLOAD_NONE);
    assert_int_equal(overload_admit(o, 800, 0, 0), OVERLOAD_TRANSACTIONS);
    assert_int_equal(overload_admit(o, 0, 90, 0), OVERLOAD_CALLS);
    assert_int_equal(overload_admit(o, 1000, 100, 0), OVERLOAD_TRANSACTIONS); /* the first mark reached names it */
    assert_string_equal(overload_reason_name(OVERLOAD_CALLS), "calls");
    assert_int_equal(overload_retry_after_s(o), 5);
    assert_int_equal(overload_sustained_cps(o), 800 / OVERLOAD_TXN_SECONDS_PER_CALL);
    overload_free(o);
}

static void test_shed_counted(void **state)
{
    (void)state;
    metrics_t *m = metrics_new();
    overload_t *o = overload_new(NULL, &conf, m);
    (void)overload_admit(o, 900, 0, 0);
    (void)overload_admit(o, 900, 0, 0);
    (void)overload_admit(o, 0, 95, 0);
    (void)overload_admit(o, 0, 0, 0);
    (void)overload_admit(o, 0, 0, 250);
    char *text = metrics_render(m);
    assert_non_null(strstr(text, "mihua_as_calls_shed_total{reason=\"transactions\"} 2\n"));
    assert_non_null(strstr(text, "mihua_as_calls_shed_total{reason=\"calls\"} 1\n"));
    assert_non_null(strstr(text, "mihua_as_calls_shed_total{reason=\"age\"} 1\n"));
    assert_non_null(strstr(text, "mihua_as_calls_shed_total{reason=\"loop_lag\"} 0\n"));
    free(text);
    overload_free(o);
    metrics_free(m);
}

/* The age mark sheds strictly above it; the table marks, reached first, name the reason; 0 turns it off. */
static void test_age(void **state)
{
    (void)state;
    overload_t *o = overload_new(NULL, &conf, NULL);
    assert_int_equal(overload_admit(o, 0, 0, 100), OVERLOAD_NONE);
    assert_int_equal(overload_admit(o, 0, 0, 101), OVERLOAD_AGE);
    assert_int_equal(overload_admit(o, 0, 0, 5000), OVERLOAD_AGE);
    assert_int_equal(overload_admit(o, 800, 0, 5000), OVERLOAD_TRANSACTIONS);
    assert_int_equal(overload_admit(o, 0, 90, 5000), OVERLOAD_CALLS);
    assert_string_equal(overload_reason_name(OVERLOAD_AGE), "age");
    overload_free(o);
    overload_conf_t off = conf;
    off.age_mark_ms = 0;
    o = overload_new(NULL, &off, NULL);
    assert_int_equal(overload_admit(o, 0, 0, 60000), OVERLOAD_NONE);
    overload_free(o);
}

/* A one-shot timer that blocks the loop for 120 ms: the lag probe due meanwhile runs that late. */
static void on_block(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    struct timespec ts = {0, 120 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    event_base_loopbreak(arg);
}

static void test_loop_lag(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    overload_conf_t c = conf;
    c.lag_mark_ms = 50;
    overload_t *o = overload_new(base, &c, NULL);
    assert_int_equal(overload_admit(o, 0, 0, 0), OVERLOAD_NONE);
    /* the stop falls between the late probe (at the end of the block) and the next one, due 20 ms after it */
    struct timeval block = {0, 5 * 1000}, stop = {0, 135 * 1000};
    struct event *b = evtimer_new(base, on_block, NULL), *s = evtimer_new(base, on_stop, base);
    evtimer_add(b, &block);
    evtimer_add(s, &stop);
    event_base_dispatch(base);
    /* the probe due during the block ran about 100 ms late */
    assert_true(overload_lag_ms(o) > 50);
    assert_int_equal(overload_admit(o, 0, 0, 0), OVERLOAD_LOOP_LAG);
    event_free(b);
    event_free(s);
    overload_free(o);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_marks),
        cmocka_unit_test(test_shed_counted),
        cmocka_unit_test(test_age),
        cmocka_unit_test(test_loop_lag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
