/*
 * as_decide — where the AS decides whether a call may be encrypted or goes on plain (DESIGN §3; patent claims
 * 8-10): as_decide_encryption(), one pure function of the lookup results and the two policies, so tests can feed
 * it every combination (test_as_decide). as_checks.c gathers the results and calls it; nothing else decides.
 *
 * It is the only place that knows how answers combine. Each question has a policy (subscription_source
 * for the two subscription questions, attachment_source for attachment) that says which sources count and how
 * (hss, udm, any = either yes, all = both yes). A failing question is explained by what the counted sources said:
 * a NO is a fact about the subscriber and wins ("caller not subscribed", ...); without one, the failure itself is
 * named, "user unknown" first (the source knows it does not know the user), then "lookup timeout", then
 * "lookup error" (the least specific). Trade-off: with `any`, a NO from one source and a timeout from the other
 * is reported as the NO, although the other source might have said yes — the operator sees the fact, and the
 * latency of each lookup is in the same log line.
 */
#include "as_decide.h"

#include <stddef.h>

static const char *const SEMANTIC_REASON[AS_Q_COUNT] = {
    [AS_Q_CALLER_SUBSCRIBED] = AS_REASON_CALLER_NOT_SUBSCRIBED,
    [AS_Q_CALLEE_SUBSCRIBED] = AS_REASON_CALLEE_NOT_SUBSCRIBED,
    [AS_Q_CALLEE_ATTACHED] = AS_REASON_CALLEE_NOT_ATTACHED,
};

/* Whether `p` counts source `s`. A policy out of range counts nothing (and so never says yes). */
static bool policy_counts(as_policy_t p, as_source_t s)
{
    switch (p) {
    case AS_POLICY_HSS:
        return s == AS_SRC_HSS;
    case AS_POLICY_UDM:
        return s == AS_SRC_UDM;
    case AS_POLICY_ANY:
    case AS_POLICY_ALL:
        return true;
    }
    return false;
}

static bool question_yes(const as_answer_t a[AS_SRC_COUNT], as_policy_t p)
{
    bool hss = a[AS_SRC_HSS] == AS_ANS_YES, udm = a[AS_SRC_UDM] == AS_ANS_YES;
    switch (p) {
    case AS_POLICY_HSS:
        return hss;
    case AS_POLICY_UDM:
        return udm;
    case AS_POLICY_ANY:
        return hss || udm;
    case AS_POLICY_ALL:
        return hss && udm;
    }
    return false;
}

/* Why question `q` failed, from the answers of the sources its policy counts. */
static const char *failure_reason(as_question_t q, const as_answer_t a[AS_SRC_COUNT], as_policy_t p)
{
    bool no = false, unknown = false, timeout = false;
    for (int s = 0; s < AS_SRC_COUNT; s++) {
        if (!policy_counts(p, (as_source_t)s))
            continue;
        no |= a[s] == AS_ANS_NO;
        unknown |= a[s] == AS_ANS_UNKNOWN;
        timeout |= a[s] == AS_ANS_TIMEOUT;
    }
    if (no)
        return SEMANTIC_REASON[q];
    if (unknown)
        return AS_REASON_USER_UNKNOWN;
    if (timeout)
        return AS_REASON_TIMEOUT;
    return AS_REASON_ERROR;
}

as_decision_t as_decide_encryption(const as_lookup_results_t *r, as_policy_t subscription, as_policy_t attachment)
{
    if (r == NULL)
        return (as_decision_t){.allowed = false, .reason = AS_REASON_ERROR};
    for (int q = 0; q < AS_Q_COUNT; q++) {
        as_policy_t p = q == AS_Q_CALLEE_ATTACHED ? attachment : subscription;
        if (!question_yes(r->answer[q], p))
            return (as_decision_t){.allowed = false, .reason = failure_reason((as_question_t)q, r->answer[q], p)};
    }
    return (as_decision_t){.allowed = true, .reason = AS_REASON_OK};
}
