/*
 * sip_voenc — the voice-encryption indicator and the AS's "why not" Warning (sip_voenc.h, DESIGN §2).
 */
#include "sip/sip_voenc.h"

#include <stdio.h>
#include <string.h>

bool sip_voenc_tagged(sip_msg_t *msg)
{
    if (sip_parse_headers(msg, SIP_HF(SIP_HDR_CONTACT)) != SIP_OK)
        return false;
    for (int i = 0; i < msg->ncontact; i++)
        if (sip_param_get(msg->contact[i].params, SIP_VOENC_FEATURE, NULL))
            return true;
    return false;
}

int sip_voenc_warning_reason(sip_msg_t *resp, char *out, size_t cap)
{
    const size_t plen = sizeof SIP_VOENC_WARN_PREFIX - 1;
    if (cap == 0 || sip_parse_headers(resp, SIP_HF(SIP_HDR_WARNING)) != SIP_OK)
        return -1;
    for (int i = 0; i < resp->nwarning; i++) {
        sip_str_t t = resp->warning[i].text;
        if (resp->warning[i].code != SIP_VOENC_WARN_CODE || t.len < 2 || t.s[0] != '"' || t.s[t.len - 1] != '"')
            continue;
        t = (sip_str_t){t.s + 1, t.len - 2};
        if ((size_t)t.len <= plen || memcmp(t.s, SIP_VOENC_WARN_PREFIX, plen) != 0)
            continue;
        sip_str_copy((sip_str_t){t.s + plen, t.len - (int)plen}, out, cap);
        return 0;
    }
    return -1;
}

int sip_voenc_warning_line(const char *agent, const char *reason, char *out, size_t cap)
{
    int n = snprintf(out, cap, "Warning: %d %s \"%s%s\"", SIP_VOENC_WARN_CODE, agent, SIP_VOENC_WARN_PREFIX, reason);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}
