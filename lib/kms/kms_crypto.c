/*
 * kms_crypto — key derivation, key wrap and encodings for the KMS and its clients (DESIGN §4).
 *
 * Specifications followed
 * - HKDF: RFC 5869 §2.2 (extract) and §2.3 (expand), SHA-256, through OpenSSL 3's EVP_KDF "HKDF" in its default
 *   extract-and-expand mode. The KEK (info "mihua kek") and the SRTP direction keys (info "mihua srtp|SUITE|dir")
 *   are two uses of it with distinct info strings, so no output of one can equal an output of the other.
 * - Key wrap: RFC 5649 §4 (AES key wrap with padding) through EVP_aes_{128,192,256}_wrap_pad. OpenSSL refuses wrap
 *   modes on a context without EVP_CIPHER_CTX_FLAG_WRAP_ALLOW, so every context sets it. Unwrap checks the
 *   alternative IV and the padding (§4.2 step 3); a tampered, truncated or wrongly keyed blob fails as a whole.
 * - base64url: RFC 4648 §5 without padding (§3.2 allows omitting it when the length is known, as in JSON). The
 *   decoder is canonical-only (rejects '=', foreign characters, a dangling 6-bit group and non-zero spare bits) so
 *   a keyId has exactly one spelling and string comparison of keyIds is sound.
 *
 * Trade-offs
 * - The KDF and cipher are fetched per call (implicit fetch). That costs a few microseconds against caching them in
 *   a context object, and keeps this module free of state and of init/teardown order. If profiling ever shows it,
 *   a kms_crypto_ctx holding pre-fetched EVP_KDF/EVP_CIPHER objects is the place to add it.
 * - Stack temporaries (KEK, unwrap buffer, HKDF info) are bounded by named constants and cleansed before return;
 *   nothing secret reaches the heap except inside OpenSSL, which cleanses its own contexts on free.
 * - Nothing here logs. Callers log keyIds only through kms_key_id_hash.
 */
#include "kms/kms_crypto.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
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

/* ---------------------------------------------------------------- HKDF */

int kms_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len, const uint8_t *info,
                    size_t info_len, uint8_t *out, size_t out_len) {
    if (!ikm || ikm_len == 0 || !out || out_len == 0 || out_len > KMS_HKDF_MAX_OUT_LEN)
        return -1;
    if ((salt_len && !salt) || (info_len && !info))
        return -1;

    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (!kdf)
        return -1;
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (!kctx)
        return -1;

    OSSL_PARAM params[5];
    OSSL_PARAM *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    if (salt_len)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    if (info_len)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    *p = OSSL_PARAM_construct_end();

    int ok = EVP_KDF_derive(kctx, out, out_len, params) == 1;
    EVP_KDF_CTX_free(kctx);
    if (!ok) {
        OPENSSL_cleanse(out, out_len);
        return -1;
    }
    return 0;
}

int kms_kek_derive(const uint8_t kms_key[KMS_KEY_LEN], const char *call_id, size_t call_id_len,
                   uint8_t kek[KMS_KEY_LEN]) {
    if (!kms_key || !call_id || call_id_len == 0 || !kek)
        return -1;
    return kms_hkdf_sha256(kms_key, KMS_KEY_LEN, (const uint8_t *)call_id, call_id_len,
                           (const uint8_t *)KMS_KEK_INFO, sizeof(KMS_KEK_INFO) - 1, kek, KMS_KEY_LEN);
}

/* ---------------------------------------------------------------- SRTP direction keys */

static int kms_srtp_suite_ok(const char *suite, size_t *len) {
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
                        const char *suite, kms_srtp_dir_t dir, uint8_t *out, size_t out_len) {
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
    {"AES_CM_128_HMAC_SHA1_80", 16, 14}, {"AES_CM_128_HMAC_SHA1_32", 16, 14},
    {"AES_256_CM_HMAC_SHA1_80", 32, 14}, {"AES_256_CM_HMAC_SHA1_32", 32, 14},
    {"AEAD_AES_128_GCM", 16, 12},        {"AEAD_AES_256_GCM", 32, 12},
};

int kms_srtp_suite_lengths(const char *suite, size_t *key_len, size_t *salt_len) {
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

static const EVP_CIPHER *kms_wrap_cipher(size_t kek_len) {
    switch (kek_len) {
    case 16:
        return EVP_aes_128_wrap_pad();
    case 24:
        return EVP_aes_192_wrap_pad();
    case 32:
        return EVP_aes_256_wrap_pad();
    default:
        return NULL;
    }
}

size_t kms_wrap_len(size_t key_len) {
    return KMS_WRAP_OVERHEAD + (key_len + KMS_WRAP_BLOCK - 1) / KMS_WRAP_BLOCK * KMS_WRAP_BLOCK;
}

/* One wrap or unwrap pass; `enc` 1 wraps, 0 unwraps. Returns the bytes written or -1. */
static int kms_wrap_run(int enc, const uint8_t *kek, size_t kek_len, const uint8_t *in, size_t in_len, uint8_t *out) {
    const EVP_CIPHER *cipher = kms_wrap_cipher(kek_len);
    if (!cipher)
        return -1;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return -1;
    EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);

    int n = 0, fin = 0, ok = EVP_CipherInit_ex(ctx, cipher, NULL, kek, NULL, enc) == 1 &&
                             EVP_CipherUpdate(ctx, out, &n, in, (int)in_len) == 1 && n > 0 &&
                             EVP_CipherFinal_ex(ctx, out + n, &fin) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? n + fin : -1;
}

int kms_key_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *key, size_t key_len, uint8_t *out,
                 size_t out_cap, size_t *out_len) {
    if (!kek || !key || !out || !out_len || key_len == 0 || key_len > KMS_WRAP_MAX_KEY_LEN)
        return -1;
    *out_len = 0;
    size_t need = kms_wrap_len(key_len);
    if (out_cap < need)
        return -1;

    int n = kms_wrap_run(1, kek, kek_len, key, key_len, out);
    if (n < 0 || (size_t)n != need) {
        OPENSSL_cleanse(out, need);
        return -1;
    }
    *out_len = need;
    return 0;
}

int kms_key_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *blob, size_t blob_len, uint8_t *out,
                   size_t out_cap, size_t *out_len) {
    if (!kek || !blob || !out || !out_len)
        return -1;
    *out_len = 0;
    if (blob_len < KMS_WRAP_MIN_BLOB_LEN || blob_len > KMS_WRAP_MAX_BLOB_LEN || blob_len % KMS_WRAP_BLOCK != 0)
        return -1;

    /* OpenSSL may write up to blob_len bytes; unwrap into a scratch buffer and copy only the verified key out. */
    uint8_t tmp[KMS_WRAP_MAX_BLOB_LEN];
    int n = kms_wrap_run(0, kek, kek_len, blob, blob_len, tmp);
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

int kms_session_key_wrap_b64(const uint8_t kms_key[KMS_KEY_LEN], const char *call_id, size_t call_id_len,
                             const uint8_t session_key[KMS_KEY_LEN], char *out, size_t out_cap) {
    uint8_t kek[KMS_KEY_LEN];
    uint8_t blob[KMS_WRAPPED_SESSION_KEY_LEN];
    size_t blob_len = 0;
    int rc = -1;

    if (!session_key || !out || out_cap < KMS_WRAPPED_SESSION_KEY_B64_LEN + 1)
        return -1;
    if (kms_kek_derive(kms_key, call_id, call_id_len, kek) == 0 &&
        kms_key_wrap(kek, sizeof(kek), session_key, KMS_KEY_LEN, blob, sizeof(blob), &blob_len) == 0 &&
        kms_b64url_encode(blob, blob_len, out, out_cap) == KMS_WRAPPED_SESSION_KEY_B64_LEN)
        rc = 0;
    OPENSSL_cleanse(kek, sizeof(kek));
    OPENSSL_cleanse(blob, sizeof(blob));
    return rc;
}

int kms_session_key_unwrap_b64(const uint8_t kms_key[KMS_KEY_LEN], const char *call_id, size_t call_id_len,
                               const char *wrapped_b64, size_t wrapped_b64_len, uint8_t session_key[KMS_KEY_LEN]) {
    uint8_t kek[KMS_KEY_LEN];
    uint8_t blob[KMS_WRAPPED_SESSION_KEY_LEN];
    uint8_t key[KMS_WRAPPED_SESSION_KEY_LEN];
    size_t blob_len = 0, key_len = 0;
    int rc = -1;

    if (!wrapped_b64 || !session_key || wrapped_b64_len != KMS_WRAPPED_SESSION_KEY_B64_LEN)
        return -1;
    if (kms_b64url_decode(wrapped_b64, wrapped_b64_len, blob, sizeof(blob), &blob_len) == 0 &&
        kms_kek_derive(kms_key, call_id, call_id_len, kek) == 0 &&
        kms_key_unwrap(kek, sizeof(kek), blob, blob_len, key, sizeof(key), &key_len) == 0 && key_len == KMS_KEY_LEN) {
        memcpy(session_key, key, KMS_KEY_LEN);
        rc = 0;
    }
    OPENSSL_cleanse(kek, sizeof(kek));
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

/* ---------------------------------------------------------------- random material */

int kms_session_key_new(uint8_t key[KMS_KEY_LEN]) {
    if (!key)
        return -1;
    if (RAND_bytes(key, KMS_KEY_LEN) != 1) {
        OPENSSL_cleanse(key, KMS_KEY_LEN);
        return -1;
    }
    return 0;
}

int kms_key_id_new(char out[KMS_KEY_ID_LEN + 1]) {
    uint8_t raw[KMS_KEY_ID_RAW_LEN];

    if (!out)
        return -1;
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -1;
    int n = kms_b64url_encode(raw, sizeof(raw), out, KMS_KEY_ID_LEN + 1);
    OPENSSL_cleanse(raw, sizeof(raw));
    return n == KMS_KEY_ID_LEN ? 0 : -1;
}

/* ---------------------------------------------------------------- base64url */

static const char kms_b64url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int kms_b64url_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

size_t kms_b64url_len(size_t n) {
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

int kms_b64url_encode(const uint8_t *in, size_t len, char *out, size_t out_cap) {
    if ((!in && len) || !out || len > (size_t)INT32_MAX / 2)
        return -1;
    size_t need = kms_b64url_len(len);
    if (out_cap < need + 1)
        return -1;

    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = kms_b64url_alphabet[v >> 18 & 63];
        out[o++] = kms_b64url_alphabet[v >> 12 & 63];
        out[o++] = kms_b64url_alphabet[v >> 6 & 63];
        out[o++] = kms_b64url_alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = kms_b64url_alphabet[v >> 18 & 63];
        out[o++] = kms_b64url_alphabet[v >> 12 & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = kms_b64url_alphabet[v >> 18 & 63];
        out[o++] = kms_b64url_alphabet[v >> 12 & 63];
        out[o++] = kms_b64url_alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
    return (int)o;
}

int kms_b64url_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len) {
    if (!in || !out_len || (!out && in_len))
        return -1;
    *out_len = 0;
    /* A single leftover character carries only 6 bits: no byte string encodes to that length. */
    if (in_len % 4 == 1)
        return -1;
    size_t need = in_len / 4 * 3 + (in_len % 4 ? in_len % 4 - 1 : 0);
    if (out_cap < need)
        return -1;

    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < in_len; i++) {
        int v = kms_b64url_value((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* Canonical form only: the spare low bits of the last character must be zero. */
    if (bits && (acc & ((1u << bits) - 1)) != 0)
        return -1;
    *out_len = o;
    return 0;
}

/* ---------------------------------------------------------------- compare, hash, hex */

int kms_ct_equal(const void *a, size_t a_len, const void *b, size_t b_len) {
    if (!a || !b || a_len != b_len)
        return 0;
    return CRYPTO_memcmp(a, b, a_len) == 0;
}

static void kms_hex(const uint8_t *in, size_t len, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

int kms_key_id_hash(const char *key_id, size_t key_id_len, char out[KMS_KEY_ID_HASH_LEN + 1]) {
    uint8_t md[KMS_SHA256_LEN];
    unsigned int md_len = 0;

    if (!key_id || !out)
        return -1;
    if (EVP_Digest(key_id, key_id_len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != sizeof(md))
        return -1;
    kms_hex(md, KMS_KEY_ID_HASH_LEN / 2, out);
    return 0;
}

void kms_digest_password(const uint8_t kms_key[KMS_KEY_LEN], char out[KMS_DIGEST_PASSWORD_LEN + 1]) {
    kms_hex(kms_key, KMS_KEY_LEN, out);
}

void kms_cleanse(void *p, size_t len) {
    if (p && len)
        OPENSSL_cleanse(p, len);
}
