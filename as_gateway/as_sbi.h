/*
 * as_sbi — mihua-as's SBI port (DESIGN §4, §8: default 127.0.0.1:7703, h2c): the call records the KMS validates
 * key requests against, and the Prometheus metrics.
 *
 *   GET /as/v1/calls/{callId} → 200 {"callId","caller","callee","encryptionAllowed","state"}
 *                               404 ProblemDetails, cause CALL_NOT_FOUND
 *   GET /metrics              → 200 text/plain; version=0.0.4
 *
 * Both carry operator data (who calls whom), so the whole port takes the bearer token of sbi_auth.h (`admin_token`,
 * the KMS's `as.token`): 401/429 otherwise, before routing.
 */
#ifndef MIHUA_AS_SBI_H
#define MIHUA_AS_SBI_H

#include "call_table.h"
#include "core/metrics.h"
#include "sbi/sbi_auth.h"
#include "sbi/sbi_server.h"

#define AS_CAUSE_CALL_NOT_FOUND "CALL_NOT_FOUND" /* DESIGN §4 */

typedef struct as_sbi as_sbi_t;

/* Adds the routes and the token gate (`auth`, loaded by sbi_auth_conf_finish) to srv. `refresh(ud)` (may be NULL)
 * runs before every metrics rendering to set gauges. Everything is borrowed and must outlive the server's last
 * request. */
as_sbi_t *as_sbi_new(sbi_server_t *srv, const call_table_t *calls, metrics_t *metrics, void (*refresh)(void *),
                     void *ud, const sbi_auth_conf_t *auth);
void as_sbi_free(as_sbi_t *s);

#endif
