/*
 * as_sh_path — the AS's Sh client (DESIGN §3; TS 29.328 §6.1.1, TS 29.329 §6.1.1/6.1.2), one file for the one
 * interface in the Open5GS manner (src/<nf>/<nf>-<interface>-path.c).
 *
 * Peers and destination (DESIGN §3 "Diameter routing"; RFC 6733 §2.8, §6.1): the AS is a freeDiameter node
 * (lib/diameter/diam_node) with each configured peer (an HSS, or a relay in front of HSSs) as a ConnectPeer;
 * freeDiameter reconnects each every AS_SH_TC_TIMER_S. Where a UDR is addressed is separate: Destination-Realm
 * always, Destination-Host only when configured (the one-peer shorthand sends the peer's identity).
 * A query is refused at once (the caller records "error", no waiting for the timeout) unless some peer is OPEN
 * (fd_peer_get_state), so a dead HSS costs a call nothing.
 *
 * Routing: freeDiameter's own routing picks the peer (it only ever considers peers in state OPEN, and fails a
 * request over to another OPEN peer when its connection drops); our rt_out callback adds a score per configured
 * peer from its priority and suspicion (as_sh_route_delta). Chosen over rt_default.fdx because the rule needs
 * state that changes per request (suspicion) and must not need a second configuration language.
 *
 * Failover rule for a peer that is OPEN but silent (stalled process, lost link not yet seen by the watchdog,
 * which takes up to 2 Tw = 12 s): a UDR unanswered after lookup_timeout_ms / AS_SH_HEDGE_DIVISOR is sent once
 * more, as a new request, and the first answer wins (a UDR reads data: asking twice is harmless). The peer the
 * first one went to (HOOK_MESSAGE_SENT tells) becomes suspect for AS_SH_SUSPECT_MS or until any answer arrives
 * from it, so the second UDR and later ones go to the next peer. Suspicion only orders peers, it never excludes
 * one: a lone suspect peer still gets UDRs, and after AS_SH_SUSPECT_MS it is tried again, hedged — so a peer
 * that recovers gets traffic back within about a second, and one that does not costs hedged lookups a third of
 * the budget, not calls. No hedge when no other peer is OPEN and trusted (one peer, one relay).
 *
 * Errors: an error answer's Result-Code or Experimental-Result and Origin-Host (which node answered: the HSS, a
 * relay saying 3002/3003/3007, or freeDiameter itself) travel with the result (as_sh_error_of).
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
#include <stdatomic.h>
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
#define SH_SENT_RING \
    1024                          /* remembered (End-to-End Id -> peer) of the last requests sent: far more
                                         than are in flight during one hedge delay at any rate the AS reaches */
#define SH_WAIT_POLL_NS 20000000L /* 20 ms between peer-state checks while waiting at start-up */
#define SH_MAX_SENDS 2            /* a UDR and its one hedge */

/* One decoded answer (or expiry) on its way from a freeDiameter thread to the loop. */
typedef struct sh_item {
    struct sh_item *next;
    uint32_t eteid;
    as_sh_result_t res; /* both parts decoded; the loop masks what was not asked */
} sh_item_t;

/* A query, loop side: filed under the End-to-End Id of each UDR sent for it. */
typedef struct {
    uint64_t token;
    bool want_repo, want_tads;
    char *identity; /* for the hedge */
    uint32_t eteid[SH_MAX_SENDS];
    int n_sent;
    unsigned timeout_ms;
    struct event *hedge_ev;
    struct as_sh_path *path;
} sh_pending_t;

/* A configured peer. suspect_until is written by the loop and freeDiameter's threads, read by the routing
 * callback: an atomic, nothing else is shared. */
typedef struct {
    char identity[SH_NAME_MAX];
    int priority;
    atomic_llong suspect_until_ms; /* CLOCK_MONOTONIC ms; 0 = trusted */
} sh_peer_t;

typedef struct {
    uint32_t eteid;
    int peer; /* index in peers, -1 = none */
} sh_sent_t;

struct as_sh_path {
    struct event_base *base;
    diam_node_t *node;
    sh_dict_t dict;
    sh_peer_t peers[AS_DIAM_PEERS_MAX];
    size_t n_peers;
    char dest_realm[SH_NAME_MAX];
    char dest_host[SH_NAME_MAX]; /* "" = no Destination-Host */
    struct fd_rt_out_hdl *rt;
    struct fd_hook_hdl *sent_hook;
    as_sh_result_cb cb;
    void *ud;

    /* loop side */
    as_idmap_t pending;    /* eteid key -> sh_pending_t (owned) */
    struct event *wake_ev; /* EV_READ|EV_PERSIST on wake[0] */
    bool dispatching;      /* inside the callback loop of on_wake */
    bool free_requested;   /* as_sh_path_free was called while dispatching */

    /* shared with freeDiameter's threads, under lock */
    pthread_mutex_t lock;
    sh_item_t *head, *tail;
    bool wake_pending;            /* a byte is in the pipe or about to be */
    int wake[2];                  /* pipe: [0] read (loop), [1] write (freeDiameter threads) */
    sh_sent_t sent[SH_SENT_RING]; /* by eteid % SH_SENT_RING */
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
    memset(&out->error, 0, sizeof out->error);
    out->subscribed = a;
    out->attached = a;
    out->rat[0] = '\0';
}

void as_sh_error_of(const sh_uda_t *uda, as_diam_error_t *out)
{
    memset(out, 0, sizeof *out);
    if (sh_uda_success(uda))
        return;
    out->experimental = uda->has_experimental;
    out->code = uda->has_experimental ? uda->exp_code : uda->has_result_code ? uda->result_code : 0;
    snprintf(out->origin_host, sizeof out->origin_host, "%s", uda->origin_host);
}

int as_sh_route_delta(int priority, bool suspect)
{
    if (priority < 1)
        priority = 1;
    if (priority > AS_PEER_PRIORITY_MAX)
        priority = AS_PEER_PRIORITY_MAX;
    return AS_SH_SCORE_BASE + (AS_PEER_PRIORITY_MAX + 1 - priority) - (suspect ? AS_SH_SCORE_SUSPECT : 0);
}

void as_sh_interpret(const sh_uda_t *uda, bool want_repo, bool want_tads, as_sh_result_t *out)
{
    fill_all(out, AS_ANS_ERROR);
    as_sh_error_of(uda, &out->error);
    if (uda->has_experimental && uda->exp_code == SH_ERR_USER_UNKNOWN)
        out->subscribed = out->attached = AS_ANS_UNKNOWN;
    else if (sh_uda_success(uda) && (uda->has_data || uda->user_data == NULL)) {
        const sh_data_t *d = &uda->data; /* zeroed when there was no User-Data */
        bool attached =
            uda->has_data && d->has_tads && d->ims_vops == SH_VOPS_SUPPORTED && d->has_rat && rat_is_4g_5g(d->rat_type);
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

/* ---------------------------------------------------------------- peers (any thread) */

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int peer_index(const as_sh_path_t *p, const char *id, size_t len)
{
    for (size_t i = 0; id && i < p->n_peers; i++)
        if (strlen(p->peers[i].identity) == len && strncasecmp(p->peers[i].identity, id, len) == 0)
            return (int)i;
    return -1;
}

static bool peer_suspect(const sh_peer_t *peer, long long now)
{
    return atomic_load(&peer->suspect_until_ms) > now;
}

bool as_sh_path_peer_is_open(const as_sh_path_t *p, size_t i)
{
    struct peer_hdr *peer = NULL;
    if (p == NULL || i >= p->n_peers)
        return false;
    const char *id = p->peers[i].identity;
    if (fd_peer_getbyid((DiamId_t)id, strlen(id), 0, &peer) != 0 || !peer)
        return false;
    return fd_peer_get_state(peer) == STATE_OPEN;
}

size_t as_sh_path_peer_count(const as_sh_path_t *p)
{
    return p ? p->n_peers : 0;
}

const char *as_sh_path_peer_identity(const as_sh_path_t *p, size_t i)
{
    return p && i < p->n_peers ? p->peers[i].identity : NULL;
}

/* ---------------------------------------------------------------- freeDiameter threads */

/* rt_out callback (routing thread; re-entrant: reads atomics only). */
static int route_score(void *data, struct msg **pmsg, struct fd_list *candidates)
{
    as_sh_path_t *p = data;
    long long now = mono_ms();
    (void)pmsg;
    for (struct fd_list *li = candidates->next; li != candidates; li = li->next) {
        struct rtd_candidate *c = (struct rtd_candidate *)li;
        int i = peer_index(p, c->diamid, c->diamidlen);
        if (i >= 0)
            c->score += as_sh_route_delta(p->peers[i].priority, peer_suspect(&p->peers[i], now));
    }
    return 0;
}

/* HOOK_MESSAGE_SENT: which peer each of our UDRs went to, for the hedge's suspicion. */
static void sent_hook(enum fd_hook_type type, struct msg *msg, struct peer_hdr *peer, void *other,
                      struct fd_hook_permsgdata *pmd, void *regdata)
{
    as_sh_path_t *p = regdata;
    struct msg_hdr *hdr = NULL;
    (void)type, (void)other, (void)pmd;
    if (!msg || !peer || fd_msg_hdr(msg, &hdr) != 0 || !hdr || !(hdr->msg_flags & CMD_FLAG_REQUEST) ||
        hdr->msg_code != SH_CMD_UDR)
        return;
    int i = peer_index(p, peer->info.pi_diamid, peer->info.pi_diamidlen);
    pthread_mutex_lock(&p->lock);
    p->sent[hdr->msg_eteid % SH_SENT_RING] = (sh_sent_t){hdr->msg_eteid, i};
    pthread_mutex_unlock(&p->lock);
}

/* An answer from a peer proves it alive: trusted again at once. */
static void trust_source(as_sh_path_t *p, struct msg *ans)
{
    DiamId_t id = NULL;
    size_t len = 0;
    if (fd_msg_source_get(ans, &id, &len) != 0 || id == NULL)
        return;
    int i = peer_index(p, (const char *)id, len);
    if (i >= 0)
        atomic_store(&p->peers[i].suspect_until_ms, 0);
}

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

    trust_source(p, *ans);
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

/* Removes a query from the table under all its End-to-End Ids and frees it. */
static void pending_drop(as_sh_path_t *p, sh_pending_t *rec)
{
    for (int i = 0; i < rec->n_sent; i++)
        as_idmap_take(&p->pending, eteid_key(rec->eteid[i]));
    if (rec->hedge_ev)
        event_free(rec->hedge_ev);
    free(rec->identity);
    free(rec);
}

static void deliver(as_sh_path_t *p, const sh_item_t *it)
{
    sh_pending_t *rec = as_idmap_get(&p->pending, eteid_key(it->eteid));
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
    pending_drop(p, rec); /* the first answer wins; the other UDR's answer will match nothing */
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

/* Destination-Realm when none is configured: the realm part of the Destination-Host, else our own realm. */
static void dest_realm_of(const char *dest_host, const char *own_realm, char *out, size_t size)
{
    const char *dot = dest_host ? strchr(dest_host, '.') : NULL;
    snprintf(out, size, "%s", dot && dot[1] ? dot + 1 : own_realm);
}

/* The configured peers, or the one-peer shorthand (Destination-Host = that peer unless dest_host is set). */
static int take_peers(as_sh_path_t *p, const as_checks_conf_t *conf, diam_node_conf_t *dc)
{
    size_t n = conf->n_peers ? conf->n_peers : 1;
    if (n > AS_DIAM_PEERS_MAX || n > DIAM_NODE_MAX_PEERS)
        return -1;
    for (size_t i = 0; i < n; i++) {
        as_diam_peer_t one = {conf->hss_identity, conf->hss_addr, conf->hss_port, 1};
        const as_diam_peer_t *src = conf->n_peers ? &conf->peers[i] : &one;
        if (!src->identity || !src->addr || strlen(src->identity) >= SH_NAME_MAX)
            return -1;
        snprintf(p->peers[i].identity, sizeof p->peers[i].identity, "%s", src->identity);
        p->peers[i].priority = src->priority;
        atomic_init(&p->peers[i].suspect_until_ms, 0);
        dc->peers[i] = (diam_peer_t){.identity = src->identity, .addr = src->addr, .port = src->port};
    }
    p->n_peers = dc->n_peers = n;
    const char *host = conf->dest_host ? conf->dest_host : conf->n_peers ? NULL : conf->hss_identity;
    if ((host && strlen(host) >= SH_NAME_MAX) || (conf->dest_realm && strlen(conf->dest_realm) >= SH_NAME_MAX))
        return -1;
    snprintf(p->dest_host, sizeof p->dest_host, "%s", host ? host : "");
    if (conf->dest_realm)
        snprintf(p->dest_realm, sizeof p->dest_realm, "%s", conf->dest_realm);
    else
        dest_realm_of(host, conf->diameter_realm, p->dest_realm, sizeof p->dest_realm);
    return 0;
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
        .tc_timer = AS_SH_TC_TIMER_S,
        .tw_timer = AS_SH_TW_TIMER_S,
        .fd_debug = false,
    };
    if (take_peers(p, conf, &dc) != 0) {
        set_err(err, errlen, "Diameter: bad peer list or destination");
        return -1;
    }
    char why[256] = "";
    p->node = diam_node_start(&dc, &p->dict, why, sizeof why);
    if (p->node == NULL) {
        if (err && errlen)
            snprintf(err, errlen, "Diameter: %s", why);
        return -1;
    }
    /* freeDiameter runs rt_out callbacks by priority; ours only adds to the scores, so its place is irrelevant. */
    if (fd_rt_out_register(route_score, p, 0, &p->rt) != 0 ||
        fd_hook_register(HOOK_MASK(HOOK_MESSAGE_SENT), sent_hook, p, NULL, &p->sent_hook) != 0) {
        set_err(err, errlen, "Diameter: cannot register the Sh routing callback");
        return -1;
    }
    return 0;
}

as_sh_path_t *as_sh_path_new(struct event_base *base, const as_checks_conf_t *conf, as_sh_result_cb cb, void *ud,
                             char *err, size_t errlen)
{
    if (!base || !conf || !cb || (conf->n_peers == 0 && (!conf->hss_identity || !conf->hss_addr)) ||
        !conf->diameter_realm || strlen(conf->diameter_realm) >= SH_NAME_MAX) {
        set_err(err, errlen,
                "HSS: diameter_realm and a Diameter peer (diameter_peers, or hss_identity and hss) "
                "required");
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
    if (p->rt)
        fd_rt_out_unregister(p->rt, NULL);
    if (p->sent_hook)
        fd_hook_unregister(p->sent_hook);
    if (p->node)
        diam_node_stop(p->node); /* joins freeDiameter's threads: no callback runs after this */
    free_items(p->head);
    uint64_t key;
    sh_pending_t *rec;
    while ((rec = as_idmap_any(&p->pending, &key)) != NULL)
        pending_drop(p, rec);
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

const sh_dict_t *as_sh_path_dict(const as_sh_path_t *p)
{
    return p != NULL ? &p->dict : NULL;
}

const char *as_sh_path_dest_realm(const as_sh_path_t *p)
{
    return p->dest_realm;
}

const char *as_sh_path_dest_host(const as_sh_path_t *p)
{
    return p->dest_host[0] != '\0' ? p->dest_host : NULL;
}

bool as_sh_path_peer_open(const as_sh_path_t *p)
{
    for (size_t i = 0; p && i < p->n_peers; i++)
        if (as_sh_path_peer_is_open(p, i))
            return true;
    return false;
}

int as_sh_path_wait_peer(as_sh_path_t *p, int timeout_ms)
{
    if (p == NULL || timeout_ms < 0)
        return -1;
    long long deadline = mono_ms() + timeout_ms;
    while (!as_sh_path_peer_open(p)) {
        if (mono_ms() >= deadline)
            return -1;
        struct timespec ts = {0, SH_WAIT_POLL_NS};
        nanosleep(&ts, NULL);
    }
    return 0;
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
        .dest_host = p->dest_host[0] ? p->dest_host : NULL,
    };
    struct msg *req = NULL;
    return sh_udr_build(&p->dict, &prm, &req) == 0 ? req : NULL;
}

/* Sends one UDR for rec and files rec under its End-to-End Id. Returns 0 or -1 (nothing filed). */
static int send_udr(as_sh_path_t *p, sh_pending_t *rec)
{
    if (rec->n_sent >= SH_MAX_SENDS)
        return -1;
    struct msg *req = build_udr(p, rec->identity, rec->want_repo, rec->want_tads);
    if (req == NULL)
        return -1;
    uint32_t eteid = eteid_of(req);
    if (as_idmap_get(&p->pending, eteid_key(eteid)) || as_idmap_put(&p->pending, eteid_key(eteid), rec)) {
        fd_msg_free(req);
        return -1;
    }
    rec->eteid[rec->n_sent++] = eteid;
    struct timespec expire;
    expiry_in(&expire, rec->timeout_ms + AS_SH_EXPIRY_MARGIN_MS);
    /* The callbacks only queue; they cannot reach `pending` before this function returns to the loop. */
    if (fd_msg_send_timeout(&req, on_answer, p, on_expire, &expire) != 0) {
        log_warn(SH_LOG, "freeDiameter refused to send a UDR for %s", rec->identity);
        if (req)
            fd_msg_free(req);
        as_idmap_take(&p->pending, eteid_key(eteid));
        rec->n_sent--;
        return -1;
    }
    return 0;
}

/* Which peer a UDR went to, or -1 when not known (yet, or forgotten). */
static int sent_to(as_sh_path_t *p, uint32_t eteid)
{
    pthread_mutex_lock(&p->lock);
    sh_sent_t s = p->sent[eteid % SH_SENT_RING];
    pthread_mutex_unlock(&p->lock);
    return s.eteid == eteid ? s.peer : -1;
}

/* Is some peer other than `except` OPEN and trusted: somewhere a hedge would go. */
static bool trusted_alternate(const as_sh_path_t *p, int except)
{
    long long now = mono_ms();
    for (size_t i = 0; i < p->n_peers; i++)
        if ((int)i != except && !peer_suspect(&p->peers[i], now) && as_sh_path_peer_is_open(p, i))
            return true;
    return false;
}

/* The hedge delay passed without an answer: suspect the peer and ask another one. */
static void on_hedge(evutil_socket_t fd, short what, void *arg)
{
    sh_pending_t *rec = arg;
    as_sh_path_t *p = rec->path;
    (void)fd, (void)what;
    int peer = sent_to(p, rec->eteid[0]);
    if (peer >= 0)
        atomic_store(&p->peers[peer].suspect_until_ms, mono_ms() + AS_SH_SUSPECT_MS);
    if (peer < 0 || !trusted_alternate(p, peer))
        return;
    log_info(SH_LOG, "no answer from %s within %u ms: UDR for %s sent again to another peer", p->peers[peer].identity,
             rec->timeout_ms / AS_SH_HEDGE_DIVISOR, rec->identity);
    (void)send_udr(p, rec); /* failing that, the first UDR may still answer */
}

static sh_pending_t *pending_new(as_sh_path_t *p, uint64_t token, const char *identity, bool want_repo, bool want_tads,
                                 unsigned timeout_ms)
{
    sh_pending_t *rec = calloc(1, sizeof *rec);
    if (rec == NULL)
        return NULL;
    *rec = (sh_pending_t){
        .token = token, .want_repo = want_repo, .want_tads = want_tads, .timeout_ms = timeout_ms, .path = p};
    rec->identity = strdup(identity);
    rec->hedge_ev = p->n_peers > 1 ? evtimer_new(p->base, on_hedge, rec) : NULL;
    if (rec->identity == NULL || (p->n_peers > 1 && rec->hedge_ev == NULL)) {
        pending_drop(p, rec);
        return NULL;
    }
    return rec;
}

int as_sh_path_query(as_sh_path_t *p, uint64_t token, const char *identity, bool want_repo, bool want_tads,
                     unsigned timeout_ms)
{
    if (!p || !identity || !*identity || (!want_repo && !want_tads) || p->free_requested)
        return -1;
    if (!as_sh_path_peer_open(p)) {
        log_debug(SH_LOG, "no Diameter peer connected: no UDR for %s", identity);
        return -1;
    }
    sh_pending_t *rec = pending_new(p, token, identity, want_repo, want_tads, timeout_ms);
    if (rec == NULL)
        return -1;
    if (send_udr(p, rec) != 0) {
        pending_drop(p, rec);
        return -1;
    }
    unsigned hedge_ms = timeout_ms / AS_SH_HEDGE_DIVISOR;
    struct timeval tv = {.tv_sec = hedge_ms / 1000, .tv_usec = (suseconds_t)(hedge_ms % 1000) * 1000};
    if (rec->hedge_ev)
        (void)evtimer_add(rec->hedge_ev, &tv); /* without it the UDR just has no second chance */
    return 0;
}
