/*
 * http_digest — HTTP Digest access authentication (RFC 7616), qop=auth only, both sides; SHA-256, and MD5 where a
 * server or client opts in (SIP, RFC 8760: phones that know no better).
 *
 * Server side (the KMS): a digest_server_t owns the realm, an opaque value, the key its nonces are MACed with
 * (issuing a nonce stores nothing) and a bounded table of the nonces authenticated requests used (replays).
 *   1. No or unusable Authorization header → digest_server_challenge() → 401 with WWW-Authenticate.
 *   2. digest_parse_authorization() the header value (malformed → 400).
 *   3. Look the subscriber up by auth.username (unknown user → 401, fresh challenge); turn its kms_key into the
 *      Digest password with kms_digest_password() (kms/kms_crypto.h: 64 lowercase hex characters).
 *      Foreign clients: curl's `-u user:password` splits at the FIRST ':', so a sip:/tel: IMPU cannot be given
 *      that way (curl would send username="sip"). Use the MSISDN (`-u 15550000001:<hex>`), a netrc file, or
 *      URL-encoded userinfo (`https://sip%3A%2B1555...%40ims...:<hex>@host/...`); all three verified with curl 7.88.
 *   4. digest_server_verify() → DIGEST_OK, or the outcome that says which answer to send (see digest_result_t).
 * Client side (the UE agents): digest_parse_challenge() a WWW-Authenticate value, then
 * digest_build_authorization() for each request, reusing the nonce with nc+1 until the server says stale=true.
 *
 * SIP (RFC 3261 §22, RFC 8760) uses the same code with a method and Request-URI in place of HTTP's: a server
 * configured with DIGEST_ALGS_SHA256 | DIGEST_ALGS_MD5 issues one challenge per algorithm
 * (digest_server_challenge_alg, SHA-256 first as RFC 8760 §2.4 asks) and verifies either; the KMS configures
 * nothing and keeps SHA-256 only.
 *
 * Time is always passed in (`now`, seconds of a monotonic clock, e.g. digest_now()), so tests need no sleeps.
 * A digest_server_t is not thread-safe: it belongs to one event loop (or the caller serializes access).
 *
 * Code: http_digest_parse.c (parameter lists), _hash.c (response), _header.c (challenge writer), _server.c
 * (nonces, replay table, verify), _client.c (cnonces, Authorization); what they share is http_digest_int.h.
 */
#ifndef MIHUA_HTTP_DIGEST_H
#define MIHUA_HTTP_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/* Bounds on what we accept from a peer. A header or value over its bound is malformed, never truncated. */
#define DIGEST_MAX_HEADER_LEN 8192  /* whole header value; far above any honest Digest header */
#define DIGEST_MAX_PARAMS 32        /* auth-params in one header; RFC 7616 defines 13 */
#define DIGEST_MAX_USERNAME_LEN 256 /* an IMPU (sip:/tel: URI) fits with room */
#define DIGEST_MAX_REALM_LEN 128
#define DIGEST_MAX_NONCE_LEN 128 /* ours are 32 characters; foreign servers' may be longer */
#define DIGEST_MAX_URI_LEN 2048  /* request-target echoed by the client */
#define DIGEST_MAX_CNONCE_LEN 256
#define DIGEST_MAX_OPAQUE_LEN 128
#define DIGEST_MAX_TOKEN_LEN 32    /* algorithm, qop, userhash, stale */
#define DIGEST_MAX_QOP_LEN 64      /* a challenge may list several qop values ("auth,auth-int") */
#define DIGEST_NC_LEN 8            /* nc-value = 8LHEX (RFC 7616 §3.4) */
#define DIGEST_RESPONSE_LEN 64     /* SHA-256 in lowercase hex; the longest response spoken */
#define DIGEST_MD5_RESPONSE_LEN 32 /* MD5 in lowercase hex */

/* Hash algorithms (RFC 7616 §3.3 "algorithm"). The zero value is SHA-256, so a zeroed struct means SHA-256. */
typedef enum {
    DIGEST_SHA256 = 0,
    DIGEST_MD5 = 1, /* RFC 2617 / RFC 3261 §22.4 default when "algorithm" is absent */
} digest_alg_t;
/* Sets of algorithms, for configuration: bit (1u << digest_alg_t). */
#define DIGEST_ALGS_SHA256 (1u << DIGEST_SHA256)
#define DIGEST_ALGS_MD5 (1u << DIGEST_MD5)
#define DIGEST_CNONCE_LEN 32 /* cnonces we generate: 24 random bytes in base64url */

/* Server nonce table defaults. */
#define DIGEST_DEFAULT_NONCE_LIFETIME_S 300 /* long enough for a call setup burst, short enough to bound replay */
#define DIGEST_DEFAULT_MAX_NONCES \
    4096                                   /* used nonces whose nc is tracked (issuing takes no entry); beyond,
                                               the older of two is evicted and unknown nonces as old go stale */
#define DIGEST_MAX_NONCES_LIMIT (1u << 20) /* refuse configurations that would allocate absurd tables */

/* What digest_server_verify decided, and the HTTP answer each outcome calls for. */
typedef enum {
    DIGEST_OK = 0,       /* authenticated; serve the request */
    DIGEST_STALE,        /* right credentials, but nonce unknown, expired or evicted: 401 with stale=true */
    DIGEST_REPLAY,       /* nc not above the last accepted nc for this nonce: 401 */
    DIGEST_BAD_RESPONSE, /* wrong password, realm or opaque: 401 */
    DIGEST_MALFORMED,    /* missing/invalid parameter, unsupported algorithm/qop, uri mismatch: 400 */
    DIGEST_INTERNAL,     /* out of memory or crypto failure: 500 */
} digest_result_t;

/* A parsed Authorization: Digest header. Strings are unescaped copies, NUL-terminated. */
typedef struct {
    char username[DIGEST_MAX_USERNAME_LEN + 1];
    char realm[DIGEST_MAX_REALM_LEN + 1];
    char nonce[DIGEST_MAX_NONCE_LEN + 1];
    char uri[DIGEST_MAX_URI_LEN + 1];
    char response[DIGEST_RESPONSE_LEN + 1];
    char cnonce[DIGEST_MAX_CNONCE_LEN + 1];
    char opaque[DIGEST_MAX_OPAQUE_LEN + 1];
    char algorithm[DIGEST_MAX_TOKEN_LEN + 1];
    char qop[DIGEST_MAX_TOKEN_LEN + 1];
    char nc_text[DIGEST_NC_LEN + 1]; /* as received; it is what enters the hash */
    uint32_t nc;                     /* nc_text as a number */
    int userhash;                    /* userhash=true was sent (we do not support it) */
    unsigned present;                /* DIGEST_P_* bits of the parameters seen */
    digest_alg_t alg;                /* set by digest_server_verify once the algorithm is known and allowed */
} digest_auth_t;

/* A parsed WWW-Authenticate: Digest challenge (client side). */
typedef struct {
    char realm[DIGEST_MAX_REALM_LEN + 1];
    char nonce[DIGEST_MAX_NONCE_LEN + 1];
    char opaque[DIGEST_MAX_OPAQUE_LEN + 1];
    char algorithm[DIGEST_MAX_TOKEN_LEN + 1];
    char qop[DIGEST_MAX_QOP_LEN + 1]; /* the offered list, e.g. "auth" or "auth,auth-int" */
    int stale;                        /* stale=true */
    int has_opaque;
    unsigned present; /* DIGEST_P_* bits */
    digest_alg_t alg; /* what digest_build_authorization will answer with */
} digest_challenge_t;

/* Bits of digest_auth_t.present / digest_challenge_t.present. */
enum {
    DIGEST_P_USERNAME = 1u << 0,
    DIGEST_P_REALM = 1u << 1,
    DIGEST_P_NONCE = 1u << 2,
    DIGEST_P_URI = 1u << 3,
    DIGEST_P_RESPONSE = 1u << 4,
    DIGEST_P_CNONCE = 1u << 5,
    DIGEST_P_OPAQUE = 1u << 6,
    DIGEST_P_ALGORITHM = 1u << 7,
    DIGEST_P_QOP = 1u << 8,
    DIGEST_P_NC = 1u << 9,
    DIGEST_P_USERHASH = 1u << 10,
    DIGEST_P_STALE = 1u << 11,
    DIGEST_P_DOMAIN = 1u << 12,
    DIGEST_P_CHARSET = 1u << 13,
    DIGEST_P_USERNAME_EXT = 1u << 14, /* username* (RFC 7616 §3.4.4); refused: IMPUs are ASCII */
};

/* ---- parsing (both sides) ---- */

/* Parses an Authorization header value ("Digest username=..., ..."; scheme case-insensitive). Parameters may be
 * tokens or quoted strings, in any order, separated by commas with optional whitespace; unknown parameters are
 * skipped (RFC 7616 §3.4). Returns 0, or -1 for anything malformed: another scheme, a duplicate parameter, a value
 * over its bound, a bad nc, a control character, username*. Only syntax is checked here; digest_server_verify
 * checks semantics. */
int digest_parse_authorization(const char *value, size_t len, digest_auth_t *out);

/* Parses a WWW-Authenticate value holding one Digest challenge. Returns -1 when malformed, when nonce or realm is
 * missing, or when the challenge offers neither qop=auth nor algorithm=SHA-256 (all this client supports). */
int digest_parse_challenge(const char *value, size_t len, digest_challenge_t *out);
/* The same accepting any algorithm in `algs` (DIGEST_ALGS_*; MD5 also when "algorithm" is absent). */
int digest_parse_challenge_alg(const char *value, size_t len, unsigned algs, digest_challenge_t *out);

/* ---- computation (RFC 7616 §3.4.1) ---- */

/* response = SHA256hex( SHA256hex(username:realm:password) ":" nonce ":" nc ":" cnonce ":" qop ":"
 * SHA256hex(method:uri) ). All inputs NUL-terminated; out gets 64 lowercase hex characters and a NUL. */
int digest_compute_response(const char *username, const char *realm, const char *password, const char *method,
                            const char *uri, const char *nonce, const char *nc_text, const char *cnonce,
                            const char *qop, char out[DIGEST_RESPONSE_LEN + 1]);
/* The same with `alg`'s hash (MD5: 32 hex characters). */
int digest_compute_response_alg(digest_alg_t alg, const char *username, const char *realm, const char *password,
                                const char *method, const char *uri, const char *nonce, const char *nc_text,
                                const char *cnonce, const char *qop, char out[DIGEST_RESPONSE_LEN + 1]);

/* Recomputes the response of a parsed header with `password` and `method` and compares it with the one received in
 * constant time. 1 = match, 0 = mismatch or error. Checks nothing else (see digest_server_verify). */
int digest_response_matches(const digest_auth_t *auth, const char *method, const char *password);

/* ---- server ---- */

typedef struct digest_server digest_server_t;

typedef struct {
    const char *realm;         /* required; e.g. "mihua-kms" */
    unsigned nonce_lifetime_s; /* 0 → DIGEST_DEFAULT_NONCE_LIFETIME_S */
    unsigned max_nonces;       /* 0 → DIGEST_DEFAULT_MAX_NONCES; at most DIGEST_MAX_NONCES_LIMIT */
    unsigned algorithms;       /* DIGEST_ALGS_* accepted; 0 → DIGEST_ALGS_SHA256 */
} digest_server_cfg_t;

/* NULL on bad configuration, allocation or RAND failure. */
digest_server_t *digest_server_new(const digest_server_cfg_t *cfg);
void digest_server_free(digest_server_t *srv);

/* Issues a fresh nonce (stateless: nothing is stored, nothing evicted) and writes the WWW-Authenticate value:
 *   Digest realm="R", qop="auth", algorithm=SHA-256, nonce="N", opaque="O"[, stale=true]
 * Returns the length written (NUL-terminated) or -1 (buffer too small, RAND failure). */
int digest_server_challenge(digest_server_t *srv, int64_t now, int stale, char *buf, size_t cap);
/* The same for one algorithm (which must be among the server's): "algorithm=MD5" for DIGEST_MD5. */
int digest_server_challenge_alg(digest_server_t *srv, int64_t now, int stale, digest_alg_t alg, char *buf, size_t cap);

/* Verifies a parsed header against the request (`method`, and `uri` = the request-target exactly as received,
 * query included — HTTP/2 :path — which must equal the digest uri, RFC 7616 §3.4.6; NULL skips that comparison,
 * for SIP, where a UAC may put another URI for the same resource, RFC 3261 §22.4) and the user's password. On
 * DIGEST_OK the nonce's nc is advanced, so the same (nonce, nc) is refused next time; a failed check never advances
 * it. Checks, in order: required parameters, an algorithm the server accepts (absent = MD5), qop=auth, uri
 * (MALFORMED); realm (BAD_RESPONSE); the response
 * itself (BAD_RESPONSE); nonce live (STALE); opaque echoed (BAD_RESPONSE); nc strictly increasing (REPLAY).
 * Consequence for clients: requests that share a nonce must reach the server in nc order (an HTTP/2 client sending
 * two in parallel may see the lower nc refused as a replay and should then retry with a fresh nc). */
digest_result_t digest_server_verify(digest_server_t *srv, const digest_auth_t *auth, const char *method,
                                     const char *uri, const char *password, int64_t now);

/* Number of used nonces whose replay state is held and unexpired, for metrics and tests. */
size_t digest_server_nonce_count(const digest_server_t *srv, int64_t now);

/* Builds a challenge from explicit parts (used by digest_server_challenge; exposed for tests and other servers). */
int digest_challenge_build(char *buf, size_t cap, const char *realm, const char *nonce, const char *opaque, int stale);
int digest_challenge_build_alg(char *buf, size_t cap, digest_alg_t alg, const char *realm, const char *nonce,
                               const char *opaque, int stale);

/* "SHA-256" or "MD5": the algorithm's token. */
const char *digest_alg_name(digest_alg_t alg);

/* ---- client ---- */

/* A random cnonce: 24 bytes from RAND_bytes in base64url (32 characters + NUL). */
int digest_cnonce_new(char out[DIGEST_CNONCE_LEN + 1]);

/* cnonces drawn in batches: one RAND_bytes call fills DIGEST_CNONCE_POOL of them, where digest_cnonce_new costs a
 * DRBG generate and a getpid fork check (~1.3 us) per request. Each cnonce is still 24 fresh DRBG bytes, used once
 * and wiped from the pool as it is handed out; a cnonce is no secret (it travels in the Authorization header), so
 * holding the next few in memory gives nothing away. Zero-initialise; digest_cnonce_pool_clear wipes the rest. */
#define DIGEST_CNONCE_RAW_LEN 24
#define DIGEST_CNONCE_POOL 32
typedef struct {
    uint8_t raw[DIGEST_CNONCE_POOL * DIGEST_CNONCE_RAW_LEN];
    unsigned left; /* cnonces not handed out yet; 0: refill on the next call */
} digest_cnonce_pool_t;
int digest_cnonce_next(digest_cnonce_pool_t *pool, char out[DIGEST_CNONCE_LEN + 1]);
void digest_cnonce_pool_clear(digest_cnonce_pool_t *pool);

/* Writes an Authorization value answering `ch` for one request:
 *   Digest username="U", realm="R", uri="URI", algorithm=SHA-256, nonce="N", nc=XXXXXXXX, cnonce="C", qop=auth,
 *   response="H"[, opaque="O"]          (algorithm and hash: ch->alg)
 * nc starts at 1 for a new nonce and grows by one per request that reuses it. Returns the length or -1. */
int digest_build_authorization(const digest_challenge_t *ch, const char *username, const char *password,
                               const char *method, const char *uri, const char *cnonce, uint32_t nc, char *buf,
                               size_t cap);

/* A SHA-256 fetched once with a context reused per hash: three hashes per request otherwise cost an implicit fetch
 * and an allocation each. One per thread or event loop; digest_server_t has its own. NULL on OpenSSL failure. */
typedef struct digest_hasher digest_hasher_t;
digest_hasher_t *digest_hasher_new(void);
void digest_hasher_free(digest_hasher_t *h);

/* digest_build_authorization on a hasher (NULL: the same as digest_build_authorization). */
int digest_build_authorization_h(digest_hasher_t *h, const digest_challenge_t *ch, const char *username,
                                 const char *password, const char *method, const char *uri, const char *cnonce,
                                 uint32_t nc, char *buf, size_t cap);

/* ---- misc ---- */

/* Seconds of CLOCK_MONOTONIC: the clock to pass as `now` outside tests. */
int64_t digest_now(void);

/* "ok", "stale", "replay", "bad_response", "malformed", "internal": for logs and audit records. */
const char *digest_result_str(digest_result_t r);

#endif
