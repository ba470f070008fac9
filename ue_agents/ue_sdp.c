/*
 * ue_sdp — building and reading the SDP of a mihua call (ue_sdp.h) on lib/sdp.
 *
 * Parsing goes through a heap sdp_session_t (~10 KiB of slices) because agents run one per call in a loop; the
 * text parsed is the message body the caller holds, so every slice is read before returning.
 */
#include "ue_sdp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdp/sdp.h"

#define SESS_ID "1"

static sdp_dir_t to_sdp_dir(ue_sdp_dir_t d)
{
    switch (d) {
    case UE_SDP_SENDONLY:
        return SDP_DIR_SENDONLY;
    case UE_SDP_RECVONLY:
        return SDP_DIR_RECVONLY;
    case UE_SDP_INACTIVE:
        return SDP_DIR_INACTIVE;
    case UE_SDP_SENDRECV:
        break;
    }
    return SDP_DIR_SENDRECV;
}

static void fill_plain(sdp_session_t *s, const char *user, const char *ver, const char *ip, uint16_t port,
                       const char *proto)
{
    const char *type = strchr(ip, ':') ? "IP6" : "IP4";
    memset(s, 0, sizeof *s);
    s->origin = (sdp_origin_t){sip_str_c(user), sip_str_c(SESS_ID), sip_str_c(ver),
                               (sdp_conn_t){sip_str_c("IN"), sip_str_c(type), sip_str_c(ip)}};
    s->name = sip_str_c("-");
    s->conn = s->origin.conn;
    s->t_start = s->t_stop = sip_str_c("0");
    sdp_media_t *m = &s->media[s->nmedia++];
    m->type = sip_str_c("audio");
    m->port = port;
    m->proto = sip_str_c(proto);
    m->fmts[m->nfmt++] = sip_str_c("0");
    m->rtpmap[m->nrtpmap++] = (sdp_rtpmap_t){0, sip_str_c("PCMU"), 8000, SIP_STR_NULL};
    m->attrs[m->nattr++] = sip_str_c("ptime:20");
    m->dir = SDP_DIR_SENDRECV;
}

/* Builds with the media line and crypto lines prepared by fill(). */
static int build(char *out, int cap, const char *user, uint32_t version, const char *ip, uint16_t port,
                 const char *proto, int (*fill)(sdp_media_t *m, const void *arg), const void *arg)
{
    char ver[16];
    snprintf(ver, sizeof ver, "%u", version);
    sdp_session_t *s = malloc(sizeof *s);
    if (!s)
        return -1;
    fill_plain(s, user, ver, ip, port, proto);
    int n = fill && fill(&s->media[0], arg) != 0 ? -1 : sdp_build(s, out, cap);
    free(s);
    return n;
}

int ue_sdp_plain(char *out, int cap, const char *user, uint32_t version, const char *ip, uint16_t port)
{
    return build(out, cap, user, version, ip, port, "RTP/AVP", NULL, NULL);
}

static int fill_dir(sdp_media_t *m, const void *arg)
{
    m->dir = to_sdp_dir(*(const ue_sdp_dir_t *)arg);
    return 0;
}

int ue_sdp_plain_dir(char *out, int cap, const char *user, uint32_t version, const char *ip, uint16_t port,
                     ue_sdp_dir_t dir)
{
    return build(out, cap, user, version, ip, port, "RTP/AVP", fill_dir, &dir);
}

typedef struct {
    const msrtp_suite_t *suites;
    size_t n;
    const char *key_id;
} offer_arg_t;

static int fill_offer(sdp_media_t *m, const void *arg)
{
    const offer_arg_t *o = arg;
    if (o->n == 0)
        return -1;
    for (size_t i = 0; i < o->n; i++) {
        const char *name = msrtp_suite_name(o->suites[i]);
        if (!name || sdp_media_add_crypto(m, (uint32_t)i + 1, name, SDP_KEY_KMS, o->key_id) != 0)
            return -1;
    }
    return 0;
}

int ue_sdp_srtp_offer(char *out, int cap, const char *user, uint32_t version, const char *ip, uint16_t port,
                      const msrtp_suite_t *suites, size_t n, const char *key_id)
{
    offer_arg_t o = {suites, n, key_id};
    return build(out, cap, user, version, ip, port, "RTP/SAVP", fill_offer, &o);
}

static int fill_answer(sdp_media_t *m, const void *arg)
{
    const ue_sdp_choice_t *c = arg;
    const char *name = msrtp_suite_name(c->suite);
    return name ? sdp_media_add_crypto(m, c->tag, name, SDP_KEY_KMS, c->key_id) : -1;
}

int ue_sdp_srtp_answer(char *out, int cap, const char *user, uint32_t version, const char *ip, uint16_t port,
                       const ue_sdp_choice_t *choice)
{
    return build(out, cap, user, version, ip, port, "RTP/SAVP", fill_answer, choice);
}

/* ---------------------------------------------------------------- reading */

static bool key_id_ok(sip_str_t k)
{
    if (k.len < 1 || k.len > UE_SDP_KEY_ID_MAX)
        return false;
    for (int i = 0; i < k.len; i++) {
        char c = k.s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

static ue_sdp_result_t media_addr(const sdp_session_t *s, const sdp_media_t *m, ue_sdp_addr_t *out)
{
    sip_str_t ip = m->conn.addr.s ? m->conn.addr : s->conn.addr;
    if (!ip.s || ip.len <= 0 || ip.len >= UE_SDP_IP_MAX || m->port == 0 || m->port > 65535)
        return UE_SDP_NO_AUDIO;
    sip_str_copy(ip, out->ip, sizeof out->ip);
    out->port = (uint16_t)m->port;
    return UE_SDP_OK;
}

/* Parses body and finds its audio stream; *sp is the heap session to free. */
static ue_sdp_result_t parse_audio(const char *body, int len, sdp_session_t **sp, const sdp_media_t **mp)
{
    *sp = malloc(sizeof **sp);
    if (!*sp || !body || len <= 0 || sdp_parse(*sp, body, len) != SDP_OK)
        return UE_SDP_BAD;
    *mp = sdp_find_media(*sp, "audio");
    return *mp ? UE_SDP_OK : UE_SDP_NO_AUDIO;
}

ue_sdp_result_t ue_sdp_remote(const char *body, int len, ue_sdp_addr_t *out)
{
    sdp_session_t *s;
    const sdp_media_t *m;
    ue_sdp_result_t r = parse_audio(body, len, &s, &m);
    if (r == UE_SDP_OK)
        r = media_addr(s, m, out);
    free(s);
    return r;
}

static ue_sdp_dir_t from_sdp_dir(sdp_dir_t d)
{
    switch (d) {
    case SDP_DIR_SENDONLY:
        return UE_SDP_SENDONLY;
    case SDP_DIR_RECVONLY:
        return UE_SDP_RECVONLY;
    case SDP_DIR_INACTIVE:
        return UE_SDP_INACTIVE;
    case SDP_DIR_NONE:
    case SDP_DIR_SENDRECV:
        break;
    }
    return UE_SDP_SENDRECV;
}

/* RFC 2543 hold: c=0.0.0.0 asks not to be sent to, whatever the attribute says (RFC 3264 §8.4 keeps it legal). */
static ue_sdp_dir_t dir_of(const sdp_session_t *s, const sdp_media_t *m, const ue_sdp_addr_t *a)
{
    ue_sdp_dir_t d = from_sdp_dir(m->dir != SDP_DIR_NONE ? m->dir : s->dir);
    if (strcmp(a->ip, "0.0.0.0") != 0)
        return d;
    return d == UE_SDP_SENDRECV || d == UE_SDP_SENDONLY ? UE_SDP_SENDONLY : UE_SDP_INACTIVE;
}

static uint64_t version_of(sip_str_t v)
{
    uint64_t n = 0;
    for (int i = 0; i < v.len && i < 19 && v.s[i] >= '0' && v.s[i] <= '9'; i++)
        n = n * 10 + (uint64_t)(v.s[i] - '0');
    return n;
}

ue_sdp_result_t ue_sdp_stream(const char *body, int len, ue_sdp_stream_t *out)
{
    sdp_session_t *s;
    const sdp_media_t *m;
    ue_sdp_result_t r = parse_audio(body, len, &s, &m);
    if (r == UE_SDP_OK && (r = media_addr(s, m, &out->addr)) == UE_SDP_OK) {
        out->dir = dir_of(s, m, &out->addr);
        out->version = version_of(s->origin.sess_version);
    }
    free(s);
    return r;
}

/* An RTP/SAVP stream whose crypto lines all use kms: with one well-formed keyId. */
static ue_sdp_result_t check_kms_lines(const sdp_media_t *m)
{
    if (!sip_str_eq(m->proto, "RTP/SAVP"))
        return UE_SDP_NOT_SAVP;
    if (m->ncrypto == 0)
        return UE_SDP_NO_CRYPTO;
    for (int i = 0; i < m->ncrypto; i++)
        if (m->crypto[i].method != SDP_KEY_KMS || !key_id_ok(m->crypto[i].key_info) ||
            m->crypto[i].key_info.len != m->crypto[0].key_info.len ||
            memcmp(m->crypto[i].key_info.s, m->crypto[0].key_info.s, (size_t)m->crypto[0].key_info.len) != 0)
            return UE_SDP_KEY_METHOD;
    return UE_SDP_OK;
}

static int suite_of(sip_str_t name, msrtp_suite_t *out)
{
    char buf[MSRTP_SUITE_NAME_MAX_LEN + 1];
    if (name.len <= 0 || name.len > MSRTP_SUITE_NAME_MAX_LEN)
        return -1;
    return msrtp_suite_from_name(sip_str_copy(name, buf, sizeof buf), out);
}

static bool suite_in(msrtp_suite_t s, const msrtp_suite_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == s)
            return true;
    return false;
}

static void choose(const sdp_crypto_t *c, msrtp_suite_t suite, ue_sdp_choice_t *out)
{
    out->suite = suite;
    out->tag = c->tag;
    sip_str_copy(c->key_info, out->key_id, sizeof out->key_id);
}

ue_sdp_result_t ue_sdp_select(const char *body, int len, const msrtp_suite_t *supported, size_t n, ue_sdp_choice_t *out)
{
    sdp_session_t *s;
    const sdp_media_t *m;
    ue_sdp_result_t r = parse_audio(body, len, &s, &m);
    if (r == UE_SDP_OK && (r = media_addr(s, m, &out->remote)) == UE_SDP_OK && (r = check_kms_lines(m)) == UE_SDP_OK) {
        r = UE_SDP_NO_COMMON_SUITE;
        for (int i = 0; i < m->ncrypto && r != UE_SDP_OK; i++) {
            msrtp_suite_t suite;
            if (suite_of(m->crypto[i].suite, &suite) == 0 && suite_in(suite, supported, n)) {
                choose(&m->crypto[i], suite, out);
                r = UE_SDP_OK;
            }
        }
    }
    free(s);
    return r;
}

ue_sdp_result_t ue_sdp_check_answer(const char *body, int len, const msrtp_suite_t *offered, size_t n,
                                    const char *key_id, ue_sdp_choice_t *out)
{
    sdp_session_t *s;
    const sdp_media_t *m;
    ue_sdp_result_t r = parse_audio(body, len, &s, &m);
    if (r == UE_SDP_OK && (r = media_addr(s, m, &out->remote)) == UE_SDP_OK && (r = check_kms_lines(m)) == UE_SDP_OK) {
        const sdp_crypto_t *c = sdp_answer_crypto(m);
        msrtp_suite_t suite;
        r = UE_SDP_BAD_ANSWER;
        /* our offer numbered its lines 1..n in order, so the tag names the line the answer accepts */
        if (c && suite_of(c->suite, &suite) == 0 && c->tag >= 1 && c->tag <= n && offered[c->tag - 1] == suite &&
            sip_str_eq(c->key_info, key_id)) {
            choose(c, suite, out);
            r = UE_SDP_OK;
        }
    }
    free(s);
    return r;
}

const char *ue_sdp_dir_str(ue_sdp_dir_t d)
{
    return sdp_dir_str(to_sdp_dir(d));
}

const char *ue_sdp_result_str(ue_sdp_result_t r)
{
    switch (r) {
    case UE_SDP_OK:
        return "ok";
    case UE_SDP_BAD:
        return "SDP does not parse";
    case UE_SDP_NO_AUDIO:
        return "no audio stream with an address";
    case UE_SDP_NOT_SAVP:
        return "not RTP/SAVP";
    case UE_SDP_NO_CRYPTO:
        return "no a=crypto line";
    case UE_SDP_KEY_METHOD:
        return "a=crypto without one kms:<keyId>";
    case UE_SDP_NO_COMMON_SUITE:
        return "no common SRTP suite";
    case UE_SDP_BAD_ANSWER:
        return "answer does not accept exactly one offered a=crypto line";
    }
    return "?";
}
