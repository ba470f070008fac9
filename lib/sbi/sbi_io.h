/*
 * sbi_io — the byte transport under one HTTP/2 connection of lib/sbi: a non-blocking TCP socket, with TLS
 * (OpenSSL on the file descriptor) or without, on a libevent loop. Internal to lib/sbi (sbi_session.c pumps it for
 * the server and the client); not part of its public API.
 *
 * Why not bufferevents: per request they cost an epoll_ctl to enable the write event and another to disable it,
 * two read(2)s per TLS record (header, then body), an evbuffer chain allocated and freed per read and per write,
 * and a deferred-callback hop. Here:
 *   - reads go straight from the socket (or SSL_read with read-ahead: one read(2) per burst of records) into a
 *     stack buffer handed to the owner (nghttp2_session_mem_recv consumes everything it is given);
 *   - writes collect in one output buffer and go out with one write(2) / SSL_write — one TLS record — per
 *     connection and loop iteration: sbi_io_flush() makes the write event active instead of waiting for epoll,
 *     so every frame produced in this iteration (several responses, the AS client's many requests) shares it;
 *     the write event is armed in epoll only while the socket is full.
 * Callbacks run only from the io's own events, never inside sbi_io_write/flush, so the owner may call those from
 * anywhere (nghttp2 callbacks included). A callback that frees the io says so by returning -1.
 */
#ifndef MIHUA_SBI_IO_H
#define MIHUA_SBI_IO_H

#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SBI_IO_READ_CHUNK 16384 /* one TLS record's plaintext; a read event reads at most SBI_IO_READS_MAX of them */
#define SBI_IO_READS_MAX 8      /* then yields to the loop (level-triggered: the rest comes next iteration) */

typedef struct sbi_io sbi_io_t;

typedef enum {
    SBI_IO_EOF,            /* the peer closed (clean or dirty TLS shutdown) */
    SBI_IO_ERROR,          /* socket or TLS error (sbi_io_tls_error may say which) */
    SBI_IO_TIMEOUT,        /* no byte arrived within the read timeout (the io stays usable) */
    SBI_IO_CONNECT_FAILED, /* TCP connect or TLS handshake failed or timed out */
} sbi_io_event_t;

typedef struct {
    int (*on_connected)(void *ud); /* TCP (and TLS) established; the owner checks ALPN. -1: io freed */
    int (*on_read)(void *ud, const uint8_t *data, size_t len); /* -1: io freed */
    int (*on_drained)(void *ud);                               /* everything buffered was written. -1: io freed */
    void (*on_event)(void *ud, sbi_io_event_t ev); /* the owner frees the io, except after TIMEOUT if it wants */
} sbi_io_cbs_t;

/* Takes `fd` (made non-blocking, closed by sbi_io_free) and `ssl` (NULL: cleartext; freed by sbi_io_free).
 * `connected`: the socket is connected (an accepted one); else call sbi_io_connect. A TLS io handshakes first
 * (accepting when `server`, connecting otherwise). NULL on allocation failure (fd and ssl are then the caller's). */
sbi_io_t *sbi_io_new(struct event_base *base, evutil_socket_t fd, SSL *ssl, bool server, bool connected,
                     const sbi_io_cbs_t *cbs, void *ud);
/* Starts a non-blocking connect. Returns 0 (on_connected or on_event follow), or -1 at once. */
int sbi_io_connect(sbi_io_t *io, const struct sockaddr *sa, socklen_t len);
void sbi_io_free(sbi_io_t *io);

/* Read timeout (nothing received for `tv`: on_event TIMEOUT, repeated each `tv`); during connect and handshake it
 * bounds those instead (CONNECT_FAILED). NULL: none. */
void sbi_io_set_timeout(sbi_io_t *io, const struct timeval *tv);

/* Appends to the output (written by the next sbi_io_flush, or once connected). Returns 0 or -1 (no memory). */
int sbi_io_write(sbi_io_t *io, const void *data, size_t len);
/* Writes the output at the end of this loop iteration (one write per connection and iteration). */
void sbi_io_flush(sbi_io_t *io);
/* Bytes buffered and not written yet. */
size_t sbi_io_pending(const sbi_io_t *io);

/* True when the peer has closed an open connection and nothing is left to read before the EOF (a non-blocking
 * MSG_PEEK; the read event reports the same EOF later). For idle connections: with data pending it says false. */
bool sbi_io_peer_closed(const sbi_io_t *io);

SSL *sbi_io_ssl(const sbi_io_t *io);
/* The OpenSSL error that ended the connection or handshake, 0 when none. */
unsigned long sbi_io_tls_error(const sbi_io_t *io);

#endif
