/*
 * mihua-as — the IMS application server of DESIGN §2-§4 (patent claims 8-10).
 *
 * Wiring only: settings (as_conf), metrics, the encryption checks (as_checks: Sh to the HSS, SBI to the UDM), the
 * subscriber store and SIP Digest (sip_auth), the registrar, the call table, the SIP proxy (proxy) and the SBI port
 * (as_kms_api), on one libevent loop. freeDiameter answers arrive on its own threads and are handed to this loop,
 * hence evthread_use_pthreads() first. SIGTERM: new INVITEs get 503, the SBI drains, INVITEs in progress get their
 * answers (bounded), exit 0. SIGHUP: logged.
 */
#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>

#include "as_conf.h"
#include "as_kms_api.h"
#include "core/daemon.h"
#include "core/log.h"
#include "diameter/diam_node.h"
#include "proxy.h"

#define AS_DRAIN_POLL_MS 50  /* how often a draining AS looks whether it is done */
#define AS_DRAIN_MAX_MS 5000 /* INVITEs still unanswered after this are abandoned (their callers time out) */
#define AS_HSS_WAIT_MS 3000  /* READY waits this long for the Sh peer (then: reconnects, calls go on plain) */

typedef struct {
    struct event_base *base;
    metrics_t *metrics;
    as_checks_t *checks;
    registrar_t *reg;
    sip_auth_t *auth;
    call_table_t *calls;
    proxy_t *proxy;
    sbi_server_t *srv;
    as_kms_api_t *kms;
    struct event *drain_ev;
    int drain_ticks;
    bool sbi_drained;
} as_app_t;

static void on_sbi_drained(void *arg)
{
    ((as_app_t *)arg)->sbi_drained = true;
}

static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    as_app_t *app = arg;
    (void)fd, (void)what;
    if ((app->sbi_drained && proxy_pending_invites(app->proxy) == 0) ||
        ++app->drain_ticks * AS_DRAIN_POLL_MS >= AS_DRAIN_MAX_MS)
        event_base_loopbreak(app->base);
}

static void on_stop(void *arg)
{
    as_app_t *app = arg;
    struct timeval tv = {0, AS_DRAIN_POLL_MS * 1000};
    if (app->drain_ev)
        return;
    proxy_drain(app->proxy);
    sbi_server_drain(app->srv, on_sbi_drained, app);
    app->drain_ev = event_new(app->base, -1, EV_PERSIST, on_drain_tick, app);
    if (!app->drain_ev || event_add(app->drain_ev, &tv) != 0)
        event_base_loopbreak(app->base);
}

/* Everything that listens or connects. Returns 0, or 1 with the reason on stderr. */
static int open_all(const as_conf_t *c, as_app_t *app)
{
    char err[256] = "out of memory";
    sbi_server_config_t sc = {.name = "as-sbi"};
    sbi_server_config_limits(&sc, &c->limits);
    sip_auth_conf_t ac;
    proxy_conf_t pc;
    as_conf_sip_auth(c, &ac);
    if (!c->sip_auth)
        log_warn("as", "sip_auth is off: any sender may register any AOR and is then trusted (closed lab only)");
    if (!(sc.metrics = app->metrics = metrics_new()) || !(app->reg = registrar_new(0)) ||
        !(app->calls = call_table_new(c->overload.calls_max)) ||
        (c->sip_auth && !(app->auth = sip_auth_new(&ac, err, sizeof err))))
        return fprintf(stderr, "mihua-as: %s\n", err), 1;
    registrar_set_source_cap(app->reg, (size_t)c->max_aors_per_source);
    if (c->checks && !(app->checks = as_checks_new(app->base, &c->checks_conf, app->metrics, err, sizeof err)))
        return fprintf(stderr, "mihua-as: encryption checks: %s\n", err), 1;
    if (as_conf_uses_hss(c) && as_checks_wait_hss(app->checks, AS_HSS_WAIT_MS) != 0)
        log_warn("as", "no Diameter peer connected yet: HSS lookups fail (calls go on plain) until one is");
    as_conf_proxy(c, &pc);
    pc.base = app->base, pc.reg = app->reg, pc.auth = app->auth, pc.calls = app->calls, pc.checks = app->checks;
    pc.metrics = app->metrics;
    listen_limits_raise_nofile(2 * (uint64_t)c->limits.max_connections + LISTEN_NOFILE_RESERVE);
    if (!(app->proxy = proxy_new(&pc, err, sizeof err)))
        return fprintf(stderr, "mihua-as: sip: %s\n", err), 1;
    if (!(app->srv = sbi_server_new(app->base, &sc)) ||
        !(app->kms = as_kms_api_new(app->srv, app->calls, app->metrics, proxy_refresh_metrics, app->proxy, &c->auth)) ||
        sbi_server_listen(app->srv, c->sbi_host, c->sbi_port) != 0)
        return fprintf(stderr, "mihua-as: cannot listen on %s\n", c->sbi_listen), 1;
    if (as_checks_attach_sbi(app->checks, app->srv, c->sbi_host, sbi_server_port(app->srv)) != 0)
        return fprintf(stderr, "mihua-as: facts cache: cannot receive notifications\n"), 1;
    return 0;
}

static int serve(const as_conf_t *c, as_app_t *app)
{
    char ready[8 * SBI_HOST_MAX + 128], diam[SBI_HOST_MAX + 8], sip[2 * SBI_HOST_MAX + 32]; /* diam: as bound */
    if (!as_conf_uses_hss(c) || c->diameter_port == 0 ||
        diam_listen_wait((int)c->diameter_port, DIAM_LISTEN_WAIT_MS, diam, sizeof diam) != 0)
        snprintf(diam, sizeof diam, "%s:%ld", c->sip_host, c->diameter_port);
    proxy_listen_text(app->proxy, sip, sizeof sip);
    snprintf(ready, sizeof ready, "READY mihua-as sip=%s sbi=http://%s:%u diameter=%s@%s sip_auth=%s%s", sip,
             c->sbi_host, sbi_server_port(app->srv), c->diameter_identity, diam, app->auth ? "on" : "off",
             sbi_auth_ready(&c->auth));
    daemon_t d = {.base = app->base, .name = "as", .reload = NULL, .stop = on_stop, .ud = app};
    return daemon_run(&d, ready);
}

int main(int argc, char **argv)
{
    as_conf_t conf;
    as_conf_result_t cr = as_conf_parse(&conf, argc, argv);
    if (cr != AS_CONF_OK) {
        as_conf_free(&conf);
        return cr == AS_CONF_EXIT_OK ? 0 : 2;
    }
    log_set_level(conf.log_level);
    signal(SIGPIPE, SIG_IGN); /* a peer closing mid-write is a connection error, not a reason to die */

    as_app_t app = {0};
    int rc = 1;
    if (evthread_use_pthreads() == 0 && (app.base = event_base_new()) && open_all(&conf, &app) == 0)
        rc = serve(&conf, &app);

    if (app.drain_ev)
        event_free(app.drain_ev);
    sbi_server_free(app.srv); /* before the routes' owner */
    as_kms_api_free(app.kms);
    proxy_free(app.proxy); /* before the checks: cancels pending ones */
    as_checks_free(app.checks);
    call_table_free(app.calls);
    registrar_free(app.reg);
    sip_auth_free(app.auth);
    metrics_free(app.metrics);
    if (app.base)
        event_base_free(app.base);
    as_conf_free(&conf);
    return rc;
}
