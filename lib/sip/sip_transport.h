/*
 * sip_transport — SIP over UDP and TCP on a libevent loop (RFC 3261 §18; RFC 3581; RFC 5626 §4.4.1 CRLF pings).
 *
 *   sip_transport_layer_t *tp = sip_transport_new(base, on_msg, ctx);
 *   sip_transport_listen_udp(tp, "127.0.0.1", 5060, NULL);
 *   sip_transport_listen_tcp(tp, "127.0.0.1", 5060, NULL);
 *   sip_txn_io_t io = {sip_transport_send, tp};        // the transaction layer sends through it
 *   // on_msg(ctx, msg, src) gets every well-formed message: for requests the top Via already carries
 *   // ;received= and a filled ;rport (§18.2.1, RFC 3581 §4). msg is borrowed for the call. src->rx_ms is when
 *   // the message arrived (UDP: the kernel's stamp), so the receiver can tell how long it waited to be read.
 *
 * Malformed input never crashes and never reaches on_msg: a request gets a stateless 400 with a Warning naming
 * the parse error when sip_reply_build() can still build one; a response is dropped; both are logged.
 */
#ifndef MIHUA_SIP_TRANSPORT_H
#define MIHUA_SIP_TRANSPORT_H

#include "sip/sip_transport_addr.h"

#include <stdint.h>

#include "core/metrics.h"

struct event_base;

#define SIP_TCP_MAX_CONNS \
    1024                              /* open TCP connections (accepted + connected) unless
                                           sip_transport_tcp_limits() says otherwise; more are refused */
#define SIP_TCP_MAX_OUTBUF (1u << 20) /* bytes queued to one peer; beyond that sends to it fail */
#define SIP_TCP_BACKLOG 128           /* listen(2) backlog */
#define SIP_UDP_READ_BATCH 64         /* datagrams read per readiness event, so one socket cannot starve others */

typedef void (*sip_transport_rx_fn)(void *ctx, sip_msg_t *msg, const sip_addr_t *src);

typedef struct {
    uint64_t rx_msgs;      /* delivered to on_msg */
    uint64_t rx_bytes;     /* bytes read from all sockets */
    uint64_t rx_malformed; /* messages or streams refused */
    uint64_t rx_keepalive; /* CRLF keepalives (RFC 5626) */
    uint64_t tx_msgs;
    uint64_t tx_errors;
    uint64_t tcp_conns;          /* currently open */
    uint64_t tcp_refused;        /* accepted connections closed at once: the cap was reached */
    uint64_t tcp_header_expired; /* closed: a message did not complete within header_timeout_ms */
} sip_transport_stats_t;

typedef struct sip_transport sip_transport_layer_t;

sip_transport_layer_t *sip_transport_new(struct event_base *base, sip_transport_rx_fn on_msg, void *ctx);
/* Closes every socket. Not from inside on_msg. */
void sip_transport_free(sip_transport_layer_t *tp);
/* Binds ip:port (port 0 = any; *bound_port receives the port). One UDP socket and one TCP listener per transport.
 * Returns 0 or -1. */
int sip_transport_listen_udp(sip_transport_layer_t *tp, const char *ip, int port, int *bound_port);
/* Optional second UDP socket for the traffic of work already admitted (a proxy puts its port in its Via and
 * Record-Route, so responses and in-dialog requests arrive here, new requests on the main socket). Its readiness
 * is served first (libevent priority 0; the main socket gets 1), so under a flood of new requests the calls in
 * progress do not queue behind them in one kernel buffer. Messages read from it carry sock = SIP_UDP_SOCK_DIALOG;
 * a send with that sock leaves from it. Call after sip_transport_listen_udp. Returns 0 or -1. */
int sip_transport_listen_udp_dialog(sip_transport_layer_t *tp, const char *ip, int port, int *bound_port);
int sip_transport_listen_tcp(sip_transport_layer_t *tp, const char *ip, int port, int *bound_port);
/* Before sip_transport_listen_tcp: the cap on open TCP connections (accepted + connected; an accepted one over it
 * is closed at once, counted and logged at most every few seconds: lib/core/listen_guard.h, which also backs off
 * accept errors) and the header deadline: an accepted connection must deliver its first complete message, and
 * any message it starts must complete, within header_timeout_ms of the first byte waiting (bytes trickling in do
 * not extend it). A connection with nothing pending has no deadline: a registered flow stays open for requests
 * to the UE (RFC 5626), so idle_timeout_ms is not applied here. `metrics` may be NULL; `name` labels both. */
void sip_transport_tcp_limits(sip_transport_layer_t *tp, const char *name, long max_connections, long header_timeout_ms,
                              metrics_t *metrics);
/* Sends one message (ctx is the sip_transport_layer_t; fits sip_txn_io_t). UDP leaves from the UDP socket; TCP uses
 * dst->conn when that connection is open, else an open connection to the same address, else a new one. */
int sip_transport_send(void *ctx, const sip_addr_t *dst, const char *buf, size_t len);
sip_transport_stats_t sip_transport_stats(const sip_transport_layer_t *tp);

#endif
