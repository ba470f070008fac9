/*
 * fuzz_subscribers — libFuzzer target for the subscriber file loader (lib/subscriber/subscriber.h; the format of
 * DESIGN §5, JSON per RFC 8259 read by jansson, positions by lib/core/jsonpos). The three simulators load it at
 * start and on SIGHUP; the admin API feeds request bodies through sub_snapshot_from_json.
 *
 * The input is the file's text, loaded from memory (sub_snapshot_load_text is what sub_snapshot_load_file calls
 * after reading the file). Properties checked on top of the sanitizers:
 *   - a refused file gives "name:line:column: field: reason" with a line and column inside the text, and the
 *     same numbers in err.line / err.col;
 *   - the admin path (the same JSON as a tree, sub_snapshot_from_json) accepts exactly what the file path does;
 *   - an accepted file finds each subscriber by IMSI, MSISDN, "imsi-"/"msisdn-" forms and every IMPU, and its
 *     canonical dump (sub_snapshot_to_json + sub_json_dump, what write-back stores) loads to the same data.
 */
#include "fuzz.h"

#include <stdbool.h>
#include <string.h>

#include "subscriber/subscriber.h"

#define NAME "fuzz.json"
#define LOAD_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY) /* the loader's own flags */
#define ID_MAX 32                                             /* "msisdn-" or "imsi-" and 15 digits */

/* Lines in text (a last line without '\n' counts) and the longest line's length. */
static void text_extent(const char *text, size_t len, int *lines, int *longest)
{
    int l = 1, col = 0, max = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n') {
            l++;
            col = 0;
        } else if (++col > max) {
            max = col;
        }
    }
    *lines = l;
    *longest = max;
}

static void check_error(const sub_error_t *err, const char *text, size_t len)
{
    char head[64];
    int lines, longest;
    text_extent(text, len, &lines, &longest);
    FUZZ_CHECK(err->line >= 1 && err->line <= lines && err->col >= 1 && err->col <= longest + 1);
    snprintf(head, sizeof head, "%s:%d:%d: ", NAME, err->line, err->col);
    FUZZ_CHECK(strncmp(err->msg, head, strlen(head)) == 0);
    FUZZ_CHECK(err->field[0] != '\0' && err->reason != NULL && err->reason[0] != '\0');
    FUZZ_CHECK(err->reason > err->msg && err->reason < err->msg + sizeof err->msg);
}

static void check_lookups(const sub_snapshot_t *s)
{
    char id[ID_MAX];
    for (size_t i = 0; i < sub_snapshot_count(s); i++) {
        const subscriber_t *sub = sub_snapshot_at(s, i);
        FUZZ_CHECK(sub_find_by_imsi(s, sub->imsi) == sub && sub_find_by_msisdn(s, sub->msisdn) == sub);
        snprintf(id, sizeof id, "imsi-%s", sub->imsi);
        FUZZ_CHECK(sub_find_by_identity(s, id) == sub);
        snprintf(id, sizeof id, "msisdn-%s", sub->msisdn);
        FUZZ_CHECK(sub_find_by_identity(s, id) == sub);
        for (size_t j = 0; j < sub->n_impu; j++)
            FUZZ_CHECK(sub_find_by_identity(s, sub->impu[j]) == sub);
    }
}

static void check_same_subscriber(const subscriber_t *a, const subscriber_t *b)
{
    FUZZ_CHECK(strcmp(a->imsi, b->imsi) == 0 && strcmp(a->msisdn, b->msisdn) == 0 && a->n_impu == b->n_impu);
    for (size_t j = 0; j < a->n_impu; j++)
        FUZZ_CHECK(strcmp(a->impu[j], b->impu[j]) == 0);
    FUZZ_CHECK(a->voice_encryption == b->voice_encryption && a->rat == b->rat && a->ims_vops == b->ims_vops);
    FUZZ_CHECK(a->has_kms_key == b->has_kms_key && memcmp(a->kms_key, b->kms_key, sizeof a->kms_key) == 0);
}

/* Write-back stores the canonical dump; loading it must give the same subscribers in the same order. */
static void check_dump(const sub_snapshot_t *s)
{
    json_t *root = sub_snapshot_to_json(s);
    FUZZ_CHECK(root != NULL);
    char *text = sub_json_dump(root);
    json_decref(root);
    FUZZ_CHECK(text != NULL);
    sub_error_t err;
    sub_snapshot_t *back = sub_snapshot_load_text(NAME, text, strlen(text), &err);
    if (!back)
        fprintf(stderr, "canonical dump refused: %s\n%s", err.msg, text);
    FUZZ_CHECK(back != NULL && sub_snapshot_count(back) == sub_snapshot_count(s));
    for (size_t i = 0; i < sub_snapshot_count(s); i++)
        check_same_subscriber(sub_snapshot_at(s, i), sub_snapshot_at(back, i));
    sub_snapshot_release(back);
    free(text);
}

/* The admin API's path for the same document: one validator, so the same verdict. */
static void check_admin_path(const char *text, size_t len, bool loaded)
{
    json_t *root = json_loadb(text, len, LOAD_FLAGS, NULL);
    if (!root) {
        FUZZ_CHECK(!loaded);
        return;
    }
    sub_error_t err;
    sub_snapshot_t *s = sub_snapshot_from_json(NAME, root, &err);
    json_decref(root);
    FUZZ_CHECK((s != NULL) == loaded);
    if (!s)
        FUZZ_CHECK(strncmp(err.msg, NAME ":", strlen(NAME ":")) == 0 && err.line >= 1 && err.col >= 1);
    sub_snapshot_release(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    sub_error_t err;
    sub_snapshot_t *s = sub_snapshot_load_text(NAME, text, size, &err);
    if (s) {
        check_lookups(s);
        check_dump(s);
    } else {
        check_error(&err, text, size);
    }
    check_admin_path(text, size, s != NULL);
    sub_snapshot_release(s);
    return 0;
}
