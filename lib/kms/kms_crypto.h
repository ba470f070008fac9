/*
 * kms_crypto — the key material of the KMS (DESIGN §4), as pure functions over caller-owned buffers.
 *
 * Everything the KMS and the UE agents compute on keys lives here: HKDF-SHA256 (RFC 5869), the per-call KEK, the
 * RFC 5649 key wrap that carries a session key to a UE, the per-direction SRTP key derivation, random session keys
 * and keyIds, constant-time comparison and the short keyId hash used in logs. No function allocates a
 * secret on the heap; temporaries are cleansed with OPENSSL_cleanse before return. Callers own every output buffer
 * and cleanse what they keep (kms_cleanse).
 *
 * Conventions
 * - Return 0 on success, -1 on failure (bad argument, OpenSSL error, malformed input); outputs are then undefined
 *   but never partially secret: on failure an output key buffer is cleansed.
 * - Encoding of keyId and wrappedKey on the wire: base64url (RFC 4648 §5) WITHOUT '=' padding, with the strict
 *   decoder of core/core_b64url.h (one byte string has exactly one text form).
 * - The Digest "password" of a UE is its 32-byte kms_key written as 64 lowercase hex characters
 *   (kms_digest_password), so curl works as a foreign client. Mind that `curl -u` splits at the first ':', so a
 *   sip:/tel: IMPU must go through the MSISDN, a netrc file or URL-encoded userinfo (see kms/http_digest.h).
 */
#ifndef MIHUA_KMS_CRYPTO_H
#define MIHUA_KMS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* kms_key, session key and KEK are all AES-256 keys. */
#define KMS_KEY_LEN 32
/* keyId: 128 random bits (DESIGN §4), base64url without padding = 22 characters. */
#define KMS_KEY_ID_RAW_LEN 16
#define KMS_KEY_ID_LEN 22
/* Log-safe keyId hash: the first 4 bytes of SHA-256(keyId) as 8 lowercase hex characters. */
#define KMS_KEY_ID_HASH_LEN 8
/* RFC 5649: the wrapped form is an 8-byte integrity block plus the key padded to a multiple of 8 bytes. */
#define KMS_WRAP_OVERHEAD 8
/* Largest key the wrap primitives accept; bounds the stack temporaries (session keys are 32 bytes). */
#define KMS_WRAP_MAX_KEY_LEN 512
/* A wrapped 32-byte session key: 40 bytes; in base64url: 54 characters. */
#define KMS_WRAPPED_SESSION_KEY_LEN (KMS_KEY_LEN + KMS_WRAP_OVERHEAD)
#define KMS_WRAPPED_SESSION_KEY_B64_LEN 54
/* RFC 5869 §2.3: HKDF-Expand yields at most 255 * HashLen bytes. */
#define KMS_HKDF_MAX_OUT_LEN (255 * 32)
/* SRTP suite names are short IANA/SDES names; a bound keeps the HKDF info on the stack. */
#define KMS_SRTP_SUITE_MAX_LEN 64
/* Hex form of the kms_key used as the Digest password. */
#define KMS_DIGEST_PASSWORD_LEN (2 * KMS_KEY_LEN)

/* Pre-fetched OpenSSL objects (HMAC-SHA256, the AES wrap-pad ciphers, SHA-256) and contexts reused from call to
 * call. The one-shot functions below fetch per call (tens of microseconds); a hot path (the KMS per request, a UE
 * per call) keeps one kms_crypto_t. Not thread-safe: one per thread or event loop. It holds no key between calls:
 * its contexts are re-keyed with zeros after each use. */
typedef struct kms_crypto kms_crypto_t;

/* Which way the media flows; the two directions of one call never share SRTP keys. */
typedef enum {
    KMS_SRTP_CALLER_TO_CALLEE, /* info "...|caller>callee" */
    KMS_SRTP_CALLEE_TO_CALLER, /* info "...|callee>caller" */
} kms_srtp_dir_t;

/* ---- Reusable context ---- */

/* NULL when OpenSSL cannot provide HMAC-SHA256, AES key wrap with padding or SHA-256. */
kms_crypto_t *kms_crypto_new(void);
/* NULL is fine. */
void kms_crypto_free(kms_crypto_t *cx);

/* The same as kms_hkdf_sha256, kms_session_key_wrap_b64, kms_session_key_unwrap_b64 and kms_key_id_hash, on `cx`. */
int kms_crypto_hkdf(kms_crypto_t *cx, const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                    const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);
int kms_crypto_wrap_b64(kms_crypto_t *cx, const uint8_t kms_key[KMS_KEY_LEN], const char *call_id, size_t call_id_len,
                        const uint8_t session_key[KMS_KEY_LEN], char *out, size_t out_cap);
int kms_crypto_unwrap_b64(kms_crypto_t *cx, const uint8_t kms_key[KMS_KEY_LEN], const char *call_id, size_t call_id_len,
                          const char *wrapped_b64, size_t wrapped_b64_len, uint8_t session_key[KMS_KEY_LEN]);
int kms_crypto_key_id_hash(kms_crypto_t *cx, const char *key_id, size_t key_id_len, char out[KMS_KEY_ID_HASH_LEN + 1]);

/* ---- HKDF (RFC 5869) ---- */

/* HKDF-SHA256 extract-then-expand. ikm must be non-empty. salt and info may be NULL when their length is 0
 * (RFC 5869 §2.2: no salt = a string of HashLen zeros). out_len is 1..KMS_HKDF_MAX_OUT_LEN. */
int kms_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len, const uint8_t *info,
                    size_t info_len, uint8_t *out, size_t out_len);

/* DESIGN §4: KEK = HKDF-SHA256(ikm = kms_key, salt = callId bytes, info = "mihua kek", L = 32). call_id must be
 * non-empty. */
int kms_kek_derive(const uint8_t kms_key[KMS_KEY_LEN], const char *call_id, size_t call_id_len,
                   uint8_t kek[KMS_KEY_LEN]);

/* DESIGN §4: SRTP master key || master salt for one direction = HKDF-SHA256(session key, salt = callId,
 * info = "mihua srtp|<suite>|caller>callee" or "mihua srtp|<suite>|callee>caller", L = out_len). The caller splits
 * the output (key first, then salt) and feeds it to the RFC 3711 KDF. suite: 1..KMS_SRTP_SUITE_MAX_LEN printable
 * ASCII characters, no '|'. */
int kms_srtp_key_derive(const uint8_t session_key[KMS_KEY_LEN], const char *call_id, size_t call_id_len,
                        const char *suite, kms_srtp_dir_t dir, uint8_t *out, size_t out_len);

/* Master key and salt lengths of the SRTP suites we know (RFC 4568 §6.2 / RFC 6188 / RFC 7714 names, e.g.
 * "AES_CM_128_HMAC_SHA1_80", "AEAD_AES_256_GCM"). Returns -1 for an unknown suite. */
int kms_srtp_suite_lengths(const char *suite, size_t *key_len, size_t *salt_len);

/* ---- RFC 5649 key wrap with padding ---- */

/* Length of the wrapped form of a key_len-byte key: 8 + key_len rounded up to a multiple of 8. */
size_t kms_wrap_len(size_t key_len);

/* AES key wrap with padding (RFC 5649 §4.1). kek_len selects AES-128/192/256 (16/24/32); mihua uses 32, the other
 * sizes exist for the RFC §6 vectors. key_len 1..KMS_WRAP_MAX_KEY_LEN; out_cap >= kms_wrap_len(key_len). */
int kms_key_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *key, size_t key_len, uint8_t *out, size_t out_cap,
                 size_t *out_len);

/* Unwrap (RFC 5649 §4.2). Fails (-1, *out_len = 0, out cleansed) when the integrity check fails: wrong KEK,
 * tampered or truncated blob, bad padding. out_cap >= blob_len - 8. */
int kms_key_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *blob, size_t blob_len, uint8_t *out,
                   size_t out_cap, size_t *out_len);

/* The whole KMS side of DESIGN §4 in one call: KEK from (kms_key, callId), wrap the 32-byte session key, encode
 * base64url. out must hold KMS_WRAPPED_SESSION_KEY_B64_LEN + 1 bytes (NUL-terminated). */
int kms_session_key_wrap_b64(const uint8_t kms_key[KMS_KEY_LEN], const char *call_id, size_t call_id_len,
                             const uint8_t session_key[KMS_KEY_LEN], char *out, size_t out_cap);

/* The UE side: decode wrappedKey, derive the KEK, unwrap, and insist on exactly 32 bytes. */
int kms_session_key_unwrap_b64(const uint8_t kms_key[KMS_KEY_LEN], const char *call_id, size_t call_id_len,
                               const char *wrapped_b64, size_t wrapped_b64_len, uint8_t session_key[KMS_KEY_LEN]);

/* ---- Random material ---- */

/* Fills key with KMS_KEY_LEN bytes from RAND_bytes. The caller owns the buffer and cleanses it (kms_cleanse). */
int kms_session_key_new(uint8_t key[KMS_KEY_LEN]);

/* A fresh keyId: 128 bits from RAND_bytes as 22 base64url characters, NUL-terminated. */
int kms_key_id_new(char out[KMS_KEY_ID_LEN + 1]);

/* Both of the above from one RAND_bytes call (the KMS's issue path: each call costs a DRBG generate and a getpid
 * fork check, ~1 us). The same bytes as two calls would give, in one draw; key cleansed on failure. */
int kms_session_key_and_id_new(uint8_t key[KMS_KEY_LEN], char key_id[KMS_KEY_ID_LEN + 1]);

/* ---- Comparison, hashing for logs, cleansing ---- */

/* 1 when the two buffers are equal, else 0. Lengths are compared openly (they are not secret); contents in
 * constant time (CRYPTO_memcmp). */
int kms_ct_equal(const void *a, size_t a_len, const void *b, size_t b_len);

/* A non-reversible, log-safe tag for a keyId: first KMS_KEY_ID_HASH_LEN hex chars of SHA-256(keyId). */
int kms_key_id_hash(const char *key_id, size_t key_id_len, char out[KMS_KEY_ID_HASH_LEN + 1]);

/* The Digest password of a UE: its kms_key as 64 lowercase hex characters, NUL-terminated. Cleanse after use. */
void kms_digest_password(const uint8_t kms_key[KMS_KEY_LEN], char out[KMS_DIGEST_PASSWORD_LEN + 1]);

/* OPENSSL_cleanse wrapper so callers need not include OpenSSL headers. */
void kms_cleanse(void *p, size_t len);

#endif
