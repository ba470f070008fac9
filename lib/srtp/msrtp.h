/*
 * msrtp — SRTP and SRTCP (RFC 3711, RFC 7714) for mihua's three suites (DESIGN §2), on OpenSSL.
 *
 * One msrtp_ctx_t protects or unprotects ONE direction of a call: the sender's context carries our SSRC, the
 * receiver's context the peer's. Each holds the RTP and the RTCP session keys of one master key (RFC 3711 §4.3,
 * key derivation rate 0), the rollover counter and 64-packet replay window of its RTP stream (§3.3.1, §3.3.2,
 * Appendix A) and the SRTCP index state (§3.4). A context binds to the SSRC of the first RTP packet it sees and
 * refuses others, so a receiver never mixes two streams' indices and a sender never reuses a keystream.
 *
 * Keys: DESIGN §4 gives each direction its own master key and salt, HKDF-SHA256(session key, salt = callId,
 * info = "mihua srtp|<SUITE>|caller>callee" or "...|callee>caller"), key first then salt in one HKDF output.
 * msrtp_master_derive() computes that here (OpenSSL EVP_KDF, no dependency on lib/kms); a caller that already has a
 * master key and salt (SDES, tests) fills msrtp_master_t itself.
 *
 * Packets are processed in place in a caller buffer. protect needs MSRTP_MAX_RTP_TRAILER (RTP) or
 * MSRTP_MAX_RTCP_TRAILER (RTCP) spare bytes after the packet. No function allocates per packet; contexts allocate
 * once in msrtp_ctx_new. Peer input never asserts: every malformed packet is an error code.
 *
 * Not thread-safe per context (one context per direction per call, used by one thread); distinct contexts are
 * independent.
 */
#ifndef MIHUA_MSRTP_H
#define MIHUA_MSRTP_H

#include <stddef.h>
#include <stdint.h>

/* Largest master key / salt of the suites we know (RFC 3711 §8.2 and RFC 7714 §12: 128-bit keys, 112/96-bit salt). */
#define MSRTP_MAX_MASTER_KEY_LEN 16
#define MSRTP_MAX_MASTER_SALT_LEN 14
/* Largest trailer protect appends: RTP = auth tag (10 for *_80, 16 for GCM); RTCP = 4-byte E||index + tag. */
#define MSRTP_MAX_TAG_LEN 16
#define MSRTP_SRTCP_INDEX_LEN 4
#define MSRTP_MAX_RTP_TRAILER MSRTP_MAX_TAG_LEN
#define MSRTP_MAX_RTCP_TRAILER (MSRTP_SRTCP_INDEX_LEN + MSRTP_MAX_TAG_LEN)
/* Suite names are the SDP a=crypto names (RFC 4568 §6.2, RFC 7714 §14.2, DESIGN §2); this bounds them. */
#define MSRTP_SUITE_NAME_MAX_LEN 32
/* Largest packet accepted (the UDP payload limit); longer input is MSRTP_ERR_PARSE. */
#define MSRTP_MAX_PACKET_LEN 65535

typedef enum {
    MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80 = 0,  /* DESIGN §2: RFC 3711 with SM4 and HMAC-SM3 (tag 80 bits) */
    MSRTP_SUITE_AEAD_AES_128_GCM = 1,        /* RFC 7714: AES-128-GCM, 16-byte tag */
    MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80 = 2, /* RFC 3711: AES-128 counter mode, HMAC-SHA1 (tag 80 bits) */
} msrtp_suite_t;
#define MSRTP_SUITE_COUNT 3

/* Which way the media of a call flows (DESIGN §4); selects the HKDF info string. */
typedef enum {
    MSRTP_DIR_CALLER_TO_CALLEE = 0,
    MSRTP_DIR_CALLEE_TO_CALLER = 1,
} msrtp_dir_t;

/* A context either sends (protect*) or receives (unprotect*); the other calls return MSRTP_ERR_ROLE. */
typedef enum {
    MSRTP_ROLE_SEND = 0,
    MSRTP_ROLE_RECV = 1,
} msrtp_role_t;

/* Results. 0 is success; every failure is negative and names its cause (msrtp_strerror). */
typedef enum {
    MSRTP_OK = 0,
    MSRTP_ERR_ARG = -1,       /* NULL pointer, unknown suite, bad key length */
    MSRTP_ERR_PARSE = -2,     /* not an RTP/RTCP packet: too short, version != 2, bad CSRC/extension length */
    MSRTP_ERR_AUTH = -3,      /* authentication tag mismatch (the packet is untouched, or zeroed for GCM) */
    MSRTP_ERR_REPLAY = -4,    /* index already seen, or older than the 64-packet window */
    MSRTP_ERR_SPACE = -5,     /* protect: not enough room after the packet for the trailer */
    MSRTP_ERR_SSRC = -6,      /* RTP SSRC differs from the one this context is bound to */
    MSRTP_ERR_EXHAUSTED = -7, /* 2^48 SRTP or 2^31 SRTCP packets under one key (RFC 3711 §9.2): rekey */
    MSRTP_ERR_CRYPTO = -8,    /* OpenSSL failed (out of memory, missing algorithm) */
    MSRTP_ERR_ROLE = -9,      /* protect on a receiving context or unprotect on a sending one */
} msrtp_err_t;

/* A master key and salt; cleanse with msrtp_master_cleanse when done. */
typedef struct {
    uint8_t key[MSRTP_MAX_MASTER_KEY_LEN];
    size_t key_len;
    uint8_t salt[MSRTP_MAX_MASTER_SALT_LEN];
    size_t salt_len;
} msrtp_master_t;

typedef struct msrtp_ctx msrtp_ctx_t;

/* ---- suites ---- */

/* SDP name of a suite ("AES_CM_128_HMAC_SHA1_80", ...), NULL for an unknown value. */
const char *msrtp_suite_name(msrtp_suite_t suite);
/* Suite by SDP name (exact, case-sensitive as RFC 4568 §9.2 registers them); -1 if unknown. */
int msrtp_suite_from_name(const char *name, msrtp_suite_t *out);
/* Master key and salt lengths of a suite (16/14 for the CM suites, 16/12 for GCM); -1 if unknown. */
int msrtp_suite_master_lengths(msrtp_suite_t suite, size_t *key_len, size_t *salt_len);
/* Bytes protect appends: RTP tag length, and RTCP E||index + tag. 0 for an unknown suite. */
size_t msrtp_suite_rtp_trailer(msrtp_suite_t suite);
size_t msrtp_suite_rtcp_trailer(msrtp_suite_t suite);

/* ---- master keys (DESIGN §4) ---- */

/* HKDF-SHA256(session_key, salt = call_id, info = "mihua srtp|<SUITE>|caller>callee" | "...|callee>caller"),
 * L = key_len + salt_len of the suite, split key first then salt. Same bytes as lib/kms kms_srtp_key_derive. */
int msrtp_master_derive(const uint8_t *session_key, size_t session_key_len, const char *call_id, size_t call_id_len,
                        msrtp_suite_t suite, msrtp_dir_t dir, msrtp_master_t *out);
void msrtp_master_cleanse(msrtp_master_t *m);

/* ---- contexts ---- */

/* New context for one direction: runs the RFC 3711 KDF (labels 0-5, kdr 0), keys the ciphers and precomputes the
 * HMAC states. The master key lengths must match the suite. NULL on bad arguments or OpenSSL failure. The context
 * keeps no copy of the master key. */
msrtp_ctx_t *msrtp_ctx_new(msrtp_suite_t suite, msrtp_role_t role, const msrtp_master_t *master);
/* Cleanses every key and frees. NULL is a no-op. */
void msrtp_ctx_free(msrtp_ctx_t *ctx);
msrtp_suite_t msrtp_ctx_suite(const msrtp_ctx_t *ctx);
/* Rollover counter of the RTP stream (the upper 32 bits of the highest index seen/sent). */
uint32_t msrtp_ctx_roc(const msrtp_ctx_t *ctx);

/* ---- packets (in place) ---- */

/* RTP packet of len bytes in buf (capacity cap) → SRTP packet; *out_len = len + tag. */
int msrtp_protect(msrtp_ctx_t *ctx, uint8_t *buf, size_t len, size_t cap, size_t *out_len);
/* SRTP packet → RTP packet; *out_len = len - tag. Authenticates, checks replay, then decrypts. */
int msrtp_unprotect(msrtp_ctx_t *ctx, uint8_t *buf, size_t len, size_t *out_len);
/* RTCP compound packet → SRTCP (always encrypted, E = 1); *out_len = len + 4 + tag. */
int msrtp_protect_rtcp(msrtp_ctx_t *ctx, uint8_t *buf, size_t len, size_t cap, size_t *out_len);
/* SRTCP → RTCP; accepts E = 0 (authenticated only) and E = 1. */
int msrtp_unprotect_rtcp(msrtp_ctx_t *ctx, uint8_t *buf, size_t len, size_t *out_len);

/* Short constant description of an msrtp_err_t. */
const char *msrtp_strerror(int err);

#endif
