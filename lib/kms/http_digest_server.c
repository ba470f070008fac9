/*
 * http_digest_server — the server side of HTTP Digest (RFC 7616 §3.3 challenge, §3.4 verification, §3.5 stale):
 * stateless nonces, the replay table of used nonces, and digest_server_verify.
 *
 * Nonces are stateless until used: base64url(issue time || random || HMAC-SHA256(server key, both)), so issuing
 * one (every unauthenticated request gets a challenge) costs no memory, and a flood of challenges cannot push a
 * live nonce out of any table. A nonce is checked by its MAC and age. State is kept only for a nonce that an
 * authenticated request used: a 2-way set-associative table of `max_nonces` entries, indexed by MAC bytes, holding
 * the highest nc accepted; a request must carry a strictly larger nc (RFC 7616 §3.4: the server detects replays by
 * nc). The nc advances only after the response verified, so a forger cannot burn a victim's nonce by sending
 * nc=ffffffff. When the table must evict a live entry (authenticated load beyond max_nonces), every unknown nonce
 * issued no later than the evicted one is answered stale from then on, so a replay is never taken for a first use.
 * Trade-off: the nonce discloses its issue time (monotonic seconds), which is not secret.
 *
 * Stale: an unknown or expired nonce yields DIGEST_STALE only when the response is right for that nonce (RFC 7616
 * §3.5: stale=true means "credentials good, nonce not"), so a client that guesses a password never gets told
 * "stale" and keeps retrying without re-prompting. The uri must match the request-target (§3.4.6) unless the
 * caller is SIP (RFC 3261 §22.4).
 *
 * Time comes in as an explicit `now` (monotonic seconds); nothing here reads a clock except digest_now().
 */
#include "kms/http_digest_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core/core_b64url.h"

/* Server nonce: issue time (4 bytes, big endian) || 8 random bytes || a 12-byte HMAC-SHA256 over both (96 bits:
 * not forgeable online) = 24 bytes = 32 base64url characters. */
#define DG_NONCE_TIME_LEN 4
#define DG_NONCE_RAND_LEN 8
#define DG_NONCE_MAC_LEN 12
#define DG_NONCE_RAW_LEN (DG_NONCE_TIME_LEN + DG_NONCE_RAND_LEN + DG_NONCE_MAC_LEN)
#define DG_NONCE_TEXT_LEN 32
#define DG_NONCE_KEY_LEN 32
/* Server opaque: 18 random bytes = 24 base64url characters. */
#define DG_OPAQUE_RAW_LEN 18
#define DG_OPAQUE_TEXT_LEN 24

typedef struct {
    uint8_t raw[DG_NONCE_RAW_LEN]; /* the nonce before base64url */
    int64_t issued;                /* from the nonce itself */
    uint32_t last_nc;              /* highest nc accepted */
    uint8_t in_use;
} dg_used_t;

struct digest_server {
    char realm[DIGEST_MAX_REALM_LEN + 1];
    char opaque[DG_OPAQUE_TEXT_LEN + 1]; /* one per server instance; echoed by clients, checked on good nonces */
    uint8_t key[DG_NONCE_KEY_LEN];       /* HMAC key of the nonces, random per server instance */
    unsigned lifetime_s;
    unsigned algs;      /* DIGEST_ALGS_* accepted */
    uint32_t cap;       /* entries in the replay table */
    dg_used_t *used;    /* cap entries, owned */
    int64_t stale_upto; /* a nonce issued at or before this whose state was evicted: unknown nonces this old are
                           stale (their replay state may be gone), never a first use */
    digest_hasher_t *hasher;
};

digest_server_t *digest_server_new(const digest_server_cfg_t *cfg)
{
    if (!cfg || !cfg->realm || !cfg->realm[0] || strlen(cfg->realm) > DIGEST_MAX_REALM_LEN)
        return NULL;
    uint32_t cap = cfg->max_nonces ? cfg->max_nonces : DIGEST_DEFAULT_MAX_NONCES;
    unsigned algs = cfg->algorithms ? cfg->algorithms : DIGEST_ALGS_SHA256;
    if (cap > DIGEST_MAX_NONCES_LIMIT || (algs & ~(DIGEST_ALGS_SHA256 | DIGEST_ALGS_MD5)))
        return NULL;
    for (const char *p = cfg->realm; *p; p++)
        if (!dg_qd_ok((unsigned char)*p) || *p == '\t')
            return NULL;

    digest_server_t *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    srv->used = calloc(cap, sizeof(*srv->used));
    srv->hasher = digest_hasher_new();
    srv->stale_upto = INT64_MIN;
    uint8_t raw[DG_OPAQUE_RAW_LEN];
    if (!srv->used || !srv->hasher || RAND_bytes(raw, sizeof(raw)) != 1 ||
        RAND_bytes(srv->key, sizeof(srv->key)) != 1) {
        digest_server_free(srv);
        return NULL;
    }
    core_b64url_encode(raw, sizeof(raw), srv->opaque, sizeof(srv->opaque));
    strcpy(srv->realm, cfg->realm);
    srv->lifetime_s = cfg->nonce_lifetime_s ? cfg->nonce_lifetime_s : DIGEST_DEFAULT_NONCE_LIFETIME_S;
    srv->cap = cap;
    srv->algs = algs;
    return srv;
}

void digest_server_free(digest_server_t *srv)
{
    if (!srv)
        return;
    if (srv->used) {
        OPENSSL_cleanse(srv->used, (size_t)srv->cap * sizeof(*srv->used));
        free(srv->used);
    }
    OPENSSL_cleanse(srv->key, sizeof(srv->key));
    digest_hasher_free(srv->hasher);
    free(srv);
}

/* mac = HMAC-SHA256(key, issued || random), truncated: the part of the nonce that proves we issued it. */
static int dg_nonce_mac(const digest_server_t *srv, const uint8_t *raw, uint8_t mac[DG_NONCE_MAC_LEN])
{
    uint8_t full[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), srv->key, (int)sizeof(srv->key), raw, DG_NONCE_TIME_LEN + DG_NONCE_RAND_LEN, full, &len) ||
        len < DG_NONCE_MAC_LEN)
        return -1;
    memcpy(mac, full, DG_NONCE_MAC_LEN);
    OPENSSL_cleanse(full, sizeof(full));
    return 0;
}

static int64_t dg_nonce_issued(const uint8_t *raw)
{
    return (int64_t)((uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3]);
}

/* Issuing holds no state: the nonce carries its issue time and a MAC over it, so a flood of challenges costs the
 * server nothing and can evict nothing. */
static int dg_nonce_issue(digest_server_t *srv, int64_t now, char text[DG_NONCE_TEXT_LEN + 1])
{
    uint8_t raw[DG_NONCE_RAW_LEN];
    uint32_t t = (uint32_t)now; /* monotonic seconds: 32 bits last 136 years of uptime */
    raw[0] = (uint8_t)(t >> 24);
    raw[1] = (uint8_t)(t >> 16);
    raw[2] = (uint8_t)(t >> 8);
    raw[3] = (uint8_t)t;
    if (RAND_bytes(raw + DG_NONCE_TIME_LEN, DG_NONCE_RAND_LEN) != 1 ||
        dg_nonce_mac(srv, raw, raw + DG_NONCE_TIME_LEN + DG_NONCE_RAND_LEN) < 0)
        return -1;
    core_b64url_encode(raw, sizeof(raw), text, DG_NONCE_TEXT_LEN + 1);
    return 0;
}

/* Decodes a nonce text and checks it is ours and unexpired. 0, or -1 (not ours, tampered, or expired). */
static int dg_nonce_check(const digest_server_t *srv, const char *text, int64_t now, uint8_t raw[DG_NONCE_RAW_LEN])
{
    uint8_t mac[DG_NONCE_MAC_LEN];
    size_t raw_len = 0;
    if (strlen(text) != DG_NONCE_TEXT_LEN ||
        core_b64url_decode(text, DG_NONCE_TEXT_LEN, raw, DG_NONCE_RAW_LEN, &raw_len) < 0 ||
        dg_nonce_mac(srv, raw, mac) < 0 ||
        CRYPTO_memcmp(mac, raw + DG_NONCE_TIME_LEN + DG_NONCE_RAND_LEN, sizeof(mac)) != 0)
        return -1;
    int64_t age = (int64_t)(uint32_t)now - dg_nonce_issued(raw);
    return age >= 0 && age < (int64_t)srv->lifetime_s ? 0 : -1;
}

static int dg_used_live(const digest_server_t *srv, const dg_used_t *u, int64_t now)
{
    return u->in_use && (int64_t)(uint32_t)now - u->issued < (int64_t)srv->lifetime_s;
}

/* The replay table is 2-way set associative, indexed by MAC bytes (uniform, and not chosen by the client without
 * the key). Only a request that authenticated ever takes an entry, so strangers cannot evict one. */
static uint32_t dg_used_index(const digest_server_t *srv, const uint8_t *raw)
{
    const uint8_t *m = raw + DG_NONCE_TIME_LEN + DG_NONCE_RAND_LEN;
    uint32_t h = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
    return h % srv->cap;
}

static dg_used_t *dg_used_find(digest_server_t *srv, const uint8_t *raw)
{
    uint32_t i = dg_used_index(srv, raw);
    for (uint32_t k = 0; k < 2 && k < srv->cap; k++) {
        dg_used_t *u = &srv->used[(i + k) % srv->cap];
        if (u->in_use && CRYPTO_memcmp(u->raw, raw, DG_NONCE_RAW_LEN) == 0)
            return u;
    }
    return NULL;
}

/* A slot for a nonce used for the first time: a free or expired one of the two, else the older (whose nonce, and
 * every unknown nonce issued as early, becomes stale rather than replayable). */
static dg_used_t *dg_used_take(digest_server_t *srv, const uint8_t *raw, int64_t now)
{
    uint32_t i = dg_used_index(srv, raw);
    dg_used_t *a = &srv->used[i], *b = &srv->used[(i + 1) % srv->cap];
    if (!dg_used_live(srv, a, now))
        return a;
    if (!dg_used_live(srv, b, now))
        return b;
    dg_used_t *victim = a->issued <= b->issued ? a : b;
    if (victim->issued > srv->stale_upto)
        srv->stale_upto = victim->issued;
    return victim;
}

int digest_server_challenge(digest_server_t *srv, int64_t now, int stale, char *buf, size_t cap)
{
    return digest_server_challenge_alg(srv, now, stale, DIGEST_SHA256, buf, cap);
}

int digest_server_challenge_alg(digest_server_t *srv, int64_t now, int stale, digest_alg_t alg, char *buf, size_t cap)
{
    char nonce[DG_NONCE_TEXT_LEN + 1];

    if (!srv || !buf || !(srv->algs & (1u << alg)))
        return -1;
    if (dg_nonce_issue(srv, now, nonce) < 0)
        return -1;
    return digest_challenge_build_alg(buf, cap, alg, srv->realm, nonce, srv->opaque, stale);
}

/* Everything RFC 7616 requires of a qop=auth request in an algorithm the server accepts (SHA-256 must be named;
 * MD5 may be implied by its absence, RFC 3261 §22.4), and that the uri is the request-target. Sets a->alg. */
static int dg_auth_well_formed(const digest_server_t *srv, digest_auth_t *a, const char *uri)
{
    const unsigned need = DIGEST_P_USERNAME | DIGEST_P_REALM | DIGEST_P_NONCE | DIGEST_P_URI | DIGEST_P_RESPONSE |
                          DIGEST_P_CNONCE | DIGEST_P_QOP | DIGEST_P_NC;
    char tmp[DIGEST_RESPONSE_LEN + 1];

    return (a->present & need) == need && !a->userhash && a->username[0] && a->nonce[0] && a->cnonce[0] && a->nc > 0 &&
           dg_alg_of(a->present, a->algorithm, srv->algs, &a->alg) == 0 && strcasecmp(a->qop, DG_QOP) == 0 &&
           dg_normalize_response(a->response, a->alg, tmp) == 0 && (!uri || strcmp(a->uri, uri) == 0);
}

digest_result_t digest_server_verify(digest_server_t *srv, const digest_auth_t *auth_in, const char *method,
                                     const char *uri, const char *password, int64_t now)
{
    if (!srv || !auth_in || !method || !password)
        return DIGEST_INTERNAL;
    digest_auth_t copy_alg = *auth_in, *auth = &copy_alg; /* the caller's parse stays const; only alg is set */
    if (!dg_auth_well_formed(srv, auth, uri))
        return DIGEST_MALFORMED;
    if (strcmp(auth->realm, srv->realm) != 0)
        return DIGEST_BAD_RESPONSE;
    if (!dg_response_matches(srv->hasher, auth, method, password))
        return DIGEST_BAD_RESPONSE;

    uint8_t raw[DG_NONCE_RAW_LEN];
    if (dg_nonce_check(srv, auth->nonce, now, raw) < 0)
        return DIGEST_STALE;
    /* The opaque travels with our nonce; a good nonce with a foreign opaque has been tampered with. */
    if (!(auth->present & DIGEST_P_OPAQUE) || strcmp(auth->opaque, srv->opaque) != 0)
        return DIGEST_BAD_RESPONSE;
    dg_used_t *u = dg_used_find(srv, raw);
    if (!u) {
        if (dg_nonce_issued(raw) <= srv->stale_upto)
            return DIGEST_STALE; /* it may have been used and its state evicted: never take it as a first use */
        u = dg_used_take(srv, raw, now);
        memcpy(u->raw, raw, sizeof(raw));
        u->issued = dg_nonce_issued(raw);
        u->last_nc = 0;
        u->in_use = 1;
    }
    if (auth->nc <= u->last_nc)
        return DIGEST_REPLAY;
    u->last_nc = auth->nc;
    return DIGEST_OK;
}

size_t digest_server_nonce_count(const digest_server_t *srv, int64_t now)
{
    size_t live = 0;
    if (!srv)
        return 0;
    for (uint32_t i = 0; i < srv->cap; i++)
        live += (size_t)dg_used_live(srv, &srv->used[i], now);
    return live;
}
/* ================================================================ misc */

int64_t digest_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec;
}

const char *digest_result_str(digest_result_t r)
{
    switch (r) {
    case DIGEST_OK:
        return "ok";
    case DIGEST_STALE:
        return "stale";
    case DIGEST_REPLAY:
        return "replay";
    case DIGEST_BAD_RESPONSE:
        return "bad_response";
    case DIGEST_MALFORMED:
        return "malformed";
    case DIGEST_INTERNAL:
        return "internal";
    }
    return "unknown";
}
