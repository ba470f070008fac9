/*
 * kms_keys — the KMS key table (DESIGN §4): keyId → one call's session key, its parties, expiry and release state.
 *
 * A key is created for the caller (issue), released once to the callee named at issue (retrieve), deleted by
 * either party (BYE) or dropped at expiry. Time comes from an injectable monotonic clock in milliseconds, so unit
 * tests drive TTL and sweeping without sleeping. The table belongs to one event loop (not thread-safe).
 */
#ifndef MIHUA_KMS_KEYS_H
#define MIHUA_KMS_KEYS_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kms/kms_crypto.h"
#include "subscriber/subscriber.h"

#define KMS_KEYS_TTL_MS_DEFAULT 60000 /* DESIGN §4: default TTL 60 s */
#define KMS_KEYS_MAX_DEFAULT \
    (1u << 20)                        /* live keys; 20k calls/s for 60 s is 1.2M, so full load rejects
                                              (503) before memory grows without bound (~200 B per key) */
#define KMS_KEYS_MAX_LIMIT (1u << 24) /* refuse configurations beyond ~3 GB of table */
#define KMS_KEYS_PER_CALL_DEFAULT 4   /* live keys for one Call-ID: one per call, room for a caller's retries */
#define KMS_KEYS_PER_REQUESTER_DEFAULT \
    4096                                /* live keys one caller holds: a UE has a handful of calls at once; the
                                               bound is on what one subscriber can make the table hold (~1 MB) */
#define KMS_KEYS_SWEEP_INTERVAL_MS 1000 /* expired keys are invisible at once; sweeping only frees memory */
#define KMS_CALL_ID_MAX 256             /* SIP Call-ID values are far shorter; bounds every copy */

/* Milliseconds of a monotonic clock. */
typedef int64_t (*kms_clock_fn)(void *ud);

typedef struct {
    uint64_t ttl_ms;          /* 0: KMS_KEYS_TTL_MS_DEFAULT */
    size_t max_keys;          /* 0: KMS_KEYS_MAX_DEFAULT; at most KMS_KEYS_MAX_LIMIT */
    size_t max_per_call;      /* 0: KMS_KEYS_PER_CALL_DEFAULT; live keys (retrieved ones included) per Call-ID */
    size_t max_per_requester; /* 0: KMS_KEYS_PER_REQUESTER_DEFAULT; live keys per caller (by IMSI) */
    kms_clock_fn clock;       /* NULL: CLOCK_MONOTONIC */
    void *clock_ud;
} kms_keys_cfg_t;

/* One key as callers see it (borrowed from the table, valid until the next call that changes the table). */
typedef struct {
    char key_id[KMS_KEY_ID_LEN + 1];
    char call_id[KMS_CALL_ID_MAX + 1];
    char caller_imsi[SUB_IMSI_MAX + 1]; /* parties by subscriber (DESIGN §4), not by the string the UE sent */
    char callee_imsi[SUB_IMSI_MAX + 1];
    uint8_t key[KMS_KEY_LEN]; /* cleansed once released: the callee holds the only other copy */
    int64_t expires_ms;       /* on the table's clock */
    int64_t expires_unix_ms;  /* the same instant on the wall clock, for expiresAt */
    bool retrieved;
} kms_key_t;

typedef enum {
    KMS_KEYS_OK = 0,
    KMS_KEYS_NOT_FOUND,  /* unknown or expired: 404 KEY_NOT_FOUND */
    KMS_KEYS_WRONG_USER, /* not the callee named at issue (retrieve) or not a party (delete): 403 */
    KMS_KEYS_ALREADY,    /* already released: 410 KEY_ALREADY_RETRIEVED */
    KMS_KEYS_FULL,       /* max_keys live keys: 503 */
    KMS_KEYS_CALL_LIMIT, /* max_per_call live keys for this Call-ID: 429 */
    KMS_KEYS_USER_LIMIT, /* max_per_requester live keys issued to this caller: 429 */
    KMS_KEYS_ERROR,      /* bad argument, RAND failure, no memory: 500 */
} kms_keys_result_t;

typedef struct kms_keys kms_keys_t;

kms_keys_t *kms_keys_new(const kms_keys_cfg_t *cfg);
/* Cleanses and frees every key; stops the sweeper. NULL is fine. */
void kms_keys_free(kms_keys_t *t);

/* Sweeps expired keys every KMS_KEYS_SWEEP_INTERVAL_MS on `base`. Returns 0 or -1. */
int kms_keys_start_sweeper(kms_keys_t *t, struct event_base *base);

/* Creates a key with a fresh random session key and keyId. *out points into the table. */
kms_keys_result_t kms_keys_issue(kms_keys_t *t, const char *call_id, const char *caller_imsi, const char *callee_imsi,
                                 const kms_key_t **out);

/* Looks a live key up (expired = absent); the keyId is compared in constant time. NULL when absent. */
const kms_key_t *kms_keys_find(kms_keys_t *t, const char *key_id);

/* Checks that `requester_imsi` may retrieve `key_id` now, without releasing it (the AS check comes between). */
kms_keys_result_t kms_keys_check_release(kms_keys_t *t, const char *key_id, const char *requester_imsi);

/* Releases the key once to the callee named at issue: copies it to `out`, cleanses the table's copy and marks it
 * retrieved (kept until expiry so a second retrieve is told 410, not 404). */
kms_keys_result_t kms_keys_release(kms_keys_t *t, const char *key_id, const char *requester_imsi,
                                   uint8_t out[KMS_KEY_LEN]);

/* Deletes a key on behalf of either party. */
kms_keys_result_t kms_keys_delete(kms_keys_t *t, const char *key_id, const char *requester_imsi);

/* Frees every expired key; returns how many. */
size_t kms_keys_sweep(kms_keys_t *t);

/* Keys held (expired but not yet swept included). */
size_t kms_keys_count(const kms_keys_t *t);

/* The table's clock, now. */
int64_t kms_keys_now(const kms_keys_t *t);

/* Milliseconds of CLOCK_MONOTONIC (the default clock). */
int64_t kms_clock_monotonic_ms(void *ud);

const char *kms_keys_result_str(kms_keys_result_t r);

#endif
