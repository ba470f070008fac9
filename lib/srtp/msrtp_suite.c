/*
 * msrtp_suite — the three suites of DESIGN §2 as one table, and the DESIGN §4 per-direction master keys.
 *
 * - AES_CM_128_HMAC_SHA1_80: RFC 3711 §4.1.1 (AES-CM), §4.2.1 (HMAC-SHA1, n_a = 160, tag 80 bits), RFC 4568 §6.2.
 * - AEAD_AES_128_GCM: RFC 7714 §8-9 (16-byte tag, 96-bit salt), keys from the AES-CM PRF (§11).
 * - SM4_CM_128_HMAC_SM3_80: RFC 3711 with SM4 (GB/T 32907) in place of AES both in counter mode and in the KDF
 *   PRF, HMAC-SM3 (GB/T 32905) in place of HMAC-SHA1, tag truncated to 80 bits. DESIGN §2 leaves the SM3
 *   authentication key length open; we use n_a = 256 bits (the SM3 output length, as RFC 3711 uses SHA-1's 160).
 *
 * Master keys: HKDF-SHA256 (RFC 5869) through EVP_KDF, one output of key_len + salt_len bytes split key first, then
 * salt, exactly the bytes of lib/kms kms_srtp_key_derive (the unit test checks it) without linking lib/kms.
 */
#include "srtp/msrtp_internal.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#define HKDF_INFO_PREFIX "mihua srtp|"
#define HKDF_INFO_C2E "|caller>callee"
#define HKDF_INFO_E2C "|callee>caller"
#define HKDF_INFO_MAX_LEN (sizeof(HKDF_INFO_PREFIX) - 1 + MSRTP_SUITE_NAME_MAX_LEN + sizeof(HKDF_INFO_C2E) - 1)
#define SHA1_AUTH_KEY_LEN 20
#define SM3_AUTH_KEY_LEN 32
#define TAG_80_LEN 10
#define GCM_TAG_LEN 16

static const msrtp_suite_info_t suites[MSRTP_SUITE_COUNT] = {
    [MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80] = {MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80, "SM4_CM_128_HMAC_SM3_80", "SM4-ECB",
                                            NULL, MSRTP_MAC_HMAC_SM3, MSRTP_SESSION_KEY_LEN, MSRTP_SESSION_SALT_LEN,
                                            SM3_AUTH_KEY_LEN, TAG_80_LEN},
    [MSRTP_SUITE_AEAD_AES_128_GCM] = {MSRTP_SUITE_AEAD_AES_128_GCM, "AEAD_AES_128_GCM", "AES-128-ECB", "AES-128-GCM",
                                      MSRTP_MAC_NONE, MSRTP_SESSION_KEY_LEN, MSRTP_GCM_SALT_LEN, 0, GCM_TAG_LEN},
    [MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80] = {MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80, "AES_CM_128_HMAC_SHA1_80",
                                             "AES-128-ECB", NULL, MSRTP_MAC_HMAC_SHA1, MSRTP_SESSION_KEY_LEN,
                                             MSRTP_SESSION_SALT_LEN, SHA1_AUTH_KEY_LEN, TAG_80_LEN},
};

const msrtp_suite_info_t *msrtp_suite_info(msrtp_suite_t suite)
{
    if ((unsigned)suite >= MSRTP_SUITE_COUNT)
        return NULL;
    return &suites[suite];
}

const char *msrtp_suite_name(msrtp_suite_t suite)
{
    const msrtp_suite_info_t *s = msrtp_suite_info(suite);
    return s ? s->name : NULL;
}

int msrtp_suite_from_name(const char *name, msrtp_suite_t *out)
{
    if (!name || !out)
        return -1;
    for (unsigned i = 0; i < MSRTP_SUITE_COUNT; i++) {
        if (strcmp(name, suites[i].name) == 0) {
            *out = suites[i].id;
            return 0;
        }
    }
    return -1;
}

int msrtp_suite_master_lengths(msrtp_suite_t suite, size_t *key_len, size_t *salt_len)
{
    const msrtp_suite_info_t *s = msrtp_suite_info(suite);
    if (!s || !key_len || !salt_len)
        return -1;
    *key_len = s->key_len;
    *salt_len = s->salt_len;
    return 0;
}

size_t msrtp_suite_rtp_trailer(msrtp_suite_t suite)
{
    const msrtp_suite_info_t *s = msrtp_suite_info(suite);
    return s ? s->tag_len : 0;
}

size_t msrtp_suite_rtcp_trailer(msrtp_suite_t suite)
{
    const msrtp_suite_info_t *s = msrtp_suite_info(suite);
    return s ? MSRTP_SRTCP_INDEX_LEN + s->tag_len : 0;
}

/* ---------------------------------------------------------------- DESIGN §4 master keys */

static int hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len, const uint8_t *info,
                       size_t info_len, uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (!kdf)
        return -1;
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (!kctx)
        return -1;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len),
        OSSL_PARAM_construct_end(),
    };
    int ok = EVP_KDF_derive(kctx, out, out_len, params) == 1;
    EVP_KDF_CTX_free(kctx);
    return ok ? 0 : -1;
}

int msrtp_master_derive(const uint8_t *session_key, size_t session_key_len, const char *call_id, size_t call_id_len,
                        msrtp_suite_t suite, msrtp_dir_t dir, msrtp_master_t *out)
{
    const msrtp_suite_info_t *s = msrtp_suite_info(suite);
    const char *suffix;

    if (!s || !session_key || session_key_len == 0 || !call_id || call_id_len == 0 || !out)
        return MSRTP_ERR_ARG;
    if (dir == MSRTP_DIR_CALLER_TO_CALLEE)
        suffix = HKDF_INFO_C2E;
    else if (dir == MSRTP_DIR_CALLEE_TO_CALLER)
        suffix = HKDF_INFO_E2C;
    else
        return MSRTP_ERR_ARG;

    uint8_t info[HKDF_INFO_MAX_LEN];
    size_t n = 0, name_len = strlen(s->name), suffix_len = strlen(suffix);
    memcpy(info, HKDF_INFO_PREFIX, sizeof(HKDF_INFO_PREFIX) - 1);
    n += sizeof(HKDF_INFO_PREFIX) - 1;
    memcpy(info + n, s->name, name_len);
    n += name_len;
    memcpy(info + n, suffix, suffix_len);
    n += suffix_len;

    uint8_t okm[MSRTP_MAX_MASTER_KEY_LEN + MSRTP_MAX_MASTER_SALT_LEN];
    memset(out, 0, sizeof(*out));
    if (hkdf_sha256(session_key, session_key_len, (const uint8_t *)call_id, call_id_len, info, n, okm,
                    s->key_len + s->salt_len) != 0) {
        OPENSSL_cleanse(okm, sizeof(okm));
        return MSRTP_ERR_CRYPTO;
    }
    memcpy(out->key, okm, s->key_len);
    out->key_len = s->key_len;
    memcpy(out->salt, okm + s->key_len, s->salt_len);
    out->salt_len = s->salt_len;
    OPENSSL_cleanse(okm, sizeof(okm));
    return MSRTP_OK;
}

void msrtp_master_cleanse(msrtp_master_t *m)
{
    if (m)
        OPENSSL_cleanse(m, sizeof(*m));
}
