/*
 * as_policy — the pure half of the AS checks (DESIGN §3; patent claims 8-10): the decision, the policy names and
 * identity → MSISDN for the UDM's ueId.
 *
 * as_decide() is the only place that knows how answers combine. Each question has a policy (subscription_source
 * for the two subscription questions, attachment_source for attachment) that says which sources count and how
 * (hss, udm, any = either yes, all = both yes). A failing question is explained by what the counted sources said:
 * a NO is a fact about the subscriber and wins ("caller not subscribed", ...); without one, the failure itself is
 * named, "user unknown" first (the source knows it does not know the user), then "lookup timeout", then
 * "lookup error" (the least specific). Trade-off: with `any`, a NO from one source and a timeout from the other
 * is reported as the NO, although the other source might have said yes — the operator sees the fact, and the
 * latency of each lookup is in the same log line.
 *
 * Identity → MSISDN follows RFC 3966 (tel URI, global numbers only: a local number has no MSISDN without its
 * phone-context) and RFC 3261 §19.1.6 (a sip URI whose user part is a telephone number).
 */
#include "as_checks.h"

#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- policies */

static const char *const POLICY_NAMES[] = {
    [AS_POLICY_HSS] = "hss",
    [AS_POLICY_UDM] = "udm",
    [AS_POLICY_ANY] = "any",
    [AS_POLICY_ALL] = "all",
};
#define POLICY_COUNT (sizeof POLICY_NAMES / sizeof POLICY_NAMES[0])

int as_policy_parse(const char *name, as_policy_t *out)
{
    if (name == NULL || out == NULL)
        return -1;
    for (size_t i = 0; i < POLICY_COUNT; i++) {
        if (strcmp(name, POLICY_NAMES[i]) == 0) {
            *out = (as_policy_t)i;
            return 0;
        }
    }
    return -1;
}

const char *as_policy_name(as_policy_t p)
{
    return (unsigned)p < POLICY_COUNT ? POLICY_NAMES[p] : "?";
}

const char *as_answer_name(as_answer_t a)
{
    switch (a) {
    case AS_ANS_NOT_ASKED: return "not-asked";
    case AS_ANS_YES: return "yes";
    case AS_ANS_NO: return "no";
    case AS_ANS_UNKNOWN: return "unknown";
    case AS_ANS_ERROR: return "error";
    case AS_ANS_TIMEOUT: return "timeout";
    }
    return "?";
}

/* ---------------------------------------------------------------- the decision */

static const char *const SEMANTIC_REASON[AS_Q_COUNT] = {
    [AS_Q_CALLER_SUBSCRIBED] = AS_REASON_CALLER_NOT_SUBSCRIBED,
    [AS_Q_CALLEE_SUBSCRIBED] = AS_REASON_CALLEE_NOT_SUBSCRIBED,
    [AS_Q_CALLEE_ATTACHED] = AS_REASON_CALLEE_NOT_ATTACHED,
};

/* Whether `p` counts source `s`. A policy out of range counts nothing (and so never says yes). */
static bool policy_counts(as_policy_t p, as_source_t s)
{
    switch (p) {
    case AS_POLICY_HSS: return s == AS_SRC_HSS;
    case AS_POLICY_UDM: return s == AS_SRC_UDM;
    case AS_POLICY_ANY:
    case AS_POLICY_ALL: return true;
    }
    return false;
}

static bool question_yes(const as_answer_t a[AS_SRC_COUNT], as_policy_t p)
{
    bool hss = a[AS_SRC_HSS] == AS_ANS_YES, udm = a[AS_SRC_UDM] == AS_ANS_YES;
    switch (p) {
    case AS_POLICY_HSS: return hss;
    case AS_POLICY_UDM: return udm;
    case AS_POLICY_ANY: return hss || udm;
    case AS_POLICY_ALL: return hss && udm;
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

as_decision_t as_decide(const as_lookup_results_t *r, as_policy_t subscription, as_policy_t attachment)
{
    if (r == NULL)
        return (as_decision_t){ .allowed = false, .reason = AS_REASON_ERROR };
    for (int q = 0; q < AS_Q_COUNT; q++) {
        as_policy_t p = q == AS_Q_CALLEE_ATTACHED ? attachment : subscription;
        if (!question_yes(r->answer[q], p))
            return (as_decision_t){ .allowed = false, .reason = failure_reason((as_question_t)q, r->answer[q], p) };
    }
    return (as_decision_t){ .allowed = true, .reason = AS_REASON_OK };
}

/* ---------------------------------------------------------------- identity → MSISDN */

#define TEL_SCHEME "tel:"
#define SIP_SCHEME "sip:"
#define SIPS_SCHEME "sips:"

static bool is_visual_separator(char c)
{
    return c == '-' || c == '.' || c == '(' || c == ')'; /* RFC 3966 §3 visual-separator */
}

/* Reads "+digits" at s up to one of the terminators; separators are skipped when allowed. 0 or -1. */
static int read_global_number(const char *s, const char *terminators, bool separators, char *out, size_t size)
{
    size_t n = 0;
    if (*s++ != '+')
        return -1;
    for (; *s != '\0' && strchr(terminators, *s) == NULL; s++) {
        if (separators && is_visual_separator(*s))
            continue;
        if (*s < '0' || *s > '9' || n == AS_MSISDN_MAX_DIGITS || n + 1 >= size)
            return -1;
        out[n++] = *s;
    }
    if (n == 0)
        return -1;
    out[n] = '\0';
    return 0;
}

int as_identity_msisdn(const char *identity, char *out, size_t size)
{
    if (identity == NULL || out == NULL || size == 0)
        return -1;
    if (strncasecmp(identity, TEL_SCHEME, strlen(TEL_SCHEME)) == 0)
        return read_global_number(identity + strlen(TEL_SCHEME), ";", true, out, size);
    const char *user = NULL;
    if (strncasecmp(identity, SIP_SCHEME, strlen(SIP_SCHEME)) == 0)
        user = identity + strlen(SIP_SCHEME);
    else if (strncasecmp(identity, SIPS_SCHEME, strlen(SIPS_SCHEME)) == 0)
        user = identity + strlen(SIPS_SCHEME);
    if (user == NULL)
        return -1;
    const char *at = strchr(user, '@');
    if (at == NULL || at[1] == '\0')
        return -1;
    /* The user part ends at '@'; a ';' before it would start telephone-subscriber parameters (RFC 3261 §19.1.1). */
    return read_global_number(user, ";@", true, out, size);
}
