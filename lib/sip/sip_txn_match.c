/*
 * sip_txn_match — transaction keys and their comparison (the t_lookup.c concern of Kamailio tm).
 *
 * RFC 3261 §17.1.3 (responses to client transactions): the top Via branch equals the one the transaction sent,
 * and the CSeq method equals its method (so a CANCEL's 200, which shares the INVITE's branch, finds the CANCEL).
 * §17.2.3 (requests to server transactions): the branch carries the "z9hG4bK" cookie and is equal, the top Via
 * sent-by (host and port) is equal, and the method is equal, with ACK counting as INVITE. A CANCEL therefore keys
 * its own server transaction; sip_txn_find_invite() re-keys it as INVITE to find the transaction it cancels.
 *
 * Trade-off: requests without the cookie (RFC 2543 peers) are not matched by the §17.2.3 fallback rules (Request-
 * URI, tags, Call-ID, CSeq, Via) — the caller refuses them; every SIP stack shipped since 2002 sets the cookie.
 * Values are copied into the key (bounded by SIP_TXN_MAX_*) so a transaction never points into a receive buffer;
 * a live transaction keeps them compactly (sip_txn_skey_t), sized to what was received.
 * Comparison is ASCII case-insensitive, as §7.3.1 makes parameter values and host names.
 */
#include "sip/sip_txn_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a over the lower-cased branch. */
static uint32_t sip_branch_hash(const char *s, int len)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < len; i++) {
        h ^= (uint8_t)tolower((unsigned char)s[i]);
        h *= 16777619u;
    }
    return h;
}

static bool sip_key_copy(char *dst, int cap, int *dst_len, sip_str_t src)
{
    if (!src.s || src.len <= 0 || src.len > cap)
        return false;
    memcpy(dst, src.s, (size_t)src.len);
    *dst_len = src.len;
    return true;
}

static sip_key_rc_t sip_key_branch_method(const sip_via_t *via, sip_str_t method, sip_txn_key_t *key)
{
    if (!via->branch.s)
        return SIP_KEY_NO_COOKIE;
    if (!sip_via_branch_is_rfc3261(via))
        return SIP_KEY_NO_COOKIE;
    if (!sip_key_copy(key->branch, SIP_TXN_MAX_BRANCH, &key->branch_len, via->branch) ||
        !sip_key_copy(key->method, SIP_TXN_MAX_METHOD, &key->method_len, method))
        return SIP_KEY_TOO_LONG;
    key->hash = sip_branch_hash(key->branch, key->branch_len);
    return SIP_KEY_OK;
}

sip_key_rc_t sip_txn_key_request(sip_msg_t *req, sip_txn_key_t *key)
{
    memset(key, 0, sizeof *key);
    if (!req->is_request || sip_parse_headers(req, SIP_HF_VIA1 | SIP_HF(SIP_HDR_CSEQ)) != SIP_OK || req->nvia == 0)
        return SIP_KEY_BAD;
    sip_str_t method = req->method == SIP_METHOD_ACK ? sip_str_c("INVITE") : req->method_str;
    sip_key_rc_t rc = sip_key_branch_method(&req->via[0], method, key);
    if (rc != SIP_KEY_OK)
        return rc;
    if (!sip_key_copy(key->host, SIP_TXN_MAX_HOST, &key->host_len, req->via[0].host))
        return SIP_KEY_TOO_LONG;
    key->port = req->via[0].port;
    key->server = true;
    return SIP_KEY_OK;
}

sip_key_rc_t sip_txn_key_client(sip_msg_t *msg, sip_txn_key_t *key)
{
    memset(key, 0, sizeof *key);
    if (sip_parse_headers(msg, SIP_HF_VIA1 | SIP_HF(SIP_HDR_CSEQ)) != SIP_OK || msg->nvia == 0 || msg->cseq_hdr < 0)
        return SIP_KEY_BAD;
    return sip_key_branch_method(&msg->via[0], msg->cseq.method_str, key);
}

static bool sip_key_field_eq(const char *a, int alen, const char *b, int blen, bool nocase)
{
    if (alen != blen)
        return false;
    if (!nocase)
        return memcmp(a, b, (size_t)alen) == 0;
    for (int i = 0; i < alen; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
            return false;
    return true;
}

int sip_txn_skey_set(sip_txn_skey_t *s, const sip_txn_key_t *key)
{
    size_t n = (size_t)key->branch_len + (size_t)key->host_len + (size_t)key->method_len;
    char *text = malloc(n ? n : 1);
    if (!text)
        return -1;
    memcpy(text, key->branch, (size_t)key->branch_len);
    memcpy(text + key->branch_len, key->host, (size_t)key->host_len);
    memcpy(text + key->branch_len + key->host_len, key->method, (size_t)key->method_len);
    *s = (sip_txn_skey_t){.text = text,
                          .hash = key->hash,
                          .port = key->port,
                          .branch_len = (uint8_t)key->branch_len,
                          .method_len = (uint8_t)key->method_len,
                          .host_len = (uint16_t)key->host_len,
                          .server = key->server};
    return 0;
}

void sip_txn_skey_free(sip_txn_skey_t *s)
{
    free(s->text);
    s->text = NULL;
}

const char *sip_txn_skey_method(const sip_txn_skey_t *s)
{
    return s->text ? s->text + s->branch_len + s->host_len : "";
}

bool sip_txn_skey_eq(const sip_txn_skey_t *s, const sip_txn_key_t *key)
{
    if (s->server != key->server || s->hash != key->hash ||
        !sip_key_field_eq(s->text, s->branch_len, key->branch, key->branch_len, true) ||
        /* methods are case-sensitive (§7.1) */
        !sip_key_field_eq(sip_txn_skey_method(s), s->method_len, key->method, key->method_len, false))
        return false;
    if (!s->server)
        return true;
    return s->port == key->port &&
           sip_key_field_eq(s->text + s->branch_len, s->host_len, key->host, key->host_len, true);
}
