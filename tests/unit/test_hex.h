/*
 * test_hex — hex test vectors for the unit tests (RFC and GB/T vectors are published in hex). Include after
 * <cmocka.h>. Test code only: input is trusted, odd trailing digits are ignored.
 */
#ifndef MIHUA_TEST_HEX_H
#define MIHUA_TEST_HEX_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAX_HEX_BYTES 256 /* longest vector any test decodes */

/* Hex to bytes; returns the byte count. */
static inline size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

static inline void assert_hex_equal(const uint8_t *got, size_t len, const char *want_hex)
{
    uint8_t want[MAX_HEX_BYTES];
    assert_int_equal(unhex(want_hex, want), len);
    assert_memory_equal(got, want, len);
}

#endif
