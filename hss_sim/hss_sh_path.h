/*
 * hss_sh_path — the HSS side of the Sh interface: answers UDR (TS 29.328 §6.1.1, TS 29.329 §6.1.1) from the
 * subscriber store.
 */
#ifndef MIHUA_HSS_SH_PATH_H
#define MIHUA_HSS_SH_PATH_H

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

#endif
