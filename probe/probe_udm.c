/*
 * probe_udm — `mihua-probe udm` and `mihua-probe kms` (see probe_udm.h), on probe_h2's one-connection client.
 * Both print, per request, the status, content type, latency and the JSON body indented (or, with --json, one
 * JSON object per request on its own line for scripts). Key material is never printed: a KMS answer's
 * wrappedKey is shown by its length only.
 */
#include "probe_udm.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms/http_digest.h"
#include "probe_h2.h"
#include "probe_pcap.h"
#include "sbi/sbi_url.h"

#define PROBE_TIMEOUT_MS 5000
enum { EXIT_OK = 0, EXIT_NO_ANSWER = 1, EXIT_USAGE = 2, EXIT_ERROR_ANSWER = 3 };

typedef struct {
    const char *url, *cacert, *pcap, *ue_id, *caller, *callee, *caller_key, *callee_key, *call_id;
    int timeout_ms;
    bool json;
} opts_t;

static void hide_key(json_t *j)
{
    const char *k = json_string_value(json_object_get(j, "wrappedKey"));
    if (k != NULL)
        json_object_set_new(j, "wrappedKey", json_sprintf("(%zu characters, not shown)", strlen(k)));
}

/* Prints one answer; returns its exit code. */
static int show(const opts_t *o, const char *what, const probe_h2_req_t *req, const probe_h2_resp_t *r)
{
    json_t *body = r->body != NULL ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;

    hide_key(body);
    if (o->json) {
        json_t *line =
            json_pack("{s:s,s:s,s:s,s:i,s:s,s:f,s:O*}", "request", what, "method", req->method, "path", req->path,
                      "status", r->status, "contentType", r->content_type, "latencyMs", r->latency_ms, "body", body);
        char *text = line != NULL ? json_dumps(line, JSON_COMPACT) : NULL;
        printf("%s\n", text != NULL ? text : "{}");
        free(text);
        json_decref(line);
    } else {
        printf("%s: %s %s -> ", what, req->method, req->path);
        if (r->status == 0)
            printf("%s\n", r->reset ? "stream reset" : "no answer");
        else
            printf("%d %s in %.2f ms\n", r->status, r->content_type[0] ? r->content_type : "(no content-type)",
                   r->latency_ms);
        char *text = body != NULL ? json_dumps(body, JSON_INDENT(2)) : NULL;
        if (text != NULL || r->body != NULL)
            printf("%s\n", text != NULL ? text : r->body);
        free(text);
    }
    json_decref(body);
    return r->status == 0 ? EXIT_NO_ANSWER : r->status >= 300 ? EXIT_ERROR_ANSWER : EXIT_OK;
}

static int worst(int a, int b)
{
    return a == EXIT_NO_ANSWER || b == EXIT_NO_ANSWER ? EXIT_NO_ANSWER : a > b ? a : b;
}

/* The connection, with the --pcap capture around it when asked (*cap); NULL after saying why on stderr. */
static probe_h2_t *open_conn(const opts_t *o, const char *cmd, probe_pcap_t **cap)
{
    sbi_url_t u;
    char err[512];
    probe_h2_t *c;

    *cap = NULL;
    if (o->pcap != NULL && sbi_url_parse(o->url, &u) == 0) {
        int port = u.port;
        if ((*cap = probe_pcap_start(o->pcap, u.host, &port, 1, u.tls, err, sizeof err)) == NULL) {
            fprintf(stderr, "mihua-probe %s: --pcap: %s\n", cmd, err);
            return NULL;
        }
    }
    if ((c = probe_h2_connect(o->url, o->cacert, o->timeout_ms, err, sizeof err)) == NULL) {
        fprintf(stderr, "mihua-probe %s: %s\n", cmd, err);
        probe_pcap_stop(*cap);
        *cap = NULL;
    }
    return c;
}

static int parse(int argc, char **argv, opts_t *o, bool kms)
{
    enum {
        O_URL = 256,
        O_CACERT,
        O_UE,
        O_CALLER,
        O_CALLEE,
        O_CALLER_KEY,
        O_CALLEE_KEY,
        O_CALL_ID,
        O_TIMEOUT,
        O_JSON,
        O_PCAP,
        O_HELP
    };
    static const struct option longopts[] = {{"udm", required_argument, NULL, O_URL},
                                             {"kms", required_argument, NULL, O_URL},
                                             {"cacert", required_argument, NULL, O_CACERT},
                                             {"ue-id", required_argument, NULL, O_UE},
                                             {"caller", required_argument, NULL, O_CALLER},
                                             {"callee", required_argument, NULL, O_CALLEE},
                                             {"caller-key", required_argument, NULL, O_CALLER_KEY},
                                             {"callee-key", required_argument, NULL, O_CALLEE_KEY},
                                             {"call-id", required_argument, NULL, O_CALL_ID},
                                             {"timeout-ms", required_argument, NULL, O_TIMEOUT},
                                             {"json", no_argument, NULL, O_JSON},
                                             {"pcap", required_argument, NULL, O_PCAP},
                                             {"help", no_argument, NULL, O_HELP},
                                             {NULL, 0, NULL, 0}};
    int opt;

    *o = (opts_t){.timeout_ms = PROBE_TIMEOUT_MS, .call_id = "mihua-probe-call"};
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case O_URL:
            o->url = optarg;
            break;
        case O_CACERT:
            o->cacert = optarg;
            break;
        case O_UE:
            o->ue_id = optarg;
            break;
        case O_CALLER:
            o->caller = optarg;
            break;
        case O_CALLEE:
            o->callee = optarg;
            break;
        case O_CALLER_KEY:
            o->caller_key = optarg;
            break;
        case O_CALLEE_KEY:
            o->callee_key = optarg;
            break;
        case O_CALL_ID:
            o->call_id = optarg;
            break;
        case O_TIMEOUT:
            o->timeout_ms = atoi(optarg);
            break;
        case O_JSON:
            o->json = true;
            break;
        case O_PCAP:
            o->pcap = optarg;
            break;
        case O_HELP:
            return -1;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind < argc || o->url == NULL || o->timeout_ms <= 0)
        return EXIT_USAGE;
    if (kms && (o->caller == NULL || o->callee == NULL || o->caller_key == NULL || o->callee_key == NULL))
        return EXIT_USAGE;
    return !kms && o->ue_id == NULL ? EXIT_USAGE : EXIT_OK;
}

int probe_udm_main(int argc, char **argv)
{
    opts_t o;
    char p[3][256];
    int rc = parse(argc, argv, &o, false);

    if (rc != EXIT_OK) {
        fprintf(rc == -1 ? stdout : stderr,
                "Usage: mihua-probe udm --udm URL --ue-id imsi-DIGITS|msisdn-DIGITS [--cacert FILE] [--json]\n"
                "       [--timeout-ms N] [--pcap FILE]\n"
                "The AS's three reads: Nudm_UECM amf-3gpp-access, Nudm_SDM am-data (imsi- only), Nudr_DR\n"
                "operator-specific-data, on one HTTP/2 connection (http:// h2c, https:// TLS + ALPN h2, SSLKEYLOGFILE\n"
                "honoured). --pcap FILE captures the exchange with dumpcap, TLS secrets embedded (editcap).\n"
                "Exit codes: 0 all 2xx, 3 an error answer, 1 no answer, 2 bad usage.\n");
        return rc == -1 ? EXIT_OK : EXIT_USAGE;
    }
    snprintf(p[0], sizeof p[0], "/nudm-uecm/v1/%s/registrations/amf-3gpp-access", o.ue_id);
    snprintf(p[1], sizeof p[1], "/nudm-sdm/v2/%s/am-data", o.ue_id);
    snprintf(p[2], sizeof p[2], "/nudr-dr/v2/subscription-data/%s/operator-specific-data?fields=voiceEncryption",
             o.ue_id);
    static const char *const what[] = {"amf-3gpp-access", "am-data", "operator-specific-data"};
    probe_pcap_t *cap = NULL;
    probe_h2_t *c = open_conn(&o, "udm", &cap);
    if (c == NULL)
        return EXIT_NO_ANSWER;
    for (size_t i = 0; i < 3; i++) {
        probe_h2_req_t req = {.method = "GET", .path = p[i]};
        probe_h2_resp_t resp;
        probe_h2_exchange(c, &req, &resp, 1, o.timeout_ms);
        rc = worst(rc, show(&o, what[i], &req, &resp));
        probe_h2_resp_clear(&resp);
    }
    probe_h2_close(c);
    return probe_pcap_stop(cap) == 0 ? rc : worst(rc, EXIT_ERROR_ANSWER);
}

/* One request answered with Digest: the first try draws the 401 challenge, the second carries the answer. */
static int digest_request(probe_h2_t *c, const opts_t *o, const char *what, probe_h2_req_t *req, const char *user,
                          const char *key, probe_h2_resp_t *resp)
{
    digest_challenge_t ch;
    char cnonce[DIGEST_CNONCE_LEN + 1], auth[1024];

    probe_h2_exchange(c, req, resp, 1, o->timeout_ms);
    if (resp->status != 401)
        return show(o, what, req, resp);
    if (digest_parse_challenge(resp->www_authenticate, strlen(resp->www_authenticate), &ch) != 0 ||
        digest_cnonce_new(cnonce) != 0 ||
        digest_build_authorization(&ch, user, key, req->method, req->path, cnonce, 1, auth, sizeof auth) < 0) {
        fprintf(stderr, "mihua-probe kms: %s: no usable Digest challenge in the 401\n", what);
        return EXIT_ERROR_ANSWER;
    }
    probe_h2_resp_clear(resp);
    req->authorization = auth;
    probe_h2_exchange(c, req, resp, 1, o->timeout_ms);
    req->authorization = NULL;
    return show(o, what, req, resp);
}

int probe_kms_main(int argc, char **argv)
{
    opts_t o;
    char body[512], path[256];
    probe_h2_resp_t resp;
    int rc = parse(argc, argv, &o, true);

    if (rc != EXIT_OK) {
        fprintf(rc == -1 ? stdout : stderr,
                "Usage: mihua-probe kms --kms URL --caller ID --caller-key HEX --callee ID --callee-key HEX\n"
                "       [--call-id ID] [--cacert FILE] [--json] [--timeout-ms N] [--pcap FILE]\n"
                "Issues a session key as the caller (POST /kms/v1/session-keys) and retrieves it as the callee\n"
                "(POST .../retrieve), each answering the HTTP Digest challenge (SHA-256) with that party's kms_key.\n"
                "The KMS asks the AS about the call: without a call the AS allowed, expect 403 CALL_NOT_AUTHORIZED.\n"
                "Keys are never printed. Exit codes: 0 both 2xx, 3 an error answer, 1 no answer, 2 bad usage.\n");
        return rc == -1 ? EXIT_OK : EXIT_USAGE;
    }
    probe_pcap_t *cap = NULL;
    probe_h2_t *c = open_conn(&o, "kms", &cap);
    if (c == NULL)
        return EXIT_NO_ANSWER;
    snprintf(body, sizeof body, "{\"callId\":\"%s\",\"caller\":\"%s\",\"callee\":\"%s\"}", o.call_id, o.caller,
             o.callee);
    probe_h2_req_t issue = {.method = "POST",
                            .path = "/kms/v1/session-keys",
                            .content_type = "application/json",
                            .body = body,
                            .body_len = strlen(body)};
    rc = digest_request(c, &o, "issue", &issue, o.caller, o.caller_key, &resp);
    json_t *j = resp.body != NULL ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
    const char *key_id = json_string_value(json_object_get(j, "keyId"));
    if (rc == EXIT_OK && key_id != NULL) {
        snprintf(path, sizeof path, "/kms/v1/session-keys/%s/retrieve", key_id);
        probe_h2_req_t retrieve = {
            .method = "POST", .path = path, .content_type = "application/json", .body = body, .body_len = strlen(body)};
        probe_h2_resp_t r2;
        rc = worst(rc, digest_request(c, &o, "retrieve", &retrieve, o.callee, o.callee_key, &r2));
        probe_h2_resp_clear(&r2);
    }
    json_decref(j);
    probe_h2_resp_clear(&resp);
    probe_h2_close(c);
    return probe_pcap_stop(cap) == 0 ? rc : worst(rc, EXIT_ERROR_ANSWER);
}
