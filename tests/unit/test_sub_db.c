/*
 * Unit tests for lib/subscriber/sub_db, the store interface: lookups by every identity form, put/patch/delete as
 * single transactions with the file loader's cross-subscriber rules checked against stored rows, iteration with a
 * cursor, imports that are all or nothing, and the change counters other connections watch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "subscriber/sub_db.h"
#include "subscriber/sub_ndjson.h"

#define DIR_LEN 64
#define PATH_LEN 128
/* the rest of a subscribed subscriber on NR, after its identities */
#define NR_ON "\"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}"
#define KEY_HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

#define DOC                                                                                              \
    "{\"subscribers\": [\n"                                                                              \
    "  {\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\",\n"                                   \
    "   \"impu\": [\"sip:+15550000001@ims.test\", \"tel:+15550000001\"], \"voice_encryption\": true,\n"  \
    "   \"access\": {\"rat\": \"NR\", \"ims_vops\": true}, \"kms_key\": \"" KEY_HEX "\"},\n"             \
    "  {\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\", \"impu\": [\"sip:Bob@Ims.Test\"],\n" \
    "   \"voice_encryption\": false, \"access\": {\"rat\": \"EUTRAN\", \"ims_vops\": false}}\n"          \
    "]}\n"

typedef struct {
    char dir[DIR_LEN];
    char path[PATH_LEN];
    sub_db_t *db;
} fixture_t;

static sub_snapshot_t *load(const char *text)
{
    sub_error_t err;
    sub_snapshot_t *s = sub_snapshot_load_text("t.json", text, strlen(text), &err);
    if (s == NULL)
        fprintf(stderr, "%s\n", err.msg);
    assert_non_null(s);
    return s;
}

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    sub_error_t err;
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/mihua_db_XXXXXX");
    if (mkdtemp(fx->dir) == NULL)
        return -1;
    snprintf(fx->path, sizeof(fx->path), "%s/s.db", fx->dir);
    fx->db = sub_db_open(fx->path, &err);
    if (fx->db == NULL)
        return -1;
    sub_snapshot_t *s = load(DOC);
    int rc = sub_db_import(fx->db, s, true, "test", NULL, NULL, &err);
    sub_snapshot_release(s);
    *state = fx;
    return rc == SUB_DB_OK ? 0 : -1;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    char p[PATH_LEN + 8];
    sub_db_close(fx->db);
    static const char *const exts[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", fx->path, exts[i]);
        unlink(p);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static const char *rat_of(sub_db_t *db, const char *id)
{
    static char out[16];
    subscriber_t s;
    sub_error_t err;
    if (sub_db_get(db, id, &s, &err) != SUB_DB_OK)
        return "(none)";
    snprintf(out, sizeof(out), "%s", sub_rat_name(s.rat));
    sub_subscriber_clear(&s);
    return out;
}

static void test_get_by_every_identity(void **state)
{
    fixture_t *fx = *state;
    subscriber_t s;
    sub_error_t err;

    assert_int_equal(sub_db_get(fx->db, "imsi-001010000000001", &s, &err), SUB_DB_OK);
    assert_string_equal(s.msisdn, "15550000001");
    assert_int_equal(s.n_impu, 2);
    assert_string_equal(s.impu[1], "tel:+15550000001");
    assert_true(s.has_kms_key);
    assert_int_equal(s.kms_key[1], 0x11);
    sub_subscriber_clear(&s);
    assert_false(s.has_kms_key);
    assert_int_equal(s.kms_key[1], 0); /* wiped */

    assert_string_equal(rat_of(fx->db, "msisdn-15550000001"), "NR");
    assert_string_equal(rat_of(fx->db, "15550000001"), "NR");
    assert_string_equal(rat_of(fx->db, "tel:+1-555-000-0001"), "NR");
    assert_string_equal(rat_of(fx->db, "sip:+15550000001@other.host;user=phone"), "NR"); /* by number */
    assert_string_equal(rat_of(fx->db, "sip:Bob@ims.test"), "EUTRAN"); /* host case-insensitive, user not */
    assert_string_equal(rat_of(fx->db, "sip:bob@ims.test"), "(none)");
    assert_string_equal(rat_of(fx->db, "001010000000002"), "EUTRAN");
    assert_int_equal(sub_db_get(fx->db, "tel:+19999", &s, &err), SUB_DB_NOT_FOUND);
    assert_int_equal(sub_db_get(fx->db, "not an identity", &s, &err), SUB_DB_NOT_FOUND);
}

static void test_put_creates_replaces_and_checks_rules(void **state)
{
    fixture_t *fx = *state;
    sub_error_t err;
    bool created;
    sub_snapshot_t *s = load("{\"subscribers\": [{\"imsi\": \"001010000000003\", \"msisdn\": \"15550000003\","
                             " \"impu\": [\"tel:+15550000003\"], \"voice_encryption\": true,"
                             " \"access\": {\"rat\": \"GERAN\", \"ims_vops\": false}}]}");
    subscriber_t sub = *sub_snapshot_at(s, 0);

    assert_int_equal(sub_db_put(fx->db, &sub, &created, &err), SUB_DB_OK);
    assert_true(created);
    assert_string_equal(rat_of(fx->db, "tel:+15550000003"), "GERAN");
    sub.rat = SUB_RAT_NR;
    assert_int_equal(sub_db_put(fx->db, &sub, &created, &err), SUB_DB_OK);
    assert_false(created);
    assert_string_equal(rat_of(fx->db, "tel:+15550000003"), "NR");
    assert_int_equal(sub_db_count(fx->db), 3);

    snprintf(sub.msisdn, sizeof(sub.msisdn), "15550000002"); /* another's MSISDN */
    assert_int_equal(sub_db_put(fx->db, &sub, &created, &err), SUB_DB_INVALID);
    assert_string_equal(err.field, "subscribers[0].msisdn");
    assert_string_equal(err.reason, "15550000002 is already the MSISDN of IMSI 001010000000002");

    snprintf(sub.msisdn, sizeof(sub.msisdn), "15550000003");
    char *own = sub.impu[0];
    char dup[] = "sip:Bob@IMS.test;transport=tcp";  /* another's IMPU, normalised */
    char num[] = "sip:+15550000001@elsewhere.test"; /* carries another's MSISDN */
    sub.impu[0] = dup;
    assert_int_equal(sub_db_put(fx->db, &sub, &created, &err), SUB_DB_INVALID);
    assert_string_equal(err.field, "subscribers[0].impu[0]");
    sub.impu[0] = num;
    assert_int_equal(sub_db_put(fx->db, &sub, &created, &err), SUB_DB_INVALID);
    assert_string_equal(err.reason, "the number 15550000001 is the MSISDN of IMSI 001010000000001");
    sub.impu[0] = own;
    snprintf(sub.msisdn, sizeof(sub.msisdn), "15550000003");
    assert_string_equal(rat_of(fx->db, "tel:+15550000003"), "NR"); /* refused puts changed nothing */
    sub_snapshot_release(s);
}

static void test_patch_merges_validates_and_keeps_secret(void **state)
{
    fixture_t *fx = *state;
    sub_error_t err;
    subscriber_t out;
    json_t *p = json_pack("{s:{s:s}, s:b}", "access", "rat", "UTRAN", "voice_encryption", 0);

    assert_int_equal(sub_db_patch(fx->db, "001010000000001", p, &out, &err), SUB_DB_OK);
    assert_int_equal(out.rat, SUB_RAT_UTRAN);
    assert_true(out.ims_vops);    /* untouched member of the merged object */
    assert_true(out.has_kms_key); /* a patch that does not name the key keeps it */
    assert_false(out.voice_encryption);
    sub_subscriber_clear(&out);
    json_decref(p);

    p = json_pack("{s:{s:s}}", "access", "rat", "LTE");
    assert_int_equal(sub_db_patch(fx->db, "001010000000001", p, NULL, &err), SUB_DB_INVALID);
    assert_string_equal(err.field, "subscribers[0].access.rat");
    json_decref(p);
    p = json_pack("{s:s}", "msisdn", "15550000002");
    assert_int_equal(sub_db_patch(fx->db, "001010000000001", p, NULL, &err), SUB_DB_INVALID);
    assert_string_equal(err.field, "subscribers[0].msisdn");
    assert_int_equal(sub_db_patch(fx->db, "001019999999999", p, NULL, &err), SUB_DB_NOT_FOUND);
    json_decref(p);
    assert_string_equal(rat_of(fx->db, "tel:+15550000001"), "UTRAN");
}

/* sip_password is stored, kept across a patch that does not name it, and a kms_key already held by another
 * subscriber is refused naming both IMSIs (the KMS would otherwise take either for the other). */
static void test_secrets_sip_password_and_unique_kms_key(void **state)
{
    fixture_t *fx = *state;
    sub_error_t err;
    subscriber_t out;
    json_t *p = json_pack("{s:s}", "sip_password", "correct horse battery");

    assert_int_equal(sub_db_patch(fx->db, "001010000000002", p, NULL, &err), SUB_DB_OK);
    json_decref(p);
    p = json_pack("{s:b}", "voice_encryption", 1);
    assert_int_equal(sub_db_patch(fx->db, "001010000000002", p, &out, &err), SUB_DB_OK);
    assert_true(out.has_sip_password);
    assert_string_equal(out.sip_password, "correct horse battery");
    sub_subscriber_clear(&out);
    assert_false(out.has_sip_password);
    assert_int_equal(out.sip_password[0], 0); /* wiped */
    json_decref(p);

    p = json_pack("{s:s}", "kms_key", KEY_HEX); /* subscriber 1's key */
    assert_int_equal(sub_db_patch(fx->db, "001010000000002", p, NULL, &err), SUB_DB_INVALID);
    assert_string_equal(err.field, "subscribers[0].kms_key");
    assert_string_equal(err.reason,
                        "IMSI 001010000000002 has the kms_key of IMSI 001010000000001; each must be unique");
    json_decref(p);
    assert_int_equal(sub_db_get(fx->db, "001010000000002", &out, &err), SUB_DB_OK);
    assert_false(out.has_kms_key); /* the refused write changed nothing */
    sub_subscriber_clear(&out);
}

static void test_delete(void **state)
{
    fixture_t *fx = *state;
    sub_error_t err;
    assert_int_equal(sub_db_delete(fx->db, "001010000000002", &err), SUB_DB_OK);
    assert_string_equal(rat_of(fx->db, "sip:Bob@ims.test"), "(none)");
    assert_int_equal(sub_db_delete(fx->db, "001010000000002", &err), SUB_DB_NOT_FOUND);
    assert_int_equal(sub_db_count(fx->db), 1);
}

typedef struct {
    char imsis[8][SUB_IMSI_MAX + 1];
    int n;
} seen_t;

static int remember(const subscriber_t *sub, void *ud)
{
    seen_t *s = ud;
    snprintf(s->imsis[s->n++], sizeof(s->imsis[0]), "%s", sub->imsi);
    return 0;
}

static void test_iterate_pages(void **state)
{
    fixture_t *fx = *state;
    sub_error_t err;
    seen_t s = {0};

    assert_int_equal(sub_db_iterate(fx->db, NULL, 1, remember, &s, &err), 1);
    assert_string_equal(s.imsis[0], "001010000000001");
    assert_int_equal(sub_db_iterate(fx->db, s.imsis[0], 1, remember, &s, &err), 1);
    assert_string_equal(s.imsis[1], "001010000000002");
    assert_int_equal(sub_db_iterate(fx->db, s.imsis[1], 1, remember, &s, &err), 0);
    assert_int_equal(sub_db_iterate(fx->db, "", 0, remember, &s, &err), 2);
}

static void test_import_merge_is_all_or_nothing(void **state)
{
    fixture_t *fx = *state;
    sub_error_t err;
    size_t created, replaced;
    /* First entry fine (replaces 2), second takes subscriber 1's MSISDN: the whole import is refused. */
    sub_snapshot_t *s = load("{\"subscribers\": [\n"
                             "{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\","
                             " \"impu\": [\"tel:+15550000002\"], " NR_ON "},\n"
                             "{\"imsi\": \"001010000000009\", \"msisdn\": \"15550000001\","
                             " \"impu\": [\"tel:+15550000009\"], " NR_ON "}]}");
    int64_t before = sub_db_changes(fx->db);
    assert_int_equal(sub_db_import(fx->db, s, false, NULL, &created, &replaced, &err), SUB_DB_INVALID);
    assert_string_equal(err.field, "subscribers[1].msisdn");
    assert_int_equal(created + replaced, 0);
    assert_string_equal(rat_of(fx->db, "001010000000002"), "EUTRAN");
    assert_int_equal(sub_db_count(fx->db), 2);
    assert_int_equal(sub_db_changes(fx->db), before);
    sub_snapshot_release(s);

    s = load("{\"subscribers\": [{\"imsi\": \"001010000000002\", \"msisdn\": \"15550000002\","
             " \"impu\": [\"tel:+15550000002\"], " NR_ON "},"
             "{\"imsi\": \"001010000000009\", \"msisdn\": \"15550000009\", \"impu\": [\"tel:+15550000009\"],"
             " " NR_ON "}]}");
    assert_int_equal(sub_db_import(fx->db, s, false, NULL, &created, &replaced, &err), SUB_DB_OK);
    assert_int_equal(created, 1);
    assert_int_equal(replaced, 1);
    assert_int_equal(sub_db_count(fx->db), 3);
    assert_int_equal(sub_db_changes(fx->db), before + 1);
    assert_int_equal(sub_db_import(fx->db, s, true, "digest", &created, &replaced, &err), SUB_DB_OK);
    assert_int_equal(sub_db_count(fx->db), 2); /* replace: subscriber 1 is gone */
    char src[16];
    assert_int_equal(sub_db_source(fx->db, src, sizeof(src)), 0);
    assert_string_equal(src, "digest");
    sub_snapshot_release(s);
}

static void test_other_connection_sees_commits(void **state)
{
    fixture_t *fx = *state;
    sub_error_t err;
    sub_db_t *other = sub_db_open(fx->path, &err);
    assert_non_null(other);
    int64_t v = sub_db_data_version(other), c = sub_db_changes(other);
    assert_int_equal(sub_db_delete(fx->db, "001010000000001", &err), SUB_DB_OK);
    assert_true(sub_db_data_version(other) != v);
    assert_int_equal(sub_db_changes(other), c + 1);
    assert_string_equal(rat_of(other, "tel:+15550000001"), "(none)");
    sub_snapshot_t *snap = sub_db_snapshot(other, &c, &err);
    assert_int_equal(sub_snapshot_count(snap), 1);
    assert_int_equal(c, sub_db_changes(fx->db));
    sub_snapshot_release(snap);
    sub_db_close(other);
}

/* Another connection holds the write lock (a bulk import elsewhere): a short-waiting writer gets BUSY, and nothing
 * changes. */
static void test_busy_writer(void **state)
{
    fixture_t *fx = *state;
    sub_error_t err;
    sqlite3 *other;
    json_t *p = json_pack("{s:b}", "voice_encryption", 0);

    assert_int_equal(sqlite3_open(fx->path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    sub_db_set_busy_ms(fx->db, 50);
    assert_int_equal(sub_db_patch(fx->db, "001010000000001", p, NULL, &err), SUB_DB_BUSY);
    assert_non_null(strstr(err.msg, "locked"));
    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    assert_int_equal(sub_db_patch(fx->db, "001010000000001", p, NULL, &err), SUB_DB_OK);
    json_decref(p);
}

static void test_open_fails_with_a_reason(void **state)
{
    (void)state;
    sub_error_t err;
    assert_null(sub_db_open("/nonexistent-dir/x.db", &err));
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x.db: cannot open the subscriber store"));
}

/* NDJSON keeps its line numbers through the wrapping, blank lines included. */
static void test_ndjson_lines(void **state)
{
    (void)state;
    const char *nd = "{\"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\", \"impu\": [\"tel:+15550000001\"],"
                     " \"voice_encryption\": true, \"access\": {\"rat\": \"NR\", \"ims_vops\": true}}\n"
                     "\n"
                     "{\"imsi\": \"001010000000002\", \"msisdn\": \"x\"}\n";
    size_t len;
    sub_error_t err;

    assert_true(sub_ndjson_detect(nd, strlen(nd)));
    assert_false(sub_ndjson_detect(" {\n \"subscribers\": []}", 24));
    char *doc = sub_ndjson_to_document(nd, strlen(nd), &len);
    assert_non_null(doc);
    assert_null(sub_snapshot_load_text("n.ndjson", doc, len, &err));
    /* column 39 of the input: the comma that separates the lines ends the first one */
    assert_string_equal(err.msg, "n.ndjson:3:39: subscribers[1].msisdn: must be 5 to 15 digits");
    free(doc);
    doc = sub_ndjson_to_document("", 0, &len);
    sub_snapshot_t *s = sub_snapshot_load_text("empty", doc, len, &err);
    assert_int_equal(sub_snapshot_count(s), 0);
    sub_snapshot_release(s);
    free(doc);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_get_by_every_identity),
        T(test_put_creates_replaces_and_checks_rules),
        T(test_patch_merges_validates_and_keeps_secret),
        T(test_delete),
        T(test_iterate_pages),
        T(test_import_merge_is_all_or_nothing),
        T(test_secrets_sip_password_and_unique_kms_key),
        T(test_other_connection_sees_commits),
        T(test_busy_writer),
        cmocka_unit_test(test_open_fails_with_a_reason),
        cmocka_unit_test(test_ndjson_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
