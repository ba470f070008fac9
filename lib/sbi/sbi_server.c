/*
 * sbi_server — HTTP/2 server for SBI producers (TS 29.500 §5.2, RFC 9113): the server object, its listener and
 * graceful drain. See sbi_server.h for the contract and sbi_server_int.h for the files under this one.
 *
 * Wiring (the shape of nghttp2's examples/libevent-server.c): an evconnlistener accepts (listen_guard.h caps the
 * connections and backs off on accept errors); each connection gets an sbi_io and an nghttp2 server session
 * (sbi_server_conn.c) pumped by sbi_session.c. When full, an h2c client gets the server preface and GOAWAY
 * before the close (RFC 9113 §6.8: nothing was processed, retry elsewhere), a TLS one is closed at once: a
 * handshake per refused connection would spend the CPU the cap protects. A drain sends GOAWAY on every
 * connection and lets open streams finish, bounded by SBI_DRAIN_TIMEOUT_MS.
 */
#include "sbi/sbi_server_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/listener.h>

#include "core/log.h"

#define LISTEN_BACKLOG 512 /* h2load -c 50 and bursts of reconnecting AS workers */

/* The listener is full. h2c: the server preface and GOAWAY(NO_ERROR, last stream 0: nothing was processed, retry
 * elsewhere or later) in one non-blocking send, then close. TLS: close at once, since a handshake per refused
 * connection would spend the CPU the cap protects. What the client already sent is read first so that the close
 * is a FIN, not a reset that could destroy the GOAWAY before the client reads it. */
static void refuse_connection(sbi_server_t *srv, evutil_socket_t fd)
{
    static const uint8_t refusal[] = {0,   0,   0,      NGHTTP2_SETTINGS,
                                      0,   0,   0,      0,
                                      0, /* empty SETTINGS (server preface) */
                                      0,   0,   8 + 16, NGHTTP2_GOAWAY,
                                      0,   0,   0,      0,
                                      0,   0,   0,      0,
                                      0,   0,   0,      0,
                                      0, /* GOAWAY, last stream 0, NO_ERROR */
                                      'c', 'o', 'n',    'n',
                                      'e', 'c', 't',    'i',
                                      'o', 'n', 's',    ' ',
                                      'f', 'u', 'l',    'l'};
    if (!srv->tls) {
        uint8_t scratch[512];
        while (recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0)
            ;
        (void)send(fd, refusal, sizeof refusal, MSG_DONTWAIT | MSG_NOSIGNAL);
        shutdown(fd, SHUT_WR);
    }
    evutil_closesocket(fd);
}

static void accept_cb(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    (void)listener;
    (void)salen;
    sbi_server_t *srv = arg;
    if (!listen_guard_admit(srv->guard, srv->n_conns)) {
        refuse_connection(srv, fd);
        return;
    }
    sbi_srv_conn_accept(srv, fd, sa);
}

void sbi_server_config_limits(sbi_server_config_t *cfg, const listen_limits_t *limits)
{
    cfg->max_connections = (size_t)limits->max_connections;
    cfg->header_timeout_ms = (unsigned)limits->header_timeout_ms;
    cfg->idle_timeout_ms = (unsigned)limits->idle_timeout_ms;
}

sbi_server_t *sbi_server_new(struct event_base *base, const sbi_server_config_t *cfg)
{
    sbi_server_config_t defaults = {0};
    if (!cfg)
        cfg = &defaults;
    sbi_server_t *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    srv->base = base;
    srv->tls = cfg->tls;
    srv->name = cfg->name ? cfg->name : "sbi";
    srv->redact_paths = cfg->redact_paths;
    srv->max_header_list = cfg->max_header_list ? cfg->max_header_list : SBI_MAX_HEADER_LIST_DEFAULT;
    srv->max_body = cfg->max_body ? cfg->max_body : SBI_MAX_BODY_DEFAULT;
    unsigned ms = cfg->stream_timeout_ms ? cfg->stream_timeout_ms : SBI_STREAM_TIMEOUT_MS_DEFAULT;
    srv->stream_tv.tv_sec = ms / 1000;
    srv->stream_tv.tv_usec = (ms % 1000) * 1000;
    srv->stream_timeout = event_base_init_common_timeout(base, &srv->stream_tv);
    unsigned idle_ms = cfg->idle_timeout_ms ? cfg->idle_timeout_ms : SBI_IDLE_TIMEOUT_MS;
    srv->idle_tv.tv_sec = idle_ms / 1000;
    srv->idle_tv.tv_usec = (idle_ms % 1000) * 1000;
    unsigned header_ms = cfg->header_timeout_ms ? cfg->header_timeout_ms : SBI_HEADER_TIMEOUT_MS;
    srv->header_tv.tv_sec = header_ms / 1000;
    srv->header_tv.tv_usec = (header_ms % 1000) * 1000;
    srv->max_connections = cfg->max_connections ? cfg->max_connections : SBI_MAX_CONNECTIONS_DEFAULT;
    srv->metrics = cfg->metrics;
    srv->router = sbi_router_new();
    srv->callbacks = sbi_srv_callbacks_new();
    if (!srv->stream_timeout || !srv->router || !srv->callbacks || nghttp2_option_new(&srv->option) != 0) {
        sbi_server_free(srv);
        return NULL;
    }
    return srv;
}

void sbi_server_free(sbi_server_t *srv)
{
    if (!srv)
        return;
    srv->draining = false; /* no drained callback from here */
    while (srv->conns)
        sbi_srv_conn_free(srv->conns);
    if (srv->listener)
        evconnlistener_free(srv->listener);
    listen_guard_free(srv->guard);
    if (srv->drain_timer)
        event_free(srv->drain_timer);
    if (srv->drained_ev)
        event_free(srv->drained_ev);
    if (srv->callbacks)
        nghttp2_session_callbacks_del(srv->callbacks);
    if (srv->option)
        nghttp2_option_del(srv->option);
    sbi_router_free(srv->router);
    free(srv);
}

void sbi_server_set_gate(sbi_server_t *srv, const sbi_gate_t *gate)
{
    srv->gate = gate && gate->admit ? *gate : (sbi_gate_t){0};
}

int sbi_server_route(sbi_server_t *srv, const char *method, const char *pattern, sbi_handler_fn fn, void *ud)
{
    return sbi_router_add(srv->router, method, pattern, fn, ud);
}

int sbi_server_route_raw(sbi_server_t *srv, const char *method, const char *pattern, const char *raw_type,
                         sbi_handler_fn fn, void *ud)
{
    return sbi_router_add_raw(srv->router, method, pattern, raw_type, fn, ud);
}

static int resolve_listen(const char *addr, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct evutil_addrinfo hints = {0}, *res = NULL;
    char port_text[8];
    snprintf(port_text, sizeof(port_text), "%u", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG;
    if (evutil_getaddrinfo(addr, port_text, &hints, &res) != 0 || !res)
        return -1;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = (socklen_t)res->ai_addrlen;
    evutil_freeaddrinfo(res);
    return 0;
}

int sbi_server_listen(sbi_server_t *srv, const char *addr, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (srv->listener || resolve_listen(addr, port, &ss, &len)) {
        log_error(srv->name, "cannot resolve listen address %s", addr);
        errno = EINVAL;
        return -1;
    }
    srv->listener = evconnlistener_new_bind(srv->base, accept_cb, srv,
                                            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                                            LISTEN_BACKLOG, (struct sockaddr *)&ss, (int)len);
    if (!srv->listener) {
        int e = errno;
        log_error(srv->name, "cannot listen on %s:%u: %s", addr, port, strerror(e));
        errno = e;
        return -1;
    }
    srv->guard =
        listen_guard_new(srv->base, srv->listener, srv->name, srv->max_connections, srv->metrics, accept_cb, srv);
    if (!srv->guard) {
        evconnlistener_free(srv->listener);
        srv->listener = NULL;
        errno = ENOMEM;
        return -1;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    getsockname(evconnlistener_get_fd(srv->listener), (struct sockaddr *)&bound, &blen);
    srv->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                  : ((struct sockaddr_in *)&bound)->sin_port);
    log_info(srv->name, "listening on %s:%u (%s)", addr, srv->port, srv->tls ? "TLS h2" : "h2c");
    return 0;
}

uint16_t sbi_server_port(const sbi_server_t *srv)
{
    return srv->port;
}

bool sbi_server_is_tls(const sbi_server_t *srv)
{
    return srv->tls != NULL;
}

size_t sbi_server_connection_count(const sbi_server_t *srv)
{
    return srv->n_conns;
}

sbi_server_stats_t sbi_server_stats(const sbi_server_t *srv)
{
    listen_guard_stats_t g = srv->guard ? listen_guard_stats(srv->guard) : (listen_guard_stats_t){0};
    sbi_server_stats_t st = {srv->n_conns, g.refused, g.accept_errors, g.deadline_closed[LISTEN_DEADLINE_HEADER],
                             g.deadline_closed[LISTEN_DEADLINE_IDLE]};
    return st;
}

struct event_base *sbi_server_base(const sbi_server_t *srv)
{
    return srv->base;
}

void sbi_server_set_observer(sbi_server_t *srv, const sbi_observer_t *observer)
{
    srv->observer = observer;
}

static void drained_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sbi_server_t *srv = arg;
    if (srv->drain_timer)
        event_del(srv->drain_timer);
    if (srv->drained_cb)
        srv->drained_cb(srv->drained_ud);
}

static void drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sbi_server_t *srv = arg;
    if (srv->n_conns)
        log_warn(srv->name, "drain timeout: closing %zu connection(s)", srv->n_conns);
    while (srv->conns)
        sbi_srv_conn_free(srv->conns); /* the last one activates drained_ev */
}

void sbi_server_drain(sbi_server_t *srv, void (*done)(void *ud), void *ud)
{
    if (srv->draining)
        return;
    srv->draining = true;
    srv->drained_cb = done;
    srv->drained_ud = ud;
    if (srv->listener) {
        listen_guard_close(srv->guard);
        evconnlistener_free(srv->listener);
        srv->listener = NULL;
    }
    srv->drained_ev = event_new(srv->base, -1, 0, drained_cb, srv);
    srv->drain_timer = evtimer_new(srv->base, drain_timeout_cb, srv);
    struct timeval tv = {SBI_DRAIN_TIMEOUT_MS / 1000, (SBI_DRAIN_TIMEOUT_MS % 1000) * 1000};
    if (srv->drain_timer)
        evtimer_add(srv->drain_timer, &tv);
    sbi_conn_t *next;
    for (sbi_conn_t *c = srv->conns; c; c = next) {
        next = c->next;
        if (!c->sess.session) {
            sbi_srv_conn_free(c); /* TLS handshake in progress: nothing to drain */
            continue;
        }
        sbi_srv_conn_goaway(c);
    }
    sbi_srv_maybe_drained(srv);
}
