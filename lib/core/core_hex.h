/*
 * core_hex — base16 (RFC 4648 §8) for mihua: lowercase out, either case in.
 *
 * Used for the subscriber file's kms_key, the KMS Digest password, RFC 7616 hashes and nc values, log-safe keyId
 * tags, the AS's callback key and %-escapes (RFC 3986 §2.1). Pure functions over caller-owned buffers; nothing
 * allocates, nothing logs, so key material passes through without leaving a copy behind.
 */
#ifndef MIHUA_CORE_HEX_H
#define MIHUA_CORE_HEX_H

#include <stddef.h>
#include <stdint.h>

/* The value of one hex digit (0-9, a-f, A-F), or -1 for any other byte. */
int core_hex_value(char c);

/* Writes 2 * len lowercase hex characters and a NUL: out must hold 2 * len + 1 bytes. */
void core_hex_encode(const uint8_t *in, size_t len, char *out);

/* Decodes exactly 2 * n_bytes hex characters of `in` (in_len must equal 2 * n_bytes) into out. 0, or -1 on a
 * wrong length or a non-hex character (out is then partly written; callers holding secrets wipe it). */
int core_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t n_bytes);

#endif
