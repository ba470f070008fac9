/*
 * msrtp — SRTP/SRTCP packet transforms for one direction of a call (RFC 3711 §3-4, RFC 7714 §8-9, DESIGN §2).
 *
 * Layout of the work per packet, all in place in the caller's buffer:
 * - CM suites (AES or SM4 counter mode + HMAC, RFC 3711): IV = (k_s << 16) ^ (SSRC << 64) ^ (index << 16)
 *   (§4.1.1), keystream XOR over the payload, tag = HMAC(auth key, header || ciphertext || ROC)[0..10) (§4.2). SRTCP
 *   puts the 31-bit SRTCP index where the RTP index was, appends E||index, and authenticates it too (§3.4).
 * - GCM (RFC 7714): IV = (0x0000 || SSRC || ROC || SEQ) ^ salt (§8.1); AAD = the RTP header with CSRCs and
 *   extension (§8.2); the 16-byte tag follows the ciphertext. SRTCP: IV = (0x0000 || SSRC || 0x0000 || index) ^ salt,
 *   AAD = first 8 octets || E||index, output ciphertext || tag || E||index (§9).
 * - Receive order: parse, estimate the index, refuse replays (cheap, before any crypto), authenticate, decrypt,
 *   then record the index and bind the SSRC. A CM packet that fails authentication is left untouched; GCM decrypts
 *   while it authenticates, so a failing GCM packet's payload is zeroed rather than left as unauthenticated
 *   plaintext.
 * - Send side keeps the same window: protecting an index twice (a repeated sequence number) is refused, because
 *   it would reuse keystream (libsrtp does the same unless allow_repeat_tx).
 *
 * Trade-offs: one SSRC per context (DESIGN: one stream per direction), SRTCP accepted from any SSRC (a receiver's
 * reports may use another SSRC; the key is per direction anyway) with one shared SRTCP window; no MKI, no key
 * derivation rate, no RFC 6904 header extension encryption. Lengths on the wire are bounded by MSRTP_MAX_PACKET_LEN.
 */
#include "srtp/msrtp.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "srtp/msrtp_internal.h"

#define RTP_HEADER_LEN 12
#define RTP_VERSION 2
#define RTP_CSRC_LEN 4
#define RTP_EXT_HEADER_LEN 4
#define RTCP_HEADER_LEN 8 /* V/P/RC, PT, length, SSRC of the first packet of the compound (RFC 3711 §3.4) */
#define SRTCP_E_BIT 0x80000000u
#define ROC_LEN 4

typedef struct {
    msrtp_ctr_t ctr;                      /* CM suites: counter-mode engine keyed with the session key */
    EVP_CIPHER_CTX *aead;                 /* GCM suite: AEAD context keyed with the session key */
    uint8_t salt[MSRTP_SESSION_SALT_LEN]; /* session salt k_s (12 bytes used by GCM) */
    msrtp_mac_t mac;                      /* HMAC pads of the session auth key (CM suites) */
} msrtp_keys_t;

struct msrtp_ctx {
    const msrtp_suite_info_t *suite;
    msrtp_role_t role;
    msrtp_keys_t rtp;        /* labels 0-2 */
    msrtp_keys_t rtcp;       /* labels 3-5 */
    int ssrc_bound;          /* 1 once the first RTP packet has been protected/authenticated */
    uint32_t ssrc;           /* the bound SSRC */
    msrtp_window_t rtp_win;  /* highest index + replay bitmap (also on send: no index twice) */
    uint32_t rtcp_next;      /* send: next SRTCP index */
    msrtp_window_t rtcp_win; /* receive: SRTCP replay window */
};

/* ---------------------------------------------------------------- byte helpers */

static inline uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* XOR a big-endian value of n bytes ending at p[n-1]. */
static inline void xor_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] ^= (uint8_t)v;
}

/* ---------------------------------------------------------------- lifecycle */

/* The AEAD context of a GCM suite, keyed for encryption; unprotect switches it per packet (EVP_CipherInit_ex). */
static EVP_CIPHER_CTX *aead_new(const char *name, const uint8_t *key)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
    EVP_CIPHER_CTX *ctx = c ? EVP_CIPHER_CTX_new() : NULL;
    if (ctx && EVP_EncryptInit_ex2(ctx, c, key, NULL, NULL) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        ctx = NULL;
    }
    EVP_CIPHER_free(c);
    return ctx;
}

static int keys_init(msrtp_keys_t *k, const msrtp_suite_info_t *s, const msrtp_session_keys_t *sk)
{
    if (s->aead) {
        if (!(k->aead = aead_new(s->aead, sk->enc)))
            return -1;
    } else if (msrtp_ctr_init(&k->ctr, s->prf, sk->enc, s->key_len) != 0) {
        return -1;
    }
    memcpy(k->salt, sk->salt, s->salt_len);
    return msrtp_mac_init(&k->mac, s->mac, sk->auth, s->auth_key_len);
}

static void keys_clear(msrtp_keys_t *k)
{
    EVP_CIPHER_CTX_free(k->aead); /* cleanses the key schedule */
    k->aead = NULL;
    msrtp_ctr_clear(&k->ctr);
    OPENSSL_cleanse(k->salt, sizeof(k->salt));
    msrtp_mac_cleanse(&k->mac);
}

msrtp_ctx_t *msrtp_ctx_new_session(msrtp_suite_t suite, msrtp_role_t role, const msrtp_session_keys_t *rtp,
                                   const msrtp_session_keys_t *rtcp)
{
    const msrtp_suite_info_t *s = msrtp_suite_info(suite);
    if (!s || !rtp || !rtcp || (role != MSRTP_ROLE_SEND && role != MSRTP_ROLE_RECV))
        return NULL;
    msrtp_ctx_t *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return NULL;
    ctx->suite = s;
    ctx->role = role;
    if (keys_init(&ctx->rtp, s, rtp) != 0 || keys_init(&ctx->rtcp, s, rtcp) != 0) {
        msrtp_ctx_free(ctx);
        return NULL;
    }
    return ctx;
}

msrtp_ctx_t *msrtp_ctx_new(msrtp_suite_t suite, msrtp_role_t role, const msrtp_master_t *master)
{
    msrtp_session_keys_t rtp, rtcp;
    msrtp_ctx_t *ctx = NULL;

    if (msrtp_session_keys_derive(suite, master, 0, &rtp) == MSRTP_OK &&
        msrtp_session_keys_derive(suite, master, 1, &rtcp) == MSRTP_OK)
        ctx = msrtp_ctx_new_session(suite, role, &rtp, &rtcp);
    OPENSSL_cleanse(&rtp, sizeof(rtp));
    OPENSSL_cleanse(&rtcp, sizeof(rtcp));
    return ctx;
}

void msrtp_ctx_free(msrtp_ctx_t *ctx)
{
    if (!ctx)
        return;
    keys_clear(&ctx->rtp);
    keys_clear(&ctx->rtcp);
    OPENSSL_cleanse(ctx, sizeof(*ctx));
    free(ctx);
}

msrtp_suite_t msrtp_ctx_suite(const msrtp_ctx_t *ctx)
{
    return ctx->suite->id;
}

uint32_t msrtp_ctx_roc(const msrtp_ctx_t *ctx)
{
    return (uint32_t)(ctx->rtp_win.top >> 16);
}

/* ---------------------------------------------------------------- parsing */

/* Length of the RTP header (fixed part, CSRCs, extension) within the first avail bytes; 0 if malformed. */
static size_t rtp_header_len(const uint8_t *buf, size_t avail)
{
    if (avail < RTP_HEADER_LEN || buf[0] >> 6 != RTP_VERSION)
        return 0;
    size_t hlen = RTP_HEADER_LEN + RTP_CSRC_LEN * (size_t)(buf[0] & 0x0f);
    if (buf[0] & 0x10) {
        if (hlen + RTP_EXT_HEADER_LEN > avail)
            return 0;
        hlen += RTP_EXT_HEADER_LEN + 4 * (size_t)be16(buf + hlen + 2);
    }
    return hlen <= avail ? hlen : 0;
}

/* ---------------------------------------------------------------- RTP: CM suites */

static void cm_rtp_iv(const msrtp_keys_t *k, uint32_t ssrc, uint64_t index, uint8_t iv[MSRTP_BLOCK_LEN])
{
    memcpy(iv, k->salt, MSRTP_SESSION_SALT_LEN);
    iv[14] = iv[15] = 0;
    xor_be(iv + 4, ssrc, 4);
    xor_be(iv + 8, index, 6);
}

static int cm_rtp_protect(msrtp_keys_t *k, size_t tag_len, uint8_t *buf, size_t hlen, size_t len, uint32_t ssrc,
                          uint64_t index)
{
    uint8_t iv[MSRTP_BLOCK_LEN], roc[ROC_LEN];
    cm_rtp_iv(k, ssrc, index, iv);
    if (msrtp_ctr_xor(&k->ctr, iv, buf + hlen, len - hlen) != 0)
        return MSRTP_ERR_CRYPTO;
    put_be32(roc, (uint32_t)(index >> 16));
    msrtp_mac_compute(&k->mac, buf, len, roc, ROC_LEN, buf + len, tag_len);
    return MSRTP_OK;
}

/* len excludes the tag, which sits at buf + len. */
static int cm_rtp_unprotect(msrtp_keys_t *k, size_t tag_len, uint8_t *buf, size_t hlen, size_t len, uint32_t ssrc,
                            uint64_t index)
{
    uint8_t iv[MSRTP_BLOCK_LEN], roc[ROC_LEN], tag[MSRTP_MAX_TAG_LEN];
    put_be32(roc, (uint32_t)(index >> 16));
    msrtp_mac_compute(&k->mac, buf, len, roc, ROC_LEN, tag, tag_len);
    if (CRYPTO_memcmp(tag, buf + len, tag_len) != 0)
        return MSRTP_ERR_AUTH;
    cm_rtp_iv(k, ssrc, index, iv);
    return msrtp_ctr_xor(&k->ctr, iv, buf + hlen, len - hlen) == 0 ? MSRTP_OK : MSRTP_ERR_CRYPTO;
}

/* ---------------------------------------------------------------- GCM (RFC 7714) */

/* One AEAD pass: AAD = aad1 || aad2, data encrypted/decrypted in place; tag written (enc) or checked (dec). */
static int gcm_run(EVP_CIPHER_CTX *c, int enc, const uint8_t iv[MSRTP_GCM_IV_LEN], const uint8_t *aad1, size_t aad1_len,
                   const uint8_t *aad2, size_t aad2_len, uint8_t *data, size_t data_len, uint8_t *tag, size_t tag_len)
{
    int outl = 0;
    if (EVP_CipherInit_ex(c, NULL, NULL, NULL, iv, enc) != 1)
        return MSRTP_ERR_CRYPTO;
    if (EVP_CipherUpdate(c, NULL, &outl, aad1, (int)aad1_len) != 1)
        return MSRTP_ERR_CRYPTO;
    if (aad2_len && EVP_CipherUpdate(c, NULL, &outl, aad2, (int)aad2_len) != 1)
        return MSRTP_ERR_CRYPTO;
    if (data_len && EVP_CipherUpdate(c, data, &outl, data, (int)data_len) != 1)
        return MSRTP_ERR_CRYPTO;
    if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, (int)tag_len, tag) != 1)
        return MSRTP_ERR_CRYPTO;
    if (EVP_CipherFinal_ex(c, data + data_len, &outl) != 1) {
        if (enc)
            return MSRTP_ERR_CRYPTO;
        OPENSSL_cleanse(data, data_len); /* never leave unauthenticated plaintext behind */
        return MSRTP_ERR_AUTH;
    }
    if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, (int)tag_len, tag) != 1)
        return MSRTP_ERR_CRYPTO;
    return MSRTP_OK;
}

static void gcm_rtp_iv(const msrtp_keys_t *k, uint32_t ssrc, uint64_t index, uint8_t iv[MSRTP_GCM_IV_LEN])
{
    memcpy(iv, k->salt, MSRTP_GCM_IV_LEN);
    xor_be(iv + 2, ssrc, 4);
    xor_be(iv + 6, index, 6); /* ROC (4) || SEQ (2) = the 48-bit index */
}

/* ---------------------------------------------------------------- RTP: public */

typedef struct {
    size_t hlen;
    uint32_t ssrc;
    uint64_t index;
} rtp_pkt_t;

/* Parses the header within avail bytes and estimates the index; checks SSRC binding and replay. */
static int rtp_prepare(const msrtp_ctx_t *ctx, const uint8_t *buf, size_t avail, rtp_pkt_t *p)
{
    p->hlen = rtp_header_len(buf, avail);
    if (!p->hlen)
        return MSRTP_ERR_PARSE;
    p->ssrc = be32(buf + 8);
    if (ctx->ssrc_bound && p->ssrc != ctx->ssrc)
        return MSRTP_ERR_SSRC;
    int rc = msrtp_rtp_index_guess(&ctx->rtp_win, be16(buf + 2), &p->index);
    if (rc != MSRTP_OK)
        return rc;
    return msrtp_window_check(&ctx->rtp_win, p->index);
}

static void rtp_accept(msrtp_ctx_t *ctx, const rtp_pkt_t *p)
{
    msrtp_window_update(&ctx->rtp_win, p->index);
    ctx->ssrc = p->ssrc;
    ctx->ssrc_bound = 1;
}

/* Protects (encrypt = 1) or authenticates and decrypts (encrypt = 0) a prepared RTP packet whose payload ends at
 * buf + body, where the tag is written or read. */
static int rtp_crypt(msrtp_ctx_t *ctx, int encrypt, uint8_t *buf, size_t body, const rtp_pkt_t *p)
{
    size_t tag_len = ctx->suite->tag_len;

    if (ctx->suite->aead) {
        uint8_t iv[MSRTP_GCM_IV_LEN];
        gcm_rtp_iv(&ctx->rtp, p->ssrc, p->index, iv);
        return gcm_run(ctx->rtp.aead, encrypt, iv, buf, p->hlen, NULL, 0, buf + p->hlen, body - p->hlen, buf + body,
                       tag_len);
    }
    return encrypt ? cm_rtp_protect(&ctx->rtp, tag_len, buf, p->hlen, body, p->ssrc, p->index)
                   : cm_rtp_unprotect(&ctx->rtp, tag_len, buf, p->hlen, body, p->ssrc, p->index);
}

int msrtp_protect(msrtp_ctx_t *ctx, uint8_t *buf, size_t len, size_t cap, size_t *out_len)
{
    rtp_pkt_t p;

    if (!ctx || !buf || !out_len)
        return MSRTP_ERR_ARG;
    if (ctx->role != MSRTP_ROLE_SEND)
        return MSRTP_ERR_ROLE;
    size_t tag_len = ctx->suite->tag_len;
    if (len > MSRTP_MAX_PACKET_LEN - tag_len)
        return MSRTP_ERR_PARSE;
    if (cap < len + tag_len)
        return MSRTP_ERR_SPACE;
    int rc = rtp_prepare(ctx, buf, len, &p);
    if (rc != MSRTP_OK)
        return rc;
    rc = rtp_crypt(ctx, 1, buf, len, &p);
    if (rc != MSRTP_OK)
        return rc;
    rtp_accept(ctx, &p);
    *out_len = len + tag_len;
    return MSRTP_OK;
}

int msrtp_unprotect(msrtp_ctx_t *ctx, uint8_t *buf, size_t len, size_t *out_len)
{
    rtp_pkt_t p;

    if (!ctx || !buf || !out_len)
        return MSRTP_ERR_ARG;
    if (ctx->role != MSRTP_ROLE_RECV)
        return MSRTP_ERR_ROLE;
    size_t tag_len = ctx->suite->tag_len;
    if (len > MSRTP_MAX_PACKET_LEN || len < RTP_HEADER_LEN + tag_len)
        return MSRTP_ERR_PARSE;
    size_t body = len - tag_len;
    int rc = rtp_prepare(ctx, buf, body, &p);
    if (rc != MSRTP_OK)
        return rc;
    rc = rtp_crypt(ctx, 0, buf, body, &p);
    if (rc != MSRTP_OK)
        return rc;
    rtp_accept(ctx, &p);
    *out_len = body;
    return MSRTP_OK;
}

/* ---------------------------------------------------------------- RTCP */

static void cm_rtcp_iv(const msrtp_keys_t *k, uint32_t ssrc, uint32_t index, uint8_t iv[MSRTP_BLOCK_LEN])
{
    cm_rtp_iv(k, ssrc, index, iv); /* §4.1.1: the SRTCP index takes the place of i */
}

static void gcm_rtcp_iv(const msrtp_keys_t *k, uint32_t ssrc, uint32_t index, uint8_t iv[MSRTP_GCM_IV_LEN])
{
    memcpy(iv, k->salt, MSRTP_GCM_IV_LEN);
    xor_be(iv + 2, ssrc, 4);
    xor_be(iv + 8, index, 4); /* 0x0000 || 0 || 31-bit index */
}

static int rtcp_header_ok(const uint8_t *buf, size_t avail)
{
    return avail >= RTCP_HEADER_LEN && buf[0] >> 6 == RTP_VERSION;
}

int msrtp_protect_rtcp(msrtp_ctx_t *ctx, uint8_t *buf, size_t len, size_t cap, size_t *out_len)
{
    if (!ctx || !buf || !out_len)
        return MSRTP_ERR_ARG;
    if (ctx->role != MSRTP_ROLE_SEND)
        return MSRTP_ERR_ROLE;
    size_t tag_len = ctx->suite->tag_len, trailer = MSRTP_SRTCP_INDEX_LEN + tag_len;
    if (len > MSRTP_MAX_PACKET_LEN - trailer || !rtcp_header_ok(buf, len))
        return MSRTP_ERR_PARSE;
    if (cap < len + trailer)
        return MSRTP_ERR_SPACE;
    if (ctx->rtcp_next >= MSRTP_RTCP_INDEX_LIMIT)
        return MSRTP_ERR_EXHAUSTED;

    uint32_t index = ctx->rtcp_next, ssrc = be32(buf + 4);
    uint8_t e_index[MSRTP_SRTCP_INDEX_LEN];
    put_be32(e_index, SRTCP_E_BIT | index);
    int rc;
    if (ctx->suite->aead) {
        uint8_t iv[MSRTP_GCM_IV_LEN];
        gcm_rtcp_iv(&ctx->rtcp, ssrc, index, iv);
        rc = gcm_run(ctx->rtcp.aead, 1, iv, buf, RTCP_HEADER_LEN, e_index, sizeof(e_index), buf + RTCP_HEADER_LEN,
                     len - RTCP_HEADER_LEN, buf + len, tag_len);
        memcpy(buf + len + tag_len, e_index, sizeof(e_index));
    } else {
        uint8_t iv[MSRTP_BLOCK_LEN];
        cm_rtcp_iv(&ctx->rtcp, ssrc, index, iv);
        rc = msrtp_ctr_xor(&ctx->rtcp.ctr, iv, buf + RTCP_HEADER_LEN, len - RTCP_HEADER_LEN) == 0 ? MSRTP_OK
                                                                                                  : MSRTP_ERR_CRYPTO;
        memcpy(buf + len, e_index, sizeof(e_index));
        msrtp_mac_compute(&ctx->rtcp.mac, buf, len + sizeof(e_index), NULL, 0, buf + len + sizeof(e_index), tag_len);
    }
    if (rc != MSRTP_OK)
        return rc;
    ctx->rtcp_next++;
    *out_len = len + trailer;
    return MSRTP_OK;
}

static int cm_rtcp_unprotect(msrtp_keys_t *k, size_t tag_len, uint8_t *buf, size_t body, int encrypted, uint32_t index)
{
    uint8_t tag[MSRTP_MAX_TAG_LEN];
    size_t authed = body + MSRTP_SRTCP_INDEX_LEN;
    msrtp_mac_compute(&k->mac, buf, authed, NULL, 0, tag, tag_len);
    if (CRYPTO_memcmp(tag, buf + authed, tag_len) != 0)
        return MSRTP_ERR_AUTH;
    if (!encrypted)
        return MSRTP_OK;
    uint8_t iv[MSRTP_BLOCK_LEN];
    cm_rtcp_iv(k, be32(buf + 4), index, iv);
    return msrtp_ctr_xor(&k->ctr, iv, buf + RTCP_HEADER_LEN, body - RTCP_HEADER_LEN) == 0 ? MSRTP_OK : MSRTP_ERR_CRYPTO;
}

static int gcm_rtcp_unprotect(msrtp_keys_t *k, size_t tag_len, uint8_t *buf, size_t body, int encrypted, uint32_t index)
{
    uint8_t iv[MSRTP_GCM_IV_LEN];
    uint8_t *e_index = buf + body + tag_len;
    gcm_rtcp_iv(k, be32(buf + 4), index, iv);
    if (encrypted)
        return gcm_run(k->aead, 0, iv, buf, RTCP_HEADER_LEN, e_index, MSRTP_SRTCP_INDEX_LEN, buf + RTCP_HEADER_LEN,
                       body - RTCP_HEADER_LEN, buf + body, tag_len);
    /* E = 0 (RFC 7714 §9.2): the whole RTCP packet is AAD, nothing is encrypted. */
    return gcm_run(k->aead, 0, iv, buf, body, e_index, MSRTP_SRTCP_INDEX_LEN, buf + body, 0, buf + body, tag_len);
}

int msrtp_unprotect_rtcp(msrtp_ctx_t *ctx, uint8_t *buf, size_t len, size_t *out_len)
{
    if (!ctx || !buf || !out_len)
        return MSRTP_ERR_ARG;
    if (ctx->role != MSRTP_ROLE_RECV)
        return MSRTP_ERR_ROLE;
    size_t tag_len = ctx->suite->tag_len, trailer = MSRTP_SRTCP_INDEX_LEN + tag_len;
    if (len > MSRTP_MAX_PACKET_LEN || len < RTCP_HEADER_LEN + trailer || !rtcp_header_ok(buf, len - trailer))
        return MSRTP_ERR_PARSE;
    size_t body = len - trailer;
    /* CM: header || enc || E||index || tag.  GCM: header || enc || tag || E||index. */
    const uint8_t *e_index = ctx->suite->aead ? buf + body + tag_len : buf + body;
    uint32_t word = be32(e_index), index = word & ~SRTCP_E_BIT;
    int encrypted = (word & SRTCP_E_BIT) != 0;
    int rc = msrtp_window_check(&ctx->rtcp_win, index);
    if (rc != MSRTP_OK)
        return rc;
    rc = ctx->suite->aead ? gcm_rtcp_unprotect(&ctx->rtcp, tag_len, buf, body, encrypted, index)
                          : cm_rtcp_unprotect(&ctx->rtcp, tag_len, buf, body, encrypted, index);
    if (rc != MSRTP_OK)
        return rc;
    msrtp_window_update(&ctx->rtcp_win, index);
    *out_len = body;
    return MSRTP_OK;
}

/* ---------------------------------------------------------------- errors */

const char *msrtp_strerror(int err)
{
    switch (err) {
    case MSRTP_OK:
        return "ok";
    case MSRTP_ERR_ARG:
        return "bad argument";
    case MSRTP_ERR_PARSE:
        return "malformed packet";
    case MSRTP_ERR_AUTH:
        return "authentication failed";
    case MSRTP_ERR_REPLAY:
        return "replayed or too old";
    case MSRTP_ERR_SPACE:
        return "no room for the trailer";
    case MSRTP_ERR_SSRC:
        return "unexpected SSRC";
    case MSRTP_ERR_EXHAUSTED:
        return "key exhausted";
    case MSRTP_ERR_CRYPTO:
        return "crypto library failure";
    case MSRTP_ERR_ROLE:
        return "wrong direction for this context";
    default:
        return "unknown error";
    }
}
