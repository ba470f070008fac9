/*
 * sbi_server_answer — how the SBI server answers a stream: a response (RFC 9113 §8.1: HEADERS with :status and
 * content-length, then DATA from the request's copy of the body), ProblemDetails (TS 29.500 §5.2.7, rendered by
 * sbi_problem.c) or RST_STREAM (§6.4). Every answer, the handlers' and the server's own, passes the observer and
 * the gate's `answered` hook here, and is flushed at once unless nghttp2 is inside mem_recv (then the pump
 * flushes when it returns), so several answers of one loop iteration share one write.
 */
#include "sbi/sbi_server_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define STATUS_TEXT_MAX 4

static void log_access(const sbi_request_t *req, int status)
{
    const char *path = req->conn->srv->redact_paths ? "(path not logged)" : req->path ? req->path : "-";

    log_debug(req->conn->srv->name, "%s %s %s -> %d", req->conn->peer, req->method ? req->method : "-", path, status);
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

    nghttp2_data_provider prd = sbi_session_body_provider(&req->resp);
    if (len > 0) {
        uint8_t *copy = sbi_arena_alloc(&req->arena, len);
        if (!copy)
            return -1;
        memcpy(copy, body, len);
        req->resp = (sbi_session_body_t){copy, len, 0};
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
int sbi_srv_respond_problem_with(sbi_request_t *req, const sbi_problem_t *p, const sbi_header_t *extra, size_t n_extra)
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
    if (req->answered ||
        nghttp2_submit_rst_stream(conn->sess.session, NGHTTP2_FLAG_NONE, req->stream_id, NGHTTP2_INTERNAL_ERROR) != 0)
        return -1;
    req->answered = true;
    log_access(req, 0);
    if (conn->srv->observer && conn->srv->observer->on_answer)
        conn->srv->observer->on_answer(req, 0, NULL, 0, NULL, 0, conn->srv->observer->ud);
    if (!conn->sess.in_recv)
        sbi_srv_conn_flush(conn); /* may free conn and req */
    return 0;
}
