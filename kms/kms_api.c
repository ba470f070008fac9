/*
 * kms_api — mihua-kms's UE-facing API (DESIGN §4; patent claims 11-13); the AS check it waits for is the KMS→AS
 * interface, kms_as_path.c.
 *
 * Every request runs the same pipeline, each step answering and auditing on refusal:
 *   1. Digest (RFC 7616 §3.4/§3.5, lib/kms/http_digest): no header → 401 challenge; the username names a
 *      subscriber by any identity form (sub_find_by_identity), the password is its kms_key in hex.
 *   2. Body {callId, caller, callee} (issue, retrieve): missing → 400 MANDATORY_IE_MISSING, wrong → 400
 *      MANDATORY_IE_INCORRECT, both with invalidParams. The server library already answered bad JSON (400),
 *      oversized bodies (413) and non-JSON media types (415).
 *   3. Local checks: the requester is the caller (issue) / the callee named at issue, for that callId (retrieve);
 *      the key exists (404 KEY_NOT_FOUND) and was not released (410 KEY_ALREADY_RETRIEVED).
 *   4. The AS check, asynchronous (kms_as_path): anything but an answer that confirms the call, its permission and
 *      both parties → 403 CALL_NOT_AUTHORIZED with the path's reason in the audit log.
 *   5. Issue or release. The release re-checks the table after the AS answered: two retrieves racing through the
 *      AS check cannot both succeed, and a key that expired meanwhile is 404.
 * An operation waiting for the AS refers to its stream by handle (sbi_request_handle), so a client that went away
 * is detected and nothing is issued or released for it. Operations in flight are listed so that kms_api_free can
 * cancel them. DELETE needs no AS check: it only destroys.
 *
 * Request bodies are read by kms_body.c: sbi_request_flat when the body is flat, jansson otherwise (a jansson
 * object costs a dozen allocations, and the KMS reads a body on every request).
 *
 * Trade-offs: the Digest nonce table is shared by all connections (a nonce is not bound to its connection); the
 * 401 for an unknown user is the same as for a wrong password so usernames cannot be probed. Success bodies are
 * printed with snprintf, not jansson: every value is base64url or a timestamp, so nothing needs escaping.
 */
#include "kms_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "kms/http_digest.h"
#include "kms/kms_crypto.h"
#include "sbi/sbi_flat_json.h"
#include "sbi/sbi_url.h"

#include "kms_body.h"

#define MOD "kms"
#define PATH_KEYS "/kms/v1/session-keys"
#define TARGET_MAX (DIGEST_MAX_URI_LEN + 1) /* :path with query, as the Digest uri must equal it */
#define CHALLENGE_MAX 512                   /* realm, 32-char nonce, opaque, qop, algorithm, stale */
#define BODY_MAX 256                        /* the success body: 22 + 54 + 24 characters plus names */
#define LOCATION_MAX (SBI_HOST_MAX + 96)

typedef enum { OP_ISSUE, OP_RETRIEVE, OP_DELETE } op_kind_t;

/* One request on its way through the pipeline. */
typedef struct op {
    kms_api_t *api;
    op_kind_t kind;
    sbi_handle_t handle;        /* the stream, found again after the AS answered */
    sub_snapshot_t *snap;       /* owned reference: the subscribers below point into it */
    const subscriber_t *user;   /* authenticated requester */
    const subscriber_t *caller; /* named in the body */
    const subscriber_t *callee;
    char username[DIGEST_MAX_USERNAME_LEN + 1]; /* as sent, for the audit log */
    char call_id[KMS_CALL_ID_MAX + 1];
    char key_id[KMS_KEY_ID_LEN + 1];
    kms_as_check_t check;   /* the AS check while it runs */
    struct op *prev, *next; /* in api->pending */
} op_t;

struct kms_api {
    sbi_server_t *srv;
    sub_store_t *store;
    kms_keys_t *keys;
    kms_audit_t *audit;
    kms_as_path_t *as_path;
    sbi_auth_t *metrics_auth;
    digest_server_t *digest;
    kms_crypto_t *crypto;          /* fetched HMAC / wrap cipher, reused by every answer */
    kms_time_cache_t expiry_clock; /* expiresAt, formatted once per second */
    op_t *pending;
    const metrics_t *metrics;
    metric_t *m_refused[3]; /* key-table refusals: table full, per call, per requester */
};

static const char *const ACTION[] = {[OP_ISSUE] = "issue", [OP_RETRIEVE] = "retrieve", [OP_DELETE] = "delete"};

/* ---- operations ------------------------------------------------------------------------------------------- */

static op_t *op_new(kms_api_t *api, sbi_request_t *req, op_kind_t kind)
{
    op_t *op = malloc(sizeof *op); /* every field set here (calloc bypasses glibc's per-thread cache) */
    if (!op)
        return NULL;
    op->api = api;
    op->kind = kind;
    op->user = op->caller = op->callee = NULL;
    op->username[0] = op->call_id[0] = op->key_id[0] = '\0';
    op->check = (kms_as_check_t){0};
    op->prev = op->next = NULL;
    op->handle = sbi_request_handle(req);
    op->snap = sub_store_acquire(api->store);
    const char *key_id = sbi_request_capture(req, "keyId");
    if (key_id && strlen(key_id) == KMS_KEY_ID_LEN) /* never truncate: a prefix must not name a key */
        memcpy(op->key_id, key_id, KMS_KEY_ID_LEN + 1);
    return op;
}

static void op_free(op_t *op)
{
    if (!op)
        return;
    sub_snapshot_release(op->snap);
    free(op);
}

static void pending_add(kms_api_t *api, op_t *op)
{
    op->next = api->pending;
    if (api->pending)
        api->pending->prev = op;
    api->pending = op;
}

static void pending_remove(kms_api_t *api, op_t *op)
{
    if (op->prev)
        op->prev->next = op->next;
    else
        api->pending = op->next;
    if (op->next)
        op->next->prev = op->prev;
    op->prev = op->next = NULL;
}

static void audit(const op_t *op, const char *outcome, const char *reason)
{
    kms_audit_rec_t rec = {
        .requester = op->username[0] ? op->username : NULL,
        .call_id = op->call_id[0] ? op->call_id : NULL,
        .key_id = op->key_id[0] ? op->key_id : NULL,
        .action = ACTION[op->kind],
        .outcome = outcome,
        .reason = reason,
    };
    kms_audit_write(op->api->audit, &rec);
}

/* Answers with a ProblemDetails and audits the refusal. */
static void refuse(op_t *op, sbi_request_t *req, int status, const char *cause, const char *reason, const char *detail)
{
    audit(op, status >= 500 ? "error" : "refused", reason);
    sbi_respond_error(req, status, cause, "%s", detail);
}

/* ---- 1. Digest authentication ---------------------------------------------------------------------------- */

/* 401 with a fresh challenge in WWW-Authenticate (RFC 7616 §3.3) and a ProblemDetails body. */
static void challenge(op_t *op, sbi_request_t *req, int stale, const char *cause, const char *reason)
{
    audit(op, "refused", reason);
    char www[CHALLENGE_MAX];
    if (digest_server_challenge(op->api->digest, digest_now(), stale, www, sizeof www) < 0) {
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "cannot issue a nonce");
        return;
    }
    sbi_problem_t p = {.status = 401, .cause = cause, .detail = "HTTP Digest (SHA-256, qop=auth) required"};
    size_t len;
    char *body = sbi_problem_render(&p, &len);
    sbi_header_t h[] = {{"content-type", SBI_CT_PROBLEM}, {"www-authenticate", www}};
    if (!body || sbi_respond_ex(req, 401, h, 2, body, len) != 0)
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "cannot answer");
    free(body);
}

static void refuse_malformed_auth(op_t *op, sbi_request_t *req)
{
    audit(op, "refused", "auth_malformed");
    sbi_invalid_param_t ip = {.param = "Authorization", .reason = "not a valid Digest SHA-256 qop=auth header"};
    sbi_problem_t p = {.status = 400,
                       .cause = SBI_CAUSE_MANDATORY_IE_INCORRECT,
                       .detail = "malformed Authorization header",
                       .invalid_params = &ip,
                       .n_invalid_params = 1};
    sbi_respond_problem(req, &p);
}

/* The request-target as received: the Digest uri must equal it (RFC 7616 §3.4.6). */
static int request_target(const sbi_request_t *req, char *out, size_t cap)
{
    const char *q = sbi_request_query(req);
    int n = q ? snprintf(out, cap, "%s?%s", sbi_request_path(req), q) : snprintf(out, cap, "%s", sbi_request_path(req));
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static digest_result_t verify(op_t *op, const sbi_request_t *req, const digest_auth_t *auth, const subscriber_t *sub)
{
    char target[TARGET_MAX];
    if (request_target(req, target, sizeof target) != 0)
        return DIGEST_MALFORMED;
    char password[KMS_DIGEST_PASSWORD_LEN + 1];
    kms_digest_password(sub->kms_key, password);
    digest_result_t r =
        digest_server_verify(op->api->digest, auth, sbi_request_method(req), target, password, digest_now());
    kms_cleanse(password, sizeof password);
    return r;
}

/* Returns 0 with op->user set, or -1 when it answered. */
static int authenticate(op_t *op, sbi_request_t *req)
{
    const char *hdr = sbi_request_header(req, "authorization");
    if (!hdr) {
        challenge(op, req, 0, KMS_CAUSE_AUTH_REQUIRED, "auth_required");
        return -1;
    }
    digest_auth_t auth;
    if (digest_parse_authorization(hdr, strlen(hdr), &auth) != 0) {
        refuse_malformed_auth(op, req);
        return -1;
    }
    snprintf(op->username, sizeof op->username, "%s", auth.username);
    const subscriber_t *sub = sub_find_by_identity(op->snap, auth.username);
    digest_result_t r = sub && sub->has_kms_key ? verify(op, req, &auth, sub) : DIGEST_BAD_RESPONSE;
    switch (r) {
    case DIGEST_OK:
        op->user = sub;
        return 0;
    case DIGEST_STALE:
        challenge(op, req, 1, KMS_CAUSE_NONCE_STALE, "auth_stale_nonce");
        return -1;
    case DIGEST_REPLAY:
        challenge(op, req, 0, KMS_CAUSE_NONCE_REPLAYED, "auth_replayed_nonce");
        return -1;
    case DIGEST_BAD_RESPONSE:
        challenge(op, req, 0, KMS_CAUSE_AUTH_FAILED, sub ? "auth_bad_response" : "auth_unknown_user");
        return -1;
    case DIGEST_MALFORMED:
        refuse_malformed_auth(op, req);
        return -1;
    case DIGEST_INTERNAL:
        break;
    }
    refuse(op, req, 500, SBI_CAUSE_SYSTEM_FAILURE, "auth_internal", "authentication failed internally");
    return -1;
}

/* ---- 2. the body {callId, caller, callee} (kms_body.c) ---------------------------------------------------- */

/* Returns 0, or -1 when it answered 400. */
static int read_fields(op_t *op, sbi_request_t *req, kms_body_t *b)
{
    const sbi_flat_json_t *flat = sbi_request_flat(req);
    kms_body_result_t r = kms_body_read(flat, flat ? NULL : sbi_request_json(req), b);
    if (r == KMS_BODY_OK)
        return 0;
    if (r == KMS_BODY_NOT_OBJECT) {
        refuse(op, req, 400, SBI_CAUSE_INVALID_MSG_FORMAT, "bad_body", "the body must be a JSON object");
        return -1;
    }
    audit(op, "refused", b->n_missing ? "missing_field" : "bad_field");
    sbi_problem_t p = {.status = 400,
                       .cause = b->n_missing ? SBI_CAUSE_MANDATORY_IE_MISSING : SBI_CAUSE_MANDATORY_IE_INCORRECT,
                       .detail = "the body needs callId, caller and callee",
                       .invalid_params = b->bad,
                       .n_invalid_params = b->n_bad};
    sbi_respond_problem(req, &p);
    return -1;
}

static int parse_body(op_t *op, sbi_request_t *req)
{
    kms_body_t b;
    if (read_fields(op, req, &b) != 0)
        return -1;
    snprintf(op->call_id, sizeof op->call_id, "%s", b.call_id.value);
    op->caller = sub_find_by_identity(op->snap, b.caller.value);
    op->callee = sub_find_by_identity(op->snap, b.callee.value);
    if (!op->caller || !op->callee) {
        refuse(op, req, 403, KMS_CAUSE_CALL_NOT_AUTHORIZED, "unknown_party", "caller or callee is not a subscriber");
        return -1;
    }
    return 0;
}

/* ---- 3. local checks ------------------------------------------------------------------------------------- */

static int check_issue(op_t *op, sbi_request_t *req)
{
    if (kms_same_subscriber(op->user, op->caller))
        return 0;
    refuse(op, req, 403, KMS_CAUSE_CALL_NOT_AUTHORIZED, "requester_not_caller",
           "only the caller of the call may ask for its key");
    return -1;
}

static void count_refusal(kms_api_t *api, int which)
{
    if (api->m_refused[which])
        metric_inc(api->m_refused[which]);
}

/* Answers the refusal a key table result calls for. */
static void refuse_keys(op_t *op, sbi_request_t *req, kms_keys_result_t r)
{
    const char *reason = kms_keys_result_str(r);
    switch (r) {
    case KMS_KEYS_NOT_FOUND:
        refuse(op, req, 404, KMS_CAUSE_KEY_NOT_FOUND, reason, "no such key, or it expired");
        return;
    case KMS_KEYS_WRONG_USER:
        refuse(op, req, 403, KMS_CAUSE_CALL_NOT_AUTHORIZED, reason, "the requester is not entitled to this key");
        return;
    case KMS_KEYS_ALREADY:
        refuse(op, req, 410, KMS_CAUSE_KEY_ALREADY_RETRIEVED, reason, "the key was already retrieved");
        return;
    case KMS_KEYS_FULL:
        count_refusal(op->api, 0);
        refuse(op, req, 503, KMS_CAUSE_INSUFFICIENT_RESOURCES, reason, "key table full");
        return;
    case KMS_KEYS_CALL_LIMIT:
        count_refusal(op->api, 1);
        refuse(op, req, 429, KMS_CAUSE_KEYS_PER_CALL, reason,
               "this call already holds max_keys_per_call live keys; delete one or let it expire");
        return;
    case KMS_KEYS_USER_LIMIT:
        count_refusal(op->api, 2);
        refuse(op, req, 429, KMS_CAUSE_KEYS_PER_REQUESTER, reason,
               "this caller already holds max_keys_per_requester live keys; delete some or let them expire");
        return;
    case KMS_KEYS_OK:
    case KMS_KEYS_ERROR:
        break;
    }
    refuse(op, req, 500, SBI_CAUSE_SYSTEM_FAILURE, reason, "key table error");
}

static int check_retrieve(op_t *op, sbi_request_t *req)
{
    kms_keys_result_t r = kms_keys_check_release(op->api->keys, op->key_id, op->user->imsi);
    if (r != KMS_KEYS_OK) {
        refuse_keys(op, req, r);
        return -1;
    }
    const kms_key_t *k = kms_keys_find(op->api->keys, op->key_id);
    bool same_call = kms_ct_equal(k->call_id, strlen(k->call_id), op->call_id, strlen(op->call_id)) == 1;
    if (same_call && kms_same_subscriber(op->user, op->callee) && strcmp(k->caller_imsi, op->caller->imsi) == 0 &&
        strcmp(k->callee_imsi, op->callee->imsi) == 0)
        return 0;
    refuse(op, req, 403, KMS_CAUSE_CALL_NOT_AUTHORIZED, "call_mismatch",
           "callId, caller or callee differ from the key's call");
    return -1;
}

/* ---- 5. answers ------------------------------------------------------------------------------------------ */

/* 201 or 200 with {keyId, wrappedKey, expiresAt}: `key` wrapped under `owner`'s kms_key and the callId. */
static void answer_key(op_t *op, sbi_request_t *req, int status, const kms_key_t *k, const uint8_t *key,
                       const subscriber_t *owner)
{
    char wrapped[KMS_WRAPPED_SESSION_KEY_B64_LEN + 1], when[KMS_TIME_MAX], body[BODY_MAX], location[LOCATION_MAX];
    if (kms_crypto_wrap_b64(op->api->crypto, owner->kms_key, op->call_id, strlen(op->call_id), key, wrapped,
                            sizeof wrapped)) {
        refuse(op, req, 500, SBI_CAUSE_SYSTEM_FAILURE, "wrap_failed", "key wrap failed");
        return;
    }
    kms_format_time_ms(&op->api->expiry_clock, k->expires_unix_ms, when); /* expiresAt (TS 29.571 DateTime) */
    int len = snprintf(body, sizeof body, "{\"keyId\":\"%s\",\"wrappedKey\":\"%s\",\"expiresAt\":\"%s\"}", k->key_id,
                       wrapped, when);
    const char *authority = sbi_request_authority(req);
    if (authority && strlen(authority) < SBI_HOST_MAX)
        snprintf(location, sizeof location, "%s://%s%s/%s", sbi_server_is_tls(op->api->srv) ? "https" : "http",
                 authority, PATH_KEYS, k->key_id);
    else
        snprintf(location, sizeof location, "%s/%s", PATH_KEYS, k->key_id);
    sbi_header_t h[] = {{"content-type", SBI_CT_JSON}, {"location", location}};
    audit(op, "granted", NULL);
    sbi_respond_ex(req, status, h, status == 201 ? 2 : 1, body, (size_t)len);
}

static void finish_issue(op_t *op, sbi_request_t *req)
{
    const kms_key_t *k = NULL;
    kms_keys_result_t r = kms_keys_issue(op->api->keys, op->call_id, op->caller->imsi, op->callee->imsi, &k);
    if (r != KMS_KEYS_OK) {
        refuse_keys(op, req, r);
        return;
    }
    snprintf(op->key_id, sizeof op->key_id, "%s", k->key_id);
    answer_key(op, req, 201, k, k->key, op->caller);
}

static void finish_retrieve(op_t *op, sbi_request_t *req)
{
    uint8_t key[KMS_KEY_LEN];
    kms_keys_result_t r = kms_keys_release(op->api->keys, op->key_id, op->user->imsi, key);
    if (r != KMS_KEYS_OK) {
        refuse_keys(op, req, r);
        return;
    }
    answer_key(op, req, 200, kms_keys_find(op->api->keys, op->key_id), key, op->callee);
    kms_cleanse(key, sizeof key);
}

/* ---- 4. the AS check (kms_as_path.c) --------------------------------------------------------------------- */

/* The AS's verdict: go on with the operation, or refuse it; the client may have gone meanwhile. */
static void on_as_verdict(const char *why, void *ud)
{
    op_t *op = ud;
    kms_api_t *api = op->api;
    pending_remove(api, op);
    sbi_request_t *req = sbi_server_find(api->srv, op->handle);
    if (!req)
        audit(op, "refused", "client_gone");
    else if (why)
        refuse(op, req, 403, KMS_CAUSE_CALL_NOT_AUTHORIZED, why, "the AS does not confirm this call");
    else if (op->kind == OP_ISSUE)
        finish_issue(op, req);
    else
        finish_retrieve(op, req);
    op_free(op);
}

/* Starts the AS check; the operation then belongs to the pending list until on_as_verdict. */
static void start_as_check(op_t *op, sbi_request_t *req)
{
    op->check = (kms_as_check_t){.snap = op->snap,
                                 .call_id = op->call_id,
                                 .caller = op->caller,
                                 .callee = op->callee,
                                 .done = on_as_verdict,
                                 .ud = op};
    if (kms_as_path_start(op->api->as_path, &op->check) != 0) {
        refuse(op, req, 403, KMS_CAUSE_CALL_NOT_AUTHORIZED, "as_request_failed", "the AS cannot be asked");
        op_free(op);
        return;
    }
    pending_add(op->api, op);
}

/* ---- handlers -------------------------------------------------------------------------------------------- */

static void handle(kms_api_t *api, sbi_request_t *req, op_kind_t kind)
{
    op_t *op = op_new(api, req, kind);
    if (!op) {
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "out of memory");
        return;
    }
    if (authenticate(op, req) != 0 || parse_body(op, req) != 0 ||
        (kind == OP_ISSUE ? check_issue(op, req) : check_retrieve(op, req)) != 0) {
        op_free(op);
        return;
    }
    start_as_check(op, req);
}

static void on_issue(sbi_request_t *req, void *ud)
{
    handle(ud, req, OP_ISSUE);
}
static void on_retrieve(sbi_request_t *req, void *ud)
{
    handle(ud, req, OP_RETRIEVE);
}

static void on_delete(sbi_request_t *req, void *ud)
{
    kms_api_t *api = ud;
    op_t *op = op_new(api, req, OP_DELETE);
    if (!op) {
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "out of memory");
        return;
    }
    if (authenticate(op, req) == 0) {
        const kms_key_t *k = kms_keys_find(api->keys, op->key_id);
        if (k)
            snprintf(op->call_id, sizeof op->call_id, "%s", k->call_id);
        kms_keys_result_t r = kms_keys_delete(api->keys, op->key_id, op->user->imsi);
        if (r == KMS_KEYS_OK) {
            audit(op, "granted", NULL);
            sbi_respond(req, 204, NULL, NULL, 0);
        } else {
            refuse_keys(op, req, r);
        }
    }
    op_free(op);
}

/* GET /metrics: the listener's and the key table's counters (Prometheus text). */
static void on_metrics(sbi_request_t *req, void *ud)
{
    kms_api_t *api = ud;
    char *text = metrics_render(api->metrics);
    if (!text) {
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "out of memory");
        return;
    }
    sbi_respond(req, 200, "text/plain; version=0.0.4", text, strlen(text));
    free(text);
}

/* ---- lifetime -------------------------------------------------------------------------------------------- */

kms_api_t *kms_api_new(sbi_server_t *srv, const kms_api_cfg_t *cfg)
{
    kms_api_t *api = calloc(1, sizeof *api);
    if (!api)
        return NULL;
    *api = (kms_api_t){.srv = srv,
                       .store = cfg->store,
                       .keys = cfg->keys,
                       .audit = cfg->audit,
                       .as_path = kms_as_path_new(cfg->as_client, cfg->as_url, cfg->as_timeout_ms, cfg->as_token),
                       .metrics = cfg->metrics};
    if (cfg->metrics) {
        static const char help[] = "key issues refused by the key table's bounds";
        api->m_refused[0] =
            metrics_counter(cfg->metrics, "mihua_kms_keys_refused_total", "reason=\"table_full\"", help);
        api->m_refused[1] = metrics_counter(cfg->metrics, "mihua_kms_keys_refused_total", "reason=\"per_call\"", help);
        api->m_refused[2] =
            metrics_counter(cfg->metrics, "mihua_kms_keys_refused_total", "reason=\"per_requester\"", help);
    }
    if (cfg->metrics && cfg->metrics_auth)
        api->metrics_auth = sbi_auth_attach(srv, cfg->metrics_auth, cfg->metrics, "kms", "/metrics");
    digest_server_cfg_t dc = {.realm = KMS_DIGEST_REALM, .nonce_lifetime_s = cfg->nonce_lifetime_s};
    api->digest = digest_server_new(&dc);
    api->crypto = kms_crypto_new();
    if (!api->as_path || !api->digest || (cfg->metrics && cfg->metrics_auth && !api->metrics_auth) || !api->crypto ||
        sbi_server_route(srv, "POST", PATH_KEYS, on_issue, api) != 0 ||
        sbi_server_route(srv, "POST", PATH_KEYS "/{keyId}/retrieve", on_retrieve, api) != 0 ||
        sbi_server_route(srv, "DELETE", PATH_KEYS "/{keyId}", on_delete, api) != 0 ||
        (api->metrics && sbi_server_route(srv, "GET", "/metrics", on_metrics, api) != 0)) {
        kms_api_free(api);
        return NULL;
    }
    return api;
}

void kms_api_free(kms_api_t *api)
{
    if (!api)
        return;
    while (api->pending) {
        op_t *op = api->pending;
        pending_remove(api, op);
        kms_as_path_cancel(&op->check);
        op_free(op);
    }
    digest_server_free(api->digest);
    kms_crypto_free(api->crypto);
    kms_as_path_free(api->as_path);
    sbi_auth_free(api->metrics_auth);
    free(api);
}
