/*
 * ue_ladder — recording and drawing a call's ladder (ue_ladder.h).
 *
 * Three lifelines at fixed columns; an arrow spans from this UE's column to the peer's (the KMS arrow crosses the
 * AS lifeline, drawn as '+'), with its label inside it, cut to fit. Media events are drawn with '=' to the right
 * margin: media goes UE to UE, around the AS.
 */
#include "ue_ladder.h"

#include <stdarg.h>
#include <string.h>

#include "sip/sip_voenc.h"

#define COL_UE 9 /* lifeline columns: room for a 183's label on its arrow */
#define COL_AS 66
#define COL_KMS 94
#define LINE_MAX 128

void ue_ladder_init(ue_ladder_t *l, uint64_t t0_us)
{
    memset(l, 0, sizeof *l);
    l->t0_us = t0_us;
}

void ue_ladder_add(ue_ladder_t *l, uint64_t now_us, bool out, ue_peer_t peer, const char *fmt, ...)
{
    if (l->n >= UE_LADDER_MAX_EVENTS) {
        l->dropped++;
        return;
    }
    ue_ladder_event_t *e = &l->ev[l->n++];
    e->t_us = now_us >= l->t0_us ? now_us - l->t0_us : 0;
    e->out = out;
    e->peer = peer;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->label, sizeof e->label, fmt, ap);
    va_end(ap);
}

/* Appends ", <what>" (or " (<what>" for the first) to a label being built. */
static void note(char *buf, size_t cap, bool *first, const char *what)
{
    size_t n = strlen(buf);
    if (snprintf(buf + n, cap - n, "%s%s", *first ? " (" : ", ", what) >= (int)(cap - n))
        buf[cap - 1] = '\0'; /* a cut label is fine: the ladder draws labels cut to their arrow anyway */
    *first = false;
}

static void sdp_notes(sip_msg_t *msg, char *buf, size_t cap, bool *first)
{
    sip_str_t b = msg->body;
    if (!b.s || b.len == 0)
        return;
    int ncrypto = 0;
    const char *proto = NULL;
    for (int i = 0; i + 8 <= b.len; i++) {
        if (memcmp(b.s + i, "RTP/SAVP", 8) == 0)
            proto = "SDP RTP/SAVP";
        else if (!proto && memcmp(b.s + i, "RTP/AVP", 7) == 0)
            proto = "SDP RTP/AVP";
        ncrypto += memcmp(b.s + i, "a=crypto", 8) == 0;
    }
    note(buf, cap, first, proto ? proto : "SDP");
    if (ncrypto) {
        char c[32];
        snprintf(c, sizeof c, "%d a=crypto", ncrypto);
        note(buf, cap, first, c);
    }
}

void ue_ladder_add_sip(ue_ladder_t *l, uint64_t now_us, bool out, sip_msg_t *msg)
{
    char buf[UE_LADDER_LABEL_MAX], tmp[64], why[SIP_VOENC_REASON_MAX];
    bool first = true;
    if (sip_parse_headers(msg, SIP_HF_ALL) != SIP_OK)
        return;
    sip_str_copy(msg->is_request ? msg->method_str : msg->first_line, buf, sizeof buf);
    if (!msg->is_request) /* "SIP/2.0 183 Session Progress" -> "183 Session Progress" */
        memmove(buf, buf + 8, strlen(buf + 8) + 1);
    if (sip_voenc_tagged(msg))
        note(buf, sizeof buf, &first, SIP_VOENC_FEATURE);
    if (sip_tokens_has(&msg->require, "100rel") && msg->rseq) {
        snprintf(tmp, sizeof tmp, "RSeq %u", msg->rseq); /* RSeq with Require: 100rel = reliable */
        note(buf, sizeof buf, &first, tmp);
    }
    if (msg->rack.present) {
        snprintf(tmp, sizeof tmp, "RAck %u", msg->rack.rseq);
        note(buf, sizeof buf, &first, tmp);
    }
    sdp_notes(msg, buf, sizeof buf, &first);
    if (!msg->is_request && sip_voenc_warning_reason(msg, why, sizeof why) == 0)
        note(buf, sizeof buf, &first, why);
    if (!first)
        strncat(buf, ")", sizeof buf - strlen(buf) - 1);
    ue_ladder_add(l, now_us, out, UE_PEER_AS, "%s", buf);
}

/* ---------------------------------------------------------------- drawing */

static void put(char *line, int col, const char *s, int max)
{
    int n = (int)strlen(s);
    if (n > max)
        n = max;
    memcpy(line + col, s, (size_t)n);
}

static void draw_event(const ue_ladder_event_t *e, FILE *f)
{
    char line[LINE_MAX];
    memset(line, ' ', sizeof line);
    line[COL_UE] = line[COL_AS] = line[COL_KMS] = '|';
    int to = e->peer == UE_PEER_AS ? COL_AS : COL_KMS;
    if (e->peer == UE_PEER_MEDIA) {
        to = COL_KMS + 12;
        memset(line + COL_UE + 1, '=', (size_t)(to - COL_UE - 1));
    } else {
        memset(line + COL_UE + 1, '-', (size_t)(to - COL_UE - 1));
        if (e->peer == UE_PEER_KMS)
            line[COL_AS] = '+';
    }
    if (e->out)
        line[to - 1] = '>';
    else
        line[COL_UE + 1] = '<';
    int room = to - COL_UE - 5, len = (int)strlen(e->label);
    if (len > room)
        len = room;
    int start = e->out ? COL_UE + 3 : to - 2 - len;
    put(line, start, e->label, len);
    char t[16];
    snprintf(t, sizeof t, "%8.3f", (double)e->t_us / 1000.0);
    memcpy(line, t, 8);
    fprintf(f, "%.*s\n", e->peer == UE_PEER_MEDIA ? to + 1 : COL_KMS + 1, line);
}

void ue_ladder_print(const ue_ladder_t *l, FILE *f, const char *self, const char *as, const char *kms)
{
    char head[LINE_MAX + 64];
    memset(head, ' ', sizeof head);
    memcpy(head + 4, "ms", 2);
    put(head, COL_UE, self, COL_AS - COL_UE - 2);
    put(head, COL_AS, as, COL_KMS - COL_AS - 2);
    put(head, COL_KMS, kms, 40);
    int end = (int)sizeof head;
    while (end > 0 && head[end - 1] == ' ')
        end--;
    fprintf(f, "%.*s\n", end, head);
    for (int i = 0; i < l->n; i++)
        draw_event(&l->ev[i], f);
    if (l->dropped)
        fprintf(f, "          (%d more events not drawn)\n", l->dropped);
}
