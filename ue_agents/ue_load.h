/*
 * ue_load — the load mode of mihua-ue: --calls calls placed at --rate per second from one
 * agent, each a whole call (INVITE .. BYE, --duration of media), and the figures of their set-up:
 *
 *   answered     INVITE sent -> 200 (INVITE): what the caller waits before media can flow
 *   key sync     INVITE sent -> 200 (UPDATE) with the chosen suite (encrypted calls)
 *   first media  200 (INVITE) -> first media packet sent (SRTP from the first packet: no media round trip)
 *   183, key     INVITE sent -> reliable 183, -> session key from the KMS: where the time of a set-up goes
 *
 * each as p50/p99/max in ms, split into encrypted and plain calls, with the counts of calls failed (not
 * connected) and the plain reasons. Calls are started by a 10 ms pacing tick that launches however many are due,
 * so the offered rate holds even when the loop is busy (a late tick starts the calls it owes, not fewer).
 */
#ifndef MIHUA_UE_LOAD_H
#define MIHUA_UE_LOAD_H

#include <stdbool.h>
#include <stdio.h>

#include "ue_agent.h"

typedef struct ue_load ue_load_t;

ue_load_t *ue_load_new(struct event_base *base, ue_agent_t *ag, const ue_conf_t *c);
void ue_load_free(ue_load_t *l);
/* Starts placing calls. 0 or -1. */
int ue_load_start(ue_load_t *l);
/* Every ended call's summary (from the agent's on_call_end). */
void ue_load_record(ue_load_t *l, const ue_call_summary_t *s);
/* All calls placed (or refused at placing) and ended. */
bool ue_load_done(const ue_load_t *l);
/* The figures; also as one JSON line appended to json_path when not NULL. Returns 0 when no call failed. */
int ue_load_report(const ue_load_t *l, FILE *out, const char *json_path);

#endif
