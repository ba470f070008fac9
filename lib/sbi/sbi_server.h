/*
 * sbi_server — an HTTP/2 server for 5G SBI producers (TS 29.500 §5, RFC 9113) on nghttp2 and libevent.
 *
 * One server = one listener on one event_base; a program may run several (the UDM's SBI and admin ports). h2c
 * with prior knowledge (RFC 9113 §3.3) or TLS 1.3 with ALPN "h2" (sbi_tls.h). Requests are routed by method and
 * path pattern (sbi_router.h) and handed over complete: headers, decoded query, captures and, for a JSON body,
 * the parsed document. The server answers on its own, through sbi_respond_problem(), every request that never
 * reaches a handler (after the server's gate, when one is set: sbi_server_set_gate, e.g. sbi_auth's 401/429):
 *   400 INVALID_MSG_FORMAT   the body is not valid JSON (detail names line:column), or the :path carries a control
 *                            character, raw or percent-encoded (%00 would cut a decoded identifier short)
 *   400 INVALID_QUERY_PARAM  more than SBI_MAX_QUERY_PARAMS query parameters
 *   404 RESOURCE_URI_STRUCTURE_NOT_FOUND  no route matches the path
 *   405 (Allow: ...)         the path exists, not with this method
 *   408                      the request did not arrive completely within the stream timeout
 *   413 PAYLOAD_TOO_LARGE    the body (or its content-length) exceeds max_body
 *   415 UNSUPPORTED_MEDIA_TYPE  a non-empty body whose content-type is not application/json or application/<any>+json
 *   431                      the header list exceeds max_header_list (also advertised in SETTINGS)
 *   504 TIMED_OUT_REQUEST    the handler did not answer within the stream timeout
 * and it sends GOAWAY(NO_ERROR) on a connection that completed no request for idle_timeout_ms, closing it at the
 * next expiry; a connection that completes no request within header_timeout_ms of accept (TLS handshake included)
 * is closed, and at most max_connections are open at once (listen_guard.h: refusal, accept errors, metrics).
 *
 * Handlers answer synchronously (call sbi_respond* before returning) or later: keep sbi_request_handle(req) and
 * call sbi_server_find() when the answer is ready. The handle names the stream by connection id and stream id, so
 * an answer for a stream the client reset, that timed out or whose connection closed is detected (NULL) and
 * dropped instead of used after free. The request pointer itself is valid only until the handler returns or, for
 * a deferred answer, until the next return to the event loop.
 *
 * No peer input reaches an assert or abort: malformed frames are nghttp2's stream or connection errors, anything
 * else above is an HTTP answer. The session is flushed after every receive, so SETTINGS are acknowledged at once.
 */
#ifndef MIHUA_SBI_SERVER_H
#define MIHUA_SBI_SERVER_H

#include <event2/event.h>
#include <jansson.h>

#include "sbi/sbi_flat_json.h"
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/listen_guard.h"
#include "core/metrics.h"
#include "sbi/sbi_problem.h"
#include "sbi/sbi_router.h"

/* Default limits, each with its reason. sbi_server_config_t may lower (tests) or raise them. */
#define SBI_MAX_HEADER_LIST_DEFAULT \
    16384 /* RFC 9113 §6.5.2 size (name+value+32 each); 16 KiB fits any SBI request
                                             with a bearer token, and bounds HPACK work per stream */
#define SBI_MAX_BODY_DEFAULT \
    (1024 * 1024) /* the largest SBI body mihua accepts (a full subscriber list PUT via the
                                              admin API); a UDM request body is a few hundred bytes */
#define SBI_STREAM_TIMEOUT_MS_DEFAULT \
    10000                                 /* request arrival + handler; well above the AS lookup budget (300 ms)
                                               and bounds slow-loris streams */
#define SBI_MAX_CONCURRENT_STREAMS 128    /* per connection (SETTINGS); RFC 9113 §6.5.2 recommends >= 100 */
#define SBI_MAX_QUERY_PARAMS 32           /* TS 29.5xx queries carry a handful of parameters */
#define SBI_OUTPUT_HIGH_WATER (64 * 1024) /* stop producing frames while this much waits for the socket */
#define SBI_DRAIN_TIMEOUT_MS 5000         /* sbi_server_drain: streams still open after this are cut */
#define SBI_IDLE_TIMEOUT_MS \
    LISTEN_IDLE_TIMEOUT_MS_DEFAULT /* no complete request for this long: GOAWAY (streams
                                             in flight finish), and close at the next expiry; frees the sockets of
                                             vanished peers, clients reconnect transparently. Bytes that complete no
                                             request (PING, a header trickling in) do not reset it */
#define SBI_HEADER_TIMEOUT_MS \
    LISTEN_HEADER_TIMEOUT_MS_DEFAULT /* accept to the first complete request, TLS
                                             handshake included; then the connection is closed */
#define SBI_MAX_CONNECTIONS_DEFAULT \
    LISTEN_MAX_CONNECTIONS_DEFAULT /* per server; more are refused (see
                                             sbi_server_config_t.max_connections) */

typedef struct sbi_server sbi_server_t;

typedef struct {
    SSL_CTX *tls;               /* NULL: h2c prior knowledge; else TLS (borrowed, must outlive the server) */
    size_t max_header_list;     /* 0: SBI_MAX_HEADER_LIST_DEFAULT */
    size_t max_body;            /* 0: SBI_MAX_BODY_DEFAULT */
    unsigned stream_timeout_ms; /* 0: SBI_STREAM_TIMEOUT_MS_DEFAULT */
    unsigned idle_timeout_ms;   /* 0: SBI_IDLE_TIMEOUT_MS */
    unsigned header_timeout_ms; /* 0: SBI_HEADER_TIMEOUT_MS */
    size_t max_connections;     /* 0: SBI_MAX_CONNECTIONS_DEFAULT; when full a new connection gets (h2c) the server
                                   preface and GOAWAY(NO_ERROR, last stream 0) and is closed, (TLS) closed at once */
    metrics_t *metrics;         /* NULL, or where the listener's counters go (lib/core/listen_guard.h) */
    const char *name;           /* for log lines, e.g. "udm"; NULL: "sbi" */
    bool redact_paths;          /* access log without paths: they carry secrets (the KMS's keyIds) */
} sbi_server_config_t;

/* A name/value pair; used for request headers, extra response headers and the client. */
typedef struct {
    const char *name; /* lower case on the wire (RFC 9113 §8.2.1) */
    const char *value;
} sbi_header_t;

/* Names a stream across an asynchronous hop. conn_id is never reused within a server. */
typedef struct {
    uint64_t conn_id;
    int32_t stream_id;
} sbi_handle_t;

/* Copies a daemon's configured listener limits (listen_guard.h) into `cfg`. */
void sbi_server_config_limits(sbi_server_config_t *cfg, const listen_limits_t *limits);

/* cfg may be NULL (h2c, defaults). The server owns its router; add routes before or after listening. */
sbi_server_t *sbi_server_new(struct event_base *base, const sbi_server_config_t *cfg);
/* Closes the listener and every connection at once (open streams are cut). NULL is fine. */
void sbi_server_free(sbi_server_t *srv);

int sbi_server_route(sbi_server_t *srv, const char *method, const char *pattern, sbi_handler_fn fn, void *ud);

/* A gate over every request of the server, whatever its route (authentication, lib/sbi/sbi_auth.h). `admit` runs
 * once a request's headers are in, before its body is read and before routing or any other check: when it
 * answers (sbi_respond*), the request stops there and the rest of its body is discarded; a request answered
 * there does not count as the connection's progress (listener deadlines). `answered` (may be NULL) runs after
 * every answer the server sends, with its status (audit lines). One gate per server; NULL `admit` removes it. */
typedef struct {
    void (*admit)(sbi_request_t *req, void *ud);
    void (*answered)(const sbi_request_t *req, int status, void *ud);
    void *ud;
} sbi_gate_t;
void sbi_server_set_gate(sbi_server_t *srv, const sbi_gate_t *gate);
/* A route that takes JSON as above and also bodies of media type `raw_type` unparsed (sbi_router_add_raw): the
 * handler tells them apart with sbi_request_body_raw and answers their 400s itself. */
int sbi_server_route_raw(sbi_server_t *srv, const char *method, const char *pattern, const char *raw_type,
                         sbi_handler_fn fn, void *ud);

/* Binds `addr` (IPv4 or IPv6 literal, or "localhost") and `port` (0: any free port). Returns 0, or -1 with errno
 * and a log line. */
int sbi_server_listen(sbi_server_t *srv, const char *addr, uint16_t port);
/* The bound port (useful after listening on port 0), 0 before listening. */
uint16_t sbi_server_port(const sbi_server_t *srv);
bool sbi_server_is_tls(const sbi_server_t *srv);

/* Graceful stop (SIGTERM): closes the listener, sends GOAWAY(NO_ERROR) on every connection, lets open streams
 * finish and closes each connection when it has none; connections still open after SBI_DRAIN_TIMEOUT_MS are
 * closed. `done` (may be NULL) is called from the loop once no connection is left. */
void sbi_server_drain(sbi_server_t *srv, void (*done)(void *ud), void *ud);

/* Number of open connections / streams being served (tests, metrics). */
size_t sbi_server_connection_count(const sbi_server_t *srv);

typedef struct {
    size_t connections;      /* open now */
    uint64_t refused;        /* closed at accept: max_connections reached (or shed on EMFILE) */
    uint64_t accept_errors;  /* accept(2) failures; the listener backed off */
    uint64_t header_expired; /* closed: no complete request within header_timeout_ms of accept */
    uint64_t idle_expired;   /* closed: no complete request within idle_timeout_ms (after GOAWAY) */
} sbi_server_stats_t;
sbi_server_stats_t sbi_server_stats(const sbi_server_t *srv);

/* Hooks for a test double (lib/sim: request journal, fault injection); NULL members are skipped. */
typedef struct {
    /* After routing and body checks, before the route's handler. True when the hook took the request: it
     * answered, reset the stream, or keeps sbi_request_handle() to call sbi_request_run() later. */
    bool (*before_handler)(sbi_request_t *req, void *ud);
    /* Every answer submitted on this server, the handlers' and the server's own (404, 405, 413, 415, ...);
     * status 0 for a stream reset by sbi_request_reset. `body` is the answer's (not yet sent). */
    void (*on_answer)(sbi_request_t *req, int status, const sbi_header_t *headers, size_t n_headers, const void *body,
                      size_t len, void *ud);
    void *ud;
} sbi_observer_t;

/* Sets (or with NULL removes) the observer; it is borrowed and must outlive the server's requests. */
void sbi_server_set_observer(sbi_server_t *srv, const sbi_observer_t *observer);
struct event_base *sbi_server_base(const sbi_server_t *srv);

/* --- inside a handler ------------------------------------------------------------------------------------ */

const char *sbi_request_method(const sbi_request_t *req);
const char *sbi_request_path(const sbi_request_t *req);  /* without the query, as received (not decoded) */
const char *sbi_request_query(const sbi_request_t *req); /* raw query string after '?', or NULL */
/* A query parameter, percent-decoded; NULL when absent. The first occurrence wins. */
const char *sbi_request_query_param(const sbi_request_t *req, const char *name);
/* A `{name}` capture of the route, percent-decoded; NULL when the pattern has no such capture. */
const char *sbi_request_capture(const sbi_request_t *req, const char *name);
/* A request header by name (case-insensitive), NULL when absent. Pseudo-headers are not included. */
const char *sbi_request_header(const sbi_request_t *req, const char *name);
const char *sbi_request_authority(const sbi_request_t *req); /* :authority, or NULL */
/* The client's address and port as text: "192.0.2.1:40000" or "[2001:db8::1]:40000". */
const char *sbi_request_peer(const sbi_request_t *req);
const void *sbi_request_body(const sbi_request_t *req, size_t *len);
/* True when the body is of the route's raw media type (sbi_server_route_raw): not parsed, sbi_request_json and
 * sbi_request_flat give NULL, sbi_request_body has it. */
bool sbi_request_body_raw(const sbi_request_t *req);
/* The parsed JSON body (borrowed), or NULL when the request had no body. A flat body (below) is parsed by jansson
 * on the first call only. */
json_t *sbi_request_json(const sbi_request_t *req);
/* The body's members without jansson when it is a flat object (sbi_flat_json.h), else NULL: then use
 * sbi_request_json. Either view of one body has the same members. */
const sbi_flat_json_t *sbi_request_flat(const sbi_request_t *req);
sbi_handle_t sbi_request_handle(const sbi_request_t *req);
/* Milliseconds since the request's first header arrived (meaningful only while an observer is set). */
double sbi_request_elapsed_ms(const sbi_request_t *req);
/* Runs the route's handler now for a request an observer took (a delayed answer); nothing if already answered. */
void sbi_request_run(sbi_request_t *req);
/* Resets the stream (RST_STREAM INTERNAL_ERROR) instead of answering. 0, or -1 if already answered. */
int sbi_request_reset(sbi_request_t *req);
sbi_server_t *sbi_request_server(const sbi_request_t *req);

/* The request a handle names, or NULL when its stream or connection has gone away or it was answered. */
sbi_request_t *sbi_server_find(sbi_server_t *srv, sbi_handle_t h);

/* --- answers: each returns 0, or -1 when the request was already answered or the answer could not be queued -- */

/* `content_type` may be NULL when len == 0. `body` is copied. */
int sbi_respond(sbi_request_t *req, int status, const char *content_type, const void *body, size_t len);
/* With extra headers (e.g. Location, Allow); include content-type among them when there is a body. */
int sbi_respond_ex(sbi_request_t *req, int status, const sbi_header_t *headers, size_t n_headers, const void *body,
                   size_t len);
/* application/json, compact rendering; `body` is borrowed. */
int sbi_respond_json(sbi_request_t *req, int status, const json_t *body);
/* THE error answer: application/problem+json rendered from `p` (sbi_problem.h). */
int sbi_respond_problem(sbi_request_t *req, const sbi_problem_t *p);
/* The same with extra headers (WWW-Authenticate, Retry-After). */
int sbi_respond_problem_ex(sbi_request_t *req, const sbi_problem_t *p, const sbi_header_t *extra, size_t n_extra);
/* Shorthand for sbi_respond_problem with a printf-style detail and no invalidParams. cause may be NULL. */
int sbi_respond_error(sbi_request_t *req, int status, const char *cause, const char *detail_fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
