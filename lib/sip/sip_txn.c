/*
 * sip_txn — the transaction layer object: creation, message dispatch, timer dispatch and the TU-facing calls
 * (RFC 3261 §17; RFC 6026). The state machines live in sip_txn_client.c and sip_txn_server.c, the helpers they
 * share in sip_txn_base.c; this file is the top layer and calls them, never the other way round.
 *
 * Design: the layer owns no socket and no loop (nghttp2's "library owns no I/O"): bytes leave through io.send,
 * time comes from clock.now_ms, and the driver calls sip_txn_tick() at sip_txn_next_deadline(); clock.wake tells
 * the driver when a new deadline is earlier than any it was told about. Tests drive it with a fake clock.
 *
 * Re-entrancy: a transaction is only ever freed inside sip_txn_tick() (Terminated is entered by arming a zero
 * LIFE timer), never inside sip_txn_recv() or a TU call, so a callback can call back into the layer freely and the
 * code that invoked it never sees a freed transaction. Timeouts are therefore "at the next tick", which is what a
 * zero Timer D/I/J/K on a reliable transport means in practice.
 */
#include "sip/sip_txn_int.h"

#include "core/log.h"
#include "sip/sip_reply.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define SIP_TXN_LOG "sip_txn"
#define SIP_TXN_TIMERS_PER_TXN 2 /* t_retx and t_life */
#define SIP_TXN_REFUSE_MAX 4096  /* a stateless 400 (Vias of the request + a Warning) */
#define SIP_TXN_NO_DUE UINT64_MAX
#define SIP_TXN_DROP_LOG_MS 1000 /* a full table drops many requests a second: one line per second says how many */

void sip_txn_conf_default(sip_txn_conf_t *conf)
{
    conf->t1_ms = SIP_TXN_T1_MS;
    conf->t2_ms = SIP_TXN_T2_MS;
    conf->t4_ms = SIP_TXN_T4_MS;
    conf->timer_d_ms = SIP_TXN_TIMER_D_MS;
    conf->max_txns = SIP_TXN_MAX_DEFAULT;
}

static bool sip_txn_conf_valid(const sip_txn_conf_t *c)
{
    return c->t1_ms > 0 && c->t2_ms >= c->t1_ms && c->t4_ms > 0 && c->max_txns > 0 &&
           c->max_txns <= SIP_TXN_MAX_LIMIT && (uint64_t)c->t1_ms * 64u <= UINT32_MAX;
}

sip_txn_layer_t *sip_txn_layer_new(const sip_txn_conf_t *conf, const sip_clock_t *clock, const sip_txn_io_t *io,
                                   const sip_txn_tu_t *tu)
{
    sip_txn_conf_t def;
    sip_txn_conf_default(&def);
    if (!conf)
        conf = &def;
    if (!sip_txn_conf_valid(conf) || !clock || !clock->now_ms || !io || !io->send)
        return NULL;
    sip_txn_layer_t *tl = calloc(1, sizeof *tl);
    if (!tl)
        return NULL;
    tl->conf = *conf;
    tl->clock = *clock;
    tl->io = *io;
    if (tu)
        tl->tu = *tu;
    tl->announced_due = SIP_TXN_NO_DUE;
    if (getrandom(&tl->branch_seed, sizeof tl->branch_seed, 0) != sizeof tl->branch_seed)
        tl->branch_seed = (uint64_t)(uintptr_t)tl ^ clock->now_ms(clock->ctx);
    tl->scratch = malloc(sizeof *tl->scratch);
    tl->scratch2 = malloc(sizeof *tl->scratch2);
    if (!tl->scratch || !tl->scratch2 || sip_txn_table_init(&tl->table, conf->max_txns) < 0 ||
        sip_timers_init(&tl->timers, (int)(conf->max_txns * SIP_TXN_TIMERS_PER_TXN)) < 0) {
        sip_txn_table_free(&tl->table);
        free(tl->scratch);
        free(tl->scratch2);
        free(tl);
        return NULL;
    }
    return tl;
}

/* Frees a transaction now: timers off, out of the hash, TU told, slot released. */
static void sip_txn_destroy(sip_txn_layer_t *tl, sip_txn_t *txn)
{
    sip_timer_cancel(&tl->timers, &txn->t_retx);
    sip_timer_cancel(&tl->timers, &txn->t_life);
    sip_txn_table_unlink(&tl->table, txn);
    txn->state = SIP_TXN_S_TERMINATED;
    if (tl->tu.on_terminated)
        tl->tu.on_terminated(tl->tu.ctx, txn->id, txn->tu_data);
    sip_txn_table_release(&tl->table, txn);
}

void sip_txn_layer_free(sip_txn_layer_t *tl)
{
    if (!tl)
        return;
    sip_txn_t *txn;
    while ((txn = sip_txn_table_any(&tl->table)) != NULL)
        sip_txn_destroy(tl, txn);
    sip_timers_free(&tl->timers);
    sip_txn_table_free(&tl->table);
    free(tl->scratch);
    free(tl->scratch2);
    free(tl);
}

static bool sip_txn_is_client(const sip_txn_t *txn)
{
    return txn->kind == SIP_TXN_CLIENT_INVITE || txn->kind == SIP_TXN_CLIENT_NON_INVITE;
}

static sip_txn_t *sip_txn_new(sip_txn_layer_t *tl, sip_txn_kind_t kind, const sip_txn_key_t *key)
{
    sip_txn_t *txn = sip_txn_table_alloc(&tl->table);
    if (!txn)
        return NULL;
    txn->kind = kind;
    if (sip_txn_skey_set(&txn->key, key) < 0) {
        sip_txn_table_release(&tl->table, txn);
        return NULL;
    }
    sip_timer_init(&txn->t_retx, txn->id, SIP_TXN_TIMER_RETX);
    sip_timer_init(&txn->t_life, txn->id, SIP_TXN_TIMER_LIFE);
    sip_txn_table_link(&tl->table, txn);
    return txn;
}

/* ---- receiving ---- */

static void sip_txn_recv_response(sip_txn_layer_t *tl, sip_msg_t *msg, const sip_addr_t *src)
{
    sip_txn_key_t key;
    sip_txn_t *txn = NULL;
    if (sip_txn_key_client(msg, &key) == SIP_KEY_OK)
        txn = sip_txn_table_find(&tl->table, &key);
    if (txn) {
        sip_txn_client_on_response(tl, txn, msg);
        return;
    }
    log_debug(SIP_TXN_LOG, "response %d matches no transaction", msg->status);
    if (tl->tu.on_stray_response)
        tl->tu.on_stray_response(tl->tu.ctx, msg, src);
}

/* §17.2.3 without the cookie is not supported: answer 400 statelessly (never for an ACK) and log it. */
static void sip_txn_refuse(sip_txn_layer_t *tl, sip_msg_t *req, const sip_addr_t *src, const char *why)
{
    log_info(SIP_TXN_LOG, "refusing %.*s: %s", req->method_str.len, req->method_str.s, why);
    if (req->method == SIP_METHOD_ACK)
        return;
    char out[SIP_TXN_REFUSE_MAX], warn[160];
    snprintf(warn, sizeof warn, "Warning: 399 mihua \"%s\"\r\n", why);
    sip_reply_opts_t o = {.extra = warn};
    sip_txn_t tmp = {.id = SIP_TXN_ID_NONE};
    int n = sip_reply_build(req, 400, "Bad Request", &o, out, sizeof out);
    if (n > 0 && sip_addr_resp_dest(req, src, &tmp.peer) == 0)
        (void)sip_txn_send(tl, &tmp, out, (size_t)n);
}

/* Nothing can answer a request when no transaction can hold the answer: count it, say so once a second. */
static void sip_txn_note_drop(sip_txn_layer_t *tl, const sip_msg_t *req)
{
    uint64_t now = sip_txn_now(tl);
    tl->dropped++;
    if (tl->drop_log_ms != 0 && now - tl->drop_log_ms < SIP_TXN_DROP_LOG_MS)
        return;
    log_warn(SIP_TXN_LOG,
             "transaction table full (%u) or no memory: %" PRIu64 " requests dropped unanswered since the last "
             "report (%" PRIu64 " in all; last %.*s)",
             tl->conf.max_txns, tl->dropped - tl->dropped_logged, tl->dropped, req->method_str.len, req->method_str.s);
    tl->dropped_logged = tl->dropped;
    tl->drop_log_ms = now ? now : 1;
}

static void sip_txn_recv_new_request(sip_txn_layer_t *tl, sip_msg_t *req, const sip_addr_t *src,
                                     const sip_txn_key_t *key)
{
    if (req->method == SIP_METHOD_ACK) { /* the ACK of a 2xx: end to end, no transaction (§17.1.1.3) */
        if (tl->tu.on_request)
            tl->tu.on_request(tl->tu.ctx, SIP_TXN_ID_NONE, req, src);
        return;
    }
    sip_txn_kind_t kind = req->method == SIP_METHOD_INVITE ? SIP_TXN_SERVER_INVITE : SIP_TXN_SERVER_NON_INVITE;
    sip_addr_t peer;
    if (sip_addr_resp_dest(req, src, &peer) < 0)
        return;
    if (tl->tu.on_admit && !tl->tu.on_admit(tl->tu.ctx, req, src))
        return;
    sip_txn_t *txn = sip_txn_new(tl, kind, key);
    if (!txn) {
        sip_txn_note_drop(tl, req);
        return;
    }
    txn->peer = peer;
    txn->state = kind == SIP_TXN_SERVER_INVITE ? SIP_TXN_S_PROCEEDING : SIP_TXN_S_TRYING;
    if (tl->tu.on_request)
        tl->tu.on_request(tl->tu.ctx, txn->id, req, src);
}

static void sip_txn_recv_request(sip_txn_layer_t *tl, sip_msg_t *req, const sip_addr_t *src)
{
    sip_txn_key_t key;
    switch (sip_txn_key_request(req, &key)) {
    case SIP_KEY_OK:
        break;
    case SIP_KEY_NO_COOKIE:
        sip_txn_refuse(tl, req, src, "RFC 2543 transaction (Via branch without z9hG4bK) not supported");
        return;
    case SIP_KEY_TOO_LONG:
        sip_txn_refuse(tl, req, src, "Via branch, sent-by or method too long");
        return;
    default:
        log_info(SIP_TXN_LOG, "request without a usable Via dropped");
        return;
    }
    sip_txn_t *txn = sip_txn_table_find(&tl->table, &key);
    if (txn)
        sip_txn_server_on_request(tl, txn, req, src);
    else
        sip_txn_recv_new_request(tl, req, src, &key);
}

void sip_txn_recv(sip_txn_layer_t *tl, sip_msg_t *msg, const sip_addr_t *src)
{
    if (!tl || !msg || !src || msg->err != SIP_OK)
        return;
    if (msg->is_request)
        sip_txn_recv_request(tl, msg, src);
    else
        sip_txn_recv_response(tl, msg, src);
}

/* ---- TU calls ---- */

int sip_txn_client_start(sip_txn_layer_t *tl, const char *req, size_t len, const sip_addr_t *dst, void *tu_data,
                         sip_txn_id_t *id)
{
    if (!tl || !req || !dst || len > SIP_MAX_MSG_SIZE)
        return -1;
    sip_msg_t *m = tl->scratch;
    sip_txn_key_t key;
    if (sip_msg_parse(m, req, len, SIP_TP_DGRAM) != SIP_OK || sip_msg_check(m) != SIP_OK || !m->is_request ||
        m->method == SIP_METHOD_ACK || sip_txn_key_client(m, &key) != SIP_KEY_OK) {
        log_warn(SIP_TXN_LOG, "client transaction refused: request unparsable, an ACK, or branch without cookie");
        return -1;
    }
    if (sip_txn_table_find(&tl->table, &key)) {
        log_warn(SIP_TXN_LOG, "client transaction refused: branch %.*s already in use", key.branch_len, key.branch);
        return -1;
    }
    sip_txn_kind_t kind = m->method == SIP_METHOD_INVITE ? SIP_TXN_CLIENT_INVITE : SIP_TXN_CLIENT_NON_INVITE;
    sip_txn_t *txn = sip_txn_new(tl, kind, &key);
    if (!txn)
        return -1;
    txn->peer = *dst;
    txn->tu_data = tu_data;
    if (sip_txn_store(&txn->req, &txn->req_len, req, len) < 0 || sip_txn_send(tl, txn, req, len) < 0) {
        txn->tu_data = NULL;
        sip_timer_cancel(&tl->timers, &txn->t_life);
        sip_txn_table_release(&tl->table, txn); /* never reported to the TU: no on_terminated */
        return -1;
    }
    sip_txn_client_begin(tl, txn);
    if (id)
        *id = txn->id;
    return 0;
}

/* Status code of a response's first line "SIP/2.0 NNN ...", or -1. */
static int sip_txn_status_of(const char *buf, size_t len)
{
    static const char prefix[] = "SIP/2.0 ";
    size_t p = sizeof prefix - 1;
    if (len < p + 3 || memcmp(buf, prefix, p) != 0)
        return -1;
    int code = 0;
    for (size_t i = p; i < p + 3; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return -1;
        code = code * 10 + (buf[i] - '0');
    }
    if (len > p + 3 && buf[p + 3] != ' ')
        return -1;
    return code >= 100 && code <= 699 ? code : -1;
}

int sip_txn_respond(sip_txn_layer_t *tl, sip_txn_id_t id, const char *resp, size_t len)
{
    sip_txn_t *txn = tl ? sip_txn_table_get(&tl->table, id) : NULL;
    int status = resp ? sip_txn_status_of(resp, len) : -1;
    if (!txn || sip_txn_is_client(txn) || status < 0 || len > SIP_MAX_MSG_SIZE)
        return -1;
    return sip_txn_server_respond(tl, txn, status, resp, len);
}

int sip_txn_abandon(sip_txn_layer_t *tl, sip_txn_id_t id)
{
    sip_txn_t *txn = tl ? sip_txn_table_get(&tl->table, id) : NULL;
    if (!txn || !sip_txn_is_client(txn))
        return -1;
    if (txn->state != SIP_TXN_S_TERMINATED)
        sip_txn_end(tl, txn);
    return 0;
}

sip_txn_id_t sip_txn_find_invite(sip_txn_layer_t *tl, sip_msg_t *cancel)
{
    sip_txn_key_t key;
    if (!tl || !cancel || cancel->method != SIP_METHOD_CANCEL || sip_txn_key_request(cancel, &key) != SIP_KEY_OK)
        return SIP_TXN_ID_NONE;
    memcpy(key.method, "INVITE", 6);
    key.method_len = 6;
    sip_txn_t *txn = sip_txn_table_find(&tl->table, &key);
    return txn ? txn->id : SIP_TXN_ID_NONE;
}

int sip_txn_set_tu_data(sip_txn_layer_t *tl, sip_txn_id_t id, void *tu_data)
{
    sip_txn_t *txn = tl ? sip_txn_table_get(&tl->table, id) : NULL;
    if (!txn)
        return -1;
    txn->tu_data = tu_data;
    return 0;
}

void *sip_txn_get_tu_data(sip_txn_layer_t *tl, sip_txn_id_t id)
{
    sip_txn_t *txn = tl ? sip_txn_table_get(&tl->table, id) : NULL;
    return txn ? txn->tu_data : NULL;
}

sip_txn_state_t sip_txn_state(sip_txn_layer_t *tl, sip_txn_id_t id)
{
    sip_txn_t *txn = tl ? sip_txn_table_get(&tl->table, id) : NULL;
    return txn ? txn->state : SIP_TXN_S_NONE;
}

size_t sip_txn_count(const sip_txn_layer_t *tl)
{
    return tl ? tl->table.count : 0;
}

size_t sip_txn_capacity(const sip_txn_layer_t *tl)
{
    return tl ? tl->conf.max_txns : 0;
}

uint64_t sip_txn_dropped(const sip_txn_layer_t *tl)
{
    return tl ? tl->dropped : 0;
}

void sip_txn_trim(sip_txn_layer_t *tl)
{
    if (!tl)
        return;
    sip_txn_table_trim(&tl->table);
    sip_timers_trim(&tl->timers);
}

/* ---- timers ---- */

void sip_txn_tick(sip_txn_layer_t *tl)
{
    if (!tl)
        return;
    uint64_t now = sip_txn_now(tl);
    sip_timer_t *tm;
    while ((tm = sip_timers_pop_due(&tl->timers, now)) != NULL) {
        sip_txn_t *txn = sip_txn_table_get(&tl->table, tm->owner);
        if (!txn)
            continue; /* cannot happen: timers are cancelled before release */
        if (txn->state == SIP_TXN_S_TERMINATED && tm->kind == SIP_TXN_TIMER_LIFE)
            sip_txn_destroy(tl, txn);
        else if (sip_txn_is_client(txn))
            sip_txn_client_on_timer(tl, txn, tm->kind);
        else
            sip_txn_server_on_timer(tl, txn, tm->kind);
    }
    /* The driver re-reads the deadline after a tick; later arms wake it only when earlier than that. */
    if (!sip_timers_next(&tl->timers, &tl->announced_due))
        tl->announced_due = SIP_TXN_NO_DUE;
}

bool sip_txn_next_deadline(const sip_txn_layer_t *tl, uint64_t *due_ms)
{
    return tl && sip_timers_next(&tl->timers, due_ms);
}

int sip_txn_branch_new(sip_txn_layer_t *tl, char *out, size_t cap)
{
    if (!tl || !out)
        return -1;
    uint64_t n = ++tl->branch_counter;
    int len = snprintf(out, cap, "z9hG4bK%016" PRIx64 "%" PRIx64, tl->branch_seed, n);
    return len > 0 && (size_t)len < cap ? len : -1;
}
