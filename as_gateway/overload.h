/*
 * overload — admission control for mihua-as: whether a new call may create state now (RFC 3261 §21.5.4 503 with
 * Retry-After; the RFC 7339 overload headers are not used, since neither sipp nor the phones in the field read them).
 *
 *   overload_t *o = overload_new(base, &conf, metrics);   // starts the event-loop lag probe on base
 *   overload_reason_t r = overload_admit(o, txns, calls, age_ms); // OVERLOAD_NONE: go on; else 503, count shed
 *   ...
 *   overload_free(o);
 *
 * Four high-water marks, each checked before a new out-of-dialog INVITE creates any state: the transaction table
 * fill (the room above the mark is kept for the requests of calls already admitted: PRACK, UPDATE, ACK, BYE,
 * CANCEL), the call table fill, the INVITE's own age when read (how long it waited since the kernel received it),
 * and the event loop's lag (how late a periodic probe timer fires). A loop that is behind answers retransmissions
 * instead of calls, and T1 = 500 ms makes every late answer cost another request. The lag probe alone misses the
 * commonest way of being behind: the loop turns on time while seconds of datagrams wait in the socket's receive
 * buffer; the age sees exactly that, per request, and shedding the old INVITEs (a stateless 503 costs a fraction
 * of a proxied call) is what drains the buffer. In-dialog requests are never judged here.
 * Counters: mihua_as_calls_shed_total{reason}.
 */
#ifndef MIHUA_AS_OVERLOAD_H
#define MIHUA_AS_OVERLOAD_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#include "core/metrics.h"

#define OVERLOAD_TXN_MARK_PCT_DEFAULT 80   /* the top fifth of the table stays for admitted calls' requests */
#define OVERLOAD_CALLS_MARK_PCT_DEFAULT 90 /* the call table only grows with admitted INVITEs: a little headroom */
#define OVERLOAD_LAG_MARK_MS_DEFAULT 100   /* well under T1 (500 ms): shed before the peers retransmit */
#define OVERLOAD_AGE_MARK_MS_DEFAULT 100   /* same reasoning, per request: an INVITE this old was read late */
#define OVERLOAD_RETRY_AFTER_S_DEFAULT 5   /* RFC 3261 §20.33 delta-seconds told to shed callers */
#define OVERLOAD_TXN_SECONDS_PER_CALL \
    101 /* UDP, INVITE/ACK/BYE through the proxy: INVITE server (Timer L 32 s)
                                               + client (Timer M 32 s), BYE server (Timer J 32 s) + client (K 5 s) */

typedef enum {
    OVERLOAD_NONE = 0,
    OVERLOAD_TRANSACTIONS, /* transaction table at its mark */
    OVERLOAD_CALLS,        /* call table at its mark */
    OVERLOAD_AGE,          /* the INVITE waited longer than its mark before it was read */
    OVERLOAD_LOOP_LAG,     /* event loop behind by more than its mark */
    OVERLOAD_REASON_COUNT
} overload_reason_t;

typedef struct {
    size_t txn_max;          /* transaction table size */
    unsigned txn_mark_pct;   /* 1-100: new INVITEs are shed once this share of txn_max is live */
    size_t calls_max;        /* call table size */
    unsigned calls_mark_pct; /* 1-100 */
    unsigned lag_mark_ms;    /* 0: the loop lag is not a reason to shed */
    unsigned age_mark_ms;    /* 0: a request's age is not a reason to shed */
    unsigned retry_after_s;  /* Retry-After of the 503 */
} overload_conf_t;

typedef struct overload overload_t;

overload_t *overload_new(struct event_base *base, const overload_conf_t *conf, metrics_t *metrics);
void overload_free(overload_t *o);
/* Judges a new out-of-dialog INVITE against the marks with the tables' current fill and the time it waited
 * between its arrival and its reading (age_ms); counts a shed one. */
overload_reason_t overload_admit(overload_t *o, size_t txns, size_t calls, uint64_t age_ms);
/* Metric label value of a reason ("transactions", "calls", "age", "loop_lag"). */
const char *overload_reason_name(overload_reason_t r);
unsigned overload_retry_after_s(const overload_t *o);
/* The loop lag the last probe measured, in ms. */
unsigned overload_lag_ms(const overload_t *o);
/* Transactions the mark admits, and the sustained call rate that allows at OVERLOAD_TXN_SECONDS_PER_CALL. */
size_t overload_txn_mark(const overload_t *o);
unsigned overload_sustained_cps(const overload_t *o);

#endif
