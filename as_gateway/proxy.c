/*
 * proxy — mihua-as's transaction user (RFC 3261 §16 proxy, §10.3 registrar front end) on lib/sip's transaction
 * layer and transports: the proxy object, REGISTER, and the dispatch of what the transaction layer and Timer C
 * hand up.
 *
 * Concerns are split like Kamailio's tm, in layers that only call downward (scripts/calls-graph checks it):
 *   proxy.c                          this file: object, callbacks, REGISTER, metrics, sweep
 *   proxy_invite.c  proxy_route.c    the out-of-dialog INVITE (caller trust, callee lookup, encryption checks,
 *                                    CANCEL); everything else forwarded, and the responses
 *   proxy_pfwd.c                     the per-request forwarding context (proxy_int.h)
 *   proxy_reply.c  proxy_fwd.c  proxy_timer_c.c   local answers; the pure message edits; Timer C
 * Upward calls go through callbacks registered here: the transaction layer's (sip_txn_tu_t) and Timer C's.
 *
 * Trade-offs: no forking (the newest binding of the callee gets the call); requests addressed to the AS itself
 * that are not REGISTER are proxied like any other (and usually end in 404).
 */
#include "proxy_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core/log.h"

/* ---------------------------------------------------------------- REGISTER */

/* §10.3 steps 3-8: the credentials for the To AOR (when authentication is on), then the registrar. */
static void proxy_register(proxy_t *p, sip_txn_id_t sid, sip_msg_t *req, const sip_addr_t *src)
{
    char key[REG_AOR_MAX];
    sip_auth_answer_t ans;
    if (p->m.registers)
        metric_inc(p->m.registers);
    if (p->auth) {
        if (sip_parse_headers(req, SIP_HF_ALL) != SIP_OK || req->to.hdr < 0 ||
            registrar_aor_key(&req->to.uri, key, sizeof key) != 0) {
            proxy_reply(p, sid, req, 400, "Bad Request (To names no address-of-record)", NULL);
            return;
        }
        if (proxy_authenticate(p, req, src, key, SIP_AUTH_UAS, &ans) != SIP_AUTH_OK) {
            proxy_reply(p, sid, req, ans.status, ans.reason, ans.extra[0] ? ans.extra : NULL);
            return;
        }
    }
    reg_result_t *res = malloc(sizeof *res);
    if (!res) {
        proxy_reply(p, sid, req, 500, "Server Internal Error", NULL);
        return;
    }
    registrar_process(p->reg, req, src, proxy_now_ms(), res);
    if (res->source_capped && p->m.source_capped)
        metric_inc(p->m.source_capped);
    char aor[REG_AOR_MAX]; /* a live registration: keep the user's facts fresh (facts cache, as_push) */
    if (res->status == 200 && registrar_aor_key(&req->to.uri, aor, sizeof aor) == 0 &&
        registrar_lookup(p->reg, aor, proxy_now_ms()) != NULL)
        as_checks_registered(p->checks, aor);
    if (proxy_reply(p, sid, req, res->status, res->reason, res->extra[0] ? res->extra : NULL) != 0)
        log_warn(PROXY_LOG, "REGISTER: could not send the %d", res->status);
    log_debug(PROXY_LOG, "REGISTER %.*s: %d", req->to.uri_raw.len, req->to.uri_raw.s, res->status);
    free(res);
}

/* An AOR without bindings: its facts subscriptions end (registrar_set_on_gone). */
static void proxy_on_aor_gone(void *ud, const char *aor)
{
    as_checks_deregistered(ud, aor);
}

/* ---------------------------------------------------------------- transaction user callbacks */

/* Admission control before any state exists: only a new call (an out-of-dialog INVITE) can be shed; everything
 * that belongs to an admitted call (in-dialog requests, CANCEL, ACK) and REGISTER is always let through. */
static bool on_admit(void *ctx, sip_msg_t *req, const sip_addr_t *src)
{
    proxy_t *p = ctx;
    char extra[64];
    if (!p->ovl || req->method != SIP_METHOD_INVITE || req->to.tag.s)
        return true;
    size_t live = sip_txn_count(p->tl);
    if (live > p->trim_peak) /* the sweep samples only every few seconds; a burst may fall between two */
        p->trim_peak = live;
    uint64_t now = proxy_now_ms(), age = src->rx_ms && src->rx_ms < now ? now - src->rx_ms : 0;
    overload_reason_t r = overload_admit(p->ovl, live, call_table_count(p->calls), age);
    if (r == OVERLOAD_NONE)
        return true;
    snprintf(extra, sizeof extra, "Retry-After: %u\r\n", overload_retry_after_s(p->ovl));
    proxy_reply_stateless(p, req, src, 503, "Service Unavailable", extra);
    return false;
}

static void on_request(void *ctx, sip_txn_id_t id, sip_msg_t *req, const sip_addr_t *src)
{
    proxy_t *p = ctx;
    if (req->method == SIP_METHOD_ACK) { /* of a 2xx: end to end, forwarded statelessly (§16.11) */
        proxy_ack(p, req);
        return;
    }
    if (id == SIP_TXN_ID_NONE)
        return;
    switch (req->method) {
    case SIP_METHOD_REGISTER:
        proxy_register(p, id, req, src);
        return;
    case SIP_METHOD_CANCEL:
        proxy_cancel(p, id, req);
        return;
    default:
        break;
    }
    if (req->max_forwards == 0) { /* §16.3 step 3 */
        proxy_reply(p, id, req, 483, "Too Many Hops", NULL);
        return;
    }
    if (req->method == SIP_METHOD_INVITE && !req->to.tag.s)
        proxy_invite(p, id, req, src);
    else
        proxy_forward(p, id, req, src);
}

static void on_response(void *ctx, sip_txn_id_t id, void *tu_data, sip_msg_t *resp)
{
    (void)id;
    if (tu_data) /* NULL: a CANCEL we sent; its 200 ends there (§16.10) */
        proxy_response(ctx, tu_data, resp);
}

static void on_timeout(void *ctx, sip_txn_id_t id, void *tu_data, sip_msg_t *resp)
{
    pfwd_t *pf = tu_data;
    if (!pf || !resp || id != pf->cid || pf->final_sent)
        return; /* our CANCEL, Timer H of a server INVITE, or answered already: nothing to tell anyone */
    log_info(PROXY_LOG, "call %s: no answer from the next hop (408)", pf->s->call_id);
    pfwd_reply(ctx, pf, 408, "Request Timeout");
}

static void on_transport_error(void *ctx, sip_txn_id_t id, void *tu_data)
{
    pfwd_t *pf = tu_data;
    if (!pf || id != pf->cid || pf->final_sent)
        return;
    log_info(PROXY_LOG, "call %s: next hop unreachable (503)", pf->s->call_id);
    pfwd_reply(ctx, pf, 503, "Service Unavailable");
}

static void on_terminated(void *ctx, sip_txn_id_t id, void *tu_data)
{
    pfwd_t *pf = tu_data;
    if (!pf)
        return;
    if (id == pf->sid)
        pf->sid = SIP_TXN_ID_NONE;
    else if (id == pf->cid)
        pf->cid = SIP_TXN_ID_NONE;
    if (--pf->refs == 0)
        pfwd_free(ctx, pf);
}

/* Timer C fired (proxy_timer_c.c has the diagram): CANCEL downstream when a provisional came, 408 upstream. */
static void on_timer_c_fired(proxy_t *p, pfwd_t *pf, bool cancel)
{
    if (cancel)
        pfwd_send_cancel(p, pf);
    pfwd_reply(p, pf, 408, "Request Timeout");
}

static void on_stray_response(void *ctx, sip_msg_t *resp, const sip_addr_t *src)
{
    (void)src;
    proxy_stray_response(ctx, resp);
}

static void on_rx(void *ctx, sip_msg_t *msg, const sip_addr_t *src)
{
    sip_txn_recv(((proxy_t *)ctx)->tl, msg, src);
}

/* ---------------------------------------------------------------- metrics */

static void proxy_metrics_init(proxy_t *p, metrics_t *m)
{
    static const char *const labels[PROXY_STRIP_COUNT] = {"outcome=\"stripped\",reason=\"caller_not_subscribed\"",
                                                          "outcome=\"stripped\",reason=\"callee_not_subscribed\"",
                                                          "outcome=\"stripped\",reason=\"callee_not_attached\"",
                                                          "outcome=\"stripped\",reason=\"lookup_timeout\"",
                                                          "outcome=\"stripped\",reason=\"lookup_error\"",
                                                          "outcome=\"stripped\",reason=\"user_unknown\"",
                                                          "outcome=\"stripped\",reason=\"checks_disabled\"",
                                                          "outcome=\"stripped\",reason=\"checks_unavailable\"",
                                                          "outcome=\"stripped\",reason=\"lookup_overload\"",
                                                          "outcome=\"stripped\",reason=\"other\""};
    static const char calls_help[] = "INVITEs forwarded, by encryption outcome";
    if (!m)
        return;
    p->m.eligible = metrics_counter(m, "mihua_as_calls_total", "outcome=\"encrypted_eligible\"", calls_help);
    p->m.plain = metrics_counter(m, "mihua_as_calls_total", "outcome=\"plain_no_tag\"", calls_help);
    for (int i = 0; i < PROXY_STRIP_COUNT; i++)
        p->m.stripped[i] = metrics_counter(m, "mihua_as_calls_total", labels[i], calls_help);
    p->m.rejected = metrics_counter(m, "mihua_as_invites_rejected_total", NULL,
                                    "out-of-dialog INVITEs answered locally (403, 404, 483, 503)");
    p->m.registers = metrics_counter(m, "mihua_as_register_requests_total", NULL, "REGISTER requests answered");
    static const char *const auth_labels[SIP_AUTH_ERROR + 1] = {
        "verdict=\"ok\"", "verdict=\"challenge\"", "verdict=\"refused\"", "verdict=\"bad\"", "verdict=\"error\""};
    for (int i = 0; p->auth && i <= SIP_AUTH_ERROR; i++)
        p->m.auth[i] = metrics_counter(m, "mihua_as_sip_auth_total", auth_labels[i],
                                       "SIP Digest checks (REGISTER 401, INVITE 407) by verdict");
    p->m.source_capped = metrics_counter(m, "mihua_as_register_source_capped_total", NULL,
                                         "REGISTERs refused (403): their source address held max_aors_per_source");
    p->m.txns = metrics_gauge(m, "mihua_as_transactions", NULL, "live SIP transactions");
    p->m.calls = metrics_gauge(m, "mihua_as_calls", NULL, "calls in the call table");
    p->m.bindings = metrics_gauge(m, "mihua_as_registrations", NULL, "live registrar bindings");
    p->m.pending = metrics_gauge(m, "mihua_as_invites_pending", NULL, "INVITEs awaiting their final response");
    p->m.checks = metrics_gauge(m, "mihua_as_checks_pending", NULL,
                                "encryption checks in flight (max_pending_checks: beyond it tagged INVITEs go plain)");
    p->m.hss_open = metrics_gauge(m, "mihua_as_hss_peer_open", NULL,
                                  "1 while some Sh peer (an HSS, or a relay) is connected; calls meanwhile get "
                                  "Sh answers");
    p->m.dropped = metrics_counter(m, "mihua_as_requests_dropped_total", NULL,
                                   "requests dropped unanswered because the transaction table was full");
    p->m.timer_c = metrics_counter(m, "mihua_as_timer_c_total", NULL,
                                   "forwarded INVITEs ended by Timer C: CANCEL downstream, 408 upstream");
    p->m.expired = metrics_counter(m, "mihua_as_call_records_expired_total", NULL,
                                   "call records closed after call_idle_s without in-dialog traffic");
}

void proxy_refresh_metrics(void *proxy)
{
    proxy_t *p = proxy;
    if (!p->m.txns)
        return;
    metric_set(p->m.txns, (int64_t)sip_txn_count(p->tl));
    metric_set(p->m.calls, (int64_t)call_table_count(p->calls));
    metric_set(p->m.bindings, (int64_t)registrar_binding_count(p->reg));
    metric_set(p->m.pending, (int64_t)p->pending_invites);
    metric_set(p->m.checks, (int64_t)p->checks_in_flight);
    metric_set(p->m.hss_open, as_checks_hss_open(p->checks) ? 1 : 0);
    uint64_t dropped = sip_txn_dropped(p->tl);
    metric_add(p->m.dropped, dropped - p->dropped_counted);
    p->dropped_counted = dropped;
    as_checks_refresh_metrics(p->checks);
}

/* ---------------------------------------------------------------- life cycle */

/* Resident set in KB (/proc/self/statm), for the trim's log line; 0 when unreadable. */
static size_t proxy_rss_kb(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE) / 1024;
}

/* Memory that comes back: after a load peak the freed transactions and contexts sit in malloc's free lists, and
 * glibc returns a page to the kernel only when the top of the heap is free. malloc_trim(0) gives back every
 * whole free page (madvise) in every arena, and the transaction table, timer heap and call-table buckets give back
 * the pages no live entry uses. Both walk memory, so they run only when the live transactions have fallen to half
 * of the peak seen since the last trim: a few times while a load drains (Timers L, M and J end it within 32 s of
 * the last call), never while a steady load holds; below PROXY_TRIM_MIN_TXNS only once the table is empty. */
static void proxy_trim(proxy_t *p)
{
    size_t live = sip_txn_count(p->tl);
    if (live > p->trim_peak)
        p->trim_peak = live;
    if (p->trim_peak == 0 || live > p->trim_peak / 2 || (p->trim_peak < PROXY_TRIM_MIN_TXNS && live != 0))
        return;
    uint64_t t0 = proxy_now_ms();
    size_t rss0 = proxy_rss_kb();
    sip_txn_trim(p->tl);
    call_table_trim(p->calls);
#ifdef __GLIBC__
    malloc_trim(0);
#endif
    log_info(PROXY_LOG, "trimmed after a peak of %zu transactions (now %zu): RSS %zu -> %zu KB, %" PRIu64 " ms",
             p->trim_peak, live, rss0, proxy_rss_kb(), proxy_now_ms() - t0);
    p->trim_peak = live;
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    proxy_t *p = arg;
    (void)fd;
    (void)what;
    uint64_t now = proxy_now_ms();
    size_t b = registrar_sweep(p->reg, now), c = call_table_sweep(p->calls, now, p->call_idle_ms);
    if (c && p->m.expired)
        metric_add(p->m.expired, c);
    if (c)
        log_info(PROXY_LOG, "closed %zu call records without in-dialog traffic for %" PRIu64 " ms", c, p->call_idle_ms);
    if (b)
        log_debug(PROXY_LOG, "swept %zu expired bindings", b);
    proxy_trim(p);
}

static int proxy_bind_dialog(proxy_t *p, const proxy_conf_t *conf)
{
    if (!conf->dialog_socket)
        return 0;
    return sip_transport_listen_udp_dialog(p->tp, conf->host, conf->dialog_port, &p->self.dialog_port);
}

/* UDP first (port 0 lets the kernel pick), then TCP on the same port; with port 0 a port taken for TCP is
 * retried with a fresh pick. */
static int proxy_bind(proxy_t *p, const proxy_conf_t *conf)
{
    const char *host = conf->host;
    int port = conf->port;
    for (int attempt = 0; attempt < PROXY_BIND_ATTEMPTS; attempt++) {
        int bound = 0;
        p->tp = sip_transport_new(p->base, on_rx, p);
        if (!p->tp)
            return -1;
        if (conf->limits)
            sip_transport_tcp_limits(p->tp, "as-sip-tcp", conf->limits->max_connections,
                                     conf->limits->header_timeout_ms, conf->metrics);
        if (sip_transport_listen_udp(p->tp, host, port, &bound) == 0 &&
            sip_transport_listen_tcp(p->tp, host, bound, NULL) == 0) {
            snprintf(p->self.host, sizeof p->self.host, strchr(host, ':') ? "[%s]" : "%s", host);
            p->self.port = bound;
            return proxy_bind_dialog(p, conf);
        }
        sip_transport_free(p->tp);
        p->tp = NULL;
        if (port != 0)
            return -1;
    }
    return -1;
}

static int proxy_start_txn(proxy_t *p, const overload_conf_t *oc)
{
    sip_txn_io_t io = {sip_transport_send, p->tp};
    sip_txn_tu_t tu = {on_request,    on_response,       on_timeout, on_transport_error,
                       on_terminated, on_stray_response, on_admit,   p};
    sip_txn_conf_t tc;
    sip_txn_conf_default(&tc);
    if (oc)
        tc.max_txns = (uint32_t)oc->txn_max;
    if (!(p->te = sip_timer_event_new(p->base)))
        return -1;
    sip_clock_t clock = sip_timer_event_clock(p->te);
    if (!(p->tl = sip_txn_layer_new(&tc, &clock, &io, &tu)))
        return -1;
    sip_timer_event_attach(p->te, p->tl);
    uint64_t sweep_ms = p->call_idle_ms / 2 < PROXY_SWEEP_MS ? p->call_idle_ms / 2 : PROXY_SWEEP_MS;
    sweep_ms = sweep_ms < PROXY_SWEEP_MIN_MS ? PROXY_SWEEP_MIN_MS : sweep_ms;
    struct timeval tv = {(time_t)(sweep_ms / 1000), (suseconds_t)(sweep_ms % 1000 * 1000)};
    p->sweep_ev = event_new(p->base, -1, EV_PERSIST, on_sweep, p);
    return p->sweep_ev && event_add(p->sweep_ev, &tv) == 0 ? 0 : -1;
}

/* What the operator sized, and the sustained call rate it allows (RFC timers decide how long state lives). */
static void proxy_log_capacity(const proxy_t *p)
{
    if (!p->ovl)
        return;
    log_info(PROXY_LOG,
             "capacity: %zu transactions, new calls shed above %zu (~%u calls/s sustained at %d "
             "transaction-seconds per UDP call), retry after %u s",
             sip_txn_capacity(p->tl), overload_txn_mark(p->ovl), overload_sustained_cps(p->ovl),
             OVERLOAD_TXN_SECONDS_PER_CALL, overload_retry_after_s(p->ovl));
}

proxy_t *proxy_new(const proxy_conf_t *conf, char *err, size_t errlen)
{
    proxy_t *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->base = conf->base;
    p->reg = conf->reg;
    p->auth = conf->auth;
    p->calls = conf->calls;
    p->checks = conf->checks;
    if (p->reg && p->checks)
        registrar_set_on_gone(p->reg, proxy_on_aor_gone, p->checks);
    p->timer_c_ms = conf->timer_c_ms;
    p->timer_c_fired = on_timer_c_fired;
    p->max_checks = conf->max_pending_checks ? conf->max_pending_checks : PROXY_MAX_PENDING_CHECKS_DEFAULT;
    p->call_idle_ms = conf->call_idle_ms ? conf->call_idle_ms : CALL_IDLE_MS_DEFAULT;
    snprintf(p->to_tag, sizeof p->to_tag, "as%08lx", (unsigned long)((uint64_t)time(NULL) ^ (uintptr_t)p));
    proxy_metrics_init(p, conf->metrics);
    p->scratch = malloc(sizeof *p->scratch);
    p->lumps = malloc(sizeof *p->lumps);
    p->out = malloc(PROXY_OUT_MAX);
    if (!p->scratch || !p->lumps || !p->out) {
        snprintf(err, errlen, "out of memory");
    } else if (proxy_bind(p, conf) != 0) {
        snprintf(err, errlen, "cannot bind SIP UDP and TCP on %s:%d (dialog port %d)", conf->host, conf->port,
                 conf->dialog_port);
    } else if (proxy_start_txn(p, conf->overload) != 0) {
        snprintf(err, errlen, "cannot start the SIP transaction layer");
    } else if (conf->overload && !(p->ovl = overload_new(p->base, conf->overload, conf->metrics))) {
        snprintf(err, errlen, "out of memory");
    } else {
        proxy_log_capacity(p);
        return p;
    }
    proxy_free(p);
    return NULL;
}

void proxy_free(proxy_t *p)
{
    if (!p)
        return;
    if (p->sweep_ev)
        event_free(p->sweep_ev);
    if (p->te)
        sip_timer_event_attach(p->te, NULL);
    sip_txn_layer_free(p->tl); /* on_terminated frees every pfwd_t and cancels its check */
    overload_free(p->ovl);
    sip_timer_event_free(p->te);
    sip_transport_free(p->tp);
    free(p->scratch);
    free(p->lumps);
    free(p->out);
    free(p);
}

int proxy_port(const proxy_t *p)
{
    return p->self.port;
}

void proxy_listen_text(const proxy_t *p, char *out, size_t cap)
{
    if (p->self.dialog_port)
        snprintf(out, cap, "%s:%d sip_dialog=%s:%d", p->self.host, p->self.port, p->self.host, p->self.dialog_port);
    else
        snprintf(out, cap, "%s:%d", p->self.host, p->self.port);
}

void proxy_drain(proxy_t *p)
{
    p->draining = true;
}

size_t proxy_pending_invites(const proxy_t *p)
{
    return p->pending_invites;
}
