/*
 * sh_msg — building and reading UDR/UDA (TS 29.329 §6.1.1, §6.1.2) with freeDiameter.
 *
 * Client side (AS, probe): sh_udr_build() makes a complete request; sh_uda_read() turns an answer into a plain
 * struct, reading Experimental-Result (the Sh application errors) separately from Result-Code (base protocol
 * errors: plain 5001 is DIAMETER_AVP_UNSUPPORTED, not "user unknown").
 * Server side (HSS): sh_udr_read() extracts what the HSS needs from a request already checked against the ABNF
 * rules; sh_uda_set_* fill the answer made by fd_msg_new_answer_from_req().
 */
#ifndef MIHUA_SH_MSG_H
#define MIHUA_SH_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diameter/sh_data.h"
#include "diameter/sh_dict.h"

#define SH_MAX_DATA_REFS 8 /* Data-Reference AVPs read from one UDR; more are answered 5100 */
#define SH_MAX_SERVICE_INDICATIONS 8
#define SH_SERVICE_INDICATION_VOENC "mihua-voice-encryption" /* DESIGN §3 */
#define SH_MSISDN_MAX_DIGITS 15                              /* E.164 (ITU-T E.164 §6): at most 15 digits */

struct msg;

typedef struct {
    const char *public_identity; /* User-Identity/Public-Identity; or NULL to use msisdn */
    const char *msisdn;          /* User-Identity/MSISDN (TBCD digits as text) when no public_identity */
    const uint32_t *data_refs;
    size_t n_data_refs;
    const char *service_indication; /* sent when a RepositoryData reference is present; NULL = none */
    const char *dest_realm;         /* mandatory */
    const char *dest_host;          /* optional */
} sh_udr_params_t;

/* Builds a UDR with a new Session-Id and the local Origin-Host/Realm. Returns 0 or an errno value. */
int sh_udr_build(const sh_dict_t *d, const sh_udr_params_t *p, struct msg **out);

typedef struct {
    bool has_result_code;
    uint32_t result_code;
    bool has_experimental;
    uint32_t exp_vendor;
    uint32_t exp_code;
    char origin_host[256];
    char *user_data; /* raw Sh-Data XML (malloc'd, NUL-terminated) or NULL */
    size_t user_data_len;
    bool has_data; /* user_data parsed into data */
    sh_data_t data;
    char data_error[128]; /* why user_data did not parse, when present but !has_data */
} sh_uda_t;

/* Reads an answer. Returns 0 (even for error answers: look at the codes), or -1 when `uda` is not an answer. */
int sh_uda_read(const sh_dict_t *d, struct msg *uda, sh_uda_t *out);
void sh_uda_clear(sh_uda_t *a);

/* True when the answer is a success: Result-Code 2xxx and no Experimental-Result. */
bool sh_uda_success(const sh_uda_t *a);

typedef struct {
    char *public_identity; /* malloc'd or NULL */
    char *msisdn;          /* malloc'd or NULL */
    uint32_t data_refs[SH_MAX_DATA_REFS];
    size_t n_data_refs;
    bool too_many_data_refs;
    char *service_ind[SH_MAX_SERVICE_INDICATIONS];
    size_t n_service_ind;
} sh_udr_t;

/* Reads a UDR. Returns 0, or -1 when an AVP is malformed (e.g. a Public-Identity with a NUL byte). */
int sh_udr_read(const sh_dict_t *d, struct msg *udr, sh_udr_t *out);
void sh_udr_clear(sh_udr_t *r);

/* Answer helpers: all add Vendor-Specific-Application-Id and Auth-Session-State=NO_STATE_MAINTAINED(1), which
 * every UDA carries. */
int sh_uda_set_success(const sh_dict_t *d, struct msg *ans, const char *user_data, size_t len);
int sh_uda_set_experimental(const sh_dict_t *d, struct msg *ans, uint32_t exp_code);
/* Any Result-Code (a fault injected by a test double); 3xxx codes set the E bit as RFC 6733 §7.1.3 wants. */
int sh_uda_set_result(const sh_dict_t *d, struct msg *ans, uint32_t result_code);

/* MSISDN AVP value (TS 29.329 §6.3.2): TBCD-string of TS 29.002, filler 0xF for an odd digit count.
 * Encode: digits (an optional leading '+' is skipped; only 0-9, 1..SH_MSISDN_MAX_DIGITS) into out[size];
 * length in *len. Decode: into out[size] as a NUL-terminated digit string. Both return 0 or -1. */
int sh_msisdn_to_tbcd(const char *digits, uint8_t *out, size_t size, size_t *len);
int sh_tbcd_to_msisdn(const uint8_t *tbcd, size_t len, char *out, size_t size);

/* Human-readable name of a Result-Code or Sh Experimental-Result-Code for logs and the probe. */
const char *sh_result_name(uint32_t code, bool experimental);

#endif
