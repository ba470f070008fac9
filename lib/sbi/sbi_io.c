/*
 * sbi_io — non-blocking socket (+ OpenSSL) transport for lib/sbi's HTTP/2 connections. See sbi_io.h for why it
 * replaces bufferevents and for the contract.
 *
 * States: CONNECTING (client: waiting for the TCP connect), HANDSHAKING (TLS: SSL_do_handshake whenever the
 * socket is readable, or writable when it asked for that) and OPEN. Two persistent events per socket:
 *   rev  EV_READ, always armed, with the timeout (read idle; while connecting and handshaking it bounds those):
 *        reads, or drives the handshake;
 *   wev  EV_WRITE, armed in epoll only while a write would block (and while connecting); sbi_io_flush makes it
 *        active without epoll, which is the "one write per connection per loop iteration". wev never gets a
 *        timeout: libevent re-adds a persistent event that has one each time it runs, which for an always
 *        writable socket would mean a write callback per loop iteration for ever.
 * TLS specifics: read-ahead on, so one read(2) fetches a whole record (or several) instead of header then body;
 * data OpenSSL holds beyond what SSL_read returned (SSL_has_pending) is read before yielding, since the socket
 * will not signal it again. Partial writes and a moving write buffer are enabled, so the output buffer may be
 * compacted between attempts. A peer that closes without close_notify is an EOF, like any TCP close (HTTP/2 has
 * its own framing, so truncation is detected above). SSL_read asking to write (a TLS 1.3 KeyUpdate answer on a
 * full socket) and SSL_write asking to read are handled by remembering which side waits for which event.
 * Limits: SBI_IO_READS_MAX reads per event (fairness between connections), SBI_IO_KEEP_OUT bytes of output
 * buffer kept between bursts (more is freed once written).
 */
#include "sbi/sbi_io.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/util.h>
#include <openssl/err.h>

#define SBI_IO_OUT_INITIAL 4096     /* a few HTTP/2 frames; doubles as needed */
#define SBI_IO_KEEP_OUT (64 * 1024) /* output buffer kept once drained; a larger one (bulk answer) is freed */

typedef enum { IO_CONNECTING, IO_HANDSHAKING, IO_OPEN } io_state_t;

struct sbi_io {
    struct event_base *base;
    evutil_socket_t fd;
    SSL *ssl; /* NULL: cleartext */
    io_state_t state;
    bool server;
    struct event *rev, *wev;
    bool wev_armed;        /* wev is in epoll: the socket was full, or connecting, or the handshake wants to write */
    bool write_scheduled;  /* wev made active by sbi_io_flush */
    bool read_wants_write; /* SSL_read returned WANT_WRITE: read again when writable */
    bool write_wants_read; /* SSL_write returned WANT_READ: write again when readable */
    bool has_timeout;
    struct timeval timeout;
    uint8_t *out;
    size_t out_off, out_len, out_cap; /* bytes [out_off, out_len) wait to be written */
    unsigned long tls_err;
    const sbi_io_cbs_t *cbs;
    void *ud;
};

static void read_cb(evutil_socket_t fd, short what, void *arg);

/* (Re-)arms rev with the current timeout. A persistent event remembers its last timeout and re-adds itself with
 * it each time it runs, even after event_add(NULL): only event_assign clears it. */
static void arm_read(sbi_io_t *io)
{
    event_del(io->rev);
    event_assign(io->rev, io->base, io->fd, EV_READ | EV_PERSIST, read_cb, io);
    event_add(io->rev, io->has_timeout ? &io->timeout : NULL);
}

static void arm_write(sbi_io_t *io)
{
    if (io->wev_armed)
        return;
    event_add(io->wev, NULL);
    io->wev_armed = true;
}

static void disarm_write(sbi_io_t *io)
{
    if (!io->wev_armed)
        return;
    event_del(io->wev); /* also drops it from the active queue: a scheduled flush is made active again */
    io->wev_armed = false;
    if (io->write_scheduled)
        event_active(io->wev, EV_WRITE, 0);
}

static bool has_output(const sbi_io_t *io)
{
    return io->out_len > io->out_off;
}

/* ---------------------------------------------------------------------------------------------- writing */

/* Writes what is buffered. Returns -1 when a callback freed the io. */
static int do_write(sbi_io_t *io)
{
    while (has_output(io)) {
        size_t n = io->out_len - io->out_off;
        ssize_t w;
        if (io->ssl) {
            ERR_clear_error();
            int r = SSL_write(io->ssl, io->out + io->out_off, n > INT_MAX ? INT_MAX : (int)n);
            if (r <= 0) {
                int e = SSL_get_error(io->ssl, r);
                if (e == SSL_ERROR_WANT_WRITE) {
                    arm_write(io);
                    return 0;
                }
                if (e == SSL_ERROR_WANT_READ) {
                    io->write_wants_read = true; /* rev is always armed */
                    return 0;
                }
                io->tls_err = ERR_peek_last_error();
                io->cbs->on_event(io->ud, SBI_IO_ERROR);
                return -1;
            }
            w = r;
        } else {
            w = send(io->fd, io->out + io->out_off, n, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    arm_write(io);
                    return 0;
                }
                io->cbs->on_event(io->ud, SBI_IO_ERROR);
                return -1;
            }
        }
        io->out_off += (size_t)w;
    }
    io->out_off = io->out_len = 0;
    if (io->out_cap > SBI_IO_KEEP_OUT) {
        free(io->out);
        io->out = NULL;
        io->out_cap = 0;
    }
    disarm_write(io);
    return io->cbs->on_drained ? io->cbs->on_drained(io->ud) : 0;
}

int sbi_io_write(sbi_io_t *io, const void *data, size_t len)
{
    if (io->out_off == io->out_len)
        io->out_off = io->out_len = 0;
    if (len > io->out_cap - io->out_len && io->out_off > 0) {
        memmove(io->out, io->out + io->out_off, io->out_len - io->out_off);
        io->out_len -= io->out_off;
        io->out_off = 0;
    }
    if (len > io->out_cap - io->out_len) {
        size_t cap = io->out_cap ? io->out_cap : SBI_IO_OUT_INITIAL;
        while (cap - io->out_len < len)
            cap *= 2;
        uint8_t *p = realloc(io->out, cap);
        if (!p)
            return -1;
        io->out = p;
        io->out_cap = cap;
    }
    memcpy(io->out + io->out_len, data, len);
    io->out_len += len;
    return 0;
}

void sbi_io_flush(sbi_io_t *io)
{
    if (io->state != IO_OPEN || io->write_scheduled || io->wev_armed || !has_output(io))
        return; /* not connected yet (written once connected), already due, or waiting for the socket */
    io->write_scheduled = true;
    event_active(io->wev, EV_WRITE, 0);
}

size_t sbi_io_pending(const sbi_io_t *io)
{
    return io->out_len - io->out_off;
}

/* ---------------------------------------------------------------------------------------------- reading */

/* The end of a TLS read that returned r <= 0. Returns 0 to wait, -1 when the connection is over (reported). */
static int tls_read_end(sbi_io_t *io, int r)
{
    int e = SSL_get_error(io->ssl, r);
    if (e == SSL_ERROR_WANT_READ)
        return 0;
    if (e == SSL_ERROR_WANT_WRITE) {
        io->read_wants_write = true;
        arm_write(io);
        return 0;
    }
    unsigned long err = ERR_peek_last_error();
    bool eof = e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && err == 0) ||
               (ERR_GET_LIB(err) == ERR_LIB_SSL && ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
    if (!eof)
        io->tls_err = err;
    ERR_clear_error();
    io->cbs->on_event(io->ud, eof ? SBI_IO_EOF : SBI_IO_ERROR);
    return -1;
}

/* Reads what is there and hands it over. Returns -1 when the io was freed. */
static int do_read(sbi_io_t *io)
{
    uint8_t buf[SBI_IO_READ_CHUNK];
    for (int i = 0; i < SBI_IO_READS_MAX; i++) {
        ssize_t n;
        if (io->ssl) {
            ERR_clear_error();
            int r = SSL_read(io->ssl, buf, sizeof(buf));
            if (r <= 0)
                return tls_read_end(io, r);
            n = r;
        } else {
            n = recv(io->fd, buf, sizeof(buf), 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return 0;
            if (n <= 0) {
                io->cbs->on_event(io->ud, n == 0 ? SBI_IO_EOF : SBI_IO_ERROR);
                return -1;
            }
        }
        if (io->cbs->on_read(io->ud, buf, (size_t)n) < 0)
            return -1;
        if (io->ssl ? !SSL_has_pending(io->ssl) : (size_t)n < sizeof(buf))
            return 0; /* anything still in the socket signals the (level-triggered) read event again */
    }
    if (io->ssl && SSL_has_pending(io->ssl))
        event_active(io->rev, EV_READ, 0); /* held by OpenSSL, invisible to epoll: next in this iteration */
    return 0;
}

/* ---------------------------------------------------------------------------------------------- set-up */

static void become_open(sbi_io_t *io)
{
    io->state = IO_OPEN;
    disarm_write(io);
    arm_read(io);
    if (io->cbs->on_connected(io->ud) < 0)
        return;
    if (io->ssl && SSL_has_pending(io->ssl))
        event_active(io->rev, EV_READ, 0); /* the handshake's last flight brought application data */
    sbi_io_flush(io);                      /* what was written before the connection was up */
}

static void handshake(sbi_io_t *io)
{
    ERR_clear_error();
    int r = SSL_do_handshake(io->ssl);
    if (r == 1) {
        become_open(io);
        return;
    }
    int e = SSL_get_error(io->ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
        disarm_write(io);
        return;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        arm_write(io);
        return;
    }
    io->tls_err = ERR_peek_last_error();
    ERR_clear_error();
    io->cbs->on_event(io->ud, SBI_IO_CONNECT_FAILED);
}

static void tcp_connected(sbi_io_t *io)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        io->cbs->on_event(io->ud, SBI_IO_CONNECT_FAILED);
        return;
    }
    int one = 1;
    setsockopt(io->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    disarm_write(io);
    if (!io->ssl) {
        become_open(io);
        return;
    }
    io->state = IO_HANDSHAKING; /* rev's timeout, armed at connect, now bounds the handshake */
    handshake(io);
}

/* ---------------------------------------------------------------------------------------------- events */

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    sbi_io_t *io = arg;
    if (what & EV_TIMEOUT) {
        io->cbs->on_event(io->ud, io->state == IO_OPEN ? SBI_IO_TIMEOUT : SBI_IO_CONNECT_FAILED);
        return;
    }
    if (io->state == IO_HANDSHAKING) {
        handshake(io);
        return;
    }
    if (io->state != IO_OPEN)
        return; /* connecting: the outcome comes through wev */
    if (io->write_wants_read) {
        io->write_wants_read = false;
        if (do_write(io) < 0)
            return;
    }
    do_read(io);
}

static void write_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    sbi_io_t *io = arg;
    (void)what;
    io->write_scheduled = false;
    switch (io->state) {
    case IO_CONNECTING:
        tcp_connected(io);
        return;
    case IO_HANDSHAKING:
        handshake(io);
        return;
    case IO_OPEN:
        break;
    }
    if (io->read_wants_write) {
        io->read_wants_write = false;
        if (do_read(io) < 0)
            return;
    }
    do_write(io);
}

sbi_io_t *sbi_io_new(struct event_base *base, evutil_socket_t fd, SSL *ssl, bool server, bool connected,
                     const sbi_io_cbs_t *cbs, void *ud)
{
    sbi_io_t *io = calloc(1, sizeof(*io));
    if (!io)
        return NULL;
    io->base = base;
    io->fd = fd;
    io->ssl = ssl;
    io->server = server;
    io->cbs = cbs;
    io->ud = ud;
    io->rev = event_new(base, fd, EV_READ | EV_PERSIST, read_cb, io);
    io->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, write_cb, io);
    if (!io->rev || !io->wev || evutil_make_socket_nonblocking(fd) != 0 || (ssl && SSL_set_fd(ssl, (int)fd) != 1)) {
        if (io->rev)
            event_free(io->rev);
        if (io->wev)
            event_free(io->wev);
        free(io);
        return NULL;
    }
    if (ssl) {
        SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        SSL_set_read_ahead(ssl, 1);
        if (server)
            SSL_set_accept_state(ssl);
        else
            SSL_set_connect_state(ssl);
    }
    io->state = !connected ? IO_CONNECTING : ssl ? IO_HANDSHAKING : IO_OPEN;
    if (connected) {
        arm_read(io);
        if (ssl && !server)
            event_active(io->wev, EV_WRITE, 0); /* the ClientHello goes out from the loop */
    }
    return io;
}

int sbi_io_connect(sbi_io_t *io, const struct sockaddr *sa, socklen_t len)
{
    if (io->state != IO_CONNECTING)
        return -1;
    if (connect(io->fd, sa, len) != 0 && errno != EINPROGRESS)
        return -1;
    arm_read(io);  /* for the timeout */
    arm_write(io); /* writable = connected (or failed: SO_ERROR says) */
    return 0;
}

void sbi_io_free(sbi_io_t *io)
{
    if (!io)
        return;
    event_free(io->rev);
    event_free(io->wev);
    if (io->ssl)
        SSL_free(io->ssl);
    evutil_closesocket(io->fd);
    free(io->out);
    free(io);
}

void sbi_io_set_timeout(sbi_io_t *io, const struct timeval *tv)
{
    io->has_timeout = tv != NULL;
    if (tv)
        io->timeout = *tv;
    if (io->state != IO_CONNECTING || io->wev_armed)
        arm_read(io); /* not before sbi_io_connect: the socket is not connecting yet */
}

bool sbi_io_peer_closed(const sbi_io_t *io)
{
    if (io->state != IO_OPEN || (io->ssl && SSL_has_pending(io->ssl)))
        return false;
    uint8_t b;
    ssize_t n;
    do
        n = recv(io->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK); /* FIN, or reset */
}

SSL *sbi_io_ssl(const sbi_io_t *io)
{
    return io->ssl;
}
unsigned long sbi_io_tls_error(const sbi_io_t *io)
{
    return io->tls_err;
}
