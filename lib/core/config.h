/*
 * config — JSON configuration files with errors that name file:line:column and the field.
 *
 * A program describes its settings as a table of cfg_field_t (name, type, where to store, default, bounds) and
 * calls cfg_load(); the loader rejects syntax errors, unknown keys, wrong types and out-of-range values with a
 * message such as "conf/hss.json:4:15: diameter.port: must be an integer from 1 to 65535". Nested objects use
 * dotted names ("diameter.port"). The raw text is kept for positions only until cfg_load returns.
 */
#ifndef MIHUA_CONFIG_H
#define MIHUA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define CFG_ERR_MAX 512 /* room for path, position, field and reason */

typedef struct {
    char msg[CFG_ERR_MAX];
} cfg_error_t;

typedef enum {
    CFG_STRING,      /* char * (malloc'd copy, caller frees with cfg_free_strings) */
    CFG_INT,         /* long, within [min, max] */
    CFG_BOOL,        /* bool */
    CFG_STRING_LIST, /* char ** NULL-terminated (malloc'd), with count in *(size_t *)aux */
    CFG_OBJECT_LIST, /* json_t ** (a new reference; cfg_free_strings drops it): an array of objects whose keys
                        are checked against `sub` (names relative to the element) with the same type, range and
                        choice rules and file:line:column errors; the program reads the checked values itself */
} cfg_type_t;

typedef struct cfg_field {
    const char *name; /* dotted path, e.g. "diameter.port" */
    cfg_type_t type;
    void *dst;                   /* char **, long *, bool *, char *** */
    long min, max;               /* CFG_INT bounds */
    const char *const *choices;  /* CFG_STRING: NULL-terminated allowed values, or NULL for any */
    size_t *aux;                 /* CFG_STRING_LIST: number of elements */
    const struct cfg_field *sub; /* CFG_OBJECT_LIST: the keys an element may have (CFG_STRING/INT/BOOL only) */
    size_t n_sub;
} cfg_field_t;

/*
 * Loads `path` and fills every field that is present; absent fields keep whatever the caller put in *dst
 * (the default). Keys that no field names are errors. Returns 0, or -1 with `err` filled.
 */
int cfg_load(const char *path, const cfg_field_t *fields, size_t n_fields, cfg_error_t *err);

/* Same, from a text already in memory; `name` stands for the file in messages. */
int cfg_load_text(const char *name, const char *text, size_t len, const cfg_field_t *fields, size_t n_fields,
                  cfg_error_t *err);

/* Frees the strings and lists the loader allocated into the fields' destinations (and sets them to NULL). Only
 * call it once defaults that point to static strings have been replaced, i.e. pass the same table. */
void cfg_free_strings(const cfg_field_t *fields, size_t n_fields);

/* Reads a whole file into a NUL-terminated malloc'd buffer; NULL with errno set on failure. */
char *cfg_read_file(const char *path, size_t *len);

/* Same, for a file whose size an operator bounds: refuses anything but a regular file, and a file larger than
 * `max` bytes, from fstat(2) before a byte is read, so an oversized or endless input costs no memory. `setting`
 * names the bound in the message ("f.json: 2147483648 bytes, more than subscribers_max_bytes (1073741824): not
 * read"). NULL with `err` filled on any failure. */
char *cfg_read_file_max(const char *path, size_t max, const char *setting, size_t *len, cfg_error_t *err);

#endif
