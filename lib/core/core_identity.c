/*
 * core_identity — the E.164 number of a tel:/sip:/sips: identity (see core_identity.h; RFC 3966 §3, RFC 3261
 * §19.1.1). One forward pass, no allocation.
 *
 * Trade-off: phone-context and other parameters are ignored rather than interpreted, so "tel:+N;phone-context=x"
 * is the number N; a local number (no '+') never resolves, since without a context there is no global number.
 */
#include "core/core_identity.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#define CORE_TEL_SCHEME "tel:"
#define CORE_SIP_SCHEME "sip:"
#define CORE_SIPS_SCHEME "sips:"
#define CORE_VISUAL_SEPARATORS "-.()" /* RFC 3966 §3 visual-separator */

static bool core_has_prefix_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static bool core_is_visual_separator(char c)
{
    return c != '\0' && strchr(CORE_VISUAL_SEPARATORS, c) != NULL;
}

/* Reads "+digits" at s up to one of the terminators (or the end), skipping visual separators. 0 or -1. */
static int core_read_global_number(const char *s, const char *terminators, char *out, size_t size)
{
    size_t n = 0;
    if (*s++ != '+')
        return -1;
    for (; *s != '\0' && strchr(terminators, *s) == NULL; s++) {
        if (core_is_visual_separator(*s))
            continue;
        if (*s < '0' || *s > '9' || n == CORE_IDENTITY_MAX_DIGITS || n + 1 >= size)
            return -1;
        out[n++] = *s;
    }
    if (n == 0)
        return -1;
    out[n] = '\0';
    return 0;
}

int core_identity_number(const char *identity, char *out, size_t size)
{
    if (identity == NULL || out == NULL || size == 0)
        return -1;
    if (core_has_prefix_ci(identity, CORE_TEL_SCHEME))
        return core_read_global_number(identity + strlen(CORE_TEL_SCHEME), ";", out, size);
    const char *user = NULL;
    if (core_has_prefix_ci(identity, CORE_SIP_SCHEME))
        user = identity + strlen(CORE_SIP_SCHEME);
    else if (core_has_prefix_ci(identity, CORE_SIPS_SCHEME))
        user = identity + strlen(CORE_SIPS_SCHEME);
    if (user == NULL)
        return -1;
    const char *at = strchr(user, '@');
    if (at == NULL || at[1] == '\0')
        return -1;
    /* The user part ends at '@'; a ';' before it starts telephone-subscriber parameters (RFC 3261 §19.1.1). */
    return core_read_global_number(user, ";@", out, size);
}
