/*
 * hss_faults — see hss_faults.h. The IMSI lookup uses the snapshot in force, like the request itself.
 */
#include "hss_faults.h"

#include <stdio.h>

bool hss_faults_request(diam_sim_t *sim, sub_store_t *store, const char *command, const sh_udr_t *req, struct msg **ans,
                        unsigned *delay_ms)
{
    char imsi[SUB_IMSI_MAX + 1] = "";
    const char *user = req->public_identity != NULL ? req->public_identity : req->msisdn;
    const char *ids[2] = {user, imsi};

    *delay_ms = 0;
    if (sim == NULL)
        return false;
    if (user != NULL) {
        sub_snapshot_t *snap = sub_store_acquire(store);
        const subscriber_t *sub = req->public_identity != NULL ? sub_find_by_identity(snap, req->public_identity)
                                                               : sub_find_by_msisdn(snap, req->msisdn);
        if (sub != NULL)
            snprintf(imsi, sizeof imsi, "%s", sub->imsi);
        sub_snapshot_release(snap);
    }
    return diam_sim_request(sim, ans, command, ids, imsi[0] ? 2 : 1, delay_ms);
}
