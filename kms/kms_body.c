/*
 * kms_body — {"callId","caller","callee"} of issue and retrieve (DESIGN §4; see kms_body.h).
 *
 * The SBI server hands a body over in one of two forms: the flat reader's members when the body is a flat object
 * (sbi_flat_json: no allocation), else a jansson tree. Both are read here with the same rules, so which form a
 * client's body took never changes the answer: a field is usable when it is a string of 1 to `max` characters;
 * every unusable field is listed, and the 400 says "missing" when any of them is absent.
 */
#include "kms_body.h"

#include <string.h>

#define REASON_MISSING "missing"
#define REASON_BAD "must be a non-empty string within bounds"

/* Reads f from a flat body. Returns whether the field is usable; *missing when absent. */
static bool flat_field(const sbi_flat_json_t *flat, kms_body_field_t *f, bool *missing)
{
    const sbi_flat_member_t *m = sbi_flat_json_get(flat, f->name);
    *missing = m == NULL;
    if (!m || m->type != SBI_FLAT_STRING || m->value_len == 0 || m->value_len > f->max)
        return false;
    memcpy(f->text, m->value, m->value_len);
    f->text[m->value_len] = '\0';
    f->value = f->text;
    return true;
}

/* Reads f from a jansson body (NULL: no body). Returns whether the field is usable; *missing when absent. */
static bool json_field(const json_t *body, kms_body_field_t *f, bool *missing)
{
    json_t *v = body ? json_object_get(body, f->name) : NULL;
    *missing = v == NULL;
    f->value = json_string_value(v);
    size_t len = f->value ? strlen(f->value) : 0;
    return f->value && len > 0 && len <= f->max;
}

static void field_init(kms_body_field_t *f, const char *name, size_t max)
{
    f->name = name;
    f->max = max;
    f->value = NULL;
    f->text[0] = '\0';
}

kms_body_result_t kms_body_read(const sbi_flat_json_t *flat, const json_t *body, kms_body_t *out)
{
    field_init(&out->call_id, "callId", KMS_CALL_ID_MAX);
    field_init(&out->caller, "caller", KMS_BODY_IDENTITY_MAX);
    field_init(&out->callee, "callee", KMS_BODY_IDENTITY_MAX);
    out->n_bad = out->n_missing = 0;
    if (!flat && body && !json_is_object(body))
        return KMS_BODY_NOT_OBJECT;
    kms_body_field_t *f[KMS_BODY_FIELDS] = {&out->call_id, &out->caller, &out->callee};
    for (size_t i = 0; i < KMS_BODY_FIELDS; i++) {
        bool missing = false;
        if (flat ? flat_field(flat, f[i], &missing) : json_field(body, f[i], &missing))
            continue;
        out->n_missing += missing;
        out->bad[out->n_bad++] = (sbi_invalid_param_t){f[i]->name, missing ? REASON_MISSING : REASON_BAD};
    }
    return out->n_bad ? KMS_BODY_BAD_FIELDS : KMS_BODY_OK;
}
