/*
 * sub_json — the JSON forms of the subscriber model (DESIGN §5): enum names, a subscriber or a snapshot as a
 * document, and the canonical text of a document (2-space indent, keys in DESIGN order, a final newline).
 *
 * Trade-off: the canonical dump rebuilds the document with its keys reordered rather than teaching jansson an
 * order, so the admin API, the write-back file and the error positions of sub_snapshot_from_json all use one text.
 * kms_key is rendered as lowercase hex (core_hex); the admin API drops it (and sip_password) before answering.
 */
#include "subscriber/sub_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/core_hex.h"

#define SUB_DUMP_FLAGS (JSON_INDENT(2) | JSON_ENCODE_ANY)

/* Keys in DESIGN order: the order of the canonical dump. */
static const char *const sub_dump_order[] = {"subscribers",      "imsi",         "msisdn", "impu",
                                             "voice_encryption", "access",       "rat",    "ims_vops",
                                             "kms_key",          "sip_password", NULL};

/* ---- enum names ---- */

static const char *const sub_rat_names[] = {
    [SUB_RAT_NONE] = "NONE",   [SUB_RAT_EUTRAN] = "EUTRAN", [SUB_RAT_NR] = "NR",
    [SUB_RAT_UTRAN] = "UTRAN", [SUB_RAT_GERAN] = "GERAN",
};
#define SUB_N_RATS (sizeof(sub_rat_names) / sizeof(sub_rat_names[0]))

int sub_in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(list[i], s) == 0)
            return 1;
    }
    return 0;
}

const char *sub_rat_name(sub_rat_t rat)
{
    if ((size_t)rat >= SUB_N_RATS)
        return "NONE";
    return sub_rat_names[rat];
}

int sub_rat_parse(const char *name, sub_rat_t *out)
{
    if (name == NULL)
        return -1;
    for (size_t i = 0; i < SUB_N_RATS; i++) {
        if (strcmp(name, sub_rat_names[i]) == 0) {
            if (out != NULL)
                *out = (sub_rat_t)i;
            return 0;
        }
    }
    return -1;
}

/* ---- JSON rendering ---- */

static int sub_set(json_t *obj, const char *key, json_t *value)
{
    return value != NULL ? json_object_set_new(obj, key, value) : -1;
}

static json_t *sub_hex_json(const uint8_t *bytes, size_t n)
{
    char hex[SUB_HEX_LEN + 1];

    if (n * 2 >= sizeof(hex))
        return NULL;
    core_hex_encode(bytes, n, hex);
    return json_string(hex);
}

json_t *sub_to_json(const subscriber_t *sub)
{
    if (sub == NULL)
        return NULL;
    json_t *o = json_object(), *impu = json_array(), *access = json_object();
    int rc = (o == NULL || impu == NULL || access == NULL) ? -1 : 0;
    for (size_t i = 0; rc == 0 && i < sub->n_impu; i++)
        rc = json_array_append_new(impu, json_string(sub->impu[i]));
    if (rc == 0)
        rc = sub_set(access, "rat", json_string(sub_rat_name(sub->rat))) |
             sub_set(access, "ims_vops", json_boolean(sub->ims_vops));
    if (rc == 0)
        rc = sub_set(o, "imsi", json_string(sub->imsi)) | sub_set(o, "msisdn", json_string(sub->msisdn)) |
             sub_set(o, "impu", json_incref(impu)) |
             sub_set(o, "voice_encryption", json_boolean(sub->voice_encryption)) |
             sub_set(o, "access", json_incref(access));
    if (rc == 0 && sub->has_kms_key)
        rc = sub_set(o, "kms_key", sub_hex_json(sub->kms_key, SUB_KMS_KEY_LEN));
    if (rc == 0 && sub->has_sip_password)
        rc = sub_set(o, "sip_password", json_string(sub->sip_password));
    json_decref(impu);
    json_decref(access);
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *sub_snapshot_to_json(const sub_snapshot_t *s)
{
    json_t *root = json_object(), *list = json_array();
    int rc = (root == NULL || list == NULL) ? -1 : 0;

    for (size_t i = 0; rc == 0 && s != NULL && i < s->n; i++)
        rc = json_array_append_new(list, sub_to_json(&s->subs[i]));
    if (rc == 0)
        rc = json_object_set(root, "subscribers", list);
    json_decref(list);
    if (rc != 0) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* A copy of `v` whose objects list the DESIGN keys first, in DESIGN order, then any others as they were. */
static json_t *sub_canonical(json_t *v);

static int sub_canonical_members(json_t *src, json_t *dst)
{
    const char *key;
    json_t *member;

    for (size_t i = 0; sub_dump_order[i] != NULL; i++) {
        member = json_object_get(src, sub_dump_order[i]);
        if (member != NULL && json_object_set_new(dst, sub_dump_order[i], sub_canonical(member)) < 0)
            return -1;
    }
    json_object_foreach(src, key, member)
    {
        if (!sub_in_list(sub_dump_order, key) && json_object_set_new(dst, key, sub_canonical(member)) < 0)
            return -1;
    }
    return 0;
}

static json_t *sub_canonical(json_t *v)
{
    json_t *dst = NULL;
    size_t i;
    json_t *item;

    if (json_is_object(v)) {
        dst = json_object();
        if (dst != NULL && sub_canonical_members(v, dst) < 0) {
            json_decref(dst);
            return NULL;
        }
        return dst;
    }
    if (!json_is_array(v))
        return json_incref(v);
    dst = json_array();
    json_array_foreach(v, i, item)
    {
        if (dst == NULL || json_array_append_new(dst, sub_canonical(item)) < 0) {
            json_decref(dst);
            return NULL;
        }
    }
    return dst;
}

char *sub_json_dump(json_t *root)
{
    if (root == NULL)
        return NULL;
    json_t *canon = sub_canonical(root);
    if (canon == NULL)
        return NULL;
    char *text = json_dumps(canon, SUB_DUMP_FLAGS);
    json_decref(canon);
    if (text == NULL)
        return NULL;
    size_t len = strlen(text);
    char *with_nl = realloc(text, len + 2); /* files end with a newline */
    if (with_nl == NULL) {
        free(text);
        return NULL;
    }
    with_nl[len] = '\n';
    with_nl[len + 1] = '\0';
    return with_nl;
}
