/*
 * hss_faults — the Sh handlers' entry into fault injection (lib/sim/diam_sim): names the request's user the ways a
 * fault rule may name it (the Public-Identity or MSISDN as received, and the subscriber's IMSI) and asks diam_sim.
 * Both requests the HSS answers come through here: UDR (hss_sh_path) and SNR (hss_sh_notif).
 */
#ifndef MIHUA_HSS_FAULTS_H
#define MIHUA_HSS_FAULTS_H

#include "diameter/sh_msg.h"
#include "sim/diam_sim.h"
#include "subscriber/sub_store.h"

/* diam_sim_request for a UDR or SNR (`command`, its user in `req`); false at once when `sim` is NULL. */
bool hss_faults_request(diam_sim_t *sim, sub_store_t *store, const char *command, const sh_udr_t *req, struct msg **ans,
                        unsigned *delay_ms);

#endif
