/*
 * sub_watch — tells a daemon's event loop that the subscriber data in force changed, whoever changed it (this
 * process's admin API, another simulator sharing the store, mihua-subscribers, a reload): the notifiers of
 * Sh-Subs-Notif (mihua-hss) and Nudr subs-to-notify (mihua-udm) push from it.
 *
 * A timer on the loop compares sub_store_generation() every SUB_WATCH_TICK_MS; a change reaches the callback
 * within the store's poll period plus one tick. The callback also runs once a second without a change
 * (`changed` false), for work that goes by the clock, such as expiring subscriptions. Trade-off: one mutex-guarded
 * read per tick, nothing when idle beyond that, instead of a cross-thread wake-up from the refresher.
 */
#ifndef MIHUA_SUB_WATCH_H
#define MIHUA_SUB_WATCH_H

#include <event2/event.h>
#include <stdbool.h>

#include "subscriber/sub_store.h"

#define SUB_WATCH_TICK_MS 5       /* store poll (10 ms) + this: well inside DESIGN §5's 100 ms */
#define SUB_WATCH_SWEEP_TICKS 200 /* the clock-only call: once a second */

typedef struct sub_watch sub_watch_t;

/* `fn(changed, snapshot or NULL, ud)`: `snap` is the snapshot in force when changed (released after the call). */
typedef void (*sub_watch_fn)(bool changed, sub_snapshot_t *snap, void *ud);

sub_watch_t *sub_watch_new(struct event_base *base, sub_store_t *store, sub_watch_fn fn, void *ud);
void sub_watch_free(sub_watch_t *w);

#endif
