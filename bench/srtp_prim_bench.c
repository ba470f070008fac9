/*
 * mihua-bench-srtp-prim — nanoseconds per call of the primitives under the SM4 SRTP suite: SM4 on 1, 4, 10 and 12
 * blocks for each implementation this CPU runs (lib/srtp msrtp_sm4) and for OpenSSL's SM4-ECB, and HMAC-SM3 over
 * the 172 + 4 bytes a 160-byte-payload packet authenticates (4 SM3 compressions).
 *
 * Method: each figure is the best of ROUNDS (-r, default 2000) timings of 20 back-to-back calls, divided by 20. The
 * minimum is what the code costs when nothing else interferes, so on a shared machine it is far more repeatable
 * than a mean, and unlike an instruction count it shows latency and pipeline effects (dependency chains, store
 * forwarding stalls). It says nothing about throughput under load; bench/srtp.sh measures that. Prints figures,
 * judges nothing. Usage: mihua-bench-srtp-prim [-r ROUNDS]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "srtp/msrtp_mac.h"
#include "srtp/msrtp_sm4.h"

#define CALLS_PER_TIMING 20
#define MAX_BLOCKS 12
#define RTP_LEN 172 /* 12-byte header + 160-byte payload */
#define ROC_LEN 4

typedef struct {
    msrtp_sm4_t sm4;
    EVP_CIPHER_CTX *ecb;
    msrtp_mac_t mac;
    size_t blocks;
    uint8_t buf[MAX_BLOCKS * MSRTP_SM4_BLOCK_LEN];
    uint8_t pkt[RTP_LEN + ROC_LEN];
    uint8_t tag[10];
} state_t;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Best of `rounds` timings of CALLS_PER_TIMING calls, per call. */
static double best_ns(void (*f)(state_t *), state_t *s, unsigned rounds)
{
    double best = 1e30;
    for (unsigned r = 0; r < rounds; r++) {
        double t0 = now_ns();
        for (int i = 0; i < CALLS_PER_TIMING; i++)
            f(s);
        double d = (now_ns() - t0) / CALLS_PER_TIMING;
        if (d < best)
            best = d;
    }
    return best;
}

static void run_sm4(state_t *s)
{
    msrtp_sm4_encrypt_blocks(&s->sm4, s->buf, s->buf, s->blocks);
}

static void run_openssl(state_t *s)
{
    int outl = 0;
    if (EVP_EncryptUpdate(s->ecb, s->buf, &outl, s->buf, (int)(s->blocks * MSRTP_SM4_BLOCK_LEN)) != 1)
        exit(1);
}

static void run_hmac(state_t *s)
{
    msrtp_mac_compute(&s->mac, s->pkt, RTP_LEN, s->pkt + RTP_LEN, ROC_LEN, s->tag, sizeof(s->tag));
}

int main(int argc, char **argv)
{
    unsigned rounds = 2000;
    int c;
    while ((c = getopt(argc, argv, "r:h")) != -1) {
        if (c == 'r' && atoi(optarg) > 0) {
            rounds = (unsigned)atoi(optarg);
        } else {
            fprintf(stderr, "usage: %s [-r ROUNDS]\n", argv[0]);
            return 2;
        }
    }
    static state_t s;
    uint8_t key[MSRTP_SM4_KEY_LEN];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 11 + 1);
    static const size_t counts[] = {1, 4, 10, MAX_BLOCKS};
    static const struct {
        const char *name;
        msrtp_sm4_impl_t impl;
    } impls[] = {{"table", MSRTP_SM4_IMPL_TABLE}, {"aesni", MSRTP_SM4_IMPL_AESNI}, {"gfni", MSRTP_SM4_IMPL_GFNI}};

    printf("best of %u x %d calls, ns per call\n", rounds, CALLS_PER_TIMING);
    printf("%-22s %8s %8s %8s %8s\n", "SM4 blocks", "1", "4", "10", "12");
    for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
        if (msrtp_sm4_init_impl(&s.sm4, key, impls[i].impl) != 0) {
            printf("%-22s (not on this CPU)\n", impls[i].name);
            continue;
        }
        printf("%-22s", impls[i].name);
        for (size_t j = 0; j < sizeof(counts) / sizeof(counts[0]); j++) {
            s.blocks = counts[j];
            printf(" %8.0f", best_ns(run_sm4, &s, rounds));
        }
        printf("\n");
    }
    s.ecb = EVP_CIPHER_CTX_new();
    if (!s.ecb || EVP_EncryptInit_ex(s.ecb, EVP_sm4_ecb(), NULL, key, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(s.ecb, 0) != 1) {
        fprintf(stderr, "OpenSSL SM4-ECB unavailable\n");
        return 1;
    }
    printf("%-22s", "OpenSSL SM4-ECB");
    for (size_t j = 0; j < sizeof(counts) / sizeof(counts[0]); j++) {
        s.blocks = counts[j];
        printf(" %8.0f", best_ns(run_openssl, &s, rounds));
    }
    printf("\n");
    EVP_CIPHER_CTX_free(s.ecb);

    uint8_t auth[32];
    memset(auth, 0x5a, sizeof(auth));
    if (msrtp_mac_init(&s.mac, MSRTP_MAC_HMAC_SM3, auth, sizeof(auth)) != 0)
        return 1;
    printf("HMAC-SM3 over %d bytes (4 compressions): %.0f ns\n", RTP_LEN + ROC_LEN, best_ns(run_hmac, &s, rounds));
    msrtp_mac_cleanse(&s.mac);
    return 0;
}
