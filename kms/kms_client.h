/*
 * kms_client — the UE side of the KMS API (DESIGN §4), asynchronous on the caller's libevent loop.
 *
 * One kms_client_t is one UE identity (Digest username + kms_key) talking to one KMS through a borrowed
 * sbi_client_t (which owns the HTTP/2 connection). It answers Digest challenges (RFC 7616, SHA-256, qop=auth) and
 * then reuses the nonce with nc+1 for the next requests, so after the first challenge a call costs no extra round
 * trip; a 401 (stale nonce, replay after reordering) is answered with the new challenge, at most
 * KMS_CLIENT_MAX_AUTH_ROUNDS times. Keys arrive wrapped (RFC 5649 under HKDF(kms_key, callId)); the client unwraps
 * them and hands the 32-byte session key to the callback, then cleanses its copy.
 */
#ifndef MIHUA_KMS_CLIENT_H
#define MIHUA_KMS_CLIENT_H

#include <stdint.h>

#include "kms/kms_crypto.h"
#include "sbi/sbi_client.h"

#define KMS_CLIENT_MAX_AUTH_ROUNDS 3 /* challenge + stale nonce + a replay after reordering */
#define KMS_CLIENT_CAUSE_MAX 64
#define KMS_CLIENT_TIME_MAX 40      /* expiresAt, RFC 3339 */
#define KMS_CLIENT_IDENTITY_MAX 256 /* an IMPU */
#define KMS_CLIENT_CALL_ID_MAX 256

typedef enum {
    KMS_CLIENT_OK = 0,     /* 201 / 200 / 204 as expected; session_key set for issue and retrieve */
    KMS_CLIENT_REFUSED,    /* the KMS answered an error: http_status and cause say which */
    KMS_CLIENT_TRANSPORT,  /* no answer: connect, timeout, reset (transport says which) */
    KMS_CLIENT_BAD_ANSWER, /* a success without the fields, or a wrappedKey that does not unwrap */
} kms_client_status_t;

typedef struct {
    kms_client_status_t status;
    int http_status; /* 0 for TRANSPORT */
    sbi_client_err_t transport;
    char cause[KMS_CLIENT_CAUSE_MAX]; /* ProblemDetails cause, "" when none */
    char key_id[KMS_KEY_ID_LEN + 1];
    char expires_at[KMS_CLIENT_TIME_MAX];
    uint8_t session_key[KMS_KEY_LEN]; /* valid during the callback only; cleansed after it */
    unsigned auth_rounds;             /* 401s answered for this request (0 when the nonce was reused) */
    uint64_t elapsed_us;              /* first submission to completion */
} kms_client_result_t;

typedef void (*kms_client_cb)(const kms_client_result_t *res, void *ud);

typedef struct {
    const char *base_url;   /* "https://127.0.0.1:7702" */
    const char *username;   /* IMPU or MSISDN (DESIGN §4 compares by subscriber) */
    const uint8_t *kms_key; /* KMS_KEY_LEN bytes, copied (and cleansed on free) */
    unsigned timeout_ms;    /* per HTTP request; 0: the sbi_client's default */
} kms_client_cfg_t;

typedef struct kms_client kms_client_t;

/* `sbi` is borrowed and must outlive the client. NULL on bad configuration or no memory. */
kms_client_t *kms_client_new(sbi_client_t *sbi, const kms_client_cfg_t *cfg);
/* Cancels requests in flight (their callbacks are not called). NULL is fine. */
void kms_client_free(kms_client_t *c);

/* Each returns 0 and calls `cb` exactly once later from the loop, or -1 (bad argument, no memory) and never. */
int kms_client_issue(kms_client_t *c, const char *call_id, const char *caller, const char *callee, kms_client_cb cb,
                     void *ud);
int kms_client_retrieve(kms_client_t *c, const char *key_id, const char *call_id, const char *caller,
                        const char *callee, kms_client_cb cb, void *ud);
int kms_client_delete(kms_client_t *c, const char *key_id, kms_client_cb cb, void *ud);
/* Opens the connection (TCP + TLS) and learns the Digest challenge with one unauthenticated request whose 401 is
 * the expected answer (KMS_CLIENT_OK, http_status 401), so that a UE's first issue or retrieve of a call costs one
 * round trip rather than a handshake and two. A UE calls it once, e.g. after registering. */
int kms_client_prime(kms_client_t *c, kms_client_cb cb, void *ud);

/* The challenges this client has adopted so far (tests: proves nonce reuse). */
unsigned kms_client_challenges(const kms_client_t *c);

const char *kms_client_status_str(kms_client_status_t s);

#endif
