/*
 * sub_ndjson — NDJSON (one subscriber object per line) as a DESIGN §5 document, keeping line numbers.
 *
 * Bulk tools produce one JSON object per line. Rather than a second validator, the lines are wrapped into
 * {"subscribers":[...]} so that line N of the input is line N of the document: the file loader's
 * "name:line:column" then names the input line. Blank lines are kept as blank lines. The separating comma ends a
 * line, so columns are the input's too, except on the first line, which the 16-character head opens.
 */
#ifndef MIHUA_SUB_NDJSON_H
#define MIHUA_SUB_NDJSON_H

#include <stdbool.h>
#include <stddef.h>

/* True when the text looks like NDJSON rather than one document: its first non-blank object does not start with
 * the "subscribers" key. A guess for tools; an explicit flag wins. */
bool sub_ndjson_detect(const char *text, size_t len);

/* The document for NDJSON `text` (malloc'd, NUL-terminated; *out_len its length), or NULL when out of memory. */
char *sub_ndjson_to_document(const char *text, size_t len, size_t *out_len);

#endif
