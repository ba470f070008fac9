/*
 * proxy_reply — the answers mihua-as gives itself: a local response through the request's server transaction
 * (RFC 3261 §8.2.6: our To tag on finals), a stateless one when no transaction holds the request (a shed
 * INVITE: §16.7 lets a proxy answer so), and the Digest verdict (RFC 3261 §22; sip_auth.h) with the metric
 * and log line that go with a 401/407.
 *
 * Bottom layer of the proxy files: everything above (proxy_pfwd.c, proxy_invite.c, proxy_route.c, proxy.c) calls
 * it, and it calls no other proxy file.
 */
#include "proxy_int.h"

#include <string.h>

#include "core/log.h"

void proxy_reply_stateless(proxy_t *p, sip_msg_t *req, const sip_addr_t *src, int status, const char *reason,
                           const char *extra)
{
    char out[PROXY_REPLY_MAX];
    sip_addr_t dst;
    sip_reply_opts_t o = {.to_tag = p->to_tag, .extra = extra};
    int n = sip_reply_build(req, status, reason, &o, out, sizeof out);
    if (n < 0 || sip_addr_resp_dest(req, src, &dst) != 0 || sip_transport_send(p->tp, &dst, out, (size_t)n) != 0)
        log_debug(PROXY_LOG, "%.*s %.*s: the stateless %d could not be sent", req->method_str.len, req->method_str.s,
                  req->call_id.len, req->call_id.s, status);
}

int proxy_reply(proxy_t *p, sip_txn_id_t sid, sip_msg_t *req, int status, const char *reason, const char *extra)
{
    char out[PROXY_REPLY_MAX];
    sip_reply_opts_t o = {.to_tag = status >= 200 ? p->to_tag : NULL, .extra = extra};
    int n = sip_reply_build(req, status, reason, &o, out, sizeof out);
    if (n < 0)
        return -1;
    return sip_txn_respond(p->tl, sid, out, (size_t)n);
}

sip_auth_verdict_t proxy_authenticate(proxy_t *p, sip_msg_t *req, const sip_addr_t *src, const char *aor,
                                      sip_auth_role_t role, sip_auth_answer_t *ans)
{
    char ip[SIP_ADDR_TEXT_MAX] = "?";
    int port = 0;
    sip_auth_verdict_t v = sip_auth_check(p->auth, req, aor, role, digest_now(), ans);
    if (p->m.auth[v])
        metric_inc(p->m.auth[v]);
    if (v == SIP_AUTH_OK)
        return v;
    sip_addr_ntop(src, ip, sizeof ip, &port);
    /* A first challenge is the normal start of every registration; anything else is worth a line. */
    if (v == SIP_AUTH_CHALLENGE && (strcmp(ans->why, "no_credentials") == 0 || strcmp(ans->why, "stale_nonce") == 0))
        log_debug(PROXY_LOG, "%.*s %s from %s:%d: %d (%s)", req->method_str.len, req->method_str.s, aor, ip, port,
                  ans->status, ans->why);
    else
        log_info(PROXY_LOG, "%.*s %s from %s:%d refused: %d (%s)", req->method_str.len, req->method_str.s, aor, ip,
                 port, ans->status, ans->why);
    return v;
}
