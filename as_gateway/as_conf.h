/*
 * as_conf — mihua-as settings: defaults (DESIGN §8), the JSON config file (-c), then command-line overrides.
 *
 * Precedence is defaults < -c FILE < command line, so a test takes conf/as.json as it is and moves only the
 * listen addresses (--sip-listen 127.0.0.1:0). Every failure here is a usage or configuration error: exit code 2
 * with the reason on stderr.
 */
#ifndef MIHUA_AS_CONF_H
#define MIHUA_AS_CONF_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "as_checks.h"
#include "core/listen_guard.h"
#include "core/log.h"
#include "kms/http_digest.h"
#include "overload.h"
#include "proxy.h"
#include "sbi/sbi_auth.h"
#include "sbi/sbi_url.h"

typedef struct {
    char *config_path;
    char *sip_listen;        /* "ADDR:PORT", UDP and TCP */
    long sip_dialog_port;    /* UDP port for responses and in-dialog requests; -1: none (one socket) */
    char *sbi_listen;        /* "ADDR:PORT", h2c: call records and metrics */
    json_t *diameter_peers;  /* [{"addr","identity","priority"}], or NULL: the hss/hss_identity shorthand */
    char *destination_realm; /* Destination-Realm of every UDR (NULL: see as_checks_conf_t.dest_realm) */
    char *destination_host;  /* Destination-Host, sent only when set */
    char *hss;               /* shorthand: "ADDR:PORT" of the one Diameter peer */
    char *hss_identity;      /* shorthand: its identity, and the Destination-Host unless destination_host */
    char *diameter_identity; /* our Origin-Host */
    char *diameter_realm;
    long diameter_port; /* 0: client only */
    char *udm_url;
    char *udm_ca;
    char *subscription_source; /* hss, udm, any, all */
    char *attachment_source;
    long lookup_timeout_ms;
    bool checks;           /* false: tagged INVITEs are forwarded stripped, no lookups (development aid) */
    long max_transactions; /* SIP transaction table size */
    long max_calls;        /* call table size */
    long overload_transactions_pct, overload_calls_pct, overload_lag_ms, overload_age_ms; /* overload.h */
    long retry_after_s;
    long timer_c_s;          /* RFC 3261 §16.6 step 11 */
    long call_idle_s;        /* a call record without in-dialog traffic this long is closed */
    long max_pending_checks; /* encryption checks in flight before tagged INVITEs go stripped at once */
    bool facts_cache;        /* subscribe for registered users and decide from fresh facts (as_push) */
    long facts_max_age_ms;
    bool sip_auth;              /* SIP Digest on REGISTER and untrusted INVITEs (default); false: closed lab */
    char **sip_auth_algorithms; /* "SHA-256", "MD5": offered in this order (RFC 8760 §2.4), the only ones accepted */
    size_t n_sip_auth_algorithms;
    char *sip_realm;           /* Digest realm */
    long sip_nonce_lifetime_s; /* a nonce older than this gets stale=true */
    long max_aors_per_source;  /* AORs bound from one source IP address */
    char *subscribers_path;    /* subscriber file (DESIGN §5) imported into the store when it changed */
    char *store_path;          /* subscriber database; NULL: derived from subscribers_path */
    long subs_max_bytes;       /* a larger subscriber file is refused unread */
    char *log_level_name;
    log_level_t log_level;
    /* parsed */
    char sip_host[SBI_HOST_MAX];
    uint16_t sip_port;
    char sbi_host[SBI_HOST_MAX];
    uint16_t sbi_port;
    char hss_host[SBI_HOST_MAX];
    uint16_t hss_port;
    char peer_host[AS_DIAM_PEERS_MAX][SBI_HOST_MAX];
    as_checks_conf_t checks_conf; /* strings borrowed from the fields above */
    digest_alg_t sip_algs[2];     /* sip_auth_algorithms parsed */
    size_t n_sip_algs;
    listen_limits_t limits; /* SIP TCP and SBI listeners */
    overload_conf_t overload;
    sbi_auth_conf_t auth; /* the SBI port's bearer token (call records, metrics) */
} as_conf_t;

typedef enum { AS_CONF_OK = 0, AS_CONF_EXIT_OK, AS_CONF_BAD } as_conf_result_t;

as_conf_result_t as_conf_parse(as_conf_t *c, int argc, char **argv);
void as_conf_free(as_conf_t *c);
/* The settings part of the registrar's Digest and of the proxy (the caller adds the loop and the objects). */
void as_conf_sip_auth(const as_conf_t *c, sip_auth_conf_t *out);
void as_conf_proxy(const as_conf_t *c, proxy_conf_t *out);
/* A Diameter node runs (and listens on diameter_port) only when the checks are on and some policy asks the HSS. */
bool as_conf_uses_hss(const as_conf_t *c);

#endif
