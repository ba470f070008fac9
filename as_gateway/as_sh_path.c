/*
 * as_sh_path — the AS's Sh client (DESIGN §3; TS 29.328 §6.1.1, TS 29.329 §6.1.1/6.1.2), one file for the one
 * interface in the Open5GS manner (src/<nf>/<nf>-<interface>-path.c).
 *
 * The AS is a freeDiameter node (lib/diameter/diam_node) with the HSS as its one ConnectPeer; freeDiameter
 * reconnects it every AS_SH_TC_TIMER_S. A query is refused at once (the caller records "error", no waiting for
 * the timeout) unless the HSS peer is OPEN (fd_peer_get_state), so a dead HSS costs a call nothing.
 *
 * Thread hop: freeDiameter runs answer and expiry callbacks on its own threads. They decode the UDA there (the
 * dictionary is read-only, libxml2 is initialised by diam_node) into a small plain result and append it to a
 * mutex-protected queue; the first item of a batch writes one byte into a pipe whose read end is a libevent event
 * of the AS's loop, which drains the queue and calls back. Like Open5GS, heavy work stays off the loop and state
 * stays on it. The pipe, rather than event_active() from a foreign thread, means the program need not enable
 * libevent threading (evthread_use_pthreads) for us — one less start-up rule for main.c.
 *
 * Identity across the hop: the callbacks get only this path (which outlives freeDiameter's threads: free stops
 * the node first) and the message, and the message's End-to-End Identifier names the query. On the loop a table
 * maps it to the caller's token, so nothing that the loop may free is ever touched from a freeDiameter thread, and
 * a late answer simply finds a token whose check is gone. Every sent request ends in exactly one callback: its
 * answer, a local error answer from freeDiameter (e.g. 3002 when the peer went away), or its expiry
 * AS_SH_EXPIRY_MARGIN_MS after the check's own timeout — so the table does not grow.
 */
#include "as_sh_path.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#include "core/log.h"
#include "diameter/diam_node.h"

#define SH_LOG "as.sh"
#define SH_ETEID_KEY_BIT (1ULL << 32) /* map keys: End-to-End Identifier with this bit, so never 0 */
#define SH_WAKE_DRAIN 64              /* bytes read per read() when emptying the wake pipe */
#define SH_NAME_MAX 256               /* identities and realms, RFC 6733 DiameterIdentity */

/* One decoded answer (or expiry) on its way from a freeDiameter thread to the loop. */
typedef struct sh_item {
    struct sh_item *next;
    uint32_t eteid;
    as_sh_result_t res; /* both parts decoded; the loop masks what was not asked */
} sh_item_t;

/* A sent UDR, loop side. */
typedef struct {
    uint64_t token;
    bool want_repo, want_tads;
} sh_pending_t;

struct as_sh_path {
    struct event_base *base;
    diam_node_t *node;
    sh_dict_t dict;
    char hss_identity[SH_NAME_MAX];
    char dest_realm[SH_NAME_MAX];
    as_sh_result_cb cb;
    void *ud;

    /* loop side */
    as_idmap_t pending;   /* eteid key -> sh_pending_t (owned) */
    struct event *wake_ev; /* EV_READ|EV_PERSIST on wake[0] */
    bool dispatching;     /* inside the callback loop of on_wake */
    bool free_requested;  /* as_sh_path_free was called while dispatching */

    /* shared with freeDiameter's threads, under lock */
    pthread_mutex_t lock;
    sh_item_t *head, *tail;
    bool wake_pending; /* a byte is in the pipe or about to be */
    int wake[2];       /* pipe: [0] read (loop), [1] write (freeDiameter threads) */
};

static void set_err(char *err, size_t errlen, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", what);
}

static uint64_t eteid_key(uint32_t eteid)
{
    return SH_ETEID_KEY_BIT | eteid;
}

/* ---------------------------------------------------------------- interpretation (pure) */

static bool rat_is_4g_5g(uint32_t rat)
{
    return rat == SH_RAT_EUTRAN || rat == SH_RAT_NR;
}

static void fill_all(as_sh_result_t *out, as_answer_t a)
{
    out->subscribed = a;
    out->attached = a;
    out->rat[0] = '\0';
}

void as_sh_interpret(const sh_uda_t *uda, bool want_repo, bool want_tads, as_sh_result_t *out)
{
    fill_all(out, AS_ANS_ERROR);
    if (uda->has_experimental && uda->exp_code == SH_ERR_USER_UNKNOWN)
        fill_all(out, AS_ANS_UNKNOWN);
    else if (sh_uda_success(uda) && (uda->has_data || uda->user_data == NULL)) {
        const sh_data_t *d = &uda->data; /* zeroed when there was no User-Data */
        bool attached = uda->has_data && d->has_tads && d->ims_vops == SH_VOPS_SUPPORTED && d->has_rat
                        && rat_is_4g_5g(d->rat_type);
        bool subscribed = uda->has_data && sh_data_find_repo(d, SH_SERVICE_INDICATION_VOENC) != NULL;
        out->subscribed = subscribed ? AS_ANS_YES : AS_ANS_NO;
        out->attached = attached ? AS_ANS_YES : AS_ANS_NO;
        if (uda->has_data && d->has_tads && d->has_rat)
            sh_rat_name(d->rat_type, out->rat, sizeof out->rat);
    }
    if (!want_repo)
        out->subscribed = AS_ANS_NOT_ASKED;
    if (!want_tads) {
        out->attached = AS_ANS_NOT_ASKED;
        out->rat[0] = '\0';
    }
}

/* ---------------------------------------------------------------- freeDiameter threads */

static void enqueue(as_sh_path_t *p, uint32_t eteid, const as_sh_result_t *res)
{
    sh_item_t *it = calloc(1, sizeof *it);
    if (it == NULL) {
        log_error(SH_LOG, "out of memory: answer %u dropped (its check times out)", eteid);
        return;
    }
    it->eteid = eteid;
    it->res = *res;
    pthread_mutex_lock(&p->lock);
    if (p->tail)
        p->tail->next = it;
    else
        p->head = it;
    p->tail = it;
    bool wake = !p->wake_pending;
    p->wake_pending = true;
    pthread_mutex_unlock(&p->lock);
    if (wake) {
        ssize_t w;
        do
            w = write(p->wake[1], "!", 1);
        while (w < 0 && errno == EINTR);
        /* EAGAIN: the pipe is full of wake-ups already, the loop will drain the queue anyway. */
    }
}

static uint32_t eteid_of(struct msg *m)
{
    struct msg_hdr *hdr = NULL;
    return fd_msg_hdr(m, &hdr) == 0 && hdr ? hdr->msg_eteid : 0;
}

static void on_answer(void *data, struct msg **ans)
{
    as_sh_path_t *p = data;
    as_sh_result_t res;
    sh_uda_t uda;
    uint32_t eteid = eteid_of(*ans);

    if (sh_uda_read(&p->dict, *ans, &uda) == 0) {
        as_sh_interpret(&uda, true, true, &res);
        if (uda.user_data != NULL && !uda.has_data)
            log_warn(SH_LOG, "Sh-Data from %s does not parse: %s", uda.origin_host, uda.data_error);
        sh_uda_clear(&uda);
    } else {
        fill_all(&res, AS_ANS_ERROR);
    }
    fd_msg_free(*ans); /* frees the request too: freeDiameter associated it with the answer */
    *ans = NULL;
    enqueue(p, eteid, &res);
}

static void on_expire(void *data, DiamId_t peer, size_t peer_len, struct msg **req)
{
    as_sh_path_t *p = data;
    as_sh_result_t res;
    uint32_t eteid = eteid_of(*req);

    (void)peer;
    (void)peer_len;
    fd_msg_free(*req);
    *req = NULL;
    fill_all(&res, AS_ANS_TIMEOUT);
    enqueue(p, eteid, &res);
}

/* ---------------------------------------------------------------- loop side */

static void deliver(as_sh_path_t *p, const sh_item_t *it)
{
    sh_pending_t *rec = as_idmap_take(&p->pending, eteid_key(it->eteid));
    if (rec == NULL) {
        log_debug(SH_LOG, "answer with End-to-End %u matches no query: dropped", it->eteid);
        return;
    }
    as_sh_result_t res = it->res;
    if (!rec->want_repo)
        res.subscribed = AS_ANS_NOT_ASKED;
    if (!rec->want_tads) {
        res.attached = AS_ANS_NOT_ASKED;
        res.rat[0] = '\0';
    }
    uint64_t token = rec->token;
    free(rec);
    p->cb(token, &res, p->ud);
}

static void free_items(sh_item_t *it)
{
    while (it) {
        sh_item_t *next = it->next;
        free(it);
        it = next;
    }
}

static void destroy(as_sh_path_t *p);

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    as_sh_path_t *p = arg;
    char buf[SH_WAKE_DRAIN];

    (void)what;
    while (read(fd, buf, sizeof buf) > 0)
        ; /* empty the pipe before taking the queue: a wake-up written later means a later batch */
    pthread_mutex_lock(&p->lock);
    sh_item_t *batch = p->head;
    p->head = p->tail = NULL;
    p->wake_pending = false;
    pthread_mutex_unlock(&p->lock);

    p->dispatching = true;
    while (batch && !p->free_requested) {
        sh_item_t *it = batch;
        batch = it->next;
        deliver(p, it);
        free(it);
    }
    p->dispatching = false;
    free_items(batch);
    if (p->free_requested)
        destroy(p);
}

/* ---------------------------------------------------------------- life cycle */

static void dest_realm_of(const char *hss_identity, const char *own_realm, char *out, size_t size)
{
    const char *dot = strchr(hss_identity, '.');
    snprintf(out, size, "%s", dot && dot[1] ? dot + 1 : own_realm);
}

static int open_wake(as_sh_path_t *p)
{
    if (pipe2(p->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        p->wake[0] = p->wake[1] = -1;
        return -1;
    }
    p->wake_ev = event_new(p->base, p->wake[0], EV_READ | EV_PERSIST, on_wake, p);
    return p->wake_ev && event_add(p->wake_ev, NULL) == 0 ? 0 : -1;
}

static int start_node(as_sh_path_t *p, const as_checks_conf_t *conf, char *err, size_t errlen)
{
    diam_node_conf_t dc = {
        .identity = conf->diameter_identity,
        .realm = conf->diameter_realm,
        .port = conf->diameter_port,
        .peers = { { .identity = conf->hss_identity, .addr = conf->hss_addr, .port = conf->hss_port } },
        .n_peers = 1,
        .tc_timer = AS_SH_TC_TIMER_S,
        .tw_timer = AS_SH_TW_TIMER_S,
        .fd_debug = false,
    };
    char why[256] = "";
    p->node = diam_node_start(&dc, &p->dict, why, sizeof why);
    if (p->node == NULL) {
        if (err && errlen)
            snprintf(err, errlen, "Diameter: %s", why);
        return -1;
    }
    return 0;
}

as_sh_path_t *as_sh_path_new(struct event_base *base, const as_checks_conf_t *conf, as_sh_result_cb cb, void *ud,
                             char *err, size_t errlen)
{
    if (!base || !conf || !cb || !conf->hss_identity || !conf->hss_addr || !conf->diameter_realm
        || strlen(conf->hss_identity) >= SH_NAME_MAX || strlen(conf->diameter_realm) >= SH_NAME_MAX) {
        set_err(err, errlen, "HSS: diameter_identity, diameter_realm, hss_identity, hss_addr, hss_port required");
        return NULL;
    }
    as_sh_path_t *p = calloc(1, sizeof *p);
    if (p == NULL) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    p->base = base;
    p->cb = cb;
    p->ud = ud;
    p->wake[0] = p->wake[1] = -1;
    pthread_mutex_init(&p->lock, NULL);
    snprintf(p->hss_identity, sizeof p->hss_identity, "%s", conf->hss_identity);
    dest_realm_of(conf->hss_identity, conf->diameter_realm, p->dest_realm, sizeof p->dest_realm);
    if (open_wake(p) != 0) {
        set_err(err, errlen, "cannot create the Sh wake-up pipe");
        destroy(p);
        return NULL;
    }
    if (start_node(p, conf, err, errlen) != 0) {
        destroy(p);
        return NULL;
    }
    return p;
}

static void destroy(as_sh_path_t *p)
{
    if (p->node)
        diam_node_stop(p->node); /* joins freeDiameter's threads: no callback runs after this */
    free_items(p->head);
    uint64_t key;
    void *rec;
    while ((rec = as_idmap_any(&p->pending, &key)) != NULL)
        free(as_idmap_take(&p->pending, key));
    as_idmap_clear(&p->pending);
    if (p->wake_ev)
        event_free(p->wake_ev);
    for (int i = 0; i < 2; i++)
        if (p->wake[i] >= 0)
            close(p->wake[i]);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

void as_sh_path_free(as_sh_path_t *p)
{
    if (p == NULL)
        return;
    if (p->dispatching) {
        p->free_requested = true; /* on_wake destroys it when the callback returns */
        return;
    }
    destroy(p);
}

bool as_sh_path_peer_open(const as_sh_path_t *p)
{
    struct peer_hdr *peer = NULL;
    if (p == NULL || fd_peer_getbyid((DiamId_t)p->hss_identity, strlen(p->hss_identity), 0, &peer) != 0 || !peer)
        return false;
    return fd_peer_get_state(peer) == STATE_OPEN;
}

int as_sh_path_wait_peer(as_sh_path_t *p, int timeout_ms)
{
    return p ? diam_node_wait_peer(p->node, p->hss_identity, timeout_ms) : -1;
}

/* ---------------------------------------------------------------- queries */

static void expiry_in(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_REALTIME, ts); /* freeDiameter's expiry is an absolute CLOCK_REALTIME time */
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static struct msg *build_udr(as_sh_path_t *p, const char *identity, bool want_repo, bool want_tads)
{
    uint32_t refs[2];
    size_t n = 0;
    if (want_repo)
        refs[n++] = SH_DREF_REPOSITORY_DATA;
    if (want_tads)
        refs[n++] = SH_DREF_TADS_INFORMATION;
    sh_udr_params_t prm = {
        .public_identity = identity,
        .data_refs = refs,
        .n_data_refs = n,
        .service_indication = want_repo ? SH_SERVICE_INDICATION_VOENC : NULL,
        .dest_realm = p->dest_realm,
        .dest_host = p->hss_identity,
    };
    struct msg *req = NULL;
    return sh_udr_build(&p->dict, &prm, &req) == 0 ? req : NULL;
}

int as_sh_path_query(as_sh_path_t *p, uint64_t token, const char *identity, bool want_repo, bool want_tads,
                     unsigned timeout_ms)
{
    if (!p || !identity || !*identity || (!want_repo && !want_tads) || p->free_requested)
        return -1;
    if (!as_sh_path_peer_open(p)) {
        log_debug(SH_LOG, "HSS %s not connected: no UDR for %s", p->hss_identity, identity);
        return -1;
    }
    struct msg *req = build_udr(p, identity, want_repo, want_tads);
    if (req == NULL)
        return -1;
    uint32_t eteid = eteid_of(req);
    sh_pending_t *rec = malloc(sizeof *rec);
    if (!rec || as_idmap_get(&p->pending, eteid_key(eteid)) || as_idmap_put(&p->pending, eteid_key(eteid), rec)) {
        free(rec);
        fd_msg_free(req);
        return -1;
    }
    *rec = (sh_pending_t){ .token = token, .want_repo = want_repo, .want_tads = want_tads };
    struct timespec expire;
    expiry_in(&expire, timeout_ms + AS_SH_EXPIRY_MARGIN_MS);
    /* The callbacks only queue; they cannot reach `pending` before this function returns to the loop. */
    if (fd_msg_send_timeout(&req, on_answer, p, on_expire, &expire) != 0) {
        log_warn(SH_LOG, "freeDiameter refused to send a UDR for %s", identity);
        if (req)
            fd_msg_free(req);
        free(as_idmap_take(&p->pending, eteid_key(eteid)));
        return -1;
    }
    return 0;
}
