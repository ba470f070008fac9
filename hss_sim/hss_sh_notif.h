/*
 * hss_sh_notif — the HSS side of Sh-Subs-Notif (TS 29.328 §6.1.3/§6.1.4, TS 29.329 §6.1.5-§6.1.8): answers SNR,
 * keeps the subscriptions in memory, and sends a PNR to the subscribing AS when subscribed data changes in the
 * subscriber store (admin API, reload, import — by this process or another one sharing the store).
 */
#ifndef MIHUA_HSS_SH_NOTIF_H
#define MIHUA_HSS_SH_NOTIF_H

#include <event2/event.h>

#include "core/metrics.h"
#include "diameter/sh_dict.h"
#include "sbi/sbi_server.h"
#include "sim/diam_sim.h"
#include "subscriber/sub_store.h"

#define HSS_NOTIF_EXPIRY_DEFAULT_S 3600 /* longest subscription granted unless configured otherwise */
#define HSS_NOTIF_EXPIRY_MAX_S 86400
#define HSS_NOTIF_MAX_SUBS \
    200000                        /* subscriptions held; beyond, SNR gets DIAMETER_UNABLE_TO_COMPLY: each
                                           costs ~1 KB and a comparison on every store change */
#define HSS_NOTIF_PNR_TIMEOUT_S 5 /* a PNR unanswered this long is logged as lost */

typedef struct hss_notif hss_notif_t;

/* Registers the SNR handler with freeDiameter, the change watch on `base` and GET /admin/v1/sh-subscriptions on
 * `admin`. `max_expiry_s` bounds the Expiry-Time granted. `metrics` may be NULL. NULL on failure. */
hss_notif_t *hss_notif_new(struct event_base *base, const sh_dict_t *dict, sub_store_t *store,
                           const char *service_indication, long max_expiry_s, sbi_server_t *admin, metrics_t *metrics);

/* Journal and faults for SNRs (lib/sim/diam_sim); NULL: none. Before traffic is expected. */
void hss_notif_set_sim(hss_notif_t *n, diam_sim_t *sim);

/* Unregisters the handler and stops the watch; PNRs still in flight keep what they need until answered. */
void hss_notif_free(hss_notif_t *n);

#endif
