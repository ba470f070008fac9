/*
 * sbi_sim — the request journal and fault injection on a simulator's SBI server (mihua-udm), as an observer of
 * lib/sbi/sbi_server: every answer the server sends (the handlers' and its own 4xx) is journalled with method,
 * path, status, SHA-256 of the body and latency; before a routed request reaches its handler the fault table is
 * asked (fault.h) and may answer instead (status + ProblemDetails, optional Retry-After and content type), run
 * the handler later (delay) or reset the stream (RST_STREAM). The routes themselves are untouched.
 *
 * A request names its user by the `ueId` or `supi` capture; a fault for an IMSI matches `imsi-<IMSI>` and, with a
 * subscriber store, the `msisdn-` of that subscriber too. Runs on the server's event loop only.
 */
#ifndef MIHUA_SBI_SIM_H
#define MIHUA_SBI_SIM_H

#include "core/fault.h"
#include "core/journal.h"
#include "sbi/sbi_server.h"
#include "subscriber/sub_store.h"

typedef struct sbi_sim sbi_sim_t;

/* Observes `srv` (sbi_server_set_observer). `store` may be NULL. Free after the server. */
sbi_sim_t *sbi_sim_new(sbi_server_t *srv, journal_t *journal, fault_table_t *faults, sub_store_t *store);
void sbi_sim_free(sbi_sim_t *s);

#endif
