/*
 * sbi_problem — ProblemDetails (TS 29.571 §5.2.4.1) and the application error causes of TS 29.500 §5.2.7.2.
 *
 * Every error mihua's SBI answers is a ProblemDetails body of type application/problem+json (RFC 7807) with
 * `status`, `title`, `detail`, `cause` and, when the fault is in a named parameter, `invalidParams[{param, reason}]`.
 * This module only renders; sbi_respond_problem() (sbi_server.h) is the one place that sends it, so no handler
 * builds error JSON by hand. Optional members that are NULL/empty are left out, as TS 29.571 allows.
 */
#ifndef MIHUA_SBI_PROBLEM_H
#define MIHUA_SBI_PROBLEM_H

#include <jansson.h>
#include <stddef.h>

#define SBI_CT_JSON "application/json"
#define SBI_CT_PROBLEM "application/problem+json"

/* Application error causes, TS 29.500 Table 5.2.7.2-1 (the subset mihua answers), and TS 29.503 for the UDM. */
#define SBI_CAUSE_INVALID_API "INVALID_API"
#define SBI_CAUSE_INVALID_MSG_FORMAT "INVALID_MSG_FORMAT"
#define SBI_CAUSE_INVALID_QUERY_PARAM "INVALID_QUERY_PARAM"
#define SBI_CAUSE_MANDATORY_IE_INCORRECT "MANDATORY_IE_INCORRECT"
#define SBI_CAUSE_MANDATORY_IE_MISSING "MANDATORY_IE_MISSING"
#define SBI_CAUSE_RESOURCE_URI_STRUCTURE_NOT_FOUND "RESOURCE_URI_STRUCTURE_NOT_FOUND"
#define SBI_CAUSE_PAYLOAD_TOO_LARGE "PAYLOAD_TOO_LARGE"
#define SBI_CAUSE_UNSUPPORTED_MEDIA_TYPE "UNSUPPORTED_MEDIA_TYPE"
#define SBI_CAUSE_SYSTEM_FAILURE "SYSTEM_FAILURE"
#define SBI_CAUSE_TIMED_OUT_REQUEST "TIMED_OUT_REQUEST"
#define SBI_CAUSE_USER_NOT_FOUND "USER_NOT_FOUND"       /* TS 29.503 §6.1.7.3 / §6.2.7.3 */
#define SBI_CAUSE_CONTEXT_NOT_FOUND "CONTEXT_NOT_FOUND" /* TS 29.503 §6.2.7.3 */
#define SBI_CAUSE_DATA_NOT_FOUND "DATA_NOT_FOUND"       /* TS 29.503 §6.1.7.3 */

#define SBI_PROBLEM_MAX_INVALID_PARAMS 16 /* a request naming more faults than this gets the first 16 */

/* One entry of invalidParams (TS 29.571 InvalidParam): `param` is a JSON pointer or a parameter name. */
typedef struct {
    const char *param;
    const char *reason; /* NULL to omit */
} sbi_invalid_param_t;

/* All strings borrowed. status is mandatory in mihua (optional in the spec, but every client wants it). */
typedef struct {
    int status;                                /* HTTP status code, 400..599 */
    const char *title;                         /* NULL: the status's reason phrase (sbi_status_title) */
    const char *detail;                        /* NULL to omit */
    const char *cause;                         /* NULL to omit (no cause is defined for e.g. 405, 431) */
    const sbi_invalid_param_t *invalid_params; /* NULL / 0 to omit */
    size_t n_invalid_params;
} sbi_problem_t;

/* The ProblemDetails object, a new reference; NULL only on allocation failure. */
json_t *sbi_problem_to_json(const sbi_problem_t *p);

/* Compact JSON text of the above, malloc'd and NUL-terminated, length in *len. NULL on allocation failure. */
char *sbi_problem_render(const sbi_problem_t *p, size_t *len);

/* The RFC 9110 reason phrase of a status ("Not Found"), or "Unknown" for codes mihua never sends. */
const char *sbi_status_title(int status);

#endif
