/*
 * kms_as_path — the KMS→AS interface (DESIGN §4; patent claims 11-13): before a key is issued or released, the KMS
 * asks the AS whether the call exists and may be encrypted:
 *   GET {as}/as/v1/calls/{callId}   (Authorization: Bearer <as.token>, when configured)
 *   200 {callId, caller, callee, encryptionAllowed}
 * and accepts only a 200 that confirms the call, its permission and both parties (compared by subscriber). Fail
 * closed: no answer, a timeout, a 404, a 401/403 or any other answer is a refusal with a short reason.
 *
 * The check is asynchronous on the KMS's sbi_client; its state lives in a kms_as_check_t the caller embeds in its
 * own per-request object, so a check costs no allocation of its own.
 */
#ifndef MIHUA_KMS_AS_PATH_H
#define MIHUA_KMS_AS_PATH_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "sbi/sbi_client.h"
#include "subscriber/subscriber.h"

typedef struct kms_as_path kms_as_path_t;

/* The end of a check: `why` NULL when the AS confirmed the call, else the reason for the audit log. */
typedef void (*kms_as_done_fn)(const char *why, void *ud);

/* One check in flight. Fill the call and the callback; the rest is the path's. Must stay put until `done` ran or
 * kms_as_path_cancel returned. */
typedef struct {
    const sub_snapshot_t *snap; /* resolves the parties the AS names */
    const char *call_id;
    const subscriber_t *caller, *callee;
    kms_as_done_fn done;
    void *ud;
    kms_as_path_t *path; /* set by kms_as_path_start */
    uint64_t request;    /* sbi_client request id while the check runs */
} kms_as_check_t;

/* `client` borrowed; `as_url` (trailing '/' dropped) and `as_token` (may be NULL) copied. NULL on allocation
 * failure. */
kms_as_path_t *kms_as_path_new(sbi_client_t *client, const char *as_url, unsigned timeout_ms, const char *as_token);
/* Wipes the token. Cancel the checks in flight first (kms_as_path_cancel). NULL is fine. */
void kms_as_path_free(kms_as_path_t *p);

/* Sends the GET; `c->done` runs once with the verdict. -1 when the request cannot be made (then done never
 * runs). */
int kms_as_path_start(kms_as_path_t *p, kms_as_check_t *c);
/* Drops a check in flight; its done never runs. */
void kms_as_path_cancel(kms_as_check_t *c);

/* The verdict on one answer (pure; exposed for unit tests). `status` 0 means no answer (transport error described
 * by `transport`); `body` is the parsed AS answer or NULL. NULL when the AS confirms the call (exists,
 * encryptionAllowed true, same callId, caller and callee by subscriber), else a short reason for the audit log. */
const char *kms_as_verdict(const sub_snapshot_t *snap, int status, const char *transport, const json_t *body,
                           const char *call_id, const subscriber_t *caller, const subscriber_t *callee);

/* Both named and the same subscriber (by IMSI). */
bool kms_same_subscriber(const subscriber_t *a, const subscriber_t *b);

#endif
