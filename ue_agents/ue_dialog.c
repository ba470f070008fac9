/*
 * ue_dialog — dialog state and request text (ue_dialog.h).
 */
#include "ue_dialog.h"

#include "sip/sip_wr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ue_dialog_uac_init(ue_dialog_t *d, const char *call_id, const char *from, const char *to)
{
    memset(d, 0, sizeof *d);
    snprintf(d->call_id, sizeof d->call_id, "%s", call_id);
    snprintf(d->from, sizeof d->from, "%s", from);
    snprintf(d->to, sizeof d->to, "%s", to);
}

static int copy_str(sip_str_t s, char *out, size_t cap)
{
    if (!s.s || s.len <= 0 || (size_t)s.len >= cap)
        return -1;
    sip_str_copy(s, out, cap);
    return 0;
}

/* The first Contact's URI, or -1. */
static int contact_target(sip_msg_t *m, char *out, size_t cap)
{
    if (m->ncontact < 1 || m->contact[0].star)
        return -1;
    return copy_str(m->contact[0].uri_raw, out, cap);
}

int ue_dialog_uac_update(ue_dialog_t *d, sip_msg_t *resp)
{
    if (sip_parse_headers(resp, SIP_HF_ALL) != SIP_OK || resp->to.hdr < 0 || !resp->to.tag.s ||
        copy_str(resp->hdrs[resp->to.hdr].body, d->to, sizeof d->to) != 0 ||
        contact_target(resp, d->remote_target, sizeof d->remote_target) != 0)
        return -1;
    if (!d->established) {
        if (resp->nrr > UE_ROUTES_MAX)
            return -1;
        d->nroute = 0;
        for (int i = resp->nrr - 1; i >= 0; i--)
            if (copy_str(resp->rr[i].raw, d->route[d->nroute++], UE_HDR_MAX) != 0)
                return -1;
    }
    d->established = true;
    return 0;
}

int ue_dialog_refresh_target(ue_dialog_t *d, sip_msg_t *req)
{
    char target[UE_HDR_MAX];
    if (sip_parse_headers(req, SIP_HF_ALL) != SIP_OK)
        return -1;
    if (req->ncontact == 0)
        return 0;
    if (contact_target(req, target, sizeof target) != 0)
        return -1;
    memcpy(d->remote_target, target, sizeof target);
    return 0;
}

int ue_dialog_uas_init(ue_dialog_t *d, sip_msg_t *inv, const char *local_tag)
{
    memset(d, 0, sizeof *d);
    if (sip_parse_headers(inv, SIP_HF_ALL) != SIP_OK || inv->from.hdr < 0 || inv->to.hdr < 0 ||
        inv->nrr > UE_ROUTES_MAX || copy_str(inv->call_id, d->call_id, sizeof d->call_id) != 0 ||
        copy_str(inv->hdrs[inv->from.hdr].body, d->to, sizeof d->to) != 0 ||
        contact_target(inv, d->remote_target, sizeof d->remote_target) != 0)
        return -1;
    sip_str_t to = inv->hdrs[inv->to.hdr].body;
    int n = snprintf(d->from, sizeof d->from, "%.*s;tag=%s", to.len, to.s, local_tag);
    if (n < 0 || (size_t)n >= sizeof d->from)
        return -1;
    for (int i = 0; i < inv->nrr; i++)
        if (copy_str(inv->rr[i].raw, d->route[d->nroute++], UE_HDR_MAX) != 0)
            return -1;
    d->remote_cseq = inv->cseq.num;
    d->established = true;
    return 0;
}

int ue_dialog_request(const ue_dialog_t *d, const ue_req_t *r, char *out, int cap)
{
    sip_wr_t w = SIP_WR_INIT(out, cap);
    const char *ruri = r->ruri ? r->ruri : d->remote_target;
    const char *host_fmt = strchr(r->via_host, ':') ? "[%s]" : "%s";
    char host[80];
    snprintf(host, sizeof host, host_fmt, r->via_host);
    sip_wr_printf(&w, "%s %s SIP/2.0\r\n", r->method, ruri);
    sip_wr_printf(&w, "Via: SIP/2.0/UDP %s:%d;branch=%s;rport\r\n", host, r->via_port, r->branch);
    sip_wr_printf(&w, "Max-Forwards: 70\r\n");
    for (int i = 0; i < d->nroute; i++)
        sip_wr_printf(&w, "Route: %s\r\n", d->route[i]);
    sip_wr_printf(&w, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %u %s\r\n", d->from, d->to, d->call_id, r->cseq,
                  r->method);
    if (r->contact)
        sip_wr_printf(&w, "Contact: %s\r\n", r->contact);
    if (r->extra)
        sip_wr_printf(&w, "%s", r->extra);
    if (r->body && r->body_len > 0)
        sip_wr_printf(&w, "Content-Type: %s\r\nContent-Length: %d\r\n\r\n%.*s", r->content_type, r->body_len,
                      r->body_len, r->body);
    else
        sip_wr_printf(&w, "Content-Length: 0\r\n\r\n");
    return w.overflow ? -1 : w.n;
}

int ue_dialog_rr_lines(sip_msg_t *msg, char *out, int cap)
{
    sip_wr_t w = SIP_WR_INIT(out, cap);
    if (cap > 0)
        out[0] = '\0';
    if (sip_parse_headers(msg, SIP_HF(SIP_HDR_RECORD_ROUTE)) != SIP_OK)
        return -1;
    for (int i = 0; i < msg->nrr; i++)
        sip_wr_printf(&w, "Record-Route: %.*s\r\n", msg->rr[i].raw.len, msg->rr[i].raw.s);
    return w.overflow ? -1 : w.n;
}
