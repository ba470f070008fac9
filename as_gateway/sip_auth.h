/*
 * sip_auth — SIP Digest authentication of UEs at mihua-as (RFC 3261 §22, RFC 8760, RFC 7616 qop=auth): the
 * registrar's 401 (WWW-Authenticate / Authorization) and the proxy's 407 (Proxy-Authenticate /
 * Proxy-Authorization), against each subscriber's `sip_password` (DESIGN §5).
 *
 *   sip_auth_t *a = sip_auth_new(&conf, err, sizeof err);
 *   sip_auth_answer_t ans;
 *   switch (sip_auth_check(a, req, aor_key, SIP_AUTH_UAS, digest_now(), &ans)) {
 *   case SIP_AUTH_OK: ...                     // ans.imsi names the subscriber
 *   default: reply ans.status ans.reason with ans.extra (the challenges, or nothing); log ans.why
 *   }
 *
 * Who may authenticate as whom: the Digest username may be any identity of the subscriber that owns the AOR (IMPU
 * in sip: or tel: form, MSISDN, IMSI: phones are configured with one or the other); credentials of another
 * subscriber are refused (403) even when right. An AOR that names no subscriber is refused (403) before any
 * challenge, and so is one without a sip_password. Trade-off: the 403 tells a stranger whether a number is a
 * subscriber; the alternative (challenging everybody) would let a flood of unknown AORs cost a challenge each and
 * hide configuration errors from the operator.
 *
 * Challenges: one per algorithm, SHA-256 first then MD5 by default (RFC 8760 §2.4: the UAC takes the first it
 * supports; sipp 3.6 takes the first whatever it is, hence the order is configurable), on
 * stateless HMAC nonces (lib/kms/http_digest), so a flood of unauthenticated REGISTERs costs no memory. A nonce
 * lives nonce_lifetime_s; an expired one with otherwise good credentials gets a fresh challenge with stale=true.
 * A repeated nc, a wrong password or a stale-less unknown nonce gets a fresh 401/407 (RFC 3261 §22.4: "the server
 * MAY challenge again"); a malformed header gets 400.
 */
#ifndef MIHUA_AS_SIP_AUTH_H
#define MIHUA_AS_SIP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kms/http_digest.h"
#include "sip/sip_msg.h"
#include "subscriber/sub_store.h"

#define SIP_AUTH_REALM_DEFAULT "ims.test" /* the lab's domain; phones show it when asking for a password */
#define SIP_AUTH_EXTRA_MAX 640            /* two challenge header lines */

typedef struct {
    const char *realm;            /* NULL: SIP_AUTH_REALM_DEFAULT */
    unsigned nonce_lifetime_s;    /* 0: DIGEST_DEFAULT_NONCE_LIFETIME_S */
    const digest_alg_t *algs;     /* offered in this order, and the only ones accepted; NULL: SHA-256 then MD5 */
    size_t n_algs;                /* 1 or 2 */
    sub_store_t *store;           /* where each subscriber's sip_password is read (borrowed); NULL: opened here from */
    const char *subscribers_path; /* the subscriber file (imported when it changed) */
    const char *store_path;       /* and the database (NULL: derived from the file's path), and owned */
    size_t max_bytes;             /* the largest subscriber file read; 0: the default (sub_store_new_max) */
} sip_auth_conf_t;

typedef struct sip_auth sip_auth_t;

/* Registrar (401, Authorization) or proxy (407, Proxy-Authorization), RFC 3261 §22.2 / §22.3. */
typedef enum { SIP_AUTH_UAS = 0, SIP_AUTH_PROXY } sip_auth_role_t;

typedef enum {
    SIP_AUTH_OK = 0,    /* authenticated as the AOR's subscriber */
    SIP_AUTH_CHALLENGE, /* 401/407 with fresh challenges in extra */
    SIP_AUTH_REFUSED,   /* 403: unknown AOR, no sip_password, or another subscriber's credentials */
    SIP_AUTH_BAD,       /* 400: malformed credentials */
    SIP_AUTH_ERROR,     /* 500 */
} sip_auth_verdict_t;

typedef struct {
    int status;                     /* SIP status to answer (0 when OK) */
    const char *reason;             /* reason phrase, static */
    const char *why;                /* short cause for logs and metrics ("no_credentials", "stale", ...), static */
    char extra[SIP_AUTH_EXTRA_MAX]; /* header lines ending in CRLF, "" when none */
    char imsi[16];                  /* the AOR's subscriber, "" when none */
} sip_auth_answer_t;

sip_auth_t *sip_auth_new(const sip_auth_conf_t *conf, char *err, size_t errlen);
void sip_auth_free(sip_auth_t *a);

/* Checks a request's credentials for the AOR `aor` (an identity: registrar key or URI) at `now_s` (monotonic
 * seconds). Reads the request's Authorization (or Proxy-Authorization) headers and uses the one for our realm. On
 * OK the nonce's nc has advanced: the same credentials are refused next time. */
sip_auth_verdict_t sip_auth_check(sip_auth_t *a, sip_msg_t *req, const char *aor, sip_auth_role_t role, int64_t now_s,
                                  sip_auth_answer_t *ans);

/* Fills ans with a fresh challenge (no credentials looked at), e.g. for an INVITE from an unknown flow. */
sip_auth_verdict_t sip_auth_challenge(sip_auth_t *a, sip_auth_role_t role, int64_t now_s, bool stale,
                                      sip_auth_answer_t *ans);

const char *sip_auth_realm(const sip_auth_t *a);

#endif
