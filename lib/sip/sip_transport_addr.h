/*
 * sip_transport_addr — where a SIP message goes and where it came from (RFC 3261 §18.1.1, §18.2.1, §18.2.2;
 * RFC 3581 §4). Pure functions: no sockets, no event loop, so the transaction layer and tests use them freely.
 *
 *   sip_addr_t src = ...;                          // filled by the transport on receipt
 *   sip_addr_resp_dest(req, &src, &dst);           // where responses to req go
 *   sip_addr_req_dest(req, &dst);                  // where a request goes (top Route or Request-URI)
 *   n = sip_addr_fill_via(req, &src, lumps, out, cap); // request with ;received= and ;rport=N in the top Via
 */
#ifndef MIHUA_SIP_TRANSPORT_ADDR_H
#define MIHUA_SIP_TRANSPORT_ADDR_H

#include "sip/sip_lump.h"
#include "sip/sip_msg.h"

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#define SIP_DEFAULT_PORT 5060 /* RFC 3261 §19.1.2: sip: URIs and Vias without a port */
#define SIP_ADDR_TEXT_MAX 64  /* an IPv6 address in text (INET6_ADDRSTRLEN is 46) with brackets, NUL */

typedef enum { SIP_PROTO_UDP = 0, SIP_PROTO_TCP = 1 } sip_proto_t;

/* A peer: protocol, socket address and, for TCP, the connection a message arrived on or must leave on; for a
 * received message also when it arrived. */
enum { SIP_UDP_SOCK_MAIN = 0, SIP_UDP_SOCK_DIALOG = 1, SIP_UDP_SOCKS = 2 }; /* sip_transport_listen_udp*() */

typedef struct {
    sip_proto_t proto;
    struct sockaddr_storage ss; /* AF_INET or AF_INET6 */
    socklen_t sslen;            /* 0 when no address is known */
    uint64_t conn;              /* TCP connection id (sip_transport.c); 0 = none / open or reuse by address */
    uint8_t sock;               /* UDP: the local socket (SIP_UDP_SOCK_*) it arrived on or is to leave from */
    uint64_t rx_ms;             /* received messages: CLOCK_MONOTONIC ms when the message arrived (UDP: the kernel's
                                   receive timestamp, so the time it waited in the socket buffer counts; TCP: when
                                   the read that completed it returned); 0 = unknown */
} sip_addr_t;

/* True for transports that do their own retransmission (RFC 3261 §17.1.1.2: no timer A/E/G, zero D/I/J/K). */
bool sip_addr_reliable(const sip_addr_t *a);
/* Builds an address from a numeric IPv4/IPv6 literal (brackets allowed). Returns 0, or -1 (names need DNS, which
 * this layer does not do). */
int sip_addr_from_ip(sip_addr_t *a, sip_proto_t proto, sip_str_t host, int port);
/* The numeric address as text (no brackets) and the port. Returns 0 or -1. */
int sip_addr_ntop(const sip_addr_t *a, char *ip, size_t cap, int *port);
/* Same IP and port (and protocol); the connection id is ignored. */
bool sip_addr_same(const sip_addr_t *a, const sip_addr_t *b);

/* §18.2.2 + RFC 3581 §4: responses to req go back to the source IP; to the source port when the top Via has rport,
 * else to the sent-by port (default 5060). On TCP the request's connection is kept in conn (reuse, §18.2.2 first
 * bullet); the address is the fallback. Returns 0 or -1 (no Via). */
int sip_addr_resp_dest(sip_msg_t *req, const sip_addr_t *src, sip_addr_t *out);
/* §18.1.1 / §8.1.2: a request goes to its first Route URI when present, else to its Request-URI; transport=tcp
 * selects TCP. Only numeric hosts are supported (no RFC 3263 DNS). Returns 0 or -1. */
int sip_addr_req_dest(sip_msg_t *req, sip_addr_t *out);

/* §18.2.1 + RFC 3581 §4 on a received request: adds ";received=<source IP>" to the top Via when the sent-by host
 * differs from it or when rport is present, and sets a bare ";rport" to the source port. Writes the edited request
 * into out and returns its length; returns 0 when nothing needs changing, -1 on error. l is scratch space. */
int sip_addr_fill_via(sip_msg_t *req, const sip_addr_t *src, sip_lumps_t *l, char *out, int cap);

#endif
