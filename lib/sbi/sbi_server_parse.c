/*
 * sbi_server_parse — what the SBI server reads out of a request before routing it: the :path split into path and
 * query (RFC 9113 §8.3.1, RFC 3986 §3.3-3.4), the query decoded into parameters ('+' stays '+', TS 29.500
 * §5.2.3), and the content-type's media type (RFC 9110 §8.3.1) compared with JSON or a route's raw type.
 * Strings are copied into the request's arena; the query is decoded in place in its copy, so parameters cost
 * no allocation of their own. A bounded number of parameters (SBI_MAX_QUERY_PARAMS) keeps the array inline.
 */
#include "sbi/sbi_server_int.h"

#include <string.h>
#include <strings.h>

int sbi_srv_split_target(sbi_request_t *req)
{
    if (req->path_only)
        return 0; /* done already for the gate */
    const char *q = strchr(req->path, '?');
    size_t plen = q ? (size_t)(q - req->path) : strlen(req->path);
    req->path_only = sbi_arena_strndup(&req->arena, req->path, plen);
    req->path_buf = sbi_arena_strndup(&req->arena, req->path, plen);
    if (!req->path_only || !req->path_buf)
        return -1;
    req->query = q ? q + 1 : NULL;
    return 0;
}

/* Splits the raw query into decoded name/value pairs (RFC 3986 §3.4; '+' stays '+' as in TS 29.500). */
int sbi_srv_parse_query(sbi_request_t *req)
{
    if (!req->query || !*req->query)
        return 0;
    req->query_buf = sbi_arena_strndup(&req->arena, req->query, strlen(req->query));
    if (!req->query_buf)
        return -1;
    char *save = NULL;
    for (char *tok = strtok_r(req->query_buf, "&", &save); tok; tok = strtok_r(NULL, "&", &save)) {
        if (req->n_query_params == SBI_MAX_QUERY_PARAMS)
            return -1;
        char *eq = strchr(tok, '=');
        char *value = eq ? eq + 1 : tok + strlen(tok);
        if (eq)
            *eq = '\0';
        sbi_percent_decode(tok);
        sbi_percent_decode(value);
        req->query_params[req->n_query_params].name = tok;
        req->query_params[req->n_query_params].value = value;
        req->n_query_params++;
    }
    return 0;
}

/* The length of a content-type's type/subtype: parameters and the whitespace before them left out. */
static size_t media_type_len(const char *ct)
{
    size_t len = strcspn(ct, ";");
    while (len > 0 && (ct[len - 1] == ' ' || ct[len - 1] == '\t'))
        len--;
    return len;
}

/* application/json, or any application/<x>+json (problem+json, merge-patch+json), parameters allowed. */
bool sbi_srv_content_type_is_json(const char *ct)
{
    if (!ct)
        return false;
    size_t len = media_type_len(ct);
    static const char app[] = "application/", json[] = "json", plus_json[] = "+json";
    if (len < sizeof(app) - 1 || strncasecmp(ct, app, sizeof(app) - 1) != 0)
        return false;
    const char *sub = ct + sizeof(app) - 1;
    size_t sublen = len - (sizeof(app) - 1);
    if (sublen == sizeof(json) - 1 && strncasecmp(sub, json, sublen) == 0)
        return true;
    return sublen > sizeof(plus_json) - 1 &&
           strncasecmp(sub + sublen - (sizeof(plus_json) - 1), plus_json, sizeof(plus_json) - 1) == 0;
}

/* `ct` names exactly the media type `type` (case-insensitive, parameters allowed). */
bool sbi_srv_content_type_is(const char *ct, const char *type)
{
    size_t len = ct ? media_type_len(ct) : 0;
    return ct && len == strlen(type) && strncasecmp(ct, type, len) == 0;
}
