/*
 * sip_transport_int — private to sip_transport*.c: the transport object and the TCP connection record.
 *
 * Layers: sip_transport.c (object, receive path, send) calls down into sip_transport_tcp.c and
 * sip_transport_udp.c; they hand received messages up only through tp->deliver (scripts/calls-graph checks it).
 */
#ifndef MIHUA_SIP_TRANSPORT_INT_H
#define MIHUA_SIP_TRANSPORT_INT_H

#include "sip/sip_transport.h"

#include <event2/util.h>
#include <stdbool.h>
#include <sys/time.h>

struct bufferevent;
struct evconnlistener;
struct event;
struct listen_guard;

typedef struct sip_tcp_conn {
    uint64_t id; /* sip_addr_t.conn; never reused within a transport */
    struct bufferevent *bev;
    sip_addr_t peer; /* remote address, proto TCP, conn = id */
    struct sip_transport *tp;
    struct sip_tcp_conn *next;
    struct event *deadline; /* accepted connections: armed while a message is incomplete (header deadline) */
    bool deadline_armed;
} sip_tcp_conn_t;

struct sip_transport;
/* The receive path: parse, validate, stamp and deliver one received message (buf is tp->rxbuf or a copy). */
typedef void sip_transport_deliver_fn(struct sip_transport *tp, const char *buf, size_t len, const sip_addr_t *src);

struct sip_transport {
    struct event_base *base;
    sip_transport_rx_fn on_msg;
    void *ctx;
    sip_transport_deliver_fn *deliver;     /* sip_transport.c's, registered at creation: the socket files sit below
                                          it and hand messages up through this pointer */
    evutil_socket_t udp_fd[SIP_UDP_SOCKS]; /* by sip_addr_t.sock; -1 when not listening */
    struct event *udp_ev[SIP_UDP_SOCKS];
    struct evconnlistener *listener;
    sip_tcp_conn_t *conns;
    struct listen_guard *guard; /* cap and accept errors of the TCP listener */
    const char *tcp_name;       /* log and metric label of the listener */
    long tcp_max_conns;
    struct timeval tcp_header_tv;
    struct metrics *metrics;
    uint64_t next_conn_id;
    sip_transport_stats_t stats;
    char *rxbuf;   /* one received message (SIP_MAX_MSG_SIZE + 1) */
    char *editbuf; /* the request with received/rport stamped (SIP_MAX_MSG_SIZE + SIP_LUMP_ARENA) */
    sip_msg_t *msg;
    sip_lumps_t *lumps;
};

/* sip_transport_tcp.c */
int sip_transport_tcp_send(sip_transport_layer_t *tp, const sip_addr_t *dst, const char *buf, size_t len);
void sip_transport_tcp_close_all(sip_transport_layer_t *tp);

#endif
