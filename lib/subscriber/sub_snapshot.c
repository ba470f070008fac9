/*
 * sub_snapshot — immutable subscriber snapshots: lifetime, indexes and lookups (DESIGN §5).
 *
 * A snapshot is immutable once built and reference counted with a C11 atomic, so sub_store can swap them under
 * readers. Lookups are bsearch over three sorted index arrays (IMSI, MSISDN, normalised IMPU) built once. "tel:+N"
 * and "sip:+N@any-host" that are not a listed IMPU resolve through the MSISDN N. A layer (sub_snapshot_layer)
 * answers from its changed subscribers first and from its base for the IMSIs it does not mask.
 *
 * Trade-off: an IMPU already in its normal form is its own index key, so a million subscribers do not carry a
 * second copy of every IMPU; only the others own a normalised copy.
 */
#include "subscriber/sub_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/core_identity.h"

/* ---- snapshot lifetime ---- */

/* The index key of an IMPU: the IMPU as written when that is already its normal form (most are: a test core writes
 * them lower-case, without parameters), so a million subscribers do not carry a second copy of every IMPU. */
static const char *sub_impu_key(const char *impu, const char *norm)
{
    return strcmp(impu, norm) == 0 ? impu : strdup(norm);
}

static void sub_impu_key_free(const sub_impu_entry_t *e)
{
    if (e->key != e->sub->impu[e->impu])
        free((char *)e->key);
}

void sub_snapshot_destroy(sub_snapshot_t *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_impu; i++) /* before the IMPUs that keys may be */
        sub_impu_key_free(&s->by_impu[i]);
    for (size_t i = 0; i < s->n; i++) {
        for (size_t j = 0; j < s->subs[i].n_impu; j++)
            free(s->subs[i].impu[j]);
    }
    free(s->subs);
    free(s->by_imsi);
    free(s->by_msisdn);
    free(s->by_impu);
    free(s->masked);
    sub_snapshot_release(s->base);
    free(s);
}

sub_snapshot_t *sub_snapshot_ref(sub_snapshot_t *s)
{
    if (s != NULL)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void sub_snapshot_release(sub_snapshot_t *s)
{
    if (s == NULL)
        return;
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        sub_snapshot_destroy(s);
}

size_t sub_snapshot_count(const sub_snapshot_t *s)
{
    return s == NULL ? 0 : s->base != NULL ? s->n_total : s->n;
}

bool sub_snapshot_is_layer(const sub_snapshot_t *s)
{
    return s != NULL && s->base != NULL;
}

const subscriber_t *sub_snapshot_at(const sub_snapshot_t *s, size_t i)
{
    if (s == NULL || i >= s->n)
        return NULL;
    return &s->subs[i];
}

void sub_subscriber_clear(subscriber_t *sub)
{
    if (sub == NULL)
        return;
    for (size_t j = 0; j < sub->n_impu && j < SUB_IMPU_MAX; j++)
        free(sub->impu[j]);
    /* volatile so the wipe of the KMS secret is not optimised away as a dead store */
    volatile uint8_t *key = sub->kms_key;
    for (size_t i = 0; i < sizeof(sub->kms_key); i++)
        key[i] = 0;
    volatile char *pw = sub->sip_password;
    for (size_t i = 0; i < sizeof(sub->sip_password); i++)
        pw[i] = 0;
    memset(sub, 0, offsetof(subscriber_t, kms_key));
    sub->has_kms_key = false;
    sub->has_sip_password = false;
}

/* ---- indexes ---- */

static int sub_cmp_imsi(const void *a, const void *b)
{
    const subscriber_t *x = *(const subscriber_t *const *)a, *y = *(const subscriber_t *const *)b;
    int c = strcmp(x->imsi, y->imsi);
    return c != 0 ? c : (x > y) - (x < y); /* ties in document order: the later one is the duplicate */
}

static int sub_cmp_msisdn(const void *a, const void *b)
{
    const subscriber_t *x = *(const subscriber_t *const *)a, *y = *(const subscriber_t *const *)b;
    int c = strcmp(x->msisdn, y->msisdn);
    return c != 0 ? c : (x > y) - (x < y);
}

static int sub_cmp_impu(const void *a, const void *b)
{
    const sub_impu_entry_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0)
        return c;
    if (x->sub != y->sub)
        return (x->sub > y->sub) - (x->sub < y->sub);
    return (x->impu > y->impu) - (x->impu < y->impu);
}

int sub_build_indexes(sub_snapshot_t *s)
{
    size_t total = 0;

    for (size_t i = 0; i < s->n; i++)
        total += s->subs[i].n_impu;
    s->by_imsi = calloc(s->n ? s->n : 1, sizeof(*s->by_imsi));
    s->by_msisdn = calloc(s->n ? s->n : 1, sizeof(*s->by_msisdn));
    s->by_impu = calloc(total ? total : 1, sizeof(*s->by_impu));
    if (s->by_imsi == NULL || s->by_msisdn == NULL || s->by_impu == NULL)
        return -1;
    for (size_t i = 0; i < s->n; i++) {
        s->by_imsi[i] = s->by_msisdn[i] = &s->subs[i];
        for (size_t j = 0; j < s->subs[i].n_impu; j++) {
            char norm[SUB_URI_MAX + 1];
            if (sub_identity_normalise(s->subs[i].impu[j], norm, sizeof(norm)) < 0)
                return -1; /* validated already; cannot happen */
            s->by_impu[s->n_impu].key = sub_impu_key(s->subs[i].impu[j], norm);
            if (s->by_impu[s->n_impu].key == NULL)
                return -1;
            s->by_impu[s->n_impu].sub = &s->subs[i];
            s->by_impu[s->n_impu++].impu = j;
        }
    }
    qsort(s->by_imsi, s->n, sizeof(*s->by_imsi), sub_cmp_imsi);
    qsort(s->by_msisdn, s->n, sizeof(*s->by_msisdn), sub_cmp_msisdn);
    qsort(s->by_impu, s->n_impu, sizeof(*s->by_impu), sub_cmp_impu);
    return 0;
}

/* ---- lookups ---- */

static int sub_cmp_imsi_key(const void *key, const void *elem)
{
    return strcmp(key, (*(const subscriber_t *const *)elem)->imsi);
}

static int sub_cmp_msisdn_key(const void *key, const void *elem)
{
    return strcmp(key, (*(const subscriber_t *const *)elem)->msisdn);
}

static int sub_cmp_impu_key(const void *key, const void *elem)
{
    return strcmp(key, ((const sub_impu_entry_t *)elem)->key);
}

static const subscriber_t *own_by_imsi(const sub_snapshot_t *s, const char *imsi)
{
    if (s == NULL || imsi == NULL)
        return NULL;
    const subscriber_t *const *hit = bsearch(imsi, s->by_imsi, s->n, sizeof(*s->by_imsi), sub_cmp_imsi_key);
    return hit != NULL ? *hit : NULL;
}

static const subscriber_t *own_by_msisdn(const sub_snapshot_t *s, const char *msisdn)
{
    if (s == NULL || msisdn == NULL)
        return NULL;
    const subscriber_t *const *hit = bsearch(msisdn, s->by_msisdn, s->n, sizeof(*s->by_msisdn), sub_cmp_msisdn_key);
    return hit != NULL ? *hit : NULL;
}

static const subscriber_t *own_by_impu(const sub_snapshot_t *s, const char *norm)
{
    const sub_impu_entry_t *hit = bsearch(norm, s->by_impu, s->n_impu, sizeof(*s->by_impu), sub_cmp_impu_key);
    return hit != NULL ? hit->sub : NULL;
}

static int sub_cmp_masked(const void *key, const void *elem)
{
    return strcmp(key, (const char *)elem);
}

/* A layer's answer: its own subscribers first; base's only when that IMSI did not change since base. */
static const subscriber_t *layered(const sub_snapshot_t *s,
                                   const subscriber_t *(*own)(const sub_snapshot_t *, const char *), const char *key)
{
    if (s == NULL || key == NULL)
        return NULL;
    const subscriber_t *hit = own(s, key);
    if (hit != NULL || s->base == NULL)
        return hit;
    hit = own(s->base, key);
    if (hit != NULL && bsearch(hit->imsi, s->masked, s->n_masked, sizeof(*s->masked), sub_cmp_masked) != NULL)
        return NULL;
    return hit;
}

const subscriber_t *sub_find_by_imsi(const sub_snapshot_t *s, const char *imsi)
{
    return layered(s, own_by_imsi, imsi);
}

const subscriber_t *sub_find_by_msisdn(const sub_snapshot_t *s, const char *msisdn)
{
    return layered(s, own_by_msisdn, msisdn);
}

static const subscriber_t *sub_find_by_impu(const sub_snapshot_t *s, const char *norm)
{
    return layered(s, own_by_impu, norm);
}

const subscriber_t *sub_find_by_identity(const sub_snapshot_t *s, const char *identity)
{
    char norm[SUB_URI_MAX + 1], digits[SUB_NUMBER_MAX + 1];

    if (s == NULL || sub_identity_normalise(identity, norm, sizeof(norm)) < 0)
        return NULL;
    if (sub_is_uri(norm)) {
        const subscriber_t *sub = sub_find_by_impu(s, norm);
        if (sub != NULL || core_identity_number(norm, digits, sizeof(digits)) < 0)
            return sub;
        return sub_find_by_msisdn(s, digits);
    }
    if (strncmp(norm, SUB_MSISDN_PREFIX, strlen(SUB_MSISDN_PREFIX)) == 0)
        return sub_find_by_msisdn(s, norm + strlen(SUB_MSISDN_PREFIX));
    if (strncmp(norm, SUB_IMSI_PREFIX, strlen(SUB_IMSI_PREFIX)) == 0)
        return sub_find_by_imsi(s, norm + strlen(SUB_IMSI_PREFIX));
    const subscriber_t *sub = sub_find_by_msisdn(s, norm);
    return sub != NULL ? sub : sub_find_by_imsi(s, norm);
}
