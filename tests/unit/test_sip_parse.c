/*
 * test_sip_parse — lib/sip parser on valid messages (every method of the DESIGN §1 flow, compact forms, comma-joined
 * Vias, folding, long lines) and hostile ones (every truncation, NUL bytes, oversize, bad Content-Length, bad CSeq,
 * missing mandatory headers, random mutations), plus TCP framing. Inputs are copied into exact-size heap buffers so
 * AddressSanitizer catches any read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sip/sip_msg.h"

typedef struct {
    char *buf;
    sip_msg_t *m;
} parsed_t;

static parsed_t parse_n(const char *s, size_t n, sip_transport_t tp)
{
    parsed_t p = {malloc(n ? n : 1), calloc(1, sizeof(sip_msg_t))};
    assert_non_null(p.buf);
    assert_non_null(p.m);
    memcpy(p.buf, s, n);
    sip_msg_parse(p.m, p.buf, n, tp);
    return p;
}

static parsed_t parse(const char *s)
{
    return parse_n(s, strlen(s), SIP_TP_DGRAM);
}

static void done(parsed_t *p)
{
    free(p->buf);
    free(p->m);
}

static void assert_str(sip_str_t s, const char *want)
{
    char buf[512];
    sip_str_copy(s, buf, sizeof buf);
    assert_string_equal(buf, want);
}

/* Parses and checks s; returns the error of sip_msg_check(). */
static sip_err_t check_err(const char *s)
{
    parsed_t p = parse(s);
    sip_err_t e = sip_msg_check(p.m);
    done(&p);
    return e;
}

#define SDP_BODY "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n"

static const char *const INVITE =
    "INVITE sip:bob@127.0.0.1:5080 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKas01.1, SIP/2.0/UDP 127.0.0.1:5070;received=127.0.0.1;"
    "rport=5070;branch=z9hG4bKinv0001\r\n"
    "Via: SIP/2.0/TCP 10.0.0.9:5090;branch=z9hG4bKorig\r\n"
    "Record-Route: <sip:127.0.0.1;lr>\r\n"
    "Max-Forwards: 69\r\n"
    "From: \"Alice, A.\" <sip:alice@mihua.test>;tag=9fxced76sl\r\n"
    "To: <sip:bob@mihua.test>\r\n"
    "Call-ID: 3848276298220188511@127.0.0.1\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@127.0.0.1:5070;transport=udp>;+u.mihua.voenc\r\n"
    "Supported: 100rel, timer\r\n"
    "Allow: INVITE,ACK,CANCEL,BYE,PRACK,UPDATE\r\n"
    "Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 87\r\n"
    "\r\n" SDP_BODY;

static void test_invite_multi_via(void **state)
{
    (void)state;
    assert_int_equal(strlen(SDP_BODY), 87);
    parsed_t p = parse(INVITE);
    sip_msg_t *m = p.m;
    assert_int_equal(sip_msg_check(m), SIP_OK);
    assert_true(m->is_request);
    assert_int_equal(m->method, SIP_METHOD_INVITE);
    assert_int_equal(m->ruri.scheme, SIP_URI_SIP);
    assert_str(m->ruri.user, "bob");
    assert_str(m->ruri.host, "127.0.0.1");
    assert_int_equal(m->ruri.port, 5080);
    assert_int_equal(m->nvia, 3);
    assert_int_equal(m->hdrs[m->via[0].hdr].nvalues, 2);
    assert_str(m->via[0].host, "127.0.0.1");
    assert_int_equal(m->via[0].port, 5060);
    assert_str(m->via[0].branch, "z9hG4bKas01.1");
    assert_true(sip_via_branch_is_rfc3261(&m->via[0]));
    assert_str(m->via[1].received, "127.0.0.1");
    assert_true(m->via[1].has_rport);
    assert_str(m->via[1].rport, "5070");
    assert_str(m->via[2].transport, "TCP");
    assert_int_equal(m->via[2].port, 5090);
    assert_int_equal(m->nrr, 1);
    assert_true(m->rr[0].uri.lr);
    assert_int_equal(m->max_forwards, 69);
    assert_str(m->from.display, "\"Alice, A.\"");
    assert_str(m->from.tag, "9fxced76sl");
    assert_str(m->from.uri.user, "alice");
    assert_null(m->to.tag.s);
    assert_str(m->call_id, "3848276298220188511@127.0.0.1");
    assert_int_equal(m->cseq.num, 314159);
    assert_int_equal(m->cseq.method, SIP_METHOD_INVITE);
    assert_int_equal(m->ncontact, 1);
    sip_str_t v;
    assert_true(sip_param_get(m->contact[0].params, "+u.mihua.voenc", &v));
    assert_null(v.s);
    assert_str(m->contact[0].uri.transport, "udp");
    assert_true(sip_tokens_has(&m->supported, "100rel"));
    assert_true(sip_tokens_has(&m->supported, "timer"));
    assert_int_equal(m->allow.n, 6);
    assert_true(sip_content_type_is(m, "application/sdp"));
    assert_int_equal(m->content_length, 87);
    assert_int_equal(m->body.len, 87);
    assert_memory_equal(m->body.s, SDP_BODY, 87);
    int d = sip_msg_find_hdr(m, "Date");
    assert_true(d >= 0);
    assert_int_equal(m->hdrs[d].type, SIP_HDR_OTHER);
    assert_str(m->hdrs[d].body, "Sat, 13 Nov 2010 23:29:00 GMT");
    assert_str(m->hdrs[d].line, "Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n");
    done(&p);
}

static void test_register_feature_tags(void **state)
{
    (void)state;
    parsed_t p = parse("REGISTER sip:127.0.0.1 SIP/2.0\r\n"
                       "Via: SIP/2.0/UDP 127.0.0.1:5070;rport;branch=z9hG4bKreg0001\r\n"
                       "Max-Forwards: 70\r\n"
                       "From: <sip:alice@mihua.test>;tag=a73k\r\n"
                       "To: <sip:alice@mihua.test>\r\n"
                       "Call-ID: reg-1@127.0.0.1\r\n"
                       "CSeq: 1826 REGISTER\r\n"
                       "Contact: <sip:alice@127.0.0.1:5070>;+u.mihua.voenc;expires=3600;"
                       "+sip.instance=\"<urn:uuid:0001;x,y>\", sip:alice@10.0.0.1;+u.mihua.voenc=\"1\";q=0.5\r\n"
                       "Expires: 3600\r\n"
                       "Content-Length: 0\r\n\r\n");
    sip_msg_t *m = p.m;
    assert_int_equal(sip_msg_check(m), SIP_OK);
    assert_int_equal(m->method, SIP_METHOD_REGISTER);
    assert_true(m->via[0].has_rport);
    assert_null(m->via[0].rport.s);
    assert_str(m->via[0].rport_name, "rport");
    assert_int_equal(m->ncontact, 2);
    sip_str_t v;
    assert_true(sip_param_get(m->contact[0].params, "+u.mihua.voenc", &v));
    assert_null(v.s);
    assert_true(sip_param_get(m->contact[0].params, "expires", &v));
    assert_str(v, "3600");
    assert_true(sip_param_get(m->contact[0].params, "+sip.instance", &v));
    assert_str(v, "\"<urn:uuid:0001;x,y>\"");
    /* addr-spec form: the ;params after it are header params, not URI params */
    assert_str(m->contact[1].uri_raw, "sip:alice@10.0.0.1");
    assert_null(m->contact[1].uri.params.s);
    assert_true(sip_param_get(m->contact[1].params, "+u.mihua.voenc", &v));
    assert_str(v, "\"1\"");
    assert_false(sip_param_get(m->contact[1].params, "expires", &v));
    assert_int_equal(m->expires_hdr >= 0, 1);
    assert_int_equal(m->expires, 3600);
    assert_int_equal(m->body.len, 0);
    done(&p);
}

static void test_contact_star(void **state)
{
    (void)state;
    const char *head =
        "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
        "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 2 REGISTER\r\nExpires: 0\r\n";
    char buf[1024];
    snprintf(buf, sizeof buf, "%sContact: *\r\nContent-Length: 0\r\n\r\n", head);
    parsed_t p = parse(buf);
    assert_int_equal(sip_msg_check(p.m), SIP_OK);
    assert_int_equal(p.m->ncontact, 1);
    assert_true(p.m->contact[0].star);
    assert_int_equal(p.m->expires, 0);
    done(&p);
    snprintf(buf, sizeof buf, "%sContact: *, <sip:a@c>\r\nContent-Length: 0\r\n\r\n", head);
    assert_int_equal(check_err(buf), SIP_E_CONTACT);
    snprintf(buf, sizeof buf, "%sContact: <sip:a@c>\r\nContact: *\r\nContent-Length: 0\r\n\r\n", head);
    assert_int_equal(check_err(buf), SIP_E_CONTACT);
}

static void test_183_100rel_and_prack(void **state)
{
    (void)state;
    parsed_t p = parse("SIP/2.0 183 Session Progress\r\n"
                       "Via: SIP/2.0/UDP 127.0.0.1:5070;rport=5070;branch=z9hG4bKinv0001\r\n"
                       "From: <sip:alice@mihua.test>;tag=9f\r\nTo: <sip:bob@mihua.test>;tag=83\r\n"
                       "Call-ID: c1\r\nCSeq: 314159 INVITE\r\n"
                       "Contact: <sip:bob@127.0.0.1:5080>;+u.mihua.voenc\r\n"
                       "Require: 100rel\r\nRSeq: 988789\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(sip_msg_check(p.m), SIP_OK);
    assert_false(p.m->is_request);
    assert_int_equal(p.m->status, 183);
    assert_str(p.m->reason, "Session Progress");
    assert_true(sip_tokens_has(&p.m->require, "100rel"));
    assert_int_equal(p.m->rseq, 988789);
    assert_str(p.m->to.tag, "83");
    done(&p);

    p = parse("PRACK sip:bob@127.0.0.1:5080 SIP/2.0\r\n"
              "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKprack01\r\nRoute: <sip:127.0.0.1;lr>, <sip:b.test;lr>\r\n"
              "From: <sip:alice@mihua.test>;tag=9f\r\nTo: <sip:bob@mihua.test>;tag=83\r\n"
              "Call-ID: c1\r\nCSeq: 314160 PRACK\r\nRAck: 988789 314159 INVITE\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(sip_msg_check(p.m), SIP_OK);
    assert_int_equal(p.m->method, SIP_METHOD_PRACK);
    assert_true(p.m->rack.present);
    assert_int_equal(p.m->rack.rseq, 988789);
    assert_int_equal(p.m->rack.cseq, 314159);
    assert_int_equal(p.m->rack.method, SIP_METHOD_INVITE);
    assert_int_equal(p.m->nroute, 2);
    assert_str(p.m->route[1].uri.host, "b.test");
    done(&p);

    assert_int_equal(
        check_err("PRACK sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                  "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 2 PRACK\r\nRAck: 0 1 INVITE\r\n\r\n"),
        SIP_E_RACK);
    assert_int_equal(check_err("SIP/2.0 183 P\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                               "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 2 INVITE\r\nRSeq: 2147483648\r\n\r\n"),
                     SIP_E_RSEQ);
}

static void test_update_ack_bye_200(void **state)
{
    (void)state;
    static const char *const methods[] = {"UPDATE", "ACK", "BYE", "CANCEL", "OPTIONS"};
    static const sip_method_t ids[] = {SIP_METHOD_UPDATE, SIP_METHOD_ACK, SIP_METHOD_BYE, SIP_METHOD_CANCEL,
                                       SIP_METHOD_OPTIONS};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        char buf[1024];
        snprintf(
            buf, sizeof buf,
            "%s sips:bob@mihua.test;transport=tcp SIP/2.0\r\nVia: SIP/2.0/TLS h:5061;branch=z9hG4bK%zu\r\n"
            "From: <sip:a@b>;tag=1\r\nTo: <sip:b@b>;tag=2\r\nCall-ID: x\r\nCSeq: 9 %s\r\nContent-Length: 0\r\n\r\n",
            methods[i], i, methods[i]);
        parsed_t p = parse(buf);
        assert_int_equal(sip_msg_check(p.m), SIP_OK);
        assert_int_equal(p.m->method, ids[i]);
        assert_int_equal(p.m->ruri.scheme, SIP_URI_SIPS);
        assert_str(p.m->ruri.transport, "tcp");
        assert_int_equal(p.m->max_forwards, -1);
        done(&p);
    }
    parsed_t p = parse("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                       "To: <sip:b@b>;tag=2\r\nCall-ID: x\r\nCSeq: 9 UPDATE\r\n"
                       "Warning: 305 bob.test \"no \\\"shared\\\" suite\", 399 as \"x\"\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(sip_msg_check(p.m), SIP_OK);
    assert_int_equal(p.m->status, 200);
    assert_int_equal(p.m->cseq.method, SIP_METHOD_UPDATE);
    assert_int_equal(p.m->nwarning, 2);
    assert_int_equal(p.m->warning[0].code, 305);
    assert_str(p.m->warning[0].agent, "bob.test");
    assert_str(p.m->warning[1].text, "\"x\"");
    done(&p);
}

static void test_compact_forms(void **state)
{
    (void)state;
    parsed_t p = parse("INVITE sip:bob@mihua.test SIP/2.0\r\n"
                       "v: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKc1\r\nf: Alice <sip:alice@mihua.test>;tag=c1\r\n"
                       "t: Bob <sip:bob@mihua.test>\r\ni: compact-77@127.0.0.1\r\nCSeq: 7 INVITE\r\n"
                       "m: <sip:alice@127.0.0.1:5070>;+u.mihua.voenc\r\nk: 100rel\r\nc: application/sdp\r\n"
                       "l: 4\r\n\r\nv=0\n");
    sip_msg_t *m = p.m;
    assert_int_equal(sip_msg_check(m), SIP_OK);
    assert_int_equal(m->nvia, 1);
    assert_str(m->from.display, "Alice");
    assert_str(m->to.uri.user, "bob");
    assert_str(m->call_id, "compact-77@127.0.0.1");
    assert_int_equal(m->ncontact, 1);
    assert_true(sip_tokens_has(&m->supported, "100rel"));
    assert_true(sip_content_type_is(m, "application/sdp"));
    assert_int_equal(m->content_length, 4);
    assert_str(m->body, "v=0\n");
    done(&p);
}

static void test_folding_and_lf(void **state)
{
    (void)state;
    parsed_t p = parse("BYE sip:bob@127.0.0.1:5080 SIP/2.0\r\n"
                       "Via: SIP/2.0/UDP 127.0.0.1:5070\r\n ;branch=z9hG4bKfold01\r\n"
                       "From: \"Alice\"\r\n <sip:alice@mihua.test>;tag=9f\r\n"
                       "To: <sip:bob@mihua.test>;\r\n\ttag=83\r\n"
                       "Call-ID: c1\r\nCSeq: 314162\r\n  BYE\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(sip_msg_check(p.m), SIP_OK);
    assert_str(p.m->via[0].branch, "z9hG4bKfold01");
    assert_str(p.m->from.tag, "9f");
    assert_str(p.m->to.tag, "83");
    assert_int_equal(p.m->cseq.num, 314162);
    assert_int_equal(p.m->cseq.method, SIP_METHOD_BYE);
    done(&p);
    /* bare LF line ends and leading CRLFs (RFC 3261 §7.5) */
    p = parse("\r\n\r\nBYE sip:b@h SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\n"
              "To: <sip:a@b>\nCall-ID: x\nCSeq: 2 BYE\n\n");
    assert_int_equal(sip_msg_check(p.m), SIP_OK);
    assert_str(p.m->call_id, "x");
    done(&p);
}

static void test_long_lines(void **state)
{
    (void)state;
    enum { LONG = 20000 };
    char *buf = malloc(2 * LONG + 1024), *val = malloc(LONG + 1);
    assert_non_null(buf);
    assert_non_null(val);
    memset(val, 'a', LONG);
    val[LONG] = '\0';
    int n = snprintf(buf, 2 * LONG + 1024,
                     "OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK%s\r\nFrom: <sip:a@b>;tag=1\r\n"
                     "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 2 OPTIONS\r\nX-Long: %s\r\nContent-Length: 0\r\n\r\n",
                     val, val);
    parsed_t p = parse_n(buf, (size_t)n, SIP_TP_DGRAM);
    assert_int_equal(sip_msg_check(p.m), SIP_OK);
    assert_int_equal(p.m->via[0].branch.len, LONG + 7);
    int h = sip_msg_find_hdr(p.m, "x-long");
    assert_true(h >= 0);
    assert_int_equal(p.m->hdrs[h].body.len, LONG);
    done(&p);
    free(buf);
    free(val);
}

static void test_lazy_parsing(void **state)
{
    (void)state;
    const char *s = "INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 2 INVITE\r\n"
                    "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nExpires: soon\r\n\r\n";
    parsed_t p = parse(s);
    assert_int_equal(sip_parse_headers(p.m, SIP_HF_VIA1 | SIP_HF(SIP_HDR_CSEQ)), SIP_OK);
    assert_int_equal(p.m->nhdrs, 2);
    assert_false(p.m->hdrs_done);
    assert_int_equal(p.m->cseq.num, 2);
    assert_int_equal(sip_parse_headers(p.m, SIP_HF(SIP_HDR_CALL_ID)), SIP_OK);
    assert_int_equal(p.m->nhdrs, 5);
    assert_int_equal(sip_parse_headers(p.m, SIP_HF_ALL), SIP_E_EXPIRES);
    assert_string_equal(sip_msg_reason(p.m), "malformed Expires");
    assert_int_equal(sip_parse_headers(p.m, SIP_HF_VIA1), SIP_E_EXPIRES); /* sticky */
    done(&p);
}

static void test_via_forms(void **state)
{
    (void)state;
    parsed_t p = parse("OPTIONS sip:b@[2001:db8::1]:5062 SIP/2.0\r\n"
                       "Via: SIP / 2.0 / UDP [2001:db8::9]:5070 ;rport ;branch=z9hG4bKv6\r\n"
                       "Via: SIP/2.0/UDP h.example;branch=1234\r\n"
                       "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 2 OPTIONS\r\n\r\n");
    assert_int_equal(sip_msg_check(p.m), SIP_OK);
    assert_str(p.m->ruri.host, "[2001:db8::1]");
    assert_int_equal(p.m->ruri.port, 5062);
    assert_str(p.m->via[0].host, "[2001:db8::9]");
    assert_int_equal(p.m->via[0].port, 5070);
    assert_true(p.m->via[0].has_rport);
    assert_str(p.m->via[0].branch, "z9hG4bKv6");
    assert_false(sip_via_branch_is_rfc3261(&p.m->via[1])); /* RFC 2543 branch */
    assert_int_equal(p.m->via[1].port, 0);
    done(&p);
    static const char *const bad[] = {
        "SIP/2.0/UDP",                      /* no sent-by */
        "SIP/3.0/UDP h",                    /* version */
        "SIP/2.0/UDP h:0",                  /* port 0 */
        "SIP/2.0/UDP h:65536",              /* port range */
        "SIP/2.0/UDP h;branch",             /* branch without value */
        "SIP/2.0/UDP h;rport=x",            /* rport not a number */
        "SIP/2.0/UDP h;branch=z9hG4bK1,",   /* empty list element */
        "SIP/2.0/UDP [::1;branch=z9hG4bK1", /* unclosed IPv6 */
        "SIP/2.0/UDP h junk",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[512];
        snprintf(buf, sizeof buf,
                 "OPTIONS sip:b@h SIP/2.0\r\nVia: %s\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\n"
                 "CSeq: 2 OPTIONS\r\n\r\n",
                 bad[i]);
        if (check_err(buf) != SIP_E_VIA)
            fail_msg("Via \"%s\" accepted", bad[i]);
    }
}

static void test_uris(void **state)
{
    (void)state;
    sip_uri_t u;
    assert_int_equal(sip_uri_parse(sip_str_c("sip:alice:secret@example.com:5060;transport=tcp;lr;user=phone?"
                                             "Subject=x"),
                                   &u),
                     0);
    assert_str(u.user, "alice");
    assert_str(u.password, "secret");
    assert_str(u.host, "example.com");
    assert_int_equal(u.port, 5060);
    assert_true(u.lr);
    assert_str(u.transport, "tcp");
    assert_str(u.user_param, "phone");
    assert_str(u.headers, "Subject=x");
    assert_int_equal(sip_uri_parse(sip_str_c("sip:+8613800000001;npdi@mihua.test;user=phone"), &u), 0);
    assert_str(u.user, "+8613800000001;npdi");
    assert_str(u.host, "mihua.test");
    assert_int_equal(sip_uri_parse(sip_str_c("tel:+8613800000002;phone-context=mihua.test"), &u), 0);
    assert_int_equal(u.scheme, SIP_URI_TEL);
    assert_str(u.user, "+8613800000002");
    assert_int_equal(sip_uri_parse(sip_str_c("SIP:127.0.0.1"), &u), 0);
    assert_int_equal(u.scheme, SIP_URI_SIP);
    assert_null(u.user.s);
    assert_int_equal(sip_uri_parse(sip_str_c("urn:service:sos"), &u), 0);
    assert_int_equal(u.scheme, SIP_URI_OTHER);
    static const char *const bad[] = {"",        "sip:", "sip:@h",   "sip:a@", "sip:h:99999", "sip:h:x", "sip:a b@h",
                                      "nocolon", ":x",   "sip:[::1", "sip:h;", "tel:",        "1sip:h"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (sip_uri_parse(sip_str_c(bad[i]), &u) == 0)
            fail_msg("accepted bad URI \"%s\"", bad[i]);
}

static void test_body_framing_udp(void **state)
{
    (void)state;
    const char *head = "MESSAGE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                       "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 2 MESSAGE\r\n";
    char buf[1024];
    snprintf(buf, sizeof buf, "%s\r\nhello", head); /* no Content-Length: the rest of the datagram */
    parsed_t p = parse(buf);
    assert_int_equal(sip_msg_check(p.m), SIP_OK);
    assert_str(p.m->body, "hello");
    done(&p);
    snprintf(buf, sizeof buf, "%sContent-Length: 3\r\n\r\nhello", head); /* shorter: cut */
    p = parse(buf);
    assert_int_equal(sip_msg_check(p.m), SIP_OK);
    assert_str(p.m->body, "hel");
    done(&p);
    snprintf(buf, sizeof buf, "%sContent-Length: 6\r\n\r\nhello", head); /* longer: error */
    assert_int_equal(check_err(buf), SIP_E_BODY_LENGTH);
    snprintf(buf, sizeof buf, "%s\r\nhello", head); /* stream without Content-Length */
    p = parse_n(buf, strlen(buf), SIP_TP_STREAM);
    assert_int_equal(sip_msg_check(p.m), SIP_E_CONTENT_LENGTH);
    done(&p);
    /* NUL bytes inside a body are data */
    char nulbody[256];
    int n = snprintf(nulbody, sizeof nulbody, "%sContent-Length: 3\r\n\r\na", head);
    nulbody[n++] = '\0';
    nulbody[n++] = 'b';
    p = parse_n(nulbody, (size_t)n, SIP_TP_DGRAM);
    assert_int_equal(sip_msg_check(p.m), SIP_OK);
    assert_int_equal(p.m->body.len, 3);
    done(&p);
}

static void test_bad_content_length(void **state)
{
    (void)state;
    static const char *const bad[] = {"abc", "-1", "99999999999", "65537", "1 2", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[512];
        snprintf(buf, sizeof buf,
                 "OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                 "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 2 OPTIONS\r\nContent-Length: %s\r\n\r\n",
                 bad[i]);
        assert_int_equal(check_err(buf), SIP_E_CONTENT_LENGTH);
    }
    assert_int_equal(
        check_err("OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                  "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 2 OPTIONS\r\nl: 0\r\nContent-Length: 0\r\n\r\n"),
        SIP_E_CONTENT_LENGTH);
}

static void test_bad_cseq(void **state)
{
    (void)state;
    static const char *const bad[] = {"abc INVITE", "1",       "2147483648 INVITE", "1 INVITE extra",
                                      "-1 INVITE",  "1INVITE", " INVITE",           "1 INV@ITE"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[512];
        snprintf(buf, sizeof buf,
                 "INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                 "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: %s\r\n\r\n",
                 bad[i]);
        if (check_err(buf) != SIP_E_CSEQ)
            fail_msg("CSeq \"%s\" not refused as SIP_E_CSEQ", bad[i]);
    }
    assert_int_equal(
        check_err("INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                  "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 BYE\r\n\r\n"),
        SIP_E_CSEQ_METHOD);
    assert_int_equal(
        check_err("INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                  "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nCSeq: 2 INVITE\r\n\r\n"),
        SIP_E_DUPLICATE);
}

static void test_missing_mandatory(void **state)
{
    (void)state;
    static const char *const lines[] = {"Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n", "From: <sip:a@b>;tag=1\r\n",
                                        "To: <sip:a@b>\r\n", "Call-ID: x\r\n", "CSeq: 2 OPTIONS\r\n"};
    for (size_t skip = 0; skip < 5; skip++) {
        char buf[512] = "OPTIONS sip:b@h SIP/2.0\r\n";
        for (size_t i = 0; i < 5; i++)
            if (i != skip)
                strcat(buf, lines[i]);
        strcat(buf, "\r\n");
        assert_int_equal(check_err(buf), SIP_E_MISSING);
    }
}

static void test_bad_first_line(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        sip_err_t err;
    } cases[] = {
        {"INVITE sip:b@h SIP/3.0", SIP_E_VERSION},
        {"SIP/2.0 99 Low", SIP_E_FIRST_LINE},
        {"SIP/2.0 2000 OK", SIP_E_FIRST_LINE},
        {"SIP/2.0 700 High", SIP_E_FIRST_LINE},
        {"garbage", SIP_E_FIRST_LINE},
        {"INVITE  sip:b@h SIP/2.0", SIP_E_FIRST_LINE},
        {"INVITE sip:b@h", SIP_E_FIRST_LINE},
        {"INVITE sip:b@h:0 SIP/2.0", SIP_E_RURI},
        {"IN<VITE sip:b@h SIP/2.0", SIP_E_FIRST_LINE},
        {"HTTP/1.1 200 OK", SIP_E_FIRST_LINE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s\r\nCall-ID: x\r\n\r\n", cases[i].line);
        parsed_t p = parse(buf);
        if (p.m->err != cases[i].err)
            fail_msg("\"%s\": got %d (%s)", cases[i].line, p.m->err, sip_msg_reason(p.m));
        assert_int_equal(sip_parse_headers(p.m, SIP_HF_ALL), cases[i].err);
        done(&p);
    }
    parsed_t p = parse("SIP/2.0 200\r\nCall-ID: x\r\n\r\n"); /* empty reason phrase is accepted */
    assert_int_equal(p.m->err, SIP_OK);
    assert_int_equal(p.m->reason.len, 0);
    done(&p);
}

/* Every prefix of a valid message: never crashes, never reads past the prefix, never accepted as complete before
 * the whole message is there. */
static void test_truncation(void **state)
{
    (void)state;
    size_t full = strlen(INVITE);
    for (size_t n = 0; n < full; n++) {
        parsed_t p = parse_n(INVITE, n, SIP_TP_DGRAM);
        sip_err_t e = sip_msg_check(p.m);
        if (e == SIP_OK)
            fail_msg("prefix of %zu bytes accepted", n);
        done(&p);
    }
    parsed_t p = parse_n(INVITE, full, SIP_TP_DGRAM);
    assert_int_equal(sip_msg_check(p.m), SIP_OK);
    done(&p);
}

static void test_nul_bytes(void **state)
{
    (void)state;
    size_t full = strlen(INVITE), head = (size_t)(strstr(INVITE, "\r\n\r\n") - INVITE);
    char *copy = malloc(full);
    assert_non_null(copy);
    for (size_t i = 0; i < head; i++) {
        memcpy(copy, INVITE, full);
        copy[i] = '\0';
        parsed_t p = parse_n(copy, full, SIP_TP_DGRAM);
        if (sip_msg_check(p.m) != SIP_E_NUL)
            fail_msg("NUL at %zu: %s", i, sip_msg_reason(p.m));
        done(&p);
    }
    free(copy);
}

static void test_oversized(void **state)
{
    (void)state;
    size_t big = SIP_MAX_MSG_SIZE + 1;
    char *buf = malloc(big);
    assert_non_null(buf);
    memset(buf, 'a', big);
    sip_msg_t *m = calloc(1, sizeof *m);
    assert_int_equal(sip_msg_parse(m, buf, big, SIP_TP_DGRAM), SIP_E_TOO_BIG);
    free(m);
    free(buf);

    char *msg = malloc(SIP_MAX_MSG_SIZE);
    assert_non_null(msg);
    int n = sprintf(msg, "OPTIONS sip:b@h SIP/2.0\r\n");
    for (int i = 0; i < SIP_MAX_HEADERS + 1; i++)
        n += sprintf(msg + n, "X-H%d: v\r\n", i);
    n += sprintf(msg + n, "\r\n");
    parsed_t p = parse_n(msg, (size_t)n, SIP_TP_DGRAM);
    assert_int_equal(sip_msg_check(p.m), SIP_E_TOO_MANY);
    done(&p);

    n = sprintf(msg, "OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK0");
    for (int i = 1; i < SIP_MAX_VIAS + 1; i++)
        n += sprintf(msg + n, ",SIP/2.0/UDP h;branch=z9hG4bK%d", i);
    n += sprintf(msg + n, "\r\n\r\n");
    p = parse_n(msg, (size_t)n, SIP_TP_DGRAM);
    assert_int_equal(sip_msg_check(p.m), SIP_E_TOO_MANY);
    done(&p);
    free(msg);
}

static void test_malformed_headers(void **state)
{
    (void)state;
    static const struct {
        const char *hdr;
        sip_err_t err;
    } cases[] = {
        {"NoColon", SIP_E_HEADER},
        {": empty-name", SIP_E_HEADER},
        {"Max-Forwards: 256", SIP_E_MAX_FORWARDS},
        {"Max-Forwards: x", SIP_E_MAX_FORWARDS},
        {"Route: <sip:a@b", SIP_E_ROUTE},
        {"Record-Route: sip:a@b>", SIP_E_ROUTE},
        {"Contact: \"unterminated <sip:a@b>", SIP_E_CONTACT},
        {"Contact: <sip:a@b>;tag", SIP_E_CONTACT},
        {"Contact: <sip:a@b> junk", SIP_E_CONTACT},
        {"Require: 100rel bad", SIP_E_HEADER},
        {"Warning: 30 agent \"x\"", SIP_E_HEADER},
        {"Warning: 399 agent noquote", SIP_E_HEADER},
        {"Expires: -5", SIP_E_EXPIRES},
        {"From: <sip:a@b>;tag=1;tag=2", SIP_E_DUPLICATE}, /* the parsed From comes first, so: duplicate */
        {"To: <sip:a@b>, <sip:c@d>", SIP_E_DUPLICATE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[512];
        snprintf(buf, sizeof buf,
                 "OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                 "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 2 OPTIONS\r\n%s\r\n\r\n",
                 cases[i].hdr);
        sip_err_t e = check_err(buf);
        if (e != cases[i].err)
            fail_msg("\"%s\": got %s, want %s", cases[i].hdr, sip_err_str(e), sip_err_str(cases[i].err));
    }
    static const char *const bad_callid[] = {"a b", "", "a\r\n b"};
    for (size_t i = 0; i < sizeof bad_callid / sizeof bad_callid[0]; i++) {
        char buf[512];
        snprintf(buf, sizeof buf,
                 "OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                 "To: <sip:a@b>\r\nCall-ID: %s\r\nCSeq: 2 OPTIONS\r\n\r\n",
                 bad_callid[i]);
        assert_int_equal(check_err(buf), SIP_E_CALL_ID);
    }
    /* white space at the start of the first header line cannot be a continuation */
    assert_int_equal(check_err("OPTIONS sip:b@h SIP/2.0\r\n Leading: ws\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n"),
                     SIP_E_HEADER);
    /* the same values as first occurrence are refused for their own reason */
    assert_int_equal(check_err("OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                               "From: <sip:a@b>;tag=1;tag=2\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 2 OPTIONS\r\n\r\n"),
                     SIP_E_FROM);
    assert_int_equal(
        check_err("OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                  "To: <sip:a@b>, <sip:c@d>\r\nCall-ID: x\r\nCSeq: 2 OPTIONS\r\n\r\n"),
        SIP_E_TO);
}

/* Deterministic random mutations (byte flips, insertions of delimiters, cuts): only the absence of crashes and
 * out-of-bounds reads is asserted (ASan/UBSan builds). */
static void test_mutation_fuzz(void **state)
{
    (void)state;
    static const char delims[] = {'\r', '\n', ' ', ',', ';', ':', '<', '>', '"', '\\', '\0', '=', '@', '/', '['};
    uint32_t seed = 12345;
    size_t full = strlen(INVITE);
    char *copy = malloc(full + 16);
    assert_non_null(copy);
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(copy, INVITE, full);
        size_t n = full;
        int edits = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 4;
        for (int k = 0; k < edits; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % n;
            seed = seed * 1103515245u + 12345u;
            switch ((seed >> 16) % 3) {
            case 0:
                copy[at] = delims[(seed >> 4) % sizeof delims];
                break;
            case 1:
                copy[at] = (char)(seed >> 20);
                break;
            default:
                n = at + 1;
                break;
            }
        }
        parsed_t p = parse_n(copy, n, (iter & 1) ? SIP_TP_STREAM : SIP_TP_DGRAM);
        (void)sip_msg_check(p.m);
        size_t flen;
        (void)sip_stream_frame(p.buf, n, &flen, NULL);
        done(&p);
    }
    free(copy);
}

static void test_stream_framing(void **state)
{
    (void)state;
    const char *a = "OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nContent-Length: 5\r\n\r\nhello";
    const char *b = "OPTIONS sip:b@h SIP/2.0\r\nl: 0\r\n\r\n";
    char buf[512];
    int n = snprintf(buf, sizeof buf, "%s%s%s", a, b, "OPTIONS sip:b@h SIP/2.0\r\nContent-Length: 10\r\n\r\nabc");
    size_t len, off = 0;
    const char *why = NULL;
    assert_int_equal(sip_stream_frame(buf, (size_t)n, &len, &why), SIP_FRAME_OK);
    assert_int_equal(len, strlen(a));
    off += len;
    assert_int_equal(sip_stream_frame(buf + off, (size_t)n - off, &len, &why), SIP_FRAME_OK);
    assert_int_equal(len, strlen(b));
    off += len;
    assert_int_equal(sip_stream_frame(buf + off, (size_t)n - off, &len, &why), SIP_FRAME_NEED_MORE);
    /* each prefix of a is "need more" */
    for (size_t k = 0; k < strlen(a); k++) {
        char *c = malloc(k + 1);
        memcpy(c, a, k);
        sip_frame_t f = sip_stream_frame(c, k, &len, &why);
        free(c);
        if (k == 0)
            assert_int_equal(f, SIP_FRAME_NEED_MORE);
        else if (f != SIP_FRAME_NEED_MORE)
            fail_msg("prefix %zu: %d", k, f);
    }
    assert_int_equal(sip_stream_frame("\r\n\r\nOPT", 7, &len, &why), SIP_FRAME_KEEPALIVE);
    assert_int_equal(len, 4);
    assert_int_equal(sip_stream_frame("OPTIONS sip:b@h SIP/2.0\r\nX: y\r\n\r\n", 34, &len, &why), SIP_FRAME_ERROR);
    assert_string_equal(why, "Content-Length missing on a stream transport");
    assert_int_equal(sip_stream_frame("OPTIONS sip:b@h SIP/2.0\r\nl: 1\r\nl: 1\r\n\r\nxx", 42, &len, &why),
                     SIP_FRAME_ERROR);
    assert_int_equal(sip_stream_frame("OPTIONS sip:b@h SIP/2.0\r\nl: x\r\n\r\n", 34, &len, &why), SIP_FRAME_ERROR);
    assert_int_equal(sip_stream_frame("OPTIONS sip:b@h SIP/2.0\r\nl: 65530\r\nX: yyyyyy\r\n\r\n", 48, &len, &why),
                     SIP_FRAME_ERROR);
    assert_string_equal(why, "message too large");
    assert_int_equal(sip_stream_frame("OPT\0IONS\r\n\r\n", 12, &len, &why), SIP_FRAME_ERROR);
    char *huge = malloc(SIP_MAX_MSG_SIZE + 10);
    memset(huge, 'a', SIP_MAX_MSG_SIZE + 10);
    assert_int_equal(sip_stream_frame(huge, SIP_MAX_MSG_SIZE + 10, &len, &why), SIP_FRAME_ERROR);
    assert_string_equal(why, "header section too large");
    free(huge);
    /* a framed message parses as a stream message */
    parsed_t p = parse_n(a, strlen(a), SIP_TP_STREAM);
    assert_int_equal(sip_parse_headers(p.m, SIP_HF_ALL), SIP_OK);
    assert_str(p.m->body, "hello");
    done(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invite_multi_via),
        cmocka_unit_test(test_register_feature_tags),
        cmocka_unit_test(test_contact_star),
        cmocka_unit_test(test_183_100rel_and_prack),
        cmocka_unit_test(test_update_ack_bye_200),
        cmocka_unit_test(test_compact_forms),
        cmocka_unit_test(test_folding_and_lf),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_lazy_parsing),
        cmocka_unit_test(test_via_forms),
        cmocka_unit_test(test_uris),
        cmocka_unit_test(test_body_framing_udp),
        cmocka_unit_test(test_bad_content_length),
        cmocka_unit_test(test_bad_cseq),
        cmocka_unit_test(test_missing_mandatory),
        cmocka_unit_test(test_bad_first_line),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_malformed_headers),
        cmocka_unit_test(test_mutation_fuzz),
        cmocka_unit_test(test_stream_framing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
