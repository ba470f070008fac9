/*
 * Unit tests for the primitives under lib/srtp: SM4 (GB/T 32907-2016 Appendix A examples 1 and 2, OpenSSL's and
 * each of ours — the portable table, AES-NI and GFNI — which are also checked against each other and OpenSSL on
 * many random keys and block counts) and SM3
 * (GB/T 32905-2016 Appendix A examples 1 and 2) known answers, msrtp_sm3 and the precomputed-pad HMACs against
 * OpenSSL's EVP SM3 / EVP_MAC, RFC 2202 HMAC-SHA1, the RFC 3711 B.2 AES-CM keystream, the RFC 3711 B.3 key
 * derivation, and the Appendix A index estimation / §3.3.2 replay window.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_hex.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "srtp/msrtp_internal.h"
#include "srtp/msrtp_mac.h"
#include "srtp/msrtp_sm3.h"
#include "srtp/msrtp_sm4.h"

/* ------------------------------------------------------------ SM4 */

static void test_sm4_gbt32907_example1(void **state)
{
    (void)state;
    uint8_t key[16], block[16];
    unhex("0123456789abcdeffedcba9876543210", key);
    unhex("0123456789abcdeffedcba9876543210", block);
    EVP_CIPHER_CTX *ecb = msrtp_ecb_new("SM4-ECB", key, sizeof(key));
    assert_non_null(ecb); /* OpenSSL 3 default provider has SM4; if not, this is where it shows */
    int outl = 0;
    assert_int_equal(EVP_EncryptUpdate(ecb, block, &outl, block, sizeof(block)), 1);
    assert_int_equal(outl, 16);
    assert_hex_equal(block, 16, "681edf34d206965e86b3e94f536e4246");
    EVP_CIPHER_CTX_free(ecb);
}

/* Example 2: the same block encrypted 1,000,000 times under the same key. */
static void test_sm4_gbt32907_example2(void **state)
{
    (void)state;
    uint8_t key[16], block[16];
    unhex("0123456789abcdeffedcba9876543210", key);
    unhex("0123456789abcdeffedcba9876543210", block);
    EVP_CIPHER_CTX *ecb = msrtp_ecb_new("SM4-ECB", key, sizeof(key));
    assert_non_null(ecb);
    for (int i = 0; i < 1000000; i++) {
        int outl = 0;
        assert_int_equal(EVP_EncryptUpdate(ecb, block, &outl, block, sizeof(block)), 1);
    }
    assert_hex_equal(block, 16, "595298c7c6fd271f0402f804c33d3f66");
    EVP_CIPHER_CTX_free(ecb);
}

/* Our SM4 (msrtp_sm4, used for the SM4 suite): example 1, and against OpenSSL's SM4-ECB for 200 random-ish keys and
 * 1..9 blocks (odd counts exercise the partial interleave group). */
static void test_own_sm4(void **state)
{
    (void)state;
    uint8_t key[16], block[16 * 9], want[16 * 9];
    unhex("0123456789abcdeffedcba9876543210", key);
    memcpy(block, key, 16);
    msrtp_sm4_t k;
    msrtp_sm4_init(&k, key);
    msrtp_sm4_encrypt_blocks(&k, block, block, 1);
    assert_hex_equal(block, 16, "681edf34d206965e86b3e94f536e4246");
    for (unsigned t = 0; t < 200; t++) {
        for (unsigned i = 0; i < 16; i++)
            key[i] = (uint8_t)(t * 31 + i * 17 + (t >> 3));
        for (unsigned i = 0; i < sizeof(block); i++)
            block[i] = (uint8_t)(t ^ (i * 29));
        size_t n = 1 + t % 9;
        EVP_CIPHER_CTX *ecb = msrtp_ecb_new("SM4-ECB", key, sizeof(key));
        assert_non_null(ecb);
        int outl = 0;
        assert_int_equal(EVP_EncryptUpdate(ecb, want, &outl, block, (int)(16 * n)), 1);
        EVP_CIPHER_CTX_free(ecb);
        msrtp_sm4_init(&k, key);
        msrtp_sm4_encrypt_blocks(&k, block, block, n);
        assert_memory_equal(block, want, 16 * n);
    }
}

/* Our implementations: each one this CPU runs is tested (TABLE always; AESNI and GFNI on x86 with the
 * instructions). */
static const msrtp_sm4_impl_t sm4_impls[] = {MSRTP_SM4_IMPL_TABLE, MSRTP_SM4_IMPL_AESNI, MSRTP_SM4_IMPL_GFNI};
#define N_SM4_IMPLS (sizeof(sm4_impls) / sizeof(sm4_impls[0]))

static const char *sm4_impl_name(msrtp_sm4_impl_t impl)
{
    return impl == MSRTP_SM4_IMPL_GFNI ? "GFNI" : impl == MSRTP_SM4_IMPL_AESNI ? "AESNI" : "TABLE";
}

/* Keys k with impl; 0 (and a message) when this CPU does not run it. */
static int sm4_key(msrtp_sm4_t *k, const uint8_t key[16], msrtp_sm4_impl_t impl)
{
    if (!msrtp_sm4_impl_supported(impl)) {
        printf("SM4 %s: not supported by this CPU, not tested\n", sm4_impl_name(impl));
        return 0;
    }
    assert_int_equal(msrtp_sm4_init_impl(k, key, impl), 0);
    assert_int_equal(k->impl, impl);
    return 1;
}

/* GB/T 32907 examples 1 and 2 through each of our implementations. */
static void test_own_sm4_examples(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SM4_IMPLS; i++) {
        uint8_t key[16], block[16];
        unhex("0123456789abcdeffedcba9876543210", key);
        memcpy(block, key, 16);
        msrtp_sm4_t k;
        if (!sm4_key(&k, key, sm4_impls[i]))
            continue;
        msrtp_sm4_encrypt_blocks(&k, block, block, 1);
        assert_hex_equal(block, 16, "681edf34d206965e86b3e94f536e4246");
        for (int j = 1; j < 1000000; j++)
            msrtp_sm4_encrypt_blocks(&k, block, block, 1);
        assert_hex_equal(block, 16, "595298c7c6fd271f0402f804c33d3f66");
    }
}

/* msrtp_sm4_init picks GFNI, else AES-NI, else the table, whichever the CPU runs first. */
static void test_own_sm4_auto_choice(void **state)
{
    (void)state;
    uint8_t key[16] = {0};
    msrtp_sm4_t k;
    msrtp_sm4_init(&k, key);
    msrtp_sm4_impl_t want = msrtp_sm4_impl_supported(MSRTP_SM4_IMPL_GFNI)    ? MSRTP_SM4_IMPL_GFNI
                            : msrtp_sm4_impl_supported(MSRTP_SM4_IMPL_AESNI) ? MSRTP_SM4_IMPL_AESNI
                                                                             : MSRTP_SM4_IMPL_TABLE;
    printf("SM4 on this CPU: %s\n", sm4_impl_name(want));
    assert_int_equal(k.impl, want);
    assert_int_equal(msrtp_sm4_force_impl(MSRTP_SM4_IMPL_TABLE), 0);
    msrtp_sm4_init(&k, key);
    assert_int_equal(k.impl, MSRTP_SM4_IMPL_TABLE);
    assert_int_equal(msrtp_sm4_force_impl(MSRTP_SM4_IMPL_AUTO), 0);
    assert_int_equal(msrtp_sm4_force_impl((msrtp_sm4_impl_t)99), -1);
}

/* xorshift64*: reproducible pseudo-random test data. */
static uint64_t rnd_next(uint64_t *s)
{
    *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

static void rnd_fill(uint64_t *s, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(rnd_next(s) >> 56);
}

#define SM4_RANDOM_KEYS 2000
#define SM4_RANDOM_MAX_BLOCKS 40 /* covers every grouping of the SIMD paths (1-4, 5-8, 9-12 blocks, and loops) */

/* Every implementation against OpenSSL's SM4-ECB (and so against each other) on random keys and 1..40 random
 * blocks, in place and out of place, with equal round keys. */
static void test_own_sm4_random(void **state)
{
    (void)state;
    uint64_t seed = 0x6d696875612d736dull;
    uint8_t key[16], in[16 * SM4_RANDOM_MAX_BLOCKS], want[sizeof(in)], got[sizeof(in) + 16];
    for (unsigned t = 0; t < SM4_RANDOM_KEYS; t++) {
        rnd_fill(&seed, key, sizeof(key));
        size_t n = 1 + rnd_next(&seed) % SM4_RANDOM_MAX_BLOCKS;
        rnd_fill(&seed, in, 16 * n);
        EVP_CIPHER_CTX *ecb = msrtp_ecb_new("SM4-ECB", key, sizeof(key));
        assert_non_null(ecb);
        int outl = 0;
        assert_int_equal(EVP_EncryptUpdate(ecb, want, &outl, in, (int)(16 * n)), 1);
        EVP_CIPHER_CTX_free(ecb);
        msrtp_sm4_t ref;
        assert_int_equal(msrtp_sm4_init_impl(&ref, key, MSRTP_SM4_IMPL_TABLE), 0);
        for (size_t i = 0; i < N_SM4_IMPLS; i++) {
            msrtp_sm4_t k;
            if (!msrtp_sm4_impl_supported(sm4_impls[i]))
                continue;
            assert_int_equal(msrtp_sm4_init_impl(&k, key, sm4_impls[i]), 0);
            assert_memory_equal(k.rk, ref.rk, sizeof(k.rk));
            memset(got, 0xa5, sizeof(got));
            msrtp_sm4_encrypt_blocks(&k, in, got, n);
            assert_memory_equal(got, want, 16 * n);
            assert_int_equal(got[16 * n], 0xa5); /* nothing written past the last block */
            memcpy(got, in, 16 * n);
            msrtp_sm4_encrypt_blocks(&k, got, got, n);
            assert_memory_equal(got, want, 16 * n);
        }
    }
}

/* ------------------------------------------------------------ SM3 */

static void sm3_once(const void *data, size_t len, uint8_t out[32])
{
    msrtp_sm3_t s;
    msrtp_sm3_init(&s);
    msrtp_sm3_update(&s, data, len);
    msrtp_sm3_final(&s, out);
}

static void test_sm3_gbt32905_examples(void **state)
{
    (void)state;
    uint8_t d[32];
    sm3_once("abc", 3, d);
    assert_hex_equal(d, 32, "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
    char m[65];
    for (int i = 0; i < 16; i++)
        memcpy(m + 4 * i, "abcd", 4);
    sm3_once(m, 64, d);
    assert_hex_equal(d, 32, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732");
}

/* msrtp_sm3 against OpenSSL's SM3 for every length 0..300, fed in uneven pieces. */
static void test_sm3_matches_openssl(void **state)
{
    (void)state;
    uint8_t msg[300], a[32], b[32];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 7 + 3);
    EVP_MD *md = EVP_MD_fetch(NULL, "SM3", NULL);
    assert_non_null(md);
    for (size_t len = 0; len <= sizeof(msg); len++) {
        msrtp_sm3_t s;
        msrtp_sm3_init(&s);
        size_t off = 0, step = 1;
        while (off < len) {
            size_t n = len - off < step ? len - off : step;
            msrtp_sm3_update(&s, msg + off, n);
            off += n;
            step = step * 3 % 71 + 1;
        }
        msrtp_sm3_final(&s, a);
        unsigned int outl = 0;
        assert_int_equal(EVP_Digest(msg, len, b, &outl, md, NULL), 1);
        assert_memory_equal(a, b, 32);
    }
    EVP_MD_free(md);
}

/* ------------------------------------------------------------ HMAC */

static void openssl_hmac(const char *digest, const uint8_t *key, size_t key_len, const uint8_t *msg, size_t len,
                         uint8_t *out, size_t *out_len)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0),
                           OSSL_PARAM_construct_end()};
    assert_int_equal(EVP_MAC_init(ctx, key, key_len, params), 1);
    assert_int_equal(EVP_MAC_update(ctx, msg, len), 1);
    assert_int_equal(EVP_MAC_final(ctx, out, out_len, 64), 1);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
}

static void test_hmac_sha1_rfc2202(void **state)
{
    (void)state;
    uint8_t key[20], tag[20];
    memset(key, 0x0b, sizeof(key));
    msrtp_mac_t m;
    assert_int_equal(msrtp_mac_init(&m, MSRTP_MAC_HMAC_SHA1, key, sizeof(key)), 0);
    msrtp_mac_compute(&m, (const uint8_t *)"Hi ", 3, (const uint8_t *)"There", 5, tag, sizeof(tag));
    assert_hex_equal(tag, 20, "b617318655057264e28bc0b6fb378c8ef146be00");
    msrtp_mac_cleanse(&m);
}

/* Both HMACs against EVP_MAC for key lengths up to 32 and messages 0..200, split between the two inputs. */
static void test_hmac_matches_openssl(void **state)
{
    (void)state;
    uint8_t key[32], msg[200], got[32], want[64];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(0xa5 ^ i);
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)i;
    const struct {
        msrtp_mac_kind_t kind;
        const char *digest;
        size_t len;
    } kinds[] = {{MSRTP_MAC_HMAC_SHA1, "SHA1", 20}, {MSRTP_MAC_HMAC_SM3, "SM3", 32}};
    for (size_t k = 0; k < 2; k++) {
        for (size_t key_len = 1; key_len <= sizeof(key); key_len += 7) {
            msrtp_mac_t m;
            assert_int_equal(msrtp_mac_init(&m, kinds[k].kind, key, key_len), 0);
            for (size_t len = 0; len <= sizeof(msg); len += 13) {
                size_t want_len = 0;
                openssl_hmac(kinds[k].digest, key, key_len, msg, len, want, &want_len);
                assert_int_equal(want_len, kinds[k].len);
                size_t split = len / 3;
                msrtp_mac_compute(&m, msg, split, msg + split, len - split, got, kinds[k].len);
                assert_memory_equal(got, want, kinds[k].len);
            }
            msrtp_mac_cleanse(&m);
        }
    }
}

/* ------------------------------------------------------------ RFC 3711 B.2 */

static void test_rfc3711_b2_keystream(void **state)
{
    (void)state;
    uint8_t key[16], iv[16];
    unhex("2B7E151628AED2A6ABF7158809CF4F3C", key);
    /* IV = session salt F0F1...FD << 16, SSRC 0, index 0 */
    unhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000", iv);
    size_t len = 0xff02 * 16;
    uint8_t *ks = calloc(1, len);
    assert_non_null(ks);
    msrtp_ctr_t ctr;
    assert_int_equal(msrtp_ctr_init(&ctr, "AES-128-ECB", key, sizeof(key)), 0);
    assert_int_equal(msrtp_ctr_xor(&ctr, iv, ks, len), 0);
    assert_hex_equal(ks + 0x0000 * 16, 16, "E03EAD0935C95E80E166B16DD92B4EB4");
    assert_hex_equal(ks + 0x0001 * 16, 16, "D23513162B02D0F72A43A2FE4A5F97AB");
    assert_hex_equal(ks + 0x0002 * 16, 16, "41E95B3BB0A2E8DD477901E4FCA894C0");
    assert_hex_equal(ks + 0xfeff * 16, 16, "EC8CDF7398607CB0F2D21675EA9EA1E4");
    assert_hex_equal(ks + 0xff00 * 16, 16, "362B7C3C6773516318A077D7FC5073AE");
    assert_hex_equal(ks + 0xff01 * 16, 16, "6A2CC3787889374FBEB4C81B17BA6C44");
    /* more than 2^16 blocks is refused */
    uint8_t *big = calloc(1, (size_t)MSRTP_CTR_MAX_BLOCKS * 16 + 1);
    assert_non_null(big);
    assert_int_equal(msrtp_ctr_xor(&ctr, iv, big, (size_t)MSRTP_CTR_MAX_BLOCKS * 16 + 1), -1);
    free(big);
    msrtp_ctr_clear(&ctr);
    free(ks);
}

/* ------------------------------------------------------------ RFC 3711 B.3 */

static void test_rfc3711_b3_kdf(void **state)
{
    (void)state;
    msrtp_master_t m = {.key_len = 16, .salt_len = 14};
    unhex("E1F97A0D3E018BE0D64FA32C06DE4139", m.key);
    unhex("0EC675AD498AFEEBB6960B3AABE6", m.salt);

    msrtp_session_keys_t sk;
    assert_int_equal(msrtp_session_keys_derive(MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80, &m, 0, &sk), MSRTP_OK);
    assert_hex_equal(sk.enc, 16, "C61E7A93744F39EE10734AFE3FF7A087");
    assert_hex_equal(sk.salt, 14, "30CBBC08863D8C85D49DB34A9AE1");
    assert_hex_equal(sk.auth, 20, "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4");

    /* B.3 also lists a longer authentication key; the PRF is one keystream, so its first 94 bytes must match */
    uint8_t auth[94];
    msrtp_ctr_t prf;
    assert_int_equal(msrtp_ctr_init(&prf, "AES-128-ECB", m.key, m.key_len), 0);
    assert_int_equal(msrtp_kdf(&prf, m.salt, m.salt_len, MSRTP_LABEL_RTP_AUTH, auth, sizeof(auth)), 0);
    assert_hex_equal(auth, sizeof(auth),
                     "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE"
                     "E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25"
                     "6D6E919A48B610EF17C2041E47403576"
                     "6B68642C59BBFC2F34DB60DBDFB2");
    msrtp_ctr_clear(&prf);

    /* wrong master lengths are refused */
    m.salt_len = 12;
    assert_int_equal(msrtp_session_keys_derive(MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80, &m, 0, &sk), MSRTP_ERR_ARG);
}

/* ------------------------------------------------------------ Appendix A / §3.3.2 */

static msrtp_window_t window_at(uint64_t top)
{
    msrtp_window_t w = {0};
    msrtp_window_update(&w, top);
    return w;
}

static void test_index_estimation(void **state)
{
    (void)state;
    uint64_t idx;
    msrtp_window_t w = {0};
    assert_int_equal(msrtp_rtp_index_guess(&w, 65000, &idx), MSRTP_OK); /* first packet: ROC 0 */
    assert_int_equal(idx, 65000);

    w = window_at(65535); /* s_l >= 2^15: small seq = next ROC */
    assert_int_equal(msrtp_rtp_index_guess(&w, 0, &idx), MSRTP_OK);
    assert_int_equal(idx, 65536);
    assert_int_equal(msrtp_rtp_index_guess(&w, 65530, &idx), MSRTP_OK);
    assert_int_equal(idx, 65530);

    w = window_at(65536 + 3); /* ROC 1, s_l 3: a late 65534 belongs to ROC 0 */
    assert_int_equal(msrtp_rtp_index_guess(&w, 65534, &idx), MSRTP_OK);
    assert_int_equal(idx, 65534);
    assert_int_equal(msrtp_rtp_index_guess(&w, 10, &idx), MSRTP_OK);
    assert_int_equal(idx, 65536 + 10);

    w = window_at(5); /* ROC 0: ROC - 1 does not exist */
    assert_int_equal(msrtp_rtp_index_guess(&w, 60000, &idx), MSRTP_ERR_REPLAY);

    w = window_at(MSRTP_RTP_INDEX_LIMIT - 2); /* ROC 2^32 - 1, s_l 65534: the next wrap exhausts the key */
    assert_int_equal(msrtp_rtp_index_guess(&w, 65535, &idx), MSRTP_OK);
    assert_int_equal(msrtp_rtp_index_guess(&w, 0, &idx), MSRTP_ERR_EXHAUSTED);
}

static void test_replay_window(void **state)
{
    (void)state;
    msrtp_window_t w = window_at(1000);
    assert_int_equal(msrtp_window_check(&w, 1000), MSRTP_ERR_REPLAY);
    assert_int_equal(msrtp_window_check(&w, 1001), MSRTP_OK);
    assert_int_equal(msrtp_window_check(&w, 999), MSRTP_OK);
    assert_int_equal(msrtp_window_check(&w, 1000 - 63), MSRTP_OK);
    assert_int_equal(msrtp_window_check(&w, 1000 - 64), MSRTP_ERR_REPLAY); /* left of the window */
    msrtp_window_update(&w, 999);
    assert_int_equal(msrtp_window_check(&w, 999), MSRTP_ERR_REPLAY);
    msrtp_window_update(&w, 1010);
    assert_int_equal(msrtp_window_check(&w, 999), MSRTP_ERR_REPLAY);
    assert_int_equal(msrtp_window_check(&w, 1000), MSRTP_ERR_REPLAY);
    assert_int_equal(msrtp_window_check(&w, 1005), MSRTP_OK);
    msrtp_window_update(&w, 1010 + 200); /* jump beyond the window clears it */
    assert_int_equal(msrtp_window_check(&w, 1210 - 1), MSRTP_OK);
    assert_int_equal(msrtp_window_check(&w, 1210), MSRTP_ERR_REPLAY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sm4_gbt32907_example1),
        cmocka_unit_test(test_sm4_gbt32907_example2),
        cmocka_unit_test(test_own_sm4),
        cmocka_unit_test(test_own_sm4_examples),
        cmocka_unit_test(test_own_sm4_auto_choice),
        cmocka_unit_test(test_own_sm4_random),
        cmocka_unit_test(test_sm3_gbt32905_examples),
        cmocka_unit_test(test_sm3_matches_openssl),
        cmocka_unit_test(test_hmac_sha1_rfc2202),
        cmocka_unit_test(test_hmac_matches_openssl),
        cmocka_unit_test(test_rfc3711_b2_keystream),
        cmocka_unit_test(test_rfc3711_b3_kdf),
        cmocka_unit_test(test_index_estimation),
        cmocka_unit_test(test_replay_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
