/*
 * sbi_flat_json — an allocation-free reader for the small flat JSON objects of SBI hot paths (the KMS's request
 * and AS bodies: {"callId":"...","caller":"...","encryptionAllowed":true}).
 *
 * It accepts a strict subset of RFC 8259 and says "not flat" for everything else, so callers fall back to jansson
 * and keep its exact behaviour there: one object, optional whitespace (SP, HTAB, LF, CR) around tokens, at most
 * SBI_FLAT_MAX_MEMBERS members whose names and string values are printable ASCII without '\' (no escapes to
 * decode), values that are strings or the literals true, false, null, and no name twice. Whatever it accepts is
 * valid JSON that jansson would parse to the same members, so a caller may take either path for one input.
 * Members point into the caller's text (not NUL-terminated).
 */
#ifndef MIHUA_SBI_FLAT_JSON_H
#define MIHUA_SBI_FLAT_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define SBI_FLAT_MAX_MEMBERS 16

typedef enum { SBI_FLAT_STRING, SBI_FLAT_TRUE, SBI_FLAT_FALSE, SBI_FLAT_NULL } sbi_flat_type_t;

typedef struct {
    const char *name;
    size_t name_len;
    sbi_flat_type_t type;
    const char *value; /* SBI_FLAT_STRING: the characters between the quotes */
    size_t value_len;
} sbi_flat_member_t;

typedef struct {
    sbi_flat_member_t m[SBI_FLAT_MAX_MEMBERS];
    size_t n;
} sbi_flat_json_t;

/* true when `text` is a flat object as above (out filled); false: not flat (maybe valid JSON, maybe not). */
bool sbi_flat_json_parse(const char *text, size_t len, sbi_flat_json_t *out);

/* The member named `name`, or NULL. */
const sbi_flat_member_t *sbi_flat_json_get(const sbi_flat_json_t *j, const char *name);

/* Copies a string member's value into out (NUL-terminated). Returns false when absent, not a string, or
 * longer than cap - 1. */
bool sbi_flat_json_string(const sbi_flat_json_t *j, const char *name, char *out, size_t cap);

#endif
