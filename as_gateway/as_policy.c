/*
 * as_policy — the names around the AS checks (DESIGN §3): policy names for the configuration, answer names for
 * logs and JSON, and identity → MSISDN for the UDM's ueId. The decision itself is as_decide.c.
 *
 * Identity → MSISDN is core_identity_number (RFC 3966 global numbers, RFC 3261 §19.1.6 user=phone).
 */
#include "as_checks.h"

#include <string.h>

#include "core/core_identity.h"

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
    case AS_ANS_NOT_ASKED:
        return "not-asked";
    case AS_ANS_YES:
        return "yes";
    case AS_ANS_NO:
        return "no";
    case AS_ANS_UNKNOWN:
        return "unknown";
    case AS_ANS_ERROR:
        return "error";
    case AS_ANS_TIMEOUT:
        return "timeout";
    }
    return "?";
}

/* ---------------------------------------------------------------- identity → MSISDN */

/* The one parser of the rule is core_identity's, shared with the subscriber store, so the AS asks the UDM about
 * exactly the identities the simulators resolve through an MSISDN. */
int as_identity_msisdn(const char *identity, char *out, size_t size)
{
    return core_identity_number(identity, out, size);
}
