/*
 * hss_conf — mihua-hss settings: defaults (DESIGN §8), the JSON config file, then command-line overrides.
 *
 * Precedence is defaults < -c FILE < command line, so a test can take conf/hss.json as it is and move only the
 * port. Every failure here is a usage or configuration error: exit code 2 with the reason on stderr.
 */
#ifndef MIHUA_HSS_CONF_H
#define MIHUA_HSS_CONF_H

#include <stdbool.h>

#include "core/listen_guard.h"
#include "core/log.h"
#include "diameter/diam_node.h"
#include "sbi/sbi_auth.h"
#include "sbi/sbi_url.h"

typedef struct {
    char *config_path;
    char *subscribers_path;
    char *store_path;              /* subscriber database; NULL: next to the subscriber file */
    long subs_max_bytes;           /* subscribers_max_bytes: a larger subscriber file is refused unread */
    char *identity;                /* Origin-Host */
    char *realm;                   /* Origin-Realm; peers of this realm are accepted */
    long port;                     /* Diameter listen port */
    char *admin_listen;            /* admin API (HTTP/2 h2c) "ADDR:PORT"; port 0 = any free port (READY tells) */
    char admin_host[SBI_HOST_MAX]; /* parsed from admin_listen */
    uint16_t admin_port;
    long tc_timer;              /* freeDiameter reconnect timer, seconds */
    long tw_timer;              /* freeDiameter watchdog timer, seconds */
    long dispatch_threads;      /* freeDiameter AppServThreads: threads answering UDRs */
    long journal_size;          /* request journal entries (lib/core/journal.h) */
    long accept_workers;        /* connections waited on for their CER at once (diam_node.h) */
    char *service_indication;   /* RepositoryData key meaning "subscribed to voice encryption" */
    long sh_subscription_max_s; /* longest Sh subscription (SNR Expiry-Time) granted */
    char *log_level_name;
    log_level_t log_level;
    bool fd_debug;
    listen_limits_t limits; /* the admin listener (freeDiameter owns the Diameter one) */
    sbi_auth_conf_t auth;   /* the admin API's bearer token */
} hss_conf_t;

typedef enum {
    HSS_CONF_OK = 0,
    HSS_CONF_EXIT_OK, /* --help or --version printed; exit 0 */
    HSS_CONF_BAD,     /* reason printed on stderr; exit 2 */
} hss_conf_result_t;

hss_conf_result_t hss_conf_parse(hss_conf_t *c, int argc, char **argv);
void hss_conf_free(hss_conf_t *c);

/* The Diameter node the configuration describes: our identity and realm, listen port, timers, threads. */
diam_node_conf_t hss_conf_node(const hss_conf_t *c);

#endif
