/*
 * fuzz_sip — libFuzzer target for lib/sip: the message parser (RFC 3261 §7 start line and header section, §20
 * header grammars, §25 ABNF; RFC 3262 RSeq/RAck, RFC 3581 rport), stream framing (§18.3), and what mihua-as does
 * to a message that parsed: the lump edits of a forwarding proxy (§16.6 steps 2-8, §16.7 step 3) and replies
 * (§8.2.6.2). Those run on peer input in the proxy, so they are fuzzed with it.
 *
 * Each input is one datagram (SIP_TP_DGRAM) and, separately, the bytes of a TCP connection cut into messages by
 * sip_stream_frame like the transport does (SIP_TP_STREAM). Properties checked on top of the sanitizers:
 *   - a frame that sip_stream_frame accepts parses with exactly that body (framer and parser agree);
 *   - a request that passes sip_msg_check, edited the way proxy_fwd_request edits it, passes sip_msg_check again
 *     with one more Via (ours on top), one more Record-Route, the new Request-URI and Max-Forwards, one Route
 *     fewer, no +u.mihua.voenc left on any Contact, and the same Call-ID, CSeq and body;
 *   - a response with two or more Vias loses exactly the top one;
 *   - a reply to a request that passes sip_msg_check parses and passes the check, with the request's Vias,
 *     Call-ID and CSeq, our To tag, and received/rport filled in as RFC 3581 §4 says.
 */
#include "fuzz.h"

#include <stdbool.h>
#include <string.h>

#include "sip/sip_lump.h"
#include "sip/sip_msg.h"
#include "sip/sip_reply.h"

/* What the proxy writes; any valid values do. */
#define NEW_RURI "sip:+15550000002@127.0.0.1:5062;transport=udp"
#define OUR_VIA "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKfuzz.0"
#define OUR_BRANCH "z9hG4bKfuzz.0"
#define OUR_RR "<sip:127.0.0.1:5060;transport=udp;lr>"
#define VOENC "+u.mihua.voenc"
#define MF_DEFAULT 70 /* PROXY_MAX_FORWARDS_DEFAULT: Max-Forwards of a request that had none */
#define TO_TAG "fuzztag"
#define RECEIVED "192.0.2.1"
#define RPORT 5099
#define RPORT_STR "5099"
#define WARNING_LINE "Warning: 399 mihua-as \"fuzz\"\r\n"

#define EDIT_CAP (SIP_MAX_MSG_SIZE + SIP_LUMP_ARENA) /* an edited message: the original plus every inserted byte */
#define REPLY_CAP (2 * SIP_MAX_MSG_SIZE)             /* every Via of a request on its own line, plus fixed lines */
#define ADDED_LINES 3                                /* Via, Record-Route and maybe Max-Forwards */

/* Scratch for one message: large structs live on the heap, not in libFuzzer's stack. */
typedef struct {
    sip_msg_t in, out;
    sip_lumps_t lumps;
    char buf[EDIT_CAP > REPLY_CAP ? EDIT_CAP : REPLY_CAP];
} work_t;

static bool str_same(sip_str_t a, sip_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, (size_t)a.len) == 0);
}

/* Parses out[0..n) as a message of transport tp; true when it passes sip_msg_check. */
static bool reparse(sip_msg_t *m, const char *buf, int n, sip_transport_t tp)
{
    return sip_msg_parse(m, buf, (size_t)n, tp) == SIP_OK && sip_msg_check(m) == SIP_OK;
}

/* Cheap queries the proxy and registrar run on every message; they must cope with whatever parsed. */
static void run_queries(sip_msg_t *m)
{
    (void)sip_msg_reason(m);
    (void)sip_msg_find_hdr(m, "Content-Type");
    (void)sip_msg_find_hdr(m, "X-Unknown");
    (void)sip_content_type_is(m, "application/sdp");
    (void)sip_tokens_has(&m->require, "100rel");
    (void)sip_tokens_has(&m->supported, "timer");
    for (int i = 0; i < m->nvia; i++)
        (void)sip_via_branch_is_rfc3261(&m->via[i]);
    for (int i = 0; i < m->ncontact; i++)
        (void)sip_param_get(m->contact[i].params, VOENC, NULL);
}

/* §16.6: Request-URI, Max-Forwards, top Route, Record-Route, voenc strip, our Via. */
static void edit_request(sip_lumps_t *l, sip_msg_t *req, int mf)
{
    sip_lumps_init(l, req);
    FUZZ_CHECK(sip_edit_ruri_replace(l, req, NEW_RURI) == 0);
    FUZZ_CHECK(sip_edit_max_forwards_set(l, req, mf) == 0);
    if (req->nroute > 0)
        FUZZ_CHECK(sip_edit_route_remove_top(l, req) == 0);
    FUZZ_CHECK(sip_edit_rr_insert(l, req, OUR_RR) == 0);
    for (int i = 0; i < req->ncontact; i++)
        FUZZ_CHECK(sip_edit_contact_param_remove(l, req, i, VOENC) >= 0);
    FUZZ_CHECK(sip_edit_via_insert_top(l, req, OUR_VIA) == 0);
}

static void check_forwarded(const sip_msg_t *req, const sip_msg_t *fwd, int mf)
{
    FUZZ_CHECK(fwd->is_request && fwd->method == req->method);
    FUZZ_CHECK(sip_str_eq(fwd->ruri_raw, NEW_RURI));
    FUZZ_CHECK(fwd->nvia == req->nvia + 1 && sip_str_eq(fwd->via[0].branch, OUR_BRANCH));
    for (int i = 0; i < req->nvia; i++)
        FUZZ_CHECK(str_same(fwd->via[i + 1].raw, req->via[i].raw));
    FUZZ_CHECK(fwd->max_forwards == mf);
    FUZZ_CHECK(fwd->nroute == (req->nroute > 0 ? req->nroute - 1 : 0));
    FUZZ_CHECK(fwd->nrr == req->nrr + 1 && sip_str_eq(fwd->rr[0].raw, OUR_RR));
    FUZZ_CHECK(fwd->ncontact == req->ncontact);
    for (int i = 0; i < fwd->ncontact; i++)
        FUZZ_CHECK(!sip_param_get(fwd->contact[i].params, VOENC, NULL));
    FUZZ_CHECK(str_same(fwd->call_id, req->call_id) && fwd->cseq.num == req->cseq.num);
    FUZZ_CHECK(str_same(fwd->body, req->body));
}

/* Forwards a request that passed sip_msg_check when the proxy would (Max-Forwards left, room for our lines). */
static void fuzz_forward_request(work_t *w, sip_msg_t *req)
{
    if (req->max_forwards == 0 || req->nvia >= SIP_MAX_VIAS || req->nrr >= SIP_MAX_ROUTES ||
        req->nhdrs > SIP_MAX_HEADERS - ADDED_LINES)
        return; /* 483, or a message already at a limit: the proxy refuses those before editing */
    int mf = req->max_forwards < 0 ? MF_DEFAULT : req->max_forwards - 1;
    edit_request(&w->lumps, req, mf);
    int n = sip_lumps_apply(&w->lumps, w->buf, EDIT_CAP);
    FUZZ_CHECK(n >= 0 && n == sip_lumps_out_len(&w->lumps));
    if (n > SIP_MAX_MSG_SIZE)
        return;
    FUZZ_CHECK(reparse(&w->out, w->buf, n, req->transport));
    check_forwarded(req, &w->out, mf);
}

/* §16.7 step 3: our Via comes off a response before it goes upstream. */
static void fuzz_forward_response(work_t *w, sip_msg_t *resp)
{
    if (resp->nvia < 2)
        return;
    sip_lumps_init(&w->lumps, resp);
    FUZZ_CHECK(sip_edit_via_remove_top(&w->lumps, resp) == 0);
    int n = sip_lumps_apply(&w->lumps, w->buf, EDIT_CAP);
    FUZZ_CHECK(n >= 0 && n <= SIP_MAX_MSG_SIZE);
    FUZZ_CHECK(reparse(&w->out, w->buf, n, resp->transport));
    FUZZ_CHECK(!w->out.is_request && w->out.status == resp->status && w->out.nvia == resp->nvia - 1);
    for (int i = 1; i < resp->nvia; i++)
        FUZZ_CHECK(str_same(w->out.via[i - 1].raw, resp->via[i].raw));
    FUZZ_CHECK(str_same(w->out.body, resp->body));
}

static void check_reply(const sip_msg_t *req, const sip_msg_t *rep, int status, const sip_reply_opts_t *o)
{
    FUZZ_CHECK(!rep->is_request && rep->status == status && rep->nvia == req->nvia);
    FUZZ_CHECK(str_same(rep->call_id, req->call_id) && rep->cseq.num == req->cseq.num);
    FUZZ_CHECK(str_same(rep->cseq.method_str, req->cseq.method_str));
    for (int i = 1; i < req->nvia; i++)
        FUZZ_CHECK(str_same(rep->via[i].raw, req->via[i].raw));
    if (o->to_tag)
        FUZZ_CHECK(req->to.tag.s ? str_same(rep->to.tag, req->to.tag) : sip_str_eq(rep->to.tag, o->to_tag));
    if (o->received && !req->via[0].received.s)
        FUZZ_CHECK(sip_str_eq(rep->via[0].received, o->received));
    if (o->rport > 0 && req->via[0].has_rport && !req->via[0].rport.s)
        FUZZ_CHECK(sip_str_eq(rep->via[0].rport, RPORT_STR));
    FUZZ_CHECK(rep->content_length == 0);
}

/* 100 Trying (no tag, nothing added) and a 4xx with everything sip_reply_opts_t can add. */
static void fuzz_replies(work_t *w, sip_msg_t *req)
{
    const sip_reply_opts_t trying = {0};
    const sip_reply_opts_t full = {.to_tag = TO_TAG, .received = RECEIVED, .rport = RPORT, .extra = WARNING_LINE};
    const struct {
        int status;
        const char *reason;
        const sip_reply_opts_t *opts;
    } replies[] = {{100, "Trying", &trying}, {403, "Forbidden", &full}};
    for (size_t i = 0; i < sizeof replies / sizeof replies[0]; i++) {
        int n = sip_reply_build(req, replies[i].status, replies[i].reason, replies[i].opts, w->buf, REPLY_CAP);
        FUZZ_CHECK(n > 0);
        if (n > SIP_MAX_MSG_SIZE)
            continue;
        FUZZ_CHECK(reparse(&w->out, w->buf, n, SIP_TP_DGRAM));
        check_reply(req, &w->out, replies[i].status, replies[i].opts);
    }
}

/* Everything the AS does with one received message. */
static void fuzz_message(work_t *w, const char *buf, size_t len, sip_transport_t tp)
{
    sip_msg_t *m = &w->in;
    if (sip_msg_parse(m, buf, len, tp) != SIP_OK) {
        run_queries(m);
        return;
    }
    /* The proxy's lazy path first (transaction matching), then the whole message. */
    (void)sip_parse_headers(m, SIP_HF_VIA1 | SIP_HF(SIP_HDR_CSEQ) | SIP_HF(SIP_HDR_CALL_ID));
    (void)sip_parse_headers(m, SIP_HF_ALL);
    sip_err_t err = sip_msg_check(m);
    run_queries(m);
    if (err != SIP_OK)
        return;
    if (m->is_request) {
        fuzz_replies(w, m);
        fuzz_forward_request(w, m);
    } else {
        fuzz_forward_response(w, m);
    }
}

/* The framer's verdict must be the parser's: a frame parses with its Content-Length body ending the frame. */
static void check_frame(work_t *w, const char *buf, size_t n)
{
    sip_msg_t *m = &w->in;
    if (sip_msg_parse(m, buf, n, SIP_TP_STREAM) != SIP_OK)
        return;
    sip_err_t err = sip_parse_headers(m, SIP_HF_ALL);
    FUZZ_CHECK(err != SIP_E_TRUNCATED && err != SIP_E_BODY_LENGTH);
    if (err == SIP_OK)
        FUZZ_CHECK(m->body.len == m->content_length && (size_t)(m->body_off + m->body.len) == n);
}

/* A TCP connection's bytes, consumed frame by frame as sip_transport_tcp.c does. */
static void fuzz_stream(work_t *w, const char *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        size_t n = 0;
        const char *reason = NULL;
        sip_frame_t f = sip_stream_frame(buf + off, len - off, &n, &reason);
        if (f == SIP_FRAME_NEED_MORE)
            return;
        if (f == SIP_FRAME_ERROR) {
            FUZZ_CHECK(reason != NULL);
            return;
        }
        FUZZ_CHECK(n > 0 && n <= len - off);
        if (f == SIP_FRAME_OK) {
            check_frame(w, buf + off, n);
            fuzz_message(w, buf + off, n, SIP_TP_STREAM);
        }
        off += n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    work_t *w = malloc(sizeof *w);
    if (!w)
        return 0;
    const char *buf = (const char *)data;
    fuzz_message(w, buf, size, SIP_TP_DGRAM);
    fuzz_stream(w, buf, size);
    free(w);
    return 0;
}
