/*
 * sip_str — helpers over { pointer, length } slices (see sip_str.h). All comparisons are ASCII: SIP header names,
 * methods, URI schemes and parameter names are case-insensitive ASCII tokens (RFC 3261 §7.3.1, §19.1.4); no locale
 * is consulted, so behaviour does not depend on the process environment.
 */
#include "sip/sip_str.h"

#include <string.h>

static char sip_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

sip_str_t sip_str_c(const char *cstr)
{
    if (!cstr)
        return SIP_STR_NULL;
    return (sip_str_t){cstr, (int)strlen(cstr)};
}

bool sip_str_eq(sip_str_t a, const char *lit)
{
    size_t n = strlen(lit);
    return a.s && (size_t)a.len == n && memcmp(a.s, lit, n) == 0;
}

bool sip_str_ieq(sip_str_t a, const char *lit)
{
    size_t n = strlen(lit);
    if (!a.s || (size_t)a.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (sip_lower(a.s[i]) != sip_lower(lit[i]))
            return false;
    return true;
}

bool sip_str_ieq_str(sip_str_t a, sip_str_t b)
{
    if (a.len != b.len || !a.s || !b.s)
        return false;
    for (int i = 0; i < a.len; i++)
        if (sip_lower(a.s[i]) != sip_lower(b.s[i]))
            return false;
    return true;
}

int sip_str_to_u32(sip_str_t a, uint32_t max, uint32_t *out)
{
    if (!a.s || a.len <= 0)
        return -1;
    uint64_t v = 0;
    for (int i = 0; i < a.len; i++) {
        if (a.s[i] < '0' || a.s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(a.s[i] - '0');
        if (v > max)
            return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

char *sip_str_copy(sip_str_t a, char *dst, size_t cap)
{
    if (cap == 0)
        return dst;
    size_t n = a.s ? (size_t)a.len : 0;
    if (n > cap - 1)
        n = cap - 1;
    if (n)
        memcpy(dst, a.s, n);
    dst[n] = '\0';
    return dst;
}
