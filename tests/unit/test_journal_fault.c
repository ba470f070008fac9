/* Unit tests for lib/core/journal and lib/core/fault: the ring's bound and ids, filters, concurrent recording;
 * fault rules' validation, matching by identity and command, counts, durations and removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/fault.h"
#include "core/journal.h"

#define THREADS 4
#define PER_THREAD 2000

static void add(journal_t *j, const char *identity, const char *command, const char *path, int result)
{
    journal_record_t r = {.protocol = path ? "sbi" : "diameter",
                          .identity = identity,
                          .command = command,
                          .path = path,
                          .result = result,
                          .latency_ms = 1.5};
    journal_add(j, &r);
}

static size_t count(journal_t *j, const journal_filter_t *f)
{
    json_t *out = journal_query(j, f);
    size_t n = json_array_size(json_object_get(out, "exchanges"));
    json_decref(out);
    return n;
}

static void test_ring_bound_and_ids(void **state)
{
    (void)state;
    journal_t *j = journal_new(3);
    for (int i = 0; i < 5; i++)
        add(j, "tel:+1", "UDR", NULL, 2001);
    journal_filter_t all = {0};
    json_t *out = journal_query(j, &all);
    json_t *list = json_object_get(out, "exchanges");
    assert_int_equal(json_array_size(list), 3);
    assert_int_equal(json_integer_value(json_object_get(out, "dropped")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "id")), 3); /* oldest kept */
    json_decref(out);
    assert_int_equal(journal_clear(j), 3);
    add(j, "tel:+1", "UDR", NULL, 2001);
    journal_filter_t since = {.since_id = 5};
    assert_int_equal(count(j, &since), 1); /* ids go on after a clear: id 6 */
    journal_free(j);
}

static void test_filters(void **state)
{
    (void)state;
    journal_t *j = journal_new(100);
    add(j, "tel:+1", "UDR", NULL, 2001);
    add(j, "TEL:+2", "UDR", NULL, 5001);
    add(j, "imsi-1", "GET", "/nudm-uecm/v1/imsi-1/registrations/amf-3gpp-access", 200);
    add(j, "imsi-1", "GET", "/nudm-sdm/v2/imsi-1/am-data", 0);
    assert_int_equal(count(j, &(journal_filter_t){.identity = "tel:+2"}), 1); /* case-insensitive */
    assert_int_equal(count(j, &(journal_filter_t){.command = "udr"}), 2);
    assert_int_equal(count(j, &(journal_filter_t){.path = "/nudm-"}), 2);
    assert_int_equal(count(j, &(journal_filter_t){.path = "/nudm-sdm/"}), 1);
    assert_int_equal(count(j, &(journal_filter_t){.result = 0, .has_result = true}), 1);
    assert_int_equal(count(j, &(journal_filter_t){.result = 5001, .has_result = true}), 1);
    assert_int_equal(count(j, &(journal_filter_t){.limit = 2}), 2);
    assert_int_equal(count(j, &(journal_filter_t){.since_ms = 1}), 4);
    journal_free(j);
}

static void *writer(void *arg)
{
    for (int i = 0; i < PER_THREAD; i++)
        add(arg, "tel:+1", "UDR", NULL, 2001);
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    journal_t *j = journal_new(500);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, writer, j);
    for (int i = 0; i < 50; i++)
        assert_true(count(j, &(journal_filter_t){0}) <= 500);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    json_t *out = journal_query(j, &(journal_filter_t){0});
    assert_int_equal(json_integer_value(json_object_get(out, "lastId")), THREADS * PER_THREAD);
    assert_int_equal(json_integer_value(json_object_get(out, "dropped")), THREADS * PER_THREAD - 500);
    json_decref(out);
    journal_free(j);
}

static int add_rule(fault_table_t *t, const char *json, fault_t *f, char *param)
{
    char err[160];
    json_t *body = json_loads(json, 0, NULL);
    int rc = fault_table_add_json(t, body, f, param, 64, err, sizeof err);
    json_decref(body);
    return rc;
}

static void test_fault_validation(void **state)
{
    (void)state;
    fault_table_t *t = fault_table_new();
    fault_t f;
    char param[64];
    assert_int_equal(add_rule(t, "{\"protocol\":\"diameter\",\"action\":\"reset\"}", &f, param), -1);
    assert_string_equal(param, "action");
    assert_int_equal(add_rule(t, "{\"protocol\":\"sbi\",\"action\":\"drop\"}", &f, param), -1);
    assert_int_equal(add_rule(t, "{\"protocol\":\"diameter\",\"action\":\"answer\"}", &f, param), -1);
    assert_string_equal(param, "resultCode");
    assert_int_equal(add_rule(t,
                              "{\"protocol\":\"diameter\",\"action\":\"answer\",\"resultCode\":3004,"
                              "\"experimentalResultCode\":5001}",
                              &f, param),
                     -1);
    assert_int_equal(add_rule(t, "{\"protocol\":\"sbi\",\"action\":\"delay\",\"delayMs\":0}", &f, param), -1);
    assert_string_equal(param, "delayMs");
    assert_int_equal(add_rule(t, "{\"protocol\":\"sbi\",\"action\":\"answer\",\"status\":503,\"x\":1}", &f, param), -1);
    assert_string_equal(param, "x");
    assert_int_equal(add_rule(t, "[]", &f, param), -1);
    json_t *list = fault_table_list(t);
    assert_int_equal(json_array_size(json_object_get(list, "faults")), 0); /* nothing added by a bad rule */
    json_decref(list);
    fault_table_free(t);
}

static void test_fault_matching(void **state)
{
    (void)state;
    fault_table_t *t = fault_table_new();
    fault_t f, got;
    char param[64], what[64];
    assert_int_equal(add_rule(t,
                              "{\"protocol\":\"sbi\",\"action\":\"answer\",\"status\":503,\"retryAfter\":2,"
                              "\"command\":\"/nudm-uecm/\",\"subscriber\":\"001010000000001\",\"count\":2}",
                              &f, param),
                     0);
    assert_int_equal(f.retry_after_s, 2);
    assert_string_equal(f.content_type, "application/problem+json");
    const char *ids[] = {"msisdn-15550000001", "001010000000001"};
    const char *other[] = {"imsi-001010000000002", "001010000000002"};
    assert_false(fault_take(t, FAULT_PROTO_DIAMETER, ids, 2, "UDR", &got));       /* another protocol */
    assert_false(fault_take(t, FAULT_PROTO_SBI, ids, 2, "/nudm-sdm/v2/x", &got)); /* another path */
    assert_false(fault_take(t, FAULT_PROTO_SBI, other, 2, "/nudm-uecm/v1/x", &got));
    assert_true(fault_take(t, FAULT_PROTO_SBI, ids, 2, "/nudm-uecm/v1/x", &got));
    assert_string_equal(fault_describe(&got, what, sizeof what), "answer 503");
    assert_true(fault_take(t, FAULT_PROTO_SBI, ids, 2, "/nudm-uecm/v1/x", &got));
    assert_false(fault_take(t, FAULT_PROTO_SBI, ids, 2, "/nudm-uecm/v1/x", &got)); /* count used up */
    assert_int_equal(add_rule(t, "{\"protocol\":\"diameter\",\"action\":\"drop\",\"durationMs\":60000}", &f, param), 0);
    for (int i = 0; i < 5; i++) /* a duration without a count: every request until it ends */
        assert_true(fault_take(t, FAULT_PROTO_DIAMETER, NULL, 0, "UDR", &got));
    assert_true(fault_table_remove(t, f.id));
    assert_false(fault_table_remove(t, f.id));
    assert_false(fault_take(t, FAULT_PROTO_DIAMETER, NULL, 0, "UDR", &got));
    fault_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_bound_and_ids), cmocka_unit_test(test_filters),
        cmocka_unit_test(test_concurrent),         cmocka_unit_test(test_fault_validation),
        cmocka_unit_test(test_fault_matching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
