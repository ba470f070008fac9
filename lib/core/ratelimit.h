/*
 * ratelimit — at most one log line per interval for events a peer can cause at will (failed accepts, refused or
 * broken connections), so that a client cannot turn the log into a disk-filling loop. The events in between are
 * counted and the next line reports how many there were. Single-threaded: one per event loop.
 *
 * ratelimit_keys_t counts events per key (a client address) in a fixed window that opens at the key's first
 * event: once `max_events` happened within `window_s`, the key is blocked until the window closes (failed
 * authentications: a guesser gets N tries per window). The table has RATELIMIT_KEYS_MAX slots; when full, a slot
 * whose window has closed is reused, else the one whose window opened first. Trade-off: an attacker with more
 * addresses than slots can push its own entries out and keep guessing, at most N per address and window.
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

#define RATELIMIT_KEYS_MAX 1024 /* client addresses tracked per table: far more than an operator's admin hosts */
#define RATELIMIT_KEY_MAX 48    /* an IPv6 address in text, NUL included */

typedef struct {
    char key[RATELIMIT_KEY_MAX]; /* "" when free */
    int64_t start;               /* monotonic second the key's window opened */
    unsigned count;              /* events in that window */
} ratelimit_slot_t;

typedef struct {
    unsigned max_events;
    unsigned window_s;
    ratelimit_slot_t slot[RATELIMIT_KEYS_MAX];
} ratelimit_keys_t;

/* The monotonic clock in seconds: the `now` of the functions below. */
int64_t ratelimit_now(void);

void ratelimit_keys_init(ratelimit_keys_t *t, unsigned max_events, unsigned window_s);
/* Seconds until `key` may act again (at least 1 while blocked), 0 when it is not blocked at `now`. */
unsigned ratelimit_keys_blocked(const ratelimit_keys_t *t, const char *key, int64_t now);
/* Counts one event of `key`; true when this event blocks it (the max_events-th in its window). Keys longer than
 * RATELIMIT_KEY_MAX - 1 are cut. */
bool ratelimit_keys_hit(ratelimit_keys_t *t, const char *key, int64_t now);

#endif
