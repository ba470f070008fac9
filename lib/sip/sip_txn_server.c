/*
 * sip_txn_server — server transaction state machines (RFC 3261 §17.2.1 INVITE, §17.2.2 non-INVITE; RFC 6026 §7.1).
 *
 * INVITE:     Proceeding --TU 2xx--> Accepted (Timer L = 64*T1) --L--> Terminated
 *             Proceeding --TU 300-699--> Completed (Timer G from T1 doubling to T2 on UDP, Timer H = 64*T1)
 *             Completed --ACK--> Confirmed (Timer I = T4, 0 on TCP) --I--> Terminated;  --H--> Terminated + TU told
 *             A retransmitted INVITE gets the last provisional (Proceeding) or the final (Completed) again; in
 *             Accepted it is absorbed and the TU's own 2xx retransmissions pass through. Sending 100 Trying is the
 *             TU's choice (§17.2.1 allows the transaction to do it after 200 ms; a proxy answers at once anyway).
 * non-INVITE: Trying --TU 1xx--> Proceeding --TU 200-699--> Completed (Timer J = 64*T1, 0 on TCP) --J--> Terminated
 *             Retransmitted requests are absorbed in Trying and answered with the last response afterwards.
 * Stored: the last response while it may be resent (Proceeding, Completed); Accepted and Confirmed keep none, so
 * what Timers L and I hold is a tombstone (key, peer, timers).
 */
#include "sip/sip_txn_int.h"

#include "core/log.h"

#define SIP_TXN_LOG "sip_txn"

static bool sip_txn_unreliable(const sip_txn_t *txn)
{
    return !sip_addr_reliable(&txn->peer);
}

static void sip_txn_resend_last(sip_txn_layer_t *tl, sip_txn_t *txn)
{
    if (txn->resp && sip_txn_send(tl, txn, txn->resp, txn->resp_len) < 0)
        sip_txn_transport_failed(tl, txn);
}

static void sip_txn_server_invite_request(sip_txn_layer_t *tl, sip_txn_t *txn, sip_msg_t *req, const sip_addr_t *src)
{
    bool is_ack = req->method == SIP_METHOD_ACK;
    switch (txn->state) {
    case SIP_TXN_S_PROCEEDING:
        if (!is_ack)
            sip_txn_resend_last(tl, txn);
        return;
    case SIP_TXN_S_COMPLETED:
        if (!is_ack) {
            sip_txn_resend_last(tl, txn);
            return;
        }
        txn->state = SIP_TXN_S_CONFIRMED;
        sip_timer_cancel(&tl->timers, &txn->t_retx);
        sip_txn_forget(&txn->resp, &txn->resp_len); /* Confirmed absorbs ACKs: nothing to resend */
        sip_txn_arm(tl, &txn->t_life, sip_txn_unreliable(txn) ? tl->conf.t4_ms : 0); /* I replaces H */
        return;
    case SIP_TXN_S_ACCEPTED:
        if (is_ack && tl->tu.on_request) /* RFC 6026 §7.1: passed to the TU */
            tl->tu.on_request(tl->tu.ctx, txn->id, req, src);
        return;
    default:
        return; /* Confirmed absorbs ACKs */
    }
}

void sip_txn_server_on_request(sip_txn_layer_t *tl, sip_txn_t *txn, sip_msg_t *req, const sip_addr_t *src)
{
    if (txn->kind == SIP_TXN_SERVER_INVITE) {
        sip_txn_server_invite_request(tl, txn, req, src);
        return;
    }
    if (txn->state == SIP_TXN_S_PROCEEDING || txn->state == SIP_TXN_S_COMPLETED)
        sip_txn_resend_last(tl, txn);
}

static int sip_txn_server_invite_respond(sip_txn_layer_t *tl, sip_txn_t *txn, int status)
{
    switch (txn->state) {
    case SIP_TXN_S_PROCEEDING:
        if (status >= 200 && status < 300) {
            txn->state = SIP_TXN_S_ACCEPTED;
            sip_txn_arm(tl, &txn->t_life, 64u * tl->conf.t1_ms); /* L */
        } else if (status >= 300) {
            txn->state = SIP_TXN_S_COMPLETED;
            txn->retx_ms = tl->conf.t1_ms;
            if (sip_txn_unreliable(txn))
                sip_txn_arm(tl, &txn->t_retx, txn->retx_ms);     /* G */
            sip_txn_arm(tl, &txn->t_life, 64u * tl->conf.t1_ms); /* H */
        }
        return 0;
    case SIP_TXN_S_ACCEPTED:
        return status >= 200 && status < 300 ? 0 : -1; /* TU's 2xx retransmissions only */
    default:
        return -1;
    }
}

static int sip_txn_server_non_invite_respond(sip_txn_layer_t *tl, sip_txn_t *txn, int status)
{
    if (txn->state != SIP_TXN_S_TRYING && txn->state != SIP_TXN_S_PROCEEDING)
        return -1; /* Completed: further TU responses are discarded (§17.2.2) */
    if (status < 200) {
        txn->state = SIP_TXN_S_PROCEEDING;
    } else {
        txn->state = SIP_TXN_S_COMPLETED;
        sip_txn_arm(tl, &txn->t_life, sip_txn_unreliable(txn) ? 64u * tl->conf.t1_ms : 0); /* J */
    }
    return 0;
}

int sip_txn_server_respond(sip_txn_layer_t *tl, sip_txn_t *txn, int status, const char *resp, size_t len)
{
    sip_txn_state_t before = txn->state;
    int rc = txn->kind == SIP_TXN_SERVER_INVITE ? sip_txn_server_invite_respond(tl, txn, status)
                                                : sip_txn_server_non_invite_respond(tl, txn, status);
    if (rc < 0) {
        log_debug(SIP_TXN_LOG, "response %d refused in state %s", status, sip_txn_state_str(before));
        return -1;
    }
    if (txn->state == SIP_TXN_S_ACCEPTED) {
        /* RFC 6026: the TU retransmits its 2xx itself and INVITE retransmissions are absorbed; nothing to keep */
        sip_txn_forget(&txn->resp, &txn->resp_len);
    } else if (sip_txn_store(&txn->resp, &txn->resp_len, resp, len) < 0) {
        sip_txn_end(tl, txn);
        return -1;
    }
    txn->resp_status = status;
    if (sip_txn_send(tl, txn, resp, len) < 0) {
        sip_txn_end(tl, txn); /* the caller learns it from the return value (§17.2.4) */
        return -1;
    }
    return 0;
}

void sip_txn_server_on_timer(sip_txn_layer_t *tl, sip_txn_t *txn, int which)
{
    if (which == SIP_TXN_TIMER_RETX) {
        if (txn->state != SIP_TXN_S_COMPLETED || txn->kind != SIP_TXN_SERVER_INVITE)
            return;
        if (sip_txn_send(tl, txn, txn->resp, txn->resp_len) < 0) {
            sip_txn_transport_failed(tl, txn);
            return;
        }
        txn->retx_ms = txn->retx_ms * 2 < tl->conf.t2_ms ? txn->retx_ms * 2 : tl->conf.t2_ms; /* G */
        sip_txn_arm(tl, &txn->t_retx, txn->retx_ms);
        return;
    }
    if (txn->kind == SIP_TXN_SERVER_INVITE && txn->state == SIP_TXN_S_COMPLETED) { /* H: the ACK never came */
        sip_txn_end(tl, txn);
        log_info(SIP_TXN_LOG, "no ACK for the %d (Timer H)", txn->resp_status);
        if (tl->tu.on_timeout)
            tl->tu.on_timeout(tl->tu.ctx, txn->id, txn->tu_data, NULL);
        return;
    }
    sip_txn_end(tl, txn); /* I, J, L */
}
