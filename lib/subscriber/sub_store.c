/*
 * sub_store — the subscriber snapshot in force for a daemon, its reload and its atomic write-back.
 *
 * Two locks, two jobs:
 *   - `cur_lock` guards only the current pointer and the generation. Readers hold it for the time of a reference
 *     increment (acquire = lock, ref, unlock), so a reload never makes them wait for file I/O or parsing.
 *   - `write_lock` serialises writers (reload, replace) for their whole run, so two admin changes cannot write the
 *     file in one order and swap snapshots in the other.
 * A writer builds and validates the complete new snapshot before touching anything; failure leaves the file and the
 * snapshot in force as they were. The old snapshot is released outside `cur_lock`; it is freed when its last reader
 * lets go (refcount in subscriber.c).
 *
 * Write-back (sub_file_write_atomic): "<file>.tmp.<pid>" in the same directory (rename is atomic only within one
 * file system), fwrite, fflush, fsync, rename over the target, then fsync the directory so the rename itself is
 * durable. The new file takes the old one's permission bits when there is an old one. Trade-off: if only the final
 * directory fsync fails the new text is already in place though -1 is returned; replace then keeps the old snapshot
 * and a later reload picks up the file.
 */
#include "subscriber/sub_store.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUB_STORE_FILE_MODE 0644  /* permissions of a file written where none existed */
#define SUB_STORE_TMP_SUFFIX_MAX 32 /* ".tmp.<pid>" */

struct sub_store {
    char *path;                /* the subscriber file */
    pthread_mutex_t cur_lock;  /* guards cur and generation */
    pthread_mutex_t write_lock; /* serialises reload and replace */
    sub_snapshot_t *cur;       /* snapshot in force; the store holds one reference */
    unsigned long generation;  /* successful loads, initial one included */
};

sub_store_t *sub_store_new(const char *path, sub_error_t *err) {
    sub_error_clear(err);
    if (path == NULL) {
        if (err != NULL)
            snprintf(err->msg, sizeof(err->msg), "(null): no subscriber file given");
        return NULL;
    }
    sub_snapshot_t *snap = sub_snapshot_load_file(path, err);
    if (snap == NULL)
        return NULL;
    sub_store_t *st = calloc(1, sizeof(*st));
    if (st == NULL || (st->path = strdup(path)) == NULL) {
        free(st);
        sub_snapshot_release(snap);
        if (err != NULL)
            snprintf(err->msg, sizeof(err->msg), "%s: out of memory", path);
        return NULL;
    }
    pthread_mutex_init(&st->cur_lock, NULL);
    pthread_mutex_init(&st->write_lock, NULL);
    st->cur = snap;
    st->generation = 1;
    return st;
}

void sub_store_free(sub_store_t *st) {
    if (st == NULL)
        return;
    sub_snapshot_release(st->cur);
    pthread_mutex_destroy(&st->cur_lock);
    pthread_mutex_destroy(&st->write_lock);
    free(st->path);
    free(st);
}

const char *sub_store_path(const sub_store_t *st) {
    return st != NULL ? st->path : NULL;
}

sub_snapshot_t *sub_store_acquire(sub_store_t *st) {
    if (st == NULL)
        return NULL;
    pthread_mutex_lock(&st->cur_lock);
    sub_snapshot_t *s = sub_snapshot_ref(st->cur);
    pthread_mutex_unlock(&st->cur_lock);
    return s;
}

unsigned long sub_store_generation(sub_store_t *st) {
    if (st == NULL)
        return 0;
    pthread_mutex_lock(&st->cur_lock);
    unsigned long g = st->generation;
    pthread_mutex_unlock(&st->cur_lock);
    return g;
}

/* Puts `snap` in force (taking over the caller's reference) and drops the store's reference to the old one. */
static void sub_store_swap(sub_store_t *st, sub_snapshot_t *snap) {
    pthread_mutex_lock(&st->cur_lock);
    sub_snapshot_t *old = st->cur;
    st->cur = snap;
    st->generation++;
    pthread_mutex_unlock(&st->cur_lock);
    sub_snapshot_release(old);
}

int sub_store_reload(sub_store_t *st, sub_error_t *err) {
    sub_error_clear(err);
    if (st == NULL)
        return -1;
    pthread_mutex_lock(&st->write_lock);
    sub_snapshot_t *snap = sub_snapshot_load_file(st->path, err);
    if (snap != NULL)
        sub_store_swap(st, snap);
    pthread_mutex_unlock(&st->write_lock);
    return snap != NULL ? 0 : -1;
}

/* Writes the canonical text of a validated snapshot to the store's file. Returns 0, or -1 with `err` filled. */
static int sub_store_persist(const sub_store_t *st, const sub_snapshot_t *snap, sub_error_t *err) {
    json_t *doc = sub_snapshot_to_json(snap);
    char *text = sub_json_dump(doc);
    json_decref(doc);
    if (text == NULL) {
        if (err != NULL)
            snprintf(err->msg, sizeof(err->msg), "%s: out of memory", st->path);
        return -1;
    }
    int rc = sub_file_write_atomic(st->path, text, strlen(text));
    if (rc < 0 && err != NULL)
        snprintf(err->msg, sizeof(err->msg), "%s: cannot write: %s", st->path, strerror(errno));
    free(text);
    return rc;
}

int sub_store_replace(sub_store_t *st, json_t *root, sub_error_t *err) {
    sub_error_clear(err);
    if (st == NULL || root == NULL) {
        if (err != NULL)
            snprintf(err->msg, sizeof(err->msg), "%s:1:1: (root): must be an object",
                     st != NULL ? st->path : "(null)");
        return -1;
    }
    pthread_mutex_lock(&st->write_lock);
    sub_snapshot_t *snap = sub_snapshot_from_json(st->path, root, err);
    int rc = snap != NULL ? sub_store_persist(st, snap, err) : -1;
    if (rc == 0)
        sub_store_swap(st, snap);
    else
        sub_snapshot_release(snap);
    pthread_mutex_unlock(&st->write_lock);
    return rc;
}

/* ---- atomic file write ---- */

static int sub_fsync_dir_of(const char *path) {
    char *copy = strdup(path);
    if (copy == NULL)
        return -1;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    if (rc < 0 && errno == EINVAL)
        rc = 0; /* the file system cannot sync directories; nothing more we can do */
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* Writes and syncs the temp file; on failure removes it. */
static int sub_write_tmp(const char *tmp, const char *target, const char *text, size_t len) {
    struct stat old;
    mode_t mode = stat(target, &old) == 0 ? (old.st_mode & 07777) : SUB_STORE_FILE_MODE;

    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "wb");
    if (f == NULL) {
        int saved = errno;
        close(fd);
        unlink(tmp);
        errno = saved;
        return -1;
    }
    int ok = fchmod(fd, mode) == 0 && fwrite(text, 1, len, f) == len && fflush(f) == 0 && fsync(fd) == 0;
    int saved = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp);
        errno = saved;
        return -1;
    }
    return 0;
}

int sub_file_write_atomic(const char *path, const char *text, size_t len) {
    if (path == NULL || (text == NULL && len > 0)) {
        errno = EINVAL;
        return -1;
    }
    size_t tmp_size = strlen(path) + SUB_STORE_TMP_SUFFIX_MAX;
    char *tmp = malloc(tmp_size);
    if (tmp == NULL)
        return -1;
    snprintf(tmp, tmp_size, "%s.tmp.%ld", path, (long)getpid());

    int rc = sub_write_tmp(tmp, path, text ? text : "", len);
    if (rc == 0 && rename(tmp, path) < 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        rc = -1;
    }
    if (rc == 0)
        rc = sub_fsync_dir_of(path);
    free(tmp);
    return rc;
}
