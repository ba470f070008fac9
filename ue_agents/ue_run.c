/*
 * ue_run — the mihua-ue commands on top of the agent: register; call TARGET (register, call, hang up after
 * --duration, unregister); answer (register, print "READY mihua-ue sip=ADDR:PORT impu=URI ...", take --count
 * calls, unregister). SIGTERM/SIGINT hang up every call, unregister and exit within UE_STOP_GRACE_S. In manual
 * answer mode (no --auto) a line on stdin answers the ringing calls.
 */
#include "ue_run.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "ue_agent.h"
#include "ue_load.h"
#include "ue_report.h"

#define UE_STOP_GRACE_S 3 /* after SIGTERM: BYEs and KMS DELETEs get this long */

typedef struct {
    struct event_base *base;
    const ue_conf_t *c;
    ue_agent_t *ag;
    ue_load_t *load;     /* load command */
    struct event *ev[4]; /* SIGTERM, SIGINT, stdin, stop timer */
    long calls_left;
    int rc;
    bool registered;
    bool done; /* the command has nothing more to start: unregister (call, answer) and stop once idle */
} app_t;

/* Called whenever the agent may have become idle. */
static void on_idle(void *ud)
{
    app_t *app = ud;
    if (!app->done || !ue_agent_idle(app->ag))
        return;
    if (app->registered && app->c->cmd != UE_CMD_REGISTER) {
        app->registered = false;
        if (ue_agent_unregister(app->ag) == 0)
            return; /* its answer comes back through on_registered, then here */
    }
    event_base_loopbreak(app->base);
}

static void stop(app_t *app)
{
    app->done = true;
    on_idle(app);
}

static void on_registered(void *ud, int status, const char *reason)
{
    app_t *app = ud;
    const ue_conf_t *c = app->c;
    if (app->done && !app->registered) { /* the answer to our de-registration */
        on_idle(app);
        return;
    }
    if (status != 200) {
        fprintf(stderr, "mihua-ue: REGISTER %s: %d %s\n", c->impu, status, reason);
        app->rc = 1;
        ue_agent_hangup_all(app->ag);
        stop(app);
        return;
    }
    bool first = !app->registered;
    app->registered = true;
    if (!first || app->done) /* a refresh */
        return;
    if (c->cmd != UE_CMD_REGISTER)
        ue_agent_prime_kms(app->ag);
    if (c->cmd == UE_CMD_REGISTER) {
        printf("registered %s at %s (%s, %s)\n", c->impu, c->registrar, c->capable ? "capable" : "not capable", c->rat);
        stop(app);
    } else if (c->cmd == UE_CMD_CALL) {
        app->done = true; /* one call: the loop ends once it has */
        if (ue_agent_call(app->ag, c->target) != 0)
            app->rc = 1, stop(app);
    } else if (c->cmd == UE_CMD_LOAD) {
        if (!(app->load = ue_load_new(app->base, app->ag, c)) || ue_load_start(app->load) != 0)
            app->rc = 1, stop(app);
    } else {
        printf("READY mihua-ue sip=%s:%d impu=%s capable=%s rat=%s\n", c->sip_host, ue_agent_sip_port(app->ag), c->impu,
               c->capable ? "yes" : "no", c->rat);
        fflush(stdout);
        app->calls_left = c->count ? c->count : -1; /* -1: until SIGTERM */
        ue_agent_accept(app->ag, true);
    }
}

static void on_ringing(void *ud, const char *call_id, const char *from)
{
    (void)ud;
    printf("incoming call %s from %s: press Enter to answer\n", call_id, from);
    fflush(stdout);
}

static void on_call_end(void *ud, const ue_call_summary_t *s)
{
    app_t *app = ud;
    if (app->load) {
        ue_load_record(app->load, s);
        if (ue_load_done(app->load) && !app->done) {
            app->rc |= ue_load_report(app->load, stdout, app->c->summary);
            app->done = true;
        }
        return;
    }
    if (!app->c->quiet) {
        ue_report_print(s, stdout);
        if (app->c->ladder)
            ue_report_ladder(s, app->c, stdout);
        fflush(stdout);
    }
    if (app->c->summary && ue_report_json(s, app->c->summary) != 0)
        fprintf(stderr, "mihua-ue: cannot write %s\n", app->c->summary);
    app->rc |= !s->connected;
    /* an INVITE refused on arrival (no 183 or 180 sent: bad offer, bad Contact) is not a call taken */
    if (app->c->cmd == UE_CMD_ANSWER && s->t_early && app->calls_left > 0 && --app->calls_left == 0) {
        ue_agent_accept(app->ag, false);
        app->done = true; /* the agent reports idle once this call is gone */
    }
}

static void on_event(evutil_socket_t fd, short what, void *arg)
{
    app_t *app = arg;
    char line[256];
    if (what & EV_READ) { /* stdin: Enter answers; EOF stops watching */
        if (read(fd, line, sizeof line) <= 0)
            event_del(app->ev[2]);
        ue_agent_answer_ringing(app->ag);
    } else if (what & EV_SIGNAL) {
        struct timeval tv = {UE_STOP_GRACE_S, 0};
        ue_agent_accept(app->ag, false);
        ue_agent_hangup_all(app->ag);
        event_add(app->ev[3], &tv);
        stop(app);
    } else { /* the grace period is over */
        event_base_loopbreak(app->base);
    }
}

static int run(app_t *app, const ue_audio_t *audio)
{
    char err[256];
    ue_agent_events_t ev = {on_registered, on_ringing, on_call_end, on_idle, app};
    app->ev[0] = evsignal_new(app->base, SIGTERM, on_event, app);
    app->ev[1] = evsignal_new(app->base, SIGINT, on_event, app);
    app->ev[2] = event_new(app->base, STDIN_FILENO, EV_READ | EV_PERSIST, on_event, app);
    app->ev[3] = evtimer_new(app->base, on_event, app);
    if (!app->ev[0] || !app->ev[1] || !app->ev[2] || !app->ev[3] || event_add(app->ev[0], NULL) != 0 ||
        event_add(app->ev[1], NULL) != 0)
        return fprintf(stderr, "mihua-ue: cannot set up signals\n"), 1;
    if (app->c->cmd == UE_CMD_ANSWER && !app->c->auto_answer)
        event_add(app->ev[2], NULL);
    if (!(app->ag = ue_agent_new(app->base, app->c, audio, &ev, err, sizeof err)))
        return fprintf(stderr, "mihua-ue: %s\n", err), 1;
    if (ue_agent_register(app->ag) != 0)
        return fprintf(stderr, "mihua-ue: REGISTER could not be sent\n"), 1;
    event_base_dispatch(app->base);
    return app->rc;
}

int ue_run(struct event_base *base, const ue_conf_t *c, const ue_audio_t *audio)
{
    app_t app = {.base = base, .c = c};
    int rc = run(&app, audio);
    ue_agent_free(app.ag);
    ue_load_free(app.load);
    for (int i = 0; i < 4; i++)
        if (app.ev[i])
            event_free(app.ev[i]);
    return rc;
}
