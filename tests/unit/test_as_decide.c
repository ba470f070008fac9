/*
 * test_as_decide — the AS's decision (as_decide_encryption, DESIGN §3) against an independent reference, for
 * every combination: 3 questions × 2 sources × 6 answers (6^6 = 46,656 result sets) × 4 subscription × 4
 * attachment policies. The reference is table-driven (a truth table per policy, a rank per answer) where
 * as_decide_encryption() is written with switches and flags, so a shared mistake is unlikely. Named cases pin
 * the behaviour a reader expects from the brief; policy names and identity → MSISDN are covered too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "as_checks.h"

#define N_ANSWERS 6
#define N_POLICIES 4
#define N_COMBOS (N_ANSWERS * N_ANSWERS * N_ANSWERS * N_ANSWERS * N_ANSWERS * N_ANSWERS)

/* ---------------------------------------------------------------- reference */

/* REF_YES[policy][hss says yes][udm says yes] */
static const bool REF_YES[N_POLICIES][2][2] = {
    [AS_POLICY_HSS] = {{false, false}, {true, true}},
    [AS_POLICY_UDM] = {{false, true}, {false, true}},
    [AS_POLICY_ANY] = {{false, true}, {true, true}},
    [AS_POLICY_ALL] = {{false, false}, {false, true}},
};

/* REF_COUNTS[policy][source] */
static const bool REF_COUNTS[N_POLICIES][AS_SRC_COUNT] = {
    [AS_POLICY_HSS] = {true, false},
    [AS_POLICY_UDM] = {false, true},
    [AS_POLICY_ANY] = {true, true},
    [AS_POLICY_ALL] = {true, true},
};

/* How strongly an answer explains a failure: a NO beats unknown beats timeout beats error. */
enum { R_NONE = 0, R_ERROR, R_TIMEOUT, R_UNKNOWN, R_NO };
static const int REF_RANK[N_ANSWERS] = {
    [AS_ANS_NOT_ASKED] = R_ERROR, [AS_ANS_YES] = R_NONE,    [AS_ANS_NO] = R_NO,
    [AS_ANS_UNKNOWN] = R_UNKNOWN, [AS_ANS_ERROR] = R_ERROR, [AS_ANS_TIMEOUT] = R_TIMEOUT,
};

static const char *const REF_SEMANTIC[AS_Q_COUNT] = {"caller not subscribed", "callee not subscribed",
                                                     "callee not attached on 4G/5G"};

static const char *ref_reason(int q, int rank)
{
    static const char *const by_rank[] = {"lookup error", "lookup error", "lookup timeout", "user unknown"};
    return rank == R_NO ? REF_SEMANTIC[q] : by_rank[rank];
}

static as_decision_t ref_decide(const as_lookup_results_t *r, int sub, int att)
{
    const int policy_of[AS_Q_COUNT] = {sub, sub, att};
    for (int q = 0; q < AS_Q_COUNT; q++) {
        int p = policy_of[q];
        const as_answer_t *a = r->answer[q];
        if (REF_YES[p][a[AS_SRC_HSS] == AS_ANS_YES][a[AS_SRC_UDM] == AS_ANS_YES])
            continue;
        int rank = R_NONE;
        for (int s = 0; s < AS_SRC_COUNT; s++)
            if (REF_COUNTS[p][s] && REF_RANK[a[s]] > rank)
                rank = REF_RANK[a[s]];
        return (as_decision_t){false, ref_reason(q, rank)};
    }
    return (as_decision_t){true, "ok"};
}

static void fill_from_index(as_lookup_results_t *r, unsigned idx)
{
    memset(r, 0, sizeof *r);
    for (int q = 0; q < AS_Q_COUNT; q++)
        for (int s = 0; s < AS_SRC_COUNT; s++) {
            r->answer[q][s] = (as_answer_t)(idx % N_ANSWERS);
            idx /= N_ANSWERS;
        }
}

static void test_exhaustive_against_reference(void **state)
{
    (void)state;
    unsigned checked = 0, allowed = 0;
    as_lookup_results_t r;
    for (unsigned idx = 0; idx < N_COMBOS; idx++) {
        fill_from_index(&r, idx);
        for (int sub = 0; sub < N_POLICIES; sub++)
            for (int att = 0; att < N_POLICIES; att++) {
                as_decision_t got = as_decide_encryption(&r, (as_policy_t)sub, (as_policy_t)att);
                as_decision_t want = ref_decide(&r, sub, att);
                if (got.allowed != want.allowed || strcmp(got.reason, want.reason) != 0)
                    fail_msg("combo %u sub=%d att=%d: got %d '%s', want %d '%s'", idx, sub, att, got.allowed,
                             got.reason, want.allowed, want.reason);
                checked++;
                allowed += got.allowed;
            }
    }
    assert_int_equal(checked, N_COMBOS * N_POLICIES * N_POLICIES);
    assert_true(allowed > 0);
}

/* ---------------------------------------------------------------- named cases */

#define Y AS_ANS_YES
#define N AS_ANS_NO
#define U AS_ANS_UNKNOWN
#define E AS_ANS_ERROR
#define T AS_ANS_TIMEOUT
#define X AS_ANS_NOT_ASKED

/* answers: caller-sub {hss, udm}, callee-sub {hss, udm}, callee-att {hss, udm} */
static as_decision_t decide6(as_answer_t a0, as_answer_t a1, as_answer_t b0, as_answer_t b1, as_answer_t c0,
                             as_answer_t c1, as_policy_t sub, as_policy_t att)
{
    as_lookup_results_t r = {.answer = {{a0, a1}, {b0, b1}, {c0, c1}}};
    return as_decide_encryption(&r, sub, att);
}

#define EXPECT(dec, allowed_, reason_)             \
    do {                                           \
        as_decision_t d_ = (dec);                  \
        assert_int_equal(d_.allowed, (allowed_));  \
        assert_string_equal(d_.reason, (reason_)); \
    } while (0)

static void test_named_allowed(void **state)
{
    (void)state;
    EXPECT(decide6(Y, X, Y, X, Y, X, AS_POLICY_HSS, AS_POLICY_HSS), true, AS_REASON_OK);
    EXPECT(decide6(X, Y, X, Y, X, Y, AS_POLICY_UDM, AS_POLICY_UDM), true, AS_REASON_OK);
    EXPECT(decide6(Y, Y, Y, Y, Y, Y, AS_POLICY_ALL, AS_POLICY_ALL), true, AS_REASON_OK);
    /* any: HSS down, UDM says yes everywhere */
    EXPECT(decide6(E, Y, E, Y, E, Y, AS_POLICY_ANY, AS_POLICY_ANY), true, AS_REASON_OK);
    /* any attachment: UDM says EUTRAN callee not registered in 5GS, HSS T-ADS says EUTRAN */
    EXPECT(decide6(Y, Y, Y, Y, Y, N, AS_POLICY_ANY, AS_POLICY_ANY), true, AS_REASON_OK);
    /* a NO from a source the policy ignores does not matter */
    EXPECT(decide6(Y, N, Y, N, Y, N, AS_POLICY_HSS, AS_POLICY_HSS), true, AS_REASON_OK);
}

static void test_named_reasons(void **state)
{
    (void)state;
    EXPECT(decide6(N, X, Y, X, Y, X, AS_POLICY_HSS, AS_POLICY_HSS), false, AS_REASON_CALLER_NOT_SUBSCRIBED);
    EXPECT(decide6(Y, X, N, X, Y, X, AS_POLICY_HSS, AS_POLICY_HSS), false, AS_REASON_CALLEE_NOT_SUBSCRIBED);
    EXPECT(decide6(Y, X, Y, X, N, X, AS_POLICY_HSS, AS_POLICY_HSS), false, AS_REASON_CALLEE_NOT_ATTACHED);
    /* the first failing condition wins */
    EXPECT(decide6(N, X, N, X, N, X, AS_POLICY_HSS, AS_POLICY_HSS), false, AS_REASON_CALLER_NOT_SUBSCRIBED);
    EXPECT(decide6(Y, X, T, X, N, X, AS_POLICY_HSS, AS_POLICY_HSS), false, AS_REASON_TIMEOUT);
    /* all: EUTRAN callee, UDM has no 5GS registration */
    EXPECT(decide6(Y, Y, Y, Y, Y, N, AS_POLICY_ALL, AS_POLICY_ALL), false, AS_REASON_CALLEE_NOT_ATTACHED);
    EXPECT(decide6(Y, Y, Y, Y, Y, N, AS_POLICY_HSS, AS_POLICY_UDM), false, AS_REASON_CALLEE_NOT_ATTACHED);
    /* failures without a NO */
    EXPECT(decide6(E, X, Y, X, Y, X, AS_POLICY_HSS, AS_POLICY_HSS), false, AS_REASON_ERROR);
    EXPECT(decide6(T, X, T, X, T, X, AS_POLICY_HSS, AS_POLICY_HSS), false, AS_REASON_TIMEOUT);
    EXPECT(decide6(Y, X, U, X, U, X, AS_POLICY_HSS, AS_POLICY_HSS), false, AS_REASON_USER_UNKNOWN);
    /* hss policy: the UDM's NO is not counted, the HSS's timeout is the reason */
    EXPECT(decide6(T, N, Y, Y, Y, Y, AS_POLICY_HSS, AS_POLICY_HSS), false, AS_REASON_TIMEOUT);
    /* any: a NO beats the other source's failure */
    EXPECT(decide6(N, T, Y, Y, Y, Y, AS_POLICY_ANY, AS_POLICY_ANY), false, AS_REASON_CALLER_NOT_SUBSCRIBED);
    EXPECT(decide6(E, T, Y, Y, Y, Y, AS_POLICY_ANY, AS_POLICY_ANY), false, AS_REASON_TIMEOUT);
    EXPECT(decide6(U, E, Y, Y, Y, Y, AS_POLICY_ANY, AS_POLICY_ANY), false, AS_REASON_USER_UNKNOWN);
    /* all: one source failing is enough */
    EXPECT(decide6(Y, E, Y, Y, Y, Y, AS_POLICY_ALL, AS_POLICY_ALL), false, AS_REASON_ERROR);
    /* asked nothing although the policy needs it: an internal error, never "allowed" */
    EXPECT(decide6(X, X, X, X, X, X, AS_POLICY_ANY, AS_POLICY_ANY), false, AS_REASON_ERROR);
}

static void test_robustness(void **state)
{
    (void)state;
    EXPECT(as_decide_encryption(NULL, AS_POLICY_HSS, AS_POLICY_HSS), false, AS_REASON_ERROR);
    as_lookup_results_t r = {.answer = {{Y, Y}, {Y, Y}, {Y, Y}}};
    EXPECT(as_decide_encryption(&r, (as_policy_t)7, AS_POLICY_HSS), false, AS_REASON_ERROR);
    EXPECT(as_decide_encryption(&r, AS_POLICY_ANY, (as_policy_t)-1), false, AS_REASON_ERROR);
}

/* ---------------------------------------------------------------- policy names */

static void test_policy_names(void **state)
{
    (void)state;
    const char *names[] = {"hss", "udm", "any", "all"};
    for (int i = 0; i < N_POLICIES; i++) {
        as_policy_t p = (as_policy_t)99;
        assert_int_equal(as_policy_parse(names[i], &p), 0);
        assert_int_equal(p, i);
        assert_string_equal(as_policy_name(p), names[i]);
    }
    as_policy_t p = AS_POLICY_UDM;
    const char *bad[] = {"", "HSS", "hss ", "both", "an", "alll"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(as_policy_parse(bad[i], &p), -1);
    assert_int_equal(p, AS_POLICY_UDM);
    assert_int_equal(as_policy_parse(NULL, &p), -1);
    assert_int_equal(as_policy_parse("hss", NULL), -1);
    assert_string_equal(as_policy_name((as_policy_t)4), "?");
    assert_string_equal(as_answer_name(AS_ANS_TIMEOUT), "timeout");
    assert_string_equal(as_answer_name(AS_ANS_NOT_ASKED), "not-asked");
}

/* ---------------------------------------------------------------- identity -> msisdn */

/* as_identity_msisdn is core_identity_number (test_core_identity has the cases); this pins the delegation. */
static void test_identity_msisdn(void **state)
{
    (void)state;
    char out[AS_MSISDN_MAX_DIGITS + 1], small[4];
    assert_int_equal(as_identity_msisdn("sip:+1-555-000-0002;npdi@ims.test;user=phone", out, sizeof out), 0);
    assert_string_equal(out, "15550000002");
    assert_int_equal(as_identity_msisdn("tel:+1234567890123456", out, sizeof out), -1); /* 16 digits */
    assert_int_equal(as_identity_msisdn("sip:alice@ims.test", out, sizeof out), -1);
    assert_int_equal(as_identity_msisdn("tel:+1555", small, sizeof small), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exhaustive_against_reference),
        cmocka_unit_test(test_named_allowed),
        cmocka_unit_test(test_named_reasons),
        cmocka_unit_test(test_robustness),
        cmocka_unit_test(test_policy_names),
        cmocka_unit_test(test_identity_msisdn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
