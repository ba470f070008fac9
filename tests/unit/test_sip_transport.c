/*
 * test_sip_transport — Via stamping and destinations (RFC 3261 §18.2.1/§18.2.2, RFC 3581 §4) as pure functions,
 * then real loopback exchanges on 127.0.0.1 port 0 through libevent: UDP between two transaction layers driven by
 * sip_timer_event, TCP with a message split across two writes, two messages in one write and a CRLF ping, and
 * malformed input (400 with a Warning for a request, silence for a response). Loops run until a condition holds;
 * a 5 s guard timer only fails a stuck test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sip/sip_reply.h"
#include "sip/sip_timer_event.h"
#include "sip/sip_transport.h"
#include "sip/sip_txn.h"

#define GUARD_S 5

/* ---- pure: Via stamping and destinations ---- */

static sip_msg_t *parse(const char *text)
{
    sip_msg_t *m = calloc(1, sizeof *m);
    assert_int_equal(sip_msg_parse(m, text, strlen(text), SIP_TP_DGRAM), SIP_OK);
    assert_int_equal(sip_msg_check(m), SIP_OK);
    return m;
}

static const char *REQ_FMT = "OPTIONS sip:as@127.0.0.1 SIP/2.0\r\n"
                             "Via: SIP/2.0/UDP %s;branch=z9hG4bKv1\r\n"
                             "Max-Forwards: 70\r\n"
                             "From: <sip:a@mihua.test>;tag=1\r\n"
                             "To: <sip:as@mihua.test>\r\n"
                             "Call-ID: v1\r\n"
                             "CSeq: 1 OPTIONS\r\n"
                             "Content-Length: 0\r\n\r\n";

static void test_fill_via_and_dest(void **state)
{
    (void)state;
    char text[1024], out[2048];
    sip_lumps_t *l = malloc(sizeof *l);
    sip_addr_t src, dst;
    assert_int_equal(sip_addr_from_ip(&src, SIP_PROTO_UDP, sip_str_c("127.0.0.1"), 40000), 0);

    /* bare rport: filled with the source port, received added even though the host is the source (RFC 3581 §4) */
    snprintf(text, sizeof text, REQ_FMT, "127.0.0.1:5070;rport");
    sip_msg_t *m = parse(text);
    int n = sip_addr_fill_via(m, &src, l, out, sizeof out);
    assert_true(n > 0);
    out[n] = '\0';
    assert_non_null(
        strstr(out, "\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;rport=40000;branch=z9hG4bKv1;received=127.0.0.1\r\n"));
    sip_msg_t *m2 = parse(out);
    assert_true(sip_str_eq(m2->via[0].received, "127.0.0.1"));
    assert_true(sip_str_eq(m2->via[0].rport, "40000"));
    assert_int_equal(sip_addr_resp_dest(m2, &src, &dst), 0);
    char ip[64];
    int port;
    assert_int_equal(sip_addr_ntop(&dst, ip, sizeof ip, &port), 0);
    assert_string_equal(ip, "127.0.0.1");
    assert_int_equal(port, 40000); /* rport: back to the source port */
    free(m);
    free(m2);

    /* no rport, sent-by is a name: received added, responses to the sent-by port */
    snprintf(text, sizeof text, REQ_FMT, "ua.mihua.test:5070");
    m = parse(text);
    n = sip_addr_fill_via(m, &src, l, out, sizeof out);
    assert_true(n > 0);
    out[n] = '\0';
    assert_non_null(strstr(out, "Via: SIP/2.0/UDP ua.mihua.test:5070;branch=z9hG4bKv1;received=127.0.0.1\r\n"));
    assert_int_equal(sip_addr_resp_dest(m, &src, &dst), 0);
    assert_int_equal(sip_addr_ntop(&dst, ip, sizeof ip, &port), 0);
    assert_string_equal(ip, "127.0.0.1");
    assert_int_equal(port, 5070);
    free(m);

    /* sent-by is the source, no rport: nothing to change; no port means 5060 */
    snprintf(text, sizeof text, REQ_FMT, "127.0.0.1");
    m = parse(text);
    assert_int_equal(sip_addr_fill_via(m, &src, l, out, sizeof out), 0);
    assert_int_equal(sip_addr_resp_dest(m, &src, &dst), 0);
    assert_int_equal(sip_addr_ntop(&dst, ip, sizeof ip, &port), 0);
    assert_int_equal(port, SIP_DEFAULT_PORT);
    /* request destination: the Request-URI (no Route), UDP, default port */
    assert_int_equal(sip_addr_req_dest(m, &dst), 0);
    assert_int_equal(dst.proto, SIP_PROTO_UDP);
    assert_int_equal(sip_addr_ntop(&dst, ip, sizeof ip, &port), 0);
    assert_int_equal(port, 5060);
    free(m);

    /* request destination: first Route with transport=tcp */
    m = parse("INVITE sip:bob@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKr\r\n"
              "Route: <sip:[::1]:5090;transport=tcp;lr>\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\n"
              "Call-ID: r\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(sip_addr_req_dest(m, &dst), 0);
    assert_int_equal(dst.proto, SIP_PROTO_TCP);
    assert_int_equal(sip_addr_ntop(&dst, ip, sizeof ip, &port), 0);
    assert_string_equal(ip, "::1");
    assert_int_equal(port, 5090);
    free(m);
    /* names need DNS: refused */
    assert_int_equal(sip_addr_from_ip(&dst, SIP_PROTO_UDP, sip_str_c("example.com"), 5060), -1);
    free(l);
}

/* ---- loop helpers ---- */

typedef bool (*cond_fn)(void *ctx);

static void guard_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    *(bool *)arg = true;
}

/* Runs the loop until cond holds; false when the guard fired first. */
static bool run_until(struct event_base *base, cond_fn cond, void *ctx)
{
    bool expired = false;
    struct event *guard = evtimer_new(base, guard_fire, &expired);
    struct timeval tv = {GUARD_S, 0};
    evtimer_add(guard, &tv);
    while (!cond(ctx) && !expired)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(guard);
    return !expired;
}

/* ---- UDP: two transaction layers talk through real sockets ---- */

typedef struct {
    sip_transport_layer_t *tp;
    sip_txn_layer_t *tl;
    sip_timer_event_t *te;
    int port;
    /* what the server saw / the client got */
    char via[256];
    int nreq;
    int status;
    sip_txn_id_t resp_id;
} node_t;

static void node_rx(void *ctx, sip_msg_t *msg, const sip_addr_t *src)
{
    node_t *n = ctx;
    sip_txn_recv(n->tl, msg, src);
}

static void server_on_request(void *ctx, sip_txn_id_t id, sip_msg_t *req, const sip_addr_t *src)
{
    (void)src;
    node_t *n = ctx;
    n->nreq++;
    sip_str_copy(req->via[0].raw, n->via, sizeof n->via);
    char out[2048];
    sip_reply_opts_t o = {.to_tag = "srv1"};
    int len = sip_reply_build(req, 200, "OK", &o, out, sizeof out);
    assert_true(len > 0);
    assert_int_equal(sip_txn_respond(n->tl, id, out, (size_t)len), 0);
}

static void client_on_response(void *ctx, sip_txn_id_t id, void *tu_data, sip_msg_t *resp)
{
    (void)tu_data;
    node_t *n = ctx;
    n->status = resp->status;
    n->resp_id = id;
}

static void node_start(node_t *n, struct event_base *base, bool tcp, const sip_txn_tu_t *tu_template)
{
    n->tp = sip_transport_new(base, node_rx, n);
    assert_non_null(n->tp);
    if (tcp)
        assert_int_equal(sip_transport_listen_tcp(n->tp, "127.0.0.1", 0, &n->port), 0);
    else
        assert_int_equal(sip_transport_listen_udp(n->tp, "127.0.0.1", 0, &n->port), 0);
    assert_true(n->port > 0);
    n->te = sip_timer_event_new(base);
    sip_clock_t clock = sip_timer_event_clock(n->te);
    sip_txn_io_t io = {sip_transport_send, n->tp};
    sip_txn_tu_t tu = *tu_template;
    tu.ctx = n;
    sip_txn_conf_t conf;
    sip_txn_conf_default(&conf);
    conf.max_txns = 64;
    n->tl = sip_txn_layer_new(&conf, &clock, &io, &tu);
    assert_non_null(n->tl);
    sip_timer_event_attach(n->te, n->tl);
}

static void node_stop(node_t *n)
{
    sip_timer_event_attach(n->te, NULL);
    sip_txn_layer_free(n->tl);
    sip_timer_event_free(n->te);
    sip_transport_free(n->tp);
}

static bool client_done(void *ctx)
{
    return ((node_t *)ctx)->status >= 200;
}

static void test_udp_loopback(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    node_t srv = {0}, cli = {0};
    sip_txn_tu_t stu = {.on_request = server_on_request};
    sip_txn_tu_t ctu = {.on_response = client_on_response};
    node_start(&srv, base, false, &stu);
    node_start(&cli, base, false, &ctu);

    char branch[64], req[1024];
    assert_true(sip_txn_branch_new(cli.tl, branch, sizeof branch) > 0);
    snprintf(req, sizeof req,
             "OPTIONS sip:as@127.0.0.1:%d SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 127.0.0.1:%d;rport;branch=%s\r\n"
             "Max-Forwards: 70\r\nFrom: <sip:ue@mihua.test>;tag=u1\r\nTo: <sip:as@mihua.test>\r\n"
             "Call-ID: udp-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
             srv.port, cli.port, branch);
    sip_msg_t *m = parse(req);
    sip_addr_t dst;
    assert_int_equal(sip_addr_req_dest(m, &dst), 0); /* from the Request-URI */
    free(m);
    sip_txn_id_t id;
    assert_int_equal(sip_txn_client_start(cli.tl, req, strlen(req), &dst, NULL, &id), 0);
    assert_true(run_until(base, client_done, &cli));
    assert_int_equal(cli.status, 200);
    assert_int_equal(cli.resp_id, id);
    assert_int_equal(srv.nreq, 1);
    /* the server saw rport and received filled from the datagram's source (RFC 3581 §4) */
    char want[256];
    snprintf(want, sizeof want, "SIP/2.0/UDP 127.0.0.1:%d;rport=%d;branch=%s;received=127.0.0.1", cli.port, cli.port,
             branch);
    assert_string_equal(srv.via, want);
    assert_int_equal(sip_txn_state(cli.tl, id), SIP_TXN_S_COMPLETED); /* Timer K runs on the real clock */
    assert_int_equal(sip_transport_stats(srv.tp).rx_msgs, 1);
    node_stop(&cli);
    node_stop(&srv);
    event_base_free(base);
}

/* ---- TCP: raw client socket against a transport + transaction layer ---- */

typedef struct {
    node_t *srv;
    int fd;
    struct event *ev;
    char buf[8192];
    size_t len;
    int responses;
    int pongs;
    size_t want_rx_bytes;
} tcp_cli_t;

static void tcp_cli_read(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    tcp_cli_t *c = arg;
    ssize_t n = recv(fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (n <= 0)
        return;
    c->len += (size_t)n;
    for (;;) {
        size_t mlen;
        const char *why;
        sip_frame_t f = sip_stream_frame(c->buf, c->len, &mlen, &why);
        if (f == SIP_FRAME_KEEPALIVE)
            c->pongs++;
        else if (f == SIP_FRAME_OK && strncmp(c->buf, "SIP/2.0 200 ", 12) == 0)
            c->responses++;
        else if (f == SIP_FRAME_OK)
            fail_msg("unexpected: %.*s", (int)mlen, c->buf);
        else
            return;
        memmove(c->buf, c->buf + mlen, c->len - mlen);
        c->len -= mlen;
    }
}

static bool tcp_rx_reached(void *ctx)
{
    tcp_cli_t *c = ctx;
    return sip_transport_stats(c->srv->tp).rx_bytes >= c->want_rx_bytes;
}

static bool tcp_cli_done(void *ctx)
{
    tcp_cli_t *c = ctx;
    return c->responses == 3 && c->pongs == 1;
}

static void send_all(int fd, const char *s, size_t len)
{
    assert_int_equal(send(fd, s, len, 0), (ssize_t)len);
}

static void test_tcp_loopback(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    node_t srv = {0};
    sip_txn_tu_t stu = {.on_request = server_on_request};
    node_start(&srv, base, true, &stu);

    tcp_cli_t c = {.srv = &srv};
    c.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(c.fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char msgs[3][1024];
    for (int i = 0; i < 3; i++)
        snprintf(msgs[i], sizeof msgs[i],
                 "REGISTER sip:127.0.0.1 SIP/2.0\r\n"
                 "Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKtcp%d\r\n"
                 "Max-Forwards: 70\r\nFrom: <sip:ue@mihua.test>;tag=t%d\r\nTo: <sip:ue@mihua.test>\r\n"
                 "Call-ID: tcp-%d\r\nCSeq: %d REGISTER\r\nContact: <sip:ue@127.0.0.1:5999;transport=tcp>\r\n"
                 "Content-Length: 5\r\n\r\nhello",
                 i, i, i, i + 1);
    /* a CRLF ping, then the first message in two writes with the server reading in between */
    send_all(c.fd, "\r\n\r\n", 4);
    size_t half = strlen(msgs[0]) / 2;
    send_all(c.fd, msgs[0], half);
    c.want_rx_bytes = 4 + half;
    assert_true(run_until(base, tcp_rx_reached, &c));
    assert_int_equal(srv.nreq, 0); /* incomplete: buffered, not delivered */
    send_all(c.fd, msgs[0] + half, strlen(msgs[0]) - half);
    /* the second and third messages in one write */
    char two[2048];
    snprintf(two, sizeof two, "%s%s", msgs[1], msgs[2]);
    send_all(c.fd, two, strlen(two));

    c.ev = event_new(base, c.fd, EV_READ | EV_PERSIST, tcp_cli_read, &c);
    event_add(c.ev, NULL);
    assert_true(run_until(base, tcp_cli_done, &c));
    assert_int_equal(srv.nreq, 3);
    assert_int_equal(c.responses, 3); /* all three on the connection the requests came on */
    assert_int_equal(c.pongs, 1);
    sip_transport_stats_t st = sip_transport_stats(srv.tp);
    assert_int_equal(st.rx_msgs, 3);
    assert_int_equal(st.tcp_conns, 1);
    assert_int_equal(st.rx_keepalive, 1);
    /* sent-by host is the source address and there is no rport: no received parameter (§18.2.1) */
    assert_null(strstr(srv.via, "received="));

    /* a framing error closes the connection and nothing crashes */
    send_all(c.fd, "GARBAGE\0\r\n\r\n", 13);
    c.want_rx_bytes = st.rx_bytes + 13;
    assert_true(run_until(base, tcp_rx_reached, &c));
    event_free(c.ev);
    close(c.fd);
    node_stop(&srv);
    event_base_free(base);
}

/* ---- malformed input on UDP ---- */

typedef struct {
    node_t *srv;
    uint64_t want_malformed;
} mal_t;

static bool malformed_seen(void *ctx)
{
    mal_t *m = ctx;
    return sip_transport_stats(m->srv->tp).rx_malformed >= m->want_malformed;
}

static void test_udp_malformed(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    node_t srv = {0};
    sip_txn_tu_t stu = {.on_request = server_on_request};
    node_start(&srv, base, false, &stu);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in me = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &me.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof me), 0);
    socklen_t ml = sizeof me;
    getsockname(fd, (struct sockaddr *)&me, &ml);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    mal_t mc = {&srv, 0};

    /* a request with a CSeq method that differs from the method: 400 with the reason in a Warning, to rport */
    char bad[1024];
    snprintf(bad, sizeof bad,
             "OPTIONS sip:as@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.9.9.9:5070;rport;branch=z9hG4bKbad\r\n"
             "From: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: bad\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
    sendto(fd, bad, strlen(bad), 0, (struct sockaddr *)&to, sizeof to);
    mc.want_malformed = 1;
    assert_true(run_until(base, malformed_seen, &mc));
    char got[4096];
    ssize_t n = recv(fd, got, sizeof got - 1, MSG_DONTWAIT);
    assert_true(n > 0);
    got[n] = '\0';
    assert_true(strncmp(got, "SIP/2.0 400 Bad Request\r\n", 25) == 0);
    assert_non_null(strstr(got, "\r\nWarning: 399 mihua \""));
    assert_non_null(strstr(got, ";received=127.0.0.1"));

    /* a broken response and binary garbage: dropped, nothing sent back, nothing delivered */
    const char *resp = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx\r\nCSeq: nonsense\r\n\r\n";
    sendto(fd, resp, strlen(resp), 0, (struct sockaddr *)&to, sizeof to);
    static const char junk[] = "\x01\x02\x00\xff garbage \r\n\r\n";
    sendto(fd, junk, sizeof junk - 1, 0, (struct sockaddr *)&to, sizeof to);
    sendto(fd, "\r\n\r\n", 4, 0, (struct sockaddr *)&to, sizeof to); /* keepalive: ignored, not malformed */
    mc.want_malformed = 3;
    assert_true(run_until(base, malformed_seen, &mc));
    assert_true(recv(fd, got, sizeof got, MSG_DONTWAIT) < 0);
    assert_int_equal(srv.nreq, 0);
    assert_int_equal(sip_transport_stats(srv.tp).rx_msgs, 0);
    close(fd);
    node_stop(&srv);
    event_base_free(base);
}

/* ---- UDP: the arrival time of a datagram is the kernel's, not the read's ---- */

typedef struct {
    uint64_t rx_ms, seen_ms; /* src->rx_ms of the delivered message, and the clock when it was delivered */
} age_t;

static void age_rx(void *ctx, sip_msg_t *msg, const sip_addr_t *src)
{
    (void)msg;
    age_t *a = ctx;
    a->rx_ms = src->rx_ms;
    a->seen_ms = sip_clock_monotonic_ms();
}

static bool age_seen(void *ctx)
{
    return ((age_t *)ctx)->seen_ms != 0;
}

/* One datagram sent, left AGE_WAIT_MS in the socket buffer while the loop does not run, then read. */
#define AGE_WAIT_MS 60
static void age_round(struct event_base *base, age_t *a, int fd, const struct sockaddr_in *to, uint64_t *sent,
                      uint64_t *sent_end)
{
    static const char req[] = "OPTIONS sip:as@127.0.0.1 SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKage\r\n"
                              "From: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: age\r\nCSeq: 1 OPTIONS\r\n"
                              "Content-Length: 0\r\n\r\n";
    *a = (age_t){0};
    *sent = sip_clock_monotonic_ms();
    assert_int_equal(sendto(fd, req, sizeof req - 1, 0, (const struct sockaddr *)to, sizeof *to),
                     (ssize_t)sizeof req - 1);
    *sent_end = sip_clock_monotonic_ms();
    struct timespec wait = {0, AGE_WAIT_MS * 1000 * 1000};
    nanosleep(&wait, NULL);
    assert_true(run_until(base, age_seen, a));
}

static void test_udp_rx_age(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    age_t a = {0};
    sip_transport_layer_t *tp = sip_transport_new(base, age_rx, &a);
    int port = 0;
    assert_int_equal(sip_transport_listen_udp(tp, "127.0.0.1", 0, &port), 0);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    uint64_t sent = 0, sent_end = 0;
    /* When no socket on the host had asked for timestamps, the kernel turns early stamping on from a work queue
     * shortly after the first asks; a datagram received before that is stamped when read. A few rounds at most. */
    for (int round = 0; round < 5 && (round == 0 || a.rx_ms == a.seen_ms); round++)
        age_round(base, &a, fd, &to, &sent, &sent_end);
    /* stamped when it arrived, not when read: 1 ms for the two clocks read in whole ms, a few for a softirq run
     * after sendto returned */
    assert_true(a.rx_ms + 1 >= sent && a.rx_ms <= sent_end + 10);
    assert_true(a.seen_ms - a.rx_ms >= AGE_WAIT_MS - 10);
    close(fd);
    sip_transport_free(tp);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill_via_and_dest), cmocka_unit_test(test_udp_loopback),
        cmocka_unit_test(test_tcp_loopback),      cmocka_unit_test(test_udp_malformed),
        cmocka_unit_test(test_udp_rx_age),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
