/*
 * kms_audit — append-only JSON-lines audit log of mihua-kms (DESIGN §4 "every decision goes to an append-only
 * audit log").
 *
 * The file is opened O_APPEND and each record is rendered by jansson (so a hostile username or callId is escaped,
 * never able to forge a second line) into one buffer that reaches the kernel with a single write(2): a line is
 * whole or absent even if the process dies. That is "flushed per line" without stdio buffering. keyIds are
 * written as their short hash only (kms_key_id_hash): the audit log must not be a key index. The write happens on
 * the event loop; at 40k decisions/s a write(2) per line costs a few percent, accepted for durability.
 */
#include "kms_audit.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "kms/kms_crypto.h"

#define AUDIT_TIME_MAX 32 /* "2026-11-25T18:31:36.123Z" */
#define AUDIT_FILE_MODE 0600 /* callIds and identities are personal data */

struct kms_audit {
    int fd;
    char *path;
};

static int open_append(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, AUDIT_FILE_MODE);
}

kms_audit_t *kms_audit_open(const char *path)
{
    kms_audit_t *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->path = strdup(path);
    a->fd = a->path ? open_append(path) : -1;
    if (a->fd < 0) {
        int e = errno;
        free(a->path);
        free(a);
        errno = e;
        return NULL;
    }
    return a;
}

void kms_audit_close(kms_audit_t *a)
{
    if (!a)
        return;
    close(a->fd);
    free(a->path);
    free(a);
}

int kms_audit_reopen(kms_audit_t *a)
{
    int fd = open_append(a->path);
    if (fd < 0)
        return -1;
    close(a->fd);
    a->fd = fd;
    return 0;
}

static void format_time(char out[AUDIT_TIME_MAX])
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(out, AUDIT_TIME_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, AUDIT_TIME_MAX - n, ".%03dZ", (int)(tv.tv_usec / 1000));
}

static json_t *record_json(const kms_audit_rec_t *rec)
{
    char when[AUDIT_TIME_MAX];
    format_time(when);
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "time", json_string(when));
    json_object_set_new(o, "requester", json_string(rec->requester ? rec->requester : "-"));
    if (rec->call_id)
        json_object_set_new(o, "callId", json_string(rec->call_id));
    char hash[KMS_KEY_ID_HASH_LEN + 1];
    if (rec->key_id && kms_key_id_hash(rec->key_id, strlen(rec->key_id), hash) == 0)
        json_object_set_new(o, "keyIdHash", json_string(hash));
    json_object_set_new(o, "action", json_string(rec->action));
    json_object_set_new(o, "outcome", json_string(rec->outcome));
    if (rec->reason)
        json_object_set_new(o, "reason", json_string(rec->reason));
    return o;
}

int kms_audit_write(kms_audit_t *a, const kms_audit_rec_t *rec)
{
    if (!a || !rec || !rec->action || !rec->outcome)
        return -1;
    json_t *o = record_json(rec);
    /* JSON_ENSURE_ASCII: bytes that are not UTF-8 make json_string fail and drop the member, never the line */
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) : NULL;
    json_decref(o);
    if (!text) {
        log_error("kms", "audit: cannot render a record (out of memory)");
        return -1;
    }
    size_t len = strlen(text);
    text[len] = '\n'; /* overwrite the NUL: the buffer is len + 1 bytes */
    ssize_t n = write(a->fd, text, len + 1);
    free(text);
    if (n != (ssize_t)(len + 1)) {
        log_error("kms", "audit: write to %s failed: %s", a->path, n < 0 ? strerror(errno) : "short write");
        return -1;
    }
    return 0;
}
