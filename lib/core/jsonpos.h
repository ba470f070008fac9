/*
 * jsonpos — where in a JSON text a value sits, as line:column.
 *
 * jansson reports positions only for syntax errors; a validator that rejects a well-formed document ("unknown key",
 * "bad digits") must still say file:line:column (DESIGN §5). Rather than fork the parser, we walk the same text a
 * second time with a small scanner that follows a path of object keys and array indices. It runs only on the error
 * path, so its cost does not matter; the text has already been accepted by jansson, so the scanner may assume it is
 * well formed (it still stops safely on anything odd).
 */
#ifndef MIHUA_JSONPOS_H
#define MIHUA_JSONPOS_H

#include <stddef.h>

/* One step of a path: an object key (key != NULL) or an array index (key == NULL). */
typedef struct {
    const char *key;
    size_t index;
} jsonpos_step_t;

/*
 * Finds the value reached by following `steps` from the root of `text`. With `at_key` set and a last step that is
 * an object key, the position is that of the key's opening quote (useful for "unknown key"). Lines and columns
 * count from 1; columns count bytes. Returns 0, or -1 when the path does not exist (line/col then point to the
 * deepest container reached).
 */
int jsonpos_locate(const char *text, size_t len, const jsonpos_step_t *steps, size_t n_steps, int at_key, int *line,
                   int *col);

#endif
