/*
 * udm_nudr_notif — Nudr data-change subscriptions (TS 29.504 §5.2.2.x "Subs To Notify", TS 29.505
 * SubscriptionDataSubscriptions / DataChangeNotify) on mihua-udm's SBI server:
 *   POST   /nudr-dr/v2/subscription-data/subs-to-notify            201 + Location + SubscriptionDataSubscriptions
 *   GET    /nudr-dr/v2/subscription-data/subs-to-notify?ue-id=X    200 [SubscriptionDataSubscriptions] (QuerySubsToNotify)
 *   DELETE /nudr-dr/v2/subscription-data/subs-to-notify/{subsId}   204
 * and a DataChangeNotify POSTed to the callbackReference over HTTP/2 when a monitored resource
 * (operator-specific-data, context-data/amf-3gpp-access) changes in the subscriber store, whoever changed it.
 */
#ifndef MIHUA_UDM_NUDR_NOTIF_H
#define MIHUA_UDM_NUDR_NOTIF_H

#include <event2/event.h>

#include "core/metrics.h"
#include "sbi/sbi_server.h"
#include "subscriber/sub_store.h"
#include "udm_nudm_path.h"

#define UDM_NOTIF_EXPIRY_DEFAULT_S 3600 /* longest subscription granted unless configured otherwise */
#define UDM_NOTIF_EXPIRY_MAX_S 86400
#define UDM_NOTIF_MAX_SUBS \
    200000                        /* beyond: 503 INSUFFICIENT_RESOURCES; each costs ~1 KB and a comparison
                                           on every store change */
#define UDM_NOTIF_TIMEOUT_MS 2000 /* a callback that has not answered by then counts as failed */

typedef struct udm_notif udm_notif_t;

/* Registers the three routes on `srv` (the SBI server) and the change watch on `base`. `nudm` renders the
 * notified resources. `metrics` may be NULL. NULL on failure. */
udm_notif_t *udm_notif_new(struct event_base *base, sbi_server_t *srv, sub_store_t *store, const udm_nudm_t *nudm,
                           long max_expiry_s, metrics_t *metrics);
/* Callbacks in flight are dropped. Call before freeing the store. */
void udm_notif_free(udm_notif_t *n);

#endif
