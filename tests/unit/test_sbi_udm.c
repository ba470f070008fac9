/*
 * test_sbi_udm — udm_sim/udm_nudm_path in one process: ueId validation (TS 29.571 Supi/Gpsi patterns), and the
 * pre-rendered answer bodies served over real h2c to the lib/sbi client, refreshed after a store reload
 * (a reload must refresh them).
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

#include "sbi/sbi_client.h"
#include "udm_nudm_path.h"

#define WATCHDOG_S 5

static void test_ue_id_parse(void **state)
{
    (void)state;
    const char *d = NULL;
    assert_int_equal(udm_ue_id_parse("imsi-001010000000001", &d), UDM_ID_IMSI);
    assert_string_equal(d, "001010000000001");
    assert_int_equal(udm_ue_id_parse("msisdn-15550000001", &d), UDM_ID_MSISDN);
    assert_string_equal(d, "15550000001");
    assert_int_equal(udm_ue_id_parse("imsi-12345", NULL), UDM_ID_IMSI); /* 5 digits: the minimum */
    assert_int_equal(udm_ue_id_parse("imsi-1234", NULL), UDM_ID_INVALID);
    assert_int_equal(udm_ue_id_parse("imsi-1234567890123456", NULL), UDM_ID_INVALID); /* 16 digits */
    assert_int_equal(udm_ue_id_parse("imsi-", NULL), UDM_ID_INVALID);
    assert_int_equal(udm_ue_id_parse("imsi-00101a", NULL), UDM_ID_INVALID);
    assert_int_equal(udm_ue_id_parse("IMSI-001010000000001", NULL), UDM_ID_INVALID);
    assert_int_equal(udm_ue_id_parse("msisdn-+15550000001", NULL), UDM_ID_INVALID);
    assert_int_equal(udm_ue_id_parse("nai-user@realm", NULL), UDM_ID_INVALID);
    assert_int_equal(udm_ue_id_parse("", NULL), UDM_ID_INVALID);
    assert_int_equal(udm_ue_id_parse(NULL, NULL), UDM_ID_INVALID);
}

typedef struct {
    struct event_base *base;
    int status;
    json_t *json;
    bool done;
} call_t;

static void on_resp(const sbi_client_response_t *resp, void *ud)
{
    call_t *c = ud;
    c->status = resp->status;
    c->json = json_loadb(resp->body, resp->body_len, 0, NULL);
    c->done = true;
}

static void watchdog(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static void get(struct event_base *base, sbi_client_t *cli, uint16_t port, const char *path, call_t *c)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
    json_decref(c->json);
    memset(c, 0, sizeof(*c));
    sbi_client_req_t rq = {.method = "GET", .url = url};
    assert_true(sbi_client_request(cli, &rq, on_resp, c) > 0);
    struct event *wd = evtimer_new(base, watchdog, base);
    struct timeval tv = {WATCHDOG_S, 0};
    evtimer_add(wd, &tv);
    while (!c->done && event_base_loop(base, EVLOOP_ONCE) == 0)
        ;
    event_free(wd);
    assert_true(c->done);
}

static void write_subscribers(const char *path, const char *rat, bool voice_encryption)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{ \"subscribers\": [ { \"imsi\": \"001010000000001\", \"msisdn\": \"15550000001\",\n"
            "  \"impu\": [\"tel:+15550000001\"], \"voice_encryption\": %s,\n"
            "  \"access\": { \"rat\": \"%s\", \"ims_vops\": true },\n"
            "  \"kms_key\": \"%064d\" } ] }\n",
            voice_encryption ? "true" : "false", rat, 1);
    fclose(f);
}

static void test_bodies_follow_reload(void **state)
{
    (void)state;
    char path[] = "/tmp/test_sbi_udm_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_subscribers(path, "NR", true);
    sub_error_t err;
    sub_store_t *store = sub_store_new(NULL, path, &err);
    assert_non_null(store);

    struct event_base *base = event_base_new();
    sbi_server_t *srv = sbi_server_new(base, NULL);
    udm_nudm_t *n = udm_nudm_new(srv, store, "00000000-0000-4000-8000-000000000001", NULL);
    assert_non_null(n);
    assert_int_equal(sbi_server_listen(srv, "127.0.0.1", 0), 0);
    uint16_t port = sbi_server_port(srv);
    sbi_client_t *cli = sbi_client_new(base, NULL);
    call_t c = {0};

    get(base, cli, port, "/nudm-uecm/v1/imsi-001010000000001/registrations/amf-3gpp-access", &c);
    assert_int_equal(c.status, 200);
    assert_string_equal(json_string_value(json_object_get(c.json, "amfInstanceId")),
                        "00000000-0000-4000-8000-000000000001");
    get(base, cli, port,
        "/nudr-dr/v2/subscription-data/msisdn-15550000001/operator-specific-data?fields=voiceEncryption", &c);
    assert_int_equal(c.status, 200);
    assert_true(json_is_true(json_object_get(json_object_get(c.json, "voiceEncryption"), "value")));

    write_subscribers(path, "EUTRAN", false);
    assert_int_equal(sub_store_reload(store, &err), 0); /* no explicit refresh: the request notices */
    get(base, cli, port, "/nudm-uecm/v1/imsi-001010000000001/registrations/amf-3gpp-access", &c);
    assert_int_equal(c.status, 404);
    assert_string_equal(json_string_value(json_object_get(c.json, "cause")), "CONTEXT_NOT_FOUND");
    get(base, cli, port, "/nudr-dr/v2/subscription-data/imsi-001010000000001/operator-specific-data", &c);
    assert_true(json_is_false(json_object_get(json_object_get(c.json, "voiceEncryption"), "value")));
    get(base, cli, port, "/nudm-sdm/v2/imsi-001010000000001/am-data", &c);
    assert_string_equal(json_string_value(json_array_get(json_object_get(c.json, "gpsis"), 0)), "msisdn-15550000001");

    json_decref(c.json);
    sbi_client_free(cli);
    sbi_server_free(srv);
    udm_nudm_free(n);
    event_base_free(base);
    sub_store_free(store);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ue_id_parse),
        cmocka_unit_test(test_bodies_follow_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
