/*
 * ue_ladder — the SIP ladder of one call as an ASCII sequence diagram with timestamps (the view sngrep or
 * Wireshark's "Flow Sequence" gives), as this UE saw it: its messages to and from the AS, its requests to the KMS,
 * and the media it sent and received.
 *
 *      ms  caller sip:+15550000001@ims...   AS 127.0.0.1:5060             KMS 127.0.0.1:7702
 *   0.000  |--INVITE (+u.mihua.voenc, SDP RTP/AVP)-->|                              |
 *  23.104  |<---------183 Session Progress (100rel)--|                              |
 *  23.430  |--POST session-keys------------------------------------------------->|
 *
 * Events are recorded as they happen (a fixed table: recording never allocates or fails loudly; events beyond
 * UE_LADDER_MAX_EVENTS are counted and reported) and rendered once, at the end of the call.
 */
#ifndef MIHUA_UE_LADDER_H
#define MIHUA_UE_LADDER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sip/sip_msg.h"

#define UE_LADDER_MAX_EVENTS 64 /* a call has ~20 messages; retransmissions beyond that are counted only */
#define UE_LADDER_LABEL_MAX 96

typedef enum { UE_PEER_AS = 0, UE_PEER_KMS, UE_PEER_MEDIA } ue_peer_t;

typedef struct {
    uint64_t t_us; /* since the ladder's start */
    bool out;      /* sent by this UE */
    ue_peer_t peer;
    char label[UE_LADDER_LABEL_MAX];
} ue_ladder_event_t;

typedef struct {
    uint64_t t0_us; /* monotonic time of the first event */
    ue_ladder_event_t ev[UE_LADDER_MAX_EVENTS];
    int n;
    int dropped;
} ue_ladder_t;

void ue_ladder_init(ue_ladder_t *l, uint64_t t0_us);
void ue_ladder_add(ue_ladder_t *l, uint64_t now_us, bool out, ue_peer_t peer, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* A SIP message as a label: the method or status line, then what matters to mihua: the feature tag, 100rel and
 * RSeq/RAck, the SDP profile and its crypto lines, an AS Warning. */
void ue_ladder_add_sip(ue_ladder_t *l, uint64_t now_us, bool out, sip_msg_t *msg);
/* Renders the diagram; names head the three columns (this UE, the AS, the KMS). */
void ue_ladder_print(const ue_ladder_t *l, FILE *f, const char *self, const char *as, const char *kms);

#endif
