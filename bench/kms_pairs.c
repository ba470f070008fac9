/*
 * kms_pairs — issue+retrieve pairs per second against mihua-kms. Prints figures; judges
 * nothing. Run through bench/kms_pairs.sh, which starts the stand-in AS and the KMS over TLS.
 *
 * C workers run on one libevent loop; each owns an sbi_client (so its own TLS connection, like a UE) and two
 * kms_clients (caller and callee identities). A worker loops: caller issues a key for a fresh callId, callee
 * retrieves it, both unwrap; the pair's latency runs from the issue's submission to the retrieve's completion.
 * Digest nonces are reused with nc+1 (kms_client), so after the first challenge every request is one round trip.
 * Pairs completed during the warm-up (TLS handshakes, first challenges) are not counted.
 *
 *   mihua-bench-kms --url URL --ca FILE --caller ID:HEX --callee ID:HEX [-c 50] [-d 10] [-w 1]
 */
#include <event2/event.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kms_client.h"
#include "sbi/sbi_tls.h"

#define WORKERS_MAX 1000
#define DURATION_MAX_S 600
#define LAT_CAP_INITIAL 65536
#define CALL_ID_MAX 64
#define USER_MAX 256

typedef struct bench bench_t;

typedef struct {
    bench_t *b;
    int idx;
    sbi_client_t *sbi;
    kms_client_t *caller, *callee;
    unsigned long seq;
    char call_id[CALL_ID_MAX];
    int64_t t0_us;
} worker_t;

struct bench {
    struct event_base *base;
    const char *caller_id, *callee_id;
    worker_t *w;
    int n_workers;
    int64_t measure_from_us, stop_at_us;
    unsigned long pairs, errors, warm_pairs;
    uint32_t *lat_us; /* one per measured pair */
    size_t n_lat, cap_lat;
    int stopped_workers;
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void next_pair(worker_t *w);

static void record(bench_t *b, int64_t t0, int64_t t1)
{
    if (t0 < b->measure_from_us) {
        b->warm_pairs++;
        return;
    }
    if (b->n_lat == b->cap_lat) {
        size_t cap = b->cap_lat ? b->cap_lat * 2 : LAT_CAP_INITIAL;
        uint32_t *p = realloc(b->lat_us, cap * sizeof *p);
        if (!p)
            return;
        b->lat_us = p;
        b->cap_lat = cap;
    }
    b->lat_us[b->n_lat++] = (uint32_t)(t1 - t0);
    b->pairs++;
}

static void worker_done(worker_t *w)
{
    if (++w->b->stopped_workers == w->b->n_workers)
        event_base_loopbreak(w->b->base);
}

static void on_retrieved(const kms_client_result_t *r, void *ud)
{
    worker_t *w = ud;
    if (r->status == KMS_CLIENT_OK)
        record(w->b, w->t0_us, now_us());
    else if (w->t0_us >= w->b->measure_from_us)
        w->b->errors++;
    next_pair(w);
}

static void on_issued(const kms_client_result_t *r, void *ud)
{
    worker_t *w = ud;
    bench_t *b = w->b;
    if (r->status != KMS_CLIENT_OK) {
        if (w->t0_us >= b->measure_from_us)
            b->errors++;
        if (b->errors == 1)
            fprintf(stderr, "first error: %s http %d %s\n", kms_client_status_str(r->status), r->http_status, r->cause);
        next_pair(w);
        return;
    }
    if (kms_client_retrieve(w->callee, r->key_id, w->call_id, b->caller_id, b->callee_id, on_retrieved, w) != 0) {
        b->errors++;
        worker_done(w);
    }
}

static void next_pair(worker_t *w)
{
    bench_t *b = w->b;
    w->t0_us = now_us();
    if (w->t0_us >= b->stop_at_us) {
        worker_done(w);
        return;
    }
    snprintf(w->call_id, sizeof w->call_id, "bench-%d-%lu@ue", w->idx, w->seq++);
    if (kms_client_issue(w->caller, w->call_id, b->caller_id, b->callee_id, on_issued, w) != 0) {
        b->errors++;
        worker_done(w);
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static double pct_ms(const bench_t *b, double p)
{
    if (b->n_lat == 0)
        return 0;
    size_t i = (size_t)(p * (double)(b->n_lat - 1));
    return b->lat_us[i] / 1000.0;
}

/* "ID:HEX" → identity and key; the identity may contain ':' (sip:/tel:), the key is the last 64 characters. */
static int parse_party(char *arg, const char **id, uint8_t key[KMS_KEY_LEN])
{
    size_t len = strlen(arg);
    if (len < 2 * KMS_KEY_LEN + 2 || arg[len - 2 * KMS_KEY_LEN - 1] != ':')
        return -1;
    char *hex = arg + len - 2 * KMS_KEY_LEN;
    for (int i = 0; i < KMS_KEY_LEN; i++)
        if (sscanf(hex + 2 * i, "%2hhx", &key[i]) != 1)
            return -1;
    hex[-1] = '\0';
    *id = arg;
    return 0;
}

static int setup_workers(bench_t *b, SSL_CTX *tls, const char *url, const uint8_t *k1, const uint8_t *k2)
{
    b->w = calloc((size_t)b->n_workers, sizeof *b->w);
    if (!b->w)
        return -1;
    for (int i = 0; i < b->n_workers; i++) {
        worker_t *w = &b->w[i];
        sbi_client_config_t sc = {.tls = tls};
        w->b = b;
        w->idx = i;
        w->sbi = sbi_client_new(b->base, &sc);
        kms_client_cfg_t c1 = {.base_url = url, .username = b->caller_id, .kms_key = k1};
        kms_client_cfg_t c2 = {.base_url = url, .username = b->callee_id, .kms_key = k2};
        w->caller = w->sbi ? kms_client_new(w->sbi, &c1) : NULL;
        w->callee = w->sbi ? kms_client_new(w->sbi, &c2) : NULL;
        if (!w->caller || !w->callee)
            return -1;
    }
    return 0;
}

static void teardown(bench_t *b)
{
    for (int i = 0; b->w && i < b->n_workers; i++) {
        kms_client_free(b->w[i].caller);
        kms_client_free(b->w[i].callee);
        sbi_client_free(b->w[i].sbi);
    }
    free(b->w);
    free(b->lat_us);
}

static void report(bench_t *b, double secs)
{
    qsort(b->lat_us, b->n_lat, sizeof *b->lat_us, cmp_u32);
    printf("workers %d, measured %.1f s (after warm-up), TLS 1.3 + h2, Digest with nonce reuse\n", b->n_workers, secs);
    printf("pairs: %lu ok, %lu errors, %lu during warm-up\n", b->pairs, b->errors, b->warm_pairs);
    printf("pairs/s: %.0f  (requests/s to the KMS: %.0f)\n", b->pairs / secs, 2 * b->pairs / secs);
    printf("pair latency ms: p50 %.2f  p99 %.2f  max %.2f\n", pct_ms(b, 0.50), pct_ms(b, 0.99), pct_ms(b, 1.0));
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"url", required_argument, NULL, 'u'},
                                         {"ca", required_argument, NULL, 'a'},
                                         {"caller", required_argument, NULL, 'r'},
                                         {"callee", required_argument, NULL, 'e'},
                                         {NULL, 0, NULL, 0}};
    const char *url = NULL, *ca = NULL;
    uint8_t k1[KMS_KEY_LEN], k2[KMS_KEY_LEN];
    bench_t b = {.n_workers = 50};
    long dur = 10, warm = 1;
    int opt, bad = 0;
    while ((opt = getopt_long(argc, argv, "c:d:w:", opts, NULL)) != -1) {
        if (opt == 'u')
            url = optarg;
        else if (opt == 'a')
            ca = optarg;
        else if (opt == 'r')
            bad |= parse_party(optarg, &b.caller_id, k1);
        else if (opt == 'e')
            bad |= parse_party(optarg, &b.callee_id, k2);
        else if (opt == 'c')
            b.n_workers = atoi(optarg);
        else if (opt == 'd')
            dur = strtol(optarg, NULL, 10);
        else if (opt == 'w')
            warm = strtol(optarg, NULL, 10);
        else
            bad = 1;
    }
    if (bad || !url || !b.caller_id || !b.callee_id || b.n_workers < 1 || b.n_workers > WORKERS_MAX || dur < 1 ||
        dur > DURATION_MAX_S || warm < 0) {
        fprintf(stderr, "usage: mihua-bench-kms --url URL [--ca FILE] --caller ID:HEX --callee ID:HEX [-c N] "
                        "[-d SECONDS] [-w WARMUP_SECONDS]\n");
        return 2;
    }
    char err[SBI_TLS_ERR_MAX];
    SSL_CTX *tls = strncmp(url, "https:", 6) ? NULL : sbi_tls_client_ctx_new(ca, err, sizeof err);
    b.base = event_base_new();
    int rc = 1;
    if (setup_workers(&b, tls, url, k1, k2) == 0) {
        int64_t start = now_us();
        b.measure_from_us = start + warm * 1000000;
        b.stop_at_us = b.measure_from_us + dur * 1000000;
        for (int i = 0; i < b.n_workers; i++)
            next_pair(&b.w[i]);
        event_base_dispatch(b.base);
        report(&b, (now_us() - b.measure_from_us) / 1e6);
        rc = b.errors ? 1 : 0;
    }
    kms_cleanse(k1, sizeof k1);
    kms_cleanse(k2, sizeof k2);
    teardown(&b);
    event_base_free(b.base);
    SSL_CTX_free(tls);
    return rc;
}
