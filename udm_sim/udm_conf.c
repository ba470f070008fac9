/*
 * udm_conf — mihua-udm settings. Defaults < JSON config (-c) < command line. See udm_conf.h.
 *
 * String settings start NULL, the file fills what it names, the command line overrides, and only then are the
 * remaining NULLs set to their defaults, so every string is heap-owned and freed the same way. getopt runs twice:
 * first for -c/--help/--version (the file must be read before the other options override it), then for the rest.
 */
#include "udm_conf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

#define UDM_DEFAULT_LISTEN "127.0.0.1:7701" /* DESIGN §8 */
#define UDM_DEFAULT_ADMIN_LISTEN "127.0.0.1:7705"
#define UDM_DEFAULT_SUBSCRIBERS "conf/subscribers.json"
#define UDM_DEFAULT_AMF_INSTANCE_ID "6a4c8f1e-4b7d-4a8e-9f3c-2d1b0e5a7c91" /* any fixed UUID: one simulated AMF */

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: mihua-udm [OPTIONS]\n"
            "UDM/UDR simulator: Nudm_UECM, Nudm_SDM (TS 29.503) and Nudr_DR (TS 29.505) over HTTP/2.\n"
            "\n"
            "  -c, --config FILE        JSON config (keys: listen, admin_listen, subscribers, tls.cert,\n"
            "                           tls.key, amf_instance_id, log_level)\n"
            "      --subscribers FILE   subscriber data (DESIGN §5); default %s\n"
            "      --listen ADDR:PORT   SBI listen address; port 0 picks a free port; default %s\n"
            "      --admin-listen ADDR:PORT  admin API (h2c) address; port 0 picks a free port; default %s\n"
            "      --log-level LEVEL    error, warn, info or debug; default info\n"
            "  -h, --help               this text\n"
            "  -V, --version            program version\n"
            "\n"
            "Admin API: GET/PUT/PATCH/DELETE /admin/v1/subscribers/{imsi}, GET /admin/v1/subscribers,\n"
            "POST /admin/v1/reload, GET /metrics.\n"
            "\n"
            "Prints 'READY mihua-udm sbi=URL admin=URL' once listening. SIGHUP reloads the subscriber file (a bad file\n"
            "keeps the old data); SIGTERM drains open streams and exits 0. Exit codes: 0 ok, 1 runtime failure,\n"
            "2 bad usage or config.\n",
            UDM_DEFAULT_SUBSCRIBERS, UDM_DEFAULT_LISTEN, UDM_DEFAULT_ADMIN_LISTEN);
}

static int load_file(udm_conf_t *c)
{
    static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
    const cfg_field_t fields[] = {
        {.name = "listen", .type = CFG_STRING, .dst = &c->listen},
        {.name = "admin_listen", .type = CFG_STRING, .dst = &c->admin_listen},
        {.name = "subscribers", .type = CFG_STRING, .dst = &c->subscribers_path},
        {.name = "tls.cert", .type = CFG_STRING, .dst = &c->tls_cert},
        {.name = "tls.key", .type = CFG_STRING, .dst = &c->tls_key},
        {.name = "amf_instance_id", .type = CFG_STRING, .dst = &c->amf_instance_id},
        {.name = "log_level", .type = CFG_STRING, .dst = &c->log_level_name, .choices = levels},
    };
    cfg_error_t err;
    if (cfg_load(c->config_path, fields, sizeof fields / sizeof fields[0], &err) != 0) {
        fprintf(stderr, "mihua-udm: %s\n", err.msg);
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

enum { OPT_SUBSCRIBERS = 256, OPT_LISTEN, OPT_ADMIN_LISTEN, OPT_LOG_LEVEL };

static const struct option long_opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"subscribers", required_argument, NULL, OPT_SUBSCRIBERS},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"admin-listen", required_argument, NULL, OPT_ADMIN_LISTEN},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static udm_conf_result_t first_pass(udm_conf_t *c, int argc, char **argv)
{
    int opt;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:hV", long_opts, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            return UDM_CONF_EXIT_OK;
        }
        if (opt == 'V') {
            printf("mihua-udm %s\n", MIHUA_VERSION);
            return UDM_CONF_EXIT_OK;
        }
        if (opt == 'c')
            set_string(&c->config_path, optarg);
    }
    return UDM_CONF_OK;
}

static udm_conf_result_t second_pass(udm_conf_t *c, int argc, char **argv)
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
        case OPT_LISTEN:
            set_string(&c->listen, optarg);
            break;
        case OPT_ADMIN_LISTEN:
            set_string(&c->admin_listen, optarg);
            break;
        case OPT_LOG_LEVEL:
            set_string(&c->log_level_name, optarg);
            break;
        default:
            usage(stderr);
            return UDM_CONF_BAD;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mihua-udm: unexpected argument '%s'\n", argv[optind]);
        return UDM_CONF_BAD;
    }
    return UDM_CONF_OK;
}

static udm_conf_result_t check(udm_conf_t *c)
{
    if (log_level_parse(c->log_level_name, &c->log_level) != 0) {
        fprintf(stderr, "mihua-udm: log level: must be error, warn, info or debug, not '%s'\n", c->log_level_name);
        return UDM_CONF_BAD;
    }
    if (sbi_hostport_parse(c->listen, c->listen_host, sizeof c->listen_host, &c->listen_port) != 0) {
        fprintf(stderr, "mihua-udm: listen: must be ADDR:PORT (e.g. 127.0.0.1:7701), not '%s'\n", c->listen);
        return UDM_CONF_BAD;
    }
    if (sbi_hostport_parse(c->admin_listen, c->admin_host, sizeof c->admin_host, &c->admin_port) != 0) {
        fprintf(stderr, "mihua-udm: admin_listen: must be ADDR:PORT (e.g. 127.0.0.1:7705), not '%s'\n",
                c->admin_listen);
        return UDM_CONF_BAD;
    }
    if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
        fprintf(stderr, "mihua-udm: tls: give both tls.cert and tls.key, or neither\n");
        return UDM_CONF_BAD;
    }
    return UDM_CONF_OK;
}

udm_conf_result_t udm_conf_parse(udm_conf_t *c, int argc, char **argv)
{
    memset(c, 0, sizeof *c);
    udm_conf_result_t r = first_pass(c, argc, argv);
    if (r != UDM_CONF_OK)
        return r;
    if (c->config_path != NULL && load_file(c) != 0)
        return UDM_CONF_BAD;
    r = second_pass(c, argc, argv);
    if (r != UDM_CONF_OK)
        return r;
    default_string(&c->listen, UDM_DEFAULT_LISTEN);
    default_string(&c->admin_listen, UDM_DEFAULT_ADMIN_LISTEN);
    default_string(&c->subscribers_path, UDM_DEFAULT_SUBSCRIBERS);
    default_string(&c->amf_instance_id, UDM_DEFAULT_AMF_INSTANCE_ID);
    default_string(&c->log_level_name, "info");
    return check(c);
}

void udm_conf_free(udm_conf_t *c)
{
    free(c->config_path);
    free(c->subscribers_path);
    free(c->listen);
    free(c->admin_listen);
    free(c->tls_cert);
    free(c->tls_key);
    free(c->amf_instance_id);
    free(c->log_level_name);
    memset(c, 0, sizeof *c);
}
