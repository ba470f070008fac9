/*
 * Unit tests for lib/srtp packet transforms: RFC 7714 §16.1 (SRTP AEAD_AES_128_GCM) and §17.1 (SRTCP) vectors, our
 * own SM4_CM_128_HMAC_SM3_80 vectors, ROC rollover across 65535 -> 0, replay, a flipped bit per suite, SRTCP round
 * trips, parse/role/space/SSRC errors, and the DESIGN §4 master keys against lib/kms kms_srtp_key_derive.
 *
 * How the SM4 suite vectors were produced: an independent Python 3 model (not a port of this C code) built on
 * `cryptography` 48 (SM4-ECB) and hashlib/hmac (SM3 from OpenSSL), implementing RFC 3711 §4.1.1 counter mode,
 * the §4.3 KDF (x = salt ^ label << 48, IV = x << 16) and HMAC-SM3 over header||ciphertext||ROC truncated to 10
 * bytes, with n_a = 256 bits. The model first re-derives RFC 3711 B.3 under AES and the GB/T 32907 SM4 example, so
 * the framing is checked before it is used for SM4:
 *     def ctr(alg, key, iv, n): ECB-encrypt iv, iv+1, ... (128-bit big-endian) and take n bytes
 *     def kdf(alg, mk, ms, label, n): x = ms.ljust(14, 0); x[7] ^= label; return ctr(alg, mk, x || 0000, n)
 *     SRTP:  iv = k_s << 16 ^ ssrc << 64 ^ index << 16; ct = pt ^ ctr(SM4, k_e, iv); tag = HMAC-SM3(k_a, hdr||ct||ROC)[:10]
 *     SRTCP: iv with the SRTCP index; out = hdr || ct || (0x80000000|index) || HMAC-SM3(k_a, all before)[:10]
 * Master key 000102..0f, master salt a0a1..ad, SSRC cafebabe.
 *
 * The SM4 suite tests run with the SM4 implementation this CPU picks (GFNI or AES-NI on x86) and again pinned to
 * the portable table one, and every implementation the CPU runs is compared with the table packet by packet, so
 * the fallbacks stay tested.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "test_hex.h"

#include "kms/kms_crypto.h"
#include "srtp/msrtp.h"
#include "srtp/msrtp_internal.h"
#include "srtp/msrtp_sm4.h"

#define PKT_CAP 512
#define PAYLOAD_LEN 160

static const msrtp_suite_t all_suites[] = {MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80, MSRTP_SUITE_AEAD_AES_128_GCM,
                                           MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80};
#define N_SUITES (sizeof(all_suites) / sizeof(all_suites[0]))

static msrtp_master_t test_master(msrtp_suite_t suite)
{
    msrtp_master_t m;
    assert_int_equal(msrtp_suite_master_lengths(suite, &m.key_len, &m.salt_len), 0);
    for (size_t i = 0; i < m.key_len; i++)
        m.key[i] = (uint8_t)i;
    for (size_t i = 0; i < m.salt_len; i++)
        m.salt[i] = (uint8_t)(0xa0 + i);
    return m;
}

/* A plain RTP packet: V=2, PT 0, given seq, timestamp 160*seq, SSRC, payload bytes seq+i. Returns its length. */
static size_t make_rtp(uint8_t *buf, uint16_t seq, uint32_t ssrc, size_t payload)
{
    buf[0] = 0x80, buf[1] = 0x00, buf[2] = (uint8_t)(seq >> 8), buf[3] = (uint8_t)seq;
    uint32_t ts = 160u * seq;
    buf[4] = (uint8_t)(ts >> 24), buf[5] = (uint8_t)(ts >> 16), buf[6] = (uint8_t)(ts >> 8), buf[7] = (uint8_t)ts;
    buf[8] = (uint8_t)(ssrc >> 24), buf[9] = (uint8_t)(ssrc >> 16), buf[10] = (uint8_t)(ssrc >> 8);
    buf[11] = (uint8_t)ssrc;
    for (size_t i = 0; i < payload; i++)
        buf[12 + i] = (uint8_t)(seq + i);
    return 12 + payload;
}

typedef struct {
    msrtp_ctx_t *tx, *rx;
} pair_t;

static pair_t pair_new(msrtp_suite_t suite)
{
    msrtp_master_t m = test_master(suite);
    pair_t p = {msrtp_ctx_new(suite, MSRTP_ROLE_SEND, &m), msrtp_ctx_new(suite, MSRTP_ROLE_RECV, &m)};
    assert_non_null(p.tx);
    assert_non_null(p.rx);
    msrtp_master_cleanse(&m);
    return p;
}

static void pair_free(pair_t *p)
{
    msrtp_ctx_free(p->tx);
    msrtp_ctx_free(p->rx);
}

/* Protect seq with tx, unprotect with rx, compare with the plain packet. */
static void round_trip(pair_t *p, uint16_t seq)
{
    uint8_t plain[PKT_CAP], buf[PKT_CAP];
    size_t len = make_rtp(plain, seq, 0x11223344, PAYLOAD_LEN), out = 0, back = 0;
    memcpy(buf, plain, len);
    assert_int_equal(msrtp_protect(p->tx, buf, len, sizeof(buf), &out), MSRTP_OK);
    assert_int_equal(out, len + msrtp_suite_rtp_trailer(msrtp_ctx_suite(p->tx)));
    assert_memory_not_equal(buf + 12, plain + 12, PAYLOAD_LEN);
    assert_int_equal(msrtp_unprotect(p->rx, buf, out, &back), MSRTP_OK);
    assert_int_equal(back, len);
    assert_memory_equal(buf, plain, len);
}

/* ------------------------------------------------------------ suites */

static void test_suite_names(void **state)
{
    (void)state;
    msrtp_suite_t s;
    for (size_t i = 0; i < N_SUITES; i++) {
        assert_int_equal(msrtp_suite_from_name(msrtp_suite_name(all_suites[i]), &s), 0);
        assert_int_equal(s, all_suites[i]);
    }
    assert_int_equal(msrtp_suite_from_name("AES_CM_128_HMAC_SHA1_32", &s), -1);
    assert_null(msrtp_suite_name((msrtp_suite_t)7));
    size_t k, n;
    assert_int_equal(msrtp_suite_master_lengths(MSRTP_SUITE_AEAD_AES_128_GCM, &k, &n), 0);
    assert_int_equal(k, 16);
    assert_int_equal(n, 12);
    assert_int_equal(msrtp_suite_rtcp_trailer(MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80), 14);
    assert_int_equal(msrtp_suite_rtp_trailer(MSRTP_SUITE_AEAD_AES_128_GCM), 16);
}

/* ------------------------------------------------------------ DESIGN §4 master keys */

static void test_master_derive_matches_kms(void **state)
{
    (void)state;
    uint8_t session[KMS_KEY_LEN], ref[30];
    for (size_t i = 0; i < sizeof(session); i++)
        session[i] = (uint8_t)(0x40 + i);
    const char *call_id = "a84b4c76e66710@pc33.ims.test";
    for (size_t i = 0; i < N_SUITES; i++) {
        for (int d = 0; d < 2; d++) {
            msrtp_master_t m;
            assert_int_equal(msrtp_master_derive(session, sizeof(session), call_id, strlen(call_id), all_suites[i],
                                                 (msrtp_dir_t)d, &m),
                             MSRTP_OK);
            assert_int_equal(kms_srtp_key_derive(session, call_id, strlen(call_id), msrtp_suite_name(all_suites[i]),
                                                 d ? KMS_SRTP_CALLEE_TO_CALLER : KMS_SRTP_CALLER_TO_CALLEE, ref,
                                                 m.key_len + m.salt_len),
                             0);
            assert_memory_equal(m.key, ref, m.key_len);
            assert_memory_equal(m.salt, ref + m.key_len, m.salt_len);
        }
    }
    msrtp_master_t a, b;
    msrtp_master_derive(session, sizeof(session), call_id, strlen(call_id), MSRTP_SUITE_AEAD_AES_128_GCM,
                        MSRTP_DIR_CALLER_TO_CALLEE, &a);
    msrtp_master_derive(session, sizeof(session), call_id, strlen(call_id), MSRTP_SUITE_AEAD_AES_128_GCM,
                        MSRTP_DIR_CALLEE_TO_CALLER, &b);
    assert_memory_not_equal(a.key, b.key, a.key_len);
    assert_int_equal(msrtp_master_derive(session, sizeof(session), "", 0, MSRTP_SUITE_AEAD_AES_128_GCM,
                                         MSRTP_DIR_CALLEE_TO_CALLER, &b),
                     MSRTP_ERR_ARG);
}

/* ------------------------------------------------------------ RFC 7714 §16.1, §17.1 */

#define RFC7714_KEY "000102030405060708090a0b0c0d0e0f"
#define RFC7714_SALT "517569642070726f2071756f"
#define RFC7714_RTP \
    "8040f17b8041f8d35501a0b247616c6c696120657374206f6d6e69732064697669736120696e207061727465732074726573"
#define RFC7714_SRTP                                                                                                   \
    "8040f17b8041f8d35501a0b2f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833899d7f27beb1" \
    "6a9152cf765ee4390cce"
#define RFC7714_RTCP \
    "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeefdeadbeefdeadbeefdeadbeef"
#define RFC7714_SRTCP                                                                                                  \
    "81c8000d4d61727363e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda4ce09b4686303ded0bb9275bc84aa458" \
    "96cf4d2fc5abf87245d9eade800005d4"
#define RFC7714_SRTCP_INDEX 0x5d4

static msrtp_ctx_t *rfc7714_ctx(msrtp_role_t role)
{
    msrtp_session_keys_t sk = {0};
    unhex(RFC7714_KEY, sk.enc);
    unhex(RFC7714_SALT, sk.salt);
    msrtp_ctx_t *ctx = msrtp_ctx_new_session(MSRTP_SUITE_AEAD_AES_128_GCM, role, &sk, &sk);
    assert_non_null(ctx);
    return ctx;
}

static void test_rfc7714_16_1_srtp(void **state)
{
    (void)state;
    uint8_t buf[PKT_CAP];
    size_t len = unhex(RFC7714_RTP, buf), out = 0, back = 0;
    msrtp_ctx_t *tx = rfc7714_ctx(MSRTP_ROLE_SEND), *rx = rfc7714_ctx(MSRTP_ROLE_RECV);
    assert_int_equal(msrtp_protect(tx, buf, len, sizeof(buf), &out), MSRTP_OK); /* §16.1.1 */
    assert_hex_equal(buf, out, RFC7714_SRTP);
    assert_int_equal(msrtp_unprotect(rx, buf, out, &back), MSRTP_OK); /* §16.1.2 */
    assert_hex_equal(buf, back, RFC7714_RTP);
    msrtp_ctx_free(tx);
    msrtp_ctx_free(rx);
}

static void test_rfc7714_17_1_srtcp(void **state)
{
    (void)state;
    uint8_t buf[PKT_CAP];
    size_t len, out = 0, back = 0;
    msrtp_ctx_t *tx = rfc7714_ctx(MSRTP_ROLE_SEND), *rx = rfc7714_ctx(MSRTP_ROLE_RECV);
    for (unsigned i = 0; i < RFC7714_SRTCP_INDEX; i++) { /* the sender's SRTCP index counts from 0 */
        len = unhex(RFC7714_RTCP, buf);
        assert_int_equal(msrtp_protect_rtcp(tx, buf, len, sizeof(buf), &out), MSRTP_OK);
    }
    len = unhex(RFC7714_RTCP, buf);
    assert_int_equal(msrtp_protect_rtcp(tx, buf, len, sizeof(buf), &out), MSRTP_OK);
    assert_hex_equal(buf, out, RFC7714_SRTCP);
    assert_int_equal(msrtp_unprotect_rtcp(rx, buf, out, &back), MSRTP_OK);
    assert_hex_equal(buf, back, RFC7714_RTCP);
    len = unhex(RFC7714_SRTCP, buf);
    assert_int_equal(msrtp_unprotect_rtcp(rx, buf, len, &back), MSRTP_ERR_REPLAY);
    msrtp_ctx_free(tx);
    msrtp_ctx_free(rx);
}

/* ------------------------------------------------------------ SM4 suite (own vectors, see the file comment) */

static void test_sm4_suite_session_keys(void **state)
{
    (void)state;
    msrtp_master_t m = test_master(MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80);
    msrtp_session_keys_t rtp, rtcp;
    assert_int_equal(msrtp_session_keys_derive(MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80, &m, 0, &rtp), MSRTP_OK);
    assert_int_equal(msrtp_session_keys_derive(MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80, &m, 1, &rtcp), MSRTP_OK);
    assert_hex_equal(rtp.enc, 16, "6489779e725922c23529fb6280fba025");
    assert_hex_equal(rtp.auth, 32, "10d15d2a0d753c28c3a64460a864f389336ac121c4437de4d9bd12fc52432a34");
    assert_hex_equal(rtp.salt, 14, "f3f6c5f9f92aeb1092528911ae79");
    assert_hex_equal(rtcp.enc, 16, "302333fed4065aba280721725b093882");
    assert_hex_equal(rtcp.auth, 32, "3bd6624dbd079d50f3a705d45475980430915cc135007e600de1f4cf5d718e7e");
    assert_hex_equal(rtcp.salt, 14, "b35b9a0df0fe7246e6eb526ddb4b");
}

#define SM4_RTP "8000123400001c34cafebabe303132333435363738393a3b3c3d3e3f40414243"
#define SM4_SRTP "8000123400001c34cafebabeb3e72b92d5ca107a97dffcd09d932f20841c4443f93c75529200f1f576e0"
#define SM4_RTP_ROC1 "8000000500000a05cafebabed5d5d5d5d5d5d5d5d5d5d5d5d5d5d5d5"
#define SM4_SRTP_ROC1 "8000000500000a05cafebabe640dfdd5e20ee13ec2fafcb2b3fe9176bc326eba45d9b014bf41"
#define SM4_RTCP "80c80006cafebabe404142434445464748494a4b4c4d4e4f50515253"
#define SM4_SRTCP "80c80006cafebabeb7273c5938ebbca8c266524a9d4fc5a4a37d0a5b800000001a53baaad6a03612b28c"

static void test_sm4_suite_vectors(void **state)
{
    (void)state;
    msrtp_master_t m = test_master(MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80);
    msrtp_ctx_t *tx = msrtp_ctx_new(MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80, MSRTP_ROLE_SEND, &m);
    msrtp_ctx_t *rx = msrtp_ctx_new(MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80, MSRTP_ROLE_RECV, &m);
    assert_non_null(tx);
    assert_non_null(rx);
    uint8_t buf[PKT_CAP];
    size_t len = unhex(SM4_RTP, buf), out = 0, back = 0;
    assert_int_equal(msrtp_protect(tx, buf, len, sizeof(buf), &out), MSRTP_OK);
    assert_hex_equal(buf, out, SM4_SRTP);
    assert_int_equal(msrtp_unprotect(rx, buf, out, &back), MSRTP_OK);
    assert_hex_equal(buf, back, SM4_RTP);

    len = unhex(SM4_RTCP, buf);
    assert_int_equal(msrtp_protect_rtcp(tx, buf, len, sizeof(buf), &out), MSRTP_OK);
    assert_hex_equal(buf, out, SM4_SRTCP);
    assert_int_equal(msrtp_unprotect_rtcp(rx, buf, out, &back), MSRTP_OK);
    assert_hex_equal(buf, back, SM4_RTCP);
    msrtp_ctx_free(tx);
    msrtp_ctx_free(rx);

    /* ROC 1: a fresh sender at seq 0xfffe, then seq 5 lands in the next ROC */
    tx = msrtp_ctx_new(MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80, MSRTP_ROLE_SEND, &m);
    len = make_rtp(buf, 0xfffe, 0xcafebabe, 16);
    assert_int_equal(msrtp_protect(tx, buf, len, sizeof(buf), &out), MSRTP_OK);
    len = unhex(SM4_RTP_ROC1, buf);
    assert_int_equal(msrtp_protect(tx, buf, len, sizeof(buf), &out), MSRTP_OK);
    assert_int_equal(msrtp_ctx_roc(tx), 1);
    assert_hex_equal(buf, out, SM4_SRTP_ROC1);
    msrtp_ctx_free(tx);
    msrtp_master_cleanse(&m);
}

/* Setup/teardown pinning the SM4 implementation (msrtp_sm4_force_impl) for one test. */
static int sm4_pin_table(void **state)
{
    (void)state;
    return msrtp_sm4_force_impl(MSRTP_SM4_IMPL_TABLE);
}

static int sm4_unpin(void **state)
{
    (void)state;
    return msrtp_sm4_force_impl(MSRTP_SM4_IMPL_AUTO);
}

static msrtp_ctx_t *sm4_ctx_with(msrtp_sm4_impl_t impl, msrtp_role_t role, const msrtp_master_t *m)
{
    assert_int_equal(msrtp_sm4_force_impl(impl), 0);
    msrtp_ctx_t *ctx = msrtp_ctx_new(MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80, role, m);
    assert_int_equal(msrtp_sm4_force_impl(MSRTP_SM4_IMPL_AUTO), 0);
    assert_non_null(ctx);
    return ctx;
}

/* Each SIMD SM4 (AES-NI, GFNI) and the table SM4 give the same SRTP and SRTCP packets for every payload length
 * 0..300 (every block count and partial last block), and each unprotects the other's. */
static void sm4_suite_agrees_with_table(msrtp_sm4_impl_t impl)
{
    msrtp_master_t m = test_master(MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80);
    msrtp_ctx_t *tx_t = sm4_ctx_with(MSRTP_SM4_IMPL_TABLE, MSRTP_ROLE_SEND, &m);
    msrtp_ctx_t *tx_a = sm4_ctx_with(impl, MSRTP_ROLE_SEND, &m);
    msrtp_ctx_t *rx_t = sm4_ctx_with(MSRTP_SM4_IMPL_TABLE, MSRTP_ROLE_RECV, &m);
    msrtp_ctx_t *rx_a = sm4_ctx_with(impl, MSRTP_ROLE_RECV, &m);
    uint8_t plain[PKT_CAP], a[PKT_CAP], t[PKT_CAP];
    for (uint16_t n = 0; n <= 300; n++) {
        size_t len = make_rtp(plain, n, 0xcafebabe, n), out_a = 0, out_t = 0, back = 0;
        memcpy(a, plain, len);
        memcpy(t, plain, len);
        assert_int_equal(msrtp_protect(tx_a, a, len, sizeof(a), &out_a), MSRTP_OK);
        assert_int_equal(msrtp_protect(tx_t, t, len, sizeof(t), &out_t), MSRTP_OK);
        assert_int_equal(out_a, out_t);
        assert_memory_equal(a, t, out_a);
        assert_int_equal(msrtp_unprotect(rx_t, a, out_a, &back), MSRTP_OK); /* SIMD's packet, table receiver */
        assert_memory_equal(a, plain, len);
        assert_int_equal(msrtp_unprotect(rx_a, t, out_t, &back), MSRTP_OK);
        assert_memory_equal(t, plain, len);

        len = 8 + (size_t)n;
        memset(plain, 0, len);
        plain[0] = 0x80, plain[1] = 200; /* RTCP SR header; the rest is payload to encrypt */
        memcpy(a, plain, len);
        memcpy(t, plain, len);
        assert_int_equal(msrtp_protect_rtcp(tx_a, a, len, sizeof(a), &out_a), MSRTP_OK);
        assert_int_equal(msrtp_protect_rtcp(tx_t, t, len, sizeof(t), &out_t), MSRTP_OK);
        assert_memory_equal(a, t, out_a);
        assert_int_equal(msrtp_unprotect_rtcp(rx_t, a, out_a, &back), MSRTP_OK);
        assert_memory_equal(a, plain, len);
    }
    msrtp_ctx_free(tx_t);
    msrtp_ctx_free(tx_a);
    msrtp_ctx_free(rx_t);
    msrtp_ctx_free(rx_a);
    msrtp_master_cleanse(&m);
}

static void test_sm4_suite_aesni_agrees(void **state)
{
    (void)state;
    if (!msrtp_sm4_impl_supported(MSRTP_SM4_IMPL_AESNI))
        skip();
    sm4_suite_agrees_with_table(MSRTP_SM4_IMPL_AESNI);
}

static void test_sm4_suite_gfni_agrees(void **state)
{
    (void)state;
    if (!msrtp_sm4_impl_supported(MSRTP_SM4_IMPL_GFNI))
        skip();
    sm4_suite_agrees_with_table(MSRTP_SM4_IMPL_GFNI);
}

/* ------------------------------------------------------------ behaviour, every suite */

static void test_roc_rollover(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SUITES; i++) {
        pair_t p = pair_new(all_suites[i]);
        for (uint32_t s = 65500; s < 65536 + 40; s++)
            round_trip(&p, (uint16_t)s);
        assert_int_equal(msrtp_ctx_roc(p.tx), 1);
        assert_int_equal(msrtp_ctx_roc(p.rx), 1);
        pair_free(&p);
    }
}

/* Packets reordered across the wrap: 65534, 1, 65535, 0, 2 — the late ones keep ROC 0. */
static void test_reorder_across_wrap(void **state)
{
    (void)state;
    static const uint16_t order[] = {65534, 1, 65535, 0, 2};
    for (size_t i = 0; i < N_SUITES; i++) {
        pair_t p = pair_new(all_suites[i]);
        uint8_t pkts[5][PKT_CAP], plain[5][PKT_CAP];
        size_t lens[5];
        for (int k = 0; k < 5; k++) { /* sent in order 65534, 65535, 0, 1, 2 */
            uint16_t seq = (uint16_t)(65534 + k);
            size_t len = make_rtp(plain[k], seq, 0x5eed, 40);
            memcpy(pkts[k], plain[k], len);
            assert_int_equal(msrtp_protect(p.tx, pkts[k], len, PKT_CAP, &lens[k]), MSRTP_OK);
        }
        for (int k = 0; k < 5; k++) {
            int j = (uint16_t)(order[k] - 65534);
            size_t back;
            assert_int_equal(msrtp_unprotect(p.rx, pkts[j], lens[j], &back), MSRTP_OK);
            assert_memory_equal(pkts[j], plain[j], back);
        }
        pair_free(&p);
    }
}

static void test_replay_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SUITES; i++) {
        pair_t p = pair_new(all_suites[i]);
        uint8_t buf[PKT_CAP], copy[PKT_CAP], old[PKT_CAP];
        size_t len = make_rtp(buf, 100, 0x11223344, PAYLOAD_LEN), out, back, old_len;
        assert_int_equal(msrtp_protect(p.tx, buf, len, sizeof(buf), &out), MSRTP_OK);
        memcpy(copy, buf, out);
        memcpy(old, buf, out), old_len = out;
        assert_int_equal(msrtp_unprotect(p.rx, buf, out, &back), MSRTP_OK);
        assert_int_equal(msrtp_unprotect(p.rx, copy, out, &back), MSRTP_ERR_REPLAY);
        /* the sender refuses to protect the same index twice (keystream reuse) */
        len = make_rtp(buf, 100, 0x11223344, PAYLOAD_LEN);
        assert_int_equal(msrtp_protect(p.tx, buf, len, sizeof(buf), &out), MSRTP_ERR_REPLAY);
        /* 64 newer packets push index 100 out of the window */
        for (uint16_t s = 101; s < 101 + MSRTP_REPLAY_WINDOW; s++)
            round_trip(&p, s);
        assert_int_equal(msrtp_unprotect(p.rx, old, old_len, &back), MSRTP_ERR_REPLAY);
        pair_free(&p);
    }
}

static void test_bit_flip_fails(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SUITES; i++) {
        pair_t p = pair_new(all_suites[i]);
        uint8_t good[PKT_CAP], buf[PKT_CAP];
        size_t len = make_rtp(good, 7, 0xabcdef01, PAYLOAD_LEN), out, back;
        assert_int_equal(msrtp_protect(p.tx, good, len, sizeof(good), &out), MSRTP_OK);
        /* every bit after the sequence number: timestamp, SSRC, payload, tag (seq flips change the index) */
        for (size_t bit = 32; bit < out * 8; bit += 5) {
            memcpy(buf, good, out);
            buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            int rc = msrtp_unprotect(p.rx, buf, out, &back);
            assert_true(rc == MSRTP_ERR_AUTH || (bit < 96 && rc == MSRTP_ERR_PARSE) ||
                        (bit >= 64 && bit < 96 && rc == MSRTP_ERR_SSRC));
        }
        /* a failed packet changed nothing: the original still authenticates, once */
        memcpy(buf, good, out);
        assert_int_equal(msrtp_unprotect(p.rx, buf, out, &back), MSRTP_OK);
        assert_int_equal(msrtp_unprotect(p.rx, good, out, &back), MSRTP_ERR_REPLAY);
        pair_free(&p);
    }
}

static void test_wrong_key_fails(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SUITES; i++) {
        msrtp_master_t m = test_master(all_suites[i]);
        msrtp_ctx_t *tx = msrtp_ctx_new(all_suites[i], MSRTP_ROLE_SEND, &m);
        m.salt[0] ^= 1;
        msrtp_ctx_t *rx = msrtp_ctx_new(all_suites[i], MSRTP_ROLE_RECV, &m);
        uint8_t buf[PKT_CAP];
        size_t len = make_rtp(buf, 1, 2, PAYLOAD_LEN), out, back;
        assert_int_equal(msrtp_protect(tx, buf, len, sizeof(buf), &out), MSRTP_OK);
        assert_int_equal(msrtp_unprotect(rx, buf, out, &back), MSRTP_ERR_AUTH);
        msrtp_ctx_free(tx);
        msrtp_ctx_free(rx);
    }
}

static size_t make_rtcp(uint8_t *buf, uint32_t ssrc)
{
    /* a receiver report with one report block: 8 + 24 bytes */
    static const char *rr = "81c90007"
                            "00000000"
                            "11223344"
                            "00000001"
                            "0000abcd"
                            "00000010"
                            "00000000"
                            "00000000";
    size_t len = unhex(rr, buf);
    buf[4] = (uint8_t)(ssrc >> 24), buf[5] = (uint8_t)(ssrc >> 16), buf[6] = (uint8_t)(ssrc >> 8);
    buf[7] = (uint8_t)ssrc;
    return len;
}

static void test_srtcp_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SUITES; i++) {
        pair_t p = pair_new(all_suites[i]);
        uint8_t plain[PKT_CAP], buf[PKT_CAP], keep[PKT_CAP];
        size_t keep_len = 0;
        for (int n = 0; n < 10; n++) {
            size_t len = make_rtcp(plain, 0x55667788), out, back;
            memcpy(buf, plain, len);
            assert_int_equal(msrtp_protect_rtcp(p.tx, buf, len, sizeof(buf), &out), MSRTP_OK);
            assert_int_equal(out, len + msrtp_suite_rtcp_trailer(all_suites[i]));
            assert_memory_not_equal(buf + 8, plain + 8, len - 8);
            if (n == 3)
                memcpy(keep, buf, out), keep_len = out;
            /* a flipped bit anywhere fails */
            uint8_t bad[PKT_CAP];
            memcpy(bad, buf, out);
            bad[(n * 7) % out] ^= 0x10;
            assert_int_not_equal(msrtp_unprotect_rtcp(p.rx, bad, out, &back), MSRTP_OK);
            assert_int_equal(msrtp_unprotect_rtcp(p.rx, buf, out, &back), MSRTP_OK);
            assert_int_equal(back, len);
            assert_memory_equal(buf, plain, len);
        }
        assert_int_equal(msrtp_unprotect_rtcp(p.rx, keep, keep_len, &keep_len), MSRTP_ERR_REPLAY);
        pair_free(&p);
    }
}

/* SRTCP with E = 0 (authenticated, not encrypted) is accepted on receive: built here by hand for the CM suite. */
static void test_srtcp_unencrypted_cm(void **state)
{
    (void)state;
    msrtp_master_t m = test_master(MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80);
    msrtp_session_keys_t sk;
    assert_int_equal(msrtp_session_keys_derive(MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80, &m, 1, &sk), MSRTP_OK);
    msrtp_mac_t mac;
    assert_int_equal(msrtp_mac_init(&mac, MSRTP_MAC_HMAC_SHA1, sk.auth, 20), 0);
    uint8_t buf[PKT_CAP], plain[PKT_CAP];
    size_t len = make_rtcp(buf, 9), back;
    memcpy(plain, buf, len);
    memcpy(buf + len, "\x00\x00\x00\x07", 4); /* E = 0, index 7 */
    msrtp_mac_compute(&mac, buf, len + 4, NULL, 0, buf + len + 4, 10);
    msrtp_ctx_t *rx = msrtp_ctx_new(MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80, MSRTP_ROLE_RECV, &m);
    assert_int_equal(msrtp_unprotect_rtcp(rx, buf, len + 14, &back), MSRTP_OK);
    assert_int_equal(back, len);
    assert_memory_equal(buf, plain, len);
    msrtp_ctx_free(rx);
    msrtp_mac_cleanse(&mac);
}

/* ------------------------------------------------------------ errors on bad input and misuse */

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SUITES; i++) {
        pair_t p = pair_new(all_suites[i]);
        uint8_t buf[PKT_CAP];
        size_t len = make_rtp(buf, 1, 0x1234, PAYLOAD_LEN), out = 0;
        size_t tag = msrtp_suite_rtp_trailer(all_suites[i]);
        assert_int_equal(msrtp_protect(p.rx, buf, len, sizeof(buf), &out), MSRTP_ERR_ROLE);
        assert_int_equal(msrtp_unprotect(p.tx, buf, len, &out), MSRTP_ERR_ROLE);
        assert_int_equal(msrtp_protect(p.tx, buf, len, len + tag - 1, &out), MSRTP_ERR_SPACE);
        assert_int_equal(msrtp_protect(p.tx, buf, 11, sizeof(buf), &out), MSRTP_ERR_PARSE);
        assert_int_equal(msrtp_protect(NULL, buf, len, sizeof(buf), &out), MSRTP_ERR_ARG);
        buf[0] = 0x40; /* version 1 */
        assert_int_equal(msrtp_protect(p.tx, buf, len, sizeof(buf), &out), MSRTP_ERR_PARSE);
        buf[0] = 0x8f; /* 15 CSRCs = 72 bytes of header, fine for a 172-byte packet */
        assert_int_equal(msrtp_protect(p.tx, buf, 60, sizeof(buf), &out), MSRTP_ERR_PARSE);
        buf[0] = 0x90; /* extension whose length runs past the end */
        buf[12] = 0xbe, buf[13] = 0xde, buf[14] = 0xff, buf[15] = 0xff;
        assert_int_equal(msrtp_protect(p.tx, buf, len, sizeof(buf), &out), MSRTP_ERR_PARSE);
        buf[14] = 0, buf[15] = 1; /* a valid one-word extension */
        assert_int_equal(msrtp_protect(p.tx, buf, len, sizeof(buf), &out), MSRTP_OK);
        size_t back;
        assert_int_equal(msrtp_unprotect(p.rx, buf, out, &back), MSRTP_OK);
        /* a second SSRC is refused on both sides */
        len = make_rtp(buf, 2, 0x9999, PAYLOAD_LEN);
        assert_int_equal(msrtp_protect(p.tx, buf, len, sizeof(buf), &out), MSRTP_ERR_SSRC);
        assert_int_equal(msrtp_unprotect(p.rx, buf, len, &back), MSRTP_ERR_SSRC);
        /* truncated SRTP / SRTCP */
        assert_int_equal(msrtp_unprotect(p.rx, buf, 12 + tag - 1, &back), MSRTP_ERR_PARSE);
        assert_int_equal(msrtp_unprotect_rtcp(p.rx, buf, 8 + 4 + tag - 1, &back), MSRTP_ERR_PARSE);
        assert_int_equal(msrtp_unprotect(p.rx, buf, MSRTP_MAX_PACKET_LEN + 1, &back), MSRTP_ERR_PARSE);
        pair_free(&p);
    }
    msrtp_master_t m = test_master(MSRTP_SUITE_AEAD_AES_128_GCM);
    assert_null(msrtp_ctx_new(MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80, MSRTP_ROLE_SEND, &m)); /* 12-byte salt */
    assert_null(msrtp_ctx_new((msrtp_suite_t)9, MSRTP_ROLE_SEND, &m));
    assert_string_equal(msrtp_strerror(MSRTP_ERR_AUTH), "authentication failed");
    msrtp_ctx_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suite_names),
        cmocka_unit_test(test_master_derive_matches_kms),
        cmocka_unit_test(test_rfc7714_16_1_srtp),
        cmocka_unit_test(test_rfc7714_17_1_srtcp),
        cmocka_unit_test(test_sm4_suite_session_keys),
        cmocka_unit_test(test_sm4_suite_vectors),
        {"test_sm4_suite_session_keys (table SM4)", test_sm4_suite_session_keys, sm4_pin_table, sm4_unpin, NULL},
        {"test_sm4_suite_vectors (table SM4)", test_sm4_suite_vectors, sm4_pin_table, sm4_unpin, NULL},
        cmocka_unit_test(test_sm4_suite_aesni_agrees),
        cmocka_unit_test(test_sm4_suite_gfni_agrees),
        cmocka_unit_test(test_roc_rollover),
        cmocka_unit_test(test_reorder_across_wrap),
        cmocka_unit_test(test_replay_refused),
        cmocka_unit_test(test_bit_flip_fails),
        cmocka_unit_test(test_wrong_key_fails),
        cmocka_unit_test(test_srtcp_round_trip),
        cmocka_unit_test(test_srtcp_unencrypted_cm),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
