/*
 * hss_sh_path — the HSS side of the Sh interface: answers UDR (TS 29.328 §6.1.1, TS 29.329 §6.1.1) from the
 * subscriber store.
 */
#ifndef MIHUA_HSS_SH_PATH_H
#define MIHUA_HSS_SH_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/metrics.h"
#include "diameter/sh_dict.h"
#include "sim/diam_sim.h"
#include "subscriber/sub_store.h"

typedef struct hss_sh hss_sh_t;

/* Registers the UDR handler with freeDiameter's dispatcher. `metrics` may be NULL. NULL on failure. */
hss_sh_t *hss_sh_new(const sh_dict_t *dict, sub_store_t *store, const char *service_indication, metrics_t *metrics);

/* Journal and fault injection for the UDRs (DESIGN §8); NULL turns them off. Before the first UDR. */
void hss_sh_set_sim(hss_sh_t *h, diam_sim_t *sim);

/* Unregisters the handler; call before freeing the store. */
void hss_sh_free(hss_sh_t *h);

/* Whether this HSS serves Data-Reference `dref` (RepositoryData, IMSPublicIdentity, MSISDN, TADSinformation). */
bool hss_sh_dref_served(uint32_t dref);

/* The Sh-Data document for `sub` and the Data-References `refs` (UDA, SNA and PNR share it): RepositoryData for
 * `si` only when the subscriber has voice encryption and `si_requested`. malloc'd XML, length in *len; NULL when
 * out of memory. */
char *hss_sh_data_xml(const char *si, bool si_requested, const uint32_t *refs, size_t n_refs, const subscriber_t *sub,
                      uint32_t seq, size_t *len);

#endif
