/*
 * proxy_timer_c — Timer C of a forwarded INVITE (RFC 3261 §16.6 step 11, §16.7 step 2, §16.8), so a callee that
 * rings and never answers cannot pin a transaction, a call record and the caller's wait forever.
 *
 *   OFF --INVITE forwarded--> RUNNING --101-199 from downstream--> RUNNING (re-armed)
 *   RUNNING --final from downstream, or a final of our own upstream--> OFF
 *   RUNNING --fires, a provisional came--> CANCELLING: CANCEL downstream, 408 upstream, wait 64*T1 (§9.1)
 *   RUNNING --fires, nothing came--> OFF: 408 upstream and the client transaction abandoned (§16.8 "as if a 408")
 *   CANCELLING --final from downstream--> OFF
 *   CANCELLING --64*T1 without a final--> OFF: the client transaction abandoned (§9.1 "consider it cancelled")
 *
 * The timer event belongs to the pfwd_t (it is freed with it), so its callback may hold the pointer: unlike a
 * lookup answer, it cannot outlive what it names. This file sits under proxy_pfwd.c, which starts and stops the
 * timer; what a firing sends (the CANCEL, the 408) goes up through p->timer_c_fired, registered by proxy.c.
 * RFC 3261 asks for more than 3 minutes (timer_c_s, default 180); tests configure seconds.
 */
#include "proxy_int.h"

#include <inttypes.h>

#include "core/log.h"

#define PROXY_CANCEL_GRACE_MS (64u * SIP_TXN_T1_MS) /* §9.1: a final to the cancelled INVITE within 64*T1 */

static void timer_c_arm(pfwd_t *pf, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000)};
    if (event_add(pf->timer_c, &tv) != 0)
        log_warn(PROXY_LOG, "Timer C could not be armed (transaction %" PRIx64 ")", pf->cid);
}

static void on_timer_c(evutil_socket_t fd, short what, void *arg)
{
    pfwd_t *pf = arg;
    proxy_t *p = pf->p;
    (void)fd, (void)what;
    if (pf->tc_state == PFWD_TC_CANCELLING) {
        log_info(PROXY_LOG, "an INVITE cancelled by Timer C got no final response in %u ms: transaction abandoned",
                 PROXY_CANCEL_GRACE_MS);
        pf->tc_state = PFWD_TC_OFF;
        (void)sip_txn_abandon(p->tl, pf->cid);
        return;
    }
    if (pf->tc_state != PFWD_TC_RUNNING)
        return;
    log_info(PROXY_LOG, "call %s: no final response in %u ms (Timer C): %s408 upstream", pf->s->call_id, p->timer_c_ms,
             pf->got_provisional ? "CANCEL downstream, " : "");
    if (p->m.timer_c)
        metric_inc(p->m.timer_c);
    if (pf->got_provisional) {
        pf->tc_state = PFWD_TC_CANCELLING;
        timer_c_arm(pf, PROXY_CANCEL_GRACE_MS);
    } else {
        pf->tc_state = PFWD_TC_OFF;
        (void)sip_txn_abandon(p->tl, pf->cid);
    }
    p->timer_c_fired(p, pf, pf->got_provisional);
}

void proxy_timer_c_start(proxy_t *p, pfwd_t *pf)
{
    if (p->timer_c_ms == 0 || pf->method != SIP_METHOD_INVITE)
        return;
    if (!pf->timer_c && !(pf->timer_c = evtimer_new(p->base, on_timer_c, pf))) {
        log_warn(PROXY_LOG, "call %s: no memory for Timer C", pf->s->call_id);
        return;
    }
    pf->tc_state = PFWD_TC_RUNNING;
    timer_c_arm(pf, p->timer_c_ms);
}

void proxy_timer_c_response(proxy_t *p, pfwd_t *pf, int status)
{
    if (pf->tc_state == PFWD_TC_OFF)
        return;
    if (status >= 200) {
        pf->tc_state = PFWD_TC_OFF;
        event_del(pf->timer_c);
    } else if (status > 100 && pf->tc_state == PFWD_TC_RUNNING) {
        timer_c_arm(pf, p->timer_c_ms);
    }
}

void proxy_timer_c_answered(pfwd_t *pf)
{
    if (pf->tc_state != PFWD_TC_RUNNING)
        return;
    pf->tc_state = PFWD_TC_OFF;
    event_del(pf->timer_c);
}

void proxy_timer_c_free(pfwd_t *pf)
{
    if (pf->timer_c)
        event_free(pf->timer_c);
    pf->timer_c = NULL;
    pf->tc_state = PFWD_TC_OFF;
}
