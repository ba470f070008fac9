/*
 * sip_auth — SIP Digest at mihua-as (RFC 3261 §22.2-§22.4, RFC 8760 §2.4 algorithm order, RFC 7616 qop=auth).
 * Contract in sip_auth.h.
 *
 * The Digest work (parsing, hashing, stateless nonces, nc replay table) is lib/kms/http_digest's, shared with the
 * KMS; this file adds what SIP needs around it: the header names per role; the digest-uri must be a SIP or tel URI
 * but need not be the Request-URI byte for byte (RFC 3261 §22.4 asks only for "the same resource", and sipp puts
 * the registrar's address there): the response covers the uri the UA put, and the nonce's nc stops a replay; one
 * challenge line per algorithm, the subscriber lookup for the AOR and its sip_password, and the answer to send.
 * Nothing here logs: the caller logs the outcome with the request's source, never the password or response.
 */
#include "sip_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#define SIP_AUTH_MAX_NONCES 65536 /* used nonces whose nc is tracked: one per registered UE and refresh interval */

struct sip_auth {
    digest_server_t *srv;
    sub_store_t *store;
    sub_store_t *own_store; /* the store when opened here */
    digest_alg_t algs[2];   /* offer order */
    size_t n_algs;
    char realm[DIGEST_MAX_REALM_LEN + 1];
};

static const char *const auth_hdr[] = {"Authorization", "Proxy-Authorization"};
static const char *const challenge_hdr[] = {"WWW-Authenticate", "Proxy-Authenticate"};
static const int challenge_status[] = {401, 407};
static const char *const challenge_reason[] = {"Unauthorized", "Proxy Authentication Required"};

/* The offer order into a (SHA-256 then MD5 when conf gives none); the set as DIGEST_ALGS_* bits, 0 when bad. */
static unsigned auth_algs(sip_auth_t *a, const sip_auth_conf_t *conf)
{
    static const digest_alg_t both[] = {DIGEST_SHA256, DIGEST_MD5};
    const digest_alg_t *algs = conf->algs ? conf->algs : both;
    size_t n = conf->algs ? conf->n_algs : 2;
    unsigned mask = 0;
    if (n < 1 || n > 2)
        return 0;
    for (size_t i = 0; i < n; i++)
        mask |= 1u << (a->algs[i] = algs[i]);
    a->n_algs = n;
    return mask;
}

sip_auth_t *sip_auth_new(const sip_auth_conf_t *conf, char *err, size_t errlen)
{
    sub_error_t serr;
    sip_auth_t *a = calloc(1, sizeof *a);
    const char *realm = conf->realm ? conf->realm : SIP_AUTH_REALM_DEFAULT;
    if (!a)
        return snprintf(err, errlen, "out of memory"), NULL;
    digest_server_cfg_t dc = {.realm = realm,
                              .nonce_lifetime_s = conf->nonce_lifetime_s,
                              .max_nonces = SIP_AUTH_MAX_NONCES,
                              .algorithms = auth_algs(a, conf)};
    if (!dc.algorithms)
        snprintf(err, errlen, "one or two Digest algorithms");
    else if (!(a->store = conf->store) && !(a->store = a->own_store = sub_store_new_max(
                                                conf->store_path, conf->subscribers_path, conf->max_bytes, &serr)))
        snprintf(err, errlen, "subscribers: %s", serr.msg);
    else if (!(a->srv = digest_server_new(&dc)))
        snprintf(err, errlen, "bad Digest realm '%s'", realm);
    else
        return snprintf(a->realm, sizeof a->realm, "%s", realm), a;
    sip_auth_free(a);
    return NULL;
}

void sip_auth_free(sip_auth_t *a)
{
    if (!a)
        return;
    digest_server_free(a->srv);
    sub_store_free(a->own_store);
    free(a);
}

const char *sip_auth_realm(const sip_auth_t *a)
{
    return a->realm;
}

static sip_auth_verdict_t answer(sip_auth_answer_t *ans, sip_auth_verdict_t v, int status, const char *reason,
                                 const char *why)
{
    ans->status = status;
    ans->reason = reason;
    ans->why = why;
    return v;
}

/* One "<Header>: Digest ..." line per algorithm, in the configured order (RFC 8760 §2.4). */
sip_auth_verdict_t sip_auth_challenge(sip_auth_t *a, sip_auth_role_t role, int64_t now_s, bool stale,
                                      sip_auth_answer_t *ans)
{
    char value[SIP_AUTH_EXTRA_MAX / 2];
    size_t off = 0;
    ans->extra[0] = '\0';
    for (size_t i = 0; i < a->n_algs; i++) {
        if (digest_server_challenge_alg(a->srv, now_s, stale, a->algs[i], value, sizeof value) < 0)
            return answer(ans, SIP_AUTH_ERROR, 500, "Server Internal Error", "challenge_failed");
        int n = snprintf(ans->extra + off, sizeof ans->extra - off, "%s: %s\r\n", challenge_hdr[role], value);
        if (n < 0 || (size_t)n >= sizeof ans->extra - off)
            return answer(ans, SIP_AUTH_ERROR, 500, "Server Internal Error", "challenge_too_long");
        off += (size_t)n;
    }
    return answer(ans, SIP_AUTH_CHALLENGE, challenge_status[role], challenge_reason[role],
                  stale ? "stale_nonce" : "no_credentials");
}

/* The credentials header for our realm (RFC 3261 §22.4: one per realm may be present), parsed. 1 found, 0 none,
 * -1 malformed. */
static int find_credentials(const sip_auth_t *a, const sip_msg_t *req, sip_auth_role_t role, digest_auth_t *out)
{
    int malformed = 0;
    for (int i = 0; i < req->nhdrs; i++) {
        const sip_hdr_t *h = &req->hdrs[i];
        if (h->type != SIP_HDR_OTHER || (size_t)h->name.len != strlen(auth_hdr[role]) ||
            strncasecmp(h->name.s, auth_hdr[role], (size_t)h->name.len) != 0)
            continue;
        if (digest_parse_authorization(h->body.s, (size_t)h->body.len, out) != 0) {
            malformed = 1;
            continue;
        }
        if (strcmp(out->realm, a->realm) == 0)
            return 1;
    }
    return malformed ? -1 : 0;
}

/* The AOR's subscriber and its password into pw; the answer when there is none. */
static sip_auth_verdict_t aor_password(sub_snapshot_t *snap, const char *aor, const subscriber_t **sub,
                                       sip_auth_answer_t *ans)
{
    *sub = sub_find_by_identity(snap, aor);
    if (!*sub)
        return answer(ans, SIP_AUTH_REFUSED, 403, "Forbidden (unknown user)", "unknown_aor");
    snprintf(ans->imsi, sizeof ans->imsi, "%s", (*sub)->imsi);
    if (!(*sub)->has_sip_password)
        return answer(ans, SIP_AUTH_REFUSED, 403, "Forbidden (no SIP credentials provisioned)", "no_password");
    return SIP_AUTH_OK;
}

/* The subscriber a Digest username names: any identity form, or a bare global number ("+1555...", the user part
 * phones are often given). */
static const subscriber_t *user_of(sub_snapshot_t *snap, const char *username)
{
    char tel[DIGEST_MAX_USERNAME_LEN + 8];
    const subscriber_t *who = sub_find_by_identity(snap, username);
    if (who || username[0] != '+')
        return who;
    snprintf(tel, sizeof tel, "tel:%s", username);
    return sub_find_by_identity(snap, tel);
}

static sip_auth_verdict_t verify(sip_auth_t *a, sip_msg_t *req, const subscriber_t *sub, sub_snapshot_t *snap,
                                 sip_auth_role_t role, int64_t now_s, sip_auth_answer_t *ans)
{
    digest_auth_t cred;
    char method[32];
    int found = find_credentials(a, req, role, &cred);
    if (found < 0)
        return answer(ans, SIP_AUTH_BAD, 400, "Bad Request (malformed credentials)", "malformed");
    if (found == 0)
        return sip_auth_challenge(a, role, now_s, false, ans);
    const subscriber_t *who = user_of(snap, cred.username);
    if (!who || strcmp(who->imsi, sub->imsi) != 0)
        return answer(ans, SIP_AUTH_REFUSED, 403, "Forbidden (credentials of another user)", "wrong_user");
    if (req->method_str.len >= (int)sizeof method ||
        (strncasecmp(cred.uri, "sip:", 4) != 0 && strncasecmp(cred.uri, "sips:", 5) != 0 &&
         strncasecmp(cred.uri, "tel:", 4) != 0))
        return answer(ans, SIP_AUTH_BAD, 400, "Bad Request (credentials: uri is not a SIP URI)", "malformed");
    sip_str_copy(req->method_str, method, sizeof method);
    digest_result_t r = digest_server_verify(a->srv, &cred, method, NULL, sub->sip_password, now_s);
    OPENSSL_cleanse(&cred, sizeof cred);
    switch (r) {
    case DIGEST_OK:
        return answer(ans, SIP_AUTH_OK, 0, "OK", "ok");
    case DIGEST_STALE:
        return sip_auth_challenge(a, role, now_s, true, ans);
    case DIGEST_REPLAY:
    case DIGEST_BAD_RESPONSE:
        sip_auth_challenge(a, role, now_s, false, ans);
        ans->why = r == DIGEST_REPLAY ? "replay" : "bad_response";
        return ans->status == 500 ? SIP_AUTH_ERROR : SIP_AUTH_CHALLENGE;
    case DIGEST_MALFORMED:
        return answer(ans, SIP_AUTH_BAD, 400, "Bad Request (credentials: unsupported algorithm, qop or uri)",
                      "malformed");
    case DIGEST_INTERNAL:
        break;
    }
    return answer(ans, SIP_AUTH_ERROR, 500, "Server Internal Error", "internal");
}

sip_auth_verdict_t sip_auth_check(sip_auth_t *a, sip_msg_t *req, const char *aor, sip_auth_role_t role, int64_t now_s,
                                  sip_auth_answer_t *ans)
{
    const subscriber_t *sub;
    memset(ans, 0, sizeof *ans);
    if (sip_parse_headers(req, SIP_HF_ALL) != SIP_OK)
        return answer(ans, SIP_AUTH_BAD, 400, "Bad Request", "malformed");
    sub_snapshot_t *snap = sub_store_acquire(a->store);
    sip_auth_verdict_t v = aor_password(snap, aor, &sub, ans);
    if (v == SIP_AUTH_OK)
        v = verify(a, req, sub, snap, role, now_s, ans);
    sub_snapshot_release(snap);
    return v;
}
