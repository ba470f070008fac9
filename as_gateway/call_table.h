/*
 * call_table — the calls the AS has forwarded, for the KMS's check (DESIGN §4: GET /as/v1/calls/{callId}).
 *
 *   call_table_t *t = call_table_new(CALL_TABLE_MAX_DEFAULT);
 *   call_table_put(t, callId, caller, callee, allowed, now_ms);   // INVITE forwarded: state "early"
 *   call_table_set_state(t, callId, CALL_CONFIRMED);                // 2xx to the INVITE
 *   call_table_touch(t, callId, now_ms);                          // in-dialog request (re-INVITE, UPDATE, ACK...)
 *   call_table_remove(t, callId);                                  // BYE, CANCEL, final failure
 *   call_table_sweep(t, now_ms, idle_ms);                          // records without traffic for idle_ms
 *
 * Keyed by Call-ID (one INVITE dialog per Call-ID in mihua's flows). Time is passed in, so tests use a fake clock.
 */
#ifndef MIHUA_AS_CALL_TABLE_H
#define MIHUA_AS_CALL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CALL_TABLE_MAX_DEFAULT 200000 /* live calls: 1,000 calls/s x 180 s mean holding time, with margin */
#define CALL_IDLE_MS_DEFAULT \
    (3600ull * 1000)          /* a record without in-dialog traffic this long is closed, so lost
                                                BYEs cannot pin memory: above the usual session-timer refresh
                                                (RFC 4028, Session-Expires 1800 s), and the record serves only
                                                the KMS's check at setup, so a long quiet call loses nothing */
#define CALL_ID_MAX 256       /* Call-ID bytes kept; longer Call-IDs are not recorded */
#define CALL_IDENTITY_MAX 256 /* caller/callee URI bytes kept */
#define CALL_DIAM_ID_MAX 256  /* a DiameterIdentity (255 octets) and its NUL */

typedef enum { CALL_EARLY = 0, CALL_CONFIRMED } call_state_t;

typedef struct {
    char call_id[CALL_ID_MAX];
    char caller[CALL_IDENTITY_MAX]; /* From URI (no parameters) */
    char callee[CALL_IDENTITY_MAX]; /* Request-URI as received (no parameters) */
    bool encryption_allowed;
    call_state_t state;
    uint32_t hss_result_code;          /* an error answer to the call's UDRs (DESIGN §3): 0 = none */
    bool hss_result_experimental;      /* an Experimental-Result-Code rather than a Result-Code */
    char hss_origin[CALL_DIAM_ID_MAX]; /* the Origin-Host of that answer */
    uint64_t created_ms;
    uint64_t last_ms; /* the INVITE, or the dialog's latest request */
} call_rec_t;

typedef struct call_table call_table_t;

call_table_t *call_table_new(size_t max_calls);
void call_table_free(call_table_t *t);

/* Adds or replaces the record of call_id. Returns 0, or -1 (table full, string too long, no memory). */
int call_table_put(call_table_t *t, const char *call_id, const char *caller, const char *callee, bool allowed,
                   uint64_t now_ms);
/* The record, or NULL. Valid until the next call that changes the table. */
/* Records the Diameter error answer of the call's HSS lookups (put clears it). Returns 0, or -1 (no record). */
int call_table_set_hss_error(call_table_t *t, const char *call_id, uint32_t code, bool experimental,
                             const char *origin_host);
const call_rec_t *call_table_get(const call_table_t *t, const char *call_id);
int call_table_set_state(call_table_t *t, const char *call_id, call_state_t state);
/* true when a record was removed. */
bool call_table_remove(call_table_t *t, const char *call_id);
/* Notes traffic in the call's dialog. Returns 0, or -1 (no record). */
int call_table_touch(call_table_t *t, const char *call_id, uint64_t now_ms);
/* Removes records whose last traffic is more than idle_ms before now_ms; returns how many. */
size_t call_table_sweep(call_table_t *t, uint64_t now_ms, uint64_t idle_ms);
size_t call_table_count(const call_table_t *t);
/* After a load: the bucket pages that hold no record go back to the kernel. */
void call_table_trim(call_table_t *t);
const char *call_state_name(call_state_t s); /* "early", "confirmed" */

#endif
