/*
 * cli — the command line every mihua daemon shares (DESIGN §8): `-c FILE`, one long option per setting,
 * `--help`, `--version`, and the precedence defaults < config file < command line.
 *
 * A program describes its settings once, as the cfg_field_t table config.h already uses for the JSON file, and
 * adds a cli_option_t for each setting that also has a command-line form. cli_parse() reads -c first (so the file
 * is loaded before the options that override it), loads the file through cfg_load(), then applies the options
 * with the same type, range and choice checks the file gets. --help is generated from the same tables, so it
 * cannot drift from what the parser accepts.
 *
 * A program with subcommands (mihua-ue) names its operands in `operands` and calls cli_parse_operands(), which
 * leaves them at the end of argv (GNU getopt permutes) and says where they start. A CFG_BOOL option with a metavar
 * takes a value (yes/no, true/false, on/off, 1/0), so a setting that defaults to true can be turned off; a
 * CFG_STRING_LIST option takes a comma-separated list, each element checked against the field's choices.
 *
 * String settings should start NULL: what the file or the command line sets is heap-allocated (replacing and
 * freeing any earlier value), and the program fills the remaining NULLs with its defaults afterwards, so every
 * string is freed the same way whichever source it came from.
 */
#ifndef MIHUA_CLI_H
#define MIHUA_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "core/config.h"

typedef struct {
    const char *name;    /* long option without "--", e.g. "admin-listen" */
    const char *field;   /* the cfg_field_t it sets, by name, e.g. "admin_listen" */
    const char *metavar; /* "ADDR:PORT"; NULL for a flag (CFG_BOOL fields only: the flag sets true); for a
                            CFG_BOOL field a metavar makes it take yes/no */
    const char *help;    /* one line for --help */
} cli_option_t;

typedef struct {
    const char *program;  /* "mihua-hss": messages, --help and --version */
    const char *summary;  /* one line under "Usage:" */
    const char *epilogue; /* text after the options: READY line, signals, exit codes */
    const cfg_field_t *fields;
    size_t n_fields;
    const cli_option_t *options;
    size_t n_options;
    const char *operands; /* synopsis of the operands after the options ("COMMAND [ARGS]"); NULL: none allowed */
} cli_spec_t;

typedef enum {
    CLI_OK = 0,
    CLI_EXIT_OK, /* --help or --version was printed: exit 0 */
    CLI_BAD,     /* the reason is on stderr: exit 2 */
} cli_result_t;

/* Parses argv as described above. *config_path receives the -c value (malloc'd) or NULL. */
cli_result_t cli_parse(const cli_spec_t *spec, int argc, char **argv, char **config_path);

/* The same, for a spec with operands: *first_operand receives the index in argv of the first operand (argc when
 * there is none). */
cli_result_t cli_parse_operands(const cli_spec_t *spec, int argc, char **argv, char **config_path, int *first_operand);

/* The generated --help text. */
void cli_usage(const cli_spec_t *spec, FILE *out);

/* Sets a string setting to a copy of `value` when nothing set it (the default step). */
void cli_default(char **dst, const char *value);

#endif
