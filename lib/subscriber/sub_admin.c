/*
 * sub_admin — the simulators' admin API (DESIGN §5). See sub_admin.h for the resources.
 *
 * Every write is one small transaction in the shared store (sub_db): PUT validates the body with the file
 * loader's own rules (a one-subscriber document) and sub_db_put checks the cross-subscriber rules against the
 * stored rows; PATCH reads, merges (RFC 7396), validates and writes inside one transaction, so two simulators
 * patching the same subscriber lose neither change. Nothing is rewritten but the rows of that subscriber: the cost
 * of a write no longer grows with the data set. The other daemons see the change at their refresher's next tick
 * (sub_store.h); this daemon refreshes at once while the data set is small (SUB_ADMIN_SYNC_REFRESH_MAX), so its
 * own protocol side serves the change with the answer, and leaves larger sets to the refresher so that a write
 * stays milliseconds.
 *
 * Export: GET /admin/v1/subscribers writes the document row by row from the store (no tree of the whole data set);
 * with `limit` it answers one page, in IMSI order, and a `link: <...&cursor=LAST>; rel="next"` header (RFC 8288)
 * while more may follow. Each page, like the whole, is an importable document.
 * Import: POST /admin/v1/subscribers:import takes a DESIGN §5 document, validates it whole (file:line:column of the
 * first error, named "import"), and applies it in one transaction: `mode=merge` (default) creates or replaces the
 * subscribers it names, checking them against the rest of the store; `mode=replace` makes it the whole data set.
 * With content-type application/x-ndjson the body is one subscriber per line instead, wrapped into a document that
 * keeps its line numbers (sub_ndjson.h), so errors name the body's own lines.
 *
 * `kms_key` and `sip_password` are write-only: accepted in PUT, PATCH and imports, never sent back (the UE's
 * shared secrets with the KMS and the registrar have no business in an operator's terminal scroll-back or a proxy log); an export through this API therefore
 * carries no keys (mihua-subscribers export, run on the machine, does).
 *
 * Validation errors come back as "subscribers[K].field"; for the subscriber being written that is turned into a
 * JSON pointer into the request body ("/access/rat").
 */
#include "subscriber/sub_admin.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "subscriber/sub_ndjson.h"

#define ADMIN_BASE "/admin/v1/subscribers"
#define ADMIN_POINTER_MAX 160 /* a JSON pointer made from a SUB_ERR_FIELD_MAX field, plus "/subscribers/N" */
#define ADMIN_CAUSE_FILE_INVALID "SUBSCRIBER_FILE_INVALID"
#define ADMIN_CAUSE_BUSY "NF_CONGESTION"    /* TS 29.500 Table 5.2.7.2-1, with 503 */
#define ADMIN_IMPORT_NAME "import"          /* stands for the file name in an import's error positions */
#define ADMIN_NDJSON "application/x-ndjson" /* an import of one subscriber per line */
#define ADMIN_PAGE_MAX 100000               /* one page of an export: about 25 MB of JSON */
#define ADMIN_PAGE_MAX_TEXT "100000"
#define ADMIN_EXPORT_CHUNK 65536 /* first allocation of an export body; it doubles as it grows */
#define ADMIN_IMSI_PREFIX "imsi-"

struct sub_admin {
    sub_store_t *store;
    const metrics_t *metrics;
    sub_admin_change_fn on_change;
    void *ud;
};

/* ---------------------------------------------------------------- helpers */

static bool imsi_valid(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n < SUB_IMSI_MIN || n > SUB_IMSI_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* The {imsi} capture, or NULL after answering 400. */
static const char *path_imsi(sbi_request_t *req)
{
    const char *imsi = sbi_request_capture(req, "imsi");
    sbi_invalid_param_t bad = {.param = "imsi", .reason = "must be 5 to 15 digits"};
    sbi_problem_t p = {.status = 400,
                       .detail = "the IMSI in the path is not an IMSI",
                       .cause = SBI_CAUSE_MANDATORY_IE_INCORRECT,
                       .invalid_params = &bad,
                       .n_invalid_params = 1};

    if (imsi_valid(imsi))
        return imsi;
    sbi_respond_problem(req, &p);
    return NULL;
}

/* "subscribers[K].access.rat" → "/access/rat" when K == self, else "/subscribers/K/access/rat". */
static void field_to_pointer(const char *field, long self, char *out, size_t size)
{
    char *end;
    long k;
    size_t used = 0;

    if (strncmp(field, "subscribers[", 12) != 0) {
        snprintf(out, size, "/%s", field);
        return;
    }
    k = strtol(field + 12, &end, 10);
    if (*end != ']') {
        snprintf(out, size, "/%s", field);
        return;
    }
    if (k != self)
        used = (size_t)snprintf(out, size, "/subscribers/%ld", k);
    if (used >= size)
        return;
    out[used] = '\0';
    for (const char *p = end + 1; *p != '\0' && used + 1 < size; p++) {
        if (*p == '.' || *p == '[')
            out[used++] = '/';
        else if (*p != ']')
            out[used++] = *p;
    }
    out[used] = '\0';
    if (used == 0)
        snprintf(out, size, "/");
}

/* Removes the write-only secrets from a subscriber object. */
static void redact(json_t *sub)
{
    json_object_del(sub, "kms_key");
    json_object_del(sub, "sip_password");
}

static void changed(sub_admin_t *a, const char *what, const char *imsi)
{
    sub_error_t err;
    sub_snapshot_t *snap = sub_store_acquire(a->store);
    size_t n = sub_snapshot_count(snap);

    sub_snapshot_release(snap);
    if (n <= SUB_ADMIN_SYNC_REFRESH_MAX && sub_store_refresh(a->store, &err) != 0)
        log_error("admin", "refresh after a write failed (the refresher will retry): %s", err.msg);
    log_info("admin", "%s %s (generation %lu)", what, imsi, sub_store_generation(a->store));
    if (a->on_change != NULL)
        a->on_change(a->ud);
}

/* Answers a store error: 400 with the field as a JSON pointer, 404, 503 while another writer holds the store, or
 * 500. */
static void respond_db_error(sbi_request_t *req, sub_db_rc_t rc, const sub_error_t *err, const char *imsi)
{
    char pointer[ADMIN_POINTER_MAX];

    if (rc == SUB_DB_NOT_FOUND) {
        sbi_respond_error(req, 404, SBI_CAUSE_USER_NOT_FOUND, "no subscriber with IMSI %s", imsi);
        return;
    }
    if (rc == SUB_DB_BUSY) {
        log_warn("admin", "subscriber store busy, write refused: %s", err->msg);
        sbi_respond_error(req, 503, ADMIN_CAUSE_BUSY,
                          "another writer holds the subscriber store (a bulk import?): "
                          "%s; nothing changed, try again",
                          err->msg);
        return;
    }
    if (rc != SUB_DB_INVALID || err->field[0] == '\0') {
        log_error("admin", "subscriber store: %s", err->msg);
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "%s", err->msg);
        return;
    }
    field_to_pointer(err->field, 0, pointer, sizeof pointer);
    sbi_invalid_param_t bad = {.param = pointer, .reason = err->reason};
    sbi_problem_t p = {.status = 400,
                       .detail = err->reason,
                       .cause = SBI_CAUSE_MANDATORY_IE_INCORRECT,
                       .invalid_params = &bad,
                       .n_invalid_params = 1};
    log_info("admin", "rejected: %s %s: %s", pointer, err->reason, sbi_request_path(req));
    sbi_respond_problem(req, &p);
}

static void respond_sub(sbi_request_t *req, const subscriber_t *sub, int status, bool location)
{
    json_t *body = sub_to_json(sub);
    char loc[sizeof ADMIN_BASE + SUB_IMSI_MAX + 2];

    if (body == NULL) {
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "out of memory");
        return;
    }
    redact(body);
    if (location) {
        char *text = json_dumps(body, JSON_COMPACT);
        snprintf(loc, sizeof loc, ADMIN_BASE "/%s", sub->imsi);
        sbi_header_t h[] = {{"content-type", SBI_CT_JSON}, {"location", loc}};
        sbi_respond_ex(req, status, h, 2, text, text != NULL ? strlen(text) : 0);
        free(text);
    } else {
        sbi_respond_json(req, status, body);
    }
    json_decref(body);
}

/* The request's JSON object body, or NULL after answering 400. */
static json_t *body_object(sbi_request_t *req)
{
    json_t *body = sbi_request_json(req);

    if (json_is_object(body))
        return body;
    sbi_respond_error(req, 400, body == NULL ? SBI_CAUSE_MANDATORY_IE_MISSING : SBI_CAUSE_INVALID_MSG_FORMAT,
                      "the body must be a JSON object describing one subscriber");
    return NULL;
}

/* 400 when the body names another IMSI than the path. */
static bool imsi_matches(sbi_request_t *req, json_t *sub, const char *imsi)
{
    json_t *v = json_object_get(sub, "imsi");
    sbi_invalid_param_t bad = {.param = "/imsi", .reason = "must equal the IMSI in the path"};
    sbi_problem_t p = {.status = 400,
                       .detail = "the body names another subscriber than the path",
                       .cause = SBI_CAUSE_MANDATORY_IE_INCORRECT,
                       .invalid_params = &bad,
                       .n_invalid_params = 1};

    if (v == NULL || (json_is_string(v) && strcmp(json_string_value(v), imsi) == 0))
        return true;
    sbi_respond_problem(req, &p);
    return false;
}

/* ---------------------------------------------------------------- export */

typedef struct {
    char *buf;
    size_t len, cap;
    bool failed;
    char last[SUB_IMSI_MAX + 1]; /* IMSI of the last subscriber written: the next page's cursor */
} admin_text_t;

static void text_add(admin_text_t *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : ADMIN_EXPORT_CHUNK;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *grown = realloc(t->buf, cap);
        if (grown == NULL) {
            t->failed = true;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

/* One subscriber per line, so that an import error's line number names it. */
static int export_one(const subscriber_t *sub, void *ud)
{
    admin_text_t *t = ud;
    json_t *o = sub_to_json(sub);
    char *line;

    if (o == NULL)
        return -1;
    redact(o);
    line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (line == NULL)
        return -1;
    if (t->last[0] != '\0')
        text_add(t, ",\n", 2);
    text_add(t, line, strlen(line));
    free(line);
    snprintf(t->last, sizeof t->last, "%s", sub->imsi);
    return t->failed ? -1 : 0;
}

/* ?limit=N (1..ADMIN_PAGE_MAX, absent: everything) and ?cursor=IMSI; false after answering 400. */
static bool page_params(sbi_request_t *req, size_t *limit, const char **cursor)
{
    const char *l = sbi_request_query_param(req, "limit");
    const char *c = sbi_request_query_param(req, "cursor");
    char *end = NULL;
    long v = l != NULL ? strtol(l, &end, 10) : 0;

    if (l != NULL && (*l == '\0' || *end != '\0' || v < 1 || v > ADMIN_PAGE_MAX)) {
        sbi_invalid_param_t bad = {.param = "limit", .reason = "must be 1 to " ADMIN_PAGE_MAX_TEXT};
        sbi_problem_t p = {.status = 400,
                           .detail = "bad limit",
                           .cause = SBI_CAUSE_MANDATORY_IE_INCORRECT,
                           .invalid_params = &bad,
                           .n_invalid_params = 1};
        sbi_respond_problem(req, &p);
        return false;
    }
    if (c != NULL && !imsi_valid(c)) {
        sbi_invalid_param_t bad = {.param = "cursor", .reason = "must be the IMSI a previous page ended with"};
        sbi_problem_t p = {.status = 400,
                           .detail = "bad cursor",
                           .cause = SBI_CAUSE_MANDATORY_IE_INCORRECT,
                           .invalid_params = &bad,
                           .n_invalid_params = 1};
        sbi_respond_problem(req, &p);
        return false;
    }
    *limit = (size_t)v;
    *cursor = c;
    return true;
}

static void on_list(sbi_request_t *req, void *ud)
{
    sub_admin_t *a = ud;
    admin_text_t t = {0};
    sub_error_t err;
    size_t limit;
    const char *cursor;
    char link[sizeof ADMIN_BASE + 64 + SUB_IMSI_MAX];

    if (!page_params(req, &limit, &cursor))
        return;
    text_add(&t, "{\"subscribers\": [\n", 18);
    long n = sub_db_iterate(sub_store_db(a->store), cursor, limit, export_one, &t, &err);
    text_add(&t, "\n]}\n", 4);
    if (n < 0 || t.failed) {
        free(t.buf);
        log_error("admin", "export failed: %s", n < 0 ? err.msg : "out of memory");
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "%s", n < 0 ? err.msg : "out of memory");
        return;
    }
    sbi_header_t h[2] = {{"content-type", SBI_CT_JSON}, {"link", link}};
    bool more = limit > 0 && (size_t)n == limit;
    snprintf(link, sizeof link, "<" ADMIN_BASE "?limit=%zu&cursor=%s>; rel=\"next\"", limit, t.last);
    sbi_respond_ex(req, 200, h, more ? 2 : 1, t.buf, t.len);
    free(t.buf);
}

/* ---------------------------------------------------------------- single subscriber */

static void on_get(sbi_request_t *req, void *ud)
{
    sub_admin_t *a = ud;
    const char *imsi = path_imsi(req);
    char id[sizeof ADMIN_IMSI_PREFIX + SUB_IMSI_MAX];
    subscriber_t sub;
    sub_error_t err;

    if (imsi == NULL)
        return;
    snprintf(id, sizeof id, ADMIN_IMSI_PREFIX "%s", imsi);
    sub_db_rc_t rc = sub_db_get(sub_store_db(a->store), id, &sub, &err);
    if (rc != SUB_DB_OK) {
        respond_db_error(req, rc, &err, imsi);
        return;
    }
    respond_sub(req, &sub, 200, false);
    sub_subscriber_clear(&sub);
}

static void on_put(sbi_request_t *req, void *ud)
{
    sub_admin_t *a = ud;
    const char *imsi = path_imsi(req);
    json_t *body = imsi != NULL ? body_object(req) : NULL;
    sub_error_t err;
    bool created = false;

    if (body == NULL || !imsi_matches(req, body, imsi))
        return;
    json_t *entry = json_deep_copy(body);
    json_t *doc = entry != NULL ? json_pack("{s:[o]}", "subscribers", entry) : NULL;
    if (doc == NULL) {
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "out of memory");
        return;
    }
    json_object_set_new(entry, "imsi", json_string(imsi));
    sub_snapshot_t *one = sub_snapshot_from_json("request", doc, &err);
    json_decref(doc);
    sub_db_rc_t rc = one == NULL ? (err.field[0] ? SUB_DB_INVALID : SUB_DB_ERROR)
                                 : sub_db_put(sub_store_db(a->store), sub_snapshot_at(one, 0), &created, &err);
    if (rc == SUB_DB_OK) {
        changed(a, created ? "created" : "replaced", imsi);
        respond_sub(req, sub_snapshot_at(one, 0), created ? 201 : 200, created);
    } else {
        respond_db_error(req, rc, &err, imsi);
    }
    sub_snapshot_release(one);
}

static void on_patch(sbi_request_t *req, void *ud)
{
    sub_admin_t *a = ud;
    const char *imsi = path_imsi(req);
    json_t *patch = imsi != NULL ? body_object(req) : NULL;
    subscriber_t sub;
    sub_error_t err;

    if (patch == NULL || !imsi_matches(req, patch, imsi))
        return;
    sub_db_rc_t rc = sub_db_patch(sub_store_db(a->store), imsi, patch, &sub, &err);
    if (rc != SUB_DB_OK) {
        respond_db_error(req, rc, &err, imsi);
        return;
    }
    changed(a, "patched", imsi);
    respond_sub(req, &sub, 200, false);
    sub_subscriber_clear(&sub);
}

static void on_delete(sbi_request_t *req, void *ud)
{
    sub_admin_t *a = ud;
    const char *imsi = path_imsi(req);
    sub_error_t err;

    if (imsi == NULL)
        return;
    sub_db_rc_t rc = sub_db_delete(sub_store_db(a->store), imsi, &err);
    if (rc != SUB_DB_OK) {
        respond_db_error(req, rc, &err, imsi);
        return;
    }
    changed(a, "deleted", imsi);
    sbi_respond(req, 204, NULL, NULL, 0);
}

/* ---------------------------------------------------------------- reload and import */

static void on_reload(sbi_request_t *req, void *ud)
{
    sub_admin_t *a = ud;
    sub_error_t err;

    if (sub_store_reload(a->store, &err) != 0) {
        log_error("admin", "reload failed, keeping the previous subscriber data: %s", err.msg);
        sbi_respond_error(req, 409, ADMIN_CAUSE_FILE_INVALID, "%s (the previous data stays in force)", err.msg);
        return;
    }
    sub_snapshot_t *snap = sub_store_acquire(a->store);
    json_t *body = json_pack("{s:I, s:I}", "subscribers", (json_int_t)sub_snapshot_count(snap), "generation",
                             (json_int_t)sub_store_generation(a->store));
    sub_snapshot_release(snap);
    changed(a, "reloaded", sub_store_path(a->store) ? sub_store_path(a->store) : sub_store_db_path(a->store));
    sbi_respond_json(req, 200, body);
    json_decref(body);
}

/* 400 for an import that does not validate: detail "import:line:col: field: reason", invalidParams the field. */
static void respond_import_error(sbi_request_t *req, const sub_error_t *err)
{
    char pointer[ADMIN_POINTER_MAX];

    field_to_pointer(err->field, -1, pointer, sizeof pointer);
    sbi_invalid_param_t bad = {.param = pointer, .reason = err->msg};
    sbi_problem_t p = {.status = 400,
                       .detail = err->msg,
                       .cause = SBI_CAUSE_MANDATORY_IE_INCORRECT,
                       .invalid_params = &bad,
                       .n_invalid_params = 1};
    log_info("admin", "import rejected, nothing changed: %s", err->msg);
    sbi_respond_problem(req, &p);
}

/* A conflict with stored data found at subscribers[K].field: placed in the request text. */
static void place_conflict(sub_error_t *err, const char *text, size_t len)
{
    size_t k;
    char leaf[SUB_ERR_FIELD_MAX] = "";
    char reason[SUB_ERR_MAX];

    if (sscanf(err->field, "subscribers[%zu].%127[a-z_]", &k, leaf) < 1)
        return;
    snprintf(reason, sizeof reason, "%s", err->reason);
    sub_error_at(err, ADMIN_IMPORT_NAME, text, len, k, leaf[0] ? leaf : NULL, reason);
}

/* Validates `text` (a DESIGN §5 document) whole and applies it in one transaction; answers the counts or the
 * first error. */
static void import_text(sbi_request_t *req, sub_admin_t *a, const char *text, size_t len, bool replace)
{
    size_t created = 0, replaced = 0;
    sub_error_t err;
    sub_snapshot_t *snap = sub_snapshot_load_text(ADMIN_IMPORT_NAME, text, len, &err);

    if (snap == NULL) {
        respond_import_error(req, &err);
        return;
    }
    sub_db_rc_t rc = sub_db_import(sub_store_db(a->store), snap, replace, NULL, &created, &replaced, &err);
    size_t total = sub_snapshot_count(snap);
    sub_snapshot_release(snap);
    if (rc == SUB_DB_INVALID) {
        place_conflict(&err, text, len);
        respond_import_error(req, &err);
        return;
    }
    if (rc != SUB_DB_OK) {
        respond_db_error(req, rc, &err, "");
        return;
    }
    json_t *body = json_pack("{s:I, s:I, s:I, s:s}", "subscribers", (json_int_t)total, "created", (json_int_t)created,
                             "replaced", (json_int_t)replaced, "mode", replace ? "replace" : "merge");
    changed(a, "imported", replace ? "(replace)" : "(merge)");
    sbi_respond_json(req, 200, body);
    json_decref(body);
}

static void on_import(sbi_request_t *req, void *ud)
{
    sub_admin_t *a = ud;
    const char *mode = sbi_request_query_param(req, "mode");
    size_t len = 0;
    const char *text = sbi_request_body(req, &len);

    if (mode != NULL && strcmp(mode, "merge") != 0 && strcmp(mode, "replace") != 0) {
        sbi_invalid_param_t bad = {.param = "mode", .reason = "must be merge or replace"};
        sbi_problem_t p = {.status = 400,
                           .detail = "bad mode",
                           .cause = SBI_CAUSE_MANDATORY_IE_INCORRECT,
                           .invalid_params = &bad,
                           .n_invalid_params = 1};
        sbi_respond_problem(req, &p);
        return;
    }
    bool replace = mode != NULL && strcmp(mode, "replace") == 0;
    char *doc = NULL; /* NDJSON wrapped as a document with the same line numbers */
    if (sbi_request_body_raw(req)) {
        doc = sub_ndjson_to_document(text, len, &len);
        if (doc == NULL) {
            sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "out of memory");
            return;
        }
        text = doc;
    }
    import_text(req, a, text, len, replace);
    free(doc);
}

static void on_metrics(sbi_request_t *req, void *ud)
{
    sub_admin_t *a = ud;
    char *text = metrics_render(a->metrics);

    if (text == NULL) {
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "out of memory");
        return;
    }
    sbi_respond(req, 200, "text/plain; version=0.0.4", text, strlen(text));
    free(text);
}

/* ---------------------------------------------------------------- lifecycle */

sub_admin_t *sub_admin_new(sbi_server_t *srv, sub_store_t *store, const metrics_t *metrics,
                           sub_admin_change_fn on_change, void *ud)
{
    sub_admin_t *a = calloc(1, sizeof *a);

    if (a == NULL)
        return NULL;
    a->store = store;
    a->metrics = metrics;
    a->on_change = on_change;
    a->ud = ud;
    if (sbi_server_route(srv, "GET", ADMIN_BASE, on_list, a) != 0 ||
        sbi_server_route(srv, "GET", ADMIN_BASE "/{imsi}", on_get, a) != 0 ||
        sbi_server_route(srv, "PUT", ADMIN_BASE "/{imsi}", on_put, a) != 0 ||
        sbi_server_route(srv, "PATCH", ADMIN_BASE "/{imsi}", on_patch, a) != 0 ||
        sbi_server_route(srv, "DELETE", ADMIN_BASE "/{imsi}", on_delete, a) != 0 ||
        sbi_server_route(srv, "POST", "/admin/v1/reload", on_reload, a) != 0 ||
        sbi_server_route_raw(srv, "POST", ADMIN_BASE ":import", ADMIN_NDJSON, on_import, a) != 0 ||
        (metrics != NULL && sbi_server_route(srv, "GET", "/metrics", on_metrics, a) != 0)) {
        free(a);
        return NULL;
    }
    return a;
}

void sub_admin_free(sub_admin_t *a)
{
    free(a);
}
