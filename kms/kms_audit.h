/*
 * kms_audit — the KMS audit log (DESIGN §4): one JSON line per decision, appended and flushed.
 *
 * Fields: time (RFC 3339 UTC, ms), requester (the Digest username as sent, or "-"), callId, keyIdHash (never the
 * keyId itself), action (issue, retrieve, delete), outcome (granted, refused, error) and reason.
 */
#ifndef MIHUA_KMS_AUDIT_H
#define MIHUA_KMS_AUDIT_H

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

/* Writes one record as one line and flushes it. Returns 0, or -1 (logged) when the line could not be written. */
int kms_audit_write(kms_audit_t *a, const kms_audit_rec_t *rec);

/* Reopens the file (after rotation, on SIGHUP). Returns 0 or -1 (the old file stays open). */
int kms_audit_reopen(kms_audit_t *a);

#endif
