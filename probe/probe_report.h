/*
 * probe_report — the results of a conformance run and their three renderings: text for a person, TAP 13 for
 * prove-style harnesses, JUnit XML for Jenkins and GitLab (testsuites > testsuite > testcase, with the tests,
 * failures, errors, skipped and time attributes those tools read). A failure is a wrong answer; an error is no
 * answer at all (connection refused, timeout), so a CI page tells "the server is wrong" from "the server is down".
 */
#ifndef MIHUA_PROBE_REPORT_H
#define MIHUA_PROBE_REPORT_H

#include <stddef.h>
#include <stdio.h>

#define REPORT_MAX_CASES 64
#define REPORT_NAME_MAX 96
#define REPORT_MSG_MAX 512

typedef enum { CASE_PASS, CASE_FAIL, CASE_ERROR, CASE_SKIP } case_status_t;

typedef struct {
    char suite[32]; /* "sh", "sbi", "http2": one JUnit testsuite each */
    char name[REPORT_NAME_MAX];
    case_status_t status;
    char message[REPORT_MSG_MAX]; /* why it failed, errored or was skipped; empty on pass */
    double seconds;
} report_case_t;

typedef struct {
    report_case_t cases[REPORT_MAX_CASES];
    size_t n;
    char timestamp[32]; /* start of the run, ISO 8601 UTC */
} report_t;

void report_init(report_t *r);
/* Adds a case; `fmt` (printf) is the message, may be NULL for a pass. Returns the case. */
report_case_t *report_add(report_t *r, const char *suite, const char *name, case_status_t st, double seconds,
                          const char *fmt, ...) __attribute__((format(printf, 6, 7)));
size_t report_count(const report_t *r, const char *suite, case_status_t st); /* suite NULL: all */
void report_text(const report_t *r, FILE *out);
void report_tap(const report_t *r, FILE *out);
/* Writes JUnit XML to `path`. Returns 0 or -1. */
int report_junit(const report_t *r, const char *path);

#endif
