/*
 * ue_int — private to ue_*.c: the agent and call objects and the functions the caller and callee halves share.
 *
 * Ownership: a call is referenced by the agent's call table (until it ends), by every SIP transaction whose
 * tu_data it is, and by every KMS request in flight for it; it is freed at the last unref. A transaction or KMS
 * answer that arrives after the call ended finds it still allocated but ENDED, and does nothing.
 */
#ifndef MIHUA_UE_INT_H
#define MIHUA_UE_INT_H

#include <openssl/ssl.h>

#include "kms/http_digest.h"
#include "kms_client.h"
#include "sip/sip_timer_event.h"
#include "sip/sip_transport.h"
#include "sip/sip_txn.h"
#include "ue_agent.h"
#include "ue_fsm.h"
#include "ue_offer.h"
#include "ue_sdp.h"

#define UE_LOG "ue"
#define UE_CALL_BUCKETS 4096               /* Call-ID hash buckets: load tests keep a few thousand calls */
#define UE_T1_MS 500                       /* RFC 3261 T1: reliable 1xx and 2xx retransmission start */
#define UE_T2_MS 4000                      /* 2xx retransmission cap (§13.3.1.4) */
#define UE_RETX_GIVE_UP_MS (64 * UE_T1_MS) /* RFC 3262 §3, RFC 3261 §13.3.1.4 */
#define UE_ALLOW "INVITE, ACK, CANCEL, BYE, PRACK, UPDATE, OPTIONS"
#define UE_MSG_MAX 8192 /* one message we build: headers plus an SDP body */
#define UE_FAILURE_MAX 160

typedef enum { UE_ROLE_CALLER = 0, UE_ROLE_CALLEE } ue_role_t;

typedef struct ue_call ue_call_t;

struct ue_agent {
    struct event_base *base;
    const ue_conf_t *c;
    const ue_audio_t *audio;
    ue_agent_events_t ev;
    sip_transport_layer_t *tp;
    sip_txn_layer_t *tl;
    sip_timer_event_t *te;
    int sip_port;
    char user[UE_HDR_MAX];    /* Contact user part */
    char contact[UE_HDR_MAX]; /* "<sip:user@ip:port>" */
    sip_addr_t registrar;
    SSL_CTX *tls;
    sbi_client_t *sbi;
    kms_client_t *kms;  /* NULL when not capable */
    sip_msg_t *scratch; /* re-parse of our own messages */
    char *out;          /* UE_MSG_MAX */
    ue_call_t *buckets[UE_CALL_BUCKETS];
    size_t ncalls;  /* in the table */
    ue_call_t *all; /* every call object still allocated (ended ones wait for their transactions) */
    size_t kms_ops; /* KMS requests in flight (calls' DELETEs outlive them) */
    bool accept;
    uint64_t counter; /* tags, Call-IDs */
    /* registration */
    char reg_call_id[UE_HDR_MAX];
    char reg_tag[UE_TAG_MAX];
    uint32_t reg_cseq;
    long reg_expires;
    bool reg_pending;
    struct event *reg_refresh;
    digest_challenge_t reg_ch; /* the registrar's challenge we answer (RFC 3261 §22.2), reused with nc+1 */
    bool reg_has_ch;
    bool reg_ch_tried; /* a REGISTER answering a fresh (non-stale) challenge went out: a 401 to it
                                     means wrong credentials, not "try again" */
    uint32_t reg_nc;
};

struct ue_call {
    ue_agent_t *ag;
    int refs;
    ue_call_t *next; /* hash chain */
    ue_call_t *all_next, *all_prev;
    bool in_table; /* an ENDED call waiting for its KMS DELETE is still in the table */
    ue_role_t role;
    ue_call_state_t state; /* the dialog (ue_fsm.c) */
    ue_key_state_t key;    /* the key agreement (ue_fsm.c) */
    ue_dialog_t dlg;
    char local_tag[UE_TAG_MAX];
    char peer[UE_HDR_MAX];
    char kms_caller[UE_HDR_MAX], kms_callee[UE_HDR_MAX]; /* the parties as the KMS and AS know them */
    uint32_t sdp_version;
    uint64_t t0; /* INVITE sent / received (µs) */

    sip_txn_id_t inv_txn;
    char *inv; /* our INVITE as sent (caller) or the INVITE received (callee) */
    size_t inv_len;
    uint32_t inv_cseq;
    bool inv_auth_sent; /* the INVITE was sent again with Proxy-Authorization (RFC 3261 §22.3): a
                                     second 407 ends the call */

    /* offer/answer (ue_offer.h) */
    ue_offer_mode_t oa_mode; /* callee: where the INVITE's answer travels */
    bool answer_final;       /* caller: the answer came in a reliable response */
    uint64_t answer_version; /* its o= version */
    ue_sdp_dir_t local_dir;  /* the direction our current SDP says */
    /* a re-INVITE from the peer (ue_reinvite.c): its 200 is retransmitted until the ACK (§13.3.1.4) */
    sip_txn_id_t reinv_txn;
    uint32_t reinv_cseq;
    char *reinv_resp;
    size_t reinv_resp_len;
    unsigned reinv_retx_ms, reinv_retx_total;
    bool reinv_wants_answer; /* our 200 carried an offer (re-INVITE without SDP): the answer is in the ACK */
    struct event *tm_reinv;

    /* caller */
    uint32_t last_rseq; /* the highest RSeq PRACKed (RFC 3262 §4) */
    char *ack;
    size_t ack_len;
    sip_addr_t ack_dst;
    /* callee */
    bool rel100; /* the caller supports 100rel: a fact about the peer, not a step of the call */
    uint32_t rseq;
    char *resp; /* the reliable 183 or the 200 being retransmitted */
    size_t resp_len;
    unsigned retx_ms, retx_total;
    sip_txn_id_t upd_txn;
    char *upd; /* the UPDATE held while the key is fetched */
    size_t upd_len;

    /* keys */
    char key_id[UE_SDP_KEY_ID_MAX + 1]; /* ours from the KMS (22 chars), or the offer's (checked base64url) */
    uint8_t session_key[KMS_KEY_LEN];
    ue_sdp_choice_t choice;
    char reason[UE_REASON_MAX]; /* why plain; the first reason found stays */
    char failure[UE_FAILURE_MAX];
    bool hung_up_by_us; /* for the summary */
    /* the KMS DELETE runs beside the dialog and may outlive it: not a state of either machine */
    bool deleting;    /* our KMS DELETE is in flight: the end waits for it (bounded by its timeout) */
    bool end_pending; /* ue_call_end came while deleting */

    ue_media_t *media;
    ue_sdp_addr_t remote;
    bool have_remote; /* a usable peer address came in an SDP (offer, answer or key-sync answer) */
    struct event *tm_retx, *tm_wait, *tm_guard;
    struct event *tm_answer; /* callee: --answer-after-ms (its own event: ue_call_timer keeps an event's callback) */
    ue_call_summary_t sum;   /* milestones filled as they happen */
    ue_ladder_t ladder;
};

/* The files below ue_agent.c, each calling only the ones after it in this list:
 *   ue_caller.c, ue_callee.c  the two roles' halves of a call
 *   ue_reinvite.c             a re-INVITE from the peer, either role
 *   ue_call.c                 the call object, its table, sending, media, the end of a call
 *   ue_sip.c                  tokens, replies outside a call, Digest credentials
 *   ue_fsm.c                  the state tables
 * What a lower file must tell a higher one goes through the program's callbacks (ue_agent_events_t). */

/* ---------------------------------------------------------------- ue_sip.c */

/* A new tag or branch-safe token. */
void ue_sip_token(ue_agent_t *a, const char *prefix, char *out, size_t cap);
/* A response outside any call (481, 486, OPTIONS 200...). extra may be NULL. */
void ue_sip_reply(ue_agent_t *a, sip_txn_id_t sid, sip_msg_t *req, int status, const char *reason, const char *extra);
/* SIP Digest (RFC 3261 §22) for our requests: a header line answering a challenge with sip_password. */
#define UE_AUTH_LINE_MAX 1024 /* "Authorization: Digest username, realm, uri, nonce, cnonce, response, opaque" */
/* The first challenge in resp's `hdr` headers (WWW-Authenticate, Proxy-Authenticate) whose algorithm we know,
 * SHA-256 or MD5 (RFC 8760 §2.4). 0 or -1. */
int ue_sip_pick_challenge(sip_msg_t *resp, const char *hdr, digest_challenge_t *ch);
/* "<auth_hdr>: Digest ...\r\n" answering ch for method and uri with nc. 0, or -1 (no password, too long). */
int ue_sip_auth_line(ue_agent_t *a, const digest_challenge_t *ch, const char *auth_hdr, const char *method,
                     const char *uri, uint32_t nc, char *out, size_t cap);
/* Both, for a one-shot answer to a fresh challenge (nc 1). */
int ue_sip_credentials(ue_agent_t *a, sip_msg_t *resp, const char *chal_hdr, const char *auth_hdr, const char *method,
                       const char *uri, char *out, size_t cap);

/* ---------------------------------------------------------------- ue_call.c */

/* Objects, table, states, sending, media, ending. */
ue_call_t *ue_call_new(ue_agent_t *a, ue_role_t role, const char *call_id);
void ue_call_ref(ue_call_t *call);
void ue_call_unref(ue_call_t *call);
/* Frees every call object left (agent shutdown, after the transactions and the KMS client are gone). */
void ue_call_free_all(ue_agent_t *a);
ue_call_t *ue_call_find(ue_agent_t *a, sip_str_t call_id);
uint64_t ue_call_elapsed(const ue_call_t *call);
/* Looks ev up in the call's role's dialog table (ue_fsm.h) without taking it: true with *to when it has a row. */
bool ue_call_next(const ue_call_t *call, ue_call_event_t ev, ue_call_state_t *to);
/* Takes ev's transition when the role's dialog table has one: true when it did. */
bool ue_call_step(ue_call_t *call, ue_call_event_t ev);
/* The same for the key agreement. */
bool ue_call_key_step(ue_call_t *call, ue_key_event_t ev);
static inline bool ue_call_encrypted(const ue_call_t *call)
{
    return call->key == UE_KEY_SYNCED;
}
/* No call, registration or KMS request in progress. */
bool ue_call_idle(const ue_agent_t *a);
/* Tells the program (on_idle) when that became true. */
void ue_call_notify_idle(ue_agent_t *a);
/* Sends a request of the call's dialog as a client transaction carrying the call: to dst, or (NULL) to the first
 * Route or the remote target. contact NULL for none. The message stays in call->ag->out until the next build;
 * *id (may be NULL) receives the transaction. 0 or -1. */
int ue_call_send(ue_call_t *call, const char *method, uint32_t cseq, const char *contact, const char *extra,
                 const char *body, int body_len, const sip_addr_t *dst, sip_txn_id_t *id);
/* Builds a request of the dialog into call->ag->out and parses it into the scratch message (for its next hop).
 * Returns the length or -1. */
int ue_call_build(ue_call_t *call, const ue_req_t *r, sip_msg_t **parsed);
/* Sends a response to req through server transaction sid (and keeps it in the ladder). extra may be NULL.
 * Returns the length of the response, which stays in call->ag->out until the next build, or -1. */
int ue_call_respond(ue_call_t *call, sip_txn_id_t sid, sip_msg_t *req, int status, const char *reason,
                    const char *extra, const char *body, int body_len);
/* Records why the call is plain (the first reason stays). */
void ue_call_plain(ue_call_t *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Our Contact value: with +u.mihua.voenc when tagged. */
const char *ue_call_contact(ue_call_t *call, bool tagged, char *buf, size_t cap);
/* The session key is agreed (call->choice, call->session_key): sets up SRTP both ways, or records why not.
 * Cleanses the session key. 0 or -1 (the caller takes the key agreement's SYNCED or FAILED). */
int ue_call_keysync(ue_call_t *call);
/* Points the media at the peer's stream and sends or holds as `send` says; logs what changed. */
void ue_call_follow(ue_call_t *call, const ue_sdp_stream_t *peer, bool send, const char *why);
/* Starts sending media (SRTP when keysync set it up). frames 0 = until stopped (callee). */
void ue_call_start_media(ue_call_t *call, uint64_t frames);
/* BYE (and the KMS DELETE when we hold a key id), then the call ends at the BYE's answer. */
void ue_call_hangup(ue_call_t *call);
/* Ends the call now: stops media, reports the summary, leaves the table. failure NULL for a normal end. */
void ue_call_end(ue_call_t *call, const char *failure);
/* The same without waiting for a KMS DELETE in flight (agent shutdown). */
void ue_call_end_now(ue_call_t *call, const char *failure);
/* Arms one of the call's timers (ms). */
void ue_call_timer(ue_call_t *call, struct event **ev, unsigned ms, void (*fn)(evutil_socket_t, short, void *));
void ue_call_timer_stop(struct event *ev);
/* The Warning text of a response (for reasons), or the reason phrase. */
void ue_call_response_text(sip_msg_t *resp, char *out, size_t cap);

/* ---------------------------------------------------------------- ue_reinvite.c */

/* A re-INVITE from the peer (hold, resume, new address) on a plain call, either role. */
void ue_reinvite_on_request(ue_call_t *call, sip_txn_id_t sid, sip_msg_t *req);
/* The ACK of our 200 to a re-INVITE: true when it was that one (and its answer, if any, is applied). */
bool ue_reinvite_on_ack(ue_call_t *call, sip_msg_t *ack);

/* ---------------------------------------------------------------- ue_caller.c */

int ue_caller_start(ue_agent_t *a, const char *target);
void ue_caller_on_response(ue_call_t *call, sip_txn_id_t id, sip_msg_t *resp);
/* A request inside the caller's dialog: BYE, a re-INVITE; anything else is refused politely. */
void ue_caller_on_request(ue_call_t *call, sip_txn_id_t sid, sip_msg_t *req);
void ue_caller_stray_2xx(ue_call_t *call);
/* Ends a call that is not answered yet: CANCEL after a provisional, else at once. */
void ue_caller_abort(ue_call_t *call);

/* ---------------------------------------------------------------- ue_callee.c */

void ue_callee_invite(ue_agent_t *a, sip_txn_id_t sid, sip_msg_t *inv);
void ue_callee_on_request(ue_call_t *call, sip_txn_id_t sid, sip_msg_t *req);
void ue_callee_cancel(ue_agent_t *a, sip_txn_id_t sid, sip_msg_t *req);
void ue_callee_answer(ue_call_t *call);
void ue_callee_no_ack(ue_call_t *call);
/* Ends a call that is not answered yet with 480. */
void ue_callee_abort(ue_call_t *call);

#endif
