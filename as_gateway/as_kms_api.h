/*
 * as_kms_api — what mihua-as serves the KMS on its SBI port (DESIGN §4, §8: default 127.0.0.1:7703, h2c): the
 * call records the KMS checks each key request against, and, on the same port, the Prometheus metrics.
 *
 *   GET /as/v1/calls/{callId} → 200 {"callId","caller","callee","encryptionAllowed","state"}
 *                               404 ProblemDetails, cause CALL_NOT_FOUND
 *   GET /metrics              → 200 text/plain; version=0.0.4
 *
 * Both carry operator data (who calls whom), so the whole port takes the bearer token of sbi_auth.h (`admin_token`,
 * the KMS's `as.token`): 401/429 otherwise, before routing.
 */
#ifndef MIHUA_AS_KMS_API_H
#define MIHUA_AS_KMS_API_H

#include "call_table.h"
#include "core/metrics.h"
#include "sbi/sbi_auth.h"
#include "sbi/sbi_server.h"

#define AS_CAUSE_CALL_NOT_FOUND "CALL_NOT_FOUND" /* DESIGN §4 */

typedef struct as_kms_api as_kms_api_t;

/* Adds the routes and the token gate (`auth`, loaded by sbi_auth_conf_finish) to srv. `refresh(ud)` (may be NULL)
 * runs before every metrics rendering to set gauges. Everything is borrowed and must outlive the server's last
 * request. */
as_kms_api_t *as_kms_api_new(sbi_server_t *srv, const call_table_t *calls, metrics_t *metrics, void (*refresh)(void *),
                             void *ud, const sbi_auth_conf_t *auth);
void as_kms_api_free(as_kms_api_t *s);

#endif
