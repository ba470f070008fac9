/*
 * sub_db — the durable subscriber store on SQLite (DESIGN §5 "At scale"). Contract in sub_db.h.
 *
 * Schema (readable with the sqlite3 shell; names follow DESIGN §5):
 *   subscriber(imsi PK, msisdn UNIQUE, impu, voice_encryption, rat, ims_vops, kms_key, sip_password)
 *       kms_key is indexed (not UNIQUE: a clash must name both IMSIs, as the file loader does); a store created
 *       before sip_password existed gets the column added when opened.
 *       impu: the IMPUs as written, newline-separated (an IMPU never holds a control character); rat: its name.
 *   identity(norm PK, imsi, number)   one row per IMPU: normalised form (sub_identity_normalise) and the number it
 *                                     carries (tel:+N, sip:+N@host), so an identity lookup and every uniqueness rule
 *                                     of the file loader are one indexed probe each.
 *   meta(key PK, value)               "source": what the last replacing import came from (a file digest);
 *                                     "changes": write transactions committed, bumped inside each one;
 *                                     "floor": the last transaction the changelog does not cover.
 *   changelog(seq, imsi)              which subscribers each of the last SUB_DB_CHANGELOG_KEEP transactions
 *                                     wrote (seq = its "changes" value), so that a reader that is a few
 *                                     transactions behind reads those rows only (sub_db_delta); a replacing
 *                                     import empties it and raises the floor: readers then read everything.
 *
 * Choices: WAL so that readers in the other daemons never wait for a writer and a writer never waits for readers;
 * synchronous=NORMAL, which in WAL mode survives any process crash (SIGKILL mid-import leaves the previous data) and
 * may lose only the last commits on a power cut, never corrupt the file; this buys single-write latency of well
 * under a millisecond instead of an fsync per PATCH. Every statement is prepared once per connection.
 * A change is seen by other connections through PRAGMA data_version, which SQLite bumps on each foreign commit
 * and which costs one read of the WAL index, no I/O: cheap enough to poll every few milliseconds.
 */
#include "subscriber/sub_db.h"

#include "core/core_identity.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUB_DB_COLS "imsi, msisdn, impu, voice_encryption, rat, ims_vops, kms_key, sip_password"
#define SUB_DB_IMPU_SEP '\n'
#define SUB_DB_IMPU_TEXT_MAX (SUB_IMPU_MAX * (SUB_URI_MAX + 1)) /* all IMPUs of one subscriber, joined */
#define SUB_DB_SOURCE_KEY "source"
#define SUB_DB_CHANGES_KEY "changes" /* committed write transactions, for sub_db_changes */
#define SUB_DB_FLOOR_KEY "floor"     /* the last transaction the changelog does not cover (readers need since >= it) */
#define SUB_DB_CHANGELOG_KEEP 10000  /* transactions the changelog remembers: plenty for a refresher 10 ms behind */
#define SUB_DB_MSISDN_PREFIX "msisdn-"
#define SUB_DB_IMSI_PREFIX "imsi-"

/* Probe and migration for stores created before the sip_password column. */
static const char sub_db_has_sip_password[] = "SELECT sip_password FROM subscriber LIMIT 0";
static const char sub_db_add_sip_password[] = "ALTER TABLE subscriber ADD COLUMN sip_password TEXT";

static const char sub_db_schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS subscriber(imsi TEXT PRIMARY KEY, msisdn TEXT NOT NULL UNIQUE, impu TEXT NOT NULL,"
    " voice_encryption INTEGER NOT NULL, rat TEXT NOT NULL, ims_vops INTEGER NOT NULL, kms_key BLOB,"
    " sip_password TEXT) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS identity(norm TEXT PRIMARY KEY, imsi TEXT NOT NULL, number TEXT) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS identity_by_imsi ON identity(imsi);"
    "CREATE INDEX IF NOT EXISTS identity_by_number ON identity(number) WHERE number IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS subscriber_by_kms_key ON subscriber(kms_key) WHERE kms_key IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS changelog(seq INTEGER NOT NULL, imsi TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS changelog_by_seq ON changelog(seq);";

/* Prepared statements, by job. */
/* clang-format off */
enum {
    Q_BY_IMSI, Q_BY_MSISDN, Q_BY_NORM, Q_INS_SUB, Q_DEL_SUB, Q_INS_ID, Q_DEL_ID, Q_CHK_MSISDN, Q_CHK_NORM,
    Q_CHK_NUMBER, Q_CHK_KMS_KEY, Q_ITER, Q_COUNT, Q_DATA_VERSION, Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_CLEAR_SUB, Q_CLEAR_ID,
    Q_SET_META, Q_GET_META, Q_BUMP, Q_LOG, Q_LOG_PRUNE, Q_LOG_CLEAR, Q_LOG_SINCE, Q_N
};
/* clang-format on */

static const char *const sub_db_sql[Q_N] = {
    [Q_BY_IMSI] = "SELECT " SUB_DB_COLS " FROM subscriber WHERE imsi = ?1",
    [Q_BY_MSISDN] = "SELECT " SUB_DB_COLS " FROM subscriber WHERE msisdn = ?1",
    [Q_BY_NORM] = "SELECT imsi FROM identity WHERE norm = ?1",
    [Q_INS_SUB] = "INSERT INTO subscriber(" SUB_DB_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [Q_DEL_SUB] = "DELETE FROM subscriber WHERE imsi = ?1",
    [Q_INS_ID] = "INSERT INTO identity(norm, imsi, number) VALUES (?1, ?2, ?3)",
    [Q_DEL_ID] = "DELETE FROM identity WHERE imsi = ?1",
    [Q_CHK_MSISDN] = "SELECT imsi FROM subscriber WHERE msisdn = ?1 AND imsi <> ?2",
    [Q_CHK_NORM] = "SELECT imsi FROM identity WHERE norm = ?1 AND imsi <> ?2",
    [Q_CHK_NUMBER] = "SELECT imsi FROM identity WHERE number = ?1 AND imsi <> ?2",
    [Q_CHK_KMS_KEY] = "SELECT imsi FROM subscriber WHERE kms_key = ?1 AND imsi <> ?2",
    [Q_ITER] = "SELECT " SUB_DB_COLS " FROM subscriber WHERE imsi > ?1 ORDER BY imsi LIMIT ?2",
    [Q_COUNT] = "SELECT count(*) FROM subscriber",
    [Q_DATA_VERSION] = "PRAGMA data_version",
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_CLEAR_SUB] = "DELETE FROM subscriber",
    [Q_CLEAR_ID] = "DELETE FROM identity",
    [Q_SET_META] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
    [Q_GET_META] = "SELECT value FROM meta WHERE key = ?1",
    [Q_LOG] =
        "INSERT INTO changelog(seq, imsi) VALUES (coalesce((SELECT value FROM meta WHERE key = '" SUB_DB_CHANGES_KEY
        "'), 0) + 1, ?1)",
    [Q_LOG_PRUNE] = "DELETE FROM changelog WHERE seq <= ?1",
    [Q_LOG_CLEAR] = "DELETE FROM changelog",
    [Q_LOG_SINCE] = "SELECT DISTINCT imsi FROM changelog WHERE seq > ?1 LIMIT ?2",
    [Q_BUMP] = "INSERT INTO meta(key, value) VALUES ('" SUB_DB_CHANGES_KEY "', 1)"
               " ON CONFLICT(key) DO UPDATE SET value = value + 1",
};

struct sub_db {
    sqlite3 *h;
    char *path;
    sqlite3_stmt *q[Q_N];
};

/* ---- errors and statement helpers ---- */

static sub_db_rc_t db_fail(sub_db_t *db, sub_error_t *err, const char *what)
{
    if (err != NULL) {
        sub_error_clear(err);
        snprintf(err->msg, sizeof(err->msg), "%s: %s: %s", db->path, what, sqlite3_errmsg(db->h));
    }
    return sqlite3_errcode(db->h) == SQLITE_BUSY ? SUB_DB_BUSY : SUB_DB_ERROR;
}

/* A rule broken by subscribers[index].field; the message names the other subscriber. */
static sub_db_rc_t db_conflict(sub_error_t *err, size_t index, const char *field, const char *fmt, const char *a,
                               const char *b)
{
    if (err == NULL)
        return SUB_DB_INVALID;
    sub_error_clear(err);
    snprintf(err->field, sizeof(err->field), "subscribers[%zu].%s", index, field);
    int head = snprintf(err->msg, sizeof(err->msg), "%s: ", err->field);
    if (head > 0 && (size_t)head < sizeof(err->msg)) {
        snprintf(err->msg + head, sizeof(err->msg) - (size_t)head, fmt, a, b);
        err->reason = err->msg + head;
    }
    return SUB_DB_INVALID;
}

static sqlite3_stmt *q(sub_db_t *db, int which)
{
    sqlite3_reset(db->q[which]);
    sqlite3_clear_bindings(db->q[which]);
    return db->q[which];
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Runs a statement that returns no row. */
static int exec_q(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The first column of the first row as text into out, 1 when found, 0 when no row, -1 on error. */
static int first_text(sqlite3_stmt *st, char *out, size_t size)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && out != NULL)
        snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0) ?: "");
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int tx_begin(sub_db_t *db)
{
    return exec_q(q(db, Q_BEGIN));
}
static int tx_commit(sub_db_t *db)
{
    return exec_q(q(db, Q_COMMIT));
}
static void tx_rollback(sub_db_t *db)
{
    exec_q(q(db, Q_ROLLBACK));
}

/* ---- open / close ---- */

sub_db_t *sub_db_open(const char *path, sub_error_t *err)
{
    sub_error_clear(err);
    sub_db_t *db = calloc(1, sizeof(*db));
    if (db == NULL || path == NULL || (db->path = strdup(path)) == NULL) {
        if (err != NULL)
            snprintf(err->msg, sizeof(err->msg), "%s: %s", path ? path : "(null)",
                     path ? "out of memory" : "no store path given");
        free(db);
        return NULL;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &db->h, flags, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(db->h, SUB_DB_BUSY_MS);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db->h, sub_db_schema, NULL, NULL, NULL);
    if (rc == SQLITE_OK && sqlite3_exec(db->h, sub_db_has_sip_password, NULL, NULL, NULL) != SQLITE_OK)
        rc = sqlite3_exec(db->h, sub_db_add_sip_password, NULL, NULL, NULL);
    for (int i = 0; rc == SQLITE_OK && i < Q_N; i++)
        rc = sqlite3_prepare_v3(db->h, sub_db_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &db->q[i], NULL);
    if (rc != SQLITE_OK) {
        if (err != NULL)
            snprintf(err->msg, sizeof(err->msg), "%s: cannot open the subscriber store: %s", path,
                     db->h ? sqlite3_errmsg(db->h) : "out of memory");
        sub_db_close(db);
        return NULL;
    }
    return db;
}

void sub_db_close(sub_db_t *db)
{
    if (db == NULL)
        return;
    for (int i = 0; i < Q_N; i++)
        sqlite3_finalize(db->q[i]);
    sqlite3_close(db->h);
    free(db->path);
    free(db);
}

void sub_db_set_busy_ms(sub_db_t *db, int ms)
{
    if (db != NULL)
        sqlite3_busy_timeout(db->h, ms);
}

const char *sub_db_path(const sub_db_t *db)
{
    return db != NULL ? db->path : NULL;
}

/* ---- rows ---- */

/* Splits the newline-joined IMPU column into sub->impu. */
static int row_impus(const char *text, subscriber_t *sub)
{
    while (text != NULL && *text != '\0' && sub->n_impu < SUB_IMPU_MAX) {
        const char *end = strchr(text, SUB_DB_IMPU_SEP);
        size_t n = end != NULL ? (size_t)(end - text) : strlen(text);
        if ((sub->impu[sub->n_impu] = strndup(text, n)) == NULL)
            return -1;
        sub->n_impu++;
        text = end != NULL ? end + 1 : NULL;
    }
    return 0;
}

/* Copies a text column into a fixed buffer, cut to fit (the store only holds validated digits). */
static void column_copy(sqlite3_stmt *st, int col, char *out, size_t size)
{
    const char *v = (const char *)sqlite3_column_text(st, col);
    size_t n = v != NULL ? (size_t)sqlite3_column_bytes(st, col) : 0;
    if (n >= size)
        n = size - 1;
    if (n > 0)
        memcpy(out, v, n);
    out[n] = '\0';
}

static int row_read(sqlite3_stmt *st, subscriber_t *sub)
{
    memset(sub, 0, sizeof(*sub));
    column_copy(st, 0, sub->imsi, sizeof(sub->imsi));
    column_copy(st, 1, sub->msisdn, sizeof(sub->msisdn));
    sub->voice_encryption = sqlite3_column_int(st, 3) != 0;
    if (sub_rat_parse((const char *)sqlite3_column_text(st, 4) ?: "", &sub->rat) < 0)
        sub->rat = SUB_RAT_NONE;
    sub->ims_vops = sqlite3_column_int(st, 5) != 0;
    if (sqlite3_column_bytes(st, 6) == SUB_KMS_KEY_LEN) {
        memcpy(sub->kms_key, sqlite3_column_blob(st, 6), SUB_KMS_KEY_LEN);
        sub->has_kms_key = true;
    }
    int pw_len = sqlite3_column_bytes(st, 7);
    if (pw_len > 0 && pw_len <= SUB_SIP_PASSWORD_MAX) {
        memcpy(sub->sip_password, sqlite3_column_text(st, 7), (size_t)pw_len);
        sub->has_sip_password = true;
    }
    if (row_impus((const char *)sqlite3_column_text(st, 2), sub) < 0) {
        sub_subscriber_clear(sub);
        return -1;
    }
    return 0;
}

/* One row from a prepared lookup: SUB_DB_OK with out filled, or NOT_FOUND / ERROR. */
static sub_db_rc_t row_one(sub_db_t *db, sqlite3_stmt *st, subscriber_t *out, sub_error_t *err)
{
    int rc = sqlite3_step(st);
    sub_db_rc_t r = SUB_DB_OK;
    if (rc == SQLITE_DONE)
        r = SUB_DB_NOT_FOUND;
    else if (rc != SQLITE_ROW)
        r = db_fail(db, err, "lookup");
    else if (row_read(st, out) < 0)
        r = db_fail(db, err, "out of memory");
    sqlite3_reset(st);
    return r;
}

static sub_db_rc_t get_by(sub_db_t *db, int which, const char *key, subscriber_t *out, sub_error_t *err)
{
    sqlite3_stmt *st = q(db, which);
    bind_text(st, 1, key);
    return row_one(db, st, out, err);
}

/* ---- lookups (the order of sub_find_by_identity) ---- */

static int is_uri(const char *norm)
{
    return strncmp(norm, "sip:", 4) == 0 || strncmp(norm, "sips:", 5) == 0 || strncmp(norm, "tel:", 4) == 0;
}

static sub_db_rc_t get_by_uri(sub_db_t *db, const char *norm, subscriber_t *out, sub_error_t *err)
{
    char imsi[SUB_IMSI_MAX + 1], digits[SUB_URI_MAX + 1];
    sqlite3_stmt *st = q(db, Q_BY_NORM);

    bind_text(st, 1, norm);
    int found = first_text(st, imsi, sizeof(imsi));
    if (found < 0)
        return db_fail(db, err, "lookup");
    if (found)
        return get_by(db, Q_BY_IMSI, imsi, out, err);
    if (core_identity_number(norm, digits, sizeof(digits)) < 0)
        return SUB_DB_NOT_FOUND;
    return get_by(db, Q_BY_MSISDN, digits, out, err);
}

sub_db_rc_t sub_db_get(sub_db_t *db, const char *identity, subscriber_t *out, sub_error_t *err)
{
    char norm[SUB_URI_MAX + 1];
    size_t mp = strlen(SUB_DB_MSISDN_PREFIX), ip = strlen(SUB_DB_IMSI_PREFIX);

    sub_error_clear(err);
    if (db == NULL || out == NULL || sub_identity_normalise(identity, norm, sizeof(norm)) < 0)
        return SUB_DB_NOT_FOUND;
    if (is_uri(norm))
        return get_by_uri(db, norm, out, err);
    if (strncmp(norm, SUB_DB_MSISDN_PREFIX, mp) == 0)
        return get_by(db, Q_BY_MSISDN, norm + mp, out, err);
    if (strncmp(norm, SUB_DB_IMSI_PREFIX, ip) == 0)
        return get_by(db, Q_BY_IMSI, norm + ip, out, err);
    sub_db_rc_t r = get_by(db, Q_BY_MSISDN, norm, out, err);
    return r == SUB_DB_NOT_FOUND ? get_by(db, Q_BY_IMSI, norm, out, err) : r;
}

/* ---- writing one subscriber ---- */

/* 1 when the probe `which` (?1 = key, ?2 = imsi) finds another subscriber, its IMSI in other; -1 on error. */
static int probe_other(sub_db_t *db, int which, const char *key, const char *imsi, char *other, size_t size)
{
    sqlite3_stmt *st = q(db, which);
    bind_text(st, 1, key);
    bind_text(st, 2, imsi);
    return first_text(st, other, size);
}

/* The file loader's cross-subscriber rules, checked against the stored rows of everybody else. */
static sub_db_rc_t check_rules(sub_db_t *db, const subscriber_t *sub, size_t index, sub_error_t *err)
{
    char other[SUB_IMSI_MAX + 1], norm[SUB_URI_MAX + 1], digits[SUB_URI_MAX + 1];
    int f;

    if ((f = probe_other(db, Q_CHK_MSISDN, sub->msisdn, sub->imsi, other, sizeof(other))) != 0)
        return f < 0 ? db_fail(db, err, "check")
                     : db_conflict(err, index, "msisdn", "%s is already the MSISDN of IMSI %s", sub->msisdn, other);
    if ((f = probe_other(db, Q_CHK_NUMBER, sub->msisdn, sub->imsi, other, sizeof(other))) != 0)
        return f < 0 ? db_fail(db, err, "check")
                     : db_conflict(err, index, "msisdn", "%s is the number of an IMPU of IMSI %s", sub->msisdn, other);
    if (sub->has_kms_key) {
        sqlite3_stmt *st = q(db, Q_CHK_KMS_KEY);
        sqlite3_bind_blob(st, 1, sub->kms_key, SUB_KMS_KEY_LEN, SQLITE_STATIC);
        bind_text(st, 2, sub->imsi);
        if ((f = first_text(st, other, sizeof(other))) != 0)
            return f < 0 ? db_fail(db, err, "check")
                         : db_conflict(err, index, "kms_key", "IMSI %s has the kms_key of IMSI %s; each must be unique",
                                       sub->imsi, other);
    }
    for (size_t j = 0; j < sub->n_impu; j++) {
        char field[32];
        snprintf(field, sizeof(field), "impu[%zu]", j);
        if (sub_identity_normalise(sub->impu[j], norm, sizeof(norm)) < 0)
            return db_conflict(err, index, field, "%s%s is not an identity", sub->impu[j], "");
        if ((f = probe_other(db, Q_CHK_NORM, norm, sub->imsi, other, sizeof(other))) != 0)
            return f < 0 ? db_fail(db, err, "check")
                         : db_conflict(err, index, field, "%s is already an IMPU of IMSI %s", sub->impu[j], other);
        if (core_identity_number(norm, digits, sizeof(digits)) == 0 &&
            (f = probe_other(db, Q_CHK_MSISDN, digits, sub->imsi, other, sizeof(other))) != 0)
            return f < 0 ? db_fail(db, err, "check")
                         : db_conflict(err, index, field, "the number %s is the MSISDN of IMSI %s", digits, other);
    }
    return SUB_DB_OK;
}

static int join_impus(const subscriber_t *sub, char *out, size_t size)
{
    size_t used = 0;
    for (size_t j = 0; j < sub->n_impu; j++) {
        int w = snprintf(out + used, size - used, "%s%s", j ? "\n" : "", sub->impu[j]);
        if (w < 0 || (size_t)w >= size - used)
            return -1;
        used += (size_t)w;
    }
    return 0;
}

/* Deletes any stored row of sub->imsi and inserts sub with its identity rows; no rule checks. */
static int write_rows(sub_db_t *db, const subscriber_t *sub)
{
    char impus[SUB_DB_IMPU_TEXT_MAX], norm[SUB_URI_MAX + 1], digits[SUB_URI_MAX + 1];
    sqlite3_stmt *st;

    if (join_impus(sub, impus, sizeof(impus)) < 0)
        return -1;
    st = q(db, Q_DEL_ID);
    bind_text(st, 1, sub->imsi);
    if (exec_q(st) < 0)
        return -1;
    st = q(db, Q_DEL_SUB);
    bind_text(st, 1, sub->imsi);
    if (exec_q(st) < 0)
        return -1;
    st = q(db, Q_INS_SUB);
    bind_text(st, 1, sub->imsi);
    bind_text(st, 2, sub->msisdn);
    bind_text(st, 3, impus);
    sqlite3_bind_int(st, 4, sub->voice_encryption);
    bind_text(st, 5, sub_rat_name(sub->rat));
    sqlite3_bind_int(st, 6, sub->ims_vops);
    if (sub->has_kms_key)
        sqlite3_bind_blob(st, 7, sub->kms_key, SUB_KMS_KEY_LEN, SQLITE_STATIC);
    if (sub->has_sip_password)
        bind_text(st, 8, sub->sip_password);
    if (exec_q(st) < 0)
        return -1;
    for (size_t j = 0; j < sub->n_impu; j++) {
        if (sub_identity_normalise(sub->impu[j], norm, sizeof(norm)) < 0)
            return -1;
        st = q(db, Q_INS_ID);
        bind_text(st, 1, norm);
        bind_text(st, 2, sub->imsi);
        if (core_identity_number(norm, digits, sizeof(digits)) == 0)
            bind_text(st, 3, digits);
        if (exec_q(st) < 0)
            return -1;
    }
    return 0;
}

/* Notes in the changelog that this transaction wrote `imsi`. */
static int log_change(sub_db_t *db, const char *imsi)
{
    sqlite3_stmt *st = q(db, Q_LOG);
    bind_text(st, 1, imsi);
    return exec_q(st);
}

/* Checks and writes one subscriber inside an open transaction. */
static sub_db_rc_t put_one(sub_db_t *db, const subscriber_t *sub, size_t index, bool *created, sub_error_t *err)
{
    sqlite3_stmt *st = q(db, Q_BY_IMSI);
    bind_text(st, 1, sub->imsi);
    int exists = first_text(st, NULL, 0);
    if (exists < 0)
        return db_fail(db, err, "lookup");
    sub_db_rc_t r = check_rules(db, sub, index, err);
    if (r != SUB_DB_OK)
        return r;
    if (write_rows(db, sub) < 0 || log_change(db, sub->imsi) < 0)
        return db_fail(db, err, "write");
    if (created != NULL)
        *created = !exists;
    return SUB_DB_OK;
}

static int set_meta_int(sub_db_t *db, const char *key, int64_t v)
{
    char text[32];
    sqlite3_stmt *st = q(db, Q_SET_META);
    snprintf(text, sizeof(text), "%lld", (long long)v);
    bind_text(st, 1, key);
    sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
    return exec_q(st);
}

static int64_t get_meta_int(sub_db_t *db, const char *key)
{
    char v[32];
    sqlite3_stmt *st = q(db, Q_GET_META);
    bind_text(st, 1, key);
    int found = first_text(st, v, sizeof(v));
    return found < 0 ? -1 : found ? strtoll(v, NULL, 10) : 0;
}

/* Keeps the changelog to its last SUB_DB_CHANGELOG_KEEP transactions (this one's "changes" value is final). */
static int prune_log(sub_db_t *db)
{
    int64_t now = get_meta_int(db, SUB_DB_CHANGES_KEY);
    if (now < 0)
        return -1;
    if (now % SUB_DB_CHANGELOG_KEEP != 0)
        return 0; /* prune in batches: one indexed delete every KEEP transactions */
    sqlite3_stmt *st = q(db, Q_LOG_PRUNE);
    sqlite3_bind_int64(st, 1, now - SUB_DB_CHANGELOG_KEEP);
    if (exec_q(st) < 0)
        return -1;
    return get_meta_int(db, SUB_DB_FLOOR_KEY) < now - SUB_DB_CHANGELOG_KEEP
               ? set_meta_int(db, SUB_DB_FLOOR_KEY, now - SUB_DB_CHANGELOG_KEEP)
               : 0;
}

/* Ends a write transaction: commit on OK, otherwise roll back and pass r on. */
static sub_db_rc_t tx_end(sub_db_t *db, sub_db_rc_t r, sub_error_t *err)
{
    if (r == SUB_DB_OK && (exec_q(q(db, Q_BUMP)) < 0 || prune_log(db) < 0))
        r = db_fail(db, err, "write");
    if (r != SUB_DB_OK) {
        tx_rollback(db);
        return r;
    }
    if (tx_commit(db) == 0)
        return SUB_DB_OK;
    r = db_fail(db, err, "commit");
    tx_rollback(db);
    return r;
}

sub_db_rc_t sub_db_put(sub_db_t *db, const subscriber_t *sub, bool *created, sub_error_t *err)
{
    sub_error_clear(err);
    if (tx_begin(db) < 0)
        return db_fail(db, err, "begin");
    return tx_end(db, put_one(db, sub, 0, created, err), err);
}

/* ---- patch ---- */

void sub_json_merge_patch(json_t *target, json_t *patch)
{
    const char *key;
    json_t *value;

    json_object_foreach(patch, key, value)
    {
        if (json_is_null(value)) {
            json_object_del(target, key);
        } else if (json_is_object(value)) {
            json_t *t = json_object_get(target, key);
            if (!json_is_object(t)) {
                t = json_object();
                json_object_set_new(target, key, t);
            }
            sub_json_merge_patch(t, value);
        } else {
            json_object_set(target, key, value);
        }
    }
}

/* Validates one subscriber object with the file loader: a one-element document. */
static sub_snapshot_t *validate_one(json_t *obj, sub_error_t *err)
{
    json_t *doc = json_pack("{s:[O]}", "subscribers", obj);
    sub_snapshot_t *s = doc != NULL ? sub_snapshot_from_json("request", doc, err) : NULL;
    json_decref(doc);
    return s;
}

static sub_db_rc_t patch_in_tx(sub_db_t *db, const char *imsi, json_t *patch, subscriber_t *out, sub_error_t *err)
{
    subscriber_t cur;
    sub_db_rc_t r = get_by(db, Q_BY_IMSI, imsi, &cur, err);
    if (r != SUB_DB_OK)
        return r;
    json_t *obj = sub_to_json(&cur);
    sub_subscriber_clear(&cur);
    if (obj == NULL)
        return db_fail(db, err, "out of memory");
    sub_json_merge_patch(obj, patch);
    sub_snapshot_t *one = validate_one(obj, err);
    json_decref(obj);
    if (one == NULL)
        return err != NULL && err->field[0] != '\0' ? SUB_DB_INVALID : db_fail(db, err, "out of memory");
    r = put_one(db, sub_snapshot_at(one, 0), 0, NULL, err);
    if (r == SUB_DB_OK && out != NULL)
        r = get_by(db, Q_BY_IMSI, imsi, out, err);
    sub_snapshot_release(one);
    return r;
}

sub_db_rc_t sub_db_patch(sub_db_t *db, const char *imsi, json_t *patch, subscriber_t *out, sub_error_t *err)
{
    sub_error_clear(err);
    if (tx_begin(db) < 0)
        return db_fail(db, err, "begin");
    return tx_end(db, patch_in_tx(db, imsi, patch, out, err), err);
}

sub_db_rc_t sub_db_delete(sub_db_t *db, const char *imsi, sub_error_t *err)
{
    sub_error_clear(err);
    if (tx_begin(db) < 0)
        return db_fail(db, err, "begin");
    sqlite3_stmt *st = q(db, Q_DEL_ID);
    bind_text(st, 1, imsi);
    if (exec_q(st) < 0)
        return tx_end(db, db_fail(db, err, "delete"), err);
    st = q(db, Q_DEL_SUB);
    bind_text(st, 1, imsi);
    if (exec_q(st) < 0)
        return tx_end(db, db_fail(db, err, "delete"), err);
    if (sqlite3_changes(db->h) == 0)
        return tx_end(db, SUB_DB_NOT_FOUND, err);
    return tx_end(db, log_change(db, imsi) < 0 ? db_fail(db, err, "delete") : SUB_DB_OK, err);
}

/* ---- iterate, count, snapshot ---- */

long sub_db_iterate(sub_db_t *db, const char *after, size_t limit, sub_db_visit_fn fn, void *ud, sub_error_t *err)
{
    sqlite3_stmt *st = q(db, Q_ITER);
    long n = 0;
    int rc;

    sub_error_clear(err);
    bind_text(st, 1, after != NULL ? after : "");
    sqlite3_bind_int64(st, 2, limit > 0 ? (sqlite3_int64)limit : -1);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        subscriber_t sub;
        if (row_read(st, &sub) < 0) {
            rc = SQLITE_NOMEM;
            break;
        }
        n++;
        int stop = fn(&sub, ud);
        sub_subscriber_clear(&sub);
        if (stop != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        db_fail(db, err, "read");
        return -1;
    }
    return n;
}

long sub_db_count(sub_db_t *db)
{
    sqlite3_stmt *st = q(db, Q_COUNT);
    long n = sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return n;
}

/* Reads every row into a growing array (no copy per row: row_read allocates the IMPUs the snapshot keeps). */
static int read_all(sub_db_t *db, subscriber_t **out, size_t *n_out)
{
    sqlite3_stmt *st = q(db, Q_ITER);
    subscriber_t *subs = NULL;
    size_t n = 0, cap = 0;
    int rc;

    bind_text(st, 1, "");
    sqlite3_bind_int64(st, 2, -1);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t grown_cap = cap ? cap * 2 : 1024;
            subscriber_t *grown = realloc(subs, grown_cap * sizeof(*grown));
            if (grown == NULL)
                break;
            subs = grown;
            cap = grown_cap;
        }
        if (row_read(st, &subs[n]) < 0)
            break;
        n++;
    }
    sqlite3_reset(st);
    *out = subs;
    *n_out = n;
    return rc == SQLITE_DONE ? 0 : -1;
}

int64_t sub_db_changes(sub_db_t *db)
{
    return get_meta_int(db, SUB_DB_CHANGES_KEY);
}

/* The distinct IMSIs written after transaction `since`, at most max (more: -2). */
static long changed_imsis(sub_db_t *db, int64_t since, size_t max, char (**out)[SUB_IMSI_MAX + 1])
{
    sqlite3_stmt *st = q(db, Q_LOG_SINCE);
    char(*imsis)[SUB_IMSI_MAX + 1] = malloc((max + 1) * sizeof(*imsis));
    long n = 0;
    int rc;

    if (imsis == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, since);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max + 1);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        column_copy(st, 0, imsis[n++], sizeof(*imsis));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE || (size_t)n > max) {
        free(imsis);
        return rc != SQLITE_DONE ? -1 : -2;
    }
    *out = imsis;
    return n;
}

sub_db_rc_t sub_db_delta(sub_db_t *db, int64_t since, size_t max, sub_db_delta_t *d, sub_error_t *err)
{
    sub_db_rc_t r = SUB_DB_OK;

    sub_error_clear(err);
    memset(d, 0, sizeof(*d));
    if (sqlite3_exec(db->h, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(db, err, "begin");
    d->changes = sub_db_changes(db);
    int64_t floor = get_meta_int(db, SUB_DB_FLOOR_KEY);
    long n = d->changes < 0 || floor < 0 ? -1 : since < floor ? -2 : changed_imsis(db, since, max, &d->imsis);
    if (n < 0)
        r = n == -2 ? SUB_DB_NOT_FOUND : db_fail(db, err, "read");
    d->n_imsis = n > 0 ? (size_t)n : 0;
    d->subs = r == SUB_DB_OK ? calloc(d->n_imsis ? d->n_imsis : 1, sizeof(*d->subs)) : NULL;
    if (r == SUB_DB_OK && d->subs == NULL)
        r = db_fail(db, err, "out of memory");
    for (size_t i = 0; r == SUB_DB_OK && i < d->n_imsis; i++) {
        sub_db_rc_t g = get_by(db, Q_BY_IMSI, d->imsis[i], &d->subs[d->n_subs], err);
        if (g == SUB_DB_OK)
            d->n_subs++;
        else if (g != SUB_DB_NOT_FOUND) /* not found: deleted since, only masked */
            r = g;
    }
    sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);
    if (r != SUB_DB_OK)
        sub_db_delta_free(d);
    return r;
}

void sub_db_delta_free(sub_db_delta_t *d)
{
    for (size_t i = 0; d->subs != NULL && i < d->n_subs; i++)
        sub_subscriber_clear(&d->subs[i]);
    free(d->subs);
    free(d->imsis);
    memset(d, 0, sizeof(*d));
}

sub_snapshot_t *sub_db_snapshot(sub_db_t *db, int64_t *changes, sub_error_t *err)
{
    subscriber_t *subs = NULL;
    size_t n = 0;

    sub_error_clear(err);
    /* One read transaction, so the snapshot is one consistent state even while another process writes. */
    if (sqlite3_exec(db->h, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        db_fail(db, err, "begin");
        return NULL;
    }
    int64_t c = sub_db_changes(db);
    int rc = read_all(db, &subs, &n);
    sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);
    if (rc < 0 || c < 0) {
        db_fail(db, err, "read");
        for (size_t i = 0; i < n; i++)
            sub_subscriber_clear(&subs[i]);
        free(subs);
        return NULL;
    }
    if (changes != NULL)
        *changes = c;
    return sub_snapshot_from_subs(db->path, subs, n, err);
}

int64_t sub_db_data_version(sub_db_t *db)
{
    sqlite3_stmt *st = q(db, Q_DATA_VERSION);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? (int64_t)sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return v;
}

/* ---- import ---- */

static sub_db_rc_t import_in_tx(sub_db_t *db, const sub_snapshot_t *snap, bool replace, const char *source,
                                size_t *created, size_t *replaced, sub_error_t *err)
{
    size_t n = sub_snapshot_count(snap);

    /* A replacing import is not logged row by row: readers re-read everything (floor = this transaction). */
    if (replace && (exec_q(q(db, Q_CLEAR_ID)) < 0 || exec_q(q(db, Q_CLEAR_SUB)) < 0 || exec_q(q(db, Q_LOG_CLEAR)) < 0 ||
                    set_meta_int(db, SUB_DB_FLOOR_KEY, get_meta_int(db, SUB_DB_CHANGES_KEY) + 1) < 0))
        return db_fail(db, err, "clear");
    for (size_t i = 0; i < n; i++) {
        const subscriber_t *sub = sub_snapshot_at(snap, i);
        bool fresh = true;
        if (replace) {
            if (write_rows(db, sub) < 0)
                return db_fail(db, err, "write");
        } else {
            sub_db_rc_t r = put_one(db, sub, i, &fresh, err);
            if (r != SUB_DB_OK)
                return r;
        }
        *(fresh ? created : replaced) += 1;
    }
    if (replace && source != NULL) {
        sqlite3_stmt *st = q(db, Q_SET_META);
        bind_text(st, 1, SUB_DB_SOURCE_KEY);
        bind_text(st, 2, source);
        if (exec_q(st) < 0)
            return db_fail(db, err, "write");
    }
    return SUB_DB_OK;
}

sub_db_rc_t sub_db_import(sub_db_t *db, const sub_snapshot_t *snap, bool replace, const char *source, size_t *created,
                          size_t *replaced, sub_error_t *err)
{
    size_t c = 0, r = 0;

    sub_error_clear(err);
    if (tx_begin(db) < 0)
        return db_fail(db, err, "begin");
    sub_db_rc_t rc = tx_end(db, import_in_tx(db, snap, replace, source, &c, &r, err), err);
    if (created != NULL)
        *created = rc == SUB_DB_OK ? c : 0;
    if (replaced != NULL)
        *replaced = rc == SUB_DB_OK ? r : 0;
    return rc;
}

int sub_db_source(sub_db_t *db, char *out, size_t size)
{
    sqlite3_stmt *st = q(db, Q_GET_META);
    bind_text(st, 1, SUB_DB_SOURCE_KEY);
    int found = first_text(st, out, size);
    if (found <= 0 && size > 0)
        out[0] = '\0';
    return found < 0 ? -1 : 0;
}
