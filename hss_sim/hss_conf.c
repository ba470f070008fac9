/*
 * hss_conf — mihua-hss settings. Defaults < JSON config (-c) < command line. See hss_conf.h.
 *
 * String settings start NULL, the file fills what it names, the command line overrides, and only then are the
 * remaining NULLs set to their defaults. That way every string is heap-owned and freed the same way, whichever
 * source it came from.
 */
#include "hss_conf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

#define HSS_DEFAULT_IDENTITY "hss.ims.test"
#define HSS_DEFAULT_REALM "ims.test"
#define HSS_DEFAULT_PORT 3868
#define HSS_DEFAULT_ADMIN_LISTEN "127.0.0.1:7704"
#define HSS_DEFAULT_SUBSCRIBERS "conf/subscribers.json"
#define HSS_DEFAULT_SERVICE_INDICATION "mihua-voice-encryption"
/* freeDiameter's defaults (30 s) make a restarted peer wait half a minute; a simulator wants quick recovery. */
#define HSS_DEFAULT_TC_TIMER 6
#define HSS_DEFAULT_TW_TIMER 30

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: mihua-hss [OPTIONS]\n"
            "Diameter Sh HSS simulator (TS 29.328/29.329) answering UDR from a subscriber file.\n"
            "\n"
            "  -c, --config FILE        JSON config (keys: identity, realm, port, admin_listen, tc_timer,\n"
            "                           tw_timer, subscribers, service_indication, log_level, fd_debug)\n"
            "      --subscribers FILE   subscriber data (DESIGN §5); default %s\n"
            "      --port N             Diameter listen port; default %d\n"
            "      --admin-listen ADDR:PORT  admin API (h2c) address; port 0 picks a free port; default %s\n"
            "      --identity FQDN      Origin-Host; default %s\n"
            "      --realm REALM        Origin-Realm; peers *.REALM may connect without TLS; default %s\n"
            "      --log-level LEVEL    error, warn, info or debug; default info\n"
            "  -h, --help               this text\n"
            "  -V, --version            program version\n"
            "\n"
            "Admin API: GET/PUT/PATCH/DELETE /admin/v1/subscribers/{imsi}, GET /admin/v1/subscribers,\n"
            "POST /admin/v1/reload, GET /metrics (Prometheus text).\n"
            "\n"
            "Prints 'READY mihua-hss diameter=ID@ADDR:PORT admin=URL realm=REALM' once listening. SIGHUP\n"
            "reloads the subscriber file\n"
            "(a bad file keeps the old data); SIGTERM stops. Exit codes: 0 ok, 1 runtime failure, 2 bad usage\n"
            "or config.\n",
            HSS_DEFAULT_SUBSCRIBERS, HSS_DEFAULT_PORT, HSS_DEFAULT_ADMIN_LISTEN, HSS_DEFAULT_IDENTITY, HSS_DEFAULT_REALM);
}

static int load_file(hss_conf_t *c)
{
    static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
    const cfg_field_t fields[] = {
        {.name = "identity", .type = CFG_STRING, .dst = &c->identity},
        {.name = "realm", .type = CFG_STRING, .dst = &c->realm},
        {.name = "port", .type = CFG_INT, .dst = &c->port, .min = 1, .max = 65535},
        {.name = "admin_listen", .type = CFG_STRING, .dst = &c->admin_listen},
        {.name = "tc_timer", .type = CFG_INT, .dst = &c->tc_timer, .min = 1, .max = 3600},
        {.name = "tw_timer", .type = CFG_INT, .dst = &c->tw_timer, .min = 6, .max = 3600},
        {.name = "subscribers", .type = CFG_STRING, .dst = &c->subscribers_path},
        {.name = "service_indication", .type = CFG_STRING, .dst = &c->service_indication},
        {.name = "log_level", .type = CFG_STRING, .dst = &c->log_level_name, .choices = levels},
        {.name = "fd_debug", .type = CFG_BOOL, .dst = &c->fd_debug},
    };
    cfg_error_t err;

    if (cfg_load(c->config_path, fields, sizeof fields / sizeof fields[0], &err) != 0) {
        fprintf(stderr, "mihua-hss: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static void set_string(char **dst, const char *value)
{
    free(*dst);
    *dst = strdup(value);
}

static void default_string(char **dst, const char *value)
{
    if (*dst == NULL)
        *dst = strdup(value);
}

static int parse_port(const char *s, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
        return -1;
    *out = v;
    return 0;
}

enum { OPT_SUBSCRIBERS = 256, OPT_PORT, OPT_ADMIN_LISTEN, OPT_IDENTITY, OPT_REALM, OPT_LOG_LEVEL };

static const struct option long_opts[] = {
    {"config", required_argument, NULL, 'c'},       {"subscribers", required_argument, NULL, OPT_SUBSCRIBERS},
    {"port", required_argument, NULL, OPT_PORT},    {"admin-listen", required_argument, NULL, OPT_ADMIN_LISTEN},
    {"identity", required_argument, NULL, OPT_IDENTITY},
    {"realm", required_argument, NULL, OPT_REALM},  {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, 'h'},               {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* First pass: only -c, --help and --version, so the file can be read before the other options override it. */
static hss_conf_result_t first_pass(hss_conf_t *c, int argc, char **argv)
{
    int opt;

    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:hV", long_opts, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            return HSS_CONF_EXIT_OK;
        }
        if (opt == 'V') {
            printf("mihua-hss %s\n", MIHUA_VERSION);
            return HSS_CONF_EXIT_OK;
        }
        if (opt == 'c')
            set_string(&c->config_path, optarg);
    }
    return HSS_CONF_OK;
}

static hss_conf_result_t second_pass(hss_conf_t *c, int argc, char **argv)
{
    int opt;

    opterr = 1;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:hV", long_opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
        case 'h':
        case 'V':
            break;
        case OPT_SUBSCRIBERS:
            set_string(&c->subscribers_path, optarg);
            break;
        case OPT_PORT:
            if (parse_port(optarg, &c->port) != 0) {
                fprintf(stderr, "mihua-hss: --port: must be an integer from 1 to 65535, not '%s'\n", optarg);
                return HSS_CONF_BAD;
            }
            break;
        case OPT_ADMIN_LISTEN:
            set_string(&c->admin_listen, optarg);
            break;
        case OPT_IDENTITY:
            set_string(&c->identity, optarg);
            break;
        case OPT_REALM:
            set_string(&c->realm, optarg);
            break;
        case OPT_LOG_LEVEL:
            set_string(&c->log_level_name, optarg);
            break;
        default:
            usage(stderr);
            return HSS_CONF_BAD;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mihua-hss: unexpected argument '%s'\n", argv[optind]);
        return HSS_CONF_BAD;
    }
    return HSS_CONF_OK;
}

hss_conf_result_t hss_conf_parse(hss_conf_t *c, int argc, char **argv)
{
    hss_conf_result_t r;

    memset(c, 0, sizeof *c);
    c->port = HSS_DEFAULT_PORT;
    c->tc_timer = HSS_DEFAULT_TC_TIMER;
    c->tw_timer = HSS_DEFAULT_TW_TIMER;

    r = first_pass(c, argc, argv);
    if (r != HSS_CONF_OK)
        return r;
    if (c->config_path != NULL && load_file(c) != 0)
        return HSS_CONF_BAD;
    r = second_pass(c, argc, argv);
    if (r != HSS_CONF_OK)
        return r;

    default_string(&c->identity, HSS_DEFAULT_IDENTITY);
    default_string(&c->realm, HSS_DEFAULT_REALM);
    default_string(&c->admin_listen, HSS_DEFAULT_ADMIN_LISTEN);
    default_string(&c->subscribers_path, HSS_DEFAULT_SUBSCRIBERS);
    default_string(&c->service_indication, HSS_DEFAULT_SERVICE_INDICATION);
    default_string(&c->log_level_name, "info");
    if (log_level_parse(c->log_level_name, &c->log_level) != 0) {
        fprintf(stderr, "mihua-hss: --log-level: must be error, warn, info or debug, not '%s'\n", c->log_level_name);
        return HSS_CONF_BAD;
    }
    if (sbi_hostport_parse(c->admin_listen, c->admin_host, sizeof c->admin_host, &c->admin_port) != 0) {
        fprintf(stderr, "mihua-hss: admin_listen: must be ADDR:PORT (e.g. 127.0.0.1:7704), not '%s'\n",
                c->admin_listen);
        return HSS_CONF_BAD;
    }
    return HSS_CONF_OK;
}

void hss_conf_free(hss_conf_t *c)
{
    free(c->config_path);
    free(c->subscribers_path);
    free(c->identity);
    free(c->realm);
    free(c->admin_listen);
    free(c->service_indication);
    free(c->log_level_name);
    memset(c, 0, sizeof *c);
}
