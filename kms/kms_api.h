/*
 * kms_api — the KMS's SBI-style JSON API for UEs (DESIGN §4):
 *   POST   /kms/v1/session-keys                  caller  → 201 {keyId, wrappedKey, expiresAt} + Location
 *   POST   /kms/v1/session-keys/{keyId}/retrieve callee  → 200 {keyId, wrappedKey, expiresAt}, once
 *   DELETE /kms/v1/session-keys/{keyId}          either party → 204
 * Every request is authenticated with HTTP Digest (RFC 7616, SHA-256, qop=auth); issue and retrieve are checked
 * with the AS (kms_as_path.h: GET /as/v1/calls/{callId}, with the AS's bearer token) and refused, fail closed,
 * unless it confirms the call. GET /metrics takes the KMS's own admin token (sbi_auth, for that one route).
 */
#ifndef MIHUA_KMS_API_H
#define MIHUA_KMS_API_H

#include <event2/event.h>
#include <jansson.h>

#include "kms_as_path.h"
#include "kms_audit.h"
#include "core/metrics.h"
#include "kms_keys.h"
#include "sbi/sbi_client.h"
#include "sbi/sbi_auth.h"
#include "sbi/sbi_server.h"
#include "subscriber/sub_store.h"

#define KMS_DIGEST_REALM "mihua-kms"

/* Causes of the KMS (DESIGN §4) beside the TS 29.500 ones of sbi_problem.h. */
#define KMS_CAUSE_CALL_NOT_AUTHORIZED "CALL_NOT_AUTHORIZED"
#define KMS_CAUSE_KEY_NOT_FOUND "KEY_NOT_FOUND"
#define KMS_CAUSE_KEY_ALREADY_RETRIEVED "KEY_ALREADY_RETRIEVED"
#define KMS_CAUSE_AUTH_REQUIRED "AUTHENTICATION_REQUIRED"         /* 401: no Authorization header */
#define KMS_CAUSE_AUTH_FAILED "AUTHENTICATION_FAILED"             /* 401: unknown user or wrong response */
#define KMS_CAUSE_NONCE_STALE "NONCE_STALE"                       /* 401 stale=true: retry with the new nonce */
#define KMS_CAUSE_NONCE_REPLAYED "NONCE_REPLAYED"                 /* 401: nc not above the last accepted one */
#define KMS_CAUSE_INSUFFICIENT_RESOURCES "INSUFFICIENT_RESOURCES" /* TS 29.500: 503, key table full */
#define KMS_CAUSE_KEYS_PER_CALL "KEY_LIMIT_PER_CALL"              /* 429: max_keys_per_call live keys for the call */
#define KMS_CAUSE_KEYS_PER_REQUESTER "KEY_LIMIT_PER_REQUESTER"    /* 429: max_keys_per_requester live keys */

typedef struct {
    sub_store_t *store;      /* borrowed */
    kms_keys_t *keys;        /* borrowed */
    kms_audit_t *audit;      /* borrowed */
    sbi_client_t *as_client; /* borrowed: talks to the AS */
    const char *as_url;      /* base URL, copied */
    unsigned as_timeout_ms;
    unsigned nonce_lifetime_s;
    metrics_t *metrics;   /* borrowed; non-NULL: GET /metrics serves it (counters only, no identities), and
                                 mihua_kms_keys_refused_total{reason} counts key-table refusals */
    const char *as_token; /* bearer token for the AS (copied), or NULL */
    const sbi_auth_conf_t *metrics_auth; /* token of GET /metrics (sbi_auth_conf_finish done) */
} kms_api_cfg_t;

typedef struct kms_api kms_api_t;

/* Registers the three routes on `srv`. NULL on allocation failure. */
kms_api_t *kms_api_new(sbi_server_t *srv, const kms_api_cfg_t *cfg);
/* Cancels pending AS checks and frees. Free the server first (it holds the routes), the AS client after. */
void kms_api_free(kms_api_t *api);

#endif
