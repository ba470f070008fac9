/*
 * sip_txn_build — messages the transaction layer itself writes (the t_reply.c / t_fwd.c corner of Kamailio tm).
 *
 * §17.1.1.3: the ACK for a non-2xx final response to an INVITE: same Request-URI, Call-ID, From and CSeq number as
 * the INVITE, CSeq method ACK, exactly one Via (the INVITE's top Via, so it matches the server transaction), the To
 * of the response (with its tag), and the INVITE's Route headers. §8.1.3.1 / §17.1.1.2: a timeout is reported to
 * the TU as a 408 built from the request with sip_reply_build().
 *
 * The stored request bytes are re-parsed into the layer's scratch message when needed: this happens once per
 * failed INVITE or timed-out transaction, so keeping a ~30 KiB parsed copy per transaction would not pay.
 */
#include "sip/sip_reply.h"
#include "sip/sip_txn_int.h"
#include "sip/sip_wr.h"

#include <stdio.h>
#include <string.h>

#define SIP_ACK_MAX_FORWARDS "70" /* §8.1.1.6 default */

static sip_msg_t *sip_txn_parse_req(sip_txn_layer_t *tl, const sip_txn_t *txn)
{
    sip_msg_t *m = tl->scratch;
    if (!txn->req || sip_msg_parse(m, txn->req, txn->req_len, SIP_TP_DGRAM) != SIP_OK || sip_msg_check(m) != SIP_OK)
        return NULL;
    return m;
}

int sip_txn_build_ack(sip_txn_layer_t *tl, const sip_txn_t *txn, sip_msg_t *resp, char *out, int cap)
{
    sip_msg_t *req = sip_txn_parse_req(tl, txn);
    if (!req || sip_parse_headers(resp, SIP_HF(SIP_HDR_TO)) != SIP_OK || resp->to.hdr < 0)
        return -1;
    sip_wr_t w = SIP_WR_INIT(out, cap);
    sip_wr_c(&w, "ACK ");
    sip_wr(&w, req->ruri_raw.s, req->ruri_raw.len);
    sip_wr_c(&w, " SIP/2.0\r\n");
    sip_wr_hdr(&w, "Via", req->via[0].raw);
    for (int i = 0; i < req->nhdrs; i++)
        if (req->hdrs[i].type == SIP_HDR_ROUTE)
            sip_wr(&w, req->hdrs[i].line.s, req->hdrs[i].line.len);
    sip_wr_hdr(&w, "From", req->hdrs[req->from.hdr].body);
    sip_wr_hdr(&w, "To", resp->hdrs[resp->to.hdr].body);
    sip_wr_hdr(&w, "Call-ID", req->call_id);
    char cseq[32];
    int n = snprintf(cseq, sizeof cseq, "CSeq: %u ACK\r\n", req->cseq.num);
    sip_wr(&w, cseq, n);
    sip_wr_c(&w, "Max-Forwards: " SIP_ACK_MAX_FORWARDS "\r\nContent-Length: 0\r\n\r\n");
    return w.overflow ? -1 : w.n;
}

int sip_txn_build_408(sip_txn_layer_t *tl, const sip_txn_t *txn, char *out, int cap)
{
    sip_msg_t *req = sip_txn_parse_req(tl, txn);
    if (!req)
        return -1;
    return sip_reply_build(req, 408, "Request Timeout", NULL, out, cap);
}
