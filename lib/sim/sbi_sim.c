/*
 * sbi_sim — journal and faults for an SBI server (see sbi_sim.h).
 *
 * The fault that shaped an answer is known when the answer is sent because both happen on the loop: the hook
 * sets `current_fault` around the call that answers (the fault's own answer, the delayed handler, the reset), and
 * on_answer reads it. A delayed request is named by its handle, so a client that reset the stream or closed the
 * connection meanwhile is noticed (sbi_server_find gives NULL) and only the journal entry of the delay remains.
 */
#include "sim/sbi_sim.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define SIM_FAULT_TEXT 64

typedef struct delayed {
    struct delayed *prev, *next;
    struct sbi_sim *sim;
    struct event *timer;
    sbi_handle_t handle;
    unsigned delay_ms;
    char fault[SIM_FAULT_TEXT];
} delayed_t;

struct sbi_sim {
    sbi_server_t *srv;
    journal_t *journal;
    fault_table_t *faults;
    sub_store_t *store;
    sbi_observer_t observer;
    const char *current_fault; /* set while a fault answers */
    delayed_t *delayed;        /* requests waiting for their delay */
};

static const char *request_identity(const sbi_request_t *req)
{
    const char *id = sbi_request_capture(req, "ueId");
    return id != NULL ? id : sbi_request_capture(req, "supi");
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;

    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static const char *header_value(const sbi_header_t *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(h[i].name, name) == 0)
            return h[i].value;
    return NULL;
}

static void on_answer(sbi_request_t *req, int status, const sbi_header_t *headers, size_t n_headers, const void *body,
                      size_t len, void *ud)
{
    sbi_sim_t *s = ud;
    char digest[65];
    json_t *detail = json_object();
    const char *ct = header_value(headers, n_headers, "content-type");

    sha256_hex(body != NULL ? body : "", len, digest);
    if (detail != NULL) {
        json_object_set_new(detail, "bodySha256", json_string(digest));
        json_object_set_new(detail, "bodyLength", json_integer((json_int_t)len));
        if (ct != NULL)
            json_object_set_new(detail, "contentType", json_string(ct));
        if (sbi_request_query(req) != NULL)
            json_object_set_new(detail, "query", json_string(sbi_request_query(req)));
        if (status == 0)
            json_object_set_new(detail, "reset", json_true());
    }
    journal_record_t rec = {.protocol = "sbi",
                            .peer = sbi_request_peer(req),
                            .identity = request_identity(req),
                            .command = sbi_request_method(req),
                            .path = sbi_request_path(req),
                            .result = status,
                            .latency_ms = sbi_request_elapsed_ms(req),
                            .fault = s->current_fault,
                            .detail = detail};
    journal_add(s->journal, &rec);
}

static void answer_fault(sbi_request_t *req, const fault_t *f)
{
    sbi_problem_t p = {.status = f->status,
                       .cause = f->cause[0] ? f->cause : NULL,
                       .detail = "answer injected by the simulator's fault rule"};
    size_t len = 0;
    char *text = sbi_problem_render(&p, &len);
    char retry[16];
    sbi_header_t h[2] = {{"content-type", f->content_type}, {"retry-after", retry}};

    snprintf(retry, sizeof retry, "%u", f->retry_after_s);
    if (text == NULL || sbi_respond_ex(req, f->status, h, f->retry_after_s ? 2 : 1, text, len) != 0)
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "fault answer could not be built");
    free(text);
}

static void delayed_unlink(delayed_t *d)
{
    sbi_sim_t *s = d->sim;
    if (d->prev)
        d->prev->next = d->next;
    else
        s->delayed = d->next;
    if (d->next)
        d->next->prev = d->prev;
    event_free(d->timer);
    free(d);
}

static void delayed_cb(evutil_socket_t fd, short what, void *arg)
{
    delayed_t *d = arg;
    sbi_sim_t *s = d->sim;
    sbi_request_t *req = sbi_server_find(s->srv, d->handle);

    (void)fd;
    (void)what;
    /* libevent's timers run on the coarse monotonic clock (a few ms of grain): a delay fault promises at least
     * its delay, measured from the request's first header on the precise clock, so an early timer waits again */
    double left = req ? (double)d->delay_ms - sbi_request_elapsed_ms(req) : 0;
    if (left > 0) {
        long us = (long)(left * 1000) + 1000;
        struct timeval tv = {us / 1000000, (suseconds_t)(us % 1000000)};
        evtimer_add(d->timer, &tv);
        return;
    }
    if (req != NULL) {
        s->current_fault = d->fault;
        sbi_request_run(req);
        s->current_fault = NULL;
    }
    delayed_unlink(d);
}

/* True when the request was taken; false (run the handler now) when it could not be delayed. */
static bool delay(sbi_sim_t *s, sbi_request_t *req, const fault_t *f)
{
    delayed_t *d = calloc(1, sizeof *d);
    struct timeval tv = {.tv_sec = f->delay_ms / 1000, .tv_usec = (f->delay_ms % 1000) * 1000};

    if (d == NULL || (d->timer = evtimer_new(sbi_server_base(s->srv), delayed_cb, d)) == NULL) {
        free(d);
        return false;
    }
    d->sim = s;
    d->handle = sbi_request_handle(req);
    d->delay_ms = (unsigned)f->delay_ms;
    fault_describe(f, d->fault, sizeof d->fault);
    d->next = s->delayed;
    if (s->delayed)
        s->delayed->prev = d;
    s->delayed = d;
    evtimer_add(d->timer, &tv);
    return true;
}

/* The request's identities as a fault rule may name them: the ueId, the bare IMSI, the subscriber's IMSI. */
static size_t identities(sbi_sim_t *s, const char *ue, const char **ids, char *imsi, size_t imsi_size)
{
    size_t n = 0;

    if (ue == NULL)
        return 0;
    ids[n++] = ue;
    if (strncmp(ue, "imsi-", 5) == 0) {
        ids[n++] = ue + 5;
    } else if (s->store != NULL) {
        sub_snapshot_t *snap = sub_store_acquire(s->store);
        const subscriber_t *sub = sub_find_by_identity(snap, ue);
        if (sub != NULL) {
            snprintf(imsi, imsi_size, "%s", sub->imsi);
            ids[n++] = imsi;
        }
        sub_snapshot_release(snap);
    }
    return n;
}

static bool before_handler(sbi_request_t *req, void *ud)
{
    sbi_sim_t *s = ud;
    const char *ids[3];
    char imsi[SUB_IMSI_MAX + 1], what[SIM_FAULT_TEXT];
    fault_t f;
    size_t n = identities(s, request_identity(req), ids, imsi, sizeof imsi);

    if (!fault_take(s->faults, FAULT_PROTO_SBI, ids, n, sbi_request_path(req), &f))
        return false;
    log_info("udm", "fault %llu: %s on %s %s", (unsigned long long)f.id, fault_describe(&f, what, sizeof what),
             sbi_request_method(req), sbi_request_path(req));
    if (f.action == FAULT_DELAY)
        return delay(s, req, &f);
    s->current_fault = what;
    if (f.action == FAULT_RESET)
        sbi_request_reset(req);
    else
        answer_fault(req, &f);
    s->current_fault = NULL;
    return true;
}

sbi_sim_t *sbi_sim_new(sbi_server_t *srv, journal_t *journal, fault_table_t *faults, sub_store_t *store)
{
    sbi_sim_t *s = calloc(1, sizeof *s);

    if (s == NULL)
        return NULL;
    s->srv = srv;
    s->journal = journal;
    s->faults = faults;
    s->store = store;
    s->observer = (sbi_observer_t){.before_handler = before_handler, .on_answer = on_answer, .ud = s};
    sbi_server_set_observer(srv, &s->observer);
    return s;
}

void sbi_sim_free(sbi_sim_t *s)
{
    if (s == NULL)
        return;
    while (s->delayed != NULL)
        delayed_unlink(s->delayed);
    free(s);
}
