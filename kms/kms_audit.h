/*
 * kms_audit — the KMS audit log (DESIGN §4): one JSON line per decision, appended and flushed.
 *
 * Fields: time (RFC 3339 UTC, ms), requester (the Digest username as sent, or "-"), callId, keyIdHash (never the
 * keyId itself), action (issue, retrieve, delete), outcome (granted, refused, error) and reason.
 */
#ifndef MIHUA_KMS_AUDIT_H
#define MIHUA_KMS_AUDIT_H

#include <event2/event.h>

typedef struct kms_audit kms_audit_t;

typedef struct {
    const char *requester; /* NULL: "-" */
    const char *call_id;   /* NULL: omitted */
    const char *key_id;    /* hashed before it is written (kms_key_id_hash); NULL: omitted */
    const char *action;
    const char *outcome;
    const char *reason;    /* NULL: omitted */
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

/* Reopens the file (after rotation, on SIGHUP). Returns 0 or -1 (the old file stays open). */
int kms_audit_reopen(kms_audit_t *a);

#endif
