/*
 * sip_transport_udp — the UDP socket (RFC 3261 §18.1.1, §18.2.1): one non-blocking socket, read in batches of
 * SIP_UDP_READ_BATCH datagrams per readiness event. A datagram is one message; datagrams holding only CRLFs are
 * keepalives and ignored. Responses and requests leave from the same socket, so the source port peers see is the
 * port in our Via (what rport relies on). The receive buffer is raised to SIP_UDP_RCVBUF (best effort: the kernel
 * caps it at net.core.rmem_max): at a few thousand calls per second a burst outruns the 208 KiB default and the
 * kernel drops datagrams that the transaction layer would then have to wait a T1 to see again.
 *
 * Each datagram carries the kernel's receive timestamp (SO_TIMESTAMPNS) up as src.rx_ms: a loop that is behind
 * shows it first as datagrams waiting in that buffer, which no timer inside the process can see. When this is the
 * host's first socket to ask, the kernel turns early stamping on from a work queue: the first few datagrams may be
 * stamped when read (age 0), which errs on the side of serving them.
 *
 * An optional second socket (the dialog socket) takes what belongs to work already admitted: a proxy names it in
 * its Via and Record-Route. libevent serves every ready event of a higher priority before any of a lower one, so
 * the dialog socket (priority 0) is read before the main socket (priority 1) each time both are ready, and the
 * main socket's batch limit bounds how long a flood of new requests can hold the loop.
 */
#include "sip/sip_transport_int.h"

#include "core/log.h"
#include "sip/sip_timer_event.h"

#include <errno.h>
#include <event2/event.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SIP_UDP_LOG "sip_transport"
#define SIP_UDP_RCVBUF (4 * 1024 * 1024) /* bytes of datagrams the kernel may hold for us between two reads */

static bool sip_udp_is_keepalive(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (buf[i] != '\r' && buf[i] != '\n')
            return false;
    return true;
}

/* The kernel stamps a datagram with CLOCK_REALTIME; the stamp's age now, taken from the monotonic clock, gives the
 * arrival on the clock the rest of the stack uses. A stamp ahead of the wall clock (stepped back) counts as age 0;
 * no stamp (the option refused) as arrived now. */
static uint64_t sip_udp_rx_ms(struct msghdr *mh)
{
    uint64_t now = sip_clock_monotonic_ms();
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS)
            continue;
        struct timespec stamp, wall;
        memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
        clock_gettime(CLOCK_REALTIME, &wall);
        int64_t age_ms = ((int64_t)wall.tv_sec - (int64_t)stamp.tv_sec) * 1000 +
                         ((int64_t)wall.tv_nsec - (int64_t)stamp.tv_nsec) / 1000000;
        if (age_ms <= 0)
            return now;
        return (uint64_t)age_ms < now ? now - (uint64_t)age_ms : 1;
    }
    return now;
}

/* One datagram into tp->rxbuf with its source and arrival. Returns its length, or -1 (errno) when none is left. */
static ssize_t sip_udp_recv(evutil_socket_t fd, sip_transport_layer_t *tp, sip_addr_t *src)
{
    union {
        char buf[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {tp->rxbuf, SIP_MAX_MSG_SIZE + 1};
    struct msghdr mh = {.msg_name = &src->ss,
                        .msg_namelen = sizeof src->ss,
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = ctl.buf,
                        .msg_controllen = sizeof ctl.buf};
    ssize_t n = recvmsg(fd, &mh, 0);
    if (n < 0)
        return -1;
    src->sslen = mh.msg_namelen;
    src->rx_ms = sip_udp_rx_ms(&mh);
    return n;
}

static void sip_udp_read(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    sip_transport_layer_t *tp = arg;
    uint8_t sock = fd == tp->udp_fd[SIP_UDP_SOCK_DIALOG] ? SIP_UDP_SOCK_DIALOG : SIP_UDP_SOCK_MAIN;
    for (int i = 0; i < SIP_UDP_READ_BATCH; i++) {
        sip_addr_t src = {.proto = SIP_PROTO_UDP, .sock = sock};
        ssize_t n = sip_udp_recv(fd, tp, &src);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warn(SIP_UDP_LOG, "recvmsg: errno %d", errno);
            return;
        }
        tp->stats.rx_bytes += (uint64_t)n;
        if (n == 0 || sip_udp_is_keepalive(tp->rxbuf, (size_t)n)) {
            tp->stats.rx_keepalive++;
            continue;
        }
        if (n > SIP_MAX_MSG_SIZE) {
            tp->stats.rx_malformed++;
            log_info(SIP_UDP_LOG, "datagram larger than %d bytes dropped", SIP_MAX_MSG_SIZE);
            continue;
        }
        tp->deliver(tp, tp->rxbuf, (size_t)n, &src);
    }
}

/* A bound, non-blocking UDP socket with the receive buffer and timestamps set, or -1; *a gets the bound address. */
static evutil_socket_t sip_udp_open(const char *ip, int port, sip_addr_t *a)
{
    if (sip_addr_from_ip(a, SIP_PROTO_UDP, sip_str_c(ip), port) < 0)
        return -1;
    evutil_socket_t fd = socket(a->ss.ss_family, SOCK_DGRAM, 0);
    if (fd < 0)
        return -1;
    int rcvbuf = SIP_UDP_RCVBUF;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0)
        log_warn(SIP_UDP_LOG, "cannot raise the UDP receive buffer: errno %d", errno);
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0)
        log_warn(SIP_UDP_LOG, "no kernel receive timestamps (the age of requests is not known): errno %d", errno);
    if (evutil_make_socket_nonblocking(fd) < 0 || evutil_make_socket_closeonexec(fd) < 0 ||
        bind(fd, (struct sockaddr *)&a->ss, a->sslen) < 0 ||
        getsockname(fd, (struct sockaddr *)&a->ss, &a->sslen) < 0) {
        log_error(SIP_UDP_LOG, "cannot bind UDP %s:%d: errno %d", ip, port, errno);
        close(fd);
        return -1;
    }
    return fd;
}

/* Opens socket `sock` on ip:port and reads it on the loop at `priority` (-1: libevent's default). */
static int sip_udp_listen(sip_transport_layer_t *tp, int sock, const char *ip, int port, int priority, int *bound_port)
{
    sip_addr_t a;
    if (!tp || tp->udp_fd[sock] >= 0)
        return -1;
    evutil_socket_t fd = sip_udp_open(ip, port, &a);
    if (fd < 0)
        return -1;
    struct event *ev = event_new(tp->base, fd, EV_READ | EV_PERSIST, sip_udp_read, tp);
    if (!ev || (priority >= 0 && event_priority_set(ev, priority) < 0) || event_add(ev, NULL) < 0) {
        if (ev)
            event_free(ev);
        close(fd);
        return -1;
    }
    tp->udp_fd[sock] = fd;
    tp->udp_ev[sock] = ev;
    char text[SIP_ADDR_TEXT_MAX];
    int p = 0;
    (void)sip_addr_ntop(&a, text, sizeof text, &p);
    if (bound_port)
        *bound_port = p;
    log_info(SIP_UDP_LOG, "listening on UDP %s:%d%s", text, p, sock == SIP_UDP_SOCK_DIALOG ? " (dialogs)" : "");
    return 0;
}

int sip_transport_listen_udp(sip_transport_layer_t *tp, const char *ip, int port, int *bound_port)
{
    return sip_udp_listen(tp, SIP_UDP_SOCK_MAIN, ip, port, -1, bound_port);
}

int sip_transport_listen_udp_dialog(sip_transport_layer_t *tp, const char *ip, int port, int *bound_port)
{
    if (!tp || !tp->udp_ev[SIP_UDP_SOCK_MAIN])
        return -1;
    /* two queues: fails only while events are active, which they are not between two dispatches */
    if (event_base_get_npriorities(tp->base) < 2 && event_base_priority_init(tp->base, 2) < 0) {
        log_error(SIP_UDP_LOG, "cannot give the dialog socket priority");
        return -1;
    }
    if (event_priority_set(tp->udp_ev[SIP_UDP_SOCK_MAIN], 1) < 0)
        return -1;
    return sip_udp_listen(tp, SIP_UDP_SOCK_DIALOG, ip, port, 0, bound_port);
}
