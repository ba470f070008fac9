/*
 * ue_dialog — a UA's dialog state and the requests it sends (RFC 3261 §8.1.1 request construction, §12 dialogs,
 * §13.2.2.4 the ACK of a 2xx; RFC 3262 PRACK, RFC 3311 UPDATE).
 *
 * The dialog keeps whole header values rather than parsed parts: From and To exactly as this UA puts them in its
 * requests (the UAS's From is the INVITE's To plus its tag), the route set as the Route values to send in order
 * (a UAC reverses the Record-Route of the response, a UAS keeps the INVITE's order), and the remote target
 * (the peer's Contact URI). Building is pure text, so the unit tests check every byte.
 */
#ifndef MIHUA_UE_DIALOG_H
#define MIHUA_UE_DIALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip/sip_msg.h"

#define UE_HDR_MAX 512  /* one From/To/Contact value or URI we keep */
#define UE_ROUTES_MAX 4 /* the AS Record-Routes once; room for a second proxy */
#define UE_TAG_MAX 32

typedef struct {
    char call_id[UE_HDR_MAX];
    char from[UE_HDR_MAX];          /* our From value with our tag: "<sip:+1555...@d>;tag=ue1" */
    char to[UE_HDR_MAX];            /* our To value: the peer, with its tag once known */
    char remote_target[UE_HDR_MAX]; /* Request-URI of in-dialog requests */
    char route[UE_ROUTES_MAX][UE_HDR_MAX];
    int nroute;
    uint32_t local_cseq;  /* last CSeq number we used */
    uint32_t remote_cseq; /* highest CSeq number the peer used (0: none yet) */
    bool established;     /* remote tag known (early or confirmed) */
} ue_dialog_t;

/* What one request carries besides the dialog's headers. */
typedef struct {
    const char *method;   /* "INVITE", "PRACK", ... */
    const char *ruri;     /* NULL: the remote target */
    const char *via_host; /* our sent-by */
    int via_port;
    const char *branch;       /* z9hG4bK...; for the ACK of a 2xx a new one too (§13.2.2.4) */
    uint32_t cseq;            /* number; the method follows */
    const char *contact;      /* Contact value or NULL */
    const char *extra;        /* further header lines, each ending in CRLF, or NULL */
    const char *content_type; /* with body */
    const char *body;
    int body_len;
} ue_req_t;

/* UAC before the dialog exists: our From (with tag) and the target as To. */
void ue_dialog_uac_init(ue_dialog_t *d, const char *call_id, const char *from, const char *to);
/* UAC: a 1xx (with To tag) or 2xx to the INVITE establishes or updates the dialog (§12.1.2): the response's To
 * value (with the peer's tag), its Record-Route reversed, its Contact as the remote target. 0, or -1 when the
 * response lacks a To tag or a Contact, or a value is too long. The route set is taken once, from the first
 * response that creates the dialog (§12.1.2: later responses do not change it). */
int ue_dialog_uac_update(ue_dialog_t *d, sip_msg_t *resp);
/* UAS: the dialog of a received INVITE (§12.1.1): From/To swapped, our tag added, Record-Route in order, the
 * INVITE's Contact as the remote target, its CSeq as the remote CSeq. 0 or -1. */
int ue_dialog_uas_init(ue_dialog_t *d, sip_msg_t *inv, const char *local_tag);

/* A target refresh request (re-INVITE, §12.2.2): its Contact, when it has one, becomes the remote target. 0, or
 * -1 when the Contact is unusable (the target stays). */
int ue_dialog_refresh_target(ue_dialog_t *d, sip_msg_t *req);

/* Writes a request of this dialog (or, before it is established, to the UAC's target). Route values go in order;
 * the Request-URI is r->ruri or the remote target. Returns the length or -1 when out is too small. */
int ue_dialog_request(const ue_dialog_t *d, const ue_req_t *r, char *out, int cap);

/* The Record-Route values of a request or response, in order, as header lines ("Record-Route: v\r\n"), for the
 * UAS to copy into its 1xx/2xx (§12.1.1). Returns the length or -1. */
int ue_dialog_rr_lines(sip_msg_t *msg, char *out, int cap);

#endif
