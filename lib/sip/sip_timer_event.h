/*
 * sip_timer_event — drives a sip_txn layer from a libevent loop with the monotonic clock.
 *
 *   sip_timer_event_t *te = sip_timer_event_new(base);
 *   sip_clock_t clock = sip_timer_event_clock(te);    // give this to sip_txn_layer_new()
 *   sip_txn_layer_t *tl = sip_txn_layer_new(&conf, &clock, &io, &tu);
 *   sip_timer_event_attach(te, tl);                   // one event, re-armed at the layer's next deadline
 *   ...
 *   sip_txn_layer_free(tl); sip_timer_event_free(te);
 */
#ifndef MIHUA_SIP_TIMER_EVENT_H
#define MIHUA_SIP_TIMER_EVENT_H

#include "sip/sip_timer.h"
#include "sip/sip_txn.h"

struct event_base;
typedef struct sip_timer_event sip_timer_event_t;

sip_timer_event_t *sip_timer_event_new(struct event_base *base);
void sip_timer_event_free(sip_timer_event_t *te);
/* A clock reading CLOCK_MONOTONIC whose wake hook re-arms te's event. */
sip_clock_t sip_timer_event_clock(sip_timer_event_t *te);
/* Starts driving tl (NULL detaches). */
void sip_timer_event_attach(sip_timer_event_t *te, sip_txn_layer_t *tl);
/* CLOCK_MONOTONIC in milliseconds. */
uint64_t sip_clock_monotonic_ms(void);

#endif
