/*
 * sub_store — the snapshot in force for a daemon, kept in step with the SQLite store (sub_store.h has the design).
 *
 * Three locks, three jobs:
 *   - `cur_lock` guards only the current pointer and the generation. Readers hold it for the time of a reference
 *     increment (acquire = lock, ref, unlock), so a refresh never makes them wait for SQL.
 *   - `refresh_lock` serialises whole refreshes (the refresher thread's and a writer's own), so an older read can
 *     never be swapped in after a newer one.
 *   - `stop_lock` + `stop_cond` let sub_store_free wake the refresher at once instead of after its next tick.
 * The refresher has its own database connection (a SQLite connection is used by one thread at a time); the main
 * connection belongs to the thread that created the store and then to the daemon's loop (admin writes, reload).
 * A refresh notes the change counter before it reads, so a commit that lands during the read is seen by the next
 * tick and never lost.
 *
 * The subscriber file is never written: the database is the durable copy; the file is what an operator imports
 * and exports (GET /admin/v1/subscribers, mihua-subscribers export).
 */
#include "subscriber/sub_store.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"

#define SUB_STORE_SOURCE_MAX 80 /* "sha256:" + 64 hex */
#define SUB_STORE_JSON_EXT ".json"
#define SUB_STORE_DB_EXT ".db"

struct sub_store {
    char *path; /* the subscriber file given at start, or NULL */
    char *db_path;
    size_t max_bytes;             /* the largest subscriber file read */
    sub_db_t *db;                 /* main connection: creator's thread, then the daemon's loop */
    pthread_mutex_t cur_lock;     /* guards cur and generation */
    pthread_mutex_t refresh_lock; /* serialises refreshes */
    sub_snapshot_t *cur;          /* snapshot in force; the store holds one reference */
    unsigned long generation;     /* snapshots put in force, initial one included */
    int64_t changes;              /* sub_db_changes of the snapshot in force (under refresh_lock) */
    sub_snapshot_t *base;         /* the last full read (one reference), under refresh_lock */
    int64_t base_changes;         /* its sub_db_changes value */
    pthread_t refresher;
    bool refresher_running;
    pthread_mutex_t stop_lock; /* guards stop */
    pthread_cond_t stop_cond;
    bool stop;
};

char *sub_store_default_path(const char *import_path)
{
    if (import_path == NULL)
        return strdup(SUB_STORE_DEFAULT_DB);
    size_t n = strlen(import_path), ext = strlen(SUB_STORE_JSON_EXT);
    if (n > ext && strcmp(import_path + n - ext, SUB_STORE_JSON_EXT) == 0)
        n -= ext;
    char *out = malloc(n + sizeof(SUB_STORE_DB_EXT));
    if (out != NULL)
        snprintf(out, n + sizeof(SUB_STORE_DB_EXT), "%.*s%s", (int)n, import_path, SUB_STORE_DB_EXT);
    return out;
}

/* "sha256:<hex>" of the text: what identifies an import. */
static void source_of(const char *text, size_t len, char *out, size_t size)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    size_t used = (size_t)snprintf(out, size, "sha256:");

    if (EVP_Digest(text, len, md, &n, EVP_sha256(), NULL) != 1)
        n = 0;
    for (unsigned int i = 0; i < n && used + 2 < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%02x", md[i]);
}

/* Validates the whole file, then imports it in one transaction when `force` or its digest differs. */
static int import_file(sub_db_t *db, const char *path, size_t max_bytes, bool force, sub_error_t *err)
{
    char source[SUB_STORE_SOURCE_MAX], last[SUB_STORE_SOURCE_MAX];
    size_t len;
    char *text = sub_file_read(path, max_bytes, &len, err);

    if (text == NULL)
        return -1;
    source_of(text, len, source, sizeof(source));
    if (!force && sub_db_source(db, last, sizeof(last)) == 0 && strcmp(last, source) == 0) {
        free(text);
        log_info("store", "%s unchanged since its last import into %s: not imported", path, sub_db_path(db));
        return 0;
    }
    sub_snapshot_t *snap = sub_snapshot_load_text(path, text, len, err);
    free(text);
    if (snap == NULL)
        return -1;
    sub_db_rc_t rc = sub_db_import(db, snap, true, source, NULL, NULL, err);
    if (rc == SUB_DB_OK)
        log_info("store", "imported %s into %s: %zu subscribers", path, sub_db_path(db), sub_snapshot_count(snap));
    sub_snapshot_release(snap);
    return rc == SUB_DB_OK ? 0 : -1;
}

/* Puts `snap` in force (taking over the caller's reference) and drops the store's reference to the old one. */
static void sub_store_swap(sub_store_t *st, sub_snapshot_t *snap)
{
    pthread_mutex_lock(&st->cur_lock);
    sub_snapshot_t *old = st->cur;
    st->cur = snap;
    st->generation++;
    pthread_mutex_unlock(&st->cur_lock);
    sub_snapshot_release(old);
}

/* The subscribers changed since the last full read, as a layer over it; NULL with *fallback set when the
 * changelog does not cover them (read everything then), NULL without it on error. */
static sub_snapshot_t *read_delta(sub_store_t *st, sub_db_t *db, int64_t *changes, bool *fallback, sub_error_t *err)
{
    sub_db_delta_t d;
    sub_db_rc_t rc = sub_db_delta(db, st->base_changes, SUB_STORE_DELTA_MAX, &d, err);

    *fallback = rc == SUB_DB_NOT_FOUND;
    if (rc != SUB_DB_OK)
        return NULL;
    *changes = d.changes;
    sub_snapshot_t *snap = sub_snapshot_layer(st->base, d.subs, d.n_subs, d.imsis, d.n_imsis, err);
    d.subs = NULL; /* taken by the layer, even on failure */
    d.imsis = NULL;
    sub_db_delta_free(&d);
    return snap;
}

/* A full read, which becomes the base of the next layers. */
static sub_snapshot_t *read_full(sub_store_t *st, sub_db_t *db, int64_t *changes, sub_error_t *err)
{
    sub_snapshot_t *snap = sub_db_snapshot(db, changes, err);
    if (snap == NULL)
        return NULL;
    sub_snapshot_release(st->base);
    st->base = sub_snapshot_ref(snap);
    st->base_changes = *changes;
    return snap;
}

/* Puts the store's latest state in force unless it already is (a writer of this process refreshed after its own
 * commit, and the refresher then sees the same commit): the changes since the last full read as a layer over it
 * when the changelog has them and they are few, else everything. */
static int refresh_with(sub_store_t *st, sub_db_t *db, sub_error_t *err)
{
    int rc = 0;
    struct timespec t0, t1;
    bool fallback = true;

    pthread_mutex_lock(&st->refresh_lock);
    int64_t changes = sub_db_changes(db);
    if (changes >= 0 && changes == st->changes) {
        pthread_mutex_unlock(&st->refresh_lock);
        return 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sub_snapshot_t *snap = st->base != NULL ? read_delta(st, db, &changes, &fallback, err) : NULL;
    if (snap == NULL && fallback)
        snap = read_full(st, db, &changes, err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (snap != NULL) {
        size_t n = sub_snapshot_count(snap);
        bool layer = sub_snapshot_is_layer(snap);
        st->changes = changes;
        sub_store_swap(st, snap);
        log_info("store", "in force: %zu subscribers, store change %lld, %s in %ld ms", n, (long long)changes,
                 layer ? "changes read" : "all read",
                 (t1.tv_sec - t0.tv_sec) * 1000L + (t1.tv_nsec - t0.tv_nsec) / 1000000L);
    }
    rc = snap != NULL ? 0 : -1;
    pthread_mutex_unlock(&st->refresh_lock);
    return rc;
}

int sub_store_refresh(sub_store_t *st, sub_error_t *err)
{
    sub_error_clear(err);
    return st != NULL ? refresh_with(st, st->db, err) : -1;
}

/* Sleeps one poll period; false when asked to stop. */
static bool refresher_wait(sub_store_t *st)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)SUB_STORE_POLL_MS * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&st->stop_lock);
    while (!st->stop && pthread_cond_timedwait(&st->stop_cond, &st->stop_lock, &until) == 0)
        ;
    bool go_on = !st->stop;
    pthread_mutex_unlock(&st->stop_lock);
    return go_on;
}

static void *refresher_main(void *arg)
{
    sub_store_t *st = arg;
    sub_error_t err;
    sub_db_t *db = sub_db_open(st->db_path, &err);
    int64_t seen = -1; /* the first tick compares change counters: commits before this thread ran count too */

    if (db == NULL)
        log_error("store", "the refresher cannot open the store, changes by others are not followed: %s", err.msg);
    while (db != NULL && refresher_wait(st)) {
        int64_t v = sub_db_data_version(db);
        if (v == seen)
            continue;
        if (refresh_with(st, db, &err) == 0)
            seen = v; /* noted before the read: a commit during it shows up at the next tick */
        else
            log_error("store", "refresh failed, keeping the data in force: %s", err.msg);
    }
    sub_db_close(db);
    return NULL;
}

static sub_store_t *store_alloc(const char *db_path, const char *import_path)
{
    sub_store_t *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    st->db_path = db_path != NULL ? strdup(db_path) : sub_store_default_path(import_path);
    st->path = import_path != NULL ? strdup(import_path) : NULL;
    if (st->db_path == NULL || (import_path != NULL && st->path == NULL)) {
        free(st->db_path);
        free(st->path);
        free(st);
        return NULL;
    }
    pthread_mutex_init(&st->cur_lock, NULL);
    pthread_mutex_init(&st->refresh_lock, NULL);
    pthread_mutex_init(&st->stop_lock, NULL);
    pthread_cond_init(&st->stop_cond, NULL);
    return st;
}

sub_store_t *sub_store_new(const char *db_path, const char *import_path, sub_error_t *err)
{
    return sub_store_new_max(db_path, import_path, 0, err);
}

sub_store_t *sub_store_new_max(const char *db_path, const char *import_path, size_t max_bytes, sub_error_t *err)
{
    sub_error_clear(err);
    sub_store_t *st = store_alloc(db_path, import_path);
    if (st == NULL) {
        if (err != NULL)
            snprintf(err->msg, sizeof(err->msg), "subscriber store: out of memory");
        return NULL;
    }
    st->max_bytes = max_bytes != 0 ? max_bytes : SUB_FILE_MAX_BYTES_DEFAULT;
    st->db = sub_db_open(st->db_path, err);
    if (st->db == NULL || (st->path != NULL && import_file(st->db, st->path, st->max_bytes, false, err) < 0) ||
        (st->cur = read_full(st, st->db, &st->changes, err)) == NULL) {
        sub_store_free(st);
        return NULL;
    }
    st->generation = 1;
    sub_db_set_busy_ms(st->db, SUB_STORE_LOOP_BUSY_MS);
    st->refresher_running = pthread_create(&st->refresher, NULL, refresher_main, st) == 0;
    if (!st->refresher_running) {
        if (err != NULL)
            snprintf(err->msg, sizeof(err->msg), "subscriber store: cannot start the refresher thread");
        sub_store_free(st);
        return NULL;
    }
    return st;
}

void sub_store_free(sub_store_t *st)
{
    if (st == NULL)
        return;
    if (st->refresher_running) {
        pthread_mutex_lock(&st->stop_lock);
        st->stop = true;
        pthread_cond_signal(&st->stop_cond);
        pthread_mutex_unlock(&st->stop_lock);
        pthread_join(st->refresher, NULL);
    }
    sub_snapshot_release(st->cur);
    sub_snapshot_release(st->base);
    sub_db_close(st->db);
    pthread_mutex_destroy(&st->cur_lock);
    pthread_mutex_destroy(&st->refresh_lock);
    pthread_mutex_destroy(&st->stop_lock);
    pthread_cond_destroy(&st->stop_cond);
    free(st->path);
    free(st->db_path);
    free(st);
}

const char *sub_store_path(const sub_store_t *st)
{
    return st != NULL ? st->path : NULL;
}

const char *sub_store_db_path(const sub_store_t *st)
{
    return st != NULL ? st->db_path : NULL;
}

sub_db_t *sub_store_db(sub_store_t *st)
{
    return st != NULL ? st->db : NULL;
}

sub_snapshot_t *sub_store_acquire(sub_store_t *st)
{
    if (st == NULL)
        return NULL;
    pthread_mutex_lock(&st->cur_lock);
    sub_snapshot_t *s = sub_snapshot_ref(st->cur);
    pthread_mutex_unlock(&st->cur_lock);
    return s;
}

unsigned long sub_store_generation(sub_store_t *st)
{
    if (st == NULL)
        return 0;
    pthread_mutex_lock(&st->cur_lock);
    unsigned long g = st->generation;
    pthread_mutex_unlock(&st->cur_lock);
    return g;
}

int sub_store_reload(sub_store_t *st, sub_error_t *err)
{
    sub_error_clear(err);
    if (st == NULL)
        return -1;
    if (st->path == NULL)
        return refresh_with(st, st->db, err);
    if (import_file(st->db, st->path, st->max_bytes, true, err) < 0)
        return -1;
    return refresh_with(st, st->db, err);
}
