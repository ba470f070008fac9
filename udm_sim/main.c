/*
 * mihua-udm — UDM/UDR simulator over HTTP/2 (DESIGN §3 SBI, §5, §8).
 *
 * Wiring only: settings (udm_conf), subscriber store (lib/subscriber), the SBI server (lib/sbi) with the Nudm/Nudr
 * resources (udm_nudm_path), the admin API on its own port (sub_admin), and one libevent loop (lib/core/daemon)
 * where SIGHUP reloads and SIGTERM/SIGINT drain gracefully (GOAWAY, finish open streams, exit 0).
 */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/daemon.h"
#include "core/log.h"
#include "sbi/sbi_auth.h"
#include "sbi/sbi_server.h"
#include "sbi/sbi_tls.h"
#include "sim/sbi_sim.h"
#include "sim/sim_admin.h"
#include "subscriber/sub_admin.h"
#include "subscriber/sub_store.h"
#include "udm_conf.h"
#include "udm_nudm_path.h"
#include "udm_nudr_notif.h"

typedef struct {
    struct event_base *base;
    sub_store_t *store;
    sbi_server_t *srv;
    sbi_server_t *admin_srv;
    udm_nudm_t *nudm;
    udm_notif_t *notif;
    sub_admin_t *admin;
    sim_admin_t *sim;   /* request journal and fault rules (DESIGN §8) */
    sbi_sim_t *sbi_sim; /* ... applied to the SBI server */
    sbi_auth_t *auth;   /* the admin listener's bearer token */
    metrics_t *metrics; /* the listeners' counters, on the admin API's GET /metrics */
    int draining;       /* servers still draining after SIGTERM */
} udm_app_t;

static void on_reload(void *arg)
{
    udm_app_t *app = arg;
    sub_error_t err;
    if (sub_store_reload(app->store, &err) != 0) {
        log_error("udm", "reload failed, keeping the previous subscriber data: %s", err.msg);
        return;
    }
    log_info("udm", "reloaded %s", sub_store_path(app->store));
    udm_nudm_refresh(app->nudm);
}

static void on_drained(void *arg)
{
    udm_app_t *app = arg;
    if (--app->draining == 0)
        event_base_loopbreak(app->base);
}

static void on_admin_change(void *arg)
{
    udm_nudm_refresh(((udm_app_t *)arg)->nudm);
}

static void on_stop(void *arg)
{
    udm_app_t *app = arg;
    if (app->draining > 0)
        return; /* a second SIGTERM while draining */
    app->draining = 2;
    sbi_server_drain(app->srv, on_drained, app);
    sbi_server_drain(app->admin_srv, on_drained, app);
}

static int serve(const udm_conf_t *conf, udm_app_t *app, SSL_CTX *tls)
{
    sbi_server_config_t sc = {.tls = tls, .name = "udm", .metrics = app->metrics};
    sbi_server_config_t ac = {.name = "udm-admin", .metrics = app->metrics, .max_body = SUB_ADMIN_MAX_BODY};
    sbi_server_config_limits(&sc, &conf->limits);
    sbi_server_config_limits(&ac, &conf->limits);
    listen_limits_raise_nofile(2 * (uint64_t)conf->limits.max_connections + LISTEN_NOFILE_RESERVE);
    app->srv = sbi_server_new(app->base, &sc);
    app->admin_srv = sbi_server_new(app->base, &ac);
    app->nudm = app->srv ? udm_nudm_new(app->srv, app->store, conf->amf_instance_id, app->metrics) : NULL;
    app->notif =
        app->nudm ? udm_notif_new(app->base, app->srv, app->store, app->nudm, conf->subs_max_s, app->metrics) : NULL;
    app->admin = app->admin_srv ? sub_admin_new(app->admin_srv, app->store, app->metrics, on_admin_change, app) : NULL;
    sim_capture_conf_t cap = {.program = "mihua-udm", .host = conf->listen_host, .sbi = app->srv, .tls = tls};
    app->sim = app->admin_srv ? sim_admin_new(app->admin_srv, (size_t)conf->journal_size, &cap) : NULL;
    app->sbi_sim = app->sim && app->srv
                       ? sbi_sim_new(app->srv, sim_admin_journal(app->sim), sim_admin_faults(app->sim), app->store)
                       : NULL;
    app->auth = app->admin ? sbi_auth_attach(app->admin_srv, &conf->auth, app->metrics, "udm-admin", NULL) : NULL;
    if (!app->notif || !app->auth || !app->sbi_sim ||
        sbi_server_listen(app->srv, conf->listen_host, conf->listen_port) != 0 ||
        sbi_server_listen(app->admin_srv, conf->admin_host, conf->admin_port) != 0)
        return 1;
    char ready[2 * SBI_HOST_MAX + 96];
    snprintf(ready, sizeof ready, "READY mihua-udm sbi=%s://%s:%u admin=http://%s:%u%s", tls ? "https" : "http",
             conf->listen_host, sbi_server_port(app->srv), conf->admin_host, sbi_server_port(app->admin_srv),
             sbi_auth_ready(&conf->auth));
    daemon_t d = {.base = app->base, .name = "udm", .reload = on_reload, .stop = on_stop, .ud = app};
    return daemon_run(&d, ready);
}

int main(int argc, char **argv)
{
    udm_conf_t conf;
    udm_conf_result_t cr = udm_conf_parse(&conf, argc, argv);
    if (cr != UDM_CONF_OK) {
        udm_conf_free(&conf);
        return cr == UDM_CONF_EXIT_OK ? 0 : 2;
    }
    log_set_level(conf.log_level);
    signal(SIGPIPE, SIG_IGN); /* a peer that closes mid-write is a connection error, not a reason to die */

    udm_app_t app = {0};
    sub_error_t serr;
    char terr[SBI_TLS_ERR_MAX];
    SSL_CTX *tls = NULL;
    int rc = 2;
    app.store = sub_store_new_max(conf.store_path, conf.subscribers_path, conf.subs_max_bytes, &serr);
    if (!app.store)
        fprintf(stderr, "mihua-udm: %s\n", serr.msg);
    else if (conf.tls_cert && !(tls = sbi_tls_server_ctx_new(conf.tls_cert, conf.tls_key, terr, sizeof terr)))
        fprintf(stderr, "mihua-udm: tls: %s\n", terr);
    else if (!(app.base = event_base_new()) || !(app.metrics = metrics_new()))
        rc = 1;
    else
        rc = serve(&conf, &app, tls);

    sbi_server_free(app.srv);
    sbi_server_free(app.admin_srv); /* before the routes' owners */
    udm_notif_free(app.notif);
    udm_nudm_free(app.nudm);
    sub_admin_free(app.admin);
    sbi_sim_free(app.sbi_sim);
    sim_admin_free(app.sim);
    sbi_auth_free(app.auth);
    metrics_free(app.metrics);
    if (app.base)
        event_base_free(app.base);
    SSL_CTX_free(tls);
    sub_store_free(app.store);
    udm_conf_free(&conf);
    return rc;
}
