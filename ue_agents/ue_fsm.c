/*
 * ue_fsm — the UE call's state machines as tables (ue_fsm.h; RFC 3261 §9, §13, §15, RFC 3262, RFC 3311;
 * DESIGN §1, §2). ue_caller.c and ue_callee.c look an event up here, act, and take the new state.
 *
 * Caller, dialog:
 *
 *   INVITING --1xx, no To tag--> PROCEEDING --1xx with To tag--> EARLY          (INVITING --1xx with tag--> EARLY)
 *   INVITING --407 (AS challenge)--> INVITING: the INVITE again with Proxy-Authorization, once
 *   INVITING | PROCEEDING | EARLY --2xx--> CONFIRMED: ACK, media          (CONFIRMED | ENDING --2xx--> ACK again)
 *   INVITING | PROCEEDING | EARLY | CANCELLING --300-699--> ENDED
 *   INVITING --give up--> ENDED (no CANCEL before a provisional, §9.1)
 *   PROCEEDING | EARLY --give up--> CANCELLING --487--> ENDED;   CANCELLING --give up--> ENDED
 *   CANCELLING --1xx--> CANCELLING (an early dialog may still open: its reliable 1xx is PRACKed)
 *   CANCELLING --2xx--> CONFIRMED: ACK, then at once --hang up--> ENDING (§9.1: the CANCEL lost the race)
 *   CONFIRMED --hang up (BYE)--> ENDING --BYE answered--> ENDED
 *
 * Callee, dialog (the entry is the INVITE: a reliable 183 opens EARLY_UNACKED; without 100rel EARLY rings at once):
 *
 *   EARLY_UNACKED --PRACK--> EARLY --ring--> RINGING --answer--> ANSWERED --ACK--> CONFIRMED
 *   EARLY_UNACKED --ring--> RINGING        (the key offer overtook the PRACK on UDP; its PRACK still stops the
 *   RINGING --PRACK--> RINGING              183's retransmissions)
 *   EARLY_UNACKED | EARLY | RINGING --CANCEL, hang up, no PRACK (64*T1)--> ENDED (487, 480, 500)
 *   ANSWERED | CONFIRMED --hang up (BYE; no ACK within 64*T1)--> ENDING --BYE answered--> ENDED
 *
 * Both: any state but ENDED --end (BYE received or answered, transport error, agent stopped)--> ENDED.
 *
 * Caller, key agreement (starts UNDECIDED when the INVITE carried the tag, OFF otherwise):
 *
 *   UNDECIDED --tagged reliable 183--> FETCHING (KMS issue, overlapping the PRACK round trip)
 *   UNDECIDED --untagged, unreliable or 2xx first--> PLAIN
 *   FETCHING --PRACK 2xx--> FETCHING_PRACKED --key--> READY
 *   FETCHING --key--> HELD --PRACK 2xx--> READY --UPDATE sent (early dialog only)--> OFFERED
 *   OFFERED --200 with one of our a=crypto lines, SRTP up--> SYNCED
 *   FETCHING | FETCHING_PRACKED --no key--> PLAIN;  READY | OFFERED --failed--> PLAIN
 *   HELD | READY | OFFERED --INVITE answered 2xx--> PLAIN (the key agreement belongs to the early dialog)
 *
 * Callee, key agreement (starts AWAIT_OFFER when our 183 carries the tag, OFF otherwise):
 *
 *   OFF | AWAIT_OFFER --UPDATE we can take--> FETCHING (KMS retrieve) --key, SRTP up--> SYNCED (200)
 *   OFF | AWAIT_OFFER --UPDATE refused, no offer in time--> PLAIN;  FETCHING --no key, failed--> PLAIN (488)
 *
 * What stays a boolean in ue_call_t is orthogonal to both machines: what the peer supports (100rel), facts for
 * the summary (hung up by us), the offer/answer bookkeeping of ue_offer.h, the one Proxy-Authorization retry, a
 * KMS DELETE that outlives the dialog, and a re-INVITE's own transaction (ue_reinvite.c).
 */
#include "ue_fsm.h"

#include <stddef.h>

#define ROWS(t) (int)(sizeof(t) / sizeof(t)[0])

static const ue_fsm_row_t CALLER[] = {
    {UE_CS_INVITING, UE_EV_1XX, UE_CS_PROCEEDING, "provisional"},
    {UE_CS_INVITING, UE_EV_1XX_DIALOG, UE_CS_EARLY, "early dialog"},
    {UE_CS_INVITING, UE_EV_2XX, UE_CS_CONFIRMED, "answered"},
    {UE_CS_INVITING, UE_EV_CHALLENGE, UE_CS_INVITING, "INVITE with credentials"},
    {UE_CS_INVITING, UE_EV_REJECTED, UE_CS_ENDED, "rejected"},
    {UE_CS_INVITING, UE_EV_GIVE_UP, UE_CS_ENDED, "given up before any provisional"},
    {UE_CS_PROCEEDING, UE_EV_1XX, UE_CS_PROCEEDING, "provisional"},
    {UE_CS_PROCEEDING, UE_EV_1XX_DIALOG, UE_CS_EARLY, "early dialog"},
    {UE_CS_PROCEEDING, UE_EV_2XX, UE_CS_CONFIRMED, "answered"},
    {UE_CS_PROCEEDING, UE_EV_REJECTED, UE_CS_ENDED, "rejected"},
    {UE_CS_PROCEEDING, UE_EV_GIVE_UP, UE_CS_CANCELLING, "CANCEL"},
    {UE_CS_EARLY, UE_EV_1XX, UE_CS_EARLY, "provisional"},
    {UE_CS_EARLY, UE_EV_1XX_DIALOG, UE_CS_EARLY, "provisional in the early dialog"},
    {UE_CS_EARLY, UE_EV_2XX, UE_CS_CONFIRMED, "answered"},
    {UE_CS_EARLY, UE_EV_REJECTED, UE_CS_ENDED, "rejected"},
    {UE_CS_EARLY, UE_EV_GIVE_UP, UE_CS_CANCELLING, "CANCEL"},
    {UE_CS_CANCELLING, UE_EV_1XX, UE_CS_CANCELLING, "provisional while cancelling"},
    {UE_CS_CANCELLING, UE_EV_1XX_DIALOG, UE_CS_CANCELLING, "provisional while cancelling"},
    {UE_CS_CANCELLING, UE_EV_2XX, UE_CS_CONFIRMED, "answered while cancelling"},
    {UE_CS_CANCELLING, UE_EV_REJECTED, UE_CS_ENDED, "cancelled"},
    {UE_CS_CANCELLING, UE_EV_GIVE_UP, UE_CS_ENDED, "given up while cancelling"},
    {UE_CS_CONFIRMED, UE_EV_2XX, UE_CS_CONFIRMED, "2xx retransmission"},
    {UE_CS_CONFIRMED, UE_EV_HANGUP, UE_CS_ENDING, "BYE"},
    {UE_CS_ENDING, UE_EV_2XX, UE_CS_ENDING, "2xx retransmission"},
};

static const ue_fsm_row_t CALLEE[] = {
    {UE_CS_EARLY_UNACKED, UE_EV_PRACK, UE_CS_EARLY, "183 PRACKed"},
    {UE_CS_EARLY_UNACKED, UE_EV_RING, UE_CS_RINGING, "ringing, 183 not PRACKed yet"},
    {UE_CS_EARLY_UNACKED, UE_EV_CANCELLED, UE_CS_ENDED, "cancelled"},
    {UE_CS_EARLY, UE_EV_RING, UE_CS_RINGING, "ringing"},
    {UE_CS_EARLY, UE_EV_CANCELLED, UE_CS_ENDED, "cancelled"},
    {UE_CS_RINGING, UE_EV_PRACK, UE_CS_RINGING, "late PRACK"},
    {UE_CS_RINGING, UE_EV_ANSWER, UE_CS_ANSWERED, "answered"},
    {UE_CS_RINGING, UE_EV_CANCELLED, UE_CS_ENDED, "cancelled"},
    {UE_CS_ANSWERED, UE_EV_ACK, UE_CS_CONFIRMED, "ACKed"},
    {UE_CS_ANSWERED, UE_EV_HANGUP, UE_CS_ENDING, "BYE"},
    {UE_CS_CONFIRMED, UE_EV_HANGUP, UE_CS_ENDING, "BYE"},
};

static const ue_fsm_row_t CALLER_KEY[] = {
    {UE_KEY_UNDECIDED, UE_KEV_TAGGED, UE_KEY_FETCHING, "KMS issue"},
    {UE_KEY_UNDECIDED, UE_KEV_UNTAGGED, UE_KEY_PLAIN, "no key agreement"},
    {UE_KEY_FETCHING, UE_KEV_PRACKED, UE_KEY_FETCHING_PRACKED, "PRACK answered"},
    {UE_KEY_FETCHING, UE_KEV_KEY, UE_KEY_HELD, "key in hand"},
    {UE_KEY_FETCHING, UE_KEV_NO_KEY, UE_KEY_PLAIN, "no key"},
    {UE_KEY_FETCHING_PRACKED, UE_KEV_KEY, UE_KEY_READY, "key in hand"},
    {UE_KEY_FETCHING_PRACKED, UE_KEV_NO_KEY, UE_KEY_PLAIN, "no key"},
    {UE_KEY_HELD, UE_KEV_PRACKED, UE_KEY_READY, "PRACK answered"},
    {UE_KEY_HELD, UE_KEV_ANSWERED, UE_KEY_PLAIN, "answered before the key offer"},
    {UE_KEY_READY, UE_KEV_OFFER_SENT, UE_KEY_OFFERED, "UPDATE"},
    {UE_KEY_READY, UE_KEV_FAILED, UE_KEY_PLAIN, "UPDATE not sent"},
    {UE_KEY_READY, UE_KEV_ANSWERED, UE_KEY_PLAIN, "answered before the key offer"},
    {UE_KEY_OFFERED, UE_KEV_SYNCED, UE_KEY_SYNCED, "key synchronised"},
    {UE_KEY_OFFERED, UE_KEV_FAILED, UE_KEY_PLAIN, "key offer refused"},
    {UE_KEY_OFFERED, UE_KEV_ANSWERED, UE_KEY_PLAIN, "answered before the key-sync answer"},
};

static const ue_fsm_row_t CALLEE_KEY[] = {
    {UE_KEY_OFF, UE_KEV_OFFER, UE_KEY_FETCHING, "KMS retrieve"},
    {UE_KEY_OFF, UE_KEV_FAILED, UE_KEY_PLAIN, "key offer refused"},
    {UE_KEY_AWAIT_OFFER, UE_KEV_OFFER, UE_KEY_FETCHING, "KMS retrieve"},
    {UE_KEY_AWAIT_OFFER, UE_KEV_FAILED, UE_KEY_PLAIN, "no usable key offer"},
    {UE_KEY_FETCHING, UE_KEV_SYNCED, UE_KEY_SYNCED, "key synchronised"},
    {UE_KEY_FETCHING, UE_KEV_NO_KEY, UE_KEY_PLAIN, "no key"},
    {UE_KEY_FETCHING, UE_KEV_FAILED, UE_KEY_PLAIN, "SRTP not set up"},
};

static const ue_fsm_row_t *lookup(const ue_fsm_row_t *t, int n, int from, int ev)
{
    for (int i = 0; i < n; i++)
        if (t[i].from == from && t[i].ev == ev)
            return &t[i];
    return NULL;
}

/* END is the same in every dialog state of both roles, so it is a rule rather than ten rows per table. */
static const ue_fsm_row_t END = {-1, UE_EV_END, UE_CS_ENDED, "end"};

static const ue_fsm_row_t *dialog_row(const ue_fsm_row_t *t, int n, ue_call_state_t from, ue_call_event_t ev)
{
    if (ev == UE_EV_END)
        return from != UE_CS_ENDED ? &END : NULL;
    return lookup(t, n, (int)from, (int)ev);
}

bool ue_fsm_caller(ue_call_state_t from, ue_call_event_t ev, ue_call_state_t *to)
{
    const ue_fsm_row_t *r = dialog_row(CALLER, ROWS(CALLER), from, ev);
    return r ? (*to = (ue_call_state_t)r->to, true) : false;
}

bool ue_fsm_callee(ue_call_state_t from, ue_call_event_t ev, ue_call_state_t *to)
{
    const ue_fsm_row_t *r = dialog_row(CALLEE, ROWS(CALLEE), from, ev);
    return r ? (*to = (ue_call_state_t)r->to, true) : false;
}

bool ue_fsm_caller_key(ue_key_state_t from, ue_key_event_t ev, ue_key_state_t *to)
{
    const ue_fsm_row_t *r = lookup(CALLER_KEY, ROWS(CALLER_KEY), (int)from, (int)ev);
    return r ? (*to = (ue_key_state_t)r->to, true) : false;
}

bool ue_fsm_callee_key(ue_key_state_t from, ue_key_event_t ev, ue_key_state_t *to)
{
    const ue_fsm_row_t *r = lookup(CALLEE_KEY, ROWS(CALLEE_KEY), (int)from, (int)ev);
    return r ? (*to = (ue_key_state_t)r->to, true) : false;
}

const ue_fsm_row_t *ue_fsm_table(bool caller, bool key, int *n)
{
    if (caller && key)
        return *n = ROWS(CALLER_KEY), CALLER_KEY;
    if (caller)
        return *n = ROWS(CALLER), CALLER;
    if (key)
        return *n = ROWS(CALLEE_KEY), CALLEE_KEY;
    return *n = ROWS(CALLEE), CALLEE;
}

const char *ue_fsm_state_str(ue_call_state_t s)
{
    static const char *const names[UE_CS_COUNT] = {"INVITING", "PROCEEDING", "EARLY",     "EARLY_UNACKED", "CANCELLING",
                                                   "RINGING",  "ANSWERED",   "CONFIRMED", "ENDING",        "ENDED"};
    return (unsigned)s < UE_CS_COUNT ? names[s] : "?";
}

const char *ue_fsm_key_str(ue_key_state_t s)
{
    static const char *const names[UE_KEY_COUNT] = {"OFF",  "UNDECIDED", "AWAIT_OFFER", "FETCHING", "FETCHING_PRACKED",
                                                    "HELD", "READY",     "OFFERED",     "SYNCED",   "PLAIN"};
    return (unsigned)s < UE_KEY_COUNT ? names[s] : "?";
}
