/* Unit tests for lib/core/jsonpos: positions of values and keys along paths, and safe failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/jsonpos.h"

static const char DOC[] = "{\n"
                          "  \"a\": 1,\n"
                          "  \"list\": [10, {\"x\": \"y\"}, [1, 2], \"s,]}\"],\n"
                          "  \"esc\\\"aped\": true,\n"
                          "  \"caf\\u00e9\": null,\n"
                          "  \"nest\": {\"in\": {\"deep\": -1.5e3}}\n"
                          "}\n";

static int locate(const jsonpos_step_t *steps, size_t n, int at_key, int *line, int *col)
{
    return jsonpos_locate(DOC, strlen(DOC), steps, n, at_key, line, col);
}

static void test_root(void **state)
{
    (void)state;
    int line = 0, col = 0;
    assert_int_equal(locate(NULL, 0, 0, &line, &col), 0);
    assert_int_equal(line, 1);
    assert_int_equal(col, 1);

    const char *padded = "\n\n   [1]";
    assert_int_equal(jsonpos_locate(padded, strlen(padded), NULL, 0, 0, &line, &col), 0);
    assert_int_equal(line, 3);
    assert_int_equal(col, 4);
}

static void test_member_value_and_key(void **state)
{
    (void)state;
    int line, col;
    jsonpos_step_t a[] = {{.key = "a"}};
    assert_int_equal(locate(a, 1, 0, &line, &col), 0);
    assert_int_equal(line, 2);
    assert_int_equal(col, 8);
    assert_int_equal(locate(a, 1, 1, &line, &col), 0);
    assert_int_equal(line, 2);
    assert_int_equal(col, 3);
}

static void test_array_elements(void **state)
{
    (void)state;
    int line, col;
    jsonpos_step_t first[] = {{.key = "list"}, {.index = 0}};
    assert_int_equal(locate(first, 2, 0, &line, &col), 0);
    assert_int_equal(line, 3);
    assert_int_equal(col, 12);

    jsonpos_step_t inner[] = {{.key = "list"}, {.index = 1}, {.key = "x"}};
    assert_int_equal(locate(inner, 3, 0, &line, &col), 0);
    assert_int_equal(line, 3);
    assert_int_equal(col, 22);

    jsonpos_step_t nested[] = {{.key = "list"}, {.index = 2}, {.index = 1}};
    assert_int_equal(locate(nested, 3, 0, &line, &col), 0);
    assert_int_equal(line, 3);
    assert_int_equal(col, 32);

    /* The string holds ",]}" which must not confuse the skipper. */
    jsonpos_step_t str[] = {{.key = "list"}, {.index = 3}};
    assert_int_equal(locate(str, 2, 0, &line, &col), 0);
    assert_int_equal(line, 3);
    assert_int_equal(col, 36);
}

static void test_escaped_keys(void **state)
{
    (void)state;
    int line, col;
    jsonpos_step_t quote[] = {{.key = "esc\"aped"}};
    assert_int_equal(locate(quote, 1, 0, &line, &col), 0);
    assert_int_equal(line, 4);
    assert_int_equal(col, 16);

    jsonpos_step_t utf8[] = {{.key = "caf\xc3\xa9"}};
    assert_int_equal(locate(utf8, 1, 1, &line, &col), 0);
    assert_int_equal(line, 5);
    assert_int_equal(col, 3);

    jsonpos_step_t prefix[] = {{.key = "caf"}};
    assert_int_equal(locate(prefix, 1, 0, &line, &col), -1);
}

static void test_deep(void **state)
{
    (void)state;
    int line, col;
    jsonpos_step_t deep[] = {{.key = "nest"}, {.key = "in"}, {.key = "deep"}};
    assert_int_equal(locate(deep, 3, 0, &line, &col), 0);
    assert_int_equal(line, 6);
    assert_int_equal(col, 27);
}

static void test_missing_points_to_deepest_container(void **state)
{
    (void)state;
    int line, col;
    jsonpos_step_t missing[] = {{.key = "nest"}, {.key = "in"}, {.key = "nope"}};
    assert_int_equal(locate(missing, 3, 0, &line, &col), -1);
    assert_int_equal(line, 6);
    assert_int_equal(col, 18);

    jsonpos_step_t past_end[] = {{.key = "list"}, {.index = 4}};
    assert_int_equal(locate(past_end, 2, 0, &line, &col), -1);
    assert_int_equal(line, 3);
    assert_int_equal(col, 11);

    jsonpos_step_t wrong_kind[] = {{.key = "a"}, {.key = "x"}};
    assert_int_equal(locate(wrong_kind, 2, 0, &line, &col), -1);
    assert_int_equal(line, 2);
    assert_int_equal(col, 8);

    jsonpos_step_t index_into_object[] = {{.index = 0}};
    assert_int_equal(locate(index_into_object, 1, 0, &line, &col), -1);
    assert_int_equal(line, 1);
    assert_int_equal(col, 1);
}

static void test_malformed_text_stops_safely(void **state)
{
    (void)state;
    int line, col;
    const char *cut = "{\"a\": [1, 2";
    jsonpos_step_t deep[] = {{.key = "a"}, {.index = 5}};
    assert_int_equal(jsonpos_locate(cut, strlen(cut), deep, 2, 0, &line, &col), -1);
    assert_int_equal(line, 1);
    assert_int_equal(col, 7);

    const char *unterminated = "{\"a";
    jsonpos_step_t a[] = {{.key = "a"}};
    assert_int_equal(jsonpos_locate(unterminated, strlen(unterminated), a, 1, 0, &line, &col), -1);
    assert_int_equal(jsonpos_locate("", 0, a, 1, 0, &line, &col), -1);
    assert_int_equal(jsonpos_locate(NULL, 0, a, 1, 0, &line, &col), -1);

    /* The length bounds the walk even when the buffer goes on. */
    const char *longer = "{\"a\": 1, \"b\": 2}";
    jsonpos_step_t b[] = {{.key = "b"}};
    assert_int_equal(jsonpos_locate(longer, 8, b, 1, 0, &line, &col), -1);
}

static void test_crlf_and_tabs(void **state)
{
    (void)state;
    int line, col;
    const char *text = "{\r\n\t\"k\":\t\"v\"\r\n}";
    jsonpos_step_t k[] = {{.key = "k"}};
    assert_int_equal(jsonpos_locate(text, strlen(text), k, 1, 0, &line, &col), 0);
    assert_int_equal(line, 2);
    assert_int_equal(col, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root),
        cmocka_unit_test(test_member_value_and_key),
        cmocka_unit_test(test_array_elements),
        cmocka_unit_test(test_escaped_keys),
        cmocka_unit_test(test_deep),
        cmocka_unit_test(test_missing_points_to_deepest_container),
        cmocka_unit_test(test_malformed_text_stops_safely),
        cmocka_unit_test(test_crlf_and_tabs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
