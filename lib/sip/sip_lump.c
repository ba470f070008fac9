/*
 * sip_lump — recorded edits applied in one pass (RFC 3261 §16.6 / §16.7 proxy edits; Kamailio data_lump.c idea).
 *
 * A lump is "at offset off of the original buffer, delete del bytes and insert this text". Lumps are kept in a
 * fixed table, their text in a fixed arena, so recording an edit never allocates and a message's edits are bounded
 * (SIP_LUMP_MAX, SIP_LUMP_ARENA). sip_lumps_apply() sorts them by offset (stable; at one offset pure insertions come
 * before a deletion, so "insert before X" still works when X is removed) and copies original bytes between them.
 * The original buffer is never written, so it stays valid for logging, retransmission matching and the oracle tests.
 *
 * Trade-off: unlike Kamailio there are no nested lumps (an insertion inside a deleted range); such edit sets are
 * refused at apply time (-1) rather than guessed at. Every edit helper below touches disjoint ranges in practice.
 */
#include "sip/sip_lump.h"

#include "sip/sip_scan.h"

#include <stdio.h>
#include <string.h>

/* The output ends where the body ends: bytes after Content-Length in a datagram are discarded (§18.3). */
static int sip_msg_end(const sip_msg_t *msg)
{
    return msg->body_done ? msg->body_off + msg->body.len : msg->len;
}

void sip_lumps_init(sip_lumps_t *l, const sip_msg_t *msg)
{
    l->buf = msg->buf;
    l->len = sip_msg_end(msg);
    l->n = 0;
    l->arena_used = 0;
}

int sip_lump_replace(sip_lumps_t *l, int off, int del, const char *text, int len)
{
    if (off < 0 || del < 0 || len < 0 || off > l->len || del > l->len - off || (len > 0 && !text))
        return -1;
    if (l->n >= SIP_LUMP_MAX || len > SIP_LUMP_ARENA - l->arena_used)
        return -1;
    sip_lump_t *lp = &l->lumps[l->n++];
    lp->off = off;
    lp->del = del;
    lp->ins_off = l->arena_used;
    lp->ins_len = len;
    if (len > 0)
        memcpy(l->arena + l->arena_used, text, (size_t)len);
    l->arena_used += len;
    return 0;
}

int sip_lump_insert(sip_lumps_t *l, int off, const char *text, int len)
{
    return sip_lump_replace(l, off, 0, text, len);
}

int sip_lump_delete(sip_lumps_t *l, int off, int len)
{
    return sip_lump_replace(l, off, len, NULL, 0);
}

int sip_lumps_out_len(const sip_lumps_t *l)
{
    int n = l->len;
    for (int i = 0; i < l->n; i++)
        n += l->lumps[i].ins_len - l->lumps[i].del;
    return n;
}

static bool sip_lump_before(const sip_lump_t *a, const sip_lump_t *b)
{
    if (a->off != b->off)
        return a->off < b->off;
    return a->del == 0 && b->del != 0;
}

int sip_lumps_apply(const sip_lumps_t *l, char *out, int cap)
{
    int order[SIP_LUMP_MAX];
    for (int i = 0; i < l->n; i++) { /* stable insertion sort; n <= SIP_LUMP_MAX */
        int j = i;
        while (j > 0 && sip_lump_before(&l->lumps[i], &l->lumps[order[j - 1]])) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    if (!out || sip_lumps_out_len(l) > cap)
        return -1;
    int pos = 0, o = 0;
    for (int k = 0; k < l->n; k++) {
        const sip_lump_t *lp = &l->lumps[order[k]];
        if (lp->off < pos)
            return -1;
        memcpy(out + o, l->buf + pos, (size_t)(lp->off - pos));
        o += lp->off - pos;
        memcpy(out + o, l->arena + lp->ins_off, (size_t)lp->ins_len);
        o += lp->ins_len;
        pos = lp->off + lp->del;
    }
    memcpy(out + o, l->buf + pos, (size_t)(l->len - pos));
    return o + l->len - pos;
}

/* ---- edit helpers ---- */

static int sip_off(const sip_lumps_t *l, const char *p)
{
    return (int)(p - l->buf);
}

static int sip_edit_ready(sip_lumps_t *l, sip_msg_t *msg)
{
    if (!l || !msg || l->buf != msg->buf)
        return -1;
    if (sip_parse_headers(msg, SIP_HF_ALL) != SIP_OK)
        return -1;
    l->len = sip_msg_end(msg);
    return 0;
}

/* Inserts "<name>: <value>\r\n" at off. */
static int sip_insert_line(sip_lumps_t *l, int off, const char *name, const char *value)
{
    char line[SIP_LUMP_ARENA];
    int n = snprintf(line, sizeof line, "%s: %s\r\n", name, value);
    if (n < 0 || n >= (int)sizeof line)
        return -1;
    return sip_lump_insert(l, off, line, n);
}

int sip_edit_via_insert_top(sip_lumps_t *l, sip_msg_t *msg, const char *via_value)
{
    if (sip_edit_ready(l, msg) < 0 || !via_value)
        return -1;
    int off = msg->nvia > 0 ? sip_off(l, msg->hdrs[msg->via[0].hdr].line.s) : msg->eoh;
    return sip_insert_line(l, off, "Via", via_value);
}

/* Removes one value of a comma-separated header line (or the whole line when it is the only value). */
static int sip_remove_list_value(sip_lumps_t *l, const sip_msg_t *msg, int h, sip_str_t v)
{
    const sip_hdr_t *hd = &msg->hdrs[h];
    if (hd->nvalues <= 1)
        return sip_lump_delete(l, sip_off(l, hd->line.s), hd->line.len);
    const char *body_end = hd->body.s + hd->body.len;
    const char *p = v.s + v.len;
    while (p < body_end && sip_is_lws(*p))
        p++;
    if (p < body_end && *p == ',') { /* not the last value: delete it, its comma and the blanks after */
        p++;
        while (p < body_end && sip_is_lws(*p))
            p++;
        return sip_lump_delete(l, sip_off(l, v.s), (int)(p - v.s));
    }
    const char *q = v.s; /* the last value: delete from the comma before it */
    while (q > hd->body.s && *(q - 1) != ',')
        q--;
    if (q == hd->body.s)
        return -1;
    q--;
    return sip_lump_delete(l, sip_off(l, q), (int)(v.s + v.len - q));
}

int sip_edit_via_remove_top(sip_lumps_t *l, sip_msg_t *msg)
{
    if (sip_edit_ready(l, msg) < 0 || msg->nvia == 0)
        return -1;
    return sip_remove_list_value(l, msg, msg->via[0].hdr, msg->via[0].raw);
}

int sip_edit_route_remove_top(sip_lumps_t *l, sip_msg_t *msg)
{
    if (sip_edit_ready(l, msg) < 0 || msg->nroute == 0)
        return -1;
    return sip_remove_list_value(l, msg, msg->route[0].hdr, msg->route[0].raw);
}

int sip_edit_rr_insert(sip_lumps_t *l, sip_msg_t *msg, const char *rr_value)
{
    if (sip_edit_ready(l, msg) < 0 || !rr_value)
        return -1;
    int off = msg->nrr > 0 ? sip_off(l, msg->hdrs[msg->rr[0].hdr].line.s) : msg->eoh;
    return sip_insert_line(l, off, "Record-Route", rr_value);
}

/* Every occurrence goes: a parameter sent twice (";+u.mihua.voenc;+u.mihua.voenc") must not survive a strip. */
int sip_edit_contact_param_remove(sip_lumps_t *l, sip_msg_t *msg, int idx, const char *name)
{
    if (sip_edit_ready(l, msg) < 0 || idx < 0 || idx >= msg->ncontact || !name)
        return -1;
    sip_str_t rest = msg->contact[idx].params, pn, pv;
    int removed = 0;
    while (rest.s) {
        sip_str_t start = sip_trim(rest);
        if (sip_param_next(&rest, &pn, &pv) != 1)
            break;
        if (!sip_str_ieq(pn, name))
            continue;
        if (sip_lump_delete(l, sip_off(l, start.s), (int)(rest.s - start.s)) < 0)
            return -1;
        removed = 1;
    }
    return removed;
}

int sip_edit_ruri_replace(sip_lumps_t *l, sip_msg_t *msg, const char *uri)
{
    if (!l || !msg || !msg->is_request || !uri || l->buf != msg->buf || msg->err != SIP_OK)
        return -1;
    return sip_lump_replace(l, sip_off(l, msg->ruri_raw.s), msg->ruri_raw.len, uri, (int)strlen(uri));
}

static int sip_set_number(sip_lumps_t *l, sip_msg_t *msg, int h, const char *name, int value)
{
    char num[16];
    int n = snprintf(num, sizeof num, "%d", value);
    if (h < 0)
        return sip_insert_line(l, msg->eoh, name, num);
    return sip_lump_replace(l, sip_off(l, msg->hdrs[h].body.s), msg->hdrs[h].body.len, num, n);
}

int sip_edit_max_forwards_set(sip_lumps_t *l, sip_msg_t *msg, int value)
{
    if (sip_edit_ready(l, msg) < 0 || value < 0 || value > SIP_MAX_MAX_FORWARDS)
        return -1;
    return sip_set_number(l, msg, msg->max_forwards_hdr, "Max-Forwards", value);
}

int sip_edit_header_append(sip_lumps_t *l, sip_msg_t *msg, const char *line)
{
    if (sip_edit_ready(l, msg) < 0 || !line)
        return -1;
    int n = (int)strlen(line);
    if (sip_lump_insert(l, msg->eoh, line, n) < 0)
        return -1;
    return sip_lump_insert(l, msg->eoh, "\r\n", 2);
}

int sip_edit_header_remove(sip_lumps_t *l, sip_msg_t *msg, int idx)
{
    if (sip_edit_ready(l, msg) < 0 || idx < 0 || idx >= msg->nhdrs)
        return -1;
    return sip_lump_delete(l, sip_off(l, msg->hdrs[idx].line.s), msg->hdrs[idx].line.len);
}

int sip_edit_body_replace(sip_lumps_t *l, sip_msg_t *msg, const char *body, int len)
{
    if (sip_edit_ready(l, msg) < 0 || len < 0 || (len > 0 && !body) || len > SIP_MAX_MSG_SIZE)
        return -1;
    if (sip_set_number(l, msg, msg->content_length_hdr, "Content-Length", len) < 0)
        return -1;
    return sip_lump_replace(l, msg->body_off, msg->body.len, body, len);
}
