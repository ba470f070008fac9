/*
 * sbi_client — HTTP/2 client for SBI consumers: nghttp2 client sessions on lib/sbi's socket transport (sbi_io). See
 * sbi_client.h for the contract.
 *
 * Connections (one per scheme+host+port, the shape of nghttp2's examples/libevent-client.c) are created on first
 * use: the session is set up and requests are submitted at once, and the io holds the bytes until TCP (and TLS)
 * are up. Bytes move through the session pump shared with the server (sbi_session.c); this file's role hook
 * completes, or retries, the requests of a connection that ends. Every request submitted in one loop iteration
 * leaves in one write (the io flushes once per iteration). A connection on which GOAWAY arrived or that failed is
 * marked dead and a new one is opened for the next request; requests still on it finish or fail individually.
 *
 * Request lifetime. A request (creq) sits on its connection's list while its stream may still produce callbacks,
 * and on the client's completion queue once its outcome is known; it is freed when it is on neither. This is what
 * lets a timeout complete a request at once while nghttp2 still holds the stream (reset, closing later), and
 * lets a connection failure complete everything on it without touching freed memory.
 *
 * An Authorization header is sent never-indexed (RFC 7541 §7.1.3): a credential that changes per request (Digest
 * response, cnonce) must not sit in the HPACK dynamic table, where it would also evict the entries that repeat.
 *
 * A request's small parts live inside it: a request body up to CREQ_INLINE_BODY bytes, the response headers in an
 * inline array and arena (CREQ_INLINE_HEADERS, CREQ_HEADER_ARENA), spilling to the heap beyond; the object itself is
 * malloc'd and only its bookkeeping cleared (calloc bypasses glibc's per-thread cache), so the allocator stays
 * off the per-request path.
 *
 * Completion callbacks run from an event made active on the loop, never inside nghttp2 or sbi_client_request(),
 * so user code may submit, cancel or free the client from a callback; the dispatcher notices a freed client
 * through a flag on its stack.
 *
 * Dead pooled connections (a restarted peer). The io's read event is always armed, so an EOF on an idle connection
 * frees it as soon as the loop sees it; and before a request goes on an idle pooled connection, a non-blocking
 * MSG_PEEK checks for an EOF the loop has not dispatched yet (the peer's FIN and the request's trigger in one epoll
 * batch), so even a POST finds a fresh connection then. What is left — the peer closing or refusing while the
 * request is on its way — is covered by one retry, only where RFC 9110 §9.2.2 allows it (idempotent methods) and
 * only when the server cannot have answered: the stream saw no response byte and either the connection it went on
 * was already established and then broke (EOF, reset, write error, protocol error), or the stream was refused
 * (above a GOAWAY's last-stream-id, or RST_STREAM REFUSED_STREAM: RFC 9113 §8.7, never processed). The request
 * keeps its timer, so the retry spends the caller's own budget and never extends it. Idempotent requests keep a
 * copy of their method, URL and headers for that (one allocation); others keep none and are never retried.
 */
#include "sbi/sbi_client.h"

#include "sbi/sbi_buf.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/event_struct.h>
#include <event2/util.h>
#include <nghttp2/nghttp2.h>

#include "core/log.h"
#include "sbi/sbi_arena.h"
#include "sbi/sbi_io.h"
#include "sbi/sbi_session.h"
#include "sbi/sbi_tls.h"
#include "sbi/sbi_url.h"

#define REQ_HEADERS_MAX 32    /* pseudo-headers + content-type/length + caller's extras */
#define CREQ_INLINE_BODY 512  /* a request body up to this is kept inside the request (an SBI query body) */
#define CREQ_INLINE_HEADERS 8 /* response headers before the array moves to the heap */
#define CREQ_HEADER_ARENA 512 /* response header names and values before they spill to the heap */

#define LOG_MOD "sbi-client"

typedef struct creq creq_t;
typedef struct cconn cconn_t;

struct creq {
    sbi_client_t *client;
    cconn_t *conn;
    uint64_t id;
    int32_t stream_id;
    sbi_client_cb cb; /* NULL once cancelled */
    void *ud;
    creq_t *prev, *next; /* conn->reqs, while in_conn */
    bool in_conn;
    creq_t *qnext; /* client completion queue, while in_queue */
    bool in_queue;
    bool done;                /* outcome known */
    bool responded;           /* a response HEADERS frame arrived on its stream: the server has processed it */
    bool on_pooled;           /* its connection was established before it was submitted (not opened for it) */
    bool retried;             /* resubmitted once already */
    sbi_client_req_t *replay; /* idempotent requests: method, URL and headers for a retry (one block); else NULL */
    struct event timer;
    struct timespec start;
    uint64_t elapsed_us;

    uint8_t *req_body;       /* inline_body, or the heap for a larger body */
    sbi_session_body_t send; /* req_body as DATA */

    sbi_client_err_t error;
    int status;
    sbi_header_list_t headers; /* response headers, strings in `arena` */
    size_t header_bytes;
    char *body;
    size_t body_len, body_cap;
    sbi_arena_t arena;

    /* not cleared at creation (creq_new clears up to here) */
    sbi_header_t inline_headers[CREQ_INLINE_HEADERS];
    char arena_mem[CREQ_HEADER_ARENA];
    uint8_t inline_body[CREQ_INLINE_BODY];
};

struct cconn {
    sbi_client_t *client;
    cconn_t *prev, *next;
    bool tls;
    char host[SBI_HOST_MAX];
    uint16_t port;
    sbi_session_t sess; /* in_send: nghttp2_session_send's callbacks may retry, which must not free this conn */
    bool connected, dead;
    creq_t *reqs;
};

struct sbi_client {
    struct event_base *base;
    SSL_CTX *tls;
    unsigned default_timeout_ms;
    cconn_t *conns;
    size_t n_conns;
    uint64_t next_id;
    creq_t *queue_head, *queue_tail;
    struct event *complete_ev;
    nghttp2_session_callbacks *callbacks;
    bool *alive; /* set while dispatching completions; cleared by sbi_client_free */
};

static void conn_fail(cconn_t *conn, sbi_client_err_t err);
static int conn_flush(cconn_t *conn);
static bool creq_retry(creq_t *r, bool refused);

/* ------------------------------------------------------------------------------------------------ requests */

static uint64_t elapsed_us_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t us = (int64_t)(now.tv_sec - t0->tv_sec) * 1000000 + (now.tv_nsec - t0->tv_nsec) / 1000;
    return us > 0 ? (uint64_t)us : 0;
}

static void creq_free(creq_t *r)
{
    event_del(&r->timer);
    free(r->replay);
    sbi_arena_reset(&r->arena);
    sbi_header_list_free(&r->headers);
    free(r->body);
    if (r->req_body != r->inline_body)
        free(r->req_body);
    free(r);
}

static void creq_maybe_free(creq_t *r)
{
    if (!r->in_conn && !r->in_queue)
        creq_free(r);
}

static void creq_unlink_conn(creq_t *r)
{
    if (!r->in_conn)
        return;
    cconn_t *conn = r->conn;
    if (r->prev)
        r->prev->next = r->next;
    else
        conn->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    r->in_conn = false;
    r->conn = NULL;
}

/* Decides the outcome once and queues the callback. */
static void creq_complete(creq_t *r, sbi_client_err_t err)
{
    if (r->done)
        return;
    r->done = true;
    r->error = err;
    r->elapsed_us = elapsed_us_since(&r->start);
    event_del(&r->timer);
    if (!r->cb)
        return;
    sbi_client_t *c = r->client;
    r->in_queue = true;
    r->qnext = NULL;
    if (c->queue_tail)
        c->queue_tail->qnext = r;
    else
        c->queue_head = r;
    c->queue_tail = r;
    event_active(c->complete_ev, 0, 0);
}

static void creq_reset_stream(creq_t *r)
{
    if (r->in_conn && r->stream_id > 0 && r->conn->sess.session)
        nghttp2_submit_rst_stream(r->conn->sess.session, NGHTTP2_FLAG_NONE, r->stream_id, NGHTTP2_CANCEL);
}

static void creq_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    creq_t *r = arg;
    creq_complete(r, SBI_CLIENT_ERR_TIMEOUT);
    creq_reset_stream(r);
    if (r->in_conn && !r->conn->sess.in_recv)
        conn_flush(r->conn);
}

static void fill_response(const creq_t *r, sbi_client_response_t *resp)
{
    memset(resp, 0, sizeof(*resp));
    resp->error = r->error;
    resp->elapsed_us = r->elapsed_us;
    if (r->error != SBI_CLIENT_OK)
        return;
    resp->status = r->status;
    resp->headers = r->headers.v;
    resp->n_headers = r->headers.n;
    resp->body = r->body ? r->body : "";
    resp->body_len = r->body_len;
    resp->content_type = sbi_client_response_header(resp, "content-type");
    resp->location = sbi_client_response_header(resp, "location");
}

static void complete_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sbi_client_t *c = arg;
    bool alive = true;
    c->alive = &alive;
    while (c->queue_head) {
        creq_t *r = c->queue_head; /* stays queued during its callback, so sbi_client_free finds it */
        if (r->cb) {
            sbi_client_response_t resp;
            fill_response(r, &resp);
            r->cb(&resp, r->ud);
            if (!alive)
                return;
        }
        c->queue_head = r->qnext;
        if (!c->queue_head)
            c->queue_tail = NULL;
        r->in_queue = false;
        creq_maybe_free(r);
    }
    c->alive = NULL;
}

const char *sbi_client_response_header(const sbi_client_response_t *resp, const char *name)
{
    for (size_t i = 0; i < resp->n_headers; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    return NULL;
}

const char *sbi_client_strerror(sbi_client_err_t e)
{
    switch (e) {
    case SBI_CLIENT_OK:
        return "ok";
    case SBI_CLIENT_ERR_TIMEOUT:
        return "timeout";
    case SBI_CLIENT_ERR_CONNECT:
        return "connect failed";
    case SBI_CLIENT_ERR_CONNECTION:
        return "connection lost";
    case SBI_CLIENT_ERR_RESET:
        return "stream reset";
    case SBI_CLIENT_ERR_TOO_LARGE:
        return "response too large";
    }
    return "unknown";
}

/* ------------------------------------------------------------------------------------------------ nghttp2 */

static void clear_headers(creq_t *r)
{
    sbi_arena_reset(&r->arena);
    r->headers.n = 0;
    r->header_bytes = 0;
}

static int on_header_cb(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                        const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data)
{
    (void)flags;
    (void)user_data;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    creq_t *r = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (r)
        r->responded = true;
    if (!r || r->done || frame->headers.cat == NGHTTP2_HCAT_HEADERS)
        return 0; /* trailers are ignored */
    if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
        int status = 0;
        for (size_t i = 0; i < valuelen && i < 3; i++)
            status = status * 10 + (value[i] - '0'); /* nghttp2 checked: three digits */
        if (status >= 200)
            clear_headers(r); /* drop the headers of any 1xx */
        r->status = status;
        return 0;
    }
    r->header_bytes += namelen + valuelen + 32;
    if (r->header_bytes > SBI_CLIENT_MAX_HEADER_LIST)
        return 0;
    if (sbi_header_list_add(&r->headers, &r->arena, name, namelen, value, valuelen))
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

static int on_data_chunk_cb(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data, size_t len,
                            void *user_data)
{
    (void)flags;
    (void)user_data;
    creq_t *r = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!r || r->done)
        return 0;
    if (len > SBI_CLIENT_MAX_BODY - r->body_len) {
        creq_complete(r, SBI_CLIENT_ERR_TOO_LARGE);
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
        return 0;
    }
    if (sbi_buf_append(&r->body, &r->body_len, &r->body_cap, data, len) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

static int on_frame_recv_cb(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    (void)session;
    cconn_t *conn = sbi_session_owner(user_data);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        conn->dead = true; /* streams above last_stream_id are closed with REFUSED_STREAM by nghttp2 */
        log_debug(LOG_MOD, "GOAWAY from %s:%u", conn->host, conn->port);
    }
    return 0;
}

static int on_stream_close_cb(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *user_data)
{
    (void)user_data;
    creq_t *r = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!r)
        return 0;
    if (error_code == NGHTTP2_REFUSED_STREAM && creq_retry(r, true))
        return 0; /* GOAWAY below its id, or refused: not processed (RFC 9113 §8.7) */
    bool ok = error_code == NGHTTP2_NO_ERROR && r->status >= 200;
    creq_complete(r, ok ? SBI_CLIENT_OK : SBI_CLIENT_ERR_RESET);
    creq_unlink_conn(r);
    creq_maybe_free(r);
    return 0;
}

static nghttp2_session_callbacks *callbacks_new(void)
{
    nghttp2_session_callbacks *cb = sbi_session_callbacks_new();
    if (!cb)
        return NULL;
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header_cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk_cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close_cb);
    return cb;
}

/* ------------------------------------------------------------------------------------------------ connections */

static void conn_free(cconn_t *conn)
{
    sbi_client_t *c = conn->client;
    sbi_session_close(&conn->sess);
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        c->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    c->n_conns--;
    free(conn);
}

/* Completes every request on the connection with `err` and frees it. */
static void conn_fail(cconn_t *conn, sbi_client_err_t err)
{
    if (conn->reqs)
        log_info(LOG_MOD, "%s:%u: %s", conn->host, conn->port, sbi_client_strerror(err));
    conn->dead = true; /* a retry must not come back to it */
    while (conn->reqs) {
        creq_t *r = conn->reqs;
        if (err == SBI_CLIENT_ERR_CONNECTION && creq_retry(r, false))
            continue;
        creq_complete(r, err);
        creq_unlink_conn(r);
        creq_maybe_free(r);
    }
    conn_free(conn);
}

static int conn_flush(cconn_t *conn)
{
    return sbi_session_flush(&conn->sess);
}

/* The client's failure hook of the session pump: everything on the connection completes (or is retried). */
static void conn_on_end(void *owner, sbi_session_end_t why, const char *detail)
{
    cconn_t *conn = owner;
    switch (why) {
    case SBI_SESSION_END_ALPN:
        log_warn(LOG_MOD, "%s:%u: ALPN did not select h2", conn->host, conn->port);
        conn_fail(conn, SBI_CLIENT_ERR_CONNECT);
        return;
    case SBI_SESSION_END_RECV:
        log_info(LOG_MOD, "%s:%u: %s", conn->host, conn->port, detail);
        conn_fail(conn, SBI_CLIENT_ERR_CONNECTION);
        return;
    case SBI_SESSION_END_SEND:
    case SBI_SESSION_END_DONE: /* GOAWAY done: nothing is left on it */
        conn_fail(conn, SBI_CLIENT_ERR_CONNECTION);
        return;
    case SBI_SESSION_END_IO:
        if (detail)
            log_warn(LOG_MOD, "%s:%u: TLS: %s", conn->host, conn->port, detail);
        conn_fail(conn, conn->connected ? SBI_CLIENT_ERR_CONNECTION : SBI_CLIENT_ERR_CONNECT);
        return;
    }
}

static int conn_on_connected(void *owner)
{
    cconn_t *conn = owner;
    conn->connected = true;
    sbi_io_set_timeout(conn->sess.io, NULL);
    return 0;
}

static const sbi_session_role_t client_role = {.connected = conn_on_connected, .end = conn_on_end};

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss, int *len)
{
    struct evutil_addrinfo hints = {0}, *res = NULL;
    char port_text[8];
    snprintf(port_text, sizeof(port_text), "%u", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
    if (evutil_getaddrinfo(host, port_text, &hints, &res) != 0 || !res)
        return -1;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = (int)res->ai_addrlen;
    evutil_freeaddrinfo(res);
    return 0;
}

/* The connection's transport, not connected yet. */
static sbi_io_t *conn_io_new(cconn_t *conn, const sbi_url_t *u, int family)
{
    sbi_client_t *c = conn->client;
    evutil_socket_t fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    SSL *ssl = NULL;
    if (u->tls && (!(ssl = SSL_new(c->tls)) || sbi_tls_set_peer_name(ssl, u->host))) {
        SSL_free(ssl);
        evutil_closesocket(fd);
        return NULL;
    }
    sbi_io_t *io = sbi_io_new(c->base, fd, ssl, false, false, sbi_session_io_cbs(), &conn->sess);
    if (!io) {
        SSL_free(ssl);
        evutil_closesocket(fd);
    }
    return io;
}

static int conn_start_session(cconn_t *conn)
{
    if (nghttp2_session_client_new(&conn->sess.session, conn->client->callbacks, &conn->sess) != 0)
        return -1;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, SBI_CLIENT_MAX_HEADER_LIST},
    };
    return nghttp2_submit_settings(conn->sess.session, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0]));
}

static cconn_t *conn_new(sbi_client_t *c, const sbi_url_t *u)
{
    struct sockaddr_storage ss;
    int sslen;
    if (resolve(u->host, u->port, &ss, &sslen)) {
        log_warn(LOG_MOD, "cannot resolve %s", u->host);
        return NULL;
    }
    cconn_t *conn = calloc(1, sizeof(*conn));
    if (!conn)
        return NULL;
    conn->client = c;
    sbi_session_init(&conn->sess, &client_role, conn);
    conn->tls = u->tls;
    conn->port = u->port;
    snprintf(conn->host, sizeof(conn->host), "%s", u->host);
    conn->next = c->conns;
    if (c->conns)
        c->conns->prev = conn;
    c->conns = conn;
    c->n_conns++;
    conn->sess.io = conn_io_new(conn, u, ss.ss_family);
    if (!conn->sess.io || conn_start_session(conn)) {
        conn_free(conn);
        return NULL;
    }
    struct timeval tv = {SBI_CLIENT_CONNECT_TIMEOUT_MS / 1000, (SBI_CLIENT_CONNECT_TIMEOUT_MS % 1000) * 1000};
    sbi_io_set_timeout(conn->sess.io, &tv);
    if (sbi_io_connect(conn->sess.io, (struct sockaddr *)&ss, (socklen_t)sslen) != 0) {
        log_warn(LOG_MOD, "cannot connect to %s:%u", u->host, u->port);
        conn_free(conn);
        return NULL;
    }
    log_debug(LOG_MOD, "connecting to %s:%u (%s)", u->host, u->port, u->tls ? "TLS h2" : "h2c");
    return conn;
}

/* An idle established connection whose peer has closed (the EOF is in the socket, its read event not dispatched
 * yet) is freed here rather than given a request. Not while its own session is reading: the caller is inside it. */
static bool conn_usable(cconn_t *conn)
{
    if (conn->dead)
        return false;
    if (!conn->connected || conn->reqs || conn->sess.in_recv || conn->sess.in_send ||
        !sbi_io_peer_closed(conn->sess.io))
        return true;
    log_debug(LOG_MOD, "%s:%u: closed by the peer while idle", conn->host, conn->port);
    conn_fail(conn, SBI_CLIENT_ERR_CONNECTION); /* no requests on it: just freed */
    return false;
}

static cconn_t *conn_get(sbi_client_t *c, const sbi_url_t *u)
{
    cconn_t *next;
    for (cconn_t *conn = c->conns; conn; conn = next) {
        next = conn->next;
        if (conn->tls == u->tls && conn->port == u->port && strcmp(conn->host, u->host) == 0 && conn_usable(conn))
            return conn;
    }
    return conn_new(c, u);
}

/* ------------------------------------------------------------------------------------------------ requests */

static creq_t *creq_new(sbi_client_t *c, const sbi_client_req_t *rq, sbi_client_cb cb, void *ud)
{
    creq_t *r = malloc(sizeof(*r));
    if (!r)
        return NULL;
    memset(r, 0, offsetof(creq_t, inline_headers)); /* the inline buffers need no clearing */
    sbi_header_list_init(&r->headers, r->inline_headers, CREQ_INLINE_HEADERS);
    sbi_arena_init(&r->arena, r->arena_mem, sizeof(r->arena_mem));
    if (rq->body_len > 0) {
        r->req_body = rq->body_len <= sizeof(r->inline_body) ? r->inline_body : malloc(rq->body_len);
        if (!r->req_body) {
            free(r);
            return NULL;
        }
        memcpy(r->req_body, rq->body, rq->body_len);
        r->send = (sbi_session_body_t){r->req_body, rq->body_len, 0};
    }
    r->client = c;
    r->id = ++c->next_id;
    r->cb = cb;
    r->ud = ud;
    clock_gettime(CLOCK_MONOTONIC, &r->start);
    event_assign(&r->timer, c->base, -1, 0, creq_timeout_cb, r);
    return r;
}

static int submit(cconn_t *conn, creq_t *r, const sbi_client_req_t *rq, const sbi_url_t *u)
{
    nghttp2_nv nva[REQ_HEADERS_MAX];
    size_t n = 0;
    char length_text[24];
    nva[n++] = sbi_session_nv(":method", rq->method);
    nva[n++] = sbi_session_nv(":scheme", u->tls ? "https" : "http");
    nva[n++] = sbi_session_nv(":authority", u->authority);
    nva[n++] = sbi_session_nv(":path", u->path);
    if (rq->body_len > 0) {
        snprintf(length_text, sizeof(length_text), "%zu", rq->body_len);
        nva[n++] = sbi_session_nv("content-type", rq->content_type);
        nva[n++] = sbi_session_nv("content-length", length_text);
    }
    for (size_t i = 0; i < rq->n_headers; i++) {
        nva[n] = sbi_session_nv(rq->headers[i].name, rq->headers[i].value);
        if (strcasecmp(rq->headers[i].name, "authorization") == 0)
            nva[n].flags = NGHTTP2_NV_FLAG_NO_INDEX; /* RFC 7541 §7.1.3: credentials never enter HPACK tables */
        n++;
    }
    nghttp2_data_provider prd = sbi_session_body_provider(&r->send);
    int32_t sid = nghttp2_submit_request(conn->sess.session, NULL, nva, n, rq->body_len > 0 ? &prd : NULL, r);
    if (sid < 0) {
        log_warn(LOG_MOD, "submit %s %s: %s", rq->method, u->path, nghttp2_strerror(sid));
        return -1;
    }
    r->stream_id = sid;
    r->conn = conn;
    r->in_conn = true;
    r->next = conn->reqs;
    if (conn->reqs)
        conn->reqs->prev = r;
    conn->reqs = r;
    return 0;
}

/* RFC 9110 §9.2.2: PUT, DELETE and the safe methods (§9.2.1). */
static bool method_idempotent(const char *m)
{
    static const char *const idempotent[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};
    for (size_t i = 0; i < sizeof(idempotent) / sizeof(idempotent[0]); i++)
        if (strcmp(m, idempotent[i]) == 0)
            return true;
    return false;
}

static char *copy_str(char **at, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = memcpy(*at, s, n);
    *at += n;
    return p;
}

/* What a retry resubmits, in one block: the request, its header array, then every string. The body stays in
 * r->req_body. */
static sbi_client_req_t *replay_new(const sbi_client_req_t *rq)
{
    size_t size = sizeof(sbi_client_req_t) + rq->n_headers * sizeof(sbi_header_t) + strlen(rq->method) + 1 +
                  strlen(rq->url) + 1 + (rq->content_type ? strlen(rq->content_type) + 1 : 0);
    for (size_t i = 0; i < rq->n_headers; i++)
        size += strlen(rq->headers[i].name) + 1 + strlen(rq->headers[i].value) + 1;
    sbi_client_req_t *p = malloc(size);
    if (!p)
        return NULL;
    *p = *rq;
    sbi_header_t *h = (sbi_header_t *)(p + 1);
    char *at = (char *)(h + rq->n_headers);
    p->headers = rq->n_headers ? h : NULL;
    p->method = copy_str(&at, rq->method);
    p->url = copy_str(&at, rq->url);
    p->content_type = rq->content_type ? copy_str(&at, rq->content_type) : NULL;
    p->body = NULL; /* r->req_body */
    for (size_t i = 0; i < rq->n_headers; i++) {
        h[i].name = copy_str(&at, rq->headers[i].name);
        h[i].value = copy_str(&at, rq->headers[i].value);
    }
    return p;
}

/* Resubmits r on a fresh connection when the rule in the file header allows it (`refused`: the stream was refused,
 * so it was not processed wherever it went). Returns true when r is no longer the caller's to complete: it is on
 * another connection, or (connection failed at once) completed there. */
static bool creq_retry(creq_t *r, bool refused)
{
    if (!r->replay || r->retried || r->done || !r->cb || r->responded || !(refused || r->on_pooled))
        return false;
    cconn_t *old = r->conn;
    sbi_url_t u;
    if (sbi_url_parse(r->replay->url, &u))
        return false;
    r->retried = true;
    creq_unlink_conn(r);
    cconn_t *conn = conn_get(r->client, &u);
    r->send.off = 0;
    if (!conn || submit(conn, r, r->replay, &u)) {
        creq_complete(r, SBI_CLIENT_ERR_CONNECTION);
        creq_maybe_free(r);
        return true;
    }
    log_info(LOG_MOD, "%s %s: %s, retried on a %s connection", r->replay->method, u.path,
             refused ? "stream refused" : "connection lost before any answer", conn->connected ? "pooled" : "new");
    r->on_pooled = conn->connected;
    if (!conn->sess.in_recv && !conn->sess.in_send && conn != old)
        conn_flush(conn); /* a failure completes r (retried: no second retry) */
    return true;
}

uint64_t sbi_client_request(sbi_client_t *c, const sbi_client_req_t *rq, sbi_client_cb cb, void *ud)
{
    sbi_url_t u;
    if (!rq->method || !rq->url || strlen(rq->url) > SBI_CLIENT_URL_MAX || sbi_url_parse(rq->url, &u) ||
        (rq->body_len > 0 && !rq->content_type) || rq->n_headers > REQ_HEADERS_MAX - 6 ||
        (rq->n_headers && !rq->headers))
        return 0;
    if (u.tls && !c->tls) {
        log_warn(LOG_MOD, "%s: https needs a TLS context", rq->url);
        return 0;
    }
    cconn_t *conn = conn_get(c, &u);
    if (!conn)
        return 0;
    creq_t *r = creq_new(c, rq, cb, ud);
    if (!r)
        return 0;
    r->on_pooled = conn->connected;
    if (method_idempotent(rq->method) && !(r->replay = replay_new(rq))) {
        creq_free(r);
        return 0;
    }
    if (submit(conn, r, rq, &u)) {
        creq_free(r);
        return 0;
    }
    unsigned ms = rq->timeout_ms ? rq->timeout_ms : c->default_timeout_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(&r->timer, &tv);
    uint64_t id = r->id;
    if (!conn->sess.in_recv)
        conn_flush(conn); /* a failure completes r through the queue; the id stays valid for the caller */
    return id;
}

int sbi_client_cancel(sbi_client_t *c, uint64_t id)
{
    for (creq_t *r = c->queue_head; r; r = r->qnext) {
        if (r->id == id) {
            if (!r->cb)
                return -1;
            r->cb = NULL;
            return 0;
        }
    }
    for (cconn_t *conn = c->conns; conn; conn = conn->next) {
        for (creq_t *r = conn->reqs; r; r = r->next) {
            if (r->id != id || r->done)
                continue;
            r->cb = NULL;
            creq_complete(r, SBI_CLIENT_ERR_RESET); /* cb is NULL: nothing queued */
            creq_reset_stream(r);
            if (!conn->sess.in_recv)
                conn_flush(conn);
            return 0;
        }
    }
    return -1;
}

/* ------------------------------------------------------------------------------------------------ client */

sbi_client_t *sbi_client_new(struct event_base *base, const sbi_client_config_t *cfg)
{
    sbi_client_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->base = base;
    c->tls = cfg ? cfg->tls : NULL;
    c->default_timeout_ms = cfg && cfg->default_timeout_ms ? cfg->default_timeout_ms : SBI_CLIENT_TIMEOUT_MS_DEFAULT;
    c->complete_ev = event_new(base, -1, 0, complete_cb, c);
    c->callbacks = callbacks_new();
    if (!c->complete_ev || !c->callbacks) {
        sbi_client_free(c);
        return NULL;
    }
    return c;
}

void sbi_client_free(sbi_client_t *c)
{
    if (!c)
        return;
    if (c->alive)
        *c->alive = false;
    while (c->conns) {
        cconn_t *conn = c->conns;
        while (conn->reqs) {
            creq_t *r = conn->reqs;
            r->cb = NULL;
            creq_unlink_conn(r);
            creq_maybe_free(r);
        }
        conn_free(conn);
    }
    while (c->queue_head) {
        creq_t *r = c->queue_head;
        c->queue_head = r->qnext;
        creq_free(r);
    }
    if (c->complete_ev)
        event_free(c->complete_ev);
    if (c->callbacks)
        nghttp2_session_callbacks_del(c->callbacks);
    free(c);
}

size_t sbi_client_connection_count(const sbi_client_t *c)
{
    return c->n_conns;
}
