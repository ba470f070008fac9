/*
 * probe_report — renderings of a conformance run (see probe_report.h). JUnit XML follows the schema Jenkins'
 * JUnit plugin and GitLab's report parser accept (the Ant junit layout): one testsuite per interface, the counts
 * on testsuites and on each testsuite, <failure>/<error>/<skipped> with a message attribute. Text in attributes
 * and bodies is escaped; control characters are replaced, XML 1.0 cannot carry them.
 */
#include "probe_report.h"

#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

static const char *const status_word[] = {"PASS", "FAIL", "ERROR", "SKIP"};

void report_init(report_t *r)
{
    time_t now = time(NULL);
    struct tm tm;

    memset(r, 0, sizeof *r);
    gmtime_r(&now, &tm);
    strftime(r->timestamp, sizeof r->timestamp, "%Y-%m-%dT%H:%M:%S", &tm);
}

report_case_t *report_add(report_t *r, const char *suite, const char *name, case_status_t st, double seconds,
                          const char *fmt, ...)
{
    report_case_t *c;
    va_list ap;

    if (r->n == REPORT_MAX_CASES)
        return &r->cases[REPORT_MAX_CASES - 1];
    c = &r->cases[r->n++];
    snprintf(c->suite, sizeof c->suite, "%s", suite);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->status = st;
    c->seconds = seconds;
    if (fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(c->message, sizeof c->message, fmt, ap);
        va_end(ap);
    }
    return c;
}

size_t report_count(const report_t *r, const char *suite, case_status_t st)
{
    size_t n = 0;

    for (size_t i = 0; i < r->n; i++)
        if ((suite == NULL || strcmp(r->cases[i].suite, suite) == 0) && r->cases[i].status == st)
            n++;
    return n;
}

void report_text(const report_t *r, FILE *out)
{
    for (size_t i = 0; i < r->n; i++) {
        const report_case_t *c = &r->cases[i];
        fprintf(out, "%-5s %s.%s (%.1f ms)%s%s\n", status_word[c->status], c->suite, c->name, c->seconds * 1e3,
                c->message[0] ? ": " : "", c->message);
    }
    fprintf(out, "%zu cases: %zu passed, %zu failed, %zu errors, %zu skipped\n", r->n, report_count(r, NULL, CASE_PASS),
            report_count(r, NULL, CASE_FAIL), report_count(r, NULL, CASE_ERROR), report_count(r, NULL, CASE_SKIP));
}

void report_tap(const report_t *r, FILE *out)
{
    fprintf(out, "TAP version 13\n1..%zu\n", r->n);
    for (size_t i = 0; i < r->n; i++) {
        const report_case_t *c = &r->cases[i];
        fprintf(out, "%s %zu - %s.%s", c->status == CASE_PASS || c->status == CASE_SKIP ? "ok" : "not ok", i + 1,
                c->suite, c->name);
        if (c->status == CASE_SKIP)
            fprintf(out, " # SKIP %s", c->message);
        fputc('\n', out);
        if (c->status == CASE_FAIL || c->status == CASE_ERROR)
            fprintf(out, "  ---\n  message: \"%s\"\n  severity: %s\n  ...\n", c->message,
                    c->status == CASE_FAIL ? "fail" : "error");
    }
}

static void xml_text(FILE *out, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '&':
            fputs("&amp;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&apos;", out);
            break;
        default:
            fputc((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' ? '?' : *s, out);
        }
    }
}

static double suite_seconds(const report_t *r, const char *suite)
{
    double t = 0;

    for (size_t i = 0; i < r->n; i++)
        if (suite == NULL || strcmp(r->cases[i].suite, suite) == 0)
            t += r->cases[i].seconds;
    return t;
}

static void junit_counts(FILE *out, const report_t *r, const char *suite)
{
    size_t total = 0;

    for (size_t i = 0; i < r->n; i++)
        total += suite == NULL || strcmp(r->cases[i].suite, suite) == 0;
    fprintf(out, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\"", total,
            report_count(r, suite, CASE_FAIL), report_count(r, suite, CASE_ERROR), report_count(r, suite, CASE_SKIP),
            suite_seconds(r, suite));
}

static void junit_case(FILE *out, const report_case_t *c)
{
    static const char *const tag[] = {NULL, "failure", "error", "skipped"};

    fprintf(out, "    <testcase classname=\"mihua.%s\" name=\"", c->suite);
    xml_text(out, c->name);
    fprintf(out, "\" time=\"%.3f\"", c->seconds);
    if (c->status == CASE_PASS) {
        fputs("/>\n", out);
        return;
    }
    fprintf(out, ">\n      <%s message=\"", tag[c->status]);
    xml_text(out, c->message);
    fputs("\"/>\n    </testcase>\n", out);
}

int report_junit(const report_t *r, const char *path)
{
    FILE *out = fopen(path, "w");
    const char *done[REPORT_MAX_CASES];
    size_t n_done = 0;

    if (out == NULL)
        return -1;
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"mihua-probe suite\"", out);
    junit_counts(out, r, NULL);
    fputs(">\n", out);
    for (size_t i = 0; i < r->n; i++) {
        const char *suite = r->cases[i].suite;
        bool seen = false;
        for (size_t k = 0; k < n_done && !seen; k++)
            seen = strcmp(done[k], suite) == 0;
        if (seen)
            continue;
        done[n_done++] = suite;
        fprintf(out, "  <testsuite name=\"mihua.%s\" timestamp=\"%s\" hostname=\"localhost\"", suite, r->timestamp);
        junit_counts(out, r, suite);
        fputs(">\n", out);
        for (size_t k = i; k < r->n; k++)
            if (strcmp(r->cases[k].suite, suite) == 0)
                junit_case(out, &r->cases[k]);
        fputs("  </testsuite>\n", out);
    }
    fputs("</testsuites>\n", out);
    return fclose(out) == 0 ? 0 : -1;
}
