/*
 * sbi_server_int — what the files of the SBI server share and nothing else uses: the request, connection and
 * server objects and the functions one file calls in another. Internal to lib/sbi; the contract is sbi_server.h.
 *
 * The files, each calling only those below it:
 *   sbi_server.c         the server object, listener (accept, refusal when full) and graceful drain
 *   sbi_server_stream.c  nghttp2 callbacks: a stream's headers, body, END_STREAM and dispatch to a handler
 *   sbi_server_answer.c  answers (sbi_respond*, ProblemDetails) and stream resets
 *   sbi_server_conn.c    one connection: session start, failure hook of the pump, deadlines, close
 *   sbi_server_parse.c   request target, query and content-type parsing
 *   sbi_server_req.c     the request object: arena-backed strings, headers, accessors
 * with sbi_session.c (the byte pump), sbi_arena.c and sbi_io.c underneath.
 */
#ifndef MIHUA_SBI_SERVER_INT_H
#define MIHUA_SBI_SERVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <nghttp2/nghttp2.h>

#include "core/listen_guard.h"
#include "core/ratelimit.h"
#include "sbi/sbi_arena.h"
#include "sbi/sbi_server.h"
#include "sbi/sbi_session.h"

#define PEER_MAX 64         /* "[v6 address]:port" */
#define DETAIL_MAX 256      /* detail text of server-built ProblemDetails */
#define RESP_HEADERS_MAX 16 /* :status, content-type, content-length and extras */
#define REQ_ARENA_INLINE \
    1024                      /* pseudo-headers, headers, path copies and a pre-rendered answer of a typical SBI
                                 request fit, so the hot path does not call malloc per string */
#define REQ_INLINE_HEADERS 12 /* regular headers before the array moves to the heap */

typedef struct sbi_conn sbi_conn_t;

typedef struct {
    char *name;
    char *value;
} query_param_t;

struct sbi_request {
    sbi_conn_t *conn;
    int32_t stream_id;
    struct sbi_request *prev, *next; /* in conn->requests */

    char *method, *path, *scheme, *authority; /* :path kept whole; path_buf is the routing copy */
    char *path_buf;                           /* route-split copy of the path, captures point into it */
    char *path_only;                          /* the path without query, as received */
    const char *query;                        /* raw, after '?' (points into path) */
    char *query_buf;                          /* decoded copy the params point into */
    query_param_t query_params[SBI_MAX_QUERY_PARAMS];
    size_t n_query_params;
    sbi_header_list_t headers;
    size_t header_bytes;
    const char *content_type; /* points into headers */
    long long content_length; /* -1: absent */

    char *body;
    size_t body_len, body_cap;
    json_t *json;
    bool json_lazy; /* a flat body: `flat` holds it; jansson runs only if sbi_request_json is asked */
    bool body_raw;  /* the body is of the route's raw media type: handed over unparsed */
    sbi_route_match_t match;

    bool headers_too_large, body_too_large;
    bool complete;           /* END_STREAM received */
    bool answered;           /* response submitted (or the stream reset by sbi_request_reset) */
    struct timespec started; /* CLOCK_MONOTONIC at the first header, when an observer is set */

    sbi_session_body_t resp; /* the answer's body, a copy in the arena */

    struct event timer;

    /* every string above lives in the arena (inline first); headers start in inline_headers */
    sbi_arena_t arena;
    sbi_header_t inline_headers[REQ_INLINE_HEADERS];
    char arena_mem[REQ_ARENA_INLINE];
    sbi_flat_json_t flat; /* valid when json_lazy */
};

struct sbi_conn {
    sbi_server_t *srv;
    uint64_t id;
    sbi_session_t sess;
    struct sbi_conn *prev, *next;
    sbi_request_t *requests;
    bool idle_goaway;             /* GOAWAY sent for idleness; the next idle expiry closes */
    bool progressed;              /* a complete request arrived: the header deadline is over, the idle one runs */
    struct timeval last_progress; /* when the last complete request arrived (the loop's cached time) */
    struct event deadline;        /* header deadline, then idle deadline (see conn_deadline_cb) */
    char peer[PEER_MAX];
};

struct sbi_server {
    struct event_base *base;
    sbi_router_t *router;
    SSL_CTX *tls;
    size_t max_header_list, max_body;
    struct timeval stream_tv;
    struct timeval idle_tv, header_tv;
    listen_guard_t *guard; /* connection cap and accept errors (lib/core/listen_guard.h) */
    ratelimit_t peer_log;  /* lines a client can cause at will (bad TLS, bad frames, bad paths) */
    size_t max_connections;
    metrics_t *metrics;
    const struct timeval *stream_timeout; /* common-timeout form of stream_tv */
    const char *name;
    bool redact_paths;              /* sbi_server_config_t.redact_paths */
    const sbi_observer_t *observer; /* sbi_server_set_observer, or NULL */
    sbi_gate_t gate;                /* admit == NULL: none */
    struct evconnlistener *listener;
    uint16_t port;
    sbi_conn_t *conns;
    size_t n_conns;
    uint64_t next_conn_id;
    nghttp2_session_callbacks *callbacks;
    nghttp2_option *option;
    bool draining;
    void (*drained_cb)(void *);
    void *drained_ud;
    struct event *drain_timer;
    struct event *drained_ev;
};

/* ---- sbi_server_req.c: the request object */

/* A request on `stream_id`, linked into conn->requests, its stream timer armed with `on_timeout`. NULL: no memory. */
sbi_request_t *sbi_srv_request_new(sbi_conn_t *conn, int32_t stream_id, event_callback_fn on_timeout);
void sbi_srv_request_free(sbi_request_t *req);
/* Keeps one header of the request (pseudo-headers in their fields). 0, or -1 when memory runs out. */
int sbi_srv_request_store_header(sbi_request_t *req, const uint8_t *name, size_t namelen, const uint8_t *value,
                                 size_t valuelen);

/* ---- sbi_server_parse.c: target, query and content type */

/* Splits :path into path_only / path_buf / query (once). 0, or -1 when memory runs out. */
int sbi_srv_split_target(sbi_request_t *req);
/* Decodes the query into query_params. 0, or -1 (more than SBI_MAX_QUERY_PARAMS, or no memory). */
int sbi_srv_parse_query(sbi_request_t *req);
/* application/json or application/<x>+json, parameters allowed. */
bool sbi_srv_content_type_is_json(const char *ct);
/* `ct` names exactly the media type `type` (case-insensitive, parameters allowed). */
bool sbi_srv_content_type_is(const char *ct, const char *type);

/* ---- sbi_server_conn.c: one connection */

/* A line about one client's bad input, rate-limited (see the definition). */
void sbi_srv_peer_log(sbi_server_t *srv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes an accepted socket (closed on failure) and starts serving it. */
void sbi_srv_conn_accept(sbi_server_t *srv, evutil_socket_t fd, const struct sockaddr *sa);
void sbi_srv_conn_free(sbi_conn_t *conn);
/* Sends what nghttp2 has. -1 when the connection was freed. */
int sbi_srv_conn_flush(sbi_conn_t *conn);
/* While draining and no connection is left: the drained event fires (from the loop). */
void sbi_srv_maybe_drained(sbi_server_t *srv);
/* GOAWAY(NO_ERROR) after the last stream processed, and a flush (which may free the connection). */
void sbi_srv_conn_goaway(sbi_conn_t *conn);

/* ---- sbi_server_answer.c */

/* The single place that sends ProblemDetails; `extra` carries e.g. Allow for 405. */
int sbi_srv_respond_problem_with(sbi_request_t *req, const sbi_problem_t *p, const sbi_header_t *extra, size_t n_extra);

/* ---- sbi_server_stream.c */

/* The server's nghttp2 callbacks (the pump's send callback included). NULL on allocation failure. */
nghttp2_session_callbacks *sbi_srv_callbacks_new(void);

#endif
