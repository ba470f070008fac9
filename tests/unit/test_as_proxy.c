/*
 * test_as_proxy — the proxy's pure edits (RFC 3261 §16.4, §16.6, §16.7, §9.1) produce exactly the expected bytes:
 * a forwarded INVITE (Request-URI from the location service, Max-Forwards decremented, own Route removed,
 * Record-Route with lr and transport, our Via on top, +u.mihua.voenc stripped or kept), a forwarded response
 * without our Via, the CANCEL of a forwarded INVITE; and the helpers naming next hops and identities.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy_fwd.h"
#include "sip/sip_voenc.h"

static const proxy_self_t SELF = {"127.0.0.1", 5060, 0};

static const char *const INVITE = "INVITE tel:+15550000002 SIP/2.0\r\n"
                                  "Via: SIP/2.0/UDP 127.0.0.1:5070;received=127.0.0.1;rport=5070;branch=z9hG4bKc1\r\n"
                                  "Max-Forwards: 70\r\n"
                                  "Route: <sip:127.0.0.1:5060;lr>\r\n"
                                  "From: <sip:+15550000001@ims.test>;tag=a1\r\n"
                                  "To: <tel:+15550000002>\r\n"
                                  "Call-ID: call-1\r\n"
                                  "CSeq: 1 INVITE\r\n"
                                  "Contact: <sip:+15550000001@127.0.0.1:5070>;+u.mihua.voenc\r\n"
                                  "Content-Type: application/sdp\r\n"
                                  "Content-Length: 4\r\n"
                                  "\r\n"
                                  "v=0\n";

typedef struct {
    sip_msg_t *m;
    sip_lumps_t *l;
    char out[4096];
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    f->m = calloc(1, sizeof *f->m);
    f->l = calloc(1, sizeof *f->l);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    free(f->m);
    free(f->l);
    free(f);
    return 0;
}

static void parse(fx_t *f, const char *text)
{
    assert_int_equal(sip_msg_parse(f->m, text, strlen(text), SIP_TP_DGRAM), SIP_OK);
    assert_int_equal(sip_msg_check(f->m), SIP_OK);
}

static void expect_out(fx_t *f, int n, const char *want)
{
    assert_true(n > 0);
    f->out[n] = '\0';
    assert_string_equal(f->out, want);
    sip_msg_t *again = calloc(1, sizeof *again);
    assert_int_equal(sip_msg_parse(again, f->out, (size_t)n, SIP_TP_DGRAM), SIP_OK);
    assert_int_equal(sip_msg_check(again), SIP_OK);
    free(again);
}

static void fwd_invite(fx_t *f, bool strip, const char *want_contact)
{
    char want[2048];
    parse(f, INVITE);
    proxy_fwd_opts_t o = {.self = &SELF,
                          .branch = "z9hG4bKas1",
                          .out_proto = SIP_PROTO_TCP,
                          .in_proto = SIP_PROTO_UDP,
                          .record_route = true,
                          .new_ruri = "sip:+15550000002@127.0.0.1:5080",
                          .strip_voenc = strip};
    int n = proxy_fwd_request(f->m, f->l, &o, f->out, (int)sizeof f->out - 1);
    snprintf(want, sizeof want,
             "INVITE sip:+15550000002@127.0.0.1:5080 SIP/2.0\r\n"
             "Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKas1\r\n"
             "Via: SIP/2.0/UDP 127.0.0.1:5070;received=127.0.0.1;rport=5070;branch=z9hG4bKc1\r\n"
             "Max-Forwards: 69\r\n"
             "From: <sip:+15550000001@ims.test>;tag=a1\r\n"
             "To: <tel:+15550000002>\r\n"
             "Call-ID: call-1\r\n"
             "CSeq: 1 INVITE\r\n"
             "Contact: %s\r\n"
             "Content-Type: application/sdp\r\n"
             "Content-Length: 4\r\n"
             "Record-Route: <sip:127.0.0.1:5060;transport=udp;lr>\r\n"
             "\r\n"
             "v=0\n",
             want_contact);
    expect_out(f, n, want);
}

static void test_forward_invite_stripped(void **state)
{
    fwd_invite(*state, true, "<sip:+15550000001@127.0.0.1:5070>");
}

static void test_forward_invite_kept(void **state)
{
    fwd_invite(*state, false, "<sip:+15550000001@127.0.0.1:5070>;+u.mihua.voenc");
}

/* RFC 3261 §22.3: the credentials for our realm stop here; another proxy's go on. */
static void test_forward_consumes_own_credentials(void **state)
{
    fx_t *f = *state;
    static const char inv[] = "INVITE sip:ue2@127.0.0.1:5080 SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKp1\r\n"
                              "From: <sip:a@d>;tag=1\r\n"
                              "To: <sip:b@d>\r\n"
                              "Call-ID: c\r\n"
                              "CSeq: 2 INVITE\r\n"
                              "Proxy-Authorization: Digest username=\"a\", realm=\"ims.test\", nonce=\"n\"\r\n"
                              "Proxy-Authorization: Digest username=\"a\", realm=\"other.test\", nonce=\"m\"\r\n"
                              "Max-Forwards: 70\r\n"
                              "Content-Length: 0\r\n\r\n";
    parse(f, inv);
    proxy_fwd_opts_t o = {.self = &SELF, .branch = "z9hG4bKas3", .out_proto = SIP_PROTO_UDP, .auth_realm = "ims.test"};
    int n = proxy_fwd_request(f->m, f->l, &o, f->out, (int)sizeof f->out - 1);
    expect_out(f, n,
               "INVITE sip:ue2@127.0.0.1:5080 SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKas3\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKp1\r\n"
               "From: <sip:a@d>;tag=1\r\n"
               "To: <sip:b@d>\r\n"
               "Call-ID: c\r\n"
               "CSeq: 2 INVITE\r\n"
               "Proxy-Authorization: Digest username=\"a\", realm=\"other.test\", nonce=\"m\"\r\n"
               "Max-Forwards: 69\r\n"
               "Content-Length: 0\r\n\r\n");
}

static void test_forward_in_dialog_keeps_foreign_route(void **state)
{
    fx_t *f = *state;
    static const char bye[] = "BYE sip:ue2@127.0.0.1:5080 SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKb1\r\n"
                              "Route: <sip:10.0.0.9;lr>\r\n"
                              "From: <sip:a@d>;tag=1\r\n"
                              "To: <sip:b@d>;tag=2\r\n"
                              "Call-ID: c\r\n"
                              "CSeq: 2 BYE\r\n"
                              "Content-Length: 0\r\n\r\n";
    parse(f, bye);
    assert_int_equal(proxy_next_route(f->m, &SELF), 0); /* not ours: it stays and is the next hop */
    proxy_fwd_opts_t o = {.self = &SELF, .branch = "z9hG4bKas2", .out_proto = SIP_PROTO_UDP};
    int n = proxy_fwd_request(f->m, f->l, &o, f->out, (int)sizeof f->out - 1);
    expect_out(f, n,
               "BYE sip:ue2@127.0.0.1:5080 SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKas2\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKb1\r\n"
               "Route: <sip:10.0.0.9;lr>\r\n"
               "From: <sip:a@d>;tag=1\r\n"
               "To: <sip:b@d>;tag=2\r\n"
               "Call-ID: c\r\n"
               "CSeq: 2 BYE\r\n"
               "Content-Length: 0\r\n"
               "Max-Forwards: 70\r\n"
               "\r\n");
}

/* With a dialog socket, UDP names it in our Via and Record-Route (responses and in-dialog requests come back to
 * it), TCP keeps the main port, and a Route to either port is ours and is removed. */
static void test_forward_dialog_port(void **state)
{
    fx_t *f = *state;
    static const proxy_self_t self2 = {"127.0.0.1", 5060, 5062};
    static const char bye[] = "BYE sip:ue2@127.0.0.1:5080 SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKb1\r\n"
                              "Route: <sip:127.0.0.1:5062;transport=udp;lr>\r\n"
                              "From: <sip:a@d>;tag=1\r\n"
                              "To: <sip:b@d>;tag=2\r\n"
                              "Call-ID: c\r\n"
                              "CSeq: 2 BYE\r\n"
                              "Content-Length: 0\r\n\r\n";
    parse(f, bye);
    assert_true(proxy_uri_is_self(&self2, &f->m->route[0].uri));
    assert_false(proxy_uri_is_self(&SELF, &f->m->route[0].uri));
    proxy_fwd_opts_t o = {.self = &self2,
                          .branch = "z9hG4bKas3",
                          .out_proto = SIP_PROTO_UDP,
                          .in_proto = SIP_PROTO_UDP,
                          .record_route = true};
    int n = proxy_fwd_request(f->m, f->l, &o, f->out, (int)sizeof f->out - 1);
    expect_out(f, n,
               "BYE sip:ue2@127.0.0.1:5080 SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKas3\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKb1\r\n"
               "From: <sip:a@d>;tag=1\r\n"
               "To: <sip:b@d>;tag=2\r\n"
               "Call-ID: c\r\n"
               "CSeq: 2 BYE\r\n"
               "Content-Length: 0\r\n"
               "Max-Forwards: 70\r\n"
               "Record-Route: <sip:127.0.0.1:5062;transport=udp;lr>\r\n"
               "\r\n");
    parse(f, bye);
    o.out_proto = o.in_proto = SIP_PROTO_TCP;
    o.branch = "z9hG4bKas4";
    n = proxy_fwd_request(f->m, f->l, &o, f->out, (int)sizeof f->out - 1);
    assert_true(n > 0);
    assert_non_null(strstr(f->out, "Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKas4\r\n"));
    assert_non_null(strstr(f->out, "Record-Route: <sip:127.0.0.1:5060;transport=tcp;lr>\r\n"));
}

static void test_forward_response(void **state)
{
    fx_t *f = *state;
    static const char resp[] = "SIP/2.0 183 Session Progress\r\n"
                               "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKas1, SIP/2.0/UDP 127.0.0.1:5070;"
                               "rport=5070;received=127.0.0.1;branch=z9hG4bKc1\r\n"
                               "From: <sip:a@d>;tag=1\r\n"
                               "To: <sip:b@d>;tag=2\r\n"
                               "Call-ID: c\r\n"
                               "CSeq: 1 INVITE\r\n"
                               "RSeq: 1\r\n"
                               "Content-Length: 0\r\n\r\n";
    parse(f, resp);
    int n = proxy_fwd_response(f->m, f->l, NULL, f->out, (int)sizeof f->out - 1);
    expect_out(f, n,
               "SIP/2.0 183 Session Progress\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:5070;rport=5070;received=127.0.0.1;branch=z9hG4bKc1\r\n"
               "From: <sip:a@d>;tag=1\r\n"
               "To: <sip:b@d>;tag=2\r\n"
               "Call-ID: c\r\n"
               "CSeq: 1 INVITE\r\n"
               "RSeq: 1\r\n"
               "Content-Length: 0\r\n\r\n");
    sip_addr_t dst;
    char ip[64];
    int port = 0;
    assert_int_equal(proxy_via_dest(&f->m->via[1], &dst), 0);
    assert_int_equal(sip_addr_ntop(&dst, ip, sizeof ip, &port), 0);
    assert_string_equal(ip, "127.0.0.1");
    assert_int_equal(port, 5070);
}

/* A stripped INVITE's responses carry the AS's reason upstream (sip_voenc.h), and the UE reads it back. */
static void test_forward_response_with_strip_reason(void **state)
{
    fx_t *f = *state;
    static const char resp[] = "SIP/2.0 183 Session Progress\r\n"
                               "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKas1\r\n"
                               "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKc1\r\n"
                               "From: <sip:a@d>;tag=1\r\nTo: <sip:b@d>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n"
                               "Content-Length: 0\r\n\r\n";
    char line[256], reason[SIP_VOENC_REASON_MAX];
    assert_true(sip_voenc_warning_line("127.0.0.1:5060", "callee not attached on 4G/5G", line, sizeof line) > 0);
    parse(f, resp);
    int n = proxy_fwd_response(f->m, f->l, line, f->out, (int)sizeof f->out - 1);
    expect_out(f, n,
               "SIP/2.0 183 Session Progress\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKc1\r\n"
               "From: <sip:a@d>;tag=1\r\nTo: <sip:b@d>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n"
               "Content-Length: 0\r\n"
               "Warning: 399 127.0.0.1:5060 \"voice encryption not allowed: callee not attached on 4G/5G\"\r\n\r\n");
    parse(f, f->out);
    assert_int_equal(sip_voenc_warning_reason(f->m, reason, sizeof reason), 0);
    assert_string_equal(reason, "callee not attached on 4G/5G");
    parse(f, resp);
    assert_int_equal(sip_voenc_warning_reason(f->m, reason, sizeof reason), -1);
}

static void test_cancel(void **state)
{
    fx_t *f = *state;
    static const char fwd[] = "INVITE sip:ue2@127.0.0.1:5080 SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKas1\r\n"
                              "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKc1\r\n"
                              "Max-Forwards: 69\r\n"
                              "From: <sip:a@d>;tag=1\r\n"
                              "To: <tel:+2>\r\n"
                              "Call-ID: c\r\n"
                              "CSeq: 7 INVITE\r\n"
                              "Record-Route: <sip:127.0.0.1:5060;transport=udp;lr>\r\n"
                              "Content-Length: 0\r\n\r\n";
    parse(f, fwd);
    int n = sip_build_cancel(f->m, f->out, (int)sizeof f->out - 1);
    expect_out(f, n,
               "CANCEL sip:ue2@127.0.0.1:5080 SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKas1\r\n"
               "From: <sip:a@d>;tag=1\r\n"
               "To: <tel:+2>\r\n"
               "Call-ID: c\r\n"
               "CSeq: 7 CANCEL\r\n"
               "Max-Forwards: 70\r\n"
               "Content-Length: 0\r\n\r\n");
    assert_int_equal(sip_build_cancel(f->m, f->out, 40), -1);
}

static void test_helpers(void **state)
{
    (void)state;
    sip_uri_t u;
    sip_addr_t a;
    char out[PROXY_URI_MAX], ip[64];
    int port;
    assert_int_equal(sip_uri_parse(sip_str_c("sip:127.0.0.1;lr"), &u), 0);
    assert_true(proxy_uri_is_self(&SELF, &u)); /* no port means 5060: ours */
    assert_int_equal(sip_uri_parse(sip_str_c("sip:127.0.0.1:5061;lr"), &u), 0);
    assert_false(proxy_uri_is_self(&SELF, &u));
    assert_int_equal(sip_uri_parse(sip_str_c("sip:ue@127.0.0.2:5090;transport=TCP"), &u), 0);
    assert_int_equal(proxy_uri_dest(&u, &a), 0);
    assert_int_equal(a.proto, SIP_PROTO_TCP);
    assert_int_equal(sip_addr_ntop(&a, ip, sizeof ip, &port), 0);
    assert_string_equal(ip, "127.0.0.2");
    assert_int_equal(port, 5090);
    assert_int_equal(sip_uri_parse(sip_str_c("sip:ue@host.example"), &u), 0);
    assert_int_equal(proxy_uri_dest(&u, &a), -1); /* no DNS */
    sip_str_t raw = sip_str_c("sip:+15550000001@ims.test;user=phone?subject=x");
    assert_int_equal(sip_uri_parse(raw, &u), 0);
    assert_int_equal(proxy_uri_identity(raw, &u, out, sizeof out), 0);
    assert_string_equal(out, "sip:+15550000001@ims.test");
    raw = sip_str_c("tel:+15550000002");
    assert_int_equal(sip_uri_parse(raw, &u), 0);
    assert_int_equal(proxy_uri_identity(raw, &u, out, sizeof out), 0);
    assert_string_equal(out, "tel:+15550000002");
    assert_int_equal(proxy_uri_identity(raw, &u, out, 8), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_forward_invite_stripped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward_invite_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward_in_dialog_keeps_foreign_route, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward_consumes_own_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward_response_with_strip_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward_dialog_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test(test_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
