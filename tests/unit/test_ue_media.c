/*
 * ue_media over real UDP sockets on 127.0.0.1 in one libevent loop: SRTP both ways from the first packet with
 * the per-direction keys of ue_keys, the received audio bit-exact and in order, packets held while keys are
 * agreed and judged after, plain RTP or a flipped bit refused by an SRTP receiver.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ue_keys.h"
#include "ue_media.h"

#define FRAMES 10

typedef struct {
    struct event_base *base;
    int done;
} loop_t;

static void on_done(void *ud)
{
    loop_t *l = ud;
    if (++l->done == 2)
        event_base_loopbreak(l->base);
}

static void audio(ue_audio_t *a, uint8_t seed)
{
    a->len = UE_MEDIA_FRAME_BYTES * FRAMES;
    a->data = malloc(a->len);
    for (size_t i = 0; i < a->len; i++)
        a->data[i] = (uint8_t)(seed + i * 13);
}

static ue_media_t *new_media(struct event_base *b)
{
    char err[128];
    ue_media_t *m = ue_media_new(b, "127.0.0.1", err, sizeof err);
    assert_non_null(m);
    return m;
}

static void keys(ue_media_t *caller, ue_media_t *callee, msrtp_suite_t suite)
{
    uint8_t sk[32];
    msrtp_master_t s, r;
    memset(sk, 0x5a, sizeof sk);
    assert_int_equal(ue_keys_srtp_masters(sk, sizeof sk, "call@test", suite, true, &s, &r), 0);
    assert_int_equal(ue_media_set_srtp(caller, suite, &s, &r), 0);
    assert_int_equal(ue_keys_srtp_masters(sk, sizeof sk, "call@test", suite, false, &s, &r), 0);
    assert_int_equal(ue_media_set_srtp(callee, suite, &s, &r), 0);
}

static void run_call(msrtp_suite_t suite, bool hold)
{
    struct event_base *b = event_base_new();
    loop_t l = {b, 0};
    ue_media_t *x = new_media(b), *y = new_media(b);
    ue_audio_t ax, ay;
    audio(&ax, 1);
    audio(&ay, 2);
    assert_int_equal(ue_media_set_remote(x, "127.0.0.1", ue_media_port(y)), 0);
    assert_int_equal(ue_media_set_remote(y, "127.0.0.1", ue_media_port(x)), 0);
    if (!hold)
        keys(x, y, suite);
    else
        ue_media_hold(y); /* y does not know the keys yet when x's packets arrive */
    assert_int_equal(ue_media_start(x, &ax, FRAMES, on_done, &l), 0);
    if (!hold)
        assert_int_equal(ue_media_start(y, &ay, FRAMES, on_done, &l), 0);
    else
        l.done = 1;
    event_base_dispatch(b);
    ue_media_drain(x);
    ue_media_drain(y);
    ue_media_stats_t sx, sy;
    if (hold) {
        ue_media_stats(y, &sy);
        assert_int_equal(sy.received, 0); /* held, not judged */
        ue_media_release(y);
    }
    ue_media_stats(x, &sx);
    ue_media_stats(y, &sy);
    assert_int_equal(sx.sent, FRAMES);
    assert_int_equal(sy.received, FRAMES);
    assert_int_equal(sy.audio_frames, FRAMES);
    assert_memory_equal(sx.sent_sha256, sy.received_sha256, 32); /* bit-exact */
    if (hold) { /* x sent plain RTP (no keys set on either side) and y judged it after release: accepted */
        assert_int_equal(sy.authenticated, 0);
        assert_false(sy.srtp);
    } else {
        assert_int_equal(sy.authenticated, FRAMES);
        assert_int_equal(sx.authenticated, FRAMES);
        assert_int_equal(sx.failed + sy.failed, 0);
        assert_memory_equal(sy.sent_sha256, sx.received_sha256, 32);
        assert_true(sx.first_tx_us > 0 && sy.first_rx_us >= sx.first_tx_us);
    }
    ue_media_free(x);
    ue_media_free(y);
    free(ax.data);
    free(ay.data);
    event_base_free(b);
}

static void test_srtp_each_suite(void **state)
{
    (void)state;
    run_call(MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80, false);
    run_call(MSRTP_SUITE_AEAD_AES_128_GCM, false);
    run_call(MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80, false);
}

static void test_hold_until_keys(void **state)
{
    (void)state;
    run_call(MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80, true);
}

/* A raw socket plays a peer that sends plain RTP or a damaged SRTP packet to an SRTP receiver. */
static void test_srtp_receiver_refuses(void **state)
{
    (void)state;
    struct event_base *b = event_base_new();
    ue_media_t *x = new_media(b), *y = new_media(b);
    keys(x, y, MSRTP_SUITE_AEAD_AES_128_GCM);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {
        .sin_family = AF_INET, .sin_port = htons(ue_media_port(y)), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    uint8_t rtp[12 + 160] = {0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160, 1, 2, 3, 4};
    assert_int_equal(sendto(fd, rtp, sizeof rtp, 0, (struct sockaddr *)&to, sizeof to), (ssize_t)sizeof rtp);
    uint8_t junk[3] = {1, 2, 3};
    assert_int_equal(sendto(fd, junk, sizeof junk, 0, (struct sockaddr *)&to, sizeof to), 3);
    ue_media_drain(y);
    ue_media_stats_t s;
    ue_media_stats(y, &s);
    assert_int_equal(s.received, 2);
    assert_int_equal(s.failed, 2);
    assert_int_equal(s.authenticated, 0);
    assert_int_equal(s.audio_frames, 0); /* nothing unauthenticated reaches the audio */
    close(fd);
    ue_media_free(x);
    ue_media_free(y);
    event_base_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_srtp_each_suite),
        cmocka_unit_test(test_hold_until_keys),
        cmocka_unit_test(test_srtp_receiver_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
