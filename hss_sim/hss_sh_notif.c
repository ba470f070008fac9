/*
 * hss_sh_notif — Sh-Subs-Notif on the HSS (TS 29.328 §6.1.3/§6.1.4, TS 29.329 §6.1.5-§6.1.8).
 *
 * SNR (freeDiameter dispatch thread): Subs-Req-Type 0 adds or renews one subscription per (AS Origin-Host,
 * subscriber, Public-Identity), 1 removes it. Data-References are checked against TS 29.328 table 7.6.1: of those
 * this HSS serves, RepositoryData (with its Service-Indication) and IMSPublicIdentity may be subscribed to;
 * MSISDN and TADSinformation are Sh-Pull only and get DIAMETER_ERROR_USER_DATA_CANNOT_BE_NOTIFIED (5104); a
 * Data-Reference it does not serve gets 5100 as in a UDR. Expiry-Time is granted as asked but never beyond
 * max_expiry_s (none asked: the maximum) and always returned in the SNA. Send-Data-Indication returns the current
 * Sh-Data in the SNA. Absent RepositoryData is not an error (it means "not subscribed to voice encryption", a fact
 * the AS wants pushed when it changes). Unsubscribing what is not subscribed succeeds: the state asked for holds,
 * and TS 29.329 defines no code for it (DIAMETER_ERROR_SUBS_DATA_ABSENT, §6.2.2.10, is for subscribing to
 * Repository Data the HSS does not have).
 *
 * Change detection (event loop, sub_watch): when a new snapshot is in force it recomputes, per subscription,
 * the facts subscribed to (voice encryption, IMPU list) and sends a PNR to Destination-Host = the subscriber's
 * Origin-Host when they differ from those last told. So any change is seen whatever made it (this admin API, the
 * other simulator, mihua-subscribers, a reload), and a write that does not touch subscribed facts sends nothing. A deleted subscriber gets one last PNR without
 * RepositoryData and its subscriptions go. PNA: DIAMETER_ERROR_USER_UNKNOWN or NO_SUBSCRIPTION_TO_DATA (or any
 * 5xxx) drops the subscription, other failures are logged.
 *
 * Trade-offs: subscriptions live in memory only (an HSS restart drops them; the AS notices and subscribes
 * again); a store change costs O(subscriptions) comparisons on the loop, fine for the HSS_NOTIF_MAX_SUBS bound.
 * One mutex guards the table (SNRs on freeDiameter threads, the watch and PNAs elsewhere); PNRs are sent outside
 * it. In-flight PNRs hold a reference to this object, so a PNA after hss_notif_free() finds it still allocated.
 * Fault rules (lib/sim) for "SNR" answer before anything is subscribed, as a real HSS that refuses would.
 */
#include "hss_sh_notif.h"

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/iso_time.h"
#include "core/log.h"
#include "diameter/sh_msg_int.h"
#include "diameter/sh_notif.h"
#include "hss_faults.h"
#include "hss_sh_path.h"
#include "subscriber/sub_watch.h"

#define NOTIF_LOG "hss.notif"
#define NOTIF_FACTS_MAX 1024 /* "v=1;impu=..." — SUB_IMPU_MAX identities fit */
#define NOTIF_ID_MAX 256     /* DiameterIdentity */
#define NOTIF_ADMIN_PATH "/admin/v1/sh-subscriptions"

enum { REF_REPO = 1u << 0, REF_IMPU = 1u << 1 };

typedef struct {
    uint64_t id;
    char as_host[NOTIF_ID_MAX], as_realm[NOTIF_ID_MAX];
    char *identity; /* Public-Identity as the AS sent it: PNRs carry it back */
    char imsi[SUB_IMSI_MAX + 1];
    unsigned refs; /* REF_* */
    time_t expiry;
    char facts[NOTIF_FACTS_MAX]; /* the subscribed facts last told to the AS */
    uint64_t pushed;             /* PNRs sent */
} notif_sub_t;

typedef enum {
    SNR_OK,
    SNR_USER_UNKNOWN,
    SNR_DREF_UNSUPPORTED,
    SNR_NOT_NOTIFIABLE,
    SNR_MISSING_AVP,
    SNR_INVALID,
    SNR_FAILED,
    SNR_RESULT_COUNT
} snr_result_t;

static const char *const snr_name[SNR_RESULT_COUNT] = {
    "success",     "user_unknown", "data_ref_unsupported", "cannot_be_notified",
    "missing_avp", "invalid_avp",  "unable_to_comply",
};

/* Prometheus label sets, in the order of snr_result_t. */
static const char *const snr_label[SNR_RESULT_COUNT] = {
    "result=\"success\"",
    "result=\"user_unknown\"",
    "result=\"data_ref_unsupported\"",
    "result=\"cannot_be_notified\"",
    "result=\"missing_avp\"",
    "result=\"invalid_avp\"",
    "result=\"unable_to_comply\"",
};

enum { PNR_SUCCESS = 0, PNR_REFUSED, PNR_LOST, PNR_RESULT_COUNT };
static const char *const pnr_label[PNR_RESULT_COUNT] = {
    "result=\"success\"",
    "result=\"refused\"",
    "result=\"lost\"",
};

struct hss_notif {
    atomic_int refs;
    const sh_dict_t *dict;
    sub_store_t *store;
    char *si;
    long max_expiry_s;
    struct disp_hdl *hdl;
    sub_watch_t *watch;
    pthread_mutex_t lock; /* guards subs, n_subs, cap, next_id */
    notif_sub_t *subs;
    size_t n_subs, cap;
    uint64_t next_id;
    metric_t *snr[SNR_RESULT_COUNT];
    metric_t *pnr[PNR_RESULT_COUNT];
    metric_t *gauge;
    diam_sim_t *sim; /* journal and faults (lib/sim/diam_sim), or NULL */
};

/* A PNR to send once the table is unlocked. */
typedef struct {
    uint64_t sub_id;
    char as_host[NOTIF_ID_MAX], as_realm[NOTIF_ID_MAX];
    char *identity;
    char *xml;
    size_t len;
} pnr_job_t;

typedef struct {
    hss_notif_t *n;
    uint64_t sub_id;
    char as_host[NOTIF_ID_MAX];
} pnr_ctx_t;

static void notif_unref(hss_notif_t *n)
{
    if (atomic_fetch_sub(&n->refs, 1) != 1)
        return;
    for (size_t i = 0; i < n->n_subs; i++)
        free(n->subs[i].identity);
    free(n->subs);
    free(n->si);
    pthread_mutex_destroy(&n->lock);
    free(n);
}

static void count(metric_t *m)
{
    if (m != NULL)
        metric_inc(m);
}

/* ---------------------------------------------------------------- facts and Sh-Data */

/* The subscribed facts of `sub` as one comparable string; a deleted subscriber has none. */
static void facts_of(const notif_sub_t *s, const subscriber_t *sub, char *out, size_t size)
{
    size_t off = 0;
    if (sub == NULL) {
        snprintf(out, size, "deleted");
        return;
    }
    if (s->refs & REF_REPO)
        off += (size_t)snprintf(out + off, size - off, "v=%d;", sub->voice_encryption ? 1 : 0);
    for (size_t i = 0; (s->refs & REF_IMPU) && i < sub->n_impu && off < size; i++)
        off += (size_t)snprintf(out + off, size - off, "impu=%s;", sub->impu[i]);
    if (off == 0)
        out[0] = '\0';
}

static size_t refs_to_list(unsigned refs, uint32_t out[2])
{
    size_t n = 0;
    if (refs & REF_REPO)
        out[n++] = SH_DREF_REPOSITORY_DATA;
    if (refs & REF_IMPU)
        out[n++] = SH_DREF_IMS_PUBLIC_IDENTITY;
    return n;
}

/* Sh-Data for a subscription; a deleted subscriber is rendered as an empty one (no RepositoryData). */
static char *sub_xml(const hss_notif_t *n, unsigned refs, const subscriber_t *sub, size_t *len)
{
    uint32_t list[2];
    subscriber_t none;
    if (sub == NULL) {
        memset(&none, 0, sizeof none);
        sub = &none;
    }
    return hss_sh_data_xml(n->si, true, list, refs_to_list(refs, list), sub,
                           (uint32_t)(sub_store_generation(n->store) & 0xffffu), len);
}

/* ---------------------------------------------------------------- the table (under lock) */

static notif_sub_t *sub_find(hss_notif_t *n, const char *as_host, const char *imsi, const char *identity)
{
    for (size_t i = 0; i < n->n_subs; i++) {
        notif_sub_t *s = &n->subs[i];
        if (strcmp(s->imsi, imsi) == 0 && strcmp(s->as_host, as_host) == 0 && strcmp(s->identity, identity) == 0)
            return s;
    }
    return NULL;
}

static void sub_remove_at(hss_notif_t *n, size_t i)
{
    free(n->subs[i].identity);
    n->subs[i] = n->subs[--n->n_subs];
    if (n->gauge != NULL)
        metric_set(n->gauge, (int64_t)n->n_subs);
}

static void sub_remove_id(hss_notif_t *n, uint64_t id)
{
    for (size_t i = 0; i < n->n_subs; i++) {
        if (n->subs[i].id == id) {
            sub_remove_at(n, i);
            return;
        }
    }
}

static notif_sub_t *sub_add(hss_notif_t *n)
{
    if (n->n_subs >= HSS_NOTIF_MAX_SUBS)
        return NULL;
    if (n->n_subs == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 64;
        notif_sub_t *subs = realloc(n->subs, cap * sizeof *subs);
        if (subs == NULL)
            return NULL;
        n->subs = subs;
        n->cap = cap;
    }
    notif_sub_t *s = &n->subs[n->n_subs++];
    memset(s, 0, sizeof *s);
    s->id = ++n->next_id;
    if (n->gauge != NULL)
        metric_set(n->gauge, (int64_t)n->n_subs);
    return s;
}

/* ---------------------------------------------------------------- SNR */

typedef struct {
    sh_udr_t req;
    sh_snr_extra_t x;
    unsigned refs;
    time_t granted;
    const char *why;
} snr_t;

/* Checks the Data-References: fills s->refs or says which error applies. */
static snr_result_t check_refs(const hss_notif_t *n, snr_t *s)
{
    if (s->req.too_many_data_refs) {
        s->why = "too many Data-Reference AVPs";
        return SNR_DREF_UNSUPPORTED;
    }
    for (size_t i = 0; i < s->req.n_data_refs; i++) {
        uint32_t r = s->req.data_refs[i];
        if (!hss_sh_dref_served(r)) {
            s->why = "Data-Reference not served";
            return SNR_DREF_UNSUPPORTED;
        }
        if (r == SH_DREF_REPOSITORY_DATA) {
            bool si = false;
            for (size_t k = 0; k < s->req.n_service_ind; k++)
                si |= strcmp(s->req.service_ind[k], n->si) == 0;
            if (s->req.n_service_ind == 0) {
                s->why = "RepositoryData needs Service-Indication";
                return SNR_MISSING_AVP;
            }
            if (si)
                s->refs |= REF_REPO;
        } else if (r == SH_DREF_IMS_PUBLIC_IDENTITY) {
            s->refs |= REF_IMPU;
        } else {
            s->why = "Data-Reference not allowed for subscription (TS 29.328 table 7.6.1)";
            return SNR_NOT_NOTIFIABLE;
        }
    }
    if (s->req.public_identity == NULL) {
        s->why = "User-Identity has no Public-Identity";
        return SNR_MISSING_AVP;
    }
    return SNR_OK;
}

static time_t grant(const hss_notif_t *n, time_t asked)
{
    time_t now = time(NULL), max = now + n->max_expiry_s;
    return asked <= now || asked > max ? max : asked;
}

/* Subscribes or unsubscribes under the lock; `sub` is the subscriber found in the snapshot. */
static snr_result_t apply(hss_notif_t *n, snr_t *s, const subscriber_t *sub)
{
    snr_result_t r = SNR_OK;
    pthread_mutex_lock(&n->lock);
    notif_sub_t *cur = sub_find(n, s->x.origin_host, sub->imsi, s->req.public_identity);
    if (s->x.subs_req_type == SH_SUBS_UNSUBSCRIBE) {
        if (cur == NULL)
            s->why = "no such subscription: nothing to end";
        else
            sub_remove_at(n, (size_t)(cur - n->subs));
    } else {
        if (cur == NULL && (cur = sub_add(n)) != NULL) {
            cur->identity = strdup(s->req.public_identity);
            if (cur->identity == NULL) {
                n->n_subs--;
                cur = NULL;
            }
        }
        if (cur == NULL) {
            s->why = "subscription table full";
            r = SNR_FAILED;
        } else {
            snprintf(cur->as_host, sizeof cur->as_host, "%s", s->x.origin_host);
            snprintf(cur->as_realm, sizeof cur->as_realm, "%s", s->x.origin_realm);
            snprintf(cur->imsi, sizeof cur->imsi, "%s", sub->imsi);
            cur->refs = s->refs;
            cur->expiry = s->granted = grant(n, s->x.expiry);
            facts_of(cur, sub, cur->facts, sizeof cur->facts);
        }
    }
    pthread_mutex_unlock(&n->lock);
    return r;
}

static int answer_ok(hss_notif_t *n, snr_t *s, const subscriber_t *sub, struct msg *ans)
{
    char *xml = NULL;
    size_t len = 0;
    if (s->x.send_data && s->x.subs_req_type == SH_SUBS_SUBSCRIBE && (xml = sub_xml(n, s->refs, sub, &len)) == NULL)
        return -1;
    int rc = sh_uda_set_success(n->dict, ans, xml, len);
    free(xml);
    if (rc == 0 && s->x.subs_req_type == SH_SUBS_SUBSCRIBE)
        rc = sh_sna_set_expiry(n->dict, ans, s->granted);
    return rc;
}

static const uint32_t SNR_EXP_CODE[SNR_RESULT_COUNT] = {
    [SNR_USER_UNKNOWN] = SH_ERR_USER_UNKNOWN,
    [SNR_DREF_UNSUPPORTED] = SH_ERR_DATA_REF_NOT_SUPPORTED,
    [SNR_NOT_NOTIFIABLE] = SH_ERR_CANNOT_BE_NOTIFIED,
};

static snr_result_t decide(hss_notif_t *n, snr_t *s, struct msg *ans)
{
    snr_result_t r = check_refs(n, s);
    if (r == SNR_OK && s->x.subs_req_type > SH_SUBS_UNSUBSCRIBE) {
        s->why = "Subs-Req-Type out of range";
        r = SNR_INVALID;
    }
    if (r != SNR_OK)
        return r;
    sub_snapshot_t *snap = sub_store_acquire(n->store);
    const subscriber_t *sub = sub_find_by_identity(snap, s->req.public_identity);
    if (sub == NULL) {
        s->why = "user unknown";
        r = SNR_USER_UNKNOWN;
    } else {
        r = apply(n, s, sub);
        if (r == SNR_OK) {
            s->why = "ok";
            r = answer_ok(n, s, sub, ans) == 0 ? SNR_OK : SNR_FAILED;
        }
    }
    sub_snapshot_release(snap);
    return r;
}

static void answer_error(hss_notif_t *n, snr_result_t r, struct msg *ans, const char *why)
{
    if (SNR_EXP_CODE[r] != 0) {
        sh_uda_set_experimental(n->dict, ans, SNR_EXP_CODE[r]);
        return;
    }
    sh_add_app_and_state(n->dict, ans);
    const char *code = r == SNR_MISSING_AVP ? "DIAMETER_MISSING_AVP"
                       : r == SNR_INVALID   ? "DIAMETER_INVALID_AVP_VALUE"
                                            : "DIAMETER_UNABLE_TO_COMPLY";
    fd_msg_rescode_set(ans, (char *)code, (char *)why, NULL, 1);
}

static int on_snr(struct msg **msg, struct avp *avp, struct session *sess, void *opaque, enum disp_action *act)
{
    hss_notif_t *n = opaque;
    snr_t s;
    snr_result_t r;
    unsigned delay_ms = 0;

    (void)avp;
    (void)sess;
    memset(&s, 0, sizeof s);
    s.why = "malformed AVP";
    int read_rc = sh_udr_read(n->dict, *msg, &s.req);
    if (read_rc == 0)
        read_rc = sh_snr_read_extra(n->dict, *msg, &s.x);
    if (fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0) != 0) {
        sh_udr_clear(&s.req);
        return EINVAL;
    }
    if (read_rc == 0 && hss_faults_request(n->sim, n->store, "SNR", &s.req, msg, &delay_ms)) {
        sh_udr_clear(&s.req); /* the fault answers instead: no subscription is added or removed */
        *act = DISP_ACT_SEND;
        return 0;
    }
    r = read_rc != 0 ? SNR_INVALID : decide(n, &s, *msg);
    if (r != SNR_OK)
        answer_error(n, r, *msg, s.why);
    count(n->snr[r]);
    log_info(NOTIF_LOG, "SNR from=%s user=%s type=%s -> %s (%s)", s.x.origin_host,
             s.req.public_identity ? s.req.public_identity : "-",
             s.x.subs_req_type == SH_SUBS_UNSUBSCRIBE ? "unsubscribe" : "subscribe", snr_name[r], s.why);
    sh_udr_clear(&s.req);
    diam_sim_answer(n->sim, msg, delay_ms);
    *act = DISP_ACT_SEND;
    return 0;
}

void hss_notif_set_sim(hss_notif_t *n, diam_sim_t *sim)
{
    n->sim = sim;
}

/* ---------------------------------------------------------------- PNR */

static void pna_done(pnr_ctx_t *c, int outcome, uint32_t code, bool drop)
{
    hss_notif_t *n = c->n;
    count(n->pnr[outcome]);
    if (drop) {
        pthread_mutex_lock(&n->lock);
        sub_remove_id(n, c->sub_id);
        pthread_mutex_unlock(&n->lock);
    }
    if (outcome != PNR_SUCCESS)
        log_warn(NOTIF_LOG, "PNR to %s %s (code %" PRIu32 ")%s", c->as_host, outcome == PNR_LOST ? "lost" : "refused",
                 code, drop ? ": subscription dropped" : "");
    notif_unref(n);
    free(c);
}

static void on_pna(void *data, struct msg **ans)
{
    pnr_ctx_t *c = data;
    sh_uda_t a;
    uint32_t code = 0;
    int outcome = PNR_REFUSED;
    bool drop = false;

    if (sh_uda_read(c->n->dict, *ans, &a) == 0) {
        code = a.has_experimental ? a.exp_code : a.result_code;
        if (sh_uda_success(&a))
            outcome = PNR_SUCCESS;
        else
            drop = code >= 5000 && code < 6000; /* permanent: user unknown, no subscription to data, ... */
        sh_uda_clear(&a);
    }
    fd_msg_free(*ans);
    *ans = NULL;
    pna_done(c, outcome, code, drop);
}

static void on_pnr_expire(void *data, DiamId_t peer, size_t peer_len, struct msg **req)
{
    (void)peer;
    (void)peer_len;
    fd_msg_free(*req);
    *req = NULL;
    pna_done(data, PNR_LOST, 0, false);
}

static void pnr_send(hss_notif_t *n, const pnr_job_t *j)
{
    sh_pnr_params_t p = {.public_identity = j->identity,
                         .user_data = j->xml,
                         .user_data_len = j->len,
                         .dest_host = j->as_host,
                         .dest_realm = j->as_realm};
    struct msg *m = NULL;
    pnr_ctx_t *c = calloc(1, sizeof *c);
    struct timespec expire;

    if (c == NULL || sh_pnr_build(n->dict, &p, &m) != 0) {
        free(c);
        log_error(NOTIF_LOG, "PNR to %s could not be built", j->as_host);
        return;
    }
    c->n = n;
    c->sub_id = j->sub_id;
    snprintf(c->as_host, sizeof c->as_host, "%s", j->as_host);
    atomic_fetch_add(&n->refs, 1);
    clock_gettime(CLOCK_REALTIME, &expire);
    expire.tv_sec += HSS_NOTIF_PNR_TIMEOUT_S;
    if (fd_msg_send_timeout(&m, on_pna, c, on_pnr_expire, &expire) != 0) {
        if (m != NULL)
            fd_msg_free(m);
        pna_done(c, PNR_LOST, 0, false);
        return;
    }
    log_info(NOTIF_LOG, "PNR to=%s user=%s", j->as_host, j->identity);
}

/* Collects under the lock the PNRs the snapshot calls for, and drops expired subscriptions when `sweep`. */
static size_t collect(hss_notif_t *n, sub_snapshot_t *snap, bool changed, bool sweep, pnr_job_t **out)
{
    time_t now = time(NULL);
    size_t k = 0;
    pthread_mutex_lock(&n->lock);
    pnr_job_t *jobs = changed && n->n_subs > 0 ? calloc(n->n_subs, sizeof *jobs) : NULL;
    for (size_t i = 0; i < n->n_subs;) {
        notif_sub_t *s = &n->subs[i];
        if (sweep && s->expiry <= now) {
            log_info(NOTIF_LOG, "subscription of %s for %s expired", s->as_host, s->identity);
            sub_remove_at(n, i);
            continue;
        }
        const subscriber_t *sub = changed ? sub_find_by_imsi(snap, s->imsi) : NULL;
        char facts[NOTIF_FACTS_MAX];
        if (jobs != NULL && (facts_of(s, sub, facts, sizeof facts), strcmp(facts, s->facts) != 0)) {
            pnr_job_t *j = &jobs[k];
            j->sub_id = s->id;
            memcpy(j->as_host, s->as_host, sizeof j->as_host);
            memcpy(j->as_realm, s->as_realm, sizeof j->as_realm);
            j->identity = strdup(s->identity);
            j->xml = sub_xml(n, s->refs, sub, &j->len);
            if (j->identity != NULL && j->xml != NULL) {
                k++;
                memcpy(s->facts, facts, sizeof facts);
                s->pushed++;
            } else {
                free(j->identity);
                free(j->xml);
            }
            if (sub == NULL) {
                sub_remove_at(n, i);
                continue;
            }
        }
        i++;
    }
    pthread_mutex_unlock(&n->lock);
    *out = jobs;
    return k;
}

static void on_change(bool changed, sub_snapshot_t *snap, void *ud)
{
    hss_notif_t *n = ud;
    pnr_job_t *jobs = NULL;
    size_t k = collect(n, snap, changed, !changed, &jobs);
    for (size_t i = 0; i < k; i++) {
        pnr_send(n, &jobs[i]);
        free(jobs[i].identity);
        free(jobs[i].xml);
    }
    free(jobs);
}

/* ---------------------------------------------------------------- admin */

static json_t *sub_json(const notif_sub_t *s)
{
    char when[ISO_TIME_MAX];
    json_t *refs = json_array();
    if (s->refs & REF_REPO)
        json_array_append_new(refs, json_string("RepositoryData"));
    if (s->refs & REF_IMPU)
        json_array_append_new(refs, json_string("IMSPublicIdentity"));
    iso_time_format(s->expiry, when, sizeof when);
    return json_pack("{s:I,s:s,s:s,s:s,s:o,s:s,s:I}", "id", (json_int_t)s->id, "applicationServer", s->as_host,
                     "publicIdentity", s->identity, "imsi", s->imsi, "dataReferences", refs, "expiry", when,
                     "notificationsSent", (json_int_t)s->pushed);
}

static void on_admin_list(sbi_request_t *req, void *ud)
{
    hss_notif_t *n = ud;
    json_t *list = json_array();
    pthread_mutex_lock(&n->lock);
    for (size_t i = 0; i < n->n_subs; i++)
        json_array_append_new(list, sub_json(&n->subs[i]));
    pthread_mutex_unlock(&n->lock);
    json_t *body = json_pack("{s:o}", "subscriptions", list);
    sbi_respond_json(req, 200, body);
    json_decref(body);
}

/* ---------------------------------------------------------------- life */

static void register_metrics(hss_notif_t *n, metrics_t *m)
{
    for (int i = 0; m != NULL && i < SNR_RESULT_COUNT; i++)
        n->snr[i] = metrics_counter(m, "mihua_hss_snr_total", snr_label[i],
                                    "Sh Subscribe-Notifications-Requests answered, by result");
    for (int i = 0; m != NULL && i < PNR_RESULT_COUNT; i++)
        n->pnr[i] =
            metrics_counter(m, "mihua_hss_pnr_total", pnr_label[i], "Sh Push-Notification-Requests sent, by outcome");
    if (m != NULL)
        n->gauge = metrics_gauge(m, "mihua_hss_sh_subscriptions", "", "Sh subscriptions held");
}

hss_notif_t *hss_notif_new(struct event_base *base, const sh_dict_t *dict, sub_store_t *store,
                           const char *service_indication, long max_expiry_s, sbi_server_t *admin, metrics_t *metrics)
{
    hss_notif_t *n = calloc(1, sizeof *n);
    struct disp_when when = {.app = dict->app, .command = dict->cmd_snr};

    if (n == NULL)
        return NULL;
    atomic_init(&n->refs, 1);
    pthread_mutex_init(&n->lock, NULL);
    n->dict = dict;
    n->store = store;
    n->max_expiry_s = max_expiry_s > 0 ? max_expiry_s : HSS_NOTIF_EXPIRY_DEFAULT_S;
    n->si = strdup(service_indication);
    register_metrics(n, metrics);
    n->watch = sub_watch_new(base, store, on_change, n);
    if (n->si == NULL || n->watch == NULL || sbi_server_route(admin, "GET", NOTIF_ADMIN_PATH, on_admin_list, n) != 0 ||
        fd_disp_register(on_snr, DISP_HOW_CC, &when, n, &n->hdl) != 0) {
        hss_notif_free(n);
        return NULL;
    }
    return n;
}

void hss_notif_free(hss_notif_t *n)
{
    if (n == NULL)
        return;
    if (n->hdl != NULL)
        fd_disp_unregister(&n->hdl, NULL);
    sub_watch_free(n->watch);
    notif_unref(n);
}
