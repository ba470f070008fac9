/*
 * sub_watch — the store's generation watched from the event loop (see sub_watch.h).
 */
#include "subscriber/sub_watch.h"

#include <stdlib.h>

struct sub_watch {
    sub_store_t *store;
    struct event *ev;
    unsigned long generation;
    unsigned ticks;
    sub_watch_fn fn;
    void *ud;
};

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    sub_watch_t *w = arg;
    (void)fd;
    (void)what;
    unsigned long g = sub_store_generation(w->store);
    bool sweep = ++w->ticks % SUB_WATCH_SWEEP_TICKS == 0;
    if (g == w->generation && !sweep)
        return;
    bool changed = g != w->generation;
    w->generation = g;
    sub_snapshot_t *snap = changed ? sub_store_acquire(w->store) : NULL;
    w->fn(changed, snap, w->ud);
    if (snap != NULL)
        sub_snapshot_release(snap);
}

sub_watch_t *sub_watch_new(struct event_base *base, sub_store_t *store, sub_watch_fn fn, void *ud)
{
    sub_watch_t *w = calloc(1, sizeof *w);
    struct timeval tick = {0, SUB_WATCH_TICK_MS * 1000};
    if (w == NULL)
        return NULL;
    *w = (sub_watch_t){.store = store, .generation = sub_store_generation(store), .fn = fn, .ud = ud};
    w->ev = event_new(base, -1, EV_PERSIST, on_tick, w);
    if (w->ev == NULL || event_add(w->ev, &tick) != 0) {
        sub_watch_free(w);
        return NULL;
    }
    return w;
}

void sub_watch_free(sub_watch_t *w)
{
    if (w == NULL)
        return;
    if (w->ev != NULL)
        event_free(w->ev);
    free(w);
}
