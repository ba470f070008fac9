/*
 * ue_keys — from the KMS session key to the SRTP master keys of both directions (DESIGN §4 last item):
 * HKDF-SHA256(session key, salt = callId, info = "mihua srtp|<SUITE>|caller>callee" or "...|callee>caller"),
 * then RFC 3711's own KDF inside lib/srtp. The caller sends with caller>callee and receives with callee>caller;
 * the callee the other way round, so each side's send key is the other's receive key and the two directions
 * never share a keystream.
 */
#ifndef MIHUA_UE_KEYS_H
#define MIHUA_UE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srtp/msrtp.h"

/* The masters this side sends and receives with. 0, or -1 (bad suite, OpenSSL failure). Cleanse both after use. */
int ue_keys_srtp_masters(const uint8_t *session_key, size_t key_len, const char *call_id, msrtp_suite_t suite,
                         bool is_caller, msrtp_master_t *send, msrtp_master_t *recv);

#endif
