/*
 * as_facts_cache — the AS's memory of subscriber facts (DESIGN §3 "Push"): per user (keyed by MSISDN digits) and
 * per source (HSS, UDM), whether voice encryption is subscribed and whether the UE is attached on 4G/5G with IMS
 * voice over PS, each with the time it was learnt, and whether a subscription keeps the source's facts fresh.
 *
 * Facts come from subscription answers (SNA with User-Data, the state read when a Nudr subscription starts) and
 * notifications (PNR, DataChangeNotify); as_push.c writes them, as_checks.c reads them. A fact counts only while
 * its source's subscription for that user is active and the fact is younger than max_age_ms: a lost
 * subscription or a restarted peer (as_facts_forget_source) sends the calls back to queries at once.
 * as_facts_cover() is the pure rule that says whether one question of as_decide_encryption() can be answered
 * from the cache.
 * Loop thread only; no locking.
 */
#ifndef MIHUA_AS_FACTS_CACHE_H
#define MIHUA_AS_FACTS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "as_checks.h"
#include "as_checks_int.h"

#define AS_FACTS_MAX_USERS 200000 /* = REG_MAX_AORS_DEFAULT: one entry per registered user at most */
#define AS_FACTS_IDENTITY_MAX 256

typedef enum { AS_FACT_SUBSCRIBED = 0, AS_FACT_ATTACHED, AS_FACT_COUNT } as_fact_kind_t;

typedef struct {
    as_answer_t answer; /* YES, NO or UNKNOWN; NOT_ASKED while nothing is known */
    uint64_t at_ms;     /* when it was learnt or last confirmed */
} as_fact_t;

typedef struct {
    char msisdn[AS_MSISDN_MAX_DIGITS + 1];
    char identity[AS_FACTS_IDENTITY_MAX]; /* the identity the user registered with (Public-Identity of the SNR) */
    as_fact_t fact[AS_SRC_COUNT][AS_FACT_COUNT];
    char rat[AS_SRC_COUNT][AS_RAT_NAME_MAX];
    bool active[AS_SRC_COUNT];          /* a subscription at that source keeps the facts fresh */
    bool pending[AS_SRC_COUNT];         /* a subscription request is in flight */
    uint64_t renew_at_ms[AS_SRC_COUNT]; /* when to subscribe again (expiry refresh) */
    uint64_t udm_subs_id;               /* the UDM's subscriptionId, 0 when none */
} as_facts_entry_t;

typedef struct as_facts as_facts_t;

as_facts_t *as_facts_new(void);
void as_facts_free(as_facts_t *c);

/* The entry of `msisdn` (digits), or NULL. */
as_facts_entry_t *as_facts_get(as_facts_t *c, const char *msisdn);
/* The entry of `msisdn`, created when absent (identity recorded); NULL when full or out of memory. */
as_facts_entry_t *as_facts_ensure(as_facts_t *c, const char *msisdn, const char *identity);
/* Drops the entry of `msisdn` (pointers to it become invalid); nothing when absent. */
void as_facts_remove(as_facts_t *c, const char *msisdn);
size_t as_facts_count(const as_facts_t *c);

/* Records what a source says (rat may be NULL). */
void as_facts_learn(as_facts_entry_t *e, as_source_t s, as_fact_kind_t k, as_answer_t a, const char *rat,
                    uint64_t now_ms);
/* The fact when it can be used now: the source's subscription is active and the fact known and at most max_age_ms
 * old; NOT_ASKED otherwise. *age_ms (may be NULL) receives its age. */
as_answer_t as_facts_fresh(const as_facts_entry_t *e, as_source_t s, as_fact_kind_t k, uint64_t now_ms,
                           uint64_t max_age_ms, uint64_t *age_ms);
/* A source's subscriptions are gone (peer restarted, notification refused): its facts no longer count anywhere. */
void as_facts_forget_source(as_facts_t *c, as_source_t s);
/* Calls fn for every entry. */
void as_facts_foreach(as_facts_t *c, void (*fn)(as_facts_entry_t *e, void *ud), void *ud);

/* Pure: can one question be answered from `cached` (per source: a fresh fact, or NOT_ASKED) under policy `p`?
 * hss/udm: when that source's fact is there; any: when a counted source says YES, or every source's fact is there;
 * all: when a source says something other than YES, or every source's fact is there. When it can, out[] gets the
 * cached answers (NOT_ASKED for the rest), which as_decide_encryption() combines as it would the queried ones. */
bool as_facts_cover(as_policy_t p, const as_answer_t cached[AS_SRC_COUNT], as_answer_t out[AS_SRC_COUNT]);

#endif
