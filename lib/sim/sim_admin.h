/*
 * sim_admin — the test-double part of the simulators' admin API (DESIGN §8): the request journal and fault
 * injection, served beside the subscriber routes (sub_admin) on the same admin server.
 *
 *   GET    /admin/v1/exchanges[?since=ID|TIME&identity=&command=&path=&result=&limit=]   journal.h, JSON
 *   DELETE /admin/v1/exchanges                                                          {"cleared":N}
 *   POST   /admin/v1/faults        a rule (fault.h)          201 + Location /admin/v1/faults/{id}, the rule
 *   GET    /admin/v1/faults                                  {"faults":[...]}
 *   DELETE /admin/v1/faults[/{id}]                           {"cleared":N} / 204; an unknown id 404
 *   /admin/v1/captures[/{id}[/file]]                         packet captures by dumpcap (sim_capture.h)
 * `since` is an entry id (digits) or an RFC 3339 UTC time (2026-12-03T06:00:00[.mmm]Z). Bad filters and rules
 * get 400 ProblemDetails with invalidParams naming the parameter.
 */
#ifndef MIHUA_SIM_ADMIN_H
#define MIHUA_SIM_ADMIN_H

#include "core/fault.h"
#include "core/journal.h"
#include "sbi/sbi_server.h"
#include "sim/sim_capture.h"

typedef struct sim_admin sim_admin_t;

/* Creates the journal (journal_capacity entries; 0: JOURNAL_CAPACITY_DEFAULT), the fault table and the captures
 * of what `capture` names, and registers the routes on `srv`. Free after the server and after whatever records
 * into them (sbi_sim, diam_sim). */
sim_admin_t *sim_admin_new(sbi_server_t *srv, size_t journal_capacity, const sim_capture_conf_t *capture);
void sim_admin_free(sim_admin_t *a);
journal_t *sim_admin_journal(const sim_admin_t *a);
fault_table_t *sim_admin_faults(const sim_admin_t *a);

#endif
