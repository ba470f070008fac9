/*
 * sbi_server_stream — the SBI server's nghttp2 callbacks: a stream's request HEADERS (RFC 9113 §8.1, §8.3),
 * DATA, END_STREAM and close. Per stream a request collects headers (bounded by the advertised
 * SETTINGS_MAX_HEADER_LIST_SIZE, §6.5.2: 431) and body (bounded: 413), passes the server's gate once its headers
 * are in, and is dispatched at END_STREAM: route (404/405) → content-type (415) → JSON parse (400) → handler.
 * A route with a raw media type (sbi_server_route_raw) takes bodies of that type unparsed. Early answers
 * (413/431, the gate's) go out as soon as they are known; the rest of the request is read and discarded, so the
 * client sees a clean response instead of a reset.
 *
 * Asynchronous answers use a handle {conn_id, stream_id}: conn_id is never reused, and the request is found
 * through nghttp2_session_get_stream_user_data, NULL once nghttp2 closed the stream. Each request's timer, on a
 * libevent common timeout (one queue, O(1) insert), answers 408 or 504 if nothing else did, or resets the stream
 * if the client does not read the answer.
 */
#include "sbi/sbi_server_int.h"

#include <stdio.h>
#include <stdlib.h>

#include "sbi/sbi_buf.h"
#include "sbi/sbi_flat_json.h"

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
    sbi_respond_error(req, 404, SBI_CAUSE_RESOURCE_URI_STRUCTURE_NOT_FOUND, "no resource at %.128s", req->path_only);
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
        sbi_respond_error(req, 400, SBI_CAUSE_INVALID_MSG_FORMAT, "body:%d:%d: %s", jerr.line, jerr.column, jerr.text);
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

static int on_data_chunk_cb(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data, size_t len,
                            void *user_data)
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
