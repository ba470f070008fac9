/*
 * as_checks — one encryption check per INVITE (DESIGN §3; patent claims 8-10), on the AS's event loop.
 *
 * A check asks every source the two policies need, all at once:
 *   HSS (as_sh_path): caller UDR RepositoryData; callee ONE UDR with RepositoryData and/or TADSinformation;
 *   UDM (as_udm_path): caller and callee operator-specific-data, callee amf-3gpp-access (by msisdn-<digits>).
 * Questions a policy does not need are NOT_ASKED; questions that are asked start out TIMEOUT and are overwritten
 * when their lookup answers, so when the check's one timer fires (lookup_timeout_ms) whatever has not answered
 * already reads "timeout" and the callback runs at once. A lookup that cannot even start (HSS peer not open, no
 * MSISDN in the identity, request refused) is answered on the spot (error / unknown); if nothing is left in
 * flight the timer is armed with zero delay, so the callback still runs from the loop, never inside
 * as_checks_start(). The decision itself is as_decide_encryption() (as_decide.c), pure.
 *
 * Ids, not pointers, across asynchronous hops (Open5GS): checks live in an id table; the HSS path returns a
 * token (check id and which party) and a late answer for a check that finished or was cancelled finds nothing and
 * is dropped. UDM lookups are records inside the check, cancelled in every way a check ends.
 *
 * Re-entrancy: the user callback runs last, after the check is freed, so it may start, cancel, or free
 * everything. Trade-off: a check always waits for every asked source (up to the timeout), even when `any` could
 * already decide — simpler, and the decision line then shows every source's answer and latency for operators.
 */
#include "as_checks.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "as_checks_int.h"
#include "as_facts_cache.h"
#include "as_push.h"
#include "as_sh_path.h"
#include "as_udm_path.h"
#include "core/log.h"
#include "sbi/sbi_url.h"

#define CHECKS_LOG "as.checks"
#define US_PER_MS 1000u
#define US_PER_S 1000000.0
#define CHECKS_LOOKUP_TIMEOUT_MAX_MS 60000u /* a longer timeout would hold the INVITE beyond any UE's patience */
#define CHECKS_DIAM_ERR_SERIES_MAX \
    32                          /* (code, origin host) series of mihua_as_diameter_errors_total; the
                                               labels come from the network, so their number is bounded: later
                                               pairs count under code="other",origin_host="other" */
#define CHECKS_LABELS_MAX 320   /* one preformatted label set */
#define CHECKS_DESCRIBE_MAX 512 /* one source's part of the decision line */

/* The lookups of one check; which source and questions each one answers. */
typedef enum {
    LK_HSS_CALLER = 0,
    LK_HSS_CALLEE,
    LK_UDM_CALLER_SUB,
    LK_UDM_CALLEE_SUB,
    LK_UDM_CALLEE_ATT,
    LK_COUNT,
} lookup_t;

#define UDM_LOOKUPS 3 /* LK_UDM_* */

static const as_source_t LOOKUP_SOURCE[LK_COUNT] = {
    [LK_HSS_CALLER] = AS_SRC_HSS,     [LK_HSS_CALLEE] = AS_SRC_HSS,     [LK_UDM_CALLER_SUB] = AS_SRC_UDM,
    [LK_UDM_CALLEE_SUB] = AS_SRC_UDM, [LK_UDM_CALLEE_ATT] = AS_SRC_UDM,
};

/* Metric kinds of failed answers. */
enum { KIND_ERROR = 0, KIND_TIMEOUT, KIND_UNKNOWN, KIND_COUNT };

typedef struct as_check {
    uint64_t id;
    as_checks_t *owner;
    char *caller, *callee;
    as_checks_cb cb;
    void *ud;
    as_lookup_results_t r;
    bool pending[LK_COUNT];
    uint64_t t0_us;
    struct event *timer;
    as_udm_lookup_t udm[UDM_LOOKUPS];          /* LK_UDM_CALLER_SUB.. in order */
    bool cached[AS_Q_COUNT];                   /* decided from the facts cache alone (as_facts_cover): not asked */
    bool cached_src[AS_Q_COUNT][AS_SRC_COUNT]; /* that source's answer came from the cache: not asked */
    uint64_t cache_age_ms;                     /* the oldest cached fact used */
} as_check_t;

struct as_checks {
    struct event_base *base;
    as_policy_t subscription, attachment;
    unsigned timeout_ms;
    as_sh_path_t *sh;   /* NULL when no policy uses the HSS */
    as_udm_path_t *udm; /* NULL when no policy uses the UDM */
    as_idmap_t checks;  /* id -> as_check_t (owned) */
    uint64_t next_id;
    metric_t *latency[AS_SRC_COUNT];
    metric_t *errors[AS_SRC_COUNT][KIND_COUNT];
    metrics_t *metrics; /* for the Diameter error series, registered on the loop as they first occur */
    struct {
        uint32_t code;
        bool experimental;
        char origin[AS_DIAM_ID_MAX];
        metric_t *m;
    } diam_err[CHECKS_DIAM_ERR_SERIES_MAX];
    size_t n_diam_err;
    metric_t *diam_err_other;
    metric_t *peer_open[AS_DIAM_PEERS_MAX]; /* mihua_as_diameter_peer_open{peer=...} */
    as_facts_t *facts;                      /* NULL when the facts cache is off */
    as_push_t *push;
    uint64_t max_age_ms;
    metric_t *path[2]; /* mihua_as_decisions_total{path="cache"|"query"} */
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool policy_uses(as_policy_t p, as_source_t s)
{
    return p == AS_POLICY_ANY || p == AS_POLICY_ALL || (p == AS_POLICY_HSS) == (s == AS_SRC_HSS);
}

static bool source_asked(const as_checks_t *c, as_question_t q, as_source_t s)
{
    return policy_uses(q == AS_Q_CALLEE_ATTACHED ? c->attachment : c->subscription, s);
}

/* ---------------------------------------------------------------- metrics and the decision line */

static const char *const SOURCE_NAME[AS_SRC_COUNT] = {[AS_SRC_HSS] = "hss", [AS_SRC_UDM] = "udm"};

/* A label value from the network: DiameterIdentity characters pass, anything else becomes '_'. */
static void label_safe(const char *in, char *out, size_t size)
{
    size_t n = 0;
    for (; in && *in && n + 1 < size; in++) {
        char ch = *in;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                  ch == '-' || ch == '_' || ch == ':';
        out[n++] = ok ? ch : '_';
    }
    out[n] = '\0';
}

static void register_metrics(as_checks_t *c, metrics_t *m)
{
    static const double bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};
    static const char *const lat_labels[AS_SRC_COUNT] = {"source=\"hss\"", "source=\"udm\""};
    static const char *const err_labels[AS_SRC_COUNT][KIND_COUNT] = {
        {"source=\"hss\",kind=\"error\"", "source=\"hss\",kind=\"timeout\"", "source=\"hss\",kind=\"unknown\""},
        {"source=\"udm\",kind=\"error\"", "source=\"udm\",kind=\"timeout\"", "source=\"udm\",kind=\"unknown\""},
    };
    if (m == NULL)
        return;
    c->metrics = m;
    for (size_t i = 0; i < as_sh_path_peer_count(c->sh) && i < AS_DIAM_PEERS_MAX; i++) {
        char peer[AS_DIAM_ID_MAX], labels[CHECKS_LABELS_MAX];
        label_safe(as_sh_path_peer_identity(c->sh, i), peer, sizeof peer);
        snprintf(labels, sizeof labels, "peer=\"%s\"", peer);
        c->peer_open[i] = metrics_gauge(m, "mihua_as_diameter_peer_open", labels,
                                        "1 while this Diameter peer (HSS or relay) is OPEN");
    }
    for (int s = 0; s < AS_SRC_COUNT; s++) {
        c->latency[s] =
            metrics_histogram(m, "mihua_as_lookup_seconds", lat_labels[s],
                              "Wall time of one check's lookups per source", bounds, sizeof bounds / sizeof bounds[0]);
        for (int k = 0; k < KIND_COUNT; k++)
            c->errors[s][k] = metrics_counter(m, "mihua_as_lookup_errors_total", err_labels[s][k],
                                              "Checks in which a source failed, by kind");
    }
}

static bool source_was_asked(const as_lookup_results_t *r, as_source_t s)
{
    for (int q = 0; q < AS_Q_COUNT; q++)
        if (r->answer[q][s] != AS_ANS_NOT_ASKED)
            return true;
    return false;
}

static const char DIAM_ERR_HELP[] = "Checks whose HSS lookup got a Diameter error answer (Result-Code not 2xxx, or "
                                    "an Experimental-Result), by code and the Origin-Host that answered";

static metric_t *diam_err_series(as_checks_t *c, const as_diam_error_t *e)
{
    for (size_t i = 0; i < c->n_diam_err; i++)
        if (c->diam_err[i].code == e->code && c->diam_err[i].experimental == e->experimental &&
            strcmp(c->diam_err[i].origin, e->origin_host) == 0)
            return c->diam_err[i].m;
    if (c->n_diam_err >= CHECKS_DIAM_ERR_SERIES_MAX) {
        if (c->diam_err_other == NULL)
            c->diam_err_other = metrics_counter(c->metrics, "mihua_as_diameter_errors_total",
                                                "code=\"other\",origin_host=\"other\"", DIAM_ERR_HELP);
        return c->diam_err_other;
    }
    char origin[AS_DIAM_ID_MAX], labels[CHECKS_LABELS_MAX];
    label_safe(e->origin_host, origin, sizeof origin);
    snprintf(labels, sizeof labels, "code=\"%u\",origin_host=\"%s\",experimental=\"%s\"", e->code,
             origin[0] ? origin : "unknown", e->experimental ? "true" : "false");
    metric_t *m = metrics_counter(c->metrics, "mihua_as_diameter_errors_total", labels, DIAM_ERR_HELP);
    if (m == NULL)
        return NULL;
    c->diam_err[c->n_diam_err].code = e->code;
    c->diam_err[c->n_diam_err].experimental = e->experimental;
    snprintf(c->diam_err[c->n_diam_err].origin, sizeof c->diam_err[c->n_diam_err].origin, "%s", e->origin_host);
    c->diam_err[c->n_diam_err++].m = m;
    return m;
}

/* Per source: the latency, and each kind of failure once per check. */
static void record_metrics(as_checks_t *c, const as_lookup_results_t *r)
{
    metric_t *de = c->metrics && r->hss_error.code ? diam_err_series(c, &r->hss_error) : NULL;
    if (de)
        metric_inc(de);
    for (int s = 0; s < AS_SRC_COUNT; s++) {
        if (!source_was_asked(r, (as_source_t)s))
            continue;
        if (c->latency[s])
            metric_observe(c->latency[s], (double)r->latency_us[s] / US_PER_S);
        bool kind[KIND_COUNT] = {false};
        for (int q = 0; q < AS_Q_COUNT; q++) {
            kind[KIND_ERROR] |= r->answer[q][s] == AS_ANS_ERROR;
            kind[KIND_TIMEOUT] |= r->answer[q][s] == AS_ANS_TIMEOUT;
            kind[KIND_UNKNOWN] |= r->answer[q][s] == AS_ANS_UNKNOWN;
        }
        for (int k = 0; k < KIND_COUNT; k++)
            if (kind[k] && c->errors[s][k])
                metric_inc(c->errors[s][k]);
    }
}

/* " hss=[yes,yes,no] rat=NR 1.23ms" or " hss=-"; the HSS's part ends with " hss_result=3007 hss_origin=dra.x"
 * (or " hss_exp_result=5001 ...") when a UDR got an error answer. */
static void describe_source(const as_lookup_results_t *r, as_source_t s, char *out, size_t size)
{
    if (!source_was_asked(r, s)) {
        snprintf(out, size, " %s=-", SOURCE_NAME[s]);
        return;
    }
    int n = snprintf(
        out, size, " %s=[%s,%s,%s] rat=%s %.2fms", SOURCE_NAME[s], as_answer_name(r->answer[AS_Q_CALLER_SUBSCRIBED][s]),
        as_answer_name(r->answer[AS_Q_CALLEE_SUBSCRIBED][s]), as_answer_name(r->answer[AS_Q_CALLEE_ATTACHED][s]),
        r->callee_rat[s][0] ? r->callee_rat[s] : "-", (double)r->latency_us[s] / US_PER_MS);
    if (s != AS_SRC_HSS || r->hss_error.code == 0 || n < 0 || (size_t)n >= size)
        return;
    char origin[AS_DIAM_ID_MAX];
    label_safe(r->hss_error.origin_host, origin, sizeof origin);
    snprintf(out + n, size - (size_t)n, " hss_%s=%u hss_origin=%s", r->hss_error.experimental ? "exp_result" : "result",
             r->hss_error.code, origin[0] ? origin : "-");
}

static bool all_cached(const as_check_t *k)
{
    return k->cached[AS_Q_CALLER_SUBSCRIBED] && k->cached[AS_Q_CALLEE_SUBSCRIBED] && k->cached[AS_Q_CALLEE_ATTACHED];
}

static void log_decision(const as_checks_t *c, const as_check_t *k, const as_decision_t *d)
{
    char hss[CHECKS_DESCRIBE_MAX], udm[CHECKS_DESCRIBE_MAX];
    if (log_get_level() < LOG_LVL_INFO)
        return; /* the descriptions cost more than the decision from the cache: not built for nothing */
    describe_source(&k->r, AS_SRC_HSS, hss, sizeof hss);
    describe_source(&k->r, AS_SRC_UDM, udm, sizeof udm);
    char path[48] = "path=query";
    if (all_cached(k))
        snprintf(path, sizeof path, "path=cache age_ms=%" PRIu64, k->cache_age_ms);
    log_info(CHECKS_LOG, "decision check=%" PRIu64 " caller=%s callee=%s policy=%s/%s%s%s -> %s (%s) in %.2fms %s",
             k->id, k->caller, k->callee, as_policy_name(c->subscription), as_policy_name(c->attachment), hss, udm,
             d->allowed ? "allowed" : "not allowed", d->reason, (double)(now_us() - k->t0_us) / US_PER_MS, path);
}

/* ---------------------------------------------------------------- check life cycle */

static void check_free(as_checks_t *c, as_check_t *k)
{
    for (int i = 0; i < UDM_LOOKUPS; i++)
        as_udm_path_cancel(c->udm, &k->udm[i]);
    if (k->timer)
        event_free(k->timer);
    free(k->caller);
    free(k->callee);
    free(k);
}

/* Ends a check: decision, metrics, log, then the callback — last, with the check already gone. */
static void finish(as_checks_t *c, as_check_t *k)
{
    as_idmap_take(&c->checks, k->id);
    as_decision_t d = as_decide_encryption(&k->r, c->subscription, c->attachment);
    record_metrics(c, &k->r);
    if (c->path[all_cached(k)] != NULL)
        metric_inc(c->path[all_cached(k)]);
    log_decision(c, k, &d);
    as_lookup_results_t r = k->r;
    as_checks_cb cb = k->cb;
    void *ud = k->ud;
    check_free(c, k);
    cb(&d, &r, ud);
}

static bool source_pending(const as_check_t *k, as_source_t s)
{
    for (int i = 0; i < LK_COUNT; i++)
        if (k->pending[i] && LOOKUP_SOURCE[i] == s)
            return true;
    return false;
}

static bool any_pending(const as_check_t *k)
{
    for (int i = 0; i < LK_COUNT; i++)
        if (k->pending[i])
            return true;
    return false;
}

/* Marks a lookup answered; the source's latency is the time its last lookup took. */
static void lookup_done(as_check_t *k, lookup_t lk)
{
    as_source_t s = LOOKUP_SOURCE[lk];
    k->pending[lk] = false;
    if (!source_pending(k, s))
        k->r.latency_us[s] = (uint32_t)(now_us() - k->t0_us);
}

/* After an answer arrived from the loop: finish when nothing is left. */
static void maybe_finish(as_checks_t *c, as_check_t *k)
{
    if (!any_pending(k))
        finish(c, k);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    as_check_t *k = arg;
    as_checks_t *c = k->owner;

    (void)fd;
    (void)what;
    for (int i = 0; i < LK_COUNT; i++)
        if (k->pending[i])
            lookup_done(k, (lookup_t)i); /* its questions still read TIMEOUT */
    finish(c, k);
}

/* ---------------------------------------------------------------- HSS */

static uint64_t sh_token(uint64_t id, bool callee)
{
    return id << 1 | (callee ? 1u : 0u);
}

/* Whether the answer of source s to question q was set from the cache. */
static bool from_memory(const as_check_t *k, as_question_t q, as_source_t s)
{
    return k->cached[q] || k->cached_src[q][s];
}

static void apply_sh(as_check_t *k, bool callee, const as_sh_result_t *res)
{
    if (res->error.code != 0 && k->r.hss_error.code == 0)
        k->r.hss_error = res->error;
    if (!callee) {
        k->r.answer[AS_Q_CALLER_SUBSCRIBED][AS_SRC_HSS] = res->subscribed;
        lookup_done(k, LK_HSS_CALLER);
        return;
    }
    if (!from_memory(k, AS_Q_CALLEE_SUBSCRIBED, AS_SRC_HSS)) /* a UDR for T-ADS only leaves it alone */
        k->r.answer[AS_Q_CALLEE_SUBSCRIBED][AS_SRC_HSS] = res->subscribed;
    if (!from_memory(k, AS_Q_CALLEE_ATTACHED, AS_SRC_HSS)) {
        k->r.answer[AS_Q_CALLEE_ATTACHED][AS_SRC_HSS] = res->attached;
        snprintf(k->r.callee_rat[AS_SRC_HSS], sizeof k->r.callee_rat[AS_SRC_HSS], "%s", res->rat);
    }
    lookup_done(k, LK_HSS_CALLEE);
}

static void on_sh_result(uint64_t token, const as_sh_result_t *res, void *ud)
{
    as_checks_t *c = ud;
    bool callee = token & 1u;
    as_check_t *k = as_idmap_get(&c->checks, token >> 1);
    if (k == NULL || !k->pending[callee ? LK_HSS_CALLEE : LK_HSS_CALLER]) {
        log_debug(CHECKS_LOG, "late HSS answer for check %" PRIu64 ": dropped", token >> 1);
        return;
    }
    apply_sh(k, callee, res);
    maybe_finish(c, k);
}

/* Sends one UDR, or records "error" at once when it cannot be sent (peer not open). */
static void start_sh_lookup(as_checks_t *c, as_check_t *k, bool callee, bool want_repo, bool want_tads)
{
    if (!want_repo && !want_tads)
        return;
    lookup_t lk = callee ? LK_HSS_CALLEE : LK_HSS_CALLER;
    k->pending[lk] = true;
    if (as_sh_path_query(c->sh, sh_token(k->id, callee), callee ? k->callee : k->caller, want_repo, want_tads,
                         c->timeout_ms) == 0)
        return;
    as_sh_result_t res = {
        .subscribed = want_repo ? AS_ANS_ERROR : AS_ANS_NOT_ASKED,
        .attached = want_tads ? AS_ANS_ERROR : AS_ANS_NOT_ASKED,
    };
    apply_sh(k, callee, &res);
}

/* Whether question q is to be asked of source s in this check: the policy uses s and the cache did not answer. */
static bool to_ask(const as_checks_t *c, const as_check_t *k, as_question_t q, as_source_t s)
{
    return source_asked(c, q, s) && !from_memory(k, q, s);
}

static void start_hss(as_checks_t *c, as_check_t *k)
{
    if (c->sh == NULL)
        return;
    start_sh_lookup(c, k, false, to_ask(c, k, AS_Q_CALLER_SUBSCRIBED, AS_SRC_HSS), false);
    start_sh_lookup(c, k, true, to_ask(c, k, AS_Q_CALLEE_SUBSCRIBED, AS_SRC_HSS),
                    to_ask(c, k, AS_Q_CALLEE_ATTACHED, AS_SRC_HSS));
}

/* ---------------------------------------------------------------- UDM */

static const as_question_t UDM_QUESTION[UDM_LOOKUPS] = {AS_Q_CALLER_SUBSCRIBED, AS_Q_CALLEE_SUBSCRIBED,
                                                        AS_Q_CALLEE_ATTACHED};

static void apply_udm(as_check_t *k, int i, const as_udm_result_t *res)
{
    k->r.answer[UDM_QUESTION[i]][AS_SRC_UDM] = res->answer;
    if (UDM_QUESTION[i] == AS_Q_CALLEE_ATTACHED)
        snprintf(k->r.callee_rat[AS_SRC_UDM], sizeof k->r.callee_rat[AS_SRC_UDM], "%s", res->rat);
    lookup_done(k, (lookup_t)(LK_UDM_CALLER_SUB + i));
}

static void on_udm_result(as_udm_lookup_t *lk, const as_udm_result_t *res, void *ud)
{
    as_check_t *k = ud;
    int i = (int)(lk - k->udm);
    apply_udm(k, i, res);
    maybe_finish(k->owner, k);
}

static void start_udm_lookup(as_checks_t *c, as_check_t *k, int i, const char *msisdn)
{
    if (!to_ask(c, k, UDM_QUESTION[i], AS_SRC_UDM))
        return;
    as_udm_lookup_t *lk = &k->udm[i];
    *lk = (as_udm_lookup_t){
        .kind = UDM_QUESTION[i] == AS_Q_CALLEE_ATTACHED ? AS_UDM_ATTACHED : AS_UDM_SUBSCRIBED,
        .cb = on_udm_result,
        .ud = k,
    };
    k->pending[LK_UDM_CALLER_SUB + i] = true;
    as_udm_result_t res = {.answer = AS_ANS_UNKNOWN}; /* no MSISDN: the UDM cannot be asked about this user */
    if (msisdn != NULL) {
        if (as_udm_path_query(c->udm, lk, msisdn, c->timeout_ms) == 0)
            return;
        res.answer = AS_ANS_ERROR;
    }
    apply_udm(k, i, &res);
}

static void start_udm(as_checks_t *c, as_check_t *k)
{
    char caller[AS_MSISDN_MAX_DIGITS + 1], callee[AS_MSISDN_MAX_DIGITS + 1];
    if (c->udm == NULL)
        return;
    bool caller_ok = as_identity_msisdn(k->caller, caller, sizeof caller) == 0;
    bool callee_ok = as_identity_msisdn(k->callee, callee, sizeof callee) == 0;
    start_udm_lookup(c, k, 0, caller_ok ? caller : NULL);
    start_udm_lookup(c, k, 1, callee_ok ? callee : NULL);
    start_udm_lookup(c, k, 2, callee_ok ? callee : NULL);
}

/* ---------------------------------------------------------------- API */

static as_check_t *check_new(as_checks_t *c, const char *caller, const char *callee, as_checks_cb cb, void *ud)
{
    as_check_t *k = calloc(1, sizeof *k);
    if (k == NULL)
        return NULL;
    k->owner = c;
    k->cb = cb;
    k->ud = ud;
    k->caller = strdup(caller);
    k->callee = strdup(callee);
    k->timer = evtimer_new(c->base, on_timer, k);
    k->id = ++c->next_id;
    if (!k->caller || !k->callee || !k->timer || as_idmap_put(&c->checks, k->id, k) != 0) {
        check_free(c, k);
        return NULL;
    }
    for (int q = 0; q < AS_Q_COUNT; q++)
        for (int s = 0; s < AS_SRC_COUNT; s++)
            k->r.answer[q][s] = source_asked(c, (as_question_t)q, (as_source_t)s) ? AS_ANS_TIMEOUT : AS_ANS_NOT_ASKED;
    return k;
}

/* Answers from the facts cache: a question it decides alone (as_facts_cover) is not asked at all; otherwise each
 * source with a fresh fact answers from memory and only the others are asked. */
static void from_cache(as_checks_t *c, as_check_t *k)
{
    static const as_fact_kind_t KIND[AS_Q_COUNT] = {AS_FACT_SUBSCRIBED, AS_FACT_SUBSCRIBED, AS_FACT_ATTACHED};
    char caller[AS_MSISDN_MAX_DIGITS + 1], callee[AS_MSISDN_MAX_DIGITS + 1];
    if (c->facts == NULL || as_identity_msisdn(k->caller, caller, sizeof caller) != 0 ||
        as_identity_msisdn(k->callee, callee, sizeof callee) != 0)
        return;
    uint64_t now = now_us() / US_PER_MS;
    const as_facts_entry_t *who[AS_Q_COUNT] = {as_facts_get(c->facts, caller), as_facts_get(c->facts, callee),
                                               as_facts_get(c->facts, callee)};
    for (int q = 0; q < AS_Q_COUNT; q++) {
        as_answer_t cached[AS_SRC_COUNT], out[AS_SRC_COUNT];
        uint64_t age[AS_SRC_COUNT] = {0, 0};
        for (int s = 0; s < AS_SRC_COUNT; s++)
            cached[s] = as_push_source_up(c->push, (as_source_t)s)
                            ? as_facts_fresh(who[q], (as_source_t)s, KIND[q], now, c->max_age_ms, &age[s])
                            : AS_ANS_NOT_ASKED;
        as_policy_t p = q == AS_Q_CALLEE_ATTACHED ? c->attachment : c->subscription;
        k->cached[q] = as_facts_cover(p, cached, out);
        for (int s = 0; s < AS_SRC_COUNT; s++) {
            as_answer_t a = k->cached[q] ? out[s] : cached[s];
            if (!k->cached[q] && (a == AS_ANS_NOT_ASKED || !source_asked(c, (as_question_t)q, (as_source_t)s)))
                continue; /* not in memory: the source is asked */
            k->r.answer[q][s] = a;
            k->cached_src[q][s] = a != AS_ANS_NOT_ASKED;
            if (a != AS_ANS_NOT_ASKED && age[s] > k->cache_age_ms)
                k->cache_age_ms = age[s];
            if (q == AS_Q_CALLEE_ATTACHED && a != AS_ANS_NOT_ASKED)
                snprintf(k->r.callee_rat[s], sizeof k->r.callee_rat[s], "%s", who[q]->rat[s]);
        }
    }
}

uint64_t as_checks_start(as_checks_t *c, const char *caller, const char *callee, as_checks_cb cb, void *ud)
{
    if (!c || !caller || !callee || !cb)
        return 0;
    as_check_t *k = check_new(c, caller, callee, cb, ud);
    if (k == NULL) {
        log_error(CHECKS_LOG, "out of memory: no check for %s -> %s", caller, callee);
        return 0;
    }
    k->t0_us = now_us();
    from_cache(c, k);
    start_hss(c, k);
    start_udm(c, k);
    unsigned ms = any_pending(k) ? c->timeout_ms : 0; /* 0: every answer is in; call back from the loop */
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    if (evtimer_add(k->timer, &tv) != 0) {
        as_idmap_take(&c->checks, k->id);
        check_free(c, k);
        return 0;
    }
    return k->id;
}

void as_checks_cancel(as_checks_t *c, uint64_t handle)
{
    as_check_t *k = c ? as_idmap_take(&c->checks, handle) : NULL;
    if (k != NULL)
        check_free(c, k);
}

static int validate_conf(const as_checks_conf_t *conf, char *err, size_t errlen)
{
    if ((unsigned)conf->subscription_source > AS_POLICY_ALL || (unsigned)conf->attachment_source > AS_POLICY_ALL) {
        snprintf(err, errlen, "subscription_source and attachment_source must be hss, udm, any or all");
        return -1;
    }
    if (conf->lookup_timeout_ms > CHECKS_LOOKUP_TIMEOUT_MAX_MS) {
        snprintf(err, errlen, "lookup_timeout_ms must be at most %u", CHECKS_LOOKUP_TIMEOUT_MAX_MS);
        return -1;
    }
    return 0;
}

static int start_cache(as_checks_t *c, const as_checks_conf_t *conf, metrics_t *metrics, char *err, size_t errlen)
{
    as_push_conf_t pc = {.sh_subscribed = policy_uses(c->subscription, AS_SRC_HSS),
                         .udm_subscribed = policy_uses(c->subscription, AS_SRC_UDM),
                         .udm_attached = policy_uses(c->attachment, AS_SRC_UDM),
                         .udm_url = conf->udm_url,
                         .udm_ca = conf->udm_ca};
    c->max_age_ms = pc.max_age_ms = conf->facts_max_age_ms ? conf->facts_max_age_ms : AS_FACTS_MAX_AGE_MS_DEFAULT;
    if ((c->facts = as_facts_new()) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if ((c->push = as_push_new(c->base, c->facts, c->sh, &pc, metrics, err, errlen)) == NULL)
        return -1;
    for (int i = 0; metrics != NULL && i < 2; i++)
        c->path[i] = metrics_counter(metrics, "mihua_as_decisions_total", i ? "path=\"cache\"" : "path=\"query\"",
                                     "Encryption decisions, by path: from the facts cache or from queries");
    return 0;
}

void as_checks_registered(as_checks_t *c, const char *aor)
{
    if (c != NULL)
        as_push_registered(c->push, aor);
}

void as_checks_deregistered(as_checks_t *c, const char *aor)
{
    if (c != NULL)
        as_push_deregistered(c->push, aor);
}

int as_checks_attach_sbi(as_checks_t *c, sbi_server_t *srv, const char *host, unsigned port)
{
    char base[SBI_HOST_MAX + 24]; /* "http://[" host "]:" port */
    snprintf(base, sizeof base, strchr(host, ':') ? "http://[%s]:%u" : "http://%s:%u", host, port);
    return c != NULL && c->push != NULL ? as_push_attach(c->push, srv, base) : 0;
}

as_checks_t *as_checks_new(struct event_base *base, const as_checks_conf_t *conf, metrics_t *metrics, char *err,
                           size_t errlen)
{
    char dummy[1];
    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (base == NULL || conf == NULL) {
        snprintf(err, errlen, "missing event base or configuration");
        return NULL;
    }
    if (validate_conf(conf, err, errlen) != 0)
        return NULL;
    as_checks_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->base = base;
    c->subscription = conf->subscription_source;
    c->attachment = conf->attachment_source;
    c->timeout_ms = conf->lookup_timeout_ms ? conf->lookup_timeout_ms : AS_LOOKUP_TIMEOUT_MS_DEFAULT;
    bool hss = policy_uses(c->subscription, AS_SRC_HSS) || policy_uses(c->attachment, AS_SRC_HSS);
    bool udm = policy_uses(c->subscription, AS_SRC_UDM) || policy_uses(c->attachment, AS_SRC_UDM);
    if ((hss && (c->sh = as_sh_path_new(base, conf, on_sh_result, c, err, errlen)) == NULL) ||
        (udm && (c->udm = as_udm_path_new(base, conf->udm_url, conf->udm_ca, err, errlen)) == NULL)) {
        as_checks_free(c);
        return NULL;
    }
    if (conf->facts_cache && start_cache(c, conf, metrics, err, errlen) != 0) {
        as_checks_free(c);
        return NULL;
    }
    register_metrics(c, metrics);
    return c;
}

void as_checks_free(as_checks_t *c)
{
    if (c == NULL)
        return;
    uint64_t id;
    as_check_t *k;
    while ((k = as_idmap_any(&c->checks, &id)) != NULL) {
        as_idmap_take(&c->checks, id);
        check_free(c, k);
    }
    as_idmap_clear(&c->checks);
    as_push_stop(c->push); /* no PNR handler once the node stops */
    as_sh_path_free(c->sh);
    as_push_free(c->push); /* after the node: no SNA callback can run any more */
    as_facts_free(c->facts);
    as_udm_path_free(c->udm);
    free(c);
}

void as_checks_refresh_metrics(as_checks_t *c)
{
    for (size_t i = 0; c && i < as_sh_path_peer_count(c->sh) && i < AS_DIAM_PEERS_MAX; i++)
        if (c->peer_open[i])
            metric_set(c->peer_open[i], as_sh_path_peer_is_open(c->sh, i) ? 1 : 0);
}

bool as_checks_hss_open(const as_checks_t *c)
{
    return c && as_sh_path_peer_open(c->sh);
}

int as_checks_wait_hss(as_checks_t *c, int timeout_ms)
{
    return c && c->sh ? as_sh_path_wait_peer(c->sh, timeout_ms) : -1;
}
