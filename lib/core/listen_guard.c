/*
 * listen_guard — connection cap, accept-error back-off and rate-limited logging for one listener (listen_guard.h).
 *
 * The back-off pauses the evconnlistener (evconnlistener_disable) and a one-shot timer re-enables it; while paused
 * new connections wait in the kernel backlog, which is what we want while no descriptor is free. The spare
 * descriptor (/dev/null opened at start) is the classic way out of EMFILE: close it, accept and close the pending
 * connection, open it again; without it the pending connection would stay queued and keep the socket readable.
 */
#include "core/listen_guard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "core/log.h"
#include "core/ratelimit.h"

#define LABELS_MAX 160 /* listener="<name>",deadline="header" */

struct listen_guard {
    struct event_base *base;
    struct evconnlistener *listener;
    const char *name;
    size_t max_connections;
    int spare_fd; /* -1 while in use or when /dev/null could not be opened */
    unsigned backoff_ms;
    struct event *resume;
    ratelimit_t refuse_log, error_log;
    listen_guard_stats_t stats;
    evconnlistener_cb owner_cb; /* the owner's accept callback, called with owner_arg */
    void *owner_arg;
    metric_t *m_refused, *m_errors, *m_deadline[2];
};

void listen_limits_default(listen_limits_t *l)
{
    if (l->max_connections <= 0)
        l->max_connections = LISTEN_MAX_CONNECTIONS_DEFAULT;
    if (l->header_timeout_ms <= 0)
        l->header_timeout_ms = LISTEN_HEADER_TIMEOUT_MS_DEFAULT;
    if (l->idle_timeout_ms <= 0)
        l->idle_timeout_ms = LISTEN_IDLE_TIMEOUT_MS_DEFAULT;
}

void listen_limits_raise_nofile(uint64_t needed)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= needed)
        return;
    rlim_t want = needed < rl.rlim_max ? (rlim_t)needed : rl.rlim_max;
    if (want <= rl.rlim_cur)
        return;
    rlim_t old = rl.rlim_cur;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
        log_info("listen", "open file limit raised from %llu to %llu for the connection caps", (unsigned long long)old,
                 (unsigned long long)want);
    if (want < needed)
        log_warn("listen",
                 "open file limit %llu is below the %llu the connection caps need: accept errors will be "
                 "backed off",
                 (unsigned long long)want, (unsigned long long)needed);
}

static void open_spare(listen_guard_t *g)
{
    if (g->spare_fd < 0)
        g->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Accepts and closes the connection that made accept(2) fail, through the spare descriptor. */
static void shed_pending(listen_guard_t *g)
{
    if (g->spare_fd < 0)
        return;
    close(g->spare_fd);
    g->spare_fd = -1;
    int fd = accept(evconnlistener_get_fd(g->listener), NULL, NULL);
    if (fd >= 0) {
        close(fd);
        g->stats.refused++;
        if (g->m_refused)
            metric_inc(g->m_refused);
    }
    open_spare(g);
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    listen_guard_t *g = arg;
    open_spare(g);
    if (g->listener)
        evconnlistener_enable(g->listener);
}

static void accept_cb(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    listen_guard_t *g = arg;
    g->owner_cb(listener, fd, sa, salen, g->owner_arg);
}

static void error_cb(struct evconnlistener *listener, void *arg)
{
    (void)listener;
    listen_guard_t *g = arg;
    int err = EVUTIL_SOCKET_ERROR();
    g->stats.accept_errors++;
    if (g->m_errors)
        metric_inc(g->m_errors);
    if (err == EMFILE || err == ENFILE)
        shed_pending(g);
    g->backoff_ms = g->backoff_ms ? g->backoff_ms * 2 : LISTEN_GUARD_BACKOFF_MIN_MS;
    if (g->backoff_ms > LISTEN_GUARD_BACKOFF_MAX_MS)
        g->backoff_ms = LISTEN_GUARD_BACKOFF_MAX_MS;
    uint64_t suppressed;
    if (ratelimit_allow(&g->error_log, LISTEN_GUARD_LOG_INTERVAL_S, &suppressed))
        log_warn(g->name, "accept: %s; pausing the listener %u ms (%llu more accept errors since the last line)",
                 strerror(err), g->backoff_ms, (unsigned long long)suppressed);
    evconnlistener_disable(g->listener);
    struct timeval tv = {g->backoff_ms / 1000, (g->backoff_ms % 1000) * 1000};
    event_add(g->resume, &tv);
}

static metric_t *counter(metrics_t *m, const char *metric, const char *name, const char *extra, const char *help)
{
    char labels[LABELS_MAX];
    snprintf(labels, sizeof labels, "listener=\"%s\"%s", name, extra);
    return metrics_counter(m, metric, labels, help);
}

static void register_metrics(listen_guard_t *g, metrics_t *m)
{
    if (!m)
        return;
    g->m_refused = counter(m, "mihua_listener_refused_total", g->name, "",
                           "connections closed at accept because the listener's max_connections was reached");
    g->m_errors = counter(m, "mihua_listener_accept_errors_total", g->name, "",
                          "accept(2) failures (e.g. EMFILE); the listener backs off");
    static const char help[] = "connections closed because no complete request arrived in time";
    g->m_deadline[LISTEN_DEADLINE_HEADER] =
        counter(m, "mihua_listener_deadline_closed_total", g->name, ",deadline=\"header\"", help);
    g->m_deadline[LISTEN_DEADLINE_IDLE] =
        counter(m, "mihua_listener_deadline_closed_total", g->name, ",deadline=\"idle\"", help);
}

listen_guard_t *listen_guard_new(struct event_base *base, struct evconnlistener *listener, const char *name,
                                 size_t max_connections, metrics_t *metrics, evconnlistener_cb owner_cb,
                                 void *owner_arg)
{
    listen_guard_t *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->base = base;
    g->listener = listener;
    g->name = name;
    g->max_connections = max_connections ? max_connections : LISTEN_MAX_CONNECTIONS_DEFAULT;
    g->spare_fd = -1;
    open_spare(g);
    g->resume = evtimer_new(base, resume_cb, g);
    if (!g->resume) {
        listen_guard_free(g);
        return NULL;
    }
    register_metrics(g, metrics);
    g->owner_cb = owner_cb;
    g->owner_arg = owner_arg;
    evconnlistener_set_cb(listener, accept_cb, g); /* the error callback gets the listener's argument: the guard */
    evconnlistener_set_error_cb(listener, error_cb);
    return g;
}

void listen_guard_free(listen_guard_t *g)
{
    if (!g)
        return;
    if (g->resume)
        event_free(g->resume);
    if (g->spare_fd >= 0)
        close(g->spare_fd);
    free(g);
}

void listen_guard_close(listen_guard_t *g)
{
    if (!g)
        return;
    event_del(g->resume);
    g->listener = NULL;
}

bool listen_guard_admit(listen_guard_t *g, size_t open_now)
{
    g->backoff_ms = 0;
    if (open_now < g->max_connections)
        return true;
    g->stats.refused++;
    if (g->m_refused)
        metric_inc(g->m_refused);
    uint64_t suppressed;
    if (ratelimit_allow(&g->refuse_log, LISTEN_GUARD_LOG_INTERVAL_S, &suppressed))
        log_warn(g->name,
                 "max_connections (%zu) reached: refusing new connections (%llu more refused since the "
                 "last line)",
                 g->max_connections, (unsigned long long)suppressed);
    return false;
}

void listen_guard_deadline(listen_guard_t *g, listen_deadline_t d)
{
    g->stats.deadline_closed[d]++;
    if (g->m_deadline[d])
        metric_inc(g->m_deadline[d]);
}

listen_guard_stats_t listen_guard_stats(const listen_guard_t *g)
{
    return g->stats;
}
