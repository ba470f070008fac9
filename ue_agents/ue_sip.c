/*
 * ue_sip — what the agent's SIP side needs without a call (ue_int.h): tokens for tags and Call-IDs, a response
 * outside any call (481, 486, OPTIONS 200...), and SIP Digest answers to a registrar's or the AS's challenge
 * (RFC 3261 §22.2-22.3, the first challenge whose algorithm we know taken, RFC 8760 §2.4). Below the calls and
 * the agent alike, so both call down into it.
 */
#include "ue_int.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "sip/sip_reply.h"

void ue_sip_token(ue_agent_t *a, const char *prefix, char *out, size_t cap)
{
    uint32_t r;
    RAND_bytes((unsigned char *)&r, sizeof r);
    snprintf(out, cap, "%s%08x%llx", prefix, r, (unsigned long long)++a->counter);
}

void ue_sip_reply(ue_agent_t *a, sip_txn_id_t sid, sip_msg_t *req, int status, const char *reason, const char *extra)
{
    char tag[UE_TAG_MAX];
    ue_sip_token(a, "ue", tag, sizeof tag);
    sip_reply_opts_t o = {.to_tag = tag, .extra = extra};
    int n = sip_reply_build(req, status, reason, &o, a->out, UE_MSG_MAX);
    if (n < 0 || sip_txn_respond(a->tl, sid, a->out, (size_t)n) != 0)
        log_warn(UE_LOG, "could not answer %.*s with %d", req->method_str.len, req->method_str.s, status);
}

int ue_sip_pick_challenge(sip_msg_t *resp, const char *hdr, digest_challenge_t *ch)
{
    if (sip_parse_headers(resp, SIP_HF_ALL) != SIP_OK)
        return -1;
    for (int i = 0; i < resp->nhdrs; i++) {
        const sip_hdr_t *h = &resp->hdrs[i];
        if (sip_str_ieq(h->name, hdr) &&
            digest_parse_challenge_alg(h->body.s, (size_t)h->body.len, DIGEST_ALGS_SHA256 | DIGEST_ALGS_MD5, ch) == 0)
            return 0;
    }
    return -1;
}

int ue_sip_auth_line(ue_agent_t *a, const digest_challenge_t *ch, const char *auth_hdr, const char *method,
                     const char *uri, uint32_t nc, char *out, size_t cap)
{
    char cnonce[DIGEST_CNONCE_LEN + 1];
    int head = snprintf(out, cap, "%s: ", auth_hdr);
    if (!a->c->sip_password || head < 0 || (size_t)head + 3 > cap || digest_cnonce_new(cnonce) != 0 ||
        digest_build_authorization(ch, a->c->impu, a->c->sip_password, method, uri, cnonce, nc, out + head,
                                   cap - (size_t)head - 2) < 0)
        return -1;
    strcat(out, "\r\n");
    return 0;
}

int ue_sip_credentials(ue_agent_t *a, sip_msg_t *resp, const char *chal_hdr, const char *auth_hdr, const char *method,
                       const char *uri, char *out, size_t cap)
{
    digest_challenge_t ch;
    return ue_sip_pick_challenge(resp, chal_hdr, &ch) == 0 &&
                   ue_sip_auth_line(a, &ch, auth_hdr, method, uri, 1, out, cap) == 0
               ? 0
               : -1;
}
