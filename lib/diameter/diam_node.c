/*
 * diam_node — one freeDiameter node per process, configured from diam_node_conf_t (see diam_node.h).
 *
 * Start-up, in the order freeDiameter requires:
 *   1. validate the settings: everything that ends up inside the generated file must be a plain token (identity,
 *      realm, address) or a path without quotes, so a setting can never inject configuration directives;
 *   2. render `fd.conf` (and `acl_wl.conf` when accept_realm is set) into a private mkdtemp() directory;
 *   3. route freeDiameter's logger into mihua's log, then fd_core_initialize() and fd_core_parseconf(), which loads
 *      dict_nasreq, dict_dcca, dict_dcca_3gpp (DESIGN §3) and acl_wl;
 *   4. sh_dict_init(), advertise Sh (auth, vendor 10415) with fd_disp_app_support() so CER/CEA carry
 *      Vendor-Specific-Application-Id{10415, 16777217} — without it a peer closes with NO_COMMON_APPLICATION;
 *   5. fd_core_start(), fd_core_waitstartcomplete().
 *
 * freeDiameter 1.2.1 facts this relies on (checked against the Debian build):
 *   - `Port = 0;` creates no listening socket at all (client-only node);
 *   - `SecPort = 0;` with no TLS_Cred is accepted: fd_conf_parse only demands a key when a TLS port or in-band TLS
 *     is configured, and then logs "TLS is disabled". So no throwaway certificate is generated; TLS_Cred is only
 *     written when the caller provides tls_cert and tls_key, with TLS_CA = tls_cert because 1.2.1 rejects a
 *     certificate whose issuer it does not know (a self-signed one is its own CA; for a CA-issued one, put the
 *     chain in that file);
 *   - `ListenOn` is parsed but TCP still binds 0.0.0.0 (we write it anyway, for the CER host addresses and for
 *     builds that honour it); TwTimer below 6 is refused by the parser, TcTimer down to 1 is accepted;
 *   - `AppServThreads` (dispatch threads, 4 by default) is 1 unless asked: at shutdown fd_fifo_del() wakes the
 *     threads waiting on the dispatch queue one per millisecond and asserts (aborting the process) after 20 tries
 *     (libfdproto/fifo.c; 200 in later releases), so each extra waiter is one more thread that must be scheduled
 *     within ~20 ms on a loaded machine. Our dispatch callbacks are short (decode, answer or hand to the loop);
 *   - `NoRelay;` makes this an end node: a request we do not handle is answered 3001/3002 instead of forwarded.
 *   - the listening socket's backlog is 5 and the CER deadline 20 s, both compiled in; what the configuration
 *     controls is `ThreadsPerServer`, the number of accepted connections waited on for their CER at once (default
 *     5: five silent connections kept every real peer out). We raise it (accept_workers).
 *   - peer validators (fd_peer_validate_register) run last-registered first, for peers not configured; ours is
 *     registered after acl_wl so it sees every CER first and refuses a peer claiming our own Diameter identity
 *     (freeDiameter itself would open the connection: 2001). freeDiameter answers the refusal with a CEA
 *     DIAMETER_UNKNOWN_PEER (3010) and closes.
 *   - a received request that breaks the ABNF rules (e.g. a UDR without User-Identity) never reaches the
 *     application: routing_dispatch.c runs fd_msg_parse_or_error(), which answers it itself (5005
 *     DIAMETER_MISSING_AVP with Failed-AVP, 5009 for too many occurrences, ...).
 *
 * Logging bridge: fd_log_handler_register() takes a plain function pointer without user data, so the bridge keeps
 * its two switches (fd_debug, stopping) in one documented static. freeDiameter's FATAL "shutdown sequence" line is
 * expected during diam_node_stop() and is logged at info then; its NOTICE lines (configuration dump, peer state
 * changes) go to debug; its DEBUG/ANNOYING lines only with fd_debug. On bad input freeDiameter dumps the whole
 * message at ERROR level, one indented line per AVP, values included (identities, Sh-Data): an indented line is a
 * dump line and goes to debug, and the hex of an unparsable buffer is cut from its WARN line.
 */
#include "diameter/diam_node.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>
#include <libxml/parser.h>

#include "core/log.h"

#ifndef MIHUA_FD_EXTENSION_DIR
#define MIHUA_FD_EXTENSION_DIR "/usr/lib/freeDiameter"
#endif

#define DIAM_LOG_MODULE "fd"
#define DIAM_LOG_LINE_MAX 1024 /* one freeDiameter log line; longer ones (message dumps) are cut */
#define DIAM_TOKEN_MAX 255     /* RFC 6733 DiameterIdentity fits in 255 octets */
#define DIAM_TC_DEFAULT 30     /* RFC 6733 §2.1 suggests 30 s between reconnection attempts */
#define DIAM_TW_DEFAULT 30     /* RFC 3539 §3.4.1 default watchdog */
#define DIAM_TW_MIN 6          /* RFC 3539: Tw must not be below 6 s; freeDiameter's parser enforces it */
#define DIAM_TC_MIN 1
#define DIAM_POLL_NS 20000000L /* 20 ms between peer-state checks in diam_node_wait_peer */
#define DIAM_CONF_NAME "fd.conf"
#define DIAM_ACL_NAME "acl_wl.conf"
#define DIAM_UNPARSABLE_PREFIX "Parsing error: cannot parse " /* freeDiameter's line that ends in the buffer's hex */

static const char *const DIAM_DICT_EXTENSIONS[] = {"dict_nasreq.fdx", "dict_dcca.fdx", "dict_dcca_3gpp.fdx"};

struct diam_node {
    char dir[PATH_MAX];          /* private temporary directory holding the generated files */
    bool started;                /* fd_core_start() succeeded */
    struct fd_hook_hdl *quiet;   /* our no-op hook for per-message events, NULL with fd_debug */
    struct fd_hook_hdl *connect; /* peer connected: Nagle off on the Diameter sockets */
};

/* The only process state here: freeDiameter's log callback and a signal handler have no user-data argument. */
static struct {
    atomic_bool fd_debug;              /* pass freeDiameter's DEBUG/ANNOYING lines */
    atomic_bool stopping;              /* diam_node_stop() in progress: FATAL "shutdown sequence" is expected */
    volatile sig_atomic_t exit_status; /* what the process exits with if the teardown asserts */
} g_fd_log;

/* ---------------------------------------------------------------- logging bridge */

/* "Parsing error: cannot parse 232B buffer from 'peer': 0100..." keeps its head; the bytes go only to debug. */
static void cut_buffer_hex(char *line)
{
    if (strncmp(line, DIAM_UNPARSABLE_PREFIX, sizeof DIAM_UNPARSABLE_PREFIX - 1) != 0)
        return;
    char *from = strstr(line, " from '");
    char *end = from ? strstr(from + 7, "': ") : NULL;
    if (end)
        snprintf(end + 1, DIAM_LOG_LINE_MAX - (size_t)(end + 1 - line), " (bytes at debug level)");
}

static void fd_log_bridge(int fd_level, const char *fmt, va_list ap)
{
    log_level_t lvl;
    if (fd_level >= FD_LOG_FATAL)
        lvl = atomic_load(&g_fd_log.stopping) ? LOG_LVL_INFO : LOG_LVL_ERROR;
    else if (fd_level >= FD_LOG_ERROR)
        lvl = LOG_LVL_WARN;
    else if (fd_level >= FD_LOG_NOTICE || atomic_load(&g_fd_log.fd_debug))
        lvl = LOG_LVL_DEBUG;
    else
        return;
    char line[DIAM_LOG_LINE_MAX];
    vsnprintf(line, sizeof line, fmt, ap);
    if (lvl < LOG_LVL_DEBUG && (line[0] == ' ' || line[0] == '\t'))
        lvl = LOG_LVL_DEBUG; /* a message dump line: AVP values of a peer's message stay out of the normal log */
    if (lvl > log_get_level())
        return;
    if (lvl < LOG_LVL_DEBUG)
        cut_buffer_hex(line);
    log_write(lvl, DIAM_LOG_MODULE, "%s", line);
}

static void log_bridge_install(bool fd_debug)
{
    atomic_store(&g_fd_log.fd_debug, fd_debug);
    atomic_store(&g_fd_log.stopping, false);
    fd_g_debug_lvl = fd_debug ? FD_LOG_ANNOYING : FD_LOG_NOTICE;
    (void)fd_log_handler_register(fd_log_bridge); /* EALREADY when already ours: fine */
}

/* ---------------------------------------------------------------- validation */

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* A DiameterIdentity, realm or address: letters, digits and ".-_:" only. */
static bool token_ok(const char *s)
{
    if (!s || !*s || strlen(s) > DIAM_TOKEN_MAX)
        return false;
    for (; *s; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                  c == '_' || c == ':';
        if (!ok)
            return false;
    }
    return true;
}

/* A path written inside a quoted string: no quote, backslash or control character. */
static bool path_ok(const char *s)
{
    if (!s || !*s || strlen(s) >= PATH_MAX)
        return false;
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

static bool port_ok(int port, bool zero_ok)
{
    return port <= 65535 && (port > 0 || (zero_ok && port == 0));
}

static int validate_peers(const diam_node_conf_t *c, char *err, size_t errlen)
{
    if (c->n_peers > DIAM_NODE_MAX_PEERS) {
        set_err(err, errlen, "too many Diameter peers (%zu, at most %d)", c->n_peers, DIAM_NODE_MAX_PEERS);
        return -1;
    }
    for (size_t i = 0; i < c->n_peers; i++) {
        const diam_peer_t *p = &c->peers[i];
        if (!token_ok(p->identity) || !token_ok(p->addr) || !port_ok(p->port, false)) {
            set_err(err, errlen,
                    "Diameter peer %zu: identity, addr and port (1-65535) are required and must be "
                    "plain names",
                    i);
            return -1;
        }
    }
    return 0;
}

static int validate(const diam_node_conf_t *c, char *err, size_t errlen)
{
    if (!token_ok(c->identity) || !token_ok(c->realm)) {
        set_err(err, errlen, "Diameter identity and realm are required (letters, digits, '.', '-', '_')");
        return -1;
    }
    if (!port_ok(c->port, true) || (c->listen_addr && !token_ok(c->listen_addr))) {
        set_err(err, errlen, "Diameter listen port must be 0-65535 and listen_addr a plain address");
        return -1;
    }
    if (c->accept_realm && !token_ok(c->accept_realm)) {
        set_err(err, errlen, "accept_realm must be a plain realm name");
        return -1;
    }
    if (c->accept_workers < 0 || c->accept_workers > DIAM_ACCEPT_WORKERS_MAX) {
        set_err(err, errlen, "accept_workers must be 0-%d", DIAM_ACCEPT_WORKERS_MAX);
        return -1;
    }
    if ((c->tc_timer && c->tc_timer < DIAM_TC_MIN) || (c->tw_timer && c->tw_timer < DIAM_TW_MIN)) {
        set_err(err, errlen, "tc_timer must be >= %d and tw_timer >= %d seconds (0 = default)", DIAM_TC_MIN,
                DIAM_TW_MIN);
        return -1;
    }
    if ((c->ext_dir && !path_ok(c->ext_dir)) || (c->tls_cert && !path_ok(c->tls_cert)) ||
        (c->tls_key && !path_ok(c->tls_key)) || (!c->tls_cert != !c->tls_key)) {
        set_err(err, errlen, "ext_dir/tls_cert/tls_key must be plain paths; tls_cert and tls_key go together");
        return -1;
    }
    return validate_peers(c, err, errlen);
}

/* ---------------------------------------------------------------- rendering */

static const char *ext_dir_of(const diam_node_conf_t *c)
{
    if (c->ext_dir)
        return c->ext_dir;
    const char *env = getenv("MIHUA_FD_EXTENSION_DIR");
    if (env && path_ok(env))
        return env;
    return MIHUA_FD_EXTENSION_DIR;
}

static int write_acl(const diam_node_t *n, const char *realm, char *path, size_t size)
{
    if (snprintf(path, size, "%s/%s", n->dir, DIAM_ACL_NAME) >= (int)size)
        return -1;
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    /* acl_wl: ALLOW_IPSEC lets a peer connect without TLS; "*.<realm>" matches any name below the realm. */
    fprintf(f, "ALLOW_IPSEC *.%s\n", realm);
    return fclose(f) == 0 ? 0 : -1;
}

static int extension_line(FILE *f, const char *dir, const char *name, const char *conf_file, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path || access(path, R_OK) != 0) {
        set_err(err, errlen, "freeDiameter extension %s/%s not found", dir, name);
        return -1;
    }
    if (conf_file)
        fprintf(f, "LoadExtension = \"%s\" : \"%s\";\n", path, conf_file);
    else
        fprintf(f, "LoadExtension = \"%s\";\n", path);
    return 0;
}

static void write_core_settings(FILE *f, const diam_node_conf_t *c)
{
    fprintf(f, "Identity = \"%s\";\nRealm = \"%s\";\n", c->identity, c->realm);
    fprintf(f, "Port = %d;\nSecPort = 0;\nNo_SCTP;\nNo_IPv6;\nNoRelay;\n", c->port);
    if (c->listen_addr)
        fprintf(f, "ListenOn = \"%s\";\n", c->listen_addr);
    fprintf(f, "TcTimer = %d;\nTwTimer = %d;\n", c->tc_timer ? c->tc_timer : DIAM_TC_DEFAULT,
            c->tw_timer ? c->tw_timer : DIAM_TW_DEFAULT);
    fprintf(f, "AppServThreads = %d;\n", c->app_threads > 0 ? c->app_threads : 1);
    fprintf(f, "ThreadsPerServer = %d;\n", c->accept_workers ? c->accept_workers : DIAM_ACCEPT_WORKERS_DEFAULT);
    /* 1.2.1 verifies TLS_Cred against the CAs already loaded when it parses that line: TLS_CA goes first. */
    if (c->tls_cert)
        fprintf(f, "TLS_CA = \"%s\";\nTLS_Cred = \"%s\", \"%s\";\n", c->tls_cert, c->tls_cert, c->tls_key);
}

static int write_conf(const diam_node_t *n, const diam_node_conf_t *c, char *path, size_t size, char *err,
                      size_t errlen)
{
    char acl[PATH_MAX];
    if (c->accept_realm && write_acl(n, c->accept_realm, acl, sizeof acl) != 0) {
        set_err(err, errlen, "cannot write %s in %s: %s", DIAM_ACL_NAME, n->dir, strerror(errno));
        return -1;
    }
    FILE *f = NULL;
    if (snprintf(path, size, "%s/%s", n->dir, DIAM_CONF_NAME) >= (int)size || !(f = fopen(path, "w"))) {
        set_err(err, errlen, "cannot write %s in %s: %s", DIAM_CONF_NAME, n->dir, strerror(errno));
        return -1;
    }
    write_core_settings(f, c);
    const char *dir = ext_dir_of(c);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof DIAM_DICT_EXTENSIONS / sizeof DIAM_DICT_EXTENSIONS[0]; i++)
        rc = extension_line(f, dir, DIAM_DICT_EXTENSIONS[i], NULL, err, errlen);
    if (rc == 0 && c->accept_realm)
        rc = extension_line(f, dir, "acl_wl.fdx", acl, err, errlen);
    for (size_t i = 0; rc == 0 && i < c->n_peers; i++)
        fprintf(f, "ConnectPeer = \"%s\" { ConnectTo = \"%s\"; Port = %d; No_TLS; };\n", c->peers[i].identity,
                c->peers[i].addr, c->peers[i].port);
    if (fclose(f) != 0 && rc == 0) {
        set_err(err, errlen, "cannot write %s: %s", path, strerror(errno));
        rc = -1;
    }
    return rc;
}

/* Removes the files we created and the directory itself. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[PATH_MAX];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
                (void)unlink(path);
        }
        closedir(d);
    }
    (void)rmdir(dir);
}

static int make_dir(diam_node_t *n, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !path_ok(tmp))
        tmp = "/tmp";
    if (snprintf(n->dir, sizeof n->dir, "%s/mihua-fd-XXXXXX", tmp) >= (int)sizeof n->dir || !mkdtemp(n->dir)) {
        set_err(err, errlen, "cannot create a temporary directory in %s: %s", tmp, strerror(errno));
        n->dir[0] = '\0';
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- life cycle */

/* Per-message events with nobody listening. freeDiameter's default for an event without a registered hook is to
 * render the whole message into text under one process-wide mutex and then log it at DEBUG (hooks.c), for every
 * message received, routed and sent, even when DEBUG is filtered out. That serialises all dispatch threads and
 * halved our Sh throughput; registering any hook for these events turns the default off. Errors (parsing,
 * routing, dropped messages, peer connection results) keep freeDiameter's default logging. */
static void quiet_hook(enum fd_hook_type type, struct msg *msg, struct peer_hdr *peer, void *other,
                       struct fd_hook_permsgdata *pmd, void *regdata)
{
    (void)type;
    (void)msg;
    (void)peer;
    (void)other;
    (void)pmd;
    (void)regdata;
}

static int quiet_per_message_events(diam_node_t *n)
{
    if (atomic_load(&g_fd_log.fd_debug))
        return 0;
    return fd_hook_register(HOOK_MASK(HOOK_DATA_RECEIVED, HOOK_MESSAGE_RECEIVED, HOOK_MESSAGE_LOCAL,
                                      HOOK_MESSAGE_SENDING, HOOK_MESSAGE_SENT, HOOK_MESSAGE_ROUTING_FORWARD,
                                      HOOK_MESSAGE_ROUTING_LOCAL),
                            quiet_hook, NULL, NULL, &n->quiet);
}

/* Nagle off again on every TCP socket of the process; returns how many took it. freeDiameter turns Nagle ON for
 * each Diameter TCP connection (its tcp.c clears TCP_NODELAY, after RFC 3539 §3.2). mihua's Diameter traffic is
 * small requests and answers, several in flight (the AS asks about the caller and the callee at once): with Nagle
 * the second message of a burst waits in the sender for the ACK of the first, which the receiver delays, and an Sh
 * lookup that takes 0.3 ms alone took 8.7 ms (p50) at 400 UDR/s, the bulk of an encrypted call's set-up. The
 * sockets belong to freeDiameter, so we walk our descriptors; our own TCP sockets (SBI) have TCP_NODELAY already
 * and a listening socket takes it harmlessly. Trade-off: more, smaller segments on a busy link, which the
 * request/response pattern of Sh hardly produces. */
static int tcp_nodelay_all(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0, one = 1;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        int proto = 0;
        socklen_t len = sizeof proto;
        if (*end || end == e->d_name || fd == dirfd(d) ||
            getsockopt((int)fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) != 0 || proto != IPPROTO_TCP)
            continue;
        n += setsockopt((int)fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0;
    }
    closedir(d);
    return n;
}

/* HOOK_PEER_CONNECT_SUCCESS, on a freeDiameter thread. Registering it replaces freeDiameter's own log line for the
 * event, so it says the same (and what it did). */
static void connect_hook(enum fd_hook_type type, struct msg *msg, struct peer_hdr *peer, void *other,
                         struct fd_hook_permsgdata *pmd, void *regdata)
{
    (void)type, (void)msg, (void)other, (void)pmd, (void)regdata;
    int n = tcp_nodelay_all();
    log_info("fd", "connected to Diameter peer '%s' (TCP_NODELAY on %d TCP sockets)",
             peer && peer->info.pi_diamid ? peer->info.pi_diamid : "?", n);
}

/* Peer validator: a CER whose Origin-Host is our own identity is refused (DIAMETER_UNKNOWN_PEER). Any other
 * peer is left to the next validator (acl_wl). Runs on a freeDiameter thread; reads only freeDiameter's config. */
static int refuse_own_identity(struct peer_info *info, int *auth, int (**cb2)(struct peer_info *))
{
    (void)cb2;
    if (info && info->pi_diamid && fd_g_config->cnf_diamid && info->pi_diamidlen == fd_g_config->cnf_diamid_len &&
        strncasecmp(info->pi_diamid, fd_g_config->cnf_diamid, info->pi_diamidlen) == 0) {
        log_warn(DIAM_LOG_MODULE, "refused a peer claiming our own Diameter identity '%s'", info->pi_diamid);
        *auth = -1;
        return 0;
    }
    *auth = 0;
    return 0;
}

static int core_bring_up(diam_node_t *n, const char *conf_path, sh_dict_t *dict, char *err, size_t errlen)
{
    int rc = fd_core_parseconf(conf_path);
    if (rc != 0) {
        set_err(err, errlen, "freeDiameter rejected its configuration (%s); see the fd log lines", strerror(rc));
        return -1;
    }
    rc = fd_peer_validate_register(refuse_own_identity); /* after acl_wl's: called before it */
    if (rc != 0) {
        set_err(err, errlen, "cannot register the peer validator: %s", strerror(rc));
        return -1;
    }
    rc = sh_dict_init(dict);
    if (rc != 0) {
        set_err(err, errlen, "cannot define the Sh dictionary: %s", strerror(rc));
        return -1;
    }
    rc = fd_disp_app_support(dict->app, dict->vendor_3gpp, 1, 0);
    if (rc != 0) {
        set_err(err, errlen, "cannot advertise the Sh application: %s", strerror(rc));
        return -1;
    }
    rc = quiet_per_message_events(n);
    if (rc != 0) {
        set_err(err, errlen, "cannot register the per-message hook: %s", strerror(rc));
        return -1;
    }
    rc = fd_hook_register(HOOK_MASK(HOOK_PEER_CONNECT_SUCCESS), connect_hook, NULL, NULL, &n->connect);
    if (rc != 0) {
        set_err(err, errlen, "cannot register the peer-connect hook: %s", strerror(rc));
        return -1;
    }
    rc = fd_core_start();
    if (rc == 0)
        rc = fd_core_waitstartcomplete();
    if (rc != 0) {
        set_err(err, errlen, "freeDiameter failed to start (%s); is the port in use?", strerror(rc));
        return -1;
    }
    n->started = true;
    return 0;
}

diam_node_t *diam_node_start(const diam_node_conf_t *conf, sh_dict_t *dict, char *err, size_t errlen)
{
    if (!conf || !dict) {
        set_err(err, errlen, "missing Diameter configuration");
        return NULL;
    }
    if (validate(conf, err, errlen) != 0)
        return NULL;
    diam_node_t *n = calloc(1, sizeof *n);
    if (!n) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    char conf_path[PATH_MAX];
    if (make_dir(n, err, errlen) != 0 || write_conf(n, conf, conf_path, sizeof conf_path, err, errlen) != 0)
        goto fail_files;
    xmlInitParser(); /* libxml2 must be initialised before freeDiameter's threads may parse Sh-Data */
    log_bridge_install(conf->fd_debug);
    int rc = fd_core_initialize();
    if (rc != 0) {
        set_err(err, errlen, "fd_core_initialize failed (%s); only one Diameter node per process", strerror(rc));
        goto fail_files;
    }
    if (core_bring_up(n, conf_path, dict, err, errlen) == 0)
        return n;
    atomic_store(&g_fd_log.stopping, true);
    fd_core_shutdown();
    fd_core_wait_shutdown_complete();
fail_files:
    if (n->dir[0])
        remove_dir(n->dir);
    free(n);
    return NULL;
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static bool peer_open(const char *identity)
{
    struct peer_hdr *p = NULL;
    if (fd_peer_getbyid((DiamId_t)identity, strlen(identity), 1, &p) != 0 || !p)
        return false;
    return fd_peer_get_state(p) == STATE_OPEN;
}

int diam_node_wait_peer(diam_node_t *n, const char *identity, int timeout_ms)
{
    if (!n || !n->started || !identity || timeout_ms < 0)
        return -1;
    long long deadline = now_ns() + (long long)timeout_ms * 1000000LL;
    for (;;) {
        if (peer_open(identity))
            return 0;
        long long left = deadline - now_ns();
        if (left <= 0)
            return -1;
        struct timespec ts = {0, left < DIAM_POLL_NS ? (long)left : DIAM_POLL_NS};
        nanosleep(&ts, NULL);
    }
}

/* SIGABRT while freeDiameter tears down. By then its peers are disconnected (DPR/DPA) and its servers closed: what
 * asserts is fd_fifo_del()'s loop detector (libfdproto/fifo.c: a thread waiting on a queue being destroyed must
 * wake within 20 one-millisecond polls; 200 in later releases), which a loaded machine trips without any fault of
 * ours. The stop is complete in every sense the caller cares about, so the process ends as it would have. */
static void teardown_abort(int sig)
{
    static const char msg[] = "diam_node: freeDiameter asserted in its teardown (a queue's waiting thread was not "
                              "scheduled in time); the node had already stopped\n";
    (void)sig;
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    _exit(g_fd_log.exit_status);
}

int diam_listen_bound(int port, char *out, size_t size)
{
    DIR *d = opendir("/proc/self/fd");
    int rc = -1;
    if (!d)
        return -1;
    for (struct dirent *e; rc != 0 && (e = readdir(d)) != NULL;) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        int listening = 0;
        socklen_t len = sizeof listening;
        struct sockaddr_storage ss;
        socklen_t sslen = sizeof ss;
        if (*end || end == e->d_name || fd == dirfd(d) ||
            getsockopt((int)fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening ||
            getsockname((int)fd, (struct sockaddr *)&ss, &sslen) != 0)
            continue;
        char addr[INET6_ADDRSTRLEN];
        if (ss.ss_family == AF_INET && ntohs(((struct sockaddr_in *)&ss)->sin_port) == port) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof addr);
            rc = snprintf(out, size, "%s:%d", addr, port) < (int)size ? 0 : -1;
        } else if (ss.ss_family == AF_INET6 && ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) == port) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof addr);
            rc = snprintf(out, size, "[%s]:%d", addr, port) < (int)size ? 0 : -1;
        }
    }
    closedir(d);
    return rc;
}

int diam_listen_wait(int port, int timeout_ms, char *out, size_t size)
{
    long long deadline = now_ns() + (long long)timeout_ms * 1000000LL;
    while (diam_listen_bound(port, out, size) != 0) {
        if (now_ns() >= deadline)
            return -1;
        struct timespec ts = {0, DIAM_POLL_NS};
        nanosleep(&ts, NULL);
    }
    return 0;
}

void diam_node_stop(diam_node_t *n)
{
    diam_node_stop_status(n, 0);
}

void diam_node_stop_status(diam_node_t *n, int exit_status)
{
    if (!n)
        return;
    atomic_store(&g_fd_log.stopping, true);
    remove_dir(n->dir); /* freeDiameter read its files at start; nothing is left behind if it asserts below */
    n->dir[0] = '\0';
    fflush(NULL);
    g_fd_log.exit_status = exit_status;
    struct sigaction sa = {.sa_handler = teardown_abort}, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGABRT, &sa, &old);
    fd_core_shutdown();
    fd_core_wait_shutdown_complete();
    sigaction(SIGABRT, &old, NULL);
    if (n->quiet != NULL)
        fd_hook_unregister(n->quiet);
    if (n->connect != NULL)
        fd_hook_unregister(n->connect);
    free(n);
}
