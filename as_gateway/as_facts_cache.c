/*
 * as_facts_cache — subscriber facts kept by the AS (see as_facts_cache.h).
 *
 * Entries are found through the id table of as_checks_int.h: an MSISDN of at most 15 digits, with a leading 1 so
 * that leading zeros count, is a 64-bit key. An entry goes when its user deregisters (as_push ends its
 * subscriptions first); the table is bounded by AS_FACTS_MAX_USERS.
 */
#include "as_facts_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct as_facts {
    as_idmap_t map; /* key -> as_facts_entry_t (owned) */
};

static uint64_t key_of(const char *msisdn)
{
    uint64_t k = 1;
    size_t n = 0;
    for (; msisdn[n] != '\0'; n++) {
        if (msisdn[n] < '0' || msisdn[n] > '9' || n >= AS_MSISDN_MAX_DIGITS)
            return 0;
        k = k * 10 + (uint64_t)(msisdn[n] - '0');
    }
    return n > 0 ? k : 0;
}

as_facts_t *as_facts_new(void)
{
    return calloc(1, sizeof(as_facts_t));
}

void as_facts_free(as_facts_t *c)
{
    uint64_t key;
    as_facts_entry_t *e;
    if (c == NULL)
        return;
    while ((e = as_idmap_any(&c->map, &key)) != NULL) {
        as_idmap_take(&c->map, key);
        free(e);
    }
    as_idmap_clear(&c->map);
    free(c);
}

as_facts_entry_t *as_facts_get(as_facts_t *c, const char *msisdn)
{
    return c != NULL && msisdn != NULL ? as_idmap_get(&c->map, key_of(msisdn)) : NULL;
}

as_facts_entry_t *as_facts_ensure(as_facts_t *c, const char *msisdn, const char *identity)
{
    as_facts_entry_t *e = as_facts_get(c, msisdn);
    uint64_t key = msisdn != NULL ? key_of(msisdn) : 0;
    if (e != NULL || c == NULL || key == 0 || c->map.n >= AS_FACTS_MAX_USERS)
        return e;
    e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    snprintf(e->msisdn, sizeof e->msisdn, "%s", msisdn);
    snprintf(e->identity, sizeof e->identity, "%s", identity != NULL ? identity : "");
    if (as_idmap_put(&c->map, key, e) != 0) {
        free(e);
        return NULL;
    }
    return e;
}

void as_facts_remove(as_facts_t *c, const char *msisdn)
{
    if (c != NULL && msisdn != NULL)
        free(as_idmap_take(&c->map, key_of(msisdn)));
}

size_t as_facts_count(const as_facts_t *c)
{
    return c != NULL ? c->map.n : 0;
}

void as_facts_learn(as_facts_entry_t *e, as_source_t s, as_fact_kind_t k, as_answer_t a, const char *rat,
                    uint64_t now_ms)
{
    e->fact[s][k] = (as_fact_t){a, now_ms};
    if (k == AS_FACT_ATTACHED)
        snprintf(e->rat[s], sizeof e->rat[s], "%s", rat != NULL ? rat : "");
}

as_answer_t as_facts_fresh(const as_facts_entry_t *e, as_source_t s, as_fact_kind_t k, uint64_t now_ms,
                           uint64_t max_age_ms, uint64_t *age_ms)
{
    if (e == NULL || !e->active[s] || e->fact[s][k].answer == AS_ANS_NOT_ASKED)
        return AS_ANS_NOT_ASKED;
    uint64_t age = now_ms >= e->fact[s][k].at_ms ? now_ms - e->fact[s][k].at_ms : 0;
    if (age > max_age_ms)
        return AS_ANS_NOT_ASKED;
    if (age_ms != NULL)
        *age_ms = age;
    return e->fact[s][k].answer;
}

void as_facts_foreach(as_facts_t *c, void (*fn)(as_facts_entry_t *e, void *ud), void *ud)
{
    for (size_t i = 0; c != NULL && i < c->map.cap; i++)
        if (c->map.slots[i].key != 0)
            fn(c->map.slots[i].val, ud);
}

static void forget_one(as_facts_entry_t *e, void *ud)
{
    as_source_t s = *(const as_source_t *)ud;
    e->active[s] = false;
    e->pending[s] = false;
    e->renew_at_ms[s] = 0;
    if (s == AS_SRC_UDM)
        e->udm_subs_id = 0;
    for (int k = 0; k < AS_FACT_COUNT; k++)
        e->fact[s][k] = (as_fact_t){AS_ANS_NOT_ASKED, 0};
}

void as_facts_forget_source(as_facts_t *c, as_source_t s)
{
    as_facts_foreach(c, forget_one, &s);
}

bool as_facts_cover(as_policy_t p, const as_answer_t cached[AS_SRC_COUNT], as_answer_t out[AS_SRC_COUNT])
{
    bool counted[AS_SRC_COUNT] = {p != AS_POLICY_UDM, p != AS_POLICY_HSS};
    bool all_there = true, some_yes = false, some_not_yes = false;
    if ((unsigned)p > AS_POLICY_ALL)
        return false;
    for (int s = 0; s < AS_SRC_COUNT; s++) {
        if (!counted[s])
            continue;
        all_there &= cached[s] != AS_ANS_NOT_ASKED;
        some_yes |= cached[s] == AS_ANS_YES;
        some_not_yes |= cached[s] != AS_ANS_NOT_ASKED && cached[s] != AS_ANS_YES;
    }
    bool covered = all_there || (p == AS_POLICY_ANY && some_yes) || (p == AS_POLICY_ALL && some_not_yes);
    for (int s = 0; covered && s < AS_SRC_COUNT; s++)
        out[s] = counted[s] ? cached[s] : AS_ANS_NOT_ASKED;
    return covered;
}
