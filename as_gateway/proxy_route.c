/*
 * proxy_route — everything the proxy forwards that is not an out-of-dialog INVITE: requests inside a dialog
 * (PRACK, UPDATE, BYE, re-INVITE: RFC 3261 §16.4 loose routing, §16.6), the ACK of a 2xx (forwarded statelessly,
 * §16.11, since it has no transaction), and responses (§16.7; RFC 6026 for 2xx).
 *
 * Next hop: the first Route after our own, else the Request-URI inside a dialog; an out-of-dialog request other
 * than INVITE (OPTIONS, MESSAGE) goes to the Request-URI AOR's newest binding like an INVITE, without the checks.
 * Responses: 100 Trying stays here (§16.7 step 5); every other provisional, reliable 183 retransmissions included,
 * goes up through the server transaction; a 2xx goes up through it while it lives and statelessly by the Via
 * afterwards (RFC 6026 §8.2: 2xx retransmissions outlive the transaction); a response matching no transaction is
 * forwarded statelessly only when it is a 2xx whose top Via is ours.
 */
#include "proxy_int.h"
#include "sip/sip_voenc.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

/* Fills pf->s->dst (and pf->s->target for a location-service hit). Returns 0, or the status to answer. */
static int route_target(proxy_t *p, pfwd_t *pf, sip_msg_t *req)
{
    char key[REG_AOR_MAX];
    int r = proxy_next_route(req, &p->self);
    if (r >= 0)
        return proxy_uri_dest(&req->route[r].uri, &pf->s->dst) == 0 ? 0 : 502;
    if (req->to.tag.s)
        return proxy_uri_dest(&req->ruri, &pf->s->dst) == 0 ? 0 : 502;
    const reg_binding_t *b =
        registrar_aor_key(&req->ruri, key, sizeof key) == 0 ? registrar_lookup(p->reg, key, proxy_now_ms()) : NULL;
    if (!b)
        return 404;
    snprintf(pf->s->target, sizeof pf->s->target, "%s", b->uri);
    pf->s->dst = b->src;
    return 0;
}

void proxy_forward(proxy_t *p, sip_txn_id_t sid, sip_msg_t *req, const sip_addr_t *src)
{
    pfwd_t *pf = pfwd_new(p, sid, req, src);
    if (!pf) {
        proxy_reply(p, sid, req, 500, "Server Internal Error", NULL);
        return;
    }
    if (req->to.tag.s) /* in-dialog: the call is alive (a session-timer refresh is one such request) */
        (void)call_table_touch(p->calls, pf->s->call_id, proxy_now_ms());
    int status = route_target(p, pf, req);
    if (status == 404) {
        pfwd_reply(p, pf, 404, "Not Found");
    } else if (status != 0) {
        log_info(PROXY_LOG, "%.*s %s: no usable next hop", req->method_str.len, req->method_str.s, pf->s->call_id);
        pfwd_reply(p, pf, 502, "Bad Gateway (next hop is not an IP address)");
    } else if (pfwd_send(p, pf, false, false) != 0) {
        pfwd_reply(p, pf, 500, "Server Internal Error");
    }
}

void proxy_ack(proxy_t *p, sip_msg_t *ack)
{
    char branch[SIP_TXN_MAX_BRANCH];
    sip_addr_t dst;
    if (ack->max_forwards == 0 || sip_txn_branch_new(p->tl, branch, sizeof branch) < 0)
        return;
    if (ack->to.tag.len == (int)strlen(p->to_tag) && memcmp(ack->to.tag.s, p->to_tag, (size_t)ack->to.tag.len) == 0)
        return; /* the ACK of a final we sent statelessly (a shed INVITE): it ends here */
    char call_id[CALL_ID_MAX];
    sip_str_copy(ack->call_id, call_id, sizeof call_id);
    (void)call_table_touch(p->calls, call_id, proxy_now_ms());
    int r = proxy_next_route(ack, &p->self);
    const sip_uri_t *next = r >= 0 ? &ack->route[r].uri : &ack->ruri;
    if (proxy_uri_dest(next, &dst) != 0 || (r < 0 && proxy_uri_is_self(&p->self, next)))
        return; /* an ACK for us (or unroutable): it ends here */
    proxy_fwd_opts_t o = {.self = &p->self, .branch = branch, .out_proto = dst.proto};
    int n = proxy_fwd_request(ack, p->lumps, &o, p->out, PROXY_OUT_MAX);
    dst.sock = SIP_UDP_SOCK_DIALOG;
    if (n < 0 || sip_transport_send(p->tp, &dst, p->out, (size_t)n) != 0)
        log_debug(PROXY_LOG, "ACK %.*s could not be forwarded", ack->call_id.len, ack->call_id.s);
}

/* RFC 6026 §8.2 / §16.7: a 2xx whose server transaction is gone goes back by the next Via. */
static void route_response_stateless(proxy_t *p, sip_msg_t *resp, int n)
{
    sip_addr_t dst;
    if (resp->nvia < 2 || proxy_via_dest(&resp->via[1], &dst) != 0 ||
        sip_transport_send(p->tp, &dst, p->out, (size_t)n) != 0)
        log_debug(PROXY_LOG, "response %d could not be forwarded statelessly", resp->status);
}

void proxy_response(proxy_t *p, pfwd_t *pf, sip_msg_t *resp)
{
    int st = resp->status;
    proxy_timer_c_response(p, pf, st);
    if (st < 200) {
        pf->got_provisional = true;
        if (pf->cancel_pending)
            pfwd_send_cancel(p, pf);
    }
    if (st == 100)
        return;
    char warn[PROXY_HOST_MAX + SIP_VOENC_REASON_MAX + 64], agent[PROXY_HOST_MAX + 8];
    const char *extra = NULL;
    snprintf(agent, sizeof agent, "%s:%d", p->self.host, p->self.port);
    if (pf->strip_reason && sip_voenc_warning_line(agent, pf->strip_reason, warn, sizeof warn) > 0)
        extra = warn;
    int n = proxy_fwd_response(resp, p->lumps, extra, p->out, PROXY_OUT_MAX);
    if (n < 0) {
        log_info(PROXY_LOG, "call %.*s: response %d dropped (cannot remove our Via)", resp->call_id.len,
                 resp->call_id.s, st);
        return;
    }
    bool is_2xx = st >= 200 && st < 300;
    if (pf->sid != SIP_TXN_ID_NONE && (is_2xx || !pf->final_sent) &&
        sip_txn_respond(p->tl, pf->sid, p->out, (size_t)n) == 0) {
        /* sent through the server transaction */
    } else if (is_2xx) {
        route_response_stateless(p, resp, n);
    } else {
        return; /* a late provisional or a second final: absorbed (§16.7 step 5) */
    }
    if (st >= 200)
        pfwd_final(p, pf, st);
}

void proxy_stray_response(proxy_t *p, sip_msg_t *resp)
{
    if (resp->status < 200 || resp->status >= 300 || resp->nvia < 2)
        return;
    sip_uri_t self_via = {.scheme = SIP_URI_SIP, .host = resp->via[0].host, .port = resp->via[0].port};
    if (!proxy_uri_is_self(&p->self, &self_via))
        return;
    int n = proxy_fwd_response(resp, p->lumps, NULL, p->out, PROXY_OUT_MAX);
    if (n >= 0)
        route_response_stateless(p, resp, n);
}
