/*
 * as_facts_cache: entries by MSISDN, freshness (subscription active, age bound), forgetting a source, and the
 * cover rule that says when a question of as_decide_encryption() is answered from the cache under each policy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "as_facts_cache.h"

#define N AS_ANS_NOT_ASKED
#define Y AS_ANS_YES
#define NO AS_ANS_NO
#define U AS_ANS_UNKNOWN

static void test_entries(void **state)
{
    (void)state;
    as_facts_t *c = as_facts_new();
    assert_non_null(c);
    assert_null(as_facts_get(c, "15550000001"));
    as_facts_entry_t *e = as_facts_ensure(c, "15550000001", "tel:+15550000001");
    assert_non_null(e);
    assert_ptr_equal(as_facts_ensure(c, "15550000001", "other"), e);
    assert_string_equal(e->identity, "tel:+15550000001");
    /* leading zeros make a different key */
    as_facts_entry_t *z = as_facts_ensure(c, "015550000001", "x");
    assert_non_null(z);
    assert_ptr_not_equal(z, e);
    assert_int_equal(as_facts_count(c), 2);
    assert_null(as_facts_ensure(c, "12a", "x"));              /* not digits */
    assert_null(as_facts_ensure(c, "1234567890123456", "x")); /* more than 15 digits */
    assert_null(as_facts_ensure(c, "", "x"));
    as_facts_free(c);
}

static void test_fresh(void **state)
{
    (void)state;
    as_facts_t *c = as_facts_new();
    as_facts_entry_t *e = as_facts_ensure(c, "15550000001", "tel:+15550000001");
    uint64_t age = 0;
    as_facts_learn(e, AS_SRC_HSS, AS_FACT_SUBSCRIBED, Y, NULL, 1000);
    /* learnt but no active subscription: not used */
    assert_int_equal(as_facts_fresh(e, AS_SRC_HSS, AS_FACT_SUBSCRIBED, 1000, 5000, &age), N);
    e->active[AS_SRC_HSS] = true;
    assert_int_equal(as_facts_fresh(e, AS_SRC_HSS, AS_FACT_SUBSCRIBED, 3000, 5000, &age), Y);
    assert_int_equal(age, 2000);
    assert_int_equal(as_facts_fresh(e, AS_SRC_HSS, AS_FACT_SUBSCRIBED, 6000, 5000, &age), Y); /* exactly max age */
    assert_int_equal(as_facts_fresh(e, AS_SRC_HSS, AS_FACT_SUBSCRIBED, 6001, 5000, &age), N); /* older */
    assert_int_equal(as_facts_fresh(e, AS_SRC_HSS, AS_FACT_ATTACHED, 1000, 5000, &age), N);   /* never learnt */
    assert_int_equal(as_facts_fresh(e, AS_SRC_UDM, AS_FACT_SUBSCRIBED, 1000, 5000, &age), N); /* other source */
    /* a notification confirms it again */
    as_facts_learn(e, AS_SRC_HSS, AS_FACT_SUBSCRIBED, NO, NULL, 6000);
    assert_int_equal(as_facts_fresh(e, AS_SRC_HSS, AS_FACT_SUBSCRIBED, 6001, 5000, &age), NO);
    as_facts_learn(e, AS_SRC_UDM, AS_FACT_ATTACHED, Y, "NR", 6000);
    assert_string_equal(e->rat[AS_SRC_UDM], "NR");
    assert_int_equal(as_facts_fresh(NULL, AS_SRC_HSS, AS_FACT_SUBSCRIBED, 0, 5000, NULL), N);
    as_facts_free(c);
}

static void test_forget(void **state)
{
    (void)state;
    as_facts_t *c = as_facts_new();
    as_facts_entry_t *a = as_facts_ensure(c, "15550000001", "a"), *b = as_facts_ensure(c, "15550000002", "b");
    for (int s = 0; s < AS_SRC_COUNT; s++) {
        a->active[s] = b->active[s] = true;
        as_facts_learn(a, (as_source_t)s, AS_FACT_SUBSCRIBED, Y, NULL, 10);
        as_facts_learn(b, (as_source_t)s, AS_FACT_SUBSCRIBED, Y, NULL, 10);
    }
    a->udm_subs_id = 7;
    as_facts_forget_source(c, AS_SRC_UDM);
    assert_int_equal(as_facts_fresh(a, AS_SRC_UDM, AS_FACT_SUBSCRIBED, 10, 100, NULL), N);
    assert_int_equal(as_facts_fresh(b, AS_SRC_UDM, AS_FACT_SUBSCRIBED, 10, 100, NULL), N);
    assert_false(a->active[AS_SRC_UDM]);
    assert_int_equal(a->udm_subs_id, 0);
    /* the other source is untouched */
    assert_int_equal(as_facts_fresh(a, AS_SRC_HSS, AS_FACT_SUBSCRIBED, 10, 100, NULL), Y);
    assert_int_equal(as_facts_fresh(b, AS_SRC_HSS, AS_FACT_SUBSCRIBED, 10, 100, NULL), Y);
    as_facts_free(c);
}

/* cover(policy, hss, udm) -> covered, and the answers handed to as_decide_encryption */
static void expect_cover(as_policy_t p, as_answer_t hss, as_answer_t udm, bool covered, as_answer_t out_hss,
                         as_answer_t out_udm)
{
    as_answer_t in[AS_SRC_COUNT] = {hss, udm}, out[AS_SRC_COUNT] = {AS_ANS_TIMEOUT, AS_ANS_TIMEOUT};
    assert_int_equal(as_facts_cover(p, in, out), covered);
    if (covered) {
        assert_int_equal(out[AS_SRC_HSS], out_hss);
        assert_int_equal(out[AS_SRC_UDM], out_udm);
    }
}

static void test_cover(void **state)
{
    (void)state;
    expect_cover(AS_POLICY_HSS, Y, N, true, Y, N);
    expect_cover(AS_POLICY_HSS, NO, Y, true, NO, N); /* the UDM does not count */
    expect_cover(AS_POLICY_HSS, N, Y, false, N, N);
    expect_cover(AS_POLICY_UDM, N, U, true, N, U);
    expect_cover(AS_POLICY_UDM, Y, N, false, N, N);
    expect_cover(AS_POLICY_ANY, Y, N, true, Y, N); /* one yes is enough */
    expect_cover(AS_POLICY_ANY, N, Y, true, N, Y);
    expect_cover(AS_POLICY_ANY, NO, N, false, N, N); /* the other source could still say yes */
    expect_cover(AS_POLICY_ANY, NO, NO, true, NO, NO);
    expect_cover(AS_POLICY_ALL, NO, N, true, NO, N); /* one no is enough */
    expect_cover(AS_POLICY_ALL, Y, N, false, N, N);  /* yes needs both */
    expect_cover(AS_POLICY_ALL, Y, Y, true, Y, Y);
    expect_cover((as_policy_t)9, Y, Y, false, N, N);
}

/* What as_decide_encryption makes of covered answers equals what it makes of the same answers queried. */
static void test_cover_decides_like_queries(void **state)
{
    (void)state;
    static const as_answer_t vals[] = {N, Y, NO, U};
    for (int p = AS_POLICY_HSS; p <= AS_POLICY_ALL; p++) {
        for (size_t h = 0; h < 4; h++) {
            for (size_t u = 0; u < 4; u++) {
                as_answer_t in[AS_SRC_COUNT] = {vals[h], vals[u]}, out[AS_SRC_COUNT];
                if (!as_facts_cover((as_policy_t)p, in, out) || in[0] == N || in[1] == N)
                    continue;
                /* both known: the covered answers decide exactly as the full answers would */
                as_lookup_results_t full = {0}, cov = {0};
                for (int q = 0; q < AS_Q_COUNT; q++) {
                    for (int s = 0; s < AS_SRC_COUNT; s++) {
                        full.answer[q][s] = in[s];
                        cov.answer[q][s] = out[s];
                    }
                }
                as_decision_t a = as_decide_encryption(&full, (as_policy_t)p, (as_policy_t)p);
                as_decision_t b = as_decide_encryption(&cov, (as_policy_t)p, (as_policy_t)p);
                assert_int_equal(a.allowed, b.allowed);
                assert_string_equal(a.reason, b.reason);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entries),
        cmocka_unit_test(test_fresh),
        cmocka_unit_test(test_forget),
        cmocka_unit_test(test_cover),
        cmocka_unit_test(test_cover_decides_like_queries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
