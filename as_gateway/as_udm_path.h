/*
 * as_udm_path — the AS's SBI interface towards the UDM/UDR (DESIGN §3; TS 29.503 Nudm_UECM, TS 29.505
 * Nudr_DR operator-specific data). Private to mihua_as_checks.
 */
#ifndef MIHUA_AS_UDM_PATH_H
#define MIHUA_AS_UDM_PATH_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#include "as_checks.h"
#include "as_checks_int.h"

#define AS_UDM_PATH_OSD "/nudr-dr/v2/subscription-data/msisdn-%s/operator-specific-data?fields=voiceEncryption"
#define AS_UDM_PATH_AMF "/nudm-uecm/v1/msisdn-%s/registrations/amf-3gpp-access"

typedef enum {
    AS_UDM_SUBSCRIBED = 0, /* operator-specific-data voiceEncryption */
    AS_UDM_ATTACHED,       /* amf-3gpp-access registration */
} as_udm_kind_t;

typedef struct {
    as_answer_t answer;
    char rat[AS_RAT_NAME_MAX]; /* AS_UDM_ATTACHED with a 200: ratType as the UDM said it ("NR", "EUTRA") */
} as_udm_result_t;

struct as_udm_lookup;
typedef void (*as_udm_result_cb)(struct as_udm_lookup *lk, const as_udm_result_t *res, void *ud);

/* One lookup in flight. Owned by the caller (embedded in its own record), which must keep it alive until the
 * callback ran or as_udm_path_cancel() — no allocation per request, nothing to leak when the client goes. */
typedef struct as_udm_lookup {
    as_udm_kind_t kind;
    uint64_t sbi_id; /* 0 when not in flight */
    as_udm_result_cb cb;
    void *ud;
} as_udm_lookup_t;

typedef struct as_udm_path as_udm_path_t;

/* `url`: "http://host:port" (h2c) or "https://..." with `ca` (NULL: system CAs). NULL with a reason in err. */
as_udm_path_t *as_udm_path_new(struct event_base *base, const char *url, const char *ca, char *err, size_t errlen);
/* Pending lookups are dropped without callbacks. Safe inside a callback. */
void as_udm_path_free(as_udm_path_t *p);

/* Submits the GET for `msisdn` (digits). Returns 0: lk->cb runs once later, on the loop, unless cancelled;
 * -1: refused outright (the caller records an error). lk->kind, cb and ud must be set. */
int as_udm_path_query(as_udm_path_t *p, as_udm_lookup_t *lk, const char *msisdn, unsigned timeout_ms);
void as_udm_path_cancel(as_udm_path_t *p, as_udm_lookup_t *lk);

/* Pure: the answer in a response. 200 {"voiceEncryption":{"value":true}} is yes, any other 200 no; 404
 * USER_NOT_FOUND unknown, 404 DATA_NOT_FOUND / CONTEXT_NOT_FOUND no; anything else error. */
as_answer_t as_udm_read_subscribed(int status, const char *body, size_t len);
/* 200 with ratType NR or EUTRA and imsVoPs HOMOGENEOUS_SUPPORT is yes (rat filled), any other 200 no; 404
 * CONTEXT_NOT_FOUND no (known, not registered in 5GS), USER_NOT_FOUND unknown; anything else error. */
as_answer_t as_udm_read_attached(int status, const char *body, size_t len, char *rat, size_t rat_size);

#endif
