/*
 * kms_conf — mihua-kms settings. Defaults < JSON config (-c) < command line. See kms_conf.h.
 *
 * Same shape as the other daemons, through lib/core/cli: numbers get their defaults before the file is read
 * (cfg_load keeps absent fields), strings after everything else (cli_default), and both sources are checked
 * against the same field table.
 */
#include "kms_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "subscriber/sub_store.h"
#include "kms/http_digest.h"
#include "sbi/sbi_bearer.h"
#include "kms_keys.h"

#define KMS_DEFAULT_LISTEN "127.0.0.1:7702" /* DESIGN §4, §8 */
#define KMS_DEFAULT_SUBSCRIBERS "conf/subscribers.json"
#define KMS_DEFAULT_AS_URL "http://127.0.0.1:7703" /* DESIGN §4: the AS's SBI port, h2c */
#define KMS_DEFAULT_AUDIT_LOG "run/kms-audit.jsonl"
#define KMS_DEFAULT_AS_TIMEOUT_MS 500 /* the AS answers from its own call record: sub-ms; 500 ms is "down" */
#define KMS_AS_TIMEOUT_MS_MAX 10000   /* below the server's stream timeout, so the UE hears 403, not 504 */
#define KMS_KEY_TTL_S_MAX 86400       /* a call key living a day is a configuration mistake */
#define KMS_NONCE_LIFETIME_S_MAX 3600

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};

/* clang-format off */
static const cli_option_t kms_options[] = {
    {"subscribers", "subscribers", "FILE", "subscriber file (DESIGN §5), imported into the store when it changed; "
     "default " KMS_DEFAULT_SUBSCRIBERS},
    {"store", "store", "PATH", "subscriber database (SQLite), shared with the other simulators; default: the "
     "subscriber file's path with .json replaced by .db"},
    {"listen", "listen", "ADDR:PORT", "listen address; port 0 picks one; default " KMS_DEFAULT_LISTEN},
    {"as-url", "as.url", "URL", "the AS SBI base URL; default " KMS_DEFAULT_AS_URL},
    {"audit-log", "audit_log", "FILE", "append-only audit log (JSON lines); default " KMS_DEFAULT_AUDIT_LOG},
    {"as-token-file", "as.token_file", "FILE", "bearer token sent to the AS with every call check (the AS's "
     "admin token), read at start; default: none"},
    SBI_AUTH_OPTION("on GET /metrics"),
    {"insecure-h2c", "insecure_h2c", NULL, "serve cleartext HTTP/2 without TLS (tests only; logs a warning)"},
    SUB_STORE_MAX_BYTES_OPTION,
    LISTEN_LIMITS_OPTIONS,
    {"log-level", "log_level", "LEVEL", "error, warn, info or debug; default info"},
};
/* clang-format on */

static const char kms_epilogue[] =
    "Config file only: key_ttl_s (60), max_keys (1048576), max_keys_per_call (4) and max_keys_per_requester\n"
    "(4096) live keys (beyond: 503 / 429 with a cause naming the bound), nonce_lifetime_s (300), as.ca,\n"
    "as.timeout_ms (500), as.token (instead of as.token_file). GET /metrics: listener and key-table "
    "counters.\n" SBI_AUTH_HELP "\n"
    "Prints 'READY mihua-kms sbi=URL[ admin_auth=off]' once listening. SIGHUP imports the subscriber file again and "
    "reopens the\n"
    "audit log; SIGTERM drains open streams and exits 0. Exit codes: 0 ok, 1 runtime failure, 2 bad usage\n"
    "or config.\n";

static kms_conf_result_t check_tls(const kms_conf_t *c)
{
    if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
        fprintf(stderr, "mihua-kms: tls: give both tls.cert and tls.key, or neither\n");
        return KMS_CONF_BAD;
    }
    if (c->tls_cert == NULL && !c->insecure_h2c) {
        fprintf(stderr, "mihua-kms: tls: tls.cert and tls.key are required (DESIGN §4: TLS 1.3); "
                        "--insecure-h2c serves cleartext for tests\n");
        return KMS_CONF_BAD;
    }
    return KMS_CONF_OK;
}

static kms_conf_result_t check(kms_conf_t *c)
{
    log_level_parse(c->log_level_name, &c->log_level); /* checked against log_levels already */
    if (sbi_hostport_parse(c->listen, c->listen_host, sizeof c->listen_host, &c->listen_port) != 0) {
        fprintf(stderr, "mihua-kms: listen: must be ADDR:PORT (e.g. 127.0.0.1:7702), not '%s'\n", c->listen);
        return KMS_CONF_BAD;
    }
    sbi_url_t u;
    if (sbi_url_parse(c->as_url, &u) != 0 || strcmp(u.path, "/") != 0) {
        fprintf(stderr, "mihua-kms: as.url: must be an http:// or https:// base URL without a path, not '%s'\n",
                c->as_url);
        return KMS_CONF_BAD;
    }
    char err[SBI_BEARER_ERR_MAX];
    if (sbi_bearer_load("as.token", c->as_token, c->as_token_file, "mihua-kms", &c->as_token_loaded, err, sizeof err) !=
        0) {
        fprintf(stderr, "mihua-kms: %s\n", err);
        return KMS_CONF_BAD;
    }
    if (sbi_auth_conf_finish(&c->auth, "mihua-kms", "listen", c->listen_host) != 0)
        return KMS_CONF_BAD;
    return check_tls(c);
}

kms_conf_result_t kms_conf_parse(kms_conf_t *c, int argc, char **argv)
{
    const cfg_field_t fields[] = {
        {.name = "listen", .type = CFG_STRING, .dst = &c->listen},
        {.name = "subscribers", .type = CFG_STRING, .dst = &c->subscribers_path},
        {.name = "store", .type = CFG_STRING, .dst = &c->store_path},
        {.name = "tls.cert", .type = CFG_STRING, .dst = &c->tls_cert},
        {.name = "tls.key", .type = CFG_STRING, .dst = &c->tls_key},
        {.name = "insecure_h2c", .type = CFG_BOOL, .dst = &c->insecure_h2c},
        {.name = "as.url", .type = CFG_STRING, .dst = &c->as_url},
        {.name = "as.ca", .type = CFG_STRING, .dst = &c->as_ca},
        {.name = "as.token", .type = CFG_STRING, .dst = &c->as_token},
        {.name = "as.token_file", .type = CFG_STRING, .dst = &c->as_token_file},
        {.name = "as.timeout_ms", .type = CFG_INT, .dst = &c->as_timeout_ms, .min = 1, .max = KMS_AS_TIMEOUT_MS_MAX},
        {.name = "key_ttl_s", .type = CFG_INT, .dst = &c->key_ttl_s, .min = 1, .max = KMS_KEY_TTL_S_MAX},
        {.name = "nonce_lifetime_s",
         .type = CFG_INT,
         .dst = &c->nonce_lifetime_s,
         .min = 1,
         .max = KMS_NONCE_LIFETIME_S_MAX},
        {.name = "max_keys", .type = CFG_INT, .dst = &c->max_keys, .min = 1, .max = KMS_KEYS_MAX_LIMIT},
        {.name = "max_keys_per_call",
         .type = CFG_INT,
         .dst = &c->max_keys_per_call,
         .min = 1,
         .max = KMS_KEYS_MAX_LIMIT},
        {.name = "max_keys_per_requester",
         .type = CFG_INT,
         .dst = &c->max_keys_per_requester,
         .min = 1,
         .max = KMS_KEYS_MAX_LIMIT},
        {.name = "audit_log", .type = CFG_STRING, .dst = &c->audit_log},
        {.name = "log_level", .type = CFG_STRING, .dst = &c->log_level_name, .choices = log_levels},
        SUB_STORE_MAX_BYTES_FIELD(&c->subs_max_bytes),
        LISTEN_LIMITS_FIELDS(&c->limits),
        SBI_AUTH_FIELDS(&c->auth),
    };
    const cli_spec_t spec = {
        .program = "mihua-kms",
        .summary = "Key management server: per-call session keys for the caller and callee UEs over HTTP/2 +\n"
                   "TLS 1.3, HTTP Digest (RFC 7616, SHA-256) authentication, every issue and retrieve checked\n"
                   "with the AS (DESIGN §4).",
        .epilogue = kms_epilogue,
        .fields = fields,
        .n_fields = sizeof fields / sizeof fields[0],
        .options = kms_options,
        .n_options = sizeof kms_options / sizeof kms_options[0],
    };

    memset(c, 0, sizeof *c);
    c->subs_max_bytes = SUB_FILE_MAX_BYTES_DEFAULT;
    c->as_timeout_ms = KMS_DEFAULT_AS_TIMEOUT_MS;
    c->key_ttl_s = KMS_KEYS_TTL_MS_DEFAULT / 1000;
    c->nonce_lifetime_s = DIGEST_DEFAULT_NONCE_LIFETIME_S;
    c->max_keys = KMS_KEYS_MAX_DEFAULT;
    c->max_keys_per_call = KMS_KEYS_PER_CALL_DEFAULT;
    c->max_keys_per_requester = KMS_KEYS_PER_REQUESTER_DEFAULT;
    switch (cli_parse(&spec, argc, argv, &c->config_path)) {
    case CLI_EXIT_OK:
        return KMS_CONF_EXIT_OK;
    case CLI_BAD:
        return KMS_CONF_BAD;
    case CLI_OK:
        break;
    }
    cli_default(&c->listen, KMS_DEFAULT_LISTEN);
    cli_default(&c->subscribers_path, KMS_DEFAULT_SUBSCRIBERS);
    cli_default(&c->as_url, KMS_DEFAULT_AS_URL);
    cli_default(&c->audit_log, KMS_DEFAULT_AUDIT_LOG);
    cli_default(&c->log_level_name, "info");
    listen_limits_default(&c->limits);
    return check(c);
}

void kms_conf_free(kms_conf_t *c)
{
    free(c->config_path);
    free(c->subscribers_path);
    free(c->store_path);
    free(c->listen);
    free(c->tls_cert);
    free(c->tls_key);
    free(c->as_url);
    free(c->as_ca);
    sbi_bearer_wipe(c->as_token);
    sbi_bearer_wipe(c->as_token_loaded);
    free(c->as_token_file);
    sbi_auth_conf_free(&c->auth);
    free(c->audit_log);
    free(c->log_level_name);
    memset(c, 0, sizeof *c);
}
