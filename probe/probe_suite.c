/*
 * probe_suite — `mihua-probe suite`: a conformance run against ANY Sh server (TS 29.328 §6.1.1, TS 29.329 §6) and
 * any Nudm/Nudr server (TS 29.503, TS 29.505, TS 29.500 §5), ours or an integrator's, reported as text, TAP or
 * JUnit XML (probe_report.h). Exit 0 only when nothing failed or errored.
 *
 * Sh cases (one freeDiameter node, one connection, one UDR per case):
 *   known-user                      UDR TADSinformation for --impu: 2001 with Sh-Data carrying TADS
 *   unknown-user-5001               --unknown-impu: Experimental-Result 5001 (vendor 10415)
 *   unsupported-data-reference-5100 --unsupported-data-ref (default 11, IMSUserState): Experimental-Result 5100
 *                                   DIAMETER_ERROR_USER_DATA_NOT_RECOGNIZED (TS 29.329 §6.2.2.1)
 *   missing-data-reference-5005     a UDR without Data-Reference: Result-Code 5005 with Failed-AVP naming it
 *                                   (RFC 6733 §7.5, §7.1.5)
 * SBI cases (one HTTP/2 connection, h2c or TLS):
 *   amf-registration, am-data, operator-specific-data   the three reads mihua uses, 200 JSON objects (the first
 *                                   may also be 404 CONTEXT_NOT_FOUND: a known user not registered in 5GS)
 *   known-user-content-type         those answers are application/json (TS 29.500 §5.4)
 *   unknown-user-404, unknown-user-content-type, unknown-user-problem-details   --unknown-subscriber: 404,
 *                                   application/problem+json, a ProblemDetails object whose status equals the
 *                                   HTTP status and whose cause is USER_NOT_FOUND (TS 29.571 §5.2.4.1)
 *   settings-acknowledged           the server sent SETTINGS and acknowledged ours (RFC 9113 §6.5.3)
 *   multiplexing                    four requests in flight on one connection, each answered on its own stream
 * A base-protocol case (3007 for an unknown application) is not sent: freeDiameter, under the probe, refuses to
 * route a request for an application the peer did not advertise, so the server never sees it.
 */
#include "probe_suite.h"

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "diameter/diam_node.h"
#include "diameter/sh_msg.h"
#include "probe_h2.h"
#include "probe_pcap.h"
#include "sbi/sbi_url.h"
#include "probe_report.h"
#include "probe_sh.h"

#define SUITE_DEFAULT_TIMEOUT_MS 5000
#define SUITE_DEFAULT_UNKNOWN_IMPU "tel:+19999999999"
#define SUITE_DEFAULT_UNKNOWN_IMSI "001019999999999"
#define SUITE_DEFAULT_BAD_DREF 11 /* IMSUserState: defined by TS 29.328, served by few test HSSs */
#define AVP_FAILED_AVP 279
#define AVP_DATA_REFERENCE 703
#define SUITE_MUX_STREAMS 4

enum { SUITE_EXIT_PASS = 0, SUITE_EXIT_FAIL = 1, SUITE_EXIT_USAGE = 2 };

typedef struct {
    char hss_addr[256];
    int hss_port;
    const char *hss_host, *realm, *dest_realm, *impu, *unknown_impu;
    char origin_host[256];
    uint32_t bad_dref;
    const char *udm, *subscriber, *unknown_subscriber, *cacert;
    int timeout_ms;
    const char *junit, *pcap;
    bool tap, quiet;
} suite_opts_t;

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ------------------------------------------------------------------------------------------------ Sh */

/* One UDR for `impu` and `dref`; without_dref strips the Data-Reference again (the missing-AVP case). */
static struct msg *udr(const sh_dict_t *d, const suite_opts_t *o, const char *impu, uint32_t dref, bool without_dref)
{
    sh_udr_params_t p = {.public_identity = impu,
                         .data_refs = &dref,
                         .n_data_refs = 1,
                         .dest_realm = o->dest_realm,
                         .dest_host = o->hss_host};
    struct msg *req = NULL;
    struct avp *avp = NULL, *next = NULL;
    double ms;

    if (sh_udr_build(d, &p, &req) != 0)
        return NULL;
    for (fd_msg_browse(req, MSG_BRW_FIRST_CHILD, &avp, NULL); without_dref && avp != NULL; avp = next) {
        struct avp_hdr *h = NULL;
        fd_msg_browse(avp, MSG_BRW_NEXT, &next, NULL);
        if (fd_msg_avp_hdr(avp, &h) == 0 && h->avp_code == AVP_DATA_REFERENCE)
            fd_msg_free(avp);
    }
    return probe_sh_send(req, o->timeout_ms, &ms);
}

static bool failed_avp_names(struct msg *ans, uint32_t code)
{
    struct avp *avp = NULL, *child = NULL;
    struct avp_hdr *h = NULL;

    for (fd_msg_browse(ans, MSG_BRW_FIRST_CHILD, &avp, NULL); avp != NULL;
         fd_msg_browse(avp, MSG_BRW_NEXT, &avp, NULL)) {
        if (fd_msg_avp_hdr(avp, &h) != 0 || h->avp_code != AVP_FAILED_AVP)
            continue;
        for (fd_msg_browse(avp, MSG_BRW_FIRST_CHILD, &child, NULL); child != NULL;
             fd_msg_browse(child, MSG_BRW_NEXT, &child, NULL))
            if (fd_msg_avp_hdr(child, &h) == 0 && h->avp_code == code)
                return true;
    }
    return false;
}

static void describe(const sh_uda_t *a, char *buf, size_t size)
{
    if (a->has_experimental)
        snprintf(buf, size, "Experimental-Result %u (vendor %u)", a->exp_code, a->exp_vendor);
    else if (a->has_result_code)
        snprintf(buf, size, "Result-Code %u", a->result_code);
    else
        snprintf(buf, size, "neither Result-Code nor Experimental-Result");
}

typedef enum { EXPECT_SUCCESS_TADS, EXPECT_EXPERIMENTAL, EXPECT_RESULT_FAILED_AVP } expect_t;

static void sh_case(report_t *r, const sh_dict_t *d, const suite_opts_t *o, const char *name, const char *impu,
                    uint32_t dref, bool without_dref, expect_t ex, uint32_t code)
{
    struct timespec t0;
    sh_uda_t a;
    char got[96];

    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct msg *ans = udr(d, o, impu, dref, without_dref);
    if (ans == NULL) {
        report_add(r, "sh", name, CASE_ERROR, seconds_since(&t0), "no answer within %d ms", o->timeout_ms);
        return;
    }
    if (sh_uda_read(d, ans, &a) != 0) {
        report_add(r, "sh", name, CASE_FAIL, seconds_since(&t0), "the answer is not a UDA");
        fd_msg_free(ans);
        return;
    }
    describe(&a, got, sizeof got);
    bool ok = false;
    if (ex == EXPECT_SUCCESS_TADS)
        ok = a.has_result_code && a.result_code == 2001 && a.has_data && a.data.has_tads;
    else if (ex == EXPECT_EXPERIMENTAL)
        ok = a.has_experimental && a.exp_vendor == SH_VENDOR_3GPP && a.exp_code == code;
    else
        ok = a.has_result_code && a.result_code == code && failed_avp_names(ans, AVP_DATA_REFERENCE);
    if (ok)
        report_add(r, "sh", name, CASE_PASS, seconds_since(&t0), NULL);
    else if (ex == EXPECT_SUCCESS_TADS)
        report_add(r, "sh", name, CASE_FAIL, seconds_since(&t0), "want Result-Code 2001 with TADSinformation, got %s%s",
                   got, a.has_data ? "" : " without parsable Sh-Data");
    else
        report_add(r, "sh", name, CASE_FAIL, seconds_since(&t0), "want %s %u%s, got %s",
                   ex == EXPECT_EXPERIMENTAL ? "Experimental-Result" : "Result-Code", code,
                   ex == EXPECT_RESULT_FAILED_AVP ? " with Failed-AVP naming Data-Reference" : "", got);
    sh_uda_clear(&a);
    fd_msg_free(ans);
}

static const char *const sh_names[] = {"known-user", "unknown-user-5001", "unsupported-data-reference-5100",
                                       "missing-data-reference-5005"};

static diam_node_t *sh_cases(report_t *r, const suite_opts_t *o)
{
    sh_dict_t dict;
    char err[512];
    struct timespec t0;
    diam_node_conf_t dc = {.identity = o->origin_host,
                           .realm = o->realm,
                           .port = 0,
                           .peers = {{.identity = o->hss_host, .addr = o->hss_addr, .port = o->hss_port}},
                           .n_peers = 1,
                           .tc_timer = 6,
                           .tw_timer = 30,
                           .fd_debug = log_get_level() >= LOG_LVL_DEBUG};

    clock_gettime(CLOCK_MONOTONIC, &t0);
    diam_node_t *node = diam_node_start(&dc, &dict, err, sizeof err);
    if (node != NULL && diam_node_wait_peer(node, o->hss_host, o->timeout_ms) != 0)
        snprintf(err, sizeof err, "no Diameter connection to %s at %s:%d within %d ms", o->hss_host, o->hss_addr,
                 o->hss_port, o->timeout_ms);
    else if (node != NULL)
        err[0] = '\0';
    if (err[0] != '\0') {
        for (size_t i = 0; i < sizeof sh_names / sizeof sh_names[0]; i++)
            report_add(r, "sh", sh_names[i], CASE_ERROR, seconds_since(&t0), "%s", err);
        return node;
    }
    sh_case(r, &dict, o, sh_names[0], o->impu, SH_DREF_TADS_INFORMATION, false, EXPECT_SUCCESS_TADS, 2001);
    sh_case(r, &dict, o, sh_names[1], o->unknown_impu, SH_DREF_TADS_INFORMATION, false, EXPECT_EXPERIMENTAL,
            SH_ERR_USER_UNKNOWN);
    sh_case(r, &dict, o, sh_names[2], o->impu, o->bad_dref, false, EXPECT_EXPERIMENTAL, SH_ERR_DATA_REF_NOT_SUPPORTED);
    sh_case(r, &dict, o, sh_names[3], o->impu, SH_DREF_TADS_INFORMATION, true, EXPECT_RESULT_FAILED_AVP, 5005);
    return node;
}

/* ------------------------------------------------------------------------------------------------ SBI */

static bool media_type_is(const char *ct, const char *want)
{
    size_t n = strcspn(ct, "; ");
    return n == strlen(want) && strncasecmp(ct, want, n) == 0;
}

static json_t *body_json(const probe_h2_resp_t *r)
{
    return r->body != NULL ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
}

static void sbi_read_case(report_t *r, const char *name, const probe_h2_resp_t *resp, const char *alt_cause)
{
    json_t *j = body_json(resp);
    const char *cause = json_string_value(json_object_get(j, "cause"));

    if (resp->status == 0)
        report_add(r, "sbi", name, CASE_ERROR, resp->latency_ms / 1e3, "%s",
                   resp->reset ? "stream reset by the server" : "no answer");
    else if (resp->status == 200 && json_is_object(j))
        report_add(r, "sbi", name, CASE_PASS, resp->latency_ms / 1e3, NULL);
    else if (alt_cause != NULL && resp->status == 404 && cause != NULL && strcmp(cause, alt_cause) == 0)
        report_add(r, "sbi", name, CASE_PASS, resp->latency_ms / 1e3, "404 %s", alt_cause);
    else
        report_add(r, "sbi", name, CASE_FAIL, resp->latency_ms / 1e3, "want 200 with a JSON object, got %d%s%s",
                   resp->status, cause ? " " : "", cause ? cause : "");
    json_decref(j);
}

static void known_content_type_case(report_t *r, const probe_h2_resp_t *resps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (resps[i].status == 200 && !media_type_is(resps[i].content_type, "application/json")) {
            report_add(r, "sbi", "known-user-content-type", CASE_FAIL, 0, "a 200 came as '%s', want application/json",
                       resps[i].content_type);
            return;
        }
    report_add(r, "sbi", "known-user-content-type", CASE_PASS, 0, NULL);
}

static void unknown_user_cases(report_t *r, const probe_h2_resp_t *u)
{
    double s = u->latency_ms / 1e3;
    json_t *j = body_json(u);
    const char *cause = json_string_value(json_object_get(j, "cause"));
    const json_t *status = json_object_get(j, "status"), *title = json_object_get(j, "title");

    if (u->status == 0) {
        report_add(r, "sbi", "unknown-user-404", CASE_ERROR, s, "no answer");
        report_add(r, "sbi", "unknown-user-content-type", CASE_ERROR, s, "no answer");
        report_add(r, "sbi", "unknown-user-problem-details", CASE_ERROR, s, "no answer");
        return;
    }
    report_add(r, "sbi", "unknown-user-404", u->status == 404 ? CASE_PASS : CASE_FAIL, s,
               u->status == 404 ? NULL : "want 404, got %d", u->status);
    bool ct_ok = media_type_is(u->content_type, "application/problem+json");
    report_add(r, "sbi", "unknown-user-content-type", ct_ok ? CASE_PASS : CASE_FAIL, s,
               ct_ok ? NULL : "want application/problem+json, got '%s'", u->content_type);
    bool pd_ok = json_is_object(j) && json_is_integer(status) && json_integer_value(status) == u->status &&
                 (title == NULL || json_is_string(title)) && cause != NULL && strcmp(cause, "USER_NOT_FOUND") == 0;
    report_add(r, "sbi", "unknown-user-problem-details", pd_ok ? CASE_PASS : CASE_FAIL, s,
               pd_ok ? NULL : "want ProblemDetails with status %d and cause USER_NOT_FOUND, got %.200s", u->status,
               u->body ? u->body : "(no body)");
    json_decref(j);
}

static void http2_cases(report_t *r, probe_h2_t *c, const probe_h2_req_t *reqs, int timeout_ms)
{
    probe_h2_resp_t resps[SUITE_MUX_STREAMS];
    struct timespec t0;
    bool acked = probe_h2_settings_acked(c);

    report_add(r, "http2", "settings-acknowledged", acked && probe_h2_got_settings(c) ? CASE_PASS : CASE_FAIL, 0,
               acked && probe_h2_got_settings(c) ? NULL : "server SETTINGS %s, our SETTINGS %s",
               probe_h2_got_settings(c) ? "received" : "never received", acked ? "acknowledged" : "never acknowledged");
    if (probe_h2_max_concurrent(c) < SUITE_MUX_STREAMS) {
        report_add(r, "http2", "multiplexing", CASE_SKIP, 0, "the server allows %u concurrent streams",
                   probe_h2_max_concurrent(c));
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t got = probe_h2_exchange(c, reqs, resps, SUITE_MUX_STREAMS, timeout_ms);
    bool distinct = true;
    for (size_t i = 0; i < SUITE_MUX_STREAMS; i++)
        for (size_t k = i + 1; k < SUITE_MUX_STREAMS; k++)
            distinct = distinct && resps[i].stream_id != resps[k].stream_id;
    bool ok = got == SUITE_MUX_STREAMS && distinct;
    report_add(r, "http2", "multiplexing", ok ? CASE_PASS : CASE_FAIL, seconds_since(&t0),
               ok ? NULL : "%zu of %d concurrent requests answered, each on its own stream", got, SUITE_MUX_STREAMS);
    for (size_t i = 0; i < SUITE_MUX_STREAMS; i++)
        probe_h2_resp_clear(&resps[i]);
}

static const char *const sbi_names[] = {"amf-registration",
                                        "am-data",
                                        "operator-specific-data",
                                        "known-user-content-type",
                                        "unknown-user-404",
                                        "unknown-user-content-type",
                                        "unknown-user-problem-details"};

static void sbi_cases(report_t *r, const suite_opts_t *o)
{
    char err[256], p[4][192];
    probe_h2_resp_t resps[4];

    snprintf(p[0], sizeof p[0], "/nudm-uecm/v1/imsi-%s/registrations/amf-3gpp-access", o->subscriber);
    snprintf(p[1], sizeof p[1], "/nudm-sdm/v2/imsi-%s/am-data", o->subscriber);
    snprintf(p[2], sizeof p[2], "/nudr-dr/v2/subscription-data/imsi-%s/operator-specific-data", o->subscriber);
    snprintf(p[3], sizeof p[3], "/nudm-uecm/v1/imsi-%s/registrations/amf-3gpp-access", o->unknown_subscriber);
    probe_h2_req_t reqs[4] = {{.method = "GET", .path = p[0]},
                              {.method = "GET", .path = p[1]},
                              {.method = "GET", .path = p[2]},
                              {.method = "GET", .path = p[3]}};
    probe_h2_t *c = probe_h2_connect(o->udm, o->cacert, o->timeout_ms, err, sizeof err);
    if (c == NULL) {
        for (size_t i = 0; i < sizeof sbi_names / sizeof sbi_names[0]; i++)
            report_add(r, "sbi", sbi_names[i], CASE_ERROR, 0, "%s", err);
        report_add(r, "http2", "settings-acknowledged", CASE_ERROR, 0, "%s", err);
        report_add(r, "http2", "multiplexing", CASE_ERROR, 0, "%s", err);
        return;
    }
    for (size_t i = 0; i < 4; i++) /* one at a time: each case's latency is its own */
        probe_h2_exchange(c, &reqs[i], &resps[i], 1, o->timeout_ms);
    sbi_read_case(r, sbi_names[0], &resps[0], "CONTEXT_NOT_FOUND");
    sbi_read_case(r, sbi_names[1], &resps[1], NULL);
    sbi_read_case(r, sbi_names[2], &resps[2], NULL);
    known_content_type_case(r, resps, 3);
    unknown_user_cases(r, &resps[3]);
    http2_cases(r, c, reqs, o->timeout_ms);
    for (size_t i = 0; i < 4; i++)
        probe_h2_resp_clear(&resps[i]);
    probe_h2_close(c);
}

/* ------------------------------------------------------------------------------------------------ options */

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: mihua-probe suite [--hss ADDR:PORT --impu IMPU] [--udm URL --subscriber IMSI] [OPTIONS]\n"
            "\n"
            "Runs a conformance suite against any Sh server (HSS) and/or any Nudm/Nudr server (UDM/UDR) and\n"
            "reports each case. Exit 0 only when no case failed or errored; 1 otherwise; 2 bad usage.\n"
            "\n"
            "Sh:\n"
            "  --hss ADDR:PORT            the HSS (or a relay) to connect to\n"
            "  --hss-host FQDN            its Diameter identity, also the Destination-Host; default hss.ims.test\n"
            "  --impu IMPU                a user the HSS knows (required with --hss)\n"
            "  --unknown-impu IMPU        a user it does not know; default " SUITE_DEFAULT_UNKNOWN_IMPU "\n"
            "  --unsupported-data-ref N   a Data-Reference it does not serve; default 11 (IMSUserState)\n"
            "  --realm REALM              our Origin-Realm and the Destination-Realm; default ims.test\n"
            "  --origin-host FQDN         default suite-<pid>.<realm>\n"
            "SBI:\n"
            "  --udm URL                  http://HOST:PORT (h2c prior knowledge) or https://HOST:PORT (TLS, ALPN h2;\n"
            "                             SSLKEYLOGFILE honoured)\n"
            "  --subscriber IMSI          a subscriber the UDM knows (required with --udm)\n"
            "  --unknown-subscriber IMSI  one it does not know; default " SUITE_DEFAULT_UNKNOWN_IMSI "\n"
            "  --cacert FILE              CA to trust for https; default the system's\n"
            "Output:\n"
            "  --junit FILE               also write JUnit XML (Jenkins, GitLab)\n"
            "  --tap                      TAP 13 on stdout instead of text\n"
            "  --timeout-ms N             per connection and per answer; default %d\n"
            "  --pcap FILE                capture the run with dumpcap (pcapng; TLS secrets embedded by editcap)\n",
            SUITE_DEFAULT_TIMEOUT_MS);
}

static int parse_hostport(const char *s, suite_opts_t *o)
{
    const char *colon = strrchr(s, ':');

    if (colon == NULL || colon == s || (size_t)(colon - s) >= sizeof o->hss_addr || atoi(colon + 1) <= 0 ||
        atoi(colon + 1) > 65535)
        return -1;
    snprintf(o->hss_addr, sizeof o->hss_addr, "%.*s", (int)(colon - s), s);
    o->hss_port = atoi(colon + 1);
    return 0;
}

static bool digits(const char *s)
{
    size_t n = strlen(s);
    return n >= 5 && n <= 15 && strspn(s, "0123456789") == n;
}

static int bad(const char *why)
{
    fprintf(stderr, "mihua-probe suite: %s\n", why);
    return SUITE_EXIT_USAGE;
}

static int check_opts(suite_opts_t *o)
{
    if (o->hss_port == 0 && o->udm == NULL)
        return bad("give --hss and/or --udm");
    if (o->hss_port != 0 && o->impu == NULL)
        return bad("--hss needs --impu (a user the HSS knows)");
    if (o->udm != NULL && (o->subscriber == NULL || !digits(o->subscriber) || !digits(o->unknown_subscriber)))
        return bad("--udm needs --subscriber IMSI (5 to 15 digits)");
    if (o->timeout_ms <= 0)
        return bad("--timeout-ms must be a positive integer");
    if (o->origin_host[0] == '\0')
        snprintf(o->origin_host, sizeof o->origin_host, "suite-%d.%s", (int)getpid(), o->realm);
    return SUITE_EXIT_PASS;
}

static int parse_opts(int argc, char **argv, suite_opts_t *o)
{
    enum {
        O_HSS = 256,
        O_HSS_HOST,
        O_IMPU,
        O_UNKNOWN_IMPU,
        O_BAD_DREF,
        O_REALM,
        O_ORIGIN,
        O_UDM,
        O_SUB,
        O_UNKNOWN_SUB,
        O_CACERT,
        O_JUNIT,
        O_TAP,
        O_TIMEOUT,
        O_PCAP,
        O_HELP
    };
    static const struct option longopts[] = {{"hss", required_argument, NULL, O_HSS},
                                             {"hss-host", required_argument, NULL, O_HSS_HOST},
                                             {"impu", required_argument, NULL, O_IMPU},
                                             {"unknown-impu", required_argument, NULL, O_UNKNOWN_IMPU},
                                             {"unsupported-data-ref", required_argument, NULL, O_BAD_DREF},
                                             {"realm", required_argument, NULL, O_REALM},
                                             {"origin-host", required_argument, NULL, O_ORIGIN},
                                             {"udm", required_argument, NULL, O_UDM},
                                             {"subscriber", required_argument, NULL, O_SUB},
                                             {"unknown-subscriber", required_argument, NULL, O_UNKNOWN_SUB},
                                             {"cacert", required_argument, NULL, O_CACERT},
                                             {"junit", required_argument, NULL, O_JUNIT},
                                             {"tap", no_argument, NULL, O_TAP},
                                             {"timeout-ms", required_argument, NULL, O_TIMEOUT},
                                             {"pcap", required_argument, NULL, O_PCAP},
                                             {"help", no_argument, NULL, O_HELP},
                                             {NULL, 0, NULL, 0}};
    int opt;

    *o = (suite_opts_t){.hss_host = "hss.ims.test",
                        .realm = "ims.test",
                        .unknown_impu = SUITE_DEFAULT_UNKNOWN_IMPU,
                        .bad_dref = SUITE_DEFAULT_BAD_DREF,
                        .unknown_subscriber = SUITE_DEFAULT_UNKNOWN_IMSI,
                        .timeout_ms = SUITE_DEFAULT_TIMEOUT_MS};
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case O_HSS:
            if (parse_hostport(optarg, o) != 0)
                return bad("--hss: want ADDR:PORT");
            break;
        case O_HSS_HOST:
            o->hss_host = optarg;
            break;
        case O_IMPU:
            o->impu = optarg;
            break;
        case O_UNKNOWN_IMPU:
            o->unknown_impu = optarg;
            break;
        case O_BAD_DREF:
            o->bad_dref = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case O_REALM:
            o->realm = optarg;
            break;
        case O_ORIGIN:
            snprintf(o->origin_host, sizeof o->origin_host, "%s", optarg);
            break;
        case O_UDM:
            o->udm = optarg;
            break;
        case O_SUB:
            o->subscriber = optarg;
            break;
        case O_UNKNOWN_SUB:
            o->unknown_subscriber = optarg;
            break;
        case O_CACERT:
            o->cacert = optarg;
            break;
        case O_JUNIT:
            o->junit = optarg;
            break;
        case O_TAP:
            o->tap = true;
            break;
        case O_PCAP:
            o->pcap = optarg;
            break;
        case O_TIMEOUT:
            o->timeout_ms = atoi(optarg);
            break;
        case O_HELP:
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return SUITE_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return bad("unexpected argument");
    o->dest_realm = o->realm;
    return check_opts(o);
}

static probe_pcap_t *start_capture(const suite_opts_t *o)
{
    int ports[2];
    size_t n = 0;
    sbi_url_t u = {0};
    char err[512];

    if (o->hss_port != 0)
        ports[n++] = o->hss_port;
    if (o->udm != NULL && sbi_url_parse(o->udm, &u) == 0)
        ports[n++] = u.port;
    probe_pcap_t *p =
        probe_pcap_start(o->pcap, o->udm != NULL ? u.host : o->hss_addr, ports, n, u.tls, err, sizeof err);
    if (p == NULL)
        fprintf(stderr, "mihua-probe suite: --pcap: %s\n", err);
    return p;
}

int probe_suite_main(int argc, char **argv)
{
    suite_opts_t o;
    report_t *r;
    diam_node_t *node = NULL;
    int rc = parse_opts(argc, argv, &o);

    if (rc != SUITE_EXIT_PASS)
        return rc == -1 ? SUITE_EXIT_PASS : rc;
    if ((r = malloc(sizeof *r)) == NULL)
        return SUITE_EXIT_FAIL;
    report_init(r);
    probe_pcap_t *cap = NULL;
    if (o.pcap != NULL && (cap = start_capture(&o)) == NULL) {
        free(r);
        return SUITE_EXIT_FAIL;
    }
    if (o.hss_port != 0)
        node = sh_cases(r, &o);
    if (o.udm != NULL)
        sbi_cases(r, &o);
    if (probe_pcap_stop(cap) != 0)
        report_add(r, "capture", "pcap", CASE_ERROR, 0, "the capture could not be completed");
    if (o.tap)
        report_tap(r, stdout);
    else
        report_text(r, stdout);
    if (o.junit != NULL && report_junit(r, o.junit) != 0)
        fprintf(stderr, "mihua-probe suite: cannot write %s\n", o.junit);
    rc = report_count(r, NULL, CASE_FAIL) + report_count(r, NULL, CASE_ERROR) == 0 ? SUITE_EXIT_PASS : SUITE_EXIT_FAIL;
    free(r);
    fflush(stdout);
    if (node != NULL)
        diam_node_stop_status(node, rc);
    return rc;
}
