/*
 * sub_tool — mihua-subscribers import | export | validate | gen (see sub_tool.h).
 *
 * validate and import share one path: read the file, turn NDJSON into a document (sub_ndjson, line numbers kept),
 * validate it whole with the daemons' loader; import then writes it in one transaction (sub_db_import), so a
 * refused file — bad field or a conflict with stored subscribers — changes nothing, and a killed import leaves the
 * previous data (SQLite rolls an unfinished transaction back).
 * gen writes a DESIGN §5 document of N distinct subscribers (IMSI 00101 + 10 digits, MSISDN 1 + 10 digits, a SIP
 * and a tel IMPU, RATs and subscription varied, a kms_key and a sip_password derived from the index) with printf: a million in a few
 * seconds, for labs and benchmarks.
 */
#include "sub_tool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "subscriber/sub_db.h"
#include "subscriber/sub_ndjson.h"
#include "subscriber/sub_store.h"

#define GEN_MAX 100000000L /* the MSISDN pattern's range, far above any lab */
#define GEN_DOMAIN "ims.mnc001.mcc001.3gppnetwork.org"

static const char *const gen_rats[] = {"NR", "EUTRAN", "NR", "EUTRAN", "UTRAN", "NR", "GERAN", "NONE"};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads and validates a file (document or NDJSON). NULL after printing the error. */
static sub_snapshot_t *load(const sub_tool_opts_t *o, const char *file)
{
    size_t len;
    sub_error_t err;
    char *text = cfg_read_file(file, &len);

    if (text == NULL) {
        fprintf(stderr, "mihua-subscribers: %s: cannot read: %s\n", file, strerror(errno));
        return NULL;
    }
    if (o->ndjson || sub_ndjson_detect(text, len)) {
        char *doc = sub_ndjson_to_document(text, len, &len);
        free(text);
        if ((text = doc) == NULL) {
            fprintf(stderr, "mihua-subscribers: %s: out of memory\n", file);
            return NULL;
        }
    }
    sub_snapshot_t *s = sub_snapshot_load_text(file, text, len, &err);
    if (s == NULL)
        fprintf(stderr, "mihua-subscribers: %s\n", err.msg);
    free(text);
    return s;
}

int sub_tool_validate(const sub_tool_opts_t *o, const char *file)
{
    sub_snapshot_t *s = load(o, file);
    if (s == NULL)
        return 1;
    printf("%s: valid, %zu subscribers\n", file, sub_snapshot_count(s));
    sub_snapshot_release(s);
    return 0;
}

int sub_tool_import(const sub_tool_opts_t *o, const char *file)
{
    sub_error_t err;
    size_t created = 0, replaced = 0;
    double t0 = now_s();
    sub_snapshot_t *s = load(o, file);
    if (s == NULL)
        return 1;
    double t1 = now_s();
    sub_db_t *db = sub_db_open(o->store, &err);
    sub_db_rc_t rc = db != NULL ? sub_db_import(db, s, o->replace, NULL, &created, &replaced, &err) : SUB_DB_ERROR;
    if (rc != SUB_DB_OK)
        fprintf(stderr, "mihua-subscribers: %s%s%s (nothing changed)\n", rc == SUB_DB_INVALID ? file : "",
                rc == SUB_DB_INVALID ? ": " : "", err.msg);
    else
        printf("imported %s into %s (%s): %zu subscribers, %zu created, %zu replaced; validated in %.2f s, "
               "written in %.2f s\n",
               file, o->store, o->replace ? "replace" : "merge", sub_snapshot_count(s), created, replaced, t1 - t0,
               now_s() - t1);
    sub_db_close(db);
    sub_snapshot_release(s);
    return rc == SUB_DB_OK ? 0 : 1;
}

typedef struct {
    FILE *f;
    bool secrets;
    long n;
} export_ctx_t;

static int export_one(const subscriber_t *sub, void *ud)
{
    export_ctx_t *x = ud;
    json_t *o = sub_to_json(sub);
    if (o == NULL)
        return -1;
    if (!x->secrets)
        json_object_del(o, "kms_key"), json_object_del(o, "sip_password");
    char *line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (line == NULL)
        return -1;
    int rc = fprintf(x->f, "%s%s", x->n++ ? ",\n" : "", line) < 0 ? -1 : 0;
    free(line);
    return rc;
}

int sub_tool_export(const sub_tool_opts_t *o)
{
    sub_error_t err;
    char *tmp = NULL;
    export_ctx_t x = {.f = stdout, .secrets = !o->no_secrets};
    sub_db_t *db = sub_db_open(o->store, &err);

    if (db == NULL) {
        fprintf(stderr, "mihua-subscribers: %s\n", err.msg);
        return 1;
    }
    if (o->out != NULL && (tmp = malloc(strlen(o->out) + 8)) != NULL) {
        sprintf(tmp, "%s.part", o->out);
        x.f = fopen(tmp, "w");
    }
    if (x.f == NULL) {
        fprintf(stderr, "mihua-subscribers: %s: cannot write: %s\n", o->out, strerror(errno));
        free(tmp);
        sub_db_close(db);
        return 1;
    }
    fputs("{\"subscribers\": [\n", x.f);
    long n = sub_db_iterate(db, o->after, (size_t)o->limit, export_one, &x, &err);
    fputs("\n]}\n", x.f);
    int rc = n < 0 || n != x.n || ferror(x.f) ? 1 : 0;
    if (x.f != stdout && (fclose(x.f) != 0 || (rc == 0 && rename(tmp, o->out) != 0)))
        rc = 1;
    if (rc != 0)
        fprintf(stderr, "mihua-subscribers: export failed: %s\n", n < 0 ? err.msg : strerror(errno));
    if (tmp != NULL && rc != 0)
        remove(tmp);
    free(tmp);
    sub_db_close(db);
    return rc;
}

int sub_tool_gen(const sub_tool_opts_t *o, const char *count)
{
    char *end;
    long n = strtol(count, &end, 10);
    if (*count == '\0' || *end != '\0' || n < 1 || n > GEN_MAX) {
        fprintf(stderr, "mihua-subscribers: gen: N must be 1 to %ld, not '%s'\n", GEN_MAX, count);
        return 2;
    }
    FILE *f = o->out != NULL ? fopen(o->out, "w") : stdout;
    if (f == NULL) {
        fprintf(stderr, "mihua-subscribers: %s: %s\n", o->out, strerror(errno));
        return 1;
    }
    fputs("{\"subscribers\": [\n", f);
    for (long i = 1; i <= n; i++)
        fprintf(f,
                "{\"imsi\":\"00101%010ld\",\"msisdn\":\"1%010ld\",\"impu\":[\"sip:+1%010ld@" GEN_DOMAIN
                "\",\"tel:+1%010ld\"],\"voice_encryption\":%s,\"access\":{\"rat\":\"%s\",\"ims_vops\":%s},"
                "\"kms_key\":\"%064lx\",\"sip_password\":\"sip-%010ld\"}%s\n",
                i, i, i, i, i % 4 != 3 ? "true" : "false", gen_rats[i % 8], i % 5 != 4 ? "true" : "false", i, i,
                i < n ? "," : "");
    fputs("]}\n", f);
    int rc = ferror(f) ? 1 : 0;
    if (f != stdout && fclose(f) != 0)
        rc = 1;
    return rc;
}
