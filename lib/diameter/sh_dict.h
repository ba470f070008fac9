/*
 * sh_dict — the Diameter Sh application (TS 29.329) defined once, in code, on top of Debian's freeDiameter
 * dictionaries.
 *
 * freeDiameter 1.2.1 ships the Sh AVPs in dict_dcca_3gpp.fdx but neither the Sh application (16777217, vendor
 * 10415) nor its commands. sh_dict_init() defines the application and UDR/UDA (306) with the ABNF rules of
 * TS 29.329 §6.1.1/§6.1.2, and any Sh AVP the loaded dictionaries lack. Every AVP is looked up by code and vendor,
 * never by name, because names differ between dictionary versions. Sh-Subs-Notif (SNR/SNA 308, PNR/PNA 309,
 * §6.1.5-§6.1.8) is defined the same way. Call it once after fd_core_parseconf() (which
 * loads the dict extensions) and before fd_core_start(); it is idempotent.
 */
#ifndef MIHUA_SH_DICT_H
#define MIHUA_SH_DICT_H

#include <stdint.h>

#define SH_APP_ID 16777217u
#define SH_VENDOR_3GPP 10415u
#define SH_CMD_UDR 306u
#define SH_CMD_SNR 308u /* Subscribe-Notifications-Request/Answer, TS 29.329 §6.1.5/6.1.6 */
#define SH_CMD_PNR 309u /* Push-Notification-Request/Answer, TS 29.329 §6.1.7/6.1.8 */

/* TS 29.329 §6.3 AVP codes (vendor 10415). */
#define SH_AVP_PUBLIC_IDENTITY 601u
#define SH_AVP_SERVER_NAME 602u
#define SH_AVP_FEATURE_LIST_ID 629u
#define SH_AVP_FEATURE_LIST 630u
#define SH_AVP_SUPPORTED_FEATURES 628u
#define SH_AVP_USER_IDENTITY 700u
#define SH_AVP_MSISDN 701u
#define SH_AVP_USER_DATA 702u
#define SH_AVP_DATA_REFERENCE 703u
#define SH_AVP_SERVICE_INDICATION 704u
#define SH_AVP_IDENTITY_SET 708u
#define SH_AVP_REQUESTED_DOMAIN 706u
#define SH_AVP_CURRENT_LOCATION 707u
#define SH_AVP_SUBS_REQ_TYPE 705u
#define SH_AVP_EXPIRY_TIME 709u
#define SH_AVP_SEND_DATA_INDICATION 710u
#define SH_AVP_ONE_TIME_NOTIFICATION 712u

/* TS 29.329 §6.2 Experimental-Result-Code values. */
#define SH_ERR_USER_UNKNOWN 5001u
#define SH_ERR_NOT_SUPPORTED_USER_DATA 5009u
#define SH_ERR_OPERATION_NOT_ALLOWED 5101u
#define SH_ERR_USER_DATA_CANNOT_BE_READ 5102u
#define SH_ERR_TOO_MUCH_DATA 5008u
#define SH_ERR_DATA_REF_NOT_SUPPORTED 5100u /* TS 29.329: unsupported Data-Reference, see DESIGN §3 */
#define SH_ERR_CANNOT_BE_NOTIFIED 5104u     /* DIAMETER_ERROR_USER_DATA_CANNOT_BE_NOTIFIED: not subscribable */
#define SH_ERR_SUBS_DATA_ABSENT 5106u       /* DIAMETER_ERROR_SUBS_DATA_ABSENT: subscribing to absent Repository Data */
#define SH_ERR_NO_SUBSCRIPTION_TO_DATA 5107u /* PNA: the AS holds no subscription for what was pushed */

/* TS 29.328 §7.6 Data-Reference values mihua knows by name. */
typedef enum {
    SH_DREF_REPOSITORY_DATA = 0,
    SH_DREF_IMS_PUBLIC_IDENTITY = 10,
    SH_DREF_MSISDN = 17,
    SH_DREF_TADS_INFORMATION = 26,
} sh_data_ref_t;

struct dict_object;

/* Handles to the dictionary objects the Sh code uses. Filled by sh_dict_init; read-only afterwards. */
typedef struct {
    struct dict_object *vendor_3gpp; /* vendor 10415, for fd_disp_app_support() */
    struct dict_object *app;
    struct dict_object *cmd_udr;
    struct dict_object *cmd_uda;
    struct dict_object *cmd_snr, *cmd_sna, *cmd_pnr, *cmd_pna;
    /* base protocol (RFC 6733) */
    struct dict_object *session_id, *origin_host, *origin_realm, *dest_host, *dest_realm, *auth_session_state,
        *result_code, *experimental_result, *experimental_result_code, *vendor_id, *auth_app_id,
        *vendor_specific_app_id, *failed_avp;
    /* Sh */
    struct dict_object *user_identity, *public_identity, *msisdn, *user_data, *data_reference, *service_indication,
        *supported_features, *subs_req_type, *expiry_time, *send_data_indication;
} sh_dict_t;

/* Returns 0, or an errno value when freeDiameter refuses a definition. */
int sh_dict_init(sh_dict_t *d);

/* The Data-Reference name for logs ("RepositoryData", "TADSinformation", ...) or NULL when unknown. */
const char *sh_data_ref_name(uint32_t dref);
/* Parses a probe-style name: "repository-data", "ims-public-identity", "msisdn", "tads" (also the TS 29.328
 * names, case-insensitive) or a decimal value. Returns 0 or -1. */
int sh_data_ref_parse(const char *name, uint32_t *out);

#endif
