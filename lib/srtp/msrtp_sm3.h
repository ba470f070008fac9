/*
 * msrtp_sm3 — SM3 hash (GB/T 32905-2016, ISO/IEC 10118-3) as a plain struct, for HMAC-SM3 with precomputed pads.
 *
 * OpenSSL 3.0 has SM3 in its default provider, but copying an EVP_MD_CTX (what HMAC needs to reuse the ipad/opad
 * states per packet) allocates a provider context each time. A struct-copyable SM3 keeps the SRTP fast path free of
 * heap allocation. It is checked against the GB/T 32905 examples and against OpenSSL's EVP SM3 in the unit tests.
 */
#ifndef MIHUA_MSRTP_SM3_H
#define MIHUA_MSRTP_SM3_H

#include <stddef.h>
#include <stdint.h>

#define MSRTP_SM3_BLOCK_LEN 64
#define MSRTP_SM3_DIGEST_LEN 32

typedef struct {
    uint32_t v[8];                    /* chaining value V(i) */
    uint64_t total;                   /* bytes hashed so far (the padding encodes it in bits) */
    uint8_t buf[MSRTP_SM3_BLOCK_LEN]; /* partial block */
    size_t buf_len;                   /* bytes used in buf, < MSRTP_SM3_BLOCK_LEN */
} msrtp_sm3_t;

void msrtp_sm3_init(msrtp_sm3_t *s);
void msrtp_sm3_update(msrtp_sm3_t *s, const uint8_t *data, size_t len);
/* Writes the digest and wipes the state. */
void msrtp_sm3_final(msrtp_sm3_t *s, uint8_t out[MSRTP_SM3_DIGEST_LEN]);

#endif
