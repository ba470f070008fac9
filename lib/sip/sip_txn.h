/*
 * sip_txn — the SIP transaction layer (RFC 3261 §17, amended by RFC 6026), owning no socket and no event loop.
 *
 *   sip_txn_layer_t *tl = sip_txn_layer_new(&conf, &clock, &io, &tu);
 *   sip_txn_recv(tl, msg, &src);                  // every parsed, checked message from the transport
 *   sip_txn_client_start(tl, req, len, &dst, tu_data, &id);   // TU sends a request (top Via carries our branch)
 *   sip_txn_respond(tl, server_id, resp, len);    // TU answers a request it got through on_request
 *   sip_txn_tick(tl);                             // whenever sip_txn_next_deadline() has passed
 *
 * Transactions are named by sip_txn_id_t handles (slot index + generation): an id outliving its transaction is
 * detected (functions return -1 / SIP_TXN_S_NONE), never dereferenced. Messages passed to callbacks are borrowed for
 * the duration of the call. tu_data is the TU's: the layer stores it and hands it back, and on_terminated is the
 * last time it is mentioned, so the TU frees it there.
 *
 * RFC 6026 is implemented: a 2xx moves an INVITE client transaction to Accepted (Timer M, further 2xx go to the TU)
 * and an INVITE server transaction to Accepted (Timer L, INVITE retransmissions absorbed, 2xx retransmissions from
 * the TU forwarded, ACKs passed to the TU). Requests whose top Via branch lacks the "z9hG4bK" cookie (RFC 2543
 * peers, §17.2.3 second half) are refused: a 400 with a Warning is sent statelessly, an ACK is dropped.
 */
#ifndef MIHUA_SIP_TXN_H
#define MIHUA_SIP_TXN_H

#include "sip/sip_msg.h"
#include "sip/sip_timer.h"
#include "sip/sip_transport_addr.h"

#include <stddef.h>
#include <stdint.h>

/* RFC 3261 §17.1.1.1 / Table 4 defaults. */
#define SIP_TXN_T1_MS 500u           /* RTT estimate */
#define SIP_TXN_T2_MS 4000u          /* maximum retransmit interval for non-INVITE requests and INVITE responses */
#define SIP_TXN_T4_MS 5000u          /* maximum time a message remains in the network */
#define SIP_TXN_TIMER_D_MS 32000u    /* Timer D on unreliable transports: "at least 32 seconds" (§17.1.1.2) */
#define SIP_TXN_MAX_DEFAULT 262144u  /* live transactions: ~1,000 calls/s x ~8 transactions x 32 s of Timer L/M/D */
#define SIP_TXN_MAX_LIMIT (1u << 24) /* hard ceiling on max_txns (slot index must fit the id's low 32 bits) */
#define SIP_TXN_MAX_BRANCH 128       /* branch bytes kept for matching; longer branches are refused */
#define SIP_TXN_MAX_HOST 256         /* sent-by host bytes (a DNS name is at most 253, plus IPv6 brackets) */
#define SIP_TXN_MAX_METHOD 32        /* CSeq method bytes; extension methods longer than this are refused */

typedef uint64_t sip_txn_id_t; /* (generation << 32) | (slot + 1); 0 is never a live transaction */
#define SIP_TXN_ID_NONE ((sip_txn_id_t)0)

typedef enum {
    SIP_TXN_S_NONE = 0, /* no such transaction (never existed, or terminated and freed) */
    SIP_TXN_S_CALLING,  /* client INVITE */
    SIP_TXN_S_TRYING,   /* client and server non-INVITE */
    SIP_TXN_S_PROCEEDING,
    SIP_TXN_S_COMPLETED,
    SIP_TXN_S_CONFIRMED, /* server INVITE: ACK received */
    SIP_TXN_S_ACCEPTED,  /* RFC 6026: INVITE answered with 2xx */
    SIP_TXN_S_TERMINATED,
} sip_txn_state_t;

typedef struct {
    uint32_t t1_ms, t2_ms, t4_ms;
    uint32_t timer_d_ms; /* Timer D for unreliable transports (reliable: 0) */
    uint32_t max_txns;   /* live transactions; a new one beyond this is refused (server side: 503 is the TU's) */
} sip_txn_conf_t;

/* How the layer sends: ctx is the transport (sip_transport_send fits). Returns 0, or -1 on a transport error. */
typedef struct {
    int (*send)(void *ctx, const sip_addr_t *dst, const char *buf, size_t len);
    void *ctx;
} sip_txn_io_t;

/* The transaction user. Any callback may be NULL. Errors of a TU call (e.g. a send failing inside
 * sip_txn_respond) are returned to the TU, not called back. */
typedef struct {
    /* A request that created a server transaction (id), or an ACK matching none (id = SIP_TXN_ID_NONE: the ACK
     * of a 2xx, §17.1.1.3), or an ACK matching an Accepted INVITE server transaction (its id). */
    void (*on_request)(void *ctx, sip_txn_id_t id, sip_msg_t *req, const sip_addr_t *src);
    /* A response for a client transaction (1xx, the final, and with RFC 6026 any further 2xx). */
    void (*on_response)(void *ctx, sip_txn_id_t id, void *tu_data, sip_msg_t *resp);
    /* Client: Timer B or F fired; resp is a 408 synthesised from the request (§8.1.3.1). Server INVITE: Timer H
     * fired, the ACK never came; resp is NULL. */
    void (*on_timeout)(void *ctx, sip_txn_id_t id, void *tu_data, sip_msg_t *resp);
    /* A retransmission or ACK could not be sent (§17.1.4, §17.2.4); the transaction terminates. */
    void (*on_transport_error)(void *ctx, sip_txn_id_t id, void *tu_data);
    /* The transaction is gone after this call; the id is dead. */
    void (*on_terminated)(void *ctx, sip_txn_id_t id, void *tu_data);
    /* A response matching no client transaction (e.g. a 2xx retransmission after Timer M; §16.7 forwards it). */
    void (*on_stray_response)(void *ctx, sip_msg_t *resp, const sip_addr_t *src);
    /* Admission: a request that would create a server transaction (not a retransmission, not an ACK). Returning
     * false means the TU has answered it statelessly (e.g. 503 under overload) and no state is created; its
     * retransmissions come here again. NULL admits everything. */
    bool (*on_admit)(void *ctx, sip_msg_t *req, const sip_addr_t *src);
    void *ctx;
} sip_txn_tu_t;

typedef struct sip_txn_layer sip_txn_layer_t;

void sip_txn_conf_default(sip_txn_conf_t *conf);
/* conf NULL means defaults. clock->now_ms and io->send are required. Returns NULL on bad config or no memory. */
sip_txn_layer_t *sip_txn_layer_new(const sip_txn_conf_t *conf, const sip_clock_t *clock, const sip_txn_io_t *io,
                                   const sip_txn_tu_t *tu);
/* Frees every transaction (calling on_terminated for each, so the TU can free tu_data) and the layer. Must not be
 * called from inside a callback of the same layer. */
void sip_txn_layer_free(sip_txn_layer_t *tl);

/* Feeds a received message (sip_msg_check() passed; for requests the transport has stamped received/rport).
 * Matches it (§17.1.3 / §17.2.3) and runs the state machine or creates a server transaction. */
void sip_txn_recv(sip_txn_layer_t *tl, sip_msg_t *msg, const sip_addr_t *src);

/* Starts a client transaction and sends the request to dst. The request's top Via must carry a branch with the
 * RFC 3261 cookie (sip_txn_branch_new) and must not be an ACK (§17.1.1.3: ACK for 2xx is the TU's). The bytes are
 * copied. Returns 0 with *id set, or -1 (bad request, duplicate branch, table full, send failure). */
int sip_txn_client_start(sip_txn_layer_t *tl, const char *req, size_t len, const sip_addr_t *dst, void *tu_data,
                         sip_txn_id_t *id);
/* Sends a response (full bytes, copied) through server transaction id and runs its state machine. Returns 0, or -1
 * when the id is dead, the response is not a status line, the state does not accept it, or sending failed. */
int sip_txn_respond(sip_txn_layer_t *tl, sip_txn_id_t id, const char *resp, size_t len);

/* Gives up on a client transaction that will never complete (§9.1: no final response 64*T1 after its CANCEL;
 * §16.8 Timer C): it terminates at the next tick without anything sent, and on_terminated follows. Returns 0, or
 * -1 when the id is dead or names a server transaction. */
int sip_txn_abandon(sip_txn_layer_t *tl, sip_txn_id_t id);

/* The INVITE server transaction a CANCEL refers to (§9.2: same branch and sent-by, method INVITE), or NONE. */
sip_txn_id_t sip_txn_find_invite(sip_txn_layer_t *tl, sip_msg_t *cancel);

int sip_txn_set_tu_data(sip_txn_layer_t *tl, sip_txn_id_t id, void *tu_data);
void *sip_txn_get_tu_data(sip_txn_layer_t *tl, sip_txn_id_t id);
sip_txn_state_t sip_txn_state(sip_txn_layer_t *tl, sip_txn_id_t id);
const char *sip_txn_state_str(sip_txn_state_t s);
size_t sip_txn_count(const sip_txn_layer_t *tl);
/* Table size (conf.max_txns). */
size_t sip_txn_capacity(const sip_txn_layer_t *tl);
/* Requests dropped without an answer because the table was full (each counted, logged at most once a second). */
uint64_t sip_txn_dropped(const sip_txn_layer_t *tl);
/* After a load: gives back to the kernel the memory of the table and timer heap that no live transaction uses
 * (their capacity stays). Cost: one pass over the table. */
void sip_txn_trim(sip_txn_layer_t *tl);

/* Runs every timer due at the clock's now. */
void sip_txn_tick(sip_txn_layer_t *tl);
/* Earliest timer deadline; false when no timer is armed. */
bool sip_txn_next_deadline(const sip_txn_layer_t *tl, uint64_t *due_ms);

/* Writes a fresh branch "z9hG4bK<hex>" (unique per layer: random prefix + counter). Returns its length or -1. */
int sip_txn_branch_new(sip_txn_layer_t *tl, char *out, size_t cap);

#endif
