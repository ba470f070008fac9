/*
 * sbi_flat_json — allocation-free reader for flat JSON objects (see sbi_flat_json.h for the accepted subset).
 *
 * One forward pass with a cursor; every rule that would need decoding (escapes, non-ASCII, numbers, nesting) ends
 * the pass with "not flat" instead, so this file never has to get RFC 8259's harder corners right: jansson does
 * them. Duplicate names are "not flat" too (jansson then either rejects them, JSON_REJECT_DUPLICATES, or keeps the
 * last: the caller's choice stays where it was). Why it exists: a jansson object costs a dozen allocations, and
 * the KMS parsed three of them per request.
 */
#include "sbi/sbi_flat_json.h"

#include <string.h>

typedef struct {
    const char *p, *end;
} cursor_t;

static void skip_ws(cursor_t *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool eat(cursor_t *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A quoted string of printable ASCII without '\'; the cursor is on the opening quote. */
static bool scan_string(cursor_t *c, const char **s, size_t *len)
{
    if (c->p >= c->end || *c->p != '"')
        return false;
    const char *start = ++c->p;
    for (; c->p < c->end && *c->p != '"'; c->p++)
        if ((unsigned char)*c->p < 0x20 || (unsigned char)*c->p > 0x7e || *c->p == '\\')
            return false;
    if (c->p >= c->end)
        return false;
    *s = start;
    *len = (size_t)(c->p - start);
    c->p++;
    return true;
}

static bool scan_literal(cursor_t *c, const char *word, sbi_flat_type_t type, sbi_flat_member_t *m)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return false;
    c->p += n;
    m->type = type;
    return true;
}

static bool scan_value(cursor_t *c, sbi_flat_member_t *m)
{
    skip_ws(c);
    if (c->p >= c->end)
        return false;
    switch (*c->p) {
    case '"':
        m->type = SBI_FLAT_STRING;
        return scan_string(c, &m->value, &m->value_len);
    case 't':
        return scan_literal(c, "true", SBI_FLAT_TRUE, m);
    case 'f':
        return scan_literal(c, "false", SBI_FLAT_FALSE, m);
    case 'n':
        return scan_literal(c, "null", SBI_FLAT_NULL, m);
    default:
        return false;
    }
}

static bool seen(const sbi_flat_json_t *j, const char *name, size_t len)
{
    for (size_t i = 0; i < j->n; i++)
        if (j->m[i].name_len == len && memcmp(j->m[i].name, name, len) == 0)
            return true;
    return false;
}

static bool scan_member(cursor_t *c, sbi_flat_json_t *out)
{
    sbi_flat_member_t m = {0};
    skip_ws(c);
    if (out->n == SBI_FLAT_MAX_MEMBERS || !scan_string(c, &m.name, &m.name_len) || seen(out, m.name, m.name_len) ||
        !eat(c, ':') || !scan_value(c, &m))
        return false;
    out->m[out->n++] = m;
    return true;
}

bool sbi_flat_json_parse(const char *text, size_t len, sbi_flat_json_t *out)
{
    cursor_t c = {text, text + len};
    out->n = 0;
    if (!text || !eat(&c, '{'))
        return false;
    if (!eat(&c, '}')) {
        do {
            if (!scan_member(&c, out))
                return false;
        } while (eat(&c, ','));
        if (!eat(&c, '}'))
            return false;
    }
    skip_ws(&c);
    return c.p == c.end;
}

const sbi_flat_member_t *sbi_flat_json_get(const sbi_flat_json_t *j, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < j->n; i++)
        if (j->m[i].name_len == len && memcmp(j->m[i].name, name, len) == 0)
            return &j->m[i];
    return NULL;
}

bool sbi_flat_json_string(const sbi_flat_json_t *j, const char *name, char *out, size_t cap)
{
    const sbi_flat_member_t *m = sbi_flat_json_get(j, name);
    if (!m || m->type != SBI_FLAT_STRING || m->value_len >= cap)
        return false;
    memcpy(out, m->value, m->value_len);
    out[m->value_len] = '\0';
    return true;
}
