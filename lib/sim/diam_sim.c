/*
 * diam_sim — journal hooks and faults for a freeDiameter simulator (see diam_sim.h).
 *
 * Threads: the hooks run on freeDiameter's receiving and sending threads, the faults on its dispatch threads, the
 * delayed answers on one timer thread of ours. Shared state is the arrival table (`pend`, one mutex), the delay
 * queue (another mutex and a condition variable on CLOCK_MONOTONIC) and the journal (its own lock). The arrival
 * table is a fixed array indexed by hop-by-hop id: a collision or a request that never got an answer costs only
 * that entry's latency (reported as 0), never memory.
 */
#include "sim/diam_sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/log.h"
#include "diameter/sh_msg.h"

#define PEND_SLOTS 4096 /* requests in flight at once whose latency is measured exactly */
#define FAULT_DESC_MAX 48
#define AVP_DEPTH_MAX 4    /* nesting decoded; Sh's deepest grouped AVP is two levels down */
#define AVP_VALUE_MAX 4096 /* an OctetString longer than this is shown by its length (Sh-Data is far smaller) */
#define CMD_CER 257
#define CMD_DWR 280
#define CMD_DPR 282
#define AVP_RESULT_CODE 268
#define AVP_EXPERIMENTAL_RESULT 297
#define AVP_EXPERIMENTAL_RESULT_CODE 298

typedef struct {
    uint32_t hbh, e2e;
    bool used;
    struct timespec t0;
    char fault[FAULT_DESC_MAX];
} pend_t;

typedef struct {
    int64_t due_us; /* CLOCK_MONOTONIC */
    struct msg *ans;
} delayed_t;

struct diam_sim {
    const sh_dict_t *dict;
    journal_t *journal;
    fault_table_t *faults;
    int port;
    struct fd_hook_hdl *hook;

    pthread_mutex_t pend_lock;
    pend_t pend[PEND_SLOTS];

    pthread_mutex_t dl_lock;
    pthread_cond_t dl_cond;
    pthread_t dl_thread;
    bool dl_running, dl_stop;
    delayed_t dl[DIAM_SIM_MAX_DELAYED];
    size_t n_dl;
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ------------------------------------------------------------------------------------------ arrival table */

static pend_t *pend_slot(diam_sim_t *s, const struct msg_hdr *h)
{
    return &s->pend[(h->msg_hbhid ^ h->msg_eteid) % PEND_SLOTS];
}

static void pend_note(diam_sim_t *s, const struct msg_hdr *h)
{
    pthread_mutex_lock(&s->pend_lock);
    pend_t *p = pend_slot(s, h);
    *p = (pend_t){.hbh = h->msg_hbhid, .e2e = h->msg_eteid, .used = true};
    clock_gettime(CLOCK_MONOTONIC, &p->t0);
    pthread_mutex_unlock(&s->pend_lock);
}

static void pend_set_fault(diam_sim_t *s, struct msg *m, const char *fault)
{
    struct msg_hdr *h = NULL;
    if (fd_msg_hdr(m, &h) != 0)
        return;
    pthread_mutex_lock(&s->pend_lock);
    pend_t *p = pend_slot(s, h);
    if (p->used && p->hbh == h->msg_hbhid && p->e2e == h->msg_eteid)
        snprintf(p->fault, sizeof p->fault, "%s", fault);
    pthread_mutex_unlock(&s->pend_lock);
}

/* Takes the request's arrival out of the table: its latency in ms (0 when unknown) and its fault. */
static double pend_take(diam_sim_t *s, const struct msg_hdr *h, char *fault, size_t size)
{
    struct timespec now;
    double ms = 0;

    clock_gettime(CLOCK_MONOTONIC, &now);
    fault[0] = '\0';
    pthread_mutex_lock(&s->pend_lock);
    pend_t *p = pend_slot(s, h);
    if (p->used && p->hbh == h->msg_hbhid && p->e2e == h->msg_eteid) {
        ms = (double)(now.tv_sec - p->t0.tv_sec) * 1e3 + (double)(now.tv_nsec - p->t0.tv_nsec) / 1e6;
        snprintf(fault, size, "%s", p->fault);
        p->used = false;
    }
    pthread_mutex_unlock(&s->pend_lock);
    return ms;
}

/* ------------------------------------------------------------------------------------------ decoding */

typedef struct {
    char identity[160];
    int result;
    bool experimental;
} decoded_t;

static const char *command_short_name(uint32_t code)
{
    static const struct {
        uint32_t code;
        const char *name;
    } names[] = {{300, "UAR"}, {301, "SAR"}, {302, "LIR"}, {303, "MAR"}, {304, "RTR"}, {305, "PPR"},
                 {306, "UDR"}, {307, "PUR"}, {308, "SNR"}, {309, "PNR"}, {316, "ULR"}, {318, "AIR"},
                 {272, "CCR"}, {265, "AAR"}, {258, "RAR"}, {274, "ASR"}, {275, "STR"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].code == code)
            return names[i].name;
    return NULL;
}

static bool printable(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\r' && p[i] != '\t') || p[i] == 0x7f)
            return false;
    return true;
}

static json_t *octets_json(const char *name, const uint8_t *p, size_t n)
{
    char digits[64];

    if (strcmp(name, "MSISDN") == 0 && sh_tbcd_to_msisdn(p, n, digits, sizeof digits) == 0)
        return json_string(digits);
    if (n > AVP_VALUE_MAX)
        return json_pack("{s:I}", "length", (json_int_t)n);
    if (printable(p, n)) {
        json_t *v = json_stringn((const char *)p, n);
        if (v != NULL)
            return v;
    }
    char *hex = malloc(2 * n + 1);
    for (size_t i = 0; hex != NULL && i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", p[i]);
    json_t *v = hex != NULL ? json_pack("{s:s}", "hex", n ? hex : "") : NULL;
    free(hex);
    return v;
}

static json_t *value_json(const char *name, enum dict_avp_basetype type, const union avp_value *v)
{
    switch (type) {
    case AVP_TYPE_OCTETSTRING:
        return octets_json(name, v->os.data, v->os.len);
    case AVP_TYPE_INTEGER32:
        return json_integer(v->i32);
    case AVP_TYPE_INTEGER64:
        return json_integer(v->i64);
    case AVP_TYPE_UNSIGNED32:
        return json_integer(v->u32);
    case AVP_TYPE_UNSIGNED64:
        return json_integer((json_int_t)v->u64);
    case AVP_TYPE_FLOAT32:
        return json_real(v->f32);
    case AVP_TYPE_FLOAT64:
        return json_real(v->f64);
    default:
        return json_null();
    }
}

static void note_identity(decoded_t *d, const char *name, const json_t *v)
{
    const char *s = json_string_value(v);

    if (s == NULL || d->identity[0] != '\0')
        return;
    if (strcmp(name, "Public-Identity") == 0 || strcmp(name, "MSISDN") == 0 || strcmp(name, "User-Name") == 0)
        snprintf(d->identity, sizeof d->identity, "%s", s);
}

static void note_result(decoded_t *d, const struct avp_hdr *h, int depth, uint32_t parent)
{
    if (h->avp_value == NULL || h->avp_vendor != 0)
        return;
    if (depth == 0 && h->avp_code == AVP_RESULT_CODE)
        d->result = (int)h->avp_value->u32;
    if (depth == 1 && parent == AVP_EXPERIMENTAL_RESULT && h->avp_code == AVP_EXPERIMENTAL_RESULT_CODE) {
        d->result = (int)h->avp_value->u32;
        d->experimental = true;
    }
}

/* The AVPs under `parent` (a message or a grouped AVP) as [{"name","code","value"|"avps"}...]. */
static json_t *avps_json(msg_or_avp *parent, int depth, uint32_t parent_code, decoded_t *d)
{
    json_t *list = json_array();
    struct avp *avp = NULL;

    if (list == NULL || fd_msg_browse(parent, MSG_BRW_FIRST_CHILD, &avp, NULL) != 0)
        return list;
    for (; avp != NULL; fd_msg_browse(avp, MSG_BRW_NEXT, &avp, NULL)) {
        struct avp_hdr *h = NULL;
        struct dict_object *model = NULL;
        struct dict_avp_data data = {0};
        if (fd_msg_avp_hdr(avp, &h) != 0)
            break;
        json_t *o = json_pack("{s:I}", "code", (json_int_t)h->avp_code);
        if (o == NULL)
            break;
        if (h->avp_vendor != 0)
            json_object_set_new(o, "vendor", json_integer(h->avp_vendor));
        if (fd_msg_model(avp, &model) == 0 && model != NULL && fd_dict_getval(model, &data) == 0) {
            json_object_set_new(o, "name", json_string(data.avp_name));
            if (data.avp_basetype == AVP_TYPE_GROUPED && depth < AVP_DEPTH_MAX) {
                json_object_set_new(o, "avps", avps_json(avp, depth + 1, h->avp_code, d));
            } else if (h->avp_value != NULL) {
                json_t *v = value_json(data.avp_name, data.avp_basetype, h->avp_value);
                note_identity(d, data.avp_name, v);
                json_object_set_new(o, "value", v);
            }
        }
        note_result(d, h, depth, parent_code);
        json_array_append_new(list, o);
    }
    return list;
}

/* ------------------------------------------------------------------------------------------ journal */

static const char *source_of(struct msg *req, char *buf, size_t size)
{
    DiamId_t id = NULL;
    size_t len = 0;

    if (fd_msg_source_get(req, &id, &len) != 0 || id == NULL)
        return NULL;
    snprintf(buf, size, "%.*s", (int)len, (const char *)id);
    return buf;
}

static void journal_answer(diam_sim_t *s, struct msg *ans, struct msg_hdr *ah, struct peer_hdr *peer)
{
    struct msg *req = NULL;
    decoded_t rq = {0}, an = {0};
    char fault[FAULT_DESC_MAX], from[256], code[16];
    double ms = pend_take(s, ah, fault, sizeof fault);
    json_t *detail = json_object();

    if (fd_msg_answ_getq(ans, &req) == 0 && req != NULL) {
        fd_msg_parse_dict(req, fd_g_config->cnf_dict, NULL); /* a request refused in routing is half resolved */
        json_object_set_new(detail, "request", json_pack("{s:o}", "avps", avps_json(req, 0, 0, &rq)));
    }
    json_object_set_new(detail, "answer", json_pack("{s:o}", "avps", avps_json(ans, 0, 0, &an)));
    json_object_set_new(detail, "commandCode", json_integer(ah->msg_code));
    json_object_set_new(detail, "applicationId", json_integer(ah->msg_appl));
    json_object_set_new(detail, "experimental", json_boolean(an.experimental));
    snprintf(code, sizeof code, "%u", ah->msg_code);
    const char *name = command_short_name(ah->msg_code);
    const char *src = req != NULL ? source_of(req, from, sizeof from) : NULL;
    if (src == NULL && peer != NULL)
        src = peer->info.pi_diamid;
    journal_record_t rec = {.protocol = "diameter",
                            .peer = src,
                            .identity = rq.identity[0] ? rq.identity : NULL,
                            .command = name != NULL ? name : code,
                            .result = an.result,
                            .latency_ms = ms,
                            .fault = fault[0] ? fault : NULL,
                            .detail = detail};
    journal_add(s->journal, &rec);
}

/* A request that got no answer (drop, close): journalled when the fault is applied. */
static void journal_unanswered(diam_sim_t *s, struct msg *req, const char *identity, const char *fault)
{
    struct msg_hdr *h = NULL;
    decoded_t rq = {0};
    char from[256], code[16], ignored[FAULT_DESC_MAX];

    if (fd_msg_hdr(req, &h) != 0)
        return;
    double ms = pend_take(s, h, ignored, sizeof ignored);
    json_t *detail = json_pack("{s:I,s:I,s:{s:o}}", "commandCode", (json_int_t)h->msg_code, "applicationId",
                               (json_int_t)h->msg_appl, "request", "avps", avps_json(req, 0, 0, &rq));
    const char *name = command_short_name(h->msg_code);
    snprintf(code, sizeof code, "%u", h->msg_code);
    journal_record_t rec = {.protocol = "diameter",
                            .peer = source_of(req, from, sizeof from),
                            .identity = identity,
                            .command = name != NULL ? name : code,
                            .result = 0,
                            .latency_ms = ms,
                            .fault = fault,
                            .detail = detail};
    journal_add(s->journal, &rec);
}

static bool is_link_command(uint32_t code)
{
    return code == CMD_CER || code == CMD_DWR || code == CMD_DPR;
}

static void on_hook(enum fd_hook_type type, struct msg *msg, struct peer_hdr *peer, void *other,
                    struct fd_hook_permsgdata *pmd, void *regdata)
{
    diam_sim_t *s = regdata;
    struct msg_hdr *h = NULL;

    (void)other;
    (void)pmd;
    if (msg == NULL || fd_msg_hdr(msg, &h) != 0 || is_link_command(h->msg_code))
        return;
    bool is_req = (h->msg_flags & CMD_FLAG_REQUEST) != 0;
    if (type == HOOK_MESSAGE_RECEIVED && is_req)
        pend_note(s, h);
    else if (type == HOOK_MESSAGE_SENT && !is_req)
        journal_answer(s, msg, h, peer);
}

/* ------------------------------------------------------------------------------------------ delay queue */

static void *delay_thread(void *arg)
{
    diam_sim_t *s = arg;

    pthread_mutex_lock(&s->dl_lock);
    while (!s->dl_stop) {
        size_t first = 0;
        for (size_t i = 1; i < s->n_dl; i++)
            if (s->dl[i].due_us < s->dl[first].due_us)
                first = i;
        if (s->n_dl == 0) {
            pthread_cond_wait(&s->dl_cond, &s->dl_lock);
            continue;
        }
        int64_t due = s->dl[first].due_us;
        if (due > mono_us()) {
            struct timespec ts = {.tv_sec = due / 1000000, .tv_nsec = (due % 1000000) * 1000};
            pthread_cond_timedwait(&s->dl_cond, &s->dl_lock, &ts);
            continue;
        }
        struct msg *ans = s->dl[first].ans;
        s->dl[first] = s->dl[--s->n_dl];
        pthread_mutex_unlock(&s->dl_lock);
        if (fd_msg_send(&ans, NULL, NULL) != 0 && ans != NULL)
            fd_msg_free(ans);
        pthread_mutex_lock(&s->dl_lock);
    }
    pthread_mutex_unlock(&s->dl_lock);
    return NULL;
}

static int delay_start(diam_sim_t *s)
{
    pthread_condattr_t ca;

    pthread_mutex_init(&s->dl_lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->dl_cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&s->dl_thread, NULL, delay_thread, s) != 0)
        return -1;
    s->dl_running = true;
    return 0;
}

static void delay_stop(diam_sim_t *s)
{
    if (!s->dl_running)
        return;
    pthread_mutex_lock(&s->dl_lock);
    s->dl_stop = true;
    pthread_cond_signal(&s->dl_cond);
    pthread_mutex_unlock(&s->dl_lock);
    pthread_join(s->dl_thread, NULL);
    for (size_t i = 0; i < s->n_dl; i++)
        fd_msg_free(s->dl[i].ans);
    s->n_dl = 0;
}

void diam_sim_answer(diam_sim_t *s, struct msg **msg, unsigned delay_ms)
{
    if (s == NULL || delay_ms == 0 || *msg == NULL)
        return;
    pthread_mutex_lock(&s->dl_lock);
    if (s->n_dl < DIAM_SIM_MAX_DELAYED) {
        s->dl[s->n_dl++] = (delayed_t){.due_us = mono_us() + (int64_t)delay_ms * 1000, .ans = *msg};
        *msg = NULL;
        pthread_cond_signal(&s->dl_cond);
    }
    pthread_mutex_unlock(&s->dl_lock);
    if (*msg != NULL)
        log_warn("hss", "delay fault: %d answers already waiting, this one goes now", DIAM_SIM_MAX_DELAYED);
}

/* ------------------------------------------------------------------------------------------ close */

static int local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

/* Shuts down the TCP connection the request came on. freeDiameter names a peer's socket only in the text of
 * fd_peer_cnx_proto_info ("TCP,soc#12"); the descriptor is checked to be a socket on our Diameter port before it
 * is touched. Returns 0, or -1 when the connection was not found. */
static int close_peer(diam_sim_t *s, struct msg *req)
{
    DiamId_t id = NULL;
    size_t len = 0;
    struct peer_hdr *peer = NULL;
    char info[128];
    const char *soc;
    int fd;

    if (fd_msg_source_get(req, &id, &len) != 0 || id == NULL || fd_peer_getbyid(id, len, 0, &peer) != 0 ||
        peer == NULL || fd_peer_cnx_proto_info(peer, info, sizeof info) != 0 || (soc = strstr(info, "soc#")) == NULL)
        return -1;
    fd = atoi(soc + 4);
    if (fd <= 2 || local_port(fd) != s->port)
        return -1;
    return shutdown(fd, SHUT_RDWR);
}

/* ------------------------------------------------------------------------------------------ faults */

static void answer_with(diam_sim_t *s, struct msg *ans, const fault_t *f)
{
    int rc = f->experimental ? sh_uda_set_experimental(s->dict, ans, f->result_code)
                             : sh_uda_set_result(s->dict, ans, f->result_code);
    if (rc != 0)
        fd_msg_rescode_set(ans, "DIAMETER_UNABLE_TO_COMPLY", "fault answer could not be built", NULL, 1);
}

bool diam_sim_request(diam_sim_t *s, struct msg **msg, const char *command, const char *const *ids, size_t n_ids,
                      unsigned *delay_ms)
{
    fault_t f;
    char what[FAULT_DESC_MAX];
    struct msg *req = NULL;

    *delay_ms = 0;
    if (s == NULL || !fault_take(s->faults, FAULT_PROTO_DIAMETER, ids, n_ids, command, &f))
        return false;
    fault_describe(&f, what, sizeof what);
    log_info("hss", "fault %llu: %s on %s for %s", (unsigned long long)f.id, what, command,
             n_ids && ids[0] ? ids[0] : "-");
    pend_set_fault(s, *msg, what);
    switch (f.action) {
    case FAULT_DELAY:
        *delay_ms = f.delay_ms;
        return false;
    case FAULT_ANSWER:
        answer_with(s, *msg, &f);
        return true;
    case FAULT_CLOSE:
        if (fd_msg_answ_getq(*msg, &req) == 0 && req != NULL)
            log_info("hss", "fault %llu: %s", (unsigned long long)f.id,
                     close_peer(s, req) == 0 ? "the peer's connection shut down" : "the peer's connection not found");
        __attribute__((fallthrough)); /* and the request is not answered */
    default:
        if (fd_msg_answ_getq(*msg, &req) == 0 && req != NULL)
            journal_unanswered(s, req, n_ids ? ids[0] : NULL, what);
        fd_msg_free(*msg);
        *msg = NULL;
        return true;
    }
}

diam_sim_t *diam_sim_new(const sh_dict_t *dict, journal_t *journal, fault_table_t *faults, int port)
{
    diam_sim_t *s = calloc(1, sizeof *s);

    if (s == NULL)
        return NULL;
    s->dict = dict;
    s->journal = journal;
    s->faults = faults;
    s->port = port;
    pthread_mutex_init(&s->pend_lock, NULL);
    if (delay_start(s) != 0 ||
        fd_hook_register(HOOK_MASK(HOOK_MESSAGE_RECEIVED, HOOK_MESSAGE_SENT), on_hook, s, NULL, &s->hook) != 0) {
        diam_sim_free(s);
        return NULL;
    }
    return s;
}

void diam_sim_free(diam_sim_t *s)
{
    if (s == NULL)
        return;
    if (s->hook != NULL)
        fd_hook_unregister(s->hook);
    delay_stop(s);
    pthread_mutex_destroy(&s->pend_lock);
    free(s);
}
