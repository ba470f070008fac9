/*
 * as_push — subscriptions that keep the AS's facts cache fresh (see as_push.h; TS 29.328 §6.1.3/§6.1.4,
 * TS 29.329 §6.1.5-§6.1.8, TS 29.504/29.505 subs-to-notify).
 *
 * Threads: SNAs and PNRs arrive on freeDiameter's threads. Those callbacks touch no cache state: they decode what
 * they need into a small event, queue it under a mutex and write a byte to a pipe; the loop drains the queue
 * (STYLE: heavy work out of freeDiameter's threads). A PNR is answered from the loop, which alone knows the
 * subscriptions held: DIAMETER_SUCCESS for a user with an Sh subscription (active or being made), else
 * Experimental-Result DIAMETER_ERROR_NO_SUBSCRIPTION_TO_DATA (TS 29.329 §6.2.2.11), which makes the HSS drop it —
 * what ends the subscriptions of a previous run of this AS, or of a user it no longer holds. A PNR that does not
 * parse gets the same answer at once.
 *
 * State per user and source lives in the cache entry (active, pending, renew_at_ms). One scan a second
 * (AS_PUSH_SCAN_MS) subscribes every entry that is neither active nor pending, and renews an active one at its
 * renew_at_ms (half the granted expiry or half max_age_ms, whichever comes first: an SNR with
 * Send-Data-Indication, or a new Nudr subscription followed by the GETs of its resources, confirms the facts, so
 * facts used by a call are never older than max_age_ms while the peers are well).
 * Loss: the Sh peer leaving OPEN (checked every AS_PUSH_TICK_MS) forgets every HSS fact; the UDM probe (GET
 * subs-to-notify?ue-id= of one subscribed user, each scan) not finding our subscriptionId, or failing, forgets
 * every UDM fact; a failed subscription leaves the entry inactive. Forgotten entries are subscribed again by the
 * next scans once the peer answers. A DataChangeNotify for a user without an active UDM subscription gets 404,
 * which makes the UDM drop that subscription (TS 29.500 §5.2.7).
 * Deregistration (the user's last binding gone): SNR Subs-Req-Type unsubscribe and DELETE subs-to-notify/{id},
 * then the entry goes. A subscription whose answer comes back after that is ended the same way on arrival.
 */
#include "as_push.h"

#include <errno.h>
#include <fcntl.h>
#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "as_udm_path.h"
#include "core/core_hex.h"
#include "core/iso_time.h"
#include "core/log.h"
#include "diameter/sh_notif.h"
#include "sbi/sbi_client.h"
#include "sbi/sbi_problem.h"
#include "sbi/sbi_tls.h"
#include "sbi/sbi_url.h"

#define PUSH_LOG "as.push"
#define PUSH_URL_MAX 1024
#define PUSH_RETRY_MS 2000 /* a failed subscription is tried again this much later */
#define PUSH_SBI_TIMEOUT_MS 2000
#define PUSH_SUBS_PATH "/nudr-dr/v2/subscription-data/subs-to-notify"
#define PUSH_OSD_FMT "%s/nudr-dr/v2/subscription-data/msisdn-%s/operator-specific-data"
#define PUSH_AMF_FMT "%s/nudr-dr/v2/subscription-data/msisdn-%s/context-data/amf-3gpp-access"
#define PUSH_OSD_GET "%s/nudr-dr/v2/subscription-data/msisdn-%s/operator-specific-data?fields=voiceEncryption"
#define PUSH_AMF_GET "%s/nudm-uecm/v1/msisdn-%s/registrations/amf-3gpp-access"

/* ---------------------------------------------------------------- events from freeDiameter's threads */

typedef enum { EV_SNA_OK, EV_SNA_FAILED, EV_PNR } ev_kind_t;

typedef struct push_ev {
    ev_kind_t kind;
    char msisdn[AS_MSISDN_MAX_DIGITS + 1];
    char identity[AS_FACTS_IDENTITY_MAX]; /* EV_SNA_*: the Public-Identity subscribed */
    as_answer_t subscribed;
    time_t expiry;
    uint32_t code;   /* EV_SNA_FAILED: the error answer's code, 0 for no answer */
    struct msg *pna; /* EV_PNR: the answer, sent by the loop */
    struct push_ev *next;
} push_ev_t;

typedef struct {
    as_push_t *p;
    char msisdn[AS_MSISDN_MAX_DIGITS + 1];
    char identity[AS_FACTS_IDENTITY_MAX];
} snr_ctx_t;

/* Nudr requests in flight: freed by their callback or by as_push_free. */
typedef enum { RQ_CREATE, RQ_DELETE, RQ_GET_OSD, RQ_GET_AMF, RQ_PROBE } rq_kind_t;

typedef struct rq {
    as_push_t *p;
    rq_kind_t kind;
    char msisdn[AS_MSISDN_MAX_DIGITS + 1];
    uint64_t subs_id; /* RQ_PROBE: the id looked for */
    struct rq *prev, *next;
} rq_t;

enum { M_HSS_OK = 0, M_HSS_FAILED, M_UDM_OK, M_UDM_FAILED, M_PNR, M_DCN, M_HSS_LOST, M_UDM_LOST, M_COUNT };

static const struct {
    const char *name, *labels, *help;
} METRICS[M_COUNT] = {
    {"mihua_as_push_subscribe_total", "source=\"hss\",result=\"ok\"", "Subscriptions made, by source and result"},
    {"mihua_as_push_subscribe_total", "source=\"hss\",result=\"failed\"", "Subscriptions made, by source and result"},
    {"mihua_as_push_subscribe_total", "source=\"udm\",result=\"ok\"", "Subscriptions made, by source and result"},
    {"mihua_as_push_subscribe_total", "source=\"udm\",result=\"failed\"", "Subscriptions made, by source and result"},
    {"mihua_as_push_notifications_total", "source=\"hss\"",
     "Notifications applied to the facts cache (PNR, "
     "DataChangeNotify)"},
    {"mihua_as_push_notifications_total", "source=\"udm\"",
     "Notifications applied to the facts cache (PNR, "
     "DataChangeNotify)"},
    {"mihua_as_push_source_lost_total", "source=\"hss\"",
     "Times every fact of a source was forgotten (peer down "
     "or restarted)"},
    {"mihua_as_push_source_lost_total", "source=\"udm\"",
     "Times every fact of a source was forgotten (peer down "
     "or restarted)"},
};

#define AS_PUSH_KEY_HEX 32 /* 128 random bits in each callback URL */

struct as_push {
    struct event_base *base;
    as_facts_t *facts;
    as_sh_path_t *sh;
    const sh_dict_t *dict;
    as_push_conf_t conf;
    char *udm_url, *callback_base;
    char notify_key[AS_PUSH_KEY_HEX + 1]; /* the secret in our callback URLs: the UDM has no bearer token */
    SSL_CTX *tls;
    sbi_client_t *client;
    struct disp_hdl *pnr_hdl;
    struct event *tick;
    unsigned ticks;
    bool sh_open;
    rq_t *rqs;
    bool probing;
    size_t udm_conns; /* connections to the UDM at the last tick */
    metric_t *m[M_COUNT];
    /* shared with freeDiameter's threads */
    pthread_mutex_t lock;
    push_ev_t *head, *tail;
    int wake[2];
    struct event *wake_ev;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void count(as_push_t *p, int m)
{
    if (p->m[m] != NULL)
        metric_inc(p->m[m]);
}

static void enqueue(as_push_t *p, push_ev_t *ev)
{
    char one = 1;
    pthread_mutex_lock(&p->lock);
    if (p->tail != NULL)
        p->tail->next = ev;
    else
        p->head = ev;
    p->tail = ev;
    pthread_mutex_unlock(&p->lock);
    if (write(p->wake[1], &one, 1) < 0 && errno != EAGAIN)
        log_warn(PUSH_LOG, "wake pipe: %s", strerror(errno));
}

/* The RepositoryData answer in Sh-Data: present for the voice-encryption service = subscribed. */
static as_answer_t repo_answer(const sh_data_t *d)
{
    return sh_data_find_repo(d, SH_SERVICE_INDICATION_VOENC) != NULL ? AS_ANS_YES : AS_ANS_NO;
}

static void on_sna(void *data, struct msg **ans)
{
    snr_ctx_t *x = data;
    as_push_t *p = x->p;
    push_ev_t *ev = calloc(1, sizeof *ev);
    sh_uda_t a;
    if (ev != NULL) {
        snprintf(ev->msisdn, sizeof ev->msisdn, "%s", x->msisdn);
        snprintf(ev->identity, sizeof ev->identity, "%s", x->identity);
        ev->kind = EV_SNA_FAILED;
        if (sh_uda_read(p->dict, *ans, &a) == 0) {
            if (sh_uda_success(&a) && a.has_data) {
                ev->kind = EV_SNA_OK;
                ev->subscribed = repo_answer(&a.data);
                ev->expiry = sh_sna_expiry(p->dict, *ans);
            }
            ev->code = a.has_experimental ? a.exp_code : a.result_code;
            sh_uda_clear(&a);
        }
        enqueue(p, ev);
    }
    fd_msg_free(*ans);
    *ans = NULL;
    free(x);
}

static void on_sna_expire(void *data, DiamId_t peer, size_t peer_len, struct msg **req)
{
    snr_ctx_t *x = data;
    push_ev_t *ev = calloc(1, sizeof *ev);
    (void)peer;
    (void)peer_len;
    fd_msg_free(*req);
    *req = NULL;
    if (ev != NULL) {
        ev->kind = EV_SNA_FAILED;
        snprintf(ev->msisdn, sizeof ev->msisdn, "%s", x->msisdn);
        enqueue(x->p, ev);
    }
    free(x);
}

/* PNR (freeDiameter thread): decode and queue with its answer, which the loop completes and sends (*msg = NULL:
 * freeDiameter leaves the request to us); one that does not parse is refused here. */
static int on_pnr(struct msg **msg, struct avp *avp, struct session *sess, void *opaque, enum disp_action *act)
{
    as_push_t *p = opaque;
    sh_pnr_t pnr;
    push_ev_t *ev = NULL;
    (void)avp;
    (void)sess;
    int rc = sh_pnr_read(p->dict, *msg, &pnr);
    if (rc == 0 && (ev = calloc(1, sizeof *ev)) != NULL) {
        ev->kind = EV_PNR;
        ev->subscribed = repo_answer(&pnr.data);
        if (pnr.public_identity == NULL || as_identity_msisdn(pnr.public_identity, ev->msisdn, sizeof ev->msisdn) != 0)
            snprintf(ev->msisdn, sizeof ev->msisdn, "%s", pnr.msisdn != NULL ? pnr.msisdn : "");
    }
    if (rc != 0)
        log_warn(PUSH_LOG, "PNR refused: %s", pnr.error);
    sh_pnr_clear(&pnr);
    if (fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0) != 0) {
        free(ev);
        return EINVAL;
    }
    *act = DISP_ACT_SEND;
    if (ev == NULL || ev->msisdn[0] == '\0') {
        free(ev);
        sh_uda_set_experimental(p->dict, *msg, SH_ERR_NO_SUBSCRIPTION_TO_DATA);
        return 0;
    }
    ev->pna = *msg;
    *msg = NULL;
    *act = DISP_ACT_CONT;
    enqueue(p, ev);
    return 0;
}

/* Loop: a PNR is welcome only for a user whose Sh subscription this AS holds or is making. */
static void pna_send(as_push_t *p, push_ev_t *ev, bool held)
{
    if (held)
        sh_uda_set_success(p->dict, ev->pna, NULL, 0);
    else
        sh_uda_set_experimental(p->dict, ev->pna, SH_ERR_NO_SUBSCRIPTION_TO_DATA);
    if (fd_msg_send(&ev->pna, NULL, NULL) != 0 && ev->pna != NULL) {
        fd_msg_free(ev->pna);
        log_warn(PUSH_LOG, "PNA for msisdn-%s could not be sent", ev->msisdn);
    }
    ev->pna = NULL;
    if (!held)
        log_info(PUSH_LOG,
                 "PNR for msisdn-%s, which holds no Sh subscription here: answered "
                 "DIAMETER_ERROR_NO_SUBSCRIPTION_TO_DATA (the HSS drops it)",
                 ev->msisdn);
}

/* ---------------------------------------------------------------- HSS (loop) */

static uint64_t renew_in(const as_push_t *p, time_t expiry)
{
    uint64_t half_age = p->conf.max_age_ms / 2, now_s = (uint64_t)time(NULL);
    uint64_t half_exp = expiry > 0 && (uint64_t)expiry > now_s ? ((uint64_t)expiry - now_s) * 1000u / 2 : half_age;
    return half_exp < half_age ? half_exp : half_age;
}

/* The answer to an unsubscribe (freeDiameter thread): nothing to learn, the outcome goes to the log. */
static void on_unsubscribe_sna(void *data, struct msg **ans)
{
    snr_ctx_t *x = data;
    sh_uda_t a;
    uint32_t code = 0;
    if (sh_uda_read(x->p->dict, *ans, &a) == 0) {
        code = a.has_experimental ? a.exp_code : a.result_code;
        sh_uda_clear(&a);
    }
    log_info(PUSH_LOG, "Sh unsubscribe user=%s -> %" PRIu32, x->identity, code);
    fd_msg_free(*ans);
    *ans = NULL;
    free(x);
}

static void on_unsubscribe_expire(void *data, DiamId_t peer, size_t peer_len, struct msg **req)
{
    snr_ctx_t *x = data;
    (void)peer;
    (void)peer_len;
    log_warn(PUSH_LOG, "Sh unsubscribe user=%s: no answer (the subscription lapses at its expiry)", x->identity);
    fd_msg_free(*req);
    *req = NULL;
    free(x);
}

/* Sends an SNR of `type` (SH_SUBS_*) for `identity`. Returns 0 when it went out. */
static int sh_snr_send(as_push_t *p, const char *msisdn, const char *identity, uint32_t type)
{
    static const uint32_t refs[] = {SH_DREF_REPOSITORY_DATA};
    bool sub = type == SH_SUBS_SUBSCRIBE;
    struct msg *m = NULL;
    struct timespec t;
    sh_snr_params_t sp = {.public_identity = identity,
                          .data_refs = refs,
                          .n_data_refs = 1,
                          .service_indication = SH_SERVICE_INDICATION_VOENC,
                          .dest_realm = as_sh_path_dest_realm(p->sh),
                          .dest_host = as_sh_path_dest_host(p->sh),
                          .subs_req_type = type,
                          .send_data = sub,
                          .expiry = sub ? time(NULL) + (time_t)(p->conf.max_age_ms / 1000u) * 2 : 0};
    snr_ctx_t *x = calloc(1, sizeof *x);
    if (x == NULL || sh_snr_build(p->dict, &sp, &m) != 0) {
        free(x);
        return -1;
    }
    x->p = p;
    snprintf(x->msisdn, sizeof x->msisdn, "%s", msisdn);
    snprintf(x->identity, sizeof x->identity, "%s", identity);
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += AS_PUSH_SNR_TIMEOUT_S;
    if (fd_msg_send_timeout(&m, sub ? on_sna : on_unsubscribe_sna, x, sub ? on_sna_expire : on_unsubscribe_expire,
                            &t) != 0) {
        if (m != NULL)
            fd_msg_free(m);
        free(x);
        return -1;
    }
    return 0;
}

static void sh_subscribe(as_push_t *p, as_facts_entry_t *e)
{
    if (p->sh == NULL || !p->conf.sh_subscribed || e->pending[AS_SRC_HSS] || !p->sh_open)
        return;
    if (sh_snr_send(p, e->msisdn, e->identity, SH_SUBS_SUBSCRIBE) == 0)
        e->pending[AS_SRC_HSS] = true;
}

static void sh_unsubscribe(as_push_t *p, const char *msisdn, const char *identity)
{
    if (p->sh != NULL && p->sh_open && sh_snr_send(p, msisdn, identity, SH_SUBS_UNSUBSCRIBE) == 0)
        log_info(PUSH_LOG, "Sh unsubscribe user=%s sent", identity);
}

static void apply_ev(as_push_t *p, push_ev_t *ev)
{
    as_facts_entry_t *e = as_facts_get(p->facts, ev->msisdn);
    uint64_t now = now_ms();
    if (ev->kind == EV_PNR)
        pna_send(p, ev, e != NULL && (e->active[AS_SRC_HSS] || e->pending[AS_SRC_HSS]));
    if (e == NULL) {
        if (ev->kind == EV_SNA_OK) /* the user deregistered while its SNR was in flight */
            sh_unsubscribe(p, ev->msisdn, ev->identity);
        return;
    }
    switch (ev->kind) {
    case EV_SNA_OK:
        e->pending[AS_SRC_HSS] = false;
        e->active[AS_SRC_HSS] = true;
        e->renew_at_ms[AS_SRC_HSS] = now + renew_in(p, ev->expiry);
        as_facts_learn(e, AS_SRC_HSS, AS_FACT_SUBSCRIBED, ev->subscribed, NULL, now);
        count(p, M_HSS_OK);
        log_info(PUSH_LOG, "Sh facts user=%s subscribed=%s", e->identity, as_answer_name(ev->subscribed));
        break;
    case EV_SNA_FAILED:
        e->pending[AS_SRC_HSS] = false;
        e->active[AS_SRC_HSS] = false;
        e->renew_at_ms[AS_SRC_HSS] = now + PUSH_RETRY_MS;
        count(p, M_HSS_FAILED);
        log_warn(PUSH_LOG, "Sh subscription for %s failed (code %" PRIu32 "): its calls use queries", e->identity,
                 ev->code);
        break;
    case EV_PNR:
        if (!e->active[AS_SRC_HSS])
            return;
        as_facts_learn(e, AS_SRC_HSS, AS_FACT_SUBSCRIBED, ev->subscribed, NULL, now);
        count(p, M_PNR);
        log_info(PUSH_LOG, "PNR user=%s subscribed=%s", e->identity, as_answer_name(ev->subscribed));
        break;
    }
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    as_push_t *p = arg;
    char buf[256];
    (void)what;
    while (read(fd, buf, sizeof buf) > 0)
        ;
    pthread_mutex_lock(&p->lock);
    push_ev_t *ev = p->head;
    p->head = p->tail = NULL;
    pthread_mutex_unlock(&p->lock);
    while (ev != NULL) {
        push_ev_t *next = ev->next;
        apply_ev(p, ev);
        free(ev);
        ev = next;
    }
}

/* ---------------------------------------------------------------- UDM (loop) */

static void rq_unlink(as_push_t *p, rq_t *r)
{
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        p->rqs = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
}

static void on_udm_response(const sbi_client_response_t *resp, void *ud);

static int udm_request(as_push_t *p, rq_kind_t kind, const char *msisdn, const char *method, const char *url,
                       const char *body, uint64_t subs_id)
{
    rq_t *r = calloc(1, sizeof *r);
    sbi_client_req_t rq = {.method = method,
                           .url = url,
                           .content_type = body ? SBI_CT_JSON : NULL,
                           .body = body,
                           .body_len = body ? strlen(body) : 0,
                           .timeout_ms = PUSH_SBI_TIMEOUT_MS};
    if (r == NULL)
        return -1;
    *r = (rq_t){.p = p, .kind = kind, .subs_id = subs_id};
    snprintf(r->msisdn, sizeof r->msisdn, "%s", msisdn);
    if (sbi_client_request(p->client, &rq, on_udm_response, r) == 0) {
        free(r);
        return -1;
    }
    r->next = p->rqs;
    if (p->rqs != NULL)
        p->rqs->prev = r;
    p->rqs = r;
    return 0;
}

static void udm_subscribe(as_push_t *p, as_facts_entry_t *e)
{
    char osd[PUSH_URL_MAX], amf[PUSH_URL_MAX], cb[PUSH_URL_MAX], url[PUSH_URL_MAX], ue[32], when[ISO_TIME_MAX];
    if (p->client == NULL || p->callback_base == NULL || e->pending[AS_SRC_UDM] ||
        (!p->conf.udm_subscribed && !p->conf.udm_attached))
        return;
    snprintf(osd, sizeof osd, PUSH_OSD_FMT, p->udm_url, e->msisdn);
    snprintf(amf, sizeof amf, PUSH_AMF_FMT, p->udm_url, e->msisdn);
    snprintf(cb, sizeof cb, "%s" AS_PUSH_NOTIFY_PATH "/%s/%s", p->callback_base, p->notify_key, e->msisdn);
    snprintf(url, sizeof url, "%s" PUSH_SUBS_PATH, p->udm_url);
    snprintf(ue, sizeof ue, "msisdn-%s", e->msisdn);
    iso_time_format(time(NULL) + (time_t)(p->conf.max_age_ms / 1000u) * 2, when, sizeof when);
    json_t *uris = json_array();
    if (p->conf.udm_subscribed)
        json_array_append_new(uris, json_string(osd));
    if (p->conf.udm_attached)
        json_array_append_new(uris, json_string(amf));
    json_t *body = json_pack("{s:s,s:s,s:o,s:s}", "ueId", ue, "callbackReference", cb, "monitoredResourceUris", uris,
                             "expiry", when);
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text != NULL && udm_request(p, RQ_CREATE, e->msisdn, "POST", url, text, 0) == 0)
        e->pending[AS_SRC_UDM] = true;
    free(text);
}

/* After a subscription: the state of each monitored resource, once (notifications carry the changes). */
static void udm_read_state(as_push_t *p, const char *msisdn)
{
    char url[PUSH_URL_MAX];
    if (p->conf.udm_subscribed) {
        snprintf(url, sizeof url, PUSH_OSD_GET, p->udm_url, msisdn);
        udm_request(p, RQ_GET_OSD, msisdn, "GET", url, NULL, 0);
    }
    if (p->conf.udm_attached) {
        snprintf(url, sizeof url, PUSH_AMF_GET, p->udm_url, msisdn);
        udm_request(p, RQ_GET_AMF, msisdn, "GET", url, NULL, 0);
    }
}

static void udm_delete(as_push_t *p, const char *msisdn, uint64_t subs_id)
{
    char url[PUSH_URL_MAX];
    snprintf(url, sizeof url, "%s" PUSH_SUBS_PATH "/%" PRIu64, p->udm_url, subs_id);
    udm_request(p, RQ_DELETE, msisdn, "DELETE", url, NULL, subs_id);
}

static void udm_lost(as_push_t *p, const char *why)
{
    log_warn(PUSH_LOG, "UDM subscriptions lost (%s): UDM facts forgotten, subscribing again", why);
    count(p, M_UDM_LOST);
    as_facts_forget_source(p->facts, AS_SRC_UDM);
}

static void on_created(as_push_t *p, as_facts_entry_t *e, const sbi_client_response_t *resp)
{
    json_t *body = resp->error == SBI_CLIENT_OK && resp->status == 201 ? json_loads(resp->body, 0, NULL) : NULL;
    const char *id = json_string_value(json_object_get(body, "subscriptionId"));
    const char *exp = json_string_value(json_object_get(body, "expiry"));
    uint64_t now = now_ms();
    e->pending[AS_SRC_UDM] = false;
    if (id == NULL) {
        e->active[AS_SRC_UDM] = false;
        e->renew_at_ms[AS_SRC_UDM] = now + PUSH_RETRY_MS;
        count(p, M_UDM_FAILED);
        log_warn(PUSH_LOG, "Nudr subscription for msisdn-%s failed (%s, status %d): its calls use queries", e->msisdn,
                 sbi_client_strerror(resp->error), resp->status);
        json_decref(body);
        return;
    }
    if (e->udm_subs_id != 0) /* a renewal: the old subscription goes */
        udm_delete(p, e->msisdn, e->udm_subs_id);
    time_t expiry = iso_time_parse(exp);
    e->udm_subs_id = strtoull(id, NULL, 10);
    e->active[AS_SRC_UDM] = true;
    e->renew_at_ms[AS_SRC_UDM] = now + renew_in(p, expiry);
    count(p, M_UDM_OK);
    json_decref(body);
    udm_read_state(p, e->msisdn);
}

/* A subscription created for a user who deregistered meanwhile: it goes at once. */
static void udm_delete_orphan(as_push_t *p, const char *msisdn, const sbi_client_response_t *resp)
{
    json_t *body = resp->error == SBI_CLIENT_OK && resp->status == 201 ? json_loads(resp->body, 0, NULL) : NULL;
    const char *id = json_string_value(json_object_get(body, "subscriptionId"));
    if (id != NULL)
        udm_delete(p, msisdn, strtoull(id, NULL, 10));
    json_decref(body);
}

static void on_probe(as_push_t *p, const rq_t *r, const sbi_client_response_t *resp)
{
    char want[48];
    p->probing = false;
    snprintf(want, sizeof want, "\"subscriptionId\":\"%" PRIu64 "\"", r->subs_id);
    if (resp->error != SBI_CLIENT_OK)
        udm_lost(p, sbi_client_strerror(resp->error));
    else if (resp->status == 200 && strstr(resp->body, want) == NULL)
        udm_lost(p, "the UDM no longer lists our subscription: restarted");
}

static void on_udm_response(const sbi_client_response_t *resp, void *ud)
{
    rq_t *r = ud;
    as_push_t *p = r->p;
    rq_unlink(p, r);
    as_facts_entry_t *e = as_facts_get(p->facts, r->msisdn);
    char rat[AS_RAT_NAME_MAX] = "";
    int status = resp->error == SBI_CLIENT_OK ? resp->status : 0;
    switch (r->kind) {
    case RQ_CREATE:
        if (e != NULL)
            on_created(p, e, resp);
        else
            udm_delete_orphan(p, r->msisdn, resp);
        break;
    case RQ_GET_OSD:
        if (e != NULL && e->active[AS_SRC_UDM]) {
            as_answer_t a = as_udm_read_subscribed(status, resp->body, resp->body_len);
            as_facts_learn(e, AS_SRC_UDM, AS_FACT_SUBSCRIBED, a, NULL, now_ms());
            log_info(PUSH_LOG, "Nudr facts user=msisdn-%s subscribed=%s", e->msisdn, as_answer_name(a));
        }
        break;
    case RQ_GET_AMF:
        if (e != NULL && e->active[AS_SRC_UDM]) {
            as_answer_t a = as_udm_read_attached(status, resp->body, resp->body_len, rat, sizeof rat);
            as_facts_learn(e, AS_SRC_UDM, AS_FACT_ATTACHED, a, rat, now_ms());
            log_info(PUSH_LOG, "Nudr facts user=msisdn-%s attached=%s", e->msisdn, as_answer_name(a));
        }
        break;
    case RQ_PROBE:
        on_probe(p, r, resp);
        break;
    case RQ_DELETE:
        log_info(PUSH_LOG, "Nudr DELETE subs-to-notify/%" PRIu64 " (msisdn-%s) -> %d", r->subs_id, r->msisdn, status);
        break;
    }
    free(r);
}

/* ---------------------------------------------------------------- DataChangeNotify (SBI server, loop) */

static void apply_osd_change(as_facts_entry_t *e, json_t *change, uint64_t now)
{
    const char *op = json_string_value(json_object_get(change, "op"));
    const char *path = json_string_value(json_object_get(change, "path"));
    json_t *nv = json_object_get(change, "newValue");
    if (op == NULL || path == NULL)
        return;
    if (strcmp(path, "/voiceEncryption/value") == 0 && json_is_boolean(nv))
        as_facts_learn(e, AS_SRC_UDM, AS_FACT_SUBSCRIBED, json_is_true(nv) ? AS_ANS_YES : AS_ANS_NO, NULL, now);
    else if (strcmp(op, "REMOVE") == 0)
        as_facts_learn(e, AS_SRC_UDM, AS_FACT_SUBSCRIBED, AS_ANS_NO, NULL, now);
    else if (json_is_object(nv))
        as_facts_learn(e, AS_SRC_UDM, AS_FACT_SUBSCRIBED,
                       json_is_true(json_object_get(json_object_get(nv, "voiceEncryption"), "value")) ? AS_ANS_YES
                                                                                                      : AS_ANS_NO,
                       NULL, now);
}

static void apply_amf_change(as_facts_entry_t *e, json_t *change, uint64_t now)
{
    const char *op = json_string_value(json_object_get(change, "op"));
    json_t *nv = json_object_get(change, "newValue");
    char rat[AS_RAT_NAME_MAX] = "";
    if (op != NULL && strcmp(op, "REMOVE") == 0) {
        as_facts_learn(e, AS_SRC_UDM, AS_FACT_ATTACHED, AS_ANS_NO, "", now);
        return;
    }
    char *text = json_is_object(nv) ? json_dumps(nv, JSON_COMPACT) : NULL;
    if (text == NULL)
        return;
    as_answer_t a = as_udm_read_attached(200, text, strlen(text), rat, sizeof rat);
    as_facts_learn(e, AS_SRC_UDM, AS_FACT_ATTACHED, a, rat, now);
    free(text);
}

static void on_notify(sbi_request_t *req, void *ud)
{
    as_push_t *p = ud;
    const char *msisdn = sbi_request_capture(req, "msisdn");
    const char *key = sbi_request_capture(req, "key");
    as_facts_entry_t *e = as_facts_get(p->facts, msisdn);
    json_t *items = json_object_get(sbi_request_json(req), "notifyItems");
    size_t i, k;
    json_t *item, *change;
    uint64_t now = now_ms();
    /* Facts decide whether a call is encrypted: only the UDM we gave the URL to may change them. Not found, as for
     * any path that is not ours (nothing to learn for a stranger); constant-time over the key's length. */
    if (key == NULL || strlen(key) != AS_PUSH_KEY_HEX || CRYPTO_memcmp(key, p->notify_key, AS_PUSH_KEY_HEX) != 0) {
        log_warn(PUSH_LOG, "DataChangeNotify with a wrong callback key from %s: refused", sbi_request_peer(req));
        sbi_respond_error(req, 404, SBI_CAUSE_DATA_NOT_FOUND, "no such callback");
        return;
    }
    if (e == NULL || !e->active[AS_SRC_UDM]) {
        sbi_respond_error(req, 404, SBI_CAUSE_DATA_NOT_FOUND, "no subscription for %s", msisdn ? msisdn : "-");
        return;
    }
    if (!json_is_array(items) || json_array_size(items) == 0) {
        sbi_invalid_param_t ip = {"/notifyItems", "a non-empty array is required"};
        sbi_problem_t pr = {
            .status = 400, .cause = SBI_CAUSE_MANDATORY_IE_INCORRECT, .invalid_params = &ip, .n_invalid_params = 1};
        sbi_respond_problem(req, &pr);
        return;
    }
    json_array_foreach(items, i, item)
    {
        const char *res = json_string_value(json_object_get(item, "resourceId"));
        json_array_foreach(json_object_get(item, "changes"), k, change)
        {
            if (res != NULL && strstr(res, "/operator-specific-data") != NULL)
                apply_osd_change(e, change, now);
            else if (res != NULL && strstr(res, "/amf-3gpp-access") != NULL)
                apply_amf_change(e, change, now);
        }
    }
    count(p, M_DCN);
    log_info(PUSH_LOG, "DataChangeNotify user=msisdn-%s subscribed=%s attached=%s", e->msisdn,
             as_answer_name(e->fact[AS_SRC_UDM][AS_FACT_SUBSCRIBED].answer),
             as_answer_name(e->fact[AS_SRC_UDM][AS_FACT_ATTACHED].answer));
    sbi_respond(req, 204, NULL, NULL, 0);
}

/* ---------------------------------------------------------------- scans */

static void scan_one(as_facts_entry_t *e, void *ud)
{
    as_push_t *p = ud;
    uint64_t now = now_ms();
    if (!e->pending[AS_SRC_HSS] && now >= e->renew_at_ms[AS_SRC_HSS])
        sh_subscribe(p, e);
    if (!e->pending[AS_SRC_UDM] && now >= e->renew_at_ms[AS_SRC_UDM])
        udm_subscribe(p, e);
}

typedef struct {
    const as_facts_entry_t *found;
} probe_pick_t;

static void pick_probe(as_facts_entry_t *e, void *ud)
{
    probe_pick_t *pk = ud;
    if (pk->found == NULL && e->active[AS_SRC_UDM] && e->udm_subs_id != 0)
        pk->found = e;
}

/* One GET a scan tells whether the UDM still holds our subscriptions (a restarted one holds none). */
static void udm_probe(as_push_t *p)
{
    probe_pick_t pk = {NULL};
    char url[PUSH_URL_MAX];
    if (p->client == NULL || p->probing)
        return;
    as_facts_foreach(p->facts, pick_probe, &pk);
    if (pk.found == NULL)
        return;
    snprintf(url, sizeof url, "%s" PUSH_SUBS_PATH "?ue-id=msisdn-%s", p->udm_url, pk.found->msisdn);
    if (udm_request(p, RQ_PROBE, pk.found->msisdn, "GET", url, NULL, pk.found->udm_subs_id) == 0)
        p->probing = true;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    as_push_t *p = arg;
    (void)fd;
    (void)what;
    bool open = p->sh != NULL && as_sh_path_peer_open(p->sh);
    bool scan = ++p->ticks % (AS_PUSH_SCAN_MS / AS_PUSH_TICK_MS) == 0;
    if (p->sh_open && !open) {
        log_warn(PUSH_LOG, "no Sh peer open: HSS facts forgotten until the link is back and subscribed again");
        count(p, M_HSS_LOST);
        as_facts_forget_source(p->facts, AS_SRC_HSS);
    }
    scan |= open && !p->sh_open; /* back: subscribe again now */
    p->sh_open = open;
    size_t conns = p->client != NULL ? sbi_client_connection_count(p->client) : 0;
    if (p->udm_conns > 0 && conns == 0 && !p->probing)
        udm_lost(p, "the connection to the UDM closed");
    p->udm_conns = conns;
    if (scan) {
        as_facts_foreach(p->facts, scan_one, p);
        udm_probe(p);
    }
}

/* ---------------------------------------------------------------- API */

bool as_push_source_up(const as_push_t *p, as_source_t s)
{
    if (p == NULL)
        return false;
    if (s == AS_SRC_HSS)
        return p->sh != NULL && as_sh_path_peer_open(p->sh);
    return p->client != NULL && sbi_client_connection_count(p->client) > 0;
}

void as_push_registered(as_push_t *p, const char *identity)
{
    char msisdn[AS_MSISDN_MAX_DIGITS + 1];
    if (p == NULL || as_identity_msisdn(identity, msisdn, sizeof msisdn) != 0)
        return;
    as_facts_entry_t *e = as_facts_ensure(p->facts, msisdn, identity);
    if (e == NULL)
        return;
    if (!e->active[AS_SRC_HSS])
        sh_subscribe(p, e);
    if (!e->active[AS_SRC_UDM])
        udm_subscribe(p, e);
}

void as_push_deregistered(as_push_t *p, const char *identity)
{
    char msisdn[AS_MSISDN_MAX_DIGITS + 1];
    as_facts_entry_t *e;
    if (p == NULL || as_identity_msisdn(identity, msisdn, sizeof msisdn) != 0 ||
        (e = as_facts_get(p->facts, msisdn)) == NULL)
        return;
    if (e->active[AS_SRC_HSS] || e->pending[AS_SRC_HSS])
        sh_unsubscribe(p, e->msisdn, e->identity);
    if (e->udm_subs_id != 0 && p->client != NULL)
        udm_delete(p, e->msisdn, e->udm_subs_id);
    log_info(PUSH_LOG, "deregistered user=%s: subscriptions ended, facts dropped", e->identity);
    as_facts_remove(p->facts, msisdn);
}

int as_push_attach(as_push_t *p, sbi_server_t *srv, const char *callback_base)
{
    if (p == NULL || p->client == NULL)
        return 0;
    unsigned char raw[AS_PUSH_KEY_HEX / 2];
    free(p->callback_base);
    p->callback_base = strdup(callback_base);
    if (p->callback_base == NULL || RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    core_hex_encode(raw, sizeof raw, p->notify_key);
    OPENSSL_cleanse(raw, sizeof raw);
    return sbi_server_route(srv, "POST", AS_PUSH_NOTIFY_PATH "/{key}/{msisdn}", on_notify, p);
}

static int start_udm(as_push_t *p, char *err, size_t errlen)
{
    sbi_url_t parsed;
    if (!p->conf.udm_subscribed && !p->conf.udm_attached)
        return 0;
    p->udm_url = strdup(p->conf.udm_url);
    if (p->udm_url == NULL || sbi_url_parse(p->udm_url, &parsed) != 0) {
        snprintf(err, errlen, "udm_url: cannot parse '%s'", p->conf.udm_url);
        return -1;
    }
    if (parsed.tls && (p->tls = sbi_tls_client_ctx_new(p->conf.udm_ca, err, errlen)) == NULL)
        return -1;
    sbi_client_config_t cc = {.tls = p->tls, .default_timeout_ms = PUSH_SBI_TIMEOUT_MS};
    p->client = sbi_client_new(p->base, &cc);
    return p->client != NULL ? 0 : -1;
}

static int start_sh(as_push_t *p)
{
    if (p->sh == NULL || !p->conf.sh_subscribed)
        return 0;
    p->dict = as_sh_path_dict(p->sh);
    struct disp_when when = {.app = p->dict->app, .command = p->dict->cmd_pnr};
    return fd_disp_register(on_pnr, DISP_HOW_CC, &when, p, &p->pnr_hdl) == 0 ? 0 : -1;
}

as_push_t *as_push_new(struct event_base *base, as_facts_t *facts, as_sh_path_t *sh, const as_push_conf_t *conf,
                       metrics_t *metrics, char *err, size_t errlen)
{
    as_push_t *p = calloc(1, sizeof *p);
    struct timeval tv = {0, AS_PUSH_TICK_MS * 1000};
    if (p == NULL)
        return NULL;
    p->base = base;
    p->facts = facts;
    p->sh = conf->sh_subscribed ? sh : NULL;
    p->conf = *conf;
    p->wake[0] = p->wake[1] = -1;
    pthread_mutex_init(&p->lock, NULL);
    for (int i = 0; metrics != NULL && i < M_COUNT; i++)
        p->m[i] = metrics_counter(metrics, METRICS[i].name, METRICS[i].labels, METRICS[i].help);
    snprintf(err, errlen, "out of memory");
    if (pipe(p->wake) != 0 || fcntl(p->wake[0], F_SETFL, O_NONBLOCK) != 0 ||
        fcntl(p->wake[1], F_SETFL, O_NONBLOCK) != 0 ||
        !(p->wake_ev = event_new(base, p->wake[0], EV_READ | EV_PERSIST, on_wake, p)) ||
        event_add(p->wake_ev, NULL) != 0 || !(p->tick = event_new(base, -1, EV_PERSIST, on_tick, p)) ||
        event_add(p->tick, &tv) != 0 || start_udm(p, err, errlen) != 0 || start_sh(p) != 0) {
        as_push_free(p);
        return NULL;
    }
    p->sh_open = p->sh != NULL && as_sh_path_peer_open(p->sh);
    return p;
}

void as_push_stop(as_push_t *p)
{
    if (p != NULL && p->pnr_hdl != NULL)
        fd_disp_unregister(&p->pnr_hdl, NULL);
}

void as_push_free(as_push_t *p)
{
    if (p == NULL)
        return;
    as_push_stop(p);
    if (p->tick != NULL)
        event_free(p->tick);
    if (p->wake_ev != NULL)
        event_free(p->wake_ev);
    sbi_client_free(p->client);
    while (p->rqs != NULL) {
        rq_t *r = p->rqs;
        p->rqs = r->next;
        free(r);
    }
    while (p->head != NULL) {
        push_ev_t *ev = p->head;
        p->head = ev->next;
        if (ev->pna != NULL)
            fd_msg_free(ev->pna);
        free(ev);
    }
    if (p->tls != NULL)
        SSL_CTX_free(p->tls);
    for (int i = 0; i < 2; i++)
        if (p->wake[i] >= 0)
            close(p->wake[i]);
    pthread_mutex_destroy(&p->lock);
    free(p->udm_url);
    free(p->callback_base);
    free(p);
}
