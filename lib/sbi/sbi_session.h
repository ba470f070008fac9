/*
 * sbi_session — one HTTP/2 connection of lib/sbi: an nghttp2 session on an sbi_io transport, and the pump between
 * them, shared by the server (sbi_server_conn.c) and the client (sbi_client.c). Internal to lib/sbi.
 *
 * As in nghttp2's examples/libevent-*.c, this is the only code that moves bytes between socket and session
 * (RFC 9113 §3.4 prefaces, §5 frames): every chunk read goes to nghttp2_session_mem_recv() and is followed by a
 * flush, so SETTINGS, PING and WINDOW_UPDATE are answered at once (TS 29.500 §5.2); the send callback appends
 * nghttp2's frames to the io's output and says WOULDBLOCK above SBI_OUTPUT_HIGH_WATER, the io writes once per
 * loop iteration and its drained callback resumes nghttp2. A connection ends when nghttp2 wants neither to read
 * nor to write and everything has been written (after GOAWAY), or on a failure.
 *
 * The two roles differ only in what an end means to them (the server frees the connection and its streams, the
 * client completes or retries the requests on it) and what they log; a role says it through sbi_session_role_t.
 * The session's nghttp2 user_data is the sbi_session_t; role callbacks reach their connection with
 * sbi_session_owner(). nghttp2 forbids session_send from inside its callbacks: in_recv and in_send say where the
 * pump is, so a role flushes only when neither is set (or leaves it to the pump, which flushes after mem_recv).
 */
#ifndef MIHUA_SBI_SESSION_H
#define MIHUA_SBI_SESSION_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sbi/sbi_io.h"

/* Why a connection ends; the role frees it (sbi_session_close and its own state) in its `end` hook. */
typedef enum {
    SBI_SESSION_END_ALPN, /* TLS is up but ALPN did not select h2 */
    SBI_SESSION_END_RECV, /* nghttp2_session_mem_recv: a connection error (detail: nghttp2's text) */
    SBI_SESSION_END_SEND, /* nghttp2_session_send failed (detail: nghttp2's text) */
    SBI_SESSION_END_DONE, /* nghttp2 wants neither to read nor to write and all is written (GOAWAY exchanged) */
    SBI_SESSION_END_IO,   /* the transport ended: EOF, error, failed connect (detail: the TLS error, or NULL) */
} sbi_session_end_t;

typedef struct {
    /* TCP (and TLS with h2) is up. The server starts its nghttp2 session here. 0, or -1 after freeing the
     * connection. NULL: nothing to do. */
    int (*connected)(void *owner);
    /* The connection ends for `why`; the role logs what it wants and frees it. */
    void (*end)(void *owner, sbi_session_end_t why, const char *detail);
} sbi_session_role_t;

typedef struct {
    sbi_io_t *io;
    nghttp2_session *session; /* NULL until the role starts it */
    bool in_recv;             /* inside nghttp2_session_mem_recv */
    bool in_send;             /* inside nghttp2_session_send */
    const sbi_session_role_t *role;
    void *owner;
} sbi_session_t;

void sbi_session_init(sbi_session_t *s, const sbi_session_role_t *role, void *owner);
/* The io callbacks that run the pump; their user data is the sbi_session_t. */
const sbi_io_cbs_t *sbi_session_io_cbs(void);
/* nghttp2 callbacks with the send callback set; the role adds its own and frees them with
 * nghttp2_session_callbacks_del. NULL on allocation failure. */
nghttp2_session_callbacks *sbi_session_callbacks_new(void);
static inline void *sbi_session_owner(void *user_data)
{
    return ((sbi_session_t *)user_data)->owner;
}

/* Sends what nghttp2 has (the io writes it at the end of this loop iteration); ends the connection when it is
 * done. Returns -1 when the connection was freed (through the role's `end`). */
int sbi_session_flush(sbi_session_t *s);
/* Deletes the nghttp2 session and frees the io (the socket is closed). */
void sbi_session_close(sbi_session_t *s);

/* A body sent as DATA frames (RFC 9113 §6.1): `len` bytes at `data`, owned by the stream's object, read from
 * `off`; it must live until the stream closes. */
typedef struct {
    const uint8_t *data;
    size_t len, off;
} sbi_session_body_t;
/* The data provider for nghttp2_submit_request/response that sends `b` and ends the stream after it. */
nghttp2_data_provider sbi_session_body_provider(sbi_session_body_t *b);

/* A header for nghttp2_submit_*: name and value are borrowed until the submit returns. */
static inline nghttp2_nv sbi_session_nv(const char *name, const char *value)
{
    nghttp2_nv nv = {(uint8_t *)name, (uint8_t *)value, strlen(name), strlen(value), NGHTTP2_NV_FLAG_NONE};
    return nv;
}

#endif
