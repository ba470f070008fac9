/*
 * ue_agent — one VoLTE/VoNR UE: registration with the AS, calls as caller (patent claims 1-3) and as callee
 * (claims 4-7), key agreement with the KMS, SRTP media (DESIGN §1, §2, §4).
 *
 *   ue_agent_t *a = ue_agent_new(base, &conf, &audio, &events, err, sizeof err);
 *   ue_agent_register(a);                      // events.on_registered(ud, 200, "OK")
 *   ue_agent_call(a, "tel:+15550000002");      // events.on_call_end(ud, &summary) at hang-up
 *   ue_agent_accept(a, true);                  // answer incoming INVITEs (auto or on ue_agent_answer_ringing)
 *
 * The agent owns its SIP socket (UDP), transaction layer, KMS client and the calls in progress; everything runs
 * on the caller's libevent loop. A call never fails because of encryption: every failure on that path (AS strips
 * the tag, callee not capable, KMS refused or unreachable, no common suite) leaves a plain call with the reason
 * in the summary.
 */
#ifndef MIHUA_UE_AGENT_H
#define MIHUA_UE_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ue_conf.h"
#include "ue_dialog.h"
#include "ue_ladder.h"
#include "ue_media.h"
#include "ue_wav.h"

struct event_base;

#define UE_REASON_MAX 192

typedef struct {
    const char *role; /* "caller" or "callee" */
    const char *call_id;
    const char *peer;    /* the other party's URI */
    bool connected;      /* the INVITE was answered 2xx */
    const char *failure; /* when not connected: "404 Not Found", "no answer", ... */
    bool encrypted;
    const char *suite;  /* when encrypted */
    const char *reason; /* when plain: why (DESIGN §1 "plain: <reason>") */
    bool hung_up_by_us;
    ue_media_stats_t media;
    /* setup milestones in µs after the INVITE was sent (caller) or received (callee); 0: did not happen */
    uint64_t t_early;       /* the 183 */
    uint64_t t_key;         /* session key in hand (KMS issue or retrieve answered) */
    uint64_t t_keysync;     /* 200 to the UPDATE sent or received: key synchronised */
    uint64_t t_answer;      /* 200 to the INVITE */
    uint64_t t_first_media; /* first media packet sent */
    uint64_t kms_us;        /* the KMS request's own round trip */
    const ue_ladder_t *ladder;
} ue_call_summary_t;

typedef struct {
    void (*on_registered)(void *ud, int status, const char *reason);     /* 200, or the failure (408: no answer) */
    void (*on_ringing)(void *ud, const char *call_id, const char *from); /* an incoming call waits for answer */
    void (*on_call_end)(void *ud, const ue_call_summary_t *s);           /* valid during the call */
    void (*on_idle)(void *ud); /* no call, registration or KMS request is in progress any more */
    void *ud;
} ue_agent_events_t;

typedef struct ue_agent ue_agent_t;

/* conf and audio are borrowed and must outlive the agent. Binds the SIP socket. NULL with err on failure. */
ue_agent_t *ue_agent_new(struct event_base *base, const ue_conf_t *conf, const ue_audio_t *audio,
                         const ue_agent_events_t *ev, char *err, size_t errlen);
void ue_agent_free(ue_agent_t *a);
/* Where our SIP socket is bound. */
int ue_agent_sip_port(const ue_agent_t *a);

/* REGISTER (RFC 3261 §10.2), refreshed at half the granted expiry. 0 or -1. */
int ue_agent_register(ue_agent_t *a);
/* Removes our binding (REGISTER with Expires: 0, §10.2.2) and stops refreshing: a UE that goes away says so,
 * so the AS neither routes calls to a dead port nor fills its binding table. on_registered reports it. 0 or -1. */
int ue_agent_unregister(ue_agent_t *a);
/* Opens the KMS connection and learns its Digest challenge ahead of the first call (kms_client_prime), as a
 * terminal bootstraps with its key server before it needs it; no-op for an agent without KMS. 0 or -1. */
int ue_agent_prime_kms(ue_agent_t *a);
/* Places a call to target. 0 or -1 (no memory, cannot bind media). */
int ue_agent_call(ue_agent_t *a, const char *target);
/* Accept incoming INVITEs (else they get 486 Busy Here). */
void ue_agent_accept(ue_agent_t *a, bool on);
/* Answers every call that is ringing (manual mode). */
void ue_agent_answer_ringing(ue_agent_t *a);
/* Hangs up every call (BYE when confirmed, CANCEL or 486 before): SIGTERM. */
void ue_agent_hangup_all(ue_agent_t *a);
bool ue_agent_idle(const ue_agent_t *a);

#endif
