/*
 * sip_reply — build a response to a parsed request (RFC 3261 §8.2.6.2, §16.7; RFC 3581 §4).
 */
#ifndef MIHUA_SIP_REPLY_H
#define MIHUA_SIP_REPLY_H

#include "sip/sip_msg.h"

typedef struct {
    const char *to_tag;   /* added to To when the request's To has no tag; NULL for none (e.g. 100 Trying) */
    const char *received; /* source address: added as ;received= to the top Via when non-NULL (§18.2.1) */
    int rport;            /* source port: fills a bare ;rport in the top Via when > 0 (RFC 3581 §4) */
    const char *extra;    /* extra header lines, each ending in CRLF (e.g. "Warning: 399 as \"x\"\r\n"), or NULL */
} sip_reply_opts_t;

/* Writes "SIP/2.0 <status> <reason>", every Via (one per line, in order), From, To (+tag), Call-ID, CSeq, the
 * extra lines and "Content-Length: 0". Returns the length written, or -1 when req is not a parsed request with the
 * mandatory headers, status is outside 100..699, or out is too small. */
int sip_reply_build(sip_msg_t *req, int status, const char *reason, const sip_reply_opts_t *opts, char *out,
                    int cap);

#endif
