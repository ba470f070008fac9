/*
 * subscriber — the DESIGN §5 subscriber file: strict loader, immutable snapshots, identity lookups.
 *
 * Loading: jansson parses the text (JSON_REJECT_DUPLICATES, so a key twice in one object is an error), then a
 * validator walks the document in order and fills an array of subscriber_t. Every error names
 * "file:line:column: field: reason"; the field is rendered from the same path of keys and indices that jsonpos
 * follows to find the position, so the two cannot disagree. For a missing field the position is that of the
 * object that lacks it; for an unknown key, that of the key. Checks run in two phases: per-field checks in document
 * order, then cross-subscriber duplicates (IMSI, MSISDN, normalised IMPU, and an IMPU whose number is another
 * subscriber's MSISDN), found by sorting rather than by comparing every pair.
 *
 * Snapshots: immutable once built and reference counted with a C11 atomic, so sub_store can swap them under
 * readers. Lookups are bsearch over three sorted index arrays (IMSI, MSISDN, normalised IMPU) built at load time.
 *
 * Identities (sub_identity_normalise): sip/sips/tel scheme and host are lower-cased, URI parameters and headers
 * dropped, visual separators ("-.()") removed from tel numbers and from numeric sip users ("+1-555..."); other sip
 * user parts stay case-sensitive (RFC 3261 §19.1.4). "tel:+N" and "sip:+N@any-host" that are not a listed IMPU
 * resolve through the MSISDN N (read by core_identity_number, the parser the AS uses too); an IMPU carrying a number (tel:+N or sip:+N@host) that is another subscriber's
 * MSISDN is therefore rejected as a duplicate, otherwise the owner of "sip:+N@host" would depend on the host.
 * Simplifications, on purpose: %-escapes are compared as written, and phone-context is dropped with the other
 * parameters.
 *
 * sub_snapshot_from_json (admin API) renders the document with sub_json_dump and loads that text, so errors carry
 * positions in the canonical rendering and there is exactly one validator.
 */
#include "subscriber/subscriber.h"

#include "core/config.h"
#include "core/core_hex.h"
#include "core/core_identity.h"
#include "core/jsonpos.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SUB_HEX_LEN (SUB_KMS_KEY_LEN * 2) /* kms_key characters in the file */
#define SUB_PATH_DEPTH 6                  /* deepest path: subscribers[i].impu[j] / .access.rat */
#define SUB_FIELD_MAX 128                 /* rendered path, e.g. "subscribers[123].access.ims_vops" */
#define SUB_NUMBER_MAX SUB_URI_MAX        /* digits of a number pulled out of an identity */
#define SUB_ROOT_FIELD "(root)"
#define SUB_SYNTAX_FIELD "(json)"
#define SUB_DUMP_FLAGS (JSON_INDENT(2) | JSON_ENCODE_ANY)
#define SUB_LOAD_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)
#define SUB_MSISDN_PREFIX "msisdn-"
#define SUB_IMSI_PREFIX "imsi-"
#define SUB_VISUAL_SEPARATORS "-.()"

static const char *const sub_rat_names[] = {
    [SUB_RAT_NONE] = "NONE", [SUB_RAT_EUTRAN] = "EUTRAN", [SUB_RAT_NR] = "NR",
    [SUB_RAT_UTRAN] = "UTRAN", [SUB_RAT_GERAN] = "GERAN",
};
#define SUB_N_RATS (sizeof(sub_rat_names) / sizeof(sub_rat_names[0]))

/* Keys in DESIGN order: the allowed sets for validation and the order of the canonical dump. */
static const char *const sub_root_keys[] = {"subscribers", NULL};
static const char *const sub_keys[] = {"imsi",   "msisdn",  "impu",         "voice_encryption",
                                       "access", "kms_key", "sip_password", NULL};
static const char *const sub_access_keys[] = {"rat", "ims_vops", NULL};
static const char *const sub_dump_order[] = {"subscribers", "imsi", "msisdn", "impu", "voice_encryption",
                                             "access", "rat", "ims_vops", "kms_key", "sip_password", NULL};

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
    size_t n_total; /* subscribers this snapshot answers for, base and layer together */
    const subscriber_t **by_imsi;   /* sorted by imsi */
    const subscriber_t **by_msisdn; /* sorted by msisdn */
    sub_impu_entry_t *by_impu;      /* sorted by key */
    size_t n_impu;
};

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

static sub_path_t sub_path_key(sub_path_t p, const char *key) {
    if (p.n < SUB_PATH_DEPTH)
        p.s[p.n++] = (jsonpos_step_t){.key = key};
    return p;
}

static sub_path_t sub_path_index(sub_path_t p, size_t index) {
    if (p.n < SUB_PATH_DEPTH)
        p.s[p.n++] = (jsonpos_step_t){.key = NULL, .index = index};
    return p;
}

static void sub_path_render(const sub_path_t *p, char *out, size_t size) {
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
static int sub_fail(const sub_ctx_t *cx, const sub_path_t *p, int at_key, const char *fmt, ...) {
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

/* ---- small validators ---- */

static int sub_all_digits(const char *s, size_t min, size_t max) {
    size_t n = strlen(s);
    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

static int sub_in_list(const char *const *list, const char *s) {
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(list[i], s) == 0)
            return 1;
    }
    return 0;
}

const char *sub_rat_name(sub_rat_t rat) {
    if ((size_t)rat >= SUB_N_RATS)
        return "NONE";
    return sub_rat_names[rat];
}

int sub_rat_parse(const char *name, sub_rat_t *out) {
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

/* ---- identity normalisation ---- */

static int sub_has_prefix_ci(const char *s, const char *prefix) {
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static int sub_is_visual_separator(char c) {
    return c != '\0' && strchr(SUB_VISUAL_SEPARATORS, c) != NULL;
}

/* Appends [s, s+n) to out, lower-cased when asked. Returns -1 when it does not fit (NUL included). */
static int sub_put(char *out, size_t size, size_t *used, const char *s, size_t n, int lower) {
    if (*used + n + 1 > size)
        return -1;
    for (size_t i = 0; i < n; i++)
        out[*used + i] = lower ? (char)tolower((unsigned char)s[i]) : s[i];
    *used += n;
    out[*used] = '\0';
    return 0;
}

/* "+1-555.000(0001)" → "+15550000001". Returns -1 unless it is '+' then digits and separators, with a digit. */
static int sub_global_number(const char *s, size_t n, char *out, size_t size) {
    size_t used = 0, digits = 0;

    if (n == 0 || s[0] != '+' || sub_put(out, size, &used, "+", 1, 0) < 0)
        return -1;
    for (size_t i = 1; i < n; i++) {
        if (sub_is_visual_separator(s[i]))
            continue;
        if (!isdigit((unsigned char)s[i]) || sub_put(out, size, &used, &s[i], 1, 0) < 0)
            return -1;
        digits++;
    }
    return digits > 0 ? 0 : -1;
}

/* tel: number without parameters; visual separators dropped; hex digits, '*' and '#' allowed (RFC 3966). */
static int sub_normalise_tel(const char *rest, char *out, size_t size, size_t *used) {
    size_t n = strcspn(rest, ";?"), kept = 0;

    for (size_t i = 0; i < n; i++) {
        char c = rest[i];
        if (sub_is_visual_separator(c))
            continue;
        int ok = isxdigit((unsigned char)c) || c == '*' || c == '#' || (c == '+' && i == 0);
        if (!ok || sub_put(out, size, used, &c, 1, 1) < 0)
            return -1;
        if (c != '+')
            kept++;
    }
    return kept > 0 ? 0 : -1;
}

/* sip/sips: user part as written (a '+' number loses its separators), host lower-cased, params/headers dropped. */
static int sub_normalise_sip(const char *rest, char *out, size_t size, size_t *used) {
    const char *at = strchr(rest, '@');
    const char *host = at != NULL ? at + 1 : rest;
    size_t host_len = strcspn(host, ";?");

    if (at != NULL) {
        char number[SUB_NUMBER_MAX + 2];
        size_t user_len = (size_t)(at - rest);
        if (user_len == 0)
            return -1;
        if (sub_global_number(rest, user_len, number, sizeof(number)) == 0) {
            if (sub_put(out, size, used, number, strlen(number), 0) < 0)
                return -1;
        } else if (sub_put(out, size, used, rest, user_len, 0) < 0) {
            return -1;
        }
        if (sub_put(out, size, used, "@", 1, 0) < 0)
            return -1;
    }
    if (host_len == 0)
        return -1;
    return sub_put(out, size, used, host, host_len, 1);
}

static int sub_has_space_or_control(const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c == 0x7f)
            return 1;
    }
    return 0;
}

/* "msisdn-<digits>", "imsi-<digits>" (prefix case-insensitive) and bare digits, copied with a lower-case prefix. */
static int sub_normalise_plain(const char *id, char *out, size_t size) {
    static const char *const prefixes[] = {SUB_MSISDN_PREFIX, SUB_IMSI_PREFIX, ""};
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t plen = strlen(prefixes[i]);
        if (!sub_has_prefix_ci(id, prefixes[i]) || !sub_all_digits(id + plen, 1, SIZE_MAX))
            continue;
        if (sub_put(out, size, &used, prefixes[i], plen, 0) < 0 ||
            sub_put(out, size, &used, id + plen, strlen(id + plen), 0) < 0)
            return -1;
        return 0;
    }
    return -1;
}

int sub_identity_normalise(const char *identity, char *out, size_t size) {
    static const char *const schemes[] = {"sip:", "sips:", "tel:"};
    size_t used = 0;

    if (identity == NULL || out == NULL || size == 0 || sub_has_space_or_control(identity))
        return -1;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t slen = strlen(schemes[i]);
        if (!sub_has_prefix_ci(identity, schemes[i]))
            continue;
        if (sub_put(out, size, &used, schemes[i], slen, 0) < 0)
            return -1;
        int rc = schemes[i][0] == 't' ? sub_normalise_tel(identity + slen, out, size, &used)
                                      : sub_normalise_sip(identity + slen, out, size, &used);
        if (rc < 0)
            out[0] = '\0';
        return rc;
    }
    return sub_normalise_plain(identity, out, size);
}

static int sub_is_uri(const char *norm) {
    return strncmp(norm, "sip:", 4) == 0 || strncmp(norm, "sips:", 5) == 0 || strncmp(norm, "tel:", 4) == 0;
}

/* ---- snapshot lifetime ---- */

/* The index key of an IMPU: the IMPU as written when that is already its normal form (most are: a test core writes
 * them lower-case, without parameters), so a million subscribers do not carry a second copy of every IMPU. */
static const char *sub_impu_key(const char *impu, const char *norm) {
    return strcmp(impu, norm) == 0 ? impu : strdup(norm);
}

static void sub_impu_key_free(const sub_impu_entry_t *e) {
    if (e->key != e->sub->impu[e->impu])
        free((char *)e->key);
}

static void sub_snapshot_destroy(sub_snapshot_t *s) {
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

sub_snapshot_t *sub_snapshot_ref(sub_snapshot_t *s) {
    if (s != NULL)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void sub_snapshot_release(sub_snapshot_t *s) {
    if (s == NULL)
        return;
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        sub_snapshot_destroy(s);
}

size_t sub_snapshot_count(const sub_snapshot_t *s) {
    return s == NULL ? 0 : s->base != NULL ? s->n_total : s->n;
}

bool sub_snapshot_is_layer(const sub_snapshot_t *s) {
    return s != NULL && s->base != NULL;
}

const subscriber_t *sub_snapshot_at(const sub_snapshot_t *s, size_t i) {
    if (s == NULL || i >= s->n)
        return NULL;
    return &s->subs[i];
}

/* ---- per-field validation ---- */

static int sub_check_keys(const sub_ctx_t *cx, const sub_path_t *p, json_t *obj, const char *const *allowed) {
    const char *key;
    json_t *value;

    json_object_foreach(obj, key, value) {
        if (!sub_in_list(allowed, key)) {
            sub_path_t kp = sub_path_key(*p, key);
            return sub_fail(cx, &kp, 1, "unknown key");
        }
    }
    return 0;
}

/* The member `key` of `obj`, or NULL with a "missing" error positioned at the object. */
static json_t *sub_require(const sub_ctx_t *cx, const sub_path_t *p, json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        sub_path_t kp = sub_path_key(*p, key);
        sub_fail(cx, &kp, 0, "missing");
    }
    return v;
}

static int sub_parse_digits(const sub_ctx_t *cx, const sub_path_t *p, json_t *v, size_t min, size_t max,
                            char *out) {
    if (!json_is_string(v))
        return sub_fail(cx, p, 0, "must be a string of %zu to %zu digits", min, max);
    if (!sub_all_digits(json_string_value(v), min, max))
        return sub_fail(cx, p, 0, "must be %zu to %zu digits", min, max);
    strcpy(out, json_string_value(v));
    return 0;
}

static int sub_parse_bool(const sub_ctx_t *cx, const sub_path_t *p, json_t *v, bool *out) {
    if (!json_is_boolean(v))
        return sub_fail(cx, p, 0, "must be true or false");
    *out = json_is_true(v);
    return 0;
}

static int sub_valid_impu(const char *s) {
    char norm[SUB_URI_MAX + 1];
    size_t n = strlen(s);

    if (n == 0 || n > SUB_URI_MAX)
        return 0;
    if (sub_identity_normalise(s, norm, sizeof(norm)) < 0)
        return 0;
    return sub_is_uri(norm);
}

static int sub_parse_impus(const sub_ctx_t *cx, const sub_path_t *p, json_t *v, subscriber_t *sub) {
    size_t i;
    json_t *item;

    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > SUB_IMPU_MAX)
        return sub_fail(cx, p, 0, "must be an array of 1 to %d URIs", SUB_IMPU_MAX);
    json_array_foreach(v, i, item) {
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

static int sub_parse_access(const sub_ctx_t *cx, const sub_path_t *p, json_t *v, subscriber_t *sub) {
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

static int sub_parse_kms_key(const sub_ctx_t *cx, const sub_path_t *p, json_t *v, subscriber_t *sub) {
    const char *hex = json_is_string(v) ? json_string_value(v) : NULL;
    if (hex == NULL || core_hex_decode(hex, strlen(hex), sub->kms_key, SUB_KMS_KEY_LEN) < 0)
        return sub_fail(cx, p, 0, "must be %d hex characters", SUB_HEX_LEN);
    sub->has_kms_key = true;
    return 0;
}

/* Printable ASCII only: the secret is typed into phones and sipp scenarios and never needs escaping in a log
 * line it must not reach anyway. */
static int sub_parse_sip_password(const sub_ctx_t *cx, const sub_path_t *p, json_t *v, subscriber_t *sub) {
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
static int sub_parse_one(const sub_ctx_t *cx, const sub_path_t *p, json_t *obj, subscriber_t *sub) {
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

/* ---- indexes and duplicates ---- */

static int sub_cmp_imsi(const void *a, const void *b) {
    const subscriber_t *x = *(const subscriber_t *const *)a, *y = *(const subscriber_t *const *)b;
    int c = strcmp(x->imsi, y->imsi);
    return c != 0 ? c : (x > y) - (x < y); /* ties in document order: the later one is the duplicate */
}

static int sub_cmp_msisdn(const void *a, const void *b) {
    const subscriber_t *x = *(const subscriber_t *const *)a, *y = *(const subscriber_t *const *)b;
    int c = strcmp(x->msisdn, y->msisdn);
    return c != 0 ? c : (x > y) - (x < y);
}

static int sub_cmp_impu(const void *a, const void *b) {
    const sub_impu_entry_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0)
        return c;
    if (x->sub != y->sub)
        return (x->sub > y->sub) - (x->sub < y->sub);
    return (x->impu > y->impu) - (x->impu < y->impu);
}

static int sub_build_indexes(sub_snapshot_t *s) {
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

static sub_path_t sub_path_of(const sub_snapshot_t *s, const subscriber_t *sub, const char *field) {
    sub_path_t p = sub_path_key((sub_path_t){.n = 0}, "subscribers");
    return sub_path_key(sub_path_index(p, (size_t)(sub - s->subs)), field);
}

static const char *sub_id_at(const subscriber_t *const *idx, size_t i, size_t off) {
    return (const char *)idx[i] + off;
}

/* Among runs of equal ids in a sorted index (ties in document order), the duplicate that comes first in the
 * document: the second element of some run. */
static int sub_check_dup_ids(const sub_ctx_t *cx, const sub_snapshot_t *s, const subscriber_t **idx,
                             size_t off, const char *field) {
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

static int sub_check_dup_impus(const sub_ctx_t *cx, const sub_snapshot_t *s) {
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
    return sub_fail(cx, &p, 0, "duplicate of subscribers[%zu].impu[%zu]", (size_t)(orig->sub - s->subs),
                    orig->impu);
}

static int sub_cmp_msisdn_key(const void *key, const void *elem) {
    return strcmp(key, (*(const subscriber_t *const *)elem)->msisdn);
}

/* An IMPU carrying number N must not belong to anyone but the subscriber whose MSISDN is N. */
static int sub_check_impu_numbers(const sub_ctx_t *cx, const sub_snapshot_t *s) {
    for (size_t i = 0; i < s->n; i++) {
        const subscriber_t *sub = &s->subs[i];
        for (size_t j = 0; j < sub->n_impu; j++) {
            char norm[SUB_URI_MAX + 1], digits[SUB_NUMBER_MAX + 1];
            if (sub_identity_normalise(sub->impu[j], norm, sizeof(norm)) < 0 ||
                core_identity_number(norm, digits, sizeof(digits)) < 0)
                continue;
            const subscriber_t *const *hit =
                bsearch(digits, s->by_msisdn, s->n, sizeof(*s->by_msisdn), sub_cmp_msisdn_key);
            if (hit == NULL || *hit == sub)
                continue;
            sub_path_t p = sub_path_index(sub_path_of(s, sub, "impu"), j);
            return sub_fail(cx, &p, 0, "duplicate: the number is the msisdn of subscribers[%zu]",
                            (size_t)(*hit - s->subs));
        }
    }
    return 0;
}

static int sub_cmp_kms_key(const void *a, const void *b) {
    const subscriber_t *x = *(const subscriber_t *const *)a, *y = *(const subscriber_t *const *)b;
    int c = memcmp(x->kms_key, y->kms_key, SUB_KMS_KEY_LEN);
    return c != 0 ? c : (x > y) - (x < y);
}

/* Two subscribers with one kms_key could each pass the KMS's Digest as the other: a duplicate is an error naming
 * both IMSIs. Sorting a scratch index keeps this O(n log n) at a million subscribers. */
static int sub_check_dup_kms_keys(const sub_ctx_t *cx, const sub_snapshot_t *s) {
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
    return sub_fail(cx, &p, 0, "IMSI %s has the kms_key of IMSI %s (subscribers[%zu]); each must be unique",
                    dup->imsi, orig->imsi, (size_t)(orig - s->subs));
}

static int sub_check_duplicates(const sub_ctx_t *cx, const sub_snapshot_t *s) {
    if (sub_check_dup_ids(cx, s, s->by_imsi, offsetof(subscriber_t, imsi), "imsi") < 0 ||
        sub_check_dup_ids(cx, s, s->by_msisdn, offsetof(subscriber_t, msisdn), "msisdn") < 0 ||
        sub_check_dup_impus(cx, s) < 0 || sub_check_dup_kms_keys(cx, s) < 0)
        return -1;
    return sub_check_impu_numbers(cx, s);
}

/* ---- loading ---- */

static int sub_parse_root(const sub_ctx_t *cx, json_t *root, sub_snapshot_t *s) {
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
    json_array_foreach(list, i, item) {
        sub_path_t ip = sub_path_index(lp, i);
        s->n = i + 1; /* counted before parsing so a failure frees what this one allocated */
        if (sub_parse_one(cx, &ip, item, &s->subs[i]) < 0)
            return -1;
    }
    if (sub_build_indexes(s) < 0)
        return sub_fail(cx, &lp, 0, "out of memory");
    return sub_check_duplicates(cx, s);
}

static int sub_blank(const char *text, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (!isspace((unsigned char)text[i]))
            return 0;
    }
    return 1;
}

static void sub_syntax_error(const sub_ctx_t *cx, const json_error_t *jerr, const char *reason) {
    if (cx->err == NULL)
        return;
    cx->err->line = jerr->line > 0 ? jerr->line : 1;
    cx->err->col = jerr->column > 0 ? jerr->column : 1;
    snprintf(cx->err->field, sizeof(cx->err->field), "%s", SUB_SYNTAX_FIELD);
    int head = snprintf(cx->err->msg, sizeof(cx->err->msg), "%s:%d:%d: %s: ", cx->name, cx->err->line,
                        cx->err->col, SUB_SYNTAX_FIELD);
    if (head < 0 || (size_t)head >= sizeof(cx->err->msg))
        return;
    snprintf(cx->err->msg + head, sizeof(cx->err->msg) - (size_t)head, "%s", reason);
    cx->err->reason = cx->err->msg + head;
}

void sub_error_clear(sub_error_t *err) {
    if (err == NULL)
        return;
    err->msg[0] = '\0';
    err->field[0] = '\0';
    err->line = err->col = 0;
    err->reason = err->msg;
}

sub_snapshot_t *sub_snapshot_load_text(const char *name, const char *text, size_t len, sub_error_t *err) {
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

char *sub_file_read(const char *path, size_t max_bytes, size_t *len, sub_error_t *err) {
    cfg_error_t cerr;
    char *text = cfg_read_file_max(path, max_bytes, SUB_FILE_MAX_BYTES_SETTING, len, &cerr);

    if (text == NULL && err != NULL)
        snprintf(err->msg, sizeof(err->msg), "%s", cerr.msg);
    return text;
}

sub_snapshot_t *sub_snapshot_load_file(const char *path, sub_error_t *err) {
    sub_error_clear(err);
    size_t len;
    char *text = sub_file_read(path, SUB_FILE_MAX_BYTES_DEFAULT, &len, err);
    if (text == NULL)
        return NULL;
    sub_snapshot_t *s = sub_snapshot_load_text(path, text, len, err);
    free(text);
    return s;
}

sub_snapshot_t *sub_snapshot_from_json(const char *name, json_t *root, sub_error_t *err) {
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

sub_snapshot_t *sub_snapshot_from_subs(const char *name, subscriber_t *subs, size_t n, sub_error_t *err) {
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

void sub_subscriber_clear(subscriber_t *sub) {
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

void sub_error_at(sub_error_t *err, const char *name, const char *text, size_t len, size_t index,
                  const char *field, const char *reason) {
    sub_ctx_t cx = {.name = name ? name : "(subscribers)", .text = text ? text : "", .len = text ? len : 0,
                    .err = err};
    sub_path_t p = sub_path_index(sub_path_key((sub_path_t){.n = 0}, "subscribers"), index);

    sub_error_clear(err);
    if (field != NULL)
        p = sub_path_key(p, field);
    sub_fail(&cx, &p, 0, "%s", reason);
}

/* ---- lookups ---- */

static int sub_cmp_imsi_key(const void *key, const void *elem) {
    return strcmp(key, (*(const subscriber_t *const *)elem)->imsi);
}

static int sub_cmp_impu_key(const void *key, const void *elem) {
    return strcmp(key, ((const sub_impu_entry_t *)elem)->key);
}

static const subscriber_t *own_by_imsi(const sub_snapshot_t *s, const char *imsi) {
    if (s == NULL || imsi == NULL)
        return NULL;
    const subscriber_t *const *hit = bsearch(imsi, s->by_imsi, s->n, sizeof(*s->by_imsi), sub_cmp_imsi_key);
    return hit != NULL ? *hit : NULL;
}

static const subscriber_t *own_by_msisdn(const sub_snapshot_t *s, const char *msisdn) {
    if (s == NULL || msisdn == NULL)
        return NULL;
    const subscriber_t *const *hit =
        bsearch(msisdn, s->by_msisdn, s->n, sizeof(*s->by_msisdn), sub_cmp_msisdn_key);
    return hit != NULL ? *hit : NULL;
}

static const subscriber_t *own_by_impu(const sub_snapshot_t *s, const char *norm) {
    const sub_impu_entry_t *hit = bsearch(norm, s->by_impu, s->n_impu, sizeof(*s->by_impu), sub_cmp_impu_key);
    return hit != NULL ? hit->sub : NULL;
}

static int sub_cmp_masked(const void *key, const void *elem) {
    return strcmp(key, (const char *)elem);
}

/* A layer's answer: its own subscribers first; base's only when that IMSI did not change since base. */
static const subscriber_t *layered(const sub_snapshot_t *s, const subscriber_t *(*own)(const sub_snapshot_t *,
                                                                                    const char *),
                                   const char *key) {
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

const subscriber_t *sub_find_by_imsi(const sub_snapshot_t *s, const char *imsi) {
    return layered(s, own_by_imsi, imsi);
}

const subscriber_t *sub_find_by_msisdn(const sub_snapshot_t *s, const char *msisdn) {
    return layered(s, own_by_msisdn, msisdn);
}

static const subscriber_t *sub_find_by_impu(const sub_snapshot_t *s, const char *norm) {
    return layered(s, own_by_impu, norm);
}

static int sub_cmp_imsi_str(const void *a, const void *b) {
    return strcmp((const char *)a, (const char *)b);
}

sub_snapshot_t *sub_snapshot_layer(sub_snapshot_t *base, subscriber_t *changed, size_t n_changed,
                                   char (*masked)[SUB_IMSI_MAX + 1], size_t n_masked, sub_error_t *err) {
    sub_snapshot_t *s = sub_snapshot_from_subs("(changes)", changed, n_changed, err);
    if (s == NULL || base == NULL || base->base != NULL) {
        free(masked);
        sub_snapshot_release(s);
        return NULL;
    }
    qsort(masked, n_masked, sizeof(*masked), sub_cmp_imsi_str);
    size_t gone = 0;
    for (size_t i = 0; i < n_masked; i++)
        gone += own_by_imsi(base, masked[i]) != NULL;
    s->base = sub_snapshot_ref(base);
    s->masked = masked;
    s->n_masked = n_masked;
    s->n_total = base->n - gone + s->n;
    return s;
}

const subscriber_t *sub_find_by_identity(const sub_snapshot_t *s, const char *identity) {
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

/* ---- JSON rendering ---- */

static int sub_set(json_t *obj, const char *key, json_t *value) {
    return value != NULL ? json_object_set_new(obj, key, value) : -1;
}

static json_t *sub_hex_json(const uint8_t *bytes, size_t n) {
    char hex[SUB_HEX_LEN + 1];

    if (n * 2 >= sizeof(hex))
        return NULL;
    core_hex_encode(bytes, n, hex);
    return json_string(hex);
}

json_t *sub_to_json(const subscriber_t *sub) {
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

json_t *sub_snapshot_to_json(const sub_snapshot_t *s) {
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

static int sub_canonical_members(json_t *src, json_t *dst) {
    const char *key;
    json_t *member;

    for (size_t i = 0; sub_dump_order[i] != NULL; i++) {
        member = json_object_get(src, sub_dump_order[i]);
        if (member != NULL && json_object_set_new(dst, sub_dump_order[i], sub_canonical(member)) < 0)
            return -1;
    }
    json_object_foreach(src, key, member) {
        if (!sub_in_list(sub_dump_order, key) && json_object_set_new(dst, key, sub_canonical(member)) < 0)
            return -1;
    }
    return 0;
}

static json_t *sub_canonical(json_t *v) {
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
    json_array_foreach(v, i, item) {
        if (dst == NULL || json_array_append_new(dst, sub_canonical(item)) < 0) {
            json_decref(dst);
            return NULL;
        }
    }
    return dst;
}

char *sub_json_dump(json_t *root) {
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
