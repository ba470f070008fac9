/*
 * msrtp_sm4_x86 — SM4 on x86 with SIMD S-boxes, four blocks per register: AESNI (AES-NI + SSSE3) and GFNI
 * (GFNI + SSSE3). Both compute the S-box arithmetically on 16 bytes at once.
 *
 * The S-box. SM4's S(x) = A·I(A·x ^ 0xd3) ^ 0xd3, with I the inversion in GF(2^8) mod x^8+x^7+x^6+x^5+x^4+x^2+1
 * and A the circulant bit matrix of row 0xd3. The AES S-box is M·J(z) ^ 0x63, J the inversion mod the AES
 * polynomial 0x11b. Both fields are GF(2^8), so a linear isomorphism phi maps one onto the other (x -> beta = 0x23,
 * a root of the SM4 polynomial in the AES field) and carries inversion to inversion: I = phi^-1 · J · phi. Hence
 *     S(x) = A·phi^-1 · J(phi·A·x ^ phi(0xd3)) ^ 0xd3
 * - AESNI: AESENCLAST with a zero round key is ShiftRows(M·J(z) ^ 0x63), so S(x) = Q(AES_S(P(x))) with
 *   P(x) = phi(A·x ^ 0xd3) and Q(y) = A·phi^-1(M^-1·(y ^ 0x63)) ^ 0xd3, both affine over GF(2): each is two 16-entry
 *   nibble lookups XORed (PSHUFB on a register: P(x) = P_lo[x & 15] ^ P_hi[x >> 4]). ShiftRows is undone by folding
 *   InvShiftRows into the byte shuffles of L below.
 * - GFNI: GF2P8AFFINEQB computes phi·A·x ^ phi(0xd3) and GF2P8AFFINEINVQB computes A·phi^-1 · J(y) ^ 0xd3 directly
 *   (the instruction's inversion is J), two instructions instead of ~13.
 * The nibble tables and matrices are printed by sm4_x86_consts.py, which derives them from these formulas and
 * checks each against the S-box on all 256 inputs (the GFNI ones through a model of the instructions); the unit
 * tests check both paths against the table implementation and OpenSSL on random keys and blocks.
 *
 * Layout. Four blocks are loaded, each 32-bit word byte-swapped to native order and the 4x4 word matrix
 * transposed, so register X_i holds word i of the four blocks and one SM4 round is a few vector operations on all
 * four: x = X1^X2^X3^rk, the S-box as above, L(B) = B ^ B<<<2 ^ B<<<10 ^ B<<<18 ^ B<<<24 computed as
 * B ^ B<<<24 ^ (B ^ B<<<8 ^ B<<<16)<<<2 (byte rotations are PSHUFB, the 2-bit one two shifts). A round is a chain of
 * ~15 dependent instructions, so one group of four blocks leaves most of the vector units idle: up to three groups
 * run with their rounds interleaved (12 blocks a pass), and a 160-byte payload's 10 blocks take one pass of three
 * groups (the last one half full) rather than 8 + 2 in two passes (AESNI, mihua-bench-srtp-prim: 10 blocks cost
 * 1.6x one group, 8 + 2 cost 2.5x); longer inputs loop over passes of 12. With three groups AESNI is bound by the
 * vector ports (~29 operations per group and round), GFNI needs ~16 (10 blocks: 1.35x one group). A VEX (AVX)
 * build of the AESNI code measured no faster, so the SSE versions serve every x86-64 CPU with the instructions.
 *
 * Constant time: no memory access depends on key or data (the S-box is arithmetic, the nibble tables are registers
 * indexed by PSHUFB), unlike the table implementation. The key schedule of these paths uses the same S-box
 * (msrtp_sm4_x86_tau), so key expansion is table-free too.
 *
 * Each function carries __attribute__((target(...))) with what it needs, so the rest of the build keeps its flags;
 * msrtp_sm4.c calls a path only when the CPU reports its instructions (msrtp_sm4_x86_supported).
 */
#include "srtp/msrtp_sm4.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define SSSE3_TARGET __attribute__((target("ssse3")))
#define AESNI_TARGET __attribute__((target("aes,ssse3")))
#define GFNI_TARGET __attribute__((target("gfni,ssse3")))
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define GROUP_BLOCKS 4 /* blocks per register set (128-bit lanes / 32-bit words) */
#define MAX_GROUPS 3   /* register sets interleaved: 3 covers a 160-byte payload (10 blocks) in one pass */
#define PASS_BLOCKS (MAX_GROUPS * GROUP_BLOCKS)

/* AESNI: P and Q (see the file comment) as nibble tables; byte j of _mm_setr_epi8 is entry j. */
#define PRE_LO 0x3e, 0xb2, 0x0e, 0x82, 0xbb, 0x37, 0x8b, 0x07, 0xa1, 0x2d, 0x91, 0x1d, 0x24, 0xa8, 0x14, 0x98
#define PRE_HI 0x00, 0xdc, 0x2e, 0xf2, 0xc5, 0x19, 0xeb, 0x37, 0x08, 0xd4, 0x26, 0xfa, 0xcd, 0x11, 0xe3, 0x3f
#define POST_LO 0x6c, 0xd4, 0xa6, 0x1e, 0x52, 0xea, 0x98, 0x20, 0x0b, 0xb3, 0xc1, 0x79, 0x35, 0x8d, 0xff, 0x47
#define POST_HI 0x00, 0xe0, 0x50, 0xb0, 0x9d, 0x7d, 0xcd, 0x2d, 0xc0, 0x20, 0x90, 0x70, 0x5d, 0xbd, 0x0d, 0xed
/* GFNI: the bit matrices phi·A and A·phi^-1 in the instructions' layout (byte 7 - i = the row of output bit i),
 * and the constants phi(0xd3) and 0xd3. */
#define GFNI_PRE_MATRIX 0x4c287db91a22505dll
#define GFNI_PRE_CONST 0x3e
#define GFNI_POST_MATRIX 0xf3ab34a974a6b589ll
#define GFNI_POST_CONST 0xd3
/* Big-endian words <-> native 32-bit lanes. */
#define BSWAP32 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12
/* Each 32-bit lane rotated left by 8, 16, 24 bits. */
#define ROL8 3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14
#define ROL16 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13
#define ROL24 1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12
/* AESNI: InvShiftRows composed with the rotations by 0, 8, 16, 24 bits: entry j = isr[rol_n[j]] with
 * isr = {0,13,10,7,4,1,14,11,8,5,2,15,12,9,6,3}. */
#define ISR_ROL0 0, 13, 10, 7, 4, 1, 14, 11, 8, 5, 2, 15, 12, 9, 6, 3
#define ISR_ROL8 7, 0, 13, 10, 11, 4, 1, 14, 15, 8, 5, 2, 3, 12, 9, 6
#define ISR_ROL16 10, 7, 0, 13, 14, 11, 4, 1, 2, 15, 8, 5, 6, 3, 12, 9
#define ISR_ROL24 13, 10, 7, 0, 1, 14, 11, 4, 5, 2, 15, 8, 9, 6, 3, 12

typedef struct {
    __m128i bswap;
    __m128i pre_lo, pre_hi, post_lo, post_hi, nibble, zero; /* AESNI */
    __m128i isr0, isr8, isr16, isr24;                       /* AESNI: InvShiftRows + byte rotations */
    __m128i pre_matrix, post_matrix;                        /* GFNI */
    __m128i rol8, rol16, rol24;                             /* GFNI: byte rotations */
} sm4_consts_t;

SSSE3_TARGET static ALWAYS_INLINE sm4_consts_t consts(void)
{
    sm4_consts_t c;
    c.bswap = _mm_setr_epi8(BSWAP32);
    c.pre_lo = _mm_setr_epi8(PRE_LO);
    c.pre_hi = _mm_setr_epi8(PRE_HI);
    c.post_lo = _mm_setr_epi8(POST_LO);
    c.post_hi = _mm_setr_epi8(POST_HI);
    c.nibble = _mm_set1_epi8(0x0f);
    c.zero = _mm_setzero_si128();
    c.isr0 = _mm_setr_epi8(ISR_ROL0);
    c.isr8 = _mm_setr_epi8(ISR_ROL8);
    c.isr16 = _mm_setr_epi8(ISR_ROL16);
    c.isr24 = _mm_setr_epi8(ISR_ROL24);
    c.pre_matrix = _mm_set1_epi64x(GFNI_PRE_MATRIX);
    c.post_matrix = _mm_set1_epi64x(GFNI_POST_MATRIX);
    c.rol8 = _mm_setr_epi8(ROL8);
    c.rol16 = _mm_setr_epi8(ROL16);
    c.rol24 = _mm_setr_epi8(ROL24);
    return c;
}

/* lo[x & 15] ^ hi[x >> 4] on each byte. */
SSSE3_TARGET static ALWAYS_INLINE __m128i affine(__m128i x, __m128i lo, __m128i hi, __m128i nibble)
{
    __m128i l = _mm_shuffle_epi8(lo, _mm_and_si128(x, nibble));
    __m128i h = _mm_shuffle_epi8(hi, _mm_and_si128(_mm_srli_epi16(x, 4), nibble));
    return _mm_xor_si128(l, h);
}

/* L(B) = B ^ B<<<24 ^ (B ^ B<<<8 ^ B<<<16)<<<2, given B and the S-box output s with the shuffles that take s to
 * B<<<8, B<<<16, B<<<24 (for AESNI they also undo ShiftRows). */
SSSE3_TARGET static ALWAYS_INLINE __m128i sm4_l(__m128i b, __m128i s, __m128i m8, __m128i m16, __m128i m24)
{
    __m128i t = _mm_xor_si128(_mm_xor_si128(b, _mm_shuffle_epi8(s, m8)), _mm_shuffle_epi8(s, m16));
    t = _mm_or_si128(_mm_slli_epi32(t, 2), _mm_srli_epi32(t, 30));
    return _mm_xor_si128(_mm_xor_si128(b, _mm_shuffle_epi8(s, m24)), t);
}

/* AESNI: tau on each byte, left in ShiftRows order (the caller's shuffles undo it). */
AESNI_TARGET static ALWAYS_INLINE __m128i sbox_aesni_shifted(const sm4_consts_t *c, __m128i x)
{
    x = affine(x, c->pre_lo, c->pre_hi, c->nibble);
    x = _mm_aesenclast_si128(x, c->zero);
    return affine(x, c->post_lo, c->post_hi, c->nibble);
}

/* T(x) = L(tau(x)) on each 32-bit lane. */
AESNI_TARGET static ALWAYS_INLINE __m128i sm4_t_aesni(const sm4_consts_t *c, __m128i x)
{
    __m128i s = sbox_aesni_shifted(c, x);
    return sm4_l(_mm_shuffle_epi8(s, c->isr0), s, c->isr8, c->isr16, c->isr24);
}

/* GFNI: tau on each byte. */
GFNI_TARGET static ALWAYS_INLINE __m128i sbox_gfni(const sm4_consts_t *c, __m128i x)
{
    x = _mm_gf2p8affine_epi64_epi8(x, c->pre_matrix, GFNI_PRE_CONST);
    return _mm_gf2p8affineinv_epi64_epi8(x, c->post_matrix, GFNI_POST_CONST);
}

GFNI_TARGET static ALWAYS_INLINE __m128i sm4_t_gfni(const sm4_consts_t *c, __m128i x)
{
    __m128i s = sbox_gfni(c, x);
    return sm4_l(s, s, c->rol8, c->rol16, c->rol24);
}

/* n <= 4 blocks at in into word-sliced registers x[0..3]; missing blocks are zeros. */
SSSE3_TARGET static ALWAYS_INLINE void load4(const uint8_t *in, size_t n, __m128i bswap, __m128i x[4])
{
    __m128i v[GROUP_BLOCKS];
    for (size_t i = 0; i < GROUP_BLOCKS; i++)
        v[i] = i < n ? _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(in + 16 * i)), bswap)
                     : _mm_setzero_si128();
    __m128i t0 = _mm_unpacklo_epi32(v[0], v[1]), t1 = _mm_unpacklo_epi32(v[2], v[3]);
    __m128i t2 = _mm_unpackhi_epi32(v[0], v[1]), t3 = _mm_unpackhi_epi32(v[2], v[3]);
    x[0] = _mm_unpacklo_epi64(t0, t1);
    x[1] = _mm_unpackhi_epi64(t0, t1);
    x[2] = _mm_unpacklo_epi64(t2, t3);
    x[3] = _mm_unpackhi_epi64(t2, t3);
}

/* The first n <= 4 output blocks: words X35, X34, X33, X32 = x[3], x[2], x[1], x[0] (GB/T 32907 §6.2, R). */
SSSE3_TARGET static ALWAYS_INLINE void store4(uint8_t *out, size_t n, __m128i bswap, const __m128i x[4])
{
    __m128i t0 = _mm_unpacklo_epi32(x[3], x[2]), t1 = _mm_unpacklo_epi32(x[1], x[0]);
    __m128i t2 = _mm_unpackhi_epi32(x[3], x[2]), t3 = _mm_unpackhi_epi32(x[1], x[0]);
    __m128i v[GROUP_BLOCKS] = {_mm_unpacklo_epi64(t0, t1), _mm_unpackhi_epi64(t0, t1), _mm_unpacklo_epi64(t2, t3),
                               _mm_unpackhi_epi64(t2, t3)};
    for (size_t i = 0; i < GROUP_BLOCKS && i < n; i++)
        _mm_storeu_si128((__m128i *)(void *)(out + 16 * i), _mm_shuffle_epi8(v[i], bswap));
}

/* 4 * (groups - 1) < n <= 4 * groups blocks into / out of `groups` register sets. */
SSSE3_TARGET static ALWAYS_INLINE void load_groups(const sm4_consts_t *c, const uint8_t *in, size_t n, unsigned groups,
                                                   __m128i x[][4])
{
    for (unsigned g = 0; g < groups; g++)
        load4(in + g * GROUP_BLOCKS * MSRTP_SM4_BLOCK_LEN, n - g * GROUP_BLOCKS, c->bswap, x[g]);
}

SSSE3_TARGET static ALWAYS_INLINE void store_groups(const sm4_consts_t *c, uint8_t *out, size_t n, unsigned groups,
                                                    __m128i x[][4])
{
    for (unsigned g = 0; g < groups; g++)
        store4(out + g * GROUP_BLOCKS * MSRTP_SM4_BLOCK_LEN, n - g * GROUP_BLOCKS, c->bswap, x[g]);
}

/* The 32 rounds on `groups` register sets, interleaved: x[g][s] ^= T(x[g][s+1] ^ x[g][s+2] ^ x[g][s+3] ^ rk),
 * indices mod 4. The expression is grouped so that only the newest word, x[s+3], waits on the previous round. */
#define SM4_ROUNDS(T, c, rk, x, groups)                                                                 \
    do {                                                                                                \
        for (unsigned r = 0; r < MSRTP_SM4_ROUNDS; r += 4) {                                            \
            for (unsigned s = 0; s < 4; s++) {                                                          \
                __m128i k = _mm_set1_epi32((int)(rk)[r + s]);                                           \
                for (unsigned g = 0; g < (groups); g++) {                                               \
                    __m128i in = _mm_xor_si128(_mm_xor_si128(x[g][(s + 1) & 3], x[g][(s + 2) & 3]), k); \
                    x[g][s] = _mm_xor_si128(x[g][s], T((c), _mm_xor_si128(in, x[g][(s + 3) & 3])));     \
                }                                                                                       \
            }                                                                                           \
        }                                                                                               \
    } while (0)

/* One pass of n <= PASS_BLOCKS blocks. Inlined with a constant `groups` so the loops over sets unroll and the sets
 * stay in registers. */
AESNI_TARGET static ALWAYS_INLINE void groups_aesni(const sm4_consts_t *c, const uint32_t *rk, const uint8_t *in,
                                                    uint8_t *out, size_t n, unsigned groups)
{
    __m128i x[MAX_GROUPS][4];
    load_groups(c, in, n, groups, x);
    SM4_ROUNDS(sm4_t_aesni, c, rk, x, groups);
    store_groups(c, out, n, groups, x);
}

AESNI_TARGET static void pass_aesni(const uint32_t *rk, const uint8_t *in, uint8_t *out, size_t n)
{
    const sm4_consts_t k = consts(), *c = &k; /* built here, so the constants fold into the code */
    if (n > 2 * GROUP_BLOCKS)
        groups_aesni(c, rk, in, out, n, 3);
    else if (n > GROUP_BLOCKS)
        groups_aesni(c, rk, in, out, n, 2);
    else
        groups_aesni(c, rk, in, out, n, 1);
}

GFNI_TARGET static ALWAYS_INLINE void groups_gfni(const sm4_consts_t *c, const uint32_t *rk, const uint8_t *in,
                                                  uint8_t *out, size_t n, unsigned groups)
{
    __m128i x[MAX_GROUPS][4];
    load_groups(c, in, n, groups, x);
    SM4_ROUNDS(sm4_t_gfni, c, rk, x, groups);
    store_groups(c, out, n, groups, x);
}

GFNI_TARGET static void pass_gfni(const uint32_t *rk, const uint8_t *in, uint8_t *out, size_t n)
{
    const sm4_consts_t k = consts(), *c = &k; /* built here, so the constants fold into the code */
    if (n > 2 * GROUP_BLOCKS)
        groups_gfni(c, rk, in, out, n, 3);
    else if (n > GROUP_BLOCKS)
        groups_gfni(c, rk, in, out, n, 2);
    else
        groups_gfni(c, rk, in, out, n, 1);
}

int msrtp_sm4_x86_supported(msrtp_sm4_impl_t impl)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("ssse3"))
        return 0;
    if (impl == MSRTP_SM4_IMPL_AESNI)
        return __builtin_cpu_supports("aes");
    if (impl == MSRTP_SM4_IMPL_GFNI)
        return __builtin_cpu_supports("gfni");
    return 0;
}

SSSE3_TARGET void msrtp_sm4_x86_blocks(msrtp_sm4_impl_t impl, const uint32_t rk[MSRTP_SM4_ROUNDS], const uint8_t *in,
                                       uint8_t *out, size_t nblocks)
{
    void (*pass)(const uint32_t *, const uint8_t *, uint8_t *, size_t) =
        impl == MSRTP_SM4_IMPL_GFNI ? pass_gfni : pass_aesni;
    while (nblocks) {
        size_t n = nblocks < PASS_BLOCKS ? nblocks : PASS_BLOCKS;
        pass(rk, in, out, n);
        in += n * MSRTP_SM4_BLOCK_LEN;
        out += n * MSRTP_SM4_BLOCK_LEN;
        nblocks -= n;
    }
}

AESNI_TARGET static uint32_t tau_aesni(const sm4_consts_t *c, uint32_t a)
{
    /* Lane 0 only; InvShiftRows brings bytes 0-3 of the result back to lane 0. */
    __m128i s = _mm_shuffle_epi8(sbox_aesni_shifted(c, _mm_cvtsi32_si128((int)a)), c->isr0);
    return (uint32_t)_mm_cvtsi128_si32(s);
}

GFNI_TARGET static uint32_t tau_gfni(const sm4_consts_t *c, uint32_t a)
{
    return (uint32_t)_mm_cvtsi128_si32(sbox_gfni(c, _mm_cvtsi32_si128((int)a)));
}

SSSE3_TARGET uint32_t msrtp_sm4_x86_tau(msrtp_sm4_impl_t impl, uint32_t a)
{
    const sm4_consts_t c = consts();
    return impl == MSRTP_SM4_IMPL_GFNI ? tau_gfni(&c, a) : tau_aesni(&c, a);
}

#else /* not x86: the table implementation only; msrtp_sm4.c never calls the two below */

int msrtp_sm4_x86_supported(msrtp_sm4_impl_t impl)
{
    (void)impl;
    return 0;
}

void msrtp_sm4_x86_blocks(msrtp_sm4_impl_t impl, const uint32_t rk[MSRTP_SM4_ROUNDS], const uint8_t *in, uint8_t *out,
                          size_t nblocks)
{
    (void)impl, (void)rk, (void)in, (void)out, (void)nblocks;
}

uint32_t msrtp_sm4_x86_tau(msrtp_sm4_impl_t impl, uint32_t a)
{
    (void)impl;
    return a;
}

#endif
