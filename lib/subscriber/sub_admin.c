/*
 * sub_admin — the simulators' admin API (DESIGN §5). See sub_admin.h for the resources.
 *
 * Every write builds a complete new document — the snapshot in force rendered to JSON, with one subscriber
 * replaced, added, patched or removed — and hands it to sub_store_replace(). That one call validates with the
 * file loader's own rules, writes the file atomically and swaps the snapshot, so the admin API cannot accept what
 * a reload would reject, and a failed change leaves both file and memory as they were. The cost is O(n) per change,
 * which is nothing at simulator sizes and buys a single validation path.
 *
 * Several simulators may share one subscriber file (DESIGN §5). So that one's change never overwrites another's,
 * a write holds an exclusive flock(2) on "<file>.lock" while it re-reads the file, applies its one change and
 * writes the result back. The other simulators keep serving their own view until they reload (SIGHUP or
 * POST /admin/v1/reload). A file that no longer parses is not overwritten: the write is refused with 409 until
 * it is fixed.
 *
 * `kms_key` is write-only: accepted in PUT and PATCH, never sent back (the KMS's shared secret with the UE has
 * no business in an operator's terminal scroll-back or a proxy log).
 *
 * Validation errors come back as "subscribers[K].field"; for the subscriber being written (index K) that is
 * turned into a JSON pointer into the request body ("/access/rat"), for another subscriber (a duplicate MSISDN
 * found at its entry) into a pointer into the collection ("/subscribers/3/msisdn").
 */
#include "subscriber/sub_admin.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define ADMIN_BASE "/admin/v1/subscribers"
#define ADMIN_POINTER_MAX 160 /* a JSON pointer made from a SUB_ERR_FIELD_MAX field, plus "/subscribers/N" */
#define ADMIN_CAUSE_FILE_INVALID "SUBSCRIBER_FILE_INVALID"
#define ADMIN_LOCK_SUFFIX ".lock"
#define ADMIN_PATH_MAX 4096

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

/* Index of the subscriber with `imsi` in a document's array, or -1. */
static long doc_find(json_t *list, const char *imsi)
{
    size_t i;
    json_t *e;

    json_array_foreach(list, i, e) {
        const char *v = json_string_value(json_object_get(e, "imsi"));
        if (v != NULL && strcmp(v, imsi) == 0)
            return (long)i;
    }
    return -1;
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

/* Removes the write-only secret from a subscriber object (or from every subscriber of a document). */
static void redact(json_t *sub)
{
    json_object_del(sub, "kms_key");
}

static void redact_doc(json_t *doc)
{
    size_t i;
    json_t *e;

    json_array_foreach(json_object_get(doc, "subscribers"), i, e)
        redact(e);
}

static void changed(sub_admin_t *a, const char *what, const char *imsi)
{
    log_info("admin", "%s %s (generation %lu)", what, imsi, sub_store_generation(a->store));
    if (a->on_change != NULL)
        a->on_change(a->ud);
}

/* Replaces the store's document with `doc` (taken); answers the error itself and returns -1 on failure. */
static int commit(sub_admin_t *a, sbi_request_t *req, json_t *doc, long self)
{
    sub_error_t err;
    char pointer[ADMIN_POINTER_MAX];
    int rc = sub_store_replace(a->store, doc, &err);

    json_decref(doc);
    if (rc == 0)
        return 0;
    if (err.field[0] == '\0') {
        log_error("admin", "cannot write subscriber data: %s", err.msg);
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "%s", err.msg);
        return -1;
    }
    field_to_pointer(err.field, self, pointer, sizeof pointer);
    sbi_invalid_param_t bad = {.param = pointer, .reason = err.reason};
    sbi_problem_t p = {.status = 400,
                       .detail = err.reason,
                       .cause = SBI_CAUSE_MANDATORY_IE_INCORRECT,
                       .invalid_params = &bad,
                       .n_invalid_params = 1};
    log_info("admin", "rejected: %s %s: %s", pointer, err.reason, sbi_request_path(req));
    sbi_respond_problem(req, &p);
    return -1;
}

/* The document in force, as JSON (new reference), and its subscriber array (borrowed). */
static json_t *current_doc(sub_admin_t *a, json_t **list)
{
    sub_snapshot_t *snap = sub_store_acquire(a->store);
    json_t *doc = sub_snapshot_to_json(snap);

    sub_snapshot_release(snap);
    *list = doc != NULL ? json_object_get(doc, "subscribers") : NULL;
    return doc;
}

static void respond_subscriber(sub_admin_t *a, sbi_request_t *req, const char *imsi, int status, bool location)
{
    sub_snapshot_t *snap = sub_store_acquire(a->store);
    const subscriber_t *sub = sub_find_by_imsi(snap, imsi);
    json_t *body = sub != NULL ? sub_to_json(sub) : NULL;
    char loc[sizeof ADMIN_BASE + SUB_IMSI_MAX + 2];

    sub_snapshot_release(snap);
    if (body == NULL) {
        sbi_respond_error(req, 404, SBI_CAUSE_USER_NOT_FOUND, "no subscriber with IMSI %s", imsi);
        return;
    }
    redact(body);
    if (location) {
        char *text = json_dumps(body, JSON_COMPACT);
        snprintf(loc, sizeof loc, ADMIN_BASE "/%s", imsi);
        sbi_header_t h[] = {{"content-type", SBI_CT_JSON}, {"location", loc}};
        sbi_respond_ex(req, status, h, 2, text, text != NULL ? strlen(text) : 0);
        free(text);
    } else {
        sbi_respond_json(req, status, body);
    }
    json_decref(body);
}

/* RFC 7396 JSON merge patch of `target` (modified in place) by `patch`. */
static void merge_patch(json_t *target, json_t *patch)
{
    const char *key;
    json_t *value;

    json_object_foreach(patch, key, value) {
        if (json_is_null(value)) {
            json_object_del(target, key);
        } else if (json_is_object(value)) {
            json_t *t = json_object_get(target, key);
            if (!json_is_object(t)) {
                t = json_object();
                json_object_set_new(target, key, t);
            }
            merge_patch(t, value);
        } else {
            json_object_set(target, key, value);
        }
    }
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

/* One change in progress: the lock, the document it edits and where the subscriber of the path sits in it. */
typedef struct {
    int lock;     /* fd holding flock(LOCK_EX) on "<file>.lock" */
    json_t *doc;  /* the document in force, to be edited and committed */
    json_t *list; /* its "subscribers" array (borrowed from doc) */
    long idx;     /* index of the path's subscriber in list, -1 when absent */
} admin_write_t;

static void write_close(admin_write_t *w)
{
    json_decref(w->doc);
    w->doc = NULL;
    if (w->lock >= 0) {
        flock(w->lock, LOCK_UN);
        close(w->lock);
        w->lock = -1;
    }
}

/* Takes the cross-process write lock, brings the store up to the file and finds `imsi` in the document.
 * Returns 0, or -1 after answering: 500 (lock, memory), 409 (the file does not load), 404 (must_exist). */
static int write_open(sub_admin_t *a, sbi_request_t *req, const char *imsi, bool must_exist, admin_write_t *w)
{
    char path[ADMIN_PATH_MAX];
    sub_error_t err;

    memset(w, 0, sizeof *w);
    snprintf(path, sizeof path, "%s" ADMIN_LOCK_SUFFIX, sub_store_path(a->store));
    w->lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (w->lock < 0 || flock(w->lock, LOCK_EX) != 0) {
        log_error("admin", "cannot lock %s: %s", path, strerror(errno));
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "cannot lock %s: %s", path, strerror(errno));
        write_close(w);
        return -1;
    }
    if (sub_store_reload(a->store, &err) != 0) {
        log_error("admin", "write refused, the file does not load: %s", err.msg);
        sbi_respond_error(req, 409, ADMIN_CAUSE_FILE_INVALID,
                          "%s (fix the file; the data in force is unchanged)", err.msg);
        write_close(w);
        return -1;
    }
    w->doc = current_doc(a, &w->list);
    if (w->doc == NULL) {
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "out of memory");
        write_close(w);
        return -1;
    }
    w->idx = doc_find(w->list, imsi);
    if (w->idx < 0 && must_exist) {
        sbi_respond_error(req, 404, SBI_CAUSE_USER_NOT_FOUND, "no subscriber with IMSI %s", imsi);
        write_close(w);
        return -1;
    }
    return 0;
}

/* Validates, writes back and swaps in the edited document, then releases the lock. `self` is the index of the
 * subscriber the request wrote (for field pointers), -1 for none. Returns 0 or -1 after answering. */
static int write_commit(sub_admin_t *a, sbi_request_t *req, admin_write_t *w, long self)
{
    json_t *doc = w->doc;

    w->doc = NULL;
    int rc = commit(a, req, doc, self);
    write_close(w);
    return rc;
}

/* ---------------------------------------------------------------- handlers */

static void on_list(sbi_request_t *req, void *ud)
{
    sub_admin_t *a = ud;
    json_t *list;
    json_t *doc = current_doc(a, &list);

    if (doc == NULL) {
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "out of memory");
        return;
    }
    redact_doc(doc);
    sbi_respond_json(req, 200, doc);
    json_decref(doc);
}

static void on_get(sbi_request_t *req, void *ud)
{
    const char *imsi = path_imsi(req);

    if (imsi != NULL)
        respond_subscriber(ud, req, imsi, 200, false);
}

static void on_put(sbi_request_t *req, void *ud)
{
    sub_admin_t *a = ud;
    const char *imsi = path_imsi(req);
    json_t *body = imsi != NULL ? body_object(req) : NULL;
    admin_write_t w;

    if (body == NULL || !imsi_matches(req, body, imsi) || write_open(a, req, imsi, false, &w) != 0)
        return;
    json_t *entry = json_deep_copy(body);
    if (entry == NULL) {
        write_close(&w);
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "out of memory");
        return;
    }
    json_object_set_new(entry, "imsi", json_string(imsi));
    bool created = w.idx < 0;
    long idx = created ? (long)json_array_size(w.list) : w.idx;
    if (created)
        json_array_append_new(w.list, entry);
    else
        json_array_set_new(w.list, (size_t)idx, entry);
    if (write_commit(a, req, &w, idx) != 0)
        return;
    changed(a, created ? "created" : "replaced", imsi);
    respond_subscriber(a, req, imsi, created ? 201 : 200, created);
}

static void on_patch(sbi_request_t *req, void *ud)
{
    sub_admin_t *a = ud;
    const char *imsi = path_imsi(req);
    json_t *patch = imsi != NULL ? body_object(req) : NULL;
    admin_write_t w;

    if (patch == NULL || !imsi_matches(req, patch, imsi) || write_open(a, req, imsi, true, &w) != 0)
        return;
    merge_patch(json_array_get(w.list, (size_t)w.idx), patch);
    if (write_commit(a, req, &w, w.idx) != 0)
        return;
    changed(a, "patched", imsi);
    respond_subscriber(a, req, imsi, 200, false);
}

static void on_delete(sbi_request_t *req, void *ud)
{
    sub_admin_t *a = ud;
    const char *imsi = path_imsi(req);
    admin_write_t w;

    if (imsi == NULL || write_open(a, req, imsi, true, &w) != 0)
        return;
    json_array_remove(w.list, (size_t)w.idx);
    if (write_commit(a, req, &w, -1) != 0)
        return;
    changed(a, "deleted", imsi);
    sbi_respond(req, 204, NULL, NULL, 0);
}

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
    changed(a, "reloaded", sub_store_path(a->store));
    sbi_respond_json(req, 200, body);
    json_decref(body);
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
