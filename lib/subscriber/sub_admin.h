/*
 * sub_admin — the simulators' admin API over HTTP/2 (DESIGN §5): read and change subscriber data in the shared
 * store while the protocol side keeps serving.
 *
 *   GET    /admin/v1/subscribers[?limit=N&cursor=IMSI]  export, one subscriber per line, in IMSI order; with limit
 *                                           one page and a `link: <...>; rel="next"` header while more may follow
 *   POST   /admin/v1/subscribers:import[?mode=merge|replace]   a DESIGN §5 document, validated whole, one
 *                                           transaction: 200 {"subscribers","created","replaced","mode"}, or 400
 *                                           naming import:line:column and the field; nothing changed
 *   GET    /admin/v1/subscribers/{imsi}    one subscriber
 *   PUT    /admin/v1/subscribers/{imsi}    create (201 + Location) or replace (200) one subscriber
 *   PATCH  /admin/v1/subscribers/{imsi}    JSON merge patch (RFC 7396) of one subscriber
 *   DELETE /admin/v1/subscribers/{imsi}    204
 *   POST   /admin/v1/reload                import the subscriber file again (as SIGHUP does)
 *   GET    /metrics                        the program's metrics, Prometheus text (when a registry is given)
 *
 * `kms_key` is write-only: PUT, PATCH and imports accept it, no answer contains it. Authentication belongs to the
 * listener, not to these routes: the daemon installs lib/sbi/sbi_auth's bearer-token gate on the admin server, so
 * it covers every route of it, these and any other module's.
 *
 * Every change is validated exactly as the file loader validates, written as one transaction of the store
 * (sub_db), and seen by the other daemons sharing the store at their next refresh (sub_store.h). A rejected body
 * gets 400 ProblemDetails whose invalidParams names the field as a JSON pointer into the body; JSON syntax errors
 * are answered by lib/sbi with line:column.
 */
#ifndef MIHUA_SUB_ADMIN_H
#define MIHUA_SUB_ADMIN_H

#include "core/metrics.h"
#include "sbi/sbi_server.h"
#include "subscriber/sub_store.h"

typedef struct sub_admin sub_admin_t;

#define SUB_ADMIN_MAX_BODY \
    (64u << 20) /* admin server's body bound: a bulk import of ~200k subscribers;
                                              larger sets go through mihua-subscribers import */
#define SUB_ADMIN_SYNC_REFRESH_MAX \
    10000 /* up to this many subscribers a write refreshes this daemon's
                                              snapshot before answering (well under a millisecond per thousand) */

/* Called on the loop after every accepted change (admin write or reload), e.g. to refresh pre-rendered bodies. */
typedef void (*sub_admin_change_fn)(void *ud);

/* Registers the routes on `srv`. `metrics` and `on_change` may be NULL. NULL on allocation or routing failure.
 * The routes refer to the returned object: free the server before it. */
sub_admin_t *sub_admin_new(sbi_server_t *srv, sub_store_t *store, const metrics_t *metrics,
                           sub_admin_change_fn on_change, void *ud);
void sub_admin_free(sub_admin_t *a);

#endif
