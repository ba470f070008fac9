/*
 * msrtp_sm4 — SM4 block encryption (GB/T 32907-2016), encrypt direction only (counter mode never decrypts), with
 * three implementations, the fastest the CPU runs chosen per key at run time:
 *
 * - GFNI and AESNI (msrtp_sm4_x86.c): x86 with GFNI or AES-NI, and SSSE3. The SM4 S-box is affine-equivalent to the
 *   AES S-box, so it is computed on 16 bytes at once, by GF2P8AFFINEQB + GF2P8AFFINEINVQB, or by AESENCLAST between
 *   two affine maps done with PSHUFB nibble lookups; four blocks sit word-sliced in registers and up to three such
 *   groups run interleaved. No memory access depends on key or data, in the rounds or in the key schedule.
 * - TABLE (msrtp_sm4.c): portable C, one 1 KiB T-table per key, two blocks interleaved. Lookups are indexed by
 *   secret data (like OpenSSL 3.0's own SM4 C code), so it is not constant-time; it is the fallback for CPUs
 *   without either instruction set and the reference the SIMD paths are tested against.
 *
 * OpenSSL 3.0 encrypts SM4 one block at a time in portable C, too slow for the SM4 suite's packet rate. Measured
 * here with mihua-bench-srtp-prim on 10 blocks (a 160-byte payload), best-case ns: OpenSSL 1056, TABLE 577,
 * AESNI 323, GFNI 218. All implementations are checked against the GB/T 32907 examples, against each other and
 * against OpenSSL's SM4-ECB in the unit tests, which pin each one with msrtp_sm4_init_impl / msrtp_sm4_force_impl.
 */
#ifndef MIHUA_MSRTP_SM4_H
#define MIHUA_MSRTP_SM4_H

#include <stddef.h>
#include <stdint.h>

#define MSRTP_SM4_KEY_LEN 16
#define MSRTP_SM4_BLOCK_LEN 16
#define MSRTP_SM4_ROUNDS 32
#define MSRTP_SM4_SBOX_SIZE 256

typedef enum {
    MSRTP_SM4_IMPL_AUTO = 0, /* the fastest one this CPU supports */
    MSRTP_SM4_IMPL_TABLE,    /* portable C with a T-table */
    MSRTP_SM4_IMPL_AESNI,    /* x86 AES-NI + SSSE3 */
    MSRTP_SM4_IMPL_GFNI,     /* x86 GFNI + SSSE3 */
} msrtp_sm4_impl_t;

typedef struct {
    uint32_t rk[MSRTP_SM4_ROUNDS];   /* round keys */
    msrtp_sm4_impl_t impl;           /* TABLE, AESNI or GFNI, fixed at init */
    uint32_t t[MSRTP_SM4_SBOX_SIZE]; /* TABLE only: L(S(x) << 24); the other byte lanes are rotations of it */
} msrtp_sm4_t;

/* Keys k with the implementation msrtp_sm4_force_impl set, or else the fastest this CPU has. */
void msrtp_sm4_init(msrtp_sm4_t *k, const uint8_t key[MSRTP_SM4_KEY_LEN]);
/* out = SM4_k(in) for nblocks consecutive 16-byte blocks; in and out may be the same buffer. */
void msrtp_sm4_encrypt_blocks(const msrtp_sm4_t *k, const uint8_t *in, uint8_t *out, size_t nblocks);

/* ---- implementation choice (tests and benchmarks) ---- */

/* 1 if this CPU runs impl (AUTO and TABLE always). */
int msrtp_sm4_impl_supported(msrtp_sm4_impl_t impl);
/* Keys k with impl; -1 (k untouched) if this CPU does not support it. */
int msrtp_sm4_init_impl(msrtp_sm4_t *k, const uint8_t key[MSRTP_SM4_KEY_LEN], msrtp_sm4_impl_t impl);
/* Makes msrtp_sm4_init (and so every SM4 SRTP context created afterwards) use impl; AUTO restores the CPU choice.
 * Process-wide and not synchronised: for tests, called while no context is being created. -1 if unsupported. */
int msrtp_sm4_force_impl(msrtp_sm4_impl_t impl);

/* msrtp_sm4_x86.c (impl AESNI or GFNI), called by msrtp_sm4.c only when msrtp_sm4_x86_supported(impl). */
int msrtp_sm4_x86_supported(msrtp_sm4_impl_t impl);
void msrtp_sm4_x86_blocks(msrtp_sm4_impl_t impl, const uint32_t rk[MSRTP_SM4_ROUNDS], const uint8_t *in, uint8_t *out,
                          size_t nblocks);
uint32_t msrtp_sm4_x86_tau(msrtp_sm4_impl_t impl, uint32_t a); /* the S-box on each byte of a */

#endif
