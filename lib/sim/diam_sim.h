/*
 * diam_sim — the request journal and fault injection on a Diameter simulator (mihua-hss), on freeDiameter.
 *
 * Journal: two freeDiameter hooks see every message of the node, so the answers freeDiameter builds itself
 * (5005 for a missing mandatory AVP, 3007 for an unknown application, ...) are journalled like the handler's.
 * HOOK_MESSAGE_RECEIVED notes when each request arrived (by hop-by-hop and end-to-end id); HOOK_MESSAGE_SENT,
 * for each answer, decodes the request and the answer (AVPs by dictionary name, grouped ones nested), takes the
 * Result-Code or Experimental-Result-Code and the latency, and adds one entry. Capabilities exchange, watchdog
 * and disconnect (CER/DWR/DPR) are left out: they are the link, not the traffic under test.
 *
 * Faults (fault.h), applied by the request handler through two calls, one at entry and one at the answer:
 *   answer  the answer gets the rule's Result-Code (E bit for 3xxx) or Experimental-Result (vendor 10415) and
 *           nothing else of the normal answer;
 *   delay   the normal answer waits on a timer thread, then goes out through fd_msg_send (the handler's thread
 *           is free at once, so a delayed user does not hold up the others);
 *   drop    the answer is discarded: the client's own timer or failover is what the test watches;
 *   close   the answer is discarded and the TCP connection it came on is shut down (freeDiameter then sees the
 *           peer go away and cleans up as for any lost link). freeDiameter 1.2.1 offers no call to close one
 *           peer's connection; it names the peer's socket in fd_peer_cnx_proto_info, and that one is shut down.
 */
#ifndef MIHUA_DIAM_SIM_H
#define MIHUA_DIAM_SIM_H

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <stdbool.h>

#include "core/fault.h"
#include "core/journal.h"
#include "diameter/sh_dict.h"

#define DIAM_SIM_MAX_DELAYED 1024 /* answers waiting on a delay fault at once; more are sent without delay */

typedef struct diam_sim diam_sim_t;

/* Registers the hooks (freeDiameter must be running); `port` is the Diameter listen port. */
diam_sim_t *diam_sim_new(const sh_dict_t *dict, journal_t *journal, fault_table_t *faults, int port);
/* Unregisters the hooks and drops the answers still waiting on a delay. Before freeDiameter stops. */
void diam_sim_free(diam_sim_t *s);

/* At a request's entry, once *msg is its answer (fd_msg_new_answer_from_req) and the user is known: applies the
 * first matching fault for `command` (the request's short name, "UDR", "SNR": what a rule's "command" names) and
 * `ids` (identities and IMSI; entries may be NULL). True when the fault has dealt with the request: *msg is the
 * fault's answer, or NULL (dropped, closed); the handler returns with DISP_ACT_SEND, having done nothing else.
 * False: answer normally, then call diam_sim_answer with *delay_ms as set here (0: none). */
bool diam_sim_request(diam_sim_t *s, struct msg **msg, const char *command, const char *const *ids, size_t n_ids,
                      unsigned *delay_ms);
/* With the normal answer built: when delay_ms > 0 the answer is queued and *msg becomes NULL. */
void diam_sim_answer(diam_sim_t *s, struct msg **msg, unsigned delay_ms);

#endif
