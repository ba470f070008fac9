/*
 * ue_keys — per-direction SRTP master keys (ue_keys.h).
 */
#include "ue_keys.h"

#include <string.h>

int ue_keys_srtp_masters(const uint8_t *session_key, size_t key_len, const char *call_id, msrtp_suite_t suite,
                         bool is_caller, msrtp_master_t *send, msrtp_master_t *recv)
{
    msrtp_dir_t out = is_caller ? MSRTP_DIR_CALLER_TO_CALLEE : MSRTP_DIR_CALLEE_TO_CALLER;
    msrtp_dir_t in = is_caller ? MSRTP_DIR_CALLEE_TO_CALLER : MSRTP_DIR_CALLER_TO_CALLEE;
    size_t id_len = strlen(call_id);
    if (msrtp_master_derive(session_key, key_len, call_id, id_len, suite, out, send) != 0 ||
        msrtp_master_derive(session_key, key_len, call_id, id_len, suite, in, recv) != 0) {
        msrtp_master_cleanse(send);
        msrtp_master_cleanse(recv);
        return -1;
    }
    return 0;
}
