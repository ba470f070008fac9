/*
 * ue_load — load mode: pacing, per-call figures, percentiles (ue_load.h).
 */
#include "ue_load.h"

#include <event2/event.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "ue_media.h"

#define LOAD_TICK_MS 10 /* pacing granularity: at 1,000 calls/s each tick starts ~10 */
#define LOAD_REASONS 8  /* distinct plain reasons kept for the report */

typedef struct {
    uint64_t *v;
    size_t n, cap;
} series_t;

typedef enum { S_ANSWER_ENC = 0, S_ANSWER_PLAIN, S_KEYSYNC, S_EARLY, S_KEY, S_FIRST_MEDIA, S_COUNT } series_id_t;
static const char *const series_name[S_COUNT] = {"answered_encrypted", "answered_plain",  "key_sync",
                                                 "early_183",          "kms_key_in_hand", "first_media_after_200"};

struct ue_load {
    struct event_base *base;
    ue_agent_t *ag;
    const ue_conf_t *c;
    struct event *tick;
    uint64_t t_start;
    long placed, refused, ended, failed, encrypted, plain;
    series_t s[S_COUNT];
    char reasons[LOAD_REASONS][UE_REASON_MAX];
    long reason_n[LOAD_REASONS];
};

static void push(series_t *s, uint64_t v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        uint64_t *p = realloc(s->v, cap * sizeof *p);
        if (!p)
            return;
        s->v = p, s->cap = cap;
    }
    s->v[s->n++] = v;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    ue_load_t *l = arg;
    (void)fd, (void)what;
    uint64_t elapsed_ms = (ue_now_us() - l->t_start) / 1000;
    long due = (long)(elapsed_ms * (uint64_t)l->c->rate / 1000) + 1;
    if (due > l->c->calls)
        due = l->c->calls;
    while (l->placed + l->refused < due) {
        if (ue_agent_call(l->ag, l->c->target) == 0)
            l->placed++;
        else
            l->refused++;
    }
    if (l->placed + l->refused >= l->c->calls)
        event_del(l->tick);
}

ue_load_t *ue_load_new(struct event_base *base, ue_agent_t *ag, const ue_conf_t *c)
{
    ue_load_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->base = base, l->ag = ag, l->c = c;
    if (!(l->tick = event_new(base, -1, EV_PERSIST, on_tick, l))) {
        free(l);
        return NULL;
    }
    return l;
}

void ue_load_free(ue_load_t *l)
{
    if (!l)
        return;
    event_free(l->tick);
    for (int i = 0; i < S_COUNT; i++)
        free(l->s[i].v);
    free(l);
}

int ue_load_start(ue_load_t *l)
{
    struct timeval tv = {0, LOAD_TICK_MS * 1000};
    l->t_start = ue_now_us();
    if (event_add(l->tick, &tv) != 0)
        return -1;
    event_active(l->tick, EV_TIMEOUT, 0);
    return 0;
}

static void count_reason(ue_load_t *l, const char *r)
{
    for (int i = 0; i < LOAD_REASONS; i++) {
        if (!l->reasons[i][0])
            snprintf(l->reasons[i], sizeof l->reasons[i], "%s", r);
        if (strcmp(l->reasons[i], r) == 0) {
            l->reason_n[i]++;
            return;
        }
    }
}

void ue_load_record(ue_load_t *l, const ue_call_summary_t *s)
{
    l->ended++;
    if (!s->connected) {
        l->failed++;
        count_reason(l, s->failure);
        return;
    }
    push(&l->s[S_EARLY], s->t_early);
    if (s->encrypted) {
        l->encrypted++;
        push(&l->s[S_ANSWER_ENC], s->t_answer);
        push(&l->s[S_KEYSYNC], s->t_keysync);
        push(&l->s[S_KEY], s->t_key);
    } else {
        l->plain++;
        push(&l->s[S_ANSWER_PLAIN], s->t_answer);
        count_reason(l, s->reason);
    }
    if (s->t_first_media && s->t_first_media >= s->t_answer)
        push(&l->s[S_FIRST_MEDIA], s->t_first_media - s->t_answer);
}

bool ue_load_done(const ue_load_t *l)
{
    return l->placed + l->refused >= l->c->calls && l->ended >= l->placed;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile in ms; 0 for an empty series. */
static double pct(series_t *s, double p)
{
    if (s->n == 0)
        return 0;
    size_t k = (size_t)(p / 100.0 * (double)s->n + 0.999999);
    k = k < 1 ? 1 : k > s->n ? s->n : k;
    return (double)s->v[k - 1] / 1000.0;
}

int ue_load_report(const ue_load_t *lc, FILE *out, const char *json_path)
{
    ue_load_t *l = (ue_load_t *)lc; /* sorting in place is the only change */
    double secs = (double)(ue_now_us() - l->t_start) / 1e6;
    json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "target", l->c->target, "rate",
                          (json_int_t)l->c->rate, "placed", (json_int_t)l->placed, "refused", (json_int_t)l->refused,
                          "failed", (json_int_t)l->failed, "encrypted", (json_int_t)l->encrypted, "plain",
                          (json_int_t)l->plain, "mediaMs", (json_int_t)l->c->duration_ms);
    fprintf(out, "load: %ld calls at %ld/s to %s in %.1f s: %ld encrypted, %ld plain, %ld failed, %ld not placed\n",
            l->placed, l->c->rate, l->c->target, secs, l->encrypted, l->plain, l->failed, l->refused);
    for (int i = 0; i < S_COUNT; i++) {
        series_t *s = &l->s[i];
        if (s->n) /* qsort(NULL, 0) is undefined */
            qsort(s->v, s->n, sizeof *s->v, cmp_u64);
        double p50 = pct(s, 50), p99 = pct(s, 99), max = pct(s, 100);
        if (s->n)
            fprintf(out, "  %-22s n=%-7zu p50 %8.3f ms  p99 %8.3f ms  max %8.3f ms\n", series_name[i], s->n, p50, p99,
                    max);
        json_object_set_new(
            j, series_name[i],
            json_pack("{s:I, s:f, s:f, s:f}", "n", (json_int_t)s->n, "p50Ms", p50, "p99Ms", p99, "maxMs", max));
    }
    json_t *reasons = json_object();
    for (int i = 0; i < LOAD_REASONS && l->reasons[i][0]; i++) {
        fprintf(out, "  %-6ld %s\n", l->reason_n[i], l->reasons[i]);
        json_object_set_new(reasons, l->reasons[i], json_integer(l->reason_n[i]));
    }
    json_object_set_new(j, "reasons", reasons);
    FILE *f = json_path ? fopen(json_path, "a") : NULL;
    if (f) {
        json_dumpf(j, f, JSON_COMPACT);
        fputc('\n', f);
        fclose(f);
    } else if (json_path) {
        log_warn("ue", "cannot write %s", json_path);
    }
    json_decref(j);
    return l->failed || l->refused ? 1 : 0;
}
