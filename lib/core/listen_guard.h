/*
 * listen_guard — what every TCP listener a mihua daemon owns needs against a crowd of clients: a cap on open
 * connections, accept(2) errors without a busy loop or a log flood, and the settings and metrics that go with them.
 *
 * Cap: the owner asks listen_guard_admit() in its accept callback with the number of connections it holds. When
 * the cap is reached the connection is refused at once (the owner closes it, after at most a few bytes of refusal
 * in its own protocol), counted and logged at most once per LISTEN_GUARD_LOG_INTERVAL_S. Refusing by close rather
 * than by no longer accepting is deliberate: a listener that stops accepting leaves new clients hanging in the
 * kernel backlog until their own timeout, while a close tells them at once to retry later or elsewhere.
 *
 * Accept errors: libevent's listener, left alone, logs every failed accept(2) and, the socket staying readable,
 * calls accept(2) again at once: with the descriptor table full (EMFILE/ENFILE) that is a busy loop writing a log
 * line per turn. The guard installs the listener's error callback: the pending connection is shed through a spare
 * descriptor kept for this (so its client sees a close rather than a hang), the listener is paused with an
 * exponential back-off (LISTEN_GUARD_BACKOFF_MIN_MS doubling to LISTEN_GUARD_BACKOFF_MAX_MS, reset by the next
 * successful accept) and one line is logged per interval with the number of errors since the last one.
 *
 * Metrics (when a registry is given), labelled listener="<name>":
 *   mihua_listener_refused_total        connections closed because the cap was reached
 *   mihua_listener_accept_errors_total  accept(2) failures other than the retriable ones libevent absorbs
 *   mihua_listener_deadline_closed_total{deadline="header"|"idle"}  counted by the owner (listen_guard_deadline)
 *
 * Single-threaded: everything runs on the listener's event loop.
 */
#ifndef MIHUA_LISTEN_GUARD_H
#define MIHUA_LISTEN_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/listener.h>

#include "core/metrics.h"
#include "core/ratelimit.h"

struct event_base;

/* Defaults, each with its reason; the daemons take them from their config (listen_limits_t). */
#define LISTEN_MAX_CONNECTIONS_DEFAULT \
    1024 /* per listener: a core has a handful of peers with a few connections
                                               each; the cap bounds memory and descriptors, and the daemons raise
                                               their soft RLIMIT_NOFILE so every listener's cap fits */
#define LISTEN_HEADER_TIMEOUT_MS_DEFAULT \
    10000 /* TCP accept to the first complete request, TLS handshake included:
                                                  a real client needs milliseconds; a slow-loris client is cut */
#define LISTEN_IDLE_TIMEOUT_MS_DEFAULT \
    120000                               /* no complete request for this long: the connection is closed (HTTP/2:
                                                  GOAWAY first); bytes that complete nothing do not reset it */
#define LISTEN_GUARD_BACKOFF_MIN_MS 50   /* first pause after an accept error: long enough to stop the spin */
#define LISTEN_GUARD_BACKOFF_MAX_MS 1000 /* longest pause: a freed descriptor is used within a second */
#define LISTEN_GUARD_LOG_INTERVAL_S RATELIMIT_INTERVAL_S /* one line per listener and kind of event per interval */
#define LISTEN_NOFILE_RESERVE 256 /* descriptors besides the connections: logs, clients, peers, spare */

/* The per-listener limits a daemon reads from its config (all > 0 once defaults are applied). */
typedef struct {
    long max_connections;
    long header_timeout_ms;
    long idle_timeout_ms;
} listen_limits_t;

/* The config file fields and command-line options for listen_limits_t, for a daemon's cfg_field_t and
 * cli_option_t tables (lib/core/cli.h). `l` is a listen_limits_t *. */
#define LISTEN_LIMITS_FIELDS(l)                                                                                     \
    {.name = "limits.max_connections", .type = CFG_INT, .dst = &(l)->max_connections, .min = 1, .max = 1000000},    \
        {.name = "limits.header_timeout_ms",                                                                        \
         .type = CFG_INT,                                                                                           \
         .dst = &(l)->header_timeout_ms,                                                                            \
         .min = 10,                                                                                                 \
         .max = 3600000},                                                                                           \
    {                                                                                                               \
        .name = "limits.idle_timeout_ms", .type = CFG_INT, .dst = &(l)->idle_timeout_ms, .min = 10, .max = 86400000 \
    }
#define LISTEN_LIMITS_OPTIONS                                                                \
    {"max-connections", "limits.max_connections", "N",                                       \
     "open connections per listener; more are refused; default 1024"},                       \
        {"header-timeout-ms", "limits.header_timeout_ms", "MS",                              \
         "accept (TLS handshake included) to the first complete request; default 10000"},    \
    {                                                                                        \
        "idle-timeout-ms", "limits.idle_timeout_ms", "MS",                                   \
            "a connection that completes no request for this long is closed; default 120000" \
    }

/* Fills the fields left at 0 with the defaults above. */
void listen_limits_default(listen_limits_t *l);

/* Raises the soft RLIMIT_NOFILE towards the hard one so that `needed` descriptors fit (best effort, logged). */
void listen_limits_raise_nofile(uint64_t needed);

typedef struct listen_guard listen_guard_t;

typedef enum {
    LISTEN_DEADLINE_HEADER = 0, /* no complete request within header_timeout_ms of accept */
    LISTEN_DEADLINE_IDLE = 1,   /* no complete request within idle_timeout_ms of the last one */
} listen_deadline_t;

/* `name` labels log lines and metrics and must outlive the guard; `metrics` may be NULL. Takes over the
 * callbacks of `listener` (which must outlive the guard): accepted connections go to `owner_cb(..., owner_arg)`,
 * errors to the guard. NULL on allocation failure. */
listen_guard_t *listen_guard_new(struct event_base *base, struct evconnlistener *listener, const char *name,
                                 size_t max_connections, metrics_t *metrics, evconnlistener_cb owner_cb,
                                 void *owner_arg);
void listen_guard_free(listen_guard_t *g);
/* The owner is about to free the listener (draining): no back-off may re-enable it. Counting goes on. */
void listen_guard_close(listen_guard_t *g);

/* In the accept callback, before taking the connection: true to take it, false when `open_now` connections are
 * already the cap (the refusal is counted and logged; the caller closes the socket). A successful accept also
 * ends any accept-error back-off. */
bool listen_guard_admit(listen_guard_t *g, size_t open_now);

/* The owner closed a connection because `d` expired (counted; logged at debug level by the owner). */
void listen_guard_deadline(listen_guard_t *g, listen_deadline_t d);

/* Counters for tests and metrics. */
typedef struct {
    uint64_t refused;
    uint64_t accept_errors;
    uint64_t deadline_closed[2];
} listen_guard_stats_t;
listen_guard_stats_t listen_guard_stats(const listen_guard_t *g);

#endif
