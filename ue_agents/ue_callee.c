/*
 * ue_callee — the called UE (patent claims 4-7; DESIGN §1, §2).
 *
 *   INVITE: a reliable 183 (Require: 100rel, RSeq) with the SDP answer, and +u.mihua.voenc on its Contact only
 *       when the INVITE carried the caller's tag and this terminal is capable
 *   PRACK: 200; then, if the tag went out, wait (update_wait_ms) for the caller's key offer
 *   UPDATE: pick the first of the caller's suites supported here, fetch the session key from the KMS by the
 *       offer's keyId, answer 200 with exactly that one a=crypto line (= key synchronised); no common suite or
 *       no key -> 488 with a Warning, and the session stays as the INVITE/183 set it (plain RTP)
 *   then 180, 200 (at once with --auto, after answer_after_ms, or when the user answers), ACK, media
 *
 * Phones that do not speak mihua (ue_offer.h, RFC 3261 §13.2.1): without 100rel the 183 is unreliable, so the
 * 200 repeats its answer byte for byte (same o= version, RFC 3264 §8); an INVITE without SDP gets our offer in
 * the 200 and its answer from the ACK, and media starts at the ACK. Both are plain calls, with the reason said.
 * A re-INVITE in the confirmed call goes to ue_reinvite.c.
 *
 * The UAS keeps what RFC 3261/3262 leave to it: the reliable 183 is retransmitted from T1, doubling, until its
 * PRACK (64*T1, then 500); the 2xx from T1 doubling to T2 until the ACK (64*T1, then BYE, §13.3.1.4).
 *
 * The dialog and the key agreement are two state machines (diagram and tables in ue_fsm.c): the INVITE enters
 * EARLY_UNACKED (reliable 183) or EARLY, and each handler here turns a request, a timer or a KMS answer into an
 * event, acts, and takes the table's transition.
 */
#include "ue_int.h"

#include <event2/event.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "sip/sip_voenc.h"

#define UE_RSEQ_MAX (1u << 20) /* RFC 3262 §3: the first RSeq is random below 2**31; smaller keeps it readable */
#define UE_EXTRA_MAX 2048      /* Record-Route copies, Contact, Require, RSeq, Allow */

static void on_retx(evutil_socket_t fd, short what, void *arg);
static void on_update_wait(evutil_socket_t fd, short what, void *arg);
static void on_answer_timer(evutil_socket_t fd, short what, void *arg);

/* The INVITE received, parsed again into the scratch message (the transport's copy is gone). */
static sip_msg_t *invite_msg(ue_call_t *call)
{
    sip_msg_t *m = call->ag->scratch;
    if (!call->inv || sip_msg_parse(m, call->inv, call->inv_len, SIP_TP_DGRAM) != SIP_OK || sip_msg_check(m) != SIP_OK)
        return NULL;
    return m;
}

/* Record-Route copies and Contact, then `more`: the headers of our 1xx/2xx to the INVITE (§12.1.1). */
static int dialog_extra(ue_call_t *call, sip_msg_t *inv, bool tagged, const char *more, char *out, int cap)
{
    char contact[UE_HDR_MAX + 32];
    int n = ue_dialog_rr_lines(inv, out, cap);
    if (n < 0)
        return -1;
    int m = snprintf(out + n, (size_t)(cap - n), "Contact: %s\r\n%s",
                     ue_call_contact(call, tagged, contact, sizeof contact), more ? more : "");
    return m < 0 || m >= cap - n ? -1 : n + m;
}

/* Sends a response to the INVITE; keep = remember it for retransmission. */
static int invite_respond(ue_call_t *call, int status, const char *reason, bool tagged, const char *more,
                          const char *body, int body_len, bool keep)
{
    char extra[UE_EXTRA_MAX];
    sip_msg_t *inv = invite_msg(call);
    if (!inv || dialog_extra(call, inv, tagged, more, extra, sizeof extra) < 0)
        return -1;
    int n = ue_call_respond(call, call->inv_txn, inv, status, reason, extra, body, body_len);
    if (n < 0 || !keep)
        return n < 0 ? -1 : 0;
    free(call->resp);
    if (!(call->resp = malloc((size_t)n)))
        return -1;
    memcpy(call->resp, call->ag->out, (size_t)n);
    call->resp_len = (size_t)n;
    call->retx_ms = UE_T1_MS;
    call->retx_total = 0;
    ue_call_timer(call, &call->tm_retx, call->retx_ms, on_retx);
    return 0;
}

static void stop_retx(ue_call_t *call)
{
    ue_call_timer_stop(call->tm_retx);
    free(call->resp);
    call->resp = NULL;
}

/* ---------------------------------------------------------------- INVITE -> 183 */

static void ring(ue_call_t *call);

/* Our answer to the INVITE's offer, or our offer when it had none: the same bytes each time it is sent (the 183
 * and the 200 carry one answer; sdp_version only moves with the UPDATE, which this mode excludes). */
static int invite_sdp(ue_call_t *call, char *body, int cap)
{
    ue_agent_t *a = call->ag;
    return ue_sdp_plain(body, cap, "callee", call->sdp_version, a->c->media_ip, ue_media_port(call->media));
}

static int send_183(ue_call_t *call)
{
    char body[UE_SDP_MAX], more[160];
    int blen = invite_sdp(call, body, sizeof body);
    if (call->rel100) {
        RAND_bytes((unsigned char *)&call->rseq, sizeof call->rseq);
        call->rseq = call->rseq % UE_RSEQ_MAX + 1;
        snprintf(more, sizeof more, "Require: 100rel\r\nRSeq: %u\r\nAllow: " UE_ALLOW "\r\n", call->rseq);
    } else {
        snprintf(more, sizeof more, "Allow: " UE_ALLOW "\r\n");
    }
    if (blen < 0 || invite_respond(call, 183, "Session Progress", call->key == UE_KEY_AWAIT_OFFER, more, body, blen,
                                   call->rel100) != 0)
        return -1;
    call->sum.t_early = ue_call_elapsed(call);
    return 0;
}

/* Whether this call can become encrypted, and if not, why (DESIGN §1). An offer/answer shape that has no reliable
 * early answer rules encryption out before anything else (DESIGN §2, ue_offer.h). */
static void decide(ue_call_t *call, sip_msg_t *inv)
{
    ue_agent_t *a = call->ag;
    bool caller_tag = sip_voenc_tagged(inv);
    call->rel100 = sip_tokens_has(&inv->supported, "100rel") || sip_tokens_has(&inv->require, "100rel");
    call->oa_mode = ue_offer_callee_mode(inv->body.len > 0, call->rel100);
    const char *oa_reason = ue_offer_plain_reason(call->oa_mode);
    call->key = caller_tag && a->c->capable && a->kms && !oa_reason ? UE_KEY_AWAIT_OFFER : UE_KEY_OFF;
    if (call->oa_mode == UE_OFFER_LATE)
        ue_call_plain(call, "%s", oa_reason);
    else if (!caller_tag)
        ue_call_plain(call, "no encryption indicator in the INVITE (caller or network)");
    else if (!a->c->capable)
        ue_call_plain(call, "callee not capable");
    else if (!a->kms)
        ue_call_plain(call, "no usable KMS client (see the log)");
    else if (oa_reason)
        ue_call_plain(call, "%s", oa_reason);
}

void ue_callee_invite(ue_agent_t *a, sip_txn_id_t sid, sip_msg_t *inv)
{
    char call_id[UE_HDR_MAX], err[160];
    sip_str_copy(inv->call_id, call_id, sizeof call_id);
    ue_call_t *call = ue_call_new(a, UE_ROLE_CALLEE, call_id);
    if (!call) {
        ue_sip_reply(a, sid, inv, 500, "Server Internal Error", NULL);
        return;
    }
    ue_sip_token(a, "ue", call->local_tag, sizeof call->local_tag);
    call->inv_txn = sid;
    sip_txn_set_tu_data(a->tl, sid, call);
    ue_call_ref(call);
    call->inv_cseq = inv->cseq.num;
    ue_ladder_add_sip(&call->ladder, call->t0, false, inv);
    sip_str_copy(inv->from.uri_raw, call->peer, sizeof call->peer);
    snprintf(call->kms_caller, sizeof call->kms_caller, "%s", call->peer);
    snprintf(call->kms_callee, sizeof call->kms_callee, "%s", a->c->impu);
    if ((call->inv = malloc((size_t)inv->len)) != NULL) {
        memcpy(call->inv, inv->buf, (size_t)inv->len);
        call->inv_len = (size_t)inv->len;
    }
    if (!call->inv || ue_dialog_uas_init(&call->dlg, inv, call->local_tag) != 0) {
        ue_call_respond(call, sid, inv, 400, "Bad Request (no usable Contact or From)", NULL, NULL, 0);
        ue_call_end(call, "INVITE without a usable Contact");
        return;
    }
    ue_sdp_result_t offer = inv->body.len > 0 ? ue_sdp_remote(inv->body.s, inv->body.len, &call->remote) : UE_SDP_OK;
    if (offer != UE_SDP_OK) { /* no body is a late offer (answered in the 200); a bad one is refused */
        log_info(UE_LOG, "call %s: 488 to the INVITE: unusable SDP offer (%s)", call_id, ue_sdp_result_str(offer));
        ue_call_respond(call, sid, inv, 488, "Not Acceptable Here",
                        "Warning: 304 mihua-ue \"an audio SDP offer is required\"\r\n", NULL, 0);
        ue_call_end(call, "INVITE without a usable SDP offer");
        return;
    }
    call->have_remote = inv->body.len > 0;
    if (!(call->media = ue_media_new(a->base, a->c->media_ip, err, sizeof err))) {
        log_warn(UE_LOG, "call %s: %s", call_id, err);
        ue_call_respond(call, sid, inv, 500, "Server Internal Error", NULL, NULL, 0);
        ue_call_end(call, "no media port");
        return;
    }
    decide(call, inv);
    /* the entry of the callee's machine: a reliable 183 waits for its PRACK, anything else rings at once */
    call->state = call->oa_mode == UE_OFFER_EARLY_RELIABLE ? UE_CS_EARLY_UNACKED : UE_CS_EARLY;
    if (ue_offer_sends_183(call->oa_mode) && send_183(call) != 0) {
        ue_call_end(call, "183 could not be sent");
        return;
    }
    if (call->state == UE_CS_EARLY) /* nothing to wait for: no PRACK, no UPDATE */
        ring(call);
}

/* ---------------------------------------------------------------- PRACK, UPDATE and the key */

static void on_prack(ue_call_t *call, sip_txn_id_t sid, sip_msg_t *req)
{
    if (!call->rel100 || !req->rack.present || req->rack.rseq != call->rseq || req->rack.cseq != call->inv_cseq) {
        ue_call_respond(call, sid, req, 481, "Call/Transaction Does Not Exist", NULL, NULL, 0); /* RFC 3262 §3 */
        return;
    }
    ue_call_respond(call, sid, req, 200, "OK", NULL, NULL, 0);
    ue_call_state_t was = call->state;
    if (!ue_call_step(call, UE_EV_PRACK))
        return;      /* a retransmitted PRACK, or one after our 200: its 200 is all it needs */
    stop_retx(call); /* the 183's, also when the key offer overtook this PRACK and we ring already */
    if (was != UE_CS_EARLY_UNACKED)
        return;
    if (call->key == UE_KEY_AWAIT_OFFER)
        ue_call_timer(call, &call->tm_wait, (unsigned)call->ag->c->update_wait_ms, on_update_wait);
    else if (call->key == UE_KEY_OFF)
        ring(call);
    /* else the key offer came first: the end of its KMS retrieve rings */
}

/* Answers the held UPDATE (its bytes are in call->upd). */
static void update_respond(ue_call_t *call, int status, const char *reason, const char *extra, const char *body,
                           int body_len)
{
    sip_msg_t *m = call->ag->scratch;
    if (call->upd && sip_msg_parse(m, call->upd, call->upd_len, SIP_TP_DGRAM) == SIP_OK && sip_msg_check(m) == SIP_OK)
        ue_call_respond(call, call->upd_txn, m, status, reason, extra, body, body_len);
    free(call->upd);
    call->upd = NULL;
}

static void refuse_update(ue_call_t *call, sip_txn_id_t sid, sip_msg_t *req, int code, const char *text)
{
    char warn[UE_REASON_MAX + 64];
    snprintf(warn, sizeof warn, "Warning: %d mihua-ue \"%s\"\r\n", code, text);
    if (req)
        ue_call_respond(call, sid, req, 488, "Not Acceptable Here", warn, NULL, 0);
    else
        update_respond(call, 488, "Not Acceptable Here", warn, NULL, 0);
}

static void on_retrieved(const kms_client_result_t *r, void *ud)
{
    ue_call_t *call = ud;
    ue_agent_t *a = call->ag;
    char body[UE_SDP_MAX], contact[UE_HDR_MAX + 40], why[UE_REASON_MAX];
    a->kms_ops--;
    if (call->key == UE_KEY_FETCHING && call->state != UE_CS_ENDED) {
        call->sum.kms_us = r->elapsed_us;
        if (r->status == KMS_CLIENT_OK) {
            ue_ladder_add(&call->ladder, ue_now_us(), false, UE_PEER_KMS, "%d wrappedKey", r->http_status);
            memcpy(call->session_key, r->session_key, KMS_KEY_LEN);
            call->sum.t_key = ue_call_elapsed(call);
            int n = ue_sdp_srtp_answer(body, sizeof body, "callee", ++call->sdp_version, a->c->media_ip,
                                       ue_media_port(call->media), &call->choice);
            snprintf(contact, sizeof contact, "Contact: %s\r\n", ue_call_contact(call, false, why, sizeof why));
            if (n > 0 && ue_call_keysync(call) == 0) {
                ue_call_key_step(call, UE_KEV_SYNCED);
                update_respond(call, 200, "OK", contact, body, n);
                call->sum.t_keysync = ue_call_elapsed(call);
            } else {
                ue_call_key_step(call, UE_KEV_FAILED);
                refuse_update(call, 0, NULL, 399, "SRTP could not be set up");
            }
        } else {
            if (r->status == KMS_CLIENT_TRANSPORT)
                snprintf(why, sizeof why, "KMS unreachable (%s)", sbi_client_strerror(r->transport));
            else
                snprintf(why, sizeof why, "KMS refused the key (%d %s)", r->http_status, r->cause);
            ue_ladder_add(&call->ladder, ue_now_us(), false, UE_PEER_KMS, "%s", why);
            ue_call_plain(call, "%s", why);
            ue_call_key_step(call, UE_KEV_NO_KEY);
            refuse_update(call, 0, NULL, 399, why);
        }
        ring(call);
    }
    ue_call_unref(call);
    ue_call_notify_idle(a);
}

static void on_update(ue_call_t *call, sip_txn_id_t sid, sip_msg_t *req)
{
    ue_agent_t *a = call->ag;
    char why[UE_REASON_MAX];
    ue_key_state_t next;
    bool early = call->state == UE_CS_EARLY_UNACKED || call->state == UE_CS_EARLY;
    if (!early || !ue_fsm_callee_key(call->key, UE_KEV_OFFER, &next)) {
        refuse_update(call, sid, req, 399, "key offer not expected now");
        return;
    }
    ue_call_timer_stop(call->tm_wait);
    if (call->oa_mode != UE_OFFER_EARLY_RELIABLE) { /* the 200 must repeat the INVITE's plain answer */
        refuse_update(call, sid, req, 399, "a key offer needs the reliable 183 (100rel)");
        return;
    }
    if (!a->c->capable || !a->kms) {
        refuse_update(call, sid, req, 399, "callee not capable");
        ue_call_key_step(call, UE_KEV_FAILED);
        ring(call);
        return;
    }
    ue_sdp_result_t r = ue_sdp_select(req->body.s, req->body.len, a->c->suites, a->c->n_suites, &call->choice);
    if (r != UE_SDP_OK) {
        bool no_suite = r == UE_SDP_NO_COMMON_SUITE;
        snprintf(why, sizeof why, no_suite ? "no common SRTP suite with the caller" : "bad key offer (%s)",
                 ue_sdp_result_str(r));
        ue_call_plain(call, "%s", why);
        refuse_update(call, sid, req, no_suite ? 305 : 399, why); /* 305: Incompatible media format */
        ue_call_key_step(call, UE_KEV_FAILED);
        ring(call);
        return;
    }
    call->remote = call->choice.remote;
    snprintf(call->key_id, sizeof call->key_id, "%s", call->choice.key_id);
    if (!(call->upd = malloc((size_t)req->len))) {
        refuse_update(call, sid, req, 399, "out of memory");
        ue_call_key_step(call, UE_KEV_FAILED);
        ring(call);
        return;
    }
    memcpy(call->upd, req->buf, (size_t)req->len);
    call->upd_len = (size_t)req->len;
    call->upd_txn = sid;
    ue_call_key_step(call, UE_KEV_OFFER);
    ue_ladder_add(&call->ladder, ue_now_us(), true, UE_PEER_KMS, "POST session-keys/{keyId}/retrieve");
    if (kms_client_retrieve(a->kms, call->key_id, call->dlg.call_id, call->kms_caller, call->kms_callee, on_retrieved,
                            call) != 0) {
        ue_call_plain(call, "KMS request could not be made");
        ue_call_key_step(call, UE_KEV_NO_KEY);
        refuse_update(call, 0, NULL, 399, "key retrieval could not start");
        ring(call);
        return;
    }
    a->kms_ops++;
    ue_call_ref(call);
}

static void on_update_wait(evutil_socket_t fd, short what, void *arg)
{
    ue_call_t *call = arg;
    (void)fd, (void)what;
    ue_call_plain(call, "no key offer (UPDATE) from the caller within %ld ms", call->ag->c->update_wait_ms);
    ue_call_key_step(call, UE_KEV_FAILED);
    ring(call);
}

/* ---------------------------------------------------------------- ringing and answer */

static void ring(ue_call_t *call)
{
    ue_agent_t *a = call->ag;
    if (!ue_call_step(call, UE_EV_RING))
        return;
    if (invite_respond(call, 180, "Ringing", false, NULL, NULL, 0, false) != 0)
        log_warn(UE_LOG, "call %s: 180 could not be sent", call->dlg.call_id);
    else if (!call->sum.t_early) /* a late offer sends no 183: the 180 opens the early dialog */
        call->sum.t_early = ue_call_elapsed(call);
    if (a->c->auto_answer && a->c->answer_after_ms > 0)
        ue_call_timer(call, &call->tm_answer, (unsigned)a->c->answer_after_ms, on_answer_timer);
    else if (a->c->auto_answer)
        ue_callee_answer(call);
    else if (a->ev.on_ringing)
        a->ev.on_ringing(a->ev.ud, call->dlg.call_id, call->peer);
}

static void on_answer_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    ue_callee_answer(arg);
}

void ue_callee_answer(ue_call_t *call)
{
    char body[UE_SDP_MAX];
    int blen = 0;
    ue_call_state_t to;
    if (!ue_call_next(call, UE_EV_ANSWER, &to))
        return;
    if (ue_offer_2xx_has_sdp(call->oa_mode) && (blen = invite_sdp(call, body, sizeof body)) < 0) {
        ue_call_end(call, "200 could not be built");
        return;
    }
    if (invite_respond(call, 200, "OK", false, NULL, body, blen, true) != 0) {
        ue_call_end(call, "200 could not be sent");
        return;
    }
    ue_call_step(call, UE_EV_ANSWER);
    call->sum.t_answer = ue_call_elapsed(call);
    if (call->oa_mode != UE_OFFER_LATE) /* a late offer's media waits for the answer in the ACK */
        ue_call_start_media(call, 0);
}

/* The ACK of our 200: the call is confirmed; after a late offer it carries the answer (RFC 3261 §13.2.1). */
static void on_ack(ue_call_t *call, sip_msg_t *ack)
{
    ue_sdp_stream_t peer;
    if (!ue_call_step(call, UE_EV_ACK))
        return;
    ue_ladder_add_sip(&call->ladder, ue_now_us(), false, ack);
    stop_retx(call);
    if (call->oa_mode != UE_OFFER_LATE)
        return;
    if (ue_sdp_stream(ack->body.s, ack->body.len, &peer) != UE_SDP_OK) {
        log_warn(UE_LOG, "call %s: ACK without a usable SDP answer to our offer: hanging up", call->dlg.call_id);
        snprintf(call->failure, sizeof call->failure, "ACK without an SDP answer to our offer");
        ue_call_hangup(call);
        return;
    }
    ue_call_follow(call, &peer, peer.dir == UE_SDP_SENDRECV || peer.dir == UE_SDP_RECVONLY, "answer in the ACK");
    ue_call_start_media(call, 0);
}

void ue_callee_no_ack(ue_call_t *call)
{
    log_warn(UE_LOG, "call %s: our 200 was never ACKed: hanging up (RFC 3261 §13.3.1.4)", call->dlg.call_id);
    stop_retx(call);
    ue_call_hangup(call);
}

static void on_retx(evutil_socket_t fd, short what, void *arg)
{
    ue_call_t *call = arg;
    (void)fd, (void)what;
    if (!call->resp || call->state == UE_CS_ENDED)
        return;
    call->retx_total += call->retx_ms;
    if (call->retx_total >= UE_RETX_GIVE_UP_MS) {
        if (call->state == UE_CS_ANSWERED) {
            ue_callee_no_ack(call);
        } else {
            stop_retx(call);
            invite_respond(call, 500, "Server Internal Error (no PRACK for the reliable 183)", false, NULL, NULL, 0,
                           false);
            ue_call_end(call, "no PRACK for the reliable 183");
        }
        return;
    }
    sip_txn_respond(call->ag->tl, call->inv_txn, call->resp, call->resp_len);
    call->retx_ms *= 2;
    if (call->state == UE_CS_ANSWERED && call->retx_ms > UE_T2_MS)
        call->retx_ms = UE_T2_MS;
    ue_call_timer(call, &call->tm_retx, call->retx_ms, on_retx);
}

/* ---------------------------------------------------------------- requests in the dialog */

void ue_callee_on_request(ue_call_t *call, sip_txn_id_t sid, sip_msg_t *req)
{
    switch (req->method) {
    case SIP_METHOD_ACK:
        on_ack(call, req);
        return;
    case SIP_METHOD_INVITE:
        ue_reinvite_on_request(call, sid, req);
        return;
    case SIP_METHOD_PRACK:
        on_prack(call, sid, req);
        return;
    case SIP_METHOD_UPDATE:
        on_update(call, sid, req);
        return;
    case SIP_METHOD_BYE:
        ue_call_respond(call, sid, req, 200, "OK", NULL, NULL, 0);
        ue_call_end(call,
                    call->state == UE_CS_CONFIRMED || call->state == UE_CS_ANSWERED ? NULL : "BYE before the answer");
        return;
    case SIP_METHOD_OPTIONS:
        ue_call_respond(call, sid, req, 200, "OK", "Allow: " UE_ALLOW "\r\n", NULL, 0);
        return;
    default:
        ue_call_respond(call, sid, req, 405, "Method Not Allowed", "Allow: " UE_ALLOW "\r\n", NULL, 0);
        return;
    }
}

void ue_callee_cancel(ue_agent_t *a, sip_txn_id_t sid, sip_msg_t *req)
{
    sip_txn_id_t inv = sip_txn_find_invite(a->tl, req);
    ue_call_t *call = inv != SIP_TXN_ID_NONE ? sip_txn_get_tu_data(a->tl, inv) : NULL;
    if (!call || call->state == UE_CS_ENDED) {
        ue_sip_reply(a, sid, req, 481, "Call/Transaction Does Not Exist", NULL);
        return;
    }
    ue_ladder_add_sip(&call->ladder, ue_now_us(), false, req);
    ue_call_respond(call, sid, req, 200, "OK", NULL, NULL, 0);
    ue_call_state_t to;
    if (ue_call_next(call, UE_EV_CANCELLED, &to)) { /* §9.2: not answered yet */
        stop_retx(call);
        invite_respond(call, 487, "Request Terminated", false, NULL, NULL, 0, false);
        ue_call_end(call, "cancelled by the caller");
    }
}

void ue_callee_abort(ue_call_t *call)
{
    ue_call_state_t to;
    if (!ue_call_next(call, UE_EV_CANCELLED, &to))
        return;
    stop_retx(call);
    invite_respond(call, 480, "Temporarily Unavailable", false, NULL, NULL, 0, false);
    ue_call_end(call, "hung up before the answer");
}
