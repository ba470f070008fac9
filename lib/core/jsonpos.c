/*
 * jsonpos — line:column of a value inside a JSON text, found by following a path of keys and indices.
 *
 * Approach: a second, minimal pass over text that jansson has already accepted. The scanner knows just enough JSON
 * to skip a value (strings with escapes, nested containers, scalars) and to compare an object key, escapes decoded,
 * with the key asked for. It allocates nothing and never recurses, so a hostile nesting depth cannot blow the stack;
 * every loop is bounded by the end of the text, so malformed input ends the walk instead of overrunning.
 *
 * Trade-offs: the walk restarts from the root for each query (O(size of text)); it runs only when reporting an
 * error. Columns count bytes, not characters (jansson counts characters in its own syntax errors; the two agree on
 * ASCII text, which configuration and subscriber files are). With duplicate keys the first occurrence wins; our
 * loaders reject duplicates before asking.
 */
#include "core/jsonpos.h"

#include <stdint.h>
#include <string.h>

typedef struct {
    const char *p;   /* current byte */
    const char *end; /* one past the last byte */
} jp_scan_t;

static void jp_skip_ws(jp_scan_t *sc)
{
    while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
        sc->p++;
}

/* At an opening quote: moves past the closing quote. Returns -1 when the text ends first. */
static int jp_skip_string(jp_scan_t *sc)
{
    sc->p++;
    while (sc->p < sc->end) {
        char c = *sc->p++;
        if (c == '"')
            return 0;
        if (c == '\\' && sc->p < sc->end)
            sc->p++;
    }
    return -1;
}

static int jp_is_delim(char c)
{
    return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Skips a container by counting brackets outside strings: no recursion, so nesting depth costs no stack. */
static int jp_skip_container(jp_scan_t *sc)
{
    size_t depth = 0;

    while (sc->p < sc->end) {
        char c = *sc->p;
        if (c == '"') {
            if (jp_skip_string(sc) < 0)
                return -1;
            continue;
        }
        sc->p++;
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0 || --depth == 0)
                return 0;
        }
    }
    return -1;
}

/* Skips one value of any kind. */
static int jp_skip_value(jp_scan_t *sc)
{
    if (sc->p >= sc->end)
        return -1;
    if (*sc->p == '"')
        return jp_skip_string(sc);
    if (*sc->p == '{' || *sc->p == '[')
        return jp_skip_container(sc);
    const char *start = sc->p;
    while (sc->p < sc->end && !jp_is_delim(*sc->p))
        sc->p++;
    return sc->p > start ? 0 : -1;
}

static int jp_hex4(const char *s, const char *end, uint32_t *out)
{
    uint32_t v = 0;

    if (end - s < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Encodes a code point as UTF-8 into out (4 bytes of room); returns the length. */
static size_t jp_utf8(uint32_t cp, unsigned char *out)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes one escape after the backslash at sc->p[-1]; returns the byte count written to out, or 0 on error. */
static size_t jp_unescape(jp_scan_t *sc, unsigned char *out)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";

    if (sc->p >= sc->end)
        return 0;
    char c = *sc->p++;
    const char *hit = c != '\0' ? strchr(from, c) : NULL;
    if (hit != NULL) {
        out[0] = (unsigned char)to[hit - from];
        return 1;
    }
    if (c != 'u')
        return 0;
    uint32_t cp;
    if (jp_hex4(sc->p, sc->end, &cp) < 0)
        return 0;
    sc->p += 4;
    if (cp >= 0xD800 && cp <= 0xDBFF && sc->end - sc->p >= 6 && sc->p[0] == '\\' && sc->p[1] == 'u') {
        uint32_t lo;
        if (jp_hex4(sc->p + 2, sc->end, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            sc->p += 6;
        }
    }
    return jp_utf8(cp, out);
}

/* At an opening quote: reads the string, decoding escapes, and says whether it equals `key`. Leaves sc after the
 * closing quote. Returns 1 equal, 0 different, -1 malformed. */
static int jp_key_equals(jp_scan_t *sc, const char *key)
{
    size_t klen = strlen(key), k = 0;
    int same = 1;

    sc->p++;
    while (sc->p < sc->end) {
        unsigned char buf[4];
        size_t n;
        char c = *sc->p++;
        if (c == '"')
            return same && k == klen;
        if (c == '\\') {
            n = jp_unescape(sc, buf);
            if (n == 0)
                return -1;
        } else {
            buf[0] = (unsigned char)c;
            n = 1;
        }
        if (same && (k + n > klen || memcmp(key + k, buf, n) != 0))
            same = 0;
        k += n;
    }
    return -1;
}

/* Expects `c` after optional white space and moves past it. */
static int jp_expect(jp_scan_t *sc, char c)
{
    jp_skip_ws(sc);
    if (sc->p >= sc->end || *sc->p != c)
        return -1;
    sc->p++;
    return 0;
}

/* Inside an object, at its '{': finds member `key`. On success sc points at the key's quote (*key_at) and
 * at the value. Returns 0 found, -1 not found or malformed. */
static int jp_find_member(jp_scan_t *sc, const char *key, const char **key_at)
{
    sc->p++; /* '{' */
    for (;;) {
        jp_skip_ws(sc);
        if (sc->p >= sc->end || *sc->p != '"')
            return -1; /* '}' of an object without the key, or junk */
        const char *at = sc->p;
        int eq = jp_key_equals(sc, key);
        if (eq < 0 || jp_expect(sc, ':') < 0)
            return -1;
        jp_skip_ws(sc);
        if (eq == 1) {
            *key_at = at;
            return 0;
        }
        if (jp_skip_value(sc) < 0 || jp_expect(sc, ',') < 0)
            return -1;
    }
}

/* Inside an array, at its '[': moves to element `index`. Returns 0 or -1. */
static int jp_find_element(jp_scan_t *sc, size_t index)
{
    sc->p++; /* '[' */
    jp_skip_ws(sc);
    if (sc->p >= sc->end || *sc->p == ']')
        return -1;
    for (size_t i = 0; i < index; i++) {
        if (jp_skip_value(sc) < 0 || jp_expect(sc, ',') < 0)
            return -1;
        jp_skip_ws(sc);
    }
    return 0;
}

static void jp_line_col(const char *text, const char *at, int *line, int *col)
{
    int l = 1, c = 1;

    for (const char *p = text; p < at; p++) {
        if (*p == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

int jsonpos_locate(const char *text, size_t len, const jsonpos_step_t *steps, size_t n_steps, int at_key, int *line,
                   int *col)
{
    int dummy_line, dummy_col;
    if (line == NULL)
        line = &dummy_line;
    if (col == NULL)
        col = &dummy_col;
    *line = 1;
    *col = 1;
    if (text == NULL)
        return -1;

    jp_scan_t sc = {text, text + len};
    jp_skip_ws(&sc);
    const char *found = sc.p; /* deepest value reached so far */
    for (size_t i = 0; i < n_steps; i++) {
        const char *key_at = NULL;
        int rc;
        if (sc.p >= sc.end)
            rc = -1;
        else if (steps[i].key != NULL)
            rc = *sc.p == '{' ? jp_find_member(&sc, steps[i].key, &key_at) : -1;
        else
            rc = *sc.p == '[' ? jp_find_element(&sc, steps[i].index) : -1;
        if (rc < 0) {
            jp_line_col(text, found, line, col);
            return -1;
        }
        found = (at_key && key_at != NULL && i + 1 == n_steps) ? key_at : sc.p;
    }
    jp_line_col(text, found, line, col);
    return 0;
}
