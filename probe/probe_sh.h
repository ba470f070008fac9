/*
 * probe_sh — `mihua-probe sh`: send one UDR to any HSS and print the decoded UDA (TS 29.328/29.329).
 */
#ifndef MIHUA_PROBE_SH_H
#define MIHUA_PROBE_SH_H

struct msg;

/* Exit codes: 0 success answer, 3 Diameter error answer, 1 no answer (connection or timeout), 2 usage. */
int probe_sh_main(int argc, char **argv);

/* Sends a request on the running freeDiameter node and waits up to timeout_ms for its answer, which the caller
 * frees; NULL when none came. `req` is consumed either way. */
struct msg *probe_sh_send(struct msg *req, int timeout_ms, double *latency_ms);

#endif
