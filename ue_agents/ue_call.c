/*
 * ue_call — what the caller and callee halves of a call share (ue_int.h): the call object and its Call-ID table,
 * the steps of its state machines (tables in ue_fsm.c), sending requests and responses (and drawing them in the
 * ladder), the "plain because" reason, media start and the end of the call with its summary.
 *
 * A call ends exactly once (ue_call_end): timers stop, the media is drained (what the peer sent before its BYE
 * or its 200 to ours is still in the socket), the summary goes to the program, the call leaves the table so late
 * requests get 481, and the table's reference is dropped. Transactions still running keep the object until
 * they terminate.
 */
#include "ue_int.h"

#include <event2/event.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "kms/kms_crypto.h"
#include "sip/sip_reply.h"
#include "sip/sip_voenc.h"
#include "ue_keys.h"

static size_t bucket_of(sip_str_t id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < id.len; i++)
        h = (h ^ (uint8_t)id.s[i]) * 16777619u;
    return h % UE_CALL_BUCKETS;
}

ue_call_t *ue_call_new(ue_agent_t *a, ue_role_t role, const char *call_id)
{
    ue_call_t *call = calloc(1, sizeof *call);
    if (!call)
        return NULL;
    call->ag = a;
    call->refs = 1; /* the table's */
    call->role = role;
    call->t0 = ue_now_us();
    call->sdp_version = 1;
    call->sum.role = role == UE_ROLE_CALLER ? "caller" : "callee";
    ue_ladder_init(&call->ladder, call->t0);
    snprintf(call->dlg.call_id, sizeof call->dlg.call_id, "%s", call_id);
    size_t b = bucket_of(sip_str_c(call->dlg.call_id));
    call->next = a->buckets[b];
    a->buckets[b] = call;
    call->in_table = true;
    a->ncalls++;
    call->all_next = a->all;
    if (a->all)
        a->all->all_prev = call;
    a->all = call;
    return call;
}

ue_call_t *ue_call_find(ue_agent_t *a, sip_str_t call_id)
{
    for (ue_call_t *c = a->buckets[bucket_of(call_id)]; c; c = c->next)
        if (sip_str_eq(call_id, c->dlg.call_id))
            return c;
    return NULL;
}

static void table_remove(ue_call_t *call)
{
    ue_agent_t *a = call->ag;
    ue_call_t **pp = &a->buckets[bucket_of(sip_str_c(call->dlg.call_id))];
    while (*pp && *pp != call)
        pp = &(*pp)->next;
    if (*pp)
        *pp = call->next;
    call->in_table = false;
    a->ncalls--;
}

void ue_call_ref(ue_call_t *call)
{
    call->refs++;
}

void ue_call_unref(ue_call_t *call)
{
    if (--call->refs > 0)
        return;
    ue_agent_t *a = call->ag;
    if (call->all_prev)
        call->all_prev->all_next = call->all_next;
    else
        a->all = call->all_next;
    if (call->all_next)
        call->all_next->all_prev = call->all_prev;
    ue_media_free(call->media);
    if (call->tm_reinv)
        event_free(call->tm_reinv);
    if (call->tm_retx)
        event_free(call->tm_retx);
    if (call->tm_wait)
        event_free(call->tm_wait);
    if (call->tm_guard)
        event_free(call->tm_guard);
    if (call->tm_answer)
        event_free(call->tm_answer);
    kms_cleanse(call->session_key, sizeof call->session_key);
    free(call->inv);
    free(call->ack);
    free(call->resp);
    free(call->upd);
    free(call->reinv_resp);
    free(call);
}

void ue_call_free_all(ue_agent_t *a)
{
    while (a->all) {
        a->all->refs = 1;
        ue_call_unref(a->all);
    }
}

bool ue_call_next(const ue_call_t *call, ue_call_event_t ev, ue_call_state_t *to)
{
    return call->role == UE_ROLE_CALLER ? ue_fsm_caller(call->state, ev, to) : ue_fsm_callee(call->state, ev, to);
}

bool ue_call_step(ue_call_t *call, ue_call_event_t ev)
{
    ue_call_state_t to;
    if (!ue_call_next(call, ev, &to))
        return false;
    log_debug(UE_LOG, "call %s: %s -> %s", call->dlg.call_id, ue_fsm_state_str(call->state), ue_fsm_state_str(to));
    call->state = to;
    return true;
}

bool ue_call_key_step(ue_call_t *call, ue_key_event_t ev)
{
    ue_key_state_t to;
    bool ok =
        call->role == UE_ROLE_CALLER ? ue_fsm_caller_key(call->key, ev, &to) : ue_fsm_callee_key(call->key, ev, &to);
    if (!ok)
        return false;
    log_debug(UE_LOG, "call %s: key %s -> %s", call->dlg.call_id, ue_fsm_key_str(call->key), ue_fsm_key_str(to));
    call->key = to;
    return true;
}

bool ue_call_idle(const ue_agent_t *a)
{
    return a->ncalls == 0 && a->kms_ops == 0 && !a->reg_pending;
}

void ue_call_notify_idle(ue_agent_t *a)
{
    if (ue_call_idle(a) && a->ev.on_idle)
        a->ev.on_idle(a->ev.ud);
}

uint64_t ue_call_elapsed(const ue_call_t *call)
{
    uint64_t now = ue_now_us();
    return now > call->t0 ? now - call->t0 : 1;
}

const char *ue_call_contact(ue_call_t *call, bool tagged, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s", call->ag->contact, tagged ? ";" SIP_VOENC_FEATURE : "");
    return buf;
}

/* Parses what we are about to send, for the ladder and the next hop. NULL if it does not parse. */
static sip_msg_t *reparse(ue_agent_t *a, const char *buf, int len)
{
    sip_msg_t *m = a->scratch;
    if (sip_msg_parse(m, buf, (size_t)len, SIP_TP_DGRAM) != SIP_OK || sip_msg_check(m) != SIP_OK)
        return NULL;
    return m;
}

int ue_call_build(ue_call_t *call, const ue_req_t *r, sip_msg_t **parsed)
{
    ue_agent_t *a = call->ag;
    int n = ue_dialog_request(&call->dlg, r, a->out, UE_MSG_MAX);
    *parsed = n > 0 ? reparse(a, a->out, n) : NULL;
    return *parsed ? n : -1;
}

int ue_call_send(ue_call_t *call, const char *method, uint32_t cseq, const char *contact, const char *extra,
                 const char *body, int body_len, const sip_addr_t *dst, sip_txn_id_t *id)
{
    ue_agent_t *a = call->ag;
    char branch[SIP_TXN_MAX_BRANCH];
    sip_addr_t next;
    sip_txn_id_t tid;
    sip_msg_t *m;
    if (sip_txn_branch_new(a->tl, branch, sizeof branch) < 0)
        return -1;
    ue_req_t r = {.method = method,
                  .via_host = a->c->sip_host,
                  .via_port = a->sip_port,
                  .branch = branch,
                  .cseq = cseq,
                  .contact = contact,
                  .extra = extra,
                  .content_type = "application/sdp",
                  .body = body,
                  .body_len = body_len};
    int n = ue_call_build(call, &r, &m);
    if (n < 0 || (!dst && sip_addr_req_dest(m, &next) != 0))
        return -1;
    ue_ladder_add_sip(&call->ladder, ue_now_us(), true, m);
    if (sip_txn_client_start(a->tl, a->out, (size_t)n, dst ? dst : &next, call, &tid) != 0)
        return -1;
    ue_call_ref(call);
    if (id)
        *id = tid;
    return 0;
}

int ue_call_respond(ue_call_t *call, sip_txn_id_t sid, sip_msg_t *req, int status, const char *reason,
                    const char *extra, const char *body, int body_len)
{
    ue_agent_t *a = call->ag;
    sip_reply_opts_t o = {.to_tag = call->local_tag[0] ? call->local_tag : NULL,
                          .extra = extra,
                          .content_type = "application/sdp",
                          .body = body,
                          .body_len = body_len};
    int n = sip_reply_build(req, status, reason, &o, a->out, UE_MSG_MAX);
    if (n < 0 || sip_txn_respond(a->tl, sid, a->out, (size_t)n) != 0)
        return -1;
    sip_msg_t *m = reparse(a, a->out, n);
    if (m)
        ue_ladder_add_sip(&call->ladder, ue_now_us(), true, m);
    return n;
}

void ue_call_plain(ue_call_t *call, const char *fmt, ...)
{
    if (call->reason[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call->reason, sizeof call->reason, fmt, ap);
    va_end(ap);
    log_info(UE_LOG, "call %s: plain: %s", call->dlg.call_id, call->reason);
}

void ue_call_response_text(sip_msg_t *resp, char *out, size_t cap)
{
    char status[16];
    snprintf(status, sizeof status, "%d ", resp->status);
    if (sip_parse_headers(resp, SIP_HF(SIP_HDR_WARNING)) == SIP_OK && resp->nwarning > 0) {
        sip_str_t t = resp->warning[0].text;
        if (t.len >= 2 && t.s[0] == '"')
            t = (sip_str_t){t.s + 1, t.len - 2};
        snprintf(out, cap, "%s%.*s", status, t.len, t.s);
        return;
    }
    snprintf(out, cap, "%s%.*s", status, resp->reason.len, resp->reason.s);
}

/* ---------------------------------------------------------------- media */

static void on_media_done(void *ud)
{
    ue_call_hangup(ud); /* the caller's audio has all been sent */
}

/* Key synchronised: both SRTP contexts now, before any media can arrive (the peer may start sending as soon as
 * it has sent or seen the 200 to the INVITE, before this side has processed it). */
int ue_call_keysync(ue_call_t *call)
{
    msrtp_master_t send, recv;
    int rc = ue_keys_srtp_masters(call->session_key, KMS_KEY_LEN, call->dlg.call_id, call->choice.suite,
                                  call->role == UE_ROLE_CALLER, &send, &recv);
    if (rc == 0)
        rc = ue_media_set_srtp(call->media, call->choice.suite, &send, &recv);
    msrtp_master_cleanse(&send);
    msrtp_master_cleanse(&recv);
    kms_cleanse(call->session_key, sizeof call->session_key); /* the media contexts hold what they need */
    if (rc != 0)
        ue_call_plain(call, "SRTP contexts could not be set up");
    return rc;
}

void ue_call_start_media(ue_call_t *call, uint64_t frames)
{
    if (!call->media || !call->have_remote ||
        ue_media_set_remote(call->media, call->remote.ip, call->remote.port) != 0) {
        log_warn(UE_LOG, "call %s: no usable media address from the peer: no audio", call->dlg.call_id);
        return;
    }
    if (ue_media_start(call->media, call->ag->audio, frames, frames ? on_media_done : NULL, call) != 0) {
        log_warn(UE_LOG, "call %s: media did not start", call->dlg.call_id);
        return;
    }
    bool enc = ue_call_encrypted(call);
    log_info(UE_LOG, "call %s: connected, %s%s", call->dlg.call_id,
             enc ? "encrypted: " : "plain: ", enc ? msrtp_suite_name(call->choice.suite) : call->reason);
    ue_ladder_add(&call->ladder, ue_now_us(), true, UE_PEER_MEDIA, "%s%s from the first packet",
                  enc ? "SRTP " : "RTP (plain)", enc ? msrtp_suite_name(call->choice.suite) : "");
}

void ue_call_follow(ue_call_t *call, const ue_sdp_stream_t *peer, bool send, const char *why)
{
    /* c=0.0.0.0 is "do not send to me": keep the old address rather than send to a wildcard */
    bool usable = strcmp(peer->addr.ip, "0.0.0.0") != 0;
    if (usable) {
        call->remote = peer->addr;
        call->have_remote = true;
    }
    if (call->media && usable && ue_media_set_remote(call->media, peer->addr.ip, peer->addr.port) != 0)
        log_warn(UE_LOG, "call %s: peer media address %s:%u unusable", call->dlg.call_id, peer->addr.ip,
                 peer->addr.port);
    if (call->media)
        ue_media_pause(call->media, !send);
    log_info(UE_LOG, "call %s: %s: peer %s %s:%u, we say %s: %s", call->dlg.call_id, why, ue_sdp_dir_str(peer->dir),
             peer->addr.ip, peer->addr.port, ue_sdp_dir_str(call->local_dir), send ? "sending" : "sending paused");
    ue_ladder_add(&call->ladder, ue_now_us(), true, UE_PEER_MEDIA, "RTP %s", send ? "sending" : "on hold");
}

/* ---------------------------------------------------------------- hang-up and end */

static void call_finish(ue_call_t *call);

static void on_key_deleted(const kms_client_result_t *r, void *ud)
{
    ue_call_t *call = ud;
    ue_agent_t *a = call->ag;
    ue_ladder_add(&call->ladder, ue_now_us(), false, UE_PEER_KMS, "%d %s", r->http_status,
                  r->status == KMS_CLIENT_OK ? "key deleted" : kms_client_status_str(r->status));
    a->kms_ops--;
    call->deleting = false;
    if (call->end_pending)
        call_finish(call);
    ue_call_unref(call);
    ue_call_notify_idle(a);
}

static void delete_key(ue_call_t *call)
{
    ue_agent_t *a = call->ag;
    if (!call->key_id[0] || !a->kms)
        return;
    ue_ladder_add(&call->ladder, ue_now_us(), true, UE_PEER_KMS, "DELETE session-keys/{keyId}");
    if (kms_client_delete(a->kms, call->key_id, on_key_deleted, call) == 0) {
        a->kms_ops++;
        call->deleting = true;
        ue_call_ref(call);
    }
}

void ue_call_hangup(ue_call_t *call)
{
    if (!ue_call_step(call, UE_EV_HANGUP))
        return;
    if (call->media)
        ue_media_stop(call->media);
    call->hung_up_by_us = true;
    delete_key(call);
    if (ue_call_send(call, "BYE", ++call->dlg.local_cseq, NULL, NULL, NULL, 0, NULL, NULL) != 0)
        ue_call_end(call, NULL); /* §15.1.1: the session is over for us either way */
}

void ue_call_timer_stop(struct event *ev)
{
    if (ev)
        event_del(ev);
}

void ue_call_timer(ue_call_t *call, struct event **ev, unsigned ms, void (*fn)(evutil_socket_t, short, void *))
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (!*ev && !(*ev = event_new(call->ag->base, -1, 0, fn, call)))
        return;
    event_add(*ev, &tv);
}

static void fill_summary(ue_call_t *call)
{
    ue_call_summary_t *s = &call->sum;
    s->call_id = call->dlg.call_id;
    s->peer = call->peer;
    s->connected = call->sum.t_answer != 0;
    s->failure = call->failure;
    s->encrypted = ue_call_encrypted(call) && s->connected;
    s->suite = s->encrypted ? msrtp_suite_name(call->choice.suite) : "";
    if (!s->encrypted && !call->reason[0])
        ue_call_plain(call, "%s", s->connected ? "no encryption negotiated" : "call not connected");
    s->reason = s->encrypted ? "" : call->reason;
    s->hung_up_by_us = call->hung_up_by_us;
    if (call->media)
        ue_media_stats(call->media, &s->media);
    if (s->media.first_tx_us)
        s->t_first_media = s->media.first_tx_us > call->t0 ? s->media.first_tx_us - call->t0 : 1;
    s->ladder = &call->ladder;
}

void ue_call_end(ue_call_t *call, const char *failure)
{
    if (!ue_call_step(call, UE_EV_END))
        return;
    if (failure && !call->failure[0])
        snprintf(call->failure, sizeof call->failure, "%s", failure);
    ue_call_timer_stop(call->tm_retx);
    ue_call_timer_stop(call->tm_wait);
    ue_call_timer_stop(call->tm_guard);
    ue_call_timer_stop(call->tm_answer);
    ue_call_timer_stop(call->tm_reinv);
    if (call->media) {
        ue_media_stop(call->media);
        ue_media_release(call->media);
        ue_media_drain(call->media); /* what the peer sent before its BYE or its 200 to ours */
    }
    if (call->deleting) { /* the summary (and ladder) waits for the KMS DELETE's answer */
        call->end_pending = true;
        return;
    }
    call_finish(call);
}

void ue_call_end_now(ue_call_t *call, const char *failure)
{
    call->deleting = false;
    if (call->state != UE_CS_ENDED)
        ue_call_end(call, failure);
    else if (call->end_pending)
        call_finish(call);
}

static void call_finish(ue_call_t *call)
{
    ue_agent_t *a = call->ag;
    call->end_pending = false;
    if (call->media) {
        if (a->c->wav_out && ue_media_write_wav(call->media, a->c->wav_out) != 0)
            log_warn(UE_LOG, "call %s: cannot write %s", call->dlg.call_id, a->c->wav_out);
    }
    fill_summary(call);
    if (call->media && (call->sum.media.sent || call->sum.media.received))
        ue_ladder_add(&call->ladder, ue_now_us(), true, UE_PEER_MEDIA, "%s: %llu pkts sent, %llu received",
                      call->sum.encrypted ? "SRTP" : "RTP", (unsigned long long)call->sum.media.sent,
                      (unsigned long long)call->sum.media.received);
    if (a->ev.on_call_end)
        a->ev.on_call_end(a->ev.ud, &call->sum);
    ue_media_free(call->media); /* its socket now, not when the last transaction ends (Timer J/K: up to 32 s) */
    call->media = NULL;
    if (call->in_table)
        table_remove(call);
    ue_call_unref(call);
    ue_call_notify_idle(a);
}
