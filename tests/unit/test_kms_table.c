/*
 * test_kms_table — kms/kms_keys (the KMS key table) on a fake clock: TTL, single release to the callee named at
 * issue, wrong-callee refusal, delete by either party, sweeping in expiry order, the table limit, cleansing on
 * release; and kms_as_verdict (kms/kms_as_path), the pure AS decision, fed every kind of AS answer. DESIGN §4.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kms_api.h"
#include "kms_keys.h"

#define CALLER "001010000000001"
#define CALLEE "001010000000002"
#define OTHER "001010000000003"

static int64_t fake_now;
static int64_t fake_clock(void *ud)
{
    return *(int64_t *)ud;
}

static kms_keys_t *table(uint64_t ttl_ms, size_t max_keys)
{
    fake_now = 1000;
    kms_keys_cfg_t cfg = {.ttl_ms = ttl_ms, .max_keys = max_keys, .clock = fake_clock, .clock_ud = &fake_now};
    kms_keys_t *t = kms_keys_new(&cfg);
    assert_non_null(t);
    return t;
}

static void test_issue_fields(void **state)
{
    (void)state;
    kms_keys_t *t = table(60000, 0);
    const kms_key_t *k = NULL;
    assert_int_equal(kms_keys_issue(t, "call-1@ue", CALLER, CALLEE, &k), KMS_KEYS_OK);
    assert_int_equal(strlen(k->key_id), KMS_KEY_ID_LEN);
    assert_string_equal(k->call_id, "call-1@ue");
    assert_string_equal(k->caller_imsi, CALLER);
    assert_string_equal(k->callee_imsi, CALLEE);
    assert_int_equal(k->expires_ms, 61000);
    assert_false(k->retrieved);
    static const uint8_t zero[KMS_KEY_LEN];
    assert_memory_not_equal(k->key, zero, KMS_KEY_LEN);
    const kms_key_t *k2 = NULL;
    assert_int_equal(kms_keys_issue(t, "call-1@ue", CALLER, CALLEE, &k2), KMS_KEYS_OK);
    assert_string_not_equal(k2->key_id, k->key_id);
    assert_memory_not_equal(k2->key, k->key, KMS_KEY_LEN);
    assert_int_equal(kms_keys_count(t), 2);
    kms_keys_free(t);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    kms_keys_t *t = table(0, 0);
    const kms_key_t *k = NULL;
    char long_id[KMS_CALL_ID_MAX + 2];
    memset(long_id, 'c', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    assert_int_equal(kms_keys_issue(t, long_id, CALLER, CALLEE, &k), KMS_KEYS_ERROR);
    assert_int_equal(kms_keys_issue(t, "", CALLER, CALLEE, &k), KMS_KEYS_ERROR);
    assert_int_equal(kms_keys_issue(t, "c", CALLER, NULL, &k), KMS_KEYS_ERROR);
    assert_null(kms_keys_find(t, "short"));
    assert_null(kms_keys_find(t, NULL));
    assert_int_equal(kms_keys_count(t), 0);
    kms_keys_cfg_t too_big = {.max_keys = KMS_KEYS_MAX_LIMIT + 1};
    assert_null(kms_keys_new(&too_big));
    kms_keys_free(t);
    kms_keys_free(NULL);
}

static void test_single_release(void **state)
{
    (void)state;
    kms_keys_t *t = table(60000, 0);
    const kms_key_t *k = NULL;
    assert_int_equal(kms_keys_issue(t, "call-1", CALLER, CALLEE, &k), KMS_KEYS_OK);
    char id[KMS_KEY_ID_LEN + 1];
    uint8_t issued[KMS_KEY_LEN], got[KMS_KEY_LEN];
    memcpy(id, k->key_id, sizeof id);
    memcpy(issued, k->key, sizeof issued);

    assert_int_equal(kms_keys_check_release(t, id, CALLEE), KMS_KEYS_OK);
    assert_int_equal(kms_keys_release(t, id, CALLEE, got), KMS_KEYS_OK);
    assert_memory_equal(got, issued, KMS_KEY_LEN);
    static const uint8_t zero[KMS_KEY_LEN];
    const kms_key_t *after = kms_keys_find(t, id);
    assert_non_null(after);
    assert_true(after->retrieved);
    assert_memory_equal(after->key, zero, KMS_KEY_LEN); /* the table's copy is cleansed on release */

    assert_int_equal(kms_keys_check_release(t, id, CALLEE), KMS_KEYS_ALREADY);
    assert_int_equal(kms_keys_release(t, id, CALLEE, got), KMS_KEYS_ALREADY);
    kms_keys_free(t);
}

static void test_wrong_callee(void **state)
{
    (void)state;
    kms_keys_t *t = table(60000, 0);
    const kms_key_t *k = NULL;
    assert_int_equal(kms_keys_issue(t, "call-1", CALLER, CALLEE, &k), KMS_KEYS_OK);
    char id[KMS_KEY_ID_LEN + 1];
    memcpy(id, k->key_id, sizeof id);
    uint8_t got[KMS_KEY_LEN];
    assert_int_equal(kms_keys_release(t, id, OTHER, got), KMS_KEYS_WRONG_USER);
    assert_int_equal(kms_keys_release(t, id, CALLER, got), KMS_KEYS_WRONG_USER); /* not even the caller */
    assert_false(kms_keys_find(t, id)->retrieved);                               /* refusals do not consume the key */
    assert_int_equal(kms_keys_release(t, id, CALLEE, got), KMS_KEYS_OK);
    kms_keys_free(t);
}

static void test_key_id_exact_match(void **state)
{
    (void)state;
    kms_keys_t *t = table(60000, 0);
    const kms_key_t *k = NULL;
    assert_int_equal(kms_keys_issue(t, "call-1", CALLER, CALLEE, &k), KMS_KEYS_OK);
    char id[KMS_KEY_ID_LEN + 2];
    memcpy(id, k->key_id, KMS_KEY_ID_LEN + 1);
    assert_non_null(kms_keys_find(t, id));
    id[KMS_KEY_ID_LEN - 1] ^= 1; /* one character off */
    assert_null(kms_keys_find(t, id));
    id[KMS_KEY_ID_LEN - 1] ^= 1;
    id[KMS_KEY_ID_LEN] = 'x'; /* a longer id with the right prefix */
    id[KMS_KEY_ID_LEN + 1] = '\0';
    assert_null(kms_keys_find(t, id));
    assert_int_equal(kms_keys_check_release(t, id, CALLEE), KMS_KEYS_NOT_FOUND);
    kms_keys_free(t);
}

static void test_ttl(void **state)
{
    (void)state;
    kms_keys_t *t = table(60000, 0);
    const kms_key_t *k = NULL;
    assert_int_equal(kms_keys_issue(t, "call-1", CALLER, CALLEE, &k), KMS_KEYS_OK);
    char id[KMS_KEY_ID_LEN + 1];
    memcpy(id, k->key_id, sizeof id);
    uint8_t got[KMS_KEY_LEN];
    fake_now += 59999;
    assert_non_null(kms_keys_find(t, id));
    fake_now += 1; /* exactly at expiry: gone, before any sweep */
    assert_null(kms_keys_find(t, id));
    assert_int_equal(kms_keys_release(t, id, CALLEE, got), KMS_KEYS_NOT_FOUND);
    assert_int_equal(kms_keys_delete(t, id, CALLER), KMS_KEYS_NOT_FOUND);
    assert_int_equal(kms_keys_count(t), 1); /* still held until swept */
    assert_int_equal(kms_keys_sweep(t), 1);
    assert_int_equal(kms_keys_count(t), 0);
    kms_keys_free(t);
}

static void test_sweep_order(void **state)
{
    (void)state;
    enum { N = 3000 }; /* enough to grow the bucket array twice */
    kms_keys_t *t = table(1000, 0);
    static char ids[N][KMS_KEY_ID_LEN + 1];
    for (int i = 0; i < N; i++) {
        const kms_key_t *k = NULL;
        char call[16];
        snprintf(call, sizeof call, "call-%d", i); /* one key per call (max_keys_per_call) */
        assert_int_equal(kms_keys_issue(t, call, CALLER, CALLEE, &k), KMS_KEYS_OK);
        memcpy(ids[i], k->key_id, sizeof ids[i]);
        if (i == N / 2 - 1)
            fake_now += 500; /* the second half is issued 500 ms later */
    }
    for (int i = 0; i < N; i++)
        assert_non_null(kms_keys_find(t, ids[i]));
    fake_now += 600; /* first half expired, second half not */
    assert_int_equal(kms_keys_sweep(t), N / 2);
    assert_int_equal(kms_keys_count(t), N / 2);
    assert_null(kms_keys_find(t, ids[0]));
    assert_non_null(kms_keys_find(t, ids[N - 1]));
    assert_int_equal(kms_keys_sweep(t), 0);
    fake_now += 1000;
    assert_int_equal(kms_keys_sweep(t), N / 2);
    assert_int_equal(kms_keys_count(t), 0);
    kms_keys_free(t);
}

static void test_delete(void **state)
{
    (void)state;
    kms_keys_t *t = table(60000, 0);
    const kms_key_t *k = NULL;
    char a[KMS_KEY_ID_LEN + 1], b[KMS_KEY_ID_LEN + 1];
    assert_int_equal(kms_keys_issue(t, "call-1", CALLER, CALLEE, &k), KMS_KEYS_OK);
    memcpy(a, k->key_id, sizeof a);
    assert_int_equal(kms_keys_issue(t, "call-2", CALLER, CALLEE, &k), KMS_KEYS_OK);
    memcpy(b, k->key_id, sizeof b);
    assert_int_equal(kms_keys_delete(t, a, OTHER), KMS_KEYS_WRONG_USER);
    assert_int_equal(kms_keys_delete(t, a, CALLER), KMS_KEYS_OK);
    assert_int_equal(kms_keys_delete(t, b, CALLEE), KMS_KEYS_OK);
    assert_int_equal(kms_keys_delete(t, b, CALLEE), KMS_KEYS_NOT_FOUND);
    assert_int_equal(kms_keys_count(t), 0);
    kms_keys_free(t);
}

static void test_full(void **state)
{
    (void)state;
    kms_keys_t *t = table(1000, 2);
    const kms_key_t *k = NULL;
    assert_int_equal(kms_keys_issue(t, "c1", CALLER, CALLEE, &k), KMS_KEYS_OK);
    assert_int_equal(kms_keys_issue(t, "c2", CALLER, CALLEE, &k), KMS_KEYS_OK);
    assert_int_equal(kms_keys_issue(t, "c3", CALLER, CALLEE, &k), KMS_KEYS_FULL);
    fake_now += 1000; /* both expire: a full table sweeps before refusing */
    assert_int_equal(kms_keys_issue(t, "c3", CALLER, CALLEE, &k), KMS_KEYS_OK);
    assert_int_equal(kms_keys_count(t), 1);
    kms_keys_free(t);
}

/* One call: at most max_per_call live keys (3,000 keys for one call once fit); deleting or expiry makes room. */
static void test_per_call_limit(void **state)
{
    (void)state;
    fake_now = 1000;
    kms_keys_cfg_t cfg = {.ttl_ms = 1000, .max_per_call = 2, .clock = fake_clock, .clock_ud = &fake_now};
    kms_keys_t *t = kms_keys_new(&cfg);
    assert_non_null(t);
    const kms_key_t *k = NULL;
    assert_int_equal(kms_keys_issue(t, "c1", CALLER, CALLEE, &k), KMS_KEYS_OK);
    char first[KMS_KEY_ID_LEN + 1];
    strcpy(first, k->key_id);
    assert_int_equal(kms_keys_issue(t, "c1", CALLER, CALLEE, &k), KMS_KEYS_OK);
    assert_int_equal(kms_keys_issue(t, "c1", CALLER, CALLEE, &k), KMS_KEYS_CALL_LIMIT);
    assert_int_equal(kms_keys_issue(t, "c1", OTHER, CALLEE, &k), KMS_KEYS_CALL_LIMIT); /* per call, whoever asks */
    assert_int_equal(kms_keys_issue(t, "c2", CALLER, CALLEE, &k), KMS_KEYS_OK);        /* other calls unaffected */
    assert_int_equal(kms_keys_delete(t, first, CALLER), KMS_KEYS_OK);
    assert_int_equal(kms_keys_issue(t, "c1", CALLER, CALLEE, &k), KMS_KEYS_OK);
    fake_now += 1000; /* all expire: counted keys are swept before a refusal */
    assert_int_equal(kms_keys_issue(t, "c1", CALLER, CALLEE, &k), KMS_KEYS_OK);
    assert_int_equal(kms_keys_issue(t, "c1", CALLER, CALLEE, &k), KMS_KEYS_OK);
    assert_int_equal(kms_keys_issue(t, "c1", CALLER, CALLEE, &k), KMS_KEYS_CALL_LIMIT);
    assert_string_equal(kms_keys_result_str(KMS_KEYS_CALL_LIMIT), "keys_per_call_limit");
    kms_keys_free(t);
}

/* One caller: at most max_per_requester live keys over all its calls; other callers are not affected. */
static void test_per_requester_limit(void **state)
{
    (void)state;
    fake_now = 1000;
    kms_keys_cfg_t cfg = {.ttl_ms = 1000, .max_per_requester = 3, .clock = fake_clock, .clock_ud = &fake_now};
    kms_keys_t *t = kms_keys_new(&cfg);
    assert_non_null(t);
    const kms_key_t *k = NULL;
    char call[16];
    for (int i = 0; i < 3; i++) {
        snprintf(call, sizeof call, "c%d", i);
        assert_int_equal(kms_keys_issue(t, call, CALLER, CALLEE, &k), KMS_KEYS_OK);
    }
    assert_int_equal(kms_keys_issue(t, "c9", CALLER, CALLEE, &k), KMS_KEYS_USER_LIMIT);
    assert_int_equal(kms_keys_issue(t, "c9", OTHER, CALLEE, &k), KMS_KEYS_OK);
    fake_now += 500;
    assert_int_equal(kms_keys_issue(t, "c8", CALLER, CALLEE, &k), KMS_KEYS_USER_LIMIT);
    fake_now += 500;
    assert_int_equal(kms_keys_issue(t, "c8", CALLER, CALLEE, &k), KMS_KEYS_OK);
    kms_keys_free(t);
}

/* ---- kms_as_verdict ---- */

static const char *SUBS_JSON =
    "{\"subscribers\":["
    "{\"imsi\":\"001010000000001\",\"msisdn\":\"15550000001\",\"impu\":[\"sip:+15550000001@ims.test\","
    "\"tel:+15550000001\"],\"voice_encryption\":true,\"access\":{\"rat\":\"NR\",\"ims_vops\":true},"
    "\"kms_key\":\"0000000000000000000000000000000000000000000000000000000000000001\"},"
    "{\"imsi\":\"001010000000002\",\"msisdn\":\"15550000002\",\"impu\":[\"tel:+15550000002\"],"
    "\"voice_encryption\":true,\"access\":{\"rat\":\"NR\",\"ims_vops\":true},"
    "\"kms_key\":\"0000000000000000000000000000000000000000000000000000000000000002\"}]}";

static const char *verdict(const sub_snapshot_t *s, int status, const char *body_text)
{
    json_t *body = body_text ? json_loads(body_text, 0, NULL) : NULL;
    const char *v = kms_as_verdict(s, status, "as_timeout", body, "c1", sub_find_by_imsi(s, "001010000000001"),
                                   sub_find_by_imsi(s, "001010000000002"));
    json_decref(body);
    return v;
}

static void test_as_verdict(void **state)
{
    (void)state;
    sub_error_t err;
    sub_snapshot_t *s = sub_snapshot_load_text("subs", SUBS_JSON, strlen(SUBS_JSON), &err);
    assert_non_null(s);
    /* parties in other identity forms name the same subscribers */
    assert_null(verdict(s, 200,
                        "{\"callId\":\"c1\",\"caller\":\"sip:+15550000001@ims.test\","
                        "\"callee\":\"msisdn-15550000002\",\"encryptionAllowed\":true,\"state\":\"early\"}"));
    assert_string_equal(verdict(s, 0, NULL), "as_timeout");
    assert_string_equal(verdict(s, 404, NULL), "call_not_found");
    assert_string_equal(verdict(s, 500, NULL), "as_error");
    assert_string_equal(verdict(s, 401, NULL), "as_refused_kms"); /* our token missing or wrong at the AS */
    assert_string_equal(verdict(s, 200, NULL), "as_bad_answer");
    assert_string_equal(verdict(s, 200, "[1]"), "as_bad_answer");
    assert_string_equal(verdict(s, 200,
                                "{\"callId\":\"c2\",\"caller\":\"15550000001\",\"callee\":\"15550000002\","
                                "\"encryptionAllowed\":true}"),
                        "as_call_mismatch");
    assert_string_equal(verdict(s, 200,
                                "{\"callId\":\"c1\",\"caller\":\"15550000001\",\"callee\":\"15550000002\","
                                "\"encryptionAllowed\":false}"),
                        "encryption_not_allowed");
    assert_string_equal(verdict(s, 200,
                                "{\"callId\":\"c1\",\"caller\":\"15550000001\",\"callee\":\"15550000002\","
                                "\"encryptionAllowed\":\"true\"}"),
                        "encryption_not_allowed"); /* only JSON true counts */
    assert_string_equal(verdict(s, 200,
                                "{\"callId\":\"c1\",\"caller\":\"15550000002\",\"callee\":\"15550000001\","
                                "\"encryptionAllowed\":true}"),
                        "party_mismatch"); /* swapped */
    assert_string_equal(verdict(s, 200,
                                "{\"callId\":\"c1\",\"caller\":\"15550000001\",\"callee\":\"15559999999\","
                                "\"encryptionAllowed\":true}"),
                        "party_mismatch"); /* unknown callee */
    assert_string_equal(verdict(s, 200, "{\"callId\":\"c1\",\"caller\":\"15550000001\",\"encryptionAllowed\":true}"),
                        "party_mismatch"); /* missing callee */
    sub_snapshot_release(s);
}

/* The cached formatter gives what gmtime_r + strftime give, across second, day and year boundaries. */
static void test_format_time(void **state)
{
    (void)state;
    kms_time_cache_t cache = {0};
    char out[KMS_TIME_MAX];
    static const struct {
        int64_t ms;
        const char *want;
    } cases[] = {
        {1764095496123, "2025-11-25T18:31:36.123Z"}, {1764095496999, "2025-11-25T18:31:36.999Z"},
        {1764095497000, "2025-11-25T18:31:37.000Z"}, {1764095497005, "2025-11-25T18:31:37.005Z"},
        {1767225599999, "2025-12-31T23:59:59.999Z"}, {1767225600000, "2026-01-01T00:00:00.000Z"},
        {1764095497050, "2025-11-25T18:31:37.050Z"}, /* back to an earlier second */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kms_format_time_ms(&cache, cases[i].ms, out);
        assert_string_equal(out, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_fields),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_single_release),
        cmocka_unit_test(test_wrong_callee),
        cmocka_unit_test(test_key_id_exact_match),
        cmocka_unit_test(test_ttl),
        cmocka_unit_test(test_sweep_order),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_per_call_limit),
        cmocka_unit_test(test_per_requester_limit),
        cmocka_unit_test(test_as_verdict),
        cmocka_unit_test(test_format_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
