/*
 * sip_scan — lexical helpers for header values (RFC 3261 §7.3.1 list headers, §25.1 token / quoted-string /
 * generic-param). Every loop is bounded by the slice length; nothing is written and nothing allocated.
 *
 * Trade-off: parameter values are accepted as a quoted-string or any run of bytes other than ';' and LWS, a little
 * wider than the gen-value grammar (token / host / quoted-string). Being lenient here costs nothing (values stay
 * opaque slices) and accepts the odd characters real UAs put in feature-tag values.
 */
#include "sip/sip_scan.h"

sip_str_t sip_trim(sip_str_t s)
{
    if (!s.s)
        return s;
    while (s.len > 0 && sip_is_lws(s.s[0])) {
        s.s++;
        s.len--;
    }
    while (s.len > 0 && sip_is_lws(s.s[s.len - 1]))
        s.len--;
    return s;
}

int sip_take_token(sip_str_t s, sip_str_t *tok)
{
    int i = 0;
    while (i < s.len && sip_is_lws(s.s[i]))
        i++;
    int start = i;
    while (i < s.len && sip_is_token_char(s.s[i]))
        i++;
    if (i == start)
        return -1;
    *tok = (sip_str_t){s.s + start, i - start};
    return i;
}

int sip_skip_quoted(sip_str_t s, int i)
{
    i++; /* opening quote */
    while (i < s.len) {
        char c = s.s[i];
        if (c == '"')
            return i + 1;
        if (c == '\\') {
            if (i + 1 >= s.len)
                return -1;
            i += 2;
            continue;
        }
        i++;
    }
    return -1;
}

int sip_list_next(sip_str_t *rest, sip_str_t *value)
{
    sip_str_t r = sip_trim(*rest);
    if (r.len == 0)
        return 0;
    int i = 0;
    bool in_angle = false;
    while (i < r.len) {
        char c = r.s[i];
        if (c == '"') {
            i = sip_skip_quoted(r, i);
            if (i < 0)
                return -1;
            continue;
        }
        if (c == '<') {
            if (in_angle)
                return -1;
            in_angle = true;
        } else if (c == '>') {
            if (!in_angle)
                return -1;
            in_angle = false;
        } else if (c == ',' && !in_angle) {
            break;
        }
        i++;
    }
    if (in_angle)
        return -1;
    *value = sip_trim((sip_str_t){r.s, i});
    if (value->len == 0)
        return -1;
    if (i < r.len) {
        i++; /* the comma; an element must follow it */
        if (sip_trim((sip_str_t){r.s + i, r.len - i}).len == 0)
            return -1;
    }
    *rest = (sip_str_t){r.s + i, r.len - i};
    return 1;
}

int sip_param_next(sip_str_t *rest, sip_str_t *name, sip_str_t *value)
{
    sip_str_t r = sip_trim(*rest);
    if (r.len == 0)
        return 0;
    if (r.s[0] != ';')
        return -1;
    sip_str_t after = {r.s + 1, r.len - 1};
    int n = sip_take_token(after, name);
    if (n < 0)
        return -1;
    int i = 1 + n;
    while (i < r.len && sip_is_lws(r.s[i]))
        i++;
    *value = SIP_STR_NULL;
    if (i < r.len && r.s[i] == '=') {
        i++;
        while (i < r.len && sip_is_lws(r.s[i]))
            i++;
        int vs = i;
        if (i < r.len && r.s[i] == '"') {
            i = sip_skip_quoted(r, i);
            if (i < 0)
                return -1;
        } else {
            while (i < r.len && r.s[i] != ';' && !sip_is_lws(r.s[i]))
                i++;
        }
        if (i == vs)
            return -1;
        *value = (sip_str_t){r.s + vs, i - vs};
    }
    *rest = (sip_str_t){r.s + i, r.len - i};
    return 1;
}

int sip_params_check(sip_str_t params, int max)
{
    sip_str_t rest = params, name, value;
    int n = 0, rc;
    if (!params.s)
        return 0;
    while ((rc = sip_param_next(&rest, &name, &value)) == 1)
        if (++n > max)
            return -1;
    return rc < 0 ? -1 : n;
}
