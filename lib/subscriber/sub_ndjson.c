/*
 * sub_ndjson — NDJSON to a DESIGN §5 document with the same line numbers. See sub_ndjson.h.
 */
#include "subscriber/sub_ndjson.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define NDJSON_HEAD "{\"subscribers\":["
#define NDJSON_TAIL "\n]}\n"

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

bool sub_ndjson_detect(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && isspace((unsigned char)text[i]))
        i++;
    if (i == len || text[i] != '{')
        return false;
    for (i++; i < len && isspace((unsigned char)text[i]); i++)
        ;
    return !(len - i >= 13 && strncmp(text + i, "\"subscribers\"", 13) == 0);
}

/* Where the last non-blank line starts (len when there is none): every non-blank line before it ends with a comma. */
static size_t last_line_start(const char *text, size_t len)
{
    size_t end = len;
    while (end > 0) {
        size_t start = end;
        while (start > 0 && text[start - 1] != '\n')
            start--;
        if (!blank(text + start, end - start))
            return start;
        end = start > 0 ? start - 1 : 0;
    }
    return len;
}

char *sub_ndjson_to_document(const char *text, size_t len, size_t *out_len)
{
    /* head + every byte + one comma per line + tail */
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    char *out = malloc(sizeof(NDJSON_HEAD) + len + lines + sizeof(NDJSON_TAIL));
    if (out == NULL)
        return NULL;
    size_t used = strlen(NDJSON_HEAD), last = last_line_start(text, len);
    memcpy(out, NDJSON_HEAD, used);
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl != NULL ? (size_t)(nl - (text + at)) : len - at;
        if (!blank(text + at, n)) {
            memcpy(out + used, text + at, n);
            used += n;
            if (at < last) /* the separator closes the line, so the next line's columns stay the input's */
                out[used++] = ',';
        }
        at += n;
        if (nl != NULL) {
            out[used++] = '\n';
            at++;
        }
    }
    memcpy(out + used, NDJSON_TAIL, sizeof(NDJSON_TAIL));
    used += strlen(NDJSON_TAIL);
    if (out_len != NULL)
        *out_len = used;
    return out;
}
