/*
 * sub_int — what the files of the subscriber module share and nobody else may use: the snapshot's layout, its
 * index entries and the few helpers more than one file needs. The contract for callers is subscriber.h.
 *
 * Files, lowest first (each calls only files below it): sub_identity.c (identity normalisation), sub_json.c (enum
 * names, JSON rendering, canonical dump), sub_snapshot.c (lifetime, indexes, lookups), subscriber.c (validation,
 * cross-subscriber duplicates, loading, layers).
 */
#ifndef MIHUA_SUB_INT_H
#define MIHUA_SUB_INT_H

#include <stdatomic.h>

#include "subscriber/subscriber.h"

#define SUB_HEX_LEN (SUB_KMS_KEY_LEN * 2) /* kms_key characters in the file */
#define SUB_NUMBER_MAX SUB_URI_MAX        /* digits of a number pulled out of an identity */
#define SUB_MSISDN_PREFIX "msisdn-"
#define SUB_IMSI_PREFIX "imsi-"

typedef struct {
    const char *key;         /* normalised IMPU: sub->impu[impu] itself when already normal, else owned */
    const subscriber_t *sub; /* owner */
    size_t impu;             /* index in sub->impu */
} sub_impu_entry_t;

struct sub_snapshot {
    atomic_size_t refs;
    subscriber_t *subs;
    size_t n;
    /* A layer (sub_snapshot_layer): subs are the subscribers changed since `base`, a full snapshot; `masked` lists
     * every IMSI changed (or deleted) since base, sorted, so that base's version of them is never returned. */
    sub_snapshot_t *base;
    char (*masked)[SUB_IMSI_MAX + 1];
    size_t n_masked;
    size_t n_total;                 /* subscribers this snapshot answers for, base and layer together */
    const subscriber_t **by_imsi;   /* sorted by imsi */
    const subscriber_t **by_msisdn; /* sorted by msisdn */
    sub_impu_entry_t *by_impu;      /* sorted by key */
    size_t n_impu;
};

/* 1 when s is min..max ASCII digits. */
int sub_all_digits(const char *s, size_t min, size_t max);
/* 1 when a normalised identity is a sip:, sips: or tel: URI. */
int sub_is_uri(const char *norm);
/* 1 when s is one of the NULL-terminated list. */
int sub_in_list(const char *const *list, const char *s);

/* Frees a snapshot whatever its reference count (its builder's error path; holders use sub_snapshot_release). */
void sub_snapshot_destroy(sub_snapshot_t *s);
/* Fills s->by_imsi, by_msisdn and by_impu from s->subs (validated already). -1 on allocation failure. */
int sub_build_indexes(sub_snapshot_t *s);

#endif
