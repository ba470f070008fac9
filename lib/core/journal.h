/*
 * journal — the simulators' request journal: every exchange a simulator served (a Diameter request and its
 * answer, an SBI request and its response), kept in a bounded ring for CI jobs to query over the admin API
 * (GET /admin/v1/exchanges) instead of reading a capture.
 *
 * Entries are recorded from any thread (freeDiameter's dispatch and sending threads, the SBI event loop) under one
 * mutex; a record is a few hundred bytes of JSON built by the caller, so the lock is held for a pointer swap. When
 * the ring is full the oldest entry goes and `dropped` counts it: a journal never grows past its capacity, and an
 * exchange is never refused because the journal is full. Entry ids grow from 1 and are never reused, even after
 * journal_clear(), so `since=ID` polling never misses or repeats an entry.
 */
#ifndef MIHUA_JOURNAL_H
#define MIHUA_JOURNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOURNAL_CAPACITY_DEFAULT 1000 /* a CI job's scenario is tens of exchanges; 1000 keeps several runs */
#define JOURNAL_CAPACITY_MAX 1000000  /* about 0.5 KB each: half a gigabyte is the most a test double may hold */

typedef struct journal journal_t;

/* What one exchange is, as the simulator saw it. Strings are copied; NULL leaves a field out. */
typedef struct {
    const char *protocol; /* "diameter" or "sbi" */
    const char *peer;     /* Diameter Origin-Host of the request, or the SBI client's address */
    const char *identity; /* the user the request names (Public-Identity, MSISDN, ueId), or NULL */
    const char *command;  /* Diameter command ("UDR", or the code as text), or the HTTP method */
    const char *path;     /* SBI: the request's :path without the query; NULL for Diameter */
    int result;           /* Result-Code, Experimental-Result-Code or HTTP status; 0: no answer was sent */
    double latency_ms;    /* request received to answer sent (or to the fault that ended it) */
    const char *fault;    /* the injected fault that shaped this exchange ("drop", "delay 200ms", ...), or NULL */
    json_t *detail;       /* more fields merged into the entry (AVPs, body digest); reference stolen, may be NULL */
} journal_record_t;

/* Filters of GET /admin/v1/exchanges; a zero/NULL field does not filter. */
typedef struct {
    uint64_t since_id;    /* entries with a larger id */
    int64_t since_ms;     /* entries at or after this time (ms since the epoch) */
    const char *identity; /* exact, case-insensitive */
    const char *command;  /* exact, case-insensitive: "UDR", "306", "GET" */
    const char *path;     /* a prefix of the SBI path */
    int result;           /* exact, when has_result (0 is "no answer": dropped, reset) */
    bool has_result;
    size_t limit; /* at most this many, the newest ones; 0: all */
} journal_filter_t;

journal_t *journal_new(size_t capacity);
void journal_free(journal_t *j);
/* Records one exchange (thread-safe). Consumes rec->detail whatever happens. */
void journal_add(journal_t *j, const journal_record_t *rec);
/* {"exchanges":[...oldest first...],"capacity":N,"dropped":D,"lastId":ID}; a new reference, NULL on ENOMEM. */
json_t *journal_query(journal_t *j, const journal_filter_t *f);
/* Empties the ring; returns how many entries were removed. Ids keep growing. */
size_t journal_clear(journal_t *j);

#endif
