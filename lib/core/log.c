/*
 * log — one line per event on stderr (see log.h for the format).
 *
 * Design: the whole line (timestamp, level, module, message, newline) is formatted into one stack buffer and handed
 * to a single write(2). POSIX does not promise atomicity for regular files or terminals beyond PIPE_BUF on pipes, but
 * one write per line is what keeps lines from several threads whole in practice; stdio's buffering would not.
 *
 * Trade-off: a line longer than LOG_LINE_MAX is truncated and ends in "..." rather than split over two writes, so
 * a reader never sees half an event glued to another. Newlines and carriage returns inside the message become
 * spaces for the same reason (and so peer-controlled text cannot forge a log line).
 *
 * The threshold is the one global of the code base (log.h explains why); it is an atomic int so that a SIGHUP
 * handler or another thread may change it while freeDiameter's threads log.
 */
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048 /* longest line written; longer ones are truncated with LOG_ELLIPSIS */
#define LOG_TIME_MAX 32   /* "2026-11-25T18:31:36.123Z" plus slack */
#define LOG_ELLIPSIS "..."
#define LOG_ELLIPSIS_LEN (sizeof(LOG_ELLIPSIS) - 1)

static atomic_int log_level = LOG_LVL_INFO;

static const char *const log_level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
#define LOG_N_LEVELS (sizeof(log_level_names) / sizeof(log_level_names[0]))

void log_set_level(log_level_t level)
{
    if (level < LOG_LVL_ERROR || level > LOG_LVL_DEBUG)
        return;
    atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
}

log_level_t log_get_level(void)
{
    return (log_level_t)atomic_load_explicit(&log_level, memory_order_relaxed);
}

int log_level_parse(const char *name, log_level_t *out)
{
    if (name == NULL || out == NULL)
        return -1;
    for (size_t i = 0; i < LOG_N_LEVELS; i++) {
        if (strcasecmp(name, log_level_names[i]) == 0) {
            *out = (log_level_t)i;
            return 0;
        }
    }
    return -1;
}

/* "2026-11-25T18:31:36.123Z" (UTC, milliseconds). */
static void log_format_time(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

/* Replaces line breaks in [s, s+len) so the event stays on one line. */
static void log_flatten(char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n' || s[i] == '\r')
            s[i] = ' ';
    }
}

static void log_emit(const char *buf, size_t len)
{
    ssize_t rc;

    do {
        rc = write(STDERR_FILENO, buf, len);
    } while (rc < 0 && errno == EINTR);
}

void log_write(log_level_t level, const char *module, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    char when[LOG_TIME_MAX];
    int saved_errno = errno; /* callers often log right before reporting errno themselves */

    if (level < LOG_LVL_ERROR || level > LOG_LVL_DEBUG || level > log_get_level())
        return;
    log_format_time(when, sizeof(when));

    /* Room for the newline is kept out of the formatting budget. */
    const size_t budget = sizeof(line) - 1;
    int head = snprintf(line, budget, "%s %s %s: ", when, log_level_names[level], module ? module : "-");
    if (head < 0)
        head = 0;
    size_t used = (size_t)head < budget ? (size_t)head : budget - 1;

    va_list ap;
    va_start(ap, fmt);
    int body = vsnprintf(line + used, budget - used, fmt, ap);
    va_end(ap);
    if (body < 0)
        body = 0;

    size_t total = used + (size_t)body;
    if (total >= budget || (size_t)head >= budget) {
        total = budget - 1; /* vsnprintf wrote budget-1 characters and a NUL */
        memcpy(line + total - LOG_ELLIPSIS_LEN, LOG_ELLIPSIS, LOG_ELLIPSIS_LEN);
    }
    log_flatten(line + used, total - used);
    line[total++] = '\n';
    log_emit(line, total);
    errno = saved_errno;
}
