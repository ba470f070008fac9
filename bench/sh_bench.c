/*
 * sh_bench — UDR/UDA round trips per second against an HSS, with a fixed number of requests in flight.
 *
 * A freeDiameter client node (like mihua-probe) keeps `inflight` UDRs outstanding: the main thread sends the
 * first `inflight`, and each answer callback sends the next one itself (on freeDiameter's thread), so no extra
 * thread wake-up sits between an answer and the next request. Figures are printed, never judged: this is a
 * benchmark, not a test.
 * Usage: mihua-bench-sh --hss HOST:PORT [--impu URI] [--inflight N] [--count N] [--hss-host FQDN]
 */
#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <getopt.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "diameter/diam_node.h"
#include "diameter/sh_msg.h"

typedef struct {
    sem_t all_done;
    atomic_long next; /* index of the next request to send */
    atomic_long answered;
    atomic_long failed;
    long count;
    const sh_dict_t *dict;
    const sh_udr_params_t *params;
    double *lat_us;        /* one entry per request, for percentiles */
    struct timespec *sent; /* send time per request */
} bench_t;

typedef struct {
    bench_t *b;
    long idx;
} req_ctx_t;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void on_answer(void *data, struct msg **ans);

/* Sends request number `i`; returns 0 or -1. */
static int send_one(bench_t *b, long i)
{
    struct msg *req = NULL;
    req_ctx_t *c = malloc(sizeof *c);

    if (c == NULL)
        return -1;
    c->b = b;
    c->idx = i;
    clock_gettime(CLOCK_MONOTONIC, &b->sent[i]);
    if (sh_udr_build(b->dict, b->params, &req) != 0 || fd_msg_send(&req, on_answer, c) != 0) {
        free(c);
        return -1;
    }
    return 0;
}

/* Sends the next request if any is left; a failure counts as an answer so the run still ends. */
static void send_next(bench_t *b)
{
    long i = atomic_fetch_add(&b->next, 1);

    if (i >= b->count)
        return;
    if (send_one(b, i) != 0) {
        atomic_fetch_add(&b->failed, 1);
        if (atomic_fetch_add(&b->answered, 1) + 1 == b->count)
            sem_post(&b->all_done);
    }
}

static void on_answer(void *data, struct msg **ans)
{
    req_ctx_t *c = data;
    bench_t *b = c->b;
    struct timespec *t0 = &b->sent[c->idx];

    b->lat_us[c->idx] = now_us() - ((double)t0->tv_sec * 1e6 + (double)t0->tv_nsec / 1e3);
    fd_msg_free(*ans);
    *ans = NULL;
    free(c);
    send_next(b);
    if (atomic_fetch_add(&b->answered, 1) + 1 == b->count)
        sem_post(&b->all_done);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *hss = NULL, *impu = "tel:+15550000001", *hss_host = "hss.ims.test";
    long inflight = 1, count = 20000;
    static const struct option opts[] = {
        {"hss", required_argument, NULL, 'H'},      {"impu", required_argument, NULL, 'i'},
        {"inflight", required_argument, NULL, 'n'}, {"count", required_argument, NULL, 'c'},
        {"hss-host", required_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'H':
            hss = optarg;
            break;
        case 'i':
            impu = optarg;
            break;
        case 'n':
            inflight = atol(optarg);
            break;
        case 'c':
            count = atol(optarg);
            break;
        case 'h':
            hss_host = optarg;
            break;
        default:
            fprintf(stderr, "usage: mihua-bench-sh --hss HOST:PORT [--impu URI] [--inflight N] [--count N]\n");
            return 2;
        }
    }
    const char *colon = hss ? strrchr(hss, ':') : NULL;
    if (colon == NULL || inflight < 1 || count < 1) {
        fprintf(stderr, "mihua-bench-sh: need --hss HOST:PORT, positive --inflight and --count\n");
        return 2;
    }
    char addr[128];
    snprintf(addr, sizeof addr, "%.*s", (int)(colon - hss), hss);
    char origin[128];
    snprintf(origin, sizeof origin, "bench-%ld.ims.test", (long)getpid());
    log_set_level(LOG_LVL_WARN);

    sh_dict_t dict;
    char err[256];
    diam_node_conf_t dc = {.identity = origin,
                           .realm = "ims.test",
                           .port = 0,
                           .peers = {{.identity = hss_host, .addr = addr, .port = atoi(colon + 1)}},
                           .n_peers = 1,
                           .tc_timer = 6,
                           .tw_timer = 30};
    diam_node_t *node = diam_node_start(&dc, &dict, err, sizeof err);
    if (node == NULL || diam_node_wait_peer(node, hss_host, 10000) != 0) {
        fprintf(stderr, "mihua-bench-sh: no connection to %s (%s)\n", hss, node ? "timeout" : err);
        return 1;
    }

    const uint32_t refs[] = {SH_DREF_REPOSITORY_DATA, SH_DREF_TADS_INFORMATION};
    sh_udr_params_t p = {.public_identity = impu,
                         .data_refs = refs,
                         .n_data_refs = 2,
                         .service_indication = SH_SERVICE_INDICATION_VOENC,
                         .dest_realm = "ims.test",
                         .dest_host = hss_host};
    bench_t b = {.count = count, .dict = &dict, .params = &p};
    b.lat_us = calloc((size_t)count, sizeof *b.lat_us);
    b.sent = calloc((size_t)count, sizeof *b.sent);
    sem_init(&b.all_done, 0, 0);

    double t0 = now_us();
    for (long i = 0; i < inflight && i < count; i++)
        send_next(&b);
    sem_wait(&b.all_done);
    double secs = (now_us() - t0) / 1e6;
    if (atomic_load(&b.failed) > 0)
        fprintf(stderr, "mihua-bench-sh: %ld requests could not be sent\n", atomic_load(&b.failed));

    qsort(b.lat_us, (size_t)count, sizeof *b.lat_us, cmp_double);
    printf("inflight=%ld requests=%ld seconds=%.3f rate=%.0f/s p50=%.0fus p99=%.0fus\n", inflight, count, secs,
           (double)count / secs, b.lat_us[count / 2], b.lat_us[(count * 99) / 100]);
    diam_node_stop(node);
    free(b.lat_us);
    free(b.sent);
    return 0;
}
