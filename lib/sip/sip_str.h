/*
 * sip_str — a string slice { pointer, length } into a buffer someone else owns (Kamailio's str idea).
 *
 * Parsers in lib/sip and lib/sdp return slices into the receive buffer: nothing is copied and nothing is
 * NUL-terminated, so a slice is valid exactly as long as the buffer it points into. An absent value is { NULL, 0 };
 * an empty but present value is { p, 0 } with p non-NULL.
 */
#ifndef MIHUA_SIP_STR_H
#define MIHUA_SIP_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *s; /* first byte, or NULL when absent */
    int len;       /* number of bytes; never negative */
} sip_str_t;

#define SIP_STR_NULL ((sip_str_t){NULL, 0})

/* A slice over a NUL-terminated C string (for building; the string must outlive the slice). */
sip_str_t sip_str_c(const char *cstr);
/* Exact, byte-for-byte comparison with a C string. */
bool sip_str_eq(sip_str_t a, const char *lit);
/* ASCII case-insensitive comparison with a C string (header names, methods, param names, schemes). */
bool sip_str_ieq(sip_str_t a, const char *lit);
/* ASCII case-insensitive comparison of two slices. */
bool sip_str_ieq_str(sip_str_t a, sip_str_t b);
/* Decimal digits only (no sign, no blanks), value <= max. Returns 0, or -1 on anything else. */
int sip_str_to_u32(sip_str_t a, uint32_t max, uint32_t *out);
/* Copies the slice into dst as a C string (truncating to cap-1). For logs and tests; returns dst. */
char *sip_str_copy(sip_str_t a, char *dst, size_t cap);

#endif
