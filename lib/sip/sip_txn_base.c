/*
 * sip_txn_base — what every transaction state machine uses (RFC 3261 §17): the layer's clock, arming a timer
 * (and telling the driver when the earliest deadline moved), sending to the peer, entering Terminated, and the
 * stored copies of messages.
 *
 * Layering: this file sits under sip_txn_client.c and sip_txn_server.c, which sit under sip_txn.c (the public
 * API); each calls only downward, and reaches the TU only through the callbacks it registered (sip_txn_tu_t).
 * scripts/calls-graph checks it.
 */
#include "sip/sip_txn_int.h"

#include "core/log.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SIP_TXN_LOG "sip_txn"

uint64_t sip_txn_now(const sip_txn_layer_t *tl)
{
    return tl->clock.now_ms(tl->clock.ctx);
}

static void sip_txn_announce(sip_txn_layer_t *tl)
{
    uint64_t due;
    if (!tl->clock.wake || !sip_timers_next(&tl->timers, &due) || due >= tl->announced_due)
        return;
    tl->announced_due = due;
    tl->clock.wake(tl->clock.ctx, due);
}

void sip_txn_arm(sip_txn_layer_t *tl, sip_timer_t *tm, uint32_t delay_ms)
{
    /* Cannot fail: the heap holds two nodes per possible transaction. */
    (void)sip_timer_arm(&tl->timers, tm, sip_txn_now(tl) + delay_ms);
    sip_txn_announce(tl);
}

int sip_txn_send(sip_txn_layer_t *tl, const sip_txn_t *txn, const char *buf, size_t len)
{
    if (tl->io.send(tl->io.ctx, &txn->peer, buf, len) == 0)
        return 0;
    log_warn(SIP_TXN_LOG, "send failed for transaction %" PRIx64 " (%.*s)", txn->id, txn->key.method_len,
             sip_txn_skey_method(&txn->key));
    return -1;
}

void sip_txn_end(sip_txn_layer_t *tl, sip_txn_t *txn)
{
    txn->state = SIP_TXN_S_TERMINATED;
    sip_timer_cancel(&tl->timers, &txn->t_retx);
    sip_txn_arm(tl, &txn->t_life, 0);
}

void sip_txn_transport_failed(sip_txn_layer_t *tl, sip_txn_t *txn)
{
    sip_txn_end(tl, txn);
    if (tl->tu.on_transport_error)
        tl->tu.on_transport_error(tl->tu.ctx, txn->id, txn->tu_data);
}

int sip_txn_store(char **dst, size_t *dst_len, const char *src, size_t len)
{
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return -1;
    memcpy(copy, src, len);
    free(*dst);
    *dst = copy;
    *dst_len = len;
    return 0;
}

void sip_txn_forget(char **buf, size_t *len)
{
    free(*buf);
    *buf = NULL;
    *len = 0;
}

/* Public (sip_txn.h), but here: the state machines log state names too. */
const char *sip_txn_state_str(sip_txn_state_t s)
{
    static const char *const names[] = {"none",      "calling",   "trying",   "proceeding",
                                        "completed", "confirmed", "accepted", "terminated"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}
