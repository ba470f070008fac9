/*
 * core_b64url — base64url without padding, strict decoder (RFC 4648 §5; see core_b64url.h).
 *
 * Encoding takes three bytes to four characters and finishes a short tail with two or three characters. Decoding
 * accumulates 6-bit groups and emits a byte per 8 bits; the bits left over at the end must be zero (canonical
 * form). Trade-off: the decoder maps characters by range tests rather than a 256-entry table: a few branches per
 * character, no table to keep in cache, and the strings decoded here are at most a few dozen characters long.
 */
#include "core/core_b64url.h"

static const char core_b64url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Bound on input lengths: keeps every length computation below far from overflow and the result in an int. */
#define CORE_B64URL_MAX_IN ((size_t)INT32_MAX / 2)

static int core_b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

size_t core_b64url_len(size_t n)
{
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

/* The first `chars` characters of the 24-bit group v. */
static size_t core_b64url_group(uint32_t v, size_t chars, char *out)
{
    for (size_t k = 0; k < chars; k++)
        out[k] = core_b64url_alphabet[v >> (18 - 6 * k) & 63];
    return chars;
}

int core_b64url_encode(const uint8_t *in, size_t len, char *out, size_t out_cap)
{
    if ((in == NULL && len > 0) || out == NULL || len > CORE_B64URL_MAX_IN)
        return -1;
    if (out_cap < core_b64url_len(len) + 1)
        return -1;

    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3)
        o += core_b64url_group((uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2], 4, out + o);
    if (len - i == 1)
        o += core_b64url_group((uint32_t)in[i] << 16, 2, out + o);
    else if (len - i == 2)
        o += core_b64url_group((uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8, 3, out + o);
    out[o] = '\0';
    return (int)o;
}

int core_b64url_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (in == NULL || out_len == NULL || (out == NULL && in_len > 0) || in_len > CORE_B64URL_MAX_IN)
        return -1;
    *out_len = 0;
    /* A single leftover character carries only 6 bits: no byte string encodes to that length. */
    if (in_len % 4 == 1)
        return -1;
    size_t need = in_len / 4 * 3 + (in_len % 4 ? in_len % 4 - 1 : 0);
    if (out_cap < need)
        return -1;

    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < in_len; i++) {
        int v = core_b64url_value((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* Canonical form only: the spare low bits of the last character must be zero. */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return -1;
    *out_len = o;
    return 0;
}
