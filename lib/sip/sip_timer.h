/*
 * sip_timer — deadlines for the transaction layer without an event loop (RFC 3261 §17 timers A-K, RFC 6026 L/M).
 *
 *   sip_timers_t ts;  sip_timers_init(&ts, 2 * max_txns);   // capacity fixed up front: arming never allocates
 *   sip_timer_init(&txn->t_retx, owner_id, kind);
 *   sip_timer_arm(&ts, &txn->t_retx, now + 500);
 *   while ((tm = sip_timers_pop_due(&ts, now)) != NULL) dispatch(tm);
 *
 * Timers are intrusive nodes embedded in their owner; the heap holds pointers, so an owner must cancel its timers
 * before it is freed. Time is an opaque monotonic millisecond count supplied by a sip_clock_t, so tests drive it
 * with a fake clock and production with sip_timer_event.h.
 */
#ifndef MIHUA_SIP_TIMER_H
#define MIHUA_SIP_TIMER_H

#include <stdbool.h>
#include <stdint.h>

/* A clock and an optional "wake me earlier" hook. The layer that owns timers never sleeps: whoever drives it
 * (sip_timer_event.c, or a test) reads sip_timers_next() and calls the owner's tick function. */
typedef struct {
    uint64_t (*now_ms)(void *ctx);            /* monotonic milliseconds */
    void (*wake)(void *ctx, uint64_t due_ms); /* optional: the earliest deadline became due_ms (earlier than before) */
    void *ctx;
} sip_clock_t;

typedef struct sip_timer {
    uint64_t due;   /* absolute deadline (clock milliseconds) */
    int idx;        /* position in the heap; -1 when not armed */
    int kind;       /* owner's meaning (which RFC timer) */
    uint64_t owner; /* owner's handle (a transaction id), checked when the timer fires */
} sip_timer_t;

typedef struct {
    sip_timer_t **heap; /* binary min-heap on due */
    int n;              /* armed timers */
    int cap;            /* fixed at init */
} sip_timers_t;

int sip_timers_init(sip_timers_t *ts, int cap);
void sip_timers_free(sip_timers_t *ts);

void sip_timer_init(sip_timer_t *tm, uint64_t owner, int kind);
/* Arms (or re-arms) tm for due. Returns 0, or -1 when the heap is full (cannot happen when cap covers every
 * timer node in existence, which is how the transaction layer sizes it). */
int sip_timer_arm(sip_timers_t *ts, sip_timer_t *tm, uint64_t due);
/* Disarms tm; harmless when not armed. */
void sip_timer_cancel(sip_timers_t *ts, sip_timer_t *tm);
bool sip_timer_armed(const sip_timer_t *tm);
/* Earliest deadline; false when nothing is armed. */
bool sip_timers_next(const sip_timers_t *ts, uint64_t *due);
/* Removes and returns the earliest timer with due <= now, or NULL. */
sip_timer_t *sip_timers_pop_due(sip_timers_t *ts, uint64_t now);
/* Gives the memory of the heap's unused part back to the kernel (its capacity stays). */
void sip_timers_trim(sip_timers_t *ts);

#endif
