/*
 * mihua-hss — Diameter Sh HSS simulator (DESIGN §3, §5, §8).
 *
 * Wiring only: settings, subscriber store, freeDiameter node with the Sh path, the admin API on its own HTTP/2
 * port, and a libevent loop (lib/core/daemon) where SIGHUP reloads and SIGTERM/SIGINT drain and stop.
 * freeDiameter answers UDRs on its own threads; the admin API runs on the loop. The request journal and fault
 * injection (lib/sim) hook into both.
 */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/daemon.h"
#include "core/log.h"
#include "core/metrics.h"
#include "diameter/diam_node.h"
#include "hss_conf.h"
#include "hss_sh_notif.h"
#include "hss_sh_path.h"
#include "sbi/sbi_auth.h"
#include "sbi/sbi_server.h"
#include "sim/sim_admin.h"
#include "subscriber/sub_admin.h"
#include "subscriber/sub_store.h"

typedef struct {
    struct event_base *base;
    sub_store_t *store;
    sbi_server_t *admin_srv;
} hss_app_t;

static void on_reload(void *arg)
{
    hss_app_t *app = arg;
    sub_error_t err;

    if (sub_store_reload(app->store, &err) != 0)
        log_error("hss", "reload failed, keeping the previous subscriber data: %s", err.msg);
    else
        log_info("hss", "reloaded %s", sub_store_path(app->store));
}

static void on_drained(void *arg)
{
    event_base_loopbreak(((hss_app_t *)arg)->base);
}

static void on_stop(void *arg)
{
    sbi_server_drain(((hss_app_t *)arg)->admin_srv, on_drained, arg);
}

static int serve(const hss_conf_t *conf, hss_app_t *app, const sh_dict_t *dict, metrics_t *metrics)
{
    hss_sh_t *sh = hss_sh_new(dict, app->store, conf->service_indication, metrics);
    sub_admin_t *admin = sub_admin_new(app->admin_srv, app->store, metrics, NULL, NULL);
    hss_notif_t *notif = hss_notif_new(app->base, dict, app->store, conf->service_indication,
                                       conf->sh_subscription_max_s, app->admin_srv, metrics);
    sim_capture_conf_t cap = {.program = "mihua-hss", .diameter_port = (int)conf->port}; /* every address */
    sim_admin_t *sim = sim_admin_new(app->admin_srv, (size_t)conf->journal_size, &cap);
    diam_sim_t *dsim = sim ? diam_sim_new(dict, sim_admin_journal(sim), sim_admin_faults(sim), (int)conf->port) : NULL;
    sbi_auth_t *auth = sbi_auth_attach(app->admin_srv, &conf->auth, metrics, "hss-admin", NULL);
    daemon_t d = {.base = app->base, .name = "hss", .reload = on_reload, .stop = on_stop, .ud = app};
    char ready[2 * SBI_HOST_MAX + 128];
    int rc = 1;

    if (sh == NULL || admin == NULL || notif == NULL || dsim == NULL || auth == NULL) {
        log_error("hss", "could not register the Sh handler, notifications, the admin API or the journal hooks");
    } else if (sbi_server_listen(app->admin_srv, conf->admin_host, conf->admin_port) != 0) {
        log_error("hss", "admin API: cannot listen on %s", conf->admin_listen);
    } else {
        hss_sh_set_sim(sh, dsim);
        hss_notif_set_sim(notif, dsim);
        char bound[SBI_HOST_MAX + 8]; /* what freeDiameter bound, from the socket (1.2.1: every address) */
        if (diam_listen_wait((int)conf->port, DIAM_LISTEN_WAIT_MS, bound, sizeof bound) != 0)
            snprintf(bound, sizeof bound, "?:%ld", conf->port);
        snprintf(ready, sizeof ready, "READY mihua-hss diameter=%s@%s admin=http://%s:%u realm=%s%s", conf->identity,
                 bound, conf->admin_host, (unsigned)sbi_server_port(app->admin_srv), conf->realm,
                 sbi_auth_ready(&conf->auth));
        rc = daemon_run(&d, ready);
    }
    hss_sh_free(sh);
    hss_notif_free(notif);
    diam_sim_free(dsim);
    sbi_server_free(app->admin_srv);
    app->admin_srv = NULL;
    sub_admin_free(admin);
    sim_admin_free(sim);
    sbi_auth_free(auth);
    return rc;
}

static int run(const hss_conf_t *conf, hss_app_t *app)
{
    char err[256];
    sh_dict_t dict;
    diam_node_conf_t dc = hss_conf_node(conf);
    metrics_t *metrics = metrics_new();
    sbi_server_config_t scfg = {.name = "hss-admin", .metrics = metrics, .max_body = SUB_ADMIN_MAX_BODY};
    sbi_server_config_limits(&scfg, &conf->limits);

    app->admin_srv = sbi_server_new(app->base, &scfg);
    diam_node_t *node = metrics && app->admin_srv ? diam_node_start(&dc, &dict, err, sizeof err) : NULL;
    if (node == NULL) {
        log_error("hss", "freeDiameter: %s", metrics && app->admin_srv ? err : "out of memory");
        sbi_server_free(app->admin_srv);
        metrics_free(metrics);
        return 1;
    }
    int rc = serve(conf, app, &dict, metrics);
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
    signal(SIGPIPE, SIG_IGN); /* a peer closing mid-write is a connection error, not a reason to die */
    app.store = sub_store_new_max(conf.store_path, conf.subscribers_path, conf.subs_max_bytes, &serr);
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
