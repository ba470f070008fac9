/*
 * sub_identity — identity normalisation for the subscriber lookups (DESIGN §4: identities compare by subscriber).
 *
 * sip/sips/tel scheme and host are lower-cased, URI parameters and headers dropped, visual separators ("-.()",
 * RFC 3966 §3) removed from tel numbers and from numeric sip users ("+1-555..."); other sip user parts stay
 * case-sensitive (RFC 3261 §19.1.4). "msisdn-<digits>", "imsi-<digits>" and bare digits keep their digits with a
 * lower-case prefix. The number a normalised URI carries is read by core_identity_number, the parser the AS uses
 * too. Simplifications, on purpose: %-escapes are compared as written, and phone-context is dropped with the other
 * parameters.
 */
#include "subscriber/sub_int.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define SUB_VISUAL_SEPARATORS "-.()"

int sub_all_digits(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* ---- identity normalisation ---- */

static int sub_has_prefix_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static int sub_is_visual_separator(char c)
{
    return c != '\0' && strchr(SUB_VISUAL_SEPARATORS, c) != NULL;
}

/* Appends [s, s+n) to out, lower-cased when asked. Returns -1 when it does not fit (NUL included). */
static int sub_put(char *out, size_t size, size_t *used, const char *s, size_t n, int lower)
{
    if (*used + n + 1 > size)
        return -1;
    for (size_t i = 0; i < n; i++)
        out[*used + i] = lower ? (char)tolower((unsigned char)s[i]) : s[i];
    *used += n;
    out[*used] = '\0';
    return 0;
}

/* "+1-555.000(0001)" → "+15550000001". Returns -1 unless it is '+' then digits and separators, with a digit. */
static int sub_global_number(const char *s, size_t n, char *out, size_t size)
{
    size_t used = 0, digits = 0;

    if (n == 0 || s[0] != '+' || sub_put(out, size, &used, "+", 1, 0) < 0)
        return -1;
    for (size_t i = 1; i < n; i++) {
        if (sub_is_visual_separator(s[i]))
            continue;
        if (!isdigit((unsigned char)s[i]) || sub_put(out, size, &used, &s[i], 1, 0) < 0)
            return -1;
        digits++;
    }
    return digits > 0 ? 0 : -1;
}

/* tel: number without parameters; visual separators dropped; hex digits, '*' and '#' allowed (RFC 3966). */
static int sub_normalise_tel(const char *rest, char *out, size_t size, size_t *used)
{
    size_t n = strcspn(rest, ";?"), kept = 0;

    for (size_t i = 0; i < n; i++) {
        char c = rest[i];
        if (sub_is_visual_separator(c))
            continue;
        int ok = isxdigit((unsigned char)c) || c == '*' || c == '#' || (c == '+' && i == 0);
        if (!ok || sub_put(out, size, used, &c, 1, 1) < 0)
            return -1;
        if (c != '+')
            kept++;
    }
    return kept > 0 ? 0 : -1;
}

/* sip/sips: user part as written (a '+' number loses its separators), host lower-cased, params/headers dropped. */
static int sub_normalise_sip(const char *rest, char *out, size_t size, size_t *used)
{
    const char *at = strchr(rest, '@');
    const char *host = at != NULL ? at + 1 : rest;
    size_t host_len = strcspn(host, ";?");

    if (at != NULL) {
        char number[SUB_NUMBER_MAX + 2];
        size_t user_len = (size_t)(at - rest);
        if (user_len == 0)
            return -1;
        if (sub_global_number(rest, user_len, number, sizeof(number)) == 0) {
            if (sub_put(out, size, used, number, strlen(number), 0) < 0)
                return -1;
        } else if (sub_put(out, size, used, rest, user_len, 0) < 0) {
            return -1;
        }
        if (sub_put(out, size, used, "@", 1, 0) < 0)
            return -1;
    }
    if (host_len == 0)
        return -1;
    return sub_put(out, size, used, host, host_len, 1);
}

static int sub_has_space_or_control(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c == 0x7f)
            return 1;
    }
    return 0;
}

/* "msisdn-<digits>", "imsi-<digits>" (prefix case-insensitive) and bare digits, copied with a lower-case prefix. */
static int sub_normalise_plain(const char *id, char *out, size_t size)
{
    static const char *const prefixes[] = {SUB_MSISDN_PREFIX, SUB_IMSI_PREFIX, ""};
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t plen = strlen(prefixes[i]);
        if (!sub_has_prefix_ci(id, prefixes[i]) || !sub_all_digits(id + plen, 1, SIZE_MAX))
            continue;
        if (sub_put(out, size, &used, prefixes[i], plen, 0) < 0 ||
            sub_put(out, size, &used, id + plen, strlen(id + plen), 0) < 0)
            return -1;
        return 0;
    }
    return -1;
}

int sub_identity_normalise(const char *identity, char *out, size_t size)
{
    static const char *const schemes[] = {"sip:", "sips:", "tel:"};
    size_t used = 0;

    if (identity == NULL || out == NULL || size == 0 || sub_has_space_or_control(identity))
        return -1;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t slen = strlen(schemes[i]);
        if (!sub_has_prefix_ci(identity, schemes[i]))
            continue;
        if (sub_put(out, size, &used, schemes[i], slen, 0) < 0)
            return -1;
        int rc = schemes[i][0] == 't' ? sub_normalise_tel(identity + slen, out, size, &used)
                                      : sub_normalise_sip(identity + slen, out, size, &used);
        if (rc < 0)
            out[0] = '\0';
        return rc;
    }
    return sub_normalise_plain(identity, out, size);
}

int sub_is_uri(const char *norm)
{
    return strncmp(norm, "sip:", 4) == 0 || strncmp(norm, "sips:", 5) == 0 || strncmp(norm, "tel:", 4) == 0;
}
