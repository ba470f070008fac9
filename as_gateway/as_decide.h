/*
 * as_decide — the AS's encrypted-or-plain decision for a call (DESIGN §3): what it is given (one answer per
 * question and source, and the two policies), what it returns (allowed, and the reason), and the function.
 * Pure: no I/O, no state, so tests call it with any combination of lookup results.
 */
#ifndef MIHUA_AS_DECIDE_H
#define MIHUA_AS_DECIDE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    AS_POLICY_HSS = 0, /* only the HSS's answer counts */
    AS_POLICY_UDM,     /* only the UDM's answer counts */
    AS_POLICY_ANY,     /* yes when either source says yes */
    AS_POLICY_ALL,     /* yes when both sources say yes */
} as_policy_t;

/* One source's answer to one question. */
typedef enum {
    AS_ANS_NOT_ASKED = 0, /* the policy does not use this source */
    AS_ANS_YES,
    AS_ANS_NO,      /* the source answered: not subscribed / not attached on 4G/5G / no IMS VoPS */
    AS_ANS_UNKNOWN, /* user unknown to this source */
    AS_ANS_ERROR,   /* error answer, transport failure, unparseable answer */
    AS_ANS_TIMEOUT, /* no answer within lookup_timeout_ms */
} as_answer_t;

typedef enum { AS_Q_CALLER_SUBSCRIBED = 0, AS_Q_CALLEE_SUBSCRIBED, AS_Q_CALLEE_ATTACHED, AS_Q_COUNT } as_question_t;
typedef enum { AS_SRC_HSS = 0, AS_SRC_UDM, AS_SRC_COUNT } as_source_t;

#define AS_DIAM_ID_MAX 256 /* a DiameterIdentity (255 octets, RFC 6733 §4.3.1) and its NUL */

/* A Diameter error answer (RFC 6733 §7.1: 3xxx protocol errors from any node on the path, 5xxx permanent
 * failures) or an Experimental-Result (TS 29.329 §6.2), with the Origin-Host of the node that answered. */
typedef struct {
    uint32_t code;     /* 0: none */
    bool experimental; /* Experimental-Result-Code (vendor 10415) rather than Result-Code */
    char origin_host[AS_DIAM_ID_MAX];
} as_diam_error_t;

typedef struct {
    as_answer_t answer[AS_Q_COUNT][AS_SRC_COUNT];
    as_diam_error_t hss_error;         /* the first error answer of this check's UDRs; code 0 when none */
    uint32_t latency_us[AS_SRC_COUNT]; /* wall time of each source's lookups (0 when not asked) */
    char callee_rat[AS_SRC_COUNT][16]; /* "NR", "EUTRAN", "UTRAN", ... as reported, "" when unknown */
} as_lookup_results_t;

typedef struct {
    bool allowed;
    const char *reason; /* "ok", or the first failing condition: "caller not subscribed", "callee not
                           subscribed", "callee not attached on 4G/5G", "lookup timeout", "lookup error",
                           "user unknown" — static strings, for logs, metrics labels and call records */
} as_decision_t;

/* The reasons as_decide_encryption() gives (static strings; compare by strcmp or by pointer). */
#define AS_REASON_OK "ok"
#define AS_REASON_CALLER_NOT_SUBSCRIBED "caller not subscribed"
#define AS_REASON_CALLEE_NOT_SUBSCRIBED "callee not subscribed"
#define AS_REASON_CALLEE_NOT_ATTACHED "callee not attached on 4G/5G"
#define AS_REASON_TIMEOUT "lookup timeout"
#define AS_REASON_ERROR "lookup error"
#define AS_REASON_USER_UNKNOWN "user unknown"

/* The decision of DESIGN §3 from the results and the two policies. Pure.
 * Per question the sources the policy names are combined (hss/udm: that source's answer; any: yes when either
 * says yes; all: yes only when both do); encryption is allowed iff all three questions are yes. Otherwise the
 * reason names the first failing question in the order caller subscribed, callee subscribed, callee attached:
 * its semantic reason when a source the policy uses answered NO; else, among those sources' failures,
 * "user unknown" before "lookup timeout" before "lookup error" (NOT_ASKED where the policy needs an answer, or a
 * policy value out of range, counts as "lookup error"). */
as_decision_t as_decide_encryption(const as_lookup_results_t *r, as_policy_t subscription, as_policy_t attachment);

#endif
