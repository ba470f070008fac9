/*
 * Interop oracle: libsrtp2 (Debian libsrtp2-dev, the reference SRTP implementation) against lib/srtp, for
 * AES_CM_128_HMAC_SHA1_80 (RFC 3711) and AEAD_AES_128_GCM (RFC 7714). Packets we protect must unprotect in
 * libsrtp2 to the same bytes, and packets libsrtp2 protects must unprotect with us, over 100 RTP packets of varying
 * payload size starting at sequence 65500 (so the ROC goes 0 -> 1 mid-run), plus SRTCP both ways. Both sides get the
 * same master key and salt, so this pins the whole chain: KDF (including the 12-byte GCM salt padding), IVs, AAD,
 * tag placement and the SRTCP trailer. This file is the only one that includes libsrtp2 (its names are srtp_*).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <srtp2/srtp.h>

#include "srtp/msrtp.h"

#define N_PACKETS 100
#define FIRST_SEQ 65500
#define N_RTCP 10
#define PKT_CAP 1500
#define SSRC_OURS 0x0badcafe
#define SSRC_THEIRS 0x5a5a1234

typedef struct {
    msrtp_suite_t ours;
    void (*policy)(srtp_crypto_policy_t *p);
} suite_map_t;

static const suite_map_t suites[] = {
    /* the _aes_cm_128_hmac_sha1_80 name is a macro for rtp_default */
    {MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80, srtp_crypto_policy_set_rtp_default},
    {MSRTP_SUITE_AEAD_AES_128_GCM, srtp_crypto_policy_set_aes_gcm_128_16_auth},
};

static msrtp_master_t master_for(msrtp_suite_t suite, uint8_t seed)
{
    msrtp_master_t m;
    assert_int_equal(msrtp_suite_master_lengths(suite, &m.key_len, &m.salt_len), 0);
    for (size_t i = 0; i < m.key_len; i++)
        m.key[i] = (uint8_t)(seed + 3 * i);
    for (size_t i = 0; i < m.salt_len; i++)
        m.salt[i] = (uint8_t)(seed ^ (0x51 + i));
    return m;
}

/* A libsrtp2 session for one direction with the same master key||salt. */
static srtp_t their_session(const suite_map_t *s, const msrtp_master_t *m, srtp_ssrc_type_t type)
{
    unsigned char key[MSRTP_MAX_MASTER_KEY_LEN + MSRTP_MAX_MASTER_SALT_LEN];
    memcpy(key, m->key, m->key_len);
    memcpy(key + m->key_len, m->salt, m->salt_len);
    srtp_policy_t policy;
    memset(&policy, 0, sizeof(policy));
    s->policy(&policy.rtp);
    s->policy(&policy.rtcp);
    policy.ssrc.type = type;
    policy.key = key;
    policy.window_size = 128;
    srtp_t session = NULL;
    assert_int_equal(srtp_create(&session, &policy), srtp_err_status_ok);
    return session;
}

static size_t make_rtp(uint8_t *buf, uint16_t seq, uint32_t ssrc, size_t payload)
{
    buf[0] = 0x80, buf[1] = 0x00, buf[2] = (uint8_t)(seq >> 8), buf[3] = (uint8_t)seq;
    memset(buf + 4, 0, 4);
    buf[4] = (uint8_t)(seq * 7);
    buf[8] = (uint8_t)(ssrc >> 24), buf[9] = (uint8_t)(ssrc >> 16), buf[10] = (uint8_t)(ssrc >> 8);
    buf[11] = (uint8_t)ssrc;
    for (size_t i = 0; i < payload; i++)
        buf[12 + i] = (uint8_t)(seq ^ (i * 13));
    return 12 + payload;
}

static size_t make_rtcp(uint8_t *buf, uint32_t ssrc, unsigned n)
{
    static const uint8_t sr[] = {0x80, 0xc8, 0x00, 0x06, 0,    0,    0,    0,    0xde, 0xad, 0xbe, 0xef, 0x01, 0x02,
                                 0x03, 0x04, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x0a, 0x00};
    memcpy(buf, sr, sizeof(sr));
    buf[4] = (uint8_t)(ssrc >> 24), buf[5] = (uint8_t)(ssrc >> 16), buf[6] = (uint8_t)(ssrc >> 8);
    buf[7] = (uint8_t)ssrc;
    buf[15] = (uint8_t)n;
    return sizeof(sr);
}

static size_t payload_len(unsigned n)
{
    return 20 + (n * 37) % 300;
}

/* We protect, libsrtp2 unprotects. */
static void ours_to_theirs(const suite_map_t *s)
{
    msrtp_master_t m = master_for(s->ours, 0x10);
    msrtp_ctx_t *tx = msrtp_ctx_new(s->ours, MSRTP_ROLE_SEND, &m);
    assert_non_null(tx);
    srtp_t rx = their_session(s, &m, ssrc_any_inbound);
    uint8_t plain[PKT_CAP], buf[PKT_CAP];
    for (unsigned n = 0; n < N_PACKETS; n++) {
        size_t len = make_rtp(plain, (uint16_t)(FIRST_SEQ + n), SSRC_OURS, payload_len(n)), out;
        memcpy(buf, plain, len);
        assert_int_equal(msrtp_protect(tx, buf, len, sizeof(buf), &out), MSRTP_OK);
        int wire = (int)out;
        assert_int_equal(srtp_unprotect(rx, buf, &wire), srtp_err_status_ok);
        assert_int_equal(wire, len);
        assert_memory_equal(buf, plain, len);
    }
    assert_int_equal(msrtp_ctx_roc(tx), 1);
    for (unsigned n = 0; n < N_RTCP; n++) {
        size_t len = make_rtcp(plain, SSRC_OURS, n), out;
        memcpy(buf, plain, len);
        assert_int_equal(msrtp_protect_rtcp(tx, buf, len, sizeof(buf), &out), MSRTP_OK);
        int wire = (int)out;
        assert_int_equal(srtp_unprotect_rtcp(rx, buf, &wire), srtp_err_status_ok);
        assert_int_equal(wire, len);
        assert_memory_equal(buf, plain, len);
    }
    srtp_dealloc(rx);
    msrtp_ctx_free(tx);
}

/* libsrtp2 protects, we unprotect; one tampered copy per packet must fail. */
static void theirs_to_ours(const suite_map_t *s)
{
    msrtp_master_t m = master_for(s->ours, 0x77);
    srtp_t tx = their_session(s, &m, ssrc_any_outbound);
    msrtp_ctx_t *rx = msrtp_ctx_new(s->ours, MSRTP_ROLE_RECV, &m);
    assert_non_null(rx);
    uint8_t plain[PKT_CAP], buf[PKT_CAP], bad[PKT_CAP];
    for (unsigned n = 0; n < N_PACKETS; n++) {
        size_t len = make_rtp(plain, (uint16_t)(FIRST_SEQ + n), SSRC_THEIRS, payload_len(n)), back;
        memcpy(buf, plain, len);
        int wire = (int)len;
        assert_int_equal(srtp_protect(tx, buf, &wire), srtp_err_status_ok);
        memcpy(bad, buf, (size_t)wire);
        bad[12 + n % payload_len(n)] ^= 0x01;
        assert_int_equal(msrtp_unprotect(rx, bad, (size_t)wire, &back), MSRTP_ERR_AUTH);
        assert_int_equal(msrtp_unprotect(rx, buf, (size_t)wire, &back), MSRTP_OK);
        assert_int_equal(back, len);
        assert_memory_equal(buf, plain, len);
    }
    assert_int_equal(msrtp_ctx_roc(rx), 1);
    for (unsigned n = 0; n < N_RTCP; n++) {
        size_t len = make_rtcp(plain, SSRC_THEIRS, n), back;
        memcpy(buf, plain, len);
        int wire = (int)len;
        assert_int_equal(srtp_protect_rtcp(tx, buf, &wire), srtp_err_status_ok);
        assert_int_equal(msrtp_unprotect_rtcp(rx, buf, (size_t)wire, &back), MSRTP_OK);
        assert_int_equal(back, len);
        assert_memory_equal(buf, plain, len);
    }
    srtp_dealloc(tx);
    msrtp_ctx_free(rx);
}

static void test_aes_cm_ours_to_libsrtp(void **state)
{
    (void)state;
    ours_to_theirs(&suites[0]);
}

static void test_aes_cm_libsrtp_to_ours(void **state)
{
    (void)state;
    theirs_to_ours(&suites[0]);
}

static void test_gcm_ours_to_libsrtp(void **state)
{
    (void)state;
    ours_to_theirs(&suites[1]);
}

static void test_gcm_libsrtp_to_ours(void **state)
{
    (void)state;
    theirs_to_ours(&suites[1]);
}

static int setup(void **state)
{
    (void)state;
    return srtp_init() == srtp_err_status_ok ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return srtp_shutdown() == srtp_err_status_ok ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aes_cm_ours_to_libsrtp),
        cmocka_unit_test(test_aes_cm_libsrtp_to_ours),
        cmocka_unit_test(test_gcm_ours_to_libsrtp),
        cmocka_unit_test(test_gcm_libsrtp_to_ours),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
