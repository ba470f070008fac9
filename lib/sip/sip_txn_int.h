/*
 * sip_txn_int — private to the sip_txn*.c files: the transaction record, its key, the table and the layer.
 *
 * Split by concern as Kamailio's tm is, in layers that only call downward (scripts/calls-graph checks it):
 *   sip_txn.c                                the layer: creation, dispatch, timers, TU-facing calls
 *   sip_txn_client.c  sip_txn_server.c       the four state machines
 *   sip_txn_base.c                           clock, timer arming, sending, Terminated, stored copies
 *   sip_txn_table.c  sip_txn_match.c  sip_txn_build.c   id slots + hash; keys (§17.1.3, §17.2.3); ACK and 408
 * The TU is reached only through the callbacks it registered (sip_txn_tu_t).
 */
#ifndef MIHUA_SIP_TXN_INT_H
#define MIHUA_SIP_TXN_INT_H

#include "sip/sip_txn.h"

typedef enum {
    SIP_TXN_CLIENT_INVITE,
    SIP_TXN_CLIENT_NON_INVITE,
    SIP_TXN_SERVER_INVITE,
    SIP_TXN_SERVER_NON_INVITE,
} sip_txn_kind_t;

/* Which of a transaction's two timer nodes fired; the state says which RFC timer it stood for. */
enum { SIP_TXN_TIMER_RETX = 1, /* A, E, G */ SIP_TXN_TIMER_LIFE = 2 /* B, D, F, H, I, J, K, L, M, 0-delay end */ };

/* What matching compares (case-insensitively, as §7.3.1 says of parameter values). */
typedef struct {
    char branch[SIP_TXN_MAX_BRANCH];
    int branch_len;
    char host[SIP_TXN_MAX_HOST]; /* server: top Via sent-by host; client: unused */
    int host_len;
    int port;                        /* server: sent-by port as written (0 when absent) */
    char method[SIP_TXN_MAX_METHOD]; /* CSeq method; a server INVITE key also matches its ACK */
    int method_len;
    bool server;
    uint32_t hash; /* of the branch */
} sip_txn_key_t;

/* What a transaction keeps of its key: the three strings back to back in one allocation sized to them. A lookup
 * key (above) carries fixed arrays of about 440 bytes; a stored one costs 24 bytes plus its text, which matters
 * when a table holds hundreds of thousands of tombstones waiting for Timers J, L and M. */
typedef struct {
    char *text;         /* branch, host, method; not NUL-terminated; owned */
    uint32_t hash;      /* of the branch */
    int port;           /* server: sent-by port as written (0 when absent) */
    uint8_t branch_len; /* <= SIP_TXN_MAX_BRANCH */
    uint8_t method_len; /* <= SIP_TXN_MAX_METHOD */
    uint16_t host_len;  /* <= SIP_TXN_MAX_HOST; 0 for a client key */
    bool server;
} sip_txn_skey_t;

_Static_assert(SIP_TXN_MAX_BRANCH <= UINT8_MAX && SIP_TXN_MAX_METHOD <= UINT8_MAX && SIP_TXN_MAX_HOST <= UINT16_MAX,
               "stored key lengths fit their fields");

typedef struct sip_txn {
    sip_txn_id_t id;
    sip_txn_kind_t kind;
    sip_txn_state_t state;
    sip_txn_skey_t key;
    sip_addr_t peer; /* client: where the request goes; server: where responses go (§18.2.2) */
    char *req;       /* client: the request as sent (retransmissions, ACK, 408); owned */
    size_t req_len;
    char *resp; /* server: the last response sent (absorbing retransmissions, Timer G); owned */
    size_t resp_len;
    int resp_status;
    char *ack; /* client INVITE: the ACK for the non-2xx final, resent on its retransmissions; owned */
    size_t ack_len;
    uint32_t retx_ms;      /* current A/E/G interval */
    sip_timer_t t_retx;    /* A, E, G */
    sip_timer_t t_life;    /* B/D/M, F/K, H/I/L, J */
    void *tu_data;         /* the TU's; never freed here */
    struct sip_txn *hnext; /* hash chain */
    bool linked;
} sip_txn_t;

typedef struct {
    uint32_t gen;   /* bumped on release, so stale ids miss */
    sip_txn_t *txn; /* NULL when free */
    uint32_t next_free;
} sip_txn_slot_t;

typedef struct {
    sip_txn_slot_t *slots;
    uint32_t nslots;
    uint32_t free_head; /* slot index + 1, 0 = none */
    uint32_t used_hwm;  /* slots handed out since the last trim (the rest read as zero: free) */
    uint32_t gen_floor; /* first generation of a slot above used_hwm: above any generation it had before */
    size_t count;
    sip_txn_t **buckets;
    uint32_t nbuckets; /* power of two */
} sip_txn_table_t;

struct sip_txn_layer {
    sip_txn_conf_t conf;
    sip_clock_t clock;
    sip_txn_io_t io;
    sip_txn_tu_t tu;
    sip_txn_table_t table;
    sip_timers_t timers;
    uint64_t announced_due; /* earliest deadline last passed to clock.wake (UINT64_MAX: none) */
    uint64_t branch_seed;
    uint64_t branch_counter;
    sip_msg_t *scratch; /* parse space for stored requests (ACK, 408, client start); never held across callbacks */
    sip_msg_t *scratch2;
    uint64_t dropped;        /* requests dropped on a full table */
    uint64_t dropped_logged; /* of which already reported in a log line */
    uint64_t drop_log_ms;    /* when the last such line was written */
};

/* sip_txn_table.c */
int sip_txn_table_init(sip_txn_table_t *t, uint32_t max);
void sip_txn_table_free(sip_txn_table_t *t);
sip_txn_t *sip_txn_table_alloc(sip_txn_table_t *t);
/* Gives back the pages above the highest live slot and the empty bucket pages. */
void sip_txn_table_trim(sip_txn_table_t *t);
void sip_txn_table_release(sip_txn_table_t *t, sip_txn_t *txn);
sip_txn_t *sip_txn_table_get(const sip_txn_table_t *t, sip_txn_id_t id);
void sip_txn_table_link(sip_txn_table_t *t, sip_txn_t *txn);
void sip_txn_table_unlink(sip_txn_table_t *t, sip_txn_t *txn);
sip_txn_t *sip_txn_table_find(const sip_txn_table_t *t, const sip_txn_key_t *key);
/* Any live transaction (for teardown), or NULL. */
sip_txn_t *sip_txn_table_any(const sip_txn_table_t *t);

/* sip_txn_match.c */
typedef enum { SIP_KEY_OK = 0, SIP_KEY_NO_COOKIE, SIP_KEY_TOO_LONG, SIP_KEY_BAD } sip_key_rc_t;
/* Server key of a request (ACK keys as INVITE). */
sip_key_rc_t sip_txn_key_request(sip_msg_t *req, sip_txn_key_t *key);
/* Client key of a response, or of a request we send (branch + CSeq method). */
sip_key_rc_t sip_txn_key_client(sip_msg_t *msg, sip_txn_key_t *key);
/* Stores key into s (one allocation). 0, or -1 without memory. */
int sip_txn_skey_set(sip_txn_skey_t *s, const sip_txn_key_t *key);
void sip_txn_skey_free(sip_txn_skey_t *s);
/* Whether a stored key matches a lookup key (§17.1.3 / §17.2.3). */
bool sip_txn_skey_eq(const sip_txn_skey_t *s, const sip_txn_key_t *key);
/* The method (method_len bytes), for logs. */
const char *sip_txn_skey_method(const sip_txn_skey_t *s);

/* sip_txn_build.c: both parse tl->txn->req into tl->scratch. Return length written or -1. */
int sip_txn_build_ack(sip_txn_layer_t *tl, const sip_txn_t *txn, sip_msg_t *resp, char *out, int cap);
int sip_txn_build_408(sip_txn_layer_t *tl, const sip_txn_t *txn, char *out, int cap);

/* sip_txn_base.c: helpers shared by the state machines. */
uint64_t sip_txn_now(const sip_txn_layer_t *tl);
void sip_txn_arm(sip_txn_layer_t *tl, sip_timer_t *tm, uint32_t delay_ms);
/* Sends bytes to the transaction's peer; 0 or -1. */
int sip_txn_send(sip_txn_layer_t *tl, const sip_txn_t *txn, const char *buf, size_t len);
/* Moves to Terminated; the 0-delay LIFE timer frees it at the next tick (never inside a TU call). */
void sip_txn_end(sip_txn_layer_t *tl, sip_txn_t *txn);
/* A send failed outside a TU call: tell the TU, then end. */
void sip_txn_transport_failed(sip_txn_layer_t *tl, sip_txn_t *txn);
int sip_txn_store(char **dst, size_t *dst_len, const char *src, size_t len);
/* Frees a stored message the state reached no longer needs (the tombstone keeps only what its timers use). */
void sip_txn_forget(char **buf, size_t *len);

/* sip_txn_client.c */
void sip_txn_client_on_response(sip_txn_layer_t *tl, sip_txn_t *txn, sip_msg_t *resp);
void sip_txn_client_on_timer(sip_txn_layer_t *tl, sip_txn_t *txn, int which);
void sip_txn_client_begin(sip_txn_layer_t *tl, sip_txn_t *txn);

/* sip_txn_server.c */
void sip_txn_server_on_request(sip_txn_layer_t *tl, sip_txn_t *txn, sip_msg_t *req, const sip_addr_t *src);
void sip_txn_server_on_timer(sip_txn_layer_t *tl, sip_txn_t *txn, int which);
int sip_txn_server_respond(sip_txn_layer_t *tl, sip_txn_t *txn, int status, const char *resp, size_t len);

#endif
