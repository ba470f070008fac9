/*
 * kms_client — UE side of the KMS API (DESIGN §4) on lib/sbi's HTTP/2 client. See kms_client.h.
 *
 * Digest state (RFC 7616 §3.4): the last challenge adopted and the nc last used with its nonce. Every request
 * takes the next nc at submission, and requests on one connection reach the server in submission order, so nc
 * grows as the server requires. The first request of a client goes without Authorization and learns the
 * challenge from the 401 (one extra round trip per client lifetime, not per call). A 401 carrying a new
 * challenge — stale=true, a replay refused after reordering, or a nonce evicted by the server — is adopted and
 * the request resent; KMS_CLIENT_MAX_AUTH_ROUNDS bounds the loop against a server that always refuses.
 *
 * Bodies: the request body is printed directly when its values need no escaping, and a key answer is read
 * without jansson when it is a flat object (sbi_flat_json); anything else goes through jansson, with the same
 * result either way (a UE does this once per call; the benchmark client thousands of times a second).
 *
 * Trade-off: nonces are per client (per identity), not per connection; the KMS's nonce table is global, so the
 * nonce survives a reconnect, which only saves a round trip.
 *
 * A restarted KMS: lib/sbi never hands a request to a pooled connection the peer has closed, so the next issue or
 * retrieve opens a fresh one (the new KMS's 401 for the old nonce costs one round). Issue and retrieve are POSTs: one
 * lost in flight is reported as TRANSPORT, never resent (a second key for the call, or a retrieve that counts as
 * done); only DELETE, idempotent, is retried by lib/sbi.
 */
#include "kms_client.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms/http_digest.h"
#include "sbi/sbi_flat_json.h"
#include "sbi/sbi_problem.h"

#define URL_CAP SBI_CLIENT_URL_MAX
#define AUTH_CAP 1024 /* username (an IMPU), realm, nonce, uri, cnonce, response, opaque: well under 1 KiB */
#define BODY_CAP 768  /* {"callId","caller","callee"} with bounded values, escaped by jansson */
#define PATH_KEYS "/kms/v1/session-keys"

typedef enum { REQ_ISSUE, REQ_RETRIEVE, REQ_DELETE, REQ_PRIME } req_kind_t;

typedef struct creq {
    kms_client_t *c;
    req_kind_t kind;
    char url[URL_CAP];
    const char *path; /* into url: the Digest uri */
    char *body;       /* JSON text (body_buf, or jansson's when it needed escaping) or NULL (delete, prime) */
    char body_buf[BODY_CAP];
    char call_id[KMS_CLIENT_CALL_ID_MAX + 1];
    unsigned rounds;
    uint64_t id; /* the sbi_client request in flight */
    uint64_t elapsed_us;
    kms_client_cb cb;
    void *ud;
    struct creq *prev, *next;
} creq_t;

struct kms_client {
    sbi_client_t *sbi;
    char *base_url;
    char *username;
    uint8_t kms_key[KMS_KEY_LEN];
    kms_crypto_t *crypto;         /* fetched HMAC / wrap cipher, reused by every unwrap */
    digest_hasher_t *hasher;      /* fetched SHA-256, reused by every Authorization */
    digest_cnonce_pool_t cnonces; /* one RAND_bytes per DIGEST_CNONCE_POOL requests */
    unsigned timeout_ms;
    digest_challenge_t ch;
    int have_challenge;
    uint32_t nc;
    unsigned challenges;
    creq_t *inflight;
};

static int send_req(creq_t *r);

/* ---- lifetime ----------------------------------------------------------------------------------------------- */

kms_client_t *kms_client_new(sbi_client_t *sbi, const kms_client_cfg_t *cfg)
{
    if (!sbi || !cfg || !cfg->base_url || !cfg->username || !cfg->kms_key ||
        strlen(cfg->username) > DIGEST_MAX_USERNAME_LEN)
        return NULL;
    kms_client_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->sbi = sbi;
    c->base_url = strdup(cfg->base_url);
    c->username = strdup(cfg->username);
    memcpy(c->kms_key, cfg->kms_key, KMS_KEY_LEN);
    c->timeout_ms = cfg->timeout_ms;
    c->crypto = kms_crypto_new();
    c->hasher = digest_hasher_new();
    if (!c->base_url || !c->username || !c->crypto || !c->hasher) {
        kms_client_free(c);
        return NULL;
    }
    size_t len = strlen(c->base_url);
    while (len > 0 && c->base_url[len - 1] == '/')
        c->base_url[--len] = '\0';
    return c;
}

static void unlink_req(creq_t *r)
{
    kms_client_t *c = r->c;
    if (r->prev)
        r->prev->next = r->next;
    else
        c->inflight = r->next;
    if (r->next)
        r->next->prev = r->prev;
}

static void creq_free(creq_t *r)
{
    if (r->body != r->body_buf)
        free(r->body);
    free(r);
}

void kms_client_free(kms_client_t *c)
{
    if (!c)
        return;
    while (c->inflight) {
        creq_t *r = c->inflight;
        unlink_req(r);
        sbi_client_cancel(c->sbi, r->id);
        creq_free(r);
    }
    kms_cleanse(c->kms_key, sizeof c->kms_key);
    digest_cnonce_pool_clear(&c->cnonces);
    kms_crypto_free(c->crypto);
    digest_hasher_free(c->hasher);
    free(c->base_url);
    free(c->username);
    free(c);
}

unsigned kms_client_challenges(const kms_client_t *c)
{
    return c ? c->challenges : 0;
}

/* ---- answers ------------------------------------------------------------------------------------------------ */

static void complete(creq_t *r, kms_client_result_t *res)
{
    unlink_req(r);
    res->auth_rounds = r->rounds;
    res->elapsed_us = r->elapsed_us;
    r->cb(res, r->ud);
    kms_cleanse(res->session_key, sizeof res->session_key);
    creq_free(r);
}

static void read_cause(const sbi_client_response_t *resp, kms_client_result_t *res)
{
    json_t *j = json_loadb(resp->body, resp->body_len, 0, NULL);
    const char *cause = json_string_value(json_object_get(j, "cause"));
    if (cause)
        snprintf(res->cause, sizeof res->cause, "%s", cause);
    json_decref(j);
}

/* The three fields of a key answer; NULL when absent or not a string. */
typedef struct {
    const char *key_id, *wrapped, *expires;
} key_fields_t;

/* Copies of a flat answer's strings: every honest value fits (22, 54 and ~24 characters). */
typedef struct {
    char key_id[KMS_KEY_ID_LEN + 1], wrapped[KMS_WRAPPED_SESSION_KEY_B64_LEN + 1], expires[KMS_CLIENT_TIME_MAX];
} key_strings_t;

/* The fields from a flat body (no jansson). false when the body is not flat, or a field is a string too long for
 * its copy: the caller then reads it with jansson, which judges it by the same rules. */
static bool flat_key_fields(const sbi_client_response_t *resp, key_strings_t *buf, key_fields_t *f)
{
    sbi_flat_json_t j;
    if (!sbi_flat_json_parse(resp->body, resp->body_len, &j))
        return false;
    const char *names[] = {"keyId", "wrappedKey", "expiresAt"};
    char *bufs[] = {buf->key_id, buf->wrapped, buf->expires};
    size_t caps[] = {sizeof buf->key_id, sizeof buf->wrapped, sizeof buf->expires};
    const char **out[] = {&f->key_id, &f->wrapped, &f->expires};
    for (size_t i = 0; i < 3; i++) {
        const sbi_flat_member_t *m = sbi_flat_json_get(&j, names[i]);
        *out[i] = NULL;
        if (!m || m->type != SBI_FLAT_STRING)
            continue;
        if (!sbi_flat_json_string(&j, names[i], bufs[i], caps[i]))
            return false;
        *out[i] = bufs[i];
    }
    return true;
}

/* Fills key_id, expires_at and the unwrapped session key from a 201/200 body. */
static kms_client_status_t read_key(const creq_t *r, const sbi_client_response_t *resp, kms_client_result_t *res)
{
    key_strings_t buf;
    key_fields_t f = {0};
    json_t *j = NULL;
    if (!flat_key_fields(resp, &buf, &f)) {
        j = json_loadb(resp->body, resp->body_len, 0, NULL);
        f = (key_fields_t){json_string_value(json_object_get(j, "keyId")),
                           json_string_value(json_object_get(j, "wrappedKey")),
                           json_string_value(json_object_get(j, "expiresAt"))};
    }
    const char *key_id = f.key_id, *wrapped = f.wrapped, *expires = f.expires;
    kms_client_status_t st = KMS_CLIENT_BAD_ANSWER;
    if (key_id && wrapped && expires && strlen(key_id) == KMS_KEY_ID_LEN &&
        kms_crypto_unwrap_b64(r->c->crypto, r->c->kms_key, r->call_id, strlen(r->call_id), wrapped, strlen(wrapped),
                              res->session_key) == 0) {
        memcpy(res->key_id, key_id, KMS_KEY_ID_LEN + 1);
        snprintf(res->expires_at, sizeof res->expires_at, "%s", expires);
        st = KMS_CLIENT_OK;
    }
    kms_cleanse(buf.wrapped, sizeof buf.wrapped);
    json_decref(j);
    return st;
}

/* A 401 with a usable challenge: adopt it and resend. Returns 0 when resent. */
static int answer_challenge(creq_t *r, const sbi_client_response_t *resp)
{
    const char *www = sbi_client_response_header(resp, "www-authenticate");
    kms_client_t *c = r->c;
    digest_challenge_t ch;
    if (r->rounds >= KMS_CLIENT_MAX_AUTH_ROUNDS || !www || digest_parse_challenge(www, strlen(www), &ch) != 0)
        return -1;
    c->ch = ch;
    c->have_challenge = 1;
    c->nc = 0;
    c->challenges++;
    r->rounds++;
    return send_req(r);
}

static void on_response(const sbi_client_response_t *resp, void *ud)
{
    creq_t *r = ud;
    kms_client_result_t res = {0};
    r->elapsed_us += resp->elapsed_us;
    if (resp->error != SBI_CLIENT_OK) {
        res.status = KMS_CLIENT_TRANSPORT;
        res.transport = resp->error;
        complete(r, &res);
        return;
    }
    if (r->kind == REQ_PRIME) { /* the 401 is the answer wanted: adopt its challenge, resend nothing */
        const char *www = sbi_client_response_header(resp, "www-authenticate");
        res.http_status = resp->status;
        res.status = KMS_CLIENT_REFUSED;
        if (resp->status == 401 && www && digest_parse_challenge(www, strlen(www), &r->c->ch) == 0) {
            r->c->have_challenge = 1;
            r->c->nc = 0;
            r->c->challenges++;
            res.status = KMS_CLIENT_OK;
        }
        complete(r, &res);
        return;
    }
    if (resp->status == 401 && answer_challenge(r, resp) == 0)
        return;
    res.http_status = resp->status;
    int want = r->kind == REQ_ISSUE ? 201 : r->kind == REQ_RETRIEVE ? 200 : 204;
    if (resp->status != want) {
        res.status = KMS_CLIENT_REFUSED;
        read_cause(resp, &res);
    } else {
        res.status = r->kind == REQ_DELETE ? KMS_CLIENT_OK : read_key(r, resp, &res);
    }
    complete(r, &res);
}

/* ---- requests ----------------------------------------------------------------------------------------------- */

static int build_auth(creq_t *r, const char *method, char *buf, size_t cap)
{
    kms_client_t *c = r->c;
    char password[KMS_DIGEST_PASSWORD_LEN + 1], cnonce[DIGEST_CNONCE_LEN + 1];
    if (digest_cnonce_next(&c->cnonces, cnonce) != 0)
        return -1;
    kms_digest_password(c->kms_key, password);
    int n = digest_build_authorization_h(c->hasher, &c->ch, c->username, password, method, r->path, cnonce, ++c->nc,
                                         buf, cap);
    kms_cleanse(password, sizeof password);
    return n < 0 ? -1 : 0;
}

/* Submits (or resubmits) r; it is in c->inflight already. Returns 0, or -1 when refused outright. */
static int send_req(creq_t *r)
{
    kms_client_t *c = r->c;
    const char *method = r->kind == REQ_DELETE ? "DELETE" : "POST";
    char auth[AUTH_CAP];
    sbi_header_t h = {"authorization", auth};
    sbi_client_req_t q = {.method = method,
                          .url = r->url,
                          .timeout_ms = c->timeout_ms,
                          .content_type = r->body ? SBI_CT_JSON : NULL,
                          .body = r->body,
                          .body_len = r->body ? strlen(r->body) : 0};
    if (c->have_challenge && r->kind != REQ_PRIME) {
        if (build_auth(r, method, auth, sizeof auth) != 0)
            return -1;
        q.headers = &h;
        q.n_headers = 1;
    }
    r->id = sbi_client_request(c->sbi, &q, on_response, r);
    return r->id ? 0 : -1;
}

/* Printable ASCII without '"' and '\\': JSON string content as it is. */
static bool plain(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 || (unsigned char)*v > 0x7e || *v == '"' || *v == '\\')
            return false;
    return true;
}

/* The request body; printed into r->body_buf when nothing needs escaping (the same bytes as jansson's compact
 * form), else rendered by jansson (freed with the request). */
static char *body_json(creq_t *r, const char *call_id, const char *caller, const char *callee)
{
    if (plain(call_id) && plain(caller) && plain(callee)) {
        int n = snprintf(r->body_buf, sizeof r->body_buf, "{\"callId\":\"%s\",\"caller\":\"%s\",\"callee\":\"%s\"}",
                         call_id, caller, callee);
        if (n > 0 && (size_t)n < sizeof r->body_buf)
            return r->body_buf;
    }
    json_t *o = json_pack("{s:s, s:s, s:s}", "callId", call_id, "caller", caller, "callee", callee);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return text;
}

static int submit(kms_client_t *c, req_kind_t kind, const char *key_id, const char *call_id, const char *caller,
                  const char *callee, kms_client_cb cb, void *ud)
{
    if (!c || !cb || (kind != REQ_ISSUE && kind != REQ_PRIME && (!key_id || strlen(key_id) != KMS_KEY_ID_LEN)))
        return -1;
    if (kind != REQ_DELETE && kind != REQ_PRIME &&
        (!call_id || !caller || !callee || !*call_id || strlen(call_id) > KMS_CLIENT_CALL_ID_MAX ||
         strlen(caller) > KMS_CLIENT_IDENTITY_MAX || strlen(callee) > KMS_CLIENT_IDENTITY_MAX))
        return -1;
    creq_t *r = malloc(sizeof *r); /* ~3.5 KiB of buffers: filled below, not cleared (calloc bypasses the cache) */
    if (!r)
        return -1;
    r->c = c;
    r->kind = kind;
    r->body = NULL;
    r->call_id[0] = '\0';
    r->rounds = 0;
    r->id = 0;
    r->elapsed_us = 0;
    r->cb = cb;
    r->ud = ud;
    r->prev = r->next = NULL;
    int base = snprintf(r->url, sizeof r->url, "%s", c->base_url);
    int n = kind == REQ_ISSUE || kind == REQ_PRIME ? snprintf(r->url + base, sizeof r->url - base, PATH_KEYS)
            : kind == REQ_RETRIEVE ? snprintf(r->url + base, sizeof r->url - base, PATH_KEYS "/%s/retrieve", key_id)
                                   : snprintf(r->url + base, sizeof r->url - base, PATH_KEYS "/%s", key_id);
    r->path = r->url + base;
    if (kind == REQ_ISSUE || kind == REQ_RETRIEVE) { /* a prime sends no body: the KMS authenticates first */
        snprintf(r->call_id, sizeof r->call_id, "%s", call_id);
        r->body = body_json(r, call_id, caller, callee);
    }
    if (base < 0 || n < 0 || (size_t)(base + n) >= sizeof r->url ||
        ((kind == REQ_ISSUE || kind == REQ_RETRIEVE) && !r->body)) {
        creq_free(r);
        return -1;
    }
    r->next = c->inflight;
    if (c->inflight)
        c->inflight->prev = r;
    c->inflight = r;
    if (send_req(r) != 0) {
        unlink_req(r);
        creq_free(r);
        return -1;
    }
    return 0;
}

int kms_client_issue(kms_client_t *c, const char *call_id, const char *caller, const char *callee, kms_client_cb cb,
                     void *ud)
{
    return submit(c, REQ_ISSUE, NULL, call_id, caller, callee, cb, ud);
}

int kms_client_retrieve(kms_client_t *c, const char *key_id, const char *call_id, const char *caller,
                        const char *callee, kms_client_cb cb, void *ud)
{
    return submit(c, REQ_RETRIEVE, key_id, call_id, caller, callee, cb, ud);
}

int kms_client_prime(kms_client_t *c, kms_client_cb cb, void *ud)
{
    return submit(c, REQ_PRIME, NULL, NULL, NULL, NULL, cb, ud);
}

int kms_client_delete(kms_client_t *c, const char *key_id, kms_client_cb cb, void *ud)
{
    return submit(c, REQ_DELETE, key_id, NULL, NULL, NULL, cb, ud);
}

const char *kms_client_status_str(kms_client_status_t s)
{
    switch (s) {
    case KMS_CLIENT_OK:
        return "ok";
    case KMS_CLIENT_REFUSED:
        return "refused";
    case KMS_CLIENT_TRANSPORT:
        return "transport";
    case KMS_CLIENT_BAD_ANSWER:
        break;
    }
    return "bad_answer";
}
