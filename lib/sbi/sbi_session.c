/*
 * sbi_session — the pump between an sbi_io transport and an nghttp2 session, for both roles (sbi_session.h).
 * RFC 9113 §3.4 (the prefaces go out with the first flush), §5 (frames); nghttp2 owns the protocol, this file
 * only moves bytes and tells the role when the connection is over.
 */
#include "sbi/sbi_session.h"

#include <openssl/err.h>

#include "sbi/sbi_server.h" /* SBI_OUTPUT_HIGH_WATER */
#include "sbi/sbi_tls.h"

void sbi_session_init(sbi_session_t *s, const sbi_session_role_t *role, void *owner)
{
    s->io = NULL;
    s->session = NULL;
    s->in_recv = s->in_send = false;
    s->role = role;
    s->owner = owner;
}

static ssize_t send_cb(nghttp2_session *session, const uint8_t *data, size_t length, int flags, void *user_data)
{
    (void)session;
    (void)flags;
    sbi_session_t *s = user_data;
    if (sbi_io_pending(s->io) >= SBI_OUTPUT_HIGH_WATER)
        return NGHTTP2_ERR_WOULDBLOCK;
    if (sbi_io_write(s->io, data, length) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return (ssize_t)length;
}

nghttp2_session_callbacks *sbi_session_callbacks_new(void)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0)
        return NULL;
    nghttp2_session_callbacks_set_send_callback(cb, send_cb);
    return cb;
}

int sbi_session_flush(sbi_session_t *s)
{
    s->in_send = true;
    int rv = nghttp2_session_send(s->session);
    s->in_send = false;
    if (rv != 0) {
        s->role->end(s->owner, SBI_SESSION_END_SEND, nghttp2_strerror(rv));
        return -1;
    }
    if (!nghttp2_session_want_read(s->session) && !nghttp2_session_want_write(s->session) &&
        sbi_io_pending(s->io) == 0) {
        s->role->end(s->owner, SBI_SESSION_END_DONE, NULL);
        return -1;
    }
    sbi_io_flush(s->io);
    return 0;
}

static ssize_t body_read_cb(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                            uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
    (void)session;
    (void)stream_id;
    (void)user_data;
    sbi_session_body_t *b = source->ptr;
    size_t left = b->len - b->off;
    size_t n = left < length ? left : length;
    memcpy(buf, b->data + b->off, n);
    b->off += n;
    if (b->off == b->len)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

nghttp2_data_provider sbi_session_body_provider(sbi_session_body_t *b)
{
    nghttp2_data_provider prd = {.source.ptr = b, .read_callback = body_read_cb};
    return prd;
}

void sbi_session_close(sbi_session_t *s)
{
    if (s->session)
        nghttp2_session_del(s->session);
    s->session = NULL;
    sbi_io_free(s->io);
    s->io = NULL;
}

static int on_read(void *arg, const uint8_t *data, size_t len)
{
    sbi_session_t *s = arg;
    if (!s->session)
        return 0; /* the server's session starts once the transport is up: sbi_io reads only then; defensive */
    s->in_recv = true;
    ssize_t rv = nghttp2_session_mem_recv(s->session, data, len);
    s->in_recv = false;
    if (rv < 0) {
        s->role->end(s->owner, SBI_SESSION_END_RECV, nghttp2_strerror((int)rv));
        return -1;
    }
    return sbi_session_flush(s);
}

static int on_drained(void *arg)
{
    sbi_session_t *s = arg;
    return s->session ? sbi_session_flush(s) : 0;
}

/* TCP (and TLS) established: with TLS, ALPN must have said h2 (RFC 9113 §3.2). */
static int on_connected(void *arg)
{
    sbi_session_t *s = arg;
    SSL *ssl = sbi_io_ssl(s->io);
    if (ssl && !sbi_tls_is_h2(ssl)) {
        s->role->end(s->owner, SBI_SESSION_END_ALPN, NULL);
        return -1;
    }
    if (s->role->connected && s->role->connected(s->owner))
        return -1;
    return sbi_session_flush(s);
}

static void on_event(void *arg, sbi_io_event_t ev)
{
    (void)ev; /* every event ends the connection: both roles treat EOF, error and timeout alike */
    sbi_session_t *s = arg;
    unsigned long e = sbi_io_tls_error(s->io);
    char ebuf[SBI_TLS_ERR_MAX];
    if (e)
        ERR_error_string_n(e, ebuf, sizeof(ebuf));
    s->role->end(s->owner, SBI_SESSION_END_IO, e ? ebuf : NULL);
}

const sbi_io_cbs_t *sbi_session_io_cbs(void)
{
    static const sbi_io_cbs_t cbs = {
        .on_connected = on_connected,
        .on_read = on_read,
        .on_drained = on_drained,
        .on_event = on_event,
    };
    return &cbs;
}
