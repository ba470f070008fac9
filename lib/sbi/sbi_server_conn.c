/*
 * sbi_server_conn — one connection of the SBI server: its transport and nghttp2 server session (started once
 * TCP, and TLS with ALPN h2, are up: RFC 9113 §3.2-3.4, the server's SETTINGS first), the server role's failure
 * hook of the session pump (sbi_session.h: every end frees the connection and its streams, with a rate-limited
 * line for what the client did wrong) and its deadlines.
 *
 * Deadlines count complete requests, not bytes (a slow-loris client sends a byte now and then): one timer per
 * connection, header deadline first, then the idle one, re-armed at expiry for what is left instead of per
 * request (no timer operation on the hot path). The idle end is GOAWAY (RFC 9113 §6.8), so streams in flight
 * finish; the close comes at the next expiry.
 */
#include "sbi/sbi_server_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "sbi/sbi_io.h"

/* A line about one client's bad input: at info once per RATELIMIT_INTERVAL_S (with the count of the others), at
 * debug otherwise, so connection churn with broken handshakes cannot flood the log. */
void sbi_srv_peer_log(sbi_server_t *srv, const char *fmt, ...)
{
    uint64_t suppressed = 0;
    bool info = ratelimit_allow(&srv->peer_log, RATELIMIT_INTERVAL_S, &suppressed);
    if (!info && log_get_level() < LOG_LVL_DEBUG)
        return;
    char line[DETAIL_MAX * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (info && suppressed)
        log_info(srv->name, "%s (%llu similar lines at debug level since the last)", line,
                 (unsigned long long)suppressed);
    else if (info)
        log_info(srv->name, "%s", line);
    else
        log_debug(srv->name, "%s", line);
}

void sbi_srv_maybe_drained(sbi_server_t *srv)
{
    if (srv->draining && srv->n_conns == 0 && srv->drained_ev)
        event_active(srv->drained_ev, 0, 0);
}

void sbi_srv_conn_free(sbi_conn_t *conn)
{
    sbi_server_t *srv = conn->srv;
    while (conn->requests)
        sbi_srv_request_free(conn->requests);
    event_del(&conn->deadline);
    sbi_session_close(&conn->sess);
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        srv->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    srv->n_conns--;
    log_debug(srv->name, "connection %llu from %s closed", (unsigned long long)conn->id, conn->peer);
    free(conn);
    sbi_srv_maybe_drained(srv);
}

int sbi_srv_conn_flush(sbi_conn_t *conn)
{
    return sbi_session_flush(&conn->sess);
}

void sbi_srv_conn_goaway(sbi_conn_t *conn)
{
    nghttp2_session *s = conn->sess.session;
    nghttp2_submit_goaway(s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(s), NGHTTP2_NO_ERROR, NULL, 0);
    sbi_srv_conn_flush(conn);
}

/* The server's failure hook of the session pump: a line for what the client did wrong, and the connection goes
 * with its streams. */
static void conn_on_end(void *owner, sbi_session_end_t why, const char *detail)
{
    sbi_conn_t *conn = owner;
    if (why == SBI_SESSION_END_ALPN)
        sbi_srv_peer_log(conn->srv, "%s: ALPN did not select h2", conn->peer);
    else if (why == SBI_SESSION_END_RECV)
        sbi_srv_peer_log(conn->srv, "%s: %s", conn->peer, detail);
    else if (why == SBI_SESSION_END_SEND)
        sbi_srv_peer_log(conn->srv, "%s: send: %s", conn->peer, detail);
    else if (why == SBI_SESSION_END_IO && detail)
        sbi_srv_peer_log(conn->srv, "%s: TLS: %s", conn->peer, detail);
    sbi_srv_conn_free(conn); /* DONE, EOF, error or a failed handshake */
}

static int conn_start_session(sbi_conn_t *conn)
{
    sbi_server_t *srv = conn->srv;
    if (nghttp2_session_server_new2(&conn->sess.session, srv->callbacks, &conn->sess, srv->option) != 0)
        return -1;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, SBI_MAX_CONCURRENT_STREAMS},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)srv->max_header_list},
    };
    if (nghttp2_submit_settings(conn->sess.session, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) != 0)
        return -1;
    if (srv->draining)
        nghttp2_submit_goaway(conn->sess.session, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, NULL, 0);
    return 0;
}

/* TLS handshake done (and ALPN said h2): the session starts. */
static int conn_on_connected(void *owner)
{
    sbi_conn_t *conn = owner;
    if (conn_start_session(conn)) {
        sbi_srv_conn_free(conn);
        return -1;
    }
    return 0;
}

static const sbi_session_role_t server_role = {.connected = conn_on_connected, .end = conn_on_end};

static struct timeval tv_add(struct timeval a, struct timeval b)
{
    struct timeval r;
    timeradd(&a, &b, &r);
    return r;
}

/* The deadlines of a connection, which bytes alone never move (a slow-loris client sends a byte now and then):
 *   header: from accept until the first complete request (TLS handshake included): close;
 *   idle:   from the last complete request: GOAWAY (streams in flight finish), and close at the next expiry.
 * The timer is not re-armed per request: at expiry it re-arms itself for what is left of the idle period. */
static void conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sbi_conn_t *conn = arg;
    sbi_server_t *srv = conn->srv;
    if (!conn->progressed) {
        log_debug(srv->name, "%s: no complete request within the header deadline, closing", conn->peer);
        listen_guard_deadline(srv->guard, LISTEN_DEADLINE_HEADER);
        sbi_srv_conn_free(conn);
        return;
    }
    struct timeval now, due = tv_add(conn->last_progress, srv->idle_tv);
    event_base_gettimeofday_cached(srv->base, &now);
    if (timercmp(&now, &due, <) && !conn->idle_goaway) {
        struct timeval left;
        timersub(&due, &now, &left);
        event_add(&conn->deadline, &left);
        return;
    }
    if (conn->idle_goaway || !conn->sess.session) {
        sbi_srv_conn_free(conn); /* streams still open a whole idle period after the GOAWAY */
        return;
    }
    conn->idle_goaway = true;
    listen_guard_deadline(srv->guard, LISTEN_DEADLINE_IDLE);
    log_debug(srv->name, "%s: idle, sending GOAWAY", conn->peer);
    event_add(&conn->deadline, &srv->idle_tv);
    sbi_srv_conn_goaway(conn);
}

static void format_peer(const struct sockaddr *sa, char *out, size_t size)
{
    char addr[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
        port = ntohs(in->sin_port);
        snprintf(out, size, "%s:%u", addr, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
        port = ntohs(in6->sin6_port);
        snprintf(out, size, "[%s]:%u", addr, port);
    } else {
        snprintf(out, size, "?");
    }
}

/* The connection's transport; on failure the socket is closed here. */
static sbi_io_t *conn_io_new(sbi_conn_t *conn, evutil_socket_t fd)
{
    sbi_server_t *srv = conn->srv;
    SSL *ssl = srv->tls ? SSL_new(srv->tls) : NULL;
    sbi_io_t *io =
        !srv->tls || ssl ? sbi_io_new(srv->base, fd, ssl, true, true, sbi_session_io_cbs(), &conn->sess) : NULL;
    if (!io) {
        SSL_free(ssl);
        evutil_closesocket(fd);
    }
    return io;
}

void sbi_srv_conn_accept(sbi_server_t *srv, evutil_socket_t fd, const struct sockaddr *sa)
{
    sbi_conn_t *conn = calloc(1, sizeof(*conn));
    if (!conn) {
        evutil_closesocket(fd);
        return;
    }
    event_assign(&conn->deadline, srv->base, -1, 0, conn_deadline_cb, conn);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    conn->srv = srv;
    sbi_session_init(&conn->sess, &server_role, conn);
    conn->id = ++srv->next_conn_id;
    format_peer(sa, conn->peer, sizeof(conn->peer));
    conn->sess.io = conn_io_new(conn, fd);
    conn->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = conn;
    srv->conns = conn;
    srv->n_conns++;
    if (!conn->sess.io) {
        sbi_srv_conn_free(conn);
        return;
    }
    event_add(&conn->deadline, &srv->header_tv);
    log_debug(srv->name, "connection %llu from %s", (unsigned long long)conn->id, conn->peer);
    if (srv->tls)
        return; /* the session starts once the handshake is done and ALPN said h2 */
    if (conn_start_session(conn)) {
        sbi_srv_conn_free(conn);
        return;
    }
    sbi_srv_conn_flush(conn);
}
