/*
 * log — one line per event on stderr.
 *
 * Format: "2026-11-25T18:31:36.123Z LEVEL module: message\n", written with a single write(2) so that lines from
 * several threads (freeDiameter's and ours) never interleave. The level is process state kept inside log.c: the
 * one exception to "no globals outside main.c", because every module logs and threading a logger handle through
 * freeDiameter callbacks would buy nothing. Key material never goes through here (DESIGN §4).
 */
#ifndef MIHUA_LOG_H
#define MIHUA_LOG_H

typedef enum {
    LOG_LVL_ERROR = 0,
    LOG_LVL_WARN = 1,
    LOG_LVL_INFO = 2,
    LOG_LVL_DEBUG = 3,
} log_level_t;

/* Sets the threshold; messages above it are dropped. Default LOG_LVL_INFO. */
void log_set_level(log_level_t level);
log_level_t log_get_level(void);

/* Parses "error", "warn", "info", "debug" (case-insensitive). Returns 0, or -1 for anything else. */
int log_level_parse(const char *name, log_level_t *out);

/* Writes one line; newlines inside the formatted message are replaced by spaces so a line stays one event. */
void log_write(log_level_t level, const char *module, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_error(mod, ...) log_write(LOG_LVL_ERROR, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_write(LOG_LVL_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...) log_write(LOG_LVL_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...)                             \
    do {                                                \
        if (log_get_level() >= LOG_LVL_DEBUG)           \
            log_write(LOG_LVL_DEBUG, mod, __VA_ARGS__); \
    } while (0)

#endif
