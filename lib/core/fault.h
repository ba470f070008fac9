/*
 * fault — fault injection rules for the simulators (the test-double side of DESIGN §8): what to do instead of the
 * normal answer, for one subscriber or every one, a number of times or for a while.
 *
 * A rule is posted as JSON to the admin API (POST /admin/v1/faults) and consulted once per request by the
 * protocol side (fault_take), from any thread. Rules are tried in the order they were added; the first that
 * matches is used and its count goes down; a rule whose count reaches zero or whose time is over goes away.
 *
 *   {"protocol":"diameter","action":"answer","resultCode":5012}            Diameter answer with that Result-Code
 *   {"protocol":"diameter","action":"answer","experimentalResultCode":5001} ... or Experimental-Result (10415)
 *   {"protocol":"diameter","action":"delay","delayMs":500}                 the normal answer, later
 *   {"protocol":"diameter","action":"drop"}                                 no answer at all
 *   {"protocol":"diameter","action":"close"}                                the peer's connection is closed
 *   {"protocol":"sbi","action":"answer","status":503,"cause":"NF_CONGESTION","retryAfter":2}  ProblemDetails
 *   {"protocol":"sbi","action":"delay","delayMs":500} / {"protocol":"sbi","action":"reset"}    RST_STREAM
 * and on any of them: "subscriber" (an IMSI, or an identity as the request names it; absent: every request),
 * "command" (Diameter: "UDR" or "SNR"; SBI: a path prefix such as "/nudm-uecm/"), "count" (times, default 1),
 * "durationMs" (for a while; without "count" it applies to every matching request until then). An SBI answer may
 * set "contentType" (default application/problem+json) to play a server that labels its errors wrongly.
 */
#ifndef MIHUA_FAULT_H
#define MIHUA_FAULT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAULT_MAX_RULES 64       /* a CI scenario sets a handful; bounds the scan each request pays */
#define FAULT_TEXT_MAX 128       /* subscriber, command, cause, content type */
#define FAULT_DELAY_MAX_MS 60000 /* above the longest client timeout worth testing (SIP Timer B is 32 s) */
#define FAULT_DURATION_MAX_MS (24LL * 3600 * 1000)

typedef enum { FAULT_PROTO_DIAMETER, FAULT_PROTO_SBI } fault_proto_t;

typedef enum {
    FAULT_ANSWER, /* Diameter: Result-Code / Experimental-Result; SBI: status + ProblemDetails */
    FAULT_DELAY,  /* the normal answer after delay_ms */
    FAULT_DROP,   /* Diameter: no answer */
    FAULT_CLOSE,  /* Diameter: close the peer's connection */
    FAULT_RESET,  /* SBI: reset the stream (RST_STREAM) */
} fault_action_t;

typedef struct {
    uint64_t id;
    fault_proto_t proto;
    fault_action_t action;
    char subscriber[FAULT_TEXT_MAX]; /* "": every request */
    char command[FAULT_TEXT_MAX];    /* "": every command / path */
    uint32_t result_code;            /* Diameter answer */
    bool experimental;               /* result_code goes in Experimental-Result (vendor 10415) */
    int status;                      /* SBI answer */
    char cause[FAULT_TEXT_MAX];
    char content_type[FAULT_TEXT_MAX];
    unsigned retry_after_s; /* 0: no Retry-After */
    unsigned delay_ms;
    long remaining;     /* -1: until expires_ms */
    int64_t expires_ms; /* CLOCK_REALTIME ms; 0: never */
    uint64_t hits;
} fault_t;

typedef struct fault_table fault_table_t;

fault_table_t *fault_table_new(void);
void fault_table_free(fault_table_t *t);
/* Validates and adds a rule from its JSON form; fills `out` with it. Returns 0, or -1 with a reason in err that
 * names the member at fault (for a 400 with invalidParams). */
int fault_table_add_json(fault_table_t *t, const json_t *body, fault_t *out, char *param, size_t param_len, char *err,
                         size_t err_len);
/* {"faults":[rule...]} with each rule's remaining count and hits; a new reference, NULL on ENOMEM. */
json_t *fault_table_list(fault_table_t *t);
json_t *fault_json(const fault_t *f);
bool fault_table_remove(fault_table_t *t, uint64_t id);
size_t fault_table_clear(fault_table_t *t);
/* The first live rule for `proto` matching one of `ids` (the request's identities, any may be NULL) and
 * `command`; copies it to `out` and counts it. False, quickly, when no rule is set. Thread-safe. */
bool fault_take(fault_table_t *t, fault_proto_t proto, const char *const *ids, size_t n_ids, const char *command,
                fault_t *out);
/* A short description for logs and the journal: "answer 5012", "delay 500ms", "drop", "reset". */
const char *fault_describe(const fault_t *f, char *buf, size_t size);

#endif
