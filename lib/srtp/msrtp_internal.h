/*
 * msrtp_internal — the layers under msrtp.h, exposed for the known-answer tests and the benchmark: the suite table,
 * the counter-mode keystream, the RFC 3711 KDF, session keys, the replay window, and a context built directly from
 * session keys (RFC 7714 §16-17 publish session keys, not master keys). Programs use msrtp.h only.
 */
#ifndef MIHUA_MSRTP_INTERNAL_H
#define MIHUA_MSRTP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "srtp/msrtp.h"
#include "srtp/msrtp_mac.h"
#include "srtp/msrtp_sm4.h"

/* AES and SM4 both have 128-bit blocks. */
#define MSRTP_BLOCK_LEN 16
/* RFC 3711 §4.1.1: the keystream of one packet is at most 2^16 blocks (the counter's low 16 bits). */
#define MSRTP_CTR_MAX_BLOCKS 65536u
/* Session key lengths of our suites: 128-bit ciphers, 112-bit (CM) or 96-bit (GCM) salts. */
#define MSRTP_SESSION_KEY_LEN 16
#define MSRTP_SESSION_SALT_LEN 14
#define MSRTP_GCM_SALT_LEN 12
#define MSRTP_GCM_IV_LEN 12

/* RFC 3711 §4.3.1 / §4.3.2 KDF labels. */
enum {
    MSRTP_LABEL_RTP_ENC = 0x00,
    MSRTP_LABEL_RTP_AUTH = 0x01,
    MSRTP_LABEL_RTP_SALT = 0x02,
    MSRTP_LABEL_RTCP_ENC = 0x03,
    MSRTP_LABEL_RTCP_AUTH = 0x04,
    MSRTP_LABEL_RTCP_SALT = 0x05,
};

/* One row per suite: what the rest of the code branches on. */
typedef struct {
    msrtp_suite_t id;
    const char *name;     /* SDP a=crypto name */
    const char *prf;      /* OpenSSL ECB cipher of the KDF PRF and of the CM keystream: "AES-128-ECB", "SM4-ECB" */
    const char *aead;     /* OpenSSL AEAD cipher ("AES-128-GCM") or NULL for the CM suites */
    msrtp_mac_kind_t mac; /* HMAC of the CM suites; MSRTP_MAC_NONE for AEAD */
    size_t key_len;       /* master and session key */
    size_t salt_len;      /* master and session salt */
    size_t auth_key_len;  /* session authentication key (RFC 3711 n_a / 8); 0 for AEAD */
    size_t tag_len;       /* authentication tag on the wire */
} msrtp_suite_info_t;

/* The row of a suite, NULL if unknown. */
const msrtp_suite_info_t *msrtp_suite_info(msrtp_suite_t suite);

/* ---- counter mode over an ECB context (RFC 3711 §4.1.1) ---- */

/* An encrypting ECB context without padding for cipher_name keyed with key; NULL on failure. */
EVP_CIPHER_CTX *msrtp_ecb_new(const char *cipher_name, const uint8_t *key, size_t key_len);

/* The block cipher under counter mode: OpenSSL ECB (AES: AES-NI) or msrtp_sm4 (GFNI, AES-NI or table: msrtp_sm4.h). */
typedef struct {
    EVP_CIPHER_CTX *ecb; /* AES */
    msrtp_sm4_t *sm4;    /* SM4 */
} msrtp_ctr_t;

/* cipher_name: "AES-128-ECB" or "SM4-ECB". 0 on success; msrtp_ctr_clear frees and cleanses. */
int msrtp_ctr_init(msrtp_ctr_t *c, const char *cipher_name, const uint8_t *key, size_t key_len);
void msrtp_ctr_clear(msrtp_ctr_t *c);
/* buf ^= keystream(iv, iv+1, ...): the IV's 128-bit big-endian counter is incremented per block. len is at most
 * MSRTP_CTR_MAX_BLOCKS blocks. Returns 0, or -1 on OpenSSL failure / too long. */
int msrtp_ctr_xor(const msrtp_ctr_t *c, const uint8_t iv[MSRTP_BLOCK_LEN], uint8_t *buf, size_t len);

/* ---- RFC 3711 §4.3 KDF, key derivation rate 0 ---- */

/* out = PRF_n(k_master, (label * 2^48) XOR master_salt): the CM keystream under the master key with
 * IV = (master_salt padded with zeros to 14 bytes, byte 7 ^= label) || 0x0000. prf is keyed with the master key. salt_len <= 14 (a 12-byte GCM salt is zero-padded, as libsrtp does and RFC 7714 §11 implies). */
int msrtp_kdf(const msrtp_ctr_t *prf, const uint8_t *master_salt, size_t salt_len, uint8_t label, uint8_t *out,
              size_t out_len);

/* Session keys of one of RTP or RTCP; the suite says which lengths are used. */
typedef struct {
    uint8_t enc[MSRTP_SESSION_KEY_LEN];
    uint8_t salt[MSRTP_SESSION_SALT_LEN];
    uint8_t auth[MSRTP_MAC_MAX_KEY_LEN];
} msrtp_session_keys_t;

/* Derives the RTP (rtcp = 0: labels 0,1,2) or RTCP (rtcp = 1: labels 3,4,5) session keys. */
int msrtp_session_keys_derive(msrtp_suite_t suite, const msrtp_master_t *master, int rtcp, msrtp_session_keys_t *out);

/* A context from session keys (no KDF). msrtp_ctx_new = msrtp_session_keys_derive x2 + this. */
msrtp_ctx_t *msrtp_ctx_new_session(msrtp_suite_t suite, msrtp_role_t role, const msrtp_session_keys_t *rtp,
                                   const msrtp_session_keys_t *rtcp);

/* ---- replay window and index estimation (RFC 3711 §3.3.1, §3.3.2, Appendix A) ---- */

#define MSRTP_REPLAY_WINDOW 64              /* RFC 3711 §3.3.2: SRTP-WINDOW-SIZE MUST be at least 64 */
#define MSRTP_RTP_INDEX_LIMIT (1ull << 48)  /* 48-bit SRTP packet index */
#define MSRTP_RTCP_INDEX_LIMIT (1ull << 31) /* 31-bit SRTCP index */

typedef struct {
    uint64_t top;    /* highest index accepted */
    uint64_t bitmap; /* bit i set = index top - i accepted, i < MSRTP_REPLAY_WINDOW */
    int started;     /* 0 until the first index is accepted */
} msrtp_window_t;

/* Appendix A: the index of an RTP packet with sequence number seq relative to the highest index seen. The first
 * packet of a stream gets ROC 0. MSRTP_ERR_REPLAY when the guess would be negative, MSRTP_ERR_EXHAUSTED when
 * it would pass 2^48. */
int msrtp_rtp_index_guess(const msrtp_window_t *w, uint16_t seq, uint64_t *index);
/* MSRTP_OK if index is new and inside the window, MSRTP_ERR_REPLAY otherwise. */
int msrtp_window_check(const msrtp_window_t *w, uint64_t index);
/* Records index as accepted (after authentication). */
void msrtp_window_update(msrtp_window_t *w, uint64_t index);

#endif
