/*
 * probe_h2 — synchronous HTTP/2 client of the probe (see probe_h2.h).
 *
 * The pump: nghttp2_session_mem_send until it has nothing, write it all (SSL_write or send), poll for input,
 * nghttp2_session_mem_recv what arrives; repeat until every stream of the exchange is answered or the deadline
 * passes. Stream user data is the index of the response slot, so a frame for a stream we did not open is ignored.
 */
#include "probe_h2.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sbi/sbi_tls.h"
#include "sbi/sbi_url.h"

#define H2_READ_CHUNK 16384

struct probe_h2 {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    nghttp2_session *session;
    sbi_url_t url;
    bool settings_acked, got_settings, closed;
    uint32_t max_concurrent;
    probe_h2_resp_t *resps; /* the current exchange's slots */
    struct timespec *starts;
    size_t n, done;
};

static double ms_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static probe_h2_resp_t *slot_of(probe_h2_t *c, int32_t stream_id, size_t *idx)
{
    void *ud = nghttp2_session_get_stream_user_data(c->session, stream_id);
    size_t i = (size_t)(uintptr_t)ud;

    if (ud == NULL || i == 0 || i > c->n)
        return NULL;
    *idx = i - 1;
    return &c->resps[i - 1];
}

static void copy_header(char *dst, size_t size, const uint8_t *v, size_t len)
{
    snprintf(dst, size, "%.*s", (int)len, (const char *)v);
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    probe_h2_t *c = ud;
    size_t i;
    probe_h2_resp_t *r = slot_of(c, f->hd.stream_id, &i);

    (void)s;
    (void)flags;
    if (r == NULL || f->hd.type != NGHTTP2_HEADERS)
        return 0;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0 && r->status == 0) {
        char text[8];
        copy_header(text, sizeof text, value, valuelen);
        if (atoi(text) >= 200) /* a 1xx is interim; the final status follows */
            r->status = atoi(text);
    } else if (namelen == 12 && memcmp(name, "content-type", 12) == 0) {
        copy_header(r->content_type, sizeof r->content_type, value, valuelen);
    } else if (namelen == 11 && memcmp(name, "retry-after", 11) == 0) {
        copy_header(r->retry_after, sizeof r->retry_after, value, valuelen);
    } else if (namelen == 16 && memcmp(name, "www-authenticate", 16) == 0) {
        copy_header(r->www_authenticate, sizeof r->www_authenticate, value, valuelen);
    } else if (namelen == 8 && memcmp(name, "location", 8) == 0) {
        copy_header(r->location, sizeof r->location, value, valuelen);
    }
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data, size_t len, void *ud)
{
    probe_h2_t *c = ud;
    size_t i;
    probe_h2_resp_t *r = slot_of(c, stream_id, &i);

    (void)s;
    (void)flags;
    if (r == NULL || r->body_len + len > PROBE_H2_MAX_BODY)
        return 0;
    char *grown = realloc(r->body, r->body_len + len + 1);
    if (grown == NULL)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    memcpy(grown + r->body_len, data, len);
    r->body = grown;
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return 0;
}

static int on_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    probe_h2_t *c = ud;

    if (f->hd.type != NGHTTP2_SETTINGS)
        return 0;
    if (f->hd.flags & NGHTTP2_FLAG_ACK) {
        c->settings_acked = true;
        return 0;
    }
    c->got_settings = true;
    c->max_concurrent = nghttp2_session_get_remote_settings(s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    return 0;
}

static int on_rst(probe_h2_t *c, int32_t stream_id, uint32_t error)
{
    size_t i;
    probe_h2_resp_t *r = slot_of(c, stream_id, &i);

    if (r != NULL && r->status == 0 && !r->reset) {
        r->reset = true;
        r->reset_error = error;
    }
    return 0;
}

static int on_close(nghttp2_session *s, int32_t stream_id, uint32_t error, void *ud)
{
    probe_h2_t *c = ud;
    size_t i;
    probe_h2_resp_t *r = slot_of(c, stream_id, &i);
    struct timespec now;

    (void)s;
    if (r == NULL)
        return 0;
    if (error != NGHTTP2_NO_ERROR)
        on_rst(c, stream_id, error);
    clock_gettime(CLOCK_MONOTONIC, &now);
    r->latency_ms = ms_between(&c->starts[i], &now);
    r->stream_id = stream_id;
    c->done++;
    return 0;
}

static int tcp_connect(const sbi_url_t *u, char *err, size_t err_len)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    char port[8];
    int fd = -1, one = 1;

    snprintf(port, sizeof port, "%u", u->port);
    if (getaddrinfo(u->host, port, &hints, &res) != 0) {
        snprintf(err, err_len, "cannot resolve %s", u->host);
        return -1;
    }
    for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, err_len, "cannot connect to %s: %s", u->authority, strerror(errno));
    else
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int tls_start(probe_h2_t *c, const char *ca_file, char *err, size_t err_len)
{
    char e[SBI_TLS_ERR_MAX];

    c->ctx = sbi_tls_client_ctx_new(ca_file, e, sizeof e);
    if (c->ctx == NULL || (c->ssl = SSL_new(c->ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
        sbi_tls_set_peer_name(c->ssl, c->url.host) != 0) {
        snprintf(err, err_len, "TLS setup: %s", c->ctx ? sbi_tls_last_error(e, sizeof e) : e);
        return -1;
    }
    if (SSL_connect(c->ssl) != 1) {
        snprintf(err, err_len, "TLS handshake with %s: %s", c->url.authority, sbi_tls_last_error(e, sizeof e));
        return -1;
    }
    if (!sbi_tls_is_h2(c->ssl)) {
        snprintf(err, err_len, "%s did not select ALPN h2", c->url.authority);
        return -1;
    }
    return 0;
}

static int session_start(probe_h2_t *c)
{
    nghttp2_session_callbacks *cb;
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}, {NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};

    if (nghttp2_session_callbacks_new(&cb) != 0)
        return -1;
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    int rc = nghttp2_session_client_new(&c->session, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rc != 0)
        return -1;
    return nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]);
}

probe_h2_t *probe_h2_connect(const char *base_url, const char *ca_file, int timeout_ms, char *err, size_t err_len)
{
    probe_h2_t *c = calloc(1, sizeof *c);
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};

    if (c == NULL)
        return NULL;
    c->fd = -1;
    c->max_concurrent = UINT32_MAX;
    if (sbi_url_parse(base_url, &c->url) != 0) {
        snprintf(err, err_len, "not an http:// or https:// URL: %s", base_url);
        probe_h2_close(c);
        return NULL;
    }
    if ((c->fd = tcp_connect(&c->url, err, err_len)) < 0) {
        probe_h2_close(c);
        return NULL;
    }
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv); /* bounds the TLS handshake */
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if ((c->url.tls && tls_start(c, ca_file, err, err_len) != 0) || session_start(c) != 0) {
        if (!c->url.tls || c->ssl != NULL)
            snprintf(err + strlen(err), err_len - strlen(err), "%s", c->session ? "" : " (HTTP/2 session)");
        probe_h2_close(c);
        return NULL;
    }
    return c;
}

static int write_all(probe_h2_t *c, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = c->ssl ? SSL_write(c->ssl, p, (int)len) : send(c->fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int flush(probe_h2_t *c)
{
    const uint8_t *data;
    ssize_t n;

    while ((n = nghttp2_session_mem_send(c->session, &data)) > 0)
        if (write_all(c, data, (size_t)n) != 0)
            return -1;
    return n < 0 ? -1 : 0;
}

static int read_some(probe_h2_t *c, int wait_ms)
{
    uint8_t buf[H2_READ_CHUNK];
    struct pollfd p = {.fd = c->fd, .events = POLLIN};

    if ((c->ssl == NULL || SSL_pending(c->ssl) == 0) && poll(&p, 1, wait_ms) <= 0)
        return 0;
    ssize_t n = c->ssl ? SSL_read(c->ssl, buf, sizeof buf) : recv(c->fd, buf, sizeof buf, 0);
    if (n <= 0)
        return -1;
    return nghttp2_session_mem_recv(c->session, buf, (size_t)n) < 0 ? -1 : 0;
}

/* Runs the pump until `until` says stop or the deadline passes. */
static void pump(probe_h2_t *c, int timeout_ms, bool (*until)(const probe_h2_t *))
{
    struct timespec t0, now;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!c->closed && !until(c)) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        int left = timeout_ms - (int)ms_between(&t0, &now);
        if (left <= 0 || flush(c) != 0 || read_some(c, left < 50 ? left : 50) != 0 || flush(c) != 0)
            c->closed = !(left <= 0); /* a timeout leaves the connection usable */
        if (left <= 0)
            return;
    }
}

typedef struct {
    const char *data;
    size_t len, off;
} body_src_t;

static ssize_t read_body(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t length, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    body_src_t *b = src->ptr;
    size_t n = b->len - b->off < length ? b->len - b->off : length;

    (void)s;
    (void)stream_id;
    (void)ud;
    memcpy(buf, b->data + b->off, n);
    b->off += n;
    if (b->off == b->len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static bool all_done(const probe_h2_t *c)
{
    return c->done >= c->n;
}

size_t probe_h2_exchange(probe_h2_t *c, const probe_h2_req_t *reqs, probe_h2_resp_t *resps, size_t n, int timeout_ms)
{
    struct timespec starts[PROBE_H2_MAX_STREAMS];
    body_src_t bodies[PROBE_H2_MAX_STREAMS];
    size_t answered = 0;

    if (n > PROBE_H2_MAX_STREAMS)
        n = PROBE_H2_MAX_STREAMS;
    memset(resps, 0, n * sizeof *resps);
    c->resps = resps;
    c->starts = starts;
    c->n = n;
    c->done = 0;
    for (size_t i = 0; i < n; i++) {
        nghttp2_nv nv[6];
        size_t k = 0;
#define NV(name, value) (nghttp2_nv){(uint8_t *)(name), (uint8_t *)(value), strlen(name), strlen(value), 0}
        nv[k++] = NV(":method", reqs[i].method);
        nv[k++] = NV(":scheme", c->url.tls ? "https" : "http");
        nv[k++] = NV(":authority", c->url.authority);
        nv[k++] = NV(":path", reqs[i].path);
        if (reqs[i].content_type != NULL)
            nv[k++] = NV("content-type", reqs[i].content_type);
        if (reqs[i].authorization != NULL)
            nv[k++] = NV("authorization", reqs[i].authorization);
#undef NV
        clock_gettime(CLOCK_MONOTONIC, &starts[i]);
        bodies[i] = (body_src_t){reqs[i].body, reqs[i].body_len, 0};
        nghttp2_data_provider dp = {.source.ptr = &bodies[i], .read_callback = read_body};
        int32_t id = nghttp2_submit_request(c->session, NULL, nv, k, reqs[i].body_len > 0 ? &dp : NULL,
                                            (void *)(uintptr_t)(i + 1));
        if (id < 0)
            c->done++;
    }
    pump(c, timeout_ms, all_done);
    for (size_t i = 0; i < n; i++)
        answered += resps[i].status != 0 || resps[i].reset;
    c->resps = NULL;
    c->starts = NULL;
    c->n = 0;
    return answered;
}

static bool acked(const probe_h2_t *c)
{
    return c->settings_acked && c->got_settings;
}

bool probe_h2_settings_acked(const probe_h2_t *c)
{
    pump((probe_h2_t *)c, 1000, acked); /* usually long settled by the first exchange */
    return c->settings_acked;
}

bool probe_h2_got_settings(const probe_h2_t *c)
{
    return c->got_settings;
}
uint32_t probe_h2_max_concurrent(const probe_h2_t *c)
{
    return c->max_concurrent;
}
bool probe_h2_is_tls(const probe_h2_t *c)
{
    return c->url.tls;
}

void probe_h2_close(probe_h2_t *c)
{
    if (c == NULL)
        return;
    if (c->session != NULL) {
        nghttp2_session_terminate_session(c->session, NGHTTP2_NO_ERROR);
        flush(c);
        nghttp2_session_del(c->session);
    }
    if (c->ssl != NULL) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

void probe_h2_resp_clear(probe_h2_resp_t *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}
