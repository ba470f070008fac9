/*
 * sip_lump — edits recorded against an unchanged receive buffer and applied once (Kamailio's data_lump idea).
 *
 *   sip_lumps_t *l = malloc(sizeof *l);
 *   sip_lumps_init(l, msg);
 *   sip_edit_via_insert_top(l, msg, "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1");
 *   sip_edit_contact_param_remove(l, msg, 0, "+u.mihua.voenc");
 *   int n = sip_lumps_apply(l, out, sizeof out);   // -1 when out is too small or edits overlap
 *
 * Inserted text is copied into the lump list's own arena, so callers may pass temporaries. msg->buf is never
 * written. The edit helpers parse the headers they need (SIP_HF_ALL) and return 0, 1 (for "removed" queries: 1 when
 * something was removed, 0 when absent) or -1 (message unparsable, arena or lump table full, bad argument).
 */
#ifndef MIHUA_SIP_LUMP_H
#define MIHUA_SIP_LUMP_H

#include "sip/sip_msg.h"

#define SIP_LUMP_MAX 64     /* edits per message; a proxy makes < 10 */
#define SIP_LUMP_ARENA 4096 /* bytes of inserted text per message: a few Via/Record-Route lines or a new body */

typedef struct {
    int off;     /* offset in the original buffer */
    int del;     /* bytes deleted from off */
    int ins_off; /* inserted text in arena */
    int ins_len;
} sip_lump_t;

typedef struct {
    const char *buf; /* original message */
    int len;
    sip_lump_t lumps[SIP_LUMP_MAX]; /* in the order recorded; applied sorted by offset, stable */
    int n;
    char arena[SIP_LUMP_ARENA];
    int arena_used;
} sip_lumps_t;

void sip_lumps_init(sip_lumps_t *l, const sip_msg_t *msg);
/* Raw lumps. off/del are offsets into msg->buf. At equal offsets, lumps apply in recording order. */
int sip_lump_insert(sip_lumps_t *l, int off, const char *text, int len);
int sip_lump_delete(sip_lumps_t *l, int off, int len);
int sip_lump_replace(sip_lumps_t *l, int off, int del, const char *text, int len);
/* Size of the output (original + inserts - deletes). */
int sip_lumps_out_len(const sip_lumps_t *l);
/* Writes the edited message into out. Returns its length, or -1 when cap is too small or two lumps overlap (a
 * deletion covering another lump's offset). */
int sip_lumps_apply(const sip_lumps_t *l, char *out, int cap);

/* ---- edits by meaning (RFC 3261 §16.6 request forwarding, §16.7 response processing) ---- */

/* Inserts "Via: <value>\r\n" before the first Via line (§16.6 step 8). */
int sip_edit_via_insert_top(sip_lumps_t *l, sip_msg_t *msg, const char *via_value);
/* Removes the top Via value: the whole line when it is the only value on it, else the value and its comma
 * (§16.7 step 3). */
int sip_edit_via_remove_top(sip_lumps_t *l, sip_msg_t *msg);
/* Removes the first Route value (§16.4 loose routing). */
int sip_edit_route_remove_top(sip_lumps_t *l, sip_msg_t *msg);
/* Inserts "Record-Route: <value>\r\n" before the first Record-Route line, or at the end of the headers (§16.6
 * step 4). value includes the angle brackets, e.g. "<sip:127.0.0.1;lr>". */
int sip_edit_rr_insert(sip_lumps_t *l, sip_msg_t *msg, const char *rr_value);
/* Removes every ";name" or ";name=value" from the header parameters of contact[idx]. 1 removed, 0 absent, -1 error. */
int sip_edit_contact_param_remove(sip_lumps_t *l, sip_msg_t *msg, int idx, const char *name);
/* Replaces the Request-URI (§16.6 step 2). */
int sip_edit_ruri_replace(sip_lumps_t *l, sip_msg_t *msg, const char *uri);
/* Sets Max-Forwards to value, inserting the header when absent (§16.6 step 3). */
int sip_edit_max_forwards_set(sip_lumps_t *l, sip_msg_t *msg, int value);
/* Appends a full header line (without CRLF) at the end of the header section. */
int sip_edit_header_append(sip_lumps_t *l, sip_msg_t *msg, const char *line);
/* Removes header line hdrs[idx] entirely (all values on it). */
int sip_edit_header_remove(sip_lumps_t *l, sip_msg_t *msg, int idx);
/* Replaces the body and sets Content-Length to match (inserting it when absent). Content-Type is the caller's. */
int sip_edit_body_replace(sip_lumps_t *l, sip_msg_t *msg, const char *body, int len);

#endif
