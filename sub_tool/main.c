/*
 * mihua-subscribers — import, export, validate and generate subscriber data (DESIGN §5) for the store the
 * simulators share. Option table and dispatch only; the commands are in sub_tool.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "sub_tool.h"

/* clang-format off */
static const cli_option_t options[] = {
    {"store", "store", "PATH", "subscriber database; default " SUB_TOOL_DEFAULT_STORE},
    {"out", "out", "FILE", "export, gen: write FILE (export: atomically) instead of stdout"},
    {"replace", "replace", NULL, "import: the file becomes the whole data set (default: merge by IMSI)"},
    {"ndjson", "ndjson", NULL, "import, validate: the input is NDJSON, one subscriber per line (else guessed)"},
    {"no-secrets", "no_secrets", NULL, "export: leave kms_key and sip_password out"},
    {"limit", "limit", "N", "export: at most N subscribers (IMSI order)"},
    {"after", "after", "IMSI", "export: start after this IMSI (the last one of the previous part)"},
};
/* clang-format on */

static const char epilogue[] =
    "Commands:\n"
    "  import FILE     validate FILE (DESIGN §5 document or NDJSON) whole, write it in one transaction\n"
    "  export          the store as a DESIGN §5 document, one subscriber per line, secrets included\n"
    "  validate FILE   check FILE as the daemons would (file:line:column of the first error)\n"
    "  gen N           a document of N distinct test subscribers\n"
    "\n"
    "Running daemons that share the store see an import at their next refresh (about 10 ms plus one read).\n"
    "Exit codes: 0 ok, 1 invalid data or runtime failure, 2 bad usage.\n";

static int dispatch(const sub_tool_opts_t *o, int argc, char **argv, int first)
{
    const char *cmd = first < argc ? argv[first] : "";
    int n_args = argc - first - 1;
    const char *arg = n_args >= 1 ? argv[first + 1] : NULL;
    int wants = strcmp(cmd, "export") == 0 ? 0 : 1;

    if (strcmp(cmd, "import") != 0 && strcmp(cmd, "export") != 0 && strcmp(cmd, "validate") != 0 &&
        strcmp(cmd, "gen") != 0) {
        fprintf(stderr, "mihua-subscribers: %s%s (see --help)\n", *cmd ? "unknown command: " : "no command", cmd);
        return 2;
    }
    if (n_args != wants) {
        fprintf(stderr, "mihua-subscribers: %s takes %s\n", cmd, wants ? "one operand" : "no operand");
        return 2;
    }
    if (strcmp(cmd, "import") == 0)
        return sub_tool_import(o, arg);
    if (strcmp(cmd, "export") == 0)
        return sub_tool_export(o);
    if (strcmp(cmd, "validate") == 0)
        return sub_tool_validate(o, arg);
    return sub_tool_gen(o, arg);
}

int main(int argc, char **argv)
{
    sub_tool_opts_t o = {0};
    char *config = NULL;
    int first = argc;
    const cfg_field_t fields[] = {
        {.name = "store", .type = CFG_STRING, .dst = &o.store},
        {.name = "out", .type = CFG_STRING, .dst = &o.out},
        {.name = "replace", .type = CFG_BOOL, .dst = &o.replace},
        {.name = "ndjson", .type = CFG_BOOL, .dst = &o.ndjson},
        {.name = "no_secrets", .type = CFG_BOOL, .dst = &o.no_secrets},
        {.name = "limit", .type = CFG_INT, .dst = &o.limit, .min = 1, .max = 1000000000L},
        {.name = "after", .type = CFG_STRING, .dst = &o.after},
    };
    const cli_spec_t spec = {
        .program = "mihua-subscribers",
        .summary = "Import, export, validate and generate subscriber data for the simulators' shared store.",
        .epilogue = epilogue,
        .fields = fields,
        .n_fields = sizeof fields / sizeof fields[0],
        .options = options,
        .n_options = sizeof options / sizeof options[0],
        .operands = "import FILE | export | validate FILE | gen N",
    };
    int rc;

    switch (cli_parse_operands(&spec, argc, argv, &config, &first)) {
    case CLI_EXIT_OK:
        rc = 0;
        break;
    case CLI_BAD:
        rc = 2;
        break;
    default:
        cli_default(&o.store, SUB_TOOL_DEFAULT_STORE);
        rc = dispatch(&o, argc, argv, first);
        break;
    }
    cfg_free_strings(fields, sizeof fields / sizeof fields[0]);
    free(config);
    return rc;
}
