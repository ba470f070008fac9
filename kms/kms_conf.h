/*
 * kms_conf — mihua-kms settings: defaults (DESIGN §4, §8), the JSON config file (-c), then command-line overrides.
 *
 * Precedence is defaults < -c FILE < command line, so a test takes conf/kms.json as it is and moves only the
 * listen address (--listen 127.0.0.1:0). Every failure here is a usage or configuration error: exit code 2 with
 * the reason on stderr.
 */
#ifndef MIHUA_KMS_CONF_H
#define MIHUA_KMS_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "core/log.h"
#include "core/listen_guard.h"
#include "sbi/sbi_auth.h"
#include "sbi/sbi_url.h"

typedef struct {
    char *config_path;
    char *subscribers_path;
    char *store_path;    /* subscriber database; NULL: next to the subscriber file */
    long subs_max_bytes; /* subscribers_max_bytes: a larger subscriber file is refused unread */
    char *listen;        /* "ADDR:PORT" */
    char *tls_cert;      /* PEM chain; required unless insecure_h2c */
    char *tls_key;
    bool insecure_h2c;     /* --insecure-h2c: cleartext HTTP/2, logged as a warning */
    char *as_url;          /* base URL of the AS SBI, e.g. "http://127.0.0.1:7703" */
    char *as_ca;           /* CA file for an https AS; NULL: system default paths */
    long as_timeout_ms;    /* bound on the AS check; slower = refuse (fail closed) */
    char *as_token;        /* as.token: the bearer token the AS's SBI port wants (its admin_token) */
    char *as_token_file;   /* as.token_file, --as-token-file */
    char *as_token_loaded; /* the one in force after parsing; NULL: the KMS asks without a token */
    long key_ttl_s;
    long nonce_lifetime_s; /* Digest nonce lifetime */
    long max_keys;
    long max_keys_per_call;
    long max_keys_per_requester;
    char *audit_log;
    char *log_level_name;
    log_level_t log_level;
    char listen_host[SBI_HOST_MAX]; /* parsed from listen */
    uint16_t listen_port;
    listen_limits_t limits;
    sbi_auth_conf_t auth; /* the bearer token GET /metrics wants */
} kms_conf_t;

typedef enum {
    KMS_CONF_OK = 0,
    KMS_CONF_EXIT_OK, /* --help or --version printed; exit 0 */
    KMS_CONF_BAD,     /* reason printed on stderr; exit 2 */
} kms_conf_result_t;

kms_conf_result_t kms_conf_parse(kms_conf_t *c, int argc, char **argv);
void kms_conf_free(kms_conf_t *c);

#endif
