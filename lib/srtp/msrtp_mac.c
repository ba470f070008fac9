/*
 * msrtp_mac — HMAC (RFC 2104) with precomputed pads, for the SRTP/SRTCP authentication transform (RFC 3711 §4.2).
 *
 * Design: HMAC(K, m) = H((K^opad) || H((K^ipad) || m)). The states after the single key block are computed once
 * (msrtp_mac_init) and copied by value per packet. For SHA-1 this uses OpenSSL's SHA1_Init/Update/Final on a
 * plain SHA_CTX: deprecated in OpenSSL 3.0 but present in every 3.x build that does not set no-deprecated
 * (Debian's does not), and it runs OpenSSL's SHA-NI/AVX assembly directly. The provider route (EVP_MAC_init with a
 * NULL key, or EVP_MD_CTX_copy) re-duplicates a provider context on every packet, i.e. allocates; that is what this
 * module avoids. SM3 uses msrtp_sm3 for the same reason.
 *
 * The per-packet stack copies hold only states that have absorbed packet data (never the bare key block states),
 * and the final digest, which is public up to truncation; they are not cleansed, to keep the fast path short.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1 /* SHA1_* low-level API, see above */

#include "srtp/msrtp_mac.h"

#include <string.h>

#include <openssl/crypto.h>

#define HMAC_BLOCK_LEN 64 /* SHA-1 and SM3 both hash 512-bit blocks */
#define HMAC_IPAD 0x36
#define HMAC_OPAD 0x5c

static void pads(const uint8_t *key, size_t key_len, uint8_t ipad[HMAC_BLOCK_LEN], uint8_t opad[HMAC_BLOCK_LEN])
{
    memset(ipad, HMAC_IPAD, HMAC_BLOCK_LEN);
    memset(opad, HMAC_OPAD, HMAC_BLOCK_LEN);
    for (size_t i = 0; i < key_len; i++) {
        ipad[i] ^= key[i];
        opad[i] ^= key[i];
    }
}

int msrtp_mac_init(msrtp_mac_t *m, msrtp_mac_kind_t kind, const uint8_t *key, size_t key_len)
{
    uint8_t ipad[HMAC_BLOCK_LEN], opad[HMAC_BLOCK_LEN];

    if (!m || (key_len && !key) || key_len > MSRTP_MAC_MAX_KEY_LEN)
        return -1;
    memset(m, 0, sizeof(*m));
    m->kind = kind;
    pads(key, key_len, ipad, opad);
    switch (kind) {
    case MSRTP_MAC_NONE:
        break;
    case MSRTP_MAC_HMAC_SHA1:
        SHA1_Init(&m->u.sha1.inner);
        SHA1_Update(&m->u.sha1.inner, ipad, HMAC_BLOCK_LEN);
        SHA1_Init(&m->u.sha1.outer);
        SHA1_Update(&m->u.sha1.outer, opad, HMAC_BLOCK_LEN);
        break;
    case MSRTP_MAC_HMAC_SM3:
        msrtp_sm3_init(&m->u.sm3.inner);
        msrtp_sm3_update(&m->u.sm3.inner, ipad, HMAC_BLOCK_LEN);
        msrtp_sm3_init(&m->u.sm3.outer);
        msrtp_sm3_update(&m->u.sm3.outer, opad, HMAC_BLOCK_LEN);
        break;
    default:
        OPENSSL_cleanse(ipad, sizeof(ipad));
        OPENSSL_cleanse(opad, sizeof(opad));
        return -1;
    }
    OPENSSL_cleanse(ipad, sizeof(ipad));
    OPENSSL_cleanse(opad, sizeof(opad));
    return 0;
}

static void sha1_hmac(const msrtp_mac_t *m, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                      uint8_t digest[SHA_DIGEST_LENGTH])
{
    SHA_CTX c = m->u.sha1.inner;
    SHA1_Update(&c, a, a_len);
    if (b_len)
        SHA1_Update(&c, b, b_len);
    SHA1_Final(digest, &c);
    c = m->u.sha1.outer;
    SHA1_Update(&c, digest, SHA_DIGEST_LENGTH);
    SHA1_Final(digest, &c);
}

static void sm3_hmac(const msrtp_mac_t *m, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                     uint8_t digest[MSRTP_SM3_DIGEST_LEN])
{
    msrtp_sm3_t c = m->u.sm3.inner;
    msrtp_sm3_update(&c, a, a_len);
    if (b_len)
        msrtp_sm3_update(&c, b, b_len);
    msrtp_sm3_final(&c, digest);
    c = m->u.sm3.outer;
    msrtp_sm3_update(&c, digest, MSRTP_SM3_DIGEST_LEN);
    msrtp_sm3_final(&c, digest);
}

void msrtp_mac_compute(const msrtp_mac_t *m, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                       uint8_t *tag, size_t tag_len)
{
    uint8_t digest[MSRTP_MAC_MAX_DIGEST_LEN];

    if (m->kind == MSRTP_MAC_HMAC_SHA1) {
        sha1_hmac(m, a, a_len, b, b_len, digest);
        memcpy(tag, digest, tag_len <= SHA_DIGEST_LENGTH ? tag_len : SHA_DIGEST_LENGTH);
    } else if (m->kind == MSRTP_MAC_HMAC_SM3) {
        sm3_hmac(m, a, a_len, b, b_len, digest);
        memcpy(tag, digest, tag_len <= MSRTP_SM3_DIGEST_LEN ? tag_len : MSRTP_SM3_DIGEST_LEN);
    }
}

void msrtp_mac_cleanse(msrtp_mac_t *m)
{
    if (m)
        OPENSSL_cleanse(m, sizeof(*m));
}
