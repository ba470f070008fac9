/*
 * as_policy — the names around the AS checks (DESIGN §3): policy names for the configuration, answer names for
 * logs and JSON, and identity → MSISDN for the UDM's ueId. The decision itself is as_decide.c.
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
