/*
 * sub_tool — the commands of mihua-subscribers, the operator's tool for the subscriber store (DESIGN §5 "At
 * scale"): import, export, validate and generate subscriber data without a daemon or a script.
 *
 * Import and export work on the database directly (the same sub_db the daemons share, so running daemons pick an
 * import up at their next refresh). Export writes row by row and includes kms_key: it runs on the machine that
 * holds the store and gives back the file that was imported; the admin API never returns keys.
 */
#ifndef MIHUA_SUB_TOOL_H
#define MIHUA_SUB_TOOL_H

#include <stdbool.h>

#define SUB_TOOL_DEFAULT_STORE "conf/subscribers.db" /* the daemons' default for conf/subscribers.json */

typedef struct {
    char *store;     /* database path */
    char *out;       /* export/gen: output file (written atomically), NULL: stdout */
    bool replace;    /* import: the file becomes the whole data set */
    bool ndjson;     /* import/validate: the input is NDJSON even if it does not look like it */
    bool no_secrets; /* export: leave kms_key and sip_password out */
    long limit;      /* export: at most this many (0: all) */
    char *after;     /* export: start after this IMSI */
} sub_tool_opts_t;

/* Each returns the process exit code: 0 ok, 1 invalid data or runtime failure (reason on stderr). */
int sub_tool_import(const sub_tool_opts_t *o, const char *file);
int sub_tool_export(const sub_tool_opts_t *o);
int sub_tool_validate(const sub_tool_opts_t *o, const char *file);
int sub_tool_gen(const sub_tool_opts_t *o, const char *count);

#endif
