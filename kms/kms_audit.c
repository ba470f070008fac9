/*
 * kms_audit — append-only JSON-lines audit log of mihua-kms (DESIGN §4 "every decision goes to an append-only
 * audit log").
 *
 * The file is opened O_APPEND and each record is rendered into one buffer that reaches the kernel with a single
 * write(2): a line is whole or absent even if the process dies. A record whose values are all printable ASCII
 * without '"' or '\\' (every honest one) is printed directly — nothing in it needs escaping, and it is the same
 * bytes jansson would produce; any other record is rendered by jansson (so a hostile username or callId is escaped,
 * never able to forge a second line). That is "flushed per line" without stdio buffering. keyIds are written as
 * their short hash only (kms_crypto_key_id_hash): the audit log must not be a key index.
 *
 * Batching (kms_audit_batch, what mihua-kms uses): lines are collected in one buffer and reach the kernel with one
 * write(2) per event-loop iteration, from an event made active when the first line of a batch is buffered. At 40k
 * decisions/s a write(2) per line was ~5% of the KMS's CPU; per iteration it is a few lines per write. Trade-off,
 * accepted: a crash (SIGKILL, abort) loses at most the lines of the iteration it happens in — decisions whose
 * answers were submitted in that same iteration; the flush event is activated before the answer's socket write,
 * so in practice the line reaches the kernel before the client sees the answer. A batch that fills the buffer is
 * written at once; close, reopen and a line larger than the buffer flush first. Lines stay whole: the buffer
 * only ever holds complete lines and a write(2) to an O_APPEND file is not interleaved with other writers.
 * Without kms_audit_batch (unit tests, tools) every line is written at once, as before.
 */
#include "kms_audit.h"

#include <errno.h>
#include <event2/event.h>
#include <stdbool.h>
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

#define AUDIT_FILE_MODE 0600 /* callIds and identities are personal data */
#define AUDIT_LINE_MAX 1024  /* a plain record: bounded identities and callId; longer ones go through jansson */
#define AUDIT_BATCH_MAX \
    (64 * 1024) /* lines of one loop iteration (~250 bytes each); a fuller batch is written at once */

struct kms_audit {
    int fd;
    char *path;
    kms_crypto_t *crypto;   /* the keyId hash, without a SHA-256 fetch per line */
    struct event *flush_ev; /* batch mode: written from the loop; NULL: every line is written at once */
    char *batch;            /* AUDIT_BATCH_MAX bytes of complete lines (batch mode) */
    size_t batch_len;
    kms_time_cache_t clock; /* the line's time, formatted once per second */
};

static int flush_batch(kms_audit_t *a);

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
    a->crypto = kms_crypto_new();
    a->fd = a->path && a->crypto ? open_append(path) : -1;
    if (a->fd < 0) {
        int e = a->path && a->crypto ? errno : ENOMEM;
        kms_crypto_free(a->crypto);
        free(a->path);
        free(a);
        errno = e;
        return NULL;
    }
    return a;
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush_batch(arg);
}

int kms_audit_batch(kms_audit_t *a, struct event_base *base)
{
    if (!a || !base || a->flush_ev)
        return -1;
    a->batch = malloc(AUDIT_BATCH_MAX);
    a->flush_ev = a->batch ? event_new(base, -1, 0, flush_cb, a) : NULL;
    if (!a->flush_ev) {
        free(a->batch);
        a->batch = NULL;
        return -1;
    }
    return 0;
}

void kms_audit_close(kms_audit_t *a)
{
    if (!a)
        return;
    flush_batch(a);
    if (a->flush_ev)
        event_free(a->flush_ev);
    free(a->batch);
    close(a->fd);
    kms_crypto_free(a->crypto);
    free(a->path);
    free(a);
}

int kms_audit_reopen(kms_audit_t *a)
{
    flush_batch(a); /* the lines so far belong to the old file */
    int fd = open_append(a->path);
    if (fd < 0)
        return -1;
    close(a->fd);
    a->fd = fd;
    return 0;
}

void kms_format_time_ms(kms_time_cache_t *cache, int64_t unix_ms, char out[KMS_TIME_MAX])
{
    int64_t sec = unix_ms / 1000;
    int ms = (int)(unix_ms % 1000);
    if (!cache->text[0] || cache->sec != sec) {
        time_t t = (time_t)sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        if (strftime(cache->text, sizeof cache->text, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
            cache->text[0] = '\0';
        cache->sec = sec;
    }
    size_t n = strlen(cache->text);
    memcpy(out, cache->text, n);
    out[n++] = '.';
    out[n++] = (char)('0' + ms / 100);
    out[n++] = (char)('0' + ms / 10 % 10);
    out[n++] = (char)('0' + ms % 10);
    out[n++] = 'Z';
    out[n] = '\0';
}

static void format_time(kms_audit_t *a, char out[KMS_TIME_MAX])
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    kms_format_time_ms(&a->clock, (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, out);
}

/* Printable ASCII without '"' and '\\': JSON text as it is, with nothing to escape. */
static bool plain(const char *v)
{
    for (; v && *v; v++)
        if ((unsigned char)*v < 0x20 || (unsigned char)*v > 0x7e || *v == '"' || *v == '\\')
            return false;
    return true;
}

static bool record_plain(const kms_audit_rec_t *rec)
{
    return plain(rec->requester) && plain(rec->call_id) && plain(rec->action) && plain(rec->outcome) &&
           plain(rec->reason);
}

/* The common record (every value plain) printed directly: the same members, order and bytes as jansson's
 * compact form. Returns the line length without the newline, or -1 when it does not fit. */
static int record_print(const kms_audit_rec_t *rec, const char *when, const char *hash, char *buf, size_t cap)
{
    size_t n = 0;
    int w = snprintf(buf, cap, "{\"time\":\"%s\",\"requester\":\"%s\"", when, rec->requester ? rec->requester : "-");
    n += w < 0 ? cap : (size_t)w;
    if (rec->call_id && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, ",\"callId\":\"%s\"", rec->call_id);
    if (hash && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, ",\"keyIdHash\":\"%s\"", hash);
    if (n < cap)
        n += (size_t)snprintf(buf + n, cap - n, ",\"action\":\"%s\",\"outcome\":\"%s\"", rec->action, rec->outcome);
    if (rec->reason && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, ",\"reason\":\"%s\"", rec->reason);
    if (n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "}");
    return n < cap ? (int)n : -1;
}

static json_t *record_json(const kms_audit_rec_t *rec, const char *when, const char *hash)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "time", json_string(when));
    json_object_set_new(o, "requester", json_string(rec->requester ? rec->requester : "-"));
    if (rec->call_id)
        json_object_set_new(o, "callId", json_string(rec->call_id));
    if (hash)
        json_object_set_new(o, "keyIdHash", json_string(hash));
    json_object_set_new(o, "action", json_string(rec->action));
    json_object_set_new(o, "outcome", json_string(rec->outcome));
    if (rec->reason)
        json_object_set_new(o, "reason", json_string(rec->reason));
    return o;
}

static int write_all(kms_audit_t *a, const char *text, size_t len)
{
    ssize_t n = write(a->fd, text, len);
    if (n != (ssize_t)len) {
        log_error("kms", "audit: write to %s failed: %s", a->path, n < 0 ? strerror(errno) : "short write");
        return -1;
    }
    return 0;
}

/* Writes the buffered lines (batch mode); nothing to do otherwise. */
static int flush_batch(kms_audit_t *a)
{
    if (!a->batch_len)
        return 0;
    int rc = write_all(a, a->batch, a->batch_len);
    a->batch_len = 0;
    return rc;
}

/* One complete line (newline included): buffered in batch mode, else written at once. */
static int write_line(kms_audit_t *a, const char *text, size_t len)
{
    if (!a->flush_ev)
        return write_all(a, text, len);
    if (len > AUDIT_BATCH_MAX - a->batch_len && flush_batch(a) != 0)
        return -1;
    if (len > AUDIT_BATCH_MAX)
        return write_all(a, text, len);
    if (a->batch_len == 0)
        event_active(a->flush_ev, 0, 0); /* written at the end of this loop iteration */
    memcpy(a->batch + a->batch_len, text, len);
    a->batch_len += len;
    return 0;
}

int kms_audit_write(kms_audit_t *a, const kms_audit_rec_t *rec)
{
    if (!a || !rec || !rec->action || !rec->outcome)
        return -1;
    char when[KMS_TIME_MAX], hash[KMS_KEY_ID_HASH_LEN + 1], line[AUDIT_LINE_MAX];
    format_time(a, when);
    bool hashed = rec->key_id && kms_crypto_key_id_hash(a->crypto, rec->key_id, strlen(rec->key_id), hash) == 0;
    int len = record_plain(rec) ? record_print(rec, when, hashed ? hash : NULL, line, sizeof line - 1) : -1;
    if (len >= 0) {
        line[len] = '\n';
        return write_line(a, line, (size_t)len + 1);
    }
    json_t *o = record_json(rec, when, hashed ? hash : NULL);
    /* JSON_ENSURE_ASCII: bytes that are not UTF-8 make json_string fail and drop the member, never the line */
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) : NULL;
    json_decref(o);
    if (!text) {
        log_error("kms", "audit: cannot render a record (out of memory)");
        return -1;
    }
    size_t tlen = strlen(text);
    text[tlen] = '\n'; /* overwrite the NUL: the buffer is tlen + 1 bytes */
    int rc = write_line(a, text, tlen + 1);
    free(text);
    return rc;
}
