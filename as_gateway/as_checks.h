/*
 * as_checks — the AS's encryption checks (DESIGN §3; patent claims 8-10).
 *
 * Encryption is allowed for a call iff the caller is subscribed, the callee is subscribed, and the callee is
 * attached on EUTRAN or NR with IMS voice over PS supported. Each fact can come from the HSS (Diameter Sh UDR:
 * RepositoryData for the Service-Indication "mihua-voice-encryption", TADSinformation) and/or the UDM (SBI:
 * operator-specific-data?fields=voiceEncryption, amf-3gpp-access), per the policies `subscription_source` and
 * `attachment_source` (hss, udm, any, all). All lookups of one call run in parallel and the decision is delivered
 * on the AS's event loop within lookup_timeout_ms (default 300) whatever happens: unknown, error or timeout counts
 * as "no" for that source, and the call goes on plain.
 *
 * The decision itself is as_decide_encryption() (as_decide.h), one pure function, so tests can feed it every
 * combination of lookup results.
 */
#ifndef MIHUA_AS_CHECKS_H
#define MIHUA_AS_CHECKS_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "as_decide.h"
#include "core/metrics.h"
#include "sbi/sbi_server.h"

#define AS_LOOKUP_TIMEOUT_MS_DEFAULT 300

/* "hss", "udm", "any", "all" <-> as_policy_t. Returns 0 or -1. */
int as_policy_parse(const char *name, as_policy_t *out);
const char *as_policy_name(as_policy_t p);

/* "yes", "no", "unknown", "error", "timeout", "not-asked" — for logs and JSON. */
const char *as_answer_name(as_answer_t a);

#define AS_MSISDN_MAX_DIGITS 15 /* E.164 (ITU-T E.164 §6) */

/* The MSISDN digits of an identity, for the UDM's `msisdn-<digits>` ueId: "tel:+<digits>[;params]" (RFC 3966,
 * visual separators "-.()" skipped) or "sip:+<digits>@host[;params]" / "sips:..." (user=phone form). Anything
 * else (no '+', letters, more than AS_MSISDN_MAX_DIGITS digits) cannot be asked of the UDM: -1.
 * out must hold AS_MSISDN_MAX_DIGITS + 1 bytes. Returns 0 or -1. */
int as_identity_msisdn(const char *identity, char *out, size_t size);

#define AS_DIAM_PEERS_MAX 8 /* Diameter peers of the AS (= DIAM_NODE_MAX_PEERS) */
#define AS_PEER_PRIORITY_MAX \
    32 /* priorities 1 (preferred) .. 32: the range fits freeDiameter's routing scores
                                      below FD_SCORE_FINALDEST (as_sh_path.c) */

/* A Diameter peer the AS connects to (RFC 6733 §2.8: an HSS, or a relay/DRA in front of one). */
typedef struct {
    const char *identity; /* its Diameter identity, checked against the Origin-Host of its CEA */
    const char *addr;     /* "127.0.0.1" */
    int port;             /* 3868 */
    int priority;         /* 1 = preferred; lower numbers first, like DNS SRV (RFC 2782) */
} as_diam_peer_t;

typedef struct {
    as_policy_t subscription_source;
    as_policy_t attachment_source;
    unsigned lookup_timeout_ms; /* 0: AS_LOOKUP_TIMEOUT_MS_DEFAULT */
    /* HSS (Diameter Sh): the AS is a freeDiameter client node (lib/diameter/diam_node). */
    const char *diameter_identity; /* our Origin-Host, e.g. "as.ims.test" */
    const char *diameter_realm;    /* "ims.test" */
    int diameter_port;             /* AS Diameter listen port (DESIGN §8: 3870), 0 = none */
    /* Where the AS connects (peers) is separate from where a UDR is addressed (destination), RFC 6733 §6.1. */
    as_diam_peer_t peers[AS_DIAM_PEERS_MAX];
    size_t n_peers;         /* 0: the one-peer shorthand below */
    const char *dest_realm; /* Destination-Realm of every UDR; NULL: the realm part of dest_host when set,
                                      else diameter_realm */
    const char *dest_host;  /* Destination-Host, sent only when set */
    /* Shorthand (n_peers == 0): one peer hss_identity at hss_addr:hss_port, and Destination-Host = hss_identity
     * unless dest_host is set — a direct HSS. */
    const char *hss_identity; /* "hss.ims.test" */
    const char *hss_addr;     /* "127.0.0.1" */
    int hss_port;             /* 3868 */
    /* UDM (SBI, h2c or https) */
    const char *udm_url; /* "http://127.0.0.1:7701" */
    const char *udm_ca;  /* CA file for https, or NULL */
    /* Subscriber-facts cache (DESIGN §3 "Push"): subscribe for registered users, decide from fresh facts. */
    bool facts_cache;
    unsigned facts_max_age_ms; /* facts older than this are not used; 0: AS_FACTS_MAX_AGE_MS_DEFAULT */
} as_checks_conf_t;

#define AS_FACTS_MAX_AGE_MS_DEFAULT 300000 /* five minutes: renewals every half of it confirm the facts */

typedef struct as_checks as_checks_t;

/* Starts the Diameter node (only when a policy uses the HSS: one freeDiameter node per process) and the SBI client
 * (only when a policy uses the UDM) on `base`. `metrics` may be NULL; it must outlive the checks. NULL with a
 * reason in err. No libevent threading is needed: answers from freeDiameter's threads reach the loop through a
 * pipe. The HSS peer connects in the background and reconnects every 2 s (AS_SH_TC_TIMER_S, as_sh_path.h);
 * while no Diameter peer is open, HSS lookups answer "error" at once. */
as_checks_t *as_checks_new(struct event_base *base, const as_checks_conf_t *conf, metrics_t *metrics, char *err,
                           size_t errlen);
/* Pending checks are dropped without their callbacks. Stops the Diameter node. */
void as_checks_free(as_checks_t *c);

/* Sets the per-peer gauges mihua_as_diameter_peer_open{peer="..."} (before a scrape). NULL is ignored. */
void as_checks_refresh_metrics(as_checks_t *c);

/* Start-up helpers: is any Diameter peer (HSS or relay) open now; wait (blocking, up to timeout_ms) until it is. Without an HSS
 * (no policy uses it) the first returns false and the second -1. */
bool as_checks_hss_open(const as_checks_t *c);
int as_checks_wait_hss(as_checks_t *c, int timeout_ms);

typedef void (*as_checks_cb)(const as_decision_t *d, const as_lookup_results_t *r, void *ud);

/* Asks every source the policies need, in parallel, about `caller` and `callee` (any identity form: IMPU,
 * tel URI; the UDM is asked by msisdn-<digits> taken from a tel URI or a sip URI with a +number user part).
 * `cb` runs exactly once, on the loop, within lookup_timeout_ms (plus scheduling), unless cancelled.
 * Returns a non-zero handle, or 0 when it could not start (then cb is not called: treat as not allowed). */
uint64_t as_checks_start(as_checks_t *c, const char *caller, const char *callee, as_checks_cb cb, void *ud);

/* A user registered (its AOR): with the facts cache on, the AS subscribes to its facts. */
void as_checks_registered(as_checks_t *c, const char *aor);
/* A user's last binding went (deregistered or expired): its subscriptions end and its cached facts go. */
void as_checks_deregistered(as_checks_t *c, const char *aor);
/* With the facts cache on, receive Nudr notifications on `srv`, telling the UDM to call back
 * http://host:port (that server's address). Returns 0 or -1. */
int as_checks_attach_sbi(as_checks_t *c, sbi_server_t *srv, const char *host, unsigned port);

/* Cancels a pending check (CANCEL, transaction gone): its callback will not run. Unknown handles are ignored. */
void as_checks_cancel(as_checks_t *c, uint64_t handle);

#endif
