/*
 * sbi_problem — renders ProblemDetails (TS 29.571 §5.2.4.1, RFC 7807) for sbi_respond_problem().
 *
 * Kept apart from the server so that unit tests and other producers (the KMS audit log) can render the exact
 * bytes without a connection. Members are emitted in the order of the TS 29.571 table (type is never used by
 * mihua: the default "about:blank" applies, RFC 7807 §4.2), and optional ones only when set.
 */
#include "sbi/sbi_problem.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int status;
    const char *title;
} status_title_t;

/* RFC 9110 §15 reason phrases of every status mihua sends. */
static const status_title_t status_titles[] = {
    {200, "OK"},
    {201, "Created"},
    {204, "No Content"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {413, "Content Too Large"},
    {415, "Unsupported Media Type"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

const char *sbi_status_title(int status)
{
    for (size_t i = 0; i < sizeof(status_titles) / sizeof(status_titles[0]); i++)
        if (status_titles[i].status == status)
            return status_titles[i].title;
    return "Unknown";
}

static int set_string(json_t *obj, const char *key, const char *value)
{
    if (!value)
        return 0;
    return json_object_set_new(obj, key, json_string(value));
}

static json_t *invalid_params_to_json(const sbi_invalid_param_t *v, size_t n)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    if (n > SBI_PROBLEM_MAX_INVALID_PARAMS)
        n = SBI_PROBLEM_MAX_INVALID_PARAMS;
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_object();
        if (!item || set_string(item, "param", v[i].param ? v[i].param : "") ||
            set_string(item, "reason", v[i].reason) || json_array_append_new(arr, item)) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

json_t *sbi_problem_to_json(const sbi_problem_t *p)
{
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    const char *title = p->title ? p->title : sbi_status_title(p->status);
    int rc = set_string(obj, "title", title);
    rc |= json_object_set_new(obj, "status", json_integer(p->status));
    rc |= set_string(obj, "detail", p->detail);
    rc |= set_string(obj, "cause", p->cause);
    if (p->invalid_params && p->n_invalid_params > 0) {
        json_t *arr = invalid_params_to_json(p->invalid_params, p->n_invalid_params);
        rc |= arr ? json_object_set_new(obj, "invalidParams", arr) : -1;
    }
    if (rc) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

char *sbi_problem_render(const sbi_problem_t *p, size_t *len)
{
    json_t *obj = sbi_problem_to_json(p);
    if (!obj)
        return NULL;
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    if (text && len)
        *len = strlen(text);
    return text;
}
