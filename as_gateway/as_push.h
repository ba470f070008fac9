/*
 * as_push — keeps the AS's subscriber-facts cache (as_facts_cache) fed by subscriptions (DESIGN §3 "Push"):
 *   HSS: Sh SNR (TS 29.329 §6.1.5) for RepositoryData "mihua-voice-encryption" with Send-Data-Indication, PNRs
 *        (§6.1.7) answered and applied;
 *   UDM: Nudr POST subs-to-notify (TS 29.504/29.505) for operator-specific-data and/or
 *        context-data/amf-3gpp-access, the current state read once, DataChangeNotify received on the AS's SBI
 *        port at POST /as/v1/nudr-notify/{msisdn} and applied.
 * A user is subscribed when it registers (as_push_registered), per the policies' sources, and unsubscribed when
 * its last binding goes (as_push_deregistered). Subscriptions are
 * renewed before they expire or their facts get old; a peer that went down (Sh peer not OPEN; the UDM no longer
 * listing our subscription, or not answering) makes the cache forget that source's facts at once (calls go back
 * to queries) and every known user is subscribed again once the peer is back.
 */
#ifndef MIHUA_AS_PUSH_H
#define MIHUA_AS_PUSH_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "as_facts_cache.h"
#include "as_sh_path.h"
#include "core/metrics.h"
#include "sbi/sbi_server.h"

#define AS_PUSH_TICK_MS 50   /* peer-state watch: an HSS restart is seen within this of the link dropping */
#define AS_PUSH_SCAN_MS 1000 /* renewals and the UDM liveness probe run this often */
#define AS_PUSH_NOTIFY_PATH "/as/v1/nudr-notify" /* + "/{key}/{msisdn}": where DataChangeNotify is received */
#define AS_PUSH_SNR_TIMEOUT_S 5

typedef struct {
    bool sh_subscribed;  /* subscribe at the HSS for RepositoryData (subscription_source uses the HSS) */
    bool udm_subscribed; /* monitor operator-specific-data (subscription_source uses the UDM) */
    bool udm_attached;   /* monitor context-data/amf-3gpp-access (attachment_source uses the UDM) */
    uint64_t max_age_ms; /* a fact older than this is not used; renewals come at half of it */
    const char *udm_url; /* "http://host:port" */
    const char *udm_ca;
} as_push_conf_t;

typedef struct as_push as_push_t;

/* `sh` may be NULL (no HSS subscriptions); `facts` is borrowed. NULL with a reason in err. */
as_push_t *as_push_new(struct event_base *base, as_facts_t *facts, as_sh_path_t *sh, const as_push_conf_t *conf,
                       metrics_t *metrics, char *err, size_t errlen);
/* Adds the DataChangeNotify route to `srv`; `callback_base` ("http://127.0.0.1:7703") is what the UDM is told.
 * Until this is called no Nudr subscription is made. Returns 0 or -1. */
int as_push_attach(as_push_t *p, sbi_server_t *srv, const char *callback_base);
/* Stops taking PNRs (unregisters from freeDiameter): call before the Diameter node stops. */
void as_push_stop(as_push_t *p);
/* Frees everything; call after the Diameter node stopped, so that no SNA callback runs any more. */
void as_push_free(as_push_t *p);

/* Whether the source is reachable right now (Sh peer OPEN; a connection to the UDM open): checked at each
 * decision, so a peer that just went away is not trusted even before the next tick forgets its facts. */
bool as_push_source_up(const as_push_t *p, as_source_t s);

/* A user registered: subscribe where its facts are not kept fresh yet. `identity` is its AOR. */
void as_push_registered(as_push_t *p, const char *identity);
/* A user's last binding went: Sh unsubscribe, Nudr DELETE, and its cache entry goes. */
void as_push_deregistered(as_push_t *p, const char *identity);

#endif
