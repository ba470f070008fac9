/*
 * subscriber — the DESIGN §5 subscriber file: strict validation and loading into snapshots.
 *
 * Loading: jansson parses the text (JSON_REJECT_DUPLICATES, so a key twice in one object is an error), then a
 * validator walks the document in order and fills an array of subscriber_t. Every error names
 * "file:line:column: field: reason"; the field is rendered from the same path of keys and indices that jsonpos
 * follows to find the position, so the two cannot disagree. For a missing field the position is that of the
 * object that lacks it; for an unknown key, that of the key. Checks run in two phases: per-field checks in document
 * order, then cross-subscriber duplicates (IMSI, MSISDN, normalised IMPU, and an IMPU whose number is another
 * subscriber's MSISDN), found by sorting rather than by comparing every pair.
 *
 * An IMPU carrying a number (tel:+N or sip:+N@host) that is another subscriber's MSISDN is rejected as a
 * duplicate, since lookups resolve such identities through the MSISDN (sub_snapshot.c), otherwise the owner of
 * "sip:+N@host" would depend on the host. Snapshots, indexes and lookups: sub_snapshot.c; identity normalisation:
 * sub_identity.c; rendering: sub_json.c.
 *
 * sub_snapshot_from_json (admin API) renders the document with sub_json_dump and loads that text, so errors carry
 * positions in the canonical rendering and there is exactly one validator.
 */
#include "subscriber/sub_int.h"

#include "core/config.h"
#include "core/core_hex.h"
#include "core/core_identity.h"
#include "core/jsonpos.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUB_PATH_DEPTH 6  /* deepest path: subscribers[i].impu[j] / .access.rat */
#define SUB_FIELD_MAX 128 /* rendered path, e.g. "subscribers[123].access.ims_vops" */
#define SUB_ROOT_FIELD "(root)"
#define SUB_SYNTAX_FIELD "(json)"
#define SUB_LOAD_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)

/* Keys in DESIGN order: the allowed sets for validation. */
static const char *const sub_root_keys[] = {"subscribers", NULL};
static const char *const sub_keys[] = {"imsi",   "msisdn",  "impu",         "voice_encryption",
                                       "access", "kms_key", "sip_password", NULL};
static const char *const sub_access_keys[] = {"rat", "ims_vops", NULL};

/* A path from the root of the document: what jsonpos follows and what the field name is rendered from. */
typedef struct {
    jsonpos_step_t s[SUB_PATH_DEPTH];
    size_t n;
} sub_path_t;

typedef struct {
    const char *name; /* file name in messages */
    const char *text;
    size_t len;
    sub_error_t *err;
} sub_ctx_t;

/* ---- paths and errors ---- */

static sub_path_t sub_path_key(sub_path_t p, const char *key)
{
    if (p.n < SUB_PATH_DEPTH)
        p.s[p.n++] = (jsonpos_step_t){.key = key};
    return p;
}

static sub_path_t sub_path_index(sub_path_t p, size_t index)
{
    if (p.n < SUB_PATH_DEPTH)
        p.s[p.n++] = (jsonpos_step_t){.key = NULL, .index = index};
    return p;
}

static void sub_path_render(const sub_path_t *p, char *out, size_t size)
{
    size_t used = 0;

    out[0] = '\0';
    if (p->n == 0) {
        snprintf(out, size, "%s", SUB_ROOT_FIELD);
        return;
    }
    for (size_t i = 0; i < p->n && used < size; i++) {
        /* An empty key (legal JSON) is written "" so that a field is never empty: sub_error_t keeps an empty
         * field for errors that are not about a place in the document. */
        const char *key = p->s[i].key != NULL && p->s[i].key[0] == '\0' ? "\"\"" : p->s[i].key;
        int w = key != NULL ? snprintf(out + used, size - used, "%s%s", i ? "." : "", key)
                            : snprintf(out + used, size - used, "[%zu]", p->s[i].index);
        if (w < 0)
            return;
        used += (size_t)w;
    }
}

static int sub_fail(const sub_ctx_t *cx, const sub_path_t *p, int at_key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fills the error and returns -1, so callers can `return sub_fail(...)`. */
static int sub_fail(const sub_ctx_t *cx, const sub_path_t *p, int at_key, const char *fmt, ...)
{
    char field[SUB_FIELD_MAX];
    int line, col;
    va_list ap;

    if (cx->err == NULL)
        return -1;
    jsonpos_locate(cx->text, cx->len, p->s, p->n, at_key, &line, &col);
    sub_path_render(p, field, sizeof(field));
    int head = snprintf(cx->err->msg, sizeof(cx->err->msg), "%s:%d:%d: %s: ", cx->name, line, col, field);
    snprintf(cx->err->field, sizeof(cx->err->field), "%s", field);
    cx->err->line = line;
    cx->err->col = col;
    cx->err->reason = "";
    if (head < 0 || (size_t)head >= sizeof(cx->err->msg))
        return -1; /* already truncated; the position and field are what matter */
    cx->err->reason = cx->err->msg + head;
    va_start(ap, fmt);
    vsnprintf(cx->err->msg + head, sizeof(cx->err->msg) - (size_t)head, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- per-field validation ---- */

static int sub_check_keys(const sub_ctx_t *cx, const sub_path_t *p, json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *value;

    json_object_foreach(obj, key, value)
    {
        if (!sub_in_list(allowed, key)) {
            sub_path_t kp = sub_path_key(*p, key);
            return sub_fail(cx, &kp, 1, "unknown key");
        }
    }
    return 0;
}

/* The member `key` of `obj`, or NULL with a "missing" error positioned at the object. */
static json_t *sub_require(const sub_ctx_t *cx, const sub_path_t *p, json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        sub_path_t kp = sub_path_key(*p, key);
        sub_fail(cx, &kp, 0, "missing");
    }
    return v;
}

static int sub_parse_digits(const sub_ctx_t *cx, const sub_path_t *p, json_t *v, size_t min, size_t max, char *out)
{
    if (!json_is_string(v))
        return sub_fail(cx, p, 0, "must be a string of %zu to %zu digits", min, max);
    if (!sub_all_digits(json_string_value(v), min, max))
        return sub_fail(cx, p, 0, "must be %zu to %zu digits", min, max);
    strcpy(out, json_string_value(v));
    return 0;
}

static int sub_parse_bool(const sub_ctx_t *cx, const sub_path_t *p, json_t *v, bool *out)
{
    if (!json_is_boolean(v))
        return sub_fail(cx, p, 0, "must be true or false");
    *out = json_is_true(v);
    return 0;
}

static int sub_valid_impu(const char *s)
{
    char norm[SUB_URI_MAX + 1];
    size_t n = strlen(s);

    if (n == 0 || n > SUB_URI_MAX)
        return 0;
    if (sub_identity_normalise(s, norm, sizeof(norm)) < 0)
        return 0;
    return sub_is_uri(norm);
}

static int sub_parse_impus(const sub_ctx_t *cx, const sub_path_t *p, json_t *v, subscriber_t *sub)
{
    size_t i;
    json_t *item;

    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > SUB_IMPU_MAX)
        return sub_fail(cx, p, 0, "must be an array of 1 to %d URIs", SUB_IMPU_MAX);
    json_array_foreach(v, i, item)
    {
        sub_path_t ip = sub_path_index(*p, i);
        if (!json_is_string(item) || !sub_valid_impu(json_string_value(item)))
            return sub_fail(cx, &ip, 0, "must be a sip:, sips: or tel: URI of at most %d characters", SUB_URI_MAX);
        sub->impu[i] = strdup(json_string_value(item));
        if (sub->impu[i] == NULL)
            return sub_fail(cx, &ip, 0, "out of memory");
        sub->n_impu = i + 1;
    }
    return 0;
}

static int sub_parse_access(const sub_ctx_t *cx, const sub_path_t *p, json_t *v, subscriber_t *sub)
{
    if (!json_is_object(v))
        return sub_fail(cx, p, 0, "must be an object");
    if (sub_check_keys(cx, p, v, sub_access_keys) < 0)
        return -1;

    sub_path_t rp = sub_path_key(*p, "rat"), vp = sub_path_key(*p, "ims_vops");
    json_t *rat = sub_require(cx, p, v, "rat");
    if (rat == NULL)
        return -1;
    if (!json_is_string(rat) || sub_rat_parse(json_string_value(rat), &sub->rat) < 0)
        return sub_fail(cx, &rp, 0, "must be one of EUTRAN, NR, UTRAN, GERAN, NONE");
    json_t *vops = sub_require(cx, p, v, "ims_vops");
    return vops != NULL ? sub_parse_bool(cx, &vp, vops, &sub->ims_vops) : -1;
}

static int sub_parse_kms_key(const sub_ctx_t *cx, const sub_path_t *p, json_t *v, subscriber_t *sub)
{
    const char *hex = json_is_string(v) ? json_string_value(v) : NULL;
    if (hex == NULL || core_hex_decode(hex, strlen(hex), sub->kms_key, SUB_KMS_KEY_LEN) < 0)
        return sub_fail(cx, p, 0, "must be %d hex characters", SUB_HEX_LEN);
    sub->has_kms_key = true;
    return 0;
}

/* Printable ASCII only: the secret is typed into phones and sipp scenarios and never needs escaping in a log
 * line it must not reach anyway. */
static int sub_parse_sip_password(const sub_ctx_t *cx, const sub_path_t *p, json_t *v, subscriber_t *sub)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    size_t n = s != NULL ? strlen(s) : 0;
    bool ok = s != NULL && n == json_string_length(v) && n >= SUB_SIP_PASSWORD_MIN && n <= SUB_SIP_PASSWORD_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] >= 0x20 && s[i] <= 0x7e;
    if (!ok)
        return sub_fail(cx, p, 0, "must be %d to %d printable ASCII characters", SUB_SIP_PASSWORD_MIN,
                        SUB_SIP_PASSWORD_MAX);
    memcpy(sub->sip_password, s, n + 1);
    sub->has_sip_password = true;
    return 0;
}

/* One element of "subscribers", in DESIGN order so the first error is the first a reader would meet. */
static int sub_parse_one(const sub_ctx_t *cx, const sub_path_t *p, json_t *obj, subscriber_t *sub)
{
    json_t *v;

    if (!json_is_object(obj))
        return sub_fail(cx, p, 0, "must be an object");
    if (sub_check_keys(cx, p, obj, sub_keys) < 0)
        return -1;

    sub_path_t fp = sub_path_key(*p, "imsi");
    if ((v = sub_require(cx, p, obj, "imsi")) == NULL ||
        sub_parse_digits(cx, &fp, v, SUB_IMSI_MIN, SUB_IMSI_MAX, sub->imsi) < 0)
        return -1;
    fp = sub_path_key(*p, "msisdn");
    if ((v = sub_require(cx, p, obj, "msisdn")) == NULL ||
        sub_parse_digits(cx, &fp, v, SUB_MSISDN_MIN, SUB_MSISDN_MAX, sub->msisdn) < 0)
        return -1;
    fp = sub_path_key(*p, "impu");
    if ((v = sub_require(cx, p, obj, "impu")) == NULL || sub_parse_impus(cx, &fp, v, sub) < 0)
        return -1;
    fp = sub_path_key(*p, "voice_encryption");
    if ((v = sub_require(cx, p, obj, "voice_encryption")) == NULL ||
        sub_parse_bool(cx, &fp, v, &sub->voice_encryption) < 0)
        return -1;
    fp = sub_path_key(*p, "access");
    if ((v = sub_require(cx, p, obj, "access")) == NULL || sub_parse_access(cx, &fp, v, sub) < 0)
        return -1;
    fp = sub_path_key(*p, "kms_key");
    if ((v = json_object_get(obj, "kms_key")) != NULL && sub_parse_kms_key(cx, &fp, v, sub) < 0)
        return -1;
    fp = sub_path_key(*p, "sip_password");
    if ((v = json_object_get(obj, "sip_password")) != NULL && sub_parse_sip_password(cx, &fp, v, sub) < 0)
        return -1;
    return 0;
}

/* ---- cross-subscriber duplicates ---- */

static sub_path_t sub_path_of(const sub_snapshot_t *s, const subscriber_t *sub, const char *field)
{
    sub_path_t p = sub_path_key((sub_path_t){.n = 0}, "subscribers");
    return sub_path_key(sub_path_index(p, (size_t)(sub - s->subs)), field);
}

static const char *sub_id_at(const subscriber_t *const *idx, size_t i, size_t off)
{
    return (const char *)idx[i] + off;
}

/* Among runs of equal ids in a sorted index (ties in document order), the duplicate that comes first in the
 * document: the second element of some run. */
static int sub_check_dup_ids(const sub_ctx_t *cx, const sub_snapshot_t *s, const subscriber_t **idx, size_t off,
                             const char *field)
{
    const subscriber_t *dup = NULL, *orig = NULL;

    for (size_t i = 1; i < s->n; i++) {
        const char *a = sub_id_at(idx, i - 1, off);
        if (strcmp(a, sub_id_at(idx, i, off)) != 0 || (i >= 2 && strcmp(sub_id_at(idx, i - 2, off), a) == 0))
            continue;
        if (dup == NULL || idx[i] < dup) {
            dup = idx[i];
            orig = idx[i - 1];
        }
    }
    if (dup == NULL)
        return 0;
    sub_path_t p = sub_path_of(s, dup, field);
    return sub_fail(cx, &p, 0, "duplicate of subscribers[%zu].%s", (size_t)(orig - s->subs), field);
}

static int sub_check_dup_impus(const sub_ctx_t *cx, const sub_snapshot_t *s)
{
    const sub_impu_entry_t *dup = NULL, *orig = NULL;

    for (size_t i = 1; i < s->n_impu; i++) {
        const sub_impu_entry_t *a = &s->by_impu[i - 1], *b = &s->by_impu[i];
        if (strcmp(a->key, b->key) != 0 || (i >= 2 && strcmp(s->by_impu[i - 2].key, a->key) == 0))
            continue;
        if (dup == NULL || b->sub < dup->sub || (b->sub == dup->sub && b->impu < dup->impu)) {
            dup = b;
            orig = a;
        }
    }
    if (dup == NULL)
        return 0;
    sub_path_t p = sub_path_index(sub_path_of(s, dup->sub, "impu"), dup->impu);
    return sub_fail(cx, &p, 0, "duplicate of subscribers[%zu].impu[%zu]", (size_t)(orig->sub - s->subs), orig->impu);
}

/* An IMPU carrying number N must not belong to anyone but the subscriber whose MSISDN is N. */
static int sub_check_impu_numbers(const sub_ctx_t *cx, const sub_snapshot_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        const subscriber_t *sub = &s->subs[i];
        for (size_t j = 0; j < sub->n_impu; j++) {
            char norm[SUB_URI_MAX + 1], digits[SUB_NUMBER_MAX + 1];
            if (sub_identity_normalise(sub->impu[j], norm, sizeof(norm)) < 0 ||
                core_identity_number(norm, digits, sizeof(digits)) < 0)
                continue;
            const subscriber_t *hit = sub_find_by_msisdn(s, digits); /* s is no layer yet */
            if (hit == NULL || hit == sub)
                continue;
            sub_path_t p = sub_path_index(sub_path_of(s, sub, "impu"), j);
            return sub_fail(cx, &p, 0, "duplicate: the number is the msisdn of subscribers[%zu]",
                            (size_t)(hit - s->subs));
        }
    }
    return 0;
}

static int sub_cmp_kms_key(const void *a, const void *b)
{
    const subscriber_t *x = *(const subscriber_t *const *)a, *y = *(const subscriber_t *const *)b;
    int c = memcmp(x->kms_key, y->kms_key, SUB_KMS_KEY_LEN);
    return c != 0 ? c : (x > y) - (x < y);
}

/* Two subscribers with one kms_key could each pass the KMS's Digest as the other: a duplicate is an error naming
 * both IMSIs. Sorting a scratch index keeps this O(n log n) at a million subscribers. */
static int sub_check_dup_kms_keys(const sub_ctx_t *cx, const sub_snapshot_t *s)
{
    const subscriber_t **idx = calloc(s->n ? s->n : 1, sizeof(*idx));
    size_t n = 0;
    if (idx == NULL) {
        sub_path_t root = {.n = 0};
        return sub_fail(cx, &root, 0, "out of memory");
    }
    for (size_t i = 0; i < s->n; i++)
        if (s->subs[i].has_kms_key)
            idx[n++] = &s->subs[i];
    qsort(idx, n, sizeof(*idx), sub_cmp_kms_key);
    const subscriber_t *dup = NULL, *orig = NULL;
    for (size_t i = 1; i < n; i++)
        if (memcmp(idx[i - 1]->kms_key, idx[i]->kms_key, SUB_KMS_KEY_LEN) == 0 && (dup == NULL || idx[i] < dup)) {
            dup = idx[i];
            orig = idx[i - 1];
        }
    free(idx);
    if (dup == NULL)
        return 0;
    sub_path_t p = sub_path_of(s, dup, "kms_key");
    return sub_fail(cx, &p, 0, "IMSI %s has the kms_key of IMSI %s (subscribers[%zu]); each must be unique", dup->imsi,
                    orig->imsi, (size_t)(orig - s->subs));
}

static int sub_check_duplicates(const sub_ctx_t *cx, const sub_snapshot_t *s)
{
    if (sub_check_dup_ids(cx, s, s->by_imsi, offsetof(subscriber_t, imsi), "imsi") < 0 ||
        sub_check_dup_ids(cx, s, s->by_msisdn, offsetof(subscriber_t, msisdn), "msisdn") < 0 ||
        sub_check_dup_impus(cx, s) < 0 || sub_check_dup_kms_keys(cx, s) < 0)
        return -1;
    return sub_check_impu_numbers(cx, s);
}

/* ---- loading ---- */

static int sub_parse_root(const sub_ctx_t *cx, json_t *root, sub_snapshot_t *s)
{
    sub_path_t rootp = {.n = 0};

    if (!json_is_object(root))
        return sub_fail(cx, &rootp, 0, "must be an object");
    if (sub_check_keys(cx, &rootp, root, sub_root_keys) < 0)
        return -1;
    json_t *list = sub_require(cx, &rootp, root, "subscribers");
    if (list == NULL)
        return -1;
    sub_path_t lp = sub_path_key(rootp, "subscribers");
    if (!json_is_array(list))
        return sub_fail(cx, &lp, 0, "must be an array");

    s->subs = calloc(json_array_size(list) ? json_array_size(list) : 1, sizeof(*s->subs));
    if (s->subs == NULL)
        return sub_fail(cx, &lp, 0, "out of memory");
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        sub_path_t ip = sub_path_index(lp, i);
        s->n = i + 1; /* counted before parsing so a failure frees what this one allocated */
        if (sub_parse_one(cx, &ip, item, &s->subs[i]) < 0)
            return -1;
    }
    if (sub_build_indexes(s) < 0)
        return sub_fail(cx, &lp, 0, "out of memory");
    return sub_check_duplicates(cx, s);
}

static int sub_blank(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!isspace((unsigned char)text[i]))
            return 0;
    }
    return 1;
}

static void sub_syntax_error(const sub_ctx_t *cx, const json_error_t *jerr, const char *reason)
{
    if (cx->err == NULL)
        return;
    cx->err->line = jerr->line > 0 ? jerr->line : 1;
    cx->err->col = jerr->column > 0 ? jerr->column : 1;
    snprintf(cx->err->field, sizeof(cx->err->field), "%s", SUB_SYNTAX_FIELD);
    int head = snprintf(cx->err->msg, sizeof(cx->err->msg), "%s:%d:%d: %s: ", cx->name, cx->err->line, cx->err->col,
                        SUB_SYNTAX_FIELD);
    if (head < 0 || (size_t)head >= sizeof(cx->err->msg))
        return;
    snprintf(cx->err->msg + head, sizeof(cx->err->msg) - (size_t)head, "%s", reason);
    cx->err->reason = cx->err->msg + head;
}

void sub_error_clear(sub_error_t *err)
{
    if (err == NULL)
        return;
    err->msg[0] = '\0';
    err->field[0] = '\0';
    err->line = err->col = 0;
    err->reason = err->msg;
}

sub_snapshot_t *sub_snapshot_load_text(const char *name, const char *text, size_t len, sub_error_t *err)
{
    sub_ctx_t cx = {.name = name ? name : "(subscribers)", .text = text, .len = len, .err = err};
    json_error_t jerr;

    sub_error_clear(err);
    if (text == NULL)
        len = 0;
    json_t *root = text != NULL ? json_loadb(text, len, SUB_LOAD_FLAGS, &jerr) : NULL;
    if (root == NULL) {
        if (text == NULL || sub_blank(text, len)) {
            jerr.line = jerr.column = 1;
            sub_syntax_error(&cx, &jerr, "empty file");
        } else {
            sub_syntax_error(&cx, &jerr, jerr.text);
        }
        return NULL;
    }
    sub_snapshot_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        json_decref(root);
        return NULL;
    }
    atomic_init(&s->refs, 1);
    int rc = sub_parse_root(&cx, root, s);
    json_decref(root);
    if (rc < 0) {
        sub_snapshot_destroy(s);
        return NULL;
    }
    return s;
}

char *sub_file_read(const char *path, size_t max_bytes, size_t *len, sub_error_t *err)
{
    cfg_error_t cerr;
    char *text = cfg_read_file_max(path, max_bytes, SUB_FILE_MAX_BYTES_SETTING, len, &cerr);

    if (text == NULL && err != NULL)
        snprintf(err->msg, sizeof(err->msg), "%s", cerr.msg);
    return text;
}

sub_snapshot_t *sub_snapshot_load_file(const char *path, sub_error_t *err)
{
    sub_error_clear(err);
    size_t len;
    char *text = sub_file_read(path, SUB_FILE_MAX_BYTES_DEFAULT, &len, err);
    if (text == NULL)
        return NULL;
    sub_snapshot_t *s = sub_snapshot_load_text(path, text, len, err);
    free(text);
    return s;
}

sub_snapshot_t *sub_snapshot_from_json(const char *name, json_t *root, sub_error_t *err)
{
    sub_error_clear(err);
    char *text = sub_json_dump(root);
    if (text == NULL) {
        if (err != NULL)
            snprintf(err->msg, sizeof(err->msg), "%s:1:1: %s: must be an object", name ? name : "(subscribers)",
                     SUB_ROOT_FIELD);
        return NULL;
    }
    sub_snapshot_t *s = sub_snapshot_load_text(name, text, strlen(text), err);
    free(text);
    return s;
}

sub_snapshot_t *sub_snapshot_from_subs(const char *name, subscriber_t *subs, size_t n, sub_error_t *err)
{
    sub_ctx_t cx = {.name = name ? name : "(store)", .text = "", .len = 0, .err = err};
    sub_snapshot_t *s = calloc(1, sizeof(*s));

    sub_error_clear(err);
    if (s == NULL) {
        for (size_t i = 0; i < n; i++)
            sub_subscriber_clear(&subs[i]);
        free(subs);
        if (err != NULL)
            snprintf(err->msg, sizeof(err->msg), "%s: out of memory", cx.name);
        return NULL;
    }
    atomic_init(&s->refs, 1);
    s->subs = subs;
    s->n = n;
    sub_path_t root = {.n = 0};
    if (sub_build_indexes(s) < 0 ? sub_fail(&cx, &root, 0, "out of memory") : sub_check_duplicates(&cx, s)) {
        sub_snapshot_destroy(s);
        return NULL;
    }
    return s;
}

void sub_error_at(sub_error_t *err, const char *name, const char *text, size_t len, size_t index, const char *field,
                  const char *reason)
{
    sub_ctx_t cx = {.name = name ? name : "(subscribers)", .text = text ? text : "", .len = text ? len : 0, .err = err};
    sub_path_t p = sub_path_index(sub_path_key((sub_path_t){.n = 0}, "subscribers"), index);

    sub_error_clear(err);
    if (field != NULL)
        p = sub_path_key(p, field);
    sub_fail(&cx, &p, 0, "%s", reason);
}

/* ---- layers ---- */

static int sub_cmp_imsi_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

sub_snapshot_t *sub_snapshot_layer(sub_snapshot_t *base, subscriber_t *changed, size_t n_changed,
                                   char (*masked)[SUB_IMSI_MAX + 1], size_t n_masked, sub_error_t *err)
{
    sub_snapshot_t *s = sub_snapshot_from_subs("(changes)", changed, n_changed, err);
    if (s == NULL || base == NULL || base->base != NULL) {
        free(masked);
        sub_snapshot_release(s);
        return NULL;
    }
    qsort(masked, n_masked, sizeof(*masked), sub_cmp_imsi_str);
    size_t gone = 0;
    for (size_t i = 0; i < n_masked; i++)
        gone += sub_find_by_imsi(base, masked[i]) != NULL; /* base is no layer */
    s->base = sub_snapshot_ref(base);
    s->masked = masked;
    s->n_masked = n_masked;
    s->n_total = base->n - gone + s->n;
    return s;
}
