/*
 * ue_fsm — the states of a UE call and their transitions, as tables (diagram in ue_fsm.c).
 *
 *   ue_call_state_t next;
 *   if (ue_fsm_caller(call->state, UE_EV_2XX, &next)) ... act, and call->state = next;
 *
 * Two machines run side by side in one call: the dialog (INVITE, its provisionals and final, CANCEL, BYE), with
 * one table per role, and the key agreement (tag, KMS request, PRACK, UPDATE), one table per role too. They meet
 * at few points: the caller's key offer (UPDATE) goes only in an early dialog and the INVITE's 2xx judges a key
 * agreement still under way; the callee takes a key offer only before it rings, and the end of the key fetch
 * rings. Pure: no I/O, no call object, so the unit tests drive every row.
 */
#ifndef MIHUA_UE_FSM_H
#define MIHUA_UE_FSM_H

#include <stdbool.h>

typedef enum {
    UE_CS_INVITING = 0,  /* caller: INVITE sent, nothing but 100 back */
    UE_CS_PROCEEDING,    /* caller: a provisional without To tag: no dialog yet */
    UE_CS_EARLY,         /* caller: early dialog; callee: the reliable 183 is PRACKed, the key offer may come */
    UE_CS_EARLY_UNACKED, /* callee: reliable 183 sent, retransmitted until its PRACK */
    UE_CS_CANCELLING,    /* caller: CANCEL sent, the INVITE's final response awaited */
    UE_CS_RINGING,       /* callee: 180 sent, waiting for the answer */
    UE_CS_ANSWERED,      /* callee: 200 sent, retransmitted until the ACK */
    UE_CS_CONFIRMED,     /* the INVITE was answered 2xx (and, callee, ACKed) */
    UE_CS_ENDING,        /* we sent BYE: its answer ends the call */
    UE_CS_ENDED,
    UE_CS_COUNT
} ue_call_state_t;

/* What happens to the dialog. Caller events first, then callee events, then both. */
typedef enum {
    UE_EV_1XX = 0,    /* caller: a provisional that opens no dialog (no To tag, or no usable Contact) */
    UE_EV_1XX_DIALOG, /* caller: a provisional with To tag: early dialog */
    UE_EV_2XX,        /* caller: the INVITE answered (first time or retransmitted) */
    UE_EV_CHALLENGE,  /* caller: 407 from the AS before any provisional: the INVITE again with credentials */
    UE_EV_REJECTED,   /* caller: a final 300-699 (or the transaction's 408) */
    UE_EV_GIVE_UP,    /* caller: set-up timeout or hang-up before the answer: CANCEL after a provisional */
    UE_EV_PRACK,      /* callee: a PRACK matching our reliable 183 */
    UE_EV_RING,       /* callee: nothing left before alerting (no key offer expected, or it was handled) */
    UE_EV_ANSWER,     /* callee: the user (or --auto) answers */
    UE_EV_ACK,        /* callee: the ACK of our 200 */
    UE_EV_CANCELLED,  /* callee: CANCEL, hang-up before the answer, or no PRACK for the reliable 183 */
    UE_EV_HANGUP,     /* both: we send BYE */
    UE_EV_END,        /* both: BYE answered or received, transport error, agent stopped */
    UE_EV_COUNT
} ue_call_event_t;

/* The key agreement (DESIGN §2). Caller: tag in the INVITE -> KMS issue overlapping the PRACK -> UPDATE with the
 * keyId -> 200 with one a=crypto. Callee: tag on the 183 -> UPDATE -> KMS retrieve -> 200 with one a=crypto. */
typedef enum {
    UE_KEY_OFF = 0,          /* never attempted: no tag sent (caller) or none expected (callee); plain */
    UE_KEY_UNDECIDED,        /* caller: tag sent, the first response with a dialog decides */
    UE_KEY_AWAIT_OFFER,      /* callee: our 183 carried the tag, the caller's UPDATE is awaited */
    UE_KEY_FETCHING,         /* KMS request in flight (caller: issue, its PRACK unanswered; callee: retrieve) */
    UE_KEY_FETCHING_PRACKED, /* caller: KMS issue in flight, the PRACK answered 2xx */
    UE_KEY_HELD,             /* caller: key in hand, the PRACK's 2xx awaited */
    UE_KEY_READY,            /* caller: key in hand and PRACK answered: the UPDATE goes in an early dialog */
    UE_KEY_OFFERED,          /* caller: UPDATE sent, its answer awaited */
    UE_KEY_SYNCED,           /* SRTP contexts set up both ways: the call is encrypted */
    UE_KEY_PLAIN,            /* given up, the reason recorded */
    UE_KEY_COUNT
} ue_key_state_t;

typedef enum {
    UE_KEV_TAGGED = 0, /* caller: the first dialog response carries the callee's tag in a reliable 1xx */
    UE_KEV_UNTAGGED,   /* caller: the first dialog response cannot carry the key agreement (reason said) */
    UE_KEV_PRACKED,    /* caller: a PRACK answered 2xx */
    UE_KEV_KEY,        /* the KMS answered with the key */
    UE_KEV_NO_KEY,     /* the KMS refused, was unreachable, or the request could not be made */
    UE_KEV_OFFER_SENT, /* caller: the UPDATE went */
    UE_KEV_OFFER,      /* callee: a key offer (UPDATE) we can take: the KMS retrieve starts */
    UE_KEV_SYNCED,     /* the key is agreed and SRTP is set up */
    UE_KEV_FAILED,     /* anything else that ends the agreement: UPDATE refused or not sendable, bad answer,
                            no offer in time, SRTP set-up failed */
    UE_KEV_ANSWERED,   /* caller: the INVITE answered 2xx: what is not agreed by now stays plain */
    UE_KEV_COUNT
} ue_key_event_t;

/* A transition of one table: from --ev--> to, with a name for the debug log. */
typedef struct {
    int from, ev, to;
    const char *name;
} ue_fsm_row_t;

/* Looks ev up in state from: true with *to when the table has the row; false when the event has no meaning
 * there (the caller ignores it, or answers it as the protocol says). END leads every dialog state but ENDED to
 * ENDED, in both roles. */
bool ue_fsm_caller(ue_call_state_t from, ue_call_event_t ev, ue_call_state_t *to);
bool ue_fsm_callee(ue_call_state_t from, ue_call_event_t ev, ue_call_state_t *to);
bool ue_fsm_caller_key(ue_key_state_t from, ue_key_event_t ev, ue_key_state_t *to);
bool ue_fsm_callee_key(ue_key_state_t from, ue_key_event_t ev, ue_key_state_t *to);
/* The tables themselves, for the unit tests and the debug log. */
const ue_fsm_row_t *ue_fsm_table(bool caller, bool key, int *n);
const char *ue_fsm_state_str(ue_call_state_t s);
const char *ue_fsm_key_str(ue_key_state_t s);

#endif
