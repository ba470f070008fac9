/*
 * ue_sdp — the four SDP bodies of a mihua call and the decisions read from them (DESIGN §2; RFC 3264 offer/answer,
 * RFC 4568 §9.1 a=crypto with the "kms:<keyId>" key method).
 *
 *   INVITE offer, 183 answer       m=audio <port> RTP/AVP 0, a=rtpmap:0 PCMU/8000
 *   UPDATE re-offer (caller)       m=audio <port> RTP/SAVP 0 and one a=crypto:<n> <SUITE> kms:<keyId> per suite,
 *                                  in the caller's preference order
 *   200 (UPDATE) answer (callee)   RTP/SAVP with exactly one a=crypto: the offer's tag and the suite chosen
 *
 * The callee picks the first suite in the caller's order that it also supports (ue_sdp_select); the caller accepts
 * an answer only when it names one of the offered lines, tag and suite both, with the keyId it sent
 * (ue_sdp_check_answer). Phones that do not speak mihua add plain bodies with a direction (hold and resume in a
 * re-INVITE, RFC 3264 §8.4) and need the o= version read, to tell a repeated answer from a new one (RFC 3264 §8).
 * Pure functions over text: the unit tests call them with any body.
 */
#ifndef MIHUA_UE_SDP_H
#define MIHUA_UE_SDP_H

#include <stddef.h>
#include <stdint.h>

#include "srtp/msrtp.h"

#define UE_SDP_MAX 2048 /* our bodies are < 600 bytes */
#define UE_SDP_IP_MAX 64
#define UE_SDP_KEY_ID_MAX 64 /* a KMS keyId is 22 base64url characters; more is refused as hostile */

typedef enum {
    UE_SDP_OK = 0,
    UE_SDP_BAD,             /* does not parse as SDP */
    UE_SDP_NO_AUDIO,        /* no audio m= line, or no usable connection address */
    UE_SDP_NOT_SAVP,        /* the re-offer or answer is not RTP/SAVP */
    UE_SDP_NO_CRYPTO,       /* RTP/SAVP without a=crypto */
    UE_SDP_KEY_METHOD,      /* a crypto line without kms:<keyId>, or keyIds that differ */
    UE_SDP_NO_COMMON_SUITE, /* none of the offered suites is supported here */
    UE_SDP_BAD_ANSWER,      /* not exactly one a=crypto, or one that was not offered */
} ue_sdp_result_t;

typedef struct {
    char ip[UE_SDP_IP_MAX]; /* media-level c= or else session-level c= */
    uint16_t port;
} ue_sdp_addr_t;

/* An audio stream's direction attribute, as its sender wrote it (RFC 3264 §5.1, §6.1). */
typedef enum { UE_SDP_SENDRECV = 0, UE_SDP_SENDONLY, UE_SDP_RECVONLY, UE_SDP_INACTIVE } ue_sdp_dir_t;

/* What a plain offer or answer says about its audio stream. */
typedef struct {
    ue_sdp_addr_t addr;
    ue_sdp_dir_t dir; /* media-level attribute, else session-level, else sendrecv; c=0.0.0.0 (RFC 2543 hold)
                          counts as "do not send to me" */
    uint64_t version; /* o= session version: equal in a repeated answer, greater in a new offer (RFC 3264 §8) */
} ue_sdp_stream_t;

typedef struct {
    msrtp_suite_t suite;
    uint32_t tag;
    char key_id[UE_SDP_KEY_ID_MAX + 1];
    ue_sdp_addr_t remote;
} ue_sdp_choice_t;

/* Bodies. user = o= username, version = o= session version (bumped by each new offer or answer of a side).
 * Each returns the length written, or -1 when out is too small. */
int ue_sdp_plain(char *out, int cap, const char *user, uint32_t version, const char *ip, uint16_t port);
/* The same with a direction attribute (the answer to a hold offer, RFC 3264 §6.1). */
int ue_sdp_plain_dir(char *out, int cap, const char *user, uint32_t version, const char *ip, uint16_t port,
                     ue_sdp_dir_t dir);
int ue_sdp_srtp_offer(char *out, int cap, const char *user, uint32_t version, const char *ip, uint16_t port,
                      const msrtp_suite_t *suites, size_t n, const char *key_id);
int ue_sdp_srtp_answer(char *out, int cap, const char *user, uint32_t version, const char *ip, uint16_t port,
                       const ue_sdp_choice_t *choice);

/* The audio address of any offer or answer (INVITE, 183). */
ue_sdp_result_t ue_sdp_remote(const char *body, int len, ue_sdp_addr_t *out);
/* The audio stream of a plain offer or answer: address, direction, o= version. */
ue_sdp_result_t ue_sdp_stream(const char *body, int len, ue_sdp_stream_t *out);
/* Callee: the suite to use from an UPDATE re-offer. */
ue_sdp_result_t ue_sdp_select(const char *body, int len, const msrtp_suite_t *supported, size_t n,
                              ue_sdp_choice_t *out);
/* Caller: the suite the 200 (UPDATE) chose, checked against the offer. */
ue_sdp_result_t ue_sdp_check_answer(const char *body, int len, const msrtp_suite_t *offered, size_t n,
                                    const char *key_id, ue_sdp_choice_t *out);

const char *ue_sdp_result_str(ue_sdp_result_t r);
const char *ue_sdp_dir_str(ue_sdp_dir_t d);

#endif
