/*
 * test_sip_edit — lump edits (proxy request forwarding and response processing, RFC 3261 §16.6 / §16.7) produce
 * exactly the expected bytes, leave the received buffer untouched, and re-parse; the reply builder writes the
 * §8.2.6.2 response with RFC 3581 received/rport.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sip/sip_lump.h"
#include "sip/sip_reply.h"

typedef struct {
    char *buf;
    size_t len;
    sip_msg_t *m;
    sip_lumps_t *l;
} ed_t;

static ed_t ed_new(const char *s)
{
    ed_t e = {NULL, strlen(s), calloc(1, sizeof(sip_msg_t)), calloc(1, sizeof(sip_lumps_t))};
    e.buf = malloc(e.len);
    assert_non_null(e.buf);
    memcpy(e.buf, s, e.len);
    assert_int_equal(sip_msg_parse(e.m, e.buf, e.len, SIP_TP_DGRAM), SIP_OK);
    assert_int_equal(sip_msg_check(e.m), SIP_OK);
    sip_lumps_init(e.l, e.m);
    return e;
}

static void ed_free(ed_t *e)
{
    free(e->buf);
    free(e->m);
    free(e->l);
}

/* Applies the lumps and compares with want; checks the original is untouched and the output re-parses. */
static void ed_expect(ed_t *e, const char *orig, const char *want)
{
    char out[4096];
    int n = sip_lumps_apply(e->l, out, sizeof out);
    assert_true(n >= 0);
    assert_int_equal(n, sip_lumps_out_len(e->l));
    out[n] = '\0';
    assert_string_equal(out, want);
    assert_memory_equal(e->buf, orig, e->len);
    sip_msg_t *m2 = calloc(1, sizeof *m2);
    assert_int_equal(sip_msg_parse(m2, out, (size_t)n, SIP_TP_DGRAM), SIP_OK);
    if (sip_msg_check(m2) != SIP_OK)
        fail_msg("edited message does not re-parse: %s", sip_msg_reason(m2));
    free(m2);
}

static const char *const REQ = "INVITE sip:bob@mihua.test SIP/2.0\r\n"
                               "Via: SIP/2.0/UDP 127.0.0.1:5070;rport;branch=z9hG4bKinv1\r\n"
                               "Max-Forwards: 70\r\n"
                               "Route: <sip:127.0.0.1;lr>, <sip:next.test;lr>\r\n"
                               "From: <sip:alice@mihua.test>;tag=9f\r\n"
                               "To: <sip:bob@mihua.test>\r\n"
                               "Call-ID: c1\r\n"
                               "CSeq: 1 INVITE\r\n"
                               "Contact: <sip:alice@127.0.0.1:5070>;+u.mihua.voenc;expires=60\r\n"
                               "Content-Type: application/sdp\r\n"
                               "Content-Length: 4\r\n"
                               "\r\n"
                               "v=0\n";

static void test_proxy_forward_edits(void **state)
{
    (void)state;
    ed_t e = ed_new(REQ);
    assert_int_equal(sip_edit_ruri_replace(e.l, e.m, "sip:bob@127.0.0.1:5080"), 0);
    assert_int_equal(sip_edit_max_forwards_set(e.l, e.m, e.m->max_forwards - 1), 0);
    assert_int_equal(sip_edit_route_remove_top(e.l, e.m), 0);
    assert_int_equal(sip_edit_rr_insert(e.l, e.m, "<sip:127.0.0.1;lr>"), 0);
    assert_int_equal(sip_edit_via_insert_top(e.l, e.m, "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKas1"), 0);
    assert_int_equal(sip_edit_contact_param_remove(e.l, e.m, 0, "+u.mihua.voenc"), 1);
    assert_int_equal(sip_edit_contact_param_remove(e.l, e.m, 0, "+u.other"), 0);
    ed_expect(&e, REQ,
              "INVITE sip:bob@127.0.0.1:5080 SIP/2.0\r\n"
              "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKas1\r\n"
              "Via: SIP/2.0/UDP 127.0.0.1:5070;rport;branch=z9hG4bKinv1\r\n"
              "Max-Forwards: 69\r\n"
              "Route: <sip:next.test;lr>\r\n"
              "From: <sip:alice@mihua.test>;tag=9f\r\n"
              "To: <sip:bob@mihua.test>\r\n"
              "Call-ID: c1\r\n"
              "CSeq: 1 INVITE\r\n"
              "Contact: <sip:alice@127.0.0.1:5070>;expires=60\r\n"
              "Content-Type: application/sdp\r\n"
              "Content-Length: 4\r\n"
              "Record-Route: <sip:127.0.0.1;lr>\r\n"
              "\r\n"
              "v=0\n");
    ed_free(&e);
}

static void test_response_via_removal(void **state)
{
    (void)state;
    const char *two_on_line = "SIP/2.0 183 Session Progress\r\n"
                              "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKas1 , SIP/2.0/UDP h2;branch=z9hG4bK2\r\n"
                              "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
                              "Content-Length: 0\r\n\r\n";
    ed_t e = ed_new(two_on_line);
    assert_int_equal(sip_edit_via_remove_top(e.l, e.m), 0);
    ed_expect(&e, two_on_line,
              "SIP/2.0 183 Session Progress\r\n"
              "Via: SIP/2.0/UDP h2;branch=z9hG4bK2\r\n"
              "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
              "Content-Length: 0\r\n\r\n");
    ed_free(&e);

    const char *own_line = "SIP/2.0 200 OK\r\n"
                           "v: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKas1\r\n"
                           "Via: SIP/2.0/UDP h2;branch=z9hG4bK2,SIP/2.0/UDP h3;branch=z9hG4bK3\r\n"
                           "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n";
    e = ed_new(own_line);
    assert_int_equal(sip_edit_via_remove_top(e.l, e.m), 0);
    ed_expect(&e, own_line,
              "SIP/2.0 200 OK\r\n"
              "Via: SIP/2.0/UDP h2;branch=z9hG4bK2,SIP/2.0/UDP h3;branch=z9hG4bK3\r\n"
              "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n");
    ed_free(&e);
}

static void test_body_and_headers(void **state)
{
    (void)state;
    ed_t e = ed_new(REQ);
    const char *sdp = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\n";
    assert_int_equal(sip_edit_body_replace(e.l, e.m, sdp, (int)strlen(sdp)), 0);
    assert_int_equal(sip_edit_header_remove(e.l, e.m, sip_msg_find_hdr(e.m, "Route")), 0);
    assert_int_equal(sip_edit_header_append(e.l, e.m, "Warning: 399 as \"stripped\""), 0);
    ed_expect(&e, REQ,
              "INVITE sip:bob@mihua.test SIP/2.0\r\n"
              "Via: SIP/2.0/UDP 127.0.0.1:5070;rport;branch=z9hG4bKinv1\r\n"
              "Max-Forwards: 70\r\n"
              "From: <sip:alice@mihua.test>;tag=9f\r\n"
              "To: <sip:bob@mihua.test>\r\n"
              "Call-ID: c1\r\n"
              "CSeq: 1 INVITE\r\n"
              "Contact: <sip:alice@127.0.0.1:5070>;+u.mihua.voenc;expires=60\r\n"
              "Content-Type: application/sdp\r\n"
              "Content-Length: 31\r\n"
              "Warning: 399 as \"stripped\"\r\n"
              "\r\n"
              "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\n");
    ed_free(&e);

    /* no Content-Length and no Max-Forwards: both are inserted; addr-spec Contact parameter removal */
    const char *bare = "MESSAGE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                       "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 2 MESSAGE\r\nm: sip:a@10.0.0.1;+u.mihua.voenc=\"1\"\r\n"
                       "\r\nhello";
    e = ed_new(bare);
    assert_int_equal(sip_edit_contact_param_remove(e.l, e.m, 0, "+U.MIHUA.VOENC"), 1);
    assert_int_equal(sip_edit_max_forwards_set(e.l, e.m, 70), 0);
    assert_int_equal(sip_edit_body_replace(e.l, e.m, "bye", 3), 0);
    ed_expect(&e, bare,
              "MESSAGE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
              "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 2 MESSAGE\r\nm: sip:a@10.0.0.1\r\n"
              "Max-Forwards: 70\r\nContent-Length: 3\r\n\r\nbye");
    ed_free(&e);
}

/* A feature tag sent twice is stripped from every occurrence, not only the first. */
static void test_contact_param_removed_everywhere(void **state)
{
    (void)state;
    const char *twice = "INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                        "To: <sip:b@h>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
                        "Contact: <sip:a@10.0.0.1>;+u.mihua.voenc;expires=60;+U.Mihua.Voenc=\"1\" ;+u.mihua.voenc\r\n"
                        "Content-Length: 0\r\n\r\n";
    ed_t e = ed_new(twice);
    assert_int_equal(sip_edit_contact_param_remove(e.l, e.m, 0, "+u.mihua.voenc"), 1);
    ed_expect(&e, twice,
              "INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
              "To: <sip:b@h>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContact: <sip:a@10.0.0.1>;expires=60 \r\n"
              "Content-Length: 0\r\n\r\n");
    ed_free(&e);
}

static void test_datagram_trailing_bytes(void **state)
{
    (void)state;
    /* Content-Length shorter than the datagram: the extra bytes are not forwarded (RFC 3261 §18.3) */
    const char *dg = "MESSAGE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                     "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 2 MESSAGE\r\nContent-Length: 3\r\n\r\nhello";
    ed_t e = ed_new(dg);
    assert_int_equal(sip_edit_max_forwards_set(e.l, e.m, 70), 0);
    ed_expect(&e, dg,
              "MESSAGE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
              "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 2 MESSAGE\r\nContent-Length: 3\r\nMax-Forwards: 70\r\n\r\nhel");
    sip_lumps_init(e.l, e.m);
    assert_int_equal(sip_edit_body_replace(e.l, e.m, "bye!", 4), 0);
    ed_expect(&e, dg,
              "MESSAGE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
              "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 2 MESSAGE\r\nContent-Length: 4\r\n\r\nbye!");
    ed_free(&e);
}

static void test_lump_limits(void **state)
{
    (void)state;
    ed_t e = ed_new(REQ);
    char out[4096];
    /* a deletion covering another lump's offset is refused, not guessed at */
    assert_int_equal(sip_lump_delete(e.l, 10, 20), 0);
    assert_int_equal(sip_lump_insert(e.l, 15, "x", 1), 0);
    assert_int_equal(sip_lumps_apply(e.l, out, sizeof out), -1);
    sip_lumps_init(e.l, e.m);
    /* an insertion at the start of a deletion goes before it */
    assert_int_equal(sip_lump_delete(e.l, 0, 6), 0);
    assert_int_equal(sip_lump_insert(e.l, 0, "UPDATE", 6), 0);
    int n = sip_lumps_apply(e.l, out, sizeof out);
    assert_int_equal(n, (int)e.len);
    assert_memory_equal(out, "UPDATE sip:bob", 14);
    /* too small an output buffer */
    assert_int_equal(sip_lumps_apply(e.l, out, n - 1), -1);
    /* out-of-range lumps and arena exhaustion */
    assert_int_equal(sip_lump_delete(e.l, (int)e.len, 1), -1);
    assert_int_equal(sip_lump_insert(e.l, -1, "x", 1), -1);
    static char big[SIP_LUMP_ARENA + 1];
    memset(big, 'x', sizeof big);
    assert_int_equal(sip_lump_insert(e.l, 0, big, (int)sizeof big), -1);
    sip_lumps_init(e.l, e.m);
    for (int i = 0; i < SIP_LUMP_MAX; i++)
        assert_int_equal(sip_lump_insert(e.l, 0, "", 0), 0);
    assert_int_equal(sip_lump_insert(e.l, 0, "", 0), -1);
    assert_int_equal(sip_edit_contact_param_remove(e.l, e.m, 5, "x"), -1);
    ed_free(&e);
}

static void test_reply_builder(void **state)
{
    (void)state;
    const char *inv = "INVITE sip:bob@mihua.test SIP/2.0\r\n"
                      "Via: SIP/2.0/UDP 10.0.0.7:5070;rport;branch=z9hG4bKinv1, SIP/2.0/UDP h2;branch=z9hG4bK2\r\n"
                      "From: \"A\" <sip:alice@mihua.test>;tag=9f\r\n"
                      "t: <sip:bob@mihua.test>\r\n"
                      "Call-ID: c1\r\n"
                      "CSeq: 1 INVITE\r\n"
                      "Content-Length: 0\r\n\r\n";
    ed_t e = ed_new(inv);
    char out[1024];
    sip_reply_opts_t o = {.received = "192.0.2.1", .rport = 40000};
    int n = sip_reply_build(e.m, 100, "Trying", &o, out, sizeof out);
    assert_true(n > 0);
    out[n] = '\0';
    assert_string_equal(out, "SIP/2.0 100 Trying\r\n"
                             "Via: SIP/2.0/UDP 10.0.0.7:5070;rport=40000;branch=z9hG4bKinv1;received=192.0.2.1\r\n"
                             "Via: SIP/2.0/UDP h2;branch=z9hG4bK2\r\n"
                             "From: \"A\" <sip:alice@mihua.test>;tag=9f\r\n"
                             "To: <sip:bob@mihua.test>\r\n"
                             "Call-ID: c1\r\n"
                             "CSeq: 1 INVITE\r\n"
                             "Content-Length: 0\r\n\r\n");
    sip_reply_opts_t o2 = {.to_tag = "as-77", .extra = "Warning: 399 mihua-as \"lookup timeout\"\r\n"};
    n = sip_reply_build(e.m, 404, "Not Found", &o2, out, sizeof out);
    assert_true(n > 0);
    out[n] = '\0';
    assert_string_equal(out, "SIP/2.0 404 Not Found\r\n"
                             "Via: SIP/2.0/UDP 10.0.0.7:5070;rport;branch=z9hG4bKinv1\r\n"
                             "Via: SIP/2.0/UDP h2;branch=z9hG4bK2\r\n"
                             "From: \"A\" <sip:alice@mihua.test>;tag=9f\r\n"
                             "To: <sip:bob@mihua.test>;tag=as-77\r\n"
                             "Call-ID: c1\r\n"
                             "CSeq: 1 INVITE\r\n"
                             "Warning: 399 mihua-as \"lookup timeout\"\r\n"
                             "Content-Length: 0\r\n\r\n");
    sip_msg_t *r = calloc(1, sizeof *r);
    assert_int_equal(sip_msg_parse(r, out, (size_t)n, SIP_TP_DGRAM), SIP_OK);
    assert_int_equal(sip_msg_check(r), SIP_OK);
    assert_int_equal(r->status, 404);
    assert_string_equal(sip_str_copy(r->to.tag, (char[16]){0}, 16), "as-77");
    assert_int_equal(r->nwarning, 1);
    free(r);
    /* errors: too small, bad status, a response as input */
    assert_int_equal(sip_reply_build(e.m, 404, "Not Found", &o2, out, 50), -1);
    assert_int_equal(sip_reply_build(e.m, 99, "x", NULL, out, sizeof out), -1);
    ed_free(&e);
    ed_t resp = ed_new("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                       "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 2 BYE\r\n\r\n");
    assert_int_equal(sip_reply_build(resp.m, 200, "OK", NULL, out, sizeof out), -1);
    ed_free(&resp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proxy_forward_edits),
        cmocka_unit_test(test_response_via_removal),
        cmocka_unit_test(test_body_and_headers),
        cmocka_unit_test(test_lump_limits),
        cmocka_unit_test(test_reply_builder),
        cmocka_unit_test(test_datagram_trailing_bytes),
        cmocka_unit_test(test_contact_param_removed_everywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
