/*
 * test_sbi_loop — lib/sbi server and client exchanging real HTTP/2 over 127.0.0.1 in one process, on one
 * event_base: h2c prior knowledge and TLS 1.3 + ALPN h2 (certificate generated here with the OpenSSL API).
 *
 * Covers: routing with captures and query, JSON echo, concurrent streams on one reused connection, every answer
 * the server gives on its own (400 bad JSON, 404, 405 + Allow, 413, 415, 431, 504), deferred answers including
 * one for a stream that went away (must be dropped, not used after free), client timeout and connect failure,
 * graceful drain, idle GOAWAY and transparent reconnection, bodies far above the output high-water mark and a TLS
 * record in both directions (the transport's partial writes, resumption when drained and multi-record reads), and
 * a server restarted under a pooled connection (h2c and TLS): an idle dead connection is never used, a GET the old
 * server dropped or refused (GOAWAY) is retried once on a fresh connection within its timeout, a POST never is. The
 * loop runs until the expected number of completions, bounded by a watchdog.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "sbi/sbi_client.h"
#include "sbi/sbi_server.h"
#include "sbi/sbi_tls.h"

#define WATCHDOG_MS 5000
#define MAX_RESULTS 64
#define TEST_MAX_BODY 1024
#define TEST_MAX_HEADER_LIST 2048
#define TEST_STREAM_TIMEOUT_MS 400
#define N_CONCURRENT 40

typedef struct {
    sbi_client_err_t error;
    int status;
    char content_type[64];
    char location[128];
    char allow[64];
    json_t *json;
    uint64_t elapsed_us;
} result_t;

typedef struct {
    struct event_base *base;
    sbi_server_t *srv;
    sbi_client_t *cli;
    SSL_CTX *srv_tls, *cli_tls;
    char dir[64];
    char base_url[64];
    result_t results[MAX_RESULTS];
    int n_results;
    bool watchdog_fired;
    /* deferred answers */
    sbi_handle_t pending;
    bool have_pending;
    int stale_found; /* sbi_server_find results for a stream that went away: must stay 0 */
    bool drained;
    sbi_server_t *old_srv; /* a draining server replaced by a restart (restart_server) */
} fx_t;

/* ------------------------------------------------------------------------------------------------ server side */

static void h_amf(sbi_request_t *req, void *ud)
{
    (void)ud;
    json_t *j = json_pack("{s:s, s:s?, s:s}", "ueId", sbi_request_capture(req, "ueId"), "fields",
                          sbi_request_query_param(req, "fields"), "method", sbi_request_method(req));
    sbi_respond_json(req, 200, j);
    json_decref(j);
}

static void h_echo(sbi_request_t *req, void *ud)
{
    (void)ud;
    json_t *body = sbi_request_json(req);
    if (!body) {
        sbi_respond_error(req, 400, SBI_CAUSE_MANDATORY_IE_MISSING, "body required");
        return;
    }
    sbi_header_t h[] = {{"content-type", SBI_CT_JSON}, {"location", "/echo/1"}};
    char *text = json_dumps(body, JSON_COMPACT);
    sbi_respond_ex(req, 201, h, 2, text, strlen(text));
    free(text);
}

/* Says how the body reached it: raw (the route's raw media type) or parsed JSON, and its length. */
static void h_raw_kind(sbi_request_t *req, void *ud)
{
    (void)ud;
    size_t len = 0;
    sbi_request_body(req, &len);
    json_t *j = json_pack("{s:b, s:b, s:I}", "raw", sbi_request_body_raw(req), "json", sbi_request_json(req) != NULL,
                          "len", (json_int_t)len);
    sbi_respond_json(req, 200, j);
    json_decref(j);
}

static void h_defer(sbi_request_t *req, void *ud)
{
    fx_t *fx = ud;
    fx->pending = sbi_request_handle(req);
    fx->have_pending = true;
}

static void h_ok(sbi_request_t *req, void *ud)
{
    (void)ud;
    sbi_respond(req, 200, SBI_CT_JSON, "{}", 2);
}

static void h_never(sbi_request_t *req, void *ud)
{
    (void)req;
    (void)ud; /* never answers: the server's stream timeout must (504) */
}

/* ------------------------------------------------------------------------------------------------ client side */

static void on_response(const sbi_client_response_t *resp, void *ud)
{
    fx_t *fx = ud;
    if (fx->n_results >= MAX_RESULTS)
        return;
    result_t *r = &fx->results[fx->n_results++];
    r->error = resp->error;
    r->status = resp->status;
    r->elapsed_us = resp->elapsed_us;
    snprintf(r->content_type, sizeof(r->content_type), "%s", resp->content_type ? resp->content_type : "");
    snprintf(r->location, sizeof(r->location), "%s", resp->location ? resp->location : "");
    const char *allow = sbi_client_response_header(resp, "allow");
    snprintf(r->allow, sizeof(r->allow), "%s", allow ? allow : "");
    r->json = resp->body_len ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    fx_t *fx = arg;
    fx->watchdog_fired = true;
    event_base_loopbreak(fx->base);
}

/* Runs the loop until `n` results arrived (or `*flag` is set, when given). */
static void run_until(fx_t *fx, int n, bool *flag)
{
    struct event *wd = evtimer_new(fx->base, watchdog_cb, fx);
    struct timeval tv = {WATCHDOG_MS / 1000, 0};
    evtimer_add(wd, &tv);
    while (!fx->watchdog_fired && (flag ? !*flag : fx->n_results < n))
        event_base_loop(fx->base, EVLOOP_ONCE);
    event_free(wd);
    assert_false(fx->watchdog_fired);
}

static void run_for_ms(fx_t *fx, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(fx->base, &tv);
    event_base_dispatch(fx->base);
}

static uint64_t request(fx_t *fx, const char *method, const char *path, const char *ct, const char *body,
                        const sbi_header_t *h, size_t nh, unsigned timeout_ms)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", fx->base_url, path);
    sbi_client_req_t rq = {.method = method,
                           .url = url,
                           .headers = h,
                           .n_headers = nh,
                           .content_type = ct,
                           .body = body,
                           .body_len = body ? strlen(body) : 0,
                           .timeout_ms = timeout_ms};
    uint64_t id = sbi_client_request(fx->cli, &rq, on_response, fx);
    assert_true(id > 0);
    return id;
}

static const char *jstr(const result_t *r, const char *key)
{
    return json_string_value(json_object_get(r->json, key));
}

/* ------------------------------------------------------------------------------------------------ fixtures */

static void make_cert(const char *dir)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    assert_non_null(pkey);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"mihua test", -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    assert_non_null(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);
    char path[128];
    snprintf(path, sizeof(path), "%s/cert.pem", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    PEM_write_X509(f, x);
    fclose(f);
    snprintf(path, sizeof(path), "%s/key.pem", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(pkey);
}

static int setup_common(void **state, bool tls)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    fx->base = event_base_new();
    char err[SBI_TLS_ERR_MAX];
    if (tls) {
        snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_sbi_XXXXXX");
        assert_non_null(mkdtemp(fx->dir));
        make_cert(fx->dir);
        char cert[128], key[128];
        snprintf(cert, sizeof(cert), "%s/cert.pem", fx->dir);
        snprintf(key, sizeof(key), "%s/key.pem", fx->dir);
        fx->srv_tls = sbi_tls_server_ctx_new(cert, key, err, sizeof(err));
        assert_non_null(fx->srv_tls);
        fx->cli_tls = sbi_tls_client_ctx_new(cert, err, sizeof(err));
        assert_non_null(fx->cli_tls);
    }
    sbi_server_config_t cfg = {.tls = fx->srv_tls,
                               .max_body = TEST_MAX_BODY,
                               .max_header_list = TEST_MAX_HEADER_LIST,
                               .stream_timeout_ms = TEST_STREAM_TIMEOUT_MS,
                               .name = "test"};
    fx->srv = sbi_server_new(fx->base, &cfg);
    assert_non_null(fx->srv);
    assert_int_equal(sbi_server_route(fx->srv, "GET", "/nudm-uecm/v1/{ueId}/registrations/amf-3gpp-access", h_amf, fx),
                     0);
    assert_int_equal(sbi_server_route(fx->srv, "POST", "/echo", h_echo, fx), 0);
    assert_int_equal(sbi_server_route(fx->srv, "GET", "/defer", h_defer, fx), 0);
    assert_int_equal(sbi_server_route(fx->srv, "POST", "/defer", h_defer, fx), 0);
    assert_int_equal(sbi_server_route(fx->srv, "GET", "/never", h_never, fx), 0);
    assert_int_equal(sbi_server_route_raw(fx->srv, "POST", "/lines", "application/x-ndjson", h_raw_kind, fx), 0);
    assert_int_equal(sbi_server_listen(fx->srv, "127.0.0.1", 0), 0);
    assert_true(sbi_server_port(fx->srv) > 0);
    snprintf(fx->base_url, sizeof(fx->base_url), "%s://127.0.0.1:%u", tls ? "https" : "http", sbi_server_port(fx->srv));
    sbi_client_config_t ccfg = {.tls = fx->cli_tls, .default_timeout_ms = 2000};
    fx->cli = sbi_client_new(fx->base, &ccfg);
    assert_non_null(fx->cli);
    *state = fx;
    return 0;
}

static int setup_h2c(void **state)
{
    return setup_common(state, false);
}
static int setup_tls(void **state)
{
    return setup_common(state, true);
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    for (int i = 0; i < fx->n_results; i++)
        json_decref(fx->results[i].json);
    sbi_client_free(fx->cli);
    sbi_server_free(fx->srv);
    sbi_server_free(fx->old_srv);
    SSL_CTX_free(fx->srv_tls);
    SSL_CTX_free(fx->cli_tls);
    event_base_free(fx->base);
    if (fx->dir[0]) {
        char path[128];
        snprintf(path, sizeof(path), "%s/cert.pem", fx->dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/key.pem", fx->dir);
        unlink(path);
        rmdir(fx->dir);
    }
    free(fx);
    return 0;
}

/* ------------------------------------------------------------------------------------------------ tests */

static void test_get_with_capture_and_query(void **state)
{
    fx_t *fx = *state;
    request(fx, "GET", "/nudm-uecm/v1/imsi-001010000000001/registrations/amf-3gpp-access?fields=voice%20Enc", NULL,
            NULL, NULL, 0, 0);
    run_until(fx, 1, NULL);
    result_t *r = &fx->results[0];
    assert_int_equal(r->error, SBI_CLIENT_OK);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->content_type, "application/json");
    assert_string_equal(jstr(r, "ueId"), "imsi-001010000000001");
    assert_string_equal(jstr(r, "fields"), "voice Enc");
}

static void test_concurrent_streams_one_connection(void **state)
{
    fx_t *fx = *state;
    for (int i = 0; i < N_CONCURRENT; i++) {
        char path[128];
        snprintf(path, sizeof(path), "/nudm-uecm/v1/imsi-%015d/registrations/amf-3gpp-access", i);
        request(fx, "GET", path, NULL, NULL, NULL, 0, 0);
    }
    assert_int_equal(sbi_client_connection_count(fx->cli), 1);
    run_until(fx, N_CONCURRENT, NULL);
    bool seen[N_CONCURRENT] = {0};
    for (int i = 0; i < N_CONCURRENT; i++) {
        assert_int_equal(fx->results[i].status, 200);
        int n = atoi(jstr(&fx->results[i], "ueId") + 5);
        assert_true(n >= 0 && n < N_CONCURRENT);
        seen[n] = true;
    }
    for (int i = 0; i < N_CONCURRENT; i++)
        assert_true(seen[i]);
    assert_int_equal(sbi_client_connection_count(fx->cli), 1);
    assert_int_equal(sbi_server_connection_count(fx->srv), 1);
}

static void test_post_json_echo(void **state)
{
    fx_t *fx = *state;
    request(fx, "POST", "/echo", "application/json; charset=utf-8", "{\"a\":[1,2,3],\"b\":\"x\"}", NULL, 0, 0);
    request(fx, "POST", "/echo", "application/merge-patch+json", "{\"c\":true}", NULL, 0, 0);
    run_until(fx, 2, NULL);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(fx->results[i].status, 201);
        assert_string_equal(fx->results[i].location, "/echo/1");
        assert_non_null(fx->results[i].json);
    }
}

static void assert_problem(const result_t *r, int status, const char *cause)
{
    assert_int_equal(r->error, SBI_CLIENT_OK);
    assert_int_equal(r->status, status);
    assert_string_equal(r->content_type, SBI_CT_PROBLEM);
    assert_non_null(r->json);
    assert_int_equal(json_integer_value(json_object_get(r->json, "status")), status);
    assert_non_null(jstr(r, "title"));
    if (cause)
        assert_string_equal(jstr(r, "cause"), cause);
    else
        assert_null(json_object_get(r->json, "cause"));
}

/* One request at a time, so result k is request k. */
static const result_t *request_one(fx_t *fx, const char *path, const char *ct, const char *body)
{
    int k = fx->n_results;
    request(fx, "POST", path, ct, body, NULL, 0, 0);
    run_until(fx, k + 1, NULL);
    return &fx->results[k];
}

static void assert_body_kind(const result_t *r, bool raw, bool json, json_int_t len)
{
    assert_int_equal(r->status, 200);
    assert_non_null(r->json);
    assert_int_equal(json_is_true(json_object_get(r->json, "raw")), raw);
    assert_int_equal(json_is_true(json_object_get(r->json, "json")), json);
    assert_int_equal(json_integer_value(json_object_get(r->json, "len")), len);
}

/* A raw route takes its one media type unparsed, still parses JSON first, and refuses anything else with 415;
 * every other route still refuses that media type. */
static void test_raw_body_route(void **state)
{
    fx_t *fx = *state;
    const char *lines = "{\"a\":1}\n{\"a\":\n";
    assert_body_kind(request_one(fx, "/lines", "application/x-ndjson", lines), true, false, (json_int_t)strlen(lines));
    assert_body_kind(request_one(fx, "/lines", "Application/X-NDJSON ; charset=utf-8", "x"), true, false, 1);
    assert_body_kind(request_one(fx, "/lines", "application/json", "{\"a\":1}"), false, true, 7);
    const result_t *r = request_one(fx, "/lines", "application/json", "{\"a\":"); /* JSON: checked before */
    assert_problem(r, 400, SBI_CAUSE_INVALID_MSG_FORMAT);
    assert_non_null(strstr(jstr(r, "detail"), "body:1:"));
    r = request_one(fx, "/lines", "application/x-ndjsonx", "x"); /* the type itself, not a prefix of it */
    assert_problem(r, 415, SBI_CAUSE_UNSUPPORTED_MEDIA_TYPE);
    assert_non_null(strstr(jstr(r, "detail"), "nor application/x-ndjson"));
    assert_problem(request_one(fx, "/lines", "text/plain", "x"), 415, SBI_CAUSE_UNSUPPORTED_MEDIA_TYPE);
    assert_problem(request_one(fx, "/echo", "application/x-ndjson", "{}\n"), 415, SBI_CAUSE_UNSUPPORTED_MEDIA_TYPE);
}

static void test_server_errors(void **state)
{
    fx_t *fx = *state;
    char big[TEST_MAX_BODY * 4];
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[0] = '[';
    big[sizeof(big) - 2] = ']';
    char long_value[TEST_MAX_HEADER_LIST + 100];
    memset(long_value, 'x', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = '\0';
    sbi_header_t long_header = {"x-padding", long_value};

    request(fx, "POST", "/echo", "application/json", "{\"a\":", NULL, 0, 0); /* 0: bad JSON */
    request(fx, "POST", "/echo", "text/plain", "hello", NULL, 0, 0);         /* 1: 415 */
    request(fx, "POST", "/echo", "application/json", big, NULL, 0, 0);       /* 2: 413 */
    request(fx, "GET", "/nope", NULL, NULL, NULL, 0, 0);                     /* 3: 404 */
    request(fx, "DELETE", "/echo", NULL, NULL, NULL, 0, 0);                  /* 4: 405 */
    request(fx, "GET", "/echo", NULL, NULL, &long_header, 1, 0);             /* 5: 431 */
    request(fx, "POST", "/echo", NULL, NULL, NULL, 0, 0);                    /* 6: handler's 400 */
    run_until(fx, 7, NULL);
    /* completions may arrive in any order; sort by what each one is */
    int seen = 0;
    for (int i = 0; i < 7; i++) {
        result_t *r = &fx->results[i];
        switch (r->status) {
        case 400:
            if (strcmp(jstr(r, "cause"), SBI_CAUSE_INVALID_MSG_FORMAT) == 0) {
                assert_non_null(strstr(jstr(r, "detail"), "body:1:"));
                seen |= 1;
            } else {
                assert_problem(r, 400, SBI_CAUSE_MANDATORY_IE_MISSING);
                seen |= 64;
            }
            break;
        case 415:
            assert_problem(r, 415, SBI_CAUSE_UNSUPPORTED_MEDIA_TYPE);
            seen |= 2;
            break;
        case 413:
            assert_problem(r, 413, SBI_CAUSE_PAYLOAD_TOO_LARGE);
            seen |= 4;
            break;
        case 404:
            assert_problem(r, 404, SBI_CAUSE_RESOURCE_URI_STRUCTURE_NOT_FOUND);
            seen |= 8;
            break;
        case 405:
            assert_problem(r, 405, NULL);
            assert_string_equal(r->allow, "POST");
            seen |= 16;
            break;
        case 431:
            assert_problem(r, 431, NULL);
            seen |= 32;
            break;
        default:
            fail_msg("unexpected status %d (error %d)", r->status, r->error);
        }
    }
    assert_int_equal(seen, 127);
    /* the connection survived all of it */
    request(fx, "GET", "/nudm-uecm/v1/msisdn-15550000001/registrations/amf-3gpp-access", NULL, NULL, NULL, 0, 0);
    run_until(fx, 8, NULL);
    assert_int_equal(fx->results[7].status, 200);
    assert_int_equal(sbi_client_connection_count(fx->cli), 1);
}

static void test_deferred_answer(void **state)
{
    fx_t *fx = *state;
    request(fx, "GET", "/defer", NULL, NULL, NULL, 0, 0);
    while (!fx->have_pending)
        event_base_loop(fx->base, EVLOOP_ONCE);
    sbi_request_t *req = sbi_server_find(fx->srv, fx->pending);
    assert_non_null(req);
    assert_string_equal(sbi_request_path(req), "/defer");
    assert_int_equal(sbi_respond(req, 204, NULL, NULL, 0), 0);
    assert_null(sbi_server_find(fx->srv, fx->pending)); /* answered */
    run_until(fx, 1, NULL);
    assert_int_equal(fx->results[0].status, 204);
}

static void test_deferred_stream_gone(void **state)
{
    fx_t *fx = *state;
    request(fx, "GET", "/defer", NULL, NULL, NULL, 0, 100); /* client gives up after 100 ms */
    run_until(fx, 1, NULL);
    assert_int_equal(fx->results[0].error, SBI_CLIENT_ERR_TIMEOUT);
    assert_true(fx->have_pending);
    run_for_ms(fx, 50);                                 /* let the RST_STREAM arrive */
    assert_null(sbi_server_find(fx->srv, fx->pending)); /* detected, not used after free */
    sbi_handle_t bogus = {fx->pending.conn_id + 1000, 1};
    assert_null(sbi_server_find(fx->srv, bogus));
}

static void test_server_stream_timeout_504(void **state)
{
    fx_t *fx = *state;
    request(fx, "GET", "/never", NULL, NULL, NULL, 0, 2000);
    run_until(fx, 1, NULL);
    assert_problem(&fx->results[0], 504, SBI_CAUSE_TIMED_OUT_REQUEST);
}

static void test_connect_refused(void **state)
{
    fx_t *fx = *state;
    sbi_server_t *tmp = sbi_server_new(fx->base, NULL);
    assert_int_equal(sbi_server_listen(tmp, "127.0.0.1", 0), 0);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/x", sbi_server_port(tmp));
    sbi_server_free(tmp); /* the port is now closed */
    sbi_client_req_t rq = {.method = "GET", .url = url};
    assert_true(sbi_client_request(fx->cli, &rq, on_response, fx) > 0);
    run_until(fx, 1, NULL);
    assert_int_equal(fx->results[0].error, SBI_CLIENT_ERR_CONNECT);
    sbi_client_req_t bad = {.method = "GET", .url = "gopher://x/"};
    assert_int_equal(sbi_client_request(fx->cli, &bad, on_response, fx), 0);
    sbi_client_req_t https = {.method = "GET", .url = "https://127.0.0.1:1/"};
    assert_int_equal(sbi_client_request(fx->cli, &https, on_response, fx), 0); /* no TLS context */
}

static void test_cancel(void **state)
{
    fx_t *fx = *state;
    uint64_t id = request(fx, "GET", "/defer", NULL, NULL, NULL, 0, 0);
    request(fx, "GET", "/nudm-uecm/v1/imsi-1/registrations/amf-3gpp-access", NULL, NULL, NULL, 0, 0);
    assert_int_equal(sbi_client_cancel(fx->cli, id), 0);
    assert_int_equal(sbi_client_cancel(fx->cli, id), -1);
    run_until(fx, 1, NULL);
    run_for_ms(fx, 50);
    assert_int_equal(fx->n_results, 1);
    assert_int_equal(fx->results[0].status, 200);
}

static void test_idle_goaway_then_reconnect(void **state)
{
    fx_t *fx = *state;
    sbi_server_config_t cfg = {.idle_timeout_ms = 100, .name = "idle"};
    sbi_server_t *srv = sbi_server_new(fx->base, &cfg);
    assert_int_equal(sbi_server_route(srv, "GET", "/echo", h_ok, fx), 0);
    assert_int_equal(sbi_server_listen(srv, "127.0.0.1", 0), 0);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/echo", sbi_server_port(srv));
    sbi_client_req_t rq = {.method = "GET", .url = url};
    assert_true(sbi_client_request(fx->cli, &rq, on_response, fx) > 0);
    run_until(fx, 1, NULL);
    assert_int_equal(fx->results[0].status, 200);
    run_for_ms(fx, 400); /* idle: GOAWAY, both sides close */
    assert_int_equal(sbi_server_connection_count(srv), 0);
    assert_int_equal(sbi_client_connection_count(fx->cli), 0);
    assert_true(sbi_client_request(fx->cli, &rq, on_response, fx) > 0); /* a fresh connection, transparently */
    run_until(fx, 2, NULL);
    assert_int_equal(fx->results[1].status, 200);
    sbi_server_free(srv);
}

static void on_drained(void *ud)
{
    fx_t *fx = ud;
    fx->drained = true;
}

/* Large bodies: the raw body comes back as it went (a JSON string member of BIG_BODY bytes). */
#define BIG_BODY (900 * 1024)
#define BIG_PARALLEL 3

static void h_echo_raw(sbi_request_t *req, void *ud)
{
    (void)ud;
    size_t len;
    const void *body = sbi_request_body(req, &len);
    sbi_respond(req, 200, SBI_CT_JSON, body, len);
}

typedef struct {
    fx_t *fx;
    const char *want;
    size_t want_len;
    int ok;
} big_t;

static void on_big(const sbi_client_response_t *resp, void *ud)
{
    big_t *b = ud;
    b->ok += resp->error == SBI_CLIENT_OK && resp->status == 200 && resp->body_len == b->want_len &&
             memcmp(resp->body, b->want, b->want_len) == 0;
    b->fx->n_results++;
}

static void test_big_bodies(void **state)
{
    fx_t *fx = *state;
    sbi_server_config_t cfg = {.tls = fx->srv_tls, .name = "big"}; /* default max body: 1 MiB */
    sbi_server_t *srv = sbi_server_new(fx->base, &cfg);
    assert_int_equal(sbi_server_route(srv, "POST", "/raw", h_echo_raw, fx), 0);
    assert_int_equal(sbi_server_listen(srv, "127.0.0.1", 0), 0);
    char url[128];
    snprintf(url, sizeof(url), "%s://127.0.0.1:%u/raw", fx->srv_tls ? "https" : "http", sbi_server_port(srv));
    char *body = malloc(BIG_BODY);
    assert_non_null(body);
    memset(body, 'a', BIG_BODY);
    memcpy(body, "{\"x\":\"", 6);
    memcpy(body + BIG_BODY - 2, "\"}", 2);
    for (size_t i = 6; i < BIG_BODY - 2; i += 4099)
        body[i] = (char)('b' + i % 20); /* not one repeated byte */
    big_t b = {.fx = fx, .want = body, .want_len = BIG_BODY};
    sbi_client_req_t rq = {.method = "POST",
                           .url = url,
                           .content_type = SBI_CT_JSON,
                           .body = body,
                           .body_len = BIG_BODY,
                           .timeout_ms = 4000};
    for (int i = 0; i < BIG_PARALLEL; i++)
        assert_true(sbi_client_request(fx->cli, &rq, on_big, &b) > 0);
    run_until(fx, BIG_PARALLEL, NULL);
    assert_int_equal(b.ok, BIG_PARALLEL);
    assert_true(sbi_client_request(fx->cli, &rq, on_big, &b) > 0); /* the connection is still good */
    run_until(fx, BIG_PARALLEL + 1, NULL);
    assert_int_equal(b.ok, BIG_PARALLEL + 1);
    assert_int_equal(sbi_client_connection_count(fx->cli), 1);
    sbi_server_free(srv);
    free(body);
}

static void test_drain(void **state)
{
    fx_t *fx = *state;
    request(fx, "GET", "/defer", NULL, NULL, NULL, 0, 0);
    while (!fx->have_pending)
        event_base_loop(fx->base, EVLOOP_ONCE);
    sbi_server_drain(fx->srv, on_drained, fx);
    run_for_ms(fx, 50);
    assert_false(fx->drained); /* the in-flight stream holds the connection */
    sbi_request_t *req = sbi_server_find(fx->srv, fx->pending);
    assert_non_null(req);
    sbi_respond(req, 200, "application/json", "{}", 2);
    run_until(fx, 1, &fx->drained);
    run_until(fx, 1, NULL); /* the client's completion is delivered on its own loop turn */
    assert_int_equal(fx->results[0].status, 200);
    assert_int_equal(sbi_server_connection_count(fx->srv), 0);
}

/* ------------------------------------------------------------------------------------------------ restarts */

/* A retry must fit inside the request's own timeout (the AS gives its lookups 300 ms); 2 s leaves room for a
 * sanitizer build on a loaded machine, where 300 ms was seen to run out before the reconnect. */
#define RETRY_BUDGET_MS 2000

/* The server restarted on the same port: the old instance is gone (its sockets closed) and the new one answers
 * /defer at once, so a request that reaches it proves where it went. `drain`: the old one drains (GOAWAY) instead
 * of vanishing. */
static void restart_server_with(fx_t *fx, bool drain, sbi_handler_fn defer_handler)
{
    uint16_t port = sbi_server_port(fx->srv);
    if (drain) {
        sbi_server_drain(fx->srv, on_drained, fx); /* closes its listener now, its connection after the GOAWAY */
    } else {
        sbi_server_free(fx->srv);
        fx->srv = NULL;
    }
    sbi_server_config_t cfg = {.tls = fx->srv_tls, .name = "restarted"};
    sbi_server_t *srv = sbi_server_new(fx->base, &cfg);
    assert_non_null(srv);
    assert_int_equal(sbi_server_route(srv, "GET", "/defer", defer_handler, fx), 0);
    assert_int_equal(sbi_server_route(srv, "POST", "/defer", h_ok, fx), 0);
    assert_int_equal(sbi_server_route(srv, "POST", "/echo", h_echo, fx), 0);
    assert_int_equal(sbi_server_listen(srv, "127.0.0.1", port), 0);
    fx->old_srv = fx->srv;
    fx->srv = srv;
}

static void restart_server(fx_t *fx, bool drain)
{
    restart_server_with(fx, drain, h_ok);
}

/* One established connection, idle. */
static void warm_up(fx_t *fx)
{
    request(fx, "GET", "/nudm-uecm/v1/imsi-1/registrations/amf-3gpp-access", NULL, NULL, NULL, 0, 0);
    run_until(fx, 1, NULL);
    assert_int_equal(fx->results[0].status, 200);
    assert_int_equal(sbi_client_connection_count(fx->cli), 1);
}

/* The index of a result after the warm-up's with this outcome, or -1. */
static int find_result(const fx_t *fx, sbi_client_err_t error, int status)
{
    for (int i = 1; i < fx->n_results; i++)
        if (fx->results[i].error == error && fx->results[i].status == status)
            return i;
    return -1;
}

/* The peer's FIN is in the socket but the loop has not run: the idle connection is not used, even for a POST. */
static void test_restart_idle_connection_not_used(void **state)
{
    fx_t *fx = *state;
    warm_up(fx);
    restart_server(fx, false);
    request(fx, "POST", "/echo", SBI_CT_JSON, "{\"a\":1}", NULL, 0, RETRY_BUDGET_MS);
    run_until(fx, 2, NULL);
    assert_int_equal(fx->results[1].error, SBI_CLIENT_OK);
    assert_int_equal(fx->results[1].status, 201);
    assert_int_equal(sbi_client_connection_count(fx->cli), 1);
    assert_int_equal(sbi_server_connection_count(fx->srv), 1);
}

/* The loop drops an idle connection the peer closed as soon as it sees the EOF. */
static void test_restart_idle_eof_noticed_at_once(void **state)
{
    fx_t *fx = *state;
    warm_up(fx);
    restart_server(fx, false);
    struct event *wd = evtimer_new(fx->base, watchdog_cb, fx);
    struct timeval tv = {WATCHDOG_MS / 1000, 0};
    evtimer_add(wd, &tv);
    while (!fx->watchdog_fired && sbi_client_connection_count(fx->cli) > 0)
        event_base_loop(fx->base, EVLOOP_ONCE);
    event_free(wd);
    assert_false(fx->watchdog_fired);
    request(fx, "POST", "/echo", SBI_CT_JSON, "{\"a\":1}", NULL, 0, RETRY_BUDGET_MS);
    run_until(fx, 2, NULL);
    assert_int_equal(fx->results[1].status, 201);
}

/* The old server took the request and died before answering: the GET is retried on the new one within its own
 * timeout. */
static void test_restart_mid_request_get_retried(void **state)
{
    fx_t *fx = *state;
    warm_up(fx);
    request(fx, "GET", "/defer", NULL, NULL, NULL, 0, RETRY_BUDGET_MS);
    run_until(fx, 1, &fx->have_pending);
    restart_server(fx, false);
    run_until(fx, 2, NULL);
    assert_int_equal(fx->results[1].error, SBI_CLIENT_OK);
    assert_int_equal(fx->results[1].status, 200); /* the restarted server's answer */
    assert_int_equal(sbi_server_connection_count(fx->srv), 1);
}

/* The retry spends the request's own budget: it keeps the timer started at submission. The old server dies well
 * into the budget and the new one never answers, so a timer re-armed at the retry would end the request at
 * RESTART_AFTER_MS + BUDGET_MS or later, the right one at BUDGET_MS. */
#define BUDGET_MS 1500
#define RESTART_AFTER_MS 300 /* before the fixture server's own stream timeout (504) */
static void test_restart_retry_within_budget(void **state)
{
    fx_t *fx = *state;
    warm_up(fx);
    request(fx, "GET", "/defer", NULL, NULL, NULL, 0, BUDGET_MS);
    run_until(fx, 1, &fx->have_pending);
    run_for_ms(fx, RESTART_AFTER_MS);
    restart_server_with(fx, false, h_never);
    run_until(fx, 2, NULL);
    assert_int_equal(fx->results[1].error, SBI_CLIENT_ERR_TIMEOUT);
    assert_true(fx->results[1].elapsed_us >= (BUDGET_MS - 10) * 1000ull); /* libevent's coarse clock: a jiffy */
    assert_true(fx->results[1].elapsed_us < (RESTART_AFTER_MS + BUDGET_MS) * 1000ull);
    assert_int_equal(sbi_server_connection_count(fx->srv), 1); /* it was retried, on the new server */
}

/* The same for a POST: the server may have acted on it, so it fails and nothing is resent. */
static void test_restart_mid_request_post_not_retried(void **state)
{
    fx_t *fx = *state;
    warm_up(fx);
    request(fx, "POST", "/defer", SBI_CT_JSON, "{\"a\":1}", NULL, 0, RETRY_BUDGET_MS);
    run_until(fx, 1, &fx->have_pending);
    restart_server(fx, false);
    run_until(fx, 2, NULL);
    assert_int_equal(fx->results[1].error, SBI_CLIENT_ERR_CONNECTION);
    run_for_ms(fx, 50);
    assert_int_equal(sbi_server_connection_count(fx->srv), 0);
    assert_int_equal(sbi_client_connection_count(fx->cli), 0);
}

/* A graceful restart: the old server sends GOAWAY (last-stream-id = the warm-up's stream) while a GET and a POST
 * are on their way. Both streams are refused, unprocessed; the GET goes again to the new instance, the POST is
 * reported (a caller may resend a refused POST itself: RFC 9113 §8.7). */
static void test_restart_goaway_get_retried_post_not(void **state)
{
    fx_t *fx = *state;
    warm_up(fx);
    request(fx, "GET", "/defer", NULL, NULL, NULL, 0, RETRY_BUDGET_MS);
    request(fx, "POST", "/echo", SBI_CT_JSON, "{\"a\":1}", NULL, 0, RETRY_BUDGET_MS);
    restart_server(fx, true);
    run_until(fx, 3, NULL);
    assert_true(find_result(fx, SBI_CLIENT_OK, 200) > 0);      /* the GET, answered by the new server */
    assert_true(find_result(fx, SBI_CLIENT_ERR_RESET, 0) > 0); /* the POST */
    assert_int_equal(sbi_server_connection_count(fx->srv), 1);
    run_until(fx, 3, &fx->drained); /* the old server closed its connection: nothing was left on it */
    assert_int_equal(sbi_client_connection_count(fx->cli), 1);
}

static void test_tls_round_trip(void **state)
{
    fx_t *fx = *state;
    for (int i = 0; i < 5; i++)
        request(fx, "GET", "/nudm-uecm/v1/imsi-001010000000002/registrations/amf-3gpp-access", NULL, NULL, NULL, 0, 0);
    request(fx, "POST", "/echo", "application/json", "{\"tls\":true}", NULL, 0, 0);
    run_until(fx, 6, NULL);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(fx->results[i].error, SBI_CLIENT_OK);
        assert_true(fx->results[i].status == 200 || fx->results[i].status == 201);
    }
    assert_int_equal(sbi_client_connection_count(fx->cli), 1);
}

static void test_tls_untrusted_fails(void **state)
{
    fx_t *fx = *state;
    char err[SBI_TLS_ERR_MAX];
    SSL_CTX *other = sbi_tls_client_ctx_new(NULL, err, sizeof(err)); /* system CAs: our cert is unknown */
    assert_non_null(other);
    sbi_client_config_t cfg = {.tls = other};
    sbi_client_t *cli = sbi_client_new(fx->base, &cfg);
    char url[128];
    snprintf(url, sizeof(url), "%s/echo", fx->base_url);
    sbi_client_req_t rq = {.method = "GET", .url = url};
    assert_true(sbi_client_request(cli, &rq, on_response, fx) > 0);
    run_until(fx, 1, NULL);
    assert_int_equal(fx->results[0].error, SBI_CLIENT_ERR_CONNECT);
    sbi_client_free(cli);
    SSL_CTX_free(other);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as every daemon does: a peer closing must not kill the process */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_with_capture_and_query, setup_h2c, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_streams_one_connection, setup_h2c, teardown),
        cmocka_unit_test_setup_teardown(test_post_json_echo, setup_h2c, teardown),
        cmocka_unit_test_setup_teardown(test_server_errors, setup_h2c, teardown),
        cmocka_unit_test_setup_teardown(test_raw_body_route, setup_h2c, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_answer, setup_h2c, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_stream_gone, setup_h2c, teardown),
        cmocka_unit_test_setup_teardown(test_server_stream_timeout_504, setup_h2c, teardown),
        cmocka_unit_test_setup_teardown(test_connect_refused, setup_h2c, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup_h2c, teardown),
        cmocka_unit_test_setup_teardown(test_drain, setup_h2c, teardown),
        cmocka_unit_test_setup_teardown(test_idle_goaway_then_reconnect, setup_h2c, teardown),
        cmocka_unit_test_setup_teardown(test_big_bodies, setup_h2c, teardown),
        cmocka_unit_test_setup_teardown(test_restart_idle_connection_not_used, setup_h2c, teardown),
        cmocka_unit_test_setup_teardown(test_restart_idle_eof_noticed_at_once, setup_h2c, teardown),
        cmocka_unit_test_setup_teardown(test_restart_mid_request_get_retried, setup_h2c, teardown),
        cmocka_unit_test_setup_teardown(test_restart_mid_request_post_not_retried, setup_h2c, teardown),
        cmocka_unit_test_setup_teardown(test_restart_retry_within_budget, setup_h2c, teardown),
        cmocka_unit_test_setup_teardown(test_restart_goaway_get_retried_post_not, setup_h2c, teardown),
        cmocka_unit_test_setup_teardown(test_tls_round_trip, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_restart_idle_connection_not_used, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_restart_mid_request_get_retried, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_restart_goaway_get_retried_post_not, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_big_bodies, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_tls_untrusted_fails, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(test_server_errors, setup_tls, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
