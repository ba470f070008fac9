/*
 * msrtp_mac — HMAC-SHA1 (RFC 2104, RFC 3711 §4.2.1) and HMAC-SM3 with the ipad/opad states computed once per key.
 *
 * Per packet the precomputed inner and outer states are copied by value (a struct assignment), so authenticating a
 * packet costs the data's compressions plus one outer compression, with no allocation and no OpenSSL dispatch.
 */
#ifndef MIHUA_MSRTP_MAC_H
#define MIHUA_MSRTP_MAC_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/sha.h>

#include "srtp/msrtp_sm3.h"

/* Longest HMAC key we derive: the hash output length (SHA-1 20, SM3 32), RFC 2104 §3's recommended size. */
#define MSRTP_MAC_MAX_KEY_LEN 32
#define MSRTP_MAC_MAX_DIGEST_LEN 32

typedef enum {
    MSRTP_MAC_NONE = 0, /* AEAD suites: the cipher authenticates */
    MSRTP_MAC_HMAC_SHA1,
    MSRTP_MAC_HMAC_SM3,
} msrtp_mac_kind_t;

typedef struct {
    msrtp_mac_kind_t kind;
    union {
        struct {
            SHA_CTX inner, outer; /* SHA-1 after absorbing key^ipad / key^opad */
        } sha1;
        struct {
            msrtp_sm3_t inner, outer;
        } sm3;
    } u;
} msrtp_mac_t;

/* Precomputes the pads. key_len <= MSRTP_MAC_MAX_KEY_LEN. Returns 0, or -1 for bad arguments. */
int msrtp_mac_init(msrtp_mac_t *m, msrtp_mac_kind_t kind, const uint8_t *key, size_t key_len);
/* tag = first tag_len bytes of HMAC(key, a || b). b may be NULL when b_len is 0. tag_len <= the digest length. */
void msrtp_mac_compute(const msrtp_mac_t *m, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                       uint8_t *tag, size_t tag_len);
void msrtp_mac_cleanse(msrtp_mac_t *m);

#endif
