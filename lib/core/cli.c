/*
 * cli — command-line parsing shared by the daemons (cli.h).
 *
 * getopt_long runs twice over argv: the first pass only looks for -c, --help and --version, so that the config
 * file is loaded before the second pass applies the other options on top of it. The getopt option table is built
 * from the program's cli_option_t list at run time; each option's `val` is its index, which is how the second
 * pass finds the field to set. Values are converted and checked with the field's own type, bounds and choices,
 * and errors name the option: "mihua-hss: --port: must be an integer from 1 to 65535, not 'x'".
 */
#include "core/cli.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CLI_MAX_OPTIONS 48  /* more settings than any mihua daemon has (mihua-as: 33) */
#define CLI_OPT_NAME_MAX 64 /* "--" and a long option name, as errors name it */
#define CLI_OPT_BASE 256    /* getopt `val` of option i is CLI_OPT_BASE + i, clear of short options */

static const cfg_field_t *field_named(const cli_spec_t *spec, const char *name)
{
    for (size_t i = 0; i < spec->n_fields; i++)
        if (strcmp(spec->fields[i].name, name) == 0)
            return &spec->fields[i];
    return NULL;
}

void cli_usage(const cli_spec_t *spec, FILE *out)
{
    fprintf(out, "Usage: %s [OPTIONS]%s%s\n%s\n\n", spec->program, spec->operands ? " " : "",
            spec->operands ? spec->operands : "", spec->summary);
    fprintf(out, "  -c, --config FILE              JSON config; its keys:");
    for (size_t i = 0; i < spec->n_fields; i++)
        fprintf(out, "%s%s", i % 6 == 0 ? "\n                                   " : " ", spec->fields[i].name);
    fprintf(out, "\n");
    for (size_t i = 0; i < spec->n_options; i++) {
        const cli_option_t *o = &spec->options[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
        fprintf(out, "      %-26s %s\n", left, o->help);
    }
    fprintf(out, "  -h, --help                     this text\n  -V, --version                  program version\n\n%s",
            spec->epilogue);
}

void cli_default(char **dst, const char *value)
{
    if (*dst == NULL)
        *dst = strdup(value);
}

static bool in_choices(const char *const *choices, const char *v)
{
    if (choices == NULL)
        return true;
    for (size_t i = 0; choices[i] != NULL; i++)
        if (strcmp(choices[i], v) == 0)
            return true;
    return false;
}

/* yes/no and its synonyms; -1 for anything else. */
static int parse_bool(const char *v)
{
    static const char *const yes[] = {"yes", "true", "on", "1"}, *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(v, yes[i]) == 0)
            return 1;
        if (strcmp(v, no[i]) == 0)
            return 0;
    }
    return -1;
}

static void free_list(char **list)
{
    for (size_t i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}

/* "a,b,c" into a NULL-terminated list, each element checked against the choices. */
static int apply_list(const cli_spec_t *spec, const cli_option_t *o, const cfg_field_t *f, const char *arg)
{
    size_t n = 1, count;
    for (const char *p = arg; *p; p++)
        n += *p == ',';
    char **list = calloc(n + 1, sizeof *list);
    if (!list)
        return -1;
    const char *p = arg;
    for (count = 0; count < n; count++) {
        size_t len = strcspn(p, ",");
        if (len == 0) {
            fprintf(stderr, "%s: --%s: empty element in '%s'\n", spec->program, o->name, arg);
            break;
        }
        if (!(list[count] = strndup(p, len)))
            break;
        if (!in_choices(f->choices, list[count])) {
            fprintf(stderr, "%s: --%s: '%s' is not a known value\n", spec->program, o->name, list[count]);
            break;
        }
        p += len + (p[len] == ',');
    }
    if (count < n) {
        free_list(list);
        return -1;
    }
    free_list(*(char ***)f->dst);
    *(char ***)f->dst = list;
    if (f->aux)
        *f->aux = count;
    return 0;
}

/* A CFG_OBJECT_LIST option takes the JSON array itself, checked by the file loader's own rules (wrapped in an
 * object under the field's name, so its errors read like the file's). */
static int apply_objects(const cli_spec_t *spec, const cli_option_t *o, const cfg_field_t *f, const char *arg)
{
    cfg_error_t err;
    size_t size = strlen(f->name) + strlen(arg) + sizeof "{\"\": }";
    char *text = malloc(size);
    if (text == NULL)
        return -1;
    snprintf(text, size, "{\"%s\": %s}", f->name, arg);
    char where[CLI_OPT_NAME_MAX];
    snprintf(where, sizeof where, "--%s", o->name);
    int rc = cfg_load_text(where, text, strlen(text), f, 1, &err);
    free(text);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", spec->program, err.msg);
    return rc;
}

/* Applies one option value to its field, with the field's checks. */
static int apply(const cli_spec_t *spec, const cli_option_t *o, const cfg_field_t *f, const char *arg)
{
    char *end;
    long v;

    switch (f->type) {
    case CFG_STRING:
        if (!in_choices(f->choices, arg)) {
            fprintf(stderr, "%s: --%s: must be one of", spec->program, o->name);
            for (size_t i = 0; f->choices[i] != NULL; i++)
                fprintf(stderr, "%s %s", i ? "," : "", f->choices[i]);
            fprintf(stderr, "; not '%s'\n", arg);
            return -1;
        }
        free(*(char **)f->dst);
        *(char **)f->dst = strdup(arg);
        return *(char **)f->dst != NULL ? 0 : -1;
    case CFG_INT:
        v = strtol(arg, &end, 10);
        if (*arg == '\0' || *end != '\0' || v < f->min || v > f->max) {
            fprintf(stderr, "%s: --%s: must be an integer from %ld to %ld, not '%s'\n", spec->program, o->name, f->min,
                    f->max, arg);
            return -1;
        }
        *(long *)f->dst = v;
        return 0;
    case CFG_BOOL:
        if (o->metavar == NULL) {
            *(bool *)f->dst = true;
            return 0;
        }
        if (parse_bool(arg) < 0) {
            fprintf(stderr, "%s: --%s: must be yes or no, not '%s'\n", spec->program, o->name, arg);
            return -1;
        }
        *(bool *)f->dst = parse_bool(arg) == 1;
        return 0;
    case CFG_STRING_LIST:
        return apply_list(spec, o, f, arg);
    case CFG_OBJECT_LIST:
        return apply_objects(spec, o, f, arg);
    }
    fprintf(stderr, "%s: --%s: this setting has no command-line form\n", spec->program, o->name);
    return -1;
}

static int build_table(const cli_spec_t *spec, struct option *table)
{
    size_t n = 0;

    if (spec->n_options > CLI_MAX_OPTIONS)
        return -1;
    table[n++] = (struct option){"config", required_argument, NULL, 'c'};
    table[n++] = (struct option){"help", no_argument, NULL, 'h'};
    table[n++] = (struct option){"version", no_argument, NULL, 'V'};
    for (size_t i = 0; i < spec->n_options; i++) {
        if (field_named(spec, spec->options[i].field) == NULL)
            return -1;
        table[n++] = (struct option){spec->options[i].name, spec->options[i].metavar ? required_argument : no_argument,
                                     NULL, CLI_OPT_BASE + (int)i};
    }
    table[n] = (struct option){NULL, 0, NULL, 0};
    return 0;
}

/* -c, --help, --version only; unknown options are left for the second pass to report. */
static cli_result_t first_pass(const cli_spec_t *spec, const struct option *table, int argc, char **argv,
                               char **config_path)
{
    int opt;

    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:hV", table, NULL)) != -1) {
        if (opt == 'h') {
            cli_usage(spec, stdout);
            return CLI_EXIT_OK;
        }
        if (opt == 'V') {
            printf("%s %s\n", spec->program, MIHUA_VERSION);
            return CLI_EXIT_OK;
        }
        if (opt == 'c') {
            free(*config_path);
            *config_path = strdup(optarg);
        }
    }
    return CLI_OK;
}

static cli_result_t second_pass(const cli_spec_t *spec, const struct option *table, int argc, char **argv,
                                int *first_operand)
{
    int opt;

    opterr = 1;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:hV", table, NULL)) != -1) {
        if (opt == 'c' || opt == 'h' || opt == 'V')
            continue;
        if (opt < CLI_OPT_BASE || opt >= CLI_OPT_BASE + (int)spec->n_options) {
            fprintf(stderr, "Try '%s --help'.\n", spec->program);
            return CLI_BAD;
        }
        const cli_option_t *o = &spec->options[opt - CLI_OPT_BASE];
        if (apply(spec, o, field_named(spec, o->field), optarg) != 0)
            return CLI_BAD;
    }
    if (first_operand) {
        *first_operand = optind;
        return CLI_OK;
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", spec->program, argv[optind]);
        return CLI_BAD;
    }
    return CLI_OK;
}

cli_result_t cli_parse(const cli_spec_t *spec, int argc, char **argv, char **config_path)
{
    return cli_parse_operands(spec, argc, argv, config_path, NULL);
}

cli_result_t cli_parse_operands(const cli_spec_t *spec, int argc, char **argv, char **config_path, int *first_operand)
{
    struct option table[CLI_MAX_OPTIONS + 4];
    cfg_error_t err;

    *config_path = NULL;
    if (build_table(spec, table) != 0) {
        fprintf(stderr, "%s: internal error: bad option table\n", spec->program);
        return CLI_BAD;
    }
    cli_result_t r = first_pass(spec, table, argc, argv, config_path);
    if (r != CLI_OK)
        return r;
    if (*config_path != NULL && cfg_load(*config_path, spec->fields, spec->n_fields, &err) != 0) {
        fprintf(stderr, "%s: %s\n", spec->program, err.msg);
        return CLI_BAD;
    }
    if (first_operand && !spec->operands) {
        fprintf(stderr, "%s: internal error: operands not declared\n", spec->program);
        return CLI_BAD;
    }
    return second_pass(spec, table, argc, argv, first_operand);
}
