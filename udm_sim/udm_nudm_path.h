/*
 * udm_nudm_path — the SBI resources mihua-udm serves (DESIGN §3 SBI):
 *   GET /nudm-uecm/v1/{ueId}/registrations/amf-3gpp-access   TS 29.503 §6.2.3.2 Amf3GppAccessRegistration
 *   GET /nudr-dr/v2/subscription-data/{ueId}/operator-specific-data   TS 29.505 §5.2.2.x OperatorSpecificDataContainer
 *   GET /nudm-sdm/v2/{supi}/am-data                            TS 29.503 §6.1.3.5 AccessAndMobilitySubscriptionData
 * The simulator plays UDM and UDR on one endpoint, as test cores usually do.
 */
#ifndef MIHUA_UDM_NUDM_PATH_H
#define MIHUA_UDM_NUDM_PATH_H

#include <jansson.h>
#include <stddef.h>

#include "core/metrics.h"
#include "sbi/sbi_server.h"
#include "subscriber/sub_store.h"

typedef struct udm_nudm udm_nudm_t;

typedef enum {
    UDM_ID_INVALID = 0,
    UDM_ID_IMSI,   /* "imsi-" + 5..15 digits (TS 29.571 Supi) */
    UDM_ID_MSISDN, /* "msisdn-" + 5..15 digits (TS 29.571 Gpsi) */
} udm_id_kind_t;

/* Classifies a ueId path parameter; on success *digits points into `ue_id` after the prefix. */
udm_id_kind_t udm_ue_id_parse(const char *ue_id, const char **digits);

/* Registers the three routes on `srv` (counted in `metrics`, which may be NULL) and renders the answer bodies of the store's current snapshot. The store and
 * server are borrowed. `amf_instance_id` is copied. NULL on allocation failure. */
udm_nudm_t *udm_nudm_new(sbi_server_t *srv, sub_store_t *store, const char *amf_instance_id, metrics_t *metrics);
void udm_nudm_free(udm_nudm_t *n);

/* Re-renders the bodies if the store's snapshot changed (after a reload or an admin change); requests also check
 * this themselves, so calling it is an optimisation. Returns 0, or -1 when rendering failed (old bodies stay). */
int udm_nudm_refresh(udm_nudm_t *n);

/* The bodies served, as JSON (new references): the subscriber's Amf3GppAccessRegistration (NULL when it is not
 * registered in 5GS, i.e. not on NR) and its OperatorSpecificDataContainer. Data-change notifications carry them. */
json_t *udm_nudm_amf_json(const udm_nudm_t *n, const subscriber_t *s);
json_t *udm_nudm_osd_json(const subscriber_t *s);

#endif
