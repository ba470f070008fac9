/*
 * Unit tests for lib/kms/kms_crypto: RFC 5869 §A.1–A.3 (HKDF-SHA256), RFC 5649 §6 (192-bit KEK), AES-256 wrap
 * vectors and the DESIGN §4 KEK / wrappedKey / SRTP known answers (computed independently with Python's hmac and a
 * pure-Python RFC 5649 over `openssl enc -aes-256-ecb`), tamper rejection, keyId, compare, hash
 * (base64url itself: test_core_codec).
 * The reusable kms_crypto_t is checked against OpenSSL's own AES-*-WRAP-PAD for every key length and KEK size, and
 * against the one-shot functions across many calls on one context (re-keying must leave nothing behind).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "test_hex.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "core/core_b64url.h"
#include "kms/http_digest.h"
#include "kms/kms_crypto.h"

static void fill_range(uint8_t *out, unsigned from, unsigned to)
{
    for (unsigned v = from; v < to; v++)
        out[v - from] = (uint8_t)v;
}

/* ------------------------------------------------------------ HKDF */

static void test_hkdf_rfc5869_case1(void **state)
{
    (void)state;
    uint8_t ikm[22], salt[13], info[10], okm[42];
    memset(ikm, 0x0b, sizeof(ikm));
    fill_range(salt, 0x00, 0x0d);
    fill_range(info, 0xf0, 0xfa);
    assert_int_equal(kms_hkdf_sha256(ikm, sizeof(ikm), salt, sizeof(salt), info, sizeof(info), okm, sizeof(okm)), 0);
    assert_hex_equal(okm, sizeof(okm),
                     "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

static void test_hkdf_rfc5869_case2(void **state)
{
    (void)state;
    uint8_t ikm[80], salt[80], info[80], okm[82];
    fill_range(ikm, 0x00, 0x50);
    fill_range(salt, 0x60, 0xb0);
    fill_range(info, 0xb0, 0x100);
    assert_int_equal(kms_hkdf_sha256(ikm, sizeof(ikm), salt, sizeof(salt), info, sizeof(info), okm, sizeof(okm)), 0);
    assert_hex_equal(okm, sizeof(okm),
                     "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e0"
                     "9da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

static void test_hkdf_rfc5869_case3(void **state)
{
    (void)state;
    uint8_t ikm[22], okm[42];
    memset(ikm, 0x0b, sizeof(ikm));
    assert_int_equal(kms_hkdf_sha256(ikm, sizeof(ikm), NULL, 0, NULL, 0, okm, sizeof(okm)), 0);
    assert_hex_equal(okm, sizeof(okm),
                     "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

/* OpenSSL's own HKDF as the oracle for the written-out one: salts around and above the 64-byte HMAC block (a callId
 * may be 256 characters), a reused context, outputs of one and several blocks. */
static void openssl_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len, const uint8_t *info,
                         size_t info_len, uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
                           OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len),
                           OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len),
                           OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len),
                           OSSL_PARAM_construct_end()};
    assert_int_equal(EVP_KDF_derive(kctx, out, out_len, params), 1);
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
}

static void test_hkdf_matches_openssl(void **state)
{
    (void)state;
    static const size_t salt_lens[] = {1, 14, 63, 64, 65, 127, 128, 200, 256};
    static const size_t out_lens[] = {1, 16, 32, 33, 64, 100};
    uint8_t ikm[KMS_KEY_LEN], salt[256], info[40], want[100], got[100];
    kms_crypto_t *cx = kms_crypto_new();
    assert_non_null(cx);
    for (size_t i = 0; i < sizeof(salt_lens) / sizeof(salt_lens[0]); i++) {
        for (size_t j = 0; j < sizeof(out_lens) / sizeof(out_lens[0]); j++) {
            assert_int_equal(RAND_bytes(ikm, sizeof(ikm)), 1);
            assert_int_equal(RAND_bytes(salt, sizeof(salt)), 1);
            assert_int_equal(RAND_bytes(info, sizeof(info)), 1);
            size_t info_len = (i + j) % sizeof(info);
            openssl_hkdf(ikm, sizeof(ikm), salt, salt_lens[i], info, info_len, want, out_lens[j]);
            assert_int_equal(
                kms_crypto_hkdf(cx, ikm, sizeof(ikm), salt, salt_lens[i], info, info_len, got, out_lens[j]), 0);
            assert_memory_equal(got, want, out_lens[j]);
        }
    }
    kms_crypto_free(cx);
}

static void test_hkdf_bad_args(void **state)
{
    (void)state;
    uint8_t ikm[32] = {1}, okm[32];
    assert_int_equal(kms_hkdf_sha256(NULL, 0, NULL, 0, NULL, 0, okm, sizeof(okm)), -1);
    assert_int_equal(kms_hkdf_sha256(ikm, sizeof(ikm), NULL, 0, NULL, 0, okm, 0), -1);
    assert_int_equal(kms_hkdf_sha256(ikm, sizeof(ikm), NULL, 5, NULL, 0, okm, sizeof(okm)), -1);
    assert_int_equal(kms_hkdf_sha256(ikm, sizeof(ikm), NULL, 0, NULL, 0, okm, KMS_HKDF_MAX_OUT_LEN + 1), -1);
}

/* ------------------------------------------------------------ KEK and session-key wrap (DESIGN §4) */

static const char CALL_ID[] = "a84b4c76e66710@pc33.example.com";
static const char KEK_HEX[] = "62c4dd629ed3c7f1bbd36f476d9e3d1ba40a31bf01a414f08e9dad1f4b62763d";
static const char WRAPPED_B64[] = "rHVnqh8cmtz08Qlh5QihT8ereaWq7ZmH4WYQg437pBn_PvOuCjeXMg";

static void test_kek_known_answer(void **state)
{
    (void)state;
    uint8_t kms_key[KMS_KEY_LEN], kek[KMS_KEY_LEN];
    fill_range(kms_key, 0x40, 0x60);
    assert_int_equal(kms_kek_derive(kms_key, CALL_ID, strlen(CALL_ID), kek), 0);
    assert_hex_equal(kek, sizeof(kek), KEK_HEX);
    assert_int_equal(kms_kek_derive(kms_key, CALL_ID, 0, kek), -1);
}

static void test_session_key_wrap_known_answer(void **state)
{
    (void)state;
    uint8_t kms_key[KMS_KEY_LEN], sk[KMS_KEY_LEN], back[KMS_KEY_LEN];
    char b64[KMS_WRAPPED_SESSION_KEY_B64_LEN + 1];
    fill_range(kms_key, 0x40, 0x60);
    fill_range(sk, 0x80, 0xa0);

    assert_int_equal(kms_session_key_wrap_b64(kms_key, CALL_ID, strlen(CALL_ID), sk, b64, sizeof(b64)), 0);
    assert_string_equal(b64, WRAPPED_B64);
    assert_int_equal(kms_session_key_unwrap_b64(kms_key, CALL_ID, strlen(CALL_ID), b64, strlen(b64), back), 0);
    assert_memory_equal(back, sk, KMS_KEY_LEN);
}

static void test_session_key_unwrap_rejects(void **state)
{
    (void)state;
    uint8_t kms_key[KMS_KEY_LEN], back[KMS_KEY_LEN];
    char b64[sizeof(WRAPPED_B64)];
    fill_range(kms_key, 0x40, 0x60);

    /* another call's KEK */
    assert_int_equal(kms_session_key_unwrap_b64(kms_key, "other-call", 10, WRAPPED_B64, strlen(WRAPPED_B64), back), -1);
    /* another subscriber's kms_key */
    uint8_t other[KMS_KEY_LEN];
    memcpy(other, kms_key, sizeof(other));
    other[0] ^= 1;
    assert_int_equal(
        kms_session_key_unwrap_b64(other, CALL_ID, strlen(CALL_ID), WRAPPED_B64, strlen(WRAPPED_B64), back), -1);
    /* one flipped character */
    memcpy(b64, WRAPPED_B64, sizeof(b64));
    b64[10] = b64[10] == 'A' ? 'B' : 'A';
    assert_int_equal(kms_session_key_unwrap_b64(kms_key, CALL_ID, strlen(CALL_ID), b64, strlen(b64), back), -1);
    /* truncated, not base64url */
    assert_int_equal(kms_session_key_unwrap_b64(kms_key, CALL_ID, strlen(CALL_ID), WRAPPED_B64, 53, back), -1);
    memcpy(b64, WRAPPED_B64, sizeof(b64));
    b64[3] = '+';
    assert_int_equal(kms_session_key_unwrap_b64(kms_key, CALL_ID, strlen(CALL_ID), b64, strlen(b64), back), -1);
}

/* ------------------------------------------------------------ RFC 5649 primitive */

static void wrap_vector(const char *kek_hex, const char *key_hex, const char *wrapped_hex)
{
    uint8_t kek[32], key[64], out[80], back[80];
    size_t kek_len = unhex(kek_hex, kek), key_len = unhex(key_hex, key), out_len = 0, back_len = 0;

    assert_int_equal(kms_key_wrap(kek, kek_len, key, key_len, out, sizeof(out), &out_len), 0);
    assert_int_equal(out_len, kms_wrap_len(key_len));
    assert_hex_equal(out, out_len, wrapped_hex);
    assert_int_equal(kms_key_unwrap(kek, kek_len, out, out_len, back, sizeof(back), &back_len), 0);
    assert_int_equal(back_len, key_len);
    assert_memory_equal(back, key, key_len);
}

static void test_wrap_rfc5649_vectors(void **state)
{
    (void)state;
    static const char kek[] = "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8";
    wrap_vector(kek, "c37b7e6492584340bed12207808941155068f738",
                "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a");
    wrap_vector(kek, "466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f");
}

static void test_wrap_aes256_vectors(void **state)
{
    (void)state;
    static const char kek[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    wrap_vector(kek, "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
                "92f48c52045c08050ec796a5a91c5ddaf7c61cbdc940adc8d3dc8a144f6161a8c5d3299e325f1750");
    wrap_vector(kek, "0102030405", "c2db22ed1b08ff07d8b8f718d02a15ed");
}

static void test_wrap_tampered_rejected(void **state)
{
    (void)state;
    uint8_t kek[KMS_KEY_LEN], key[KMS_KEY_LEN], blob[KMS_WRAPPED_SESSION_KEY_LEN], back[KMS_WRAPPED_SESSION_KEY_LEN];
    size_t blob_len = 0, back_len = 99;
    fill_range(kek, 0, 32);
    fill_range(key, 32, 64);
    assert_int_equal(kms_key_wrap(kek, sizeof(kek), key, sizeof(key), blob, sizeof(blob), &blob_len), 0);

    for (size_t i = 0; i < blob_len; i++) {
        blob[i] ^= 0x80;
        assert_int_equal(kms_key_unwrap(kek, sizeof(kek), blob, blob_len, back, sizeof(back), &back_len), -1);
        assert_int_equal(back_len, 0);
        blob[i] ^= 0x80;
    }
    /* wrong KEK, truncation, odd lengths, wrong KEK size */
    kek[31] ^= 1;
    assert_int_equal(kms_key_unwrap(kek, sizeof(kek), blob, blob_len, back, sizeof(back), &back_len), -1);
    kek[31] ^= 1;
    assert_int_equal(kms_key_unwrap(kek, sizeof(kek), blob, blob_len - 8, back, sizeof(back), &back_len), -1);
    assert_int_equal(kms_key_unwrap(kek, sizeof(kek), blob, blob_len - 1, back, sizeof(back), &back_len), -1);
    assert_int_equal(kms_key_unwrap(kek, sizeof(kek), blob, 8, back, sizeof(back), &back_len), -1);
    assert_int_equal(kms_key_unwrap(kek, 20, blob, blob_len, back, sizeof(back), &back_len), -1);
    /* output too small for the key inside */
    assert_int_equal(kms_key_unwrap(kek, sizeof(kek), blob, blob_len, back, 16, &back_len), -1);
    /* intact blob still good */
    assert_int_equal(kms_key_unwrap(kek, sizeof(kek), blob, blob_len, back, sizeof(back), &back_len), 0);
    assert_memory_equal(back, key, sizeof(key));
}

static void test_wrap_bad_args(void **state)
{
    (void)state;
    uint8_t kek[KMS_KEY_LEN] = {0}, key[KMS_WRAP_MAX_KEY_LEN + 1] = {0}, out[KMS_WRAP_MAX_KEY_LEN + 16];
    size_t out_len;
    assert_int_equal(kms_key_wrap(kek, sizeof(kek), key, 0, out, sizeof(out), &out_len), -1);
    assert_int_equal(kms_key_wrap(kek, sizeof(kek), key, sizeof(key), out, sizeof(out), &out_len), -1);
    assert_int_equal(kms_key_wrap(kek, sizeof(kek), key, 32, out, 39, &out_len), -1);
    assert_int_equal(kms_key_wrap(kek, 31, key, 32, out, sizeof(out), &out_len), -1);
    assert_int_equal(kms_key_wrap(kek, sizeof(kek), key, KMS_WRAP_MAX_KEY_LEN, out, sizeof(out), &out_len), 0);
    assert_int_equal(out_len, KMS_WRAP_MAX_KEY_LEN + KMS_WRAP_OVERHEAD);
}

/* ------------------------------------------------------------ SRTP direction keys */

static void test_srtp_known_answer_and_separation(void **state)
{
    (void)state;
    uint8_t sk[KMS_KEY_LEN], c2e[30], e2c[30], other[30];
    size_t key_len = 0, salt_len = 0;
    fill_range(sk, 0x80, 0xa0);

    assert_int_equal(kms_srtp_suite_lengths("AES_CM_128_HMAC_SHA1_80", &key_len, &salt_len), 0);
    assert_int_equal(key_len + salt_len, sizeof(c2e));
    assert_int_equal(kms_srtp_key_derive(sk, CALL_ID, strlen(CALL_ID), "AES_CM_128_HMAC_SHA1_80",
                                         KMS_SRTP_CALLER_TO_CALLEE, c2e, sizeof(c2e)),
                     0);
    assert_hex_equal(c2e, sizeof(c2e), "8c05d3ad0f634988696724001922b0dbd045d9bdd385e4b145177831490f");
    assert_int_equal(kms_srtp_key_derive(sk, CALL_ID, strlen(CALL_ID), "AES_CM_128_HMAC_SHA1_80",
                                         KMS_SRTP_CALLEE_TO_CALLER, e2c, sizeof(e2c)),
                     0);
    assert_hex_equal(e2c, sizeof(e2c), "a89043299ffe05fc9be97a9c3d214ef834b1e5aacf7dcd53b2f69a16b09b");
    assert_memory_not_equal(c2e, e2c, sizeof(c2e));

    /* another suite, same direction: different bytes */
    assert_int_equal(kms_srtp_key_derive(sk, CALL_ID, strlen(CALL_ID), "AES_CM_128_HMAC_SHA1_32",
                                         KMS_SRTP_CALLER_TO_CALLEE, other, sizeof(other)),
                     0);
    assert_memory_not_equal(c2e, other, sizeof(c2e));
    assert_memory_not_equal(e2c, other, sizeof(e2c));
}

static void test_srtp_bad_args(void **state)
{
    (void)state;
    uint8_t sk[KMS_KEY_LEN] = {0}, out[46];
    char long_suite[KMS_SRTP_SUITE_MAX_LEN + 2];
    size_t k, s;
    memset(long_suite, 'A', sizeof(long_suite) - 1);
    long_suite[sizeof(long_suite) - 1] = '\0';

    assert_int_equal(kms_srtp_key_derive(sk, "c", 1, "", KMS_SRTP_CALLER_TO_CALLEE, out, sizeof(out)), -1);
    assert_int_equal(kms_srtp_key_derive(sk, "c", 1, "A|B", KMS_SRTP_CALLER_TO_CALLEE, out, sizeof(out)), -1);
    assert_int_equal(kms_srtp_key_derive(sk, "c", 1, "A B", KMS_SRTP_CALLER_TO_CALLEE, out, sizeof(out)), -1);
    assert_int_equal(kms_srtp_key_derive(sk, "c", 1, long_suite, KMS_SRTP_CALLER_TO_CALLEE, out, sizeof(out)), -1);
    long_suite[KMS_SRTP_SUITE_MAX_LEN] = '\0';
    assert_int_equal(kms_srtp_key_derive(sk, "c", 1, long_suite, KMS_SRTP_CALLER_TO_CALLEE, out, sizeof(out)), 0);
    assert_int_equal(kms_srtp_key_derive(sk, "c", 1, "X", (kms_srtp_dir_t)7, out, sizeof(out)), -1);
    assert_int_equal(kms_srtp_key_derive(sk, "", 0, "X", KMS_SRTP_CALLER_TO_CALLEE, out, sizeof(out)), -1);
    assert_int_equal(kms_srtp_suite_lengths("AEAD_AES_256_GCM", &k, &s), 0);
    assert_int_equal(k, 32);
    assert_int_equal(s, 12);
    assert_int_equal(kms_srtp_suite_lengths("NULL_CIPHER", &k, &s), -1);
}

/* ------------------------------------------------------------ random material, compare, hash */

static int is_b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static void test_key_id_new(void **state)
{
    (void)state;
    char a[KMS_KEY_ID_LEN + 1], b[KMS_KEY_ID_LEN + 1];
    uint8_t raw[KMS_KEY_ID_RAW_LEN];
    size_t raw_len;

    assert_int_equal(kms_key_id_new(a), 0);
    assert_int_equal(kms_key_id_new(b), 0);
    assert_int_equal(strlen(a), KMS_KEY_ID_LEN);
    for (size_t i = 0; i < KMS_KEY_ID_LEN; i++)
        assert_true(is_b64url_char(a[i]));
    assert_string_not_equal(a, b);
    assert_int_equal(core_b64url_decode(a, strlen(a), raw, sizeof(raw), &raw_len), 0);
    assert_int_equal(raw_len, KMS_KEY_ID_RAW_LEN);
}

static void test_session_key_new(void **state)
{
    (void)state;
    uint8_t a[KMS_KEY_LEN], b[KMS_KEY_LEN];
    assert_int_equal(kms_session_key_new(a), 0);
    assert_int_equal(kms_session_key_new(b), 0);
    assert_memory_not_equal(a, b, KMS_KEY_LEN);
    kms_cleanse(a, sizeof(a));
    kms_cleanse(b, sizeof(b));
    static const uint8_t zero[KMS_KEY_LEN];
    assert_memory_equal(a, zero, sizeof(zero));
}

static void test_session_key_and_id_new(void **state)
{
    (void)state;
    uint8_t a[KMS_KEY_LEN], b[KMS_KEY_LEN], raw[KMS_KEY_ID_RAW_LEN];
    char ida[KMS_KEY_ID_LEN + 1], idb[KMS_KEY_ID_LEN + 1];
    size_t raw_len;
    assert_int_equal(kms_session_key_and_id_new(a, ida), 0);
    assert_int_equal(kms_session_key_and_id_new(b, idb), 0);
    assert_memory_not_equal(a, b, KMS_KEY_LEN);
    assert_string_not_equal(ida, idb);
    assert_int_equal(strlen(ida), KMS_KEY_ID_LEN);
    assert_int_equal(core_b64url_decode(ida, strlen(ida), raw, sizeof(raw), &raw_len), 0);
    assert_int_equal(raw_len, KMS_KEY_ID_RAW_LEN);
    assert_memory_not_equal(raw, a, KMS_KEY_ID_RAW_LEN); /* the keyId is not a prefix of the key */
    assert_memory_not_equal(raw, a + KMS_KEY_LEN - KMS_KEY_ID_RAW_LEN, KMS_KEY_ID_RAW_LEN);
    assert_int_equal(kms_session_key_and_id_new(NULL, ida), -1);
    kms_cleanse(a, sizeof(a));
    kms_cleanse(b, sizeof(b));
}

static void test_ct_equal(void **state)
{
    (void)state;
    assert_true(kms_ct_equal("abc", 3, "abc", 3));
    assert_false(kms_ct_equal("abc", 3, "abd", 3));
    assert_false(kms_ct_equal("abc", 3, "abcd", 4));
    assert_true(kms_ct_equal("", 0, "", 0));
    assert_false(kms_ct_equal(NULL, 0, "", 0));
}

static void test_key_id_hash(void **state)
{
    (void)state;
    char h[KMS_KEY_ID_HASH_LEN + 1], h2[KMS_KEY_ID_HASH_LEN + 1];
    assert_int_equal(kms_key_id_hash("AAAAAAAAAAAAAAAAAAAAAA", KMS_KEY_ID_LEN, h), 0);
    assert_string_equal(h, "8a5bdb4c"); /* first 8 hex of SHA-256("AAAAAAAAAAAAAAAAAAAAAA") */
    assert_int_equal(kms_key_id_hash("AAAAAAAAAAAAAAAAAAAAAB", KMS_KEY_ID_LEN, h2), 0);
    assert_string_not_equal(h, h2);
}

/* OpenSSL's RFC 5649 implementation, as the reference for ours. */
static int openssl_wrap_pad(const uint8_t *kek, size_t kek_len, const uint8_t *key, size_t key_len, uint8_t *out)
{
    const EVP_CIPHER *c = kek_len == 16   ? EVP_aes_128_wrap_pad()
                          : kek_len == 24 ? EVP_aes_192_wrap_pad()
                                          : EVP_aes_256_wrap_pad();
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    int ok = EVP_EncryptInit_ex(ctx, c, NULL, kek, NULL) == 1 && EVP_EncryptUpdate(ctx, out, &n, key, (int)key_len) &&
             EVP_EncryptFinal_ex(ctx, out + n, &fin) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? n + fin : -1;
}

static void test_wrap_matches_openssl_all_lengths(void **state)
{
    (void)state;
    static const size_t kek_lens[] = {16, 24, 32};
    uint8_t kek[32], key[KMS_WRAP_MAX_KEY_LEN], ours[KMS_WRAP_MAX_KEY_LEN + 16], ref[KMS_WRAP_MAX_KEY_LEN + 16];
    uint8_t back[KMS_WRAP_MAX_KEY_LEN + 16];
    fill_range(kek, 0x40, 0x60);
    fill_range(key, 0, 256);
    fill_range(key + 256, 0, 256);
    for (size_t k = 0; k < sizeof(kek_lens) / sizeof(kek_lens[0]); k++) {
        for (size_t len = 1; len <= 80; len++) {
            size_t out_len = 0, back_len = 0;
            assert_int_equal(kms_key_wrap(kek, kek_lens[k], key, len, ours, sizeof(ours), &out_len), 0);
            assert_int_equal(openssl_wrap_pad(kek, kek_lens[k], key, len, ref), (int)out_len);
            assert_memory_equal(ours, ref, out_len);
            assert_int_equal(kms_key_unwrap(kek, kek_lens[k], ref, out_len, back, sizeof(back), &back_len), 0);
            assert_int_equal(back_len, len);
            assert_memory_equal(back, key, len);
        }
    }
}

static void test_crypto_context_reuse(void **state)
{
    (void)state;
    kms_crypto_t *cx = kms_crypto_new();
    assert_non_null(cx);
    uint8_t kms_key[KMS_KEY_LEN], sk[KMS_KEY_LEN], back[KMS_KEY_LEN];
    char ours[KMS_WRAPPED_SESSION_KEY_B64_LEN + 1], ref[KMS_WRAPPED_SESSION_KEY_B64_LEN + 1], call_id[32];
    for (unsigned i = 0; i < 64; i++) {
        fill_range(kms_key, i, i + KMS_KEY_LEN);
        fill_range(sk, 3 * i, 3 * i + KMS_KEY_LEN);
        snprintf(call_id, sizeof(call_id), "call-%u@ue", i);
        assert_int_equal(kms_crypto_wrap_b64(cx, kms_key, call_id, strlen(call_id), sk, ours, sizeof(ours)), 0);
        assert_int_equal(kms_session_key_wrap_b64(kms_key, call_id, strlen(call_id), sk, ref, sizeof(ref)), 0);
        assert_string_equal(ours, ref);
        assert_int_equal(kms_crypto_unwrap_b64(cx, kms_key, call_id, strlen(call_id), ours, strlen(ours), back), 0);
        assert_memory_equal(back, sk, sizeof(sk));
        /* the next call's KEK differs: a blob of this call must not unwrap under it */
        kms_key[0] ^= 1;
        assert_int_equal(kms_crypto_unwrap_b64(cx, kms_key, call_id, strlen(call_id), ours, strlen(ours), back), -1);
        char h1[KMS_KEY_ID_HASH_LEN + 1], h2[KMS_KEY_ID_HASH_LEN + 1];
        assert_int_equal(kms_crypto_key_id_hash(cx, call_id, strlen(call_id), h1), 0);
        assert_int_equal(kms_key_id_hash(call_id, strlen(call_id), h2), 0);
        assert_string_equal(h1, h2);
    }
    assert_int_equal(kms_crypto_wrap_b64(NULL, kms_key, "c", 1, sk, ours, sizeof(ours)), -1);
    kms_crypto_free(cx);
    kms_crypto_free(NULL);
}

/* The Digest hasher (lib/kms/http_digest) gives the stateless function's answer across many reuses. */
static void test_digest_hasher_reuse(void **state)
{
    (void)state;
    digest_hasher_t *h = digest_hasher_new();
    assert_non_null(h);
    digest_challenge_t ch = {
        .realm = "mihua-kms", .nonce = "abcdefabcdefabcdefabcdefabcdefab", .opaque = "op", .has_opaque = 1};
    char a[1024], b[1024], uri[64];
    for (uint32_t nc = 1; nc < 40; nc++) {
        snprintf(uri, sizeof(uri), "/kms/v1/session-keys/%u/retrieve", nc);
        int n = digest_build_authorization_h(h, &ch, "tel:+15550000001", "00ff", "POST", uri, "cn", nc, a, sizeof(a));
        assert_true(n > 0);
        assert_int_equal(
            digest_build_authorization(&ch, "tel:+15550000001", "00ff", "POST", uri, "cn", nc, b, sizeof(b)), n);
        assert_string_equal(a, b);
    }
    digest_hasher_free(h);
    digest_hasher_free(NULL);
}

static void test_digest_password(void **state)
{
    (void)state;
    uint8_t key[KMS_KEY_LEN];
    char pw[KMS_DIGEST_PASSWORD_LEN + 1];
    fill_range(key, 0xe0, 0x100);
    kms_digest_password(key, pw);
    assert_string_equal(pw, "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hkdf_rfc5869_case1),
        cmocka_unit_test(test_hkdf_rfc5869_case2),
        cmocka_unit_test(test_hkdf_rfc5869_case3),
        cmocka_unit_test(test_hkdf_matches_openssl),
        cmocka_unit_test(test_hkdf_bad_args),
        cmocka_unit_test(test_kek_known_answer),
        cmocka_unit_test(test_session_key_wrap_known_answer),
        cmocka_unit_test(test_session_key_unwrap_rejects),
        cmocka_unit_test(test_wrap_rfc5649_vectors),
        cmocka_unit_test(test_wrap_aes256_vectors),
        cmocka_unit_test(test_wrap_tampered_rejected),
        cmocka_unit_test(test_wrap_bad_args),
        cmocka_unit_test(test_wrap_matches_openssl_all_lengths),
        cmocka_unit_test(test_crypto_context_reuse),
        cmocka_unit_test(test_digest_hasher_reuse),
        cmocka_unit_test(test_srtp_known_answer_and_separation),
        cmocka_unit_test(test_srtp_bad_args),
        cmocka_unit_test(test_key_id_new),
        cmocka_unit_test(test_session_key_new),
        cmocka_unit_test(test_session_key_and_id_new),
        cmocka_unit_test(test_ct_equal),
        cmocka_unit_test(test_key_id_hash),
        cmocka_unit_test(test_digest_password),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
