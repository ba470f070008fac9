/*
 * mihua-hss — Diameter Sh HSS simulator (DESIGN §3, §5, §8).
 *
 * Wiring only: settings, subscriber store, freeDiameter node, the Sh path, and a libevent loop that turns SIGHUP
 * into a reload and SIGTERM/SIGINT into a clean stop. freeDiameter answers on its own threads.
 */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/metrics.h"
#include "diameter/diam_node.h"
#include "hss_conf.h"
#include "hss_sh_path.h"
#include "subscriber/sub_store.h"

typedef struct {
    struct event_base *base;
    sub_store_t *store;
} hss_app_t;

static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
    hss_app_t *app = arg;
    sub_error_t err;

    (void)sig;
    (void)what;
    if (sub_store_reload(app->store, &err) != 0)
        log_error("hss", "reload failed, keeping the previous subscriber data: %s", err.msg);
    else
        log_info("hss", "reloaded %s", sub_store_path(app->store));
}

static void on_sigterm(evutil_socket_t sig, short what, void *arg)
{
    hss_app_t *app = arg;

    (void)what;
    log_info("hss", "signal %d: stopping", (int)sig);
    event_base_loopbreak(app->base);
}

static int run(const hss_conf_t *conf, hss_app_t *app)
{
    char err[256];
    sh_dict_t dict;
    diam_node_conf_t dc = {
        .identity = conf->identity,
        .realm = conf->realm,
        .port = (int)conf->port,
        .accept_realm = conf->realm,
        .tc_timer = (int)conf->tc_timer,
        .tw_timer = (int)conf->tw_timer,
        .fd_debug = conf->fd_debug,
    };
    diam_node_t *node = diam_node_start(&dc, &dict, err, sizeof err);
    if (node == NULL) {
        log_error("hss", "freeDiameter: %s", err);
        return 1;
    }
    metrics_t *metrics = metrics_new();
    hss_sh_t *sh = hss_sh_new(&dict, app->store, conf->service_indication, metrics);
    struct event *ev_hup = evsignal_new(app->base, SIGHUP, on_sighup, app);
    struct event *ev_term = evsignal_new(app->base, SIGTERM, on_sigterm, app);
    struct event *ev_int = evsignal_new(app->base, SIGINT, on_sigterm, app);
    int rc = 1;

    if (sh != NULL && metrics != NULL && ev_hup && ev_term && ev_int && event_add(ev_hup, NULL) == 0 &&
        event_add(ev_term, NULL) == 0 && event_add(ev_int, NULL) == 0) {
        printf("READY mihua-hss diameter=%s@0.0.0.0:%ld realm=%s\n", conf->identity, conf->port, conf->realm);
        fflush(stdout);
        rc = event_base_dispatch(app->base) < 0 ? 1 : 0;
    } else {
        log_error("hss", "could not register the Sh handler or signal events");
    }
    if (ev_hup)
        event_free(ev_hup);
    if (ev_term)
        event_free(ev_term);
    if (ev_int)
        event_free(ev_int);
    hss_sh_free(sh);
    diam_node_stop(node);
    metrics_free(metrics);
    return rc;
}

int main(int argc, char **argv)
{
    hss_conf_t conf;
    hss_app_t app = {0};
    sub_error_t serr;
    int rc;

    switch (hss_conf_parse(&conf, argc, argv)) {
    case HSS_CONF_EXIT_OK:
        hss_conf_free(&conf);
        return 0;
    case HSS_CONF_BAD:
        hss_conf_free(&conf);
        return 2;
    case HSS_CONF_OK:
        break;
    }
    log_set_level(conf.log_level);
    app.store = sub_store_new(conf.subscribers_path, &serr);
    if (app.store == NULL) {
        fprintf(stderr, "mihua-hss: %s\n", serr.msg);
        hss_conf_free(&conf);
        return 2;
    }
    app.base = event_base_new();
    rc = app.base != NULL ? run(&conf, &app) : 1;
    if (app.base != NULL)
        event_base_free(app.base);
    sub_store_free(app.store);
    hss_conf_free(&conf);
    return rc;
}
