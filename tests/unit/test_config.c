/* Unit tests for lib/core/config: values stored, defaults kept, and every error naming file:line:col and field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

/* A daemon-like settings block and its field table. */
typedef struct {
    char *name;
    long port;
    bool tls;
    char *level;
    char **peers;
    size_t n_peers;
    long timeout;
} settings_t;

static const char *const LEVELS[] = {"error", "warn", "info", "debug", NULL};

static settings_t defaults(void)
{
    return (settings_t){.name = NULL, .port = 3868, .tls = false, .level = NULL, .timeout = 5};
}

#define FIELDS(s)                                                                                    \
    cfg_field_t fields[] = {                                                                         \
        {.name = "name", .type = CFG_STRING, .dst = &(s).name},                                      \
        {.name = "diameter.port", .type = CFG_INT, .dst = &(s).port, .min = 1, .max = 65535},        \
        {.name = "diameter.tls", .type = CFG_BOOL, .dst = &(s).tls},                                 \
        {.name = "log.level", .type = CFG_STRING, .dst = &(s).level, .choices = LEVELS},             \
        {.name = "diameter.peers", .type = CFG_STRING_LIST, .dst = &(s).peers, .aux = &(s).n_peers}, \
        {.name = "sbi.client.timeout", .type = CFG_INT, .dst = &(s).timeout, .min = 1, .max = 60},   \
    };                                                                                               \
    const size_t n_fields = sizeof(fields) / sizeof(fields[0])

static int load(const char *text, settings_t *s, cfg_error_t *err)
{
    FIELDS(*s);
    return cfg_load_text("t.json", text, strlen(text), fields, n_fields, err);
}

static void release(settings_t *s)
{
    FIELDS(*s);
    cfg_free_strings(fields, n_fields);
}

static void test_all_fields(void **state)
{
    (void)state;
    settings_t s = defaults();
    cfg_error_t err;
    const char *text = "{\"name\": \"hss\", \"diameter\": {\"port\": 3870, \"tls\": true,\n"
                       " \"peers\": [\"as.ims.test\", \"probe.ims.test\"]},\n"
                       " \"log\": {\"level\": \"debug\"}, \"sbi\": {\"client\": {\"timeout\": 60}}}";
    assert_int_equal(load(text, &s, &err), 0);
    assert_string_equal(s.name, "hss");
    assert_int_equal(s.port, 3870);
    assert_true(s.tls);
    assert_string_equal(s.level, "debug");
    assert_int_equal(s.n_peers, 2);
    assert_string_equal(s.peers[0], "as.ims.test");
    assert_string_equal(s.peers[1], "probe.ims.test");
    assert_null(s.peers[2]);
    assert_int_equal(s.timeout, 60);
    release(&s);
    assert_null(s.name);
    assert_null(s.peers);
    assert_int_equal(s.n_peers, 0);
}

static void test_absent_fields_keep_defaults(void **state)
{
    (void)state;
    settings_t s = defaults();
    cfg_error_t err;
    assert_int_equal(load("{\"diameter\": {\"tls\": true}}", &s, &err), 0);
    assert_int_equal(s.port, 3868);
    assert_int_equal(s.timeout, 5);
    assert_true(s.tls);
    assert_null(s.name);
    assert_int_equal(load("{}", &s, &err), 0);
    release(&s);
}

static void assert_error(const char *text, const char *expected)
{
    settings_t s = defaults();
    cfg_error_t err = {{0}};
    assert_int_equal(load(text, &s, &err), -1);
    assert_string_equal(err.msg, expected);
    /* Nothing is stored from a file that fails. */
    assert_int_equal(s.port, 3868);
    assert_null(s.name);
    assert_null(s.peers);
}

static void test_unknown_keys(void **state)
{
    (void)state;
    assert_error("{\"name\": \"x\",\n  \"nmae\": 1}", "t.json:2:3: nmae: unknown setting");
    assert_error("{\"diameter\": {\"port\": 1, \"prot\": 2}}", "t.json:1:26: diameter.prot: unknown setting");
    assert_error("{\"sbi\": {\"client\": {\"timeout\": 2, \"x\": {}}}}", "t.json:1:35: sbi.client.x: unknown setting");
    assert_error("{\"diameter.port\": 3}", "t.json:1:2: diameter.port: unknown setting");
}

static void test_type_and_range_errors(void **state)
{
    (void)state;
    assert_error("{\"diameter\": {\"port\": 0}}", "t.json:1:23: diameter.port: must be an integer from 1 to 65535");
    assert_error("{\"diameter\": {\"port\": 65536}}", "t.json:1:23: diameter.port: must be an integer from 1 to 65535");
    assert_error("{\"diameter\": {\"port\": \"3868\"}}",
                 "t.json:1:23: diameter.port: must be an integer from 1 to 65535");
    assert_error("{\"diameter\": {\"port\": 3868.0}}",
                 "t.json:1:23: diameter.port: must be an integer from 1 to 65535");
    assert_error("{\"diameter\": {\"tls\": 1}}", "t.json:1:22: diameter.tls: must be true or false");
    assert_error("{\"name\": 7}", "t.json:1:10: name: must be a string");
    assert_error("{\"log\": {\"level\": \"loud\"}}",
                 "t.json:1:19: log.level: must be one of \"error\", \"warn\", \"info\", \"debug\"");
    assert_error("{\"diameter\": {\"peers\": \"a\"}}", "t.json:1:24: diameter.peers: must be an array of strings");
    assert_error("{\"diameter\": {\"peers\": [\"a\",\n 5]}}", "t.json:2:2: diameter.peers[1]: must be a string");
    assert_error("{\"diameter\": 5}", "t.json:1:14: diameter: must be an object");
}

static void test_syntax_errors(void **state)
{
    (void)state;
    assert_error("{\"name\": \"x\",\n}", "t.json:2:1: (json): string or '}' expected near '}'");
    assert_error("", "t.json:1:1: (json): '[' or '{' expected near end of file");
    assert_error("{\"name\": \"a\", \"name\": \"b\"}", "t.json:1:20: (json): duplicate object key near '\"name\"'");
    assert_error("[1]", "t.json:1:1: (root): must be an object");
}

static void test_load_file_and_read_errors(void **state)
{
    (void)state;
    char path[] = "/tmp/mihua_cfg_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "{\n  \"diameter\": {\n    \"port\": 99999\n  }\n}\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);

    settings_t s = defaults();
    FIELDS(s);
    cfg_error_t err;
    char expected[CFG_ERR_MAX];
    assert_int_equal(cfg_load(path, fields, n_fields, &err), -1);
    snprintf(expected, sizeof(expected), "%s:3:13: diameter.port: must be an integer from 1 to 65535", path);
    assert_string_equal(err.msg, expected);

    size_t len = 0;
    char *read = cfg_read_file(path, &len);
    assert_non_null(read);
    assert_int_equal(len, strlen(text));
    assert_string_equal(read, text);
    free(read);
    unlink(path);

    assert_int_equal(cfg_load(path, fields, n_fields, &err), -1);
    snprintf(expected, sizeof(expected), "%s: cannot read: %s", path, strerror(ENOENT));
    assert_string_equal(err.msg, expected);
    errno = 0;
    assert_null(cfg_read_file(path, &len));
    assert_int_equal(errno, ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_fields),    cmocka_unit_test(test_absent_fields_keep_defaults),
        cmocka_unit_test(test_unknown_keys),  cmocka_unit_test(test_type_and_range_errors),
        cmocka_unit_test(test_syntax_errors), cmocka_unit_test(test_load_file_and_read_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
