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
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "sbi/sbi_buf.h"
#include "sbi/sbi_flat_json.h"

#define STATUS_TEXT_MAX 4

static ssize_t resp_read_cb(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                            uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
    (void)session;
    (void)stream_id;
    (void)user_data;
    sbi_request_t *req = source->ptr;
    size_t left = req->resp_len - req->resp_off;
    size_t n = left < length ? left : length;
    memcpy(buf, req->resp_body + req->resp_off, n);
    req->resp_off += n;
    if (req->resp_off == req->resp_len)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static void log_access(const sbi_request_t *req, int status)
{
    const char *path = req->conn->srv->redact_paths ? "(path not logged)" : req->path ? req->path : "-";

    log_debug(req->conn->srv->name, "%s %s %s -> %d", req->conn->peer, req->method ? req->method : "-", path,
              status);
}

int sbi_respond_ex(sbi_request_t *req, int status, const sbi_header_t *headers, size_t n_headers, const void *body,
                   size_t len)
{
    if (!req || req->answered || status < 100 || status > 999 || n_headers > RESP_HEADERS_MAX - 2)
        return -1;
    char status_text[STATUS_TEXT_MAX], length_text[24];
    snprintf(status_text, sizeof(status_text), "%d", status);
    snprintf(length_text, sizeof(length_text), "%zu", len);
    nghttp2_nv nva[RESP_HEADERS_MAX];
    size_t n = 0;
    nva[n++] = sbi_session_nv(":status", status_text);
    for (size_t i = 0; i < n_headers; i++)
        nva[n++] = sbi_session_nv(headers[i].name, headers[i].value);
    nva[n++] = sbi_session_nv("content-length", length_text);

    nghttp2_data_provider prd = {.source.ptr = req, .read_callback = resp_read_cb};
    if (len > 0) {
        req->resp_body = sbi_arena_alloc(&req->arena, len);
        if (!req->resp_body)
            return -1;
        memcpy(req->resp_body, body, len);
        req->resp_len = len;
    }
    sbi_conn_t *conn = req->conn;
    if (nghttp2_submit_response(conn->sess.session, req->stream_id, nva, n, len > 0 ? &prd : NULL) != 0)
        return -1;
    req->answered = true;
    log_access(req, status);
    if (conn->srv->observer && conn->srv->observer->on_answer)
        conn->srv->observer->on_answer(req, status, headers, n_headers, body, len, conn->srv->observer->ud);
    if (conn->srv->gate.answered)
        conn->srv->gate.answered(req, status, conn->srv->gate.ud);
    if (!conn->sess.in_recv)
        sbi_srv_conn_flush(conn); /* may free conn and req; neither is touched after this */
    return 0;
}

int sbi_respond(sbi_request_t *req, int status, const char *content_type, const void *body, size_t len)
{
    sbi_header_t h = {"content-type", content_type};
    return sbi_respond_ex(req, status, &h, content_type ? 1 : 0, body, len);
}

int sbi_respond_json(sbi_request_t *req, int status, const json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        return -1;
    int rc = sbi_respond(req, status, SBI_CT_JSON, text, strlen(text));
    free(text);
    return rc;
}

/* The single place that sends ProblemDetails; `extra` carries e.g. Allow for 405. */
int sbi_srv_respond_problem_with(sbi_request_t *req, const sbi_problem_t *p, const sbi_header_t *extra,
                                size_t n_extra)
{
    size_t len = 0;
    char *text = sbi_problem_render(p, &len);
    if (!text)
        return -1;
    sbi_header_t h[RESP_HEADERS_MAX - 2];
    size_t n = 0;
    h[n++] = (sbi_header_t){"content-type", SBI_CT_PROBLEM};
    for (size_t i = 0; i < n_extra && n < sizeof(h) / sizeof(h[0]); i++)
        h[n++] = extra[i];
    if (req && req->conn)
        log_debug(req->conn->srv->name, "problem %d %s: %s", p->status, p->cause ? p->cause : "-",
                  p->detail ? p->detail : "-");
    int rc = sbi_respond_ex(req, p->status, h, n, text, len);
    free(text);
    return rc;
}

int sbi_respond_problem(sbi_request_t *req, const sbi_problem_t *p)
{
    return sbi_srv_respond_problem_with(req, p, NULL, 0);
}

int sbi_respond_problem_ex(sbi_request_t *req, const sbi_problem_t *p, const sbi_header_t *extra, size_t n_extra)
{
    return sbi_srv_respond_problem_with(req, p, extra, n_extra);
}

int sbi_respond_error(sbi_request_t *req, int status, const char *cause, const char *detail_fmt, ...)
{
    char detail[DETAIL_MAX];
    va_list ap;
    va_start(ap, detail_fmt);
    vsnprintf(detail, sizeof(detail), detail_fmt, ap);
    va_end(ap);
    sbi_problem_t p = {.status = status, .cause = cause, .detail = detail};
    return sbi_srv_respond_problem_with(req, &p, NULL, 0);
}

int sbi_request_reset(sbi_request_t *req)
{
    sbi_conn_t *conn = req->conn;
    if (req->answered || nghttp2_submit_rst_stream(conn->sess.session, NGHTTP2_FLAG_NONE, req->stream_id,
                                                   NGHTTP2_INTERNAL_ERROR) != 0)
        return -1;
    req->answered = true;
    log_access(req, 0);
    if (conn->srv->observer && conn->srv->observer->on_answer)
        conn->srv->observer->on_answer(req, 0, NULL, 0, NULL, 0, conn->srv->observer->ud);
    if (!conn->sess.in_recv)
        sbi_srv_conn_flush(conn); /* may free conn and req */
    return 0;
}

/* The live request of a handle, answered or not. */
static sbi_request_t *find_request(sbi_server_t *srv, sbi_handle_t h)
{
    for (sbi_conn_t *c = srv->conns; c; c = c->next) {
        if (c->id != h.conn_id)
            continue;
        return c->sess.session ? nghttp2_session_get_stream_user_data(c->sess.session, h.stream_id) : NULL;
    }
    return NULL;
}

sbi_request_t *sbi_server_find(sbi_server_t *srv, sbi_handle_t h)
{
    sbi_request_t *req = find_request(srv, h);
    return req && !req->answered ? req : NULL;
}

static void answer_no_route(sbi_request_t *req, sbi_route_result_t rr)
{
    if (rr == SBI_ROUTE_METHOD_NOT_ALLOWED) {
        sbi_header_t allow = {"allow", req->match.allow};
        char detail[DETAIL_MAX];
        snprintf(detail, sizeof(detail), "%s is not allowed on this resource", req->method);
        sbi_problem_t p = {.status = 405, .detail = detail};
        sbi_srv_respond_problem_with(req, &p, &allow, 1);
        return;
    }
    sbi_respond_error(req, 404, SBI_CAUSE_RESOURCE_URI_STRUCTURE_NOT_FOUND, "no resource at %.128s",
                      req->path_only);
}

static int parse_body(sbi_request_t *req)
{
    const char *raw_type = req->match.raw_type;
    if (req->body_len == 0)
        return 0;
    if (raw_type && sbi_srv_content_type_is(req->content_type, raw_type)) {
        req->body_raw = true;
        return 0;
    }
    if (!sbi_srv_content_type_is_json(req->content_type)) {
        sbi_respond_error(req, 415, SBI_CAUSE_UNSUPPORTED_MEDIA_TYPE, "content-type %.64s is not JSON%s%.64s",
                          req->content_type ? req->content_type : "(absent)", raw_type ? " nor " : "",
                          raw_type ? raw_type : "");
        return -1;
    }
    if (sbi_flat_json_parse(req->body, req->body_len, &req->flat)) {
        req->json_lazy = true; /* valid JSON for sure: no 400 to decide, and jansson only on demand */
        return 0;
    }
    json_error_t jerr;
    req->json = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!req->json) {
        sbi_respond_error(req, 400, SBI_CAUSE_INVALID_MSG_FORMAT, "body:%d:%d: %s", jerr.line, jerr.column,
                          jerr.text);
        return -1;
    }
    return 0;
}

static void dispatch(sbi_request_t *req)
{
    sbi_server_t *srv = req->conn->srv;
    sbi_conn_t *conn = req->conn;
    if (!conn->progressed) /* the header deadline is met: the idle one starts (the first time only) */
        event_add(&conn->deadline, &srv->idle_tv);
    conn->progressed = true; /* only a complete request moves the connection's deadline */
    event_base_gettimeofday_cached(srv->base, &conn->last_progress);
    if (!req->method || !req->path || sbi_srv_split_target(req)) {
        sbi_respond_error(req, 400, SBI_CAUSE_INVALID_MSG_FORMAT, "missing :method or :path");
        return;
    }
    long bad = sbi_target_control_char(req->path);
    if (bad >= 0) {
        sbi_srv_peer_log(srv, "%s: %s request refused: control character at offset %ld of its :path", conn->peer,
                 req->method, bad);
        sbi_respond_error(req, 400, SBI_CAUSE_INVALID_MSG_FORMAT,
                          "the :path carries a control character (raw or percent-encoded) at offset %ld", bad);
        return;
    }
    sbi_route_result_t rr = sbi_router_match(srv->router, req->method, req->path_buf, &req->match);
    if (rr != SBI_ROUTE_FOUND) {
        answer_no_route(req, rr);
        return;
    }
    if (parse_body(req))
        return;
    if (sbi_srv_parse_query(req)) {
        sbi_respond_error(req, 400, SBI_CAUSE_INVALID_QUERY_PARAM, "more than %d query parameters",
                          SBI_MAX_QUERY_PARAMS);
        return;
    }
    if (srv->observer && srv->observer->before_handler && srv->observer->before_handler(req, srv->observer->ud))
        return;
    req->match.handler(req, req->match.ud);
}

void sbi_request_run(sbi_request_t *req)
{
    if (!req->answered)
        req->match.handler(req, req->match.ud);
}

/* The server's gate (sbi_server_set_gate) over a request whose headers are in. A header list too large to have
 * been kept whole is left to the 431 (its credentials may be among the headers dropped), a request without
 * :method or :path to dispatch's 400. */
static void gate_admit(sbi_request_t *req)
{
    sbi_server_t *srv = req->conn->srv;
    if (!srv->gate.admit || req->headers_too_large || !req->method || !req->path || sbi_srv_split_target(req))
        return;
    srv->gate.admit(req, srv->gate.ud);
}

static void answer_too_large(sbi_request_t *req)
{
    if (req->answered)
        return;
    if (req->headers_too_large) {
        sbi_problem_t p = {.status = 431, .detail = "header list exceeds the advertised SETTINGS_MAX_HEADER_LIST_SIZE"};
        sbi_respond_problem(req, &p);
        return;
    }
    sbi_respond_error(req, 413, SBI_CAUSE_PAYLOAD_TOO_LARGE, "body exceeds %zu bytes", req->conn->srv->max_body);
}

static void request_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sbi_request_t *req = arg;
    sbi_conn_t *conn = req->conn;
    sbi_server_t *srv = conn->srv;
    sbi_handle_t h = sbi_request_handle(req);
    long ms = (long)(srv->stream_tv.tv_sec * 1000 + srv->stream_tv.tv_usec / 1000);
    if (req->answered) {
        /* the client does not read the answer: give the stream up */
        nghttp2_submit_rst_stream(conn->sess.session, NGHTTP2_FLAG_NONE, req->stream_id, NGHTTP2_CANCEL);
        sbi_srv_conn_flush(conn);
        return;
    }
    if (!req->complete)
        sbi_respond_error(req, 408, NULL, "request not complete within %ld ms", ms);
    else
        sbi_respond_error(req, 504, SBI_CAUSE_TIMED_OUT_REQUEST, "no answer within %ld ms", ms);
    /* the answer's flush may have closed the stream or the connection; if the stream lives on (the client does
     * not read), the next expiry resets it */
    req = find_request(srv, h);
    if (req)
        event_add(&req->timer, srv->stream_timeout);
}

static int on_begin_headers_cb(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    sbi_conn_t *conn = sbi_session_owner(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    sbi_request_t *req = sbi_srv_request_new(conn, frame->hd.stream_id, request_timeout_cb);
    if (!req)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets this stream only */
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, req);
    return 0;
}

static int on_header_cb(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                        const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data)
{
    (void)flags;
    (void)user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* trailers are ignored */
    sbi_request_t *req = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!req || req->headers_too_large)
        return 0;
    req->header_bytes += namelen + valuelen + 32; /* RFC 9113 §6.5.2 accounting */
    if (req->header_bytes > req->conn->srv->max_header_list) {
        req->headers_too_large = true;
        return 0;
    }
    if (sbi_srv_request_store_header(req, name, namelen, value, valuelen))
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

static int on_data_chunk_cb(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data,
                            size_t len, void *user_data)
{
    (void)flags;
    (void)user_data;
    sbi_request_t *req = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!req || req->answered || req->body_too_large)
        return 0; /* discarded; flow control is still credited by nghttp2 */
    size_t max = req->conn->srv->max_body;
    if (len > max - req->body_len) {
        req->body_too_large = true;
        answer_too_large(req);
        return 0;
    }
    if (sbi_buf_append(&req->body, &req->body_len, &req->body_cap, data, len) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

static int on_frame_recv_cb(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    (void)user_data;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    sbi_request_t *req = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!req)
        return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        gate_admit(req); /* a refusal answers now: the body, if any, is discarded as it comes */
        if (!req->answered && req->content_length > (long long)req->conn->srv->max_body)
            req->body_too_large = true;
        if (req->headers_too_large || req->body_too_large)
            answer_too_large(req);
    }
    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    req->complete = true;
    if (!req->answered)
        dispatch(req);
    return 0;
}

static int on_stream_close_cb(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *user_data)
{
    (void)error_code;
    (void)user_data;
    sbi_request_t *req = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!req)
        return 0;
    sbi_srv_request_free(req);
    return 0;
}

nghttp2_session_callbacks *sbi_srv_callbacks_new(void)
{
    nghttp2_session_callbacks *cb = sbi_session_callbacks_new();
    if (!cb)
        return NULL;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers_cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header_cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk_cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close_cb);
    return cb;
}

#define LISTEN_BACKLOG 512 /* h2load -c 50 and bursts of reconnecting AS workers */

/* The listener is full. h2c: the server preface and GOAWAY(NO_ERROR, last stream 0: nothing was processed, retry
 * elsewhere or later) in one non-blocking send, then close. TLS: close at once, since a handshake per refused
 * connection would spend the CPU the cap protects. What the client already sent is read first so that the close
 * is a FIN, not a reset that could destroy the GOAWAY before the client reads it. */
static void refuse_connection(sbi_server_t *srv, evutil_socket_t fd)
{
    static const uint8_t refusal[] = {
        0, 0, 0, NGHTTP2_SETTINGS, 0, 0, 0, 0, 0,                          /* empty SETTINGS (server preface) */
        0, 0, 8 + 16, NGHTTP2_GOAWAY, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* GOAWAY, last stream 0, NO_ERROR */
        'c', 'o', 'n', 'n', 'e', 'c', 't', 'i', 'o', 'n', 's', ' ', 'f', 'u', 'l', 'l'};
    if (!srv->tls) {
        uint8_t scratch[512];
        while (recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0)
            ;
        (void)send(fd, refusal, sizeof refusal, MSG_DONTWAIT | MSG_NOSIGNAL);
        shutdown(fd, SHUT_WR);
    }
    evutil_closesocket(fd);
}

static void accept_cb(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
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
    srv->guard = listen_guard_new(srv->base, srv->listener, srv->name, srv->max_connections, srv->metrics, accept_cb,
                                  srv);
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

uint16_t sbi_server_port(const sbi_server_t *srv) { return srv->port; }

bool sbi_server_is_tls(const sbi_server_t *srv) { return srv->tls != NULL; }

size_t sbi_server_connection_count(const sbi_server_t *srv) { return srv->n_conns; }

sbi_server_stats_t sbi_server_stats(const sbi_server_t *srv)
{
    listen_guard_stats_t g = srv->guard ? listen_guard_stats(srv->guard) : (listen_guard_stats_t){0};
    sbi_server_stats_t st = {srv->n_conns, g.refused, g.accept_errors, g.deadline_closed[LISTEN_DEADLINE_HEADER],
                             g.deadline_closed[LISTEN_DEADLINE_IDLE]};
    return st;
}

struct event_base *sbi_server_base(const sbi_server_t *srv) { return srv->base; }

void sbi_server_set_observer(sbi_server_t *srv, const sbi_observer_t *observer) { srv->observer = observer; }

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
