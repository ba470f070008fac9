/*
 * sbi_auth — bearer-token gate, failure block and audit lines of an operator listener (see sbi_auth.h).
 *
 * The per-address failure table lives on the heap with the gate (about 64 KiB: RATELIMIT_KEYS_MAX slots); a
 * check is a linear scan of it, which an admin listener's traffic never notices. The address is the peer text
 * without its port, so every connection of one client shares its failures.
 */
#include "sbi/sbi_auth.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/ratelimit.h"
#include "sbi/sbi_bearer.h"

#define CHALLENGE "Bearer realm=\"" SBI_AUTH_REALM "\""
#define CHALLENGE_INVALID CHALLENGE ", error=\"invalid_token\""
#define METRIC "mihua_admin_auth_failures_total"
#define METRIC_HELP "requests refused by an operator listener's bearer-token check"
#define LABELS_MAX 96

typedef enum { FAIL_MISSING, FAIL_INVALID, FAIL_BLOCKED, FAIL_KINDS } fail_kind_t;

static const char *const fail_reason[FAIL_KINDS] = {"missing", "invalid", "blocked"}; /* metric label */
static const char *const fail_text[FAIL_KINDS] = {"no token", "wrong token", "address blocked after wrong tokens"};

struct sbi_auth {
    bool on; /* a token is in force */
    sbi_bearer_t bearer;
    const char *listener;
    char *only_path; /* NULL: every request */
    char *exempt;    /* path prefix the gate does not apply to; NULL: none */
    ratelimit_keys_t *fails;
    ratelimit_t log_rl; /* refusal lines: one per interval */
    metric_t *metric[FAIL_KINDS];
};

/* ------------------------------------------------------------------------------------------------ policy */

bool sbi_host_is_loopback(const char *host)
{
    struct in_addr v4;
    struct in6_addr v6;

    if (strcasecmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &v6) != 1)
        return false;
    if (IN6_IS_ADDR_LOOPBACK(&v6))
        return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

int sbi_auth_conf_finish(sbi_auth_conf_t *a, const char *program, const char *setting, const char *host)
{
    char err[SBI_BEARER_ERR_MAX];

    if (a->max_failures == 0)
        a->max_failures = SBI_AUTH_FAILURES_DEFAULT;
    if (a->window_s == 0)
        a->window_s = SBI_AUTH_WINDOW_S_DEFAULT;
    if (sbi_bearer_load("admin_token", a->token, a->token_file, program, &a->loaded, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", program, err);
        return -1;
    }
    if (a->loaded != NULL)
        return 0;
    if (!sbi_host_is_loopback(host)) {
        fprintf(stderr,
                "%s: %s %s is not a loopback address and no admin token is set (admin_token, "
                "admin_token_file or --admin-token-file): refusing to serve it unauthenticated\n",
                program, setting, host);
        return -1;
    }
    log_warn(program,
             "no admin token: anyone on this machine may use %s %s (admin_auth=off); set "
             "admin_token_file for anything but a lab",
             setting, host);
    return 0;
}

void sbi_auth_conf_free(sbi_auth_conf_t *a)
{
    sbi_bearer_wipe(a->token);
    sbi_bearer_wipe(a->loaded);
    free(a->token_file);
    a->token = a->loaded = a->token_file = NULL;
}

const char *sbi_auth_ready(const sbi_auth_conf_t *a)
{
    return a->loaded != NULL ? "" : " admin_auth=off";
}

/* ------------------------------------------------------------------------------------------------ refusals */

/* The client address without its port: the key of the failure table. */
static void client_address(const char *peer, char *out, size_t size)
{
    const char *colon = strrchr(peer, ':');
    size_t n = colon != NULL ? (size_t)(colon - peer) : strlen(peer);

    if (n > 1 && peer[0] == '[' && peer[n - 1] == ']') {
        peer++;
        n -= 2;
    }
    snprintf(out, size, "%.*s", (int)n, peer);
}

/* One line per refusal at most every RATELIMIT_INTERVAL_S, the others counted into the next. */
static void log_refusal(sbi_auth_t *a, const sbi_request_t *req, fail_kind_t kind)
{
    uint64_t suppressed = 0;

    if (!ratelimit_allow(&a->log_rl, RATELIMIT_INTERVAL_S, &suppressed))
        return;
    log_info(a->listener, "refused %s %s from %s: %s (%llu other refusals since the last line)",
             sbi_request_method(req), sbi_request_path(req), sbi_request_peer(req), fail_text[kind],
             (unsigned long long)suppressed);
}

static void refuse(sbi_auth_t *a, sbi_request_t *req, fail_kind_t kind, unsigned retry_after)
{
    char seconds[16];
    sbi_header_t h;
    sbi_problem_t p = {.status = 401};

    metric_inc(a->metric[kind]);
    log_refusal(a, req, kind);
    if (kind == FAIL_BLOCKED) {
        snprintf(seconds, sizeof seconds, "%u", retry_after);
        h = (sbi_header_t){"retry-after", seconds};
        p = (sbi_problem_t){.status = 429, .detail = "too many wrong tokens from this address; retry later"};
    } else if (kind == FAIL_INVALID) {
        h = (sbi_header_t){"www-authenticate", CHALLENGE_INVALID};
        p.detail = "the bearer token is not valid";
    } else {
        h = (sbi_header_t){"www-authenticate", CHALLENGE};
        p.detail = "this API needs an Authorization: Bearer token";
    }
    sbi_respond_problem_ex(req, &p, &h, 1);
}

static void gate_admit(sbi_request_t *req, void *ud)
{
    sbi_auth_t *a = ud;
    char addr[RATELIMIT_KEY_MAX];
    int64_t now = ratelimit_now();

    if (!a->on || (a->only_path != NULL && strcmp(sbi_request_path(req), a->only_path) != 0) ||
        (a->exempt != NULL && strncmp(sbi_request_path(req), a->exempt, strlen(a->exempt)) == 0))
        return;
    client_address(sbi_request_peer(req), addr, sizeof addr);
    unsigned wait = ratelimit_keys_blocked(a->fails, addr, now);
    if (wait > 0) {
        refuse(a, req, FAIL_BLOCKED, wait);
        return;
    }
    switch (sbi_bearer_verify(&a->bearer, sbi_request_header(req, "authorization"))) {
    case SBI_BEARER_OK:
        return;
    case SBI_BEARER_MISSING:
        refuse(a, req, FAIL_MISSING, 0);
        return;
    case SBI_BEARER_INVALID:
        if (ratelimit_keys_hit(a->fails, addr, now))
            log_warn(a->listener,
                     "%s sent %u wrong tokens within %u s: its requests are refused (429) until "
                     "then",
                     addr, a->fails->max_events, a->fails->window_s);
        refuse(a, req, FAIL_INVALID, 0);
        return;
    }
}

/* ------------------------------------------------------------------------------------------------ audit */

static void gate_answered(const sbi_request_t *req, int status, void *ud)
{
    sbi_auth_t *a = ud;
    const char *method = sbi_request_method(req);
    const char *path = sbi_request_path(req);
    const char *query = sbi_request_query(req);

    if (a->only_path != NULL || method == NULL || strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        return;
    if (a->on && (status == 401 || status == 429))
        return; /* the gate's own refusals: logged by log_refusal, at a bounded rate */
    log_info(a->listener, "change %s %s%s%s from %s: %d", method, path ? path : "-", query ? "?" : "",
             query ? query : "", sbi_request_peer(req), status);
}

/* ------------------------------------------------------------------------------------------------ lifecycle */

sbi_auth_t *sbi_auth_attach(sbi_server_t *srv, const sbi_auth_conf_t *conf, metrics_t *metrics, const char *listener,
                            const char *only_path)
{
    sbi_auth_t *a = calloc(1, sizeof *a);

    if (a == NULL || (a->fails = malloc(sizeof *a->fails)) == NULL ||
        (only_path != NULL && (a->only_path = strdup(only_path)) == NULL)) {
        sbi_auth_free(a);
        return NULL;
    }
    a->on = conf->loaded != NULL;
    if (a->on)
        sbi_bearer_init(&a->bearer, conf->loaded);
    a->listener = listener;
    ratelimit_keys_init(a->fails, (unsigned)conf->max_failures, (unsigned)conf->window_s);
    for (int k = 0; metrics != NULL && k < FAIL_KINDS; k++) {
        char labels[LABELS_MAX];
        snprintf(labels, sizeof labels, "listener=\"%s\",reason=\"%s\"", listener, fail_reason[k]);
        a->metric[k] = metrics_counter(metrics, METRIC, labels, METRIC_HELP);
    }
    sbi_gate_t gate = {.admit = gate_admit, .answered = gate_answered, .ud = a};
    sbi_server_set_gate(srv, &gate);
    return a;
}

void sbi_auth_free(sbi_auth_t *a)
{
    if (a == NULL)
        return;
    free(a->fails);
    free(a->only_path);
    free(a->exempt);
    free(a);
}

int sbi_auth_exempt(sbi_auth_t *a, const char *prefix)
{
    if (a == NULL || prefix == NULL || *prefix == '\0')
        return -1;
    free(a->exempt);
    return (a->exempt = strdup(prefix)) != NULL ? 0 : -1;
}
