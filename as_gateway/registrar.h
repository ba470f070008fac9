/*
 * registrar — the AS's location service: REGISTER processing per RFC 3261 §10.3 and lookups for the proxy.
 *
 *   registrar_t *r = registrar_new(REG_MAX_AORS_DEFAULT);
 *   reg_result_t res;
 *   registrar_process(r, req, &src, now_ms, &res);   // res.status, res.reason, res.extra (Contact / Min-Expires)
 *   const reg_binding_t *b = registrar_lookup(r, "tel:+15550000002", now_ms);
 *
 * Bindings are keyed by a normalised address-of-record (registrar_aor_key): a global number in a sip: URI's user
 * part and a tel: URI name the same AOR, so an INVITE to tel:+1555... finds sip:+1555...@domain. Each binding
 * keeps its Contact URI, its feature parameters (RFC 3840, notably +u.mihua.voenc), the source address the
 * REGISTER came from (the proxy trusts a caller only from there, DESIGN §2, and sends to it: NAT friendly), its
 * Call-ID/CSeq (§10.3 step 7) and its absolute expiry. Time is passed in by the caller, so tests use a fake clock.
 *
 * The registrar itself does not authenticate: the proxy runs sip_auth (RFC 3261 §22) first and hands over only
 * REGISTERs whose credentials hold for the To AOR. What it bounds: bindings per AOR (REG_MAX_BINDINGS), AORs in
 * memory (max_aors) and AORs bound from one source IP address (registrar_set_source_cap), so that one address,
 * even with valid credentials for many subscribers, cannot fill the table. Every binding change is logged with
 * the address it came from.
 */
#ifndef MIHUA_AS_REGISTRAR_H
#define MIHUA_AS_REGISTRAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip/sip_msg.h"
#include "sip/sip_transport_addr.h"

#define REG_DEFAULT_EXPIRES 3600    /* §10.2.1.1: a registrar's default when the UA gives no expiry */
#define REG_MIN_EXPIRES 60          /* shorter registrations are refused with 423 (§10.3 step 6, §20.23) */
#define REG_MAX_EXPIRES 86400       /* longer ones are shortened: a day bounds stale bindings of vanished UEs */
#define REG_MAX_BINDINGS 8          /* contacts per AOR (a UE registers one or two); more are refused, 503 */
#define REG_MAX_AORS_DEFAULT 200000 /* AORs in memory: an operator test core, not a national HSS */
#define REG_MAX_AORS_PER_SOURCE_DEFAULT \
    1000                    /* AORs bound from one IP address: a UE binds one, an enterprise PBX
                                                or a loopback lab a few hundred */
#define REG_AOR_MAX 256     /* normalised AOR bytes */
#define REG_URI_MAX 512     /* Contact URI bytes kept */
#define REG_PARAMS_MAX 256  /* Contact header parameters kept (feature tags) */
#define REG_CALL_ID_MAX 256 /* Call-ID bytes kept for §10.3 step 7 */
#define REG_EXTRA_MAX (REG_MAX_BINDINGS * (REG_URI_MAX + REG_PARAMS_MAX + 48)) /* 200 OK Contact lines */

#define REG_FEATURE_VOENC "+u.mihua.voenc" /* DESIGN §2 capability indicator */

typedef struct {
    char uri[REG_URI_MAX];       /* Contact addr-spec as received */
    char params[REG_PARAMS_MAX]; /* Contact header params without expires/q (";+u.mihua.voenc"...), "" when none */
    bool voenc;                  /* params carry +u.mihua.voenc */
    sip_addr_t src;              /* where the REGISTER came from (IP, port, transport, TCP connection) */
    uint64_t expires_at_ms;
    uint64_t registered_ms; /* last refresh; the newest binding is the one a call goes to */
    char call_id[REG_CALL_ID_MAX];
    uint32_t cseq;
} reg_binding_t;

typedef struct {
    int status;                /* 200, 400, 403, 423, 500, 503 */
    const char *reason;        /* reason phrase (static) */
    char extra[REG_EXTRA_MAX]; /* header lines ending in CRLF for the response, "" when none */
    bool source_capped;        /* refused (403) because the source address holds its cap of AORs */
} reg_result_t;

typedef struct registrar registrar_t;
/* Called with the AOR key when an AOR's last binding goes (Expires 0, "Contact: *", expiry swept). */
typedef void (*registrar_gone_fn)(void *ud, const char *aor_key);

registrar_t *registrar_new(size_t max_aors);
void registrar_free(registrar_t *r);
/* AORs that may hold bindings from one source IP address (0: REG_MAX_AORS_PER_SOURCE_DEFAULT). A REGISTER that
 * would bind one more AOR from an address at its cap is refused with 403. */
void registrar_set_source_cap(registrar_t *r, size_t max_aors_per_source);
/* Who is told when an AOR's last binding goes (NULL: nobody). registrar_free() tells nobody. */
void registrar_set_on_gone(registrar_t *r, registrar_gone_fn fn, void *ud);

/* Normalises an AOR: tel:+1555 and sip:+1-555@host both give "tel:+1555"; other sip/sips URIs give
 * "sip:user@host" (host lower-cased; port and parameters dropped). Returns 0, or -1 when the URI names no AOR. */
int registrar_aor_key(const sip_uri_t *uri, char *out, size_t cap);

/* Processes a checked REGISTER (§10.3 steps 4-8) received from src at now_ms. Always fills res; never fails. */
void registrar_process(registrar_t *r, sip_msg_t *req, const sip_addr_t *src, uint64_t now_ms, reg_result_t *res);

/* The most recently refreshed live binding of an AOR key, or NULL. Valid until the next registrar call. */
const reg_binding_t *registrar_lookup(registrar_t *r, const char *aor_key, uint64_t now_ms);
/* True when the AOR has a live binding registered from src (same transport, IP and port). */
bool registrar_has_source(registrar_t *r, const char *aor_key, const sip_addr_t *src, uint64_t now_ms);

/* Drops expired bindings and empty AORs; returns the bindings dropped. */
size_t registrar_sweep(registrar_t *r, uint64_t now_ms);
size_t registrar_binding_count(const registrar_t *r);
size_t registrar_aor_count(const registrar_t *r);
/* AORs holding a binding from the IP address `ip` (text, as sip_addr_ntop writes it). */
size_t registrar_source_aors(const registrar_t *r, const char *ip);

#endif
