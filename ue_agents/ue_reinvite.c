/*
 * ue_reinvite — a re-INVITE from the peer, on either side of a plain call (RFC 3261 §14.2, RFC 3264 §6.1, §8;
 * DESIGN §2 "Offer/answer with phones that do not speak mihua").
 *
 *   re-INVITE with an offer      200 with our answer: same address, direction mirrored (sendonly -> recvonly,
 *                                recvonly -> sendonly, inactive -> inactive), and the media follows at once:
 *                                new peer address, sending paused or resumed
 *   re-INVITE without SDP        200 with our offer (sendrecv: this UA never holds); the answer comes in the ACK
 *   on an encrypted call         488 + Warning: the session key is agreed only during setup (DESIGN §1), and a
 *                                plain answer would silently turn SRTP off
 *   before the call is confirmed, or while our 200 to an earlier re-INVITE awaits its ACK
 *                                500 + Retry-After (§14.2)
 *
 * Like the 2xx to the first INVITE, this 200 is retransmitted from T1 doubling to T2 until its ACK; after 64*T1
 * without one the call is hung up (§13.3.1.4).
 */
#include "ue_int.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define REINV_WARN_MAX (UE_REASON_MAX + 64)

static void on_reinv_retx(evutil_socket_t fd, short what, void *arg);

static void stop_reinv_retx(ue_call_t *call)
{
    ue_call_timer_stop(call->tm_reinv);
    free(call->reinv_resp);
    call->reinv_resp = NULL;
}

static void refuse(ue_call_t *call, sip_txn_id_t sid, sip_msg_t *req, int status, const char *reason, const char *extra,
                   const char *log_why)
{
    log_info(UE_LOG, "call %s: re-INVITE refused (%d): %s", call->dlg.call_id, status, log_why);
    ue_call_respond(call, sid, req, status, reason, extra, NULL, 0);
}

/* Sends the 200 with `body` and keeps it for retransmission until the ACK. */
static void accept_reinvite(ue_call_t *call, sip_txn_id_t sid, sip_msg_t *req, const char *body, int blen)
{
    char contact[UE_HDR_MAX + 64], buf[UE_HDR_MAX + 32];
    snprintf(contact, sizeof contact, "Contact: %s\r\nAllow: " UE_ALLOW "\r\n",
             ue_call_contact(call, false, buf, sizeof buf));
    int n = ue_call_respond(call, sid, req, 200, "OK", contact, body, blen);
    if (n < 0) {
        log_warn(UE_LOG, "call %s: 200 to the re-INVITE could not be sent", call->dlg.call_id);
        return;
    }
    free(call->reinv_resp);
    if (!(call->reinv_resp = malloc((size_t)n)))
        return; /* no retransmission: the peer's INVITE retransmissions are absorbed by the transaction */
    memcpy(call->reinv_resp, call->ag->out, (size_t)n);
    call->reinv_resp_len = (size_t)n;
    call->reinv_txn = sid;
    call->reinv_cseq = req->cseq.num;
    call->reinv_retx_ms = UE_T1_MS;
    call->reinv_retx_total = 0;
    ue_call_timer(call, &call->tm_reinv, call->reinv_retx_ms, on_reinv_retx);
}

/* The 200 to a re-INVITE with our SDP (offer or answer, WHAT) in call->local_dir; false when it was refused. */
static bool accept_with_sdp(ue_call_t *call, sip_txn_id_t sid, sip_msg_t *req, const char *what)
{
    char body[UE_SDP_MAX], why[32];
    int n = ue_sdp_plain_dir(body, sizeof body, call->role == UE_ROLE_CALLER ? "caller" : "callee", ++call->sdp_version,
                             call->ag->c->media_ip, ue_media_port(call->media), call->local_dir);
    if (n < 0) {
        snprintf(why, sizeof why, "%s could not be built", what);
        refuse(call, sid, req, 500, "Server Internal Error", NULL, why);
        return false;
    }
    accept_reinvite(call, sid, req, body, n);
    return true;
}

/* A re-INVITE without SDP: our offer in the 200 (RFC 3261 §14.2), the ACK answers. We never hold a call
 * ourselves, so the offer is sendrecv whatever the last answer mirrored; the peer's answer says if it still holds. */
static void offer_in_200(ue_call_t *call, sip_txn_id_t sid, sip_msg_t *req)
{
    call->local_dir = UE_SDP_SENDRECV;
    if (!accept_with_sdp(call, sid, req, "offer"))
        return;
    call->reinv_wants_answer = call->reinv_resp != NULL;
}

static void answer_in_200(ue_call_t *call, sip_txn_id_t sid, sip_msg_t *req)
{
    char warn[REINV_WARN_MAX];
    ue_sdp_stream_t peer;
    ue_sdp_result_t r = ue_sdp_stream(req->body.s, req->body.len, &peer);
    if (r != UE_SDP_OK) {
        snprintf(warn, sizeof warn, "Warning: 304 mihua-ue \"unusable SDP offer (%s)\"\r\n", ue_sdp_result_str(r));
        refuse(call, sid, req, 488, "Not Acceptable Here", warn, ue_sdp_result_str(r));
        return;
    }
    call->local_dir = ue_offer_answer_dir(peer.dir);
    if (!accept_with_sdp(call, sid, req, "answer"))
        return;
    call->reinv_wants_answer = false;
    ue_call_follow(call, &peer, ue_offer_we_send(call->local_dir), "re-INVITE");
}

void ue_reinvite_on_request(ue_call_t *call, sip_txn_id_t sid, sip_msg_t *req)
{
    if (sip_parse_headers(req, SIP_HF_ALL) != SIP_OK) {
        refuse(call, sid, req, 400, "Bad Request", NULL, "headers do not parse");
        return;
    }
    if (call->state != UE_CS_CONFIRMED || call->reinv_resp) {
        refuse(call, sid, req, 500, "Server Internal Error", "Retry-After: 1\r\n",
               "an earlier INVITE of the dialog is not finished (RFC 3261 §14.2)");
        return;
    }
    if (ue_call_encrypted(call)) {
        refuse(call, sid, req, 488, "Not Acceptable Here",
               "Warning: 399 mihua-ue \"encrypted call: the session key is agreed only at call setup\"\r\n",
               "encrypted call");
        return;
    }
    if (!call->media) {
        refuse(call, sid, req, 488, "Not Acceptable Here", NULL, "no media stream");
        return;
    }
    if (ue_dialog_refresh_target(&call->dlg, req) != 0)
        log_warn(UE_LOG, "call %s: re-INVITE Contact unusable: remote target kept", call->dlg.call_id);
    if (req->body.len == 0)
        offer_in_200(call, sid, req);
    else
        answer_in_200(call, sid, req);
}

bool ue_reinvite_on_ack(ue_call_t *call, sip_msg_t *ack)
{
    ue_sdp_stream_t peer;
    if (!call->reinv_resp || ack->cseq.num != call->reinv_cseq)
        return false;
    ue_ladder_add_sip(&call->ladder, ue_now_us(), false, ack);
    stop_reinv_retx(call);
    if (!call->reinv_wants_answer)
        return true;
    call->reinv_wants_answer = false;
    if (ue_sdp_stream(ack->body.s, ack->body.len, &peer) != UE_SDP_OK) {
        log_warn(UE_LOG, "call %s: ACK without a usable answer to our re-INVITE offer: media unchanged",
                 call->dlg.call_id);
        return true;
    }
    ue_call_follow(call, &peer,
                   ue_offer_we_send(call->local_dir) && peer.dir != UE_SDP_SENDONLY && peer.dir != UE_SDP_INACTIVE,
                   "re-INVITE answer in the ACK");
    return true;
}

static void on_reinv_retx(evutil_socket_t fd, short what, void *arg)
{
    ue_call_t *call = arg;
    (void)fd, (void)what;
    if (!call->reinv_resp || call->state == UE_CS_ENDED)
        return;
    call->reinv_retx_total += call->reinv_retx_ms;
    if (call->reinv_retx_total >= UE_RETX_GIVE_UP_MS) {
        log_warn(UE_LOG, "call %s: our 200 to the re-INVITE was never ACKed: hanging up (RFC 3261 §13.3.1.4)",
                 call->dlg.call_id);
        stop_reinv_retx(call);
        ue_call_hangup(call);
        return;
    }
    sip_txn_respond(call->ag->tl, call->reinv_txn, call->reinv_resp, call->reinv_resp_len);
    call->reinv_retx_ms = call->reinv_retx_ms * 2 > UE_T2_MS ? UE_T2_MS : call->reinv_retx_ms * 2;
    ue_call_timer(call, &call->tm_reinv, call->reinv_retx_ms, on_reinv_retx);
}
