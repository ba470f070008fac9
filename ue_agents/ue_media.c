/*
 * ue_media — RTP/SRTP send and receive for one call (ue_media.h).
 *
 * Sending is a 20 ms persistent libevent timer; each tick builds one RTP packet in a stack buffer with room for the
 * SRTP tag, protects it in place and sends it: no allocation per packet. Receiving reads up to MEDIA_RX_BATCH
 * datagrams per readiness event, unprotects in place, and files the payload under its extended sequence number
 * in a slot table over one growing byte arena, so the audio can be written in order at the end.
 */
#include "ue_media.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RTP_HDR 12
#define MEDIA_RX_BATCH 64         /* datagrams per readiness event, so one stream cannot starve the loop */
#define MEDIA_RCVBUF (256 * 1024) /* a few seconds of one stream: survives a slow loop turn */
#define MEDIA_PKT_MAX (RTP_HDR + UE_MEDIA_FRAME_BYTES + MSRTP_MAX_RTP_TRAILER)
#define MEDIA_HELD_MAX 1500 /* a held packet larger than an Ethernet frame is not audio we expect */

typedef struct {
    uint32_t off; /* in the arena */
    uint16_t len;
    uint8_t filled;
} media_slot_t;

struct ue_media {
    struct event_base *base;
    int fd;
    uint16_t port;
    struct event *rx_ev, *tx_ev;
    struct sockaddr_storage remote;
    socklen_t remote_len;
    msrtp_ctx_t *tx, *rx;

    /* sending */
    const ue_audio_t *src;
    size_t src_off;
    uint64_t frames_left; /* 0 with unlimited: until stopped */
    bool unlimited, sending;
    bool paused; /* on hold (our SDP says recvonly/inactive): the clock runs, nothing leaves */
    uint16_t seq;
    uint32_t ts, ssrc;
    EVP_MD_CTX *sent_md;
    ue_media_done_fn on_done;
    void *ud;

    /* receiving */
    bool have_first;
    uint64_t first_ext, max_ext;
    media_slot_t *slots;
    size_t nslots, slots_cap;
    uint8_t *arena;
    size_t arena_len, arena_cap;
    /* held while keys are agreed */
    bool holding;
    uint8_t *held; /* UE_MEDIA_HOLD_MAX slots of MEDIA_HELD_MAX bytes */
    size_t held_len[UE_MEDIA_HOLD_MAX];
    size_t nheld;

    ue_media_stats_t st;
};

uint64_t ue_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void on_rx(evutil_socket_t fd, short what, void *arg);

static int media_bind(ue_media_t *m, const char *ip)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        len = sizeof *a4;
    } else if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        len = sizeof *a6;
    } else {
        return -1;
    }
    int buf = MEDIA_RCVBUF;
    m->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf) != 0 ||
        bind(m->fd, (struct sockaddr *)&ss, len) != 0 || getsockname(m->fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    m->port = ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port);
    return 0;
}

ue_media_t *ue_media_new(struct event_base *base, const char *ip, char *err, size_t errlen)
{
    ue_media_t *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->base = base;
    m->fd = -1;
    if (media_bind(m, ip) != 0) {
        snprintf(err, errlen, "cannot bind an RTP port on %s: %s", ip, strerror(errno));
    } else if (RAND_bytes((uint8_t *)&m->ssrc, sizeof m->ssrc) != 1 ||
               RAND_bytes((uint8_t *)&m->seq, sizeof m->seq) != 1 || RAND_bytes((uint8_t *)&m->ts, sizeof m->ts) != 1 ||
               !(m->sent_md = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(m->sent_md, EVP_sha256(), NULL)) {
        snprintf(err, errlen, "OpenSSL random or SHA-256 failed");
    } else if (!(m->rx_ev = event_new(base, m->fd, EV_READ | EV_PERSIST, on_rx, m)) || event_add(m->rx_ev, NULL) != 0) {
        snprintf(err, errlen, "cannot watch the RTP socket");
    } else {
        return m;
    }
    ue_media_free(m);
    return NULL;
}

uint16_t ue_media_port(const ue_media_t *m)
{
    return m->port;
}

int ue_media_set_remote(ue_media_t *m, const char *ip, uint16_t port)
{
    struct sockaddr_in *a4 = (struct sockaddr_in *)&m->remote;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&m->remote;
    memset(&m->remote, 0, sizeof m->remote);
    if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        m->remote_len = sizeof *a4;
    } else if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        m->remote_len = sizeof *a6;
    } else {
        m->remote_len = 0;
        return -1;
    }
    return 0;
}

int ue_media_set_srtp(ue_media_t *m, msrtp_suite_t suite, const msrtp_master_t *send, const msrtp_master_t *recv)
{
    msrtp_ctx_free(m->tx);
    msrtp_ctx_free(m->rx);
    m->tx = msrtp_ctx_new(suite, MSRTP_ROLE_SEND, send);
    m->rx = msrtp_ctx_new(suite, MSRTP_ROLE_RECV, recv);
    m->st.srtp = m->tx && m->rx;
    if (!m->st.srtp) {
        msrtp_ctx_free(m->tx);
        msrtp_ctx_free(m->rx);
        m->tx = m->rx = NULL;
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- sending */

static void put_rtp_header(ue_media_t *m, uint8_t *p, bool marker)
{
    p[0] = 0x80; /* V=2, no padding, no extension, no CSRC */
    p[1] = (uint8_t)((marker ? 0x80 : 0) | UE_MEDIA_PT_PCMU);
    p[2] = (uint8_t)(m->seq >> 8), p[3] = (uint8_t)m->seq;
    p[4] = (uint8_t)(m->ts >> 24), p[5] = (uint8_t)(m->ts >> 16), p[6] = (uint8_t)(m->ts >> 8), p[7] = (uint8_t)m->ts;
    p[8] = (uint8_t)(m->ssrc >> 24), p[9] = (uint8_t)(m->ssrc >> 16), p[10] = (uint8_t)(m->ssrc >> 8);
    p[11] = (uint8_t)m->ssrc;
}

/* Copies the next frame of the looped source. */
static void next_frame(ue_media_t *m, uint8_t *out)
{
    for (size_t i = 0; i < UE_MEDIA_FRAME_BYTES; i++) {
        out[i] = m->src->data[m->src_off++];
        if (m->src_off == m->src->len)
            m->src_off = 0;
    }
}

static void send_frame(ue_media_t *m)
{
    uint8_t pkt[MEDIA_PKT_MAX];
    size_t len = RTP_HDR + UE_MEDIA_FRAME_BYTES;
    put_rtp_header(m, pkt, m->st.sent == 0);
    next_frame(m, pkt + RTP_HDR);
    EVP_DigestUpdate(m->sent_md, pkt + RTP_HDR, UE_MEDIA_FRAME_BYTES);
    m->st.sent_bytes += UE_MEDIA_FRAME_BYTES;
    m->seq++;
    m->ts += UE_MEDIA_FRAME_BYTES; /* one sample per byte at 8 kHz */
    if (m->tx && msrtp_protect(m->tx, pkt, len, sizeof pkt, &len) != MSRTP_OK)
        return; /* cannot happen with our buffer and key lifetime; the frame is lost, counted as not sent */
    if (sendto(m->fd, pkt, len, 0, (struct sockaddr *)&m->remote, m->remote_len) == (ssize_t)len) {
        if (m->st.sent++ == 0)
            m->st.first_tx_us = ue_now_us();
    }
}

static void on_tx(evutil_socket_t fd, short what, void *arg)
{
    ue_media_t *m = arg;
    (void)fd, (void)what;
    if (!m->sending)
        return;
    if (!m->paused)
        send_frame(m);
    if (!m->unlimited && --m->frames_left == 0) {
        ue_media_done_fn cb = m->on_done;
        void *ud = m->ud;
        ue_media_stop(m);
        if (cb)
            cb(ud); /* may free m: nothing touches it after this */
    }
}

int ue_media_start(ue_media_t *m, const ue_audio_t *src, uint64_t frames, ue_media_done_fn on_done, void *ud)
{
    struct timeval tv = {0, UE_MEDIA_FRAME_MS * 1000};
    if (!src || src->len < UE_MEDIA_FRAME_BYTES || m->remote_len == 0 || m->sending)
        return -1;
    m->src = src;
    m->frames_left = frames;
    m->unlimited = frames == 0;
    m->on_done = on_done;
    m->ud = ud;
    if (!m->tx_ev && !(m->tx_ev = event_new(m->base, -1, EV_PERSIST, on_tx, m)))
        return -1;
    if (event_add(m->tx_ev, &tv) != 0)
        return -1;
    m->sending = true;
    event_active(m->tx_ev, EV_TIMEOUT, 0); /* the first packet now, not 20 ms after the answer */
    return 0;
}

void ue_media_pause(ue_media_t *m, bool paused)
{
    m->paused = paused;
}

void ue_media_stop(ue_media_t *m)
{
    m->sending = false;
    if (m->tx_ev)
        event_del(m->tx_ev);
}

/* ---------------------------------------------------------------- receiving */

/* RFC 3550 A.1 in short: the 64-bit index of seq closest to the highest seen. */
static uint64_t extend_seq(ue_media_t *m, uint16_t seq)
{
    if (!m->have_first) {
        m->have_first = true;
        m->first_ext = m->max_ext = (1u << 16) | seq; /* one cycle of headroom for packets before the first */
        return m->max_ext;
    }
    uint64_t ext = (m->max_ext & ~(uint64_t)0xffff) | seq;
    if (ext > m->max_ext && ext - m->max_ext > 0x8000)
        ext -= 0x10000;
    else if (ext < m->max_ext && m->max_ext - ext > 0x8000)
        ext += 0x10000;
    if (ext > m->max_ext)
        m->max_ext = ext;
    return ext;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return -1;
    memset((char *)q + *cap * elem, 0, (n - *cap) * elem);
    *p = q;
    *cap = n;
    return 0;
}

static void keep_payload(ue_media_t *m, uint16_t seq, const uint8_t *pl, size_t len)
{
    uint64_t ext = extend_seq(m, seq);
    if (ext < m->first_ext || ext - m->first_ext >= UE_MEDIA_MAX_FRAMES || len > UE_MEDIA_MAX_PAYLOAD)
        return;
    size_t idx = (size_t)(ext - m->first_ext);
    if (grow((void **)&m->slots, &m->slots_cap, idx + 1, sizeof *m->slots) != 0 ||
        (!m->slots[idx].filled && grow((void **)&m->arena, &m->arena_cap, m->arena_len + len, 1) != 0))
        return;
    media_slot_t *s = &m->slots[idx];
    if (s->filled)
        return; /* a duplicate (plain RTP has no replay check) */
    memcpy(m->arena + m->arena_len, pl, len);
    *s = (media_slot_t){(uint32_t)m->arena_len, (uint16_t)len, 1};
    m->arena_len += len;
    if (idx + 1 > m->nslots)
        m->nslots = idx + 1;
    m->st.audio_frames++;
}

/* RTP header (RFC 3550 §5.1) -> payload; -1 when not RTP version 2. */
static int rtp_payload(uint8_t *p, size_t len, uint16_t *seq, const uint8_t **pl, size_t *pl_len)
{
    if (len < RTP_HDR || (p[0] >> 6) != 2)
        return -1;
    size_t off = RTP_HDR + 4u * (p[0] & 0x0f);
    if (off > len)
        return -1;
    if (p[0] & 0x10) { /* header extension */
        if (off + 4 > len)
            return -1;
        off += 4 + 4u * (size_t)(p[off + 2] << 8 | p[off + 3]);
        if (off > len)
            return -1;
    }
    size_t pad = (p[0] & 0x20) ? p[len - 1] : 0;
    if (pad > len - off)
        return -1;
    *seq = (uint16_t)(p[2] << 8 | p[3]);
    *pl = p + off;
    *pl_len = len - off - pad;
    return 0;
}

static void receive_one(ue_media_t *m, uint8_t *pkt, size_t len)
{
    uint16_t seq;
    const uint8_t *pl;
    size_t pl_len;
    if (m->holding && len <= MEDIA_HELD_MAX && m->nheld < UE_MEDIA_HOLD_MAX &&
        (m->held || (m->held = malloc((size_t)UE_MEDIA_HOLD_MAX * MEDIA_HELD_MAX)))) {
        memcpy(m->held + m->nheld * MEDIA_HELD_MAX, pkt, len);
        m->held_len[m->nheld++] = len;
        return;
    }
    m->st.received++;
    if (m->rx) {
        if (msrtp_unprotect(m->rx, pkt, len, &len) != MSRTP_OK) {
            m->st.failed++;
            return;
        }
        m->st.authenticated++;
    }
    if (rtp_payload(pkt, len, &seq, &pl, &pl_len) != 0) {
        m->st.failed++;
        return;
    }
    if (m->st.first_rx_us == 0)
        m->st.first_rx_us = ue_now_us();
    keep_payload(m, seq, pl, pl_len);
}

void ue_media_hold(ue_media_t *m)
{
    m->holding = true;
}

void ue_media_release(ue_media_t *m)
{
    m->holding = false;
    for (size_t i = 0; i < m->nheld; i++)
        receive_one(m, m->held + i * MEDIA_HELD_MAX, m->held_len[i]);
    m->nheld = 0;
}

void ue_media_drain(ue_media_t *m)
{
    uint8_t pkt[MSRTP_MAX_PACKET_LEN];
    for (int i = 0; i < MEDIA_RX_BATCH * 64; i++) {
        ssize_t n = recv(m->fd, pkt, sizeof pkt, 0);
        if (n < 0)
            return; /* EAGAIN: nothing more queued */
        receive_one(m, pkt, (size_t)n);
    }
}

static void on_rx(evutil_socket_t fd, short what, void *arg)
{
    ue_media_t *m = arg;
    uint8_t pkt[MSRTP_MAX_PACKET_LEN];
    (void)what;
    for (int i = 0; i < MEDIA_RX_BATCH; i++) {
        ssize_t n = recv(fd, pkt, sizeof pkt, 0);
        if (n < 0)
            return;
        receive_one(m, pkt, (size_t)n);
    }
}

/* ---------------------------------------------------------------- results */

void ue_media_stats(const ue_media_t *m, ue_media_stats_t *out)
{
    *out = m->st;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c && EVP_MD_CTX_copy_ex(c, m->sent_md))
        EVP_DigestFinal_ex(c, out->sent_sha256, NULL);
    if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
        for (size_t i = 0; i < m->nslots; i++)
            if (m->slots[i].filled) {
                EVP_DigestUpdate(c, m->arena + m->slots[i].off, m->slots[i].len);
                out->received_bytes += m->slots[i].len;
            }
        EVP_DigestFinal_ex(c, out->received_sha256, NULL);
    }
    EVP_MD_CTX_free(c);
}

int ue_media_write_wav(const ue_media_t *m, const char *path)
{
    uint8_t *audio = malloc(m->arena_len ? m->arena_len : 1);
    size_t n = 0;
    if (!audio)
        return -1;
    for (size_t i = 0; i < m->nslots; i++)
        if (m->slots[i].filled) {
            memcpy(audio + n, m->arena + m->slots[i].off, m->slots[i].len);
            n += m->slots[i].len;
        }
    int rc = ue_wav_write(path, audio, n);
    free(audio);
    return rc;
}

void ue_media_free(ue_media_t *m)
{
    if (!m)
        return;
    if (m->rx_ev)
        event_free(m->rx_ev);
    if (m->tx_ev)
        event_free(m->tx_ev);
    if (m->fd >= 0)
        close(m->fd);
    msrtp_ctx_free(m->tx);
    msrtp_ctx_free(m->rx);
    EVP_MD_CTX_free(m->sent_md);
    free(m->slots);
    free(m->arena);
    free(m->held);
    free(m);
}
