/*
 * proxy — mihua-as's SIP side: registrar front end and transaction-stateful proxy (RFC 3261 §10.3, §16; DESIGN
 * §2), with the encryption checks of DESIGN §3 on tagged INVITEs and the call table of DESIGN §4.
 *
 *   proxy_t *p = proxy_new(&conf, err, sizeof err);   // binds UDP and TCP on one port, runs on conf.base;
 *                                                     // new INVITEs over the overload marks get a stateless 503
 *   ... event loop ...
 *   proxy_drain(p);                                   // SIGTERM: new INVITEs get 503
 *   while (proxy_pending_invites(p)) ...              // let the INVITEs in progress get their final answers
 *   proxy_free(p);
 */
#ifndef MIHUA_AS_PROXY_H
#define MIHUA_AS_PROXY_H

#include <event2/event.h>
#include <stddef.h>

#include "as_checks.h"
#include "call_table.h"
#include "core/listen_guard.h"
#include "core/metrics.h"
#include "overload.h"
#include "registrar.h"
#include "sip_auth.h"

#define PROXY_MAX_PENDING_CHECKS_DEFAULT 1000 /* 3,300 tagged calls/s if every lookup took the 300 ms budget */

typedef struct {
    struct event_base *base;
    const char *host;              /* listen IP literal; also our Via sent-by and Record-Route host */
    int port;                      /* 0: a port free for both UDP and TCP */
    bool dialog_socket;            /* a second UDP socket for responses and in-dialog requests (sip_transport.h) */
    int dialog_port;               /* its port; 0: any */
    registrar_t *reg;              /* borrowed */
    sip_auth_t *auth;              /* borrowed; NULL: no Digest (closed lab): REGISTERs bind unauthenticated */
    call_table_t *calls;           /* borrowed */
    as_checks_t *checks;           /* borrowed; NULL disables the checks (tagged INVITEs are then forwarded stripped) */
    metrics_t *metrics;            /* borrowed; NULL for none */
    const listen_limits_t *limits; /* the SIP TCP listener's cap and header deadline; NULL: defaults */
    const overload_conf_t *overload; /* table size and admission marks; NULL: defaults, no admission control */
    unsigned timer_c_ms;             /* RFC 3261 §16.6 step 11; 0: none */
    uint64_t call_idle_ms; /* call records without in-dialog traffic this long are closed; 0: CALL_IDLE_MS_DEFAULT */
    size_t max_pending_checks; /* encryption checks in flight before tagged INVITEs go stripped at once;
                                  0: PROXY_MAX_PENDING_CHECKS_DEFAULT */
} proxy_conf_t;

typedef struct proxy proxy_t;

proxy_t *proxy_new(const proxy_conf_t *conf, char *err, size_t errlen);
/* Frees every transaction (cancelling pending checks), then the sockets. Call before as_checks_free(). */
void proxy_free(proxy_t *p);
int proxy_port(const proxy_t *p);
/* For the READY line: "ADDR:PORT", plus " sip_dialog=ADDR:PORT" with a dialog socket. */
void proxy_listen_text(const proxy_t *p, char *out, size_t cap);
/* From now on new out-of-dialog INVITEs are answered 503; everything else is still served. */
void proxy_drain(proxy_t *p);
/* INVITEs forwarded or being checked that have not had their final response. */
size_t proxy_pending_invites(const proxy_t *p);
/* Sets the gauges (transactions, calls, bindings) to their current values: call before rendering metrics. */
void proxy_refresh_metrics(void *proxy);

#endif
