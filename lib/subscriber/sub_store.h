/*
 * sub_store — the live subscriber data of a daemon: the current snapshot, reload and atomic write-back.
 *
 * Readers call sub_store_acquire() and get a reference to the snapshot in force; a reload or an admin change
 * builds a complete new snapshot first and only then swaps the pointer under a mutex, so a failed reload changes
 * nothing and a reader never sees a half-loaded file. Write-back goes to "<file>.tmp.<pid>", fsync, rename: a crash
 * leaves either the old or the new file, never a torn one.
 */
#ifndef MIHUA_SUB_STORE_H
#define MIHUA_SUB_STORE_H

#include "subscriber/subscriber.h"

typedef struct sub_store sub_store_t;

/* Loads `path`; NULL with `err` filled when the file is missing or invalid. */
sub_store_t *sub_store_new(const char *path, sub_error_t *err);
void sub_store_free(sub_store_t *st);

const char *sub_store_path(const sub_store_t *st);

/* A reference to the snapshot in force; release it with sub_snapshot_release(). Thread-safe. */
sub_snapshot_t *sub_store_acquire(sub_store_t *st);

/* Re-reads the file. On error the old snapshot stays in force and `err` says why. Returns 0 or -1. */
int sub_store_reload(sub_store_t *st, sub_error_t *err);

/* Validates `root` (a whole DESIGN §5 document), writes it atomically to the store's file, then swaps it in.
 * On any error nothing changes. Takes no reference to root. Returns 0 or -1. */
int sub_store_replace(sub_store_t *st, json_t *root, sub_error_t *err);

/* Writes `text` to `path` atomically (temp file in the same directory, fsync, rename). Returns 0 or -1 (errno). */
int sub_file_write_atomic(const char *path, const char *text, size_t len);

/* Number of successful loads (initial load counts as 1); handy for tests and metrics. */
unsigned long sub_store_generation(sub_store_t *st);

#endif
