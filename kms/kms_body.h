/*
 * kms_body — the request body of issue and retrieve, {"callId","caller","callee"} (DESIGN §4), read from what the
 * SBI server already parsed: the allocation-free flat reader's members (lib/sbi/sbi_flat_json.h) or a jansson
 * tree (RFC 8259). Pure: it answers nothing; kms_api turns a refusal into 400 with invalidParams. It is its own
 * unit so that tests/fuzz/fuzz_kms_body.c reaches the same code the daemon runs.
 */
#ifndef MIHUA_KMS_BODY_H
#define MIHUA_KMS_BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "kms_keys.h"
#include "sbi/sbi_flat_json.h"
#include "sbi/sbi_problem.h"
#include "subscriber/subscriber.h"

#define KMS_BODY_FIELDS 3                 /* callId, caller, callee */
#define KMS_BODY_IDENTITY_MAX SUB_URI_MAX /* caller / callee: an IMPU at most */
#define KMS_BODY_VALUE_MAX (KMS_CALL_ID_MAX > KMS_BODY_IDENTITY_MAX ? KMS_CALL_ID_MAX : KMS_BODY_IDENTITY_MAX)

typedef struct {
    const char *name;                  /* "callId", "caller", "callee" */
    size_t max;                        /* longest value accepted */
    const char *value;                 /* NUL-terminated, into text or the jansson body; valid only on OK */
    char text[KMS_BODY_VALUE_MAX + 1]; /* the value's copy when it came from a flat body */
} kms_body_field_t;

typedef struct {
    kms_body_field_t call_id, caller, callee;
    sbi_invalid_param_t bad[KMS_BODY_FIELDS]; /* one per unusable field, in the order above */
    size_t n_bad;
    size_t n_missing; /* how many of the bad ones were absent (the rest: not a string, empty or too long) */
} kms_body_t;

typedef enum {
    KMS_BODY_OK = 0,
    KMS_BODY_NOT_OBJECT, /* the jansson body is not an object: 400 INVALID_MSG_FORMAT */
    KMS_BODY_BAD_FIELDS, /* some field missing or unusable: 400 with out->bad */
} kms_body_result_t;

/* Reads the three fields from `flat` when it is non-NULL, else from `body` (NULL: no body, every field missing).
 * On KMS_BODY_OK every value is a non-empty string within its bound. */
kms_body_result_t kms_body_read(const sbi_flat_json_t *flat, const json_t *body, kms_body_t *out);

#endif
