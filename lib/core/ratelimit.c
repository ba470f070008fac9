/*
 * ratelimit — one log line per interval, with the count of the events in between (ratelimit.h). Uses the
 * monotonic clock so a wall-clock step cannot silence or flood the log.
 */
#include "core/ratelimit.h"

#include <stdio.h>
#include <string.h>

bool ratelimit_allow(ratelimit_t *rl, unsigned interval_s, uint64_t *suppressed)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    time_t now = ts.tv_sec + 1; /* + 1: 0 means "never" */
    if (rl->last != 0 && now - rl->last < (time_t)interval_s) {
        rl->suppressed++;
        return false;
    }
    rl->last = now;
    *suppressed = rl->suppressed;
    rl->suppressed = 0;
    return true;
}

int64_t ratelimit_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

void ratelimit_keys_init(ratelimit_keys_t *t, unsigned max_events, unsigned window_s)
{
    memset(t, 0, sizeof *t);
    t->max_events = max_events ? max_events : 1;
    t->window_s = window_s ? window_s : 1;
}

static bool slot_open(const ratelimit_keys_t *t, const ratelimit_slot_t *s, int64_t now)
{
    return s->key[0] != '\0' && now - s->start < (int64_t)t->window_s;
}

static const ratelimit_slot_t *slot_find(const ratelimit_keys_t *t, const char *key)
{
    for (size_t i = 0; i < RATELIMIT_KEYS_MAX; i++)
        if (t->slot[i].key[0] != '\0' && strncmp(t->slot[i].key, key, RATELIMIT_KEY_MAX - 1) == 0)
            return &t->slot[i];
    return NULL;
}

unsigned ratelimit_keys_blocked(const ratelimit_keys_t *t, const char *key, int64_t now)
{
    const ratelimit_slot_t *s = slot_find(t, key);
    if (s == NULL || !slot_open(t, s, now) || s->count < t->max_events)
        return 0;
    return (unsigned)(s->start + (int64_t)t->window_s - now);
}

/* A free or closed slot, else the one whose window opened first. */
static ratelimit_slot_t *slot_take(ratelimit_keys_t *t, int64_t now)
{
    ratelimit_slot_t *oldest = &t->slot[0];
    for (size_t i = 0; i < RATELIMIT_KEYS_MAX; i++) {
        if (!slot_open(t, &t->slot[i], now))
            return &t->slot[i];
        if (t->slot[i].start < oldest->start)
            oldest = &t->slot[i];
    }
    return oldest;
}

bool ratelimit_keys_hit(ratelimit_keys_t *t, const char *key, int64_t now)
{
    ratelimit_slot_t *s = (ratelimit_slot_t *)slot_find(t, key);
    if (s != NULL && !slot_open(t, s, now))
        s->count = 0;
    if (s == NULL) {
        s = slot_take(t, now);
        snprintf(s->key, sizeof s->key, "%s", key);
        s->count = 0;
    }
    if (s->count == 0)
        s->start = now;
    if (s->count >= t->max_events)
        return false; /* already blocked: the caller refused before counting */
    s->count++;
    return s->count == t->max_events;
}
