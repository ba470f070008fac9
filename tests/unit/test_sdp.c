/*
 * test_sdp — lib/sdp: the DESIGN §2 offer/answer round trip (INVITE RTP/AVP offer, UPDATE RTP/SAVP re-offer with one
 * a=crypto per suite using the kms: key method, 200 answer with exactly one a=crypto), inline keys, suite selection,
 * and hostile bodies (limits, malformed lines, truncations, mutations) under ASan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sdp/sdp.h"

static void assert_str(sip_str_t s, const char *want)
{
    char buf[512];
    sip_str_copy(s, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static sdp_err_t parse_copy(sdp_session_t *s, const char *body, size_t n)
{
    char *c = malloc(n ? n : 1);
    assert_non_null(c);
    memcpy(c, body, n);
    sdp_err_t e = sdp_parse(s, c, (int)n);
    free(c);
    return e;
}

static const char *const SUITES[] = {"SM4_CM_128_HMAC_SM3_80", "AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80"};
#define KEY_ID "3f2a9c1e-77b0-4d2e-9a51-0c6b1d2e3f40"

static void fill_session(sdp_session_t *s, const char *user, const char *addr, uint32_t port, const char *proto)
{
    memset(s, 0, sizeof *s);
    s->origin.username = sip_str_c(user);
    s->origin.sess_id = sip_str_c("2890844526");
    s->origin.sess_version = sip_str_c("2890844527");
    s->origin.conn = (sdp_conn_t){sip_str_c("IN"), sip_str_c("IP4"), sip_str_c(addr)};
    s->name = sip_str_c("-");
    s->conn = s->origin.conn;
    s->t_start = s->t_stop = sip_str_c("0");
    sdp_media_t *m = &s->media[s->nmedia++];
    m->type = sip_str_c("audio");
    m->port = port;
    m->proto = sip_str_c(proto);
    m->fmts[m->nfmt++] = sip_str_c("0");
    m->rtpmap[m->nrtpmap++] = (sdp_rtpmap_t){0, sip_str_c("PCMU"), 8000, SIP_STR_NULL};
    m->dir = SDP_DIR_SENDRECV;
}

static void test_offer_answer_round_trip(void **state)
{
    (void)state;
    /* INVITE offer: plain RTP/AVP PCMU */
    sdp_session_t *s = calloc(1, sizeof *s), *p = calloc(1, sizeof *p);
    char out[2048];
    fill_session(s, "alice", "127.0.0.1", 49170, "RTP/AVP");
    int n = sdp_build(s, out, sizeof out);
    assert_true(n > 0);
    out[n] = '\0';
    assert_string_equal(out, "v=0\r\no=alice 2890844526 2890844527 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                             "t=0 0\r\nm=audio 49170 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n");

    /* UPDATE re-offer: RTP/SAVP, one a=crypto per suite in preference order, kms: key method */
    fill_session(s, "alice", "127.0.0.1", 49170, "RTP/SAVP");
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(sdp_media_add_crypto(&s->media[0], i + 1, SUITES[i], SDP_KEY_KMS, KEY_ID), 0);
    n = sdp_build(s, out, sizeof out);
    assert_true(n > 0);
    out[n] = '\0';
    assert_non_null(strstr(out, "m=audio 49170 RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
                                "a=crypto:1 SM4_CM_128_HMAC_SM3_80 kms:" KEY_ID "\r\n"
                                "a=crypto:2 AEAD_AES_128_GCM kms:" KEY_ID "\r\n"
                                "a=crypto:3 AES_CM_128_HMAC_SHA1_80 kms:" KEY_ID "\r\na=sendrecv\r\n"));
    char *offer_copy = malloc((size_t)n); /* exact size: ASan sees any over-read; p's slices point into it */
    memcpy(offer_copy, out, (size_t)n);
    assert_int_equal(sdp_parse(p, offer_copy, n), SDP_OK);
    const sdp_media_t *m = sdp_find_media(p, "audio");
    assert_non_null(m);
    assert_str(m->proto, "RTP/SAVP");
    assert_int_equal(m->port, 49170);
    assert_int_equal(m->ncrypto, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(m->crypto[i].tag, (uint32_t)i + 1);
        assert_str(m->crypto[i].suite, SUITES[i]);
        assert_int_equal(m->crypto[i].method, SDP_KEY_KMS);
        assert_str(m->crypto[i].key_info, KEY_ID);
    }
    assert_null(sdp_answer_crypto(m)); /* an offer with three lines is not an answer */
    assert_int_equal(m->dir, SDP_DIR_SENDRECV);
    assert_str(p->origin.conn.addr, "127.0.0.1");

    /* callee supports GCM and SHA1 only: picks the first in the caller's order it supports */
    const char *const callee[] = {"AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM"};
    int pick = sdp_crypto_select(m, callee, 2);
    assert_int_equal(pick, 1);
    const char *const none[] = {"F8_128_HMAC_SHA1_80"};
    assert_int_equal(sdp_crypto_select(m, none, 1), -1);

    /* 200 answer: exactly one a=crypto with the chosen suite and the offer's tag */
    fill_session(s, "bob", "127.0.0.2", 51372, "RTP/SAVP");
    s->media[0].crypto[s->media[0].ncrypto++] = m->crypto[pick];
    n = sdp_build(s, out, sizeof out);
    assert_true(n > 0);
    out[n] = '\0';
    assert_non_null(strstr(out, "a=crypto:2 AEAD_AES_128_GCM kms:" KEY_ID "\r\n"));
    assert_int_equal(parse_copy(p, out, (size_t)n), SDP_OK); /* exact-size copy: no over-read */
    assert_int_equal(sdp_parse(p, out, n), SDP_OK);          /* slices into out, to inspect */
    const sdp_crypto_t *k = sdp_answer_crypto(&p->media[0]);
    assert_non_null(k);
    assert_int_equal(k->tag, 2);
    assert_str(k->suite, "AEAD_AES_128_GCM");
    free(offer_copy);
    free(s);
    free(p);
}

static void test_parse_sipp_and_inline(void **state)
{
    (void)state;
    const char *body = "v=0\r\n"
                       "o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n"
                       "s=-\r\n"
                       "i=ignored\r\n"
                       "c=IN IP4 127.0.0.1\r\n"
                       "b=AS:64\r\n"
                       "t=0 0\r\n"
                       "a=recvonly\r\n"
                       "m=audio 6000/2 RTP/SAVP 0 8 101\n" /* bare LF accepted */
                       "c=IN IP6 ::1\r\n"
                       "a=rtpmap:0 PCMU/8000\r\n"
                       "a=rtpmap:101 telephone-event/8000/1\r\n"
                       "a=fmtp:101 0-15\r\n"
                       "a=ptime:20\r\n"
                       "a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32;"
                       "inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk|2^20|2:32 KDR=1 UNENCRYPTED_SRTCP\r\n"
                       "a=inactive\r\n";
    sdp_session_t *s = calloc(1, sizeof *s);
    assert_int_equal(parse_copy(s, body, strlen(body)), SDP_OK);
    assert_int_equal(sdp_parse(s, body, (int)strlen(body)), SDP_OK);
    assert_int_equal(s->dir, SDP_DIR_RECVONLY);
    const sdp_media_t *m = &s->media[0];
    assert_int_equal(m->port, 6000);
    assert_int_equal(m->nfmt, 3);
    assert_str(m->fmts[2], "101");
    assert_str(m->conn.addr, "::1");
    assert_int_equal(m->nrtpmap, 2);
    assert_int_equal(m->rtpmap[1].pt, 101);
    assert_str(m->rtpmap[1].encoding, "telephone-event");
    assert_int_equal(m->rtpmap[1].clock, 8000);
    assert_str(m->rtpmap[1].params, "1");
    assert_int_equal(m->nattr, 2);
    assert_str(m->attrs[0], "fmtp:101 0-15");
    const sdp_crypto_t *k = sdp_answer_crypto(m);
    assert_non_null(k);
    assert_int_equal(k->tag, 7);
    assert_int_equal(k->method, SDP_KEY_INLINE);
    assert_str(k->key_info, "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32");
    assert_str(k->session_params, "KDR=1 UNENCRYPTED_SRTCP");
    assert_int_equal(m->dir, SDP_DIR_INACTIVE);
    /* building passes the extra attributes through */
    char out[2048];
    int n = sdp_build(s, out, sizeof out);
    assert_true(n > 0);
    out[n] = '\0';
    assert_non_null(strstr(out, "a=fmtp:101 0-15\r\na=ptime:20\r\n"));
    assert_non_null(strstr(out, "a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|"
                                "2^20|1:32 KDR=1 UNENCRYPTED_SRTCP\r\n"));
    assert_int_equal(sdp_build(s, out, 40), -1);
    free(s);
}

static void test_hostile(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        sdp_err_t err;
    } cases[] = {
        {"v=1\r\n", SDP_E_VERSION},
        {"o=a 1 1 IN IP4 h\r\n", SDP_E_VERSION},
        {"v=0\r\nxx\r\n", SDP_E_SYNTAX},
        {"v=0\r\n=x\r\n", SDP_E_SYNTAX},
        {"v=0\r\nO=a\r\n", SDP_E_SYNTAX},
        {"v=0\r\no=a 1 1 IN IP4\r\n", SDP_E_ORIGIN},
        {"v=0\r\ns=-\r\nt=0 0\r\n", SDP_E_ORIGIN},
        {"v=0\r\no=a 1 1 IN IP4 h\r\ns=-\r\n", SDP_E_TIMING},
        {"v=0\r\no=a 1 1 IN IP4 h\r\nt=x 0\r\n", SDP_E_TIMING},
        {"v=0\r\no=a 1 1 IN IP4 h\r\nc=IN IP4\r\nt=0 0\r\n", SDP_E_CONNECTION},
        {"v=0\r\no=a 1 1 IN IP4 h\r\nt=0 0\r\nm=audio 70000 RTP/AVP 0\r\n", SDP_E_MEDIA},
        {"v=0\r\no=a 1 1 IN IP4 h\r\nt=0 0\r\nm=audio 1 RTP/AVP\r\n", SDP_E_MEDIA},
        {"v=0\r\no=a 1 1 IN IP4 h\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\na=rtpmap:128 X/8000\r\n", SDP_E_RTPMAP},
        {"v=0\r\no=a 1 1 IN IP4 h\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n", SDP_E_RTPMAP},
        {"v=0\r\no=a 1 1 IN IP4 h\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\na=crypto:1 S\r\n", SDP_E_CRYPTO},
        {"v=0\r\no=a 1 1 IN IP4 h\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\na=crypto:0x1 S kms:1\r\n", SDP_E_CRYPTO},
        {"v=0\r\no=a 1 1 IN IP4 h\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\na=crypto:1234567890 S kms:1\r\n", SDP_E_CRYPTO},
        {"v=0\r\no=a 1 1 IN IP4 h\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\na=crypto:1 S kms\r\n", SDP_E_CRYPTO},
        {"v=0\r\no=a 1 1 IN IP4 h\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\na=crypto:1 S kms:\r\n", SDP_E_CRYPTO},
        {"v=0\r\no=a 1 1 IN IP4 h\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\na=crypto:1 S-1 kms:1\r\n", SDP_E_CRYPTO},
    };
    sdp_session_t *s = calloc(1, sizeof *s);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sdp_err_t e = parse_copy(s, cases[i].body, strlen(cases[i].body));
        if (e != cases[i].err)
            fail_msg("case %zu: got %s (%s), want %s", i, sdp_err_str(e), s->err_reason, sdp_err_str(cases[i].err));
        assert_true(s->err_line > 0);
    }
    assert_int_equal(sdp_parse(s, NULL, 0), SDP_E_ARG);
    /* NUL inside a line */
    assert_int_equal(parse_copy(s, "v=0\r\no=a\0 1 1 IN IP4 h\r\n", 24), SDP_E_SYNTAX);

    /* limits */
    char *big = malloc(SDP_MAX_SIZE + 1);
    memset(big, 'a', SDP_MAX_SIZE + 1);
    assert_int_equal(parse_copy(s, big, SDP_MAX_SIZE + 1), SDP_E_TOO_BIG);
    int n = sprintf(big, "v=0\r\no=a 1 1 IN IP4 h\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n");
    for (int i = 0; i < SDP_MAX_CRYPTO + 1; i++)
        n += sprintf(big + n, "a=crypto:%d S kms:k\r\n", i + 1);
    assert_int_equal(parse_copy(s, big, (size_t)n), SDP_E_TOO_MANY);
    n = sprintf(big, "v=0\r\no=a 1 1 IN IP4 h\r\nt=0 0\r\n");
    for (int i = 0; i < SDP_MAX_MEDIA + 1; i++)
        n += sprintf(big + n, "m=audio 1 RTP/AVP 0\r\n");
    assert_int_equal(parse_copy(s, big, (size_t)n), SDP_E_TOO_MANY);
    n = sprintf(big, "v=0\r\n");
    for (int i = 0; i < SDP_MAX_LINES; i++)
        n += sprintf(big + n, "i=x\r\n");
    assert_int_equal(parse_copy(s, big, (size_t)n), SDP_E_TOO_MANY);
    free(big);

    /* every truncation and random mutations of a real offer: no crash, no over-read */
    fill_session(s, "alice", "127.0.0.1", 49170, "RTP/SAVP");
    for (uint32_t i = 0; i < 3; i++)
        sdp_media_add_crypto(&s->media[0], i + 1, SUITES[i], SDP_KEY_KMS, KEY_ID);
    char offer[2048];
    n = sdp_build(s, offer, sizeof offer);
    assert_true(n > 0);
    sdp_session_t *p = calloc(1, sizeof *p);
    for (int k = 0; k <= n; k++)
        (void)parse_copy(p, offer, (size_t)k);
    uint32_t seed = 7;
    char mut[2048];
    static const char delims[] = {'\r', '\n', ' ', ':', '/', '=', ';', '\0', '0', '9'};
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(mut, offer, (size_t)n);
        for (int e = 0; e < 3; e++) {
            seed = seed * 1103515245u + 12345u;
            mut[(seed >> 8) % (uint32_t)n] = delims[(seed >> 20) % sizeof delims];
        }
        seed = seed * 1103515245u + 12345u;
        (void)parse_copy(p, mut, (size_t)(1 + (seed >> 8) % (uint32_t)n));
    }
    free(p);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offer_answer_round_trip),
        cmocka_unit_test(test_parse_sipp_and_inline),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
