/*
 * daemon — what every mihua daemon does around its event loop (DESIGN §8): SIGHUP reloads, SIGTERM and SIGINT
 * drain and stop, and exactly one "READY ..." line goes to stdout once everything listens.
 *
 * The signals are libevent signal events on the program's loop, so reload and stop run on the loop like any other
 * callback, never in signal context.
 */
#ifndef MIHUA_DAEMON_H
#define MIHUA_DAEMON_H

#include <event2/event.h>

typedef void (*daemon_fn)(void *ud);

typedef struct {
    struct event_base *base;
    const char *name; /* log module, e.g. "kms" */
    daemon_fn reload; /* SIGHUP; NULL: the signal is logged and ignored */
    daemon_fn stop;   /* SIGTERM/SIGINT: start draining, and break the loop (event_base_loopbreak) once drained;
                         NULL: the loop stops at once */
    void *ud;
} daemon_t;

/* Installs the signal events, prints `ready` and a newline on stdout, flushes, and runs the loop until it is
 * broken. Returns 0 after a clean stop, 1 when the signal events could not be set up or the loop failed. */
int daemon_run(const daemon_t *d, const char *ready);

#endif
