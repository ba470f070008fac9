/*
 * kms_counts — how many live keys each call and each requester holds, so the key table can bound both
 * (kms_keys.h: max_keys_per_call, max_keys_per_requester).
 *
 * A chained hash table from a string (a Call-ID or an IMSI) to a count; an entry exists only while its count is
 * above zero, so the table never holds more entries than the key table holds keys. Buckets double when the load
 * passes 1. Not thread-safe: it belongs to the key table's event loop.
 */
#ifndef MIHUA_KMS_COUNTS_H
#define MIHUA_KMS_COUNTS_H

#include <stddef.h>

typedef struct kms_counts kms_counts_t;

kms_counts_t *kms_counts_new(void);
void kms_counts_free(kms_counts_t *c);

/* The count of `name` (0 when absent). */
size_t kms_counts_get(const kms_counts_t *c, const char *name);
/* Adds one. Returns 0, or -1 when out of memory (nothing changed). */
int kms_counts_inc(kms_counts_t *c, const char *name);
/* Takes one away (the entry goes at zero); a name that is absent is ignored. */
void kms_counts_dec(kms_counts_t *c, const char *name);

#endif
