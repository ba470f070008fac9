/* cli: defaults < config file < command line, checks shared with the file, generated --help. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/cli.h"

typedef struct {
    char *listen;
    char *level;
    long port;
    bool flag;
} settings_t;

static const char *const levels[] = {"error", "info", NULL};

static const cli_option_t options[] = {
    {"listen", "listen", "ADDR:PORT", "where to listen"},
    {"log-level", "log_level", "LEVEL", "how much to say"},
    {"port", "server.port", "N", "a port"},
    {"flag", "flag", NULL, "a flag"},
};

static cli_result_t run(settings_t *s, char **config, const char *file_text, int argc, char **argv)
{
    const cfg_field_t fields[] = {
        {.name = "listen", .type = CFG_STRING, .dst = &s->listen},
        {.name = "log_level", .type = CFG_STRING, .dst = &s->level, .choices = levels},
        {.name = "server.port", .type = CFG_INT, .dst = &s->port, .min = 1, .max = 65535},
        {.name = "flag", .type = CFG_BOOL, .dst = &s->flag},
    };
    const cli_spec_t spec = {"prog", "summary", "epilogue\n", fields, 4, options, 4, NULL};
    char path[] = "/tmp/mihua-cli-XXXXXX";

    if (file_text != NULL) {
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, file_text, strlen(file_text)), (ssize_t)strlen(file_text));
        close(fd);
        for (int i = 0; i < argc; i++)
            if (strcmp(argv[i], "@FILE") == 0)
                argv[i] = path;
    }
    cli_result_t r = cli_parse(&spec, argc, argv, config);
    if (file_text != NULL)
        unlink(path);
    return r;
}

static void release(settings_t *s, char *config)
{
    free(s->listen);
    free(s->level);
    free(config);
}

static void test_command_line_overrides_file(void **state)
{
    (void)state;
    settings_t s = {.port = 7};
    char *config = NULL;
    char *argv[] = {"prog", "-c", "@FILE", "--listen", "127.0.0.1:0", NULL};
    const char *file = "{\"listen\": \"127.0.0.1:1\", \"log_level\": \"error\", \"server\": {\"port\": 99}}";

    assert_int_equal(run(&s, &config, file, 5, argv), CLI_OK);
    assert_string_equal(s.listen, "127.0.0.1:0"); /* command line wins */
    assert_string_equal(s.level, "error");        /* file kept where the command line is silent */
    assert_int_equal(s.port, 99);                 /* nested file setting */
    assert_false(s.flag);
    assert_non_null(config);
    cli_default(&s.level, "info");
    assert_string_equal(s.level, "error"); /* a default never replaces a value */
    release(&s, config);
}

static void test_defaults_fill_only_gaps(void **state)
{
    (void)state;
    settings_t s = {.port = 7};
    char *config = NULL;
    char *argv[] = {"prog", "--flag", "--port", "65535", NULL};

    assert_int_equal(run(&s, &config, NULL, 4, argv), CLI_OK);
    assert_true(s.flag);
    assert_int_equal(s.port, 65535);
    assert_null(config);
    cli_default(&s.listen, "default");
    assert_string_equal(s.listen, "default");
    release(&s, config);
}

static void test_bad_values_are_refused(void **state)
{
    (void)state;
    char *bad_port[] = {"prog", "--port", "0", NULL};
    char *bad_choice[] = {"prog", "--log-level", "loud", NULL};
    char *unknown[] = {"prog", "--nope", NULL};
    char *extra[] = {"prog", "stray", NULL};
    char *bad_file[] = {"prog", "-c", "@FILE", NULL};
    char **cases[] = {bad_port, bad_choice, unknown, extra};
    int argcs[] = {3, 3, 2, 2};

    for (size_t i = 0; i < 4; i++) {
        settings_t s = {0};
        char *config = NULL;
        assert_int_equal(run(&s, &config, NULL, argcs[i], cases[i]), CLI_BAD);
        release(&s, config);
    }
    settings_t s = {0};
    char *config = NULL;
    assert_int_equal(run(&s, &config, "{\"unknown\": 1}", 3, bad_file), CLI_BAD);
    assert_null(s.listen);
    release(&s, config);
}

/* A program with subcommands: operands, a yes/no setting that defaults to true, a comma-separated list. */
static void test_operands_bool_values_and_lists(void **state)
{
    (void)state;
    static const char *const suites[] = {"A", "B", "C", NULL};
    bool capable = true;
    char **list = NULL;
    size_t n = 0;
    const cfg_field_t fields[] = {
        {.name = "capable", .type = CFG_BOOL, .dst = &capable},
        {.name = "suites", .type = CFG_STRING_LIST, .dst = &list, .choices = suites, .aux = &n},
    };
    const cli_option_t opts[] = {{"capable", "capable", "yes|no", "c"}, {"suites", "suites", "LIST", "s"}};
    const cli_spec_t spec = {"ue", "summary", "", fields, 2, opts, 2, "COMMAND [ARGS]"};
    char *config = NULL;
    int first = -1;
    char *argv[] = {"ue", "call", "--capable", "no", "tel:+1", "--suites", "C,A", NULL};

    assert_int_equal(cli_parse_operands(&spec, 7, argv, &config, &first), CLI_OK);
    assert_false(capable);
    assert_int_equal(n, 2);
    assert_string_equal(list[0], "C");
    assert_string_equal(list[1], "A");
    assert_null(list[2]);
    assert_int_equal(first, 5); /* getopt moved the operands to the end, in order */
    assert_string_equal(argv[first], "call");
    assert_string_equal(argv[first + 1], "tel:+1");

    char *bad_bool[] = {"ue", "--capable", "maybe", NULL};
    char *bad_item[] = {"ue", "--suites", "A,D", NULL};
    char *empty_item[] = {"ue", "--suites", "A,,B", NULL};
    char **bad[] = {bad_bool, bad_item, empty_item};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(cli_parse_operands(&spec, 3, bad[i], &config, &first), CLI_BAD);
    assert_int_equal(n, 2); /* a refused list leaves the earlier one in force */
    assert_string_equal(list[0], "C");
    cfg_free_strings(fields, 2);
    free(config);

    char *stray[] = {"prog", "stray", NULL};
    const cli_spec_t no_operands = {"prog", "summary", "", fields, 2, opts, 2, NULL};
    assert_int_equal(cli_parse_operands(&no_operands, 2, stray, &config, &first), CLI_BAD);
    free(config);
}

static void test_help_and_version_exit_ok(void **state)
{
    (void)state;
    char *help[] = {"prog", "--port", "1", "--help", NULL};
    char *version[] = {"prog", "-V", NULL};
    settings_t s = {0};
    char *config = NULL;

    assert_int_equal(run(&s, &config, NULL, 4, help), CLI_EXIT_OK);
    assert_int_equal(run(&s, &config, NULL, 2, version), CLI_EXIT_OK);
    release(&s, config);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_line_overrides_file), cmocka_unit_test(test_defaults_fill_only_gaps),
        cmocka_unit_test(test_bad_values_are_refused),      cmocka_unit_test(test_operands_bool_values_and_lists),
        cmocka_unit_test(test_help_and_version_exit_ok),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
