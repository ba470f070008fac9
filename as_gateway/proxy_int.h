/*
 * proxy_int — private to proxy*.c: the proxy object and the per-request forwarding context, and the functions
 * the proxy files give each other, grouped by file from the top layer down (proxy.c has the layer diagram).
 *
 * A pfwd_t ties one server transaction (the request as received) to at most one client transaction (the request
 * as forwarded: no forking). Both transactions carry it as tu_data and each holds one reference; it is freed when
 * the second of them terminates (sip_txn on_terminated). Asynchronous hops never keep a pfwd_t pointer: the
 * encryption check's callback gets a ticket naming the server transaction by id, and finds the pfwd_t again with
 * sip_txn_get_tu_data(), so a transaction that has gone away is detected, not used after free.
 */
#ifndef MIHUA_AS_PROXY_INT_H
#define MIHUA_AS_PROXY_INT_H

#include "proxy.h"
#include "proxy_fwd.h"
#include "sip/sip_reply.h"
#include "sip/sip_timer_event.h"
#include "sip/sip_transport.h"
#include "sip/sip_txn.h"

#define PROXY_LOG "as"
#define PROXY_OUT_MAX (SIP_MAX_MSG_SIZE + SIP_LUMP_ARENA) /* an edited message: the largest input plus our lumps */
#define PROXY_REPLY_MAX 16384    /* a local reply: the request's Vias, From, To, Call-ID, CSeq and our headers */
#define PROXY_SWEEP_MS 10000     /* expired bindings and idle call records are swept this often at most... */
#define PROXY_SWEEP_MIN_MS 100   /* ...and at half the call idle time, but never more often than this */
#define PROXY_TRIM_MIN_TXNS 1024 /* below this peak the free lists hold too little to be worth a heap walk */
#define PROXY_BIND_ATTEMPTS 32   /* port 0: tries to find a port free for both UDP and TCP */
#define PROXY_TAG_MAX 24         /* our To tag for local final responses */

/* Reasons for forwarding an INVITE without the tag, as metric label values (plus as_checks' decision reasons). */
#define PROXY_REASON_DISABLED "checks disabled"
#define PROXY_REASON_UNAVAILABLE "checks unavailable"
#define PROXY_REASON_OVERLOAD "lookups overloaded"

typedef enum {
    PROXY_STRIP_CALLER_UNSUB = 0,
    PROXY_STRIP_CALLEE_UNSUB,
    PROXY_STRIP_NOT_ATTACHED,
    PROXY_STRIP_TIMEOUT,
    PROXY_STRIP_ERROR,
    PROXY_STRIP_UNKNOWN,
    PROXY_STRIP_DISABLED,
    PROXY_STRIP_UNAVAILABLE,
    PROXY_STRIP_OVERLOAD,
    PROXY_STRIP_OTHER,
    PROXY_STRIP_COUNT
} proxy_strip_reason_t;

typedef struct {
    metric_t *eligible;                    /* tag kept: all checks passed */
    metric_t *plain;                       /* INVITE without the tag: no lookups */
    metric_t *stripped[PROXY_STRIP_COUNT]; /* tag removed, by reason */
    metric_t *rejected;                    /* 403/404/483/503 answered locally to an INVITE */
    metric_t *registers;                   /* REGISTER requests answered */
    metric_t *auth[SIP_AUTH_ERROR + 1];    /* Digest verdicts (REGISTER and INVITE), by sip_auth_verdict_t */
    metric_t *source_capped;               /* REGISTERs refused: their address held max_aors_per_source */
    metric_t *txns, *calls, *bindings, *pending, *checks; /* gauges, set by proxy_refresh_metrics */
    metric_t *hss_open; /* 1 while the Diameter peer to the HSS is OPEN (RFC 6733 §5.6) */
    metric_t *dropped;  /* requests dropped unanswered on a full transaction table */
    metric_t *timer_c;  /* INVITEs ended by Timer C */
    metric_t *expired;  /* call records closed after the idle time */
} proxy_metrics_t;

typedef struct pfwd pfwd_t;

/* Timer C fired for pf: send the CANCEL downstream (cancel) and answer 408 upstream. Registered by proxy.c. */
typedef void proxy_timer_c_fn(proxy_t *p, pfwd_t *pf, bool cancel);

/* Timer C of a forwarded INVITE (proxy_timer_c.c has the diagram). */
typedef enum { PFWD_TC_OFF = 0, PFWD_TC_RUNNING, PFWD_TC_CANCELLING } pfwd_tc_state_t;

/* The encryption check's callback argument (heap): who to wake, by id. */
typedef struct {
    proxy_t *p;
    sip_txn_id_t sid;
} pcheck_t;

/* What a request needs until its final response goes upstream: local replies, the forwarded edit, its CANCEL,
 * the checks and the call record. Freed at the final (pfwd_final), so the 32 s that Timers L, M and J keep a
 * transaction alive cost only the pfwd_t below. */
typedef struct {
    char *req; /* the request as received (Via stamped): local replies and the forwarded edit */
    size_t req_len;
    char *fwd; /* the INVITE as forwarded: its CANCEL is built from it (§9.1) */
    size_t fwd_len;
    sip_proto_t in_proto;
    sip_addr_t dst; /* next hop */
    char call_id[CALL_ID_MAX];
    char caller[PROXY_URI_MAX], callee[PROXY_URI_MAX]; /* identities for the checks and the call table */
    char target[REG_URI_MAX];                          /* new Request-URI from the location service, "" to keep */
} pfwd_setup_t;

/* What stays until both transactions end: the tombstone that relays 2xx retransmissions (RFC 6026) and absorbs
 * everything else. */
struct pfwd {
    proxy_t *p;
    pfwd_setup_t *s;       /* until the final response went upstream, then NULL */
    int refs;              /* live transactions carrying this as tu_data */
    sip_txn_id_t sid, cid; /* SIP_TXN_ID_NONE once terminated / before forwarding */
    sip_method_t method;
    pcheck_t *check; /* pending encryption check, or NULL */
    uint64_t check_handle;
    bool final_sent;      /* a final response went upstream */
    bool got_provisional; /* a provisional came from downstream: a CANCEL may be sent (§9.1) */
    bool cancel_pending;  /* CANCEL received before any provisional */
    pfwd_tc_state_t tc_state;
    const char *strip_reason; /* the tag was stripped for this (a static AS_REASON_*): told upstream in a
                                 Warning on every response (sip_voenc.h); NULL when kept or never tagged */
    struct event *timer_c;    /* INVITEs: owned, freed with the pfwd_t */
};

struct proxy {
    struct event_base *base;
    sip_transport_layer_t *tp;
    sip_txn_layer_t *tl;
    sip_timer_event_t *te;
    struct event *sweep_ev;
    proxy_self_t self;
    registrar_t *reg;
    sip_auth_t *auth; /* NULL: authentication off */
    call_table_t *calls;
    as_checks_t *checks;
    overload_t *ovl;     /* owned; NULL: no admission control */
    unsigned timer_c_ms; /* 0: no Timer C */
    proxy_timer_c_fn *timer_c_fired;
    uint64_t call_idle_ms; /* call records without in-dialog traffic this long are closed */
    proxy_metrics_t m;
    sip_msg_t *scratch; /* re-parse of held requests (the transport's own message is borrowed) */
    sip_lumps_t *lumps;
    char *out; /* an edited message */
    char to_tag[PROXY_TAG_MAX];
    size_t pending_invites;
    size_t checks_in_flight;  /* encryption checks started and not yet called back or cancelled */
    size_t max_checks;        /* beyond this a tagged INVITE is forwarded stripped at once */
    uint64_t dropped_counted; /* sip_txn_dropped() already added to m.dropped */
    size_t trim_peak;         /* most live transactions seen since the last malloc_trim */
    bool draining;
};

static inline uint64_t proxy_now_ms(void)
{
    return sip_clock_monotonic_ms();
}

/* proxy_invite.c */
void proxy_invite(proxy_t *p, sip_txn_id_t sid, sip_msg_t *req, const sip_addr_t *src);
void proxy_cancel(proxy_t *p, sip_txn_id_t sid, sip_msg_t *req);

/* proxy_route.c */
void proxy_forward(proxy_t *p, sip_txn_id_t sid, sip_msg_t *req, const sip_addr_t *src);
void proxy_ack(proxy_t *p, sip_msg_t *ack);
void proxy_response(proxy_t *p, pfwd_t *pf, sip_msg_t *resp);
void proxy_stray_response(proxy_t *p, sip_msg_t *resp);

/* proxy_pfwd.c */
pfwd_t *pfwd_new(proxy_t *p, sip_txn_id_t sid, sip_msg_t *req, const sip_addr_t *src);
/* When the last transaction carrying pf has terminated: cancels its check and Timer C. */
void pfwd_free(proxy_t *p, pfwd_t *pf);
/* Parses pf->req into p->scratch. Returns it, or NULL. */
sip_msg_t *pfwd_request(proxy_t *p, pfwd_t *pf);
/* Answers the held request (proxy_reply); a final also records its bookkeeping (pfwd_final). */
void pfwd_reply(proxy_t *p, pfwd_t *pf, int status, const char *reason);
/* Bookkeeping when a final response goes upstream (call table, pending count); frees pf->s. Only the first
 * final counts: later ones (2xx retransmissions) change nothing. */
void pfwd_final(proxy_t *p, pfwd_t *pf, int status);
/* Edits pf's request (§16.6) and starts the client transaction towards pf->dst. 0 or -1. */
int pfwd_send(proxy_t *p, pfwd_t *pf, bool record_route, bool strip_voenc);
/* CANCELs the forwarded INVITE downstream (§9.1), unless it was answered already. */
void pfwd_send_cancel(proxy_t *p, pfwd_t *pf);
/* Cancels pf's pending encryption check, if any. */
void pfwd_check_abort(proxy_t *p, pfwd_t *pf);

/* proxy_reply.c */
/* Answers req through server transaction sid (to_tag added for finals). 0 or -1. */
int proxy_reply(proxy_t *p, sip_txn_id_t sid, sip_msg_t *req, int status, const char *reason, const char *extra);
/* Answers req statelessly (no transaction: a shed INVITE, §16.7 lets a proxy do so); the ACK it draws is
 * absorbed by proxy_ack (its To tag is ours). */
void proxy_reply_stateless(proxy_t *p, sip_msg_t *req, const sip_addr_t *src, int status, const char *reason,
                           const char *extra);
/* Digest check of req for the AOR key (proxy_register, proxy_invite): counts the verdict, logs a refusal with the
 * source address. */
sip_auth_verdict_t proxy_authenticate(proxy_t *p, sip_msg_t *req, const sip_addr_t *src, const char *aor,
                                      sip_auth_role_t role, sip_auth_answer_t *ans);

/* proxy_timer_c.c: fires through p->timer_c_fired. */
void proxy_timer_c_start(proxy_t *p, pfwd_t *pf);
/* A response from downstream: a 101-199 re-arms, a final stops it. */
void proxy_timer_c_response(proxy_t *p, pfwd_t *pf, int status);
/* A final went upstream (ours or relayed): a running Timer C has nothing left to end. */
void proxy_timer_c_answered(pfwd_t *pf);
void proxy_timer_c_free(pfwd_t *pf);

#endif
