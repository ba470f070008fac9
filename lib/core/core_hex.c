/*
 * core_hex — base16 encode and decode (RFC 4648 §8; see core_hex.h).
 *
 * Trade-off: a lookup string for encoding and a branch chain for decoding; both are branch-predictable and cost a
 * few nanoseconds per byte, far below the hashes whose output they print. Decoding is not constant-time in the
 * digit values: the inputs decoded here (a kms_key read from the operator's file, an nc, a %-escape) are not
 * compared against a secret through this function.
 */
#include "core/core_hex.h"

int core_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void core_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

int core_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t n_bytes)
{
    if (in == NULL || (out == NULL && n_bytes > 0) || in_len != 2 * n_bytes)
        return -1;
    for (size_t i = 0; i < n_bytes; i++) {
        int hi = core_hex_value(in[2 * i]), lo = core_hex_value(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
