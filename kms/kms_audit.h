/*
 * kms_audit — the KMS audit log (DESIGN §4): one JSON line per decision, appended and flushed.
 *
 * Fields: time (RFC 3339 UTC, ms), requester (the Digest username as sent, or "-"), callId, keyIdHash (never the
 * keyId itself), action (issue, retrieve, delete), outcome (granted, refused, error) and reason.
 */
#ifndef MIHUA_KMS_AUDIT_H
#define MIHUA_KMS_AUDIT_H

#include <event2/event.h>
#include <stdint.h>

typedef struct kms_audit kms_audit_t;

typedef struct {
    const char *requester; /* NULL: "-" */
    const char *call_id;   /* NULL: omitted */
    const char *key_id;    /* hashed before it is written (kms_key_id_hash); NULL: omitted */
    const char *action;
    const char *outcome;
    const char *reason; /* NULL: omitted */
} kms_audit_rec_t;

/* Opens `path` for appending (created 0600 when absent). NULL with errno on failure. */
kms_audit_t *kms_audit_open(const char *path);
void kms_audit_close(kms_audit_t *a);

/* Writes one record as one line and flushes it (batch mode: buffers it, written once per loop iteration). Returns
 * 0, or -1 (logged) when the line could not be written. */
int kms_audit_write(kms_audit_t *a, const kms_audit_rec_t *rec);

/* Batch mode: from now on lines are written with one write(2) per iteration of `base` (see kms_audit.c for what a
 * crash can lose: at most the lines of the iteration it happens in). Close the log before freeing `base`. Returns
 * 0, or -1 (no memory, or already batching). */
int kms_audit_batch(kms_audit_t *a, struct event_base *base);

/* RFC 3339 UTC with milliseconds ("2026-11-25T18:31:36.123Z", TS 29.571 DateTime) of a Unix time in ms. The
 * cache keeps the formatted second, so gmtime_r and strftime run once per second instead of per line (zero it
 * before first use; one per thread). */
#define KMS_TIME_MAX 32
typedef struct {
    int64_t sec;   /* the second `text` formats; valid when text[0] */
    char text[24]; /* "YYYY-MM-DDTHH:MM:SS" */
} kms_time_cache_t;
void kms_format_time_ms(kms_time_cache_t *cache, int64_t unix_ms, char out[KMS_TIME_MAX]);

/* Reopens the file (after rotation, on SIGHUP). Returns 0 or -1 (the old file stays open). */
int kms_audit_reopen(kms_audit_t *a);

#endif
