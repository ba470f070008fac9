/*
 * mihua-kms — the key management server of DESIGN §4 (patent claims 11-13).
 *
 * Wiring only: settings (kms_conf), subscriber store (lib/subscriber), key table (kms_keys), audit log
 * (kms_audit), the AS client and the HTTP/2 server (lib/sbi) with the API (kms_api), on one libevent loop
 * (lib/core/daemon) where SIGHUP reloads subscribers and reopens the audit log and SIGTERM/SIGINT drain.
 */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/daemon.h"
#include "core/log.h"
#include "kms_api.h"
#include "kms_conf.h"
#include "sbi/sbi_tls.h"

typedef struct {
    struct event_base *base;
    sub_store_t *store;
    kms_audit_t *audit;
    kms_keys_t *keys;
    SSL_CTX *tls, *as_tls;
    sbi_client_t *as_client;
    sbi_server_t *srv;
    kms_api_t *api;
    metrics_t *metrics; /* GET /metrics on the KMS port: listener and key-table counters */
} kms_app_t;

static void on_reload(void *arg)
{
    kms_app_t *app = arg;
    sub_error_t err;

    if (kms_audit_reopen(app->audit) != 0)
        log_error("kms", "audit log reopen failed, still writing the old file: %s", strerror(errno));
    if (sub_store_reload(app->store, &err) != 0)
        log_error("kms", "reload failed, keeping the previous subscriber data: %s", err.msg);
    else
        log_info("kms", "reloaded %s, generation %lu", sub_store_path(app->store), sub_store_generation(app->store));
}

static void on_drained(void *arg)
{
    event_base_loopbreak(((kms_app_t *)arg)->base);
}

static void on_stop(void *arg)
{
    kms_app_t *app = arg;
    sbi_server_drain(app->srv, on_drained, app);
}

/* Opens everything that can fail for a configuration reason (exit 2). */
static int open_resources(const kms_conf_t *c, kms_app_t *app)
{
    sub_error_t serr;
    char terr[SBI_TLS_ERR_MAX];
    if (!(app->store = sub_store_new_max(c->store_path, c->subscribers_path, c->subs_max_bytes, &serr)))
        return fprintf(stderr, "mihua-kms: %s\n", serr.msg), -1;
    if (c->tls_cert && !(app->tls = sbi_tls_server_ctx_new(c->tls_cert, c->tls_key, terr, sizeof terr)))
        return fprintf(stderr, "mihua-kms: tls: %s\n", terr), -1;
    if (!strncmp(c->as_url, "https:", 6) && !(app->as_tls = sbi_tls_client_ctx_new(c->as_ca, terr, sizeof terr)))
        return fprintf(stderr, "mihua-kms: as.ca: %s\n", terr), -1;
    if (!(app->audit = kms_audit_open(c->audit_log)))
        return fprintf(stderr, "mihua-kms: audit_log: %s: %s\n", c->audit_log, strerror(errno)), -1;
    return 0;
}

static int serve(const kms_conf_t *c, kms_app_t *app)
{
    kms_keys_cfg_t kc = {.ttl_ms = (uint64_t)c->key_ttl_s * 1000,
                         .max_keys = (size_t)c->max_keys,
                         .max_per_call = (size_t)c->max_keys_per_call,
                         .max_per_requester = (size_t)c->max_keys_per_requester};
    sbi_client_config_t cc = {.tls = app->as_tls, .default_timeout_ms = (unsigned)c->as_timeout_ms};
    sbi_server_config_t sc = {.tls = app->tls, .name = "kms", .redact_paths = true, .metrics = app->metrics};
    sbi_server_config_limits(&sc, &c->limits);
    listen_limits_raise_nofile((uint64_t)c->limits.max_connections + LISTEN_NOFILE_RESERVE);
    app->keys = kms_keys_new(&kc);
    app->as_client = sbi_client_new(app->base, &cc);
    app->srv = sbi_server_new(app->base, &sc);
    kms_api_cfg_t ac = {app->store,
                        app->keys,
                        app->audit,
                        app->as_client,
                        c->as_url,
                        (unsigned)c->as_timeout_ms,
                        (unsigned)c->nonce_lifetime_s,
                        app->metrics,
                        c->as_token_loaded,
                        &c->auth};
    app->api = app->keys && app->as_client && app->srv ? kms_api_new(app->srv, &ac) : NULL;
    if (!app->api || kms_audit_batch(app->audit, app->base) != 0 || kms_keys_start_sweeper(app->keys, app->base) != 0 ||
        sbi_server_listen(app->srv, c->listen_host, c->listen_port) != 0)
        return 1;
    if (!app->tls)
        log_warn("kms", "--insecure-h2c: serving cleartext HTTP/2; keys travel wrapped but requests are exposed");
    char ready[SBI_HOST_MAX + 80];
    snprintf(ready, sizeof ready, "READY mihua-kms sbi=%s://%s:%u%s", app->tls ? "https" : "http", c->listen_host,
             sbi_server_port(app->srv), sbi_auth_ready(&c->auth));
    daemon_t d = {.base = app->base, .name = "kms", .reload = on_reload, .stop = on_stop, .ud = app};
    return daemon_run(&d, ready);
}

int main(int argc, char **argv)
{
    kms_conf_t conf;
    kms_conf_result_t cr = kms_conf_parse(&conf, argc, argv);
    if (cr != KMS_CONF_OK) {
        kms_conf_free(&conf);
        return cr == KMS_CONF_EXIT_OK ? 0 : 2;
    }
    log_set_level(conf.log_level);
    signal(SIGPIPE, SIG_IGN); /* a peer that closes mid-write is a connection error, not a reason to die */

    kms_app_t app = {0};
    int rc = 2;
    if (open_resources(&conf, &app) == 0)
        rc = (app.base = event_base_new()) && (app.metrics = metrics_new()) ? serve(&conf, &app) : 1;

    sbi_server_free(app.srv); /* before the routes' owner */
    kms_api_free(app.api);    /* cancels AS checks in flight, before their client */
    sbi_client_free(app.as_client);
    kms_keys_free(app.keys);
    metrics_free(app.metrics);
    kms_audit_close(app.audit); /* writes the last batch; before the loop its flush event is on */
    if (app.base)
        event_base_free(app.base);
    SSL_CTX_free(app.tls);
    SSL_CTX_free(app.as_tls);
    sub_store_free(app.store);
    kms_conf_free(&conf);
    return rc;
}
