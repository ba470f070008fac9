/*
 * config — JSON configuration files checked against a table of fields (config.h).
 *
 * Loading runs in three passes so that a bad file changes nothing:
 *   1. walk the document and reject keys that no field names (a key is known when it is a field's dotted name or a
 *      prefix of one, in which case its value must be an object and is walked in turn);
 *   2. check every present field's type and range;
 *   3. only then store the values, copying strings.
 * Errors come out as "file:line:column: field: reason"; the position comes from jsonpos (config.h) walking the
 * same text, since jansson keeps no positions for values it accepted. Syntax errors carry jansson's own line and
 * column and the field "(json)".
 *
 * Trade-offs: lookups are linear in the number of fields (a daemon has a few dozen; this runs once at start-up).
 * Keys that contain a '.' are rejected, otherwise {"diameter.port": 1} would alias the nested form.
 */
#include "core/config.h"

#include "core/jsonpos.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFG_DEPTH_MAX 16     /* deepest nesting of dotted names we walk */
#define CFG_NAME_MAX 256     /* longest dotted field name, with list index */
#define CFG_READ_CHUNK 65536 /* read(2) size for cfg_read_file */
#define CFG_ROOT_NAME "(root)"
#define CFG_SYNTAX_NAME "(json)"

/* What an error needs to say where it is: the file name, its text and a path from the root. */
typedef struct {
    const char *name;
    const char *text;
    size_t len;
    jsonpos_step_t steps[CFG_DEPTH_MAX + 1];
    size_t n_steps;
    cfg_error_t *err;
} cfg_ctx_t;

static void cfg_fail(cfg_ctx_t *cx, int at_key, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void cfg_fail(cfg_ctx_t *cx, int at_key, const char *field, const char *fmt, ...)
{
    int line, col;
    va_list ap;

    if (cx->err == NULL)
        return;
    jsonpos_locate(cx->text, cx->len, cx->steps, cx->n_steps, at_key, &line, &col);
    int head = snprintf(cx->err->msg, sizeof(cx->err->msg), "%s:%d:%d: %s: ", cx->name, line, col, field);
    if (head < 0 || (size_t)head >= sizeof(cx->err->msg))
        return; /* already truncated; the position and field are what matter */
    va_start(ap, fmt);
    vsnprintf(cx->err->msg + head, sizeof(cx->err->msg) - (size_t)head, fmt, ap);
    va_end(ap);
}

char *cfg_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;

    char *buf = NULL;
    size_t used = 0, cap = 0;
    for (;;) {
        if (cap - used < CFG_READ_CHUNK + 1) {
            char *nb = realloc(buf, cap + CFG_READ_CHUNK + 1);
            if (nb == NULL)
                goto fail;
            buf = nb;
            cap += CFG_READ_CHUNK + 1;
        }
        size_t n = fread(buf + used, 1, CFG_READ_CHUNK, f);
        used += n;
        if (n < CFG_READ_CHUNK) {
            if (ferror(f))
                goto fail;
            break;
        }
    }
    fclose(f);
    buf[used] = '\0';
    if (len != NULL)
        *len = used;
    return buf;

fail : {
    int saved = errno ? errno : EIO;
    free(buf);
    fclose(f);
    errno = saved;
    return NULL;
}
}

/* What fstat says is wrong with reading `path` whole, or NULL when it may be read. */
static const char *cfg_file_kind(mode_t mode)
{
    if (S_ISREG(mode))
        return NULL;
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

/* Reads exactly `size` bytes; a file that grew meanwhile is refused rather than cut (a cut file could still
 * parse, as a different document). */
static char *cfg_read_exact(int fd, size_t size, const char *path, cfg_error_t *err)
{
    char *buf = malloc(size + 1);
    size_t used = 0;
    char extra;

    if (buf == NULL) {
        snprintf(err->msg, sizeof(err->msg), "%s: %zu bytes: out of memory", path, size);
        return NULL;
    }
    while (used < size) {
        ssize_t n = read(fd, buf + used, size - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    if (used != size || read(fd, &extra, 1) != 0) {
        snprintf(err->msg, sizeof(err->msg), "%s: changed size while being read (%zu bytes expected): not read", path,
                 size);
        free(buf);
        return NULL;
    }
    buf[size] = '\0';
    return buf;
}

char *cfg_read_file_max(const char *path, size_t max, const char *setting, size_t *len, cfg_error_t *err)
{
    cfg_error_t scratch;
    struct stat sb;

    err = err != NULL ? err : &scratch;
    /* O_NONBLOCK: opening a FIFO without a writer would otherwise block the caller's loop before fstat */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        snprintf(err->msg, sizeof(err->msg), "%s: cannot read: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    const char *kind = cfg_file_kind(sb.st_mode);
    char *buf = NULL;
    if (kind != NULL)
        snprintf(err->msg, sizeof(err->msg), "%s: %s, not a regular file: not read", path, kind);
    else if ((uintmax_t)sb.st_size > (uintmax_t)max)
        snprintf(err->msg, sizeof(err->msg), "%s: %jd bytes, more than %s (%zu): not read", path, (intmax_t)sb.st_size,
                 setting, max);
    else
        buf = cfg_read_exact(fd, (size_t)sb.st_size, path, err);
    close(fd);
    if (buf != NULL && len != NULL)
        *len = (size_t)sb.st_size;
    return buf;
}

/* ---- pass 1: unknown keys ---- */

/* The field called exactly `name`, or NULL. */
static const cfg_field_t *cfg_field_named(const cfg_field_t *fields, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(fields[i].name, name) == 0)
            return &fields[i];
    }
    return NULL;
}

/* Is `name` a proper prefix of a field's name ("a.b" of "a.b.c")? */
static int cfg_is_prefix(const cfg_field_t *fields, size_t n, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++) {
        if (strncmp(fields[i].name, name, len) == 0 && fields[i].name[len] == '.')
            return 1;
    }
    return 0;
}

static int cfg_walk_object(cfg_ctx_t *cx, json_t *obj, const char *prefix, const cfg_field_t *fields, size_t n)
{
    const char *key;
    json_t *value;

    json_object_foreach(obj, key, value)
    {
        char name[CFG_NAME_MAX];
        int w =
            prefix[0] ? snprintf(name, sizeof(name), "%s.%s", prefix, key) : snprintf(name, sizeof(name), "%s", key);
        cx->steps[cx->n_steps++] = (jsonpos_step_t){.key = key};
        int known = w > 0 && (size_t)w < sizeof(name) && strchr(key, '.') == NULL && key[0] != '\0';
        if (known && cfg_field_named(fields, n, name) != NULL) {
            cx->n_steps--;
            continue;
        }
        if (!known || !cfg_is_prefix(fields, n, name)) {
            cfg_fail(cx, 1, known ? name : key, "unknown setting");
            return -1;
        }
        if (!json_is_object(value)) {
            cfg_fail(cx, 0, name, "must be an object");
            return -1;
        }
        if (cx->n_steps >= CFG_DEPTH_MAX) {
            cfg_fail(cx, 0, name, "nested too deeply");
            return -1;
        }
        if (cfg_walk_object(cx, value, name, fields, n) < 0)
            return -1;
        cx->n_steps--;
    }
    return 0;
}

/* ---- pass 2: types and ranges ---- */

/* Finds the value of a dotted name, recording the path in cx->steps. NULL when absent. */
static json_t *cfg_find(cfg_ctx_t *cx, json_t *root, const char *dotted, char *seg_buf, size_t seg_size)
{
    json_t *cur = root;

    cx->n_steps = 0;
    if (strlen(dotted) >= seg_size)
        return NULL;
    strcpy(seg_buf, dotted);
    for (char *seg = seg_buf; seg != NULL && cur != NULL;) {
        char *dot = strchr(seg, '.');
        if (dot != NULL)
            *dot = '\0';
        if (!json_is_object(cur) || cx->n_steps >= CFG_DEPTH_MAX)
            return NULL;
        cur = json_object_get(cur, seg);
        cx->steps[cx->n_steps++] = (jsonpos_step_t){.key = seg};
        seg = dot != NULL ? dot + 1 : NULL;
    }
    return cur;
}

static int cfg_in_choices(const char *const *choices, const char *s)
{
    if (choices == NULL)
        return 1;
    for (size_t i = 0; choices[i] != NULL; i++) {
        if (strcmp(choices[i], s) == 0)
            return 1;
    }
    return 0;
}

static void cfg_choices_text(const char *const *choices, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; choices[i] != NULL && used < size; i++) {
        int w = snprintf(buf + used, size - used, "%s\"%s\"", i ? ", " : "", choices[i]);
        if (w < 0)
            return;
        used += (size_t)w;
    }
}

static int cfg_check_string(cfg_ctx_t *cx, const char *name, const cfg_field_t *f, json_t *v)
{
    char choices[CFG_ERR_MAX / 2];

    if (json_is_string(v) && cfg_in_choices(f->choices, json_string_value(v)))
        return 0;
    if (f->choices == NULL) {
        cfg_fail(cx, 0, name, "must be a string");
        return -1;
    }
    cfg_choices_text(f->choices, choices, sizeof(choices));
    cfg_fail(cx, 0, name, "must be one of %s", choices);
    return -1;
}

static int cfg_check_int(cfg_ctx_t *cx, const cfg_field_t *f, json_t *v)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i >= f->min && i <= f->max)
            return 0;
    }
    cfg_fail(cx, 0, f->name, "must be an integer from %ld to %ld", f->min, f->max);
    return -1;
}

static int cfg_check_list(cfg_ctx_t *cx, const cfg_field_t *f, json_t *v)
{
    size_t i;
    json_t *item;

    if (!json_is_array(v)) {
        cfg_fail(cx, 0, f->name, "must be an array of strings");
        return -1;
    }
    json_array_foreach(v, i, item)
    {
        char name[CFG_NAME_MAX];
        snprintf(name, sizeof(name), "%s[%zu]", f->name, i);
        cx->steps[cx->n_steps++] = (jsonpos_step_t){.key = NULL, .index = i};
        if (cfg_check_string(cx, name, f, item) < 0)
            return -1;
        cx->n_steps--;
    }
    return 0;
}

static int cfg_check_field(cfg_ctx_t *cx, const cfg_field_t *f, json_t *v);

/* One element of an object list: an object with only the sub-fields' keys, each of the right type. */
static int cfg_check_element(cfg_ctx_t *cx, const char *name, const cfg_field_t *f, json_t *item)
{
    const char *key;
    json_t *value;

    if (!json_is_object(item)) {
        cfg_fail(cx, 0, name, "must be an object");
        return -1;
    }
    json_object_foreach(item, key, value)
    {
        char sub_name[CFG_NAME_MAX];
        const cfg_field_t *sf = cfg_field_named(f->sub, f->n_sub, key);
        int w = snprintf(sub_name, sizeof(sub_name), "%s.%s", name, key);
        if (w < 0 || (size_t)w >= sizeof(sub_name))
            sf = NULL; /* a key this long is no setting of ours */
        cx->steps[cx->n_steps++] = (jsonpos_step_t){.key = key};
        if (sf == NULL || sf->type == CFG_OBJECT_LIST) {
            cfg_fail(cx, 1, sub_name, "unknown setting");
            return -1;
        }
        cfg_field_t named = *sf;
        named.name = sub_name; /* errors name the element: "peers[1].port" */
        if (cfg_check_field(cx, &named, value) < 0)
            return -1;
        cx->n_steps--;
    }
    return 0;
}

static int cfg_check_objects(cfg_ctx_t *cx, const cfg_field_t *f, json_t *v)
{
    size_t i;
    json_t *item;

    if (!json_is_array(v)) {
        cfg_fail(cx, 0, f->name, "must be an array of objects");
        return -1;
    }
    if (cx->n_steps + 2 > CFG_DEPTH_MAX) {
        cfg_fail(cx, 0, f->name, "nested too deeply");
        return -1;
    }
    json_array_foreach(v, i, item)
    {
        char name[CFG_NAME_MAX];
        snprintf(name, sizeof(name), "%s[%zu]", f->name, i);
        cx->steps[cx->n_steps++] = (jsonpos_step_t){.key = NULL, .index = i};
        if (cfg_check_element(cx, name, f, item) < 0)
            return -1;
        cx->n_steps--;
    }
    return 0;
}

static int cfg_check_field(cfg_ctx_t *cx, const cfg_field_t *f, json_t *v)
{
    switch (f->type) {
    case CFG_STRING:
        return cfg_check_string(cx, f->name, f, v);
    case CFG_INT:
        return cfg_check_int(cx, f, v);
    case CFG_BOOL:
        if (json_is_boolean(v))
            return 0;
        cfg_fail(cx, 0, f->name, "must be true or false");
        return -1;
    case CFG_STRING_LIST:
        return cfg_check_list(cx, f, v);
    case CFG_OBJECT_LIST:
        return cfg_check_objects(cx, f, v);
    }
    cfg_fail(cx, 0, f->name, "unsupported field type");
    return -1;
}

/* ---- pass 3: store ---- */

static char **cfg_copy_list(json_t *v, size_t *count)
{
    size_t n = json_array_size(v), i;
    json_t *item;
    char **list = calloc(n + 1, sizeof(*list));
    if (list == NULL)
        return NULL;
    json_array_foreach(v, i, item)
    {
        list[i] = strdup(json_string_value(item));
        if (list[i] == NULL) {
            for (size_t j = 0; j < i; j++)
                free(list[j]);
            free(list);
            return NULL;
        }
    }
    *count = n;
    return list;
}

/* Stores one checked value; the only failure is running out of memory. */
static int cfg_store(const cfg_field_t *f, json_t *v)
{
    switch (f->type) {
    case CFG_STRING: {
        char *s = strdup(json_string_value(v));
        if (s == NULL)
            return -1;
        *(char **)f->dst = s;
        return 0;
    }
    case CFG_INT:
        *(long *)f->dst = (long)json_integer_value(v);
        return 0;
    case CFG_BOOL:
        *(bool *)f->dst = json_is_true(v);
        return 0;
    case CFG_STRING_LIST: {
        size_t count = 0;
        char **list = cfg_copy_list(v, &count);
        if (list == NULL)
            return -1;
        *(char ***)f->dst = list;
        if (f->aux != NULL)
            *f->aux = count;
        return 0;
    }
    case CFG_OBJECT_LIST:
        json_decref(*(json_t **)f->dst); /* a value set before (the command line's, or a second load) */
        *(json_t **)f->dst = json_incref(v);
        return 0;
    }
    return -1;
}

static int cfg_apply(cfg_ctx_t *cx, json_t *root, const cfg_field_t *fields, size_t n)
{
    char seg[CFG_NAME_MAX];

    for (size_t i = 0; i < n; i++) {
        if (fields[i].dst == NULL) {
            cx->n_steps = 0;
            cfg_fail(cx, 0, fields[i].name, "field has no destination");
            return -1;
        }
        json_t *v = cfg_find(cx, root, fields[i].name, seg, sizeof(seg));
        if (v != NULL && cfg_check_field(cx, &fields[i], v) < 0)
            return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = cfg_find(cx, root, fields[i].name, seg, sizeof(seg));
        if (v != NULL && cfg_store(&fields[i], v) < 0) {
            cx->n_steps = 0;
            cfg_fail(cx, 0, fields[i].name, "out of memory");
            return -1;
        }
    }
    return 0;
}

static void cfg_syntax_error(const char *name, const json_error_t *jerr, cfg_error_t *err)
{
    if (err == NULL)
        return;
    snprintf(err->msg, sizeof(err->msg), "%s:%d:%d: %s: %s", name, jerr->line > 0 ? jerr->line : 1,
             jerr->column > 0 ? jerr->column : 1, CFG_SYNTAX_NAME, jerr->text);
}

int cfg_load_text(const char *name, const char *text, size_t len, const cfg_field_t *fields, size_t n_fields,
                  cfg_error_t *err)
{
    json_error_t jerr;
    cfg_ctx_t cx = {.name = name ? name : "(config)", .text = text, .len = len, .err = err};

    if (err != NULL)
        err->msg[0] = '\0';
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        cfg_syntax_error(cx.name, &jerr, err);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(root))
        cfg_fail(&cx, 0, CFG_ROOT_NAME, "must be an object");
    else if (cfg_walk_object(&cx, root, "", fields, n_fields) == 0)
        rc = cfg_apply(&cx, root, fields, n_fields);
    json_decref(root);
    return rc;
}

int cfg_load(const char *path, const cfg_field_t *fields, size_t n_fields, cfg_error_t *err)
{
    size_t len;
    char *text = cfg_read_file(path, &len);
    if (text == NULL) {
        if (err != NULL)
            snprintf(err->msg, sizeof(err->msg), "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    int rc = cfg_load_text(path, text, len, fields, n_fields, err);
    free(text);
    return rc;
}

void cfg_free_strings(const cfg_field_t *fields, size_t n_fields)
{
    for (size_t i = 0; i < n_fields; i++) {
        const cfg_field_t *f = &fields[i];
        if (f->dst == NULL)
            continue;
        if (f->type == CFG_STRING) {
            free(*(char **)f->dst);
            *(char **)f->dst = NULL;
        } else if (f->type == CFG_STRING_LIST) {
            char **list = *(char ***)f->dst;
            for (size_t j = 0; list != NULL && list[j] != NULL; j++)
                free(list[j]);
            free(list);
            *(char ***)f->dst = NULL;
            if (f->aux != NULL)
                *f->aux = 0;
        } else if (f->type == CFG_OBJECT_LIST) {
            json_decref(*(json_t **)f->dst);
            *(json_t **)f->dst = NULL;
        }
    }
}
