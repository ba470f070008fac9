/*
 * sim_capture — the capture routes of the admin API (see sim_capture.h). Runs on the admin server's event loop;
 * the TLS key-log callback runs on the SBI server's loop, the same loop in mihua-udm, so no lock is needed.
 */
#include "sim/sim_capture.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/iso_time.h"
#include "core/log.h"
#include "sim/dumpcap.h"

#define CAPTURES_BASE "/admin/v1/captures"
#define CAUSE_RUNNING "CAPTURE_RUNNING"
#define CAUSE_UNAVAILABLE "CAPTURE_UNAVAILABLE"
#define PCAP_MEDIA_TYPE "application/vnd.tcpdump.pcap"

typedef struct {
    uint64_t id;
    dumpcap_t *dc; /* NULL once stopped */
    char file[DUMPCAP_PATH_MAX];
    char keys[DUMPCAP_PATH_MAX]; /* "" without TLS */
    int ports[DUMPCAP_MAX_PORTS];
    size_t n_ports;
    uint64_t max_bytes;
    unsigned max_seconds;
    char started[32], stopped[32];
    const char *stop_reason; /* "request", "limit", "exit" */
    const char *secrets;     /* TLS only: "embedded", "none" (no handshake during the capture), "failed" */
} capture_t;

struct sim_capture {
    char program[64];
    char host[256];
    bool any_address;
    int diameter_port;
    const sbi_server_t *sbi;
    SSL_CTX *tls;
    int ex_index;
    void (*prev_keylog)(const SSL *, const char *);
    char dir[DUMPCAP_PATH_MAX - 64]; /* "" until the first capture; room left for the file names */
    capture_t caps[SIM_CAPTURE_KEEP];
    size_t n;
    uint64_t next_id;
};

/* The running capture, if any: the last one, while it has its dumpcap. */
static capture_t *running(sim_capture_t *c)
{
    return c->n > 0 && c->caps[c->n - 1].dc != NULL ? &c->caps[c->n - 1] : NULL;
}

/* ------------------------------------------------------------------------------------------ TLS secrets */

/* OpenSSL's key-log callback has no user pointer: the context's app data names this object (claimed only when
 * free). Secrets are appended to the running capture's key file, and passed on to the callback set before. */
static void on_keylog(const SSL *ssl, const char *line)
{
    sim_capture_t *c = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    capture_t *cap = c != NULL ? running(c) : NULL;

    if (c != NULL && c->prev_keylog != NULL)
        c->prev_keylog(ssl, line);
    if (cap == NULL || cap->keys[0] == '\0')
        return;
    int fd = open(cap->keys, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600); /* secrets: the owner only */
    if (fd < 0)
        return;
    if (write(fd, line, strlen(line)) < 0 || write(fd, "\n", 1) < 0) {
        /* a lost line costs the decryption of one session, nothing more */
    }
    close(fd);
}

static void keylog_attach(sim_capture_t *c)
{
    if (c->tls == NULL || SSL_CTX_get_app_data(c->tls) != NULL)
        return;
    SSL_CTX_set_app_data(c->tls, c);
    c->prev_keylog = SSL_CTX_get_keylog_callback(c->tls);
    SSL_CTX_set_keylog_callback(c->tls, on_keylog);
}

static void keylog_detach(sim_capture_t *c)
{
    if (c->tls == NULL || SSL_CTX_get_app_data(c->tls) != c)
        return;
    SSL_CTX_set_keylog_callback(c->tls, c->prev_keylog);
    SSL_CTX_set_app_data(c->tls, NULL);
}

/* ------------------------------------------------------------------------------------------ captures */

static void now_text(char *buf, size_t size)
{
    iso_time_format(time(NULL), buf, size);
}

/* Ends the capture's dumpcap (if still running), embeds the TLS secrets. */
static void finish(sim_capture_t *c, capture_t *cap, const char *reason)
{
    if (cap->dc == NULL)
        return;
    cap->stop_reason = dumpcap_running(cap->dc) ? reason : "limit";
    dumpcap_stop(cap->dc);
    cap->dc = NULL;
    keylog_detach(c);
    now_text(cap->stopped, sizeof cap->stopped);
    if (cap->keys[0] != '\0') {
        int rc = dumpcap_inject_secrets(cap->file, cap->keys);
        cap->secrets = rc == 0 ? "embedded" : rc > 0 ? "none" : "failed";
        if (rc == 0)
            unlink(cap->keys); /* the secrets are in the pcapng now */
    }
    log_info("admin", "capture %llu stopped (%s): %s", (unsigned long long)cap->id, cap->stop_reason, cap->file);
}

/* Notices a dumpcap that stopped at a bound. */
static void reap(sim_capture_t *c)
{
    capture_t *cap = running(c);
    if (cap != NULL && !dumpcap_running(cap->dc))
        finish(c, cap, "limit");
}

static json_t *capture_json(const capture_t *cap)
{
    struct stat st;
    json_t *ports = json_array();
    json_t *o = json_pack(
        "{s:I,s:s,s:s,s:I,s:I,s:I,s:s}", "id", (json_int_t)cap->id, "state", cap->dc != NULL ? "capturing" : "stopped",
        "file", cap->file, "bytes", (json_int_t)(stat(cap->file, &st) == 0 ? st.st_size : 0), "maxBytes",
        (json_int_t)cap->max_bytes, "maxSeconds", (json_int_t)cap->max_seconds, "startedAt", cap->started);
    long packets = dumpcap_count_packets(cap->file);

    if (o == NULL || ports == NULL) {
        json_decref(o);
        json_decref(ports);
        return NULL;
    }
    for (size_t i = 0; i < cap->n_ports; i++)
        json_array_append_new(ports, json_integer(cap->ports[i]));
    json_object_set_new(o, "ports", ports);
    json_object_set_new(o, "packets", json_integer(packets > 0 ? packets : 0));
    if (cap->dc == NULL) {
        json_object_set_new(o, "stoppedAt", json_string(cap->stopped));
        json_object_set_new(o, "stopReason", json_string(cap->stop_reason));
    }
    if (cap->secrets != NULL)
        json_object_set_new(o, "tlsSecrets", json_string(cap->secrets));
    return o;
}

static void respond_capture(sbi_request_t *req, int status, const capture_t *cap, const char *location)
{
    json_t *o = capture_json(cap);
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    sbi_header_t h[] = {{"content-type", SBI_CT_JSON}, {"location", location}};

    if (text == NULL)
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "out of memory");
    else
        sbi_respond_ex(req, status, h, location != NULL ? 2 : 1, text, strlen(text));
    free(text);
    json_decref(o);
}

/* Reads a bound from the body: 0 absent, 1 set, -1 answered 400. */
static int body_bound(sbi_request_t *req, const json_t *body, const char *name, uint64_t max, uint64_t *out)
{
    const json_t *v = body != NULL ? json_object_get(body, name) : NULL;
    char reason[96];

    if (v == NULL)
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 1 && (uint64_t)json_integer_value(v) <= max) {
        *out = (uint64_t)json_integer_value(v);
        return 1;
    }
    snprintf(reason, sizeof reason, "an integer from 1 to %llu", (unsigned long long)max);
    sbi_invalid_param_t inv = {.param = name, .reason = reason};
    sbi_problem_t p = {.status = 400,
                       .detail = reason,
                       .cause = SBI_CAUSE_MANDATORY_IE_INCORRECT,
                       .invalid_params = &inv,
                       .n_invalid_params = 1};
    sbi_respond_problem(req, &p);
    return -1;
}

static int parse_bounds(sbi_request_t *req, capture_t *cap)
{
    const json_t *body = sbi_request_json(req);
    const char *key;
    json_t *v;
    uint64_t secs = SIM_CAPTURE_DEFAULT_SECONDS;

    cap->max_bytes = SIM_CAPTURE_DEFAULT_BYTES;
    if (body != NULL && !json_is_object(body)) {
        sbi_respond_error(req, 400, SBI_CAUSE_INVALID_MSG_FORMAT, "the body must be a JSON object");
        return -1;
    }
    json_object_foreach((json_t *)body, key, v)
    {
        if (strcmp(key, "maxBytes") != 0 && strcmp(key, "maxSeconds") != 0) {
            sbi_invalid_param_t inv = {.param = key, .reason = "unknown member"};
            sbi_problem_t p = {.status = 400,
                               .detail = "maxBytes and maxSeconds only",
                               .cause = SBI_CAUSE_MANDATORY_IE_INCORRECT,
                               .invalid_params = &inv,
                               .n_invalid_params = 1};
            sbi_respond_problem(req, &p);
            return -1;
        }
    }
    if (body_bound(req, body, "maxBytes", SIM_CAPTURE_MAX_BYTES, &cap->max_bytes) < 0 ||
        body_bound(req, body, "maxSeconds", SIM_CAPTURE_MAX_SECONDS, &secs) < 0)
        return -1;
    cap->max_seconds = (unsigned)secs;
    return 0;
}

static size_t own_ports(const sim_capture_t *c, int *ports)
{
    size_t n = 0;
    if (c->diameter_port > 0)
        ports[n++] = c->diameter_port;
    if (c->sbi != NULL && sbi_server_port(c->sbi) > 0)
        ports[n++] = sbi_server_port(c->sbi);
    return n;
}

/* Room for one more: the oldest stopped capture and its files go. */
static void make_room(sim_capture_t *c)
{
    if (c->n < SIM_CAPTURE_KEEP)
        return;
    unlink(c->caps[0].file);
    if (c->caps[0].keys[0] != '\0')
        unlink(c->caps[0].keys);
    memmove(&c->caps[0], &c->caps[1], (c->n - 1) * sizeof c->caps[0]);
    c->n--;
}

static int ensure_dir(sim_capture_t *c)
{
    const char *tmp = getenv("TMPDIR");

    if (c->dir[0] != '\0')
        return 0;
    snprintf(c->dir, sizeof c->dir, "%s/%s-captures-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp", c->program);
    if (mkdtemp(c->dir) == NULL) {
        c->dir[0] = '\0';
        return -1;
    }
    return 0;
}

static void on_start(sbi_request_t *req, void *ud)
{
    sim_capture_t *c = ud;
    capture_t cap = {0};
    char err[320], prog[DUMPCAP_PATH_MAX], location[64];

    reap(c);
    if (running(c) != NULL) {
        sbi_respond_error(req, 409, CAUSE_RUNNING, "capture %llu is running; DELETE it first",
                          (unsigned long long)running(c)->id);
        return;
    }
    if (!dumpcap_find_program("dumpcap", prog, sizeof prog)) {
        sbi_respond_error(req, 409, CAUSE_UNAVAILABLE, "dumpcap is not installed (package wireshark-common)");
        return;
    }
    if (parse_bounds(req, &cap) != 0)
        return;
    if ((cap.n_ports = own_ports(c, cap.ports)) == 0 || ensure_dir(c) != 0) {
        sbi_respond_error(req, 503, SBI_CAUSE_SYSTEM_FAILURE, "no port to capture or no temporary directory");
        return;
    }
    cap.id = ++c->next_id;
    snprintf(cap.file, sizeof cap.file, "%s/capture-%llu.pcapng", c->dir, (unsigned long long)cap.id);
    if (c->tls != NULL)
        snprintf(cap.keys, sizeof cap.keys, "%s/capture-%llu.keys", c->dir, (unsigned long long)cap.id);
    dumpcap_conf_t dc = {.file = cap.file,
                         .iface = dumpcap_iface_for(c->any_address ? NULL : c->host),
                         .ports = cap.ports,
                         .n_ports = cap.n_ports,
                         .max_bytes = cap.max_bytes,
                         .max_seconds = cap.max_seconds};
    if ((cap.dc = dumpcap_start(&dc, err, sizeof err)) == NULL) {
        log_warn("admin", "capture: %s", err);
        sbi_respond_error(req, 503, SBI_CAUSE_SYSTEM_FAILURE, "%s", err);
        return;
    }
    now_text(cap.started, sizeof cap.started);
    make_room(c);
    c->caps[c->n++] = cap;
    keylog_attach(c);
    log_info("admin", "capture %llu started on %s: %s", (unsigned long long)cap.id, dc.iface, cap.file);
    snprintf(location, sizeof location, CAPTURES_BASE "/%llu", (unsigned long long)cap.id);
    respond_capture(req, 201, &c->caps[c->n - 1], location);
}

static void on_list(sbi_request_t *req, void *ud)
{
    sim_capture_t *c = ud;
    json_t *arr = json_array(), *out = json_object();

    reap(c);
    for (size_t i = 0; arr != NULL && i < c->n; i++)
        json_array_append_new(arr, capture_json(&c->caps[i]));
    if (arr == NULL || out == NULL) {
        json_decref(arr);
        json_decref(out);
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "out of memory");
        return;
    }
    json_object_set_new(out, "captures", arr);
    sbi_respond_json(req, 200, out);
    json_decref(out);
}

/* The capture the {id} names, or NULL after a 400/404 answer. */
static capture_t *find(sim_capture_t *c, sbi_request_t *req)
{
    const char *id = sbi_request_capture(req, "id");
    char *end;
    unsigned long long v = id != NULL ? strtoull(id, &end, 10) : 0;

    reap(c);
    if (id == NULL || *id < '0' || *id > '9' || *end != '\0' || v == ULLONG_MAX) {
        sbi_respond_error(req, 400, SBI_CAUSE_INVALID_QUERY_PARAM, "a capture id is a positive integer");
        return NULL;
    }
    for (size_t i = 0; i < c->n; i++)
        if (c->caps[i].id == v)
            return &c->caps[i];
    sbi_respond_error(req, 404, SBI_CAUSE_RESOURCE_URI_STRUCTURE_NOT_FOUND, "no capture %.32s (kept: the last %d)", id,
                      SIM_CAPTURE_KEEP);
    return NULL;
}

static void on_get(sbi_request_t *req, void *ud)
{
    capture_t *cap = find(ud, req);
    if (cap != NULL)
        respond_capture(req, 200, cap, NULL);
}

static void on_stop(sbi_request_t *req, void *ud)
{
    capture_t *cap = find(ud, req);
    if (cap == NULL)
        return;
    finish(ud, cap, "request");
    respond_capture(req, 200, cap, NULL);
}

static void on_file(sbi_request_t *req, void *ud)
{
    capture_t *cap = find(ud, req);
    char disposition[96];

    if (cap == NULL)
        return;
    if (cap->dc != NULL) {
        sbi_respond_error(req, 409, CAUSE_RUNNING, "capture %llu is running; DELETE it to finalize the file",
                          (unsigned long long)cap->id);
        return;
    }
    FILE *f = fopen(cap->file, "rb");
    struct stat st;
    char *buf = NULL;
    if (f != NULL && fstat(fileno(f), &st) == 0 && (uint64_t)st.st_size <= 2 * SIM_CAPTURE_MAX_BYTES &&
        (buf = malloc((size_t)st.st_size + 1)) != NULL && fread(buf, 1, (size_t)st.st_size, f) == (size_t)st.st_size) {
        snprintf(disposition, sizeof disposition, "attachment; filename=\"capture-%llu.pcapng\"",
                 (unsigned long long)cap->id);
        sbi_header_t h[] = {{"content-type", PCAP_MEDIA_TYPE}, {"content-disposition", disposition}};
        sbi_respond_ex(req, 200, h, 2, buf, (size_t)st.st_size);
    } else {
        sbi_respond_error(req, 500, SBI_CAUSE_SYSTEM_FAILURE, "the capture file cannot be read");
    }
    free(buf);
    if (f != NULL)
        fclose(f);
}

sim_capture_t *sim_capture_new(sbi_server_t *admin, const sim_capture_conf_t *conf)
{
    sim_capture_t *c = calloc(1, sizeof *c);

    if (c == NULL)
        return NULL;
    snprintf(c->program, sizeof c->program, "%s", conf->program);
    snprintf(c->host, sizeof c->host, "%s", conf->host != NULL ? conf->host : "");
    c->any_address = conf->host == NULL;
    c->diameter_port = conf->diameter_port;
    c->sbi = conf->sbi;
    c->tls = conf->tls;
    if (sbi_server_route(admin, "POST", CAPTURES_BASE, on_start, c) != 0 ||
        sbi_server_route(admin, "GET", CAPTURES_BASE, on_list, c) != 0 ||
        sbi_server_route(admin, "GET", CAPTURES_BASE "/{id}", on_get, c) != 0 ||
        sbi_server_route(admin, "DELETE", CAPTURES_BASE "/{id}", on_stop, c) != 0 ||
        sbi_server_route(admin, "GET", CAPTURES_BASE "/{id}/file", on_file, c) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void sim_capture_free(sim_capture_t *c)
{
    if (c == NULL)
        return;
    if (running(c) != NULL)
        finish(c, running(c), "exit");
    for (size_t i = 0; i < c->n; i++) {
        unlink(c->caps[i].file);
        if (c->caps[i].keys[0] != '\0')
            unlink(c->caps[i].keys);
    }
    if (c->dir[0] != '\0')
        rmdir(c->dir);
    free(c);
}
