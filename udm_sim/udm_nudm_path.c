/*
 * udm_nudm_path — Nudm_UECM, Nudm_SDM and Nudr_DR resources of mihua-udm (TS 29.503, TS 29.505; DESIGN §3).
 *
 * The AS asks for the same few resources of the same subscribers thousands of times a second, so every 200 body is
 * rendered once per subscriber and snapshot, the first time that subscriber is asked for, and a request then costs
 * a bsearch plus a copy into the stream. Rendering on first use rather than for everybody at each snapshot keeps
 * a change in a store of a million subscribers from costing a million renders (and their memory) on the loop. The
 * view of rendered bodies is tied to the snapshot's generation (sub_store.h): each request compares the generation
 * and starts a new view when a reload, an admin change or another daemon's write swapped the snapshot, so no code
 * path can serve stale bodies. The view holds its own snapshot reference, so subscriber pointers stay valid while
 * the store moves on.
 *
 * Errors all go through sbi_respond_problem (TS 29.571 ProblemDetails):
 *   400 MANDATORY_IE_INCORRECT + invalidParams  ueId/supi does not match imsi-[0-9]{5,15} / msisdn-[0-9]{5,15}
 *   404 USER_NOT_FOUND     nobody with that IMSI/MSISDN (TS 29.503 §6.1.7.3, §6.2.7.3)
 *   404 CONTEXT_NOT_FOUND  known but not registered in 5GS: access.rat is not NR (TS 29.503 §6.2.7.3)
 *
 * Simplifications, fine for a simulator: the PLMN of the GUAMI comes from the IMSI with a 2-digit MNC (TS 23.003
 * allows 2 or 3 and the IMSI alone cannot tell), the AMF is one fixed instance, and am-data is the minimum the
 * AS and tests read (gpsis, subscribedUeAmbr).
 */
#include "udm_nudm_path.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define UDM_AMF_PATH "/nudm-uecm/v1/{ueId}/registrations/amf-3gpp-access"
#define UDM_OSD_PATH "/nudr-dr/v2/subscription-data/{ueId}/operator-specific-data"
#define UDM_AM_PATH "/nudm-sdm/v2/{supi}/am-data"

#define UDM_ID_DIGITS_MIN 5 /* TS 29.571 Supi/Gpsi patterns: imsi-[0-9]{5,15}, msisdn-[0-9]{5,15} */
#define UDM_ID_DIGITS_MAX 15
#define UDM_MCC_DIGITS 3
#define UDM_MNC_DIGITS 2    /* see the header comment */
#define UDM_AMF_ID "cafe00" /* TS 29.571 AmfId: region 0xca, set 0x3f8, pointer 0 */
#define UDM_DEREG_CALLBACK "http://127.0.0.1:7711/namf-callback/v1" /* nothing listens: nobody deregisters */
#define UDM_AMBR_UPLINK "1 Gbps"                                    /* TS 29.571 BitRate strings */
#define UDM_AMBR_DOWNLINK "2 Gbps"
#define UDM_OSD_VOICE_ENCRYPTION "voiceEncryption" /* the operator-specific data key of DESIGN §3 */
#define UDM_IMSI_PREFIX "imsi-"
#define UDM_MSISDN_PREFIX "msisdn-"
#define UDM_BUCKETS_MIN 64         /* hash buckets of a view: about a quarter of the subscribers, */
#define UDM_BUCKETS_MAX (1u << 18) /* bounded (2 MB of pointers) since only those asked for are cached */

typedef struct {
    char *amf; /* NULL when the subscriber is not on NR */
    size_t amf_len;
    char *osd;
    size_t osd_len;
    char *am;
    size_t am_len;
} udm_bodies_t;

/* The bodies of one subscriber, found by its address in the view's snapshot (a store snapshot may be a layer over
 * another one, so there is no single array to index). */
typedef struct udm_cached {
    const subscriber_t *sub;
    udm_bodies_t b;
    struct udm_cached *next;
} udm_cached_t;

typedef struct {
    sub_snapshot_t *snap;
    unsigned long generation;
    udm_cached_t **buckets; /* hash of subscriber addresses, chained */
    size_t n_buckets;       /* a power of two */
    size_t n;               /* subscribers in snap */
} udm_view_t;

enum { RES_AMF = 0, RES_OSD, RES_AM, RES_COUNT };
static const char *const RES_LABEL[RES_COUNT] = {"resource=\"amf-3gpp-access\"", "resource=\"operator-specific-data\"",
                                                 "resource=\"am-data\""};

struct udm_nudm {
    sub_store_t *store;
    metric_t *gets[RES_COUNT]; /* mihua_udm_requests_total{resource}: what a caching consumer saves shows here */
    char *amf_instance_id;
    udm_view_t view;
};

/* ------------------------------------------------------------------------------------------------ identities */

static bool all_digits(const char *s, size_t min, size_t max)
{
    size_t n = strspn(s, "0123456789");
    return s[n] == '\0' && n >= min && n <= max;
}

udm_id_kind_t udm_ue_id_parse(const char *ue_id, const char **digits)
{
    static const struct {
        const char *prefix;
        udm_id_kind_t kind;
    } forms[] = {{UDM_IMSI_PREFIX, UDM_ID_IMSI}, {UDM_MSISDN_PREFIX, UDM_ID_MSISDN}};
    if (!ue_id)
        return UDM_ID_INVALID;
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        size_t plen = strlen(forms[i].prefix);
        if (strncmp(ue_id, forms[i].prefix, plen) != 0)
            continue;
        if (!all_digits(ue_id + plen, UDM_ID_DIGITS_MIN, UDM_ID_DIGITS_MAX))
            return UDM_ID_INVALID;
        if (digits)
            *digits = ue_id + plen;
        return forms[i].kind;
    }
    return UDM_ID_INVALID;
}

/* ------------------------------------------------------------------------------------------------ rendering */

static char *dump(json_t *j, size_t *len)
{
    if (!j)
        return NULL;
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (text)
        *len = strlen(text);
    return text;
}

json_t *udm_nudm_amf_json(const udm_nudm_t *n, const subscriber_t *s)
{
    if (s->rat != SUB_RAT_NR)
        return NULL;
    char supi[sizeof(UDM_IMSI_PREFIX) + SUB_IMSI_MAX], mcc[UDM_MCC_DIGITS + 1], mnc[UDM_MNC_DIGITS + 1];
    char callback[sizeof(UDM_DEREG_CALLBACK) + sizeof(supi) + 16];
    snprintf(supi, sizeof(supi), "%s%s", UDM_IMSI_PREFIX, s->imsi);
    snprintf(mcc, sizeof(mcc), "%.3s", s->imsi);
    snprintf(mnc, sizeof(mnc), "%.2s", s->imsi + UDM_MCC_DIGITS);
    snprintf(callback, sizeof(callback), "%s/%s/dereg-notify", UDM_DEREG_CALLBACK, supi);
    return json_pack("{s:s, s:s, s:s, s:{s:{s:s, s:s}, s:s}, s:s, s:s}", "amfInstanceId", n->amf_instance_id, "supi",
                     supi, "deregCallbackUri", callback, "guami", "plmnId", "mcc", mcc, "mnc", mnc, "amfId", UDM_AMF_ID,
                     "ratType", "NR", "imsVoPs", s->ims_vops ? "HOMOGENEOUS_SUPPORT" : "HOMOGENEOUS_NON_SUPPORT");
}

json_t *udm_nudm_osd_json(const subscriber_t *s)
{
    return json_pack("{s:{s:s, s:b}}", UDM_OSD_VOICE_ENCRYPTION, "dataType", "boolean", "value", s->voice_encryption);
}

static char *render_am(const subscriber_t *s, size_t *len)
{
    char gpsi[sizeof(UDM_MSISDN_PREFIX) + SUB_MSISDN_MAX];
    snprintf(gpsi, sizeof(gpsi), "%s%s", UDM_MSISDN_PREFIX, s->msisdn);
    json_t *j = json_pack("{s:[s], s:{s:s, s:s}}", "gpsis", gpsi, "subscribedUeAmbr", "uplink", UDM_AMBR_UPLINK,
                          "downlink", UDM_AMBR_DOWNLINK);
    return dump(j, len);
}

static void buckets_free(udm_cached_t **buckets, size_t n)
{
    for (size_t i = 0; buckets && i < n; i++) {
        for (udm_cached_t *c = buckets[i], *next; c; c = next) {
            next = c->next;
            free(c->b.amf);
            free(c->b.osd);
            free(c->b.am);
            free(c);
        }
    }
    free(buckets);
}

static size_t bucket_of(const udm_view_t *v, const subscriber_t *s)
{
    uint64_t h = (uint64_t)(uintptr_t)s * 0x9E3779B97F4A7C15ull; /* Fibonacci hashing of the address */
    return (size_t)(h >> 32) & (v->n_buckets - 1);
}

static int render_one(const udm_nudm_t *n, const subscriber_t *s, udm_bodies_t *b)
{
    if (s->rat == SUB_RAT_NR && !(b->amf = dump(udm_nudm_amf_json(n, s), &b->amf_len)))
        return -1;
    b->osd = dump(udm_nudm_osd_json(s), &b->osd_len);
    b->am = render_am(s, &b->am_len);
    return b->osd && b->am ? 0 : -1;
}

static void view_clear(udm_view_t *v)
{
    buckets_free(v->buckets, v->n_buckets);
    if (v->snap)
        sub_snapshot_release(v->snap);
    memset(v, 0, sizeof(*v));
}

int udm_nudm_refresh(udm_nudm_t *n)
{
    unsigned long gen = sub_store_generation(n->store); /* read first: a newer snapshot only re-renders again */
    if (n->view.snap && gen == n->view.generation)
        return 0;
    udm_view_t v = {.snap = sub_store_acquire(n->store), .generation = gen};
    v.n = sub_snapshot_count(v.snap);
    for (v.n_buckets = UDM_BUCKETS_MIN; v.n_buckets < v.n / 4 && v.n_buckets < UDM_BUCKETS_MAX;)
        v.n_buckets *= 2;
    v.buckets = calloc(v.n_buckets, sizeof(*v.buckets)); /* empty: bodies are rendered on first use (bodies_of) */
    if (!v.snap || !v.buckets) {
        log_error("udm", "out of memory for a new subscriber view; keeping the previous one");
        view_clear(&v);
        return -1;
    }
    view_clear(&n->view);
    n->view = v;
    log_info("udm", "serving %zu subscriber(s), generation %lu", v.n, gen);
    return 0;
}

/* The rendered bodies of a subscriber of the current view, rendered now if this is its first request. */
static const udm_bodies_t *bodies_of(const udm_nudm_t *n, const subscriber_t *s)
{
    const udm_view_t *v = &n->view;
    size_t i = bucket_of(v, s);
    for (const udm_cached_t *c = v->buckets[i]; c; c = c->next)
        if (c->sub == s)
            return &c->b;
    udm_cached_t *c = calloc(1, sizeof(*c));
    if (!c || render_one(n, s, &c->b) != 0) {
        if (c) {
            free(c->b.amf);
            free(c->b.osd);
            free(c->b.am);
        }
        free(c);
        return NULL;
    }
    c->sub = s;
    c->next = v->buckets[i];
    v->buckets[i] = c;
    return &c->b;
}

/* ------------------------------------------------------------------------------------------------ handlers */

/* Validates the `param` capture and finds the subscriber; answers 400/404 itself and returns NULL on failure. */
static const subscriber_t *lookup(udm_nudm_t *n, sbi_request_t *req, const char *param, bool imsi_only,
                                  const udm_bodies_t **bodies)
{
    const char *ue_id = sbi_request_capture(req, param), *digits = NULL;
    udm_id_kind_t kind = udm_ue_id_parse(ue_id, &digits);
    if (kind == UDM_ID_INVALID || (imsi_only && kind != UDM_ID_IMSI)) {
        sbi_invalid_param_t ip = {param, imsi_only ? "must be imsi-<5 to 15 digits>"
                                                   : "must be imsi-<5 to 15 digits> or msisdn-<5 to 15 digits>"};
        sbi_problem_t p = {.status = 400,
                           .cause = SBI_CAUSE_MANDATORY_IE_INCORRECT,
                           .detail = "malformed UE identity",
                           .invalid_params = &ip,
                           .n_invalid_params = 1};
        sbi_respond_problem(req, &p);
        return NULL;
    }
    udm_nudm_refresh(n);
    const subscriber_t *s =
        kind == UDM_ID_IMSI ? sub_find_by_imsi(n->view.snap, digits) : sub_find_by_msisdn(n->view.snap, digits);
    if (!s) {
        sbi_respond_error(req, 404, SBI_CAUSE_USER_NOT_FOUND, "no subscriber %s", ue_id);
        return NULL;
    }
    *bodies = bodies_of(n, s);
    if (!*bodies) {
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "cannot render the answer (out of memory)");
        return NULL;
    }
    return s;
}

static void count(udm_nudm_t *n, int res)
{
    if (n->gets[res] != NULL)
        metric_inc(n->gets[res]);
}

static void on_amf_3gpp_access(sbi_request_t *req, void *ud)
{
    count(ud, RES_AMF);
    const udm_bodies_t *b;
    const subscriber_t *s = lookup(ud, req, "ueId", false, &b);
    if (!s)
        return;
    if (!b->amf) {
        sbi_respond_error(req, 404, SBI_CAUSE_CONTEXT_NOT_FOUND, "%s is not registered in 5GS (access %s)",
                          sbi_request_capture(req, "ueId"), sub_rat_name(s->rat));
        return;
    }
    sbi_respond(req, 200, SBI_CT_JSON, b->amf, b->amf_len);
}

/* True when the `fields` query (TS 29.505: comma-separated, form style) is absent or names voiceEncryption. */
static bool fields_include_voice_encryption(const char *fields)
{
    if (!fields)
        return true;
    size_t klen = strlen(UDM_OSD_VOICE_ENCRYPTION);
    for (const char *p = fields; *p;) {
        size_t len = strcspn(p, ",");
        if (len == klen && strncmp(p, UDM_OSD_VOICE_ENCRYPTION, klen) == 0)
            return true;
        p += len + (p[len] == ',');
    }
    return false;
}

static void on_operator_specific_data(sbi_request_t *req, void *ud)
{
    count(ud, RES_OSD);
    const udm_bodies_t *b;
    if (!lookup(ud, req, "ueId", false, &b))
        return;
    if (fields_include_voice_encryption(sbi_request_query_param(req, "fields"))) {
        sbi_respond(req, 200, SBI_CT_JSON, b->osd, b->osd_len);
        return;
    }
    sbi_respond(req, 200, SBI_CT_JSON, "{}", 2); /* only fields we do not hold were asked for */
}

static void on_am_data(sbi_request_t *req, void *ud)
{
    count(ud, RES_AM);
    const udm_bodies_t *b;
    if (!lookup(ud, req, "supi", true, &b))
        return;
    sbi_respond(req, 200, SBI_CT_JSON, b->am, b->am_len);
}

/* ------------------------------------------------------------------------------------------------ lifetime */

udm_nudm_t *udm_nudm_new(sbi_server_t *srv, sub_store_t *store, const char *amf_instance_id, metrics_t *metrics)
{
    udm_nudm_t *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    for (int i = 0; metrics != NULL && i < RES_COUNT; i++)
        n->gets[i] =
            metrics_counter(metrics, "mihua_udm_requests_total", RES_LABEL[i], "Nudm/Nudr GETs received, by resource");
    n->store = store;
    n->amf_instance_id = strdup(amf_instance_id);
    if (!n->amf_instance_id || udm_nudm_refresh(n) != 0 ||
        sbi_server_route(srv, "GET", UDM_AMF_PATH, on_amf_3gpp_access, n) != 0 ||
        sbi_server_route(srv, "GET", UDM_OSD_PATH, on_operator_specific_data, n) != 0 ||
        sbi_server_route(srv, "GET", UDM_AM_PATH, on_am_data, n) != 0) {
        udm_nudm_free(n);
        return NULL;
    }
    return n;
}

void udm_nudm_free(udm_nudm_t *n)
{
    if (!n)
        return;
    view_clear(&n->view);
    free(n->amf_instance_id);
    free(n);
}
