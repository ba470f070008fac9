/*
 * sip_transport_tcp — SIP over TCP with libevent bufferevents (RFC 3261 §18.3 framing, §18.2.2 connection reuse;
 * RFC 5626 §4.4.1 CRLF keepalives).
 *
 * Framing: sip_stream_frame() finds one message by its Content-Length in the input buffer; a message split across
 * reads waits (NEED_MORE), several in one read are taken one after another. Limits: at most SIP_MAX_MSG_SIZE bytes
 * are ever looked at for one message (the bufferevent's read high-watermark stops reading beyond that until a
 * frame is consumed); a peer whose frame cannot complete within that, or that sends a framing error, is
 * disconnected, since a byte stream cannot be resynchronised. "\r\n\r\n" pings are answered with "\r\n" pongs.
 *
 * Connections: each has a transport-unique id (sip_addr_t.conn). A response goes back on the request's connection
 * (§18.2.2); a request reuses an open connection to the same address or opens one (the write is queued until the
 * connect completes). Closed connections just disappear: a later send on their id falls back to the address.
 */
#include "sip/sip_transport_int.h"

#include "core/listen_guard.h"
#include "core/log.h"
#include "sip/sip_timer_event.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <string.h>

#define SIP_TCP_LOG "sip_transport"
#define SIP_TCP_PING "\r\n\r\n" /* RFC 5626 §4.4.1 */
#define SIP_TCP_PONG "\r\n"

static void sip_tcp_close(sip_tcp_conn_t *c)
{
    sip_transport_layer_t *tp = c->tp;
    for (sip_tcp_conn_t **pp = &tp->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    bufferevent_free(c->bev);
    if (c->deadline)
        event_free(c->deadline);
    tp->stats.tcp_conns--;
    free(c);
}

void sip_transport_tcp_close_all(sip_transport_layer_t *tp)
{
    while (tp->conns)
        sip_tcp_close(tp->conns);
    listen_guard_close(tp->guard);
    if (tp->listener)
        evconnlistener_free(tp->listener);
    tp->listener = NULL;
    listen_guard_free(tp->guard);
    tp->guard = NULL;
}

static void sip_tcp_log_close(const sip_tcp_conn_t *c, const char *why)
{
    char ip[SIP_ADDR_TEXT_MAX] = "?";
    int port = 0;
    (void)sip_addr_ntop(&c->peer, ip, sizeof ip, &port);
    log_info(SIP_TCP_LOG, "closing TCP connection %llu to %s:%d: %s", (unsigned long long)c->id, ip, port, why);
}

/* The header deadline runs while a message is incomplete: armed when bytes start waiting, never moved by more
 * bytes, disarmed when the input is empty again. */
static void sip_tcp_deadline_update(sip_tcp_conn_t *c, size_t pending)
{
    if (!c->deadline)
        return;
    if (pending == 0 && c->deadline_armed) {
        event_del(c->deadline);
        c->deadline_armed = false;
    } else if (pending > 0 && !c->deadline_armed) {
        event_add(c->deadline, &c->tp->tcp_header_tv);
        c->deadline_armed = true;
    }
}

static void sip_tcp_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sip_tcp_conn_t *c = arg;
    sip_transport_layer_t *tp = c->tp;
    tp->stats.tcp_header_expired++;
    if (tp->guard)
        listen_guard_deadline(tp->guard, LISTEN_DEADLINE_HEADER);
    sip_tcp_log_close(c, "no complete message within the header deadline");
    sip_tcp_close(c);
}

/* Takes every complete frame out of the input buffer. Returns false when the connection was closed. */
static bool sip_tcp_drain_frames(sip_tcp_conn_t *c)
{
    sip_transport_layer_t *tp = c->tp;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    for (;;) {
        size_t avail = evbuffer_get_length(in);
        sip_tcp_deadline_update(c, avail);
        if (avail == 0)
            return true;
        size_t look = avail < SIP_MAX_MSG_SIZE ? avail : SIP_MAX_MSG_SIZE;
        const char *p = (const char *)evbuffer_pullup(in, (ssize_t)look);
        size_t mlen = 0;
        const char *why = "framing error";
        switch (p ? sip_stream_frame(p, look, &mlen, &why) : SIP_FRAME_ERROR) {
        case SIP_FRAME_KEEPALIVE:
            sip_tcp_deadline_update(c, 0); /* a complete frame: what follows gets a fresh deadline */
            tp->stats.rx_keepalive++;
            if (mlen >= 4 && memcmp(p, SIP_TCP_PING, 4) == 0)
                bufferevent_write(c->bev, SIP_TCP_PONG, 2);
            evbuffer_drain(in, mlen);
            continue;
        case SIP_FRAME_NEED_MORE:
            if (avail < SIP_MAX_MSG_SIZE)
                return true;
            why = "message larger than SIP_MAX_MSG_SIZE";
            break;
        case SIP_FRAME_OK:
            if (mlen == 0 || mlen > look) {
                why = "bad frame length";
                break;
            }
            memcpy(tp->rxbuf, p, mlen);
            evbuffer_drain(in, mlen);
            sip_tcp_deadline_update(c, 0);
            tp->deliver(tp, tp->rxbuf, mlen, &c->peer);
            continue;
        default:
            break;
        }
        tp->stats.rx_malformed++;
        sip_tcp_log_close(c, why);
        sip_tcp_close(c);
        return false;
    }
}

static void sip_tcp_read(struct bufferevent *bev, void *arg)
{
    sip_tcp_conn_t *c = arg;
    (void)bev;
    c->peer.rx_ms = sip_clock_monotonic_ms(); /* no per-segment kernel stamp on a stream: the read's own time */
    (void)sip_tcp_drain_frames(c);
}

static void sip_tcp_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    sip_tcp_conn_t *c = arg;
    if (what & BEV_EVENT_CONNECTED)
        return;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        sip_tcp_log_close(c, (what & BEV_EVENT_EOF) ? "peer closed" : "socket error");
        sip_tcp_close(c);
    }
}

/* Counts bytes as the bufferevent reads them (for stats), without copying. */
static void sip_tcp_count(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    (void)buf;
    sip_transport_layer_t *tp = arg;
    tp->stats.rx_bytes += info->n_added;
}

static sip_tcp_conn_t *sip_tcp_new(sip_transport_layer_t *tp, evutil_socket_t fd, const sip_addr_t *peer)
{
    long max = tp->tcp_max_conns > 0 ? tp->tcp_max_conns : SIP_TCP_MAX_CONNS;
    if (tp->stats.tcp_conns >= (uint64_t)max) {
        log_debug(SIP_TCP_LOG, "TCP connection limit (%ld) reached", max);
        return NULL;
    }
    sip_tcp_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->bev = bufferevent_socket_new(tp->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        free(c);
        return NULL;
    }
    c->tp = tp;
    c->id = ++tp->next_conn_id;
    c->peer = *peer;
    c->peer.proto = SIP_PROTO_TCP;
    c->peer.conn = c->id;
    bufferevent_setcb(c->bev, sip_tcp_read, NULL, sip_tcp_event, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, SIP_MAX_MSG_SIZE);
    evbuffer_add_cb(bufferevent_get_input(c->bev), sip_tcp_count, tp);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->next = tp->conns;
    tp->conns = c;
    tp->stats.tcp_conns++;
    return c;
}

static void sip_tcp_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    (void)l;
    sip_transport_layer_t *tp = arg;
    sip_addr_t peer = {.proto = SIP_PROTO_TCP};
    if (salen <= 0 || (size_t)salen > sizeof peer.ss) {
        evutil_closesocket(fd);
        return;
    }
    memcpy(&peer.ss, sa, (size_t)salen);
    peer.sslen = (socklen_t)salen;
    if (!listen_guard_admit(tp->guard, (size_t)tp->stats.tcp_conns)) {
        tp->stats.tcp_refused++;
        evutil_closesocket(fd); /* SIP over TCP has no refusal message before a request; the close is it */
        return;
    }
    sip_tcp_conn_t *c = evutil_make_socket_nonblocking(fd) < 0 ? NULL : sip_tcp_new(tp, fd, &peer);
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->deadline = evtimer_new(tp->base, sip_tcp_deadline_cb, c);
    if (c->deadline) { /* the first message is due from accept on */
        event_add(c->deadline, &tp->tcp_header_tv);
        c->deadline_armed = true;
    }
}

void sip_transport_tcp_limits(sip_transport_layer_t *tp, const char *name, long max_connections, long header_timeout_ms,
                              metrics_t *metrics)
{
    tp->tcp_name = name ? name : SIP_TCP_LOG;
    tp->tcp_max_conns = max_connections > 0 ? max_connections : SIP_TCP_MAX_CONNS;
    long ms = header_timeout_ms > 0 ? header_timeout_ms : LISTEN_HEADER_TIMEOUT_MS_DEFAULT;
    tp->tcp_header_tv.tv_sec = ms / 1000;
    tp->tcp_header_tv.tv_usec = (ms % 1000) * 1000;
    tp->metrics = metrics;
}

int sip_transport_listen_tcp(sip_transport_layer_t *tp, const char *ip, int port, int *bound_port)
{
    sip_addr_t a;
    if (!tp || tp->listener || sip_addr_from_ip(&a, SIP_PROTO_TCP, sip_str_c(ip), port) < 0)
        return -1;
    tp->listener = evconnlistener_new_bind(tp->base, sip_tcp_accept, tp,
                                           LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                                           SIP_TCP_BACKLOG, (struct sockaddr *)&a.ss, (int)a.sslen);
    if (!tp->listener) {
        log_error(SIP_TCP_LOG, "cannot listen on TCP %s:%d: errno %d", ip, port, errno);
        return -1;
    }
    if (tp->tcp_max_conns == 0)
        sip_transport_tcp_limits(tp, NULL, 0, 0, NULL);
    tp->guard = listen_guard_new(tp->base, tp->listener, tp->tcp_name, (size_t)tp->tcp_max_conns, tp->metrics,
                                 sip_tcp_accept, tp);
    if (!tp->guard)
        return -1;
    evutil_socket_t fd = evconnlistener_get_fd(tp->listener);
    if (getsockname(fd, (struct sockaddr *)&a.ss, &a.sslen) < 0)
        return -1;
    char text[SIP_ADDR_TEXT_MAX];
    int p = 0;
    (void)sip_addr_ntop(&a, text, sizeof text, &p);
    if (bound_port)
        *bound_port = p;
    log_info(SIP_TCP_LOG, "listening on TCP %s:%d", text, p);
    return 0;
}

static sip_tcp_conn_t *sip_tcp_find(sip_transport_layer_t *tp, const sip_addr_t *dst)
{
    if (dst->conn)
        for (sip_tcp_conn_t *c = tp->conns; c; c = c->next)
            if (c->id == dst->conn)
                return c;
    if (dst->sslen == 0)
        return NULL;
    for (sip_tcp_conn_t *c = tp->conns; c; c = c->next)
        if (sip_addr_same(&c->peer, dst))
            return c;
    return NULL;
}

static sip_tcp_conn_t *sip_tcp_connect(sip_transport_layer_t *tp, const sip_addr_t *dst)
{
    if (dst->sslen == 0)
        return NULL;
    sip_tcp_conn_t *c = sip_tcp_new(tp, -1, dst);
    if (!c)
        return NULL;
    if (bufferevent_socket_connect(c->bev, (const struct sockaddr *)&dst->ss, (int)dst->sslen) < 0) {
        sip_tcp_close(c);
        return NULL;
    }
    return c;
}

int sip_transport_tcp_send(sip_transport_layer_t *tp, const sip_addr_t *dst, const char *buf, size_t len)
{
    sip_tcp_conn_t *c = sip_tcp_find(tp, dst);
    if (!c)
        c = sip_tcp_connect(tp, dst);
    if (!c)
        return -1;
    /* A peer that stops reading gets its messages refused, not queued without bound. The connection is not closed
     * here: this runs inside on_msg while the read loop may still hold c. */
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) + len > SIP_TCP_MAX_OUTBUF)
        return -1;
    return bufferevent_write(c->bev, buf, len) == 0 ? 0 : -1;
}
