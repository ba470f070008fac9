/*
 * daemon — signal events and the READY line shared by the daemons (daemon.h). A second SIGTERM while draining
 * calls stop again; stop functions are written to be idempotent (sbi_server_drain is).
 */
#include "core/daemon.h"

#include <signal.h>
#include <stdio.h>

#include "core/log.h"

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    const daemon_t *d = arg;

    (void)sig;
    (void)what;
    if (d->reload == NULL) {
        log_info(d->name, "SIGHUP: nothing to reload");
        return;
    }
    d->reload(d->ud);
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
    const daemon_t *d = arg;

    (void)what;
    log_info(d->name, "signal %d: draining and stopping", (int)sig);
    if (d->stop == NULL)
        event_base_loopbreak(d->base);
    else
        d->stop(d->ud);
}

int daemon_run(const daemon_t *d, const char *ready)
{
    struct event *ev[] = {evsignal_new(d->base, SIGHUP, on_hup, (void *)d),
                          evsignal_new(d->base, SIGTERM, on_term, (void *)d),
                          evsignal_new(d->base, SIGINT, on_term, (void *)d)};
    const size_t n = sizeof ev / sizeof ev[0];
    int rc = 1;
    size_t added = 0;

    while (added < n && ev[added] != NULL && event_add(ev[added], NULL) == 0)
        added++;
    if (added == n) {
        printf("%s\n", ready);
        fflush(stdout);
        rc = event_base_dispatch(d->base) < 0 ? 1 : 0;
    } else {
        log_error(d->name, "cannot install the signal handlers");
    }
    for (size_t i = 0; i < n; i++)
        if (ev[i] != NULL)
            event_free(ev[i]);
    return rc;
}
