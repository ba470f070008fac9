/*
 * mihua-as Diameter settings (DESIGN §3 "Diameter routing"): diameter_peers / destination_* parsing and its
 * errors, the one-peer shorthand, and the pure routing score and error reading of as_sh_path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "as_conf.h"
#include "as_sh_path.h"

static as_conf_result_t parse_json(as_conf_t *c, const char *json)
{
    char path[] = "/tmp/mihua-as-conf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    char *argv[] = {"mihua-as", "-c", path, NULL};
    as_conf_result_t r = as_conf_parse(c, 3, argv);
    unlink(path);
    return r;
}

static void test_peers(void **state)
{
    (void)state;
    as_conf_t c;
    assert_int_equal(parse_json(&c, "{\"diameter_peers\": [{\"addr\": \"127.0.0.1:3868\", \"identity\": "
                                    "\"hss1.ims.test\", \"priority\": 1}, {\"addr\": \"127.0.0.2:3869\", "
                                    "\"identity\": \"hss2.ims.test\"}], \"destination_realm\": \"ims.test\"}"),
                     AS_CONF_OK);
    const as_checks_conf_t *k = &c.checks_conf;
    assert_int_equal(k->n_peers, 2);
    assert_string_equal(k->peers[1].identity, "hss2.ims.test");
    assert_string_equal(k->peers[1].addr, "127.0.0.2");
    assert_int_equal(k->peers[1].port, 3869);
    assert_int_equal(k->peers[1].priority, 1); /* default */
    assert_string_equal(k->dest_realm, "ims.test");
    assert_null(k->dest_host);
    as_conf_free(&c);
}

static void test_shorthand(void **state)
{
    (void)state;
    as_conf_t c;
    assert_int_equal(parse_json(&c, "{\"hss\": \"127.0.0.1:4000\", \"hss_identity\": \"dra.ims.test\", "
                                    "\"destination_host\": \"hss.ims.test\"}"),
                     AS_CONF_OK);
    assert_int_equal(c.checks_conf.n_peers, 0);
    assert_string_equal(c.checks_conf.hss_identity, "dra.ims.test");
    assert_int_equal(c.checks_conf.hss_port, 4000);
    assert_string_equal(c.checks_conf.dest_host, "hss.ims.test");
    as_conf_free(&c);
}

static void test_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"diameter_peers\": []}",
        "{\"diameter_peers\": {}}",
        "{\"diameter_peers\": [{\"addr\": \"127.0.0.1:3868\"}]}",
        "{\"diameter_peers\": [{\"identity\": \"a.ims.test\"}]}",
        "{\"diameter_peers\": [{\"addr\": \"127.0.0.1\", \"identity\": \"a.ims.test\"}]}",
        "{\"diameter_peers\": [{\"addr\": \"127.0.0.1:1\", \"identity\": \"a.ims.test\", \"priority\": 0}]}",
        "{\"diameter_peers\": [{\"addr\": \"127.0.0.1:1\", \"identity\": \"a.ims.test\", \"weight\": 1}]}",
        "{\"diameter_peers\": [{\"addr\": \"127.0.0.1:1\", \"identity\": \"a b\"}]}",
        "{\"diameter_peers\": [{\"addr\": \"127.0.0.1:1\", \"identity\": \"a.ims.test\"}, "
        "{\"addr\": \"127.0.0.1:2\", \"identity\": \"A.ims.test\"}]}",
        "{\"diameter_peers\": [{\"addr\": \"127.0.0.1:1\", \"identity\": \"as.ims.test\"}]}",
        "{\"diameter_peers\": [{\"addr\": \"127.0.0.1:1\", \"identity\": \"a.ims.test\"}], \"hss\": \"127.0.0.1:2\"}",
        "{\"destination_host\": \"bad host\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        as_conf_t c;
        assert_int_equal(parse_json(&c, bad[i]), AS_CONF_BAD);
        as_conf_free(&c);
    }
}

static void test_route_delta(void **state)
{
    (void)state;
    /* lower priority number first; a suspect below every trusted peer, yet above 0 */
    assert_true(as_sh_route_delta(1, false) > as_sh_route_delta(2, false));
    assert_true(as_sh_route_delta(1, true) < as_sh_route_delta(AS_PEER_PRIORITY_MAX, false));
    assert_true(-2 + as_sh_route_delta(AS_PEER_PRIORITY_MAX, true) > 0);
    assert_true(-70 + as_sh_route_delta(1, false) < 0); /* no common application stays undeliverable */
}

static void test_error_of(void **state)
{
    (void)state;
    sh_uda_t uda = {.has_result_code = true, .result_code = 3007};
    snprintf(uda.origin_host, sizeof uda.origin_host, "dra.ims.test");
    as_diam_error_t e;
    as_sh_error_of(&uda, &e);
    assert_int_equal(e.code, 3007);
    assert_false(e.experimental);
    assert_string_equal(e.origin_host, "dra.ims.test");
    uda = (sh_uda_t){.has_result_code = false, .has_experimental = true, .exp_vendor = 10415, .exp_code = 5001};
    as_sh_error_of(&uda, &e);
    assert_int_equal(e.code, 5001);
    assert_true(e.experimental);
    uda = (sh_uda_t){.has_result_code = true, .result_code = 2001};
    as_sh_error_of(&uda, &e);
    assert_int_equal(e.code, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peers),       cmocka_unit_test(test_shorthand), cmocka_unit_test(test_bad),
        cmocka_unit_test(test_route_delta), cmocka_unit_test(test_error_of),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
