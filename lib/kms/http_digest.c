/*
 * http_digest — HTTP Digest (RFC 7616) with SHA-256 and qop=auth: parser, challenge, response, nonce table, client.
 *
 * Specifications followed
 * - RFC 7616 §3.3 (challenge), §3.4 (Authorization), §3.4.1 (response), §3.4.2/§3.4.3 (A1, A2 for qop=auth),
 *   §3.4.6 (the digest uri must match the request-target), §3.5 (stale), §3.9.1 (the SHA-256 example the unit tests
 *   reproduce). Syntax of the parameter list: RFC 7235 §2.1 (auth-param = token BWS "=" BWS (token /
 *   quoted-string)), RFC 7230 §3.2.6 (quoted-string, quoted-pair) and §7 (lists tolerate empty elements).
 * - Only qop=auth is spoken, with algorithm=SHA-256; MD5 (the default when algorithm is absent) only where the
 *   server or client asks for it (the registrar, RFC 8760 §2.4: SIP phones that know no better). auth-int,
 *   userhash and username* are refused as malformed: mihua clients never need them and every extra mode is attack
 *   surface. RFC 8760 §3 forbids MD5 for new uses; the KMS, a new use, never enables it.
 *
 * Parser: one forward pass over a bounded buffer (DIGEST_MAX_HEADER_LEN), no recursion, no allocation. Values are
 * unescaped straight into fixed-size fields of the output struct; a value longer than its field is an error, never
 * silently truncated. Control characters (other than HTAB) are refused anywhere, so a parsed value can never carry
 * CR/LF into a later header. Each known parameter may appear once (a duplicate would let two components read two
 * different values); unknown parameters are skipped after their syntax is checked.
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
 * "stale" and keeps retrying without re-prompting.
 *
 * Hashing: SHA-256 (or MD5) through a digest_hasher_t (fetched once, context reused) on the server and for clients that keep
 * one; the stateless entry points build a context per hash, as before.
 *
 * Time comes in as an explicit `now` (monotonic seconds); nothing here reads a clock except digest_now().
 */
#include "kms/http_digest.h"

#include "core/core_b64url.h"
#include "core/core_hex.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define DG_ALGORITHM "SHA-256"
#define DG_ALGORITHM_MD5 "MD5"
#define DG_QOP "auth"
#define DG_SCHEME "Digest"
#define DG_SHA256_LEN 32
#define DG_MD5_LEN 16
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
#define DG_CNONCE_RAW_LEN DIGEST_CNONCE_RAW_LEN
/* Scratch for small values we only inspect (userhash, stale). */
#define DG_SCRATCH_LEN DIGEST_MAX_TOKEN_LEN

/* ================================================================ small helpers */

static int dg_is_tchar(unsigned char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* ================================================================ parser */

typedef struct {
    const char *p;   /* next byte */
    const char *end; /* one past the last byte */
} dg_scan_t;

static void dg_skip_ows(dg_scan_t *sc) {
    while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t'))
        sc->p++;
}

/* Reads a token; returns its length (0 = no token here). */
static size_t dg_scan_token(dg_scan_t *sc, const char **tok) {
    *tok = sc->p;
    while (sc->p < sc->end && dg_is_tchar((unsigned char)*sc->p))
        sc->p++;
    return (size_t)(sc->p - *tok);
}

/* Appends one byte to a bounded destination; dst NULL = validate only. */
static int dg_put_byte(char *dst, size_t cap, size_t *n, char c) {
    if (!dst)
        return 0;
    if (*n + 1 >= cap)
        return -1;
    dst[(*n)++] = c;
    return 0;
}

/* Byte allowed inside a quoted-string or after a backslash: HTAB, SP, VCHAR, obs-text (RFC 7230 §3.2.6). */
static int dg_qd_ok(unsigned char c) {
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* At the opening quote: unescapes into dst (cap includes the NUL). */
static int dg_scan_quoted(dg_scan_t *sc, char *dst, size_t cap) {
    size_t n = 0;

    sc->p++;
    while (sc->p < sc->end) {
        unsigned char c = (unsigned char)*sc->p++;
        if (c == '"') {
            if (dst)
                dst[n] = '\0';
            return 0;
        }
        if (c == '\\') {
            if (sc->p >= sc->end)
                return -1;
            c = (unsigned char)*sc->p++;
        }
        if (!dg_qd_ok(c) || dg_put_byte(dst, cap, &n, (char)c) < 0)
            return -1;
    }
    return -1; /* unterminated */
}

static int dg_scan_value(dg_scan_t *sc, char *dst, size_t cap) {
    if (sc->p < sc->end && *sc->p == '"')
        return dg_scan_quoted(sc, dst, cap);

    const char *tok;
    size_t len = dg_scan_token(sc, &tok);
    if (len == 0)
        return -1;
    if (!dst)
        return 0;
    if (len >= cap)
        return -1;
    memcpy(dst, tok, len);
    dst[len] = '\0';
    return 0;
}

/* Where the value of one named parameter goes. dst NULL = unknown parameter, skip it. */
typedef struct {
    char *dst;
    size_t cap;
    unsigned bit;
} dg_slot_t;

typedef dg_slot_t (*dg_lookup_fn)(void *out, const char *name, size_t len, char *scratch);

static int dg_name_is(const char *name, size_t len, const char *want) {
    return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

#define DG_SLOT(field, b) ((dg_slot_t){(field), sizeof(field), (b)})
#define DG_SCRATCH(b) ((dg_slot_t){scratch, DG_SCRATCH_LEN + 1, (b)})

static dg_slot_t dg_auth_slot(void *out, const char *name, size_t len, char *scratch) {
    digest_auth_t *a = out;
    if (dg_name_is(name, len, "username"))
        return DG_SLOT(a->username, DIGEST_P_USERNAME);
    if (dg_name_is(name, len, "realm"))
        return DG_SLOT(a->realm, DIGEST_P_REALM);
    if (dg_name_is(name, len, "nonce"))
        return DG_SLOT(a->nonce, DIGEST_P_NONCE);
    if (dg_name_is(name, len, "uri"))
        return DG_SLOT(a->uri, DIGEST_P_URI);
    if (dg_name_is(name, len, "response"))
        return DG_SLOT(a->response, DIGEST_P_RESPONSE);
    if (dg_name_is(name, len, "cnonce"))
        return DG_SLOT(a->cnonce, DIGEST_P_CNONCE);
    if (dg_name_is(name, len, "opaque"))
        return DG_SLOT(a->opaque, DIGEST_P_OPAQUE);
    if (dg_name_is(name, len, "algorithm"))
        return DG_SLOT(a->algorithm, DIGEST_P_ALGORITHM);
    if (dg_name_is(name, len, "qop"))
        return DG_SLOT(a->qop, DIGEST_P_QOP);
    if (dg_name_is(name, len, "nc"))
        return DG_SLOT(a->nc_text, DIGEST_P_NC);
    if (dg_name_is(name, len, "userhash"))
        return DG_SCRATCH(DIGEST_P_USERHASH);
    if (dg_name_is(name, len, "username*"))
        return DG_SCRATCH(DIGEST_P_USERNAME_EXT);
    return (dg_slot_t){NULL, 0, 0};
}

static dg_slot_t dg_challenge_slot(void *out, const char *name, size_t len, char *scratch) {
    digest_challenge_t *c = out;
    if (dg_name_is(name, len, "realm"))
        return DG_SLOT(c->realm, DIGEST_P_REALM);
    if (dg_name_is(name, len, "nonce"))
        return DG_SLOT(c->nonce, DIGEST_P_NONCE);
    if (dg_name_is(name, len, "opaque"))
        return DG_SLOT(c->opaque, DIGEST_P_OPAQUE);
    if (dg_name_is(name, len, "algorithm"))
        return DG_SLOT(c->algorithm, DIGEST_P_ALGORITHM);
    if (dg_name_is(name, len, "qop"))
        return DG_SLOT(c->qop, DIGEST_P_QOP);
    if (dg_name_is(name, len, "stale"))
        return DG_SCRATCH(DIGEST_P_STALE);
    if (dg_name_is(name, len, "userhash"))
        return DG_SCRATCH(DIGEST_P_USERHASH);
    if (dg_name_is(name, len, "domain") || dg_name_is(name, len, "charset")) /* known, unused: still once only */
        return (dg_slot_t){NULL, 0, dg_name_is(name, len, "domain") ? DIGEST_P_DOMAIN : DIGEST_P_CHARSET};
    return (dg_slot_t){NULL, 0, 0};
}

/* Post-processing hook, called after each known parameter with the scratch value when one was used. */
typedef int (*dg_after_fn)(void *out, unsigned bit, const char *scratch);

static int dg_bool_value(const char *v, int *out) {
    if (strcasecmp(v, "true") == 0)
        *out = 1;
    else if (strcasecmp(v, "false") == 0)
        *out = 0;
    else
        return -1;
    return 0;
}

static int dg_auth_after(void *out, unsigned bit, const char *scratch) {
    digest_auth_t *a = out;
    if (bit == DIGEST_P_USERNAME_EXT)
        return -1; /* RFC 8187 extended username: not supported */
    if (bit == DIGEST_P_USERHASH)
        return dg_bool_value(scratch, &a->userhash);
    if (bit != DIGEST_P_NC)
        return 0;
    if (strlen(a->nc_text) != DIGEST_NC_LEN)
        return -1;
    uint8_t be[DIGEST_NC_LEN / 2];
    if (core_hex_decode(a->nc_text, DIGEST_NC_LEN, be, sizeof(be)) < 0)
        return -1;
    a->nc = (uint32_t)be[0] << 24 | (uint32_t)be[1] << 16 | (uint32_t)be[2] << 8 | be[3];
    return 0;
}

static int dg_challenge_after(void *out, unsigned bit, const char *scratch) {
    digest_challenge_t *c = out;
    int ignored;
    if (bit == DIGEST_P_STALE) {
        c->stale = strcasecmp(scratch, "true") == 0; /* RFC 7616 §3.3: anything but "true" means false */
        return 0;
    }
    if (bit == DIGEST_P_USERHASH)
        return dg_bool_value(scratch, &ignored);
    if (bit == DIGEST_P_OPAQUE)
        c->has_opaque = 1;
    return 0;
}

/* Checks the "Digest" scheme and positions the scanner on the first parameter. */
static int dg_scan_scheme(dg_scan_t *sc) {
    const char *tok;

    dg_skip_ows(sc);
    size_t len = dg_scan_token(sc, &tok);
    if (!dg_name_is(tok, len, DG_SCHEME))
        return -1;
    if (sc->p < sc->end && *sc->p != ' ' && *sc->p != '\t')
        return -1; /* "Digestfoo" or "Digest=" */
    return 0;
}

/*
 * The auth-param list after the scheme. `stop_at_scheme`: a token not followed by '=' starts another challenge
 * (RFC 7235 §4.1 allows several in one header) and ends this one; otherwise it is an error.
 */
static int dg_scan_params(dg_scan_t *sc, void *out, unsigned *present, dg_lookup_fn lookup, dg_after_fn after,
                          int stop_at_scheme) {
    char scratch[DG_SCRATCH_LEN + 1];
    size_t count = 0;

    for (;;) {
        while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == ','))
            sc->p++;
        if (sc->p >= sc->end)
            return 0;

        const char *name;
        size_t name_len = dg_scan_token(sc, &name);
        if (name_len == 0 || ++count > DIGEST_MAX_PARAMS)
            return -1;
        /* "username*" is one parameter name: '*' is a tchar, so the token already includes it. */
        dg_skip_ows(sc);
        if (sc->p >= sc->end || *sc->p != '=') {
            if (stop_at_scheme && count > 1) {
                sc->p = name;
                return 0;
            }
            return -1;
        }
        sc->p++;
        dg_skip_ows(sc);

        dg_slot_t slot = lookup(out, name, name_len, scratch);
        if (slot.bit && (*present & slot.bit))
            return -1; /* duplicate */
        if (dg_scan_value(sc, slot.dst, slot.cap) < 0)
            return -1;
        if (slot.bit) {
            *present |= slot.bit;
            if (after(out, slot.bit, scratch) < 0)
                return -1;
        }

        dg_skip_ows(sc);
        if (sc->p < sc->end && *sc->p != ',')
            return -1; /* two values without a comma between them */
    }
}

int digest_parse_authorization(const char *value, size_t len, digest_auth_t *out) {
    if (!value || !out || len > DIGEST_MAX_HEADER_LEN)
        return -1;
    memset(out, 0, sizeof(*out));

    dg_scan_t sc = {value, value + len};
    if (dg_scan_scheme(&sc) < 0 || dg_scan_params(&sc, out, &out->present, dg_auth_slot, dg_auth_after, 0) < 0) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return 0;
}

/* Whether a comma-separated qop list offers "auth". */
static int dg_qop_list_has_auth(const char *list) {
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        if ((size_t)(p - start) == strlen(DG_QOP) && strncasecmp(start, DG_QOP, strlen(DG_QOP)) == 0)
            return 1;
    }
    return 0;
}

/* The algorithm a challenge or an Authorization names, if it is in `algs`: 0, or -1. Absent means MD5. */
static int dg_alg_of(unsigned present, const char *name, unsigned algs, digest_alg_t *alg) {
    if (!(present & DIGEST_P_ALGORITHM) || strcasecmp(name, DG_ALGORITHM_MD5) == 0)
        *alg = DIGEST_MD5;
    else if (strcasecmp(name, DG_ALGORITHM) == 0)
        *alg = DIGEST_SHA256;
    else
        return -1;
    return algs & (1u << *alg) ? 0 : -1;
}

int digest_parse_challenge(const char *value, size_t len, digest_challenge_t *out) {
    return digest_parse_challenge_alg(value, len, DIGEST_ALGS_SHA256, out);
}

int digest_parse_challenge_alg(const char *value, size_t len, unsigned algs, digest_challenge_t *out) {
    if (!value || !out || len > DIGEST_MAX_HEADER_LEN)
        return -1;
    memset(out, 0, sizeof(*out));

    dg_scan_t sc = {value, value + len};
    int ok = dg_scan_scheme(&sc) == 0 &&
             dg_scan_params(&sc, out, &out->present, dg_challenge_slot, dg_challenge_after, 1) == 0 &&
             (out->present & DIGEST_P_REALM) && (out->present & DIGEST_P_NONCE) && out->nonce[0] &&
             dg_alg_of(out->present, out->algorithm, algs, &out->alg) == 0 &&
             (out->present & DIGEST_P_QOP) && dg_qop_list_has_auth(out->qop);
    if (!ok) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return 0;
}

/* ================================================================ computation */

struct digest_hasher {
    EVP_MD *md;     /* SHA-256 */
    EVP_MD *md5;    /* fetched on first use: most hashers never need it */
    EVP_MD_CTX *ctx;
};

digest_hasher_t *digest_hasher_new(void) {
    digest_hasher_t *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    h->ctx = EVP_MD_CTX_new();
    if (!h->md || !h->ctx) {
        digest_hasher_free(h);
        return NULL;
    }
    return h;
}

void digest_hasher_free(digest_hasher_t *h) {
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    EVP_MD_free(h->md);
    EVP_MD_free(h->md5);
    free(h);
}

/* The EVP_MD of `alg`: the hasher's fetched one, or OpenSSL's implicit one without a hasher. */
static const EVP_MD *dg_md(digest_hasher_t *h, digest_alg_t alg) {
    if (alg == DIGEST_MD5) {
        if (h && !h->md5)
            h->md5 = EVP_MD_fetch(NULL, "MD5", NULL);
        return h ? h->md5 : EVP_md5();
    }
    return h ? h->md : EVP_sha256();
}

static size_t dg_hash_len(digest_alg_t alg) {
    return alg == DIGEST_MD5 ? DG_MD5_LEN : DG_SHA256_LEN;
}

/* `alg`'s hash over parts joined by ':', as lowercase hex; on `h`'s context, or a context of its own when h is
 * NULL. */
static int dg_hash_hex(digest_hasher_t *h, digest_alg_t alg, const char *const *parts, size_t n,
                       char out[DIGEST_RESPONSE_LEN + 1]) {
    uint8_t md[DG_SHA256_LEN];
    unsigned int md_len = 0;
    const EVP_MD *type = dg_md(h, alg);
    EVP_MD_CTX *ctx = h ? h->ctx : EVP_MD_CTX_new();
    if (!ctx || !type) {
        if (!h)
            EVP_MD_CTX_free(ctx);
        return -1;
    }

    int ok = EVP_DigestInit_ex2(ctx, type, NULL) == 1;
    for (size_t i = 0; ok && i < n; i++) {
        if (i > 0)
            ok = EVP_DigestUpdate(ctx, ":", 1) == 1;
        if (ok)
            ok = EVP_DigestUpdate(ctx, parts[i], strlen(parts[i])) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len == dg_hash_len(alg);
    if (!h)
        EVP_MD_CTX_free(ctx);
    if (ok)
        core_hex_encode(md, md_len, out);
    OPENSSL_cleanse(md, sizeof(md));
    return ok ? 0 : -1;
}

static int dg_compute(digest_hasher_t *h, digest_alg_t alg, const char *username, const char *realm,
                      const char *password, const char *method, const char *uri, const char *nonce,
                      const char *nc_text, const char *cnonce, const char *qop, char out[DIGEST_RESPONSE_LEN + 1]) {
    if (!username || !realm || !password || !method || !uri || !nonce || !nc_text || !cnonce || !qop || !out)
        return -1;

    char ha1[DIGEST_RESPONSE_LEN + 1], ha2[DIGEST_RESPONSE_LEN + 1];
    const char *a1[] = {username, realm, password};
    const char *a2[] = {method, uri};
    const char *kd[] = {ha1, nonce, nc_text, cnonce, qop, ha2};

    int rc = dg_hash_hex(h, alg, a1, 3, ha1) == 0 && dg_hash_hex(h, alg, a2, 2, ha2) == 0 &&
                     dg_hash_hex(h, alg, kd, 6, out) == 0
                 ? 0
                 : -1;
    OPENSSL_cleanse(ha1, sizeof(ha1)); /* H(A1) is as good as the password for this realm */
    return rc;
}

int digest_compute_response(const char *username, const char *realm, const char *password, const char *method,
                            const char *uri, const char *nonce, const char *nc_text, const char *cnonce,
                            const char *qop, char out[DIGEST_RESPONSE_LEN + 1]) {
    return dg_compute(NULL, DIGEST_SHA256, username, realm, password, method, uri, nonce, nc_text, cnonce, qop,
                      out);
}

int digest_compute_response_alg(digest_alg_t alg, const char *username, const char *realm, const char *password,
                                const char *method, const char *uri, const char *nonce, const char *nc_text,
                                const char *cnonce, const char *qop, char out[DIGEST_RESPONSE_LEN + 1]) {
    return dg_compute(NULL, alg, username, realm, password, method, uri, nonce, nc_text, cnonce, qop, out);
}

/* Lowercases a received response into out; -1 unless exactly as many hex characters as `alg` gives. */
static int dg_normalize_response(const char *in, digest_alg_t alg, char out[DIGEST_RESPONSE_LEN + 1]) {
    size_t i = 0, want = 2 * dg_hash_len(alg);
    for (; in[i]; i++) {
        unsigned char c = (unsigned char)in[i];
        if (i >= want || core_hex_value((char)c) < 0)
            return -1;
        out[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    out[i] = '\0';
    return i == want ? 0 : -1;
}

static int dg_response_matches(digest_hasher_t *h, const digest_auth_t *auth, const char *method,
                               const char *password) {
    char got[DIGEST_RESPONSE_LEN + 1], want[DIGEST_RESPONSE_LEN + 1];

    if (!auth || !method || !password || dg_normalize_response(auth->response, auth->alg, got) < 0)
        return 0;
    if (dg_compute(h, auth->alg, auth->username, auth->realm, password, method, auth->uri, auth->nonce, auth->nc_text,
                   auth->cnonce, auth->qop, want) < 0)
        return 0;
    int eq = CRYPTO_memcmp(got, want, 2 * dg_hash_len(auth->alg)) == 0;
    OPENSSL_cleanse(want, sizeof(want));
    return eq;
}

int digest_response_matches(const digest_auth_t *auth, const char *method, const char *password) {
    return dg_response_matches(NULL, auth, method, password);
}

/* ================================================================ output */

typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    int err;
} dg_out_t;

static void dg_out_str(dg_out_t *o, const char *s) {
    size_t n = strlen(s);
    if (o->err || o->len + n + 1 > o->cap) {
        o->err = 1;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void dg_out_byte(dg_out_t *o, char c) {
    if (o->err || o->len + 2 > o->cap) {
        o->err = 1;
        return;
    }
    o->buf[o->len++] = c;
    o->buf[o->len] = '\0';
}

/* Writes "value" with '"' and '\' escaped; control characters are refused (no header injection). */
static void dg_out_quoted(dg_out_t *o, const char *s) {
    dg_out_byte(o, '"');
    for (; *s && !o->err; s++) {
        unsigned char c = (unsigned char)*s;
        if (!dg_qd_ok(c) || c == '\t') {
            o->err = 1;
            return;
        }
        if (c == '"' || c == '\\')
            dg_out_byte(o, '\\');
        dg_out_byte(o, (char)c);
    }
    dg_out_byte(o, '"');
}

static void dg_out_param(dg_out_t *o, const char *sep, const char *name, const char *value, int quoted) {
    dg_out_str(o, sep);
    dg_out_str(o, name);
    dg_out_str(o, "=");
    if (quoted)
        dg_out_quoted(o, value);
    else
        dg_out_str(o, value);
}

static int dg_out_done(dg_out_t *o) {
    if (o->err) {
        if (o->cap)
            o->buf[0] = '\0';
        return -1;
    }
    return (int)o->len;
}

const char *digest_alg_name(digest_alg_t alg) {
    return alg == DIGEST_MD5 ? DG_ALGORITHM_MD5 : DG_ALGORITHM;
}

int digest_challenge_build(char *buf, size_t cap, const char *realm, const char *nonce, const char *opaque,
                           int stale) {
    return digest_challenge_build_alg(buf, cap, DIGEST_SHA256, realm, nonce, opaque, stale);
}

int digest_challenge_build_alg(char *buf, size_t cap, digest_alg_t alg, const char *realm, const char *nonce,
                               const char *opaque, int stale) {
    if (!buf || !realm || !nonce || !opaque || cap > INT32_MAX)
        return -1;
    dg_out_t o = {buf, cap, 0, cap == 0};
    if (cap)
        buf[0] = '\0';
    dg_out_str(&o, DG_SCHEME);
    dg_out_param(&o, " ", "realm", realm, 1);
    dg_out_param(&o, ", ", "qop", DG_QOP, 1);
    dg_out_param(&o, ", ", "algorithm", digest_alg_name(alg), 0);
    dg_out_param(&o, ", ", "nonce", nonce, 1);
    dg_out_param(&o, ", ", "opaque", opaque, 1);
    if (stale)
        dg_out_param(&o, ", ", "stale", "true", 0);
    return dg_out_done(&o);
}

/* ================================================================ server */

/* A nonce the server has seen used by an authenticated request: the state that refuses replays. */
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

digest_server_t *digest_server_new(const digest_server_cfg_t *cfg) {
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

void digest_server_free(digest_server_t *srv) {
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
static int dg_nonce_mac(const digest_server_t *srv, const uint8_t *raw, uint8_t mac[DG_NONCE_MAC_LEN]) {
    uint8_t full[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), srv->key, (int)sizeof(srv->key), raw, DG_NONCE_TIME_LEN + DG_NONCE_RAND_LEN, full, &len) ||
        len < DG_NONCE_MAC_LEN)
        return -1;
    memcpy(mac, full, DG_NONCE_MAC_LEN);
    OPENSSL_cleanse(full, sizeof(full));
    return 0;
}

static int64_t dg_nonce_issued(const uint8_t *raw) {
    return (int64_t)((uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3]);
}

/* Issuing holds no state: the nonce carries its issue time and a MAC over it, so a flood of challenges costs the
 * server nothing and can evict nothing. */
static int dg_nonce_issue(digest_server_t *srv, int64_t now, char text[DG_NONCE_TEXT_LEN + 1]) {
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
static int dg_nonce_check(const digest_server_t *srv, const char *text, int64_t now, uint8_t raw[DG_NONCE_RAW_LEN]) {
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

static int dg_used_live(const digest_server_t *srv, const dg_used_t *u, int64_t now) {
    return u->in_use && (int64_t)(uint32_t)now - u->issued < (int64_t)srv->lifetime_s;
}

/* The replay table is 2-way set associative, indexed by MAC bytes (uniform, and not chosen by the client without
 * the key). Only a request that authenticated ever takes an entry, so strangers cannot evict one. */
static uint32_t dg_used_index(const digest_server_t *srv, const uint8_t *raw) {
    const uint8_t *m = raw + DG_NONCE_TIME_LEN + DG_NONCE_RAND_LEN;
    uint32_t h = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
    return h % srv->cap;
}

static dg_used_t *dg_used_find(digest_server_t *srv, const uint8_t *raw) {
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
static dg_used_t *dg_used_take(digest_server_t *srv, const uint8_t *raw, int64_t now) {
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

int digest_server_challenge(digest_server_t *srv, int64_t now, int stale, char *buf, size_t cap) {
    return digest_server_challenge_alg(srv, now, stale, DIGEST_SHA256, buf, cap);
}

int digest_server_challenge_alg(digest_server_t *srv, int64_t now, int stale, digest_alg_t alg, char *buf,
                                size_t cap) {
    char nonce[DG_NONCE_TEXT_LEN + 1];

    if (!srv || !buf || !(srv->algs & (1u << alg)))
        return -1;
    if (dg_nonce_issue(srv, now, nonce) < 0)
        return -1;
    return digest_challenge_build_alg(buf, cap, alg, srv->realm, nonce, srv->opaque, stale);
}

/* Everything RFC 7616 requires of a qop=auth request in an algorithm the server accepts (SHA-256 must be named;
 * MD5 may be implied by its absence, RFC 3261 §22.4), and that the uri is the request-target. Sets a->alg. */
static int dg_auth_well_formed(const digest_server_t *srv, digest_auth_t *a, const char *uri) {
    const unsigned need = DIGEST_P_USERNAME | DIGEST_P_REALM | DIGEST_P_NONCE | DIGEST_P_URI | DIGEST_P_RESPONSE |
                          DIGEST_P_CNONCE | DIGEST_P_QOP | DIGEST_P_NC;
    char tmp[DIGEST_RESPONSE_LEN + 1];

    return (a->present & need) == need && !a->userhash && a->username[0] && a->nonce[0] && a->cnonce[0] &&
           a->nc > 0 && dg_alg_of(a->present, a->algorithm, srv->algs, &a->alg) == 0 &&
           strcasecmp(a->qop, DG_QOP) == 0 && dg_normalize_response(a->response, a->alg, tmp) == 0 &&
           (!uri || strcmp(a->uri, uri) == 0);
}

digest_result_t digest_server_verify(digest_server_t *srv, const digest_auth_t *auth_in, const char *method,
                                     const char *uri, const char *password, int64_t now) {
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

size_t digest_server_nonce_count(const digest_server_t *srv, int64_t now) {
    size_t live = 0;
    if (!srv)
        return 0;
    for (uint32_t i = 0; i < srv->cap; i++)
        live += (size_t)dg_used_live(srv, &srv->used[i], now);
    return live;
}

/* ================================================================ client */

int digest_cnonce_new(char out[DIGEST_CNONCE_LEN + 1]) {
    uint8_t raw[DG_CNONCE_RAW_LEN];
    if (!out || RAND_bytes(raw, sizeof(raw)) != 1)
        return -1;
    core_b64url_encode(raw, sizeof(raw), out, DIGEST_CNONCE_LEN + 1);
    return 0;
}

int digest_cnonce_next(digest_cnonce_pool_t *pool, char out[DIGEST_CNONCE_LEN + 1]) {
    if (!pool || !out)
        return -1;
    if (pool->left == 0) {
        if (RAND_bytes(pool->raw, sizeof(pool->raw)) != 1)
            return -1;
        pool->left = DIGEST_CNONCE_POOL;
    }
    uint8_t *raw = pool->raw + (size_t)(DIGEST_CNONCE_POOL - pool->left) * DG_CNONCE_RAW_LEN;
    core_b64url_encode(raw, DG_CNONCE_RAW_LEN, out, DIGEST_CNONCE_LEN + 1);
    OPENSSL_cleanse(raw, DG_CNONCE_RAW_LEN); /* handed out once */
    pool->left--;
    return 0;
}

void digest_cnonce_pool_clear(digest_cnonce_pool_t *pool) {
    if (!pool)
        return;
    OPENSSL_cleanse(pool, sizeof(*pool));
}

int digest_build_authorization(const digest_challenge_t *ch, const char *username, const char *password,
                               const char *method, const char *uri, const char *cnonce, uint32_t nc, char *buf,
                               size_t cap) {
    return digest_build_authorization_h(NULL, ch, username, password, method, uri, cnonce, nc, buf, cap);
}

int digest_build_authorization_h(digest_hasher_t *h, const digest_challenge_t *ch, const char *username,
                                 const char *password, const char *method, const char *uri, const char *cnonce,
                                 uint32_t nc, char *buf, size_t cap) {
    char nc_text[DIGEST_NC_LEN + 1];
    char response[DIGEST_RESPONSE_LEN + 1];

    if (!ch || !username || !password || !method || !uri || !cnonce || !cnonce[0] || nc == 0 || !buf ||
        cap > INT32_MAX)
        return -1;
    const uint8_t nc_be[DIGEST_NC_LEN / 2] = {(uint8_t)(nc >> 24), (uint8_t)(nc >> 16), (uint8_t)(nc >> 8),
                                             (uint8_t)nc};
    core_hex_encode(nc_be, sizeof(nc_be), nc_text);
    if (dg_compute(h, ch->alg, username, ch->realm, password, method, uri, ch->nonce, nc_text, cnonce, DG_QOP,
                   response) < 0)
        return -1;

    dg_out_t o = {buf, cap, 0, cap == 0};
    if (cap)
        buf[0] = '\0';
    dg_out_str(&o, DG_SCHEME);
    dg_out_param(&o, " ", "username", username, 1);
    dg_out_param(&o, ", ", "realm", ch->realm, 1);
    dg_out_param(&o, ", ", "uri", uri, 1);
    dg_out_param(&o, ", ", "algorithm", digest_alg_name(ch->alg), 0);
    dg_out_param(&o, ", ", "nonce", ch->nonce, 1);
    dg_out_param(&o, ", ", "nc", nc_text, 0);
    dg_out_param(&o, ", ", "cnonce", cnonce, 1);
    dg_out_param(&o, ", ", "qop", DG_QOP, 0);
    dg_out_param(&o, ", ", "response", response, 1);
    if (ch->has_opaque)
        dg_out_param(&o, ", ", "opaque", ch->opaque, 1);
    return dg_out_done(&o);
}

/* ================================================================ misc */

int64_t digest_now(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec;
}

const char *digest_result_str(digest_result_t r) {
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
