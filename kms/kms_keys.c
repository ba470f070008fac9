/*
 * kms_keys — the key table of mihua-kms (DESIGN §4: single release to the callee, TTL, cleansing).
 *
 * Design: a chained hash table on the keyId (buckets doubled when the load passes 1) plus one doubly linked list
 * in issue order. Every key gets the same TTL, so issue order is expiry order and the sweeper only ever looks at
 * the head of the list: O(expired) per sweep, no heap or timer wheel. A lookup treats an expired key as absent
 * at once, so the sweep interval affects memory only, never correctness.
 *
 * keyIds are random (128 bits), so the hash only spreads entries; the final comparison of a keyId is constant
 * time (kms_ct_equal) so a probe learns nothing from timing about how much of a guessed keyId matched. Session
 * keys are cleansed (OPENSSL_cleanse via kms_cleanse) on release, delete, expiry and free; a released key stays
 * as a tombstone without key bytes until expiry so that a second retrieve is told 410, not 404.
 *
 * Trade-off: TTL changes need a new table (the order invariant); the KMS reads its TTL once at start.
 */
#include "kms_keys.h"

#include "kms_counts.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define BUCKETS_INITIAL 1024 /* power of two; doubled as keys arrive */
#define FNV_OFFSET 1469598103934665603ull
#define FNV_PRIME 1099511628211ull

typedef struct entry {
    kms_key_t k;
    struct entry *chain;         /* next in the bucket */
    struct entry *older, *newer; /* issue (= expiry) order */
} entry_t;

struct kms_keys {
    entry_t **buckets;
    size_t n_buckets; /* power of two */
    size_t count;
    size_t max_keys;
    uint64_t ttl_ms;
    entry_t *oldest, *newest;
    kms_clock_fn clock;
    void *clock_ud;
    struct event *sweeper;
    size_t max_per_call, max_per_requester;
    kms_counts_t *per_call;   /* live keys per Call-ID */
    kms_counts_t *per_caller; /* live keys per caller IMSI */
};

int64_t kms_clock_monotonic_ms(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t kms_keys_now(const kms_keys_t *t)
{
    return t->clock(t->clock_ud);
}

static size_t hash_key_id(const char *key_id)
{
    uint64_t h = FNV_OFFSET;
    for (const unsigned char *p = (const unsigned char *)key_id; *p; p++)
        h = (h ^ *p) * FNV_PRIME;
    return (size_t)h;
}

kms_keys_t *kms_keys_new(const kms_keys_cfg_t *cfg)
{
    kms_keys_cfg_t def = {0};
    if (!cfg)
        cfg = &def;
    if (cfg->max_keys > KMS_KEYS_MAX_LIMIT)
        return NULL;
    kms_keys_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->n_buckets = BUCKETS_INITIAL;
    t->buckets = calloc(t->n_buckets, sizeof *t->buckets);
    t->per_call = kms_counts_new();
    t->per_caller = kms_counts_new();
    if (!t->buckets || !t->per_call || !t->per_caller) {
        kms_keys_free(t);
        return NULL;
    }
    t->max_per_call = cfg->max_per_call ? cfg->max_per_call : KMS_KEYS_PER_CALL_DEFAULT;
    t->max_per_requester = cfg->max_per_requester ? cfg->max_per_requester : KMS_KEYS_PER_REQUESTER_DEFAULT;
    t->ttl_ms = cfg->ttl_ms ? cfg->ttl_ms : KMS_KEYS_TTL_MS_DEFAULT;
    t->max_keys = cfg->max_keys ? cfg->max_keys : KMS_KEYS_MAX_DEFAULT;
    t->clock = cfg->clock ? cfg->clock : kms_clock_monotonic_ms;
    t->clock_ud = cfg->clock_ud;
    return t;
}

static void entry_free(entry_t *e)
{
    kms_cleanse(e, sizeof *e);
    free(e);
}

void kms_keys_free(kms_keys_t *t)
{
    if (!t)
        return;
    if (t->sweeper)
        event_free(t->sweeper);
    entry_t *e = t->oldest;
    while (e) {
        entry_t *next = e->newer;
        entry_free(e);
        e = next;
    }
    free(t->buckets);
    kms_counts_free(t->per_call);
    kms_counts_free(t->per_caller);
    free(t);
}

static entry_t **bucket_of(const kms_keys_t *t, const char *key_id)
{
    return &t->buckets[hash_key_id(key_id) & (t->n_buckets - 1)];
}

/* Doubles the bucket array; on allocation failure the table keeps working with longer chains. */
static void grow(kms_keys_t *t)
{
    size_t n = t->n_buckets * 2;
    entry_t **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < t->n_buckets; i++) {
        entry_t *e = t->buckets[i];
        while (e) {
            entry_t *next = e->chain;
            size_t j = hash_key_id(e->k.key_id) & (n - 1);
            e->chain = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->n_buckets = n;
}

static void unlink_entry(kms_keys_t *t, entry_t *e)
{
    entry_t **pp = bucket_of(t, e->k.key_id);
    while (*pp && *pp != e)
        pp = &(*pp)->chain;
    if (*pp)
        *pp = e->chain;
    if (e->older)
        e->older->newer = e->newer;
    else
        t->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        t->newest = e->older;
    t->count--;
    kms_counts_dec(t->per_call, e->k.call_id);
    kms_counts_dec(t->per_caller, e->k.caller_imsi);
    entry_free(e);
}

/* The entry of key_id, expired or not. */
static entry_t *lookup(const kms_keys_t *t, const char *key_id)
{
    size_t len = strnlen(key_id, KMS_KEY_ID_LEN + 1);
    if (len != KMS_KEY_ID_LEN)
        return NULL;
    for (entry_t *e = *bucket_of(t, key_id); e; e = e->chain)
        if (kms_ct_equal(e->k.key_id, KMS_KEY_ID_LEN, key_id, len))
            return e;
    return NULL;
}

static entry_t *lookup_live(kms_keys_t *t, const char *key_id)
{
    entry_t *e = lookup(t, key_id);
    if (e && e->k.expires_ms <= kms_keys_now(t))
        return NULL;
    return e;
}

static bool copy_field(char *dst, size_t cap, const char *src)
{
    size_t len = strnlen(src, cap);
    if (len == 0 || len >= cap)
        return false;
    memcpy(dst, src, len + 1);
    return true;
}

static entry_t *entry_new(const char *call_id, const char *caller_imsi, const char *callee_imsi)
{
    entry_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    if (!copy_field(e->k.call_id, sizeof e->k.call_id, call_id) ||
        !copy_field(e->k.caller_imsi, sizeof e->k.caller_imsi, caller_imsi) ||
        !copy_field(e->k.callee_imsi, sizeof e->k.callee_imsi, callee_imsi) ||
        kms_session_key_and_id_new(e->k.key, e->k.key_id) != 0) {
        entry_free(e);
        return NULL;
    }
    return e;
}

/* The per-call and per-requester bounds; expired keys still counted are swept first, so they never refuse. */
static kms_keys_result_t check_limits(kms_keys_t *t, const char *call_id, const char *caller_imsi)
{
    bool call_full = kms_counts_get(t->per_call, call_id) >= t->max_per_call;
    bool user_full = kms_counts_get(t->per_caller, caller_imsi) >= t->max_per_requester;
    if ((call_full || user_full) && kms_keys_sweep(t) > 0) {
        call_full = kms_counts_get(t->per_call, call_id) >= t->max_per_call;
        user_full = kms_counts_get(t->per_caller, caller_imsi) >= t->max_per_requester;
    }
    return call_full ? KMS_KEYS_CALL_LIMIT : user_full ? KMS_KEYS_USER_LIMIT : KMS_KEYS_OK;
}

kms_keys_result_t kms_keys_issue(kms_keys_t *t, const char *call_id, const char *caller_imsi, const char *callee_imsi,
                                 const kms_key_t **out)
{
    if (!t || !call_id || !caller_imsi || !callee_imsi || !out)
        return KMS_KEYS_ERROR;
    if (t->count >= t->max_keys && kms_keys_sweep(t) == 0)
        return KMS_KEYS_FULL;
    kms_keys_result_t lim = check_limits(t, call_id, caller_imsi);
    if (lim != KMS_KEYS_OK)
        return lim;
    entry_t *e = entry_new(call_id, caller_imsi, callee_imsi);
    if (!e)
        return KMS_KEYS_ERROR;
    if (lookup(t, e->k.key_id) || kms_counts_inc(t->per_call, e->k.call_id) != 0) { /* 2^-128: refuse, not shadow */
        entry_free(e);
        return KMS_KEYS_ERROR;
    }
    if (kms_counts_inc(t->per_caller, e->k.caller_imsi) != 0) {
        kms_counts_dec(t->per_call, e->k.call_id);
        entry_free(e);
        return KMS_KEYS_ERROR;
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    e->k.expires_ms = kms_keys_now(t) + (int64_t)t->ttl_ms;
    e->k.expires_unix_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000 + (int64_t)t->ttl_ms;
    entry_t **b = bucket_of(t, e->k.key_id);
    e->chain = *b;
    *b = e;
    e->older = t->newest;
    if (t->newest)
        t->newest->newer = e;
    else
        t->oldest = e;
    t->newest = e;
    t->count++;
    if (t->count > t->n_buckets)
        grow(t);
    *out = &e->k;
    return KMS_KEYS_OK;
}

const kms_key_t *kms_keys_find(kms_keys_t *t, const char *key_id)
{
    entry_t *e = t && key_id ? lookup_live(t, key_id) : NULL;
    return e ? &e->k : NULL;
}

static bool same_imsi(const char *a, const char *b)
{
    return kms_ct_equal(a, strlen(a), b, strlen(b)) == 1;
}

/* The live entry `requester_imsi` may take, or NULL with the reason in *r. */
static entry_t *releasable(kms_keys_t *t, const char *key_id, const char *requester_imsi, kms_keys_result_t *r)
{
    entry_t *e = lookup_live(t, key_id);

    if (!e)
        *r = KMS_KEYS_NOT_FOUND;
    else if (!same_imsi(e->k.callee_imsi, requester_imsi))
        *r = KMS_KEYS_WRONG_USER;
    else if (e->k.retrieved)
        *r = KMS_KEYS_ALREADY;
    else
        return e;
    return NULL;
}

kms_keys_result_t kms_keys_check_release(kms_keys_t *t, const char *key_id, const char *requester_imsi)
{
    kms_keys_result_t r = KMS_KEYS_OK;

    if (!t || !key_id || !requester_imsi)
        return KMS_KEYS_ERROR;
    releasable(t, key_id, requester_imsi, &r);
    return r;
}

kms_keys_result_t kms_keys_release(kms_keys_t *t, const char *key_id, const char *requester_imsi,
                                   uint8_t out[KMS_KEY_LEN])
{
    kms_keys_result_t r = KMS_KEYS_OK;

    if (!t || !key_id || !requester_imsi || !out)
        return KMS_KEYS_ERROR;
    entry_t *e = releasable(t, key_id, requester_imsi, &r);
    if (!e)
        return r;
    memcpy(out, e->k.key, KMS_KEY_LEN);
    kms_cleanse(e->k.key, KMS_KEY_LEN);
    e->k.retrieved = true;
    return KMS_KEYS_OK;
}

kms_keys_result_t kms_keys_delete(kms_keys_t *t, const char *key_id, const char *requester_imsi)
{
    if (!t || !key_id || !requester_imsi)
        return KMS_KEYS_ERROR;
    entry_t *e = lookup_live(t, key_id);
    if (!e)
        return KMS_KEYS_NOT_FOUND;
    if (!same_imsi(e->k.caller_imsi, requester_imsi) && !same_imsi(e->k.callee_imsi, requester_imsi))
        return KMS_KEYS_WRONG_USER;
    unlink_entry(t, e);
    return KMS_KEYS_OK;
}

size_t kms_keys_sweep(kms_keys_t *t)
{
    if (!t)
        return 0;
    int64_t now = kms_keys_now(t);
    size_t n = 0;
    while (t->oldest && t->oldest->k.expires_ms <= now) {
        unlink_entry(t, t->oldest);
        n++;
    }
    return n;
}

size_t kms_keys_count(const kms_keys_t *t)
{
    return t ? t->count : 0;
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    kms_keys_sweep(arg);
}

int kms_keys_start_sweeper(kms_keys_t *t, struct event_base *base)
{
    if (!t || !base || t->sweeper)
        return -1;
    t->sweeper = event_new(base, -1, EV_PERSIST, sweep_cb, t);
    struct timeval tv = {KMS_KEYS_SWEEP_INTERVAL_MS / 1000, (KMS_KEYS_SWEEP_INTERVAL_MS % 1000) * 1000};
    if (!t->sweeper || event_add(t->sweeper, &tv) != 0)
        return -1;
    return 0;
}

const char *kms_keys_result_str(kms_keys_result_t r)
{
    switch (r) {
    case KMS_KEYS_OK:
        return "ok";
    case KMS_KEYS_NOT_FOUND:
        return "key_not_found";
    case KMS_KEYS_WRONG_USER:
        return "not_a_party";
    case KMS_KEYS_ALREADY:
        return "already_retrieved";
    case KMS_KEYS_FULL:
        return "table_full";
    case KMS_KEYS_CALL_LIMIT:
        return "keys_per_call_limit";
    case KMS_KEYS_USER_LIMIT:
        return "keys_per_requester_limit";
    case KMS_KEYS_ERROR:
        break;
    }
    return "internal_error";
}
