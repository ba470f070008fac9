/*
 * as_sh_path — the AS's Sh interface towards the HSS (DESIGN §3; TS 29.328 §6.1.1, TS 29.329 §6.1.1/6.1.2):
 * UDRs out, answers back on the AS's event loop. Private to mihua_as_checks.
 */
#ifndef MIHUA_AS_SH_PATH_H
#define MIHUA_AS_SH_PATH_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "as_checks.h"
#include "as_checks_int.h"
#include "diameter/sh_msg.h"

#define AS_SH_TC_TIMER_S 2          /* reconnection attempts to the HSS every 2 s (brief: 1-6 s) */
#define AS_SH_TW_TIMER_S 6          /* RFC 3539 minimum watchdog: a silent HSS is noticed within ~2 Tw */
#define AS_SH_EXPIRY_MARGIN_MS 1000 /* freeDiameter forgets a request this long after the check's own timeout */
#define AS_SH_HEDGE_DIVISOR \
    3 /* a UDR unanswered after timeout/3 is sent again to another peer: two more
                                       thirds leave room for that answer within the lookup budget */
#define AS_SH_SUSPECT_MS \
    1000                    /* a peer that let a UDR wait that long is avoided for this long, or until it
                                       answers; then one UDR probes it again (hedged, so it costs no call) */
#define AS_SH_SCORE_BASE 36 /* routing score added to every configured peer (see as_sh_route_delta) */
#define AS_SH_SCORE_SUSPECT \
    33 /* taken off a suspect peer: more than the priority range (32), less than
                                       what keeps it above 0 */

/* What one UDA says. For the caller's UDR attached is AS_ANS_NOT_ASKED. */
typedef struct {
    as_answer_t subscribed;    /* RepositoryData for SH_SERVICE_INDICATION_VOENC present */
    as_answer_t attached;      /* TADS: IMS VoPS supported and RAT-Type EUTRAN or NR */
    char rat[AS_RAT_NAME_MAX]; /* T-ADS RAT-Type name ("NR", "EUTRAN", "UTRAN", or the number), "" when absent */
    as_diam_error_t error;     /* an error answer's code and Origin-Host; code 0 for a success or no answer */
} as_sh_result_t;

/* Runs on the loop for each query whose answer (or freeDiameter expiry) arrived, with the caller's token. */
typedef void (*as_sh_result_cb)(uint64_t token, const as_sh_result_t *res, void *ud);

typedef struct as_sh_path as_sh_path_t;

/* Starts the Diameter node with every configured peer as a ConnectPeer (or the one-peer shorthand) and the
 * routing callback. NULL with a reason in err. */
as_sh_path_t *as_sh_path_new(struct event_base *base, const as_checks_conf_t *conf, as_sh_result_cb cb, void *ud,
                             char *err, size_t errlen);
/* Stops the node (joins freeDiameter's threads) and drops undelivered answers. Safe inside the callback: the
 * path is then freed when the callback returns, and no further callback runs. */
void as_sh_path_free(as_sh_path_t *p);

/* The Sh dictionary (for other Sh commands of this node: SNR, PNR) and where requests are addressed
 * (Destination-Realm; Destination-Host or NULL). */
const sh_dict_t *as_sh_path_dict(const as_sh_path_t *p);
const char *as_sh_path_dest_realm(const as_sh_path_t *p);
const char *as_sh_path_dest_host(const as_sh_path_t *p);

/* Is any peer OPEN; wait (blocking, up to timeout_ms) until one is: 0 or -1. */
bool as_sh_path_peer_open(const as_sh_path_t *p);
int as_sh_path_wait_peer(as_sh_path_t *p, int timeout_ms);
/* The configured peers, for per-peer metrics: how many, the identity of peer i, and whether it is OPEN now. */
size_t as_sh_path_peer_count(const as_sh_path_t *p);
const char *as_sh_path_peer_identity(const as_sh_path_t *p, size_t i);
bool as_sh_path_peer_is_open(const as_sh_path_t *p, size_t i);

/* Sends one UDR for `identity` (Public-Identity) with RepositoryData (want_repo) and/or TADSinformation
 * (want_tads). Returns 0: the result comes through the callback later, exactly once while the path lives (answers
 * for tokens the caller has forgotten are the caller's to drop); -1: not sent (no peer open, no memory) —
 * the caller records an error at once. */
int as_sh_path_query(as_sh_path_t *p, uint64_t token, const char *identity, bool want_repo, bool want_tads,
                     unsigned timeout_ms);

/* Pure: the answers in a decoded UDA (parts not wanted are AS_ANS_NOT_ASKED). Experimental-Result 5001 is
 * "unknown"; any other error, or a success whose User-Data does not parse, is "error"; a success without
 * User-Data has neither RepositoryData nor T-ADS, so it says "no". */
void as_sh_interpret(const sh_uda_t *uda, bool want_repo, bool want_tads, as_sh_result_t *out);

/* Pure: the error an answer carries — Experimental-Result-Code when present, else a Result-Code that is not
 * 2xxx — with its Origin-Host; code 0 for a success. */
void as_sh_error_of(const sh_uda_t *uda, as_diam_error_t *out);

/* Pure: what the routing callback adds to freeDiameter's score of a configured peer (RFC 6733 §6.1.6 leaves the
 * choice among candidates to the node). freeDiameter scores a candidate -2, +100 when it is the Destination-Host,
 * else +15 when its realm is the Destination-Realm, -70 when it lacks the application; it sends to the highest
 * positive score. The delta is AS_SH_SCORE_BASE + (AS_PEER_PRIORITY_MAX + 1 - priority), minus
 * AS_SH_SCORE_SUSPECT for a suspect peer: every configured peer becomes eligible (a relay of another realm
 * too: -2 + 36 + 1 > 0), a lower priority number wins among equals, a suspect peer comes after every trusted peer
 * of its realm class yet stays eligible (-2 + 36 + 1 - 33 > 0), the Destination-Host keeps its lead, and a peer
 * without the application stays below 0 (-70 + 36 + 32 < 0). */
int as_sh_route_delta(int priority, bool suspect);

#endif
