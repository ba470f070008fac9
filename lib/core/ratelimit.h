/*
 * ratelimit — at most one log line per interval for events a peer can cause at will (failed accepts, refused or
 * broken connections), so that a client cannot turn the log into a disk-filling loop. The events in between are
 * counted and the next line reports how many there were. Single-threaded: one per event loop.
 */
#ifndef MIHUA_RATELIMIT_H
#define MIHUA_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define RATELIMIT_INTERVAL_S 10 /* one line per kind of event and listener every 10 s is enough to notice */

typedef struct {
    time_t last;         /* when the last line was allowed; 0: never */
    uint64_t suppressed; /* events since then that were not logged */
} ratelimit_t;

/* True when a line may be written now (then *suppressed says how many events were not logged since the last
 * one); false when the event must only be counted. */
bool ratelimit_allow(ratelimit_t *rl, unsigned interval_s, uint64_t *suppressed);

#endif
