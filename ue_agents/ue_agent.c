/*
 * ue_agent — the UE's SIP side and its wiring (ue_agent.h): UDP transport and RFC 3261 §17 transactions from
 * lib/sip, REGISTER with refresh (§10.2) and Digest (§22.2: a 401 is answered with sip_password, the first
 * challenge whose algorithm we know taken, RFC 8760 §2.4, its nonce reused with nc+1 on refreshes until the
 * registrar says stale), dispatch of requests and responses to the calls, and the KMS client.
 *
 * Requests outside a dialog go to the registrar address (the AS is the UE's outbound proxy, as the P-CSCF would
 * be); in-dialog requests follow the route set the AS put in Record-Route. The KMS client (HTTP/2 over TLS 1.3,
 * one connection, Digest nonce reused across calls) is created up front, so the first call pays no set-up beyond
 * the TLS handshake and the first Digest challenge.
 */
#include "ue_int.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "sbi/sbi_tls.h"
#include "sip/sip_reply.h"
#include "sip/sip_voenc.h"

/* ---------------------------------------------------------------- registration */

static void on_reg_refresh(evutil_socket_t fd, short what, void *arg);

static int reg_send(ue_agent_t *a, long expires)
{
    ue_dialog_t d;
    char from[UE_HDR_MAX + 40], to[UE_HDR_MAX + 4], ruri[UE_HDR_MAX], contact[UE_HDR_MAX + 32];
    char auth[UE_AUTH_LINE_MAX] = "", extra[UE_AUTH_LINE_MAX + 64];
    char branch[SIP_TXN_MAX_BRANCH];
    sip_txn_id_t id;
    sip_uri_t u;
    if (sip_uri_parse(sip_str_c(a->c->impu), &u) != 0 || sip_txn_branch_new(a->tl, branch, sizeof branch) < 0)
        return -1;
    if (u.scheme == SIP_URI_SIP)
        snprintf(ruri, sizeof ruri, "sip:%.*s", u.host.len, u.host.s);
    else /* a tel: IMPU registers at the registrar itself */
        snprintf(ruri, sizeof ruri, "sip:%s:%u", a->c->registrar_host, a->c->registrar_port);
    snprintf(from, sizeof from, "<%s>;tag=%s", a->c->impu, a->reg_tag);
    snprintf(to, sizeof to, "<%s>", a->c->impu);
    snprintf(contact, sizeof contact, "%s%s", a->contact, a->c->capable ? ";" SIP_VOENC_FEATURE : "");
    if (a->reg_has_ch &&
        ue_sip_auth_line(a, &a->reg_ch, "Authorization", "REGISTER", ruri, ++a->reg_nc, auth, sizeof auth) != 0)
        return -1;
    snprintf(extra, sizeof extra, "Expires: %ld\r\n%s", expires, auth);
    ue_dialog_uac_init(&d, a->reg_call_id, from, to);
    ue_req_t r = {.method = "REGISTER",
                  .ruri = ruri,
                  .via_host = a->c->sip_host,
                  .via_port = a->sip_port,
                  .branch = branch,
                  .cseq = ++a->reg_cseq,
                  .contact = contact,
                  .extra = extra};
    int n = ue_dialog_request(&d, &r, a->out, UE_MSG_MAX);
    if (n < 0 || sip_txn_client_start(a->tl, a->out, (size_t)n, &a->registrar, NULL, &id) != 0)
        return -1;
    a->reg_pending = true;
    a->reg_expires = expires;
    return 0;
}

int ue_agent_register(ue_agent_t *a)
{
    if (a->reg_pending)
        return 0;
    return reg_send(a, a->c->expires);
}

int ue_agent_unregister(ue_agent_t *a)
{
    if (a->reg_refresh)
        event_del(a->reg_refresh);
    return reg_send(a, 0);
}

/* The expiry the registrar granted our Contact (§10.2.4): its expires parameter, else Expires, else asked. */
static long granted_expiry(ue_agent_t *a, sip_msg_t *resp)
{
    for (int i = 0; i < resp->ncontact; i++) {
        sip_str_t v;
        uint32_t e;
        char uri[UE_HDR_MAX];
        snprintf(uri, sizeof uri, "%.*s", resp->contact[i].uri_raw.len, resp->contact[i].uri_raw.s);
        if (strstr(a->contact, uri) && sip_param_get(resp->contact[i].params, "expires", &v) &&
            sip_str_to_u32(v, 86400 * 365, &e) == 0)
            return e;
    }
    return resp->expires_hdr >= 0 ? (long)resp->expires : a->reg_expires;
}

/* A 401 (§22.2): take the first WWW-Authenticate whose algorithm we know (RFC 8760 §2.4) and send the REGISTER
 * again with credentials. 0 when it went; -1 when the 401 stands (no password, no usable challenge, or a fresh
 * challenge already failed: the password is wrong and retrying would loop). */
static int reg_challenged(ue_agent_t *a, sip_msg_t *resp)
{
    digest_challenge_t ch;
    if (!a->c->sip_password || ue_sip_pick_challenge(resp, "WWW-Authenticate", &ch) != 0 ||
        (a->reg_ch_tried && !ch.stale))
        return -1;
    a->reg_ch = ch;
    a->reg_has_ch = true;
    a->reg_ch_tried = true;
    a->reg_nc = 0;
    return reg_send(a, a->reg_expires);
}

static void reg_response(ue_agent_t *a, sip_msg_t *resp)
{
    char reason[UE_FAILURE_MAX];
    if (resp->status < 200)
        return;
    a->reg_pending = false;
    if (resp->status == 401 && reg_challenged(a, resp) == 0)
        return;
    if (resp->status != 401)
        a->reg_ch_tried = false; /* the credentials held (or were not the question): a later 401 is a new one */
    if (resp->status == 423 && sip_parse_headers(resp, SIP_HF_ALL) == SIP_OK) { /* §10.2.8 Interval Too Brief */
        int i = sip_msg_find_hdr(resp, "Min-Expires");
        uint32_t min = 0;
        if (i >= 0 && sip_str_to_u32(resp->hdrs[i].body, 86400 * 365, &min) == 0 && min > a->reg_expires &&
            reg_send(a, (long)min) == 0)
            return;
    }
    snprintf(reason, sizeof reason, "%.*s", resp->reason.len, resp->reason.s);
    if (resp->status >= 200 && resp->status < 300 && a->reg_expires == 0) {
        log_info(UE_LOG, "unregistered %s", a->c->impu);
    } else if (resp->status >= 200 && resp->status < 300) {
        long e = sip_parse_headers(resp, SIP_HF_ALL) == SIP_OK ? granted_expiry(a, resp) : a->reg_expires;
        struct timeval tv = {e > 2 ? e / 2 : 1, 0};
        if (a->reg_refresh || (a->reg_refresh = event_new(a->base, -1, 0, on_reg_refresh, a)))
            event_add(a->reg_refresh, &tv);
        log_info(UE_LOG, "registered %s for %ld s", a->c->impu, e);
    } else {
        log_warn(UE_LOG, "REGISTER refused: %d %s", resp->status, reason);
    }
    if (a->ev.on_registered)
        a->ev.on_registered(a->ev.ud, resp->status, reason);
    ue_call_notify_idle(a);
}

static void on_reg_refresh(evutil_socket_t fd, short what, void *arg)
{
    ue_agent_t *a = arg;
    (void)fd, (void)what;
    if (reg_send(a, a->reg_expires) != 0)
        log_warn(UE_LOG, "could not refresh the registration");
}

/* ---------------------------------------------------------------- transaction user */

static void on_request(void *ctx, sip_txn_id_t id, sip_msg_t *req, const sip_addr_t *src)
{
    ue_agent_t *a = ctx;
    (void)src;
    ue_call_t *call = ue_call_find(a, req->call_id);
    if (req->method == SIP_METHOD_ACK) { /* of our 2xx: no transaction of its own (§17.1.1.3) */
        if (call && call->state != UE_CS_ENDED && ue_reinvite_on_ack(call, req))
            return;
        if (call && call->role == UE_ROLE_CALLEE)
            ue_callee_on_request(call, id, req);
        return;
    }
    if (id == SIP_TXN_ID_NONE)
        return;
    if (req->method == SIP_METHOD_CANCEL) {
        ue_callee_cancel(a, id, req);
    } else if (req->method == SIP_METHOD_OPTIONS && !req->to.tag.s) {
        ue_sip_reply(a, id, req, 200, "OK", "Allow: " UE_ALLOW "\r\nAccept: application/sdp\r\n");
    } else if (req->method == SIP_METHOD_INVITE && !req->to.tag.s) {
        if (call)
            ue_sip_reply(a, id, req, 482, "Loop Detected", NULL); /* a second INVITE with this Call-ID */
        else if (!a->accept)
            ue_sip_reply(a, id, req, 486, "Busy Here", NULL);
        else
            ue_callee_invite(a, id, req);
    } else if (!call) {
        ue_sip_reply(a, id, req, 481, "Call/Transaction Does Not Exist", NULL);
    } else {
        ue_ladder_add_sip(&call->ladder, ue_now_us(), false, req);
        if (call->role == UE_ROLE_CALLEE)
            ue_callee_on_request(call, id, req);
        else
            ue_caller_on_request(call, id, req);
    }
}

static void on_response(void *ctx, sip_txn_id_t id, void *tu_data, sip_msg_t *resp)
{
    ue_agent_t *a = ctx;
    ue_call_t *call = tu_data;
    if (!call) {
        if (resp->cseq.method == SIP_METHOD_REGISTER)
            reg_response(a, resp);
        return;
    }
    if (call->state == UE_CS_ENDED)
        return;
    if (resp->status > 100)
        ue_ladder_add_sip(&call->ladder, ue_now_us(), false, resp);
    if (resp->cseq.method == SIP_METHOD_BYE) {
        if (resp->status >= 200)
            ue_call_end(call, NULL);
        return;
    }
    if (call->role == UE_ROLE_CALLER)
        ue_caller_on_response(call, id, resp);
}

static void on_timeout(void *ctx, sip_txn_id_t id, void *tu_data, sip_msg_t *resp)
{
    ue_call_t *call = tu_data;
    if (resp) {
        on_response(ctx, id, tu_data, resp); /* a client transaction's 408 (§8.1.3.1) */
    } else if (call && call->state != UE_CS_ENDED) {
        ue_callee_no_ack(call); /* Timer H: our 2xx was never ACKed */
    }
}

static void on_transport_error(void *ctx, sip_txn_id_t id, void *tu_data)
{
    ue_call_t *call = tu_data;
    (void)ctx;
    if (!call || call->state == UE_CS_ENDED)
        return;
    log_warn(UE_LOG, "call %s: a message could not be sent", call->dlg.call_id);
    if (id == call->inv_txn || call->state == UE_CS_ENDING || call->state == UE_CS_CANCELLING)
        ue_call_end(call, "transport error");
}

static void on_terminated(void *ctx, sip_txn_id_t id, void *tu_data)
{
    (void)ctx, (void)id;
    if (tu_data)
        ue_call_unref(tu_data);
}

static void on_stray_response(void *ctx, sip_msg_t *resp, const sip_addr_t *src)
{
    (void)src;
    ue_call_t *call = ue_call_find(ctx, resp->call_id);
    if (call && resp->status >= 200 && resp->status < 300 && resp->cseq.method == SIP_METHOD_INVITE)
        ue_caller_stray_2xx(call); /* a 2xx retransmission after Timer M: ACK it again (§13.2.2.4) */
}

static void on_rx(void *ctx, sip_msg_t *msg, const sip_addr_t *src)
{
    sip_txn_recv(((ue_agent_t *)ctx)->tl, msg, src);
}

/* ---------------------------------------------------------------- life cycle */

static int agent_kms(ue_agent_t *a, char *err, size_t errlen)
{
    char why[SBI_TLS_ERR_MAX] = "";
    if (!a->c->capable || !a->c->has_kms_key)
        return 0;
    if (strncmp(a->c->kms_url, "https://", 8) == 0 &&
        !(a->tls = sbi_tls_client_ctx_new(a->c->kms_ca, why, sizeof why))) {
        /* DESIGN §1: without a KMS the calls go on plain; say why once, here */
        log_warn(UE_LOG, "KMS %s unusable (%s): calls will be plain", a->c->kms_url, why);
        return 0;
    }
    sbi_client_config_t sc = {.tls = a->tls, .default_timeout_ms = (unsigned)a->c->kms_timeout_ms};
    kms_client_cfg_t kc = {.base_url = a->c->kms_url,
                           .username = a->c->impu,
                           .kms_key = a->c->kms_key,
                           .timeout_ms = (unsigned)a->c->kms_timeout_ms};
    if (!(a->sbi = sbi_client_new(a->base, &sc)) || !(a->kms = kms_client_new(a->sbi, &kc))) {
        snprintf(err, errlen, "cannot create the KMS client for %s", a->c->kms_url);
        return -1;
    }
    return 0;
}

static int agent_sip(ue_agent_t *a, char *err, size_t errlen)
{
    sip_txn_io_t io = {sip_transport_send, NULL};
    sip_txn_tu_t tu = {on_request,    on_response,       on_timeout, on_transport_error,
                       on_terminated, on_stray_response, NULL,       a};
    if (!(a->tp = sip_transport_new(a->base, on_rx, a)) ||
        sip_transport_listen_udp(a->tp, a->c->sip_host, a->c->sip_port, &a->sip_port) != 0) {
        snprintf(err, errlen, "cannot bind SIP UDP on %s", a->c->sip_listen);
        return -1;
    }
    io.ctx = a->tp;
    if (!(a->te = sip_timer_event_new(a->base)))
        return snprintf(err, errlen, "out of memory"), -1;
    sip_clock_t clock = sip_timer_event_clock(a->te);
    if (!(a->tl = sip_txn_layer_new(NULL, &clock, &io, &tu)))
        return snprintf(err, errlen, "cannot start the SIP transaction layer"), -1;
    sip_timer_event_attach(a->te, a->tl);
    if (sip_addr_from_ip(&a->registrar, SIP_PROTO_UDP, sip_str_c(a->c->registrar_host), a->c->registrar_port) != 0)
        return snprintf(err, errlen, "registrar %s: not a numeric address", a->c->registrar), -1;
    return 0;
}

/* The Contact user: the IMPU's user part (sip:) or number (tel:). */
static void agent_identity(ue_agent_t *a)
{
    sip_uri_t u;
    sip_uri_parse(sip_str_c(a->c->impu), &u); /* checked by ue_conf */
    sip_str_copy(u.user, a->user, sizeof a->user);
    const char *fmt = strchr(a->c->sip_host, ':') ? "<sip:%s@[%s]:%d>" : "<sip:%s@%s:%d>";
    snprintf(a->contact, sizeof a->contact, fmt, a->user, a->c->sip_host, a->sip_port);
    ue_sip_token(a, "reg", a->reg_tag, sizeof a->reg_tag);
    char id[64];
    ue_sip_token(a, "", id, sizeof id);
    snprintf(a->reg_call_id, sizeof a->reg_call_id, "reg-%s@%s", id, a->c->sip_host);
}

ue_agent_t *ue_agent_new(struct event_base *base, const ue_conf_t *conf, const ue_audio_t *audio,
                         const ue_agent_events_t *ev, char *err, size_t errlen)
{
    ue_agent_t *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->base = base;
    a->c = conf;
    a->audio = audio;
    if (ev)
        a->ev = *ev;
    a->scratch = malloc(sizeof *a->scratch);
    a->out = malloc(UE_MSG_MAX);
    if (!a->scratch || !a->out) {
        snprintf(err, errlen, "out of memory");
    } else if (agent_sip(a, err, errlen) == 0 && agent_kms(a, err, errlen) == 0) {
        agent_identity(a);
        return a;
    }
    ue_agent_free(a);
    return NULL;
}

void ue_agent_free(ue_agent_t *a)
{
    if (!a)
        return;
    if (a->tl)
        ue_agent_hangup_all(a);
    kms_client_free(a->kms); /* its callbacks will not run: the calls they referenced are freed below */
    a->kms = NULL;
    for (size_t b = 0; b < UE_CALL_BUCKETS; b++)
        while (a->buckets[b])
            ue_call_end_now(a->buckets[b], "agent stopped");
    sip_txn_layer_free(a->tl); /* drops the transactions' references */
    sbi_client_free(a->sbi);
    ue_call_free_all(a);
    SSL_CTX_free(a->tls);
    sip_timer_event_free(a->te);
    sip_transport_free(a->tp);
    if (a->reg_refresh)
        event_free(a->reg_refresh);
    free(a->scratch);
    free(a->out);
    free(a);
}

int ue_agent_sip_port(const ue_agent_t *a)
{
    return a->sip_port;
}

static void on_primed(const kms_client_result_t *r, void *ud)
{
    ue_agent_t *a = ud;
    a->kms_ops--;
    if (r->status == KMS_CLIENT_OK)
        log_info(UE_LOG, "KMS %s: connected, Digest challenge in hand", a->c->kms_url);
    else
        log_warn(UE_LOG, "KMS %s: %s (calls ask again; they go plain if it stays so)", a->c->kms_url,
                 r->status == KMS_CLIENT_TRANSPORT ? sbi_client_strerror(r->transport)
                                                   : kms_client_status_str(r->status));
    ue_call_notify_idle(a);
}

int ue_agent_prime_kms(ue_agent_t *a)
{
    if (!a->kms)
        return 0;
    if (kms_client_prime(a->kms, on_primed, a) != 0)
        return -1;
    a->kms_ops++;
    return 0;
}

int ue_agent_call(ue_agent_t *a, const char *target)
{
    return ue_caller_start(a, target);
}

void ue_agent_accept(ue_agent_t *a, bool on)
{
    a->accept = on;
}

static void for_each_call(ue_agent_t *a, void (*fn)(ue_call_t *))
{
    for (size_t b = 0; b < UE_CALL_BUCKETS; b++)
        for (ue_call_t *c = a->buckets[b], *next; c; c = next) {
            next = c->next;
            fn(c);
        }
}

static void answer_if_ringing(ue_call_t *c)
{
    if (c->state == UE_CS_RINGING)
        ue_callee_answer(c);
}

void ue_agent_answer_ringing(ue_agent_t *a)
{
    for_each_call(a, answer_if_ringing);
}

static void hangup_one(ue_call_t *c)
{
    if (c->state == UE_CS_CONFIRMED || c->state == UE_CS_ANSWERED)
        ue_call_hangup(c);
    else if (c->state == UE_CS_ENDING || c->state == UE_CS_CANCELLING)
        return; /* already on its way out */
    else if (c->role == UE_ROLE_CALLER)
        ue_caller_abort(c);
    else
        ue_callee_abort(c);
}

void ue_agent_hangup_all(ue_agent_t *a)
{
    for_each_call(a, hangup_one);
}

bool ue_agent_idle(const ue_agent_t *a)
{
    return ue_call_idle(a);
}
