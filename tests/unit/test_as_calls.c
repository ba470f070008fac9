/*
 * test_as_calls — the AS's call table (DESIGN §4) with a fake clock: add, get, state change, replace, remove,
 * the bounded lifetime sweep and the capacity limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "call_table.h"

static void test_add_get_remove(void **state)
{
    (void)state;
    call_table_t *t = call_table_new(0);
    assert_int_equal(call_table_put(t, "c1", "sip:+1@d", "tel:+2", true, 1000), 0);
    const call_rec_t *c = call_table_get(t, "c1");
    assert_non_null(c);
    assert_string_equal(c->caller, "sip:+1@d");
    assert_string_equal(c->callee, "tel:+2");
    assert_true(c->encryption_allowed);
    assert_string_equal(call_state_name(c->state), "early");
    assert_int_equal(call_table_set_state(t, "c1", CALL_CONFIRMED), 0);
    assert_string_equal(call_state_name(call_table_get(t, "c1")->state), "confirmed");
    assert_int_equal(call_table_set_state(t, "nope", CALL_CONFIRMED), -1);
    assert_null(call_table_get(t, "c2"));
    /* a new INVITE with the same Call-ID replaces the record */
    assert_int_equal(call_table_put(t, "c1", "sip:+1@d", "tel:+2", false, 2000), 0);
    assert_false(call_table_get(t, "c1")->encryption_allowed);
    assert_string_equal(call_state_name(call_table_get(t, "c1")->state), "early");
    assert_int_equal(call_table_count(t), 1);
    assert_true(call_table_remove(t, "c1"));
    assert_false(call_table_remove(t, "c1"));
    assert_int_equal(call_table_count(t), 0);
    call_table_free(t);
}

static void test_sweep(void **state)
{
    (void)state;
    call_table_t *t = call_table_new(0);
    assert_int_equal(call_table_put(t, "old", "a", "b", true, 0), 0);
    assert_int_equal(call_table_put(t, "new", "a", "b", true, 3600000), 0);
    const uint64_t idle = CALL_IDLE_MS_DEFAULT;
    assert_int_equal(call_table_sweep(t, idle, idle), 0); /* exactly the idle time: kept */
    assert_int_equal(call_table_sweep(t, idle + 1, idle), 1);
    assert_null(call_table_get(t, "old"));
    assert_non_null(call_table_get(t, "new"));
    /* traffic in the dialog restarts the idle time */
    assert_int_equal(call_table_touch(t, "new", 3600000 + idle), 0);
    assert_int_equal(call_table_touch(t, "old", 3600000 + idle), -1);
    assert_int_equal(call_table_sweep(t, 3600000 + idle + 1, idle), 0);
    assert_int_equal(call_table_sweep(t, 3600000 + 2 * idle + 1, idle), 1);
    assert_int_equal(call_table_count(t), 0);
    call_table_free(t);
}

static void test_limits(void **state)
{
    (void)state;
    char id[32], big[CALL_ID_MAX + 1];
    call_table_t *t = call_table_new(100);
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof id, "call-%d", i);
        assert_int_equal(call_table_put(t, id, "a", "b", false, 0), 0);
    }
    assert_int_equal(call_table_put(t, "one-too-many", "a", "b", false, 0), -1);
    assert_int_equal(call_table_put(t, "call-7", "a", "b", true, 0), 0); /* replacing still works when full */
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_true(call_table_remove(t, "call-0"));
    assert_int_equal(call_table_put(t, big, "a", "b", false, 0), -1);
    assert_int_equal(call_table_put(t, "", "a", "b", false, 0), -1);
    assert_int_equal(call_table_put(t, "x", NULL, "b", false, 0), -1);
    call_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_get_remove),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
