/*
 * proxy_invite — the out-of-dialog INVITE (RFC 3261 §16.2-16.6) with the AS's own rules (DESIGN §2, §3, §4) and
 * its CANCEL (§16.10, §9.2).
 *
 * Order: 100 Trying at once (§16.2: the checks may take up to lookup_timeout_ms); the caller is trusted only when
 * its From AOR is registered (authenticated) from the request's source address, or when the INVITE carries
 * Proxy-Authorization good for that AOR (else 407 with a challenge; 403 when authentication is off); the callee is the newest binding of
 * the Request-URI's AOR (else 404). An INVITE whose Contact carries +u.mihua.voenc waits for as_checks; the
 * decision keeps or strips the tag, and the call is forwarded either way: the checks never fail a call. An INVITE
 * without the tag is forwarded at once. The checks run even when the callee registered without the tag: its 183
 * then simply lacks it (DESIGN §1), and the call record still says what the network allowed.
 *
 * The call record (DESIGN §4) is written when the INVITE is forwarded, so encryptionAllowed is the decision.
 *
 * CANCEL: answered 200 by us; a held INVITE (checks pending) is answered 487 at once; a forwarded one is
 * CANCELled downstream as soon as a provisional response has arrived (§9.1), and its 487 comes back the normal
 * way.
 */
#include "proxy_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "sip/sip_voenc.h"

/* The metric label of an as_decide_encryption() reason (as_decide.h AS_REASON_*). */
static proxy_strip_reason_t invite_reason_index(const char *reason)
{
    static const struct {
        const char *text;
        proxy_strip_reason_t idx;
    } map[] = {
        {AS_REASON_CALLER_NOT_SUBSCRIBED, PROXY_STRIP_CALLER_UNSUB},
        {AS_REASON_CALLEE_NOT_SUBSCRIBED, PROXY_STRIP_CALLEE_UNSUB},
        {AS_REASON_CALLEE_NOT_ATTACHED, PROXY_STRIP_NOT_ATTACHED},
        {AS_REASON_TIMEOUT, PROXY_STRIP_TIMEOUT},
        {AS_REASON_ERROR, PROXY_STRIP_ERROR},
        {AS_REASON_USER_UNKNOWN, PROXY_STRIP_UNKNOWN},
    };
    for (size_t i = 0; reason && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(reason, map[i].text) == 0)
            return map[i].idx;
    return PROXY_STRIP_OTHER;
}

/* Counts one INVITE under its outcome (metrics are optional, so the metric may be NULL). */
static void invite_count(metric_t *m)
{
    if (m)
        metric_inc(m);
}

/* Forwards the held INVITE with the tag kept (allowed) or stripped (for `reason`), and records the call. */
static void invite_forward(proxy_t *p, pfwd_t *pf, bool tagged, bool allowed, const char *reason)
{
    if (tagged && !allowed)
        pf->strip_reason = reason;
    if (pfwd_send(p, pf, true, tagged && !allowed) != 0) {
        log_warn(PROXY_LOG, "call %s: could not forward the INVITE", pf->s->call_id);
        pfwd_reply(p, pf, 500, "Server Internal Error");
        return;
    }
    if (call_table_put(p->calls, pf->s->call_id, pf->s->caller, pf->s->callee, tagged && allowed, proxy_now_ms()) != 0)
        log_warn(PROXY_LOG, "call %s: not recorded (call table full or identity too long)", pf->s->call_id);
}

static void on_checks(const as_decision_t *d, const as_lookup_results_t *r, void *ud)
{
    pcheck_t *ticket = ud;
    proxy_t *p = ticket->p;
    pfwd_t *pf = sip_txn_get_tu_data(p->tl, ticket->sid);
    if (!pf || pf->check != ticket) { /* cannot happen: freeing a pfwd cancels its check; kept as a guard */
        free(ticket);
        return;
    }
    pf->check = NULL;
    free(ticket);
    p->checks_in_flight--;
    log_info(PROXY_LOG, "call %s caller=%s callee=%s encryption=%s reason=\"%s\" hss_us=%u udm_us=%u callee_rat=%s/%s",
             pf->s->call_id, pf->s->caller, pf->s->callee, d->allowed ? "allowed" : "stripped", d->reason,
             r ? r->latency_us[AS_SRC_HSS] : 0, r ? r->latency_us[AS_SRC_UDM] : 0,
             r && r->callee_rat[AS_SRC_HSS][0] ? r->callee_rat[AS_SRC_HSS] : "-",
             r && r->callee_rat[AS_SRC_UDM][0] ? r->callee_rat[AS_SRC_UDM] : "-");
    invite_count(d->allowed ? p->m.eligible : p->m.stripped[invite_reason_index(d->reason)]);
    invite_forward(p, pf, true, d->allowed, d->reason);
    if (r && r->hss_error.code != 0 && pf->s) /* pf->s is gone when the INVITE could not be forwarded */
        (void)call_table_set_hss_error(p->calls, pf->s->call_id, r->hss_error.code, r->hss_error.experimental,
                                       r->hss_error.origin_host);
}

/* Starts the checks, or forwards stripped when they cannot run. Lookups that queue beyond their budget (more in
 * flight than max_checks: the HSS or UDM answers slower than calls arrive) make new tagged INVITEs go on plain
 * at once: a plain call now is worth more than an encrypted one after the caller gave up, and a longer queue
 * would only make every later lookup miss its budget too. */
static void invite_check(proxy_t *p, pfwd_t *pf)
{
    const char *why = PROXY_REASON_DISABLED;
    proxy_strip_reason_t label = PROXY_STRIP_DISABLED;
    bool queue_full = p->checks && p->checks_in_flight >= p->max_checks;
    pcheck_t *ticket = p->checks && !queue_full ? malloc(sizeof *ticket) : NULL;
    if (ticket) {
        *ticket = (pcheck_t){p, pf->sid};
        pf->check = ticket;
        pf->check_handle = as_checks_start(p->checks, pf->s->caller, pf->s->callee, on_checks, ticket);
        if (pf->check_handle != 0) {
            p->checks_in_flight++;
            return;
        }
        pf->check = NULL;
        free(ticket);
        why = PROXY_REASON_UNAVAILABLE;
        label = PROXY_STRIP_UNAVAILABLE;
    } else if (queue_full) {
        why = PROXY_REASON_OVERLOAD;
        label = PROXY_STRIP_OVERLOAD;
    } else if (p->checks) {
        why = PROXY_REASON_UNAVAILABLE;
        label = PROXY_STRIP_UNAVAILABLE;
    }
    log_info(PROXY_LOG, "call %s caller=%s callee=%s encryption=stripped reason=\"%s\"", pf->s->call_id, pf->s->caller,
             pf->s->callee, why);
    invite_count(p->m.stripped[label]);
    invite_forward(p, pf, true, false, why);
}

static int invite_reject(proxy_t *p, sip_txn_id_t sid, sip_msg_t *req, int status, const char *reason)
{
    log_info(PROXY_LOG, "INVITE %.*s: %d %s", req->call_id.len, req->call_id.s, status, reason);
    if (p->m.rejected)
        metric_inc(p->m.rejected);
    return proxy_reply(p, sid, req, status, reason, NULL);
}

/* DESIGN §2: the caller is the From AOR only when the INVITE comes from where that AOR registered (with Digest,
 * when authentication is on), or when it carries Proxy-Authorization good for that AOR (RFC 3261 §22.3);
 * otherwise 407 with a challenge, or 403 without authentication. 0 = trusted; else answered. */
static int invite_caller_trusted(proxy_t *p, sip_txn_id_t sid, sip_msg_t *req, const sip_addr_t *src,
                                 const char *caller_key, uint64_t now)
{
    sip_auth_answer_t ans;
    if (registrar_has_source(p->reg, caller_key, src, now))
        return 0;
    if (!p->auth)
        return invite_reject(p, sid, req, 403, "Forbidden (caller not registered from this address)"), -1;
    if (proxy_authenticate(p, req, src, caller_key, SIP_AUTH_PROXY, &ans) == SIP_AUTH_OK)
        return 0;
    log_info(PROXY_LOG, "INVITE %.*s: %d %s", req->call_id.len, req->call_id.s, ans.status, ans.reason);
    if (p->m.rejected)
        metric_inc(p->m.rejected);
    proxy_reply(p, sid, req, ans.status, ans.reason, ans.extra[0] ? ans.extra : NULL);
    return -1;
}

void proxy_invite(proxy_t *p, sip_txn_id_t sid, sip_msg_t *req, const sip_addr_t *src)
{
    char caller_key[REG_AOR_MAX], callee_key[REG_AOR_MAX];
    uint64_t now = proxy_now_ms();
    if (p->draining) {
        invite_reject(p, sid, req, 503, "Service Unavailable (shutting down)");
        return;
    }
    proxy_reply(p, sid, req, 100, "Trying", NULL);
    if (registrar_aor_key(&req->from.uri, caller_key, sizeof caller_key) != 0) {
        invite_reject(p, sid, req, 403, "Forbidden (From names no address-of-record)");
        return;
    }
    if (invite_caller_trusted(p, sid, req, src, caller_key, now) != 0)
        return;
    const reg_binding_t *b = registrar_aor_key(&req->ruri, callee_key, sizeof callee_key) == 0
                                 ? registrar_lookup(p->reg, callee_key, now)
                                 : NULL;
    if (!b) {
        invite_reject(p, sid, req, 404, "Not Found");
        return;
    }
    pfwd_t *pf = pfwd_new(p, sid, req, src);
    if (!pf) {
        proxy_reply(p, sid, req, 500, "Server Internal Error", NULL);
        return;
    }
    snprintf(pf->s->target, sizeof pf->s->target, "%s", b->uri);
    pf->s->dst = b->src; /* where the callee registered from: also right behind a NAT */
    if (proxy_uri_identity(req->from.uri_raw, &req->from.uri, pf->s->caller, sizeof pf->s->caller) != 0 ||
        proxy_uri_identity(req->ruri_raw, &req->ruri, pf->s->callee, sizeof pf->s->callee) != 0) {
        pfwd_reply(p, pf, 400, "Bad Request (identity too long)");
        return;
    }
    if (!sip_voenc_tagged(req)) {
        invite_count(p->m.plain);
        invite_forward(p, pf, false, false, NULL);
        return;
    }
    invite_check(p, pf);
}

/* ---------------------------------------------------------------- CANCEL */

void proxy_cancel(proxy_t *p, sip_txn_id_t sid, sip_msg_t *req)
{
    sip_txn_id_t inv = sip_txn_find_invite(p->tl, req);
    pfwd_t *pf = inv != SIP_TXN_ID_NONE ? sip_txn_get_tu_data(p->tl, inv) : NULL;
    if (inv == SIP_TXN_ID_NONE) {
        proxy_reply(p, sid, req, 481, "Call/Transaction Does Not Exist", NULL);
        return;
    }
    proxy_reply(p, sid, req, 200, "OK", NULL);
    if (!pf || pf->final_sent)
        return;
    call_table_remove(p->calls, pf->s->call_id);
    if (pf->check) { /* still held: nothing went downstream */
        pfwd_check_abort(p, pf);
        pfwd_reply(p, pf, 487, "Request Terminated");
    } else if (pf->got_provisional) {
        pfwd_send_cancel(p, pf);
    } else {
        pf->cancel_pending = true; /* §9.1: wait for a provisional response */
    }
}
