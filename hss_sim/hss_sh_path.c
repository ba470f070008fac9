/*
 * hss_sh_path — answers Sh User-Data-Request (TS 29.328 §6.1.1, TS 29.329 §6.1.1/6.1.2) from the subscriber store.
 *
 * The handler runs on one of freeDiameter's dispatch threads. It holds a reference to the subscriber snapshot in
 * force for the whole request, so a SIGHUP reload in the middle cannot change the data under it, and builds the
 * answer without touching any shared mutable state; the only shared writes are atomic metric counters.
 *
 * What it answers (DESIGN §3):
 *   - each Data-Reference adds its part to one Sh-Data document: RepositoryData(0) for the configured
 *     Service-Indication only when the subscriber has voice encryption (absence means "not subscribed"),
 *     IMSPublicIdentity(10), MSISDN(17), TADSinformation(26) from access.rat / access.ims_vops;
 *   - unknown user: Experimental-Result 5001; a Data-Reference this HSS does not serve: 5100;
 *   - RepositoryData without Service-Indication, or a User-Identity with neither Public-Identity nor MSISDN:
 *     DIAMETER_MISSING_AVP (5005) with Failed-AVP naming what is missing. Requests missing User-Identity or
 *     Data-Reference altogether never reach this code: freeDiameter checks the ABNF rules of sh_dict and answers
 *     5005 itself.
 */
#include "hss_sh_path.h"

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/iso_time.h"
#include "core/log.h"
#include "diameter/sh_data.h"
#include "diameter/sh_msg.h"
#include "hss_faults.h"

#define HSS_SERVICE_DATA "<VoiceEncryption>true</VoiceEncryption>"

typedef enum {
    UDR_OK,
    UDR_USER_UNKNOWN,
    UDR_DREF_UNSUPPORTED,
    UDR_MISSING_AVP,
    UDR_INVALID,
    UDR_FAILED,
    UDR_RESULT_COUNT,
} udr_result_t;

static const char *const udr_result_name[UDR_RESULT_COUNT] = {
    "success", "user_unknown", "data_ref_unsupported", "missing_avp", "invalid_avp", "unable_to_comply",
};

/* Prometheus label sets, in the order of udr_result_t. */
static const char *const udr_result_label[UDR_RESULT_COUNT] = {
    "result=\"success\"",     "result=\"user_unknown\"", "result=\"data_ref_unsupported\"",
    "result=\"missing_avp\"", "result=\"invalid_avp\"",  "result=\"unable_to_comply\"",
};

struct hss_sh {
    const sh_dict_t *dict;
    sub_store_t *store;
    char *service_indication;
    struct disp_hdl *hdl;
    diam_sim_t *sim; /* journal and faults (lib/sim/diam_sim), or NULL */
    metric_t *results[UDR_RESULT_COUNT];
};

static void count(hss_sh_t *h, udr_result_t r)
{
    if (h->results[r] != NULL)
        metric_inc(h->results[r]);
}

bool hss_sh_dref_served(uint32_t dref)
{
    return dref == SH_DREF_REPOSITORY_DATA || dref == SH_DREF_IMS_PUBLIC_IDENTITY || dref == SH_DREF_MSISDN ||
           dref == SH_DREF_TADS_INFORMATION;
}

static uint32_t rat_type_of(sub_rat_t rat)
{
    switch (rat) {
    case SUB_RAT_EUTRAN:
        return SH_RAT_EUTRAN;
    case SUB_RAT_NR:
        return SH_RAT_NR;
    case SUB_RAT_UTRAN:
        return SH_RAT_UTRAN;
    case SUB_RAT_GERAN:
        return SH_RAT_GERAN;
    case SUB_RAT_NONE:
        break;
    }
    return 0;
}

static bool requested_si(const sh_udr_t *req, const char *si)
{
    for (size_t i = 0; i < req->n_service_ind; i++)
        if (strcmp(req->service_ind[i], si) == 0)
            return true;
    return false;
}

static void add_tads(sh_data_t *d, const subscriber_t *sub, char *when)
{
    d->has_tads = true;
    if (sub->rat == SUB_RAT_NONE) {
        /* Not attached anywhere: no RAT to report, and voice over PS cannot be supported. */
        d->ims_vops = SH_VOPS_NOT_SUPPORTED;
        return;
    }
    d->ims_vops = sub->ims_vops ? SH_VOPS_SUPPORTED : SH_VOPS_NOT_SUPPORTED;
    d->has_rat = true;
    d->rat_type = rat_type_of(sub->rat);
    d->last_ue_activity = when;
}

/* Fills `d` with borrowed pointers into `sub` and `si`; the caller must not sh_data_clear() it. */
static void build_sh_data(const char *si, bool si_requested, const uint32_t *refs, size_t n_refs,
                          const subscriber_t *sub, sh_data_t *d, char *when, uint32_t seq)
{
    memset(d, 0, sizeof *d);
    for (size_t i = 0; i < n_refs; i++) {
        switch (refs[i]) {
        case SH_DREF_REPOSITORY_DATA:
            if (sub->voice_encryption && si_requested && d->n_repo == 0) {
                d->repo[0].service_indication = (char *)si;
                d->repo[0].sequence_number = seq;
                d->repo[0].service_data = (char *)HSS_SERVICE_DATA;
                d->n_repo = 1;
            }
            break;
        case SH_DREF_IMS_PUBLIC_IDENTITY:
            for (size_t k = 0; k < sub->n_impu && k < SH_DATA_MAX_IMPU; k++)
                d->impu[k] = sub->impu[k];
            d->n_impu = sub->n_impu < SH_DATA_MAX_IMPU ? sub->n_impu : SH_DATA_MAX_IMPU;
            break;
        case SH_DREF_MSISDN:
            d->msisdn = (char *)sub->msisdn;
            break;
        case SH_DREF_TADS_INFORMATION:
            add_tads(d, sub, when);
            break;
        }
    }
}

/* Sets 5005 and adds Failed-AVP holding an empty instance of the missing AVP (RFC 6733 §7.5, §7.6). The
 * Failed-AVP is built here rather than handed to fd_msg_rescode_set(), which expects an AVP received on the wire. */
static int answer_missing(const sh_dict_t *d, struct msg *ans, struct dict_object *missing, const char *what)
{
    struct avp *failed = NULL, *avp = NULL;
    union avp_value v = {.os = {.data = (uint8_t *)"", .len = 0}};

    if (fd_msg_rescode_set(ans, "DIAMETER_MISSING_AVP", (char *)what, NULL, 1) != 0)
        return -1;
    if (fd_msg_avp_new(d->failed_avp, 0, &failed) != 0)
        return -1;
    if (fd_msg_avp_new(missing, 0, &avp) != 0 || fd_msg_avp_setvalue(avp, &v) != 0 ||
        fd_msg_avp_add(failed, MSG_BRW_LAST_CHILD, avp) != 0) {
        fd_msg_free((msg_or_avp *)avp);
        fd_msg_free((msg_or_avp *)failed);
        return -1;
    }
    return fd_msg_avp_add(ans, MSG_BRW_LAST_CHILD, failed);
}

char *hss_sh_data_xml(const char *si, bool si_requested, const uint32_t *refs, size_t n_refs, const subscriber_t *sub,
                      uint32_t seq, size_t *len)
{
    sh_data_t d;
    char when[ISO_TIME_MAX];

    iso_time_format(time(NULL), when, sizeof when);
    build_sh_data(si, si_requested, refs, n_refs, sub, &d, when, seq);
    return sh_data_render(&d, len);
}

static udr_result_t answer_user(hss_sh_t *h, const sh_udr_t *req, const subscriber_t *sub, struct msg *ans)
{
    size_t len = 0;
    char *xml = hss_sh_data_xml(h->service_indication, requested_si(req, h->service_indication), req->data_refs,
                                req->n_data_refs, sub, (uint32_t)(sub_store_generation(h->store) & 0xffffu), &len);
    if (xml == NULL)
        return UDR_FAILED;
    int rc = sh_uda_set_success(h->dict, ans, xml, len);
    free(xml);
    return rc == 0 ? UDR_OK : UDR_FAILED;
}

static udr_result_t decide(hss_sh_t *h, const sh_udr_t *req, struct msg *ans, const char **why)
{
    for (size_t i = 0; i < req->n_data_refs; i++) {
        if (!hss_sh_dref_served(req->data_refs[i])) {
            *why = "Data-Reference not served";
            return sh_uda_set_experimental(h->dict, ans, SH_ERR_DATA_REF_NOT_SUPPORTED) == 0 ? UDR_DREF_UNSUPPORTED
                                                                                             : UDR_FAILED;
        }
        if (req->data_refs[i] == SH_DREF_REPOSITORY_DATA && req->n_service_ind == 0) {
            *why = "RepositoryData needs Service-Indication";
            return answer_missing(h->dict, ans, h->dict->service_indication, "Service-Indication required") == 0
                       ? UDR_MISSING_AVP
                       : UDR_FAILED;
        }
    }
    if (req->too_many_data_refs) {
        *why = "too many Data-Reference AVPs";
        return sh_uda_set_experimental(h->dict, ans, SH_ERR_DATA_REF_NOT_SUPPORTED) == 0 ? UDR_DREF_UNSUPPORTED
                                                                                         : UDR_FAILED;
    }
    if (req->public_identity == NULL && req->msisdn == NULL) {
        *why = "User-Identity has neither Public-Identity nor MSISDN";
        return answer_missing(h->dict, ans, h->dict->public_identity, "User-Identity is empty") == 0 ? UDR_MISSING_AVP
                                                                                                     : UDR_FAILED;
    }

    sub_snapshot_t *snap = sub_store_acquire(h->store);
    const subscriber_t *sub = req->public_identity != NULL ? sub_find_by_identity(snap, req->public_identity)
                                                           : sub_find_by_msisdn(snap, req->msisdn);
    udr_result_t r;
    if (sub == NULL) {
        *why = "user unknown";
        r = sh_uda_set_experimental(h->dict, ans, SH_ERR_USER_UNKNOWN) == 0 ? UDR_USER_UNKNOWN : UDR_FAILED;
    } else {
        *why = "ok";
        r = answer_user(h, req, sub, ans);
    }
    sub_snapshot_release(snap);
    return r;
}

static void log_udr(const sh_udr_t *req, udr_result_t r, const char *why)
{
    const char *user = req->public_identity != NULL ? req->public_identity : req->msisdn;
    char refs[96] = "";
    size_t off = 0;

    if (r == UDR_OK && log_get_level() < LOG_LVL_DEBUG)
        return; /* the hot path: nothing to say, so nothing to format */
    for (size_t i = 0; i < req->n_data_refs && off < sizeof refs; i++) {
        const char *name = sh_data_ref_name(req->data_refs[i]);
        int n = name != NULL ? snprintf(refs + off, sizeof refs - off, "%s%s", i ? "," : "", name)
                             : snprintf(refs + off, sizeof refs - off, "%s%u", i ? "," : "", req->data_refs[i]);
        if (n < 0)
            break;
        off += (size_t)n;
    }
    if (r == UDR_OK)
        log_debug("hss", "UDR user=%s refs=%s -> success", user ? user : "-", refs);
    else
        log_info("hss", "UDR user=%s refs=%s -> %s (%s)", user ? user : "-", refs, udr_result_name[r], why);
}

static int on_udr(struct msg **msg, struct avp *avp, struct session *sess, void *opaque, enum disp_action *act)
{
    hss_sh_t *h = opaque;
    sh_udr_t req;
    const char *why = "";
    udr_result_t r;
    unsigned delay_ms = 0;

    (void)avp;
    (void)sess;
    memset(&req, 0, sizeof req);
    int read_rc = sh_udr_read(h->dict, *msg, &req);
    if (fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0) != 0) {
        sh_udr_clear(&req);
        return EINVAL;
    }
    if (read_rc == 0 && hss_faults_request(h->sim, h->store, "UDR", &req, msg, &delay_ms)) {
        sh_udr_clear(&req);
        *act = DISP_ACT_SEND;
        return 0;
    }
    if (read_rc != 0) {
        why = "malformed AVP";
        r = fd_msg_rescode_set(*msg, "DIAMETER_INVALID_AVP_VALUE", (char *)why, NULL, 1) == 0 ? UDR_INVALID
                                                                                              : UDR_FAILED;
    } else {
        r = decide(h, &req, *msg, &why);
    }
    if (r == UDR_FAILED)
        fd_msg_rescode_set(*msg, "DIAMETER_UNABLE_TO_COMPLY", "answer could not be built", NULL, 1);
    count(h, r);
    log_udr(&req, r, why);
    sh_udr_clear(&req);
    diam_sim_answer(h->sim, msg, delay_ms);
    *act = DISP_ACT_SEND;
    return 0;
}

void hss_sh_set_sim(hss_sh_t *h, diam_sim_t *sim)
{
    h->sim = sim;
}

hss_sh_t *hss_sh_new(const sh_dict_t *dict, sub_store_t *store, const char *service_indication, metrics_t *metrics)
{
    hss_sh_t *h = calloc(1, sizeof *h);
    struct disp_when when;

    if (h == NULL)
        return NULL;
    h->dict = dict;
    h->store = store;
    h->service_indication = strdup(service_indication);
    if (h->service_indication == NULL)
        goto fail;
    for (int i = 0; metrics != NULL && i < UDR_RESULT_COUNT; i++)
        h->results[i] = metrics_counter(metrics, "mihua_hss_udr_total", udr_result_label[i],
                                        "Sh User-Data-Requests answered, by result");

    memset(&when, 0, sizeof when);
    when.app = dict->app;
    when.command = dict->cmd_udr;
    if (fd_disp_register(on_udr, DISP_HOW_CC, &when, h, &h->hdl) != 0)
        goto fail;
    return h;
fail:
    free(h->service_indication);
    free(h);
    return NULL;
}

void hss_sh_free(hss_sh_t *h)
{
    if (h == NULL)
        return;
    if (h->hdl != NULL)
        fd_disp_unregister(&h->hdl, NULL);
    free(h->service_indication);
    free(h);
}
