/*
 * sip_reply — stateless construction of a response from a request (RFC 3261 §8.2.6.2: copy From, Call-ID, CSeq,
 * Vias in order, To with a tag added by the UAS; §16.7; RFC 3581 §4 received/rport on the top Via).
 *
 * Used by the proxy for 100 Trying and locally generated 4xx. Header values are copied byte for byte from the
 * request slices; Vias are written one per line (legal, §7.3.1) so comma-joined Vias need no special case. Output
 * goes into a caller buffer through sip_wr, which records overflow instead of truncating silently.
 */
#include "sip/sip_reply.h"
#include "sip/sip_wr.h"

#include <stdio.h>
#include <string.h>

/* Top Via with received added and a bare rport filled in. */
static void sip_wr_top_via(sip_wr_t *w, const sip_via_t *via, const sip_reply_opts_t *o)
{
    sip_str_t raw = via->raw;
    sip_wr_c(w, "Via: ");
    if (o && o->rport > 0 && via->has_rport && !via->rport.s) {
        int cut = (int)(via->rport_name.s + via->rport_name.len - raw.s);
        char num[16];
        int n = snprintf(num, sizeof num, "=%d", o->rport);
        sip_wr(w, raw.s, cut);
        sip_wr(w, num, n);
        sip_wr(w, raw.s + cut, raw.len - cut);
    } else {
        sip_wr_s(w, raw);
    }
    if (o && o->received && !via->received.s) {
        sip_wr_c(w, ";received=");
        sip_wr_c(w, o->received);
    }
    sip_wr_c(w, "\r\n");
}

int sip_reply_build(sip_msg_t *req, int status, const char *reason, const sip_reply_opts_t *opts, char *out, int cap)
{
    if (!req || !out || cap <= 0 || status < 100 || status > 699 || !req->is_request)
        return -1;
    if (sip_parse_headers(req, SIP_HF_ALL & ~SIP_HF_BODY) != SIP_OK || req->nvia == 0 || req->from.hdr < 0 ||
        req->to.hdr < 0 || req->call_id_hdr < 0 || req->cseq_hdr < 0)
        return -1;
    sip_wr_t w = SIP_WR_INIT(out, cap);
    char line[64];
    int n = snprintf(line, sizeof line, "SIP/2.0 %d ", status);
    sip_wr(&w, line, n);
    sip_wr_c(&w, reason ? reason : "");
    sip_wr_c(&w, "\r\n");
    sip_wr_top_via(&w, &req->via[0], opts);
    for (int i = 1; i < req->nvia; i++)
        sip_wr_hdr(&w, "Via", req->via[i].raw);
    sip_wr_hdr(&w, "From", req->hdrs[req->from.hdr].body);
    sip_wr_c(&w, "To: ");
    sip_wr_s(&w, req->hdrs[req->to.hdr].body);
    if (opts && opts->to_tag && !req->to.tag.s) {
        sip_wr_c(&w, ";tag=");
        sip_wr_c(&w, opts->to_tag);
    }
    sip_wr_c(&w, "\r\n");
    sip_wr_hdr(&w, "Call-ID", req->call_id);
    sip_wr_hdr(&w, "CSeq", req->hdrs[req->cseq_hdr].body);
    if (opts && opts->extra)
        sip_wr_c(&w, opts->extra);
    if (opts && opts->body && opts->body_len > 0) {
        n = snprintf(line, sizeof line, "Content-Length: %d\r\n\r\n", opts->body_len);
        sip_wr_c(&w, "Content-Type: ");
        sip_wr_c(&w, opts->content_type ? opts->content_type : "application/sdp");
        sip_wr_c(&w, "\r\n");
        sip_wr(&w, line, n);
        sip_wr(&w, opts->body, opts->body_len);
    } else {
        sip_wr_c(&w, "Content-Length: 0\r\n\r\n");
    }
    return w.overflow ? -1 : w.n;
}

int sip_build_cancel(sip_msg_t *inv, char *out, int cap)
{
    if (!inv || !out || cap <= 0 || !inv->is_request || sip_parse_headers(inv, SIP_HF_ALL) != SIP_OK || inv->nvia < 1 ||
        inv->from.hdr < 0 || inv->to.hdr < 0 || inv->call_id_hdr < 0 || inv->cseq_hdr < 0)
        return -1;
    sip_wr_t w = SIP_WR_INIT(out, cap);
    char line[96];
    sip_wr_c(&w, "CANCEL ");
    sip_wr_s(&w, inv->ruri_raw);
    sip_wr_c(&w, " SIP/2.0\r\n");
    sip_wr_hdr(&w, "Via", inv->via[0].raw);
    for (int i = 0; i < inv->nroute; i++)
        sip_wr_hdr(&w, "Route", inv->route[i].raw);
    sip_wr_hdr(&w, "From", inv->hdrs[inv->from.hdr].body);
    sip_wr_hdr(&w, "To", inv->hdrs[inv->to.hdr].body);
    sip_wr_hdr(&w, "Call-ID", inv->call_id);
    int n = snprintf(line, sizeof line, "CSeq: %u CANCEL\r\nMax-Forwards: %d\r\nContent-Length: 0\r\n\r\n",
                     inv->cseq.num, SIP_MAX_FORWARDS_DEFAULT);
    sip_wr(&w, line, n);
    return w.overflow ? -1 : w.n;
}
