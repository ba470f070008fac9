/*
 * udm_conf — mihua-udm settings: defaults (DESIGN §8), the JSON config file (-c), then command-line overrides.
 *
 * Precedence is defaults < -c FILE < command line, so a test can take conf/udm.json as it is and move only the
 * listen address (--listen 127.0.0.1:0). Every failure here is a usage or configuration error: exit code 2 with
 * the reason on stderr.
 */
#ifndef MIHUA_UDM_CONF_H
#define MIHUA_UDM_CONF_H

#include <stdint.h>

#include "core/listen_guard.h"
#include "core/log.h"
#include "sbi/sbi_auth.h"
#include "sbi/sbi_url.h"

typedef struct {
    char *config_path;
    char *subscribers_path;
    char *store_path;    /* subscriber database; NULL: next to the subscriber file */
    long subs_max_bytes; /* subscribers_max_bytes: a larger subscriber file is refused unread */
    char *listen;        /* "ADDR:PORT" of the SBI (Nudm/Nudr) server */
    char *admin_listen;  /* "ADDR:PORT" of the admin API (h2c) */
    char *tls_cert;      /* PEM chain; with tls_key: TLS 1.3 + ALPN h2 instead of h2c */
    char *tls_key;
    char *amf_instance_id; /* the AMF the simulated registrations name (UUID, TS 29.571 NfInstanceId) */
    long subs_max_s;       /* longest Nudr data-change subscription granted */
    char *log_level_name;
    log_level_t log_level;
    char listen_host[SBI_HOST_MAX]; /* parsed from listen */
    uint16_t listen_port;
    char admin_host[SBI_HOST_MAX]; /* parsed from admin_listen */
    uint16_t admin_port;
    listen_limits_t limits; /* per listener: SBI and admin each */
    long journal_size;      /* request journal entries (lib/core/journal.h) */
    sbi_auth_conf_t auth;   /* the admin API's bearer token */
} udm_conf_t;

typedef enum {
    UDM_CONF_OK = 0,
    UDM_CONF_EXIT_OK, /* --help or --version printed; exit 0 */
    UDM_CONF_BAD,     /* reason printed on stderr; exit 2 */
} udm_conf_result_t;

udm_conf_result_t udm_conf_parse(udm_conf_t *c, int argc, char **argv);
void udm_conf_free(udm_conf_t *c);

#endif
