/*
 * ue_conf — mihua-ue settings (ue_conf.h), through lib/core/cli like the daemons: numbers get their defaults
 * before the file is read, strings after everything else (cli_default), both sources checked by one field table.
 */
#include "ue_conf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "kms/kms_crypto.h"
#include "sip/sip_uri.h"

#define UE_DEFAULT_REGISTRAR "127.0.0.1:5060" /* DESIGN §8: the AS */
#define UE_DEFAULT_SIP_LISTEN "127.0.0.1:0"
#define UE_DEFAULT_KMS_URL "https://127.0.0.1:7702"
#define UE_DEFAULT_KMS_CA "run/certs/ca.pem" /* what scripts/gen-test-certs writes */
#define UE_DEFAULT_EXPIRES 600
#define UE_DEFAULT_UPDATE_WAIT_MS 2000    /* > the caller's KMS timeout + a round trip: its UPDATE comes by then */
#define UE_DEFAULT_SETUP_TIMEOUT_MS 32000 /* RFC 3261 Timer B's 64*T1: a caller that hears nothing final */
#define UE_DEFAULT_KMS_TIMEOUT_MS 1000    /* DESIGN §1: a slow KMS makes a plain call, never a failed one */
#define UE_DEFAULT_DURATION "3"
#define UE_DURATION_MAX_S 3600.0

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const rats[] = {"EUTRAN", "NR", "UTRAN", "GERAN", "NONE", NULL};
static const char *const suite_choices[] = {"SM4_CM_128_HMAC_SM3_80", "AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80",
                                            NULL};

/* clang-format off */
static const cli_option_t ue_options[] = {
    {"impu", "impu", "URI", "our public identity (sip: or tel: IMPU); required"},
    {"registrar", "registrar", "ADDR:PORT", "the AS; default " UE_DEFAULT_REGISTRAR},
    {"sip-listen", "sip_listen", "ADDR:PORT", "our SIP UDP socket; default " UE_DEFAULT_SIP_LISTEN},
    {"capable", "capable", "yes|no", "the terminal supports voice encryption; default yes"},
    {"rat", "rat", "RAT", "EUTRAN, NR, UTRAN, GERAN or NONE; default NR"},
    {"suites", "suites", "LIST", "SRTP suites in preference order, comma-separated; default all three"},
    {"kms-url", "kms.url", "URL", "the KMS; default " UE_DEFAULT_KMS_URL},
    {"kms-ca", "kms.ca", "FILE", "CA that signed the KMS certificate; default " UE_DEFAULT_KMS_CA},
    {"kms-key", "kms_key", "HEX", "our 64-hex KMS secret (DESIGN §5 kms_key)"},
    {"sip-password", "sip_password", "SECRET", "our SIP Digest secret (DESIGN §5 sip_password): answers the "
                                               "registrar's 401 and a 407 to our INVITE; without it both fail"},
    {"update-wait-ms", "update_wait_ms", "MS", "callee: wait this long for the key offer after the PRACK; default 2000"},
    {"setup-timeout-ms", "setup_timeout_ms", "MS", "caller: CANCEL when no final answer by then; default 32000"},
    {"duration", "duration", "SECONDS", "call: seconds of audio before hanging up (decimal); default 3"},
    {"wav", "wav", "FILE", "audio to send: 8 kHz mono u-law or 16-bit PCM WAV; default a 440 Hz tone"},
    {"wav-out", "wav_out", "FILE", "write the received audio here (u-law WAV)"},
    {"summary", "summary", "FILE", "append each call's summary (load: the figures) here as a JSON line"},
    {"auto", "auto_answer", NULL, "answer: answer every call at once (else press Enter)"},
    {"answer-after-ms", "answer_after_ms", "MS", "answer: ring this long before answering; default 0"},
    {"count", "count", "N", "answer: exit after N calls (0: until SIGTERM; refused INVITEs do not count); default 1"},
    {"ladder", "ladder", NULL, "print the call's SIP ladder at hang-up"},
    {"calls", "calls", "N", "load: calls to place; default 100"},
    {"rate", "rate", "N", "load: calls started per second; default 10"},
    {"quiet", "quiet", NULL, "no per-call summary on stdout (the JSON --summary still gets every call)"},
    {"log-level", "log_level", "LEVEL", "error, warn, info or debug; default warn"},
};
/* clang-format on */

static const char ue_epilogue[] =
    "Commands:\n"
    "  register          register with the AS and exit (the binding lasts 'expires' seconds)\n"
    "  call TARGET       register, call TARGET (tel: or sip: URI), send audio, hang up, print the summary\n"
    "  answer            register, wait for calls, answer them, print a summary per call\n"
    "  load TARGET       register, place --calls calls at --rate per second (each sends --duration of audio),\n"
    "                    print setup-time percentiles (encrypted and plain, key sync, 200 to first media)\n"
    "The summary says 'encrypted: <SUITE>' or 'plain: <reason>' and counts the packets sent, received,\n"
    "authenticated and failed. Exit codes: 0 the command worked (a plain call is a working call), 1 it did not\n"
    "(registration refused, call failed), 2 bad usage or config. SIGTERM or SIGINT ends every call (BYE, or\n"
    "CANCEL / 480 before the answer), unregisters and exits.\n";

static int parse_hex_key(const char *hex, uint8_t out[KMS_KEY_LEN])
{
    if (strlen(hex) != 2 * KMS_KEY_LEN)
        return -1;
    for (size_t i = 0; i < KMS_KEY_LEN; i++)
        if (sscanf(hex + 2 * i, "%2hhx", &out[i]) != 1 || !strchr("0123456789abcdefABCDEF", hex[2 * i]) ||
            !strchr("0123456789abcdefABCDEF", hex[2 * i + 1]))
            return -1;
    return 0;
}

static ue_conf_result_t bad(const char *fmt, const char *arg)
{
    fprintf(stderr, "mihua-ue: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    return UE_CONF_BAD;
}

static ue_conf_result_t check_command(ue_conf_t *c, int argc, char **argv, int first)
{
    int n = argc - first;
    const char *cmd = n > 0 ? argv[first] : "";
    if (strcmp(cmd, "register") == 0 && n == 1)
        c->cmd = UE_CMD_REGISTER;
    else if (strcmp(cmd, "answer") == 0 && n == 1)
        c->cmd = UE_CMD_ANSWER;
    else if (strcmp(cmd, "call") == 0 && n == 2)
        c->cmd = UE_CMD_CALL, c->target = argv[first + 1];
    else if (strcmp(cmd, "load") == 0 && n == 2)
        c->cmd = UE_CMD_LOAD, c->target = argv[first + 1];
    else
        return bad("expected one command: register | call TARGET | answer | load TARGET (got '%s'); see --help", cmd);
    sip_uri_t u;
    if (c->target &&
        (sip_uri_parse(sip_str_c(c->target), &u) != 0 || (u.scheme != SIP_URI_SIP && u.scheme != SIP_URI_TEL)))
        return bad("TARGET must be a sip: or tel: URI, not '%s'", c->target);
    return UE_CONF_OK;
}

static ue_conf_result_t check_identity(ue_conf_t *c)
{
    sip_uri_t u;
    if (!c->impu)
        return bad("%s", "impu is required (e.g. \"sip:+15550000001@ims.mnc001.mcc001.3gppnetwork.org\")");
    if (sip_uri_parse(sip_str_c(c->impu), &u) != 0 || (u.scheme != SIP_URI_SIP && u.scheme != SIP_URI_TEL) ||
        !u.user.s || u.user.len == 0)
        return bad("impu: must be a sip:user@domain or tel: URI, not '%s'", c->impu);
    if (sbi_hostport_parse(c->registrar, c->registrar_host, sizeof c->registrar_host, &c->registrar_port) != 0 ||
        c->registrar_port == 0)
        return bad("registrar: must be ADDR:PORT (e.g. 127.0.0.1:5060), not '%s'", c->registrar);
    if (sbi_hostport_parse(c->sip_listen, c->sip_host, sizeof c->sip_host, &c->sip_port) != 0)
        return bad("sip_listen: must be ADDR:PORT (e.g. 127.0.0.1:0), not '%s'", c->sip_listen);
    return UE_CONF_OK;
}

static ue_conf_result_t check_crypto(ue_conf_t *c)
{
    c->n_suites = 0;
    for (size_t i = 0; i < c->n_suite_names; i++) {
        msrtp_suite_t s;
        if (msrtp_suite_from_name(c->suite_names[i], &s) != 0)
            return bad("suites: unknown suite '%s'", c->suite_names[i]);
        for (size_t j = 0; j < c->n_suites; j++)
            if (c->suites[j] == s)
                return bad("suites: '%s' is listed twice", c->suite_names[i]);
        c->suites[c->n_suites++] = s;
    }
    if (c->capable && c->n_suites == 0)
        return bad("%s", "suites: a capable terminal needs at least one suite");
    c->has_kms_key = c->kms_key_hex != NULL;
    if (c->has_kms_key && parse_hex_key(c->kms_key_hex, c->kms_key) != 0)
        return bad("%s", "kms_key: must be 64 hex characters");
    if (c->capable && !c->has_kms_key)
        return bad("%s", "kms_key: a capable terminal needs its KMS secret (or set capable to no)");
    return UE_CONF_OK;
}

static ue_conf_result_t check(ue_conf_t *c)
{
    ue_conf_result_t r;
    log_level_parse(c->log_level_name, &c->log_level);
    c->on_4g5g = strcmp(c->rat, "EUTRAN") == 0 || strcmp(c->rat, "NR") == 0;
    char *end;
    double d = strtod(c->duration, &end);
    if (end == c->duration || *end || !(d >= 0.02 && d <= UE_DURATION_MAX_S))
        return bad("duration: must be seconds from 0.02 to 3600 (e.g. 3 or 0.5), not '%s'", c->duration);
    c->duration_ms = (unsigned)lround(d * 1000.0);
    if ((r = check_identity(c)) != UE_CONF_OK)
        return r;
    return check_crypto(c);
}

static void defaults(ue_conf_t *c)
{
    cli_default(&c->registrar, UE_DEFAULT_REGISTRAR);
    cli_default(&c->sip_listen, UE_DEFAULT_SIP_LISTEN);
    cli_default(&c->rat, "NR");
    cli_default(&c->kms_url, UE_DEFAULT_KMS_URL);
    cli_default(&c->kms_ca, UE_DEFAULT_KMS_CA);
    cli_default(&c->duration, UE_DEFAULT_DURATION);
    cli_default(&c->log_level_name, "warn");
    if (!c->suite_names) {
        c->suite_names = calloc(MSRTP_SUITE_COUNT + 1, sizeof *c->suite_names);
        for (size_t i = 0; c->suite_names && i < MSRTP_SUITE_COUNT; i++)
            c->suite_names[c->n_suite_names++] = strdup(suite_choices[i]);
    }
}

#define UE_N_FIELDS 27

/* The table names every setting; one function so that parse and free agree. */
static void ue_fields(ue_conf_t *c, cfg_field_t f[UE_N_FIELDS])
{
    const cfg_field_t t[UE_N_FIELDS] = {
        {.name = "impu", .type = CFG_STRING, .dst = &c->impu},
        {.name = "registrar", .type = CFG_STRING, .dst = &c->registrar},
        {.name = "sip_listen", .type = CFG_STRING, .dst = &c->sip_listen},
        {.name = "media_ip", .type = CFG_STRING, .dst = &c->media_ip},
        {.name = "capable", .type = CFG_BOOL, .dst = &c->capable},
        {.name = "rat", .type = CFG_STRING, .dst = &c->rat, .choices = rats},
        {.name = "suites",
         .type = CFG_STRING_LIST,
         .dst = &c->suite_names,
         .choices = suite_choices,
         .aux = &c->n_suite_names},
        {.name = "expires", .type = CFG_INT, .dst = &c->expires, .min = 60, .max = 86400},
        {.name = "update_wait_ms", .type = CFG_INT, .dst = &c->update_wait_ms, .min = 50, .max = 60000},
        {.name = "setup_timeout_ms", .type = CFG_INT, .dst = &c->setup_timeout_ms, .min = 1000, .max = 300000},
        {.name = "kms.url", .type = CFG_STRING, .dst = &c->kms_url},
        {.name = "kms.ca", .type = CFG_STRING, .dst = &c->kms_ca},
        {.name = "kms.timeout_ms", .type = CFG_INT, .dst = &c->kms_timeout_ms, .min = 50, .max = 30000},
        {.name = "kms_key", .type = CFG_STRING, .dst = &c->kms_key_hex},
        {.name = "sip_password", .type = CFG_STRING, .dst = &c->sip_password},
        {.name = "log_level", .type = CFG_STRING, .dst = &c->log_level_name, .choices = log_levels},
        {.name = "duration", .type = CFG_STRING, .dst = &c->duration},
        {.name = "wav", .type = CFG_STRING, .dst = &c->wav},
        {.name = "wav_out", .type = CFG_STRING, .dst = &c->wav_out},
        {.name = "summary", .type = CFG_STRING, .dst = &c->summary},
        {.name = "auto_answer", .type = CFG_BOOL, .dst = &c->auto_answer},
        {.name = "answer_after_ms", .type = CFG_INT, .dst = &c->answer_after_ms, .min = 0, .max = 600000},
        {.name = "count", .type = CFG_INT, .dst = &c->count, .min = 0, .max = 100000000},
        {.name = "ladder", .type = CFG_BOOL, .dst = &c->ladder},
        {.name = "calls", .type = CFG_INT, .dst = &c->calls, .min = 1, .max = 10000000},
        {.name = "rate", .type = CFG_INT, .dst = &c->rate, .min = 1, .max = 100000},
        {.name = "quiet", .type = CFG_BOOL, .dst = &c->quiet},
    };
    memcpy(f, t, sizeof t);
}

ue_conf_result_t ue_conf_parse(ue_conf_t *c, int argc, char **argv)
{
    memset(c, 0, sizeof *c);
    c->capable = true;
    c->expires = UE_DEFAULT_EXPIRES;
    c->update_wait_ms = UE_DEFAULT_UPDATE_WAIT_MS;
    c->setup_timeout_ms = UE_DEFAULT_SETUP_TIMEOUT_MS;
    c->kms_timeout_ms = UE_DEFAULT_KMS_TIMEOUT_MS;
    c->count = 1;
    c->calls = 100;
    c->rate = 10;
    cfg_field_t fields[UE_N_FIELDS];
    ue_fields(c, fields);
    const cli_spec_t spec = {
        .program = "mihua-ue",
        .summary = "A VoLTE/VoNR UE agent (caller or callee) that makes its calls end-to-end encrypted when the\n"
                   "network allows it: +u.mihua.voenc in INVITE/183, session key from the KMS, UPDATE with the\n"
                   "cipher list, SRTP from the first packet (DESIGN §1, §2, §4).",
        .epilogue = ue_epilogue,
        .fields = fields,
        .n_fields = UE_N_FIELDS,
        .options = ue_options,
        .n_options = sizeof ue_options / sizeof ue_options[0],
        .operands = "COMMAND [TARGET]",
    };
    char *config_path = NULL;
    int first = argc;
    cli_result_t r = cli_parse_operands(&spec, argc, argv, &config_path, &first);
    free(config_path);
    if (r != CLI_OK)
        return r == CLI_EXIT_OK ? UE_CONF_EXIT_OK : UE_CONF_BAD;
    defaults(c);
    ue_conf_result_t cr = check_command(c, argc, argv, first);
    if (cr == UE_CONF_OK)
        cr = check(c);
    if (cr == UE_CONF_OK && !c->media_ip && !(c->media_ip = strdup(c->sip_host)))
        cr = UE_CONF_BAD;
    return cr;
}

void ue_conf_free(ue_conf_t *c)
{
    cfg_field_t fields[UE_N_FIELDS];
    ue_fields(c, fields);
    if (c->sip_password)
        kms_cleanse(c->sip_password, strlen(c->sip_password));
    cfg_free_strings(fields, UE_N_FIELDS);
    kms_cleanse(c->kms_key, sizeof c->kms_key);
}
