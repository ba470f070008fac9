/*
 * hss_conf — mihua-hss settings. Defaults < JSON config (-c) < command line, through lib/core/cli. See
 * hss_conf.h.
 */
#include "hss_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "subscriber/sub_store.h"
#include "core/journal.h"
#include "diameter/diam_node.h"
#include "hss_sh_notif.h"

#define HSS_DEFAULT_IDENTITY "hss.ims.test"
#define HSS_DEFAULT_REALM "ims.test"
#define HSS_DEFAULT_PORT 3868
#define HSS_DEFAULT_ADMIN_LISTEN "127.0.0.1:7704"
#define HSS_DEFAULT_SUBSCRIBERS "conf/subscribers.json"
#define HSS_DEFAULT_SERVICE_INDICATION "mihua-voice-encryption"
/* freeDiameter's defaults (30 s) make a restarted peer wait half a minute; a simulator wants quick recovery. */
#define HSS_DEFAULT_TC_TIMER 6
#define HSS_DEFAULT_TW_TIMER 30

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};

/* clang-format off */
static const cli_option_t hss_options[] = {
    {"subscribers", "subscribers", "FILE", "subscriber file (DESIGN §5), imported into the store when it changed; "
     "default " HSS_DEFAULT_SUBSCRIBERS},
    {"store", "store", "PATH", "subscriber database (SQLite), shared with the other simulators; default: the "
     "subscriber file's path with .json replaced by .db"},
    {"port", "port", "N", "Diameter listen port (all addresses); default 3868"},
    {"admin-listen", "admin_listen", "ADDR:PORT", "admin API (h2c); port 0 picks one; default " HSS_DEFAULT_ADMIN_LISTEN},
    {"identity", "identity", "FQDN", "Origin-Host; default " HSS_DEFAULT_IDENTITY},
    {"realm", "realm", "REALM", "Origin-Realm; peers *.REALM may connect without TLS; default " HSS_DEFAULT_REALM},
    {"sh-subscription-max-s", "sh_subscription_max_s", "N", "longest Sh subscription granted to an SNR (its "
     "Expiry-Time is cut to now+N; none asked: N); default 3600"},
    SBI_AUTH_OPTION("on every admin API request"),
    SUB_STORE_MAX_BYTES_OPTION,
    LISTEN_LIMITS_OPTIONS,
    {"journal-size", "journal_size", "N", "exchanges kept for GET /admin/v1/exchanges (the oldest go first); "
     "default 1000"},
    {"log-level", "log_level", "LEVEL", "error, warn, info or debug; default info"},
    {"fd-debug", "fd_debug", NULL, "let freeDiameter's own debug log through"},
    {"accept-workers", "accept_workers", "N", "Diameter connections waited on for their CER at once (each for at "
                                              "most 20 s, fixed in freeDiameter); default 64"},
};
/* clang-format on */

static const char hss_epilogue[] =
    "Admin API: GET/PUT/PATCH/DELETE /admin/v1/subscribers/{imsi}, GET /admin/v1/subscribers[?limit=N&cursor=IMSI],\n"
    "POST /admin/v1/subscribers:import[?mode=merge|replace],\n"
    "POST /admin/v1/reload, GET /admin/v1/sh-subscriptions (Sh subscriptions held), GET /metrics (Prometheus text),\n"
    "GET/DELETE /admin/v1/exchanges (request journal), POST/GET/DELETE /admin/v1/faults (fault injection, on UDR\n"
    "and SNR), POST/GET/DELETE /admin/v1/captures[/{id}[/file]] (dumpcap on the Diameter port, pcapng download).\n"
    "Sh: UDR (306); SNR (308) subscribes an AS to RepositoryData/IMSPublicIdentity, PNR (309) pushes "
    "changes.\n" SBI_AUTH_HELP "\n"
    "Prints 'READY mihua-hss diameter=ID@ADDR:PORT admin=URL realm=REALM[ admin_auth=off]' once listening. SIGHUP "
    "imports the\n"
    "subscriber file again (a bad file changes nothing); SIGTERM stops. Exit codes: 0 ok, 1 runtime failure, 2 bad\n"
    "usage or config.\n";

hss_conf_result_t hss_conf_parse(hss_conf_t *c, int argc, char **argv)
{
    const cfg_field_t fields[] = {
        {.name = "identity", .type = CFG_STRING, .dst = &c->identity},
        {.name = "realm", .type = CFG_STRING, .dst = &c->realm},
        {.name = "port", .type = CFG_INT, .dst = &c->port, .min = 1, .max = 65535},
        {.name = "admin_listen", .type = CFG_STRING, .dst = &c->admin_listen},
        {.name = "tc_timer", .type = CFG_INT, .dst = &c->tc_timer, .min = 1, .max = 3600},
        {.name = "tw_timer", .type = CFG_INT, .dst = &c->tw_timer, .min = 6, .max = 3600},
        {.name = "dispatch_threads", .type = CFG_INT, .dst = &c->dispatch_threads, .min = 1, .max = 64},
        {.name = "accept_workers",
         .type = CFG_INT,
         .dst = &c->accept_workers,
         .min = 1,
         .max = DIAM_ACCEPT_WORKERS_MAX},
        {.name = "subscribers", .type = CFG_STRING, .dst = &c->subscribers_path},
        {.name = "store", .type = CFG_STRING, .dst = &c->store_path},
        {.name = "service_indication", .type = CFG_STRING, .dst = &c->service_indication},
        {.name = "sh_subscription_max_s",
         .type = CFG_INT,
         .dst = &c->sh_subscription_max_s,
         .min = 1,
         .max = HSS_NOTIF_EXPIRY_MAX_S},
        {.name = "log_level", .type = CFG_STRING, .dst = &c->log_level_name, .choices = log_levels},
        {.name = "fd_debug", .type = CFG_BOOL, .dst = &c->fd_debug},
        {.name = "journal_size", .type = CFG_INT, .dst = &c->journal_size, .min = 1, .max = JOURNAL_CAPACITY_MAX},
        SUB_STORE_MAX_BYTES_FIELD(&c->subs_max_bytes),
        LISTEN_LIMITS_FIELDS(&c->limits),
        SBI_AUTH_FIELDS(&c->auth),
    };
    const cli_spec_t spec = {
        .program = "mihua-hss",
        .summary = "Diameter Sh HSS simulator (TS 29.328/29.329) answering UDR from the shared subscriber store.",
        .epilogue = hss_epilogue,
        .fields = fields,
        .n_fields = sizeof fields / sizeof fields[0],
        .options = hss_options,
        .n_options = sizeof hss_options / sizeof hss_options[0],
    };

    memset(c, 0, sizeof *c);
    c->subs_max_bytes = SUB_FILE_MAX_BYTES_DEFAULT;
    c->port = HSS_DEFAULT_PORT;
    c->tc_timer = HSS_DEFAULT_TC_TIMER;
    c->tw_timer = HSS_DEFAULT_TW_TIMER;
    c->dispatch_threads = 1; /* see lib/diameter/diam_node.c: freeDiameter 1.2.1's shutdown and its waiters */
    c->accept_workers = DIAM_ACCEPT_WORKERS_DEFAULT;
    c->sh_subscription_max_s = HSS_NOTIF_EXPIRY_DEFAULT_S;
    c->journal_size = JOURNAL_CAPACITY_DEFAULT;
    switch (cli_parse(&spec, argc, argv, &c->config_path)) {
    case CLI_EXIT_OK:
        return HSS_CONF_EXIT_OK;
    case CLI_BAD:
        return HSS_CONF_BAD;
    case CLI_OK:
        break;
    }
    cli_default(&c->identity, HSS_DEFAULT_IDENTITY);
    cli_default(&c->realm, HSS_DEFAULT_REALM);
    cli_default(&c->admin_listen, HSS_DEFAULT_ADMIN_LISTEN);
    cli_default(&c->subscribers_path, HSS_DEFAULT_SUBSCRIBERS);
    cli_default(&c->service_indication, HSS_DEFAULT_SERVICE_INDICATION);
    cli_default(&c->log_level_name, "info");
    listen_limits_default(&c->limits);
    log_level_parse(c->log_level_name, &c->log_level); /* checked against log_levels already */
    if (sbi_hostport_parse(c->admin_listen, c->admin_host, sizeof c->admin_host, &c->admin_port) != 0) {
        fprintf(stderr, "mihua-hss: admin_listen: must be ADDR:PORT (e.g. 127.0.0.1:7704), not '%s'\n",
                c->admin_listen);
        return HSS_CONF_BAD;
    }
    if (sbi_auth_conf_finish(&c->auth, "mihua-hss", "admin_listen", c->admin_host) != 0)
        return HSS_CONF_BAD;
    return HSS_CONF_OK;
}

diam_node_conf_t hss_conf_node(const hss_conf_t *c)
{
    return (diam_node_conf_t){.identity = c->identity,
                              .realm = c->realm,
                              .port = (int)c->port,
                              .accept_realm = c->realm,
                              .tc_timer = (int)c->tc_timer,
                              .tw_timer = (int)c->tw_timer,
                              .fd_debug = c->fd_debug,
                              .app_threads = (int)c->dispatch_threads,
                              .accept_workers = (int)c->accept_workers};
}

void hss_conf_free(hss_conf_t *c)
{
    free(c->config_path);
    free(c->subscribers_path);
    free(c->store_path);
    free(c->identity);
    free(c->realm);
    free(c->admin_listen);
    free(c->service_indication);
    free(c->log_level_name);
    sbi_auth_conf_free(&c->auth);
    memset(c, 0, sizeof *c);
}
