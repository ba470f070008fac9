/*
 * ue_offer — where the offer and the answer of an INVITE travel, for mihua peers and for phones that do not speak
 * mihua (DESIGN §2; RFC 3261 §13.2.1, RFC 3262 §5, RFC 3264 §6.1, §8).
 *
 * RFC 3261 §13.2.1: the answer to an INVITE's offer must travel in a reliable response. With 100rel that is the
 * reliable 183 (the mihua shape: the key is agreed in the early dialog, DESIGN §1); without it, only the 2xx, and
 * a 1xx may carry the same answer as a preview (early media). An INVITE without SDP gets the offer in the 2xx and
 * the answer in the ACK. Only the reliable-183 shape can become encrypted; the others are plain calls that must
 * still carry audio both ways.
 *
 * The caller side reads every SDP body in the INVITE's responses through ue_offer_caller_body: the first answer
 * in a reliable response is final; an identical repeat (same o= version, RFC 3264 §8) is not a new offer; an
 * unreliable 1xx's answer is only a preview the 2xx confirms or replaces.
 *
 * Pure functions: the agent keeps the state, the unit tests call these with every combination.
 */
#ifndef MIHUA_UE_OFFER_H
#define MIHUA_UE_OFFER_H

#include <stdbool.h>
#include <stdint.h>

#include "ue_sdp.h"

/* Callee: how the INVITE's offer/answer goes. */
typedef enum {
    UE_OFFER_EARLY_RELIABLE = 0, /* offer in the INVITE, 100rel: answer in the reliable 183, 2xx without SDP */
    UE_OFFER_ANSWER_IN_2XX,      /* offer in the INVITE, no 100rel: the 183 is a preview, the 2xx repeats it */
    UE_OFFER_LATE,               /* no SDP in the INVITE: our offer in the 2xx, the answer in the ACK */
} ue_offer_mode_t;

/* rel100: the INVITE had 100rel in Supported or Require (RFC 3262 §3). */
ue_offer_mode_t ue_offer_callee_mode(bool invite_has_sdp, bool rel100);
/* Whether the 2xx to the INVITE carries SDP (the answer again, or the late offer). */
bool ue_offer_2xx_has_sdp(ue_offer_mode_t mode);
/* Whether a 183 with the answer goes out before ringing (reliably only in UE_OFFER_EARLY_RELIABLE). */
bool ue_offer_sends_183(ue_offer_mode_t mode);
/* Why a call in this mode is plain, or NULL when it may become encrypted. */
const char *ue_offer_plain_reason(ue_offer_mode_t mode);

/* Caller: what to do with the SDP of one response to our INVITE. */
typedef enum {
    UE_OFFER_NO_BODY = 0, /* nothing to read */
    UE_OFFER_TAKE,        /* the answer, final: use its address from now on */
    UE_OFFER_PREVIEW,     /* an unreliable 1xx's answer: usable for early media until the 2xx says */
    UE_OFFER_REPEAT,      /* the final answer again (same o= version): nothing changes */
    UE_OFFER_CONFLICT,    /* a different body after the final answer: not an offer here (RFC 3261 §13.2.1),
                              ignored with a log line */
} ue_offer_action_t;

/* reliable: a 2xx, or a 1xx with Require: 100rel and RSeq. have_final/final_version: the answer taken so far. */
ue_offer_action_t ue_offer_caller_body(bool has_body, bool reliable, bool have_final, uint64_t final_version,
                                       uint64_t body_version);

/* The direction of our answer to an offer of direction `offer` (RFC 3264 §6.1): sendonly -> recvonly,
 * recvonly -> sendonly, inactive -> inactive, sendrecv -> sendrecv. */
ue_sdp_dir_t ue_offer_answer_dir(ue_sdp_dir_t offer);
/* Whether a side whose own SDP says `ours` sends media. */
bool ue_offer_we_send(ue_sdp_dir_t ours);

#endif
