/*
 * ratelimit — one log line per interval, with the count of the events in between (ratelimit.h). Uses the
 * monotonic clock so a wall-clock step cannot silence or flood the log.
 */
#include "core/ratelimit.h"

bool ratelimit_allow(ratelimit_t *rl, unsigned interval_s, uint64_t *suppressed)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    time_t now = ts.tv_sec + 1; /* + 1: 0 means "never" */
    if (rl->last != 0 && now - rl->last < (time_t)interval_s) {
        rl->suppressed++;
        return false;
    }
    rl->last = now;
    *suppressed = rl->suppressed;
    rl->suppressed = 0;
    return true;
}
