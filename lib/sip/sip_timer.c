/*
 * sip_timer — a binary min-heap of intrusive timer nodes (the timer concern of Kamailio tm's timer.c, without its
 * wheel or its thread).
 *
 * Why a heap: the transaction layer keeps at most two armed timers per transaction (a retransmission timer and a
 * lifetime timer), and deadlines are irregular (T1 doubling, T2 cap, 64*T1, T4), so a heap gives O(log n) arm and
 * cancel with exact deadlines and no tick granularity. Each node remembers its heap index, so cancel is O(log n)
 * without a search. The capacity is fixed at init so that arming inside a state machine never fails for lack of
 * memory; the array is a page mapping (core/pages.h), so only the part a load has touched is resident, and
 * sip_timers_trim() gives that back once the load is over. No clock is read here: callers pass "now".
 */
#include "sip/sip_timer.h"

#include "core/pages.h"

int sip_timers_init(sip_timers_t *ts, int cap)
{
    ts->n = 0;
    ts->cap = cap > 0 ? cap : 1;
    ts->heap = pages_alloc((size_t)ts->cap * sizeof *ts->heap);
    return ts->heap ? 0 : -1;
}

void sip_timers_free(sip_timers_t *ts)
{
    for (int i = 0; i < ts->n; i++)
        ts->heap[i]->idx = -1;
    pages_free(ts->heap, (size_t)ts->cap * sizeof *ts->heap);
    ts->heap = NULL;
    ts->n = ts->cap = 0;
}

void sip_timer_init(sip_timer_t *tm, uint64_t owner, int kind)
{
    tm->due = 0;
    tm->idx = -1;
    tm->kind = kind;
    tm->owner = owner;
}

bool sip_timer_armed(const sip_timer_t *tm)
{
    return tm->idx >= 0;
}

static void sip_heap_set(sip_timers_t *ts, int i, sip_timer_t *tm)
{
    ts->heap[i] = tm;
    tm->idx = i;
}

static void sip_heap_up(sip_timers_t *ts, int i)
{
    sip_timer_t *tm = ts->heap[i];
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (ts->heap[parent]->due <= tm->due)
            break;
        sip_heap_set(ts, i, ts->heap[parent]);
        i = parent;
    }
    sip_heap_set(ts, i, tm);
}

static void sip_heap_down(sip_timers_t *ts, int i)
{
    sip_timer_t *tm = ts->heap[i];
    for (;;) {
        int child = 2 * i + 1;
        if (child >= ts->n)
            break;
        if (child + 1 < ts->n && ts->heap[child + 1]->due < ts->heap[child]->due)
            child++;
        if (tm->due <= ts->heap[child]->due)
            break;
        sip_heap_set(ts, i, ts->heap[child]);
        i = child;
    }
    sip_heap_set(ts, i, tm);
}

void sip_timer_cancel(sip_timers_t *ts, sip_timer_t *tm)
{
    int i = tm->idx;
    if (i < 0 || i >= ts->n || ts->heap[i] != tm)
        return;
    tm->idx = -1;
    ts->n--;
    if (i == ts->n)
        return;
    sip_timer_t *moved = ts->heap[ts->n]; /* the last node fills the hole, then moves up or down */
    sip_heap_set(ts, i, moved);
    sip_heap_up(ts, i);
    if (moved->idx == i)
        sip_heap_down(ts, i);
}

int sip_timer_arm(sip_timers_t *ts, sip_timer_t *tm, uint64_t due)
{
    sip_timer_cancel(ts, tm);
    if (ts->n >= ts->cap)
        return -1;
    tm->due = due;
    sip_heap_set(ts, ts->n, tm);
    ts->n++;
    sip_heap_up(ts, tm->idx);
    return 0;
}

bool sip_timers_next(const sip_timers_t *ts, uint64_t *due)
{
    if (ts->n == 0)
        return false;
    *due = ts->heap[0]->due;
    return true;
}

sip_timer_t *sip_timers_pop_due(sip_timers_t *ts, uint64_t now)
{
    if (ts->n == 0 || ts->heap[0]->due > now)
        return NULL;
    sip_timer_t *tm = ts->heap[0];
    sip_timer_cancel(ts, tm);
    return tm;
}

void sip_timers_trim(sip_timers_t *ts)
{
    pages_release_tail(ts->heap, (size_t)ts->cap * sizeof *ts->heap, (size_t)ts->n * sizeof *ts->heap);
}
