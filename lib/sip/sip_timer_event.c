/*
 * sip_timer_event — the production driver of the transaction layer's timers: one libevent timer event, always
 * armed for the layer's earliest deadline (RFC 3261 §17 timers need millisecond resolution; libevent's timeouts
 * give it). The layer calls the clock's wake hook when a newly armed timer is earlier than the one announced; after
 * each tick this file re-reads sip_txn_next_deadline(). Kept apart from sip_txn*.c so the transaction core links
 * and tests without libevent.
 */
#include "sip/sip_timer_event.h"

#include <event2/event.h>
#include <stdlib.h>
#include <time.h>

struct sip_timer_event {
    struct event_base *base;
    struct event *ev;
    sip_txn_layer_t *tl;
};

uint64_t sip_clock_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t sip_te_now(void *ctx)
{
    (void)ctx;
    return sip_clock_monotonic_ms();
}

static void sip_te_schedule(sip_timer_event_t *te, uint64_t due)
{
    uint64_t now = sip_clock_monotonic_ms();
    uint64_t wait = due > now ? due - now : 0;
    struct timeval tv = {(time_t)(wait / 1000u), (suseconds_t)((wait % 1000u) * 1000u)};
    event_add(te->ev, &tv);
}

static void sip_te_rearm(sip_timer_event_t *te)
{
    uint64_t due;
    if (te->tl && sip_txn_next_deadline(te->tl, &due))
        sip_te_schedule(te, due);
    else
        event_del(te->ev);
}

static void sip_te_wake(void *ctx, uint64_t due)
{
    sip_timer_event_t *te = ctx;
    if (te->tl)
        sip_te_schedule(te, due);
}

static void sip_te_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sip_timer_event_t *te = arg;
    sip_txn_tick(te->tl);
    sip_te_rearm(te);
}

sip_timer_event_t *sip_timer_event_new(struct event_base *base)
{
    sip_timer_event_t *te = calloc(1, sizeof *te);
    if (!te)
        return NULL;
    te->base = base;
    te->ev = evtimer_new(base, sip_te_fire, te);
    if (!te->ev) {
        free(te);
        return NULL;
    }
    return te;
}

void sip_timer_event_free(sip_timer_event_t *te)
{
    if (!te)
        return;
    event_free(te->ev);
    free(te);
}

sip_clock_t sip_timer_event_clock(sip_timer_event_t *te)
{
    return (sip_clock_t){sip_te_now, sip_te_wake, te};
}

void sip_timer_event_attach(sip_timer_event_t *te, sip_txn_layer_t *tl)
{
    te->tl = tl;
    sip_te_rearm(te);
}
