/*
 * registrar — REGISTER processing (RFC 3261 §10.3) and the location service the proxy queries (§16.5).
 *
 * Storage: a chained hash table keyed by the normalised AOR (FNV-1a), one entry per AOR holding up to
 * REG_MAX_BINDINGS bindings inline. Expired bindings are invisible to lookups at once and freed by
 * registrar_sweep() (the daemon runs it on a timer), so a lookup never allocates or frees.
 *
 * §10.3 as implemented: step 4 the AOR is the To URI, normalised (tel and sip forms of one number are one AOR);
 * step 5 "Contact: *" needs Expires: 0 and no other Contact; step 6 expiry from the contact's expires parameter,
 * else the Expires header, else REG_DEFAULT_EXPIRES, below REG_MIN_EXPIRES (and not 0) refused with 423 and
 * Min-Expires, above REG_MAX_EXPIRES shortened; step 7 a binding with the same Call-ID and a CSeq not higher than
 * the stored one aborts the whole request with 500 (the request is processed atomically: validated first, then
 * applied); step 8 the 200 OK lists every current binding with its remaining expiry. Steps 1-2 (domain, Require)
 * are not done: the AS serves one test domain. Step 3 (authentication) is the proxy's, with sip_auth, before this
 * file sees the request.
 *
 * Sources: a second chained table counts, per source IP address, the AORs having a binding from it. It is kept
 * by recounting an AOR's distinct source addresses before and after each change to it (at most REG_MAX_BINDINGS
 * compares), which keeps every path that adds, refreshes, removes or sweeps bindings trivially in step.
 * Contact URIs compare as case-insensitive strings rather than by §19.1.4 URI equality: a UE re-registers with
 * the same bytes, and the worst case of a mismatch is one extra binding until it expires.
 */
#include "registrar.h"

#include <ctype.h>
#include <stdio.h>

#include "core/log.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REG_BUCKETS 65536u    /* power of two; chains stay short up to a few hundred thousand AORs */
#define REG_SRC_BUCKETS 4096u /* source addresses: far fewer than AORs */
#define REG_LOG "registrar"

typedef struct reg_aor {
    struct reg_aor *next;
    char key[REG_AOR_MAX];
    reg_binding_t b[REG_MAX_BINDINGS];
    int n;
} reg_aor_t;

/* AORs bound from one source IP address. */
typedef struct reg_src {
    struct reg_src *next;
    char ip[SIP_ADDR_TEXT_MAX];
    size_t aors;
} reg_src_t;

struct registrar {
    reg_aor_t **buckets;
    reg_src_t **src_buckets;
    size_t max_aors, n_aors, n_bindings;
    size_t max_per_source;
    registrar_gone_fn on_gone; /* told when an AOR's last binding goes */
    void *on_gone_ud;
};

/* One Contact of a REGISTER after validation: what step 7 will do with it. */
typedef struct {
    const sip_naddr_t *na;
    uint32_t expires; /* seconds, 0 = remove */
} reg_plan_t;

registrar_t *registrar_new(size_t max_aors)
{
    registrar_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->buckets = calloc(REG_BUCKETS, sizeof *r->buckets);
    r->src_buckets = calloc(REG_SRC_BUCKETS, sizeof *r->src_buckets);
    if (!r->buckets || !r->src_buckets) {
        free(r->buckets);
        free(r->src_buckets);
        free(r);
        return NULL;
    }
    r->max_aors = max_aors ? max_aors : REG_MAX_AORS_DEFAULT;
    r->max_per_source = REG_MAX_AORS_PER_SOURCE_DEFAULT;
    return r;
}

void registrar_set_source_cap(registrar_t *r, size_t max_aors_per_source)
{
    r->max_per_source = max_aors_per_source ? max_aors_per_source : REG_MAX_AORS_PER_SOURCE_DEFAULT;
}

void registrar_set_on_gone(registrar_t *r, registrar_gone_fn fn, void *ud)
{
    r->on_gone = fn;
    r->on_gone_ud = ud;
}

/* The AOR's last binding went (removed, "Contact: *" or expired): whoever kept state for the user lets it go. */
static void reg_gone(const registrar_t *r, const char *key)
{
    if (r->on_gone)
        r->on_gone(r->on_gone_ud, key);
}

void registrar_free(registrar_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < REG_BUCKETS; i++) {
        reg_aor_t *a = r->buckets[i];
        while (a) {
            reg_aor_t *next = a->next;
            free(a);
            a = next;
        }
    }
    for (size_t i = 0; i < REG_SRC_BUCKETS; i++) {
        reg_src_t *s = r->src_buckets[i];
        while (s) {
            reg_src_t *next = s->next;
            free(s);
            s = next;
        }
    }
    free(r->buckets);
    free(r->src_buckets);
    free(r);
}

/* ---------------------------------------------------------------- AOR keys */

/* A global number (RFC 3966 §5.1.4): '+' then digits, visual separators dropped. Returns its length or -1. */
static int reg_global_number(sip_str_t s, char *out, size_t cap)
{
    if (!s.s || s.len < 2 || s.s[0] != '+')
        return -1;
    size_t n = 0;
    out[n++] = '+';
    for (int i = 1; i < s.len; i++) {
        char c = s.s[i];
        if (c == '-' || c == '.' || c == '(' || c == ')')
            continue;
        if (!isdigit((unsigned char)c) || n + 1 >= cap)
            return -1;
        out[n++] = c;
    }
    out[n] = '\0';
    return n > 1 ? (int)n : -1;
}

/* The user part without user parameters (";npdi", ";isub=..."). */
static sip_str_t reg_user_no_params(sip_str_t user)
{
    for (int i = 0; i < user.len; i++)
        if (user.s[i] == ';')
            return (sip_str_t){user.s, i};
    return user;
}

int registrar_aor_key(const sip_uri_t *uri, char *out, size_t cap)
{
    char num[REG_AOR_MAX];
    if (!uri || cap < 8)
        return -1;
    if (uri->scheme == SIP_URI_TEL) {
        sip_str_t user = reg_user_no_params(uri->user);
        if (reg_global_number(user, num, sizeof num) > 0)
            return snprintf(out, cap, "tel:%s", num) < (int)cap ? 0 : -1;
        if (user.len <= 0)
            return -1;
        return snprintf(out, cap, "tel:%.*s", user.len, user.s) < (int)cap ? 0 : -1; /* local number: as is */
    }
    if (uri->scheme != SIP_URI_SIP && uri->scheme != SIP_URI_SIPS)
        return -1;
    if (!uri->host.s || uri->host.len == 0)
        return -1;
    sip_str_t user = reg_user_no_params(uri->user);
    if (reg_global_number(user, num, sizeof num) > 0)
        return snprintf(out, cap, "tel:%s", num) < (int)cap ? 0 : -1;
    int n = user.len > 0 ? snprintf(out, cap, "sip:%.*s@%.*s", user.len, user.s, uri->host.len, uri->host.s)
                         : snprintf(out, cap, "sip:%.*s", uri->host.len, uri->host.s);
    if (n < 0 || n >= (int)cap)
        return -1;
    for (char *h = strrchr(out, '@') ? strrchr(out, '@') : out + 4; *h; h++) /* host is case-insensitive */
        *h = (char)tolower((unsigned char)*h);
    return 0;
}

/* ---------------------------------------------------------------- table */

static uint32_t reg_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 16777619u;
    }
    return h & (REG_BUCKETS - 1);
}

/* ---------------------------------------------------------------- source addresses */

static void reg_ip(const sip_addr_t *a, char ip[SIP_ADDR_TEXT_MAX], int *port)
{
    int p = 0;
    if (sip_addr_ntop(a, ip, SIP_ADDR_TEXT_MAX, &p) != 0)
        snprintf(ip, SIP_ADDR_TEXT_MAX, "?");
    if (port)
        *port = p;
}

static reg_src_t **reg_src_slot(const registrar_t *r, const char *ip)
{
    reg_src_t **pp = &r->src_buckets[reg_hash(ip) & (REG_SRC_BUCKETS - 1)];
    while (*pp && strcmp((*pp)->ip, ip) != 0)
        pp = &(*pp)->next;
    return pp;
}

/* Adds delta to the AOR count of ip; entries come and go with their count. */
static void reg_src_add(registrar_t *r, const char *ip, int delta)
{
    reg_src_t **pp = reg_src_slot(r, ip);
    if (!*pp) {
        if (delta < 0 || !(*pp = calloc(1, sizeof **pp)))
            return; /* out of memory: the address goes uncounted, the binding still works */
        memcpy((*pp)->ip, ip, strnlen(ip, sizeof(*pp)->ip - 1)); /* calloc'ed: stays terminated */
    }
    reg_src_t *s = *pp;
    s->aors = delta < 0 && s->aors == 0 ? 0 : (size_t)((long)s->aors + delta);
    if (s->aors == 0) {
        *pp = s->next;
        free(s);
    }
}

/* Adds delta for each distinct source IP among a's bindings: -1 before changing a, +1 after. */
static void reg_src_adjust(registrar_t *r, const reg_aor_t *a, int delta)
{
    char ips[REG_MAX_BINDINGS][SIP_ADDR_TEXT_MAX];
    for (int i = 0; a && i < a->n; i++) {
        reg_ip(&a->b[i].src, ips[i], NULL);
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(ips[j], ips[i]) == 0;
        if (!seen)
            reg_src_add(r, ips[i], delta);
    }
}

static bool reg_aor_has_ip(const reg_aor_t *a, const char *ip)
{
    char b_ip[SIP_ADDR_TEXT_MAX];
    for (int i = 0; a && i < a->n; i++) {
        reg_ip(&a->b[i].src, b_ip, NULL);
        if (strcmp(b_ip, ip) == 0)
            return true;
    }
    return false;
}

size_t registrar_source_aors(const registrar_t *r, const char *ip)
{
    reg_src_t *s = *reg_src_slot(r, ip);
    return s ? s->aors : 0;
}

static reg_aor_t *reg_find(registrar_t *r, const char *key)
{
    for (reg_aor_t *a = r->buckets[reg_hash(key)]; a; a = a->next)
        if (strcmp(a->key, key) == 0)
            return a;
    return NULL;
}

static reg_aor_t *reg_create(registrar_t *r, const char *key)
{
    if (r->n_aors >= r->max_aors)
        return NULL;
    reg_aor_t *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    snprintf(a->key, sizeof a->key, "%s", key);
    uint32_t h = reg_hash(key);
    a->next = r->buckets[h];
    r->buckets[h] = a;
    r->n_aors++;
    return a;
}

static void reg_unlink(registrar_t *r, reg_aor_t *a)
{
    reg_src_adjust(r, a, -1);
    for (reg_aor_t **pp = &r->buckets[reg_hash(a->key)]; *pp; pp = &(*pp)->next)
        if (*pp == a) {
            *pp = a->next;
            r->n_aors--;
            r->n_bindings -= (size_t)a->n;
            reg_gone(r, a->key);
            free(a);
            return;
        }
}

static void reg_remove_binding(registrar_t *r, reg_aor_t *a, int i)
{
    a->b[i] = a->b[a->n - 1];
    a->n--;
    r->n_bindings--;
}

static bool reg_live(const reg_binding_t *b, uint64_t now_ms)
{
    return b->expires_at_ms > now_ms;
}

static int reg_find_binding(const reg_aor_t *a, sip_str_t uri)
{
    for (int i = 0; a && i < a->n; i++)
        if ((int)strlen(a->b[i].uri) == uri.len && strncasecmp(a->b[i].uri, uri.s, (size_t)uri.len) == 0)
            return i;
    return -1;
}

/* ---------------------------------------------------------------- REGISTER */

static void reg_fail(reg_result_t *res, int status, const char *reason)
{
    res->status = status;
    res->reason = reason;
    res->extra[0] = '\0';
}

static bool reg_same_call(const reg_binding_t *b, sip_str_t call_id)
{
    return (int)strlen(b->call_id) == call_id.len && memcmp(b->call_id, call_id.s, (size_t)call_id.len) == 0;
}

/* §10.3 step 6: the contact's expires parameter, else the Expires header, else the default. */
static uint32_t reg_expiry(const sip_msg_t *req, const sip_naddr_t *na)
{
    sip_str_t v;
    uint32_t e;
    if (sip_param_get(na->params, "expires", &v) && sip_str_to_u32(v, UINT32_MAX, &e) == 0)
        return e;
    if (req->expires_hdr >= 0)
        return req->expires;
    return REG_DEFAULT_EXPIRES;
}

/* The contact's header parameters without expires and q, which the registrar owns. */
static void reg_copy_params(sip_str_t params, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    int i = 0;
    while (params.s && i < params.len) {
        while (i < params.len && params.s[i] == ';')
            i++;
        int start = i;
        while (i < params.len && params.s[i] != ';')
            i++;
        int len = i - start, name_len = 0;
        while (name_len < len && params.s[start + name_len] != '=')
            name_len++;
        sip_str_t name = {params.s + start, name_len};
        if (len == 0 || sip_str_ieq(name, "expires") || sip_str_ieq(name, "q"))
            continue;
        if (n + (size_t)len + 2 > cap)
            break; /* bounded: a parameter that does not fit is dropped, the binding stays */
        out[n++] = ';';
        memcpy(out + n, params.s + start, (size_t)len);
        n += (size_t)len;
        out[n] = '\0';
    }
}

static void reg_store(reg_binding_t *b, const sip_msg_t *req, const sip_naddr_t *na, const sip_addr_t *src,
                      uint32_t expires, uint64_t now_ms)
{
    sip_str_copy(na->uri_raw, b->uri, sizeof b->uri);
    reg_copy_params(na->params, b->params, sizeof b->params);
    b->voenc = sip_param_get(na->params, REG_FEATURE_VOENC, NULL);
    b->src = *src;
    b->registered_ms = now_ms;
    b->expires_at_ms = now_ms + (uint64_t)expires * 1000u;
    sip_str_copy(req->call_id, b->call_id, sizeof b->call_id);
    b->cseq = req->cseq.num;
}

/* §10.3 step 8: every current binding with its remaining time. */
static void reg_list_bindings(const reg_aor_t *a, uint64_t now_ms, reg_result_t *res)
{
    size_t off = 0;
    res->extra[0] = '\0';
    for (int i = 0; a && i < a->n; i++) {
        const reg_binding_t *b = &a->b[i];
        if (!reg_live(b, now_ms))
            continue;
        uint64_t left = (b->expires_at_ms - now_ms + 999u) / 1000u;
        int n = snprintf(res->extra + off, sizeof res->extra - off, "Contact: <%s>%s;expires=%llu\r\n", b->uri,
                         b->params, (unsigned long long)left);
        if (n < 0 || (size_t)n >= sizeof res->extra - off) {
            res->extra[off] = '\0';
            return;
        }
        off += (size_t)n;
    }
}

/* "Contact: *" (§10.3 step 6, first bullet): remove every binding unless step 7 says the request is stale. */
static void reg_remove_all(registrar_t *r, const char *key, sip_msg_t *req, const sip_addr_t *src, reg_result_t *res)
{
    if (req->ncontact != 1 || req->expires_hdr < 0 || req->expires != 0) {
        reg_fail(res, 400, "Bad Request (Contact * needs Expires: 0 and no other Contact)");
        return;
    }
    reg_aor_t *a = reg_find(r, key);
    for (int i = 0; a && i < a->n; i++)
        if (reg_same_call(&a->b[i], req->call_id) && req->cseq.num <= a->b[i].cseq) {
            reg_fail(res, 500, "Server Internal Error (CSeq out of order)");
            return;
        }
    if (a) {
        char ip[SIP_ADDR_TEXT_MAX];
        int port;
        reg_ip(src, ip, &port);
        log_info(REG_LOG, "unbound %s all %d contacts (Contact: *) from %s:%d", key, a->n, ip, port);
        reg_unlink(r, a);
    }
    res->status = 200;
    res->reason = "OK";
    res->extra[0] = '\0';
}

/* Validates every Contact before anything changes (bindings are committed all or none). Returns 0 or fills res. */
static int reg_validate(const reg_aor_t *a, sip_msg_t *req, reg_plan_t *plan, reg_result_t *res)
{
    int adds = 0, removes = 0;
    for (int i = 0; i < req->ncontact; i++) {
        const sip_naddr_t *na = &req->contact[i];
        if (na->star || na->uri_raw.len <= 0 || na->uri_raw.len >= REG_URI_MAX) {
            reg_fail(res, 400, "Bad Request (Contact)");
            return -1;
        }
        uint32_t e = reg_expiry(req, na);
        if (e != 0 && e < REG_MIN_EXPIRES) {
            reg_fail(res, 423, "Interval Too Brief");
            snprintf(res->extra, sizeof res->extra, "Min-Expires: %u\r\n", REG_MIN_EXPIRES);
            return -1;
        }
        plan[i] = (reg_plan_t){na, e > REG_MAX_EXPIRES ? REG_MAX_EXPIRES : e};
        int idx = reg_find_binding(a, na->uri_raw);
        if (idx >= 0 && reg_same_call(&a->b[idx], req->call_id) && req->cseq.num <= a->b[idx].cseq) {
            reg_fail(res, 500, "Server Internal Error (CSeq out of order)");
            return -1;
        }
        if (idx < 0 && e != 0)
            adds++;
        else if (idx >= 0 && e == 0)
            removes++;
    }
    if ((a ? a->n : 0) + adds - removes > REG_MAX_BINDINGS) {
        reg_fail(res, 503, "Service Unavailable (too many bindings)");
        return -1;
    }
    return 0;
}

/* Commits the plan; every change is logged with the source (never credentials: none reach this file). */
static void reg_apply(registrar_t *r, reg_aor_t *a, sip_msg_t *req, const sip_addr_t *src, const reg_plan_t *plan,
                      uint64_t now_ms)
{
    char ip[SIP_ADDR_TEXT_MAX];
    int port;
    reg_ip(src, ip, &port);
    reg_src_adjust(r, a, -1);
    for (int i = 0; i < req->ncontact; i++) {
        int idx = reg_find_binding(a, plan[i].na->uri_raw);
        sip_str_t uri = plan[i].na->uri_raw;
        if (plan[i].expires == 0) {
            if (idx >= 0) {
                reg_remove_binding(r, a, idx);
                log_info(REG_LOG, "unbound %s contact=%.*s from %s:%d", a->key, uri.len, uri.s, ip, port);
            }
            continue;
        }
        if (idx < 0) {
            idx = a->n++;
            r->n_bindings++;
        }
        reg_store(&a->b[idx], req, plan[i].na, src, plan[i].expires, now_ms);
        log_info(REG_LOG, "bound %s contact=%.*s from %s:%d expires=%u", a->key, uri.len, uri.s, ip, port,
                 plan[i].expires);
    }
    reg_src_adjust(r, a, +1);
}

/* One more AOR from an address at its cap is refused: the table is not one address's to fill. */
static int reg_check_source(registrar_t *r, const reg_aor_t *a, const sip_addr_t *src, reg_result_t *res)
{
    char ip[SIP_ADDR_TEXT_MAX];
    reg_ip(src, ip, NULL);
    if (reg_aor_has_ip(a, ip) || registrar_source_aors(r, ip) < r->max_per_source)
        return 0;
    reg_fail(res, 403, "Forbidden (too many registrations from this address)");
    res->source_capped = true;
    log_warn(REG_LOG, "refused %s from %s: the address holds %zu AORs (max_aors_per_source)", a ? a->key : "a new AOR",
             ip, registrar_source_aors(r, ip));
    return -1;
}

void registrar_process(registrar_t *r, sip_msg_t *req, const sip_addr_t *src, uint64_t now_ms, reg_result_t *res)
{
    char key[REG_AOR_MAX];
    reg_plan_t plan[SIP_MAX_CONTACTS];
    if (sip_parse_headers(req, SIP_HF_ALL) != SIP_OK || req->to.hdr < 0 || req->call_id_hdr < 0 || req->cseq_hdr < 0) {
        reg_fail(res, 400, "Bad Request");
        return;
    }
    if (registrar_aor_key(&req->to.uri, key, sizeof key) != 0) {
        reg_fail(res, 404, "Not Found (To URI names no address-of-record)");
        return;
    }
    res->source_capped = false;
    reg_aor_t *a = reg_find(r, key);
    reg_src_adjust(r, a, -1);
    for (int i = a ? a->n - 1 : -1; i >= 0; i--) /* this AOR's expired bindings must not count */
        if (!reg_live(&a->b[i], now_ms))
            reg_remove_binding(r, a, i);
    reg_src_adjust(r, a, +1);
    if (req->ncontact > 0 && req->contact[0].star) {
        reg_remove_all(r, key, req, src, res);
        return;
    }
    if (reg_validate(a, req, plan, res) != 0)
        return;
    bool adds = false;
    for (int i = 0; i < req->ncontact; i++)
        adds |= plan[i].expires != 0;
    if (adds && reg_check_source(r, a, src, res) != 0)
        return;
    if (!a && adds && !(a = reg_create(r, key))) {
        reg_fail(res, 503, "Service Unavailable (registrar full)");
        return;
    }
    if (a)
        reg_apply(r, a, req, src, plan, now_ms);
    res->status = 200;
    res->reason = "OK";
    reg_list_bindings(a, now_ms, res);
    if (a && a->n == 0)
        reg_unlink(r, a);
}

/* ---------------------------------------------------------------- lookups */

const reg_binding_t *registrar_lookup(registrar_t *r, const char *aor_key, uint64_t now_ms)
{
    const reg_aor_t *a = reg_find(r, aor_key);
    const reg_binding_t *best = NULL;
    for (int i = 0; a && i < a->n; i++)
        if (reg_live(&a->b[i], now_ms) && (!best || a->b[i].registered_ms > best->registered_ms))
            best = &a->b[i];
    return best;
}

bool registrar_has_source(registrar_t *r, const char *aor_key, const sip_addr_t *src, uint64_t now_ms)
{
    const reg_aor_t *a = reg_find(r, aor_key);
    for (int i = 0; a && i < a->n; i++)
        if (reg_live(&a->b[i], now_ms) && sip_addr_same(&a->b[i].src, src))
            return true;
    return false;
}

size_t registrar_sweep(registrar_t *r, uint64_t now_ms)
{
    size_t dropped = 0;
    for (size_t h = 0; h < REG_BUCKETS; h++) {
        reg_aor_t **pp = &r->buckets[h];
        while (*pp) {
            reg_aor_t *a = *pp;
            bool stale = false;
            for (int i = 0; i < a->n && !stale; i++)
                stale = !reg_live(&a->b[i], now_ms);
            if (stale)
                reg_src_adjust(r, a, -1);
            for (int i = a->n - 1; i >= 0; i--)
                if (!reg_live(&a->b[i], now_ms)) {
                    log_debug(REG_LOG, "expired %s contact=%s", a->key, a->b[i].uri);
                    reg_remove_binding(r, a, i);
                    dropped++;
                }
            if (stale)
                reg_src_adjust(r, a, +1);
            if (a->n == 0) {
                *pp = a->next;
                r->n_aors--;
                reg_gone(r, a->key);
                free(a);
            } else {
                pp = &a->next;
            }
        }
    }
    return dropped;
}

size_t registrar_binding_count(const registrar_t *r)
{
    return r->n_bindings;
}

size_t registrar_aor_count(const registrar_t *r)
{
    return r->n_aors;
}
