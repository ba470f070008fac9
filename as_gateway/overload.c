/*
 * overload — admission marks and the event-loop lag probe (see overload.h).
 *
 * The probe is a one-shot timer re-armed every OVERLOAD_PROBE_MS; its lag is how much later than asked it ran.
 * One probe is a sample, not an average: a loop that spent 300 ms in one burst of datagrams is 300 ms behind for
 * the requests of that burst, which is what admission must know. The lag decays by half at each probe that is on
 * time again, so one slow burst sheds a few probes' worth of INVITEs, not the next second's.
 */
#include "overload.h"

#include <inttypes.h>
#include <stdlib.h>

#include "core/log.h"
#include "sip/sip_timer_event.h"

#define OVERLOAD_PROBE_MS 20 /* lag resolution; the probe itself costs one timer callback per period */
#define OVERLOAD_LOG_MS 1000 /* shedding is reported in one log line per second at most, with its count */

struct overload {
    overload_conf_t conf;
    struct event *probe;
    uint64_t probe_due_ms;
    unsigned lag_ms;
    metric_t *shed[OVERLOAD_REASON_COUNT];
    metric_t *lag;
    uint64_t n_shed, shed_logged; /* INVITEs shed, and of those already reported in a log line */
    uint64_t log_ms;              /* when the last report was written (0: never) */
};

static void probe_arm(overload_t *o)
{
    struct timeval tv = {0, OVERLOAD_PROBE_MS * 1000};
    o->probe_due_ms = sip_clock_monotonic_ms() + OVERLOAD_PROBE_MS;
    (void)event_add(o->probe, &tv);
}

static void on_probe(evutil_socket_t fd, short what, void *arg)
{
    overload_t *o = arg;
    (void)fd, (void)what;
    uint64_t now = sip_clock_monotonic_ms();
    unsigned late = now > o->probe_due_ms ? (unsigned)(now - o->probe_due_ms) : 0;
    o->lag_ms = late > o->lag_ms / 2 ? late : o->lag_ms / 2;
    if (o->lag)
        metric_set(o->lag, (int64_t)o->lag_ms);
    probe_arm(o);
}

static void overload_metrics_init(overload_t *o, metrics_t *m)
{
    static const char help[] = "new INVITEs answered 503 with Retry-After before any state was created, by the "
                               "high-water mark that was reached";
    static const char *const labels[OVERLOAD_REASON_COUNT] = {NULL, "reason=\"transactions\"", "reason=\"calls\"",
                                                              "reason=\"age\"", "reason=\"loop_lag\""};
    if (!m)
        return;
    for (int r = OVERLOAD_TRANSACTIONS; r < OVERLOAD_REASON_COUNT; r++)
        o->shed[r] = metrics_counter(m, "mihua_as_calls_shed_total", labels[r], help);
    o->lag = metrics_gauge(m, "mihua_as_loop_lag_ms", NULL, "how late the event loop ran its last lag probe");
}

overload_t *overload_new(struct event_base *base, const overload_conf_t *conf, metrics_t *metrics)
{
    overload_t *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->conf = *conf;
    overload_metrics_init(o, metrics);
    if (conf->lag_mark_ms > 0) {
        if (!(o->probe = evtimer_new(base, on_probe, o))) {
            free(o);
            return NULL;
        }
        probe_arm(o);
    }
    return o;
}

void overload_free(overload_t *o)
{
    if (!o)
        return;
    if (o->probe)
        event_free(o->probe);
    free(o);
}

size_t overload_txn_mark(const overload_t *o)
{
    return o->conf.txn_max / 100 * o->conf.txn_mark_pct + o->conf.txn_max % 100 * o->conf.txn_mark_pct / 100;
}

static size_t calls_mark(const overload_t *o)
{
    return o->conf.calls_max / 100 * o->conf.calls_mark_pct + o->conf.calls_max % 100 * o->conf.calls_mark_pct / 100;
}

/* A flood of 503s must not become a flood of log lines: one line a second says how many and why. */
static void shed_report(overload_t *o, overload_reason_t r, size_t txns, size_t calls, uint64_t age_ms)
{
    uint64_t now = sip_clock_monotonic_ms();
    o->n_shed++;
    if (o->log_ms != 0 && now - o->log_ms < OVERLOAD_LOG_MS)
        return;
    log_warn("overload",
             "%" PRIu64 " new INVITEs answered 503 since the last report (%" PRIu64 " in all); now: "
             "%s, transactions %zu/%zu, calls %zu/%zu, age %" PRIu64 " ms, loop lag %u ms",
             o->n_shed - o->shed_logged, o->n_shed, overload_reason_name(r), txns, overload_txn_mark(o), calls,
             calls_mark(o), age_ms, o->lag_ms);
    o->shed_logged = o->n_shed;
    o->log_ms = now ? now : 1;
}

overload_reason_t overload_admit(overload_t *o, size_t txns, size_t calls, uint64_t age_ms)
{
    overload_reason_t r = OVERLOAD_NONE;
    if (txns >= overload_txn_mark(o))
        r = OVERLOAD_TRANSACTIONS;
    else if (calls >= calls_mark(o))
        r = OVERLOAD_CALLS;
    else if (o->conf.age_mark_ms > 0 && age_ms > o->conf.age_mark_ms)
        r = OVERLOAD_AGE;
    else if (o->conf.lag_mark_ms > 0 && o->lag_ms > o->conf.lag_mark_ms)
        r = OVERLOAD_LOOP_LAG;
    if (r == OVERLOAD_NONE)
        return r;
    if (o->shed[r])
        metric_inc(o->shed[r]);
    shed_report(o, r, txns, calls, age_ms);
    return r;
}

const char *overload_reason_name(overload_reason_t r)
{
    static const char *const names[OVERLOAD_REASON_COUNT] = {"none", "transactions", "calls", "age", "loop_lag"};
    return (unsigned)r < OVERLOAD_REASON_COUNT ? names[r] : "?";
}

unsigned overload_retry_after_s(const overload_t *o)
{
    return o->conf.retry_after_s;
}

unsigned overload_lag_ms(const overload_t *o)
{
    return o->lag_ms;
}

unsigned overload_sustained_cps(const overload_t *o)
{
    return (unsigned)(overload_txn_mark(o) / OVERLOAD_TXN_SECONDS_PER_CALL);
}
