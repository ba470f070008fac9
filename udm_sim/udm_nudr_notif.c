/*
 * udm_nudr_notif — Nudr "subs-to-notify" (TS 29.504 §5.2.2.2.x, §6.1.3.x; bodies of TS29505_Subscription_Data.yaml)
 * on mihua-udm.
 *
 * A subscription names the resources it monitors by URI (absolute, or a path): ".../subscription-data/{ueId}/
 * operator-specific-data" and ".../subscription-data/{ueId}/context-data/amf-3gpp-access", all for one UE (ueId
 * imsi- or msisdn-, which must name a subscriber: 404 USER_NOT_FOUND otherwise). Anything else is 400 with
 * invalidParams naming the JSON pointer of the faulty member. The 201 answer echoes the subscription with its
 * subscriptionId and the granted expiry (as asked, cut to max_expiry_s; none asked: the maximum).
 *
 * Change detection, as in mihua-hss (sub_watch): on a new snapshot each subscription's resources are rendered
 * again (the very JSON the GETs serve) and compared with those last told. A difference becomes one DataChangeNotify {ueId, notifyItems: [{resourceId, changes}],
 * originalCallbackReference?}: operator-specific-data as REPLACE of /voiceEncryption/value, the AMF registration as
 * ADD, REMOVE or REPLACE of the whole document (path ""), each with origValue/newValue. It is POSTed to the
 * callbackReference with lib/sbi's HTTP/2 client (h2c or TLS per the URI scheme). A 404 answer (the consumer no
 * longer knows the subscription, TS 29.500 §5.2.7) drops it; other failures are logged and counted.
 *
 * Trade-offs: subscriptions live in memory (a restart drops them, as with the HSS); a store change costs
 * O(subscriptions) renderings on the loop, bounded by UDM_NOTIF_MAX_SUBS; a change is notified once, not retried.
 */
#include "udm_nudr_notif.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/iso_time.h"
#include "core/log.h"
#include "sbi/sbi_client.h"
#include "sbi/sbi_problem.h"
#include "subscriber/sub_watch.h"

#define NOTIF_LOG "udm.notif"
#define NOTIF_BASE "/nudr-dr/v2/subscription-data/subs-to-notify"
#define NOTIF_SUBS_DATA "/subscription-data/"
#define NOTIF_RES_OSD "operator-specific-data"
#define NOTIF_RES_AMF "context-data/amf-3gpp-access"
#define NOTIF_URI_MAX 1024 /* a monitored URI or a callback longer than this is refused */
#define NOTIF_UE_ID_MAX 64

typedef enum { RES_OSD = 0, RES_AMF, RES_COUNT } res_t;

typedef struct {
    uint64_t num; /* subscriptionId is its decimal form */
    char imsi[SUB_IMSI_MAX + 1];
    char ue_id[NOTIF_UE_ID_MAX]; /* as the consumer named the UE */
    char *callback, *orig_callback;
    char *uri[RES_COUNT]; /* monitored resource URIs as given; NULL when not monitored */
    json_t *body;         /* the SubscriptionDataSubscriptions answered at creation */
    time_t expiry;
    json_t *last[RES_COUNT]; /* the resource last told (NULL: absent) */
} nsub_t;

/* One DataChangeNotify in flight: freed by its callback or by udm_notif_free. */
typedef struct inflight {
    udm_notif_t *n;
    uint64_t num;
    uint64_t req_id;
    struct inflight *prev, *next;
} inflight_t;

enum { OUT_SUCCESS = 0, OUT_FAILED, OUT_GONE, OUT_COUNT };
static const char *const out_label[OUT_COUNT] = {"result=\"success\"", "result=\"failed\"", "result=\"gone\""};

struct udm_notif {
    sub_store_t *store;
    const udm_nudm_t *nudm;
    long max_expiry_s;
    sbi_client_t *client;
    sub_watch_t *watch;
    nsub_t *subs;
    size_t n_subs, cap;
    uint64_t next_num;
    inflight_t *inflight;
    metric_t *out[OUT_COUNT];
    metric_t *gauge;
};

static void count(metric_t *m)
{
    if (m != NULL)
        metric_inc(m);
}

static void nsub_clear(nsub_t *s)
{
    free(s->callback);
    free(s->orig_callback);
    for (int r = 0; r < RES_COUNT; r++) {
        free(s->uri[r]);
        json_decref(s->last[r]);
    }
    json_decref(s->body);
}

static void remove_at(udm_notif_t *n, size_t i)
{
    nsub_clear(&n->subs[i]);
    n->subs[i] = n->subs[--n->n_subs];
    if (n->gauge != NULL)
        metric_set(n->gauge, (int64_t)n->n_subs);
}

static nsub_t *find_num(udm_notif_t *n, uint64_t num, size_t *at)
{
    for (size_t i = 0; i < n->n_subs; i++) {
        if (n->subs[i].num == num) {
            if (at != NULL)
                *at = i;
            return &n->subs[i];
        }
    }
    return NULL;
}

/* The resource as served now; NULL when absent (not registered in 5GS, subscriber deleted). */
static json_t *render(const udm_notif_t *n, res_t r, const subscriber_t *sub)
{
    if (sub == NULL)
        return NULL;
    return r == RES_OSD ? udm_nudm_osd_json(sub) : udm_nudm_amf_json(n->nudm, sub);
}

/* ---------------------------------------------------------------- request validation */

typedef struct {
    sbi_invalid_param_t ip[SBI_PROBLEM_MAX_INVALID_PARAMS];
    char params[SBI_PROBLEM_MAX_INVALID_PARAMS][48];
    size_t n;
} faults_t;

static void fault(faults_t *f, const char *param, const char *reason)
{
    if (f->n >= SBI_PROBLEM_MAX_INVALID_PARAMS)
        return;
    snprintf(f->params[f->n], sizeof f->params[f->n], "%s", param);
    f->ip[f->n] = (sbi_invalid_param_t){f->params[f->n], reason};
    f->n++;
}

static bool uri_ok(const char *s)
{
    size_t len = strlen(s);
    return len > 0 && len < NOTIF_URI_MAX && strpbrk(s, " \t\r\n") == NULL;
}

/* Splits a monitored URI into its ueId and resource kind; -1 when it is not one we notify. */
static int monitored_parse(const char *uri, char *ue_id, size_t size, res_t *kind)
{
    const char *p = strstr(uri, NOTIF_SUBS_DATA);
    if (p == NULL)
        return -1;
    p += strlen(NOTIF_SUBS_DATA);
    size_t id_len = strcspn(p, "/");
    if (id_len == 0 || id_len >= size || p[id_len] != '/')
        return -1;
    memcpy(ue_id, p, id_len);
    ue_id[id_len] = '\0';
    const char *res = p + id_len + 1;
    size_t res_len = strcspn(res, "?#");
    if (res_len == strlen(NOTIF_RES_OSD) && strncmp(res, NOTIF_RES_OSD, res_len) == 0)
        *kind = RES_OSD;
    else if (res_len == strlen(NOTIF_RES_AMF) && strncmp(res, NOTIF_RES_AMF, res_len) == 0)
        *kind = RES_AMF;
    else
        return -1;
    return 0;
}

typedef struct {
    const char *callback, *orig_callback, *ue_id;
    const char *uri[RES_COUNT];
    char uri_ue[NOTIF_UE_ID_MAX];
    time_t expiry;
} sub_req_t;

static void check_monitored(json_t *list, sub_req_t *r, faults_t *f)
{
    size_t i;
    json_t *item;
    if (!json_is_array(list) || json_array_size(list) == 0) {
        fault(f, "/monitoredResourceUris", "a non-empty array of URIs is required");
        return;
    }
    json_array_foreach(list, i, item)
    {
        char ptr[48], ue[NOTIF_UE_ID_MAX];
        res_t kind;
        snprintf(ptr, sizeof ptr, "/monitoredResourceUris/%zu", i);
        if (!json_is_string(item) || !uri_ok(json_string_value(item)) ||
            monitored_parse(json_string_value(item), ue, sizeof ue, &kind) != 0) {
            fault(f, ptr,
                  "not a monitorable resource: .../subscription-data/{ueId}/operator-specific-data or "
                  ".../context-data/amf-3gpp-access");
        } else if (r->uri_ue[0] != '\0' && strcmp(ue, r->uri_ue) != 0) {
            fault(f, ptr, "all monitored resources must belong to one UE");
        } else {
            snprintf(r->uri_ue, sizeof r->uri_ue, "%s", ue);
            r->uri[kind] = json_string_value(item);
        }
    }
}

static const char *opt_string(json_t *body, const char *name, faults_t *f, const char *ptr, bool uri)
{
    json_t *v = json_object_get(body, name);
    if (v == NULL)
        return NULL;
    if (!json_is_string(v) || (uri && !uri_ok(json_string_value(v)))) {
        fault(f, ptr, uri ? "must be a URI" : "must be a string");
        return NULL;
    }
    return json_string_value(v);
}

static void check_body(json_t *body, sub_req_t *r, faults_t *f)
{
    memset(r, 0, sizeof *r);
    r->callback = opt_string(body, "callbackReference", f, "/callbackReference", true);
    if (json_object_get(body, "callbackReference") == NULL)
        fault(f, "/callbackReference", "mandatory");
    else if (r->callback != NULL && strncmp(r->callback, "http://", 7) != 0 && strncmp(r->callback, "https://", 8) != 0)
        fault(f, "/callbackReference", "must be an http:// or https:// URI");
    r->orig_callback = opt_string(body, "originalCallbackReference", f, "/originalCallbackReference", true);
    r->ue_id = opt_string(body, "ueId", f, "/ueId", false);
    check_monitored(json_object_get(body, "monitoredResourceUris"), r, f);
    if (r->ue_id != NULL && (strlen(r->ue_id) >= NOTIF_UE_ID_MAX || udm_ue_id_parse(r->ue_id, NULL) == UDM_ID_INVALID))
        fault(f, "/ueId", "must be imsi-<5 to 15 digits> or msisdn-<5 to 15 digits>");
    const char *exp = opt_string(body, "expiry", f, "/expiry", false);
    if (exp != NULL && (r->expiry = iso_time_parse(exp)) < 0)
        fault(f, "/expiry", "must be an RFC 3339 date-time");
}

/* ---------------------------------------------------------------- POST / GET / DELETE */

static const subscriber_t *find_ue(sub_snapshot_t *snap, const char *ue_id)
{
    const char *digits = NULL;
    switch (udm_ue_id_parse(ue_id, &digits)) {
    case UDM_ID_IMSI:
        return sub_find_by_imsi(snap, digits);
    case UDM_ID_MSISDN:
        return sub_find_by_msisdn(snap, digits);
    case UDM_ID_INVALID:
        break;
    }
    return NULL;
}

static time_t grant(const udm_notif_t *n, time_t asked)
{
    time_t now = time(NULL), max = now + n->max_expiry_s;
    return asked <= now || asked > max ? max : asked;
}

static int nsub_fill(udm_notif_t *n, nsub_t *s, const sub_req_t *r, json_t *body, const subscriber_t *sub)
{
    char num[24], when[ISO_TIME_MAX];
    s->num = ++n->next_num;
    snprintf(s->imsi, sizeof s->imsi, "%s", sub->imsi);
    snprintf(s->ue_id, sizeof s->ue_id, "%s", r->ue_id != NULL ? r->ue_id : r->uri_ue);
    s->callback = strdup(r->callback);
    s->orig_callback = r->orig_callback != NULL ? strdup(r->orig_callback) : NULL;
    for (int k = 0; k < RES_COUNT; k++) {
        s->uri[k] = r->uri[k] != NULL ? strdup(r->uri[k]) : NULL;
        s->last[k] = r->uri[k] != NULL ? render(n, (res_t)k, sub) : NULL;
    }
    s->expiry = grant(n, r->expiry);
    snprintf(num, sizeof num, "%" PRIu64, s->num);
    iso_time_format(s->expiry, when, sizeof when);
    s->body = json_deep_copy(body);
    if (s->body == NULL || s->callback == NULL || json_object_set_new(s->body, "subscriptionId", json_string(num)) ||
        json_object_set_new(s->body, "expiry", json_string(when)) ||
        json_object_set_new(s->body, "ueId", json_string(s->ue_id)))
        return -1;
    return 0;
}

static nsub_t *nsub_add(udm_notif_t *n)
{
    if (n->n_subs == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 64;
        nsub_t *subs = realloc(n->subs, cap * sizeof *subs);
        if (subs == NULL)
            return NULL;
        n->subs = subs;
        n->cap = cap;
    }
    nsub_t *s = &n->subs[n->n_subs++];
    memset(s, 0, sizeof *s);
    return s;
}

static void respond_created(sbi_request_t *req, const nsub_t *s)
{
    const char *authority = sbi_request_authority(req);
    char location[NOTIF_URI_MAX + 128];
    snprintf(location, sizeof location, "%s://%s%s/%" PRIu64,
             sbi_server_is_tls(sbi_request_server(req)) ? "https" : "http", authority ? authority : "localhost",
             NOTIF_BASE, s->num);
    char *text = json_dumps(s->body, JSON_COMPACT);
    sbi_header_t h[] = {{"content-type", SBI_CT_JSON}, {"location", location}};
    sbi_respond_ex(req, 201, h, 2, text, text ? strlen(text) : 0);
    free(text);
}

static void on_create(sbi_request_t *req, void *ud)
{
    udm_notif_t *n = ud;
    json_t *body = sbi_request_json(req);
    faults_t f = {.n = 0};
    sub_req_t r;

    if (!json_is_object(body)) {
        sbi_respond_error(req, 400, SBI_CAUSE_INVALID_MSG_FORMAT,
                          "the body must be a SubscriptionDataSubscriptions object");
        return;
    }
    check_body(body, &r, &f);
    if (f.n > 0) {
        sbi_problem_t p = {.status = 400,
                           .cause = SBI_CAUSE_MANDATORY_IE_INCORRECT,
                           .detail = "invalid SubscriptionDataSubscriptions",
                           .invalid_params = f.ip,
                           .n_invalid_params = f.n};
        sbi_respond_problem(req, &p);
        return;
    }
    if (n->n_subs >= UDM_NOTIF_MAX_SUBS) {
        sbi_respond_error(req, 503, "INSUFFICIENT_RESOURCES", "%d subscriptions held", UDM_NOTIF_MAX_SUBS);
        return;
    }
    sub_snapshot_t *snap = sub_store_acquire(n->store);
    const subscriber_t *sub = find_ue(snap, r.uri_ue);
    nsub_t *s = sub != NULL ? nsub_add(n) : NULL;
    if (sub == NULL) {
        sbi_respond_error(req, 404, SBI_CAUSE_USER_NOT_FOUND, "no subscriber %s", r.uri_ue);
    } else if (s == NULL || nsub_fill(n, s, &r, body, sub) != 0) {
        if (s != NULL)
            remove_at(n, n->n_subs - 1);
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "out of memory");
    } else {
        if (n->gauge != NULL)
            metric_set(n->gauge, (int64_t)n->n_subs);
        log_info(NOTIF_LOG, "subscription %" PRIu64 " for %s -> %s", s->num, s->ue_id, s->callback);
        respond_created(req, s);
    }
    sub_snapshot_release(snap);
}

static bool parse_num(const char *s, uint64_t *out)
{
    char *end = NULL;
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    *out = v;
    return *end == '\0';
}

static void on_delete(sbi_request_t *req, void *ud)
{
    udm_notif_t *n = ud;
    uint64_t num = 0;
    size_t at = 0;
    if (!parse_num(sbi_request_capture(req, "subsId"), &num) || find_num(n, num, &at) == NULL) {
        sbi_respond_error(req, 404, SBI_CAUSE_DATA_NOT_FOUND, "no subscription %s", sbi_request_capture(req, "subsId"));
        return;
    }
    remove_at(n, at);
    sbi_respond(req, 204, NULL, NULL, 0);
}

static void on_query(sbi_request_t *req, void *ud)
{
    udm_notif_t *n = ud;
    const char *ue_id = sbi_request_query_param(req, "ue-id");
    if (ue_id == NULL) {
        sbi_invalid_param_t ip = {"ue-id", "mandatory"};
        sbi_problem_t p = {
            .status = 400, .cause = SBI_CAUSE_INVALID_QUERY_PARAM, .invalid_params = &ip, .n_invalid_params = 1};
        sbi_respond_problem(req, &p);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n->n_subs; i++)
        if (strcmp(n->subs[i].ue_id, ue_id) == 0)
            json_array_append(list, n->subs[i].body);
    sbi_respond_json(req, 200, list);
    json_decref(list);
}

/* ---------------------------------------------------------------- DataChangeNotify */

static void inflight_unlink(udm_notif_t *n, inflight_t *f)
{
    if (f->prev != NULL)
        f->prev->next = f->next;
    else
        n->inflight = f->next;
    if (f->next != NULL)
        f->next->prev = f->prev;
}

static void on_notified(const sbi_client_response_t *resp, void *ud)
{
    inflight_t *f = ud;
    udm_notif_t *n = f->n;
    size_t at = 0;
    inflight_unlink(n, f);
    if (resp->error == SBI_CLIENT_OK && resp->status >= 200 && resp->status < 300) {
        count(n->out[OUT_SUCCESS]);
    } else if (resp->error == SBI_CLIENT_OK && resp->status == 404) {
        count(n->out[OUT_GONE]);
        if (find_num(n, f->num, &at) != NULL)
            remove_at(n, at);
        log_warn(NOTIF_LOG, "subscription %" PRIu64 ": the callback answered 404, subscription removed", f->num);
    } else {
        count(n->out[OUT_FAILED]);
        log_warn(NOTIF_LOG, "subscription %" PRIu64 ": DataChangeNotify failed (%s, status %d)", f->num,
                 sbi_client_strerror(resp->error), resp->status);
    }
    free(f);
}

static json_t *change_item(res_t r, json_t *old, json_t *cur)
{
    if (r == RES_OSD && old != NULL && cur != NULL) {
        json_t *ov = json_object_get(json_object_get(old, "voiceEncryption"), "value");
        json_t *nv = json_object_get(json_object_get(cur, "voiceEncryption"), "value");
        return json_pack("{s:s,s:s,s:O,s:O}", "op", "REPLACE", "path", "/voiceEncryption/value", "origValue", ov,
                         "newValue", nv);
    }
    if (old == NULL)
        return json_pack("{s:s,s:s,s:O}", "op", "ADD", "path", "", "newValue", cur);
    if (cur == NULL)
        return json_pack("{s:s,s:s,s:O}", "op", "REMOVE", "path", "", "origValue", old);
    return json_pack("{s:s,s:s,s:O,s:O}", "op", "REPLACE", "path", "", "origValue", old, "newValue", cur);
}

/* The DataChangeNotify for `s` when its resources differ from those last told (which it then updates), or NULL. */
static json_t *changes_of(const udm_notif_t *n, nsub_t *s, const subscriber_t *sub)
{
    json_t *items = json_array();
    for (int k = 0; k < RES_COUNT; k++) {
        if (s->uri[k] == NULL)
            continue;
        json_t *cur = render(n, (res_t)k, sub);
        if (json_equal(cur, s->last[k]) || (cur == NULL && s->last[k] == NULL)) {
            json_decref(cur);
            continue;
        }
        json_array_append_new(items, json_pack("{s:s,s:[o]}", "resourceId", s->uri[k], "changes",
                                               change_item((res_t)k, s->last[k], cur)));
        json_decref(s->last[k]);
        s->last[k] = cur;
    }
    if (json_array_size(items) == 0) {
        json_decref(items);
        return NULL;
    }
    json_t *dcn = json_pack("{s:s,s:o}", "ueId", s->ue_id, "notifyItems", items);
    if (s->orig_callback != NULL)
        json_object_set_new(dcn, "originalCallbackReference", json_pack("[s]", s->orig_callback));
    return dcn;
}

static void notify(udm_notif_t *n, const nsub_t *s, json_t *dcn)
{
    char *text = json_dumps(dcn, JSON_COMPACT);
    inflight_t *f = calloc(1, sizeof *f);
    sbi_client_req_t rq = {.method = "POST",
                           .url = s->callback,
                           .content_type = SBI_CT_JSON,
                           .body = text,
                           .body_len = text ? strlen(text) : 0,
                           .timeout_ms = UDM_NOTIF_TIMEOUT_MS};
    if (text != NULL && f != NULL) {
        f->n = n;
        f->num = s->num;
        f->req_id = sbi_client_request(n->client, &rq, on_notified, f);
    }
    if (f == NULL || f->req_id == 0) {
        count(n->out[OUT_FAILED]);
        log_warn(NOTIF_LOG, "subscription %" PRIu64 ": DataChangeNotify to %s refused at submission", s->num,
                 s->callback);
        free(f);
    } else {
        f->next = n->inflight;
        if (n->inflight != NULL)
            n->inflight->prev = f;
        n->inflight = f;
        log_info(NOTIF_LOG, "DataChangeNotify subscription=%" PRIu64 " ue=%s -> %s", s->num, s->ue_id, s->callback);
    }
    free(text);
}

static void scan(udm_notif_t *n, sub_snapshot_t *snap, bool changed, bool sweep)
{
    time_t now = time(NULL);
    for (size_t i = 0; i < n->n_subs;) {
        nsub_t *s = &n->subs[i];
        if (sweep && s->expiry <= now) {
            log_info(NOTIF_LOG, "subscription %" PRIu64 " expired", s->num);
            remove_at(n, i);
            continue;
        }
        const subscriber_t *sub = changed ? sub_find_by_imsi(snap, s->imsi) : NULL;
        json_t *dcn = changed ? changes_of(n, s, sub) : NULL;
        if (dcn != NULL) {
            notify(n, s, dcn);
            json_decref(dcn);
        }
        if (changed && sub == NULL) {
            remove_at(n, i); /* the subscriber is gone: told once, then forgotten */
            continue;
        }
        i++;
    }
}

static void on_change(bool changed, sub_snapshot_t *snap, void *ud)
{
    scan(ud, snap, changed, !changed);
}

/* ---------------------------------------------------------------- life */

udm_notif_t *udm_notif_new(struct event_base *base, sbi_server_t *srv, sub_store_t *store, const udm_nudm_t *nudm,
                           long max_expiry_s, metrics_t *metrics)
{
    udm_notif_t *n = calloc(1, sizeof *n);
    sbi_client_config_t cc = {.tls = NULL, .default_timeout_ms = UDM_NOTIF_TIMEOUT_MS};

    if (n == NULL)
        return NULL;
    n->store = store;
    n->nudm = nudm;
    n->max_expiry_s = max_expiry_s > 0 ? max_expiry_s : UDM_NOTIF_EXPIRY_DEFAULT_S;
    for (int i = 0; metrics != NULL && i < OUT_COUNT; i++)
        n->out[i] = metrics_counter(metrics, "mihua_udm_data_change_notify_total", out_label[i],
                                    "Nudr DataChangeNotify callbacks, by outcome");
    if (metrics != NULL)
        n->gauge = metrics_gauge(metrics, "mihua_udm_nudr_subscriptions", "", "Nudr data-change subscriptions held");
    n->client = sbi_client_new(base, &cc);
    n->watch = sub_watch_new(base, store, on_change, n);
    if (n->client == NULL || n->watch == NULL || sbi_server_route(srv, "POST", NOTIF_BASE, on_create, n) != 0 ||
        sbi_server_route(srv, "GET", NOTIF_BASE, on_query, n) != 0 ||
        sbi_server_route(srv, "DELETE", NOTIF_BASE "/{subsId}", on_delete, n) != 0) {
        udm_notif_free(n);
        return NULL;
    }
    return n;
}

void udm_notif_free(udm_notif_t *n)
{
    if (n == NULL)
        return;
    sub_watch_free(n->watch);
    sbi_client_free(n->client); /* pending callbacks are not called: free their records here */
    while (n->inflight != NULL) {
        inflight_t *f = n->inflight;
        n->inflight = f->next;
        free(f);
    }
    for (size_t i = 0; i < n->n_subs; i++)
        nsub_clear(&n->subs[i]);
    free(n->subs);
    free(n);
}
