/*
 * sbi_auth — bearer-token authentication (RFC 6750) of an operator listener: the admin APIs of mihua-hss and
 * mihua-udm, the AS's SBI port (call records for the KMS, metrics), the KMS's GET /metrics.
 *
 * It is the server's gate (sbi_server_set_gate): it runs before routing, so every route of the listener is
 * covered, including routes other modules add later, and before the body is read, so a client without the token
 * cannot make the server buffer a 64 MiB import. Refusals, each an application/problem+json ProblemDetails:
 *   401  WWW-Authenticate: Bearer realm="mihua"                          no token (or another scheme, §3.1)
 *   401  WWW-Authenticate: Bearer realm="mihua", error="invalid_token"   a wrong token
 *   429  Retry-After: S   this client address sent max_failures wrong tokens within window_s: every request from
 *                         it is refused, unchecked, until that window closes (lib/core/ratelimit.h)
 * Only wrong tokens count towards the block: asking again without one teaches nothing. Every refusal is counted in
 * mihua_admin_auth_failures_total{listener, reason="missing"|"invalid"|"blocked"} and logged at most once per
 * RATELIMIT_INTERVAL_S per listener (with the count of the others), so a flood cannot fill the log; an address
 * that gets blocked is logged once, at WARN. Trade-off: clients behind one address (a NAT, or everything on
 * loopback) share its failures, so a guesser there locks the others out for the window.
 *
 * Audit: every request that may change something (any method but GET and HEAD) and got past the gate is logged
 * once answered, with method, target, client address:port and status, never its body or headers.
 *
 * Start-up policy (sbi_auth_conf_finish): the token comes from admin_token or admin_token_file
 * (--admin-token-file), the file read once. Without a token the listener must be on a loopback address (lab
 * default: a WARN line, and ` admin_auth=off` in the READY line); anywhere else the daemon refuses to start.
 */
#ifndef MIHUA_SBI_AUTH_H
#define MIHUA_SBI_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/metrics.h"
#include "sbi/sbi_server.h"

#define SBI_AUTH_REALM "mihua"
#define SBI_AUTH_FAILURES_DEFAULT 10 /* wrong tokens per address and window: a person mistyping gets several */
#define SBI_AUTH_WINDOW_S_DEFAULT 60 /* a blocked address waits at most this long */
#define SBI_AUTH_WINDOW_S_MAX 86400

typedef struct {
    char *token;       /* admin_token (config file only: a command line is visible to every local user) */
    char *token_file;  /* admin_token_file, --admin-token-file */
    long max_failures; /* admin_auth.max_failures; 0: SBI_AUTH_FAILURES_DEFAULT */
    long window_s;     /* admin_auth.window_s; 0: SBI_AUTH_WINDOW_S_DEFAULT */
    char *loaded;      /* the token in force once sbi_auth_conf_finish succeeded; NULL: authentication off */
} sbi_auth_conf_t;

/* The config file fields and the command-line option for sbi_auth_conf_t (lib/core/cli.h); `a` is a
 * sbi_auth_conf_t *, `what` says what the token guards ("on the admin API"). */
#define SBI_AUTH_FIELDS(a)                                                                                            \
    {.name = "admin_token", .type = CFG_STRING, .dst = &(a)->token},                                                  \
        {.name = "admin_token_file", .type = CFG_STRING, .dst = &(a)->token_file},                                    \
        {.name = "admin_auth.max_failures", .type = CFG_INT, .dst = &(a)->max_failures, .min = 1, .max = 1000000},    \
    {                                                                                                                 \
        .name = "admin_auth.window_s", .type = CFG_INT, .dst = &(a)->window_s, .min = 1, .max = SBI_AUTH_WINDOW_S_MAX \
    }
#define SBI_AUTH_OPTION(what)                                                                                   \
    {                                                                                                           \
        "admin-token-file", "admin_token_file", "FILE",                                                         \
            "bearer token (RFC 6750) required " what ", read at start (one line; chmod 600); without one (nor " \
            "admin_token) the listener must be loopback"                                                        \
    }

/* The --help lines on the settings that have no command-line form. */
#define SBI_AUTH_HELP                                                                                          \
    "Config file only: admin_token (instead of admin_token_file); admin_auth.max_failures (10) wrong tokens\n" \
    "from one address within admin_auth.window_s (60) get 429 for every request until that window ends.\n"

/* Loads the token (file read now), fills the defaults and applies the start-up policy to the listener at `host`
 * (named `setting` in messages, e.g. "admin_listen"). Returns 0, or -1 with the reason on stderr prefixed by
 * `program` (exit 2). Logs the permission and loopback-without-token warnings. */
int sbi_auth_conf_finish(sbi_auth_conf_t *a, const char *program, const char *setting, const char *host);
/* Wipes the token and frees the strings. */
void sbi_auth_conf_free(sbi_auth_conf_t *a);
/* For the READY line: "" when a token is in force, " admin_auth=off" otherwise. */
const char *sbi_auth_ready(const sbi_auth_conf_t *a);

/* True for 127.0.0.0/8, ::1, ::ffff:127.x.y.z and "localhost". */
bool sbi_host_is_loopback(const char *host);

typedef struct sbi_auth sbi_auth_t;

/* Installs the gate on `srv` for every request, or only for requests to `only_path` when not NULL (a single
 * operator route on a listener that serves others, the KMS's /metrics; then no audit lines). Without a token
 * (conf->loaded NULL) it admits everything but still writes the audit lines. `listener` labels the metric and
 * log lines and must outlive the gate; `metrics` may be NULL. Free the server before the gate. */
sbi_auth_t *sbi_auth_attach(sbi_server_t *srv, const sbi_auth_conf_t *conf, metrics_t *metrics, const char *listener,
                            const char *only_path);
/* Requests whose path starts with `prefix` pass the gate untouched: a route that authenticates its caller itself
 * (a notification callback whose URL carries a secret). One prefix; returns 0 or -1. */
int sbi_auth_exempt(sbi_auth_t *a, const char *prefix);
void sbi_auth_free(sbi_auth_t *a);

#endif
