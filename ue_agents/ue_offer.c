/*
 * ue_offer — offer/answer placement and direction rules (ue_offer.h; RFC 3261 §13.2.1, RFC 3262, RFC 3264).
 */
#include "ue_offer.h"

#include <stddef.h>

ue_offer_mode_t ue_offer_callee_mode(bool invite_has_sdp, bool rel100)
{
    if (!invite_has_sdp)
        return UE_OFFER_LATE;
    return rel100 ? UE_OFFER_EARLY_RELIABLE : UE_OFFER_ANSWER_IN_2XX;
}

bool ue_offer_2xx_has_sdp(ue_offer_mode_t mode)
{
    return mode != UE_OFFER_EARLY_RELIABLE;
}

/* A late offer has no answer to preview: the 183 would be empty, the 180 says enough. */
bool ue_offer_sends_183(ue_offer_mode_t mode)
{
    return mode != UE_OFFER_LATE;
}

const char *ue_offer_plain_reason(ue_offer_mode_t mode)
{
    switch (mode) {
    case UE_OFFER_LATE:
        return "caller sent no SDP offer (answer in the ACK)";
    case UE_OFFER_ANSWER_IN_2XX:
        return "caller did not use 100rel (answer in the 200 OK)";
    case UE_OFFER_EARLY_RELIABLE:
        break;
    }
    return NULL;
}

ue_offer_action_t ue_offer_caller_body(bool has_body, bool reliable, bool have_final, uint64_t final_version,
                                       uint64_t body_version)
{
    if (!has_body)
        return UE_OFFER_NO_BODY;
    if (have_final)
        return body_version == final_version ? UE_OFFER_REPEAT : UE_OFFER_CONFLICT;
    return reliable ? UE_OFFER_TAKE : UE_OFFER_PREVIEW;
}

ue_sdp_dir_t ue_offer_answer_dir(ue_sdp_dir_t offer)
{
    switch (offer) {
    case UE_SDP_SENDONLY:
        return UE_SDP_RECVONLY;
    case UE_SDP_RECVONLY:
        return UE_SDP_SENDONLY;
    case UE_SDP_INACTIVE:
        return UE_SDP_INACTIVE;
    case UE_SDP_SENDRECV:
        break;
    }
    return UE_SDP_SENDRECV;
}

bool ue_offer_we_send(ue_sdp_dir_t ours)
{
    return ours == UE_SDP_SENDRECV || ours == UE_SDP_SENDONLY;
}
