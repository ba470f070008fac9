/*
 * mihua-bench-srtp — SRTP protect and unprotect packets/s for the three DESIGN §2 suites at a 160-byte payload
 * (20 ms of PCMU), ours (lib/srtp) and libsrtp2 in the same run for the two AES suites, with the ratio.
 *
 * Method: each measurement runs for -d seconds (default 1) after a short warm-up, on one thread. protect: copy a
 * 172-byte RTP template into the work buffer, set the next sequence number, protect (the sender refuses to reuse an
 * index, so seq increments and wraps as on a real stream). unprotect: a batch of BATCH packets is protected once;
 * each round creates a fresh receiver (ctx_new / srtp_create, amortised over the batch), then copies each packet
 * into the work buffer and unprotects it. Copies are included on both sides equally. Prints figures, judges nothing.
 *
 * -n PACKETS runs exactly that many packets per figure instead of a duration, and -s SUITE runs one suite only: for
 * instruction counts, which do not depend on the machine's load, e.g.
 *   valgrind --tool=callgrind --toggle-collect=msrtp_protect mihua-bench-srtp -n 10000 -s SM4_CM_128_HMAC_SM3_80
 * then Ir / calls is the cost of one packet: unprotect is called PACKETS times, protect PACKETS + BATCH (4096) times,
 * since the unprotect figure protects its batch first (-n mode has no warm-up). valgrind's CPU has AES-NI but not
 * GFNI, so there the SM4 suite runs the AESNI implementation.
 * -i IMPL pins the SM4 implementation (table, aesni, gfni; default: the fastest this CPU runs) to compare them.
 * Usage: mihua-bench-srtp [-d SECONDS | -n PACKETS] [-s SUITE] [-i table|aesni|gfni]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <srtp2/srtp.h>

#include "srtp/msrtp.h"
#include "srtp/msrtp_sm4.h"

#define PAYLOAD_LEN 160
#define RTP_LEN (12 + PAYLOAD_LEN)
#define PKT_CAP 256
#define BATCH 4096
#define CHECK_EVERY 256 /* packets between clock reads */
#define SSRC 0x12345678u

typedef struct {
    double seconds;
    uint64_t packets;     /* > 0: stop after this many packets instead of after `seconds` */
    const char *suite;    /* NULL: every suite */
    msrtp_sm4_impl_t sm4; /* AUTO: the fastest this CPU runs */
} opts_t;

static const struct {
    const char *name;
    msrtp_sm4_impl_t impl;
} sm4_impls[] = {{"table", MSRTP_SM4_IMPL_TABLE}, {"aesni", MSRTP_SM4_IMPL_AESNI}, {"gfni", MSRTP_SM4_IMPL_GFNI}};

/* -i NAME: the SM4 implementation; 0, or -1 for an unknown name or one this CPU does not run. */
static int sm4_impl_by_name(const char *name, msrtp_sm4_impl_t *impl)
{
    for (size_t i = 0; i < sizeof(sm4_impls) / sizeof(sm4_impls[0]); i++) {
        if (strcmp(name, sm4_impls[i].name) == 0 && msrtp_sm4_impl_supported(sm4_impls[i].impl)) {
            *impl = sm4_impls[i].impl;
            return 0;
        }
    }
    return -1;
}

/* The SM4 implementation new contexts get. */
static const char *sm4_impl_name(void)
{
    msrtp_sm4_t k;
    uint8_t key[MSRTP_SM4_KEY_LEN] = {0};
    msrtp_sm4_init(&k, key);
    for (size_t i = 0; i < sizeof(sm4_impls) / sizeof(sm4_impls[0]); i++)
        if (k.impl == sm4_impls[i].impl)
            return sm4_impls[i].name;
    return "?";
}

/* Whether a measurement that has done n packets since t0 is over at time t; limit is the packet count of -n mode. */
static int finished(uint64_t n, uint64_t limit, double t0, double t, double seconds)
{
    return limit ? n >= limit : t - t0 >= seconds;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_rtp(uint8_t *buf, uint16_t seq)
{
    memset(buf, 0, RTP_LEN);
    buf[0] = 0x80;
    buf[2] = (uint8_t)(seq >> 8), buf[3] = (uint8_t)seq;
    buf[8] = (uint8_t)(SSRC >> 24), buf[9] = (uint8_t)(SSRC >> 16), buf[10] = (uint8_t)(SSRC >> 8);
    buf[11] = (uint8_t)SSRC;
    for (int i = 0; i < PAYLOAD_LEN; i++)
        buf[12 + i] = (uint8_t)(0xd5 ^ i);
}

static msrtp_master_t master_for(msrtp_suite_t suite)
{
    msrtp_master_t m;
    msrtp_suite_master_lengths(suite, &m.key_len, &m.salt_len);
    for (size_t i = 0; i < m.key_len; i++)
        m.key[i] = (uint8_t)(i * 11 + 1);
    for (size_t i = 0; i < m.salt_len; i++)
        m.salt[i] = (uint8_t)(i * 5 + 7);
    return m;
}

/* ---------------------------------------------------------------- ours */

static double ours_protect(msrtp_suite_t suite, double seconds, uint64_t limit)
{
    msrtp_master_t m = master_for(suite);
    msrtp_ctx_t *tx = msrtp_ctx_new(suite, MSRTP_ROLE_SEND, &m);
    uint8_t tmpl[PKT_CAP], buf[PKT_CAP];
    make_rtp(tmpl, 0);
    uint64_t n = 0;
    uint16_t seq = 0;
    double t0 = now(), t = t0;
    while (!finished(n, limit, t0, t, seconds)) {
        for (int i = 0; i < CHECK_EVERY && !(limit && n >= limit); i++, n++) {
            size_t out;
            memcpy(buf, tmpl, RTP_LEN);
            seq++;
            buf[2] = (uint8_t)(seq >> 8), buf[3] = (uint8_t)seq;
            if (msrtp_protect(tx, buf, RTP_LEN, sizeof(buf), &out) != MSRTP_OK) {
                fprintf(stderr, "protect failed\n");
                exit(1);
            }
        }
        t = now();
    }
    msrtp_ctx_free(tx);
    return (double)n / (t - t0);
}

static double ours_unprotect(msrtp_suite_t suite, double seconds, uint64_t limit)
{
    msrtp_master_t m = master_for(suite);
    msrtp_ctx_t *tx = msrtp_ctx_new(suite, MSRTP_ROLE_SEND, &m);
    static uint8_t pkts[BATCH][PKT_CAP];
    size_t lens[BATCH];
    for (int i = 0; i < BATCH; i++) {
        make_rtp(pkts[i], (uint16_t)i);
        msrtp_protect(tx, pkts[i], RTP_LEN, PKT_CAP, &lens[i]);
    }
    msrtp_ctx_free(tx);
    uint8_t buf[PKT_CAP];
    uint64_t n = 0;
    double t0 = now(), t = t0;
    while (!finished(n, limit, t0, t, seconds)) {
        msrtp_ctx_t *rx = msrtp_ctx_new(suite, MSRTP_ROLE_RECV, &m);
        for (int i = 0; i < BATCH && !(limit && n >= limit); i++, n++) {
            size_t back;
            memcpy(buf, pkts[i], lens[i]);
            if (msrtp_unprotect(rx, buf, lens[i], &back) != MSRTP_OK) {
                fprintf(stderr, "unprotect failed\n");
                exit(1);
            }
        }
        msrtp_ctx_free(rx);
        t = now();
    }
    return (double)n / (t - t0);
}

/* ---------------------------------------------------------------- libsrtp2 */

static srtp_t their_session(msrtp_suite_t suite, srtp_ssrc_type_t type)
{
    msrtp_master_t m = master_for(suite);
    unsigned char key[MSRTP_MAX_MASTER_KEY_LEN + MSRTP_MAX_MASTER_SALT_LEN];
    memcpy(key, m.key, m.key_len);
    memcpy(key + m.key_len, m.salt, m.salt_len);
    srtp_policy_t p;
    memset(&p, 0, sizeof(p));
    if (suite == MSRTP_SUITE_AEAD_AES_128_GCM) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
    } else {
        srtp_crypto_policy_set_rtp_default(&p.rtp);
        srtp_crypto_policy_set_rtcp_default(&p.rtcp);
    }
    p.ssrc.type = type;
    p.key = key;
    p.window_size = 128;
    srtp_t s = NULL;
    if (srtp_create(&s, &p) != srtp_err_status_ok) {
        fprintf(stderr, "srtp_create failed\n");
        exit(1);
    }
    return s;
}

static double theirs_protect(msrtp_suite_t suite, double seconds, uint64_t limit)
{
    srtp_t tx = their_session(suite, ssrc_any_outbound);
    uint8_t tmpl[PKT_CAP], buf[PKT_CAP];
    make_rtp(tmpl, 0);
    uint64_t n = 0;
    uint16_t seq = 0;
    double t0 = now(), t = t0;
    while (!finished(n, limit, t0, t, seconds)) {
        for (int i = 0; i < CHECK_EVERY && !(limit && n >= limit); i++, n++) {
            memcpy(buf, tmpl, RTP_LEN);
            seq++;
            buf[2] = (uint8_t)(seq >> 8), buf[3] = (uint8_t)seq;
            int len = RTP_LEN;
            if (srtp_protect(tx, buf, &len) != srtp_err_status_ok) {
                fprintf(stderr, "srtp_protect failed\n");
                exit(1);
            }
        }
        t = now();
    }
    srtp_dealloc(tx);
    return (double)n / (t - t0);
}

static double theirs_unprotect(msrtp_suite_t suite, double seconds, uint64_t limit)
{
    srtp_t tx = their_session(suite, ssrc_any_outbound);
    static uint8_t pkts[BATCH][PKT_CAP];
    int lens[BATCH];
    for (int i = 0; i < BATCH; i++) {
        make_rtp(pkts[i], (uint16_t)i);
        lens[i] = RTP_LEN;
        srtp_protect(tx, pkts[i], &lens[i]);
    }
    srtp_dealloc(tx);
    uint8_t buf[PKT_CAP];
    uint64_t n = 0;
    double t0 = now(), t = t0;
    while (!finished(n, limit, t0, t, seconds)) {
        srtp_t rx = their_session(suite, ssrc_any_inbound);
        for (int i = 0; i < BATCH && !(limit && n >= limit); i++, n++) {
            int len = lens[i];
            memcpy(buf, pkts[i], (size_t)len);
            if (srtp_unprotect(rx, buf, &len) != srtp_err_status_ok) {
                fprintf(stderr, "srtp_unprotect failed\n");
                exit(1);
            }
        }
        srtp_dealloc(rx);
        t = now();
    }
    return (double)n / (t - t0);
}

/* ---------------------------------------------------------------- main */

static void row(const char *suite, const char *op, double ours, double theirs)
{
    if (theirs > 0)
        printf("%-24s %-10s %12.0f %14.0f %7.2fx\n", suite, op, ours, theirs, ours / theirs);
    else
        printf("%-24s %-10s %12.0f %14s %8s\n", suite, op, ours, "-", "-");
}

int main(int argc, char **argv)
{
    opts_t o = {.seconds = 1.0};
    msrtp_suite_t only;
    int c;
    while ((c = getopt(argc, argv, "d:n:s:i:h")) != -1) {
        if (c == 'd' && atof(optarg) > 0) {
            o.seconds = atof(optarg);
        } else if (c == 'n' && strtoull(optarg, NULL, 10) > 0) {
            o.packets = strtoull(optarg, NULL, 10);
        } else if (c == 's' && msrtp_suite_from_name(optarg, &only) == 0) {
            o.suite = optarg;
        } else if (c == 'i' && sm4_impl_by_name(optarg, &o.sm4) == 0) {
            msrtp_sm4_force_impl(o.sm4);
        } else {
            fprintf(stderr, "usage: %s [-d SECONDS | -n PACKETS] [-s SUITE] [-i table|aesni|gfni]\n", argv[0]);
            return 2;
        }
    }
    if (srtp_init() != srtp_err_status_ok)
        return 1;
    if (o.packets)
        printf("payload %d bytes, %llu packets per figure, libsrtp2 %s, SM4 %s\n", PAYLOAD_LEN,
               (unsigned long long)o.packets, srtp_get_version_string(), sm4_impl_name());
    else
        printf("payload %d bytes, %.1f s per figure, libsrtp2 %s, SM4 %s\n", PAYLOAD_LEN, o.seconds,
               srtp_get_version_string(), sm4_impl_name());
    printf("%-24s %-10s %12s %14s %8s\n", "suite", "op", "ours pkt/s", "libsrtp2 pkt/s", "ratio");
    static const msrtp_suite_t suites[] = {MSRTP_SUITE_AES_CM_128_HMAC_SHA1_80, MSRTP_SUITE_AEAD_AES_128_GCM,
                                           MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80};
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
        msrtp_suite_t s = suites[i];
        if (o.suite && strcmp(o.suite, msrtp_suite_name(s)) != 0)
            continue;
        int aes = s != MSRTP_SUITE_SM4_CM_128_HMAC_SM3_80;
        uint64_t lim = o.packets;
        if (!lim)
            ours_protect(s, o.seconds / 10, 0); /* warm-up (not in -n mode: instruction counts need none) */
        double op = ours_protect(s, o.seconds, lim), tp = aes ? theirs_protect(s, o.seconds, lim) : 0;
        row(msrtp_suite_name(s), "protect", op, tp);
        double ou = ours_unprotect(s, o.seconds, lim), tu = aes ? theirs_unprotect(s, o.seconds, lim) : 0;
        row(msrtp_suite_name(s), "unprotect", ou, tu);
    }
    srtp_shutdown();
    return 0;
}
