/*
 * udm_conf — mihua-udm settings. Defaults < JSON config (-c) < command line, through lib/core/cli. See
 * udm_conf.h.
 */
#include "udm_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "subscriber/sub_store.h"
#include "core/journal.h"
#include "udm_nudr_notif.h"

#define UDM_DEFAULT_LISTEN "127.0.0.1:7701" /* DESIGN §8 */
#define UDM_DEFAULT_ADMIN_LISTEN "127.0.0.1:7705"
#define UDM_DEFAULT_SUBSCRIBERS "conf/subscribers.json"
#define UDM_DEFAULT_AMF_INSTANCE_ID "6a4c8f1e-4b7d-4a8e-9f3c-2d1b0e5a7c91" /* any fixed UUID: one simulated AMF */

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};

/* clang-format off */
static const cli_option_t udm_options[] = {
    {"subscribers", "subscribers", "FILE", "subscriber file (DESIGN §5), imported into the store when it changed; "
     "default " UDM_DEFAULT_SUBSCRIBERS},
    {"store", "store", "PATH", "subscriber database (SQLite), shared with the other simulators; default: the "
     "subscriber file's path with .json replaced by .db"},
    {"listen", "listen", "ADDR:PORT", "SBI (Nudm/Nudr); port 0 picks one; default " UDM_DEFAULT_LISTEN},
    {"admin-listen", "admin_listen", "ADDR:PORT", "admin API (h2c); port 0 picks one; default " UDM_DEFAULT_ADMIN_LISTEN},
    {"subs-max-s", "subs_max_s", "N", "longest Nudr data-change subscription granted (its expiry is cut to "
     "now+N; none asked: N); default 3600"},
    SBI_AUTH_OPTION("on every admin API request"),
    SUB_STORE_MAX_BYTES_OPTION,
    LISTEN_LIMITS_OPTIONS,
    {"journal-size", "journal_size", "N", "exchanges kept for GET /admin/v1/exchanges (the oldest go first); "
     "default 1000"},
    {"log-level", "log_level", "LEVEL", "error, warn, info or debug; default info"},
};
/* clang-format on */

static const char udm_epilogue[] =
    "With tls.cert and tls.key the SBI is TLS 1.3 with ALPN h2 (SSLKEYLOGFILE honoured); otherwise h2c.\n"
    "Admin API: GET/PUT/PATCH/DELETE /admin/v1/subscribers/{imsi}, GET /admin/v1/subscribers[?limit=N&cursor=IMSI],\n"
    "POST /admin/v1/subscribers:import[?mode=merge|replace],\n"
    "POST /admin/v1/reload, GET /metrics,\n"
    "GET/DELETE /admin/v1/exchanges (request journal), POST/GET/DELETE /admin/v1/faults (fault injection),\n"
    "POST/GET/DELETE /admin/v1/captures[/{id}[/file]] (dumpcap on the SBI port, TLS secrets embedded; pcapng).\n"
    "Nudr data-change subscriptions (TS 29.504/29.505): POST/GET /nudr-dr/v2/subscription-data/subs-to-notify,\n"
    "DELETE .../subs-to-notify/{subsId}; DataChangeNotify POSTed to the callbackReference (h2c) on a change of\n"
    "operator-specific-data or context-data/amf-3gpp-access.\n" SBI_AUTH_HELP "\n"
    "Prints 'READY mihua-udm sbi=URL admin=URL[ admin_auth=off]' once listening. SIGHUP imports the subscriber file "
    "again (a bad file\n"
    "keeps the old data); SIGTERM drains open streams and exits 0. Exit codes: 0 ok, 1 runtime failure,\n"
    "2 bad usage or config.\n";

static udm_conf_result_t check(udm_conf_t *c)
{
    log_level_parse(c->log_level_name, &c->log_level); /* checked against log_levels already */
    if (sbi_hostport_parse(c->listen, c->listen_host, sizeof c->listen_host, &c->listen_port) != 0) {
        fprintf(stderr, "mihua-udm: listen: must be ADDR:PORT (e.g. 127.0.0.1:7701), not '%s'\n", c->listen);
        return UDM_CONF_BAD;
    }
    if (sbi_hostport_parse(c->admin_listen, c->admin_host, sizeof c->admin_host, &c->admin_port) != 0) {
        fprintf(stderr, "mihua-udm: admin_listen: must be ADDR:PORT (e.g. 127.0.0.1:7705), not '%s'\n",
                c->admin_listen);
        return UDM_CONF_BAD;
    }
    if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
        fprintf(stderr, "mihua-udm: tls: give both tls.cert and tls.key, or neither\n");
        return UDM_CONF_BAD;
    }
    if (sbi_auth_conf_finish(&c->auth, "mihua-udm", "admin_listen", c->admin_host) != 0)
        return UDM_CONF_BAD;
    return UDM_CONF_OK;
}

udm_conf_result_t udm_conf_parse(udm_conf_t *c, int argc, char **argv)
{
    const cfg_field_t fields[] = {
        {.name = "listen", .type = CFG_STRING, .dst = &c->listen},
        {.name = "admin_listen", .type = CFG_STRING, .dst = &c->admin_listen},
        {.name = "subscribers", .type = CFG_STRING, .dst = &c->subscribers_path},
        {.name = "store", .type = CFG_STRING, .dst = &c->store_path},
        {.name = "tls.cert", .type = CFG_STRING, .dst = &c->tls_cert},
        {.name = "tls.key", .type = CFG_STRING, .dst = &c->tls_key},
        {.name = "amf_instance_id", .type = CFG_STRING, .dst = &c->amf_instance_id},
        {.name = "subs_max_s", .type = CFG_INT, .dst = &c->subs_max_s, .min = 1, .max = UDM_NOTIF_EXPIRY_MAX_S},
        {.name = "log_level", .type = CFG_STRING, .dst = &c->log_level_name, .choices = log_levels},
        {.name = "journal_size", .type = CFG_INT, .dst = &c->journal_size, .min = 1, .max = JOURNAL_CAPACITY_MAX},
        SUB_STORE_MAX_BYTES_FIELD(&c->subs_max_bytes),
        LISTEN_LIMITS_FIELDS(&c->limits),
        SBI_AUTH_FIELDS(&c->auth),
    };
    const cli_spec_t spec = {
        .program = "mihua-udm",
        .summary = "UDM/UDR simulator: Nudm_UECM, Nudm_SDM (TS 29.503) and Nudr_DR (TS 29.505) over HTTP/2.",
        .epilogue = udm_epilogue,
        .fields = fields,
        .n_fields = sizeof fields / sizeof fields[0],
        .options = udm_options,
        .n_options = sizeof udm_options / sizeof udm_options[0],
    };

    memset(c, 0, sizeof *c);
    c->subs_max_bytes = SUB_FILE_MAX_BYTES_DEFAULT;
    c->subs_max_s = UDM_NOTIF_EXPIRY_DEFAULT_S;
    c->journal_size = JOURNAL_CAPACITY_DEFAULT;
    switch (cli_parse(&spec, argc, argv, &c->config_path)) {
    case CLI_EXIT_OK:
        return UDM_CONF_EXIT_OK;
    case CLI_BAD:
        return UDM_CONF_BAD;
    case CLI_OK:
        break;
    }
    cli_default(&c->listen, UDM_DEFAULT_LISTEN);
    cli_default(&c->admin_listen, UDM_DEFAULT_ADMIN_LISTEN);
    cli_default(&c->subscribers_path, UDM_DEFAULT_SUBSCRIBERS);
    cli_default(&c->amf_instance_id, UDM_DEFAULT_AMF_INSTANCE_ID);
    cli_default(&c->log_level_name, "info");
    listen_limits_default(&c->limits);
    return check(c);
}

void udm_conf_free(udm_conf_t *c)
{
    free(c->config_path);
    free(c->subscribers_path);
    free(c->store_path);
    free(c->listen);
    free(c->admin_listen);
    free(c->tls_cert);
    free(c->tls_key);
    free(c->amf_instance_id);
    free(c->log_level_name);
    sbi_auth_conf_free(&c->auth);
    memset(c, 0, sizeof *c);
}
