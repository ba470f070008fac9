/*
 * sip_transport — the transport object and the receive path shared by UDP and TCP (RFC 3261 §18.2.1, §18.3;
 * RFC 3581 §4). Sockets live in sip_transport_udp.c and sip_transport_tcp.c, below this file: they hand what they
 * receive up through tp->deliver, registered here.
 *
 * Receive path: parse (sip_msg_parse + sip_msg_check: every header, framing, mandatory headers), then for a request
 * stamp the top Via with received/rport through lumps into a second buffer and re-parse it, so the TU and the
 * transaction layer see the Via a response must carry back. One sip_msg_t, one lump list and two buffers per
 * transport: the loop is single-threaded and on_msg borrows them for the duration of the call.
 *
 * Peer input never reaches an assert: every failure is a log line, a counter and, for a request whose headers
 * still parse, a stateless 400 with the parser's reason in a Warning (§21.4.1, §20.43). Responses that fail are
 * dropped (§18.1.2 has nowhere to send an error).
 */
#include "sip/sip_transport_int.h"

#include "core/log.h"
#include "sip/sip_reply.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIP_TP_LOG "sip_transport"
#define SIP_TP_REPLY_MAX 8192  /* a stateless 400: the request's Vias, From, To, Call-ID, CSeq and a Warning */
#define SIP_TP_WARNING_MAX 200 /* the Warning header line carrying the parse error */

static sip_transport_deliver_fn sip_transport_deliver;

sip_transport_layer_t *sip_transport_new(struct event_base *base, sip_transport_rx_fn on_msg, void *ctx)
{
    if (!base || !on_msg)
        return NULL;
    sip_transport_layer_t *tp = calloc(1, sizeof *tp);
    if (!tp)
        return NULL;
    tp->base = base;
    tp->on_msg = on_msg;
    tp->ctx = ctx;
    tp->deliver = sip_transport_deliver;
    for (int i = 0; i < SIP_UDP_SOCKS; i++)
        tp->udp_fd[i] = -1;
    tp->rxbuf = malloc(SIP_MAX_MSG_SIZE + 1);
    tp->editbuf = malloc(SIP_MAX_MSG_SIZE + SIP_LUMP_ARENA);
    tp->msg = malloc(sizeof *tp->msg);
    tp->lumps = malloc(sizeof *tp->lumps);
    if (!tp->rxbuf || !tp->editbuf || !tp->msg || !tp->lumps) {
        sip_transport_free(tp);
        return NULL;
    }
    return tp;
}

void sip_transport_free(sip_transport_layer_t *tp)
{
    if (!tp)
        return;
    sip_transport_tcp_close_all(tp);
    for (int i = 0; i < SIP_UDP_SOCKS; i++) {
        if (tp->udp_ev[i])
            event_free(tp->udp_ev[i]);
        if (tp->udp_fd[i] >= 0)
            close(tp->udp_fd[i]);
    }
    free(tp->rxbuf);
    free(tp->editbuf);
    free(tp->msg);
    free(tp->lumps);
    free(tp);
}

sip_transport_stats_t sip_transport_stats(const sip_transport_layer_t *tp)
{
    return tp->stats;
}

static const char *sip_tp_proto_name(const sip_addr_t *a)
{
    return a->proto == SIP_PROTO_TCP ? "TCP" : "UDP";
}

/* Copies text into a quoted-string body, replacing the two characters that would end or escape it. */
static void sip_tp_quote_safe(char *dst, size_t cap, const char *text)
{
    size_t i = 0;
    for (; text && text[i] && i + 1 < cap; i++)
        dst[i] = (text[i] == '"' || text[i] == '\\' || (unsigned char)text[i] < 0x20) ? '\'' : text[i];
    dst[i < cap ? i : cap - 1] = '\0';
}

/* A malformed message: 400 for a request when possible, else drop. Both logged. */
static void sip_tp_reject(sip_transport_layer_t *tp, const char *buf, size_t len, const sip_addr_t *src,
                          const char *reason)
{
    char ip[SIP_ADDR_TEXT_MAX] = "?";
    int port = 0;
    (void)sip_addr_ntop(src, ip, sizeof ip, &port);
    tp->stats.rx_malformed++;
    sip_msg_t *m = tp->msg;
    sip_transport_t tpt = src->proto == SIP_PROTO_TCP ? SIP_TP_STREAM : SIP_TP_DGRAM;
    if (sip_msg_parse(m, buf, len, tpt) != SIP_OK || !m->is_request || m->method == SIP_METHOD_ACK) {
        log_info(SIP_TP_LOG, "malformed message from %s:%d/%s dropped: %s", ip, port, sip_tp_proto_name(src), reason);
        return;
    }
    char safe[SIP_TP_WARNING_MAX - 32], warn[SIP_TP_WARNING_MAX], out[SIP_TP_REPLY_MAX];
    sip_tp_quote_safe(safe, sizeof safe, reason);
    snprintf(warn, sizeof warn, "Warning: 399 mihua \"%s\"\r\n", safe);
    sip_reply_opts_t o = {.extra = warn, .received = ip, .rport = port}; /* the Via stamping of §18.2.1 */
    sip_addr_t dst;
    int n = sip_reply_build(m, 400, "Bad Request", &o, out, sizeof out);
    if (n < 0 || sip_addr_resp_dest(m, src, &dst) < 0) {
        log_info(SIP_TP_LOG, "malformed request from %s:%d/%s dropped (no 400 possible): %s", ip, port,
                 sip_tp_proto_name(src), reason);
        return;
    }
    log_info(SIP_TP_LOG, "malformed request from %s:%d/%s answered 400: %s", ip, port, sip_tp_proto_name(src), reason);
    (void)sip_transport_send(tp, &dst, out, (size_t)n);
}

static void sip_transport_deliver(sip_transport_layer_t *tp, const char *buf, size_t len, const sip_addr_t *src)
{
    sip_msg_t *m = tp->msg;
    sip_transport_t tpt = src->proto == SIP_PROTO_TCP ? SIP_TP_STREAM : SIP_TP_DGRAM;
    if (sip_msg_parse(m, buf, len, tpt) != SIP_OK || sip_msg_check(m) != SIP_OK) {
        sip_tp_reject(tp, buf, len, src, sip_msg_reason(m));
        return;
    }
    if (m->is_request) {
        int n = sip_addr_fill_via(m, src, tp->lumps, tp->editbuf, SIP_MAX_MSG_SIZE + SIP_LUMP_ARENA);
        if (n < 0) {
            sip_tp_reject(tp, buf, len, src, "cannot add received/rport to the top Via");
            return;
        }
        if (n > 0 && (sip_msg_parse(m, tp->editbuf, (size_t)n, tpt) != SIP_OK || sip_msg_check(m) != SIP_OK)) {
            sip_tp_reject(tp, buf, len, src, "request does not re-parse after Via stamping");
            return;
        }
    }
    tp->stats.rx_msgs++;
    tp->on_msg(tp->ctx, m, src);
}

/* From the socket dst names (a response leaves from where its request arrived: RFC 3581 §4), the main one when
 * that socket is not open. */
static int sip_tp_udp_send(sip_transport_layer_t *tp, const sip_addr_t *dst, const char *buf, size_t len)
{
    evutil_socket_t fd = dst->sock < SIP_UDP_SOCKS ? tp->udp_fd[dst->sock] : -1;
    if (fd < 0)
        fd = tp->udp_fd[SIP_UDP_SOCK_MAIN];
    if (fd < 0 || dst->sslen == 0)
        return -1;
    ssize_t n = sendto(fd, buf, len, 0, (const struct sockaddr *)&dst->ss, dst->sslen);
    return n == (ssize_t)len ? 0 : -1;
}

int sip_transport_send(void *ctx, const sip_addr_t *dst, const char *buf, size_t len)
{
    sip_transport_layer_t *tp = ctx;
    if (!tp || !dst || !buf || len == 0 || len > SIP_MAX_MSG_SIZE)
        return -1;
    int rc =
        dst->proto == SIP_PROTO_TCP ? sip_transport_tcp_send(tp, dst, buf, len) : sip_tp_udp_send(tp, dst, buf, len);
    if (rc == 0) {
        tp->stats.tx_msgs++;
    } else {
        tp->stats.tx_errors++;
        char ip[SIP_ADDR_TEXT_MAX] = "?";
        int port = 0;
        (void)sip_addr_ntop(dst, ip, sizeof ip, &port);
        log_warn(SIP_TP_LOG, "send to %s:%d/%s failed", ip, port, sip_tp_proto_name(dst));
    }
    return rc;
}
