/*
 * mihua-ue's pure modules: suite selection and the UPDATE's SDP offer/answer (ue_sdp), where the INVITE's offer
 * and answer travel with phones that do not speak mihua and the direction of a re-INVITE's answer (ue_offer),
 * SRTP keys per direction
 * (ue_keys, cross-checked against lib/kms's independent HKDF), WAV I/O and G.711 (ue_wav), dialog requests
 * (ue_dialog), the ladder (ue_ladder), the settings (ue_conf) and the call's state tables (ue_fsm: every row, and
 * bad events in each state refused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kms/kms_crypto.h"
#include "sip/sip_msg.h"
#include "ue_conf.h"
#include "ue_dialog.h"
#include "ue_fsm.h"
#include "ue_keys.h"
#include "ue_ladder.h"
#include "ue_offer.h"
#include "ue_sdp.h"
#include "ue_wav.h"

#define KEY_ID "AbCdEfGhIjKlMnOpQrStUv"
static const msrtp_suite_t ALL3[] = {MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80, MSRTP_SUITE_AEAD_AES_128_GCM,
                                     MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80};

/* ---------------------------------------------------------------- SDP */

static int offer(char *out, const msrtp_suite_t *s, size_t n)
{
    int len = ue_sdp_srtp_offer(out, UE_SDP_MAX, "caller", 2, "127.0.0.1", 40000, s, n, KEY_ID);
    assert_true(len > 0);
    out[len] = '\0';
    return len;
}

static void test_sdp_bodies(void **state)
{
    (void)state;
    char b[UE_SDP_MAX];
    int n = ue_sdp_plain(b, sizeof b, "caller", 1, "127.0.0.1", 40000);
    assert_true(n > 0);
    b[n] = '\0';
    assert_string_equal(b, "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                           "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n");
    n = offer(b, ALL3, 3);
    assert_non_null(strstr(b, "m=audio 40000 RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
                              "a=crypto:1 SM4_CM_128_HMAC_SM3_80 kms:" KEY_ID "\r\n"
                              "a=crypto:2 AEAD_AES_128_GCM kms:" KEY_ID "\r\n"
                              "a=crypto:3 AES_CM_128_HMAC_SHA1_80 kms:" KEY_ID "\r\n"));
    ue_sdp_addr_t a;
    assert_int_equal(ue_sdp_remote(b, n, &a), UE_SDP_OK);
    assert_string_equal(a.ip, "127.0.0.1");
    assert_int_equal(a.port, 40000);
    assert_int_equal(ue_sdp_plain(b, 40, "caller", 1, "127.0.0.1", 40000), -1); /* too small: refused, not cut */
}

/* The callee picks the first suite in the CALLER's order that it supports (DESIGN §2). */
static void test_suite_selection(void **state)
{
    (void)state;
    char b[UE_SDP_MAX];
    ue_sdp_choice_t c;
    int n = offer(b, ALL3, 3);
    const msrtp_suite_t gcm_cm[] = {MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80, MSRTP_SUITE_AEAD_AES_128_GCM};
    assert_int_equal(ue_sdp_select(b, n, gcm_cm, 2, &c), UE_SDP_OK);
    assert_int_equal(c.suite, MSRTP_SUITE_AEAD_AES_128_GCM); /* caller listed GCM before AES-CM */
    assert_int_equal(c.tag, 2);
    assert_string_equal(c.key_id, KEY_ID);
    assert_int_equal(c.remote.port, 40000);
    assert_int_equal(ue_sdp_select(b, n, ALL3, 3, &c), UE_SDP_OK);
    assert_int_equal(c.suite, MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80);

    const msrtp_suite_t sm4[] = {MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80};
    const msrtp_suite_t cm[] = {MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80};
    n = offer(b, sm4, 1);
    assert_int_equal(ue_sdp_select(b, n, cm, 1, &c), UE_SDP_NO_COMMON_SUITE);
    assert_int_equal(ue_sdp_select(b, n, cm, 0, &c), UE_SDP_NO_COMMON_SUITE);

    /* unknown suites in an offer are skipped, not fatal */
    const char *foreign = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                          "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_256_CM_HMAC_SHA1_80 kms:" KEY_ID "\r\n"
                          "a=crypto:7 AES_CM_128_HMAC_SHA1_80 kms:" KEY_ID "\r\n";
    assert_int_equal(ue_sdp_select(foreign, (int)strlen(foreign), ALL3, 3, &c), UE_SDP_OK);
    assert_int_equal(c.tag, 7);
}

static ue_sdp_result_t select_text(const char *media_lines)
{
    char b[UE_SDP_MAX];
    ue_sdp_choice_t c;
    int n = snprintf(b, sizeof b, "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n%s",
                     media_lines);
    return ue_sdp_select(b, n, ALL3, 3, &c);
}

static void test_bad_offers(void **state)
{
    (void)state;
    ue_sdp_choice_t c;
    assert_int_equal(ue_sdp_select("garbage", 7, ALL3, 3, &c), UE_SDP_BAD);
    assert_int_equal(ue_sdp_select(NULL, 0, ALL3, 3, &c), UE_SDP_BAD);
    assert_int_equal(select_text("m=video 4000 RTP/SAVP 96\r\n"), UE_SDP_NO_AUDIO);
    assert_int_equal(select_text("m=audio 0 RTP/SAVP 0\r\n"), UE_SDP_NO_AUDIO); /* port 0: stream refused */
    assert_int_equal(select_text("m=audio 4000 RTP/AVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 kms:k\r\n"),
                     UE_SDP_NOT_SAVP);
    assert_int_equal(select_text("m=audio 4000 RTP/SAVP 0\r\n"), UE_SDP_NO_CRYPTO);
    assert_int_equal(select_text("m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 "
                                 "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n"),
                     UE_SDP_KEY_METHOD); /* an SDES key in SIP is exactly what mihua never accepts */
    assert_int_equal(select_text("m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 kms:a\r\n"
                                 "a=crypto:2 AEAD_AES_128_GCM kms:b\r\n"),
                     UE_SDP_KEY_METHOD); /* two keyIds */
    assert_int_equal(select_text("m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 kms:a/../b\r\n"),
                     UE_SDP_KEY_METHOD); /* a keyId goes into a URL path: base64url only */
    char longid[200];
    snprintf(longid, sizeof longid, "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 kms:%0100d\r\n", 7);
    assert_int_equal(select_text(longid), UE_SDP_KEY_METHOD);
}

static void test_answer_check(void **state)
{
    (void)state;
    char b[UE_SDP_MAX];
    ue_sdp_choice_t pick = {.suite = MSRTP_SUITE_AEAD_AES_128_GCM, .tag = 2, .key_id = KEY_ID}, got;
    int n = ue_sdp_srtp_answer(b, sizeof b, "callee", 3, "127.0.0.2", 50000, &pick);
    assert_true(n > 0);
    b[n] = '\0';
    assert_non_null(strstr(b, "m=audio 50000 RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
                              "a=crypto:2 AEAD_AES_128_GCM kms:" KEY_ID "\r\n"));
    assert_int_equal(ue_sdp_check_answer(b, n, ALL3, 3, KEY_ID, &got), UE_SDP_OK);
    assert_int_equal(got.suite, MSRTP_SUITE_AEAD_AES_128_GCM);
    assert_string_equal(got.remote.ip, "127.0.0.2");
    assert_int_equal(got.remote.port, 50000);
    assert_int_equal(ue_sdp_check_answer(b, n, ALL3, 3, "otherKeyId", &got), UE_SDP_BAD_ANSWER);
    const msrtp_suite_t two[] = {MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80, MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80};
    assert_int_equal(ue_sdp_check_answer(b, n, two, 2, KEY_ID, &got), UE_SDP_BAD_ANSWER); /* tag 2 = AES-CM */
    n = offer(b, ALL3, 3); /* three lines are an offer, not an answer */
    assert_int_equal(ue_sdp_check_answer(b, n, ALL3, 3, KEY_ID, &got), UE_SDP_BAD_ANSWER);
    n = ue_sdp_plain(b, sizeof b, "callee", 3, "127.0.0.2", 50000);
    assert_int_equal(ue_sdp_check_answer(b, n, ALL3, 3, KEY_ID, &got), UE_SDP_NOT_SAVP);
}

/* ---------------------------------------------------------------- SRTP keys per direction */

static void test_kdf_per_direction(void **state)
{
    (void)state;
    uint8_t sk[KMS_KEY_LEN], ref[MSRTP_MAX_MASTER_KEY_LEN + MSRTP_MAX_MASTER_SALT_LEN];
    for (int i = 0; i < KMS_KEY_LEN; i++)
        sk[i] = (uint8_t)(i * 7 + 1);
    const char *cid = "c1@127.0.0.1";
    for (size_t s = 0; s < 3; s++) {
        msrtp_master_t cs, cr, es, er;
        assert_int_equal(ue_keys_srtp_masters(sk, sizeof sk, cid, ALL3[s], true, &cs, &cr), 0);
        assert_int_equal(ue_keys_srtp_masters(sk, sizeof sk, cid, ALL3[s], false, &es, &er), 0);
        assert_memory_equal(cs.key, er.key, cs.key_len); /* caller sends what the callee receives */
        assert_memory_equal(cs.salt, er.salt, cs.salt_len);
        assert_memory_equal(es.key, cr.key, es.key_len);
        assert_memory_not_equal(cs.key, cr.key, cs.key_len); /* the two directions never share a key */
        size_t kl, sl;
        assert_int_equal(msrtp_suite_master_lengths(ALL3[s], &kl, &sl), 0);
        assert_int_equal(cs.key_len, kl);
        assert_int_equal(cs.salt_len, sl);
        /* the same bytes as lib/kms's HKDF (a second implementation of DESIGN §4) */
        assert_int_equal(kms_srtp_key_derive(sk, cid, strlen(cid), msrtp_suite_name(ALL3[s]), KMS_SRTP_CALLER_TO_CALLEE,
                                             ref, kl + sl),
                         0);
        assert_memory_equal(cs.key, ref, kl);
        assert_memory_equal(cs.salt, ref + kl, sl);
    }
    msrtp_master_t a, b, c, d;
    assert_int_equal(ue_keys_srtp_masters(sk, sizeof sk, "c2@127.0.0.1", ALL3[2], true, &a, &b), 0);
    assert_int_equal(ue_keys_srtp_masters(sk, sizeof sk, cid, ALL3[2], true, &c, &d), 0);
    assert_memory_not_equal(a.key, c.key, a.key_len); /* the Call-ID is the HKDF salt */
    assert_int_equal(ue_keys_srtp_masters(sk, sizeof sk, cid, (msrtp_suite_t)9, true, &a, &b), -1);
}

/* ---------------------------------------------------------------- WAV and G.711 */

static void test_ulaw(void **state)
{
    (void)state;
    /* ITU-T G.711 Table 2a anchor points: zero, the positive and negative maxima, the first segment edges */
    assert_int_equal(ue_ulaw_encode(0), 0xff);
    assert_int_equal(ue_ulaw_encode(32767), 0x80);
    assert_int_equal(ue_ulaw_encode(-32768), 0x00);
    assert_int_equal(ue_ulaw_encode(-1), 0x7f);
    assert_int_equal(ue_ulaw_decode(0xff), 0);
    assert_int_equal(ue_ulaw_decode(0x80), 32124);
    assert_int_equal(ue_ulaw_decode(0x00), -32124);
    for (int u = 0; u < 256; u++) /* every code decodes to a value that encodes back to it (0x7f is -0) */
        if (u != 0x7f)
            assert_int_equal(ue_ulaw_encode(ue_ulaw_decode((uint8_t)u)), u);
}

typedef struct {
    uint8_t *p;
    size_t n;
} wbuf_t;

static void put(wbuf_t *w, const void *p, size_t l)
{
    memcpy(w->p + w->n, p, l), w->n += l;
}
static void put32(wbuf_t *w, uint32_t v)
{
    uint8_t b[4] = {v, v >> 8, v >> 16, v >> 24};
    put(w, b, 4);
}
static void put16(wbuf_t *w, uint32_t v)
{
    uint8_t b[2] = {v, v >> 8};
    put(w, b, 2);
}

static size_t wav_bytes(uint8_t *out, uint16_t fmt, uint16_t ch, uint32_t rate, uint16_t bits, const void *data,
                        uint32_t len, bool with_list)
{
    wbuf_t w = {out, 0};
    put(&w, "RIFF", 4), put32(&w, 0), put(&w, "WAVE", 4);
    if (with_list) /* an unknown chunk of odd length before fmt: skipped, with its pad byte */
        put(&w, "LIST", 4), put32(&w, 3), put(&w, "abc\0", 4);
    put(&w, "fmt ", 4), put32(&w, 16), put16(&w, fmt), put16(&w, ch), put32(&w, rate);
    put32(&w, rate * ch * bits / 8), put16(&w, ch * bits / 8), put16(&w, bits);
    put(&w, "data", 4), put32(&w, len), put(&w, data, len);
    return w.n;
}

static void test_wav_io(void **state)
{
    (void)state;
    uint8_t buf[4096], ulaw[400];
    int16_t pcm[200];
    ue_audio_t a;
    char err[160];
    for (int i = 0; i < 400; i++)
        ulaw[i] = (uint8_t)(i * 37);
    size_t n = wav_bytes(buf, 7, 1, 8000, 8, ulaw, 400, true);
    assert_int_equal(ue_wav_parse(buf, n, &a, err, sizeof err), 0);
    assert_int_equal(a.len, 400);
    assert_memory_equal(a.data, ulaw, 400); /* u-law passes byte for byte */
    char path[] = "/tmp/mihua-wav-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ue_wav_write(path, a.data, a.len), 0);
    ue_audio_t back;
    assert_int_equal(ue_wav_read(path, &back, err, sizeof err), 0);
    assert_int_equal(back.len, 400);
    assert_memory_equal(back.data, ulaw, 400);
    unlink(path);
    ue_audio_free(&a);
    ue_audio_free(&back);

    for (int i = 0; i < 200; i++)
        pcm[i] = (int16_t)(i * 300 - 30000);
    n = wav_bytes(buf, 1, 1, 8000, 16, pcm, sizeof pcm, false);
    assert_int_equal(ue_wav_parse(buf, n, &a, err, sizeof err), 0);
    assert_int_equal(a.len, 200);
    for (int i = 0; i < 200; i++)
        assert_int_equal(a.data[i], ue_ulaw_encode(pcm[i])); /* linear PCM is G.711-encoded once */
    ue_audio_free(&a);

    struct {
        uint16_t fmt, ch;
        uint32_t rate;
        uint16_t bits;
        const char *why;
    } bad[] = {
        {7, 2, 8000, 8, "mono"}, {1, 1, 16000, 16, "8000 Hz"}, {3, 1, 8000, 32, "format"}, {1, 1, 8000, 8, "16 bits"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = wav_bytes(buf, bad[i].fmt, bad[i].ch, bad[i].rate, bad[i].bits, ulaw, 100, false);
        assert_int_equal(ue_wav_parse(buf, n, &a, err, sizeof err), -1);
        assert_non_null(strstr(err, bad[i].why));
    }
    n = wav_bytes(buf, 7, 1, 8000, 8, ulaw, 100, false);
    assert_int_equal(ue_wav_parse(buf, n - 10, &a, err, sizeof err), -1); /* data runs past the end */
    assert_non_null(strstr(err, "past the end"));
    assert_int_equal(ue_wav_parse((const uint8_t *)"RIFX....WAVE", 12, &a, err, sizeof err), -1);
    assert_int_equal(ue_wav_read("/nonexistent/x.wav", &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/x.wav"));
}

static void test_tone(void **state)
{
    (void)state;
    ue_audio_t t;
    assert_int_equal(ue_audio_tone(&t, 1000, 440), 0);
    assert_int_equal(t.len, 8000);
    int crossings = 0;
    for (size_t i = 1; i < t.len; i++)
        crossings += (ue_ulaw_decode(t.data[i - 1]) < 0) != (ue_ulaw_decode(t.data[i]) < 0);
    assert_in_range(crossings, 870, 890); /* 440 Hz: 880 sign changes a second */
    ue_audio_free(&t);
    assert_int_equal(ue_audio_tone(&t, 1000, 4000), -1); /* at Nyquist */
}

/* ---------------------------------------------------------------- dialogs */

static void test_dialog_requests(void **state)
{
    (void)state;
    sip_msg_t *m = malloc(sizeof *m);
    ue_dialog_t d;
    char out[2048];
    static const char resp[] = "SIP/2.0 183 Session Progress\r\n"
                               "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx;rport=5070\r\n"
                               "Record-Route: <sip:127.0.0.1:5060;transport=udp;lr>\r\n"
                               "Record-Route: <sip:10.0.0.1;lr>\r\n"
                               "From: <sip:+1@d>;tag=a\r\nTo: <tel:+2>;tag=b\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n"
                               "Contact: <sip:+2@127.0.0.1:5080>;+u.mihua.voenc\r\nContent-Length: 0\r\n\r\n";
    ue_dialog_uac_init(&d, "c1", "<sip:+1@d>;tag=a", "<tel:+2>");
    assert_int_equal(sip_msg_parse(m, resp, sizeof resp - 1, SIP_TP_DGRAM), SIP_OK);
    assert_int_equal(ue_dialog_uac_update(&d, m), 0);
    d.local_cseq = 1;
    ue_req_t r = {.method = "PRACK",
                  .via_host = "127.0.0.1",
                  .via_port = 5070,
                  .branch = "z9hG4bKp",
                  .cseq = ++d.local_cseq,
                  .extra = "RAck: 1 1 INVITE\r\n"};
    int n = ue_dialog_request(&d, &r, out, sizeof out);
    assert_true(n > 0);
    out[n] = '\0';
    assert_string_equal(out, "PRACK sip:+2@127.0.0.1:5080 SIP/2.0\r\n"
                             "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKp;rport\r\n"
                             "Max-Forwards: 70\r\n"
                             "Route: <sip:10.0.0.1;lr>\r\n" /* §12.1.2: the UAC reverses the Record-Route */
                             "Route: <sip:127.0.0.1:5060;transport=udp;lr>\r\n"
                             "From: <sip:+1@d>;tag=a\r\nTo: <tel:+2>;tag=b\r\nCall-ID: c1\r\nCSeq: 2 PRACK\r\n"
                             "RAck: 1 1 INVITE\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(ue_dialog_request(&d, &r, out, 100), -1);

    static const char inv[] = "INVITE sip:+2@127.0.0.1:5080 SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKas\r\n"
                              "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx\r\n"
                              "Record-Route: <sip:127.0.0.1:5060;transport=udp;lr>\r\n"
                              "From: <sip:+1@d>;tag=a\r\nTo: <tel:+2>\r\nCall-ID: c2\r\nCSeq: 7 INVITE\r\n"
                              "Contact: <sip:+1@127.0.0.1:5070>\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(sip_msg_parse(m, inv, sizeof inv - 1, SIP_TP_DGRAM), SIP_OK);
    assert_int_equal(ue_dialog_uas_init(&d, m, "z"), 0);
    assert_string_equal(d.from, "<tel:+2>;tag=z");
    assert_string_equal(d.to, "<sip:+1@d>;tag=a");
    assert_string_equal(d.remote_target, "sip:+1@127.0.0.1:5070");
    assert_int_equal(d.nroute, 1);
    assert_int_equal(d.remote_cseq, 7);
    n = ue_dialog_rr_lines(m, out, sizeof out);
    assert_true(n > 0);
    assert_string_equal(out, "Record-Route: <sip:127.0.0.1:5060;transport=udp;lr>\r\n");
    free(m);
}

/* ---------------------------------------------------------------- ladder */

static void test_ladder(void **state)
{
    (void)state;
    ue_ladder_t *l = malloc(sizeof *l);
    sip_msg_t *m = malloc(sizeof *m);
    static const char resp[] = "SIP/2.0 183 Session Progress\r\n"
                               "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx\r\n"
                               "From: <sip:+1@d>;tag=a\r\nTo: <tel:+2>;tag=b\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n"
                               "Contact: <sip:+2@127.0.0.1:5080>\r\nRequire: 100rel\r\nRSeq: 9\r\n"
                               "Warning: 399 as \"voice encryption not allowed: callee not subscribed\"\r\n"
                               "Content-Length: 0\r\n\r\n";
    ue_ladder_init(l, 1000);
    assert_int_equal(sip_msg_parse(m, resp, sizeof resp - 1, SIP_TP_DGRAM), SIP_OK);
    ue_ladder_add_sip(l, 3500, false, m);
    ue_ladder_add(l, 4000, true, UE_PEER_KMS, "POST session-keys");
    for (int i = 0; i < UE_LADDER_MAX_EVENTS; i++)
        ue_ladder_add(l, 5000, true, UE_PEER_AS, "x");
    assert_int_equal(l->n, UE_LADDER_MAX_EVENTS);
    assert_int_equal(l->dropped, 2);
    assert_string_equal(l->ev[0].label, "183 Session Progress (RSeq 9, callee not subscribed)");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ue_ladder_print(l, f, "caller", "AS", "KMS");
    fclose(f);
    assert_non_null(strstr(text, "   2.500 |<-183 Session Progress (RSeq 9, callee not subscribed)"));
    assert_non_null(strstr(text, "   3.000 |--POST session-keys"));
    assert_non_null(strstr(text, "(2 more events not drawn)"));
    free(text);
    free(l);
    free(m);
}

/* ---------------------------------------------------------------- settings */

static ue_conf_result_t parse(ue_conf_t *c, int argc, char **argv)
{
    ue_conf_result_t r = ue_conf_parse(c, argc, argv);
    return r;
}

static void test_conf(void **state)
{
    (void)state;
    ue_conf_t c;
    char key[] = "0000000000000000000000000000000000000000000000000000000000000001";
    char *ok[] = {"mihua-ue",
                  "--impu",
                  "tel:+15550000001",
                  "--kms-key",
                  key,
                  "--rat",
                  "EUTRAN",
                  "--suites",
                  "AES_CM_128_HMAC_SHA1_80,SM4_CM_128_HMAC_SM3_80",
                  "call",
                  "tel:+15550000002",
                  "--duration",
                  "0.5"};
    assert_int_equal(parse(&c, 13, ok), UE_CONF_OK);
    assert_int_equal(c.cmd, UE_CMD_CALL);
    assert_string_equal(c.target, "tel:+15550000002");
    assert_true(c.on_4g5g);
    assert_int_equal(c.n_suites, 2);
    assert_int_equal(c.suites[0], MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80);
    assert_int_equal(c.duration_ms, 500);
    assert_int_equal(c.kms_key[31], 1);
    assert_string_equal(c.media_ip, "127.0.0.1");
    ue_conf_free(&c);

    char *utran[] = {"mihua-ue", "--impu", "tel:+1", "--capable", "no", "--rat", "UTRAN", "answer"};
    assert_int_equal(parse(&c, 8, utran), UE_CONF_OK);
    assert_false(c.capable);
    assert_false(c.on_4g5g);
    assert_int_equal(c.n_suites, 3); /* default: all three, DESIGN §2 order */
    assert_int_equal(c.suites[0], MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80);
    ue_conf_free(&c);

    char *no_key[] = {"mihua-ue", "--impu", "tel:+1", "register"};
    char *no_cmd[] = {"mihua-ue", "--impu", "tel:+1", "--capable", "no"};
    char *bad_target[] = {"mihua-ue", "--impu", "tel:+1", "--capable", "no", "call", "mailto:x"};
    char *twice[] = {"mihua-ue", "--impu", "tel:+1", "--kms-key", key, "--suites", "AEAD_AES_128_GCM,AEAD_AES_128_GCM",
                     "register"};
    char *bad_dur[] = {"mihua-ue", "--impu", "tel:+1", "--capable", "no", "--duration", "0", "register"};
    assert_int_equal(parse(&c, 4, no_key), UE_CONF_BAD); /* capable needs its KMS secret */
    ue_conf_free(&c);
    assert_int_equal(parse(&c, 5, no_cmd), UE_CONF_BAD);
    ue_conf_free(&c);
    assert_int_equal(parse(&c, 7, bad_target), UE_CONF_BAD);
    ue_conf_free(&c);
    assert_int_equal(parse(&c, 8, twice), UE_CONF_BAD);
    ue_conf_free(&c);
    assert_int_equal(parse(&c, 8, bad_dur), UE_CONF_BAD);
    ue_conf_free(&c);
}

/* ---------------------------------------------------------------- offer/answer with phones that do not speak mihua */

/* RFC 3261 §13.2.1: the answer travels in a reliable response; only the reliable 183 can carry the key agreement. */
static void test_offer_callee_modes(void **state)
{
    (void)state;
    assert_int_equal(ue_offer_callee_mode(true, true), UE_OFFER_EARLY_RELIABLE);
    assert_int_equal(ue_offer_callee_mode(true, false), UE_OFFER_ANSWER_IN_2XX);
    assert_int_equal(ue_offer_callee_mode(false, true), UE_OFFER_LATE); /* 100rel does not help without an offer */
    assert_int_equal(ue_offer_callee_mode(false, false), UE_OFFER_LATE);
    assert_false(ue_offer_2xx_has_sdp(UE_OFFER_EARLY_RELIABLE)); /* the 183 already answered, reliably */
    assert_true(ue_offer_2xx_has_sdp(UE_OFFER_ANSWER_IN_2XX));   /* the repeat the reported phone needed */
    assert_true(ue_offer_2xx_has_sdp(UE_OFFER_LATE));            /* our offer */
    assert_true(ue_offer_sends_183(UE_OFFER_EARLY_RELIABLE));
    assert_true(ue_offer_sends_183(UE_OFFER_ANSWER_IN_2XX));
    assert_false(ue_offer_sends_183(UE_OFFER_LATE));
    assert_null(ue_offer_plain_reason(UE_OFFER_EARLY_RELIABLE));
    assert_string_equal(ue_offer_plain_reason(UE_OFFER_ANSWER_IN_2XX),
                        "caller did not use 100rel (answer in the 200 OK)");
    assert_string_equal(ue_offer_plain_reason(UE_OFFER_LATE), "caller sent no SDP offer (answer in the ACK)");
}

static void test_offer_caller_bodies(void **state)
{
    (void)state;
    /* has_body, reliable, have_final, final_version, body_version */
    assert_int_equal(ue_offer_caller_body(false, true, false, 0, 0), UE_OFFER_NO_BODY);
    assert_int_equal(ue_offer_caller_body(true, true, false, 0, 1), UE_OFFER_TAKE);     /* reliable 183 or 2xx */
    assert_int_equal(ue_offer_caller_body(true, false, false, 0, 1), UE_OFFER_PREVIEW); /* 183 without 100rel */
    assert_int_equal(ue_offer_caller_body(true, true, true, 1, 1), UE_OFFER_REPEAT);    /* 2xx repeating it */
    assert_int_equal(ue_offer_caller_body(true, false, true, 1, 1), UE_OFFER_REPEAT);   /* 183 retransmitted */
    assert_int_equal(ue_offer_caller_body(true, true, true, 1, 2), UE_OFFER_CONFLICT);  /* not a new offer */
    assert_int_equal(ue_offer_caller_body(false, true, true, 1, 0), UE_OFFER_NO_BODY);  /* 2xx without SDP */
}

/* RFC 3264 §6.1: hold and resume by re-INVITE; what the answer says and whether we send. */
static void test_offer_directions(void **state)
{
    (void)state;
    assert_int_equal(ue_offer_answer_dir(UE_SDP_SENDRECV), UE_SDP_SENDRECV);
    assert_int_equal(ue_offer_answer_dir(UE_SDP_SENDONLY), UE_SDP_RECVONLY);
    assert_int_equal(ue_offer_answer_dir(UE_SDP_RECVONLY), UE_SDP_SENDONLY);
    assert_int_equal(ue_offer_answer_dir(UE_SDP_INACTIVE), UE_SDP_INACTIVE);
    assert_true(ue_offer_we_send(UE_SDP_SENDRECV));
    assert_true(ue_offer_we_send(UE_SDP_SENDONLY));
    assert_false(ue_offer_we_send(UE_SDP_RECVONLY));
    assert_false(ue_offer_we_send(UE_SDP_INACTIVE));
}

static ue_sdp_stream_t stream_of(const char *body)
{
    ue_sdp_stream_t st;
    memset(&st, 0xa5, sizeof st);
    assert_int_equal(ue_sdp_stream(body, (int)strlen(body), &st), UE_SDP_OK);
    return st;
}

static void test_sdp_streams(void **state)
{
    (void)state;
    char b[UE_SDP_MAX + 1];
    int n = ue_sdp_plain_dir(b, UE_SDP_MAX, "callee", 7, "127.0.0.2", 40002, UE_SDP_RECVONLY);
    assert_true(n > 0);
    b[n] = '\0';
    assert_non_null(strstr(b, "o=callee 1 7 IN IP4 127.0.0.2\r\n"));
    assert_non_null(strstr(b, "a=recvonly\r\n"));
    ue_sdp_stream_t st = stream_of(b);
    assert_int_equal(st.dir, UE_SDP_RECVONLY);
    assert_int_equal(st.version, 7);
    assert_string_equal(st.addr.ip, "127.0.0.2");
    assert_int_equal(st.addr.port, 40002);
    n = ue_sdp_plain(b, UE_SDP_MAX, "callee", 1, "127.0.0.2", 40002);
    b[n] = '\0';
    assert_int_equal(stream_of(b).dir, UE_SDP_SENDRECV);
    /* a phone's hold: session-level attribute; an RFC 2543 phone's: c=0.0.0.0 */
    st = stream_of("v=0\r\no=p 5 3 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\na=sendonly\r\n"
                   "m=audio 4000 RTP/AVP 0\r\n");
    assert_int_equal(st.dir, UE_SDP_SENDONLY);
    assert_int_equal(st.version, 3);
    st = stream_of("v=0\r\no=p 5 4 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n");
    assert_int_equal(st.dir, UE_SDP_SENDONLY);
    st = stream_of("v=0\r\no=p 5 4 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
                   "a=recvonly\r\n");
    assert_int_equal(st.dir, UE_SDP_INACTIVE);
    /* media-level beats session-level */
    st = stream_of("v=0\r\no=p 5 9 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\na=inactive\r\n"
                   "m=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n");
    assert_int_equal(st.dir, UE_SDP_SENDRECV);
    ue_sdp_stream_t bad;
    assert_int_equal(ue_sdp_stream("v=0\r\n", 5, &bad), UE_SDP_BAD);
    const char *port0 =
        "v=0\r\no=p 5 9 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n";
    assert_int_equal(ue_sdp_stream(port0, (int)strlen(port0), &bad), UE_SDP_NO_AUDIO); /* port 0: rejected */
}

/* ---------------------------------------------------------------- call state machines (ue_fsm) */

typedef bool (*dialog_fn)(ue_call_state_t, ue_call_event_t, ue_call_state_t *);
typedef bool (*key_fn)(ue_key_state_t, ue_key_event_t, ue_key_state_t *);

/* Walks events from a state: each must be accepted and lead where `want` says (a path through the diagram). */
static void dialog_path(dialog_fn f, ue_call_state_t s, const ue_call_event_t *ev, const ue_call_state_t *want, int n)
{
    for (int i = 0; i < n; i++) {
        ue_call_state_t to = UE_CS_COUNT;
        assert_true(f(s, ev[i], &to));
        assert_int_equal(to, want[i]);
        s = to;
    }
}

static void key_path(key_fn f, ue_key_state_t s, const ue_key_event_t *ev, const ue_key_state_t *want, int n)
{
    for (int i = 0; i < n; i++) {
        ue_key_state_t to = UE_KEY_COUNT;
        assert_true(f(s, ev[i], &to));
        assert_int_equal(to, want[i]);
        s = to;
    }
}

static bool dialog_ignores(dialog_fn f, ue_call_state_t s, ue_call_event_t ev)
{
    ue_call_state_t to = UE_CS_COUNT;
    return !f(s, ev, &to) && to == UE_CS_COUNT; /* refused, and *to untouched */
}

static bool key_ignores(key_fn f, ue_key_state_t s, ue_key_event_t ev)
{
    ue_key_state_t to = UE_KEY_COUNT;
    return !f(s, ev, &to) && to == UE_KEY_COUNT;
}

/* Properties of every table: one row per (state, event), states and events in range, every row named and
 * reachable from the machine's entry states, and every (state, event) without a row refused by the lookup. */
static void check_table(bool caller, bool key, const int *entry, int nentry)
{
    int n, nstates = key ? UE_KEY_COUNT : UE_CS_COUNT, nev = key ? UE_KEV_COUNT : UE_EV_COUNT;
    const ue_fsm_row_t *t = ue_fsm_table(caller, key, &n);
    bool reach[UE_CS_COUNT + UE_KEY_COUNT] = {false}, grew = true;
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
        assert_true(t[i].from >= 0 && t[i].from < nstates && t[i].to >= 0 && t[i].to < nstates);
        assert_true(t[i].ev >= 0 && t[i].ev < nev && t[i].name && t[i].name[0]);
        for (int j = i + 1; j < n; j++)
            assert_false(t[i].from == t[j].from && t[i].ev == t[j].ev);
    }
    for (int i = 0; i < nentry; i++)
        reach[entry[i]] = true;
    while (grew) {
        grew = false;
        for (int i = 0; i < n; i++)
            if (reach[t[i].from] && !reach[t[i].to])
                reach[t[i].to] = grew = true;
    }
    for (int i = 0; i < n; i++)
        assert_true(reach[t[i].from]);
    for (int st = 0; st < nstates; st++)
        for (int ev = 0; ev < nev; ev++) {
            bool row = false;
            int want = -1;
            for (int i = 0; i < n; i++)
                if (t[i].from == st && t[i].ev == ev)
                    row = true, want = t[i].to;
            if (key) {
                ue_key_state_t to = UE_KEY_COUNT;
                bool got = (caller ? ue_fsm_caller_key : ue_fsm_callee_key)(st, ev, &to);
                assert_int_equal(got, row);
                if (row)
                    assert_int_equal(to, want);
            } else if (ev != UE_EV_END) {
                ue_call_state_t to = UE_CS_COUNT;
                bool got = (caller ? ue_fsm_caller : ue_fsm_callee)(st, ev, &to);
                assert_int_equal(got, row);
                if (row)
                    assert_int_equal(to, want);
            }
        }
}

static void test_fsm_tables(void **state)
{
    (void)state;
    const int caller[] = {UE_CS_INVITING}, callee[] = {UE_CS_EARLY_UNACKED, UE_CS_EARLY};
    const int caller_key[] = {UE_KEY_UNDECIDED}, callee_key[] = {UE_KEY_OFF, UE_KEY_AWAIT_OFFER};
    check_table(true, false, caller, 1);
    check_table(false, false, callee, 2);
    check_table(true, true, caller_key, 1);
    check_table(false, true, callee_key, 2);
    for (int s = 0; s < UE_CS_COUNT; s++) { /* END: every state but ENDED ends, in both roles */
        ue_call_state_t to = UE_CS_COUNT;
        assert_int_equal(ue_fsm_caller(s, UE_EV_END, &to), s != UE_CS_ENDED);
        assert_int_equal(ue_fsm_callee(s, UE_EV_END, &to), s != UE_CS_ENDED);
        assert_string_not_equal(ue_fsm_state_str(s), "?");
        for (int ev = 0; ev < UE_EV_COUNT; ev++) { /* ENDED absorbs everything */
            assert_true(dialog_ignores(ue_fsm_caller, UE_CS_ENDED, ev));
            assert_true(dialog_ignores(ue_fsm_callee, UE_CS_ENDED, ev));
        }
    }
    for (int s = 0; s < UE_KEY_COUNT; s++)
        assert_string_not_equal(ue_fsm_key_str(s), "?");
    assert_string_equal(ue_fsm_state_str(UE_CS_COUNT), "?");
}

static void test_fsm_caller(void **state)
{
    (void)state;
    /* 100rel call: 183 without tag first, then the tagged one, 2xx (and its retransmission), BYE */
    const ue_call_event_t e1[] = {UE_EV_1XX, UE_EV_1XX_DIALOG, UE_EV_1XX_DIALOG, UE_EV_2XX,
                                  UE_EV_2XX, UE_EV_HANGUP,     UE_EV_2XX,        UE_EV_END};
    const ue_call_state_t s1[] = {UE_CS_PROCEEDING, UE_CS_EARLY,  UE_CS_EARLY,  UE_CS_CONFIRMED,
                                  UE_CS_CONFIRMED,  UE_CS_ENDING, UE_CS_ENDING, UE_CS_ENDED};
    dialog_path(ue_fsm_caller, UE_CS_INVITING, e1, s1, 8);
    /* straight to 200 after one challenge */
    const ue_call_event_t e2[] = {UE_EV_CHALLENGE, UE_EV_2XX};
    const ue_call_state_t s2[] = {UE_CS_INVITING, UE_CS_CONFIRMED};
    dialog_path(ue_fsm_caller, UE_CS_INVITING, e2, s2, 2);
    /* giving up: no CANCEL before a provisional; after one, CANCEL, then its 487 or the 2xx that won the race */
    const ue_call_event_t e3[] = {UE_EV_GIVE_UP, UE_EV_REJECTED};
    const ue_call_state_t s3[] = {UE_CS_CANCELLING, UE_CS_ENDED};
    dialog_path(ue_fsm_caller, UE_CS_EARLY, e3, s3, 2);
    dialog_path(ue_fsm_caller, UE_CS_PROCEEDING, e3, s3, 1);
    const ue_call_event_t e4[] = {UE_EV_1XX_DIALOG, UE_EV_2XX, UE_EV_HANGUP};
    const ue_call_state_t s4[] = {UE_CS_CANCELLING, UE_CS_CONFIRMED, UE_CS_ENDING};
    dialog_path(ue_fsm_caller, UE_CS_CANCELLING, e4, s4, 3);
    const ue_call_event_t e5[] = {UE_EV_GIVE_UP};
    const ue_call_state_t s5[] = {UE_CS_ENDED};
    dialog_path(ue_fsm_caller, UE_CS_INVITING, e5, s5, 1);
    dialog_path(ue_fsm_caller, UE_CS_CANCELLING, e5, s5, 1);
    /* bad events: a 407 after a provisional is a rejection, not a challenge; nothing undoes an answer */
    assert_true(dialog_ignores(ue_fsm_caller, UE_CS_PROCEEDING, UE_EV_CHALLENGE));
    assert_true(dialog_ignores(ue_fsm_caller, UE_CS_EARLY, UE_EV_CHALLENGE));
    assert_true(dialog_ignores(ue_fsm_caller, UE_CS_CANCELLING, UE_EV_CHALLENGE));
    const ue_call_event_t late[] = {UE_EV_1XX, UE_EV_1XX_DIALOG, UE_EV_CHALLENGE, UE_EV_REJECTED, UE_EV_GIVE_UP};
    for (int i = 0; i < 5; i++)
        assert_true(dialog_ignores(ue_fsm_caller, UE_CS_CONFIRMED, late[i]) &&
                    dialog_ignores(ue_fsm_caller, UE_CS_ENDING, late[i]));
    assert_true(dialog_ignores(ue_fsm_caller, UE_CS_EARLY, UE_EV_HANGUP)); /* BYE only in a confirmed dialog */
    /* the callee's events mean nothing to a caller, in any state */
    const ue_call_event_t theirs[] = {UE_EV_PRACK, UE_EV_RING, UE_EV_ANSWER, UE_EV_ACK, UE_EV_CANCELLED};
    for (int st = 0; st < UE_CS_COUNT; st++)
        for (int i = 0; i < 5; i++)
            assert_true(dialog_ignores(ue_fsm_caller, st, theirs[i]));
}

static void test_fsm_callee(void **state)
{
    (void)state;
    const ue_call_event_t e1[] = {UE_EV_PRACK, UE_EV_RING, UE_EV_ANSWER, UE_EV_ACK, UE_EV_HANGUP, UE_EV_END};
    const ue_call_state_t s1[] = {UE_CS_EARLY,     UE_CS_RINGING, UE_CS_ANSWERED,
                                  UE_CS_CONFIRMED, UE_CS_ENDING,  UE_CS_ENDED};
    dialog_path(ue_fsm_callee, UE_CS_EARLY_UNACKED, e1, s1, 6);
    /* the key offer overtook the PRACK: ringing first, the PRACK still accepted there */
    const ue_call_event_t e2[] = {UE_EV_RING, UE_EV_PRACK, UE_EV_ANSWER};
    const ue_call_state_t s2[] = {UE_CS_RINGING, UE_CS_RINGING, UE_CS_ANSWERED};
    dialog_path(ue_fsm_callee, UE_CS_EARLY_UNACKED, e2, s2, 3);
    /* never answered 200 ACKed: BYE from ANSWERED */
    const ue_call_event_t e3[] = {UE_EV_HANGUP};
    const ue_call_state_t s3[] = {UE_CS_ENDING};
    dialog_path(ue_fsm_callee, UE_CS_ANSWERED, e3, s3, 1);
    const ue_call_state_t unanswered[] = {UE_CS_EARLY_UNACKED, UE_CS_EARLY, UE_CS_RINGING};
    const ue_call_event_t e4[] = {UE_EV_CANCELLED};
    const ue_call_state_t s4[] = {UE_CS_ENDED};
    for (int i = 0; i < 3; i++)
        dialog_path(ue_fsm_callee, unanswered[i], e4, s4, 1);
    /* bad events: a repeated PRACK, an answer before ringing, an ACK before the 200 or twice, a CANCEL after it */
    assert_true(dialog_ignores(ue_fsm_callee, UE_CS_EARLY, UE_EV_PRACK));
    assert_true(dialog_ignores(ue_fsm_callee, UE_CS_ANSWERED, UE_EV_PRACK));
    assert_true(dialog_ignores(ue_fsm_callee, UE_CS_EARLY_UNACKED, UE_EV_ANSWER));
    assert_true(dialog_ignores(ue_fsm_callee, UE_CS_EARLY, UE_EV_ANSWER));
    assert_true(dialog_ignores(ue_fsm_callee, UE_CS_RINGING, UE_EV_ACK));
    assert_true(dialog_ignores(ue_fsm_callee, UE_CS_CONFIRMED, UE_EV_ACK));
    assert_true(dialog_ignores(ue_fsm_callee, UE_CS_ANSWERED, UE_EV_CANCELLED));
    assert_true(dialog_ignores(ue_fsm_callee, UE_CS_CONFIRMED, UE_EV_CANCELLED));
    assert_true(dialog_ignores(ue_fsm_callee, UE_CS_RINGING, UE_EV_RING));
    assert_true(dialog_ignores(ue_fsm_callee, UE_CS_RINGING, UE_EV_HANGUP)); /* before the answer: 480, not BYE */
    const ue_call_event_t theirs[] = {UE_EV_1XX,       UE_EV_1XX_DIALOG, UE_EV_2XX,
                                      UE_EV_CHALLENGE, UE_EV_REJECTED,   UE_EV_GIVE_UP};
    for (int st = 0; st < UE_CS_COUNT; st++)
        for (int i = 0; i < 6; i++)
            assert_true(dialog_ignores(ue_fsm_callee, st, theirs[i]));
}

static void test_fsm_keys(void **state)
{
    (void)state;
    /* caller: the key before the PRACK's 200, and after it */
    const ue_key_event_t e1[] = {UE_KEV_TAGGED, UE_KEV_KEY, UE_KEV_PRACKED, UE_KEV_OFFER_SENT, UE_KEV_SYNCED};
    const ue_key_state_t s1[] = {UE_KEY_FETCHING, UE_KEY_HELD, UE_KEY_READY, UE_KEY_OFFERED, UE_KEY_SYNCED};
    key_path(ue_fsm_caller_key, UE_KEY_UNDECIDED, e1, s1, 5);
    const ue_key_event_t e2[] = {UE_KEV_TAGGED, UE_KEV_PRACKED, UE_KEV_KEY};
    const ue_key_state_t s2[] = {UE_KEY_FETCHING, UE_KEY_FETCHING_PRACKED, UE_KEY_READY};
    key_path(ue_fsm_caller_key, UE_KEY_UNDECIDED, e2, s2, 3);
    /* the ways to plain */
    const ue_key_event_t untagged[] = {UE_KEV_UNTAGGED};
    const ue_key_state_t plain[] = {UE_KEY_PLAIN};
    key_path(ue_fsm_caller_key, UE_KEY_UNDECIDED, untagged, plain, 1);
    const ue_key_event_t nokey[] = {UE_KEV_NO_KEY}, failed[] = {UE_KEV_FAILED}, answered[] = {UE_KEV_ANSWERED};
    key_path(ue_fsm_caller_key, UE_KEY_FETCHING, nokey, plain, 1);
    key_path(ue_fsm_caller_key, UE_KEY_FETCHING_PRACKED, nokey, plain, 1);
    key_path(ue_fsm_caller_key, UE_KEY_READY, failed, plain, 1);
    key_path(ue_fsm_caller_key, UE_KEY_OFFERED, failed, plain, 1);
    key_path(ue_fsm_caller_key, UE_KEY_HELD, answered, plain, 1);
    key_path(ue_fsm_caller_key, UE_KEY_READY, answered, plain, 1);
    key_path(ue_fsm_caller_key, UE_KEY_OFFERED, answered, plain, 1);
    /* bad events: a key request still in flight is judged when it answers, not at the 2xx; no UPDATE without the
     * key and the PRACK; OFF, SYNCED and PLAIN are final */
    assert_true(key_ignores(ue_fsm_caller_key, UE_KEY_FETCHING, UE_KEV_ANSWERED));
    assert_true(key_ignores(ue_fsm_caller_key, UE_KEY_FETCHING_PRACKED, UE_KEV_ANSWERED));
    assert_true(key_ignores(ue_fsm_caller_key, UE_KEY_HELD, UE_KEV_OFFER_SENT));
    assert_true(key_ignores(ue_fsm_caller_key, UE_KEY_FETCHING_PRACKED, UE_KEV_OFFER_SENT));
    assert_true(key_ignores(ue_fsm_caller_key, UE_KEY_UNDECIDED, UE_KEV_KEY));
    assert_true(key_ignores(ue_fsm_caller_key, UE_KEY_READY, UE_KEV_SYNCED)); /* an answer to no offer */
    for (int ev = 0; ev < UE_KEV_COUNT; ev++) {
        assert_true(key_ignores(ue_fsm_caller_key, UE_KEY_OFF, ev));
        assert_true(key_ignores(ue_fsm_caller_key, UE_KEY_SYNCED, ev));
        assert_true(key_ignores(ue_fsm_callee_key, UE_KEY_SYNCED, ev));
        assert_true(key_ignores(ue_fsm_caller_key, UE_KEY_PLAIN, ev));
        assert_true(key_ignores(ue_fsm_callee_key, UE_KEY_PLAIN, ev));
    }

    /* callee: the expected offer, an unexpected one (its INVITE had no tag) taken all the same, and failures */
    const ue_key_event_t c1[] = {UE_KEV_OFFER, UE_KEV_SYNCED};
    const ue_key_state_t cs1[] = {UE_KEY_FETCHING, UE_KEY_SYNCED};
    key_path(ue_fsm_callee_key, UE_KEY_AWAIT_OFFER, c1, cs1, 2);
    key_path(ue_fsm_callee_key, UE_KEY_OFF, c1, cs1, 2);
    key_path(ue_fsm_callee_key, UE_KEY_AWAIT_OFFER, failed, plain, 1); /* no offer in time, or a bad one */
    key_path(ue_fsm_callee_key, UE_KEY_FETCHING, nokey, plain, 1);
    key_path(ue_fsm_callee_key, UE_KEY_FETCHING, failed, plain, 1);
    /* a second UPDATE while the first one's key is fetched is not expected ("key offer not expected now") */
    assert_true(key_ignores(ue_fsm_callee_key, UE_KEY_FETCHING, UE_KEV_OFFER));
    /* the caller's events mean nothing to a callee */
    const ue_key_event_t theirs[] = {UE_KEV_TAGGED, UE_KEV_UNTAGGED,   UE_KEV_PRACKED,
                                     UE_KEV_KEY,    UE_KEV_OFFER_SENT, UE_KEV_ANSWERED};
    for (int st = 0; st < UE_KEY_COUNT; st++)
        for (int i = 0; i < 6; i++)
            assert_true(key_ignores(ue_fsm_callee_key, st, theirs[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sdp_bodies),
        cmocka_unit_test(test_suite_selection),
        cmocka_unit_test(test_bad_offers),
        cmocka_unit_test(test_answer_check),
        cmocka_unit_test(test_kdf_per_direction),
        cmocka_unit_test(test_ulaw),
        cmocka_unit_test(test_wav_io),
        cmocka_unit_test(test_tone),
        cmocka_unit_test(test_dialog_requests),
        cmocka_unit_test(test_ladder),
        cmocka_unit_test(test_conf),
        cmocka_unit_test(test_offer_callee_modes),
        cmocka_unit_test(test_offer_caller_bodies),
        cmocka_unit_test(test_offer_directions),
        cmocka_unit_test(test_sdp_streams),
        cmocka_unit_test(test_fsm_tables),
        cmocka_unit_test(test_fsm_caller),
        cmocka_unit_test(test_fsm_callee),
        cmocka_unit_test(test_fsm_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
