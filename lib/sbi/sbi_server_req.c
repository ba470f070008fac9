/*
 * sbi_server_req — the request object of the SBI server: one per HTTP/2 stream (RFC 9113 §8.1), its
 * pseudo-headers and headers (§8.3), and the accessors handlers read it with (sbi_server.h).
 *
 * Every string of a request (pseudo-headers, headers, path copies, decoded query, a small answer body) comes from
 * an arena inside the request object (sbi_arena.h), spilling to malloc only when it is full, so a typical
 * request costs no allocation per string and freeing it is one walk of a short list. The trade-off is REQ_ARENA_INLINE
 * bytes per request in flight, used or not. A flat JSON body (sbi_flat_json.h) is read without jansson; the
 * jansson tree is built only if a handler asks for it (sbi_request_json).
 */
#include "sbi/sbi_server_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void sbi_srv_request_free(sbi_request_t *req)
{
    sbi_conn_t *conn = req->conn;
    if (req->prev)
        req->prev->next = req->next;
    else
        conn->requests = req->next;
    if (req->next)
        req->next->prev = req->prev;
    event_del(&req->timer);
    sbi_header_list_free(&req->headers);
    sbi_arena_reset(&req->arena);
    free(req->body);
    json_decref(req->json);
    free(req);
}

sbi_request_t *sbi_srv_request_new(sbi_conn_t *conn, int32_t stream_id, event_callback_fn on_timeout)
{
    sbi_request_t *req = malloc(sizeof(*req));
    if (!req)
        return NULL;
    memset(req, 0, offsetof(sbi_request_t, inline_headers)); /* the arena needs no clearing */
    sbi_header_list_init(&req->headers, req->inline_headers, REQ_INLINE_HEADERS);
    sbi_arena_init(&req->arena, req->arena_mem, sizeof(req->arena_mem));
    req->conn = conn;
    req->stream_id = stream_id;
    req->content_length = -1;
    if (conn->srv->observer)
        clock_gettime(CLOCK_MONOTONIC, &req->started);
    event_assign(&req->timer, conn->srv->base, -1, 0, on_timeout, req);
    event_add(&req->timer, conn->srv->stream_timeout);
    req->next = conn->requests;
    if (conn->requests)
        conn->requests->prev = req;
    conn->requests = req;
    return req;
}

static int set_pseudo(sbi_request_t *req, char **dst, const uint8_t *value, size_t len)
{
    if (*dst)
        return 0; /* duplicates are rejected by nghttp2's HTTP messaging checks already */
    *dst = sbi_arena_strndup(&req->arena, (const char *)value, len);
    return *dst ? 0 : -1;
}

int sbi_srv_request_store_header(sbi_request_t *req, const uint8_t *name, size_t namelen, const uint8_t *value,
                                 size_t valuelen)
{
    if (namelen > 0 && name[0] == ':') {
        if (namelen == 7 && memcmp(name, ":method", 7) == 0)
            return set_pseudo(req, &req->method, value, valuelen);
        if (namelen == 5 && memcmp(name, ":path", 5) == 0)
            return set_pseudo(req, &req->path, value, valuelen);
        if (namelen == 7 && memcmp(name, ":scheme", 7) == 0)
            return set_pseudo(req, &req->scheme, value, valuelen);
        if (namelen == 10 && memcmp(name, ":authority", 10) == 0)
            return set_pseudo(req, &req->authority, value, valuelen);
        return 0;
    }
    if (sbi_header_list_add(&req->headers, &req->arena, name, namelen, value, valuelen))
        return -1;
    const sbi_header_t *h = &req->headers.v[req->headers.n - 1];
    if (strcmp(h->name, "content-type") == 0 && !req->content_type)
        req->content_type = h->value;
    else if (strcmp(h->name, "content-length") == 0)
        req->content_length = strtoll(h->value, NULL, 10); /* nghttp2 validated the digits */
    return 0;
}

const char *sbi_request_method(const sbi_request_t *req)
{
    return req->method;
}

const char *sbi_request_path(const sbi_request_t *req)
{
    return req->path_only;
}

const char *sbi_request_query(const sbi_request_t *req)
{
    return req->query;
}

const char *sbi_request_authority(const sbi_request_t *req)
{
    return req->authority;
}

const char *sbi_request_peer(const sbi_request_t *req)
{
    return req->conn->peer;
}
json_t *sbi_request_json(const sbi_request_t *req)
{
    if (req->json_lazy && !req->json) {
        sbi_request_t *r = (sbi_request_t *)req; /* the cache of a const view: parsed once, freed with the request */
        r->json = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, NULL);
    }
    return req->json;
}

const sbi_flat_json_t *sbi_request_flat(const sbi_request_t *req)
{
    return req->json_lazy ? &req->flat : NULL;
}

bool sbi_request_body_raw(const sbi_request_t *req)
{
    return req->body_raw;
}

sbi_server_t *sbi_request_server(const sbi_request_t *req)
{
    return req->conn->srv;
}

const void *sbi_request_body(const sbi_request_t *req, size_t *len)
{
    if (len)
        *len = req->body_len;
    return req->body;
}

sbi_handle_t sbi_request_handle(const sbi_request_t *req)
{
    sbi_handle_t h = {req->conn->id, req->stream_id};
    return h;
}

const char *sbi_request_query_param(const sbi_request_t *req, const char *name)
{
    for (size_t i = 0; i < req->n_query_params; i++)
        if (strcmp(req->query_params[i].name, name) == 0)
            return req->query_params[i].value;
    return NULL;
}

const char *sbi_request_capture(const sbi_request_t *req, const char *name)
{
    return sbi_route_capture(&req->match, name);
}

const char *sbi_request_header(const sbi_request_t *req, const char *name)
{
    for (size_t i = 0; i < req->headers.n; i++)
        if (strcasecmp(req->headers.v[i].name, name) == 0)
            return req->headers.v[i].value;
    return NULL;
}

double sbi_request_elapsed_ms(const sbi_request_t *req)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - req->started.tv_sec) * 1e3 + (double)(now.tv_nsec - req->started.tv_nsec) / 1e6;
}
