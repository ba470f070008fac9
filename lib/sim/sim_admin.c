/*
 * sim_admin — journal and fault routes of the admin API (see sim_admin.h). Thin: parsing of filters and bodies,
 * then lib/core/journal and lib/core/fault do the work. Runs on the admin server's event loop.
 */
#include "sim/sim_admin.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"

#define FAULTS_BASE "/admin/v1/faults"
#define EXCHANGES_BASE "/admin/v1/exchanges"

struct sim_admin {
    journal_t *journal;
    fault_table_t *faults;
    sim_capture_t *captures;
};

static int bad_param(sbi_request_t *req, const char *param, const char *reason)
{
    sbi_invalid_param_t inv = {.param = param, .reason = reason};
    sbi_problem_t p = {.status = 400,
                       .detail = reason,
                       .cause = SBI_CAUSE_INVALID_QUERY_PARAM,
                       .invalid_params = &inv,
                       .n_invalid_params = 1};
    sbi_respond_problem(req, &p);
    return -1;
}

static bool all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* RFC 3339 UTC, "YYYY-MM-DDTHH:MM:SS[.mmm]Z", to ms since the epoch; -1 when it is not that. */
static int64_t parse_time(const char *s)
{
    struct tm tm = {0};
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    long ms = 0;

    if (rest == NULL)
        return -1;
    if (*rest == '.') {
        char *end;
        ms = strtol(rest + 1, &end, 10);
        if (end - (rest + 1) != 3)
            return -1;
        rest = end;
    }
    if (strcmp(rest, "Z") != 0)
        return -1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

static int parse_since(sbi_request_t *req, journal_filter_t *f)
{
    const char *since = sbi_request_query_param(req, "since");

    if (since == NULL)
        return 0;
    if (all_digits(since) && strlen(since) < 19) {
        f->since_id = strtoull(since, NULL, 10);
        return 0;
    }
    f->since_ms = parse_time(since);
    return f->since_ms < 0 ? bad_param(req, "since", "an entry id or a UTC time such as 2026-12-03T06:00:00Z") : 0;
}

static int parse_number(sbi_request_t *req, const char *name, long max, long *out)
{
    const char *v = sbi_request_query_param(req, name);

    if (v == NULL)
        return 0;
    if (!all_digits(v) || strlen(v) > 9 || strtol(v, NULL, 10) > max)
        return bad_param(req, name, "must be a positive integer");
    *out = strtol(v, NULL, 10);
    return 0;
}

static void on_exchanges(sbi_request_t *req, void *ud)
{
    sim_admin_t *a = ud;
    journal_filter_t f = {.identity = sbi_request_query_param(req, "identity"),
                          .command = sbi_request_query_param(req, "command"),
                          .path = sbi_request_query_param(req, "path")};
    long result = -1, limit = 0;

    if (parse_since(req, &f) != 0 || parse_number(req, "result", 999999, &result) != 0 ||
        parse_number(req, "limit", JOURNAL_CAPACITY_MAX, &limit) != 0)
        return;
    f.result = (int)result;
    f.has_result = result >= 0;
    f.limit = (size_t)limit;
    json_t *out = journal_query(a->journal, &f);
    if (out == NULL) {
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "out of memory");
        return;
    }
    sbi_respond_json(req, 200, out);
    json_decref(out);
}

static void respond_cleared(sbi_request_t *req, size_t n)
{
    json_t *out = json_pack("{s:I}", "cleared", (json_int_t)n);
    sbi_respond_json(req, 200, out);
    json_decref(out);
}

static void on_exchanges_clear(sbi_request_t *req, void *ud)
{
    respond_cleared(req, journal_clear(((sim_admin_t *)ud)->journal));
}

static void on_fault_add(sbi_request_t *req, void *ud)
{
    sim_admin_t *a = ud;
    char param[64], err[160], location[64], what[64];
    fault_t f;
    json_t *body = sbi_request_json(req);

    if (body == NULL) {
        sbi_respond_error(req, 400, SBI_CAUSE_MANDATORY_IE_MISSING, "a fault rule (JSON object) is required");
        return;
    }
    if (fault_table_add_json(a->faults, body, &f, param, sizeof param, err, sizeof err) != 0) {
        sbi_invalid_param_t inv = {.param = param, .reason = err};
        sbi_problem_t p = {.status = 400,
                           .detail = err,
                           .cause = SBI_CAUSE_MANDATORY_IE_INCORRECT,
                           .invalid_params = &inv,
                           .n_invalid_params = 1};
        sbi_respond_problem(req, &p);
        return;
    }
    log_info("admin", "fault %llu set: %s %s for %s", (unsigned long long)f.id,
             f.proto == FAULT_PROTO_SBI ? "sbi" : "diameter", fault_describe(&f, what, sizeof what),
             f.subscriber[0] ? f.subscriber : "every subscriber");
    snprintf(location, sizeof location, FAULTS_BASE "/%llu", (unsigned long long)f.id);
    json_t *out = fault_json(&f);
    char *text = out != NULL ? json_dumps(out, JSON_COMPACT) : NULL;
    sbi_header_t h[] = {{"content-type", SBI_CT_JSON}, {"location", location}};
    if (text == NULL)
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "out of memory");
    else
        sbi_respond_ex(req, 201, h, 2, text, strlen(text));
    free(text);
    json_decref(out);
}

static void on_fault_list(sbi_request_t *req, void *ud)
{
    json_t *out = fault_table_list(((sim_admin_t *)ud)->faults);

    if (out == NULL) {
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "out of memory");
        return;
    }
    sbi_respond_json(req, 200, out);
    json_decref(out);
}

static void on_fault_clear(sbi_request_t *req, void *ud)
{
    respond_cleared(req, fault_table_clear(((sim_admin_t *)ud)->faults));
}

static void on_fault_delete(sbi_request_t *req, void *ud)
{
    const char *id = sbi_request_capture(req, "id");

    if (id == NULL || !all_digits(id) || strlen(id) > 19) {
        bad_param(req, "id", "a fault id is a positive integer");
        return;
    }
    if (!fault_table_remove(((sim_admin_t *)ud)->faults, strtoull(id, NULL, 10))) {
        sbi_respond_error(req, 404, SBI_CAUSE_RESOURCE_URI_STRUCTURE_NOT_FOUND, "no fault %.32s", id);
        return;
    }
    sbi_respond(req, 204, NULL, NULL, 0);
}

sim_admin_t *sim_admin_new(sbi_server_t *srv, size_t journal_capacity, const sim_capture_conf_t *capture)
{
    sim_admin_t *a = calloc(1, sizeof *a);

    if (a == NULL)
        return NULL;
    a->journal = journal_new(journal_capacity);
    a->faults = fault_table_new();
    a->captures = sim_capture_new(srv, capture);
    if (a->journal == NULL || a->faults == NULL || a->captures == NULL ||
        sbi_server_route(srv, "GET", EXCHANGES_BASE, on_exchanges, a) != 0 ||
        sbi_server_route(srv, "DELETE", EXCHANGES_BASE, on_exchanges_clear, a) != 0 ||
        sbi_server_route(srv, "POST", FAULTS_BASE, on_fault_add, a) != 0 ||
        sbi_server_route(srv, "GET", FAULTS_BASE, on_fault_list, a) != 0 ||
        sbi_server_route(srv, "DELETE", FAULTS_BASE, on_fault_clear, a) != 0 ||
        sbi_server_route(srv, "DELETE", FAULTS_BASE "/{id}", on_fault_delete, a) != 0) {
        sim_admin_free(a);
        return NULL;
    }
    return a;
}

void sim_admin_free(sim_admin_t *a)
{
    if (a == NULL)
        return;
    sim_capture_free(a->captures);
    journal_free(a->journal);
    fault_table_free(a->faults);
    free(a);
}

journal_t *sim_admin_journal(const sim_admin_t *a)
{
    return a->journal;
}
fault_table_t *sim_admin_faults(const sim_admin_t *a)
{
    return a->faults;
}
