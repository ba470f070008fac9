/*
 * as_udm_path — the AS's SBI client towards the UDM (DESIGN §3), one file for the one interface (Open5GS style).
 *
 *   subscribed: GET {udm}/nudr-dr/v2/subscription-data/msisdn-<digits>/operator-specific-data?fields=voiceEncryption
 *               (TS 29.505 OperatorSpecificDataContainer) → voiceEncryption.value == true
 *   attached:   GET {udm}/nudm-uecm/v1/msisdn-<digits>/registrations/amf-3gpp-access (TS 29.503
 *               Amf3GppAccessRegistration) → ratType NR or EUTRA and imsVoPs HOMOGENEOUS_SUPPORT
 * Errors are ProblemDetails (TS 29.571): 404 cause USER_NOT_FOUND means the UDM does not know the user;
 * CONTEXT_NOT_FOUND means known but not registered in 5GS — a plain "no". mihua-udm serves an AMF registration
 * only for NR subscribers, so under attachment_source=udm an EUTRAN callee is "not attached"; that is what the
 * policy means (use `any` to let the HSS's T-ADS speak for EUTRAN).
 *
 * Everything runs on the loop (lib/sbi's client delivers completions there), so no hop is needed. A lookup is a
 * record the caller embeds in its own state (as_udm_lookup_t), passed as the request's user data: no allocation
 * per request and nothing to free when the client is dropped with requests in flight. The trade-off: the caller
 * must cancel before it frees the record, which as_checks does for every way a check ends.
 */
#include "as_udm_path.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "sbi/sbi_client.h"
#include "sbi/sbi_problem.h"
#include "sbi/sbi_tls.h"
#include "sbi/sbi_url.h"

#define UDM_LOG "as.udm"
#define UDM_JSON_MAX 65536 /* these answers are a few hundred bytes; a larger body is not parsed (error) */
#define UDM_RAT_NR "NR"
#define UDM_RAT_EUTRA "EUTRA"
#define UDM_VOPS_SUPPORTED "HOMOGENEOUS_SUPPORT"
#define UDM_OSD_KEY "voiceEncryption"
#define HTTP_OK 200
#define HTTP_NOT_FOUND 404

struct as_udm_path {
    sbi_client_t *client;
    SSL_CTX *tls;                      /* owned; NULL for h2c */
    char base_url[SBI_CLIENT_URL_MAX]; /* without a trailing '/' */
};

/* ---------------------------------------------------------------- interpretation (pure) */

static json_t *parse_body(const char *body, size_t len)
{
    if (body == NULL || len == 0 || len > UDM_JSON_MAX)
        return NULL;
    return json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
}

/* The ProblemDetails cause of an error body, or "" (borrowed from `j`). */
static const char *problem_cause(json_t *j)
{
    const char *cause = json_string_value(json_object_get(j, "cause"));
    return cause ? cause : "";
}

/* 404 and other non-200 statuses: the same rules for both resources. */
static as_answer_t read_error(int status, const char *body, size_t len)
{
    if (status != HTTP_NOT_FOUND)
        return AS_ANS_ERROR;
    json_t *j = parse_body(body, len);
    const char *cause = problem_cause(j);
    as_answer_t a = AS_ANS_ERROR;
    if (strcmp(cause, SBI_CAUSE_USER_NOT_FOUND) == 0)
        a = AS_ANS_UNKNOWN;
    else if (strcmp(cause, SBI_CAUSE_CONTEXT_NOT_FOUND) == 0 || strcmp(cause, SBI_CAUSE_DATA_NOT_FOUND) == 0)
        a = AS_ANS_NO;
    json_decref(j);
    return a;
}

as_answer_t as_udm_read_subscribed(int status, const char *body, size_t len)
{
    if (status != HTTP_OK)
        return read_error(status, body, len);
    json_t *j = parse_body(body, len);
    if (!json_is_object(j)) {
        json_decref(j);
        return AS_ANS_ERROR;
    }
    bool yes = json_is_true(json_object_get(json_object_get(j, UDM_OSD_KEY), "value"));
    json_decref(j);
    return yes ? AS_ANS_YES : AS_ANS_NO;
}

/* Copies a ratType for the log: printable ASCII only, cut to the buffer. */
static void copy_rat(const char *rat, char *out, size_t size)
{
    size_t n = 0;
    for (; rat && rat[n] && n + 1 < size; n++)
        out[n] = rat[n] > ' ' && rat[n] < 0x7f ? rat[n] : '?';
    out[n] = '\0';
}

as_answer_t as_udm_read_attached(int status, const char *body, size_t len, char *rat, size_t rat_size)
{
    if (rat && rat_size)
        rat[0] = '\0';
    if (status != HTTP_OK)
        return read_error(status, body, len);
    json_t *j = parse_body(body, len);
    if (!json_is_object(j)) {
        json_decref(j);
        return AS_ANS_ERROR;
    }
    const char *rat_type = json_string_value(json_object_get(j, "ratType"));
    const char *vops = json_string_value(json_object_get(j, "imsVoPs"));
    if (rat && rat_size)
        copy_rat(rat_type, rat, rat_size);
    bool rat_ok = rat_type && (strcmp(rat_type, UDM_RAT_NR) == 0 || strcmp(rat_type, UDM_RAT_EUTRA) == 0);
    bool yes = rat_ok && vops && strcmp(vops, UDM_VOPS_SUPPORTED) == 0;
    json_decref(j);
    return yes ? AS_ANS_YES : AS_ANS_NO;
}

/* ---------------------------------------------------------------- requests */

static void on_response(const sbi_client_response_t *resp, void *ud)
{
    as_udm_lookup_t *lk = ud;
    as_udm_result_t res = {.answer = AS_ANS_ERROR};

    lk->sbi_id = 0;
    if (resp->error == SBI_CLIENT_ERR_TIMEOUT)
        res.answer = AS_ANS_TIMEOUT;
    else if (resp->error != SBI_CLIENT_OK)
        log_debug(UDM_LOG, "UDM lookup failed: %s", sbi_client_strerror(resp->error));
    else if (lk->kind == AS_UDM_SUBSCRIBED)
        res.answer = as_udm_read_subscribed(resp->status, resp->body, resp->body_len);
    else
        res.answer = as_udm_read_attached(resp->status, resp->body, resp->body_len, res.rat, sizeof res.rat);
    lk->cb(lk, &res, lk->ud); /* last: the callback may free the check, the path, or both */
}

int as_udm_path_query(as_udm_path_t *p, as_udm_lookup_t *lk, const char *msisdn, unsigned timeout_ms)
{
    static const sbi_header_t accept[] = {{"accept", "application/json, application/problem+json"}};
    char path[sizeof AS_UDM_PATH_OSD + AS_MSISDN_MAX_DIGITS + 1], url[SBI_CLIENT_URL_MAX];

    if (!p || !lk || !lk->cb || !msisdn)
        return -1;
    snprintf(path, sizeof path, lk->kind == AS_UDM_SUBSCRIBED ? AS_UDM_PATH_OSD : AS_UDM_PATH_AMF, msisdn);
    if (snprintf(url, sizeof url, "%s%s", p->base_url, path) >= (int)sizeof url)
        return -1;
    sbi_client_req_t req = {.method = "GET", .url = url, .headers = accept, .n_headers = 1, .timeout_ms = timeout_ms};
    lk->sbi_id = sbi_client_request(p->client, &req, on_response, lk);
    return lk->sbi_id ? 0 : -1;
}

void as_udm_path_cancel(as_udm_path_t *p, as_udm_lookup_t *lk)
{
    if (p && lk && lk->sbi_id) {
        (void)sbi_client_cancel(p->client, lk->sbi_id);
        lk->sbi_id = 0;
    }
}

/* ---------------------------------------------------------------- life cycle */

as_udm_path_t *as_udm_path_new(struct event_base *base, const char *url, const char *ca, char *err, size_t errlen)
{
    sbi_url_t parsed;
    size_t len = url ? strlen(url) : 0;
    while (len > 0 && url[len - 1] == '/')
        len--;
    if (!base || !url || sbi_url_parse(url, &parsed) != 0 || len + 1 > SBI_CLIENT_URL_MAX / 2) {
        snprintf(err, errlen, "udm_url must be an absolute http:// or https:// URL, not '%s'", url ? url : "");
        return NULL;
    }
    as_udm_path_t *p = calloc(1, sizeof *p);
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(p->base_url, url, len);
    if (parsed.tls && (p->tls = sbi_tls_client_ctx_new(ca, err, errlen)) == NULL) {
        free(p);
        return NULL;
    }
    sbi_client_config_t cfg = {.tls = p->tls};
    p->client = sbi_client_new(base, &cfg);
    if (p->client == NULL) {
        snprintf(err, errlen, "cannot create the SBI client");
        as_udm_path_free(p);
        return NULL;
    }
    return p;
}

void as_udm_path_free(as_udm_path_t *p)
{
    if (p == NULL)
        return;
    sbi_client_free(p->client); /* allowed inside its callbacks (lib/sbi) */
    if (p->tls)
        SSL_CTX_free(p->tls);
    free(p);
}
