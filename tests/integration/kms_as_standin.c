/*
 * kms_as_standin — a stand-in for the AS's call records (DESIGN §4 "GET /as/v1/calls/{callId}"), for the KMS
 * integration test and benchmark. A real HTTP/2 server (lib/sbi, h2c), so the KMS's AS client is exercised
 * exactly as against mihua-as.
 *
 *   --calls FILE        {"calls":[{"callId","caller","callee","encryptionAllowed","state"}, ...]}: each record is
 *                       served as it is (200); other callIds get 404 CALL_NOT_FOUND
 *   --any-call A,B      every callId not in the file is an allowed call from A to B (benchmark)
 *   --delay-ms N        answer after N ms (a slow AS: the KMS must time out and refuse)
 *   --listen ADDR:PORT  default 127.0.0.1:0; prints "READY kms-as-standin sbi=http://ADDR:PORT"
 * Counts the requests it served in its log at exit ("served N"), so a test can prove the KMS asked.
 * The --any-call answer is printed without jansson when nothing in it needs escaping (it shares the benchmark's
 * two cores with the KMS); everything else is rendered by jansson.
 */
#include <event2/event.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "sbi/sbi_server.h"
#include "sbi/sbi_url.h"

#define DELAY_MAX_MS 60000
#define PARTY_MAX 256
#define ANSWER_MAX 1024 /* an --any-call answer printed without jansson; longer ones go through jansson */

typedef struct {
    struct event_base *base;
    sbi_server_t *srv;
    json_t *calls; /* object callId -> record */
    char any_caller[PARTY_MAX], any_callee[PARTY_MAX];
    long delay_ms;
    unsigned long served;
    struct delayed *delayed; /* answers waiting for --delay-ms, freed at exit if still waiting */
} standin_t;

typedef struct delayed {
    standin_t *s;
    sbi_handle_t h;
    json_t *answer; /* NULL: 404 */
    struct event *timer;
    struct delayed *next;
} delayed_t;

static void delayed_free(delayed_t *d)
{
    delayed_t **pp = &d->s->delayed;
    while (*pp != d)
        pp = &(*pp)->next;
    *pp = d->next;
    json_decref(d->answer);
    event_free(d->timer);
    free(d);
}

static json_t *lookup(standin_t *s, const char *call_id)
{
    json_t *rec = json_object_get(s->calls, call_id);
    if (rec)
        return json_incref(rec);
    if (!s->any_caller[0])
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:b, s:s}", "callId", call_id, "caller", s->any_caller, "callee", s->any_callee,
                     "encryptionAllowed", 1, "state", "early");
}

static void answer(sbi_request_t *req, json_t *rec)
{
    if (rec)
        sbi_respond_json(req, 200, rec);
    else
        sbi_respond_error(req, 404, "CALL_NOT_FOUND", "no such call");
}

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    delayed_t *d = arg;
    sbi_request_t *req = sbi_server_find(d->s->srv, d->h);
    if (req)
        answer(req, d->answer);
    delayed_free(d);
}

/* Printable ASCII without '"' and '\\': JSON string content as it is. */
static bool plain(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 || (unsigned char)*v > 0x7e || *v == '"' || *v == '\\')
            return false;
    return true;
}

/* The --any-call answer printed directly (benchmark hot path: the same bytes as jansson's compact rendering of
 * lookup()'s record). Returns false when it needs jansson (a file record, escaping, no room). */
static bool answer_any_fast(standin_t *s, sbi_request_t *req, const char *call_id)
{
    char body[ANSWER_MAX];
    if (!s->any_caller[0] || json_object_get(s->calls, call_id) || !plain(call_id) || !plain(s->any_caller) ||
        !plain(s->any_callee))
        return false;
    int n = snprintf(body, sizeof body,
                     "{\"callId\":\"%s\",\"caller\":\"%s\",\"callee\":\"%s\",\"encryptionAllowed\":true,"
                     "\"state\":\"early\"}",
                     call_id, s->any_caller, s->any_callee);
    if (n < 0 || (size_t)n >= sizeof body)
        return false;
    sbi_respond(req, 200, SBI_CT_JSON, body, (size_t)n);
    return true;
}

static void on_call(sbi_request_t *req, void *ud)
{
    standin_t *s = ud;
    s->served++;
    const char *call_id = sbi_request_capture(req, "callId");
    if (s->delay_ms <= 0 && call_id && answer_any_fast(s, req, call_id))
        return;
    json_t *rec = lookup(s, call_id);
    delayed_t *d = s->delay_ms > 0 ? calloc(1, sizeof *d) : NULL;
    if (!d) {
        answer(req, rec);
        json_decref(rec);
        return;
    }
    *d = (delayed_t){.s = s, .h = sbi_request_handle(req), .answer = rec, .next = s->delayed};
    s->delayed = d;
    d->timer = evtimer_new(s->base, on_delay, d);
    struct timeval tv = {s->delay_ms / 1000, (s->delay_ms % 1000) * 1000};
    evtimer_add(d->timer, &tv);
}

static int load_calls(standin_t *s, const char *path)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    json_t *arr = json_object_get(root, "calls");
    if (!json_is_array(arr)) {
        fprintf(stderr, "kms-as-standin: %s:%d:%d: need {\"calls\":[...]} (%s)\n", path, err.line, err.column,
                err.text);
        json_decref(root);
        return -1;
    }
    size_t i;
    json_t *rec;
    json_array_foreach(arr, i, rec)
    {
        const char *id = json_string_value(json_object_get(rec, "callId"));
        if (id)
            json_object_set(s->calls, id, rec);
    }
    json_decref(root);
    return 0;
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(((standin_t *)arg)->base);
}

static int parse_args(standin_t *s, int argc, char **argv, char *host, uint16_t *port)
{
    static const struct option opts[] = {{"calls", required_argument, NULL, 'f'},
                                         {"any-call", required_argument, NULL, 'a'},
                                         {"delay-ms", required_argument, NULL, 'd'},
                                         {"listen", required_argument, NULL, 'l'},
                                         {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        const char *comma = opt == 'a' ? strchr(optarg, ',') : NULL;
        if (opt == 'f' && load_calls(s, optarg) != 0)
            return -1;
        if (opt == 'a' && (!comma || comma - optarg >= PARTY_MAX || strlen(comma + 1) >= PARTY_MAX))
            return -1;
        if (opt == 'a') {
            snprintf(s->any_caller, sizeof s->any_caller, "%.*s", (int)(comma - optarg), optarg);
            snprintf(s->any_callee, sizeof s->any_callee, "%s", comma + 1);
        }
        if (opt == 'd' && ((s->delay_ms = strtol(optarg, NULL, 10)) < 0 || s->delay_ms > DELAY_MAX_MS))
            return -1;
        if (opt == 'l' && sbi_hostport_parse(optarg, host, SBI_HOST_MAX, port) != 0)
            return -1;
        if (opt == '?')
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    standin_t s = {.calls = json_object()};
    char host[SBI_HOST_MAX] = "127.0.0.1";
    uint16_t port = 0;
    signal(SIGPIPE, SIG_IGN);
    if (parse_args(&s, argc, argv, host, &port) != 0) {
        fprintf(stderr, "usage: kms-as-standin [--calls FILE] [--any-call CALLER,CALLEE] [--delay-ms N] "
                        "[--listen ADDR:PORT]\n");
        json_decref(s.calls);
        return 2;
    }
    s.base = event_base_new();
    sbi_server_config_t sc = {.name = "as-standin"};
    s.srv = sbi_server_new(s.base, &sc);
    struct event *term = evsignal_new(s.base, SIGTERM, on_term, &s);
    int rc = 1;
    if (s.srv && term && !event_add(term, NULL) &&
        !sbi_server_route(s.srv, "GET", "/as/v1/calls/{callId}", on_call, &s) &&
        !sbi_server_listen(s.srv, host, port)) {
        printf("READY kms-as-standin sbi=http://%s:%u\n", host, sbi_server_port(s.srv));
        fflush(stdout);
        rc = event_base_dispatch(s.base) < 0 ? 1 : 0;
    }
    log_info("as-standin", "served %lu", s.served);
    while (s.delayed)
        delayed_free(s.delayed);
    sbi_server_free(s.srv);
    if (term)
        event_free(term);
    event_base_free(s.base);
    json_decref(s.calls);
    return rc;
}
