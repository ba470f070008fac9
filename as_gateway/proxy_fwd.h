/*
 * proxy_fwd — the pure message edits of mihua-as's proxy (RFC 3261 §16.4, §16.6, §16.7, §9.1), kept apart from
 * transactions and sockets so tests check them byte for byte. The CANCEL of a forwarded INVITE is lib/sip's
 * sip_build_cancel (sip_reply.h), shared with the UE agents.
 */
#ifndef MIHUA_AS_PROXY_FWD_H
#define MIHUA_AS_PROXY_FWD_H

#include <stdbool.h>

#include "sip/sip_lump.h"
#include "sip/sip_msg.h"
#include "sip/sip_reply.h"
#include "sip/sip_transport_addr.h"

#define PROXY_MAX_FORWARDS_DEFAULT SIP_MAX_FORWARDS_DEFAULT /* §16.6 step 3: inserted when a request carries none */
#define PROXY_HOST_MAX 64                                   /* our IP literal */
#define PROXY_URI_MAX 512 /* a URI we copy (Request-URI target, caller/callee identities) */

/* Where this proxy listens: its Via sent-by and its Record-Route URI. */
typedef struct {
    char host[PROXY_HOST_MAX]; /* IPv4 literal or IPv6 with brackets */
    int port;
    int dialog_port; /* 0: none; else UDP Via and Record-Route name this port (sip_transport.h) */
} proxy_self_t;

typedef struct {
    const proxy_self_t *self;
    const char *branch;     /* our Via branch (z9hG4bK...) */
    sip_proto_t out_proto;  /* towards the next hop: our Via's transport */
    sip_proto_t in_proto;   /* the request arrived on this: our Record-Route's transport */
    bool record_route;      /* §16.6 step 4: dialog-creating requests the AS must stay on the path of */
    const char *new_ruri;   /* §16.6 step 2 target from the location service; NULL keeps the Request-URI */
    bool strip_voenc;       /* remove +u.mihua.voenc from every Contact (DESIGN §2) */
    const char *auth_realm; /* remove Proxy-Authorization for this realm: credentials we consumed (RFC 3261
                               §22.3) are nobody else's business; NULL keeps them all */
} proxy_fwd_opts_t;

/* True when uri names this proxy (host and port; a missing port means 5060). */
bool proxy_uri_is_self(const proxy_self_t *self, const sip_uri_t *uri);
/* The next hop for a URI: numeric host, port (default 5060), transport=tcp selects TCP. 0 or -1. */
int proxy_uri_dest(const sip_uri_t *uri, sip_addr_t *out);
/* Where a response goes back through a Via (§18.2.2 + RFC 3581): received or sent-by host, rport or sent-by port,
 * the Via's transport. 0 or -1. */
int proxy_via_dest(const sip_via_t *via, sip_addr_t *out);
/* Index of the first Route entry after our own (loose routing §16.4), or -1 when no other Route remains. */
int proxy_next_route(const sip_msg_t *req, const proxy_self_t *self);

/* Copies a URI without its parameters and headers ("sip:+1555@host", "tel:+1555") into out. 0 or -1. */
int proxy_uri_identity(sip_str_t uri_raw, const sip_uri_t *uri, char *out, size_t cap);

/* §16.6 steps 2-8 on a checked request: Request-URI, Max-Forwards decrement (or 70), own top Route removed,
 * Record-Route, our Via on top, optional tag strip. Writes the message into out; returns its length or -1. */
int proxy_fwd_request(sip_msg_t *req, sip_lumps_t *l, const proxy_fwd_opts_t *o, char *out, int cap);
/* §16.7 step 3: the response without its top Via, plus the header line `extra` (no CRLF) when not NULL. Returns
 * the length or -1. */
int proxy_fwd_response(sip_msg_t *resp, sip_lumps_t *l, const char *extra, char *out, int cap);

#endif
