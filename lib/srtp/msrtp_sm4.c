/*
 * msrtp_sm4 — SM4 (GB/T 32907-2016 §6-7): 32 rounds X(i+4) = X(i) ^ T(X(i+1) ^ X(i+2) ^ X(i+3) ^ rk(i)) with
 * T = L o tau (byte-wise S-box, then L(B) = B ^ B<<<2 ^ B<<<10 ^ B<<<18 ^ B<<<24), output reversed; key schedule
 * with FK, CK and L'(B) = B ^ B<<<13 ^ B<<<23 (§7.3). This file holds the key schedule, the choice of
 * implementation and the portable TABLE implementation; GFNI and AESNI are in msrtp_sm4_x86.c.
 *
 * Choice: msrtp_sm4_init takes GFNI, else AESNI, else TABLE, the first the CPU runs (__builtin_cpu_supports), and
 * records it in the key; msrtp_sm4_force_impl overrides that for tests (so the fallbacks stay tested on machines
 * that never take them).
 *
 * TABLE: T is one table of L(S(x) << 24) per key (1 KiB, built at init; L commutes with rotation, so the other
 * three byte lanes are rotations of the same entry), and two blocks run interleaved so their independent dependency
 * chains overlap. Table lookups are indexed by secret data, like OpenSSL's own SM4 C code: not constant-time. With
 * GFNI or AESNI the key schedule's S-box goes through the same instructions, so those paths have no secret-indexed
 * lookup at all.
 */
#include "srtp/msrtp_sm4.h"

#include <string.h>

#define SM4_LANES 2 /* blocks processed together: 2 measured fastest here (4 spills registers) */

static const uint8_t sm4_sbox[MSRTP_SM4_SBOX_SIZE] = {
    0xd6, 0x90, 0xe9, 0xfe, 0xcc, 0xe1, 0x3d, 0xb7, 0x16, 0xb6, 0x14, 0xc2, 0x28, 0xfb, 0x2c, 0x05, 0x2b, 0x67, 0x9a,
    0x76, 0x2a, 0xbe, 0x04, 0xc3, 0xaa, 0x44, 0x13, 0x26, 0x49, 0x86, 0x06, 0x99, 0x9c, 0x42, 0x50, 0xf4, 0x91, 0xef,
    0x98, 0x7a, 0x33, 0x54, 0x0b, 0x43, 0xed, 0xcf, 0xac, 0x62, 0xe4, 0xb3, 0x1c, 0xa9, 0xc9, 0x08, 0xe8, 0x95, 0x80,
    0xdf, 0x94, 0xfa, 0x75, 0x8f, 0x3f, 0xa6, 0x47, 0x07, 0xa7, 0xfc, 0xf3, 0x73, 0x17, 0xba, 0x83, 0x59, 0x3c, 0x19,
    0xe6, 0x85, 0x4f, 0xa8, 0x68, 0x6b, 0x81, 0xb2, 0x71, 0x64, 0xda, 0x8b, 0xf8, 0xeb, 0x0f, 0x4b, 0x70, 0x56, 0x9d,
    0x35, 0x1e, 0x24, 0x0e, 0x5e, 0x63, 0x58, 0xd1, 0xa2, 0x25, 0x22, 0x7c, 0x3b, 0x01, 0x21, 0x78, 0x87, 0xd4, 0x00,
    0x46, 0x57, 0x9f, 0xd3, 0x27, 0x52, 0x4c, 0x36, 0x02, 0xe7, 0xa0, 0xc4, 0xc8, 0x9e, 0xea, 0xbf, 0x8a, 0xd2, 0x40,
    0xc7, 0x38, 0xb5, 0xa3, 0xf7, 0xf2, 0xce, 0xf9, 0x61, 0x15, 0xa1, 0xe0, 0xae, 0x5d, 0xa4, 0x9b, 0x34, 0x1a, 0x55,
    0xad, 0x93, 0x32, 0x30, 0xf5, 0x8c, 0xb1, 0xe3, 0x1d, 0xf6, 0xe2, 0x2e, 0x82, 0x66, 0xca, 0x60, 0xc0, 0x29, 0x23,
    0xab, 0x0d, 0x53, 0x4e, 0x6f, 0xd5, 0xdb, 0x37, 0x45, 0xde, 0xfd, 0x8e, 0x2f, 0x03, 0xff, 0x6a, 0x72, 0x6d, 0x6c,
    0x5b, 0x51, 0x8d, 0x1b, 0xaf, 0x92, 0xbb, 0xdd, 0xbc, 0x7f, 0x11, 0xd9, 0x5c, 0x41, 0x1f, 0x10, 0x5a, 0xd8, 0x0a,
    0xc1, 0x31, 0x88, 0xa5, 0xcd, 0x7b, 0xbd, 0x2d, 0x74, 0xd0, 0x12, 0xb8, 0xe5, 0xb4, 0xb0, 0x89, 0x69, 0x97, 0x4a,
    0x0c, 0x96, 0x77, 0x7e, 0x65, 0xb9, 0xf1, 0x09, 0xc5, 0x6e, 0xc6, 0x84, 0x18, 0xf0, 0x7d, 0xec, 0x3a, 0xdc, 0x4d,
    0x20, 0x79, 0xee, 0x5f, 0x3e, 0xd7, 0xcb, 0x39, 0x48,
};

static const uint32_t sm4_fk[4] = {0xa3b1bac6, 0x56aa3350, 0x677d9197, 0xb27022dc};

static inline uint32_t rotl(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}
static inline uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static inline uint32_t table_tau(uint32_t a)
{
    return (uint32_t)sm4_sbox[a >> 24] << 24 | (uint32_t)sm4_sbox[(a >> 16) & 0xff] << 16 |
           (uint32_t)sm4_sbox[(a >> 8) & 0xff] << 8 | sm4_sbox[a & 0xff];
}

/* CK(i) bytes are (4i + j) * 7 mod 256 (§7.3). */
static uint32_t sm4_ck(unsigned i)
{
    uint32_t v = 0;
    for (unsigned j = 0; j < 4; j++)
        v = v << 8 | (uint8_t)((4 * i + j) * 7);
    return v;
}

static msrtp_sm4_impl_t forced = MSRTP_SM4_IMPL_AUTO; /* msrtp_sm4_force_impl */

int msrtp_sm4_impl_supported(msrtp_sm4_impl_t impl)
{
    switch (impl) {
    case MSRTP_SM4_IMPL_AUTO:
    case MSRTP_SM4_IMPL_TABLE:
        return 1;
    case MSRTP_SM4_IMPL_AESNI:
    case MSRTP_SM4_IMPL_GFNI:
        return msrtp_sm4_x86_supported(impl);
    default:
        return 0;
    }
}

int msrtp_sm4_force_impl(msrtp_sm4_impl_t impl)
{
    if (!msrtp_sm4_impl_supported(impl))
        return -1;
    forced = impl;
    return 0;
}

int msrtp_sm4_init_impl(msrtp_sm4_t *k, const uint8_t key[MSRTP_SM4_KEY_LEN], msrtp_sm4_impl_t impl)
{
    if (!msrtp_sm4_impl_supported(impl))
        return -1;
    if (impl == MSRTP_SM4_IMPL_AUTO)
        impl = msrtp_sm4_x86_supported(MSRTP_SM4_IMPL_GFNI)    ? MSRTP_SM4_IMPL_GFNI
               : msrtp_sm4_x86_supported(MSRTP_SM4_IMPL_AESNI) ? MSRTP_SM4_IMPL_AESNI
                                                               : MSRTP_SM4_IMPL_TABLE;
    k->impl = impl;
    int simd = impl != MSRTP_SM4_IMPL_TABLE;
    uint32_t x[4];
    for (int i = 0; i < 4; i++)
        x[i] = load_be32(key + 4 * i) ^ sm4_fk[i];
    for (unsigned i = 0; i < MSRTP_SM4_ROUNDS; i++) {
        uint32_t a = x[(i + 1) % 4] ^ x[(i + 2) % 4] ^ x[(i + 3) % 4] ^ sm4_ck(i);
        uint32_t b = simd ? msrtp_sm4_x86_tau(impl, a) : table_tau(a);
        x[i % 4] ^= b ^ rotl(b, 13) ^ rotl(b, 23);
        k->rk[i] = x[i % 4];
    }
    if (simd) {
        memset(k->t, 0, sizeof(k->t));
        return 0;
    }
    for (unsigned v = 0; v < MSRTP_SM4_SBOX_SIZE; v++) {
        uint32_t b = (uint32_t)sm4_sbox[v] << 24;
        k->t[v] = b ^ rotl(b, 2) ^ rotl(b, 10) ^ rotl(b, 18) ^ rotl(b, 24);
    }
    return 0;
}

void msrtp_sm4_init(msrtp_sm4_t *k, const uint8_t key[MSRTP_SM4_KEY_LEN])
{
    msrtp_sm4_init_impl(k, key, forced); /* forced is always supported: cannot fail */
}

static inline uint32_t sm4_t(const uint32_t *t, uint32_t a)
{
    return t[a >> 24] ^ rotr(t[(a >> 16) & 0xff], 8) ^ rotr(t[(a >> 8) & 0xff], 16) ^ rotr(t[a & 0xff], 24);
}

/* Up to SM4_LANES blocks; lanes beyond n are computed on zeros and dropped. */
static void sm4_lanes(const msrtp_sm4_t *k, const uint8_t *in, uint8_t *out, size_t n)
{
    uint32_t x[SM4_LANES][4] = {{0}};
    for (size_t l = 0; l < n; l++)
        for (int i = 0; i < 4; i++)
            x[l][i] = load_be32(in + 16 * l + 4 * i);
    for (unsigned r = 0; r < MSRTP_SM4_ROUNDS; r += 4) {
        for (unsigned s = 0; s < 4; s++) {
            uint32_t rk = k->rk[r + s];
            for (int l = 0; l < SM4_LANES; l++)
                x[l][s] ^= sm4_t(k->t, x[l][(s + 1) & 3] ^ x[l][(s + 2) & 3] ^ x[l][(s + 3) & 3] ^ rk);
        }
    }
    for (size_t l = 0; l < n; l++)
        for (int i = 0; i < 4; i++)
            store_be32(out + 16 * l + 4 * i, x[l][3 - i]);
}

void msrtp_sm4_encrypt_blocks(const msrtp_sm4_t *k, const uint8_t *in, uint8_t *out, size_t nblocks)
{
    if (k->impl != MSRTP_SM4_IMPL_TABLE) {
        msrtp_sm4_x86_blocks(k->impl, k->rk, in, out, nblocks);
        return;
    }
    while (nblocks) {
        size_t n = nblocks < SM4_LANES ? nblocks : SM4_LANES;
        sm4_lanes(k, in, out, n);
        in += n * MSRTP_SM4_BLOCK_LEN;
        out += n * MSRTP_SM4_BLOCK_LEN;
        nblocks -= n;
    }
}
