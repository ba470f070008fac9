/*
 * sub_db — the durable subscriber store (DESIGN §5 "At scale"): one SQLite database in WAL mode, shared by
 * mihua-hss, mihua-udm, mihua-kms and mihua-subscribers on one machine.
 *
 * The interface is the one a networked backend would also offer: get by identity, put, patch, delete, iterate,
 * import a validated document in one transaction, and a change counter to poll. A sub_db_t is one connection: use
 * it from one thread at a time (each thread that needs the store opens its own; SQLite serialises writers across
 * connections and processes, readers never wait for a writer in WAL mode).
 *
 * Every write is one small transaction (BEGIN IMMEDIATE ... COMMIT) that checks the cross-subscriber rules of the
 * file loader against what is stored (MSISDN and IMPU unique, an IMPU number is nobody else's MSISDN), so the
 * store never holds what a file import would reject. Field validation is the loader's own (subscriber.h).
 */
#ifndef MIHUA_SUB_DB_H
#define MIHUA_SUB_DB_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "subscriber/subscriber.h"

typedef struct sub_db sub_db_t;

#define SUB_DB_BUSY_MS 10000 /* how long a write waits for another writer (a bulk import of 1M takes seconds) */

typedef enum {
    SUB_DB_OK = 0,
    SUB_DB_NOT_FOUND, /* no subscriber with that identity */
    SUB_DB_INVALID,   /* the change breaks a rule: err names the field ("subscribers[0].msisdn") */
    SUB_DB_BUSY,      /* another writer held the store for longer than SUB_DB_BUSY_MS (a bulk import): retry */
    SUB_DB_ERROR,     /* the database failed (I/O, out of memory): err says why */
} sub_db_rc_t;

/* Opens (creating when absent) the database at `path` in WAL mode. NULL with err->msg filled on failure. */
sub_db_t *sub_db_open(const char *path, sub_error_t *err);
void sub_db_close(sub_db_t *db);

/* How long a write waits for another writer before SUB_DB_BUSY (default SUB_DB_BUSY_MS). A connection used on an
 * event loop sets it short, so that a bulk import elsewhere costs one write a quick 503, not the loop a pause. */
void sub_db_set_busy_ms(sub_db_t *db, int ms);
const char *sub_db_path(const sub_db_t *db);

/* Looks one subscriber up by any identity form sub_find_by_identity accepts (IMSI, MSISDN, IMPU, tel/sip number).
 * Fills `out` (release it with sub_subscriber_clear). */
sub_db_rc_t sub_db_get(sub_db_t *db, const char *identity, subscriber_t *out, sub_error_t *err);

/* Creates or replaces the subscriber `sub->imsi`. *created says which. */
sub_db_rc_t sub_db_put(sub_db_t *db, const subscriber_t *sub, bool *created, sub_error_t *err);

/* Applies an RFC 7396 JSON merge patch to the stored subscriber `imsi` and stores the result if it validates;
 * read, validation and write are one transaction, so two concurrent patches of different fields both survive.
 * `out` (may be NULL) receives the stored result. */
sub_db_rc_t sub_db_patch(sub_db_t *db, const char *imsi, json_t *patch, subscriber_t *out, sub_error_t *err);

sub_db_rc_t sub_db_delete(sub_db_t *db, const char *imsi, sub_error_t *err);

/* Calls fn for each subscriber whose IMSI sorts after `after` ("" or NULL: from the first), in IMSI order, at most
 * `limit` (0: all). fn returns 0 to go on, anything else to stop. Returns the number visited or -1 (err filled). */
typedef int (*sub_db_visit_fn)(const subscriber_t *sub, void *ud);
long sub_db_iterate(sub_db_t *db, const char *after, size_t limit, sub_db_visit_fn fn, void *ud, sub_error_t *err);

long sub_db_count(sub_db_t *db);

/* Imports a validated snapshot in one transaction. replace: the snapshot becomes the whole data set; otherwise
 * each subscriber is put (created or replaced) and the rules are checked against the rest of the store, a
 * conflict naming subscribers[i] of the snapshot. `source` (may be NULL) is recorded as the import's origin (see
 * sub_db_source). On any error nothing changes. *created / *replaced (may be NULL) count what was written. */
sub_db_rc_t sub_db_import(sub_db_t *db, const sub_snapshot_t *snap, bool replace, const char *source, size_t *created,
                          size_t *replaced, sub_error_t *err);

/* The `source` of the last replacing import (e.g. a file's digest), or "" when none; written into out. */
int sub_db_source(sub_db_t *db, char *out, size_t size);

/* Reads every subscriber into a new snapshot, in one read transaction; *changes (may be NULL) receives the
 * sub_db_changes value of that same state. NULL with err filled. */
sub_snapshot_t *sub_db_snapshot(sub_db_t *db, int64_t *changes, sub_error_t *err);

/* Write transactions committed to the store so far (by anybody): tells whether a snapshot is still current. */
int64_t sub_db_changes(sub_db_t *db);

/* What changed after transaction `since`: the IMSIs written (changed, created or deleted) and the current rows of
 * those that still exist, read in one transaction whose sub_db_changes value is `changes`. */
typedef struct {
    char (*imsis)[SUB_IMSI_MAX + 1]; /* malloc'd */
    size_t n_imsis;
    subscriber_t *subs; /* malloc'd; the subscribers among imsis that exist now */
    size_t n_subs;
    int64_t changes;
} sub_db_delta_t;

/* SUB_DB_OK with `d` filled (free it with sub_db_delta_free; the caller may take imsis and subs over and set them
 * NULL); SUB_DB_NOT_FOUND when the changelog does not reach back to `since` (a replacing import, or more than
 * SUB_DB_CHANGELOG_KEEP transactions) or more than `max` subscribers changed: read everything instead. */
sub_db_rc_t sub_db_delta(sub_db_t *db, int64_t since, size_t max, sub_db_delta_t *d, sub_error_t *err);
void sub_db_delta_free(sub_db_delta_t *d);

/* SQLite's PRAGMA data_version: changes when another connection (this process or another) commits. */
int64_t sub_db_data_version(sub_db_t *db);

/* RFC 7396 JSON merge patch of `target` (modified in place) by `patch`. */
void sub_json_merge_patch(json_t *target, json_t *patch);

#endif
