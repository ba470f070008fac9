/*
 * as_conf — mihua-as settings. Defaults < JSON config (-c) < command line, through lib/core/cli. See as_conf.h.
 */
#include "as_conf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "call_table.h"
#include "proxy.h"
#include "registrar.h"
#include "sip_auth.h"
#include "core/cli.h"
#include "subscriber/sub_store.h"
#include "sip/sip_txn.h"

#define AS_DEFAULT_SIP_LISTEN "127.0.0.1:5060" /* DESIGN §8 */
#define AS_DEFAULT_SBI_LISTEN "127.0.0.1:7703"
#define AS_DEFAULT_HSS "127.0.0.1:3868"
#define AS_DEFAULT_HSS_IDENTITY "hss.ims.test"
#define AS_DEFAULT_IDENTITY "as.ims.test"
#define AS_DEFAULT_REALM "ims.test"
#define AS_DEFAULT_DIAMETER_PORT 3870
#define AS_DEFAULT_UDM_URL "http://127.0.0.1:7701"
#define AS_DEFAULT_SUBSCRIPTION_SOURCE "hss" /* the Sh repository data is the subscription's home */
#define AS_DEFAULT_ATTACHMENT_SOURCE "any"   /* T-ADS covers EUTRAN and NR, the UDM only 5GS: either may say yes */
#define AS_FQDN_MAX 255                      /* RFC 6733 DiameterIdentity */
#define AS_LOOKUP_TIMEOUT_MS_MAX 10000       /* the caller's INVITE waits this long at most */
#define AS_MAX_TXNS_MIN 64                   /* below this a single call's retransmissions could fill it */
#define AS_MAX_CALLS_MAX 10000000            /* 10 M records: about 2 GB of call table, beyond any one box */
#define AS_LAG_MARK_MS_MAX 10000
#define AS_AGE_MARK_MS_MAX 10000
#define AS_RETRY_AFTER_S_MAX 3600
_Static_assert(SIP_TXN_MAX_DEFAULT == 262144 && CALL_TABLE_MAX_DEFAULT == 200000 && CALL_IDLE_MS_DEFAULT == 3600000 &&
                   PROXY_MAX_PENDING_CHECKS_DEFAULT == 1000,
               "--help states these defaults");
#define AS_TIMER_C_S_DEFAULT 180 /* RFC 3261 §16.6 step 11: "greater than 3 minutes" */
#define AS_TIMER_C_S_MAX 3600
#define AS_CALL_IDLE_S_MAX (7 * 86400)
#define AS_MAX_PENDING_CHECKS_MAX 1000000
#define AS_DEFAULT_SUBSCRIBERS "conf/subscribers.json" /* where the other daemons read them too */
#define AS_NONCE_LIFETIME_S_MAX 86400
#define AS_MAX_AORS_PER_SOURCE_MAX 10000000
_Static_assert(DIGEST_DEFAULT_NONCE_LIFETIME_S == 300 && REG_MAX_AORS_PER_SOURCE_DEFAULT == 1000,
               "--help states these defaults");
#define AS_STR(x) AS_STR_(x)
#define AS_STR_(x) #x

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const policies[] = {"hss", "udm", "any", "all", NULL};
static const char *const digest_algs[] = {"SHA-256", "MD5", NULL}; /* index = digest_alg_t */

/* clang-format off */
static const cli_option_t as_options[] = {
    {"sip-listen", "sip_listen", "ADDR:PORT", "SIP, UDP and TCP; port 0 picks one free for both; default "
                                              AS_DEFAULT_SIP_LISTEN},
    {"sip-dialog-port", "sip_dialog_port", "PORT", "a second UDP port, in our Via and Record-Route, for responses "
                                                   "and in-dialog requests: read before new requests; 0 picks one; "
                                                   "default: none"},
    {"sbi-listen", "sbi_listen", "ADDR:PORT", "call records and metrics (h2c); port 0 picks one; default "
                                              AS_DEFAULT_SBI_LISTEN},
    {"diameter-peers", "diameter_peers", "JSON", "Diameter peers (HSSs or relays), as in the file: "
                                                 "'[{\"addr\":\"ADDR:PORT\",\"identity\":\"FQDN\",\"priority\":1}]'"},
    {"destination-realm", "destination_realm", "REALM", "Destination-Realm of every UDR; default: the realm of "
                                                        "the Destination-Host, else our own realm"},
    {"destination-host", "destination_host", "FQDN", "Destination-Host of every UDR; default: none (only the "
                                                     "shorthand sends one)"},
    {"hss", "hss", "ADDR:PORT", "shorthand for one peer, the HSS itself: its address; default " AS_DEFAULT_HSS},
    {"hss-identity", "hss_identity", "FQDN", "shorthand: that peer's identity, also sent as Destination-Host; "
                                             "default " AS_DEFAULT_HSS_IDENTITY},
    {"diameter-port", "diameter_port", "N", "our Diameter listen port, 0 = client only; default 3870"},
    {"udm-url", "udm_url", "URL", "the UDM/UDR (SBI); default " AS_DEFAULT_UDM_URL},
    {"subscription-source", "subscription_source", "SRC", "hss, udm, any or all; default "
                                                          AS_DEFAULT_SUBSCRIPTION_SOURCE},
    {"attachment-source", "attachment_source", "SRC", "hss, udm, any or all; default " AS_DEFAULT_ATTACHMENT_SOURCE},
    {"lookup-timeout-ms", "lookup_timeout_ms", "MS", "budget of the encryption checks; default 300"},
    SBI_AUTH_OPTION("on every SBI request (call records for the KMS, metrics)"),
    SUB_STORE_MAX_BYTES_OPTION,
    LISTEN_LIMITS_OPTIONS,
    {"max-transactions", "max_transactions", "N", "SIP transaction table size; default 262144"},
    {"max-calls", "max_calls", "N", "call table size; default 200000"},
    {"overload-transactions-pct", "overload_transactions_pct", "PCT",
     "shed new INVITEs (503) once this share of the transaction table is live; default "
     AS_STR(OVERLOAD_TXN_MARK_PCT_DEFAULT)},
    {"overload-calls-pct", "overload_calls_pct", "PCT", "shed new INVITEs once this share of the call table is "
                                                        "used; default " AS_STR(OVERLOAD_CALLS_MARK_PCT_DEFAULT)},
    {"overload-lag-ms", "overload_lag_ms", "MS", "shed new INVITEs while the event loop runs this late, 0 = never; "
                                                 "default " AS_STR(OVERLOAD_LAG_MARK_MS_DEFAULT)},
    {"overload-age-ms", "overload_age_ms", "MS", "shed a new INVITE that waited longer than this between its arrival "
                                                 "(the kernel's receive stamp) and its reading, 0 = never; default "
                                                 AS_STR(OVERLOAD_AGE_MARK_MS_DEFAULT)},
    {"retry-after-s", "retry_after_s", "S", "Retry-After of the 503 to a shed INVITE; default "
                                            AS_STR(OVERLOAD_RETRY_AFTER_S_DEFAULT)},
    {"timer-c-s", "timer_c_s", "S", "Timer C: a forwarded INVITE without a final this long is CANCELled "
                                    "downstream and answered 408; default " AS_STR(AS_TIMER_C_S_DEFAULT)},
    {"call-idle-s", "call_idle_s", "S", "a call record without in-dialog requests this long is closed; default "
                                        "3600"},
    {"max-pending-checks", "max_pending_checks", "N", "encryption checks in flight; beyond this a tagged INVITE "
                                                      "is forwarded stripped at once; default 1000"},
    {"facts-cache", "facts_cache", "yes|no", "subscribe (Sh SNR, Nudr subs-to-notify) for registered users and "
                                            "decide calls from the facts kept fresh by notifications; default yes"},
    {"facts-max-age-ms", "facts_max_age_ms", "MS", "cached facts older than this are not used (renewed every half "
                                                   "of it); default 300000"},
    {"sip-auth", "sip_auth", "yes|no", "SIP Digest (401 on REGISTER, 407 on an INVITE from an unregistered flow) "
                                       "against each subscriber's sip_password; no: a closed lab only; default yes"},
    {"sip-auth-algorithms", "sip_auth_algorithms", "LIST", "Digest algorithms offered, in this order (one "
                                                           "challenge each), and accepted: SHA-256, MD5; default "
                                                           "SHA-256,MD5 (RFC 8760 §2.4)"},
    {"sip-realm", "sip_realm", "REALM", "Digest realm; default " SIP_AUTH_REALM_DEFAULT},
    {"sip-nonce-lifetime-s", "sip_nonce_lifetime_s", "S", "a Digest nonce older than this is answered stale=true; "
                                                         "default 300"},
    {"max-aors-per-source", "max_aors_per_source", "N", "AORs bound from one source IP address; one more is "
                                                        "refused 403; default 1000"},
    {"subscribers", "subscribers", "FILE", "subscriber file (DESIGN §5, sip_password), imported into the store "
                                           "when it changed; default " AS_DEFAULT_SUBSCRIBERS},
    {"store", "store", "PATH", "subscriber database (SQLite), shared with the other daemons; default: the "
                               "subscriber file's path with .json replaced by .db"},
    {"log-level", "log_level", "LEVEL", "error, warn, info or debug; default info"},
};
/* clang-format on */

static const char as_epilogue[] =
    "Registrar (RFC 3261 §10.3) and transaction-stateful proxy (§16) that keeps or strips +u.mihua.voenc on\n"
    "INVITEs after the encryption checks over Sh and SBI (DESIGN §3). SBI: GET /as/v1/calls/{callId}, GET /metrics.\n"
    "Config file only: diameter_identity, diameter_realm, udm_ca, checks (false disables the lookups).\n" SBI_AUTH_HELP
    "\n"
    "Diameter (RFC 6733 §2.8, §6.1): where the AS connects is separate from where a UDR is addressed.\n"
    "diameter_peers lists the peers (1-8; priority 1-32, lower first, default 1): a UDR goes to the OPEN peer\n"
    "with the best priority; one that has not answered within a third of lookup_timeout_ms is suspected for\n"
    "1 s and the UDR is sent again to the next OPEN peer. Destination-Realm is always sent, Destination-Host\n"
    "only when destination_host is set. Behind a relay, the peer is the relay and destination_host the HSS (or\n"
    "none). Without diameter_peers, hss and hss_identity name one peer and hss_identity is also the\n"
    "Destination-Host (a direct HSS); they cannot be combined with diameter_peers.\n"
    "\n"
    "Overload (RFC 3261 §21.5.4): a new out-of-dialog INVITE is answered 503 with Retry-After, statelessly and\n"
    "before any state exists, while the transaction table or the call table is above its mark, when the INVITE\n"
    "itself waited more than overload_age_ms in the socket before it was read (UDP: the kernel's receive stamp;\n"
    "TCP: when the read completed), or while the event loop is late by more than overload_lag_ms; requests of\n"
    "admitted calls (ACK, PRACK, UPDATE, BYE, re-INVITE, CANCEL) are always served. A call through the proxy\n"
    "holds transactions for about 101 s on UDP (Timers L, M, J, K), so the transaction mark allows mark / 101\n"
    "calls/s sustained: the start-up log line says how many. Counted in mihua_as_calls_shed_total{reason}\n"
    "(transactions, calls, age, loop_lag); a request dropped on a full table in\n"
    "mihua_as_requests_dropped_total (and one log line a second).\n"
    "State that ends by itself: a forwarded INVITE without a final response after timer_c_s (RFC 3261 §16.8)\n"
    "is CANCELled downstream and answered 408 (mihua_as_timer_c_total); a call record without in-dialog requests\n"
    "for call_idle_s is closed (mihua_as_call_records_expired_total). Encryption checks beyond\n"
    "max_pending_checks in flight make new tagged INVITEs go on plain at once (reason \"lookups overloaded\").\n"
    "\n"
    "Facts cache (DESIGN §3 \"Push\"): on each REGISTER the AS subscribes to the user's facts (Sh SNR for\n"
    "RepositoryData; Nudr subs-to-notify for operator-specific-data / amf-3gpp-access, callbacks to\n"
    "POST /as/v1/nudr-notify/{key}/{msisdn} on the SBI port, key: a secret made at start) per the two policies;\n"
    "a call whose facts are fresh is decided from memory (log: path=cache age_ms=N), any other by the queries\n"
    "above (path=query). T-ADS cannot\n"
    "be subscribed to (TS 29.328 table 7.6.1): attachment from the HSS is always queried. A Sh peer down or a UDM\n"
    "that lost our subscriptions sends calls back to queries until the AS has subscribed again.\n"
    "\n"
    "SIP Digest (RFC 3261 §22, RFC 8760, qop=auth): a REGISTER needs credentials for its To AOR (username: any\n"
    "identity of that subscriber; password: its sip_password) or gets 401 with one WWW-Authenticate per\n"
    "algorithm of sip_auth_algorithms, in that order; an AOR that names no subscriber, or one without\n"
    "sip_password, gets 403 and is never bound. An INVITE is taken from a caller only from the address its\n"
    "From AOR registered from, or with Proxy-Authorization for that AOR; otherwise 407 with\n"
    "Proxy-Authenticate. Counted in mihua_as_sip_auth_total{verdict}. With sip_auth no the registrar binds\n"
    "anyone (a warning at start, sip_auth=off in the READY line).\n"
    "\n"
    "Prints 'READY mihua-as sip=ADDR:PORT [sip_dialog=ADDR:PORT] sbi=URL diameter=ID@ADDR:PORT sip_auth=on|off\n"
    "[admin_auth=off]' once listening (diameter port 0: client only; sip_dialog only with sip_dialog_port;\n"
    "admin_auth=off: the SBI port takes no bearer token).\n"
    "SIGTERM: new INVITEs get 503, INVITEs in progress get their answers, exit 0. SIGHUP: nothing to reload\n"
    "(logged). Exit codes: 0 ok, 1 runtime failure, 2 bad usage or config.\n";

static as_conf_result_t bad_hostport(const char *field, const char *value)
{
    fprintf(stderr, "mihua-as: %s: must be ADDR:PORT (e.g. 127.0.0.1:5060), not '%s'\n", field, value);
    return AS_CONF_BAD;
}

static as_conf_result_t bad_conf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static as_conf_result_t bad_conf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mihua-as: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return AS_CONF_BAD;
}

/* A DiameterIdentity or realm (RFC 6733 §4.3.1 DiamIdent): an FQDN of letters, digits, '-', '.' and '_'. */
static bool fqdn_ok(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > AS_FQDN_MAX || *s == '.')
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

/* diameter_peers[i]: the loader checked the types and keys; the rest is checked here. */
static as_conf_result_t check_peer(as_conf_t *c, size_t i, json_t *o)
{
    as_diam_peer_t *p = &c->checks_conf.peers[i];
    const char *addr = json_string_value(json_object_get(o, "addr"));
    uint16_t port = 0;
    p->identity = json_string_value(json_object_get(o, "identity"));
    json_t *prio = json_object_get(o, "priority");
    p->priority = prio ? (int)json_integer_value(prio) : 1;
    if (addr == NULL || sbi_hostport_parse(addr, c->peer_host[i], sizeof c->peer_host[i], &port) != 0 || port == 0)
        return bad_conf("diameter_peers[%zu].addr: required, ADDR:PORT with a port from 1 to 65535", i);
    if (!fqdn_ok(p->identity))
        return bad_conf("diameter_peers[%zu].identity: required, a Diameter identity (FQDN)", i);
    if (strcasecmp(p->identity, c->diameter_identity) == 0)
        return bad_conf("diameter_peers[%zu].identity: is our own diameter_identity", i);
    for (size_t j = 0; j < i; j++)
        if (strcasecmp(c->checks_conf.peers[j].identity, p->identity) == 0)
            return bad_conf("diameter_peers[%zu].identity: '%s' is listed twice", i, p->identity);
    p->addr = c->peer_host[i];
    p->port = port;
    return AS_CONF_OK;
}

static as_conf_result_t check_diameter(as_conf_t *c)
{
    as_checks_conf_t *k = &c->checks_conf;
    if (c->destination_realm && !fqdn_ok(c->destination_realm))
        return bad_conf("destination_realm: must be a realm name (FQDN), not '%s'", c->destination_realm);
    if (c->destination_host && !fqdn_ok(c->destination_host))
        return bad_conf("destination_host: must be a Diameter identity (FQDN), not '%s'", c->destination_host);
    k->dest_realm = c->destination_realm;
    k->dest_host = c->destination_host;
    if (c->diameter_peers == NULL) {
        cli_default(&c->hss, AS_DEFAULT_HSS);
        cli_default(&c->hss_identity, AS_DEFAULT_HSS_IDENTITY);
        if (sbi_hostport_parse(c->hss, c->hss_host, sizeof c->hss_host, &c->hss_port) != 0 || c->hss_port == 0)
            return bad_hostport("hss", c->hss);
        if (!fqdn_ok(c->hss_identity))
            return bad_conf("hss_identity: must be a Diameter identity (FQDN), not '%s'", c->hss_identity);
        k->hss_identity = c->hss_identity;
        k->hss_addr = c->hss_host;
        k->hss_port = c->hss_port;
        return AS_CONF_OK;
    }
    if (c->hss || c->hss_identity)
        return bad_conf("hss and hss_identity are the one-peer shorthand: with diameter_peers, set "
                        "destination_host instead");
    size_t n = json_array_size(c->diameter_peers);
    if (n == 0 || n > AS_DIAM_PEERS_MAX)
        return bad_conf("diameter_peers: list 1 to %d peers", AS_DIAM_PEERS_MAX);
    for (size_t i = 0; i < n; i++)
        if (check_peer(c, i, json_array_get(c->diameter_peers, i)) != AS_CONF_OK)
            return AS_CONF_BAD;
    k->n_peers = n;
    return AS_CONF_OK;
}

/* The Digest algorithms in offer order, each once (the loader checked the names). Default: SHA-256, then MD5. */
static as_conf_result_t check_sip_algorithms(as_conf_t *c)
{
    c->n_sip_algs = 0;
    if (!c->sip_auth_algorithms) {
        c->sip_algs[c->n_sip_algs++] = DIGEST_SHA256;
        c->sip_algs[c->n_sip_algs++] = DIGEST_MD5;
        return AS_CONF_OK;
    }
    for (size_t i = 0; i < c->n_sip_auth_algorithms; i++) {
        digest_alg_t a = strcasecmp(c->sip_auth_algorithms[i], "MD5") == 0 ? DIGEST_MD5 : DIGEST_SHA256;
        for (size_t j = 0; j < c->n_sip_algs; j++)
            if (c->sip_algs[j] == a)
                return bad_conf("sip_auth_algorithms: '%s' is listed twice", c->sip_auth_algorithms[i]);
        c->sip_algs[c->n_sip_algs++] = a;
    }
    return c->n_sip_algs ? AS_CONF_OK : bad_conf("sip_auth_algorithms: list SHA-256, MD5 or both");
}

static as_conf_result_t check(as_conf_t *c)
{
    log_level_parse(c->log_level_name, &c->log_level); /* checked against log_levels already */
    if (sbi_hostport_parse(c->sip_listen, c->sip_host, sizeof c->sip_host, &c->sip_port) != 0)
        return bad_hostport("sip_listen", c->sip_listen);
    if (sbi_hostport_parse(c->sbi_listen, c->sbi_host, sizeof c->sbi_host, &c->sbi_port) != 0)
        return bad_hostport("sbi_listen", c->sbi_listen);
    if (sbi_auth_conf_finish(&c->auth, "mihua-as", "sbi_listen", c->sbi_host) != 0)
        return AS_CONF_BAD;
    if (check_diameter(c) != AS_CONF_OK)
        return AS_CONF_BAD;
    if (check_sip_algorithms(c) != AS_CONF_OK)
        return AS_CONF_BAD;
    if (strlen(c->sip_realm) > DIGEST_MAX_REALM_LEN || !fqdn_ok(c->sip_realm))
        return bad_conf("sip_realm: must be a domain name of at most %d characters, not '%s'", DIGEST_MAX_REALM_LEN,
                        c->sip_realm);
    as_checks_conf_t *k = &c->checks_conf;
    as_policy_parse(c->subscription_source, &k->subscription_source); /* checked against policies already */
    as_policy_parse(c->attachment_source, &k->attachment_source);
    k->lookup_timeout_ms = (unsigned)c->lookup_timeout_ms;
    k->diameter_identity = c->diameter_identity;
    k->diameter_realm = c->diameter_realm;
    k->diameter_port = (int)c->diameter_port;
    k->udm_url = c->udm_url;
    k->facts_cache = c->facts_cache;
    k->facts_max_age_ms = (unsigned)c->facts_max_age_ms;
    k->udm_ca = c->udm_ca;
    c->overload = (overload_conf_t){.txn_max = (size_t)c->max_transactions,
                                    .txn_mark_pct = (unsigned)c->overload_transactions_pct,
                                    .calls_max = (size_t)c->max_calls,
                                    .calls_mark_pct = (unsigned)c->overload_calls_pct,
                                    .lag_mark_ms = (unsigned)c->overload_lag_ms,
                                    .age_mark_ms = (unsigned)c->overload_age_ms,
                                    .retry_after_s = (unsigned)c->retry_after_s};
    return AS_CONF_OK;
}

as_conf_result_t as_conf_parse(as_conf_t *c, int argc, char **argv)
{
    static const cfg_field_t peer_fields[] = {
        {.name = "addr", .type = CFG_STRING},
        {.name = "identity", .type = CFG_STRING},
        {.name = "priority", .type = CFG_INT, .min = 1, .max = AS_PEER_PRIORITY_MAX},
    };
    const cfg_field_t fields[] = {
        {.name = "diameter_peers",
         .type = CFG_OBJECT_LIST,
         .dst = &c->diameter_peers,
         .sub = peer_fields,
         .n_sub = sizeof peer_fields / sizeof peer_fields[0]},
        {.name = "destination_realm", .type = CFG_STRING, .dst = &c->destination_realm},
        {.name = "destination_host", .type = CFG_STRING, .dst = &c->destination_host},
        {.name = "sip_listen", .type = CFG_STRING, .dst = &c->sip_listen},
        {.name = "sbi_listen", .type = CFG_STRING, .dst = &c->sbi_listen},
        {.name = "hss", .type = CFG_STRING, .dst = &c->hss},
        {.name = "hss_identity", .type = CFG_STRING, .dst = &c->hss_identity},
        {.name = "diameter_identity", .type = CFG_STRING, .dst = &c->diameter_identity},
        {.name = "diameter_realm", .type = CFG_STRING, .dst = &c->diameter_realm},
        {.name = "diameter_port", .type = CFG_INT, .dst = &c->diameter_port, .min = 0, .max = 65535},
        {.name = "udm_url", .type = CFG_STRING, .dst = &c->udm_url},
        {.name = "udm_ca", .type = CFG_STRING, .dst = &c->udm_ca},
        {.name = "subscription_source", .type = CFG_STRING, .dst = &c->subscription_source, .choices = policies},
        {.name = "attachment_source", .type = CFG_STRING, .dst = &c->attachment_source, .choices = policies},
        {.name = "lookup_timeout_ms",
         .type = CFG_INT,
         .dst = &c->lookup_timeout_ms,
         .min = 1,
         .max = AS_LOOKUP_TIMEOUT_MS_MAX},
        {.name = "checks", .type = CFG_BOOL, .dst = &c->checks},
        {.name = "max_transactions",
         .type = CFG_INT,
         .dst = &c->max_transactions,
         .min = AS_MAX_TXNS_MIN,
         .max = SIP_TXN_MAX_LIMIT},
        {.name = "max_calls", .type = CFG_INT, .dst = &c->max_calls, .min = 1, .max = AS_MAX_CALLS_MAX},
        {.name = "overload_transactions_pct",
         .type = CFG_INT,
         .dst = &c->overload_transactions_pct,
         .min = 1,
         .max = 100},
        {.name = "overload_calls_pct", .type = CFG_INT, .dst = &c->overload_calls_pct, .min = 1, .max = 100},
        {.name = "overload_lag_ms", .type = CFG_INT, .dst = &c->overload_lag_ms, .min = 0, .max = AS_LAG_MARK_MS_MAX},
        {.name = "overload_age_ms", .type = CFG_INT, .dst = &c->overload_age_ms, .min = 0, .max = AS_AGE_MARK_MS_MAX},
        {.name = "retry_after_s", .type = CFG_INT, .dst = &c->retry_after_s, .min = 1, .max = AS_RETRY_AFTER_S_MAX},
        {.name = "sip_dialog_port", .type = CFG_INT, .dst = &c->sip_dialog_port, .min = 0, .max = 65535},
        {.name = "timer_c_s", .type = CFG_INT, .dst = &c->timer_c_s, .min = 1, .max = AS_TIMER_C_S_MAX},
        {.name = "call_idle_s", .type = CFG_INT, .dst = &c->call_idle_s, .min = 1, .max = AS_CALL_IDLE_S_MAX},
        {.name = "max_pending_checks",
         .type = CFG_INT,
         .dst = &c->max_pending_checks,
         .min = 1,
         .max = AS_MAX_PENDING_CHECKS_MAX},
        {.name = "facts_cache", .type = CFG_BOOL, .dst = &c->facts_cache},
        {.name = "facts_max_age_ms", .type = CFG_INT, .dst = &c->facts_max_age_ms, .min = 1000, .max = 86400000},
        {.name = "sip_auth", .type = CFG_BOOL, .dst = &c->sip_auth},
        {.name = "sip_auth_algorithms",
         .type = CFG_STRING_LIST,
         .dst = &c->sip_auth_algorithms,
         .choices = digest_algs,
         .aux = &c->n_sip_auth_algorithms},
        {.name = "sip_realm", .type = CFG_STRING, .dst = &c->sip_realm},
        {.name = "sip_nonce_lifetime_s",
         .type = CFG_INT,
         .dst = &c->sip_nonce_lifetime_s,
         .min = 1,
         .max = AS_NONCE_LIFETIME_S_MAX},
        {.name = "max_aors_per_source",
         .type = CFG_INT,
         .dst = &c->max_aors_per_source,
         .min = 1,
         .max = AS_MAX_AORS_PER_SOURCE_MAX},
        {.name = "subscribers", .type = CFG_STRING, .dst = &c->subscribers_path},
        {.name = "store", .type = CFG_STRING, .dst = &c->store_path},
        {.name = "log_level", .type = CFG_STRING, .dst = &c->log_level_name, .choices = log_levels},
        SUB_STORE_MAX_BYTES_FIELD(&c->subs_max_bytes),
        LISTEN_LIMITS_FIELDS(&c->limits),
        SBI_AUTH_FIELDS(&c->auth),
    };
    const cli_spec_t spec = {
        .program = "mihua-as",
        .summary = "IMS application server: SIP registrar and proxy with the voice-encryption checks.",
        .epilogue = as_epilogue,
        .fields = fields,
        .n_fields = sizeof fields / sizeof fields[0],
        .options = as_options,
        .n_options = sizeof as_options / sizeof as_options[0],
    };

    memset(c, 0, sizeof *c);
    c->subs_max_bytes = SUB_FILE_MAX_BYTES_DEFAULT;
    c->diameter_port = AS_DEFAULT_DIAMETER_PORT;
    c->lookup_timeout_ms = AS_LOOKUP_TIMEOUT_MS_DEFAULT;
    c->checks = true;
    c->facts_cache = true;
    c->facts_max_age_ms = AS_FACTS_MAX_AGE_MS_DEFAULT;
    c->max_transactions = SIP_TXN_MAX_DEFAULT;
    c->max_calls = CALL_TABLE_MAX_DEFAULT;
    c->overload_transactions_pct = OVERLOAD_TXN_MARK_PCT_DEFAULT;
    c->overload_calls_pct = OVERLOAD_CALLS_MARK_PCT_DEFAULT;
    c->overload_lag_ms = OVERLOAD_LAG_MARK_MS_DEFAULT;
    c->overload_age_ms = OVERLOAD_AGE_MARK_MS_DEFAULT;
    c->retry_after_s = OVERLOAD_RETRY_AFTER_S_DEFAULT;
    c->timer_c_s = AS_TIMER_C_S_DEFAULT;
    c->sip_dialog_port = -1;
    c->call_idle_s = (long)(CALL_IDLE_MS_DEFAULT / 1000);
    c->max_pending_checks = PROXY_MAX_PENDING_CHECKS_DEFAULT;
    c->sip_auth = true;
    c->sip_nonce_lifetime_s = DIGEST_DEFAULT_NONCE_LIFETIME_S;
    c->max_aors_per_source = REG_MAX_AORS_PER_SOURCE_DEFAULT;
    switch (cli_parse(&spec, argc, argv, &c->config_path)) {
    case CLI_EXIT_OK:
        return AS_CONF_EXIT_OK;
    case CLI_BAD:
        return AS_CONF_BAD;
    case CLI_OK:
        break;
    }
    cli_default(&c->sip_listen, AS_DEFAULT_SIP_LISTEN);
    cli_default(&c->sbi_listen, AS_DEFAULT_SBI_LISTEN);
    cli_default(&c->diameter_identity, AS_DEFAULT_IDENTITY);
    cli_default(&c->diameter_realm, AS_DEFAULT_REALM);
    cli_default(&c->udm_url, AS_DEFAULT_UDM_URL);
    cli_default(&c->subscription_source, AS_DEFAULT_SUBSCRIPTION_SOURCE);
    cli_default(&c->attachment_source, AS_DEFAULT_ATTACHMENT_SOURCE);
    cli_default(&c->log_level_name, "info");
    cli_default(&c->sip_realm, SIP_AUTH_REALM_DEFAULT);
    cli_default(&c->subscribers_path, AS_DEFAULT_SUBSCRIBERS);
    listen_limits_default(&c->limits);
    return check(c);
}

void as_conf_free(as_conf_t *c)
{
    free(c->config_path);
    free(c->sip_listen);
    free(c->sbi_listen);
    json_decref(c->diameter_peers);
    free(c->destination_realm);
    free(c->destination_host);
    free(c->hss);
    free(c->hss_identity);
    free(c->diameter_identity);
    free(c->diameter_realm);
    free(c->udm_url);
    free(c->udm_ca);
    free(c->subscription_source);
    free(c->attachment_source);
    free(c->log_level_name);
    free(c->sip_realm);
    for (size_t i = 0; c->sip_auth_algorithms && c->sip_auth_algorithms[i]; i++)
        free(c->sip_auth_algorithms[i]);
    free(c->sip_auth_algorithms);
    free(c->subscribers_path);
    free(c->store_path);
    sbi_auth_conf_free(&c->auth);
    memset(c, 0, sizeof *c);
}

bool as_conf_uses_hss(const as_conf_t *c)
{
    return c->checks &&
           (c->checks_conf.subscription_source != AS_POLICY_UDM || c->checks_conf.attachment_source != AS_POLICY_UDM);
}

void as_conf_sip_auth(const as_conf_t *c, sip_auth_conf_t *out)
{
    *out = (sip_auth_conf_t){.realm = c->sip_realm,
                             .nonce_lifetime_s = (unsigned)c->sip_nonce_lifetime_s,
                             .algs = c->sip_algs,
                             .n_algs = c->n_sip_algs,
                             .subscribers_path = c->subscribers_path,
                             .store_path = c->store_path,
                             .max_bytes = (size_t)c->subs_max_bytes};
}

void as_conf_proxy(const as_conf_t *c, proxy_conf_t *out)
{
    *out = (proxy_conf_t){.host = c->sip_host,
                          .port = c->sip_port,
                          .limits = &c->limits,
                          .overload = &c->overload,
                          .timer_c_ms = (unsigned)c->timer_c_s * 1000u,
                          .call_idle_ms = (uint64_t)c->call_idle_s * 1000u,
                          .max_pending_checks = (size_t)c->max_pending_checks,
                          .dialog_socket = c->sip_dialog_port >= 0,
                          .dialog_port = (int)c->sip_dialog_port};
}
