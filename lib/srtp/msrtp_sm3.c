/*
 * msrtp_sm3 — SM3 (GB/T 32905-2016 §5): Merkle-Damgård over 512-bit blocks, SHA-256-style padding, 64 rounds
 * with message expansion W[0..67] / W'[0..63], boolean functions FF/GG that change at round 16, permutations
 * P0/P1. See msrtp_sm3.h for why this is not OpenSSL's EVP SM3.
 *
 * Speed: an SRTP packet of the SM4 suite costs 4 compressions (HMAC over 172 + 4 bytes after the precomputed ipad
 * block: 3 inner, 1 outer), the largest share of its time. The compression is portable C written for latency:
 * T_j <<< j precomputed, the rounds 4 at a time with the variable roles rotated (no moves; rounds 0-15 written
 * out, 16-63 a loop that -O3 unrolls and -O2 runs as fast), the sums in each round ordered so the operands known a
 * round early are added first, and the message expansion interleaved with the rounds (W[j+4] a few rounds before
 * its use) instead of a separate loop. That last point matters beyond instruction counts: as a separate loop,
 * GCC's vectorizer combined the scalar stores of W into 64-bit vector loads that stall on store forwarding (HMAC
 * of a 176-byte packet, mihua-bench-srtp-prim, best-case ns: 1365 vectorized, 810 with -fno-tree-vectorize, 603
 * as written now). No assembly or SIMD: one packet's compressions are a serial chain, and scalar rounds are bound by
 * that chain's latency.
 */
#include "srtp/msrtp_sm3.h"

#include <string.h>

#include <openssl/crypto.h>

#define SM3_ROUNDS 64
#define SM3_EXPANDED 68
#define SM3_FIRST_ROUNDS 16 /* rounds using the XOR forms of FF/GG and T = 79cc4519 */
#define SM3_LEN_FIELD 8     /* bytes of the bit length at the end of the padding */

static const uint32_t sm3_iv[8] = {0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600,
                                   0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e};

static inline uint32_t rotl(uint32_t x, unsigned n)
{
    n &= 31;
    return n ? (x << n) | (x >> (32 - n)) : x;
}

static inline uint32_t p0(uint32_t x)
{
    return x ^ rotl(x, 9) ^ rotl(x, 17);
}
static inline uint32_t p1(uint32_t x)
{
    return x ^ rotl(x, 15) ^ rotl(x, 23);
}

static inline uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* T_j <<< (j mod 32), precomputed (GB/T 32905 §5.3.3: T_j = 79cc4519 for j < 16, 7a879d8a after). */
static const uint32_t sm3_tj[SM3_ROUNDS] = {
    0x79cc4519, 0xf3988a32, 0xe7311465, 0xce6228cb, 0x9cc45197, 0x3988a32f, 0x7311465e, 0xe6228cbc,
    0xcc451979, 0x988a32f3, 0x311465e7, 0x6228cbce, 0xc451979c, 0x88a32f39, 0x11465e73, 0x228cbce6,
    0x9d8a7a87, 0x3b14f50f, 0x7629ea1e, 0xec53d43c, 0xd8a7a879, 0xb14f50f3, 0x629ea1e7, 0xc53d43ce,
    0x8a7a879d, 0x14f50f3b, 0x29ea1e76, 0x53d43cec, 0xa7a879d8, 0x4f50f3b1, 0x9ea1e762, 0x3d43cec5,
    0x7a879d8a, 0xf50f3b14, 0xea1e7629, 0xd43cec53, 0xa879d8a7, 0x50f3b14f, 0xa1e7629e, 0x43cec53d,
    0x879d8a7a, 0x0f3b14f5, 0x1e7629ea, 0x3cec53d4, 0x79d8a7a8, 0xf3b14f50, 0xe7629ea1, 0xcec53d43,
    0x9d8a7a87, 0x3b14f50f, 0x7629ea1e, 0xec53d43c, 0xd8a7a879, 0xb14f50f3, 0x629ea1e7, 0xc53d43ce,
    0x8a7a879d, 0x14f50f3b, 0x29ea1e76, 0x53d43cec, 0xa7a879d8, 0x4f50f3b1, 0x9ea1e762, 0x3d43cec5,
};

/* W[k] for k >= 16 (§5.3.2). */
#define SM3_EXPAND(k) (w[k] = p1(w[(k)-16] ^ w[(k)-9] ^ rotl(w[(k)-3], 15)) ^ rotl(w[(k)-13], 7) ^ w[(k)-6])

/* One round; FF/GG are the XOR forms (j < 16) or the majority/choice forms, chosen by the caller. The register
 * renaming of §5.3.3 (D=C, C=B<<<9, B=A, A=TT1, H=G, G=F<<<19, F=E, E=P0(TT2)) is done by rotating the variable
 * roles: only B, D, F, H change in place. The sums are grouped so that what depends on this round's A and E comes
 * last (E + T_j, D + W'_j, H + W_j are ready a round early): the chain from A/E to the next A/E is about 7
 * instructions, and the rounds are latency-bound. W'_j = W_j ^ W_(j+4) is computed in the round (§5.3.2). */
#define SM3_ROUND(a, b, c, d, e, f, g, h, j, FF, GG)                            \
    do {                                                                        \
        uint32_t a12 = rotl(a, 12);                                             \
        uint32_t ss1 = rotl(a12 + ((e) + sm3_tj[j]), 7);                        \
        uint32_t tt1 = FF(a, b, c) + ((d) + (w[j] ^ w[(j) + 4])) + (ss1 ^ a12); \
        uint32_t tt2 = GG(e, f, g) + ((h) + w[j]) + ss1;                        \
        b = rotl(b, 9);                                                         \
        d = tt1;                                                                \
        f = rotl(f, 19);                                                        \
        h = p0(tt2);                                                            \
    } while (0)

#define FF0(x, y, z) ((x) ^ (y) ^ (z))
#define GG0(x, y, z) ((x) ^ (y) ^ (z))
#define FF1(x, y, z) (((x) & (y)) | ((z) & ((x) | (y))))
#define GG1(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))

/* Four rounds from j with the roles rotated back to the start, so no register moves are needed; W up to W[j+7]
 * (what round j+3 needs) is expanded first when j >= 12. */
#define SM3_ROUNDS4(j, FF, GG)                              \
    do {                                                    \
        if ((j) >= 12) {                                    \
            SM3_EXPAND((j) + 4);                            \
            SM3_EXPAND((j) + 5);                            \
            SM3_EXPAND((j) + 6);                            \
            SM3_EXPAND((j) + 7);                            \
        }                                                   \
        SM3_ROUND(a, b, c, d, e, f, g, h, (j), FF, GG);     \
        SM3_ROUND(d, a, b, c, h, e, f, g, (j) + 1, FF, GG); \
        SM3_ROUND(c, d, a, b, g, h, e, f, (j) + 2, FF, GG); \
        SM3_ROUND(b, c, d, a, f, g, h, e, (j) + 3, FF, GG); \
    } while (0)

/* The message expansion interleaved with the rounds: W[j+4] is computed a few rounds before its use, off the
 * rounds' critical path, where the CPU has idle units (and never as a separate loop: see the file comment). */
static void sm3_compress(uint32_t v[8], const uint8_t block[MSRTP_SM3_BLOCK_LEN])
{
    uint32_t w[SM3_EXPANDED];
    for (int j = 0; j < 16; j++)
        w[j] = load_be32(block + 4 * j);

    uint32_t a = v[0], b = v[1], c = v[2], d = v[3], e = v[4], f = v[5], g = v[6], h = v[7];
    SM3_ROUNDS4(0, FF0, GG0);
    SM3_ROUNDS4(4, FF0, GG0);
    SM3_ROUNDS4(8, FF0, GG0);
    SM3_ROUNDS4(12, FF0, GG0);
    for (int j = SM3_FIRST_ROUNDS; j < SM3_ROUNDS; j += 4)
        SM3_ROUNDS4(j, FF1, GG1);
    v[0] ^= a, v[1] ^= b, v[2] ^= c, v[3] ^= d, v[4] ^= e, v[5] ^= f, v[6] ^= g, v[7] ^= h;
}

void msrtp_sm3_init(msrtp_sm3_t *s)
{
    memcpy(s->v, sm3_iv, sizeof(s->v));
    s->total = 0;
    s->buf_len = 0;
}

void msrtp_sm3_update(msrtp_sm3_t *s, const uint8_t *data, size_t len)
{
    s->total += len;
    if (s->buf_len) {
        size_t take = MSRTP_SM3_BLOCK_LEN - s->buf_len;
        if (take > len)
            take = len;
        memcpy(s->buf + s->buf_len, data, take);
        s->buf_len += take;
        data += take;
        len -= take;
        if (s->buf_len < MSRTP_SM3_BLOCK_LEN)
            return;
        sm3_compress(s->v, s->buf);
        s->buf_len = 0;
    }
    for (; len >= MSRTP_SM3_BLOCK_LEN; data += MSRTP_SM3_BLOCK_LEN, len -= MSRTP_SM3_BLOCK_LEN)
        sm3_compress(s->v, data);
    if (len) {
        memcpy(s->buf, data, len);
        s->buf_len = len;
    }
}

void msrtp_sm3_final(msrtp_sm3_t *s, uint8_t out[MSRTP_SM3_DIGEST_LEN])
{
    uint64_t bits = s->total * 8;
    s->buf[s->buf_len++] = 0x80;
    if (s->buf_len > MSRTP_SM3_BLOCK_LEN - SM3_LEN_FIELD) {
        memset(s->buf + s->buf_len, 0, MSRTP_SM3_BLOCK_LEN - s->buf_len);
        sm3_compress(s->v, s->buf);
        s->buf_len = 0;
    }
    memset(s->buf + s->buf_len, 0, MSRTP_SM3_BLOCK_LEN - SM3_LEN_FIELD - s->buf_len);
    for (int i = 0; i < SM3_LEN_FIELD; i++)
        s->buf[MSRTP_SM3_BLOCK_LEN - 1 - i] = (uint8_t)(bits >> (8 * i));
    sm3_compress(s->v, s->buf);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s->v[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->v[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->v[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->v[i];
    }
    OPENSSL_cleanse(s, sizeof(*s));
}
