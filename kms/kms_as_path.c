/*
 * kms_as_path — the KMS's GET /as/v1/calls/{callId} to the AS and the verdict on its answer (see kms_as_path.h;
 * DESIGN §4).
 *
 * The callId is percent-encoded into the path (RFC 3986 §2.1: every byte but the unreserved ones), so no callId
 * can reach another resource of the AS. The answer is read without jansson when it is a flat object
 * (sbi_flat_json: the same members either way, and no allocation), else with jansson; a string too long for the
 * flat copy is read with jansson too, so no value is ever judged by a truncated copy. The verdict itself is one
 * pure function (kms_as_verdict) that tests feed any answer.
 *
 * Trade-off: a 401 from the AS (our token missing or wrong) is logged, rate-limited, because the operator must fix
 * the configuration; other refusals are only audited per request by the caller.
 */
#include "kms_as_path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/ratelimit.h"
#include "sbi/sbi_bearer.h"
#include "sbi/sbi_flat_json.h"

#define MOD "kms"
#define AS_CALLS_PATH "/as/v1/calls/"
#define AS_VALUE_MAX 1024 /* a string of an AS answer read without jansson; longer: jansson */
#define URL_MAX SBI_CLIENT_URL_MAX

struct kms_as_path {
    sbi_client_t *client;
    char *as_url;
    unsigned timeout_ms;
    char *authorization;        /* "Bearer <as_token>", or NULL */
    ratelimit_t as_refused_log; /* the AS refusing our token: one line per interval */
};

/* The parts of an AS answer the verdict reads, from jansson or from a flat body. */
typedef struct {
    bool object;                           /* the body was a JSON object */
    const char *call_id, *caller, *callee; /* NULL: absent or not a string */
    bool allowed;                          /* encryptionAllowed is JSON true */
} as_answer_t;

/* Copies of a flat answer's strings, so they are NUL-terminated. */
typedef struct {
    char call_id[AS_VALUE_MAX], caller[AS_VALUE_MAX], callee[AS_VALUE_MAX];
} as_strings_t;

bool kms_same_subscriber(const subscriber_t *a, const subscriber_t *b)
{
    return a && b && strcmp(a->imsi, b->imsi) == 0;
}

/* ---- reading the answer ---------------------------------------------------------------------------------- */

static void answer_from_json(const json_t *body, as_answer_t *a)
{
    *a = (as_answer_t){.object = json_is_object(body),
                       .call_id = json_string_value(json_object_get(body, "callId")),
                       .caller = json_string_value(json_object_get(body, "caller")),
                       .callee = json_string_value(json_object_get(body, "callee")),
                       .allowed = json_is_true(json_object_get(body, "encryptionAllowed"))};
}

/* One string member into buf: *out = buf, or NULL when absent or not a string. false: too long for buf (the
 * caller then reads the answer with jansson, so no value is ever judged by a truncated copy). */
static bool flat_copy(const sbi_flat_json_t *j, const char *name, char *buf, const char **out)
{
    const sbi_flat_member_t *m = sbi_flat_json_get(j, name);
    *out = NULL;
    if (!m || m->type != SBI_FLAT_STRING)
        return true;
    if (!sbi_flat_json_string(j, name, buf, AS_VALUE_MAX))
        return false;
    *out = buf;
    return true;
}

static bool answer_from_flat(const sbi_flat_json_t *j, as_strings_t *buf, as_answer_t *a)
{
    const sbi_flat_member_t *allowed = sbi_flat_json_get(j, "encryptionAllowed");
    *a = (as_answer_t){.object = true, .allowed = allowed && allowed->type == SBI_FLAT_TRUE};
    return flat_copy(j, "callId", buf->call_id, &a->call_id) && flat_copy(j, "caller", buf->caller, &a->caller) &&
           flat_copy(j, "callee", buf->callee, &a->callee);
}

/* ---- the verdict ----------------------------------------------------------------------------------------- */

static const char *verdict(const sub_snapshot_t *snap, int status, const char *transport, const as_answer_t *a,
                           const char *call_id, const subscriber_t *caller, const subscriber_t *callee)
{
    if (status == 0)
        return transport ? transport : "as_unreachable";
    if (status == 404)
        return "call_not_found";
    if (status == 401 || status == 403)
        return "as_refused_kms"; /* the AS wants a token (as.token) we lack or got wrong */
    if (status != 200)
        return "as_error";
    if (!a->object)
        return "as_bad_answer";
    if (!a->call_id || strcmp(a->call_id, call_id) != 0)
        return "as_call_mismatch";
    if (!a->allowed)
        return "encryption_not_allowed";
    const subscriber_t *as_caller = a->caller ? sub_find_by_identity(snap, a->caller) : NULL;
    const subscriber_t *as_callee = a->callee ? sub_find_by_identity(snap, a->callee) : NULL;
    if (!kms_same_subscriber(as_caller, caller) || !kms_same_subscriber(as_callee, callee))
        return "party_mismatch";
    return NULL;
}

const char *kms_as_verdict(const sub_snapshot_t *snap, int status, const char *transport, const json_t *body,
                           const char *call_id, const subscriber_t *caller, const subscriber_t *callee)
{
    as_answer_t a;
    answer_from_json(body, &a);
    return verdict(snap, status, transport, &a, call_id, caller, callee);
}

/* ---- the request ----------------------------------------------------------------------------------------- */

static const char *transport_reason(sbi_client_err_t e)
{
    return e == SBI_CLIENT_ERR_TIMEOUT ? "as_timeout" : "as_unreachable";
}

static void on_as_answer(const sbi_client_response_t *resp, void *ud)
{
    kms_as_check_t *c = ud;
    kms_as_path_t *p = c->path;
    int status = resp->error == SBI_CLIENT_OK ? resp->status : 0;
    as_answer_t a = {0};
    as_strings_t strings;
    sbi_flat_json_t flat;
    json_t *body = NULL;
    bool flat_ok = status == 200 && sbi_flat_json_parse(resp->body, resp->body_len, &flat) &&
                   answer_from_flat(&flat, &strings, &a);
    if (status == 200 && !flat_ok) {
        body = json_loadb(resp->body, resp->body_len, 0, NULL);
        answer_from_json(body, &a);
    }
    const char *why = verdict(c->snap, status, transport_reason(resp->error), &a, c->call_id, c->caller, c->callee);
    uint64_t suppressed;
    if (status == 401 && ratelimit_allow(&p->as_refused_log, RATELIMIT_INTERVAL_S, &suppressed))
        log_warn(MOD,
                 "the AS refused our call check (401): set as.token_file to its admin token (%llu more "
                 "since the last line)",
                 (unsigned long long)suppressed);
    json_decref(body);
    c->request = 0;
    c->done(why, c->ud);
}

/* Percent-encodes everything but RFC 3986 unreserved characters. Returns 0 or -1 when it does not fit. */
static int append_encoded(char *out, size_t cap, size_t at, const char *s)
{
    static const char hex[] = "0123456789ABCDEF"; /* RFC 3986 §2.1: uppercase is the normal form */
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                     c == '.' || c == '_' || c == '~';
        if (at + (plain ? 1 : 3) >= cap)
            return -1;
        if (plain) {
            out[at++] = (char)c;
        } else {
            out[at++] = '%';
            out[at++] = hex[c >> 4];
            out[at++] = hex[c & 15];
        }
    }
    out[at] = '\0';
    return 0;
}

int kms_as_path_start(kms_as_path_t *p, kms_as_check_t *c)
{
    char url[URL_MAX];
    int n = snprintf(url, sizeof url, "%s" AS_CALLS_PATH, p->as_url);
    sbi_header_t auth = {"authorization", p->authorization};
    sbi_client_req_t r = {.method = "GET",
                          .url = url,
                          .timeout_ms = p->timeout_ms,
                          .headers = p->authorization ? &auth : NULL,
                          .n_headers = p->authorization ? 1 : 0};
    c->path = p;
    if (n < 0 || (size_t)n >= sizeof url || append_encoded(url, sizeof url, (size_t)n, c->call_id) != 0)
        return -1;
    c->request = sbi_client_request(p->client, &r, on_as_answer, c);
    return c->request ? 0 : -1;
}

void kms_as_path_cancel(kms_as_check_t *c)
{
    if (c->path && c->request)
        sbi_client_cancel(c->path->client, c->request);
    c->request = 0;
}

/* ---- lifetime -------------------------------------------------------------------------------------------- */

kms_as_path_t *kms_as_path_new(sbi_client_t *client, const char *as_url, unsigned timeout_ms, const char *as_token)
{
    kms_as_path_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->client = client;
    p->timeout_ms = timeout_ms;
    p->as_url = as_url ? strdup(as_url) : NULL;
    if (as_token && asprintf(&p->authorization, "Bearer %s", as_token) < 0)
        p->authorization = NULL;
    if (!p->as_url || (as_token && !p->authorization)) {
        kms_as_path_free(p);
        return NULL;
    }
    size_t len = strlen(p->as_url);
    while (len > 0 && p->as_url[len - 1] == '/')
        p->as_url[--len] = '\0';
    return p;
}

void kms_as_path_free(kms_as_path_t *p)
{
    if (!p)
        return;
    free(p->as_url);
    sbi_bearer_wipe(p->authorization);
    free(p);
}
