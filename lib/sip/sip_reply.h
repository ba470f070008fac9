/*
 * sip_reply — build a response to a parsed request (RFC 3261 §8.2.6.2, §16.7; RFC 3581 §4), and the CANCEL of an
 * INVITE (§9.1), which is built from the request the same way.
 */
#ifndef MIHUA_SIP_REPLY_H
#define MIHUA_SIP_REPLY_H

#include "sip/sip_msg.h"

typedef struct {
    const char *to_tag;       /* added to To when the request's To has no tag; NULL for none (e.g. 100 Trying) */
    const char *received;     /* source address: added as ;received= to the top Via when non-NULL (§18.2.1) */
    int rport;                /* source port: fills a bare ;rport in the top Via when > 0 (RFC 3581 §4) */
    const char *extra;        /* extra header lines, each ending in CRLF (e.g. "Warning: 399 as \"x\"\r\n"), or NULL */
    const char *content_type; /* with body: its Content-Type (e.g. "application/sdp") */
    const char *body;         /* message body (a UA's 183 or 200 with SDP), or NULL for none */
    int body_len;
} sip_reply_opts_t;

/* Writes "SIP/2.0 <status> <reason>", every Via (one per line, in order), From, To (+tag), Call-ID, CSeq, the
 * extra lines and "Content-Length: 0" (or, with opts->body, Content-Type, Content-Length and the body). Returns the length written, or -1 when req is not a parsed request with the
 * mandatory headers, status is outside 100..699, or out is too small. */
int sip_reply_build(sip_msg_t *req, int status, const char *reason, const sip_reply_opts_t *opts, char *out, int cap);

#define SIP_MAX_FORWARDS_DEFAULT 70 /* RFC 3261 §8.1.1.6 */

/* §9.1: the CANCEL of an INVITE as it was sent (same Request-URI, top Via, Routes, From, To, Call-ID and CSeq
 * number; Max-Forwards 70). Used by a proxy for the INVITE it forwarded and by a UAC for its own. Returns the
 * length, or -1 when inv is not a parsed request with the mandatory headers or out is too small. */
int sip_build_cancel(sip_msg_t *inv, char *out, int cap);

#endif
