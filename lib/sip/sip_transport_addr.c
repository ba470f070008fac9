/*
 * sip_transport_addr — destination selection and Via stamping (RFC 3261 §18.1.1, §18.2.1, §18.2.2; RFC 3581 §4).
 *
 * Trade-offs: only numeric hosts are resolved (RFC 3263 NAPTR/SRV/A lookups are out of scope; mihua's peers are
 * configured by address), maddr is ignored, and the response address is always the request's source IP: that is
 * what "received" would say anyway, since §18.2.1 adds received whenever sent-by differs from the source. Via
 * stamping goes through lumps (sip_lump.h), so the received buffer is never written.
 */
#include "sip/sip_transport_addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

bool sip_addr_reliable(const sip_addr_t *a)
{
    return a->proto == SIP_PROTO_TCP;
}

int sip_addr_from_ip(sip_addr_t *a, sip_proto_t proto, sip_str_t host, int port)
{
    char text[SIP_ADDR_TEXT_MAX];
    if (!host.s || host.len <= 0 || host.len >= (int)sizeof text || port < 0 || port > 65535)
        return -1;
    if (host.len >= 2 && host.s[0] == '[' && host.s[host.len - 1] == ']')
        host = (sip_str_t){host.s + 1, host.len - 2};
    sip_str_copy(host, text, sizeof text);
    memset(a, 0, sizeof *a);
    a->proto = proto;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&a->ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->ss;
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        a->sslen = sizeof *v4;
        return 0;
    }
    if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        a->sslen = sizeof *v6;
        return 0;
    }
    return -1;
}

int sip_addr_ntop(const sip_addr_t *a, char *ip, size_t cap, int *port)
{
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)&a->ss;
        *port = ntohs(v4->sin_port);
        return inet_ntop(AF_INET, &v4->sin_addr, ip, (socklen_t)cap) ? 0 : -1;
    }
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&a->ss;
        *port = ntohs(v6->sin6_port);
        return inet_ntop(AF_INET6, &v6->sin6_addr, ip, (socklen_t)cap) ? 0 : -1;
    }
    return -1;
}

bool sip_addr_same(const sip_addr_t *a, const sip_addr_t *b)
{
    if (a->proto != b->proto || a->ss.ss_family != b->ss.ss_family)
        return false;
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)&a->ss, *y = (const struct sockaddr_in *)&b->ss;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->ss;
        const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)&b->ss;
        return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return false;
}

static void sip_addr_set_port(sip_addr_t *a, int port)
{
    if (a->ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&a->ss)->sin_port = htons((uint16_t)port);
    else if (a->ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&a->ss)->sin6_port = htons((uint16_t)port);
}

int sip_addr_resp_dest(sip_msg_t *req, const sip_addr_t *src, sip_addr_t *out)
{
    if (sip_parse_headers(req, SIP_HF_VIA1) != SIP_OK || req->nvia == 0 || src->sslen == 0)
        return -1;
    const sip_via_t *via = &req->via[0];
    *out = *src;
    int src_port = 0;
    char ip[SIP_ADDR_TEXT_MAX];
    if (sip_addr_ntop(src, ip, sizeof ip, &src_port) < 0)
        return -1;
    /* UDP with rport: the source port (RFC 3581 §4). Otherwise the sent-by port (§18.2.2). On TCP the source
     * port is the peer's ephemeral port, so the fallback address for a new connection is the sent-by port. */
    bool use_src_port = src->proto == SIP_PROTO_UDP && via->has_rport;
    sip_addr_set_port(out, use_src_port ? src_port : (via->port > 0 ? via->port : SIP_DEFAULT_PORT));
    return 0;
}

int sip_addr_req_dest(sip_msg_t *req, sip_addr_t *out)
{
    if (sip_parse_headers(req, SIP_HF(SIP_HDR_ROUTE)) != SIP_OK)
        return -1;
    const sip_uri_t *uri = req->nroute > 0 ? &req->route[0].uri : &req->ruri;
    if (uri->scheme != SIP_URI_SIP && uri->scheme != SIP_URI_SIPS)
        return -1;
    sip_proto_t proto = sip_str_ieq(uri->transport, "tcp") ? SIP_PROTO_TCP : SIP_PROTO_UDP;
    return sip_addr_from_ip(out, proto, uri->host, uri->port > 0 ? uri->port : SIP_DEFAULT_PORT);
}

/* True when the Via sent-by host is the source IP literally (so §18.2.1 needs no received parameter). */
static bool sip_via_host_is(const sip_via_t *via, const char *ip)
{
    sip_str_t h = via->host;
    if (h.len >= 2 && h.s[0] == '[')
        h = (sip_str_t){h.s + 1, h.len - 2};
    return sip_str_ieq(h, ip);
}

int sip_addr_fill_via(sip_msg_t *req, const sip_addr_t *src, sip_lumps_t *l, char *out, int cap)
{
    if (!req->is_request || sip_parse_headers(req, SIP_HF_VIA1) != SIP_OK || req->nvia == 0)
        return -1;
    const sip_via_t *via = &req->via[0];
    char ip[SIP_ADDR_TEXT_MAX];
    int port = 0;
    if (sip_addr_ntop(src, ip, sizeof ip, &port) < 0)
        return -1;
    bool set_rport = via->has_rport && !via->rport.s;
    bool need_received = via->has_rport || !sip_via_host_is(via, ip);
    bool received_ok = via->received.s && sip_str_eq(via->received, ip);
    if (!set_rport && (!need_received || received_ok))
        return 0;
    sip_lumps_init(l, req);
    int rc = 0;
    if (set_rport) {
        char num[16];
        int n = snprintf(num, sizeof num, "=%d", port);
        rc |= sip_lump_insert(l, (int)(via->rport_name.s + via->rport_name.len - req->buf), num, n);
    }
    if (need_received && via->received.s && !received_ok) {
        rc |= sip_lump_replace(l, (int)(via->received.s - req->buf), via->received.len, ip, (int)strlen(ip));
    } else if (need_received && !via->received.s) {
        char param[SIP_ADDR_TEXT_MAX + 16];
        int n = snprintf(param, sizeof param, ";received=%s", ip);
        rc |= sip_lump_insert(l, (int)(via->raw.s + via->raw.len - req->buf), param, n);
    }
    if (rc != 0)
        return -1;
    return sip_lumps_apply(l, out, cap);
}
