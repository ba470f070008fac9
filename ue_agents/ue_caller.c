/*
 * ue_caller — the calling UE (patent claims 1-3; DESIGN §1, §2).
 *
 *   INVITE (+u.mihua.voenc only when capable and camped on EUTRAN/NR; RTP/AVP offer) to the AS
 *   reliable 183: PRACK it; when the 183 carries the callee's tag, ask the KMS for a session key at the same
 *       time, so the key request overlaps the PRACK round trip
 *   PRACK answered and key in hand: UPDATE with RTP/SAVP and one a=crypto:<n> <SUITE> kms:<keyId> per suite
 *   200 (UPDATE) with exactly one of our lines: key synchronised, that suite
 *   200 (INVITE): ACK, then media, SRTP from the first packet when synchronised
 *
 * Every "no" on the way leaves a plain call with its reason: not capable or not on 4G/5G (no tag sent), the AS's
 * Warning (tag stripped), "callee not capable" (183 without tag, no Warning), the KMS's refusal or silence (no
 * UPDATE), the callee's 488 or a bad answer to the UPDATE.
 *
 * Callees that do not speak mihua (ue_offer.h, RFC 3261 §13.2.1): a 183 without 100rel is not PRACKed and cannot
 * carry the key agreement (plain, reason said); its SDP is only a preview the 2xx confirms or replaces; a callee
 * that goes 180/200, or straight to 200, answers in the 2xx; a repeated answer (same o= version) changes nothing.
 * A re-INVITE from the callee (hold, resume) goes to ue_reinvite.c.
 *
 * The dialog and the key agreement are two state machines (diagram and tables in ue_fsm.c): each handler here
 * turns a message or a KMS answer into an event, acts, and takes the table's transition. They meet in
 * send_update (the key offer needs an early dialog) and on_2xx (which judges a key agreement still under way).
 */
#include "ue_int.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "sip/sip_reply.h"
#include "sip/sip_voenc.h"

static void on_guard(evutil_socket_t fd, short what, void *arg);

/* Sends the initial INVITE (again, after a 407, with `auth` = a Proxy-Authorization line) and keeps a copy for
 * its CANCEL. 0 or -1. */
static int send_invite(ue_call_t *call, const char *auth)
{
    ue_agent_t *a = call->ag;
    char contact[UE_HDR_MAX + 32], body[UE_SDP_MAX], extra[UE_AUTH_LINE_MAX + 64];
    int blen = ue_sdp_plain(body, sizeof body, "caller", call->sdp_version, a->c->media_ip, ue_media_port(call->media));
    snprintf(extra, sizeof extra, "Supported: 100rel\r\nAllow: " UE_ALLOW "\r\n%s", auth);
    call->inv_cseq = ++call->dlg.local_cseq;
    bool tagged = call->key != UE_KEY_OFF;
    if (blen < 0 || ue_call_send(call, "INVITE", call->inv_cseq, ue_call_contact(call, tagged, contact, sizeof contact),
                                 extra, body, blen, &a->registrar, &call->inv_txn) != 0)
        return -1;
    sip_msg_t *sent = a->scratch; /* ue_call_send left the INVITE parsed there */
    free(call->inv);
    call->inv_len = 0;
    if ((call->inv = malloc((size_t)sent->len)) != NULL) {
        memcpy(call->inv, sent->buf, (size_t)sent->len);
        call->inv_len = (size_t)sent->len;
    }
    return 0;
}

/* A 407 to our INVITE (the AS did not find us registered from this address, e.g. after its restart): the INVITE
 * again with Proxy-Authorization for the first challenge we can answer. 0 when it went. */
static int invite_challenged(ue_call_t *call, sip_msg_t *resp)
{
    char auth[UE_AUTH_LINE_MAX];
    if (call->inv_auth_sent || ue_sip_credentials(call->ag, resp, "Proxy-Authenticate", "Proxy-Authorization", "INVITE",
                                                  call->dlg.remote_target, auth, sizeof auth) != 0)
        return -1;
    call->inv_auth_sent = true;
    return send_invite(call, auth);
}

int ue_caller_start(ue_agent_t *a, const char *target)
{
    char token[64], call_id[UE_HDR_MAX], from[UE_HDR_MAX], to[UE_HDR_MAX];
    char err[160];
    ue_sip_token(a, "", token, sizeof token);
    snprintf(call_id, sizeof call_id, "%s@%s", token, a->c->sip_host);
    ue_call_t *call = ue_call_new(a, UE_ROLE_CALLER, call_id);
    if (!call)
        return -1;
    ue_sip_token(a, "ue", call->local_tag, sizeof call->local_tag);
    snprintf(from, sizeof from, "<%s>;tag=%s", a->c->impu, call->local_tag);
    snprintf(to, sizeof to, "<%s>", target);
    ue_dialog_uac_init(&call->dlg, call_id, from, to);
    snprintf(call->dlg.remote_target, sizeof call->dlg.remote_target, "%s", target);
    snprintf(call->peer, sizeof call->peer, "%s", target);
    snprintf(call->kms_caller, sizeof call->kms_caller, "%s", a->c->impu);
    snprintf(call->kms_callee, sizeof call->kms_callee, "%s", target);
    call->key = a->c->capable && a->c->on_4g5g ? UE_KEY_UNDECIDED : UE_KEY_OFF;
    if (!a->c->capable)
        ue_call_plain(call, "caller not capable");
    else if (!a->c->on_4g5g)
        ue_call_plain(call, "caller not on 4G/5G (%s)", a->c->rat);
    if (!(call->media = ue_media_new(a->base, a->c->media_ip, err, sizeof err))) {
        log_warn(UE_LOG, "call %s: %s", call_id, err);
        ue_call_end(call, "no media port");
        return -1;
    }
    if (send_invite(call, "") != 0) {
        ue_call_end(call, "INVITE could not be sent");
        return -1;
    }
    ue_call_timer(call, &call->tm_guard, (unsigned)a->c->setup_timeout_ms, on_guard);
    return 0;
}

/* ---------------------------------------------------------------- key and UPDATE */

/* The INVITE was answered 2xx: the early dialog, where the key agreement lives, is over. */
static bool answered(const ue_call_t *call)
{
    return call->state == UE_CS_CONFIRMED || call->state == UE_CS_ENDING;
}

/* Where the two machines meet: the key offer goes when the key is READY and the dialog still early. */
static void send_update(ue_call_t *call)
{
    ue_agent_t *a = call->ag;
    char body[UE_SDP_MAX], contact[UE_HDR_MAX + 32];
    if (call->key != UE_KEY_READY || call->state != UE_CS_EARLY)
        return;
    int n = ue_sdp_srtp_offer(body, sizeof body, "caller", ++call->sdp_version, a->c->media_ip,
                              ue_media_port(call->media), a->c->suites, a->c->n_suites, call->key_id);
    if (n < 0 || ue_call_send(call, "UPDATE", ++call->dlg.local_cseq,
                              ue_call_contact(call, true, contact, sizeof contact), NULL, body, n, NULL, NULL) != 0) {
        ue_call_plain(call, "the key offer (UPDATE) could not be sent");
        ue_call_key_step(call, UE_KEV_FAILED);
        return;
    }
    ue_call_key_step(call, UE_KEV_OFFER_SENT);
    ue_media_hold(call->media); /* until the answer says which keys, if any */
}

static void on_issued(const kms_client_result_t *r, void *ud)
{
    ue_call_t *call = ud;
    ue_agent_t *a = call->ag;
    a->kms_ops--;
    if (call->state != UE_CS_ENDED) {
        call->sum.kms_us = r->elapsed_us;
        if (r->status == KMS_CLIENT_OK) {
            ue_ladder_add(&call->ladder, ue_now_us(), false, UE_PEER_KMS, "%d keyId %.6s... wrappedKey", r->http_status,
                          r->key_id);
            snprintf(call->key_id, sizeof call->key_id, "%s", r->key_id);
            memcpy(call->session_key, r->session_key, KMS_KEY_LEN);
            ue_call_key_step(call, UE_KEV_KEY);
            call->sum.t_key = ue_call_elapsed(call);
            send_update(call);
            if (call->key == UE_KEY_HELD || call->key == UE_KEY_READY)
                log_debug(UE_LOG, "call %s: key in hand, UPDATE after the PRACK's 200", call->dlg.call_id);
            if (answered(call) && ue_call_key_step(call, UE_KEV_ANSWERED))
                ue_call_plain(call, "callee answered before the key offer");
        } else if (r->status == KMS_CLIENT_TRANSPORT) {
            ue_ladder_add(&call->ladder, ue_now_us(), false, UE_PEER_KMS, "(%s)", sbi_client_strerror(r->transport));
            ue_call_plain(call, "KMS unreachable (%s)", sbi_client_strerror(r->transport));
            ue_call_key_step(call, UE_KEV_NO_KEY);
        } else {
            ue_ladder_add(&call->ladder, ue_now_us(), false, UE_PEER_KMS, "%d %s", r->http_status, r->cause);
            ue_call_plain(call, "KMS refused the key (%d %s)", r->http_status, r->cause[0] ? r->cause : "");
            ue_call_key_step(call, UE_KEV_NO_KEY);
        }
    }
    ue_call_unref(call);
    ue_call_notify_idle(a);
}

static void ask_key(ue_call_t *call)
{
    ue_agent_t *a = call->ag;
    if (!a->kms) {
        ue_call_plain(call, "no usable KMS client (see the log)");
        ue_call_key_step(call, UE_KEV_NO_KEY);
        return;
    }
    ue_ladder_add(&call->ladder, ue_now_us(), true, UE_PEER_KMS, "POST session-keys");
    if (kms_client_issue(a->kms, call->dlg.call_id, call->kms_caller, call->kms_callee, on_issued, call) != 0) {
        ue_call_plain(call, "KMS request could not be made");
        ue_call_key_step(call, UE_KEV_NO_KEY);
        return;
    }
    a->kms_ops++;
    ue_call_ref(call);
}

/* The first response with a dialog tells whether the callee (and the AS) let encryption go on. The key agreement
 * needs the reliable 183 (DESIGN §2): a tagged but unreliable one cannot carry it. */
static void decide_voenc(ue_call_t *call, sip_msg_t *resp, bool reliable_1xx)
{
    char why[SIP_VOENC_REASON_MAX];
    if (call->key != UE_KEY_UNDECIDED)
        return;
    if (sip_voenc_tagged(resp) && reliable_1xx) {
        ue_call_key_step(call, UE_KEV_TAGGED);
        ask_key(call);
        return;
    }
    ue_call_key_step(call, UE_KEV_UNTAGGED);
    if (sip_voenc_tagged(resp) && resp->status >= 200)
        ue_call_plain(call, "callee answered without a reliable 183: no key agreement");
    else if (sip_voenc_tagged(resp))
        ue_call_plain(call, "callee's %d was not reliable (no 100rel): no key agreement", resp->status);
    else if (sip_voenc_warning_reason(resp, why, sizeof why) == 0)
        ue_call_plain(call, "%s", why);
    else
        ue_call_plain(call, "callee not capable");
}

/* ---------------------------------------------------------------- INVITE responses */

static void send_prack(ue_call_t *call, uint32_t rseq)
{
    char rack[64];
    snprintf(rack, sizeof rack, "RAck: %u %u INVITE\r\n", rseq, call->inv_cseq);
    if (ue_call_send(call, "PRACK", ++call->dlg.local_cseq, NULL, rack, NULL, 0, NULL, NULL) != 0)
        log_warn(UE_LOG, "call %s: PRACK could not be sent", call->dlg.call_id);
}

/* The SDP of a response to our INVITE (ue_offer.h): the final answer, a preview, a repeat or a conflict. */
static void read_answer(ue_call_t *call, sip_msg_t *resp, bool reliable)
{
    ue_sdp_stream_t st = {0};
    bool has = resp->body.len > 0 && ue_sdp_stream(resp->body.s, resp->body.len, &st) == UE_SDP_OK;
    if (resp->body.len > 0 && !has)
        log_warn(UE_LOG, "call %s: unusable SDP in the %d: ignored", call->dlg.call_id, resp->status);
    switch (ue_offer_caller_body(has, reliable, call->answer_final, call->answer_version, st.version)) {
    case UE_OFFER_TAKE:
        call->answer_final = true;
        call->answer_version = st.version;
        /* fall through */
    case UE_OFFER_PREVIEW:
        call->remote = st.addr;
        call->have_remote = true;
        return;
    case UE_OFFER_CONFLICT:
        log_warn(UE_LOG,
                 "call %s: the %d carries an SDP other than the answer already taken (o= version %llu, "
                 "not %llu): ignored (RFC 3261 §13.2.1)",
                 call->dlg.call_id, resp->status, (unsigned long long)st.version,
                 (unsigned long long)call->answer_version);
        return;
    case UE_OFFER_REPEAT:
    case UE_OFFER_NO_BODY:
        return;
    }
}

static void on_provisional(ue_call_t *call, sip_msg_t *resp)
{
    if (!resp->to.tag.s) { /* no dialog yet (§12.1.2) */
        ue_call_step(call, UE_EV_1XX);
        return;
    }
    if (ue_dialog_uac_update(&call->dlg, resp) != 0) {
        log_warn(UE_LOG, "call %s: %d without usable To tag or Contact", call->dlg.call_id, resp->status);
        ue_call_step(call, UE_EV_1XX);
        return;
    }
    if (!ue_call_step(call, UE_EV_1XX_DIALOG))
        return;
    if (!call->sum.t_early)
        call->sum.t_early = ue_call_elapsed(call);
    bool reliable = sip_tokens_has(&resp->require, "100rel") && resp->rseq; /* RFC 3262 §4: else not PRACKed */
    read_answer(call, resp, reliable);
    decide_voenc(call, resp, reliable);
    if (reliable && (call->last_rseq == 0 || resp->rseq > call->last_rseq)) {
        call->last_rseq = resp->rseq;
        send_prack(call, resp->rseq);
    }
}

static void send_ack(ue_call_t *call)
{
    ue_agent_t *a = call->ag;
    if (call->ack) {
        sip_transport_send(a->tp, &call->ack_dst, call->ack, call->ack_len);
        return;
    }
    char branch[SIP_TXN_MAX_BRANCH];
    sip_msg_t *m;
    if (sip_txn_branch_new(a->tl, branch, sizeof branch) < 0)
        return;
    ue_req_t r = {
        .method = "ACK", .via_host = a->c->sip_host, .via_port = a->sip_port, .branch = branch, .cseq = call->inv_cseq};
    int n = ue_call_build(call, &r, &m);
    if (n < 0 || sip_addr_req_dest(m, &call->ack_dst) != 0 || !(call->ack = malloc((size_t)n)))
        return;
    memcpy(call->ack, a->out, (size_t)n);
    call->ack_len = (size_t)n;
    ue_ladder_add_sip(&call->ladder, ue_now_us(), true, m);
    sip_transport_send(a->tp, &call->ack_dst, call->ack, call->ack_len);
}

/* What the 2xx leaves of a key agreement that was still under way (a KMS request still in flight is judged
 * when it answers). */
static void key_answered(ue_call_t *call)
{
    ue_key_state_t was = call->key;
    if (!ue_call_key_step(call, UE_KEV_ANSWERED))
        return;
    if (was == UE_KEY_OFFERED)
        ue_call_plain(call, "no answer to the key offer before the call was answered");
    else
        ue_call_plain(call, "callee answered before the key offer");
}

static void on_2xx(ue_call_t *call, sip_msg_t *resp)
{
    ue_call_state_t was = call->state;
    if (ue_dialog_uac_update(&call->dlg, resp) != 0)
        log_warn(UE_LOG, "call %s: 2xx without To tag or Contact", call->dlg.call_id);
    if (!ue_call_step(call, UE_EV_2XX))
        return;
    if (was == UE_CS_CONFIRMED || was == UE_CS_ENDING) {
        send_ack(call); /* a retransmission (RFC 6026): the same ACK again */
        return;
    }
    call->sum.t_answer = ue_call_elapsed(call);
    ue_call_timer_stop(call->tm_guard);
    if (was == UE_CS_CANCELLING) { /* answered while our CANCEL was on its way: ACK, then BYE (§9.1) */
        send_ack(call);
        ue_call_hangup(call);
        return;
    }
    read_answer(call, resp, true);
    decide_voenc(call, resp, false); /* a callee that answered without any provisional with a dialog */
    send_ack(call);
    if (!call->answer_final) { /* RFC 3261 §13.2.1: the 2xx was the last place the answer could be */
        log_warn(UE_LOG, "call %s: no SDP answer in a reliable response: hanging up", call->dlg.call_id);
        snprintf(call->failure, sizeof call->failure, "callee sent no SDP answer");
        ue_call_hangup(call);
        return;
    }
    ue_media_release(call->media); /* a key offer still unanswered now stays unanswered: judge what came */
    key_answered(call);
    ue_call_start_media(call, call->ag->c->duration_ms / UE_MEDIA_FRAME_MS);
}

static void on_invite_response(ue_call_t *call, sip_msg_t *resp)
{
    char text[UE_FAILURE_MAX];
    ue_call_state_t to;
    if (resp->status == 100 || sip_parse_headers(resp, SIP_HF_ALL) != SIP_OK)
        return;
    if (resp->status < 200) {
        on_provisional(call, resp);
    } else if (resp->status < 300) {
        on_2xx(call, resp);
    } else if (resp->status == 407 && ue_call_next(call, UE_EV_CHALLENGE, &to) && invite_challenged(call, resp) == 0) {
        log_info(UE_LOG, "call %s: 407 from the AS, INVITE sent again with credentials", call->dlg.call_id);
    } else if (ue_call_next(call, UE_EV_REJECTED, &to)) {
        ue_call_response_text(resp, text, sizeof text);
        ue_call_end(call, call->state == UE_CS_CANCELLING && resp->status == 487 ? call->failure : text);
    }
}

/* ---------------------------------------------------------------- PRACK and UPDATE responses */

static void on_prack_response(ue_call_t *call, sip_msg_t *resp)
{
    char text[UE_FAILURE_MAX];
    if (resp->status < 200)
        return;
    if (resp->status < 300) {
        ue_call_key_step(call, UE_KEV_PRACKED);
        send_update(call);
        return;
    }
    ue_call_response_text(resp, text, sizeof text);
    ue_call_plain(call, "PRACK refused (%s)", text);
}

/* The answer to the key offer: key synchronised on that suite, or why not. */
static void update_answered(ue_call_t *call, sip_msg_t *resp)
{
    char text[UE_FAILURE_MAX];
    ue_sdp_choice_t ch;
    if (call->key != UE_KEY_OFFERED)
        return; /* already judged by the INVITE's 2xx */
    if (resp->status >= 300) {
        ue_call_response_text(resp, text, sizeof text);
        ue_call_plain(call, "callee refused the key offer (%s)", text);
        ue_call_key_step(call, UE_KEV_FAILED);
        return;
    }
    if (answered(call)) {
        ue_call_plain(call, "key-sync answer came after the call was answered");
        ue_call_key_step(call, UE_KEV_FAILED);
        return;
    }
    ue_sdp_result_t r = sip_parse_headers(resp, SIP_HF_ALL) == SIP_OK
                            ? ue_sdp_check_answer(resp->body.s, resp->body.len, call->ag->c->suites,
                                                  call->ag->c->n_suites, call->key_id, &ch)
                            : UE_SDP_BAD;
    if (r != UE_SDP_OK) {
        ue_call_plain(call, "bad key-sync answer (%s)", ue_sdp_result_str(r));
        ue_call_key_step(call, UE_KEV_FAILED);
        return;
    }
    call->choice = ch;
    call->remote = ch.remote;
    call->have_remote = true;
    if (ue_call_keysync(call) != 0) {
        ue_call_key_step(call, UE_KEV_FAILED);
        return;
    }
    ue_call_key_step(call, UE_KEV_SYNCED);
    call->sum.t_keysync = ue_call_elapsed(call);
}

static void on_update_response(ue_call_t *call, sip_msg_t *resp)
{
    if (resp->status < 200)
        return;
    update_answered(call, resp);
    ue_media_release(call->media); /* packets held meanwhile are judged with the keys now known */
}

void ue_caller_on_response(ue_call_t *call, sip_txn_id_t id, sip_msg_t *resp)
{
    (void)id;
    switch (resp->cseq.method) {
    case SIP_METHOD_INVITE:
        on_invite_response(call, resp);
        break;
    case SIP_METHOD_PRACK:
        on_prack_response(call, resp);
        break;
    case SIP_METHOD_UPDATE:
        on_update_response(call, resp);
        break;
    default: /* our CANCEL's 200: the INVITE's 487 ends the call */
        break;
    }
}

/* Requests inside a call the caller side receives: BYE, and a re-INVITE (hold, resume) from a phone; anything
 * else is refused politely. */
void ue_caller_on_request(ue_call_t *call, sip_txn_id_t sid, sip_msg_t *req)
{
    if (req->method == SIP_METHOD_BYE) {
        ue_call_respond(call, sid, req, 200, "OK", NULL, NULL, 0);
        ue_call_end(call, NULL);
    } else if (req->method == SIP_METHOD_INVITE) {
        ue_reinvite_on_request(call, sid, req);
    } else if (req->method == SIP_METHOD_UPDATE) {
        ue_call_respond(call, sid, req, 488, "Not Acceptable Here", NULL, NULL, 0);
    } else if (req->method != SIP_METHOD_ACK) {
        ue_call_respond(call, sid, req, 405, "Method Not Allowed", "Allow: " UE_ALLOW "\r\n", NULL, 0);
    }
}

void ue_caller_stray_2xx(ue_call_t *call)
{
    if (call->ack)
        send_ack(call);
}

/* ---------------------------------------------------------------- giving up */

void ue_caller_abort(ue_call_t *call)
{
    ue_agent_t *a = call->ag;
    sip_txn_id_t id;
    ue_call_state_t to;
    if (!ue_call_next(call, UE_EV_GIVE_UP, &to))
        return; /* answered, or over */
    if (to == UE_CS_ENDED || !call->inv) {
        ue_call_end(call, call->failure[0] ? call->failure : "no answer");
        return;
    }
    sip_msg_t *inv = a->scratch; /* §9.1: CANCEL only after a provisional response */
    int n = sip_msg_parse(inv, call->inv, call->inv_len, SIP_TP_DGRAM) == SIP_OK
                ? sip_build_cancel(inv, a->out, UE_MSG_MAX)
                : -1;
    if (n < 0 || sip_txn_client_start(a->tl, a->out, (size_t)n, &a->registrar, NULL, &id) != 0) {
        ue_call_end(call, "no answer (CANCEL could not be sent)");
        return;
    }
    ue_call_step(call, UE_EV_GIVE_UP);
    ue_ladder_add(&call->ladder, ue_now_us(), true, UE_PEER_AS, "CANCEL");
}

static void on_guard(evutil_socket_t fd, short what, void *arg)
{
    ue_call_t *call = arg;
    (void)fd, (void)what;
    snprintf(call->failure, sizeof call->failure, "no answer within %ld ms", call->ag->c->setup_timeout_ms);
    ue_caller_abort(call);
}
