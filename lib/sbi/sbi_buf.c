/*
 * sbi_buf — growable body buffer shared by sbi_server and sbi_client (sbi_buf.h). Doubling keeps the number of
 * reallocations logarithmic in the body size; the trailing NUL costs one byte and saves every reader a copy.
 */
#include "sbi/sbi_buf.h"

#include <stdlib.h>
#include <string.h>

int sbi_buf_append(char **buf, size_t *len, size_t *cap, const uint8_t *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : SBI_BUF_INITIAL;
        while (c < *len + n + 1)
            c *= 2;
        char *b = realloc(*buf, c);
        if (!b)
            return -1;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}
