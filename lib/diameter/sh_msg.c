/*
 * sh_msg — UDR/UDA (TS 29.329 §6.1.1, §6.1.2) built and read with freeDiameter.
 *
 * Building: the request gets its Session-Id from fd_msg_new_session() and Origin-Host/Realm from
 * fd_msg_add_origin(), so identities always match the running node; everything else is added in ABNF order.
 * Reading: the message has already been parsed against the dictionary (freeDiameter does that before handing it
 * over; tests call fd_msg_parse_dict), but it is still peer input: every AVP is matched by code and vendor, values
 * are checked for presence, length and content (no embedded NUL in text), and nothing reaches an assert. Reading
 * walks the top-level AVPs once instead of searching per AVP, which also collects repeated ones (Data-Reference).
 *
 * Result handling (DESIGN §3): Sh application errors arrive in Experimental-Result{Vendor-Id, Experimental-Result-
 * Code}; Result-Code carries base protocol outcomes only. Plain Result-Code 5001 is DIAMETER_AVP_UNSUPPORTED, while
 * Experimental-Result-Code 5001 is DIAMETER_ERROR_USER_UNKNOWN — the two are kept apart in sh_uda_t.
 *
 * MSISDN (TS 29.329 §6.3.2 → TS 29.002 TBCD-STRING): digit 2n-1 in the low nibble of octet n, digit 2n in the high
 * nibble, 0xF filler in the last high nibble for an odd count. No nature-of-address octet (unlike MAP's
 * ISDN-AddressString). Only decimal digits are accepted both ways: an E.164 number has no '*', '#', 'a'-'c'.
 */
#include "diameter/sh_msg.h"
#include "diameter/sh_msg_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#define SH_AUTH_SESSION_NO_STATE 1 /* Auth-Session-State NO_STATE_MAINTAINED (RFC 6733 §8.11) */
#define SH_RESULT_SUCCESS 2001u
#define SH_IDENTITY_MAX_LEN 1024 /* longest Public-Identity / Service-Indication we copy (SIP URIs) */
#define SH_TBCD_FILLER 0xFu

/* RFC 6733 AVP codes read from answers (vendor 0). */
enum {
    AVP_ORIGIN_HOST = 264,
    AVP_VENDOR_ID = 266,
    AVP_RESULT_CODE = 268,
    AVP_EXPERIMENTAL_RESULT = 297,
    AVP_EXPERIMENTAL_RESULT_CODE = 298,
};

/* ---------------------------------------------------------------- TBCD */

int sh_msisdn_to_tbcd(const char *digits, uint8_t *out, size_t size, size_t *len)
{
    if (!digits || !out || !len)
        return -1;
    if (*digits == '+')
        digits++;
    size_t n = strlen(digits);
    if (n == 0 || n > SH_MSISDN_MAX_DIGITS || size < (n + 1) / 2)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (digits[i] < '0' || digits[i] > '9')
            return -1;
        uint8_t d = (uint8_t)(digits[i] - '0');
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(SH_TBCD_FILLER << 4 | d);
        else
            out[i / 2] = (uint8_t)((out[i / 2] & 0x0Fu) | (uint8_t)(d << 4));
    }
    *len = (n + 1) / 2;
    return 0;
}

int sh_tbcd_to_msisdn(const uint8_t *tbcd, size_t len, char *out, size_t size)
{
    if (!tbcd || !out || len == 0 || len > (SH_MSISDN_MAX_DIGITS + 1) / 2 || size < len * 2 + 1)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t lo = tbcd[i] & 0x0Fu, hi = (uint8_t)(tbcd[i] >> 4);
        if (lo > 9)
            return -1;
        out[n++] = (char)('0' + lo);
        if (hi == SH_TBCD_FILLER && i == len - 1)
            break;
        if (hi > 9)
            return -1;
        out[n++] = (char)('0' + hi);
    }
    if (n > SH_MSISDN_MAX_DIGITS)
        return -1;
    out[n] = '\0';
    return 0;
}

/* ---------------------------------------------------------------- building */

int sh_avp_add_value(msg_or_avp *parent, struct dict_object *model, union avp_value *v)
{
    struct avp *avp = NULL;
    int rc = fd_msg_avp_new(model, 0, &avp);
    if (rc == 0 && v)
        rc = fd_msg_avp_setvalue(avp, v);
    if (rc == 0)
        rc = fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, avp);
    if (rc != 0 && avp)
        fd_msg_free(avp);
    return rc;
}

int sh_avp_add_os(msg_or_avp *parent, struct dict_object *model, const void *data, size_t len)
{
    union avp_value v = {.os = {.data = (uint8_t *)data, .len = len}};
    return sh_avp_add_value(parent, model, &v);
}

int sh_avp_add_str(msg_or_avp *parent, struct dict_object *model, const char *s)
{
    return sh_avp_add_os(parent, model, s, strlen(s));
}

int sh_avp_add_u32(msg_or_avp *parent, struct dict_object *model, uint32_t u)
{
    union avp_value v = {.u32 = u};
    return sh_avp_add_value(parent, model, &v);
}

int sh_avp_add_i32(msg_or_avp *parent, struct dict_object *model, int32_t i)
{
    union avp_value v = {.i32 = i};
    return sh_avp_add_value(parent, model, &v);
}

int sh_avp_add_group(msg_or_avp *parent, struct dict_object *model, struct avp **out)
{
    struct avp *avp = NULL;
    int rc = fd_msg_avp_new(model, 0, &avp);
    if (rc == 0)
        rc = fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, avp);
    if (rc != 0) {
        if (avp)
            fd_msg_free(avp);
        return rc;
    }
    *out = avp;
    return 0;
}

int sh_add_app_and_state(const sh_dict_t *d, msg_or_avp *m)
{
    struct avp *vsai = NULL;
    int rc = sh_avp_add_group(m, d->vendor_specific_app_id, &vsai);
    if (rc == 0)
        rc = sh_avp_add_u32(vsai, d->vendor_id, SH_VENDOR_3GPP);
    if (rc == 0)
        rc = sh_avp_add_u32(vsai, d->auth_app_id, SH_APP_ID);
    if (rc == 0)
        rc = sh_avp_add_i32(m, d->auth_session_state, SH_AUTH_SESSION_NO_STATE);
    return rc;
}

int sh_add_user_identity(const sh_dict_t *d, msg_or_avp *m, const char *public_identity, const char *msisdn)
{
    struct avp *ui = NULL;
    int rc = sh_avp_add_group(m, d->user_identity, &ui);
    if (rc != 0)
        return rc;
    if (public_identity)
        return sh_avp_add_str(ui, d->public_identity, public_identity);
    uint8_t tbcd[(SH_MSISDN_MAX_DIGITS + 1) / 2];
    size_t len = 0;
    if (sh_msisdn_to_tbcd(msisdn, tbcd, sizeof tbcd, &len) != 0)
        return EINVAL;
    return sh_avp_add_os(ui, d->msisdn, tbcd, len);
}

bool sh_has_repository_ref(const uint32_t *refs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (refs[i] == SH_DREF_REPOSITORY_DATA)
            return true;
    return false;
}

int sh_add_request_head(const sh_dict_t *d, struct msg *m, const char *dest_host, const char *dest_realm,
                        const char *public_identity, const char *msisdn)
{
    int rc = fd_msg_new_session(m, NULL, 0);
    if (rc == 0)
        rc = sh_add_app_and_state(d, m);
    if (rc == 0)
        rc = fd_msg_add_origin(m, 0);
    if (rc == 0 && dest_host)
        rc = sh_avp_add_str(m, d->dest_host, dest_host);
    if (rc == 0)
        rc = sh_avp_add_str(m, d->dest_realm, dest_realm);
    if (rc == 0)
        rc = sh_add_user_identity(d, m, public_identity, msisdn);
    return rc;
}

static int udr_fill(const sh_dict_t *d, const sh_udr_params_t *p, struct msg *m)
{
    int rc = sh_add_request_head(d, m, p->dest_host, p->dest_realm, p->public_identity, p->msisdn);
    if (rc == 0 && p->service_indication && sh_has_repository_ref(p->data_refs, p->n_data_refs))
        rc = sh_avp_add_str(m, d->service_indication, p->service_indication);
    for (size_t i = 0; rc == 0 && i < p->n_data_refs; i++)
        rc = sh_avp_add_i32(m, d->data_reference, (int32_t)p->data_refs[i]);
    return rc;
}

int sh_udr_build(const sh_dict_t *d, const sh_udr_params_t *p, struct msg **out)
{
    if (!d || !d->cmd_udr || !p || !out || !p->dest_realm || (!p->public_identity && !p->msisdn))
        return EINVAL;
    if (p->n_data_refs == 0 || p->n_data_refs > SH_MAX_DATA_REFS || !p->data_refs)
        return EINVAL;
    for (size_t i = 0; i < p->n_data_refs; i++)
        if (p->data_refs[i] > INT32_MAX)
            return EINVAL;
    struct msg *m = NULL;
    int rc = fd_msg_new(d->cmd_udr, MSGFL_ALLOC_ETEID, &m);
    if (rc != 0)
        return rc;
    rc = udr_fill(d, p, m);
    if (rc != 0) {
        fd_msg_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* ---------------------------------------------------------------- reading */

bool sh_avp_is(const struct avp_hdr *h, uint32_t code, uint32_t vendor)
{
    uint32_t v = (h->avp_flags & AVP_FLAG_VENDOR) ? h->avp_vendor : 0;
    return h->avp_code == code && v == vendor;
}

int sh_avp_walk(msg_or_avp *parent, sh_avp_visit_fn fn, void *ctx)
{
    struct avp *avp = NULL;
    if (fd_msg_browse(parent, MSG_BRW_FIRST_CHILD, &avp, NULL) != 0)
        return -1;
    while (avp) {
        struct avp_hdr *h = NULL;
        if (fd_msg_avp_hdr(avp, &h) != 0 || !h)
            return -1;
        if (fn(h, avp, ctx) != 0)
            return -1;
        if (fd_msg_browse(avp, MSG_BRW_NEXT, &avp, NULL) != 0)
            return -1;
    }
    return 0;
}

int sh_os_strdup(const struct avp_hdr *h, char **out)
{
    if (!h->avp_value)
        return -1;
    const uint8_t *data = h->avp_value->os.data;
    size_t len = h->avp_value->os.len;
    if (len > SH_IDENTITY_MAX_LEN || (len && memchr(data, '\0', len)))
        return -1;
    char *s = malloc(len + 1);
    if (!s)
        return -1;
    if (len)
        memcpy(s, data, len);
    s[len] = '\0';
    free(*out);
    *out = s;
    return 0;
}

static int msisdn_dup(const struct avp_hdr *h, char **out)
{
    char digits[SH_MSISDN_MAX_DIGITS + 2];
    if (!h->avp_value || sh_tbcd_to_msisdn(h->avp_value->os.data, h->avp_value->os.len, digits, sizeof digits) != 0)
        return -1;
    char *s = strdup(digits);
    if (!s)
        return -1;
    free(*out);
    *out = s;
    return 0;
}

typedef struct {
    const sh_dict_t *d;
    sh_udr_t *r;
} udr_ctx_t;

static int visit_user_identity(struct avp_hdr *h, struct avp *avp, void *ctx)
{
    (void)avp;
    sh_udr_t *r = ((udr_ctx_t *)ctx)->r;
    if (sh_avp_is(h, SH_AVP_PUBLIC_IDENTITY, SH_VENDOR_3GPP))
        return sh_os_strdup(h, &r->public_identity);
    if (sh_avp_is(h, SH_AVP_MSISDN, SH_VENDOR_3GPP))
        return msisdn_dup(h, &r->msisdn);
    return 0;
}

static int visit_udr(struct avp_hdr *h, struct avp *avp, void *ctx)
{
    sh_udr_t *r = ((udr_ctx_t *)ctx)->r;
    if (sh_avp_is(h, SH_AVP_USER_IDENTITY, SH_VENDOR_3GPP))
        return sh_avp_walk(avp, visit_user_identity, ctx);
    if (sh_avp_is(h, SH_AVP_DATA_REFERENCE, SH_VENDOR_3GPP)) {
        if (!h->avp_value)
            return -1;
        if (r->n_data_refs >= SH_MAX_DATA_REFS)
            r->too_many_data_refs = true;
        else
            r->data_refs[r->n_data_refs++] = (uint32_t)h->avp_value->i32;
        return 0;
    }
    if (sh_avp_is(h, SH_AVP_SERVICE_INDICATION, SH_VENDOR_3GPP)) {
        if (r->n_service_ind >= SH_MAX_SERVICE_INDICATIONS)
            return 0; /* more than mihua ever asks for; the extras are ignored */
        if (sh_os_strdup(h, &r->service_ind[r->n_service_ind]) != 0)
            return -1;
        r->n_service_ind++;
    }
    return 0;
}

int sh_udr_read(const sh_dict_t *d, struct msg *udr, sh_udr_t *out)
{
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    if (!d || !udr)
        return -1;
    udr_ctx_t ctx = {d, out};
    if (sh_avp_walk(udr, visit_udr, &ctx) != 0) {
        sh_udr_clear(out);
        return -1;
    }
    return 0;
}

void sh_udr_clear(sh_udr_t *r)
{
    if (!r)
        return;
    free(r->public_identity);
    free(r->msisdn);
    for (size_t i = 0; i < r->n_service_ind; i++)
        free(r->service_ind[i]);
    memset(r, 0, sizeof *r);
}

static int visit_experimental(struct avp_hdr *h, struct avp *avp, void *ctx)
{
    (void)avp;
    sh_uda_t *a = ctx;
    if (!h->avp_value)
        return 0;
    if (sh_avp_is(h, AVP_VENDOR_ID, 0))
        a->exp_vendor = h->avp_value->u32;
    else if (sh_avp_is(h, AVP_EXPERIMENTAL_RESULT_CODE, 0))
        a->exp_code = h->avp_value->u32;
    return 0;
}

static void copy_origin_host(const struct avp_hdr *h, sh_uda_t *a)
{
    size_t len = h->avp_value->os.len;
    if (len >= sizeof a->origin_host)
        len = sizeof a->origin_host - 1;
    memcpy(a->origin_host, h->avp_value->os.data, len);
    a->origin_host[len] = '\0'; /* an embedded NUL just ends the name early */
}

static void copy_user_data(const struct avp_hdr *h, sh_uda_t *a)
{
    size_t len = h->avp_value->os.len;
    if (len > SH_DATA_MAX_LEN) {
        snprintf(a->data_error, sizeof a->data_error, "User-Data of %zu bytes exceeds the limit of %d", len,
                 SH_DATA_MAX_LEN);
        return;
    }
    char *s = malloc(len + 1);
    if (!s) {
        snprintf(a->data_error, sizeof a->data_error, "out of memory");
        return;
    }
    if (len)
        memcpy(s, h->avp_value->os.data, len);
    s[len] = '\0';
    free(a->user_data);
    a->user_data = s;
    a->user_data_len = len;
}

static int visit_uda(struct avp_hdr *h, struct avp *avp, void *ctx)
{
    sh_uda_t *a = ctx;
    if (sh_avp_is(h, AVP_EXPERIMENTAL_RESULT, 0)) {
        a->has_experimental = true;
        return sh_avp_walk(avp, visit_experimental, a);
    }
    if (!h->avp_value)
        return 0; /* grouped or unparsed: nothing else we read is grouped */
    if (sh_avp_is(h, AVP_RESULT_CODE, 0)) {
        a->has_result_code = true;
        a->result_code = h->avp_value->u32;
    } else if (sh_avp_is(h, AVP_ORIGIN_HOST, 0)) {
        copy_origin_host(h, a);
    } else if (sh_avp_is(h, SH_AVP_USER_DATA, SH_VENDOR_3GPP)) {
        copy_user_data(h, a);
    }
    return 0;
}

int sh_uda_read(const sh_dict_t *d, struct msg *uda, sh_uda_t *out)
{
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    struct msg_hdr *hdr = NULL;
    if (!d || !uda || fd_msg_hdr(uda, &hdr) != 0 || !hdr || (hdr->msg_flags & CMD_FLAG_REQUEST))
        return -1;
    if (sh_avp_walk(uda, visit_uda, out) != 0) {
        sh_uda_clear(out);
        return -1;
    }
    if (out->user_data) {
        out->has_data =
            sh_data_parse(out->user_data, out->user_data_len, &out->data, out->data_error, sizeof out->data_error) == 0;
    }
    return 0;
}

void sh_uda_clear(sh_uda_t *a)
{
    if (!a)
        return;
    free(a->user_data);
    sh_data_clear(&a->data);
    memset(a, 0, sizeof *a);
}

bool sh_uda_success(const sh_uda_t *a)
{
    return a && a->has_result_code && a->result_code >= 2000 && a->result_code < 3000 && !a->has_experimental;
}

/* ---------------------------------------------------------------- answering */

int sh_uda_set_success(const sh_dict_t *d, struct msg *ans, const char *user_data, size_t len)
{
    if (!d || !ans || (user_data && len > SH_DATA_MAX_LEN))
        return EINVAL;
    int rc = sh_add_app_and_state(d, ans);
    if (rc == 0)
        rc = fd_msg_rescode_set(ans, "DIAMETER_SUCCESS", NULL, NULL, 1);
    if (rc == 0 && user_data)
        rc = sh_avp_add_os(ans, d->user_data, user_data, len);
    return rc;
}

int sh_uda_set_experimental(const sh_dict_t *d, struct msg *ans, uint32_t exp_code)
{
    if (!d || !ans)
        return EINVAL;
    int rc = sh_add_app_and_state(d, ans);
    struct avp *er = NULL;
    if (rc == 0)
        rc = sh_avp_add_group(ans, d->experimental_result, &er);
    if (rc == 0)
        rc = sh_avp_add_u32(er, d->vendor_id, SH_VENDOR_3GPP);
    if (rc == 0)
        rc = sh_avp_add_u32(er, d->experimental_result_code, exp_code);
    if (rc == 0)
        rc = fd_msg_add_origin(ans, 0);
    return rc;
}

int sh_uda_set_result(const sh_dict_t *d, struct msg *ans, uint32_t result_code)
{
    struct msg_hdr *hdr = NULL;
    if (!d || !ans || fd_msg_hdr(ans, &hdr) != 0)
        return EINVAL;
    if (result_code >= 3000 && result_code < 4000)
        hdr->msg_flags |= CMD_FLAG_ERROR; /* RFC 6733 §7.1.3: protocol errors carry the E bit */
    int rc = sh_add_app_and_state(d, ans);
    if (rc == 0)
        rc = sh_avp_add_u32(ans, d->result_code, result_code);
    if (rc == 0)
        rc = fd_msg_add_origin(ans, 0);
    return rc;
}

/* ---------------------------------------------------------------- names */

typedef struct {
    uint32_t code;
    const char *name;
} code_name_t;

/* RFC 6733 §7.1 Result-Code values. */
static const code_name_t BASE_CODES[] = {
    {1001, "DIAMETER_MULTI_ROUND_AUTH"},
    {2001, "DIAMETER_SUCCESS"},
    {2002, "DIAMETER_LIMITED_SUCCESS"},
    {3001, "DIAMETER_COMMAND_UNSUPPORTED"},
    {3002, "DIAMETER_UNABLE_TO_DELIVER"},
    {3003, "DIAMETER_REALM_NOT_SERVED"},
    {3004, "DIAMETER_TOO_BUSY"},
    {3005, "DIAMETER_LOOP_DETECTED"},
    {3006, "DIAMETER_REDIRECT_INDICATION"},
    {3007, "DIAMETER_APPLICATION_UNSUPPORTED"},
    {3008, "DIAMETER_INVALID_HDR_BITS"},
    {3009, "DIAMETER_INVALID_AVP_BITS"},
    {3010, "DIAMETER_UNKNOWN_PEER"},
    {4001, "DIAMETER_AUTHENTICATION_REJECTED"},
    {4002, "DIAMETER_OUT_OF_SPACE"},
    {4003, "ELECTION_LOST"},
    {5001, "DIAMETER_AVP_UNSUPPORTED"},
    {5002, "DIAMETER_UNKNOWN_SESSION_ID"},
    {5003, "DIAMETER_AUTHORIZATION_REJECTED"},
    {5004, "DIAMETER_INVALID_AVP_VALUE"},
    {5005, "DIAMETER_MISSING_AVP"},
    {5006, "DIAMETER_RESOURCES_EXCEEDED"},
    {5007, "DIAMETER_CONTRADICTING_AVPS"},
    {5008, "DIAMETER_AVP_NOT_ALLOWED"},
    {5009, "DIAMETER_AVP_OCCURS_TOO_MANY_TIMES"},
    {5010, "DIAMETER_NO_COMMON_APPLICATION"},
    {5011, "DIAMETER_UNSUPPORTED_VERSION"},
    {5012, "DIAMETER_UNABLE_TO_COMPLY"},
    {5013, "DIAMETER_INVALID_BIT_IN_HEADER"},
    {5014, "DIAMETER_INVALID_AVP_LENGTH"},
    {5015, "DIAMETER_INVALID_MESSAGE_LENGTH"},
    {5016, "DIAMETER_INVALID_AVP_BIT_COMBO"},
    {5017, "DIAMETER_NO_COMMON_SECURITY"},
};

/* TS 29.329 §6.2 (and TS 29.229 §6.2 for 5001) Experimental-Result-Code values. */
static const code_name_t SH_CODES[] = {
    {4100, "DIAMETER_USER_DATA_NOT_AVAILABLE"},
    {4101, "DIAMETER_PRIOR_UPDATE_IN_PROGRESS"},
    {SH_ERR_USER_UNKNOWN, "DIAMETER_ERROR_USER_UNKNOWN"},
    {5002, "DIAMETER_ERROR_IDENTITIES_DONT_MATCH"},
    {SH_ERR_TOO_MUCH_DATA, "DIAMETER_ERROR_TOO_MUCH_DATA"},
    {SH_ERR_NOT_SUPPORTED_USER_DATA, "DIAMETER_ERROR_NOT_SUPPORTED_USER_DATA"},
    {5011, "DIAMETER_ERROR_FEATURE_UNSUPPORTED"},
    {SH_ERR_DATA_REF_NOT_SUPPORTED, "DIAMETER_ERROR_USER_DATA_NOT_RECOGNIZED"},
    {SH_ERR_OPERATION_NOT_ALLOWED, "DIAMETER_ERROR_OPERATION_NOT_ALLOWED"},
    {SH_ERR_USER_DATA_CANNOT_BE_READ, "DIAMETER_ERROR_USER_DATA_CANNOT_BE_READ"},
    {5103, "DIAMETER_ERROR_USER_DATA_CANNOT_BE_MODIFIED"},
    {5104, "DIAMETER_ERROR_USER_DATA_CANNOT_BE_NOTIFIED"},
    {5105, "DIAMETER_ERROR_TRANSPARENT_DATA_OUT_OF_SYNC"},
    {5106, "DIAMETER_ERROR_SUBS_DATA_ABSENT"},
    {5107, "DIAMETER_ERROR_NO_SUBSCRIPTION_TO_DATA"},
    {5108, "DIAMETER_ERROR_DSAI_NOT_AVAILABLE"},
};

static const char *code_lookup(const code_name_t *t, size_t n, uint32_t code)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].code == code)
            return t[i].name;
    return NULL;
}

const char *sh_result_name(uint32_t code, bool experimental)
{
    const char *name = experimental ? code_lookup(SH_CODES, sizeof SH_CODES / sizeof SH_CODES[0], code)
                                    : code_lookup(BASE_CODES, sizeof BASE_CODES / sizeof BASE_CODES[0], code);
    return name ? name : "UNKNOWN";
}
