/*
 * sub_store — a daemon's view of the subscriber store (sub_db): an immutable in-memory snapshot for the hot path,
 * kept in step with the database by a refresher thread.
 *
 * Readers call sub_store_acquire() and get a reference to the snapshot in force: lookups stay in memory (bsearch
 * over sorted indexes, no SQL, no lock beyond a reference increment), as fast as when the data came from a file.
 * The refresher thread polls the database's change counter (PRAGMA data_version) every SUB_STORE_POLL_MS; when
 * another connection has committed — this daemon's admin API, another simulator, mihua-subscribers — it reads the
 * subscribers changed since its last full read (the store's changelog) into a layer over that full snapshot
 * (sub_snapshot_layer) and swaps it in; a replacing import, or more than SUB_STORE_DELTA_MAX changed subscribers,
 * is read whole and becomes the new base. Readers keep the old snapshot until they let go, so a reload or a bulk
 * import never pauses lookups.
 *
 * Trade-off: a change costs every daemon one poll plus a read of the changed rows (milliseconds, whatever the
 * size of the data set), and a lookup in a layer two bsearches instead of one; a full read (start, replacing
 * import, many changes) costs a third of a second per 100k subscribers and seconds per million, in the refresher
 * thread. Each daemon holds its own snapshot. Polling costs one read of the WAL index per tick and no I/O; a
 * notification channel between processes would save that, not the read.
 *
 * At start the subscriber file (`--subscribers`, optional) is imported into the database in one transaction when
 * its content differs from the one imported last (a SHA-256 digest is kept in the store), so a restart with the
 * same file keeps what the admin API changed since, and an edited file replaces the data set. SIGHUP and
 * POST /admin/v1/reload import it again unconditionally. A file over subscribers_max_bytes is refused from its
 * size alone, unread: the text and its parse are held in memory at once, a multi-gigabyte (or sparse, or endless)
 * file would cost that much memory and seconds of a daemon's loop.
 */
#ifndef MIHUA_SUB_STORE_H
#define MIHUA_SUB_STORE_H

#include "subscriber/sub_db.h"
#include "subscriber/subscriber.h"

#define SUB_STORE_POLL_MS 10 /* change detection period: well inside the 100 ms DESIGN §5 allows for propagation */

#define SUB_STORE_DELTA_MAX \
    4096                           /* subscribers changed since the last full read that a layer carries; beyond,
                                    one full read starts a new base (layers cost two lookups and O(changes)) */
#define SUB_STORE_LOOP_BUSY_MS 250 /* an admin write waits this long for another writer, then 503 */

typedef struct sub_store sub_store_t;

/* Opens the store at `db_path` (NULL: sub_store_default_path(import_path)), imports `import_path` (may be NULL)
 * when it changed since the last import, loads the snapshot and starts the refresher. NULL with `err` filled when
 * the database cannot be opened or the file is missing or invalid (nothing is then changed in the database). */
sub_store_t *sub_store_new(const char *db_path, const char *import_path, sub_error_t *err);

/* Same, with the largest subscriber file it reads (at start and on every reload): a larger file, or one that is
 * not a regular file, is refused before it is read (sub_file_read). 0, and sub_store_new, mean
 * SUB_FILE_MAX_BYTES_DEFAULT. */
sub_store_t *sub_store_new_max(const char *db_path, const char *import_path, size_t max_bytes, sub_error_t *err);

/* The config field and command-line option for that bound, for a daemon's cfg_field_t and cli_option_t tables
 * (lib/core/cli.h). `p` is a long * the daemon set to SUB_FILE_MAX_BYTES_DEFAULT before parsing. */
#define SUB_STORE_MAX_BYTES_LIMIT (1L << 40)
#define SUB_STORE_MAX_BYTES_FIELD(p)                                                                                \
    {                                                                                                               \
        .name = SUB_FILE_MAX_BYTES_SETTING, .type = CFG_INT, .dst = (p), .min = 1, .max = SUB_STORE_MAX_BYTES_LIMIT \
    }
#define SUB_STORE_MAX_BYTES_OPTION                                                                                     \
    {                                                                                                                  \
        "subscribers-max-bytes", SUB_FILE_MAX_BYTES_SETTING, "BYTES",                                                  \
            "a larger subscriber file, or not a regular file, is refused unread: at start the daemon does not start, " \
            "on reload the data in force stays; default 1073741824 (1 GiB)"                                            \
    }
void sub_store_free(sub_store_t *st);

/* The default database path for a subscriber file: the file's path with ".json" replaced by ".db" ("conf/
 * subscribers.json" -> "conf/subscribers.db"); SUB_STORE_DEFAULT_DB without a file. malloc'd. */
#define SUB_STORE_DEFAULT_DB "subscribers.db"
char *sub_store_default_path(const char *import_path);

/* The subscriber file given at start (NULL when none) and the database path. */
const char *sub_store_path(const sub_store_t *st);
const char *sub_store_db_path(const sub_store_t *st);

/* A reference to the snapshot in force; release it with sub_snapshot_release(). Thread-safe. */
sub_snapshot_t *sub_store_acquire(sub_store_t *st);

/* Imports the subscriber file again (replacing the data set) and puts it in force before returning. On error
 * the database and the snapshot stay as they were and `err` says why. Returns 0 or -1. Call from one thread. */
int sub_store_reload(sub_store_t *st, sub_error_t *err);

/* Reads the database into a new snapshot now (after a write through sub_store_db, so that the writer's next
 * lookup sees it without waiting for the refresher). Returns 0 or -1. */
int sub_store_refresh(sub_store_t *st, sub_error_t *err);

/* The store's own connection, for writes (admin API). Use it from one thread (the daemon's loop). Once the store
 * is open it waits at most SUB_STORE_LOOP_BUSY_MS for another writer (the import at start waits longer). */
sub_db_t *sub_store_db(sub_store_t *st);

/* Number of snapshots put in force (the initial one counts as 1); handy for tests, metrics and Sh sequence numbers. */
unsigned long sub_store_generation(sub_store_t *st);

#endif
