/*
 * sip_txn_client — client transaction state machines (RFC 3261 §17.1.1 INVITE, §17.1.2 non-INVITE; RFC 6026 §7.2).
 *
 * INVITE:     Calling --1xx--> Proceeding --300-699--> Completed (ACK sent, Timer D) --D--> Terminated
 *             Calling/Proceeding --2xx--> Accepted (Timer M = 64*T1, later 2xx to the TU) --M--> Terminated
 *             Calling: Timer A retransmits at T1, 2T1, 4T1... (UDP only); Timer B (64*T1) -> 408 to the TU.
 *             Proceeding has no timer of its own: a proxy's Timer C (§16.6 step 11) belongs to the TU.
 * non-INVITE: Trying --1xx--> Proceeding --200-699--> Completed (Timer K = T4, 0 on TCP) --K--> Terminated
 *             Timer E retransmits at min(2^n*T1, T2) in Trying and at T2 in Proceeding (UDP only);
 *             Timer F (64*T1) -> 408 to the TU.
 * Retransmissions of the final in Completed are absorbed; for INVITE they re-send the stored ACK (§17.1.1.2).
 * Once a final has arrived the request is freed: Completed and Accepted keep only the key, the timers and (INVITE
 * Completed) the ACK, a tombstone of a few hundred bytes for the 5-32 s that K, D and M last.
 */
#include "sip/sip_txn_int.h"

#include "core/log.h"

#include <stdlib.h>

#define SIP_TXN_LOG "sip_txn"
#define SIP_TXN_SYNTH_MAX 8192 /* a synthesised 408 or ACK: the request's Vias, From, To, Call-ID, CSeq, Routes */

static bool sip_txn_unreliable(const sip_txn_t *txn)
{
    return !sip_addr_reliable(&txn->peer);
}

void sip_txn_client_begin(sip_txn_layer_t *tl, sip_txn_t *txn)
{
    const sip_txn_conf_t *c = &tl->conf;
    txn->state = txn->kind == SIP_TXN_CLIENT_INVITE ? SIP_TXN_S_CALLING : SIP_TXN_S_TRYING;
    txn->retx_ms = c->t1_ms;
    if (sip_txn_unreliable(txn))
        sip_txn_arm(tl, &txn->t_retx, txn->retx_ms); /* A or E */
    sip_txn_arm(tl, &txn->t_life, 64u * c->t1_ms);   /* B or F */
}

static void sip_txn_to_tu(sip_txn_layer_t *tl, sip_txn_t *txn, sip_msg_t *resp)
{
    if (tl->tu.on_response)
        tl->tu.on_response(tl->tu.ctx, txn->id, txn->tu_data, resp);
}

/* §17.1.1.3: build, store and send the ACK of a non-2xx final. */
static void sip_txn_send_new_ack(sip_txn_layer_t *tl, sip_txn_t *txn, sip_msg_t *resp)
{
    char *buf = malloc(SIP_TXN_SYNTH_MAX);
    int n = buf ? sip_txn_build_ack(tl, txn, resp, buf, SIP_TXN_SYNTH_MAX) : -1;
    if (n < 0 || sip_txn_store(&txn->ack, &txn->ack_len, buf, (size_t)n) < 0) {
        log_error(SIP_TXN_LOG, "cannot build the ACK for a %d", resp->status);
        free(buf);
        return;
    }
    free(buf);
    if (sip_txn_send(tl, txn, txn->ack, txn->ack_len) < 0)
        sip_txn_transport_failed(tl, txn);
}

static void sip_txn_invite_response(sip_txn_layer_t *tl, sip_txn_t *txn, sip_msg_t *resp)
{
    int st = resp->status;
    switch (txn->state) {
    case SIP_TXN_S_CALLING:
    case SIP_TXN_S_PROCEEDING:
        if (st < 200) {
            txn->state = SIP_TXN_S_PROCEEDING;
            sip_timer_cancel(&tl->timers, &txn->t_retx);
            sip_timer_cancel(&tl->timers, &txn->t_life);
        } else if (st < 300) {
            txn->state = SIP_TXN_S_ACCEPTED;
            sip_timer_cancel(&tl->timers, &txn->t_retx);
            sip_txn_arm(tl, &txn->t_life, 64u * tl->conf.t1_ms); /* M */
            sip_txn_forget(&txn->req, &txn->req_len);            /* M only relays 2xx: no more sending */
        } else {
            txn->state = SIP_TXN_S_COMPLETED;
            sip_timer_cancel(&tl->timers, &txn->t_retx);
            sip_txn_arm(tl, &txn->t_life, sip_txn_unreliable(txn) ? tl->conf.timer_d_ms : 0); /* D */
            sip_txn_send_new_ack(tl, txn, resp);
            sip_txn_forget(&txn->req, &txn->req_len); /* D resends the ACK, never the request */
        }
        sip_txn_to_tu(tl, txn, resp);
        return;
    case SIP_TXN_S_ACCEPTED:
        if (st >= 200 && st < 300)
            sip_txn_to_tu(tl, txn, resp);
        return;
    case SIP_TXN_S_COMPLETED:
        if (st >= 300 && txn->ack && sip_txn_send(tl, txn, txn->ack, txn->ack_len) < 0)
            sip_txn_transport_failed(tl, txn);
        return;
    default:
        return;
    }
}

static void sip_txn_non_invite_response(sip_txn_layer_t *tl, sip_txn_t *txn, sip_msg_t *resp)
{
    if (txn->state != SIP_TXN_S_TRYING && txn->state != SIP_TXN_S_PROCEEDING)
        return; /* Completed absorbs retransmitted finals */
    if (resp->status < 200) {
        txn->state = SIP_TXN_S_PROCEEDING; /* the armed E keeps its deadline; it re-arms at T2 (§17.1.2.2) */
    } else {
        txn->state = SIP_TXN_S_COMPLETED;
        sip_timer_cancel(&tl->timers, &txn->t_retx);
        sip_txn_arm(tl, &txn->t_life, sip_txn_unreliable(txn) ? tl->conf.t4_ms : 0); /* K */
        sip_txn_forget(&txn->req, &txn->req_len); /* K only absorbs retransmitted finals */
    }
    sip_txn_to_tu(tl, txn, resp);
}

void sip_txn_client_on_response(sip_txn_layer_t *tl, sip_txn_t *txn, sip_msg_t *resp)
{
    if (txn->kind == SIP_TXN_CLIENT_INVITE)
        sip_txn_invite_response(tl, txn, resp);
    else
        sip_txn_non_invite_response(tl, txn, resp);
}

static void sip_txn_client_retransmit(sip_txn_layer_t *tl, sip_txn_t *txn)
{
    if (sip_txn_send(tl, txn, txn->req, txn->req_len) < 0) {
        sip_txn_transport_failed(tl, txn);
        return;
    }
    if (txn->kind == SIP_TXN_CLIENT_INVITE)
        txn->retx_ms *= 2; /* A: unbounded doubling; B ends it after 6 retransmissions */
    else if (txn->state == SIP_TXN_S_TRYING)
        txn->retx_ms = txn->retx_ms * 2 < tl->conf.t2_ms ? txn->retx_ms * 2 : tl->conf.t2_ms; /* E */
    else
        txn->retx_ms = tl->conf.t2_ms;
    sip_txn_arm(tl, &txn->t_retx, txn->retx_ms);
}

/* Timer B or F: the TU gets a 408 built from the request (§17.1.1.2, §17.1.2.2, §8.1.3.1). */
static void sip_txn_client_timeout(sip_txn_layer_t *tl, sip_txn_t *txn)
{
    sip_txn_id_t id = txn->id;
    void *tu_data = txn->tu_data;
    sip_txn_end(tl, txn);
    log_info(SIP_TXN_LOG, "%.*s transaction timed out (Timer %s)", txn->key.method_len, sip_txn_skey_method(&txn->key),
             txn->kind == SIP_TXN_CLIENT_INVITE ? "B" : "F");
    char *buf = malloc(SIP_TXN_SYNTH_MAX);
    int n = buf ? sip_txn_build_408(tl, txn, buf, SIP_TXN_SYNTH_MAX) : -1;
    sip_msg_t *m = tl->scratch2;
    bool ok = n > 0 && sip_msg_parse(m, buf, (size_t)n, SIP_TP_DGRAM) == SIP_OK && sip_msg_check(m) == SIP_OK;
    if (tl->tu.on_timeout)
        tl->tu.on_timeout(tl->tu.ctx, id, tu_data, ok ? m : NULL);
    free(buf);
}

void sip_txn_client_on_timer(sip_txn_layer_t *tl, sip_txn_t *txn, int which)
{
    bool live = txn->state == SIP_TXN_S_CALLING || txn->state == SIP_TXN_S_TRYING ||
                (txn->state == SIP_TXN_S_PROCEEDING && txn->kind == SIP_TXN_CLIENT_NON_INVITE);
    if (which == SIP_TXN_TIMER_RETX) {
        if (live)
            sip_txn_client_retransmit(tl, txn);
    } else if (live) {
        sip_txn_client_timeout(tl, txn); /* B or F */
    } else {
        sip_txn_end(tl, txn); /* D, K, M: Terminated, freed within this tick */
    }
}
