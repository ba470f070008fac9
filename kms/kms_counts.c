/*
 * kms_counts — string → count, for the key table's per-call and per-requester bounds (kms_counts.h).
 *
 * The names are Call-IDs chosen by UEs, so the hash (FNV-1a) is keyed with a random seed per table: a UE cannot
 * pick Call-IDs that all land in one bucket.
 */
#include "kms_counts.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#define COUNTS_BUCKETS_INITIAL 256 /* power of two; doubled as names arrive */
#define FNV_PRIME 1099511628211ull

typedef struct count_entry {
    struct count_entry *next;
    size_t count;
    char name[]; /* NUL-terminated */
} count_entry_t;

struct kms_counts {
    count_entry_t **buckets;
    size_t n_buckets; /* power of two */
    size_t n_entries;
    uint64_t seed;
};

kms_counts_t *kms_counts_new(void)
{
    kms_counts_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->n_buckets = COUNTS_BUCKETS_INITIAL;
    c->buckets = calloc(c->n_buckets, sizeof *c->buckets);
    if (!c->buckets || RAND_bytes((unsigned char *)&c->seed, sizeof c->seed) != 1) {
        kms_counts_free(c);
        return NULL;
    }
    return c;
}

void kms_counts_free(kms_counts_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; c->buckets && i < c->n_buckets; i++) {
        count_entry_t *e = c->buckets[i];
        while (e) {
            count_entry_t *next = e->next;
            free(e);
            e = next;
        }
    }
    free(c->buckets);
    free(c);
}

static size_t hash_name(const kms_counts_t *c, const char *name)
{
    uint64_t h = c->seed;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * FNV_PRIME;
    return (size_t)(h ^ (h >> 29));
}

static count_entry_t **slot_of(const kms_counts_t *c, const char *name)
{
    count_entry_t **pp = &c->buckets[hash_name(c, name) & (c->n_buckets - 1)];
    while (*pp && strcmp((*pp)->name, name) != 0)
        pp = &(*pp)->next;
    return pp;
}

size_t kms_counts_get(const kms_counts_t *c, const char *name)
{
    count_entry_t *e = *slot_of(c, name);
    return e ? e->count : 0;
}

/* Doubles the buckets; on allocation failure the table keeps working with longer chains. */
static void grow(kms_counts_t *c)
{
    size_t n = c->n_buckets * 2;
    count_entry_t **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < c->n_buckets; i++) {
        count_entry_t *e = c->buckets[i];
        while (e) {
            count_entry_t *next = e->next;
            size_t j = hash_name(c, e->name) & (n - 1);
            e->next = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->n_buckets = n;
}

int kms_counts_inc(kms_counts_t *c, const char *name)
{
    count_entry_t **pp = slot_of(c, name);
    if (*pp) {
        (*pp)->count++;
        return 0;
    }
    size_t len = strlen(name);
    count_entry_t *e = malloc(sizeof *e + len + 1);
    if (!e)
        return -1;
    memcpy(e->name, name, len + 1);
    e->count = 1;
    e->next = NULL;
    *pp = e;
    if (++c->n_entries > c->n_buckets)
        grow(c);
    return 0;
}

void kms_counts_dec(kms_counts_t *c, const char *name)
{
    count_entry_t **pp = slot_of(c, name);
    count_entry_t *e = *pp;
    if (!e)
        return;
    if (--e->count > 0)
        return;
    *pp = e->next;
    free(e);
    c->n_entries--;
}
