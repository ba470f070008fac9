/*
 * msrtp_window — SRTP packet index estimation (RFC 3711 §3.3.1 and Appendix A) and the replay list (§3.3.2).
 *
 * The state is the highest accepted index (ROC || s_l, 48 bits) and a 64-bit bitmap of the indices below it. The
 * estimate follows Appendix A: with s_l < 2^15 a sequence number more than 2^15 above s_l belongs to ROC - 1,
 * otherwise with s_l >= 2^15 one more than 2^15 below s_l belongs to ROC + 1. A guess below index 0 (ROC - 1 while
 * ROC = 0) is a replay/too-old packet, one at or above 2^48 means the key is spent. The first packet of a stream
 * starts at ROC 0 (RFC 3711 §3.3.1: ROC is 0 when the stream starts). The same window serves SRTCP with the
 * explicit 31-bit index. Updates happen only after authentication (§3.3: "update ... only after ... authenticated").
 */
#include "srtp/msrtp_internal.h"

#define SEQ_HALF 32768u    /* 2^15: half the sequence number space */
#define SEQ_SPACE 65536ull /* 2^16 */

int msrtp_rtp_index_guess(const msrtp_window_t *w, uint16_t seq, uint64_t *index)
{
    if (!w->started) {
        *index = seq;
        return MSRTP_OK;
    }
    uint64_t roc = w->top >> 16;
    uint32_t s_l = (uint32_t)(w->top & 0xffff);
    int64_t v = (int64_t)roc;

    if (s_l < SEQ_HALF) {
        if (seq > s_l && seq - s_l > SEQ_HALF)
            v = (int64_t)roc - 1;
    } else if (s_l - SEQ_HALF > seq) {
        v = (int64_t)roc + 1;
    }
    if (v < 0)
        return MSRTP_ERR_REPLAY;
    uint64_t guess = (uint64_t)v * SEQ_SPACE + seq;
    if (guess >= MSRTP_RTP_INDEX_LIMIT)
        return MSRTP_ERR_EXHAUSTED;
    *index = guess;
    return MSRTP_OK;
}

int msrtp_window_check(const msrtp_window_t *w, uint64_t index)
{
    if (!w->started || index > w->top)
        return MSRTP_OK;
    uint64_t delta = w->top - index;
    if (delta >= MSRTP_REPLAY_WINDOW)
        return MSRTP_ERR_REPLAY;
    return (w->bitmap >> delta) & 1 ? MSRTP_ERR_REPLAY : MSRTP_OK;
}

void msrtp_window_update(msrtp_window_t *w, uint64_t index)
{
    if (!w->started) {
        w->started = 1;
        w->top = index;
        w->bitmap = 1;
        return;
    }
    if (index > w->top) {
        uint64_t shift = index - w->top;
        w->bitmap = shift >= MSRTP_REPLAY_WINDOW ? 0 : w->bitmap << shift;
        w->bitmap |= 1;
        w->top = index;
        return;
    }
    uint64_t delta = w->top - index;
    if (delta < MSRTP_REPLAY_WINDOW)
        w->bitmap |= 1ull << delta;
}
