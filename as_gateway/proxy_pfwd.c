/*
 * proxy_pfwd — the forwarding context of one proxied request (pfwd_t, proxy_int.h): created with the server
 * transaction, holding the request until its final response goes upstream, forwarding it (RFC 3261 §16.6), its
 * CANCEL downstream (§9.1, §16.10), local answers and the final's bookkeeping (call table, pending count), and
 * freed when the second of its transactions ends.
 *
 * Layer: under proxy_invite.c, proxy_route.c and proxy.c, which call it; over proxy_reply.c, proxy_fwd.c (the
 * edits) and proxy_timer_c.c, which it calls. Timer C's expiry comes back up through the callback proxy.c
 * registered (proxy_t.timer_c_fired).
 */
#include "proxy_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static void pfwd_setup_free(pfwd_t *pf)
{
    if (!pf->s)
        return;
    free(pf->s->req);
    free(pf->s->fwd);
    free(pf->s);
    pf->s = NULL;
}

pfwd_t *pfwd_new(proxy_t *p, sip_txn_id_t sid, sip_msg_t *req, const sip_addr_t *src)
{
    pfwd_t *pf = calloc(1, sizeof *pf);
    if (!pf || !(pf->s = calloc(1, sizeof *pf->s)) || !(pf->s->req = malloc((size_t)req->len))) {
        if (pf)
            free(pf->s);
        free(pf);
        return NULL;
    }
    memcpy(pf->s->req, req->buf, (size_t)req->len);
    pf->s->req_len = (size_t)req->len;
    pf->p = p;
    pf->sid = sid;
    pf->method = req->method;
    pf->s->in_proto = src->proto;
    sip_str_copy(req->call_id, pf->s->call_id, sizeof pf->s->call_id);
    if (sip_txn_set_tu_data(p->tl, sid, pf) != 0) {
        pfwd_setup_free(pf);
        free(pf);
        return NULL;
    }
    pf->refs = 1;
    if (pf->method == SIP_METHOD_INVITE)
        p->pending_invites++;
    return pf;
}

void pfwd_free(proxy_t *p, pfwd_t *pf)
{
    pfwd_check_abort(p, pf);
    proxy_timer_c_free(pf);
    if (pf->method == SIP_METHOD_INVITE && !pf->final_sent)
        p->pending_invites--;
    pfwd_setup_free(pf);
    free(pf);
}

sip_msg_t *pfwd_request(proxy_t *p, pfwd_t *pf)
{
    sip_msg_t *m = p->scratch;
    if (sip_msg_parse(m, pf->s->req, pf->s->req_len, pf->s->in_proto == SIP_PROTO_TCP ? SIP_TP_STREAM : SIP_TP_DGRAM) !=
            SIP_OK ||
        sip_msg_check(m) != SIP_OK)
        return NULL;
    return m;
}

void pfwd_final(proxy_t *p, pfwd_t *pf, int status)
{
    if (pf->final_sent || !pf->s)
        return;
    const char *call_id = pf->s->call_id;
    if (pf->method == SIP_METHOD_INVITE) {
        if (status >= 200 && status < 300 && call_table_set_state(p->calls, call_id, CALL_CONFIRMED) == 0)
            (void)call_table_touch(p->calls, call_id, proxy_now_ms());
        else if (status >= 300)
            call_table_remove(p->calls, call_id);
        p->pending_invites--;
    } else if (pf->method == SIP_METHOD_BYE) {
        call_table_remove(p->calls, call_id); /* §15.1.2: the session ends whatever the answer */
    }
    pf->final_sent = true;
    proxy_timer_c_answered(pf);
    pfwd_setup_free(pf);
}

void pfwd_reply(proxy_t *p, pfwd_t *pf, int status, const char *reason)
{
    sip_msg_t *req = pf->final_sent || !pf->s || pf->sid == SIP_TXN_ID_NONE ? NULL : pfwd_request(p, pf);
    if (req && proxy_reply(p, pf->sid, req, status, reason, NULL) != 0)
        log_warn(PROXY_LOG, "call %s: could not answer %d", pf->s->call_id, status);
    if (status >= 200)
        pfwd_final(p, pf, status);
}

int pfwd_send(proxy_t *p, pfwd_t *pf, bool record_route, bool strip_voenc)
{
    char branch[SIP_TXN_MAX_BRANCH];
    sip_msg_t *req = pfwd_request(p, pf);
    if (!req || sip_txn_branch_new(p->tl, branch, sizeof branch) < 0)
        return -1;
    proxy_fwd_opts_t o = {.self = &p->self,
                          .branch = branch,
                          .out_proto = pf->s->dst.proto,
                          .in_proto = pf->s->in_proto,
                          .record_route = record_route,
                          .new_ruri = pf->s->target[0] ? pf->s->target : NULL,
                          .strip_voenc = strip_voenc,
                          .auth_realm = p->auth ? sip_auth_realm(p->auth) : NULL};
    int n = proxy_fwd_request(req, p->lumps, &o, p->out, PROXY_OUT_MAX);
    if (n < 0)
        return -1;
    if (pf->method == SIP_METHOD_INVITE) {
        free(pf->s->fwd);
        if (!(pf->s->fwd = malloc((size_t)n)))
            return -1;
        memcpy(pf->s->fwd, p->out, (size_t)n);
        pf->s->fwd_len = (size_t)n;
    }
    pf->s->dst.sock = SIP_UDP_SOCK_DIALOG; /* the socket our Via names (the main one when there is none) */
    if (sip_txn_client_start(p->tl, p->out, (size_t)n, &pf->s->dst, pf, &pf->cid) != 0)
        return -1;
    pf->refs++;
    proxy_timer_c_start(p, pf);
    return 0;
}

void pfwd_check_abort(proxy_t *p, pfwd_t *pf)
{
    if (!pf->check)
        return;
    as_checks_cancel(p->checks, pf->check_handle);
    free(pf->check);
    pf->check = NULL;
    p->checks_in_flight--;
}

void pfwd_send_cancel(proxy_t *p, pfwd_t *pf)
{
    sip_txn_id_t id;
    pf->cancel_pending = false;
    if (!pf->s || !pf->s->fwd || pf->cid == SIP_TXN_ID_NONE)
        return; /* answered already: nothing left to cancel */
    sip_msg_t *inv = p->scratch;
    int n = sip_msg_parse(inv, pf->s->fwd, pf->s->fwd_len, SIP_TP_DGRAM) == SIP_OK && sip_msg_check(inv) == SIP_OK
                ? sip_build_cancel(inv, p->out, PROXY_OUT_MAX)
                : -1;
    if (n < 0 || sip_txn_client_start(p->tl, p->out, (size_t)n, &pf->s->dst, NULL, &id) != 0)
        log_warn(PROXY_LOG, "call %s: could not send the CANCEL downstream", pf->s->call_id);
}
