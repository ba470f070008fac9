/*
 * http_digest_hash — the Digest response (RFC 7616 §3.4.1, with A1 and A2 of §3.4.2/§3.4.3 for qop=auth; the §3.9.1
 * SHA-256 example is reproduced by the unit tests), and its constant-time comparison with a received one.
 *
 * SHA-256, or MD5 where a server or client opts in (RFC 8760 §2.4: SIP phones that know no better; RFC 8760 §3
 * forbids MD5 for new uses, so the KMS never enables it). Hashing goes through a digest_hasher_t (fetched once,
 * context reused) on the server and for clients that keep one; the stateless entry points build a context per
 * hash. H(A1) is as good as the password for its realm: it is cleansed after use.
 */
#include "kms/http_digest_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/core_hex.h"

#define DG_SHA256_LEN 32
#define DG_MD5_LEN 16

struct digest_hasher {
    EVP_MD *md;  /* SHA-256 */
    EVP_MD *md5; /* fetched on first use: most hashers never need it */
    EVP_MD_CTX *ctx;
};

digest_hasher_t *digest_hasher_new(void)
{
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

void digest_hasher_free(digest_hasher_t *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    EVP_MD_free(h->md);
    EVP_MD_free(h->md5);
    free(h);
}

/* The EVP_MD of `alg`: the hasher's fetched one, or OpenSSL's implicit one without a hasher. */
static const EVP_MD *dg_md(digest_hasher_t *h, digest_alg_t alg)
{
    if (alg == DIGEST_MD5) {
        if (h && !h->md5)
            h->md5 = EVP_MD_fetch(NULL, "MD5", NULL);
        return h ? h->md5 : EVP_md5();
    }
    return h ? h->md : EVP_sha256();
}

static size_t dg_hash_len(digest_alg_t alg)
{
    return alg == DIGEST_MD5 ? DG_MD5_LEN : DG_SHA256_LEN;
}

/* `alg`'s hash over parts joined by ':', as lowercase hex; on `h`'s context, or a context of its own when h is
 * NULL. */
static int dg_hash_hex(digest_hasher_t *h, digest_alg_t alg, const char *const *parts, size_t n,
                       char out[DIGEST_RESPONSE_LEN + 1])
{
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

int dg_compute(digest_hasher_t *h, digest_alg_t alg, const char *username, const char *realm, const char *password,
               const char *method, const char *uri, const char *nonce, const char *nc_text, const char *cnonce,
               const char *qop, char out[DIGEST_RESPONSE_LEN + 1])
{
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
                            const char *qop, char out[DIGEST_RESPONSE_LEN + 1])
{
    return dg_compute(NULL, DIGEST_SHA256, username, realm, password, method, uri, nonce, nc_text, cnonce, qop, out);
}

int digest_compute_response_alg(digest_alg_t alg, const char *username, const char *realm, const char *password,
                                const char *method, const char *uri, const char *nonce, const char *nc_text,
                                const char *cnonce, const char *qop, char out[DIGEST_RESPONSE_LEN + 1])
{
    return dg_compute(NULL, alg, username, realm, password, method, uri, nonce, nc_text, cnonce, qop, out);
}

/* Lowercases a received response into out; -1 unless exactly as many hex characters as `alg` gives. */
int dg_normalize_response(const char *in, digest_alg_t alg, char out[DIGEST_RESPONSE_LEN + 1])
{
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

int dg_response_matches(digest_hasher_t *h, const digest_auth_t *auth, const char *method, const char *password)
{
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

int digest_response_matches(const digest_auth_t *auth, const char *method, const char *password)
{
    return dg_response_matches(NULL, auth, method, password);
}
