/*
 * sip_voenc — mihua's voice-encryption indicator in SIP (DESIGN §2), shared by the AS and the UE agents.
 *
 * Capability: the media feature tag "+u.mihua.voenc" on a Contact (RFC 3840 §9, the unregistered "u." tree) of
 * REGISTER, INVITE and 183. Why not: when the AS forwards a tagged INVITE without the tag, it adds to each
 * response it relays back to the caller for that INVITE a Warning (RFC 3261 §20.43, code 399 "miscellaneous
 * warning") whose text is "voice encryption not allowed: <reason>", the reason being the AS decision's (DESIGN
 * §3: "callee not attached on 4G/5G", ...). The caller can then say why its call is plain; a callee that is not
 * capable sends its 183 without the tag and without a Warning, which is how the two cases differ.
 */
#ifndef MIHUA_SIP_VOENC_H
#define MIHUA_SIP_VOENC_H

#include <stdbool.h>
#include <stddef.h>

#include "sip/sip_msg.h"

#define SIP_VOENC_FEATURE "+u.mihua.voenc"
#define SIP_VOENC_WARN_CODE 399
#define SIP_VOENC_WARN_PREFIX "voice encryption not allowed: "
#define SIP_VOENC_REASON_MAX 128 /* the longest AS reason is ~30 bytes */

/* True when any Contact of msg carries the feature tag (parses Contact as needed). */
bool sip_voenc_tagged(sip_msg_t *msg);
/* The reason of an AS Warning on a response, copied into out (quotes removed). Returns 0, or -1 when the response
 * carries no such Warning. */
int sip_voenc_warning_reason(sip_msg_t *resp, char *out, size_t cap);
/* The header line (no CRLF) the AS adds: Warning: 399 <agent> "voice encryption not allowed: <reason>".
 * Returns its length or -1 when out is too small. */
int sip_voenc_warning_line(const char *agent, const char *reason, char *out, size_t cap);

#endif
