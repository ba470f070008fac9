/*
 * core_b64url — base64url without padding (RFC 4648 §5; §3.2 allows leaving out '=' when the length is known, as
 * in JSON and HTTP parameters).
 *
 * Used for KMS keyIds and wrapped keys (DESIGN §4) and for HTTP Digest nonces, opaque values and cnonces
 * (RFC 7616). The decoder is strict, canonical-only: it rejects '=', characters outside the url-safe alphabet
 * (including '+', '/' and NUL), a length that leaves a lone 6-bit group, and non-zero spare bits in the last
 * character, so one byte string has exactly one text form and string comparison of encoded ids is sound.
 * Pure functions over caller-owned buffers; nothing allocates or logs.
 */
#ifndef MIHUA_CORE_B64URL_H
#define MIHUA_CORE_B64URL_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed for n bytes (no padding, no NUL). */
size_t core_b64url_len(size_t n);

/* Encodes and NUL-terminates; needs out_cap >= core_b64url_len(len) + 1. Returns the text length or -1. */
int core_b64url_encode(const uint8_t *in, size_t len, char *out, size_t out_cap);

/* Strict decode (see above). Needs out_cap >= the decoded length (in_len * 3 / 4). 0 with *out_len set, or -1. */
int core_b64url_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len);

#endif
