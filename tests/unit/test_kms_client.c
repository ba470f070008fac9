/*
 * test_kms_client — kms/kms_client against the real kms/kms_api in one process (h2c on one event loop; the AS
 * call records are a route on the same server). Proves the Digest behaviour: the first request learns
 * the challenge from a 401, later ones reuse the nonce with nc+1 and cost no 401, a client with a wrong key gives
 * up after KMS_CLIENT_MAX_AUTH_ROUNDS; and the full issue → retrieve → 410 → delete cycle with both sides
 * unwrapping the same key. A second, fake KMS serves a tampered wrappedKey: the client reports BAD_ANSWER. A KMS
 * restarted under a UE's idle connection costs the UE's next key request nothing but a new challenge.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kms_api.h"
#include "kms_client.h"

#define WATCHDOG_S 10
#define CALL_ID "call-1@ue"

static const char *SUBS_JSON =
    "{\"subscribers\":["
    "{\"imsi\":\"001010000000001\",\"msisdn\":\"15550000001\",\"impu\":[\"tel:+15550000001\"],"
    "\"voice_encryption\":true,\"access\":{\"rat\":\"NR\",\"ims_vops\":true},"
    "\"kms_key\":\"0101010101010101010101010101010101010101010101010101010101010101\"},"
    "{\"imsi\":\"001010000000002\",\"msisdn\":\"15550000002\",\"impu\":[\"tel:+15550000002\"],"
    "\"voice_encryption\":true,\"access\":{\"rat\":\"NR\",\"ims_vops\":true},"
    "\"kms_key\":\"0202020202020202020202020202020202020202020202020202020202020202\"}]}";

typedef struct {
    struct event_base *base;
    char dir[64];
    sub_store_t *store;
    kms_keys_t *keys;
    kms_audit_t *audit;
    sbi_client_t *sbi; /* the KMS's AS client and the UEs' client: both on this loop */
    sbi_server_t *srv;
    kms_api_t *api;
    char url[64];
    struct event *watchdog;
} fx_t;

typedef struct {
    fx_t *fx;
    kms_client_result_t res;
    bool done;
} wait_t;

static void on_as(sbi_request_t *req, void *ud)
{
    (void)ud;
    json_t *rec = json_pack("{s:s, s:s, s:s, s:b, s:s}", "callId", sbi_request_capture(req, "callId"), "caller",
                            "tel:+15550000001", "callee", "15550000002", "encryptionAllowed", 1, "state", "early");
    sbi_respond_json(req, 200, rec);
    json_decref(rec);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    fail_msg("watchdog: no answer within %d s", WATCHDOG_S);
}

/* The KMS (and the AS's call records) on `port` (0: any; fx->url says which). */
static void start_kms(fx_t *fx, uint16_t port)
{
    fx->srv = sbi_server_new(fx->base, NULL);
    assert_int_equal(sbi_server_route(fx->srv, "GET", "/as/v1/calls/{callId}", on_as, NULL), 0);
    assert_int_equal(sbi_server_listen(fx->srv, "127.0.0.1", port), 0);
    snprintf(fx->url, sizeof fx->url, "http://127.0.0.1:%u", sbi_server_port(fx->srv));
    kms_api_cfg_t cfg = {fx->store, fx->keys, fx->audit, fx->sbi, fx->url, 1000, 60, NULL, NULL, NULL};
    fx->api = kms_api_new(fx->srv, &cfg);
    assert_non_null(fx->api);
}

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_kms_client.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    char path[128];
    snprintf(path, sizeof path, "%s/subs.json", fx->dir);
    FILE *f = fopen(path, "w");
    fputs(SUBS_JSON, f);
    fclose(f);
    sub_error_t err;
    fx->store = sub_store_new(NULL, path, &err);
    assert_non_null(fx->store);
    snprintf(path, sizeof path, "%s/audit.jsonl", fx->dir);
    fx->audit = kms_audit_open(path);
    fx->base = event_base_new();
    kms_keys_cfg_t kc = {.max_per_call = 64}; /* the tests issue series of keys for one call on purpose */
    fx->keys = kms_keys_new(&kc);
    fx->sbi = sbi_client_new(fx->base, NULL);
    start_kms(fx, 0);
    fx->watchdog = evtimer_new(fx->base, on_watchdog, NULL);
    struct timeval tv = {WATCHDOG_S, 0};
    evtimer_add(fx->watchdog, &tv);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    sbi_server_free(fx->srv);
    kms_api_free(fx->api);
    sbi_client_free(fx->sbi);
    kms_keys_free(fx->keys);
    event_free(fx->watchdog);
    event_base_free(fx->base);
    kms_audit_close(fx->audit);
    sub_store_free(fx->store);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

static kms_client_t *ue(fx_t *fx, const char *user, uint8_t fill)
{
    uint8_t key[KMS_KEY_LEN];
    memset(key, fill, sizeof key);
    kms_client_cfg_t cfg = {.base_url = fx->url, .username = user, .kms_key = key};
    kms_client_t *c = kms_client_new(fx->sbi, &cfg);
    assert_non_null(c);
    return c;
}

static void on_result(const kms_client_result_t *r, void *ud)
{
    wait_t *w = ud;
    w->res = *r; /* the session key is copied here for the test's comparison only */
    w->done = true;
    event_base_loopbreak(w->fx->base);
}

static void run(wait_t *w)
{
    while (!w->done)
        event_base_loop(w->fx->base, EVLOOP_ONCE);
}

static kms_client_result_t issue(fx_t *fx, kms_client_t *c)
{
    wait_t w = {.fx = fx};
    assert_int_equal(kms_client_issue(c, CALL_ID, "tel:+15550000001", "tel:+15550000002", on_result, &w), 0);
    run(&w);
    return w.res;
}

static kms_client_result_t retrieve(fx_t *fx, kms_client_t *c, const char *key_id)
{
    wait_t w = {.fx = fx};
    assert_int_equal(kms_client_retrieve(c, key_id, CALL_ID, "tel:+15550000001", "tel:+15550000002", on_result, &w), 0);
    run(&w);
    return w.res;
}

static void test_nonce_reuse(void **state)
{
    fx_t *fx = *state;
    kms_client_t *caller = ue(fx, "tel:+15550000001", 0x01);
    kms_client_result_t r = issue(fx, caller);
    assert_int_equal(r.status, KMS_CLIENT_OK);
    assert_int_equal(r.http_status, 201);
    assert_int_equal(r.auth_rounds, 1); /* learnt the challenge from a 401 */
    for (int i = 0; i < 5; i++) {
        r = issue(fx, caller);
        assert_int_equal(r.status, KMS_CLIENT_OK);
        assert_int_equal(r.auth_rounds, 0); /* nonce reused with nc+1: no 401 */
    }
    assert_int_equal(kms_client_challenges(caller), 1);
    kms_client_free(caller);
}

/* kms_client_prime: the 401 is its answer; afterwards the first issue needs no challenge round trip. */
static void test_prime(void **state)
{
    fx_t *fx = *state;
    kms_client_t *caller = ue(fx, "tel:+15550000001", 0x01);
    wait_t w = {.fx = fx};
    assert_int_equal(kms_client_prime(caller, on_result, &w), 0);
    run(&w);
    assert_int_equal(w.res.status, KMS_CLIENT_OK);
    assert_int_equal(w.res.http_status, 401);
    assert_int_equal(kms_client_challenges(caller), 1);
    kms_client_result_t r = issue(fx, caller);
    assert_int_equal(r.status, KMS_CLIENT_OK);
    assert_int_equal(r.auth_rounds, 0);
    assert_int_equal(kms_client_challenges(caller), 1);
    kms_client_free(caller);
}

static void test_wrong_key_gives_up(void **state)
{
    fx_t *fx = *state;
    kms_client_t *caller = ue(fx, "15550000001", 0x07);
    kms_client_result_t r = issue(fx, caller);
    assert_int_equal(r.status, KMS_CLIENT_REFUSED);
    assert_int_equal(r.http_status, 401);
    assert_string_equal(r.cause, KMS_CAUSE_AUTH_FAILED);
    assert_int_equal(r.auth_rounds, KMS_CLIENT_MAX_AUTH_ROUNDS);
    kms_client_free(caller);
}

static void test_cycle(void **state)
{
    fx_t *fx = *state;
    kms_client_t *caller = ue(fx, "tel:+15550000001", 0x01);
    kms_client_t *callee = ue(fx, "15550000002", 0x02);
    kms_client_result_t a = issue(fx, caller);
    assert_int_equal(a.status, KMS_CLIENT_OK);
    kms_client_result_t b = retrieve(fx, callee, a.key_id);
    assert_int_equal(b.status, KMS_CLIENT_OK);
    assert_string_equal(b.key_id, a.key_id);
    assert_memory_equal(b.session_key, a.session_key, KMS_KEY_LEN);
    assert_string_equal(b.expires_at, a.expires_at);
    b = retrieve(fx, callee, a.key_id);
    assert_int_equal(b.status, KMS_CLIENT_REFUSED);
    assert_int_equal(b.http_status, 410);
    assert_string_equal(b.cause, KMS_CAUSE_KEY_ALREADY_RETRIEVED);
    wait_t w = {.fx = fx};
    assert_int_equal(kms_client_delete(caller, a.key_id, on_result, &w), 0);
    run(&w);
    assert_int_equal(w.res.status, KMS_CLIENT_OK);
    assert_int_equal(w.res.http_status, 204);
    b = retrieve(fx, callee, a.key_id);
    assert_int_equal(b.http_status, 404);
    assert_string_equal(b.cause, KMS_CAUSE_KEY_NOT_FOUND);
    kms_cleanse(&a, sizeof a);
    kms_client_free(caller);
    kms_client_free(callee);
}

static void on_fake_issue(sbi_request_t *req, void *ud)
{
    (void)ud;
    static const char body[] = "{\"keyId\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"wrappedKey\":"
                               "\"6NcFsoGZpppH6xJZ2-MLGQ8leSco-U-B9OlYhmhe1lD-8Wfe_nq4Gg\",\"expiresAt\":\"x\"}";
    sbi_respond(req, 201, SBI_CT_JSON, body, sizeof body - 1);
}

static void test_bad_wrapped_key(void **state)
{
    fx_t *fx = *state;
    sbi_server_t *fake = sbi_server_new(fx->base, NULL);
    assert_int_equal(sbi_server_route(fake, "POST", "/kms/v1/session-keys", on_fake_issue, NULL), 0);
    assert_int_equal(sbi_server_listen(fake, "127.0.0.1", 0), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", sbi_server_port(fake));
    uint8_t key[KMS_KEY_LEN] = {1};
    kms_client_cfg_t cfg = {.base_url = url, .username = "15550000001", .kms_key = key};
    kms_client_t *c = kms_client_new(fx->sbi, &cfg);
    kms_client_result_t r = issue(fx, c);
    assert_int_equal(r.status, KMS_CLIENT_BAD_ANSWER);
    assert_int_equal(r.http_status, 201);
    kms_client_free(c);
    sbi_server_free(fake);
}

/* The KMS restarts while the UE's connection is idle (primed, as mihua-ue does after registering). The issue is a
 * POST, never resent blindly: it must go on a fresh connection at once, and only the lost nonce costs a 401. */
static void test_kms_restarted_while_idle(void **state)
{
    fx_t *fx = *state;
    kms_client_t *caller = ue(fx, "tel:+15550000001", 0x01);
    wait_t w = {.fx = fx};
    assert_int_equal(kms_client_prime(caller, on_result, &w), 0);
    run(&w);
    assert_int_equal(w.res.status, KMS_CLIENT_OK);
    uint16_t port = sbi_server_port(fx->srv);
    sbi_server_free(fx->srv);
    kms_api_free(fx->api);
    start_kms(fx, port);
    kms_client_result_t r = issue(fx, caller);
    assert_int_equal(r.status, KMS_CLIENT_OK);
    assert_int_equal(r.http_status, 201);
    assert_int_equal(r.auth_rounds, 1); /* the new KMS does not know the old nonce */
    kms_client_free(caller);
}

static void test_refused_arguments(void **state)
{
    fx_t *fx = *state;
    kms_client_t *c = ue(fx, "15550000001", 0x01);
    wait_t w = {.fx = fx};
    assert_int_equal(kms_client_retrieve(c, "short", CALL_ID, "a", "b", on_result, &w), -1);
    assert_int_equal(kms_client_issue(c, "", "a", "b", on_result, &w), -1);
    assert_int_equal(kms_client_issue(c, CALL_ID, NULL, "b", on_result, &w), -1);
    assert_int_equal(kms_client_delete(c, NULL, on_result, &w), -1);
    kms_client_free(c);
    kms_client_cfg_t bad = {.base_url = fx->url, .username = NULL, .kms_key = NULL};
    assert_null(kms_client_new(fx->sbi, &bad));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nonce_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prime, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key_gives_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_wrapped_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kms_restarted_while_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
