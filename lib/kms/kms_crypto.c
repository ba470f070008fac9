/*
 * kms_crypto — key derivation and key wrap for the KMS and its clients (DESIGN §4).
 *
 * Specifications followed
 * - HKDF: RFC 5869 §2.2 (extract) and §2.3 (expand), SHA-256, over HMAC (RFC 2104) written out on the reused
 *   SHA-256 digest context: H((K ^ opad) || H((K ^ ipad) || text)), a key longer than the 64-byte block hashed
 *   first. EVP_MAC's HMAC re-keyed per call cost ~0.3 us per key (three digest contexts set up and copied), and
 *   HKDF re-keys twice per derivation plus once to scrub: 953 ns per KEK against ~400 ns here. The RFC 5869
 *   vectors (one with an 80-byte salt, so the hashed-key path) and a comparison with OpenSSL's own HKDF in the
 *   unit tests pin it. The KEK (info "mihua kek") and the SRTP direction keys
 *   (info "mihua srtp|SUITE|dir") are two uses of it with distinct info strings, so no output of one can equal an
 *   output of the other.
 * - Key wrap: RFC 5649 §4 (AES key wrap with padding): the alternative IV, zero padding, and either one AES block
 *   (n = 1) or the RFC 3394 §2.2 W process, written out over AES-ECB one block per call. OpenSSL 3.0's own
 *   AES-*-WRAP-PAD runs software AES (AES_encrypt, no AES-NI) and cost ~6 us per 32-byte key against ~1 us here;
 *   the RFC 5649 §6 vectors in the unit tests pin the result. Unwrap checks the alternative IV, the length and the
 *   padding (§4.2 step 3) together before deciding; a tampered, truncated or wrongly keyed blob fails as a whole.
 * - base64url: RFC 4648 §5 without padding, through lib/core/core_b64url, whose canonical-only decoder gives a
 *   keyId exactly one spelling, so string comparison of keyIds is sound.
 *
 * Trade-offs
 * - kms_crypto_t holds the fetched wrap ciphers and SHA-256 and contexts bound to them, re-keyed per call:
 *   fetching per call (OpenSSL 3's implicit fetch, plus EVP_KDF's own internal fetches) cost ~13 us per wrap and
 *   was a fifth of the KMS's crypto time. After each use the contexts are reset (the digest to its initial
 *   state, the ciphers re-keyed with zeros), so they hold no key between calls (as the freed per-call contexts
 *   did not); the HMAC pads and inner hash live on the stack and are cleansed. The one-shot functions keep the stateless
 *   API by building a context per call, so tests and cold paths need no setup.
 * - Stack temporaries (KEK, unwrap buffer, HKDF info) are bounded by named constants and cleansed before return;
 *   nothing secret reaches the heap except inside OpenSSL, which cleanses its own contexts on free.
 * - Nothing here logs. Callers log keyIds only through kms_key_id_hash.
 */
#include "kms/kms_crypto.h"

#include "core/core_b64url.h"
#include "core/core_hex.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define KMS_KEK_INFO "mihua kek"
#define KMS_SRTP_INFO_PREFIX "mihua srtp|"
#define KMS_SRTP_INFO_C2E "|caller>callee"
#define KMS_SRTP_INFO_E2C "|callee>caller"
/* Room for prefix + suite + direction suffix (both suffixes have the same length). */
#define KMS_SRTP_INFO_MAX_LEN \
    (sizeof(KMS_SRTP_INFO_PREFIX) - 1 + KMS_SRTP_SUITE_MAX_LEN + sizeof(KMS_SRTP_INFO_C2E) - 1)
/* RFC 5649 unwrap input: at least one 64-bit block beyond the integrity block, always whole 64-bit blocks. */
#define KMS_WRAP_BLOCK 8
#define KMS_WRAP_MIN_BLOB_LEN (2 * KMS_WRAP_BLOCK)
#define KMS_WRAP_MAX_BLOB_LEN (KMS_WRAP_MAX_KEY_LEN + KMS_WRAP_OVERHEAD)
#define KMS_SHA256_LEN 32

/* ---------------------------------------------------------------- reusable context */

/* The AES block ciphers under the key wrap, by KEK size: AES-128, -192, -256 (ECB: one block per call). */
#define KMS_WRAP_CIPHERS 3
static const char *const kms_wrap_names[KMS_WRAP_CIPHERS] = {"AES-128-ECB", "AES-192-ECB", "AES-256-ECB"};

struct kms_crypto {
    EVP_CIPHER *wrap[KMS_WRAP_CIPHERS];         /* fetched once */
    EVP_CIPHER_CTX *wrap_ctx[KMS_WRAP_CIPHERS]; /* bound to wrap[i] once (no padding); re-keyed per use */
    EVP_MD *sha256;
    EVP_MD_CTX *md; /* SHA-256 for HMAC and the keyId hash; reset to the initial state after HMAC */
};

kms_crypto_t *kms_crypto_new(void)
{
    kms_crypto_t *cx = OPENSSL_zalloc(sizeof(*cx));
    if (!cx)
        return NULL;
    int ok = (cx->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) && (cx->md = EVP_MD_CTX_new());
    for (int i = 0; ok && i < KMS_WRAP_CIPHERS; i++) {
        ok =
            (cx->wrap[i] = EVP_CIPHER_fetch(NULL, kms_wrap_names[i], NULL)) && (cx->wrap_ctx[i] = EVP_CIPHER_CTX_new());
        ok = ok && EVP_CipherInit_ex2(cx->wrap_ctx[i], cx->wrap[i], NULL, NULL, 1, NULL) == 1 &&
             EVP_CIPHER_CTX_set_padding(cx->wrap_ctx[i], 0) == 1;
    }
    if (!ok) {
        kms_crypto_free(cx);
        return NULL;
    }
    return cx;
}

void kms_crypto_free(kms_crypto_t *cx)
{
    if (!cx)
        return;
    for (int i = 0; i < KMS_WRAP_CIPHERS; i++) {
        EVP_CIPHER_CTX_free(cx->wrap_ctx[i]);
        EVP_CIPHER_free(cx->wrap[i]);
    }
    EVP_MD_CTX_free(cx->md);
    EVP_MD_free(cx->sha256);
    OPENSSL_free(cx);
}

/* Re-keys an AES context with zeros, so no key schedule of the last call stays in the heap between calls (what a
 * per-call context gave by being freed). Cheap: one AES key expansion. */
static void kms_scrub_cipher(EVP_CIPHER_CTX *ctx)
{
    static const uint8_t zeros[KMS_KEY_LEN] = {0};
    EVP_CipherInit_ex2(ctx, NULL, zeros, NULL, 1, NULL);
}

/* ---------------------------------------------------------------- HKDF */

#define KMS_SHA256_BLOCK 64
#define KMS_HMAC_IPAD 0x36
#define KMS_HMAC_OPAD 0x5c

/* One SHA-256 over up to four parts (empty parts may be NULL) on the reused context. */
static int kms_sha256_4(kms_crypto_t *cx, const uint8_t *p0, size_t l0, const uint8_t *p1, size_t l1, const uint8_t *p2,
                        size_t l2, const uint8_t *p3, size_t l3, uint8_t out[KMS_SHA256_LEN])
{
    unsigned int n = 0;
    return EVP_DigestInit_ex2(cx->md, cx->sha256, NULL) == 1 && (!l0 || EVP_DigestUpdate(cx->md, p0, l0) == 1) &&
           (!l1 || EVP_DigestUpdate(cx->md, p1, l1) == 1) && (!l2 || EVP_DigestUpdate(cx->md, p2, l2) == 1) &&
           (!l3 || EVP_DigestUpdate(cx->md, p3, l3) == 1) && EVP_DigestFinal_ex(cx->md, out, &n) == 1 &&
           n == KMS_SHA256_LEN;
}

/* HMAC-SHA256(key, a || b || c) into out (32 bytes; may alias a, b or c); empty parts may be NULL. RFC 2104 §2:
 * a key longer than the block is replaced by its hash, a shorter one padded with zeros. The context is left
 * holding the outer hash's final state, i.e. the output: the caller resets it (kms_scrub_md) when done. */
static int kms_hmac3(kms_crypto_t *cx, const uint8_t *key, size_t key_len, const uint8_t *a, size_t a_len,
                     const uint8_t *b, size_t b_len, const uint8_t *c, size_t c_len, uint8_t out[KMS_SHA256_LEN])
{
    uint8_t k[KMS_SHA256_BLOCK] = {0}, pad[KMS_SHA256_BLOCK], inner[KMS_SHA256_LEN];
    int ok = 1;
    if (key_len > KMS_SHA256_BLOCK)
        ok = kms_sha256_4(cx, key, key_len, NULL, 0, NULL, 0, NULL, 0, k);
    else
        memcpy(k, key, key_len);
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ KMS_HMAC_IPAD;
    ok = ok && kms_sha256_4(cx, pad, sizeof(pad), a, a_len, b, b_len, c, c_len, inner);
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ KMS_HMAC_OPAD;
    ok = ok && kms_sha256_4(cx, pad, sizeof(pad), inner, sizeof(inner), NULL, 0, NULL, 0, out);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(inner, sizeof(inner));
    return ok;
}

/* Back to SHA-256's initial state: the last HMAC's hash state (its output, a key) leaves the heap. */
static void kms_scrub_md(kms_crypto_t *cx)
{
    EVP_DigestInit_ex2(cx->md, cx->sha256, NULL);
}

/* RFC 5869 §2.2 extract (PRK = HMAC(salt, IKM); no salt = HashLen zeros) and §2.3 expand
 * (T(i) = HMAC(PRK, T(i-1) || info || i), OKM = first L bytes of T(1) || T(2) || ...). */
int kms_crypto_hkdf(kms_crypto_t *cx, const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                    const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    static const uint8_t zeros[KMS_SHA256_LEN] = {0};
    if (!cx || !ikm || ikm_len == 0 || !out || out_len == 0 || out_len > KMS_HKDF_MAX_OUT_LEN)
        return -1;
    if ((salt_len && !salt) || (info_len && !info))
        return -1;

    uint8_t prk[KMS_SHA256_LEN], t[KMS_SHA256_LEN];
    int ok = kms_hmac3(cx, salt_len ? salt : zeros, salt_len ? salt_len : sizeof(zeros), ikm, ikm_len, NULL, 0, NULL, 0,
                       prk);
    size_t done = 0, t_len = 0;
    for (uint8_t i = 1; ok && done < out_len; i++) {
        ok = kms_hmac3(cx, prk, sizeof(prk), t, t_len, info, info_len, &i, 1, t);
        t_len = sizeof(t);
        size_t n = out_len - done < t_len ? out_len - done : t_len;
        memcpy(out + done, t, n);
        done += n;
    }
    kms_scrub_md(cx);
    OPENSSL_cleanse(prk, sizeof(prk));
    OPENSSL_cleanse(t, sizeof(t));
    if (!ok) {
        OPENSSL_cleanse(out, out_len);
        return -1;
    }
    return 0;
}

int kms_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len, const uint8_t *info,
                    size_t info_len, uint8_t *out, size_t out_len)
{
    kms_crypto_t *cx = kms_crypto_new();
    int rc = cx ? kms_crypto_hkdf(cx, ikm, ikm_len, salt, salt_len, info, info_len, out, out_len) : -1;
    kms_crypto_free(cx);
    return rc;
}

static int kms_kek_derive_cx(kms_crypto_t *cx, const uint8_t kms_key[KMS_KEY_LEN], const char *call_id,
                             size_t call_id_len, uint8_t kek[KMS_KEY_LEN])
{
    if (!kms_key || !call_id || call_id_len == 0 || !kek)
        return -1;
    return kms_crypto_hkdf(cx, kms_key, KMS_KEY_LEN, (const uint8_t *)call_id, call_id_len,
                           (const uint8_t *)KMS_KEK_INFO, sizeof(KMS_KEK_INFO) - 1, kek, KMS_KEY_LEN);
}

int kms_kek_derive(const uint8_t kms_key[KMS_KEY_LEN], const char *call_id, size_t call_id_len,
                   uint8_t kek[KMS_KEY_LEN])
{
    kms_crypto_t *cx = kms_crypto_new();
    int rc = cx ? kms_kek_derive_cx(cx, kms_key, call_id, call_id_len, kek) : -1;
    kms_crypto_free(cx);
    return rc;
}

/* ---------------------------------------------------------------- SRTP direction keys */

static int kms_srtp_suite_ok(const char *suite, size_t *len)
{
    size_t n = 0;

    if (!suite)
        return 0;
    for (; suite[n]; n++) {
        unsigned char c = (unsigned char)suite[n];
        if (n >= KMS_SRTP_SUITE_MAX_LEN || c <= 0x20 || c >= 0x7f || c == '|')
            return 0;
    }
    *len = n;
    return n > 0;
}

int kms_srtp_key_derive(const uint8_t session_key[KMS_KEY_LEN], const char *call_id, size_t call_id_len,
                        const char *suite, kms_srtp_dir_t dir, uint8_t *out, size_t out_len)
{
    size_t suite_len;
    const char *suffix;

    if (!session_key || !call_id || call_id_len == 0 || !out || !kms_srtp_suite_ok(suite, &suite_len))
        return -1;
    if (dir == KMS_SRTP_CALLER_TO_CALLEE)
        suffix = KMS_SRTP_INFO_C2E;
    else if (dir == KMS_SRTP_CALLEE_TO_CALLER)
        suffix = KMS_SRTP_INFO_E2C;
    else
        return -1;

    uint8_t info[KMS_SRTP_INFO_MAX_LEN];
    size_t n = 0;
    memcpy(info + n, KMS_SRTP_INFO_PREFIX, sizeof(KMS_SRTP_INFO_PREFIX) - 1);
    n += sizeof(KMS_SRTP_INFO_PREFIX) - 1;
    memcpy(info + n, suite, suite_len);
    n += suite_len;
    memcpy(info + n, suffix, strlen(suffix));
    n += strlen(suffix);

    return kms_hkdf_sha256(session_key, KMS_KEY_LEN, (const uint8_t *)call_id, call_id_len, info, n, out, out_len);
}

typedef struct {
    const char *name;
    size_t key_len;  /* SRTP master key */
    size_t salt_len; /* SRTP master salt */
} kms_srtp_suite_t;

/* RFC 4568 §6.2 (AES_CM_128_*), RFC 6188 §7 (AES_256_CM_*), RFC 7714 §12 (AEAD_AES_*_GCM: 96-bit salt). */
static const kms_srtp_suite_t kms_srtp_suites[] = {
    {"AES_CM_128_HMAC_SHA1_80", 16, 14}, {"AES_CM_128_HMAC_SHA1_32", 16, 14}, {"AES_256_CM_HMAC_SHA1_80", 32, 14},
    {"AES_256_CM_HMAC_SHA1_32", 32, 14}, {"AEAD_AES_128_GCM", 16, 12},        {"AEAD_AES_256_GCM", 32, 12},
};

int kms_srtp_suite_lengths(const char *suite, size_t *key_len, size_t *salt_len)
{
    if (!suite || !key_len || !salt_len)
        return -1;
    for (size_t i = 0; i < sizeof(kms_srtp_suites) / sizeof(kms_srtp_suites[0]); i++) {
        if (strcmp(kms_srtp_suites[i].name, suite) == 0) {
            *key_len = kms_srtp_suites[i].key_len;
            *salt_len = kms_srtp_suites[i].salt_len;
            return 0;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------- RFC 5649 key wrap */

/* The context index of a KEK size, or -1. */
static int kms_wrap_index(size_t kek_len)
{
    switch (kek_len) {
    case 16:
        return 0;
    case 24:
        return 1;
    case 32:
        return 2;
    default:
        return -1;
    }
}

size_t kms_wrap_len(size_t key_len)
{
    return KMS_WRAP_OVERHEAD + (key_len + KMS_WRAP_BLOCK - 1) / KMS_WRAP_BLOCK * KMS_WRAP_BLOCK;
}

/* RFC 5649 §3: the alternative initial value, A65959A6 followed by the 32-bit key length (MLI). */
static const uint8_t kms_aiv_prefix[4] = {0xA6, 0x59, 0x59, 0xA6};

/* One AES block (ECB, no padding) on the context already keyed for the direction. */
static int kms_aes_block(EVP_CIPHER_CTX *ctx, uint8_t block[2 * KMS_WRAP_BLOCK])
{
    int n = 0;
    return EVP_CipherUpdate(ctx, block, &n, block, 2 * KMS_WRAP_BLOCK) == 1 && n == 2 * KMS_WRAP_BLOCK;
}

/* A ^= t, t a 64-bit big-endian counter (RFC 3394 §2.2.1). */
static void kms_xor_t(uint8_t a[KMS_WRAP_BLOCK], uint64_t t)
{
    for (int k = KMS_WRAP_BLOCK - 1; k >= 0 && t; k--, t >>= 8)
        a[k] ^= (uint8_t)t;
}

/* RFC 3394 §2.2.1 wrapping process W over `n` >= 2 64-bit blocks in r (in place), integrity register a. */
static int kms_w(EVP_CIPHER_CTX *ctx, uint8_t a[KMS_WRAP_BLOCK], uint8_t *r, size_t n)
{
    uint8_t b[2 * KMS_WRAP_BLOCK];
    int ok = 1;
    for (uint64_t j = 0; ok && j < 6; j++) {
        for (size_t i = 1; ok && i <= n; i++) {
            memcpy(b, a, KMS_WRAP_BLOCK);
            memcpy(b + KMS_WRAP_BLOCK, r + (i - 1) * KMS_WRAP_BLOCK, KMS_WRAP_BLOCK);
            ok = kms_aes_block(ctx, b);
            memcpy(a, b, KMS_WRAP_BLOCK);
            kms_xor_t(a, n * j + i);
            memcpy(r + (i - 1) * KMS_WRAP_BLOCK, b + KMS_WRAP_BLOCK, KMS_WRAP_BLOCK);
        }
    }
    OPENSSL_cleanse(b, sizeof(b));
    return ok;
}

/* RFC 3394 §2.2.2 unwrapping process W^-1 (index based), the inverse of kms_w. */
static int kms_w_inv(EVP_CIPHER_CTX *ctx, uint8_t a[KMS_WRAP_BLOCK], uint8_t *r, size_t n)
{
    uint8_t b[2 * KMS_WRAP_BLOCK];
    int ok = 1;
    for (uint64_t j = 6; ok && j-- > 0;) {
        for (size_t i = n; ok && i >= 1; i--) {
            memcpy(b, a, KMS_WRAP_BLOCK);
            kms_xor_t(b, n * j + i);
            memcpy(b + KMS_WRAP_BLOCK, r + (i - 1) * KMS_WRAP_BLOCK, KMS_WRAP_BLOCK);
            ok = kms_aes_block(ctx, b);
            memcpy(a, b, KMS_WRAP_BLOCK);
            memcpy(r + (i - 1) * KMS_WRAP_BLOCK, b + KMS_WRAP_BLOCK, KMS_WRAP_BLOCK);
        }
    }
    OPENSSL_cleanse(b, sizeof(b));
    return ok;
}

/* The AES context for a KEK, keyed for `enc`; NULL for a KEK size AES has not. */
static EVP_CIPHER_CTX *kms_wrap_keyed(kms_crypto_t *cx, const uint8_t *kek, size_t kek_len, int enc)
{
    int i = kms_wrap_index(kek_len);
    if (i < 0 || EVP_CipherInit_ex2(cx->wrap_ctx[i], NULL, kek, NULL, enc, NULL) != 1)
        return NULL;
    return cx->wrap_ctx[i];
}

/* RFC 5649 §4.1: out = 8-byte integrity block || wrapped padded key; out holds kms_wrap_len(key_len) bytes. */
static int kms_wrap_pad(kms_crypto_t *cx, const uint8_t *kek, size_t kek_len, const uint8_t *key, size_t key_len,
                        uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = kms_wrap_keyed(cx, kek, kek_len, 1);
    if (!ctx)
        return -1;
    size_t n = (key_len + KMS_WRAP_BLOCK - 1) / KMS_WRAP_BLOCK;
    memcpy(out, kms_aiv_prefix, sizeof(kms_aiv_prefix));
    out[4] = (uint8_t)(key_len >> 24);
    out[5] = (uint8_t)(key_len >> 16);
    out[6] = (uint8_t)(key_len >> 8);
    out[7] = (uint8_t)key_len;
    memset(out + KMS_WRAP_BLOCK, 0, n * KMS_WRAP_BLOCK);
    memcpy(out + KMS_WRAP_BLOCK, key, key_len);
    /* §4.1: a single block is encrypted whole with the AIV, not run through W */
    int ok = n == 1 ? kms_aes_block(ctx, out) : kms_w(ctx, out, out + KMS_WRAP_BLOCK, n);
    kms_scrub_cipher(ctx);
    return ok ? 0 : -1;
}

/* RFC 5649 §4.2: unwraps blob into tmp (blob_len - 8 bytes) and returns the key length (MLI), or -1 when the
 * integrity check fails: AIV prefix, 8*(n-1) < MLI <= 8*n, and zero padding, all checked before deciding. */
static int kms_unwrap_pad(kms_crypto_t *cx, const uint8_t *kek, size_t kek_len, const uint8_t *blob, size_t blob_len,
                          uint8_t *tmp)
{
    EVP_CIPHER_CTX *ctx = kms_wrap_keyed(cx, kek, kek_len, 0);
    if (!ctx)
        return -1;
    size_t n = blob_len / KMS_WRAP_BLOCK - 1;
    uint8_t a[2 * KMS_WRAP_BLOCK];
    int ok;
    if (n == 1) {
        memcpy(a, blob, 2 * KMS_WRAP_BLOCK);
        ok = kms_aes_block(ctx, a);
        memcpy(tmp, a + KMS_WRAP_BLOCK, KMS_WRAP_BLOCK);
    } else {
        memcpy(a, blob, KMS_WRAP_BLOCK);
        memcpy(tmp, blob + KMS_WRAP_BLOCK, n * KMS_WRAP_BLOCK);
        ok = kms_w_inv(ctx, a, tmp, n);
    }
    kms_scrub_cipher(ctx);
    uint32_t mli = (uint32_t)a[4] << 24 | (uint32_t)a[5] << 16 | (uint32_t)a[6] << 8 | a[7];
    int bad = !ok || CRYPTO_memcmp(a, kms_aiv_prefix, sizeof(kms_aiv_prefix)) != 0;
    bad |= mli <= KMS_WRAP_BLOCK * (n - 1) || mli > KMS_WRAP_BLOCK * n;
    uint8_t pad = 0;
    for (size_t k = bad ? n * KMS_WRAP_BLOCK : mli; k < n * KMS_WRAP_BLOCK; k++)
        pad |= tmp[k];
    OPENSSL_cleanse(a, sizeof(a));
    return bad || pad ? -1 : (int)mli;
}

static int kms_key_wrap_cx(kms_crypto_t *cx, const uint8_t *kek, size_t kek_len, const uint8_t *key, size_t key_len,
                           uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (!kek || !key || !out || !out_len || key_len == 0 || key_len > KMS_WRAP_MAX_KEY_LEN)
        return -1;
    *out_len = 0;
    size_t need = kms_wrap_len(key_len);
    if (out_cap < need)
        return -1;

    if (kms_wrap_pad(cx, kek, kek_len, key, key_len, out) != 0) {
        OPENSSL_cleanse(out, need);
        return -1;
    }
    *out_len = need;
    return 0;
}

static int kms_key_unwrap_cx(kms_crypto_t *cx, const uint8_t *kek, size_t kek_len, const uint8_t *blob, size_t blob_len,
                             uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (!kek || !blob || !out || !out_len)
        return -1;
    *out_len = 0;
    if (blob_len < KMS_WRAP_MIN_BLOB_LEN || blob_len > KMS_WRAP_MAX_BLOB_LEN || blob_len % KMS_WRAP_BLOCK != 0)
        return -1;

    /* Unwrap into a scratch buffer and copy only the verified key out. */
    uint8_t tmp[KMS_WRAP_MAX_BLOB_LEN];
    int n = kms_unwrap_pad(cx, kek, kek_len, blob, blob_len, tmp);
    int rc = -1;
    if (n > 0 && (size_t)n <= blob_len - KMS_WRAP_OVERHEAD && (size_t)n <= out_cap) {
        memcpy(out, tmp, (size_t)n);
        *out_len = (size_t)n;
        rc = 0;
    }
    OPENSSL_cleanse(tmp, sizeof(tmp));
    if (rc != 0 && out_cap)
        OPENSSL_cleanse(out, out_cap < blob_len ? out_cap : blob_len);
    return rc;
}

int kms_key_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *key, size_t key_len, uint8_t *out, size_t out_cap,
                 size_t *out_len)
{
    kms_crypto_t *cx = kms_crypto_new();
    int rc = cx ? kms_key_wrap_cx(cx, kek, kek_len, key, key_len, out, out_cap, out_len) : -1;
    kms_crypto_free(cx);
    return rc;
}

int kms_key_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *blob, size_t blob_len, uint8_t *out,
                   size_t out_cap, size_t *out_len)
{
    kms_crypto_t *cx = kms_crypto_new();
    int rc = cx ? kms_key_unwrap_cx(cx, kek, kek_len, blob, blob_len, out, out_cap, out_len) : -1;
    if (!cx && out_len)
        *out_len = 0;
    kms_crypto_free(cx);
    return rc;
}

int kms_crypto_wrap_b64(kms_crypto_t *cx, const uint8_t kms_key[KMS_KEY_LEN], const char *call_id, size_t call_id_len,
                        const uint8_t session_key[KMS_KEY_LEN], char *out, size_t out_cap)
{
    uint8_t kek[KMS_KEY_LEN];
    uint8_t blob[KMS_WRAPPED_SESSION_KEY_LEN];
    size_t blob_len = 0;
    int rc = -1;

    if (!cx || !session_key || !out || out_cap < KMS_WRAPPED_SESSION_KEY_B64_LEN + 1)
        return -1;
    if (kms_kek_derive_cx(cx, kms_key, call_id, call_id_len, kek) == 0 &&
        kms_key_wrap_cx(cx, kek, sizeof(kek), session_key, KMS_KEY_LEN, blob, sizeof(blob), &blob_len) == 0 &&
        core_b64url_encode(blob, blob_len, out, out_cap) == KMS_WRAPPED_SESSION_KEY_B64_LEN)
        rc = 0;
    OPENSSL_cleanse(kek, sizeof(kek));
    OPENSSL_cleanse(blob, sizeof(blob));
    return rc;
}

int kms_crypto_unwrap_b64(kms_crypto_t *cx, const uint8_t kms_key[KMS_KEY_LEN], const char *call_id, size_t call_id_len,
                          const char *wrapped_b64, size_t wrapped_b64_len, uint8_t session_key[KMS_KEY_LEN])
{
    uint8_t kek[KMS_KEY_LEN];
    uint8_t blob[KMS_WRAPPED_SESSION_KEY_LEN];
    uint8_t key[KMS_WRAPPED_SESSION_KEY_LEN];
    size_t blob_len = 0, key_len = 0;
    int rc = -1;

    if (!cx || !wrapped_b64 || !session_key || wrapped_b64_len != KMS_WRAPPED_SESSION_KEY_B64_LEN)
        return -1;
    if (core_b64url_decode(wrapped_b64, wrapped_b64_len, blob, sizeof(blob), &blob_len) == 0 &&
        kms_kek_derive_cx(cx, kms_key, call_id, call_id_len, kek) == 0 &&
        kms_key_unwrap_cx(cx, kek, sizeof(kek), blob, blob_len, key, sizeof(key), &key_len) == 0 &&
        key_len == KMS_KEY_LEN) {
        memcpy(session_key, key, KMS_KEY_LEN);
        rc = 0;
    }
    OPENSSL_cleanse(kek, sizeof(kek));
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

int kms_session_key_wrap_b64(const uint8_t kms_key[KMS_KEY_LEN], const char *call_id, size_t call_id_len,
                             const uint8_t session_key[KMS_KEY_LEN], char *out, size_t out_cap)
{
    kms_crypto_t *cx = kms_crypto_new();
    int rc = cx ? kms_crypto_wrap_b64(cx, kms_key, call_id, call_id_len, session_key, out, out_cap) : -1;
    kms_crypto_free(cx);
    return rc;
}

int kms_session_key_unwrap_b64(const uint8_t kms_key[KMS_KEY_LEN], const char *call_id, size_t call_id_len,
                               const char *wrapped_b64, size_t wrapped_b64_len, uint8_t session_key[KMS_KEY_LEN])
{
    kms_crypto_t *cx = kms_crypto_new();
    int rc =
        cx ? kms_crypto_unwrap_b64(cx, kms_key, call_id, call_id_len, wrapped_b64, wrapped_b64_len, session_key) : -1;
    kms_crypto_free(cx);
    return rc;
}

/* ---------------------------------------------------------------- random material */

int kms_session_key_new(uint8_t key[KMS_KEY_LEN])
{
    if (!key)
        return -1;
    if (RAND_bytes(key, KMS_KEY_LEN) != 1) {
        OPENSSL_cleanse(key, KMS_KEY_LEN);
        return -1;
    }
    return 0;
}

int kms_key_id_new(char out[KMS_KEY_ID_LEN + 1])
{
    uint8_t raw[KMS_KEY_ID_RAW_LEN];

    if (!out)
        return -1;
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -1;
    int n = core_b64url_encode(raw, sizeof(raw), out, KMS_KEY_ID_LEN + 1);
    OPENSSL_cleanse(raw, sizeof(raw));
    return n == KMS_KEY_ID_LEN ? 0 : -1;
}

int kms_session_key_and_id_new(uint8_t key[KMS_KEY_LEN], char key_id[KMS_KEY_ID_LEN + 1])
{
    uint8_t raw[KMS_KEY_LEN + KMS_KEY_ID_RAW_LEN];

    if (!key || !key_id)
        return -1;
    int ok = RAND_bytes(raw, sizeof(raw)) == 1 &&
             core_b64url_encode(raw + KMS_KEY_LEN, KMS_KEY_ID_RAW_LEN, key_id, KMS_KEY_ID_LEN + 1) == KMS_KEY_ID_LEN;
    if (ok)
        memcpy(key, raw, KMS_KEY_LEN);
    else
        OPENSSL_cleanse(key, KMS_KEY_LEN);
    OPENSSL_cleanse(raw, sizeof(raw));
    return ok ? 0 : -1;
}

/* ---------------------------------------------------------------- compare, hash */

int kms_ct_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
    if (!a || !b || a_len != b_len)
        return 0;
    return CRYPTO_memcmp(a, b, a_len) == 0;
}

int kms_crypto_key_id_hash(kms_crypto_t *cx, const char *key_id, size_t key_id_len, char out[KMS_KEY_ID_HASH_LEN + 1])
{
    uint8_t md[KMS_SHA256_LEN];
    unsigned int md_len = 0;

    if (!cx || !key_id || !out)
        return -1;
    if (EVP_DigestInit_ex2(cx->md, cx->sha256, NULL) != 1 || EVP_DigestUpdate(cx->md, key_id, key_id_len) != 1 ||
        EVP_DigestFinal_ex(cx->md, md, &md_len) != 1 || md_len != sizeof(md))
        return -1;
    core_hex_encode(md, KMS_KEY_ID_HASH_LEN / 2, out);
    return 0;
}

int kms_key_id_hash(const char *key_id, size_t key_id_len, char out[KMS_KEY_ID_HASH_LEN + 1])
{
    uint8_t md[KMS_SHA256_LEN];
    unsigned int md_len = 0;

    if (!key_id || !out)
        return -1;
    if (EVP_Digest(key_id, key_id_len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != sizeof(md))
        return -1;
    core_hex_encode(md, KMS_KEY_ID_HASH_LEN / 2, out);
    return 0;
}

void kms_digest_password(const uint8_t kms_key[KMS_KEY_LEN], char out[KMS_DIGEST_PASSWORD_LEN + 1])
{
    core_hex_encode(kms_key, KMS_KEY_LEN, out);
}

void kms_cleanse(void *p, size_t len)
{
    if (p && len)
        OPENSSL_cleanse(p, len);
}
