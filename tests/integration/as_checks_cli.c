/*
 * as_checks_cli — the AS's encryption checks (as_gateway/as_checks, DESIGN §3) from the command line, against
 * real daemons: the integration test drives the very module mihua-as links.
 *
 *   as-checks-cli [--hss HOST:PORT] [--udm URL] [--subscription P] [--attachment P] [--timeout-ms N]
 *                 [--wait-hss-ms N] [--identity FQDN] [--log-level L] (CALLER CALLEE | --stdin)
 *
 * Starts as_checks (a freeDiameter node towards the HSS and/or an SBI client towards the UDM, per the policies),
 * waits up to --wait-hss-ms for the HSS peer to open (0: do not wait), prints "READY as-checks-cli hss=<state>",
 * then runs one check for CALLER CALLEE, or one per "CALLER CALLEE" line read from stdin (so a test can change
 * the world — stop the HSS, stall it — between checks of one connected AS). Each decision is one JSON line:
 *   {"caller","callee","allowed","reason","elapsedMs","subscription","attachment",
 *    "hss":{"callerSubscribed","calleeSubscribed","calleeAttached","rat","latencyMs"},"udm":{...}}
 * elapsedMs is as_checks_start() to the callback. The module's decision line goes to stderr (log).
 * Exit 0 when every check delivered a decision, 1 when one could not start, 2 on usage.
 */
#include <event2/event.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "as_checks.h"
#include "core/log.h"

#define CLI_NAME "as-checks-cli"
#define CLI_REALM "ims.test"
#define CLI_HSS_HOST "hss.ims.test"
#define CLI_WAIT_HSS_MS 10000
#define CLI_LINE_MAX 2048
#define CLI_NAME_MAX 256
#define CLI_REAL_DIGITS 6 /* milliseconds to the microsecond and beyond; enough for any latency */

enum { EXIT_USAGE = 2 };

typedef struct {
    as_checks_conf_t conf;
    char hss_addr[CLI_NAME_MAX];
    char identity[CLI_NAME_MAX];
    int wait_hss_ms;
    bool from_stdin;
    const char *caller, *callee;
} cli_opts_t;

typedef struct {
    struct event_base *base;
    const cli_opts_t *o;
    struct timespec t0;
    const char *caller, *callee;
    bool done;
} cli_run_t;

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: " CLI_NAME " [OPTIONS] (CALLER CALLEE | --stdin)\n"
            "Runs the AS encryption checks (DESIGN §3) against a real HSS and/or UDM; one JSON line per check.\n"
            "  --hss HOST:PORT        the HSS's Diameter endpoint (needed when a policy uses hss)\n"
            "  --hss-host FQDN        the HSS's Diameter identity; default " CLI_HSS_HOST "\n"
            "  --udm URL              the UDM's SBI root, e.g. http://127.0.0.1:7701 (needed for udm)\n"
            "  --subscription P       hss, udm, any, all; default hss\n"
            "  --attachment P         hss, udm, any, all; default hss\n"
            "  --timeout-ms N         lookup_timeout_ms; default %d\n"
            "  --wait-hss-ms N        wait for the HSS peer before READY; default %d, 0 = do not wait\n"
            "  --identity FQDN        our Origin-Host; default as-cli-<pid>." CLI_REALM "\n"
            "  --stdin                read \"CALLER CALLEE\" lines, one check each\n"
            "  --log-level LEVEL      error, warn, info, debug; default info\n",
            AS_LOOKUP_TIMEOUT_MS_DEFAULT, CLI_WAIT_HSS_MS);
}

static int parse_hss(const char *s, cli_opts_t *o)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof o->hss_addr)
        return -1;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535)
        return -1;
    memcpy(o->hss_addr, s, (size_t)(colon - s));
    o->hss_addr[colon - s] = '\0';
    o->conf.hss_addr = o->hss_addr;
    o->conf.hss_port = (int)port;
    return 0;
}

static int parse_opt(int opt, const char *arg, cli_opts_t *o)
{
    log_level_t level;
    char *end;
    switch (opt) {
    case 'H':
        return parse_hss(arg, o);
    case 'h':
        o->conf.hss_identity = arg;
        return 0;
    case 'u':
        o->conf.udm_url = arg;
        return 0;
    case 's':
        return as_policy_parse(arg, &o->conf.subscription_source);
    case 'a':
        return as_policy_parse(arg, &o->conf.attachment_source);
    case 't':
        o->conf.lookup_timeout_ms = (unsigned)strtoul(arg, &end, 10);
        return *end || !*arg ? -1 : 0;
    case 'w':
        o->wait_hss_ms = (int)strtol(arg, &end, 10);
        return *end || o->wait_hss_ms < 0 ? -1 : 0;
    case 'i':
        snprintf(o->identity, sizeof o->identity, "%s", arg);
        return 0;
    case 'S':
        o->from_stdin = true;
        return 0;
    case 'l':
        if (log_level_parse(arg, &level) != 0)
            return -1;
        log_set_level(level);
        return 0;
    }
    return -1;
}

static int parse_opts(int argc, char **argv, cli_opts_t *o)
{
    static const struct option opts[] = {
        {"hss", required_argument, NULL, 'H'},
        {"hss-host", required_argument, NULL, 'h'},
        {"udm", required_argument, NULL, 'u'},
        {"subscription", required_argument, NULL, 's'},
        {"attachment", required_argument, NULL, 'a'},
        {"timeout-ms", required_argument, NULL, 't'},
        {"wait-hss-ms", required_argument, NULL, 'w'},
        {"identity", required_argument, NULL, 'i'},
        {"stdin", no_argument, NULL, 'S'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, '?'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->conf.subscription_source = AS_POLICY_HSS;
    o->conf.attachment_source = AS_POLICY_HSS;
    o->conf.diameter_realm = CLI_REALM;
    o->conf.hss_identity = CLI_HSS_HOST;
    o->wait_hss_ms = CLI_WAIT_HSS_MS;
    snprintf(o->identity, sizeof o->identity, "as-cli-%ld.%s", (long)getpid(), CLI_REALM);
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == '?' || parse_opt(opt, optarg, o) != 0) {
            usage(stderr);
            return -1;
        }
    }
    o->conf.diameter_identity = o->identity;
    if (!o->from_stdin) {
        if (argc - optind != 2) {
            usage(stderr);
            return -1;
        }
        o->caller = argv[optind];
        o->callee = argv[optind + 1];
    }
    return 0;
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static json_t *source_json(const as_lookup_results_t *r, as_source_t s)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:f}", "callerSubscribed",
                     as_answer_name(r->answer[AS_Q_CALLER_SUBSCRIBED][s]), "calleeSubscribed",
                     as_answer_name(r->answer[AS_Q_CALLEE_SUBSCRIBED][s]), "calleeAttached",
                     as_answer_name(r->answer[AS_Q_CALLEE_ATTACHED][s]), "rat", r->callee_rat[s], "latencyMs",
                     r->latency_us[s] / 1e3);
}

static void on_decision(const as_decision_t *d, const as_lookup_results_t *r, void *ud)
{
    cli_run_t *run = ud;
    json_t *j = json_pack("{s:s, s:s, s:b, s:s, s:f, s:s, s:s, s:o, s:o}", "caller", run->caller, "callee", run->callee,
                          "allowed", d->allowed, "reason", d->reason, "elapsedMs", ms_since(&run->t0), "subscription",
                          as_policy_name(run->o->conf.subscription_source), "attachment",
                          as_policy_name(run->o->conf.attachment_source), "hss", source_json(r, AS_SRC_HSS), "udm",
                          source_json(r, AS_SRC_UDM));
    if (j) {
        json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(CLI_REAL_DIGITS));
        json_decref(j);
    }
    fputc('\n', stdout);
    fflush(stdout);
    run->done = true;
    event_base_loopbreak(run->base);
}

/* One check, the loop run until its callback. Returns 0, or -1 when it could not start. */
static int run_check(struct event_base *base, as_checks_t *checks, const cli_opts_t *o, const char *caller,
                     const char *callee)
{
    cli_run_t run = {.base = base, .o = o, .caller = caller, .callee = callee};
    clock_gettime(CLOCK_MONOTONIC, &run.t0);
    if (as_checks_start(checks, caller, callee, on_decision, &run) == 0) {
        fprintf(stderr, CLI_NAME ": the check for %s -> %s could not start\n", caller, callee);
        return -1;
    }
    while (!run.done)
        event_base_dispatch(base);
    return 0;
}

static int run_stdin(struct event_base *base, as_checks_t *checks, const cli_opts_t *o)
{
    char line[CLI_LINE_MAX];
    int rc = 0;
    while (fgets(line, sizeof line, stdin) != NULL) {
        char *save = NULL;
        char *caller = strtok_r(line, " \t\r\n", &save);
        char *callee = strtok_r(NULL, " \t\r\n", &save);
        if (caller == NULL)
            continue;
        if (callee == NULL) {
            fprintf(stderr, CLI_NAME ": expected \"CALLER CALLEE\"\n");
            rc = 1;
            continue;
        }
        if (run_check(base, checks, o, caller, callee) != 0)
            rc = 1;
    }
    return rc;
}

static const char *hss_state(as_checks_t *checks, const cli_opts_t *o)
{
    bool uses_hss = o->conf.subscription_source != AS_POLICY_UDM || o->conf.attachment_source != AS_POLICY_UDM;
    if (!uses_hss)
        return "none";
    if (o->wait_hss_ms > 0)
        (void)as_checks_wait_hss(checks, o->wait_hss_ms);
    return as_checks_hss_open(checks) ? "open" : "closed";
}

int main(int argc, char **argv)
{
    cli_opts_t o;
    char err[512] = "";

    signal(SIGPIPE, SIG_IGN);
    if (parse_opts(argc, argv, &o) != 0)
        return EXIT_USAGE;
    struct event_base *base = event_base_new();
    if (base == NULL)
        return 1;
    as_checks_t *checks = as_checks_new(base, &o.conf, NULL, err, sizeof err);
    if (checks == NULL) {
        fprintf(stderr, CLI_NAME ": %s\n", err);
        event_base_free(base);
        return EXIT_USAGE;
    }
    printf("READY " CLI_NAME " hss=%s\n", hss_state(checks, &o));
    fflush(stdout);
    int rc = o.from_stdin ? run_stdin(base, checks, &o) : (run_check(base, checks, &o, o.caller, o.callee) ? 1 : 0);
    as_checks_free(checks);
    event_base_free(base);
    return rc;
}
