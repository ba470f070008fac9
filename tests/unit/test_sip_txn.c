/*
 * test_sip_txn — the transaction layer (RFC 3261 §17, RFC 6026) driven by a fake clock and a recording transport:
 * every timer (A-M) is checked at the exact millisecond it should fire, with no sleeping. Also the timer heap,
 * §17.1.3 / §17.2.3 matching, stale ids and transport errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sip/sip_txn.h"
#include "sip/sip_txn_int.h" /* table internals, for the trim test */

#define MAX_SENT 64
#define MAX_EV 64

typedef struct {
    char *buf;
    size_t len;
    uint64_t at;
    sip_addr_t dst;
} sent_t;

typedef struct {
    char what; /* 'q' request, 'r' response, 't' timeout, 'e' transport error, 'x' terminated, 's' stray */
    sip_txn_id_t id;
    int status;      /* response / synthesised 408 (0 for a server Timer H) */
    char method[16]; /* request method */
    uint64_t at;
} ev_t;

typedef struct {
    uint64_t now;
    sent_t sent[MAX_SENT];
    int nsent;
    bool fail_send;
    ev_t ev[MAX_EV];
    int nev;
    sip_txn_layer_t *tl;
    sip_addr_t peer_udp, peer_tcp;
    sip_txn_id_t last_req_id;
    char last_req_method[16];
} h_t;

static uint64_t fake_now(void *ctx)
{
    return ((h_t *)ctx)->now;
}

static int fake_send(void *ctx, const sip_addr_t *dst, const char *buf, size_t len)
{
    h_t *h = ctx;
    if (h->fail_send)
        return -1;
    assert_true(h->nsent < MAX_SENT);
    sent_t *s = &h->sent[h->nsent++];
    s->buf = malloc(len + 1);
    memcpy(s->buf, buf, len);
    s->buf[len] = '\0';
    s->len = len;
    s->at = h->now;
    s->dst = *dst;
    return 0;
}

static ev_t *ev_add(h_t *h, char what, sip_txn_id_t id)
{
    assert_true(h->nev < MAX_EV);
    ev_t *e = &h->ev[h->nev++];
    memset(e, 0, sizeof *e);
    e->what = what;
    e->id = id;
    e->at = h->now;
    return e;
}

static void tu_request(void *ctx, sip_txn_id_t id, sip_msg_t *req, const sip_addr_t *src)
{
    (void)src;
    h_t *h = ctx;
    ev_t *e = ev_add(h, 'q', id);
    sip_str_copy(req->method_str, e->method, sizeof e->method);
    h->last_req_id = id;
}

static void tu_response(void *ctx, sip_txn_id_t id, void *tu_data, sip_msg_t *resp)
{
    (void)tu_data;
    ev_add(ctx, 'r', id)->status = resp->status;
}

static void tu_timeout(void *ctx, sip_txn_id_t id, void *tu_data, sip_msg_t *resp)
{
    (void)tu_data;
    ev_add(ctx, 't', id)->status = resp ? resp->status : 0;
}

static void tu_terr(void *ctx, sip_txn_id_t id, void *tu_data)
{
    (void)tu_data;
    ev_add(ctx, 'e', id);
}

static void tu_term(void *ctx, sip_txn_id_t id, void *tu_data)
{
    h_t *h = ctx;
    ev_add(h, 'x', id);
    free(tu_data);
    /* the id is still valid during the call, and in Terminated */
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_TERMINATED);
}

static void tu_stray(void *ctx, sip_msg_t *resp, const sip_addr_t *src)
{
    (void)src;
    ev_add(ctx, 's', SIP_TXN_ID_NONE)->status = resp->status;
}

static h_t *h_new_conf(const sip_txn_conf_t *conf)
{
    h_t *h = calloc(1, sizeof *h);
    h->now = 1000000; /* arbitrary epoch: nothing may assume 0 */
    sip_clock_t clock = {fake_now, NULL, h};
    sip_txn_io_t io = {fake_send, h};
    sip_txn_tu_t tu = {tu_request, tu_response, tu_timeout, tu_terr, tu_term, tu_stray, NULL, h};
    h->tl = sip_txn_layer_new(conf, &clock, &io, &tu);
    assert_non_null(h->tl);
    assert_int_equal(sip_addr_from_ip(&h->peer_udp, SIP_PROTO_UDP, sip_str_c("127.0.0.1"), 5080), 0);
    assert_int_equal(sip_addr_from_ip(&h->peer_tcp, SIP_PROTO_TCP, sip_str_c("127.0.0.1"), 5080), 0);
    h->peer_tcp.conn = 7;
    return h;
}

static h_t *h_new(void)
{
    return h_new_conf(NULL);
}

static void h_free(h_t *h)
{
    sip_txn_layer_free(h->tl);
    for (int i = 0; i < h->nsent; i++)
        free(h->sent[i].buf);
    free(h);
}

/* Advances the fake clock to now + ms, ticking at every deadline on the way (what the libevent driver does). */
static void h_run(h_t *h, uint64_t ms)
{
    uint64_t end = h->now + ms, due;
    while (sip_txn_next_deadline(h->tl, &due) && due <= end) {
        if (due > h->now)
            h->now = due;
        sip_txn_tick(h->tl);
    }
    h->now = end;
    sip_txn_tick(h->tl);
}

static int h_count(const h_t *h, char what)
{
    int n = 0;
    for (int i = 0; i < h->nev; i++)
        n += h->ev[i].what == what;
    return n;
}

static const ev_t *h_last(const h_t *h, char what)
{
    for (int i = h->nev - 1; i >= 0; i--)
        if (h->ev[i].what == what)
            return &h->ev[i];
    return NULL;
}

/* ---- messages ---- */

static char *fmt(const char *f, ...)
{
    static char bufs[8][4096];
    static int k;
    char *b = bufs[k++ % 8];
    va_list ap;
    va_start(ap, f);
    vsnprintf(b, 4096, f, ap);
    va_end(ap);
    return b;
}

static const char *req_text(const char *method, const char *branch, const char *sent_by, const char *proto)
{
    return fmt("%s sip:bob@127.0.0.1:5080 SIP/2.0\r\n"
               "Via: SIP/2.0/%s %s;branch=%s\r\n"
               "Route: <sip:127.0.0.1:5080;lr>\r\n"
               "Max-Forwards: 70\r\n"
               "From: \"Alice\" <sip:alice@mihua.test>;tag=a1\r\n"
               "To: <sip:bob@mihua.test>\r\n"
               "Call-ID: call-1@mihua.test\r\n"
               "CSeq: 1 %s\r\n"
               "Content-Length: 0\r\n\r\n",
               method, proto, sent_by, branch, method);
}

static const char *resp_text(int status, const char *branch, const char *method)
{
    return fmt("SIP/2.0 %d Whatever\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=%s\r\n"
               "From: \"Alice\" <sip:alice@mihua.test>;tag=a1\r\n"
               "To: <sip:bob@mihua.test>;tag=b1\r\n"
               "Call-ID: call-1@mihua.test\r\n"
               "CSeq: 1 %s\r\n"
               "Content-Length: 0\r\n\r\n",
               status, branch, method);
}

/* Parses and delivers text as if received from src. */
static void h_recv(h_t *h, const char *text, const sip_addr_t *src)
{
    sip_msg_t *m = calloc(1, sizeof *m);
    assert_int_equal(sip_msg_parse(m, text, strlen(text), SIP_TP_DGRAM), SIP_OK);
    assert_int_equal(sip_msg_check(m), SIP_OK);
    sip_txn_recv(h->tl, m, src);
    free(m);
}

static sip_txn_id_t h_start(h_t *h, const char *method, const char *branch, const sip_addr_t *dst)
{
    const char *proto = dst->proto == SIP_PROTO_TCP ? "TCP" : "UDP";
    const char *r = req_text(method, branch, "127.0.0.1:5070", proto);
    sip_txn_id_t id = SIP_TXN_ID_NONE;
    assert_int_equal(sip_txn_client_start(h->tl, r, strlen(r), dst, NULL, &id), 0);
    assert_true(id != SIP_TXN_ID_NONE);
    return id;
}

static bool starts_with(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* ---- timer heap ---- */

static void test_timer_heap(void **state)
{
    (void)state;
    enum { N = 200 };
    sip_timers_t ts;
    sip_timer_t tm[N];
    assert_int_equal(sip_timers_init(&ts, N), 0);
    unsigned seed = 12345;
    for (int i = 0; i < N; i++) {
        sip_timer_init(&tm[i], (uint64_t)i, 0);
        seed = seed * 1103515245u + 12345u;
        assert_int_equal(sip_timer_arm(&ts, &tm[i], (seed >> 8) % 1000), 0);
    }
    for (int i = 0; i < N; i += 3) /* cancel a third, re-arm a third */
        sip_timer_cancel(&ts, &tm[i]);
    for (int i = 1; i < N; i += 3)
        assert_int_equal(sip_timer_arm(&ts, &tm[i], 500 + (uint64_t)i), 0);
    uint64_t last = 0;
    int popped = 0;
    sip_timer_t *t;
    while ((t = sip_timers_pop_due(&ts, 5000)) != NULL) {
        assert_true(t->due >= last);
        assert_false(sip_timer_armed(t));
        assert_true(t->owner % 3 != 0);
        last = t->due;
        popped++;
    }
    assert_int_equal(popped, N - (N + 2) / 3);
    uint64_t due;
    assert_false(sip_timers_next(&ts, &due));
    sip_timer_arm(&ts, &tm[0], 10);
    assert_null(sip_timers_pop_due(&ts, 9));
    assert_ptr_equal(sip_timers_pop_due(&ts, 10), &tm[0]);
    sip_timers_free(&ts);
}

/* ---- client INVITE (§17.1.1) ---- */

static void test_client_invite_timer_a_b(void **state)
{
    (void)state;
    h_t *h = h_new();
    uint64_t t0 = h->now;
    sip_txn_id_t id = h_start(h, "INVITE", "z9hG4bKc1", &h->peer_udp);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_CALLING);
    h_run(h, 40000);
    /* sent at 0, then A at 500, 1500, 3500, 7500, 15500, 31500 (T1, 2T1, 4T1, ...); B at 64*T1 = 32000 */
    static const uint64_t want[] = {0, 500, 1500, 3500, 7500, 15500, 31500};
    assert_int_equal(h->nsent, 7);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(h->sent[i].at - t0, want[i]);
        assert_true(starts_with(h->sent[i].buf, "INVITE sip:bob@127.0.0.1:5080 SIP/2.0\r\n"));
        assert_true(sip_addr_same(&h->sent[i].dst, &h->peer_udp));
    }
    const ev_t *to = h_last(h, 't');
    assert_non_null(to);
    assert_int_equal(to->status, 408);
    assert_int_equal(to->id, id);
    assert_int_equal(to->at - t0, 32000);
    assert_int_equal(h_count(h, 'x'), 1);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_NONE);
    assert_int_equal(sip_txn_count(h->tl), 0);
    h_free(h);
}

static void test_client_invite_1xx_stops_retransmission(void **state)
{
    (void)state;
    h_t *h = h_new();
    sip_txn_id_t id = h_start(h, "INVITE", "z9hG4bKc2", &h->peer_udp);
    h_run(h, 600); /* one retransmission at 500 */
    assert_int_equal(h->nsent, 2);
    h_recv(h, resp_text(180, "z9hG4bKc2", "INVITE"), &h->peer_udp);
    assert_int_equal(h_last(h, 'r')->status, 180);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_PROCEEDING);
    h_run(h, 100000); /* no A, no B in Proceeding (Timer C is the TU's) */
    assert_int_equal(h->nsent, 2);
    assert_int_equal(h_count(h, 't'), 0);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_PROCEEDING);
    h_free(h);
}

static void test_client_invite_non_2xx_ack_timer_d(void **state)
{
    (void)state;
    h_t *h = h_new();
    sip_txn_id_t id = h_start(h, "INVITE", "z9hG4bKc3", &h->peer_udp);
    h_recv(h, resp_text(100, "z9hG4bKc3", "INVITE"), &h->peer_udp);
    h_run(h, 1000);
    uint64_t t_final = h->now;
    h_recv(h, resp_text(486, "z9hG4bKc3", "INVITE"), &h->peer_udp);
    assert_int_equal(h_last(h, 'r')->status, 486);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_COMPLETED);
    assert_int_equal(h->nsent, 2);
    const char *ack = h->sent[1].buf;
    /* §17.1.1.3 */
    assert_string_equal(ack, "ACK sip:bob@127.0.0.1:5080 SIP/2.0\r\n"
                             "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKc3\r\n"
                             "Route: <sip:127.0.0.1:5080;lr>\r\n"
                             "From: \"Alice\" <sip:alice@mihua.test>;tag=a1\r\n"
                             "To: <sip:bob@mihua.test>;tag=b1\r\n"
                             "Call-ID: call-1@mihua.test\r\n"
                             "CSeq: 1 ACK\r\n"
                             "Max-Forwards: 70\r\n"
                             "Content-Length: 0\r\n\r\n");
    sip_msg_t *m = calloc(1, sizeof *m);
    assert_int_equal(sip_msg_parse(m, ack, strlen(ack), SIP_TP_DGRAM), SIP_OK);
    assert_int_equal(sip_msg_check(m), SIP_OK);
    free(m);
    /* a retransmitted final is absorbed and answered with the same ACK */
    int responses = h_count(h, 'r');
    h_recv(h, resp_text(486, "z9hG4bKc3", "INVITE"), &h->peer_udp);
    assert_int_equal(h_count(h, 'r'), responses);
    assert_int_equal(h->nsent, 3);
    assert_string_equal(h->sent[2].buf, ack);
    /* Timer D: 32 s on UDP */
    h_run(h, 31999);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_COMPLETED);
    h_run(h, 1);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_NONE);
    assert_int_equal(h_last(h, 'x')->at - t_final, 32000);
    h_free(h);
}

static void test_client_invite_2xx_accepted_timer_m(void **state)
{
    (void)state;
    h_t *h = h_new();
    sip_txn_id_t id = h_start(h, "INVITE", "z9hG4bKc4", &h->peer_udp);
    h_recv(h, resp_text(200, "z9hG4bKc4", "INVITE"), &h->peer_udp);
    assert_int_equal(h_last(h, 'r')->status, 200);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_ACCEPTED);
    assert_int_equal(h->nsent, 1);                                  /* no ACK for a 2xx: that is the TU's */
    h_recv(h, resp_text(200, "z9hG4bKc4", "INVITE"), &h->peer_udp); /* RFC 6026: retransmitted 2xx to the TU */
    assert_int_equal(h_count(h, 'r'), 2);
    h_run(h, 5000);
    assert_int_equal(h->nsent, 1); /* A stopped */
    h_run(h, 27000);               /* M = 64*T1 */
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_NONE);
    h_recv(h, resp_text(200, "z9hG4bKc4", "INVITE"), &h->peer_udp); /* now stray (§16.7 forwards it) */
    assert_int_equal(h_count(h, 's'), 1);
    h_free(h);
}

static void test_client_invite_tcp_no_retransmit(void **state)
{
    (void)state;
    h_t *h = h_new();
    sip_txn_id_t id = h_start(h, "INVITE", "z9hG4bKc5", &h->peer_tcp);
    h_run(h, 20000);
    assert_int_equal(h->nsent, 1); /* §17.1.1.2: no Timer A on a reliable transport */
    assert_int_equal(h->sent[0].dst.conn, 7u);
    h_recv(h, resp_text(503, "z9hG4bKc5", "INVITE"), &h->peer_tcp);
    assert_int_equal(h->nsent, 2);
    assert_true(starts_with(h->sent[1].buf, "ACK "));
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_COMPLETED);
    h_run(h, 0); /* Timer D = 0 */
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_NONE);
    h_free(h);
}

static void test_client_invite_tcp_timer_b(void **state)
{
    (void)state;
    h_t *h = h_new();
    uint64_t t0 = h->now;
    h_start(h, "INVITE", "z9hG4bKc6", &h->peer_tcp);
    h_run(h, 40000);
    assert_int_equal(h->nsent, 1);
    assert_int_equal(h_last(h, 't')->at - t0, 32000);
    assert_int_equal(h_last(h, 't')->status, 408);
    h_free(h);
}

/* ---- client non-INVITE (§17.1.2) ---- */

static void test_client_non_invite_timer_e_f(void **state)
{
    (void)state;
    h_t *h = h_new();
    uint64_t t0 = h->now;
    sip_txn_id_t id = h_start(h, "OPTIONS", "z9hG4bKn1", &h->peer_udp);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_TRYING);
    h_run(h, 40000);
    /* E: 500, 1000, 2000, 4000, then capped at T2 = 4000 */
    static const uint64_t want[] = {0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500};
    assert_int_equal(h->nsent, 11);
    for (int i = 0; i < 11; i++)
        assert_int_equal(h->sent[i].at - t0, want[i]);
    assert_int_equal(h_last(h, 't')->at - t0, 32000); /* F */
    assert_int_equal(h_last(h, 't')->status, 408);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_NONE);
    h_free(h);
}

static void test_client_non_invite_proceeding_timer_k(void **state)
{
    (void)state;
    h_t *h = h_new();
    uint64_t t0 = h->now;
    sip_txn_id_t id = h_start(h, "REGISTER", "z9hG4bKn2", &h->peer_udp);
    h_run(h, 100);
    h_recv(h, resp_text(100, "z9hG4bKn2", "REGISTER"), &h->peer_udp);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_PROCEEDING);
    h_run(h, 9000); /* E at 500 (armed in Trying), then every T2: 4500, 8500 */
    assert_int_equal(h->nsent, 4);
    assert_int_equal(h->sent[1].at - t0, 500);
    assert_int_equal(h->sent[2].at - t0, 4500);
    assert_int_equal(h->sent[3].at - t0, 8500);
    h_recv(h, resp_text(200, "z9hG4bKn2", "REGISTER"), &h->peer_udp);
    uint64_t t_final = h->now;
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_COMPLETED);
    assert_int_equal(h_count(h, 'r'), 2);
    h_recv(h, resp_text(200, "z9hG4bKn2", "REGISTER"), &h->peer_udp); /* absorbed */
    assert_int_equal(h_count(h, 'r'), 2);
    h_run(h, 4999);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_COMPLETED);
    assert_int_equal(h->nsent, 4);
    h_run(h, 1); /* K = T4 */
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_NONE);
    assert_int_equal(h_last(h, 'x')->at - t_final, 5000);
    h_free(h);
}

static void test_client_non_invite_tcp_k_zero(void **state)
{
    (void)state;
    h_t *h = h_new();
    sip_txn_id_t id = h_start(h, "BYE", "z9hG4bKn3", &h->peer_tcp);
    h_recv(h, resp_text(200, "z9hG4bKn3", "BYE"), &h->peer_tcp);
    h_run(h, 0);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_NONE);
    assert_int_equal(h->nsent, 1);
    h_free(h);
}

static void test_client_configured_timers(void **state)
{
    (void)state;
    sip_txn_conf_t c;
    sip_txn_conf_default(&c);
    c.t1_ms = 100;
    c.t2_ms = 300;
    h_t *h = h_new_conf(&c);
    uint64_t t0 = h->now;
    h_start(h, "MESSAGE", "z9hG4bKn4", &h->peer_udp);
    h_run(h, 1000);
    static const uint64_t want[] = {0, 100, 300, 600, 900};
    assert_int_equal(h->nsent, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(h->sent[i].at - t0, want[i]);
    h_run(h, 6000);
    assert_int_equal(h_last(h, 't')->at - t0, 6400); /* F = 64 * 100 */
    h_free(h);
}

/* ---- server INVITE (§17.2.1) ---- */

static sip_txn_id_t h_server_request(h_t *h, const char *method, const char *branch, const sip_addr_t *src)
{
    int before = h_count(h, 'q');
    const char *proto = src->proto == SIP_PROTO_TCP ? "TCP" : "UDP";
    h_recv(h, req_text(method, branch, "127.0.0.1:5080", proto), src);
    assert_int_equal(h_count(h, 'q'), before + 1);
    assert_string_equal(h_last(h, 'q')->method, method);
    return h_last(h, 'q')->id;
}

static void h_respond(h_t *h, sip_txn_id_t id, int status, const char *branch, const char *method)
{
    const char *r = resp_text(status, branch, method);
    assert_int_equal(sip_txn_respond(h->tl, id, r, strlen(r)), 0);
}

static void test_server_invite_absorb_g_ack_i(void **state)
{
    (void)state;
    h_t *h = h_new();
    sip_txn_id_t id = h_server_request(h, "INVITE", "z9hG4bKs1", &h->peer_udp);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_PROCEEDING);
    assert_int_equal(h->nsent, 0); /* 100 Trying is the TU's */
    /* retransmitted INVITE before any response: absorbed, nothing to resend, not a new request */
    h_recv(h, req_text("INVITE", "z9hG4bKs1", "127.0.0.1:5080", "UDP"), &h->peer_udp);
    assert_int_equal(h_count(h, 'q'), 1);
    assert_int_equal(h->nsent, 0);
    h_respond(h, id, 100, "z9hG4bKs1", "INVITE");
    h_recv(h, req_text("INVITE", "z9hG4bKs1", "127.0.0.1:5080", "UDP"), &h->peer_udp);
    assert_int_equal(h->nsent, 2); /* the 100 again */
    assert_true(starts_with(h->sent[1].buf, "SIP/2.0 100 "));
    uint64_t t0 = h->now;
    h_respond(h, id, 486, "z9hG4bKs1", "INVITE");
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_COMPLETED);
    h_run(h, 8000); /* G: 500, 1500, 3500, 7500 (T1 doubling, capped at T2) */
    static const uint64_t want[] = {0, 500, 1500, 3500, 7500};
    assert_int_equal(h->nsent, 2 + 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(h->sent[2 + i].at - t0, want[i]);
        assert_true(starts_with(h->sent[2 + i].buf, "SIP/2.0 486 "));
    }
    h_run(h, 4000); /* 11500 */
    assert_int_equal(h->nsent, 8);
    assert_int_equal(h->sent[7].at - t0, 11500);
    h_recv(h, req_text("INVITE", "z9hG4bKs1", "127.0.0.1:5080", "UDP"), &h->peer_udp);
    assert_int_equal(h->nsent, 9); /* retransmitted INVITE: the final again */
    assert_true(starts_with(h->sent[8].buf, "SIP/2.0 486 "));
    h_recv(h, req_text("ACK", "z9hG4bKs1", "127.0.0.1:5080", "UDP"), &h->peer_udp);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_CONFIRMED);
    assert_int_equal(h_count(h, 'q'), 1); /* the ACK is absorbed, not a new request */
    uint64_t t_ack = h->now;
    h_recv(h, req_text("ACK", "z9hG4bKs1", "127.0.0.1:5080", "UDP"), &h->peer_udp);
    h_run(h, 4999);
    assert_int_equal(h->nsent, 9); /* G stopped */
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_CONFIRMED);
    h_run(h, 1); /* I = T4 */
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_NONE);
    assert_int_equal(h_last(h, 'x')->at - t_ack, 5000);
    assert_int_equal(h_count(h, 'q'), 1);
    h_free(h);
}

static void test_server_invite_timer_h(void **state)
{
    (void)state;
    h_t *h = h_new();
    sip_txn_id_t id = h_server_request(h, "INVITE", "z9hG4bKs2", &h->peer_udp);
    uint64_t t0 = h->now;
    h_respond(h, id, 404, "z9hG4bKs2", "INVITE");
    h_run(h, 40000);
    const ev_t *to = h_last(h, 't');
    assert_non_null(to);
    assert_int_equal(to->at - t0, 32000); /* H = 64*T1 */
    assert_int_equal(to->status, 0);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_NONE);
    /* G retransmissions: 500, 1500, 3500, 7500, then every 4000 up to 31500 */
    assert_int_equal(h->nsent, 1 + 4 + 6);
    h_free(h);
}

static void test_server_invite_2xx_accepted_timer_l(void **state)
{
    (void)state;
    h_t *h = h_new();
    sip_txn_id_t id = h_server_request(h, "INVITE", "z9hG4bKs3", &h->peer_udp);
    h_respond(h, id, 200, "z9hG4bKs3", "INVITE");
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_ACCEPTED);
    h_recv(h, req_text("INVITE", "z9hG4bKs3", "127.0.0.1:5080", "UDP"), &h->peer_udp);
    assert_int_equal(h->nsent, 1); /* RFC 6026: INVITE retransmission absorbed */
    assert_int_equal(h_count(h, 'q'), 1);
    h_run(h, 2000);
    assert_int_equal(h->nsent, 1);                /* the transaction does not retransmit 2xx */
    h_respond(h, id, 200, "z9hG4bKs3", "INVITE"); /* the TU's retransmission passes */
    assert_int_equal(h->nsent, 2);
    assert_int_equal(sip_txn_respond(h->tl, id, resp_text(486, "z9hG4bKs3", "INVITE"),
                                     strlen(resp_text(486, "z9hG4bKs3", "INVITE"))),
                     -1);
    h_run(h, 30000); /* L = 64*T1 after the first 200 */
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_NONE);
    /* the ACK of the 2xx (new branch) is the TU's: on_request with no transaction */
    h_recv(h, req_text("ACK", "z9hG4bKs3ack", "127.0.0.1:5080", "UDP"), &h->peer_udp);
    assert_int_equal(h_last(h, 'q')->id, SIP_TXN_ID_NONE);
    assert_string_equal(h_last(h, 'q')->method, "ACK");
    h_free(h);
}

static void test_server_invite_tcp(void **state)
{
    (void)state;
    h_t *h = h_new();
    sip_txn_id_t id = h_server_request(h, "INVITE", "z9hG4bKs4", &h->peer_tcp);
    h_respond(h, id, 480, "z9hG4bKs4", "INVITE");
    assert_int_equal(h->sent[0].dst.conn, 7u); /* the connection the request came on (§18.2.2) */
    h_run(h, 10000);
    assert_int_equal(h->nsent, 1); /* no G on TCP */
    h_recv(h, req_text("ACK", "z9hG4bKs4", "127.0.0.1:5080", "TCP"), &h->peer_tcp);
    h_run(h, 0); /* I = 0 */
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_NONE);
    h_free(h);
}

/* ---- server non-INVITE (§17.2.2) ---- */

static void test_server_non_invite_timer_j(void **state)
{
    (void)state;
    h_t *h = h_new();
    sip_txn_id_t id = h_server_request(h, "OPTIONS", "z9hG4bKs5", &h->peer_udp);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_TRYING);
    h_recv(h, req_text("OPTIONS", "z9hG4bKs5", "127.0.0.1:5080", "UDP"), &h->peer_udp);
    assert_int_equal(h->nsent, 0); /* Trying absorbs */
    assert_int_equal(h_count(h, 'q'), 1);
    h_respond(h, id, 100, "z9hG4bKs5", "OPTIONS");
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_PROCEEDING);
    h_recv(h, req_text("OPTIONS", "z9hG4bKs5", "127.0.0.1:5080", "UDP"), &h->peer_udp);
    assert_int_equal(h->nsent, 2);
    uint64_t t0 = h->now;
    h_respond(h, id, 200, "z9hG4bKs5", "OPTIONS");
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_COMPLETED);
    h_recv(h, req_text("OPTIONS", "z9hG4bKs5", "127.0.0.1:5080", "UDP"), &h->peer_udp);
    assert_int_equal(h->nsent, 4); /* retransmitted request gets the last response */
    assert_true(starts_with(h->sent[3].buf, "SIP/2.0 200 "));
    assert_int_equal(sip_txn_respond(h->tl, id, resp_text(500, "z9hG4bKs5", "OPTIONS"),
                                     strlen(resp_text(500, "z9hG4bKs5", "OPTIONS"))),
                     -1); /* Completed: further finals refused */
    h_run(h, 31999);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_COMPLETED);
    assert_int_equal(h->nsent, 4); /* non-INVITE servers never retransmit on their own */
    h_run(h, 1);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_NONE);
    assert_int_equal(h_last(h, 'x')->at - t0, 32000); /* J = 64*T1 */
    h_free(h);
}

static void test_server_non_invite_tcp_j_zero(void **state)
{
    (void)state;
    h_t *h = h_new();
    sip_txn_id_t id = h_server_request(h, "REGISTER", "z9hG4bKs6", &h->peer_tcp);
    h_respond(h, id, 200, "z9hG4bKs6", "REGISTER");
    h_run(h, 0);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_NONE);
    h_free(h);
}

/* ---- matching (§17.1.3, §17.2.3) ---- */

static void test_match_client(void **state)
{
    (void)state;
    h_t *h = h_new();
    sip_txn_id_t inv = h_start(h, "INVITE", "z9hG4bKm1", &h->peer_udp);
    sip_txn_id_t can = h_start(h, "CANCEL", "z9hG4bKm1", &h->peer_udp); /* same branch, other method */
    assert_true(inv != can);
    h_recv(h, resp_text(200, "z9hG4bKm1", "CANCEL"), &h->peer_udp);
    assert_int_equal(h_last(h, 'r')->id, can);
    assert_int_equal(sip_txn_state(h->tl, inv), SIP_TXN_S_CALLING);
    h_recv(h, resp_text(487, "z9hG4bKM1", "INVITE"), &h->peer_udp); /* branch compare is case-insensitive */
    assert_int_equal(h_last(h, 'r')->id, inv);
    assert_int_equal(h_last(h, 'r')->status, 487);
    h_recv(h, resp_text(200, "z9hG4bKother", "INVITE"), &h->peer_udp);
    assert_int_equal(h_count(h, 's'), 1);
    h_recv(h, resp_text(200, "z9hG4bKm1", "BYE"), &h->peer_udp);
    assert_int_equal(h_count(h, 's'), 2);
    /* the same branch and method cannot start twice; nor can an ACK or a branch without the cookie */
    const char *r = req_text("INVITE", "z9hG4bKm1", "127.0.0.1:5070", "UDP");
    assert_int_equal(sip_txn_client_start(h->tl, r, strlen(r), &h->peer_udp, NULL, NULL), -1);
    r = req_text("ACK", "z9hG4bKm9", "127.0.0.1:5070", "UDP");
    assert_int_equal(sip_txn_client_start(h->tl, r, strlen(r), &h->peer_udp, NULL, NULL), -1);
    r = req_text("INVITE", "1234", "127.0.0.1:5070", "UDP");
    assert_int_equal(sip_txn_client_start(h->tl, r, strlen(r), &h->peer_udp, NULL, NULL), -1);
    assert_int_equal(sip_txn_client_start(h->tl, "garbage", 7, &h->peer_udp, NULL, NULL), -1);
    h_free(h);
}

static void test_match_server(void **state)
{
    (void)state;
    h_t *h = h_new();
    sip_txn_id_t inv = h_server_request(h, "INVITE", "z9hG4bKm2", &h->peer_udp);
    /* same branch from another sent-by: another transaction */
    h_recv(h, req_text("INVITE", "z9hG4bKm2", "10.0.0.9:5080", "UDP"), &h->peer_udp);
    assert_int_equal(h_count(h, 'q'), 2);
    assert_true(h_last(h, 'q')->id != inv);
    /* same branch and sent-by, port written differently: another transaction (5080 vs absent) */
    h_recv(h, req_text("INVITE", "z9hG4bKm2", "127.0.0.1", "UDP"), &h->peer_udp);
    assert_int_equal(h_count(h, 'q'), 3);
    /* sent-by host compares case-insensitively */
    h_recv(h, req_text("INVITE", "z9hG4bKm3", "UA.Example.com:5080", "UDP"), &h->peer_udp);
    assert_int_equal(h_count(h, 'q'), 4);
    h_recv(h, req_text("INVITE", "z9hG4bKm3", "ua.example.COM:5080", "UDP"), &h->peer_udp);
    assert_int_equal(h_count(h, 'q'), 4);
    /* CANCEL: its own transaction, and it finds the INVITE */
    h_recv(h, req_text("CANCEL", "z9hG4bKm2", "127.0.0.1:5080", "UDP"), &h->peer_udp);
    assert_int_equal(h_count(h, 'q'), 5);
    sip_txn_id_t can = h_last(h, 'q')->id;
    assert_true(can != inv);
    sip_msg_t *m = calloc(1, sizeof *m);
    const char *c = req_text("CANCEL", "z9hG4bKm2", "127.0.0.1:5080", "UDP");
    assert_int_equal(sip_msg_parse(m, c, strlen(c), SIP_TP_DGRAM), SIP_OK);
    assert_int_equal(sip_txn_find_invite(h->tl, m), inv);
    c = req_text("CANCEL", "z9hG4bKnone", "127.0.0.1:5080", "UDP");
    assert_int_equal(sip_msg_parse(m, c, strlen(c), SIP_TP_DGRAM), SIP_OK);
    assert_int_equal(sip_txn_find_invite(h->tl, m), SIP_TXN_ID_NONE);
    free(m);
    h_free(h);
}

static void test_match_rfc2543_refused(void **state)
{
    (void)state;
    h_t *h = h_new();
    h_recv(h, req_text("INVITE", "1a2b3c", "127.0.0.1:5080", "UDP"), &h->peer_udp);
    assert_int_equal(h_count(h, 'q'), 0);
    assert_int_equal(sip_txn_count(h->tl), 0);
    assert_int_equal(h->nsent, 1);
    assert_true(starts_with(h->sent[0].buf, "SIP/2.0 400 Bad Request\r\n"));
    assert_non_null(strstr(h->sent[0].buf, "\r\nWarning: 399 mihua \"RFC 2543"));
    assert_true(sip_addr_same(&h->sent[0].dst, &h->peer_udp));
    /* an ACK without the cookie is dropped silently; a request without any branch too gets a 400 */
    h_recv(h, req_text("ACK", "1a2b3c", "127.0.0.1:5080", "UDP"), &h->peer_udp);
    assert_int_equal(h->nsent, 1);
    assert_int_equal(h_count(h, 'q'), 0);
    h_free(h);
}

/* ---- handles, errors, limits ---- */

static void test_stale_id(void **state)
{
    (void)state;
    h_t *h = h_new();
    sip_txn_id_t id = h_server_request(h, "OPTIONS", "z9hG4bKi1", &h->peer_tcp);
    assert_int_equal(sip_txn_set_tu_data(h->tl, id, malloc(16)), 0); /* freed by on_terminated */
    h_respond(h, id, 200, "z9hG4bKi1", "OPTIONS");
    h_run(h, 0);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_NONE);
    const char *r = resp_text(200, "z9hG4bKi1", "OPTIONS");
    assert_int_equal(sip_txn_respond(h->tl, id, r, strlen(r)), -1);
    assert_int_equal(sip_txn_set_tu_data(h->tl, id, NULL), -1);
    assert_null(sip_txn_get_tu_data(h->tl, id));
    /* the slot is reused with a new generation: the old id still misses */
    sip_txn_id_t id2 = h_server_request(h, "OPTIONS", "z9hG4bKi2", &h->peer_tcp);
    assert_true(id2 != id);
    assert_int_equal((uint32_t)id2, (uint32_t)id);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_NONE);
    assert_int_equal(sip_txn_state(h->tl, id2), SIP_TXN_S_TRYING);
    assert_int_equal(sip_txn_state(h->tl, SIP_TXN_ID_NONE), SIP_TXN_S_NONE);
    assert_int_equal(sip_txn_state(h->tl, 0xdeadbeef00000099ull), SIP_TXN_S_NONE);
    assert_int_equal(sip_txn_respond(h->tl, id2, "not a status line", 17), -1);
    h_free(h); /* live transactions get on_terminated at teardown */
}

static void test_transport_error(void **state)
{
    (void)state;
    h_t *h = h_new();
    sip_txn_id_t id = h_start(h, "INVITE", "z9hG4bKe1", &h->peer_udp);
    h->fail_send = true;
    h_run(h, 500); /* Timer A's retransmission fails */
    assert_int_equal(h_count(h, 'e'), 1);
    assert_int_equal(h_last(h, 'e')->id, id);
    assert_int_equal(sip_txn_state(h->tl, id), SIP_TXN_S_NONE);
    assert_int_equal(h_count(h, 't'), 0);
    /* a failing first send refuses the start and reports nothing */
    const char *r = req_text("OPTIONS", "z9hG4bKe2", "127.0.0.1:5070", "UDP");
    int nev = h->nev;
    assert_int_equal(sip_txn_client_start(h->tl, r, strlen(r), &h->peer_udp, NULL, NULL), -1);
    assert_int_equal(h->nev, nev);
    assert_int_equal(sip_txn_count(h->tl), 0);
    h_free(h);
}

static void test_table_full(void **state)
{
    (void)state;
    sip_txn_conf_t c;
    sip_txn_conf_default(&c);
    c.max_txns = 2;
    h_t *h = h_new_conf(&c);
    h_server_request(h, "OPTIONS", "z9hG4bKf1", &h->peer_udp);
    h_start(h, "OPTIONS", "z9hG4bKf2", &h->peer_udp);
    h_recv(h, req_text("OPTIONS", "z9hG4bKf3", "127.0.0.1:5080", "UDP"), &h->peer_udp);
    assert_int_equal(h_count(h, 'q'), 1); /* dropped: no room */
    const char *r = req_text("OPTIONS", "z9hG4bKf4", "127.0.0.1:5070", "UDP");
    assert_int_equal(sip_txn_client_start(h->tl, r, strlen(r), &h->peer_udp, NULL, NULL), -1);
    assert_int_equal(sip_txn_count(h->tl), 2);
    sip_txn_conf_t bad = c;
    bad.t2_ms = 10; /* T2 < T1 */
    sip_clock_t clock = {fake_now, NULL, h};
    sip_txn_io_t io = {fake_send, h};
    assert_null(sip_txn_layer_new(&bad, &clock, &io, NULL));
    h_free(h);
}

/* After a load the table gives its memory back: the high-water mark falls to the highest live slot, the lowest
 * free slot is handed out first, and an id of a slot whose memory was dropped never matches its next tenant. */
static void test_table_trim(void **state)
{
    (void)state;
    enum { N = 1000 };
    static sip_txn_id_t ids[N];
    sip_txn_table_t t;
    assert_int_equal(sip_txn_table_init(&t, 4096), 0);
    for (int i = 0; i < N; i++) {
        sip_txn_t *x = sip_txn_table_alloc(&t);
        assert_non_null(x);
        ids[i] = x->id;
    }
    for (int i = 0; i < N; i++) /* two transactions outlive the load: one low, one high */
        if (i != 3 && i != 700)
            sip_txn_table_release(&t, sip_txn_table_get(&t, ids[i]));
    sip_txn_table_trim(&t);
    assert_int_equal(t.used_hwm, 701);
    assert_int_equal(t.count, 2);
    assert_non_null(sip_txn_table_get(&t, ids[3]));
    assert_non_null(sip_txn_table_get(&t, ids[700]));
    assert_null(sip_txn_table_get(&t, ids[900]));
    sip_txn_t *x = sip_txn_table_alloc(&t); /* lowest free slot first */
    assert_int_equal((uint32_t)x->id, 1);
    assert_true(x->id != ids[0]);
    sip_txn_table_release(&t, x);
    sip_txn_table_release(&t, sip_txn_table_get(&t, ids[700]));
    sip_txn_table_trim(&t);
    assert_int_equal(t.used_hwm, 4);
    /* refill past slot 900, whose memory (and generation) was dropped: the old id still misses */
    for (int i = 0; i < N; i++)
        assert_non_null(sip_txn_table_alloc(&t));
    assert_null(sip_txn_table_get(&t, ids[900]));
    assert_null(sip_txn_table_get(&t, ids[700]));
    assert_non_null(sip_txn_table_get(&t, ids[3]));
    for (uint32_t i = 0; i < t.used_hwm; i++)
        if (t.slots[i].txn)
            sip_txn_table_release(&t, t.slots[i].txn);
    sip_txn_table_free(&t);
}

static void test_branch_new(void **state)
{
    (void)state;
    h_t *h = h_new();
    char a[64], b[64];
    assert_true(sip_txn_branch_new(h->tl, a, sizeof a) > 7);
    assert_true(sip_txn_branch_new(h->tl, b, sizeof b) > 7);
    assert_true(starts_with(a, "z9hG4bK"));
    assert_string_not_equal(a, b);
    assert_int_equal(sip_txn_branch_new(h->tl, b, 8), -1);
    h_free(h);
}

/* The wake hook: called when a newly armed deadline is earlier than the one the driver knows. */
typedef struct {
    uint64_t now, woke;
    int nwake;
} wake_t;

static uint64_t wake_now(void *ctx)
{
    return ((wake_t *)ctx)->now;
}

static void wake_cb(void *ctx, uint64_t due)
{
    wake_t *w = ctx;
    w->woke = due;
    w->nwake++;
}

static int null_send(void *ctx, const sip_addr_t *dst, const char *buf, size_t len)
{
    (void)ctx, (void)dst, (void)buf, (void)len;
    return 0;
}

static void test_wake(void **state)
{
    (void)state;
    wake_t w = {.now = 100};
    sip_clock_t clock = {wake_now, wake_cb, &w};
    sip_txn_io_t io = {null_send, NULL};
    sip_txn_layer_t *tl = sip_txn_layer_new(NULL, &clock, &io, NULL);
    sip_addr_t dst;
    sip_addr_from_ip(&dst, SIP_PROTO_UDP, sip_str_c("127.0.0.1"), 5080);
    const char *r = req_text("OPTIONS", "z9hG4bKw1", "127.0.0.1:5070", "UDP");
    assert_int_equal(sip_txn_client_start(tl, r, strlen(r), &dst, NULL, NULL), 0);
    assert_int_equal(w.woke, 600); /* E at now + T1 */
    int n = w.nwake;
    r = req_text("OPTIONS", "z9hG4bKw2", "127.0.0.1:5070", "UDP");
    assert_int_equal(sip_txn_client_start(tl, r, strlen(r), &dst, NULL, NULL), 0);
    assert_int_equal(w.nwake, n); /* same deadline: no wake */
    sip_txn_layer_free(tl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer_heap),
        cmocka_unit_test(test_client_invite_timer_a_b),
        cmocka_unit_test(test_client_invite_1xx_stops_retransmission),
        cmocka_unit_test(test_client_invite_non_2xx_ack_timer_d),
        cmocka_unit_test(test_client_invite_2xx_accepted_timer_m),
        cmocka_unit_test(test_client_invite_tcp_no_retransmit),
        cmocka_unit_test(test_client_invite_tcp_timer_b),
        cmocka_unit_test(test_client_non_invite_timer_e_f),
        cmocka_unit_test(test_client_non_invite_proceeding_timer_k),
        cmocka_unit_test(test_client_non_invite_tcp_k_zero),
        cmocka_unit_test(test_client_configured_timers),
        cmocka_unit_test(test_server_invite_absorb_g_ack_i),
        cmocka_unit_test(test_server_invite_timer_h),
        cmocka_unit_test(test_server_invite_2xx_accepted_timer_l),
        cmocka_unit_test(test_server_invite_tcp),
        cmocka_unit_test(test_server_non_invite_timer_j),
        cmocka_unit_test(test_server_non_invite_tcp_j_zero),
        cmocka_unit_test(test_match_client),
        cmocka_unit_test(test_match_server),
        cmocka_unit_test(test_match_rfc2543_refused),
        cmocka_unit_test(test_stale_id),
        cmocka_unit_test(test_transport_error),
        cmocka_unit_test(test_table_full),
        cmocka_unit_test(test_table_trim),
        cmocka_unit_test(test_branch_new),
        cmocka_unit_test(test_wake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
