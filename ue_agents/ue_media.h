/*
 * ue_media — one call's audio stream: RTP (RFC 3550) with PCMU (RFC 3551), 20 ms frames of 160 µ-law bytes, sent
 * and received on one UDP socket, and SRTP (RFC 3711 / RFC 7714, lib/srtp) from the first packet when the call is
 * encrypted (DESIGN §1: no media-plane handshake).
 *
 *   ue_media_t *m = ue_media_new(base, "127.0.0.1", err, sizeof err);   // binds a port for the SDP; receives
 *   ue_media_set_remote(m, ip, port);                                     // from the peer's SDP
 *   ue_media_set_srtp(m, suite, &send_master, &recv_master);              // optional; before ue_media_start
 *   ue_media_start(m, &audio, frames, on_done, ud);                       // paced every 20 ms
 *   ue_media_stop(m); ue_media_drain(m);                                  // at BYE
 *   ue_media_stats(m, &st); ue_media_write_wav(m, "in.wav");
 *
 * The receiver keeps what arrived by extended sequence number (RFC 3550 A.1), so the received audio is written in
 * sending order whatever the arrival order; duplicates (and replays, which SRTP refuses) are counted once.
 * Packets that fail to authenticate, or that are not RTP, count as failed and never reach the audio.
 */
#ifndef MIHUA_UE_MEDIA_H
#define MIHUA_UE_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srtp/msrtp.h"
#include "ue_wav.h"

struct event_base;

#define UE_MEDIA_FRAME_MS 20
#define UE_MEDIA_FRAME_BYTES 160  /* 20 ms of 8 kHz µ-law */
#define UE_MEDIA_MAX_PAYLOAD 1024 /* larger RTP payloads (not ours) are counted, not stored */
#define UE_MEDIA_MAX_FRAMES 90000 /* received audio kept: 30 minutes; beyond that packets are counted only */
#define UE_MEDIA_PT_PCMU 0
#define UE_MEDIA_HOLD_MAX 64 /* packets held while keys are agreed: over a second of the peer's audio */

typedef struct {
    uint64_t sent;                     /* RTP/SRTP packets sent */
    uint64_t received;                 /* datagrams received */
    uint64_t authenticated;            /* SRTP packets that authenticated (0 on a plain call) */
    uint64_t failed;                   /* failed authentication or replay check, or not RTP */
    uint64_t audio_frames;             /* distinct frames kept for the received audio */
    uint64_t first_tx_us, first_rx_us; /* CLOCK_MONOTONIC µs of the first packet sent / accepted; 0: none */
    uint8_t sent_sha256[32];           /* SHA-256 of the payload bytes sent, in order */
    uint8_t received_sha256[32];       /* SHA-256 of the payload bytes received, in sequence order */
    size_t sent_bytes, received_bytes;
    bool srtp;
} ue_media_stats_t;

typedef void (*ue_media_done_fn)(void *ud);

typedef struct ue_media ue_media_t;

ue_media_t *ue_media_new(struct event_base *base, const char *ip, char *err, size_t errlen);
uint16_t ue_media_port(const ue_media_t *m);
/* The peer's RTP address (numeric). 0 or -1. */
int ue_media_set_remote(ue_media_t *m, const char *ip, uint16_t port);
/* Turns on SRTP: contexts for both directions. The masters are not kept. 0 or -1. */
int ue_media_set_srtp(ue_media_t *m, msrtp_suite_t suite, const msrtp_master_t *send, const msrtp_master_t *recv);
/* While the keys are being agreed, packets that arrive are held (up to UE_MEDIA_HOLD_MAX, copied) instead of
 * being judged with contexts that do not exist yet: the peer may start sending as soon as it has answered, and
 * its first packet can be read here before the SIP answer that carries the key sync. Release processes them
 * with whatever contexts are set by then. */
void ue_media_hold(ue_media_t *m);
void ue_media_release(ue_media_t *m);

/* Starts sending src (borrowed, looped) every 20 ms: `frames` frames then on_done (0: until ue_media_stop).
 * The first packet leaves at once. 0 or -1. */
int ue_media_start(ue_media_t *m, const ue_audio_t *src, uint64_t frames, ue_media_done_fn on_done, void *ud);
void ue_media_stop(ue_media_t *m);
/* Hold (RFC 3264 §8.4): while paused the 20 ms clock and the frame count go on but no packet is sent, so a call
 * of N seconds still ends after N seconds; receiving is unaffected. */
void ue_media_pause(ue_media_t *m, bool paused);
/* Reads every datagram already queued on the socket (what the peer sent before its BYE or 200). */
void ue_media_drain(ue_media_t *m);
void ue_media_stats(const ue_media_t *m, ue_media_stats_t *out);
/* The received audio, in sequence order, as a µ-law WAV. 0 or -1. */
int ue_media_write_wav(const ue_media_t *m, const char *path);
void ue_media_free(ue_media_t *m);

/* CLOCK_MONOTONIC in µs (shared by the agent's timestamps). */
uint64_t ue_now_us(void);

#endif
