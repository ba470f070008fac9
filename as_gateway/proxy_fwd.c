/*
 * proxy_fwd — request and response edits of a transaction-stateful proxy (RFC 3261 §16.4 loose routing, §16.6
 * request forwarding, §16.7 response processing, §9.1 CANCEL construction).
 *
 * Everything is done with lumps (lib/sip/sip_lump.h) against the received buffer: the message is never
 * re-serialised, so headers the AS does not understand go through byte for byte. Next hops are numeric addresses
 * only (no RFC 3263 DNS): UEs register IP literals and the Record-Route is our own IP. Our Via has no rport: the
 * AS sends from its listening socket, so responses come back to the sent-by port anyway.
 */
#include "proxy_fwd.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static sip_str_t fwd_strip_brackets(sip_str_t h)
{
    if (h.len >= 2 && h.s[0] == '[' && h.s[h.len - 1] == ']')
        return (sip_str_t){h.s + 1, h.len - 2};
    return h;
}

bool proxy_uri_is_self(const proxy_self_t *self, const sip_uri_t *uri)
{
    if (uri->scheme != SIP_URI_SIP && uri->scheme != SIP_URI_SIPS)
        return false;
    sip_str_t mine = fwd_strip_brackets(sip_str_c(self->host));
    int port = uri->port ? uri->port : SIP_DEFAULT_PORT;
    return (port == self->port || (self->dialog_port && port == self->dialog_port)) &&
           sip_str_ieq_str(fwd_strip_brackets(uri->host), mine);
}

int proxy_uri_dest(const sip_uri_t *uri, sip_addr_t *out)
{
    if (uri->scheme != SIP_URI_SIP && uri->scheme != SIP_URI_SIPS)
        return -1;
    sip_proto_t proto = uri->transport.s && sip_str_ieq(uri->transport, "tcp") ? SIP_PROTO_TCP : SIP_PROTO_UDP;
    sip_str_t host = uri->maddr.s ? uri->maddr : uri->host;
    return sip_addr_from_ip(out, proto, host, uri->port ? uri->port : SIP_DEFAULT_PORT);
}

int proxy_via_dest(const sip_via_t *via, sip_addr_t *out)
{
    uint32_t rport = 0;
    if (via->rport.s && sip_str_to_u32(via->rport, 65535, &rport) != 0)
        rport = 0;
    int port = rport ? (int)rport : (via->port ? via->port : SIP_DEFAULT_PORT);
    sip_proto_t proto = sip_str_ieq(via->transport, "TCP") ? SIP_PROTO_TCP : SIP_PROTO_UDP;
    return sip_addr_from_ip(out, proto, via->received.s ? via->received : via->host, port);
}

int proxy_next_route(const sip_msg_t *req, const proxy_self_t *self)
{
    if (req->nroute == 0)
        return -1;
    if (!proxy_uri_is_self(self, &req->route[0].uri))
        return 0;
    return req->nroute > 1 ? 1 : -1;
}

int proxy_uri_identity(sip_str_t uri_raw, const sip_uri_t *uri, char *out, size_t cap)
{
    if (!uri_raw.s || uri_raw.len <= 0)
        return -1;
    int len = uri_raw.len;
    if (uri->params.s && uri->params.s > uri_raw.s && uri->params.s - uri_raw.s < len)
        len = (int)(uri->params.s - uri_raw.s);
    if (uri->headers.s && uri->headers.s > uri_raw.s && uri->headers.s - 1 - uri_raw.s < len)
        len = (int)(uri->headers.s - 1 - uri_raw.s);
    if ((size_t)len >= cap)
        return -1;
    memcpy(out, uri_raw.s, (size_t)len);
    out[len] = '\0';
    return 0;
}

static const char *fwd_proto_name(sip_proto_t p, bool lower)
{
    if (p == SIP_PROTO_TCP)
        return lower ? "tcp" : "TCP";
    return lower ? "udp" : "UDP";
}

static int fwd_strip_voenc(sip_lumps_t *l, sip_msg_t *req)
{
    for (int i = 0; i < req->ncontact; i++)
        if (sip_edit_contact_param_remove(l, req, i, "+u.mihua.voenc") < 0)
            return -1;
    return 0;
}

/* Our port in a Via or Record-Route for this transport: UDP names the dialog socket when there is one. */
static int fwd_port(const proxy_self_t *self, sip_proto_t proto)
{
    return proto == SIP_PROTO_UDP && self->dialog_port ? self->dialog_port : self->port;
}

/* Deletes each Proxy-Authorization line whose realm parameter is ours (credentials for other proxies stay). */
static int fwd_strip_credentials(sip_lumps_t *l, sip_msg_t *req, const char *realm)
{
    char want[160];
    int wn = snprintf(want, sizeof want, "realm=\"%s\"", realm);
    for (int i = 0; wn > 0 && wn < (int)sizeof want && i < req->nhdrs; i++) {
        const sip_hdr_t *h = &req->hdrs[i];
        if (h->type != SIP_HDR_OTHER || !sip_str_ieq(h->name, "Proxy-Authorization"))
            continue;
        bool ours = false;
        for (int k = 0; !ours && k + wn <= h->body.len; k++)
            ours = strncasecmp(h->body.s + k, want, (size_t)wn) == 0;
        if (ours && sip_lump_delete(l, (int)(h->line.s - req->buf), h->line.len) < 0)
            return -1;
    }
    return 0;
}

int proxy_fwd_request(sip_msg_t *req, sip_lumps_t *l, const proxy_fwd_opts_t *o, char *out, int cap)
{
    char via[PROXY_HOST_MAX + 192], rr[PROXY_HOST_MAX + 48];
    if (sip_parse_headers(req, SIP_HF_ALL) != SIP_OK || !req->is_request)
        return -1;
    sip_lumps_init(l, req);
    int mf = req->max_forwards < 0 ? PROXY_MAX_FORWARDS_DEFAULT : req->max_forwards - 1;
    if (mf < 0)
        return -1; /* the caller answers 483 first */
    if (o->new_ruri && sip_edit_ruri_replace(l, req, o->new_ruri) < 0)
        return -1;
    if (sip_edit_max_forwards_set(l, req, mf) < 0)
        return -1;
    if (req->nroute > 0 && proxy_uri_is_self(o->self, &req->route[0].uri) && sip_edit_route_remove_top(l, req) < 0)
        return -1;
    if (o->record_route) {
        snprintf(rr, sizeof rr, "<sip:%s:%d;transport=%s;lr>", o->self->host, fwd_port(o->self, o->in_proto),
                 fwd_proto_name(o->in_proto, true));
        if (sip_edit_rr_insert(l, req, rr) < 0)
            return -1;
    }
    if (o->strip_voenc && fwd_strip_voenc(l, req) < 0)
        return -1;
    if (o->auth_realm && fwd_strip_credentials(l, req, o->auth_realm) < 0)
        return -1;
    snprintf(via, sizeof via, "SIP/2.0/%s %s:%d;branch=%s", fwd_proto_name(o->out_proto, false), o->self->host,
             fwd_port(o->self, o->out_proto), o->branch);
    if (sip_edit_via_insert_top(l, req, via) < 0)
        return -1;
    return sip_lumps_apply(l, out, cap);
}

int proxy_fwd_response(sip_msg_t *resp, sip_lumps_t *l, const char *extra, char *out, int cap)
{
    if (sip_parse_headers(resp, SIP_HF_ALL) != SIP_OK || resp->is_request || resp->nvia < 2)
        return -1;
    sip_lumps_init(l, resp);
    if (sip_edit_via_remove_top(l, resp) < 0 || (extra && sip_edit_header_append(l, resp, extra) < 0))
        return -1;
    return sip_lumps_apply(l, out, cap);
}
