/*
 * as_checks_int — internals shared by the files of mihua_as_checks (as_checks.c, as_sh_path.c, as_udm_path.c);
 * not for the rest of mihua-as.
 *
 * as_idmap is the "objects across an asynchronous hop are referred to by id" table (STYLE: Open5GS): a 64-bit id
 * (never 0) to a pointer, open addressing with linear probing and backward-shift deletion, so lookups stay short
 * with no tombstones however many checks come and go. It grows at half load. Loop-thread only; no locking.
 */
#ifndef MIHUA_AS_CHECKS_INT_H
#define MIHUA_AS_CHECKS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "as_checks.h"

#define AS_RAT_NAME_MAX 16   /* as_lookup_results_t.callee_rat */
#define AS_IDMAP_MIN_CAP 64u /* first allocation; a power of two */

typedef struct {
    uint64_t key; /* 0 = empty slot */
    void *val;
} as_idmap_slot_t;

typedef struct {
    as_idmap_slot_t *slots; /* cap entries, cap a power of two; NULL before the first put */
    size_t cap;
    size_t n;
} as_idmap_t;

static inline size_t as_idmap_home(const as_idmap_t *m, uint64_t key)
{
    key ^= key >> 33; /* SplitMix-style finaliser: ids are sequential, spread them */
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return (size_t)key & (m->cap - 1);
}

static inline void *as_idmap_get(const as_idmap_t *m, uint64_t key)
{
    if (m->cap == 0 || key == 0)
        return NULL;
    for (size_t i = as_idmap_home(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].key == key)
            return m->slots[i].val;
        if (m->slots[i].key == 0)
            return NULL;
    }
}

static inline void as_idmap_place(as_idmap_t *m, uint64_t key, void *val)
{
    size_t i = as_idmap_home(m, key);
    while (m->slots[i].key != 0)
        i = (i + 1) & (m->cap - 1);
    m->slots[i] = (as_idmap_slot_t){key, val};
}

static inline int as_idmap_grow(as_idmap_t *m)
{
    size_t cap = m->cap ? m->cap * 2 : AS_IDMAP_MIN_CAP;
    as_idmap_slot_t *old = m->slots, *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return -1;
    size_t old_cap = m->cap;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key != 0)
            as_idmap_place(m, old[i].key, old[i].val);
    free(old);
    return 0;
}

/* Adds key → val; the key must not be present. Returns 0 or -1 (no memory, key 0). */
static inline int as_idmap_put(as_idmap_t *m, uint64_t key, void *val)
{
    if (key == 0 || val == NULL)
        return -1;
    if ((m->n + 1) * 2 > m->cap && as_idmap_grow(m) != 0)
        return -1;
    as_idmap_place(m, key, val);
    m->n++;
    return 0;
}

/* Removes key and returns its value, or NULL when absent. */
static inline void *as_idmap_take(as_idmap_t *m, uint64_t key)
{
    if (m->cap == 0 || key == 0)
        return NULL;
    size_t mask = m->cap - 1, i = as_idmap_home(m, key);
    while (m->slots[i].key != key) {
        if (m->slots[i].key == 0)
            return NULL;
        i = (i + 1) & mask;
    }
    void *val = m->slots[i].val;
    /* Backward shift: move later members of the probe run into the hole when their home allows it. */
    for (size_t j = (i + 1) & mask; m->slots[j].key != 0; j = (j + 1) & mask) {
        size_t home = as_idmap_home(m, m->slots[j].key);
        bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i] = (as_idmap_slot_t){0, NULL};
    m->n--;
    return val;
}

/* Any one member (for draining at shutdown), or NULL when empty; *key receives its key. */
static inline void *as_idmap_any(const as_idmap_t *m, uint64_t *key)
{
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key != 0) {
            *key = m->slots[i].key;
            return m->slots[i].val;
        }
    }
    return NULL;
}

static inline void as_idmap_clear(as_idmap_t *m)
{
    free(m->slots);
    *m = (as_idmap_t){0};
}

#endif
