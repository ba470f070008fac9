/*
 * sip_txn_table — transaction storage: an id pool and a hash table (the h_table.c concern of Kamailio tm).
 *
 * Ids: a slot array sized max_txns once; an id is (slot generation << 32) | (slot index + 1). Releasing a slot
 * bumps its generation, so an id held by a TU after its transaction ended (a late lookup answer, a timer of an
 * older incarnation) resolves to NULL instead of to freed or recycled memory (Open5GS's pool-id idea). Slots are
 * handed out from a free list, then from the untouched high part of the array, so calloc's lazy pages stay cheap.
 *
 * Hash: chained buckets keyed by the branch (every match in §17.1.3 / §17.2.3 starts with equal branches). The
 * bucket count is the power of two at or above max_txns / 4, so chains stay short at full load.
 *
 * Memory after a peak: both arrays are page mappings (core/pages.h). sip_txn_table_trim() moves the high-water
 * mark down to the highest live slot, rebuilds the free list lowest index first (so the table refills from the
 * bottom) and hands the pages above the mark and every all-NULL bucket page back to the kernel. Dropped slots read
 * as generation 0 again; a slot taken from there starts at gen_floor, above every generation it ever had, so an id
 * that outlived its transaction still resolves to NULL.
 */
#include "sip/sip_txn_int.h"

#include "core/pages.h"

#include <stdlib.h>

#define SIP_TXN_LOAD_FACTOR 4u /* transactions per bucket at full table */

static uint32_t sip_pow2_at_least(uint32_t v)
{
    uint32_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

int sip_txn_table_init(sip_txn_table_t *t, uint32_t max)
{
    t->nslots = max;
    t->free_head = 0;
    t->used_hwm = 0;
    t->count = 0;
    t->gen_floor = 1;
    t->nbuckets = sip_pow2_at_least(max / SIP_TXN_LOAD_FACTOR + 1);
    t->slots = pages_alloc((size_t)max * sizeof *t->slots);
    t->buckets = pages_alloc((size_t)t->nbuckets * sizeof *t->buckets);
    if (!t->slots || !t->buckets) {
        sip_txn_table_free(t);
        return -1;
    }
    return 0;
}

void sip_txn_table_free(sip_txn_table_t *t)
{
    pages_free(t->slots, (size_t)t->nslots * sizeof *t->slots);
    pages_free(t->buckets, (size_t)t->nbuckets * sizeof *t->buckets);
    t->slots = NULL;
    t->buckets = NULL;
}

static uint32_t sip_txn_slot_of(sip_txn_id_t id)
{
    return (uint32_t)(id & 0xffffffffu) - 1u;
}

sip_txn_t *sip_txn_table_alloc(sip_txn_table_t *t)
{
    uint32_t idx;
    if (t->free_head) {
        idx = t->free_head - 1;
        t->free_head = t->slots[idx].next_free;
    } else if (t->used_hwm < t->nslots) {
        idx = t->used_hwm++;
    } else {
        return NULL;
    }
    sip_txn_t *txn = calloc(1, sizeof *txn);
    if (!txn) {
        t->slots[idx].next_free = t->free_head;
        t->free_head = idx + 1;
        return NULL;
    }
    sip_txn_slot_t *s = &t->slots[idx];
    if (s->gen == 0)
        s->gen = t->gen_floor;
    s->txn = txn;
    txn->id = ((uint64_t)s->gen << 32) | (uint64_t)(idx + 1);
    t->count++;
    return txn;
}

void sip_txn_table_release(sip_txn_table_t *t, sip_txn_t *txn)
{
    uint32_t idx = sip_txn_slot_of(txn->id);
    sip_txn_table_unlink(t, txn);
    sip_txn_slot_t *s = &t->slots[idx];
    s->txn = NULL;
    s->gen++;
    if (s->gen == 0)
        s->gen = 1;
    s->next_free = t->free_head;
    t->free_head = idx + 1;
    t->count--;
    free(txn->req);
    free(txn->resp);
    free(txn->ack);
    sip_txn_skey_free(&txn->key);
    free(txn);
}

sip_txn_t *sip_txn_table_get(const sip_txn_table_t *t, sip_txn_id_t id)
{
    uint32_t idx = sip_txn_slot_of(id);
    if (id == SIP_TXN_ID_NONE || idx >= t->used_hwm)
        return NULL;
    sip_txn_t *txn = t->slots[idx].txn;
    return txn && txn->id == id ? txn : NULL;
}

void sip_txn_table_link(sip_txn_table_t *t, sip_txn_t *txn)
{
    if (txn->linked)
        return;
    uint32_t b = txn->key.hash & (t->nbuckets - 1);
    txn->hnext = t->buckets[b];
    t->buckets[b] = txn;
    txn->linked = true;
}

void sip_txn_table_unlink(sip_txn_table_t *t, sip_txn_t *txn)
{
    if (!txn->linked)
        return;
    sip_txn_t **pp = &t->buckets[txn->key.hash & (t->nbuckets - 1)];
    while (*pp && *pp != txn)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = txn->hnext;
    txn->hnext = NULL;
    txn->linked = false;
}

sip_txn_t *sip_txn_table_find(const sip_txn_table_t *t, const sip_txn_key_t *key)
{
    for (sip_txn_t *x = t->buckets[key->hash & (t->nbuckets - 1)]; x; x = x->hnext)
        if (sip_txn_skey_eq(&x->key, key))
            return x;
    return NULL;
}

sip_txn_t *sip_txn_table_any(const sip_txn_table_t *t)
{
    for (uint32_t i = 0; i < t->used_hwm; i++)
        if (t->slots[i].txn)
            return t->slots[i].txn;
    return NULL;
}

void sip_txn_table_trim(sip_txn_table_t *t)
{
    uint32_t top = t->used_hwm;
    while (top > 0 && !t->slots[top - 1].txn)
        top--;
    for (uint32_t i = top; i < t->used_hwm; i++)
        if (t->slots[i].gen >= t->gen_floor)
            t->gen_floor = t->slots[i].gen == UINT32_MAX ? 1 : t->slots[i].gen + 1;
    t->free_head = 0;
    for (uint32_t i = top; i-- > 0;) /* pushed from the top down: the lowest free slot is handed out first */
        if (!t->slots[i].txn) {
            t->slots[i].next_free = t->free_head;
            t->free_head = i + 1;
        }
    t->used_hwm = top;
    pages_release_tail(t->slots, (size_t)t->nslots * sizeof *t->slots, (size_t)top * sizeof *t->slots);
    pages_release_zero(t->buckets, (size_t)t->nbuckets * sizeof *t->buckets);
}
