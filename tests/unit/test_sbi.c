/*
 * test_sbi — the pure parts of lib/sbi: routing and captures (TS 29.501 §4.4.1 URIs), ProblemDetails rendering
 * (TS 29.571 §5.2.4.1), URL and host:port parsing, the flat JSON reader against jansson, the inline-first
 * string arena and header list that requests and responses keep their strings in. The loopback HTTP/2
 * exchanges are in test_sbi_loop.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sbi/sbi_arena.h"
#include "sbi/sbi_flat_json.h"
#include "sbi/sbi_problem.h"
#include "sbi/sbi_router.h"
#include "sbi/sbi_url.h"

static void h_a(sbi_request_t *req, void *ud)
{
    (void)req;
    (void)ud;
}
static void h_b(sbi_request_t *req, void *ud)
{
    (void)req;
    (void)ud;
}

#define AMF "/nudm-uecm/v1/{ueId}/registrations/amf-3gpp-access"

static void test_router_captures(void **state)
{
    (void)state;
    sbi_router_t *r = sbi_router_new();
    int tag = 7;
    assert_int_equal(sbi_router_add(r, "GET", AMF, h_a, &tag), 0);
    assert_int_equal(sbi_router_add(r, "GET", "/nudr-dr/v2/subscription-data/{ueId}/operator-specific-data", h_b, NULL),
                     0);
    assert_int_equal(sbi_router_add(r, "PUT", "/admin/v1/subscribers/{imsi}", h_b, NULL), 0);
    assert_int_equal(sbi_router_add(r, "GET", "/a/{x}/b/{y}", h_a, NULL), 0);

    sbi_route_match_t m;
    char p1[] = "/nudm-uecm/v1/imsi-001010000000001/registrations/amf-3gpp-access";
    assert_int_equal(sbi_router_match(r, "GET", p1, &m), SBI_ROUTE_FOUND);
    assert_ptr_equal(m.handler, h_a);
    assert_ptr_equal(m.ud, &tag);
    assert_int_equal(m.n_captures, 1);
    assert_string_equal(sbi_route_capture(&m, "ueId"), "imsi-001010000000001");
    assert_null(sbi_route_capture(&m, "supi"));

    char p2[] = "/a/one%20two/b/x%2Fy";
    assert_int_equal(sbi_router_match(r, "GET", p2, &m), SBI_ROUTE_FOUND);
    assert_string_equal(sbi_route_capture(&m, "x"), "one two");
    assert_string_equal(sbi_route_capture(&m, "y"), "x/y"); /* decoded after splitting */

    char p3[] = "/nudm-uecm/v1//registrations/amf-3gpp-access"; /* empty capture */
    assert_int_equal(sbi_router_match(r, "GET", p3, &m), SBI_ROUTE_NOT_FOUND);
    char p4[] = "/nudm-uecm/v1/imsi-1/registrations/amf-3gpp-access/"; /* trailing slash is another resource */
    assert_int_equal(sbi_router_match(r, "GET", p4, &m), SBI_ROUTE_NOT_FOUND);
    char p5[] = "/nudm-uecm/v1/imsi-1/registrations/smf-registrations";
    assert_int_equal(sbi_router_match(r, "GET", p5, &m), SBI_ROUTE_NOT_FOUND);
    char p6[] = "relative";
    assert_int_equal(sbi_router_match(r, "GET", p6, &m), SBI_ROUTE_NOT_FOUND);
    char p7[] = "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18";
    assert_int_equal(sbi_router_match(r, "GET", p7, &m), SBI_ROUTE_NOT_FOUND);
    sbi_router_free(r);
}

static void test_router_405_allow(void **state)
{
    (void)state;
    sbi_router_t *r = sbi_router_new();
    assert_int_equal(sbi_router_add(r, "GET", "/admin/v1/subscribers/{imsi}", h_a, NULL), 0);
    assert_int_equal(sbi_router_add(r, "PUT", "/admin/v1/subscribers/{imsi}", h_a, NULL), 0);
    assert_int_equal(sbi_router_add(r, "DELETE", "/admin/v1/subscribers/{id}", h_a, NULL), 0);
    assert_int_equal(sbi_router_add(r, "GET", "/admin/v1/subscribers/{other}", h_b, NULL), 0); /* shadowed */
    sbi_route_match_t m;
    char p[] = "/admin/v1/subscribers/001010000000001";
    assert_int_equal(sbi_router_match(r, "POST", p, &m), SBI_ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "GET, PUT, DELETE"); /* no duplicate GET */
    char q[] = "/admin/v1/subscribers/001010000000001";
    assert_int_equal(sbi_router_match(r, "GET", q, &m), SBI_ROUTE_FOUND);
    assert_ptr_equal(m.handler, h_a); /* first registration wins */
    assert_string_equal(m.allow, "");
    sbi_router_free(r);
}

static void test_router_bad_patterns(void **state)
{
    (void)state;
    sbi_router_t *r = sbi_router_new();
    assert_int_equal(sbi_router_add(r, "GET", "no-slash", h_a, NULL), -1);
    assert_int_equal(sbi_router_add(r, "GET", "/a/x{y}", h_a, NULL), -1);
    assert_int_equal(sbi_router_add(r, "GET", "/a/{}", h_a, NULL), -1);
    assert_int_equal(sbi_router_add(r, "GET", "/a/{x", h_a, NULL), -1);
    assert_int_equal(sbi_router_add(r, "GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", h_a, NULL), -1);
    assert_int_equal(sbi_router_add(r, "AVERYLONGMETHODNAME", "/a", h_a, NULL), -1);
    assert_int_equal(sbi_router_add(r, "GET", "/", h_a, NULL), 0);
    sbi_route_match_t m;
    char p[] = "/";
    assert_int_equal(sbi_router_match(r, "GET", p, &m), SBI_ROUTE_FOUND);
    sbi_router_free(r);
}

static void test_percent_decode(void **state)
{
    (void)state;
    char a[] = "a%41%4a%zz%4";
    assert_int_equal(sbi_percent_decode(a), 8);
    assert_string_equal(a, "aAJ%zz%4");
    char b[] = "%";
    sbi_percent_decode(b);
    assert_string_equal(b, "%");
}

static void test_target_control_char(void **state)
{
    (void)state;
    assert_int_equal(sbi_target_control_char("/nudm-uecm/v1/imsi-001010000000001/x?fields=a%20b"), -1);
    assert_int_equal(sbi_target_control_char("/a/imsi-1%00garbage"), 9);
    assert_int_equal(sbi_target_control_char("/a/%0a"), 3);
    assert_int_equal(sbi_target_control_char("/a/%7F"), 3);
    assert_int_equal(sbi_target_control_char("/a/\x01"), 3);
    assert_int_equal(sbi_target_control_char("/a?x=%1f"), 5);
    assert_int_equal(sbi_target_control_char("/a/%zz%0"), -1);   /* not an escape: kept as is, and harmless */
    assert_int_equal(sbi_target_control_char("/caf%C3%A9"), -1); /* UTF-8 above 0x7f is not a control */
}

static void test_problem_full(void **state)
{
    (void)state;
    sbi_invalid_param_t ip[] = {{"ueId", "must be imsi-<5..15 digits> or msisdn-<5..15 digits>"}};
    sbi_problem_t p = {.status = 400,
                       .detail = "bad ueId",
                       .cause = SBI_CAUSE_MANDATORY_IE_INCORRECT,
                       .invalid_params = ip,
                       .n_invalid_params = 1};
    size_t len = 0;
    char *text = sbi_problem_render(&p, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 400);
    assert_string_equal(json_string_value(json_object_get(j, "title")), "Bad Request");
    assert_string_equal(json_string_value(json_object_get(j, "detail")), "bad ueId");
    assert_string_equal(json_string_value(json_object_get(j, "cause")), "MANDATORY_IE_INCORRECT");
    json_t *arr = json_object_get(j, "invalidParams");
    assert_int_equal(json_array_size(arr), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "param")), "ueId");
    assert_non_null(json_object_get(json_array_get(arr, 0), "reason"));
    json_decref(j);
    free(text);
}

static void test_problem_minimal(void **state)
{
    (void)state;
    sbi_problem_t p = {.status = 405};
    json_t *j = sbi_problem_to_json(&p);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 2); /* title + status only */
    assert_string_equal(json_string_value(json_object_get(j, "title")), "Method Not Allowed");
    json_decref(j);
    sbi_problem_t q = {.status = 404, .title = "Custom", .cause = SBI_CAUSE_USER_NOT_FOUND};
    j = sbi_problem_to_json(&q);
    assert_string_equal(json_string_value(json_object_get(j, "title")), "Custom");
    assert_null(json_object_get(j, "invalidParams"));
    json_decref(j);
    assert_string_equal(sbi_status_title(413), "Content Too Large");
    assert_string_equal(sbi_status_title(431), "Request Header Fields Too Large");
    assert_string_equal(sbi_status_title(299), "Unknown");
}

static void test_problem_invalid_params_capped(void **state)
{
    (void)state;
    sbi_invalid_param_t ip[SBI_PROBLEM_MAX_INVALID_PARAMS + 4];
    for (size_t i = 0; i < sizeof(ip) / sizeof(ip[0]); i++)
        ip[i] = (sbi_invalid_param_t){"p", NULL};
    sbi_problem_t p = {.status = 400, .invalid_params = ip, .n_invalid_params = sizeof(ip) / sizeof(ip[0])};
    json_t *j = sbi_problem_to_json(&p);
    assert_int_equal(json_array_size(json_object_get(j, "invalidParams")), SBI_PROBLEM_MAX_INVALID_PARAMS);
    assert_null(json_object_get(json_array_get(json_object_get(j, "invalidParams"), 0), "reason"));
    json_decref(j);
}

static void test_url_parse(void **state)
{
    (void)state;
    sbi_url_t u;
    assert_int_equal(sbi_url_parse("http://127.0.0.1:7701/nudm-sdm/v2/imsi-1/am-data?x=1", &u), 0);
    assert_false(u.tls);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 7701);
    assert_string_equal(u.path, "/nudm-sdm/v2/imsi-1/am-data?x=1");
    assert_string_equal(u.authority, "127.0.0.1:7701");
    assert_int_equal(sbi_url_parse("https://[::1]/", &u), 0);
    assert_true(u.tls);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 443);
    assert_int_equal(sbi_url_parse("http://localhost", &u), 0);
    assert_string_equal(u.path, "/");
    assert_int_equal(u.port, 80);
    assert_int_equal(sbi_url_parse("ftp://h/", &u), -1);
    assert_int_equal(sbi_url_parse("http://:80/", &u), -1);
    assert_int_equal(sbi_url_parse("http://h:99999/", &u), -1);
    assert_int_equal(sbi_url_parse("http://h:/", &u), -1);
    assert_int_equal(sbi_url_parse("http://u@h/", &u), -1);
    assert_int_equal(sbi_url_parse("http://::1/", &u), -1);
    assert_int_equal(sbi_url_parse("http://h/x#frag", &u), -1);
    assert_int_equal(sbi_url_parse(NULL, &u), -1);
}

static void test_hostport_parse(void **state)
{
    (void)state;
    char host[64];
    uint16_t port = 1;
    assert_int_equal(sbi_hostport_parse("127.0.0.1:0", host, sizeof(host), &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 0);
    assert_int_equal(sbi_hostport_parse("[::1]:7701", host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 7701);
    assert_int_equal(sbi_hostport_parse("127.0.0.1", host, sizeof(host), &port), -1);
    assert_int_equal(sbi_hostport_parse("127.0.0.1:x", host, sizeof(host), &port), -1);
    assert_int_equal(sbi_hostport_parse(":7701", host, sizeof(host), &port), -1);
    assert_int_equal(sbi_hostport_parse("a-very-long-host-name:1", host, 8, &port), -1);
}

/* A flat object: every member agrees with jansson's parse of the same text. */
static void assert_flat_like_jansson(const char *text)
{
    sbi_flat_json_t f;
    assert_true(sbi_flat_json_parse(text, strlen(text), &f));
    json_t *j = json_loadb(text, strlen(text), JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), f.n);
    for (size_t i = 0; i < f.n; i++) {
        char name[64];
        memcpy(name, f.m[i].name, f.m[i].name_len);
        name[f.m[i].name_len] = '\0';
        json_t *v = json_object_get(j, name);
        assert_non_null(v);
        if (f.m[i].type == SBI_FLAT_STRING) {
            assert_true(json_is_string(v));
            assert_int_equal(json_string_length(v), f.m[i].value_len);
            assert_memory_equal(json_string_value(v), f.m[i].value, f.m[i].value_len);
        } else {
            assert_true(f.m[i].type == SBI_FLAT_TRUE    ? json_is_true(v)
                        : f.m[i].type == SBI_FLAT_FALSE ? json_is_false(v)
                                                        : json_is_null(v));
        }
    }
    json_decref(j);
}

static void test_flat_json_accepts(void **state)
{
    (void)state;
    assert_flat_like_jansson("{\"callId\":\"c1@ue\",\"caller\":\"tel:+15550000001\",\"callee\":\"15550000002\"}");
    assert_flat_like_jansson(" \r\n\t{ \"a\" : true , \"b\":false,\"c\" :null, \"d\":\"\", \"e f/\":\"x y\"}\n ");
    assert_flat_like_jansson("{}");
    sbi_flat_json_t f;
    const char *t = "{\"callId\":\"abc\",\"ok\":true}";
    assert_true(sbi_flat_json_parse(t, strlen(t), &f));
    char buf[4];
    assert_true(sbi_flat_json_string(&f, "callId", buf, sizeof buf));
    assert_string_equal(buf, "abc");
    assert_false(sbi_flat_json_string(&f, "callId", buf, 3)); /* never truncated */
    assert_false(sbi_flat_json_string(&f, "ok", buf, sizeof buf));
    assert_false(sbi_flat_json_string(&f, "absent", buf, sizeof buf));
    assert_int_equal(sbi_flat_json_get(&f, "ok")->type, SBI_FLAT_TRUE);
}

static void test_flat_json_declines(void **state)
{
    (void)state;
    /* valid JSON outside the subset, and invalid JSON: both "not flat", for jansson to judge */
    static const char *const texts[] = {
        "{\"a\":\"x\\\"y\"}",
        "{\"a\":\"caf\xc3\xa9\"}",
        "{\"a\":1}",
        "{\"a\":{}}",
        "{\"a\":[]}",
        "[]",
        "\"s\"",
        "{\"a\":\"x\",\"a\":\"y\"}",
        "{\"a\":\"x\",}",
        "{\"a\":\"x\"",
        "{\"a\" \"x\"}",
        "{\"a\":tru}",
        "{\"a\":\"x\"} x",
        "{\"a\":\"x\"}{}",
        "{\"a\":\"tab\there\"}",
        "{\"a\":\"x\x7f\"}",
        "",
        "{",
        "{,}",
        "{\"a\":truex}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        sbi_flat_json_t f;
        assert_false(sbi_flat_json_parse(texts[i], strlen(texts[i]), &f));
    }
    char many[512] = "{";
    for (int i = 0; i <= SBI_FLAT_MAX_MEMBERS; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s\"m%d\":\"v\"", i ? "," : "", i);
    strcat(many, "}");
    sbi_flat_json_t f;
    assert_false(sbi_flat_json_parse(many, strlen(many), &f));
    const char nul[] = "{\"a\":\"x\0y\"}";
    assert_false(sbi_flat_json_parse(nul, sizeof nul - 1, &f));
}

/* The inline block serves first; what does not fit spills and stays valid beside it until the reset. */
static void test_arena_spill(void **state)
{
    (void)state;
    char mem[16];
    sbi_arena_t a;
    sbi_arena_init(&a, mem, sizeof mem);
    char *x = sbi_arena_strndup(&a, "0123456789", 4);
    assert_ptr_equal(x, mem);
    assert_string_equal(x, "0123");
    char *big = sbi_arena_strndup(&a, "a string longer than what is left", 33);
    assert_non_null(big);
    assert_true(big < mem || big >= mem + sizeof mem);
    char *y = sbi_arena_strndup(&a, "abcdefghij", 10); /* 11 bytes: still fits the 11 left inline */
    assert_ptr_equal(y, mem + 5);
    assert_string_equal(big, "a string longer than what is left");
    assert_string_equal(x, "0123");
    assert_int_equal(a.used, sizeof mem);
    sbi_arena_reset(&a);
    assert_null(a.spill);
    assert_ptr_equal(sbi_arena_alloc(&a, 1), mem);
}

/* The list moves from its inline array to the heap when full, keeping every pair. */
static void test_header_list_grows(void **state)
{
    (void)state;
    char mem[64];
    sbi_header_t inline_v[2];
    sbi_arena_t a;
    sbi_header_list_t l;
    sbi_arena_init(&a, mem, sizeof mem);
    sbi_header_list_init(&l, inline_v, 2);
    char name[16], value[16];
    for (int i = 0; i < 9; i++) {
        int nn = snprintf(name, sizeof name, "x-h%d", i), vn = snprintf(value, sizeof value, "v%d", i * 7);
        assert_int_equal(
            sbi_header_list_add(&l, &a, (const uint8_t *)name, (size_t)nn, (const uint8_t *)value, (size_t)vn), 0);
    }
    assert_int_equal(l.n, 9);
    assert_true(l.v != inline_v);
    assert_string_equal(l.v[0].name, "x-h0");
    assert_string_equal(l.v[8].name, "x-h8");
    assert_string_equal(l.v[8].value, "v56");
    sbi_header_list_free(&l);
    sbi_arena_reset(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_router_captures),     cmocka_unit_test(test_flat_json_accepts),
        cmocka_unit_test(test_flat_json_declines),  cmocka_unit_test(test_router_405_allow),
        cmocka_unit_test(test_router_bad_patterns), cmocka_unit_test(test_percent_decode),
        cmocka_unit_test(test_target_control_char), cmocka_unit_test(test_problem_full),
        cmocka_unit_test(test_problem_minimal),     cmocka_unit_test(test_problem_invalid_params_capped),
        cmocka_unit_test(test_url_parse),           cmocka_unit_test(test_hostport_parse),
        cmocka_unit_test(test_arena_spill),         cmocka_unit_test(test_header_list_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
