/*
 * call_table — Call-ID → call record for the KMS's validation (DESIGN §4), the AS side of patent claims 11-13.
 *
 * A chained hash table (FNV-1a over the Call-ID), one malloc per record. Records are created when the proxy
 * forwards an INVITE (after the encryption checks, so encryptionAllowed is the decision), confirmed by the 2xx,
 * touched by every request of the dialog, and removed at BYE, CANCEL or a final failure; a record without traffic
 * for the configured idle time is what a lost BYE leaves behind, and the daemon sweeps those on a timer. The
 * sweep walks every bucket: O(table) once per sweep interval, cheaper than keeping an ordered expiry index on the
 * call-setup path.
 */
#include "call_table.h"

#include "core/pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALL_BUCKETS 65536u /* power of two */

typedef struct call_node {
    struct call_node *next;
    call_rec_t rec;
} call_node_t;

struct call_table {
    call_node_t **buckets;
    size_t n, max;
};

call_table_t *call_table_new(size_t max_calls)
{
    call_table_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->buckets = pages_alloc(CALL_BUCKETS * sizeof *t->buckets); /* see call_table_trim() */
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    t->max = max_calls ? max_calls : CALL_TABLE_MAX_DEFAULT;
    return t;
}

void call_table_free(call_table_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < CALL_BUCKETS; i++)
        for (call_node_t *c = t->buckets[i], *next; c; c = next) {
            next = c->next;
            free(c);
        }
    pages_free(t->buckets, CALL_BUCKETS * sizeof *t->buckets);
    free(t);
}

static uint32_t call_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 16777619u;
    }
    return h & (CALL_BUCKETS - 1);
}

static call_node_t **call_find_link(const call_table_t *t, const char *call_id)
{
    call_node_t **pp = &t->buckets[call_hash(call_id)];
    for (; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->rec.call_id, call_id) == 0)
            return pp;
    return NULL;
}

static bool call_fits(const char *s, size_t cap)
{
    return s && strlen(s) < cap;
}

int call_table_put(call_table_t *t, const char *call_id, const char *caller, const char *callee, bool allowed,
                   uint64_t now_ms)
{
    if (!call_fits(call_id, CALL_ID_MAX) || !call_fits(caller, CALL_IDENTITY_MAX) ||
        !call_fits(callee, CALL_IDENTITY_MAX) || call_id[0] == '\0')
        return -1;
    call_node_t **pp = call_find_link(t, call_id);
    call_node_t *c = pp ? *pp : NULL;
    if (!c) {
        if (t->n >= t->max || !(c = calloc(1, sizeof *c)))
            return -1;
        uint32_t h = call_hash(call_id);
        c->next = t->buckets[h];
        t->buckets[h] = c;
        t->n++;
    }
    call_rec_t *r = &c->rec;
    strcpy(r->call_id, call_id);
    strcpy(r->caller, caller);
    strcpy(r->callee, callee);
    r->encryption_allowed = allowed;
    r->state = CALL_EARLY;
    r->created_ms = now_ms;
    r->last_ms = now_ms;
    r->hss_result_code = 0;
    r->hss_result_experimental = false;
    r->hss_origin[0] = '\0';
    return 0;
}

int call_table_set_hss_error(call_table_t *t, const char *call_id, uint32_t code, bool experimental,
                             const char *origin_host)
{
    call_node_t **pp = call_id ? call_find_link(t, call_id) : NULL;
    if (!pp || !*pp)
        return -1;
    call_rec_t *r = &(*pp)->rec;
    r->hss_result_code = code;
    r->hss_result_experimental = experimental;
    snprintf(r->hss_origin, sizeof r->hss_origin, "%s", origin_host ? origin_host : "");
    return 0;
}

const call_rec_t *call_table_get(const call_table_t *t, const char *call_id)
{
    call_node_t **pp = call_id ? call_find_link(t, call_id) : NULL;
    return pp ? &(*pp)->rec : NULL;
}

int call_table_set_state(call_table_t *t, const char *call_id, call_state_t state)
{
    call_node_t **pp = call_id ? call_find_link(t, call_id) : NULL;
    if (!pp)
        return -1;
    (*pp)->rec.state = state;
    return 0;
}

bool call_table_remove(call_table_t *t, const char *call_id)
{
    call_node_t **pp = call_id ? call_find_link(t, call_id) : NULL;
    if (!pp)
        return false;
    call_node_t *c = *pp;
    *pp = c->next;
    free(c);
    t->n--;
    return true;
}

int call_table_touch(call_table_t *t, const char *call_id, uint64_t now_ms)
{
    call_node_t **pp = call_id ? call_find_link(t, call_id) : NULL;
    if (!pp)
        return -1;
    (*pp)->rec.last_ms = now_ms;
    return 0;
}

size_t call_table_sweep(call_table_t *t, uint64_t now_ms, uint64_t idle_ms)
{
    size_t removed = 0;
    for (size_t i = 0; i < CALL_BUCKETS; i++) {
        call_node_t **pp = &t->buckets[i];
        while (*pp) {
            call_node_t *c = *pp;
            if (now_ms >= c->rec.last_ms && now_ms - c->rec.last_ms > idle_ms) {
                *pp = c->next;
                free(c);
                t->n--;
                removed++;
            } else {
                pp = &c->next;
            }
        }
    }
    return removed;
}

size_t call_table_count(const call_table_t *t)
{
    return t->n;
}

const char *call_state_name(call_state_t s)
{
    return s == CALL_CONFIRMED ? "confirmed" : "early";
}

void call_table_trim(call_table_t *t)
{
    if (t)
        pages_release_zero(t->buckets, CALL_BUCKETS * sizeof *t->buckets);
}
