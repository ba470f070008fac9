/*
 * msrtp_kdf — counter-mode keystream (RFC 3711 §4.1.1) and the SRTP key derivation (RFC 3711 §4.3, kdr = 0).
 *
 * Counter mode is built on a block-encrypt engine: the counter blocks IV, IV+1, ... are written to a stack buffer,
 * encrypted in one call per chunk, and XORed into the data. For AES the engine is an OpenSSL ECB context (AES-NI):
 * compared with a CTR context this needs no IV reset through the provider per packet (one EVP call instead of
 * two). For SM4 it is msrtp_sm4 (GFNI or AES-NI when the CPU has them, else an interleaved T-table; all beat
 * OpenSSL 3.0's one-block-at-a-time C SM4, see msrtp_sm4.h).
 * The same code serves the packet keystream and the KDF PRF. The chunk bounds the stack use.
 *
 * KDF: with key derivation rate 0, r = 0 and key_id = label || 0^48, so x = master_salt XOR (label << 48): byte 7
 * of the 14-byte salt XOR label; the session key is the first n bytes of the keystream at IV = x || 0x0000
 * (§4.3.1, §4.3.3). The 12-byte GCM master salt is padded with two zero bytes (libsrtp does the same; the interop
 * test pins it).
 */
#include "srtp/msrtp_internal.h"

#include <string.h>

#include <openssl/crypto.h>

/* Blocks per EVP call: 512 bytes of counters/keystream on the stack cover a 160-byte voice packet in one call. */
#define CTR_CHUNK_BLOCKS 32
#define KDF_IV_LABEL_BYTE 7 /* key_id = label || r(48 bits) ends at byte 13 of the 14-byte salt: label at byte 7 */

EVP_CIPHER_CTX *msrtp_ecb_new(const char *cipher_name, const uint8_t *key, size_t key_len)
{
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, cipher_name, NULL);
    if (!cipher)
        return NULL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = ctx && (size_t)EVP_CIPHER_get_key_length(cipher) == key_len &&
             EVP_EncryptInit_ex2(ctx, cipher, key, NULL, NULL) == 1 && EVP_CIPHER_CTX_set_padding(ctx, 0) == 1;
    EVP_CIPHER_free(cipher);
    if (!ok) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int msrtp_ctr_init(msrtp_ctr_t *c, const char *cipher_name, const uint8_t *key, size_t key_len)
{
    memset(c, 0, sizeof(*c));
    if (strcmp(cipher_name, "SM4-ECB") != 0) {
        c->ecb = msrtp_ecb_new(cipher_name, key, key_len);
        return c->ecb ? 0 : -1;
    }
    if (key_len != MSRTP_SM4_KEY_LEN || !(c->sm4 = OPENSSL_malloc(sizeof(*c->sm4))))
        return -1;
    msrtp_sm4_init(c->sm4, key);
    return 0;
}

void msrtp_ctr_clear(msrtp_ctr_t *c)
{
    EVP_CIPHER_CTX_free(c->ecb); /* cleanses the key schedule */
    OPENSSL_clear_free(c->sm4, sizeof(*c->sm4));
    c->ecb = NULL;
    c->sm4 = NULL;
}

static int encrypt_blocks(const msrtp_ctr_t *c, uint8_t *blocks, size_t n)
{
    if (c->sm4) {
        msrtp_sm4_encrypt_blocks(c->sm4, blocks, blocks, n);
        return 0;
    }
    int outl = 0;
    return EVP_EncryptUpdate(c->ecb, blocks, &outl, blocks, (int)(n * MSRTP_BLOCK_LEN)) == 1 &&
                   (size_t)outl == n * MSRTP_BLOCK_LEN
               ? 0
               : -1;
}

static inline void ctr_increment(uint8_t ctr[MSRTP_BLOCK_LEN])
{
    for (int i = MSRTP_BLOCK_LEN - 1; i >= 0; i--)
        if (++ctr[i] != 0)
            break;
}

int msrtp_ctr_xor(const msrtp_ctr_t *c, const uint8_t iv[MSRTP_BLOCK_LEN], uint8_t *buf, size_t len)
{
    uint8_t ks[CTR_CHUNK_BLOCKS * MSRTP_BLOCK_LEN];
    uint8_t ctr[MSRTP_BLOCK_LEN];

    if (len > (size_t)MSRTP_CTR_MAX_BLOCKS * MSRTP_BLOCK_LEN)
        return -1;
    memcpy(ctr, iv, MSRTP_BLOCK_LEN);
    while (len) {
        size_t n = len < sizeof(ks) ? len : sizeof(ks);
        size_t blocks = (n + MSRTP_BLOCK_LEN - 1) / MSRTP_BLOCK_LEN;
        for (size_t b = 0; b < blocks; b++) {
            memcpy(ks + b * MSRTP_BLOCK_LEN, ctr, MSRTP_BLOCK_LEN);
            ctr_increment(ctr);
        }
        if (encrypt_blocks(c, ks, blocks) != 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            buf[i] ^= ks[i];
        buf += n;
        len -= n;
    }
    return 0;
}

int msrtp_kdf(const msrtp_ctr_t *prf, const uint8_t *master_salt, size_t salt_len, uint8_t label, uint8_t *out,
              size_t out_len)
{
    uint8_t iv[MSRTP_BLOCK_LEN] = {0};

    if (!prf || !master_salt || salt_len > MSRTP_SESSION_SALT_LEN || !out)
        return -1;
    memcpy(iv, master_salt, salt_len);
    iv[KDF_IV_LABEL_BYTE] ^= label;
    memset(out, 0, out_len);
    return msrtp_ctr_xor(prf, iv, out, out_len);
}

int msrtp_session_keys_derive(msrtp_suite_t suite, const msrtp_master_t *master, int rtcp, msrtp_session_keys_t *out)
{
    const msrtp_suite_info_t *s = msrtp_suite_info(suite);

    if (!s || !master || !out || master->key_len != s->key_len || master->salt_len != s->salt_len)
        return MSRTP_ERR_ARG;
    msrtp_ctr_t prf;
    if (msrtp_ctr_init(&prf, s->prf, master->key, master->key_len) != 0)
        return MSRTP_ERR_CRYPTO;
    uint8_t base = rtcp ? MSRTP_LABEL_RTCP_ENC : MSRTP_LABEL_RTP_ENC;
    memset(out, 0, sizeof(*out));
    int rc = msrtp_kdf(&prf, master->salt, master->salt_len, base, out->enc, s->key_len);
    if (rc == 0 && s->auth_key_len)
        rc = msrtp_kdf(&prf, master->salt, master->salt_len, (uint8_t)(base + 1), out->auth, s->auth_key_len);
    if (rc == 0)
        rc = msrtp_kdf(&prf, master->salt, master->salt_len, (uint8_t)(base + 2), out->salt, s->salt_len);
    msrtp_ctr_clear(&prf);
    if (rc != 0) {
        OPENSSL_cleanse(out, sizeof(*out));
        return MSRTP_ERR_CRYPTO;
    }
    return MSRTP_OK;
}
