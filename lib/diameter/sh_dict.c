/*
 * sh_dict — the Sh application (TS 29.329) defined in code on top of freeDiameter's loaded dictionaries.
 *
 * What is defined, in this order, each step "find it first, create it only when missing" so that a second call
 * (or a future freeDiameter that ships Sh) changes nothing:
 *   1. vendor 3GPP (10415) and the Sh application 16777217 (parent: that vendor);
 *   2. the Sh AVPs of TS 29.329 §6.3 that mihua sends or reads, when dict_dcca_3gpp.fdx lacks them. freeDiameter
 *      1.2.1 has all of them (702 is named "User-Data-29.329" there because Cx's 606 took "User-Data"), so this is
 *      a fallback for other builds, not the common path;
 *   3. the User-Identity group rules (§6.3.1: [Public-Identity] [MSISDN] *[AVP]);
 *   4. UDR and UDA (command 306, §6.1.1/§6.1.2), SNR/SNA (308, §6.1.5/§6.1.6) and PNR/PNA (309, §6.1.7/§6.1.8)
 *      with their ABNF as freeDiameter rules. Optional AVPs of the ABNF
 *      are given rules only when the dictionary knows them (DRMP, OC-*, Load, ... are absent from 1.2.1); an AVP
 *      without a rule is still accepted by freeDiameter's rule check ("*[ AVP ]").
 * Every lookup is by code and vendor: names differ between dictionary versions.
 *
 * Trade-off: UDA keeps the ABNF's required Vendor-Specific-Application-Id and Auth-Session-State. freeDiameter
 * drops a 2xxx answer that breaks the rules (the request then times out) but hands error answers to the
 * application anyway, so a non-compliant success answer shows up as a timeout — logged by freeDiameter.
 */
#include "diameter/sh_dict.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#define SH_DREF_MAX_VALUE 2147483647u /* Data-Reference is an Enumerated (Integer32) */

/* Base protocol AVP codes (RFC 6733) used below. */
enum {
    AVP_USER_NAME = 1,
    AVP_AUTH_APP_ID = 258,
    AVP_VSAI = 260,
    AVP_SESSION_ID = 263,
    AVP_ORIGIN_HOST = 264,
    AVP_VENDOR_ID = 266,
    AVP_RESULT_CODE = 268,
    AVP_AUTH_SESSION_STATE = 277,
    AVP_FAILED_AVP = 279,
    AVP_ROUTE_RECORD = 282,
    AVP_DEST_REALM = 283,
    AVP_PROXY_INFO = 284,
    AVP_DEST_HOST = 293,
    AVP_ORIGIN_REALM = 296,
    AVP_EXPERIMENTAL_RESULT = 297,
    AVP_EXPERIMENTAL_RESULT_CODE = 298,
    AVP_DRMP = 301,                  /* RFC 7944 */
    AVP_OC_SUPPORTED_FEATURES = 621, /* RFC 7683 */
    AVP_OC_OLR = 623,
    AVP_LOAD = 650, /* RFC 8583 */
};

/* Other 3GPP AVP codes that appear in the UDR/UDA ABNF (TS 29.329 §6.1, TS 29.229). */
enum {
    AVP3_WILDCARDED_PSI = 634,
    AVP3_WILDCARDED_IMPU = 636,
    AVP3_SESSION_PRIORITY = 650,
    AVP3_DSAI_TAG = 711,
    AVP3_REQUESTED_NODES = 713,
    AVP3_SERVING_NODE_INDICATION = 714,
    AVP3_PRE_PAGING_SUPPORTED = 717,
    AVP3_LOCAL_TIME_ZONE_INDICATION = 718,
    AVP3_UDR_FLAGS = 719,
    AVP3_CALL_REFERENCE_INFO = 720,
};

static struct dictionary *dict(void)
{
    return fd_g_config->cnf_dict;
}

static struct dict_object *avp_find(uint32_t code, uint32_t vendor)
{
    struct dict_avp_request req = {.avp_vendor = vendor, .avp_code = code, .avp_name = NULL};
    struct dict_object *o = NULL;
    if (fd_dict_search(dict(), DICT_AVP, AVP_BY_CODE_AND_VENDOR, &req, &o, ENOENT) != 0)
        return NULL;
    return o;
}

static int vendor_ensure(struct dict_object **out)
{
    vendor_id_t id = SH_VENDOR_3GPP;
    if (fd_dict_search(dict(), DICT_VENDOR, VENDOR_BY_ID, &id, out, ENOENT) == 0 && *out)
        return 0;
    struct dict_vendor_data vd = {.vendor_id = SH_VENDOR_3GPP, .vendor_name = "3GPP"};
    return fd_dict_new(dict(), DICT_VENDOR, &vd, NULL, out);
}

static int app_ensure(struct dict_object *vendor, struct dict_object **out)
{
    application_id_t id = SH_APP_ID;
    if (fd_dict_search(dict(), DICT_APPLICATION, APPLICATION_BY_ID, &id, out, ENOENT) == 0 && *out)
        return 0;
    struct dict_application_data ad = {.application_id = SH_APP_ID, .application_name = "3GPP Sh"};
    return fd_dict_new(dict(), DICT_APPLICATION, &ad, vendor, out);
}

/* One Sh AVP that we define when the loaded dictionaries lack it. `type_name` names a derived type
 * ("UTF8String") or is NULL for a plain base type. */
typedef struct {
    uint32_t code;
    const char *name;
    enum dict_avp_basetype base;
    const char *type_name;
    bool mandatory; /* M bit must be set (TS 29.329 §6.3 table) */
} sh_avp_def_t;

/* clang-format off */
static const sh_avp_def_t SH_AVP_DEFS[] = {
    { SH_AVP_PUBLIC_IDENTITY, "Public-Identity", AVP_TYPE_OCTETSTRING, "UTF8String", true },
    { SH_AVP_SERVER_NAME, "Server-Name", AVP_TYPE_OCTETSTRING, "UTF8String", true },
    { SH_AVP_SUPPORTED_FEATURES, "Supported-Features", AVP_TYPE_GROUPED, NULL, false },
    { SH_AVP_FEATURE_LIST_ID, "Feature-List-ID", AVP_TYPE_UNSIGNED32, NULL, false },
    { SH_AVP_FEATURE_LIST, "Feature-List", AVP_TYPE_UNSIGNED32, NULL, false },
    { SH_AVP_USER_IDENTITY, "User-Identity", AVP_TYPE_GROUPED, NULL, true },
    { SH_AVP_MSISDN, "MSISDN", AVP_TYPE_OCTETSTRING, NULL, true },
    { SH_AVP_USER_DATA, "User-Data-29.329", AVP_TYPE_OCTETSTRING, NULL, true },
    { SH_AVP_DATA_REFERENCE, "Data-Reference", AVP_TYPE_INTEGER32, NULL, true },
    { SH_AVP_SERVICE_INDICATION, "Service-Indication", AVP_TYPE_OCTETSTRING, NULL, true },
    { SH_AVP_IDENTITY_SET, "Identity-Set", AVP_TYPE_INTEGER32, NULL, false },
    { SH_AVP_REQUESTED_DOMAIN, "Requested-Domain", AVP_TYPE_INTEGER32, NULL, true },
    { SH_AVP_CURRENT_LOCATION, "Current-Location", AVP_TYPE_INTEGER32, NULL, true },
    { SH_AVP_SUBS_REQ_TYPE, "Subs-Req-Type", AVP_TYPE_INTEGER32, NULL, true },
    { SH_AVP_EXPIRY_TIME, "Expiry-Time", AVP_TYPE_OCTETSTRING, "Time", true },
    { SH_AVP_SEND_DATA_INDICATION, "Send-Data-Indication", AVP_TYPE_INTEGER32, NULL, true },
    { SH_AVP_ONE_TIME_NOTIFICATION, "One-Time-Notification", AVP_TYPE_INTEGER32, NULL, true },
};
/* clang-format on */

static int avp_define(const sh_avp_def_t *def, struct dict_object **out)
{
    struct dict_object *type = NULL;
    if (def->type_name)
        (void)fd_dict_search(dict(), DICT_TYPE, TYPE_BY_NAME, def->type_name, &type, ENOENT);
    struct dict_avp_data ad = {
        .avp_code = def->code,
        .avp_vendor = SH_VENDOR_3GPP,
        .avp_name = (char *)def->name,
        .avp_flag_mask = AVP_FLAG_VENDOR | AVP_FLAG_MANDATORY,
        .avp_flag_val = (uint8_t)(AVP_FLAG_VENDOR | (def->mandatory ? AVP_FLAG_MANDATORY : 0)),
        .avp_basetype = def->base,
    };
    return fd_dict_new(dict(), DICT_AVP, &ad, type, out);
}

static int sh_avps_ensure(void)
{
    for (size_t i = 0; i < sizeof SH_AVP_DEFS / sizeof SH_AVP_DEFS[0]; i++) {
        struct dict_object *o = avp_find(SH_AVP_DEFS[i].code, SH_VENDOR_3GPP);
        if (o)
            continue;
        int rc = avp_define(&SH_AVP_DEFS[i], &o);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* One ABNF line: AVP (code, vendor), position, min/max. `need` = the AVP must exist in the dictionary. */
typedef struct {
    uint32_t code;
    uint32_t vendor;
    enum rule_position pos;
    int min;
    int max;
    bool need;
} sh_rule_t;

#define V3 SH_VENDOR_3GPP
#define UNBOUNDED (-1)

/* TS 29.329 §6.3.1 User-Identity ::= <AVP header: 700 10415> [Public-Identity] [MSISDN] *AVP */
/* clang-format off */
static const sh_rule_t USER_IDENTITY_RULES[] = {
    { SH_AVP_PUBLIC_IDENTITY, V3, RULE_OPTIONAL, 0, 1, true },
    { SH_AVP_MSISDN, V3, RULE_OPTIONAL, 0, 1, true },
};
/* clang-format on */

/* TS 29.329 §6.1.1 User-Data-Request. */
/* clang-format off */
static const sh_rule_t UDR_RULES[] = {
    { AVP_SESSION_ID, 0, RULE_FIXED_HEAD, 1, 1, true },
    { AVP_DRMP, 0, RULE_OPTIONAL, 0, 1, false },
    { AVP_VSAI, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_AUTH_SESSION_STATE, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_ORIGIN_HOST, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_ORIGIN_REALM, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_DEST_HOST, 0, RULE_OPTIONAL, 0, 1, true },
    { AVP_DEST_REALM, 0, RULE_REQUIRED, 1, 1, true },
    { SH_AVP_SUPPORTED_FEATURES, V3, RULE_OPTIONAL, 0, UNBOUNDED, true },
    { SH_AVP_USER_IDENTITY, V3, RULE_REQUIRED, 1, 1, true },
    { AVP3_WILDCARDED_PSI, V3, RULE_OPTIONAL, 0, 1, false },
    { AVP3_WILDCARDED_IMPU, V3, RULE_OPTIONAL, 0, 1, false },
    { SH_AVP_SERVER_NAME, V3, RULE_OPTIONAL, 0, 1, true },
    { SH_AVP_SERVICE_INDICATION, V3, RULE_OPTIONAL, 0, UNBOUNDED, true },
    { SH_AVP_DATA_REFERENCE, V3, RULE_REQUIRED, 1, UNBOUNDED, true },
    { SH_AVP_IDENTITY_SET, V3, RULE_OPTIONAL, 0, UNBOUNDED, true },
    { SH_AVP_REQUESTED_DOMAIN, V3, RULE_OPTIONAL, 0, 1, true },
    { SH_AVP_CURRENT_LOCATION, V3, RULE_OPTIONAL, 0, 1, true },
    { AVP3_DSAI_TAG, V3, RULE_OPTIONAL, 0, UNBOUNDED, false },
    { AVP3_SESSION_PRIORITY, V3, RULE_OPTIONAL, 0, 1, false },
    { AVP_USER_NAME, 0, RULE_OPTIONAL, 0, 1, false },
    { AVP3_REQUESTED_NODES, V3, RULE_OPTIONAL, 0, 1, false },
    { AVP3_SERVING_NODE_INDICATION, V3, RULE_OPTIONAL, 0, 1, false },
    { AVP3_PRE_PAGING_SUPPORTED, V3, RULE_OPTIONAL, 0, 1, false },
    { AVP3_LOCAL_TIME_ZONE_INDICATION, V3, RULE_OPTIONAL, 0, 1, false },
    { AVP3_UDR_FLAGS, V3, RULE_OPTIONAL, 0, 1, false },
    { AVP3_CALL_REFERENCE_INFO, V3, RULE_OPTIONAL, 0, 1, false },
    { AVP_OC_SUPPORTED_FEATURES, 0, RULE_OPTIONAL, 0, 1, false },
    { AVP_PROXY_INFO, 0, RULE_OPTIONAL, 0, UNBOUNDED, false },
    { AVP_ROUTE_RECORD, 0, RULE_OPTIONAL, 0, UNBOUNDED, false },
};
/* clang-format on */

/* TS 29.329 §6.1.2 User-Data-Answer. */
/* clang-format off */
static const sh_rule_t UDA_RULES[] = {
    { AVP_SESSION_ID, 0, RULE_FIXED_HEAD, 1, 1, true },
    { AVP_DRMP, 0, RULE_OPTIONAL, 0, 1, false },
    { AVP_VSAI, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_RESULT_CODE, 0, RULE_OPTIONAL, 0, 1, true },
    { AVP_EXPERIMENTAL_RESULT, 0, RULE_OPTIONAL, 0, 1, true },
    { AVP_AUTH_SESSION_STATE, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_ORIGIN_HOST, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_ORIGIN_REALM, 0, RULE_REQUIRED, 1, 1, true },
    { SH_AVP_SUPPORTED_FEATURES, V3, RULE_OPTIONAL, 0, UNBOUNDED, true },
    { AVP3_WILDCARDED_PSI, V3, RULE_OPTIONAL, 0, 1, false },
    { AVP3_WILDCARDED_IMPU, V3, RULE_OPTIONAL, 0, 1, false },
    { SH_AVP_USER_DATA, V3, RULE_OPTIONAL, 0, 1, true },
    { AVP_OC_SUPPORTED_FEATURES, 0, RULE_OPTIONAL, 0, 1, false },
    { AVP_OC_OLR, 0, RULE_OPTIONAL, 0, 1, false },
    { AVP_LOAD, 0, RULE_OPTIONAL, 0, UNBOUNDED, false },
    { AVP_FAILED_AVP, 0, RULE_OPTIONAL, 0, 1, true },
    { AVP_PROXY_INFO, 0, RULE_OPTIONAL, 0, UNBOUNDED, false },
    { AVP_ROUTE_RECORD, 0, RULE_OPTIONAL, 0, UNBOUNDED, false },
};
/* clang-format on */

/* TS 29.329 §6.1.5 Subscribe-Notifications-Request. */
/* clang-format off */
static const sh_rule_t SNR_RULES[] = {
    { AVP_SESSION_ID, 0, RULE_FIXED_HEAD, 1, 1, true },
    { AVP_DRMP, 0, RULE_OPTIONAL, 0, 1, false },
    { AVP_VSAI, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_AUTH_SESSION_STATE, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_ORIGIN_HOST, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_ORIGIN_REALM, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_DEST_HOST, 0, RULE_OPTIONAL, 0, 1, true },
    { AVP_DEST_REALM, 0, RULE_REQUIRED, 1, 1, true },
    { SH_AVP_SUPPORTED_FEATURES, V3, RULE_OPTIONAL, 0, UNBOUNDED, true },
    { SH_AVP_USER_IDENTITY, V3, RULE_REQUIRED, 1, 1, true },
    { AVP3_WILDCARDED_PSI, V3, RULE_OPTIONAL, 0, 1, false },
    { AVP3_WILDCARDED_IMPU, V3, RULE_OPTIONAL, 0, 1, false },
    { SH_AVP_SERVICE_INDICATION, V3, RULE_OPTIONAL, 0, UNBOUNDED, true },
    { SH_AVP_SEND_DATA_INDICATION, V3, RULE_OPTIONAL, 0, 1, true },
    { SH_AVP_SERVER_NAME, V3, RULE_OPTIONAL, 0, 1, true },
    { SH_AVP_SUBS_REQ_TYPE, V3, RULE_REQUIRED, 1, 1, true },
    { SH_AVP_DATA_REFERENCE, V3, RULE_REQUIRED, 1, UNBOUNDED, true },
    { SH_AVP_IDENTITY_SET, V3, RULE_OPTIONAL, 0, UNBOUNDED, true },
    { SH_AVP_EXPIRY_TIME, V3, RULE_OPTIONAL, 0, 1, true },
    { AVP3_DSAI_TAG, V3, RULE_OPTIONAL, 0, UNBOUNDED, false },
    { SH_AVP_ONE_TIME_NOTIFICATION, V3, RULE_OPTIONAL, 0, 1, true },
    { AVP_USER_NAME, 0, RULE_OPTIONAL, 0, 1, false },
    { AVP_OC_SUPPORTED_FEATURES, 0, RULE_OPTIONAL, 0, 1, false },
    { AVP_PROXY_INFO, 0, RULE_OPTIONAL, 0, UNBOUNDED, false },
    { AVP_ROUTE_RECORD, 0, RULE_OPTIONAL, 0, UNBOUNDED, false },
};
/* clang-format on */

/* TS 29.329 §6.1.6 Subscribe-Notifications-Answer. */
/* clang-format off */
static const sh_rule_t SNA_RULES[] = {
    { AVP_SESSION_ID, 0, RULE_FIXED_HEAD, 1, 1, true },
    { AVP_DRMP, 0, RULE_OPTIONAL, 0, 1, false },
    { AVP_VSAI, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_AUTH_SESSION_STATE, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_RESULT_CODE, 0, RULE_OPTIONAL, 0, 1, true },
    { AVP_EXPERIMENTAL_RESULT, 0, RULE_OPTIONAL, 0, 1, true },
    { AVP_ORIGIN_HOST, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_ORIGIN_REALM, 0, RULE_REQUIRED, 1, 1, true },
    { AVP3_WILDCARDED_PSI, V3, RULE_OPTIONAL, 0, 1, false },
    { AVP3_WILDCARDED_IMPU, V3, RULE_OPTIONAL, 0, 1, false },
    { SH_AVP_SUPPORTED_FEATURES, V3, RULE_OPTIONAL, 0, UNBOUNDED, true },
    { SH_AVP_USER_DATA, V3, RULE_OPTIONAL, 0, 1, true },
    { SH_AVP_EXPIRY_TIME, V3, RULE_OPTIONAL, 0, 1, true },
    { AVP_OC_SUPPORTED_FEATURES, 0, RULE_OPTIONAL, 0, 1, false },
    { AVP_OC_OLR, 0, RULE_OPTIONAL, 0, 1, false },
    { AVP_LOAD, 0, RULE_OPTIONAL, 0, UNBOUNDED, false },
    { AVP_FAILED_AVP, 0, RULE_OPTIONAL, 0, 1, true },
    { AVP_PROXY_INFO, 0, RULE_OPTIONAL, 0, UNBOUNDED, false },
    { AVP_ROUTE_RECORD, 0, RULE_OPTIONAL, 0, UNBOUNDED, false },
};
/* clang-format on */

/* TS 29.329 §6.1.7 Push-Notification-Request: Destination-Host is required (the HSS pushes to one AS). */
/* clang-format off */
static const sh_rule_t PNR_RULES[] = {
    { AVP_SESSION_ID, 0, RULE_FIXED_HEAD, 1, 1, true },
    { AVP_DRMP, 0, RULE_OPTIONAL, 0, 1, false },
    { AVP_VSAI, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_AUTH_SESSION_STATE, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_ORIGIN_HOST, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_ORIGIN_REALM, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_DEST_HOST, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_DEST_REALM, 0, RULE_REQUIRED, 1, 1, true },
    { SH_AVP_SUPPORTED_FEATURES, V3, RULE_OPTIONAL, 0, UNBOUNDED, true },
    { SH_AVP_USER_IDENTITY, V3, RULE_REQUIRED, 1, 1, true },
    { AVP3_WILDCARDED_PSI, V3, RULE_OPTIONAL, 0, 1, false },
    { AVP3_WILDCARDED_IMPU, V3, RULE_OPTIONAL, 0, 1, false },
    { AVP_USER_NAME, 0, RULE_OPTIONAL, 0, 1, false },
    { SH_AVP_USER_DATA, V3, RULE_REQUIRED, 1, 1, true },
    { AVP_PROXY_INFO, 0, RULE_OPTIONAL, 0, UNBOUNDED, false },
    { AVP_ROUTE_RECORD, 0, RULE_OPTIONAL, 0, UNBOUNDED, false },
};
/* clang-format on */

/* TS 29.329 §6.1.8 Push-Notification-Answer. */
/* clang-format off */
static const sh_rule_t PNA_RULES[] = {
    { AVP_SESSION_ID, 0, RULE_FIXED_HEAD, 1, 1, true },
    { AVP_DRMP, 0, RULE_OPTIONAL, 0, 1, false },
    { AVP_VSAI, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_RESULT_CODE, 0, RULE_OPTIONAL, 0, 1, true },
    { AVP_EXPERIMENTAL_RESULT, 0, RULE_OPTIONAL, 0, 1, true },
    { AVP_AUTH_SESSION_STATE, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_ORIGIN_HOST, 0, RULE_REQUIRED, 1, 1, true },
    { AVP_ORIGIN_REALM, 0, RULE_REQUIRED, 1, 1, true },
    { SH_AVP_SUPPORTED_FEATURES, V3, RULE_OPTIONAL, 0, UNBOUNDED, true },
    { AVP_FAILED_AVP, 0, RULE_OPTIONAL, 0, 1, true },
    { AVP_PROXY_INFO, 0, RULE_OPTIONAL, 0, UNBOUNDED, false },
    { AVP_ROUTE_RECORD, 0, RULE_OPTIONAL, 0, UNBOUNDED, false },
};
/* clang-format on */

static int rule_ensure(struct dict_object *parent, const sh_rule_t *r)
{
    struct dict_object *avp = avp_find(r->code, r->vendor);
    if (!avp)
        return r->need ? ENOENT : 0;
    struct dict_rule_request rq = {.rule_parent = parent, .rule_avp = avp};
    struct dict_object *existing = NULL;
    if (fd_dict_search(dict(), DICT_RULE, RULE_BY_AVP_AND_PARENT, &rq, &existing, ENOENT) == 0 && existing)
        return 0;
    struct dict_rule_data rd = {
        .rule_avp = avp,
        .rule_position = r->pos,
        .rule_order = r->pos == RULE_FIXED_HEAD ? 1 : 0,
        .rule_min = r->min,
        .rule_max = r->max,
    };
    return fd_dict_new(dict(), DICT_RULE, &rd, parent, NULL);
}

static int rules_ensure(struct dict_object *parent, const sh_rule_t *rules, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = rule_ensure(parent, &rules[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* One Sh command pair: code and the names of its request and answer. */
typedef struct {
    command_code_t code;
    const char *req_name, *ans_name;
} sh_cmd_def_t;

static const sh_cmd_def_t CMD_UDR = {SH_CMD_UDR, "User-Data-Request", "User-Data-Answer"};
static const sh_cmd_def_t CMD_SNR = {SH_CMD_SNR, "Subscribe-Notifications-Request", "Subscribe-Notifications-Answer"};
static const sh_cmd_def_t CMD_PNR = {SH_CMD_PNR, "Push-Notification-Request", "Push-Notification-Answer"};

static int cmd_ensure(struct dict_object *app, const sh_cmd_def_t *def, bool request, struct dict_object **out)
{
    command_code_t code = def->code;
    if (fd_dict_search(dict(), DICT_COMMAND, request ? CMD_BY_CODE_R : CMD_BY_CODE_A, &code, out, ENOENT) == 0 && *out)
        return 0;
    struct dict_cmd_data cd = {
        .cmd_code = def->code,
        .cmd_name = (char *)(request ? def->req_name : def->ans_name),
        .cmd_flag_mask = CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE | (request ? CMD_FLAG_ERROR : 0),
        .cmd_flag_val = (uint8_t)((request ? CMD_FLAG_REQUEST : 0) | CMD_FLAG_PROXIABLE),
    };
    return fd_dict_new(dict(), DICT_COMMAND, &cd, app, out);
}

/* Defines a request/answer pair with its rules. */
static int cmd_pair_ensure(struct dict_object *app, const sh_cmd_def_t *def, struct dict_object **req,
                           struct dict_object **ans, const sh_rule_t *req_rules, size_t n_req,
                           const sh_rule_t *ans_rules, size_t n_ans)
{
    int rc = cmd_ensure(app, def, true, req);
    if (rc == 0)
        rc = cmd_ensure(app, def, false, ans);
    if (rc == 0)
        rc = rules_ensure(*req, req_rules, n_req);
    if (rc == 0)
        rc = rules_ensure(*ans, ans_rules, n_ans);
    return rc;
}

#define RULES(t) t, sizeof t / sizeof t[0]

/* Fills the handles the rest of lib/diameter uses; all of them must exist by now. */
static int handles_fill(sh_dict_t *d)
{
    struct {
        struct dict_object **slot;
        uint32_t code, vendor;
    } want[] = {
        {&d->session_id, AVP_SESSION_ID, 0},
        {&d->origin_host, AVP_ORIGIN_HOST, 0},
        {&d->origin_realm, AVP_ORIGIN_REALM, 0},
        {&d->dest_host, AVP_DEST_HOST, 0},
        {&d->dest_realm, AVP_DEST_REALM, 0},
        {&d->auth_session_state, AVP_AUTH_SESSION_STATE, 0},
        {&d->result_code, AVP_RESULT_CODE, 0},
        {&d->experimental_result, AVP_EXPERIMENTAL_RESULT, 0},
        {&d->experimental_result_code, AVP_EXPERIMENTAL_RESULT_CODE, 0},
        {&d->vendor_id, AVP_VENDOR_ID, 0},
        {&d->auth_app_id, AVP_AUTH_APP_ID, 0},
        {&d->vendor_specific_app_id, AVP_VSAI, 0},
        {&d->failed_avp, AVP_FAILED_AVP, 0},
        {&d->user_identity, SH_AVP_USER_IDENTITY, V3},
        {&d->public_identity, SH_AVP_PUBLIC_IDENTITY, V3},
        {&d->msisdn, SH_AVP_MSISDN, V3},
        {&d->user_data, SH_AVP_USER_DATA, V3},
        {&d->data_reference, SH_AVP_DATA_REFERENCE, V3},
        {&d->service_indication, SH_AVP_SERVICE_INDICATION, V3},
        {&d->supported_features, SH_AVP_SUPPORTED_FEATURES, V3},
        {&d->subs_req_type, SH_AVP_SUBS_REQ_TYPE, V3},
        {&d->expiry_time, SH_AVP_EXPIRY_TIME, V3},
        {&d->send_data_indication, SH_AVP_SEND_DATA_INDICATION, V3},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        *want[i].slot = avp_find(want[i].code, want[i].vendor);
        if (!*want[i].slot)
            return ENOENT;
    }
    return 0;
}

int sh_dict_init(sh_dict_t *d)
{
    if (!d || !fd_g_config || !fd_g_config->cnf_dict)
        return EINVAL;
    memset(d, 0, sizeof *d);
    int rc = vendor_ensure(&d->vendor_3gpp);
    if (rc == 0)
        rc = app_ensure(d->vendor_3gpp, &d->app);
    if (rc == 0)
        rc = sh_avps_ensure();
    if (rc == 0)
        rc = rules_ensure(avp_find(SH_AVP_USER_IDENTITY, V3), USER_IDENTITY_RULES,
                          sizeof USER_IDENTITY_RULES / sizeof USER_IDENTITY_RULES[0]);
    if (rc == 0)
        rc = cmd_pair_ensure(d->app, &CMD_UDR, &d->cmd_udr, &d->cmd_uda, RULES(UDR_RULES), RULES(UDA_RULES));
    if (rc == 0)
        rc = cmd_pair_ensure(d->app, &CMD_SNR, &d->cmd_snr, &d->cmd_sna, RULES(SNR_RULES), RULES(SNA_RULES));
    if (rc == 0)
        rc = cmd_pair_ensure(d->app, &CMD_PNR, &d->cmd_pnr, &d->cmd_pna, RULES(PNR_RULES), RULES(PNA_RULES));
    if (rc == 0)
        rc = handles_fill(d);
    return rc;
}

/* ---- Data-Reference names (TS 29.328 §7.6, Table 7.6.1) ---- */

typedef struct {
    uint32_t value;
    const char *spec_name;  /* TS 29.328 name, used in logs */
    const char *probe_name; /* short command-line name */
} sh_dref_name_t;

static const sh_dref_name_t DREF_NAMES[] = {
    {SH_DREF_REPOSITORY_DATA, "RepositoryData", "repository-data"},
    {SH_DREF_IMS_PUBLIC_IDENTITY, "IMSPublicIdentity", "ims-public-identity"},
    {SH_DREF_MSISDN, "MSISDN", "msisdn"},
    {SH_DREF_TADS_INFORMATION, "TADSinformation", "tads"},
};

const char *sh_data_ref_name(uint32_t dref)
{
    for (size_t i = 0; i < sizeof DREF_NAMES / sizeof DREF_NAMES[0]; i++)
        if (DREF_NAMES[i].value == dref)
            return DREF_NAMES[i].spec_name;
    return NULL;
}

static int parse_decimal(const char *s, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > max)
            return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

int sh_data_ref_parse(const char *name, uint32_t *out)
{
    if (!name || !out)
        return -1;
    for (size_t i = 0; i < sizeof DREF_NAMES / sizeof DREF_NAMES[0]; i++) {
        if (strcasecmp(name, DREF_NAMES[i].probe_name) == 0 || strcasecmp(name, DREF_NAMES[i].spec_name) == 0) {
            *out = DREF_NAMES[i].value;
            return 0;
        }
    }
    return parse_decimal(name, SH_DREF_MAX_VALUE, out);
}
