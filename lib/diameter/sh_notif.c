/*
 * sh_notif — Sh-Subs-Notif messages (TS 29.329 §6.1.5-§6.1.8) built and read with freeDiameter.
 *
 * Requests are built AVP by AVP in the order of their ABNF, so the rules sh_dict declares hold before
 * freeDiameter checks them on the receiving side; answers are made by fd_msg_new_answer_from_req() and filled
 * with the sh_msg helpers. Reading walks the AVPs once and keeps only what mihua uses; a malformed value (NUL in
 * an identity, an Expiry-Time that is not 4 octets) makes the read fail rather than guess.
 */
#include "diameter/sh_notif.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diameter/sh_msg_int.h"

#define NTP_UNIX_OFFSET 2208988800u /* seconds from 1900-01-01 (NTP era 0) to 1970-01-01 */
#define AVP_ORIGIN_HOST_CODE 264u
#define AVP_ORIGIN_REALM_CODE 296u

void sh_time_encode(time_t unix_s, uint8_t out[4])
{
    uint32_t v = (uint32_t)((uint64_t)unix_s + NTP_UNIX_OFFSET);
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

time_t sh_time_decode(const uint8_t in[4])
{
    uint32_t v = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
    return v >= NTP_UNIX_OFFSET ? (time_t)(v - NTP_UNIX_OFFSET) : 0;
}

static int add_time(msg_or_avp *m, struct dict_object *model, time_t t)
{
    uint8_t b[4];
    sh_time_encode(t, b);
    return sh_avp_add_os(m, model, b, sizeof b);
}

static int snr_fill(const sh_dict_t *d, const sh_snr_params_t *p, struct msg *m)
{
    int rc = sh_add_request_head(d, m, p->dest_host, p->dest_realm, p->public_identity, NULL);
    if (rc == 0 && p->service_indication && sh_has_repository_ref(p->data_refs, p->n_data_refs))
        rc = sh_avp_add_str(m, d->service_indication, p->service_indication);
    if (rc == 0 && p->send_data)
        rc = sh_avp_add_i32(m, d->send_data_indication, (int32_t)SH_SDI_USER_DATA_REQUESTED);
    if (rc == 0)
        rc = sh_avp_add_i32(m, d->subs_req_type, (int32_t)p->subs_req_type);
    for (size_t i = 0; rc == 0 && i < p->n_data_refs; i++)
        rc = sh_avp_add_i32(m, d->data_reference, (int32_t)p->data_refs[i]);
    if (rc == 0 && p->expiry > 0)
        rc = add_time(m, d->expiry_time, p->expiry);
    return rc;
}

int sh_snr_build(const sh_dict_t *d, const sh_snr_params_t *p, struct msg **out)
{
    if (!d || !d->cmd_snr || !p || !out || !p->dest_realm || !p->public_identity || p->n_data_refs == 0 ||
        p->n_data_refs > SH_MAX_DATA_REFS || !p->data_refs)
        return EINVAL;
    struct msg *m = NULL;
    int rc = fd_msg_new(d->cmd_snr, MSGFL_ALLOC_ETEID, &m);
    if (rc != 0)
        return rc;
    rc = snr_fill(d, p, m);
    if (rc != 0) {
        fd_msg_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

static void copy_text(const struct avp_hdr *h, char *out, size_t size)
{
    size_t len = h->avp_value->os.len < size - 1 ? h->avp_value->os.len : size - 1;
    memcpy(out, h->avp_value->os.data, len);
    out[len] = '\0';
}

static int visit_snr(struct avp_hdr *h, struct avp *avp, void *ctx)
{
    sh_snr_extra_t *x = ctx;
    (void)avp;
    if (!h->avp_value)
        return 0;
    if (sh_avp_is(h, SH_AVP_SUBS_REQ_TYPE, SH_VENDOR_3GPP)) {
        x->has_subs_req_type = true;
        x->subs_req_type = (uint32_t)h->avp_value->i32;
    } else if (sh_avp_is(h, SH_AVP_SEND_DATA_INDICATION, SH_VENDOR_3GPP)) {
        x->send_data = h->avp_value->i32 == (int32_t)SH_SDI_USER_DATA_REQUESTED;
    } else if (sh_avp_is(h, SH_AVP_EXPIRY_TIME, SH_VENDOR_3GPP)) {
        if (h->avp_value->os.len != 4)
            return -1;
        x->expiry = sh_time_decode(h->avp_value->os.data);
    } else if (sh_avp_is(h, AVP_ORIGIN_HOST_CODE, 0)) {
        copy_text(h, x->origin_host, sizeof x->origin_host);
    } else if (sh_avp_is(h, AVP_ORIGIN_REALM_CODE, 0)) {
        copy_text(h, x->origin_realm, sizeof x->origin_realm);
    }
    return 0;
}

int sh_snr_read_extra(const sh_dict_t *d, struct msg *snr, sh_snr_extra_t *out)
{
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    if (!d || !snr)
        return -1;
    return sh_avp_walk(snr, visit_snr, out);
}

int sh_sna_set_expiry(const sh_dict_t *d, struct msg *ans, time_t expiry)
{
    if (!d || !ans)
        return EINVAL;
    return add_time(ans, d->expiry_time, expiry);
}

static int visit_expiry(struct avp_hdr *h, struct avp *avp, void *ctx)
{
    (void)avp;
    if (h->avp_value && sh_avp_is(h, SH_AVP_EXPIRY_TIME, SH_VENDOR_3GPP) && h->avp_value->os.len == 4)
        *(time_t *)ctx = sh_time_decode(h->avp_value->os.data);
    return 0;
}

time_t sh_sna_expiry(const sh_dict_t *d, struct msg *sna)
{
    time_t t = 0;
    if (d && sna)
        (void)sh_avp_walk(sna, visit_expiry, &t);
    return t;
}

int sh_pnr_build(const sh_dict_t *d, const sh_pnr_params_t *p, struct msg **out)
{
    if (!d || !d->cmd_pnr || !p || !out || !p->public_identity || !p->dest_host || !p->dest_realm || !p->user_data ||
        p->user_data_len > SH_DATA_MAX_LEN)
        return EINVAL;
    struct msg *m = NULL;
    int rc = fd_msg_new(d->cmd_pnr, MSGFL_ALLOC_ETEID, &m);
    if (rc != 0)
        return rc;
    rc = sh_add_request_head(d, m, p->dest_host, p->dest_realm, p->public_identity, NULL);
    if (rc == 0)
        rc = sh_avp_add_os(m, d->user_data, p->user_data, p->user_data_len);
    if (rc != 0) {
        fd_msg_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

static int visit_user_data(struct avp_hdr *h, struct avp *avp, void *ctx)
{
    sh_pnr_t *p = ctx;
    (void)avp;
    if (!h->avp_value || !sh_avp_is(h, SH_AVP_USER_DATA, SH_VENDOR_3GPP))
        return 0;
    if (h->avp_value->os.len > SH_DATA_MAX_LEN) {
        snprintf(p->error, sizeof p->error, "User-Data of %zu bytes exceeds the limit", h->avp_value->os.len);
        return -1;
    }
    sh_data_clear(&p->data);
    p->has_data = sh_data_parse((const char *)h->avp_value->os.data, h->avp_value->os.len, &p->data, p->error,
                                sizeof p->error) == 0;
    return p->has_data ? 0 : -1;
}

int sh_pnr_read(const sh_dict_t *d, struct msg *pnr, sh_pnr_t *out)
{
    sh_udr_t ids;

    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    if (!d || !pnr || sh_udr_read(d, pnr, &ids) != 0) {
        snprintf(out->error, sizeof out->error, "malformed User-Identity");
        return -1;
    }
    out->public_identity = ids.public_identity;
    out->msisdn = ids.msisdn;
    ids.public_identity = ids.msisdn = NULL;
    sh_udr_clear(&ids);
    if (!out->public_identity && !out->msisdn) {
        snprintf(out->error, sizeof out->error, "User-Identity has neither Public-Identity nor MSISDN");
        return -1;
    }
    if (sh_avp_walk(pnr, visit_user_data, out) != 0)
        return -1;
    if (!out->has_data) {
        snprintf(out->error, sizeof out->error, "no User-Data");
        return -1;
    }
    return 0;
}

void sh_pnr_clear(sh_pnr_t *p)
{
    if (!p)
        return;
    free(p->public_identity);
    free(p->msisdn);
    sh_data_clear(&p->data);
    memset(p, 0, sizeof *p);
}
