/*
 * diam_node — running this process as a freeDiameter node, configured from mihua's own JSON settings.
 *
 * freeDiameter reads its own configuration syntax; integrators should not have to learn it for a simulator. We
 * render a freeDiameter configuration file from diam_node_conf_t into a private temporary directory, load it with
 * fd_core_parseconf() (which also loads the dictionary extensions DESIGN §3 lists, in order), define the Sh
 * dictionary, and start the core. Choices that matter for tests and interop:
 *   - cleartext by default: `SecPort = 0`, `No_TLS` on configured peers, and for a server acl_wl.fdx with
 *     `ALLOW_IPSEC *.<realm>` so that any peer of the realm may connect without TLS (DESIGN §3, §8);
 *   - TcTimer/TwTimer are configurable so tests reconnect quickly;
 *   - with `SecPort = 0` freeDiameter 1.2.1 needs no TLS credentials at all (it logs "TLS is disabled"), so none
 *     are generated; tls_cert/tls_key are passed through as TLS_CA + TLS_Cred only when both are configured.
 * freeDiameter is a process-wide library: one node per process.
 */
#ifndef MIHUA_DIAM_NODE_H
#define MIHUA_DIAM_NODE_H

#include <stdbool.h>
#include <stddef.h>

#include "diameter/sh_dict.h"

#define DIAM_NODE_MAX_PEERS 8

typedef struct {
    const char *identity; /* Diameter identity (FQDN), e.g. "hss.ims.test" */
    const char *addr;     /* where the peer listens */
    int port;
} diam_peer_t;

typedef struct {
    const char *identity;     /* our Origin-Host */
    const char *realm;        /* our Origin-Realm */
    int port;                 /* listen port; 0 = do not listen (client only) */
    const char *listen_addr;  /* NULL = all (freeDiameter 1.2.1 ignores ListenOn for TCP anyway) */
    const char *accept_realm; /* accept peers whose identity ends in ".<realm>"; NULL = only configured peers */
    diam_peer_t peers[DIAM_NODE_MAX_PEERS];
    size_t n_peers;
    int tc_timer;         /* seconds between reconnection attempts, >= 1; 0 = 30 */
    int tw_timer;         /* watchdog seconds, >= 6 (RFC 3539, enforced by freeDiameter); 0 = 30 */
    int app_threads;      /* freeDiameter dispatch threads (AppServThreads); 0 = 1 (see diam_node.c) */
    const char *ext_dir;  /* freeDiameter extension directory; NULL = built-in default */
    const char *tls_cert; /* optional PEM (also used as TLS_CA: self-signed, or include the chain); NULL = no TLS */
    const char *tls_key;
    bool fd_debug;      /* let freeDiameter's own log through at debug level */
    int accept_workers; /* connections served at once before their CER (freeDiameter ThreadsPerServer); each
                                 is given up after 20 s (INCNX_TIMEOUT, compiled into freeDiameter); 0 = default */
} diam_node_conf_t;

#define DIAM_ACCEPT_WORKERS_DEFAULT \
    64 /* freeDiameter's own default is 5: 5 silent TCP connections then keep every
                                          real peer out for 20 s. A worker is a thread waiting on one socket */
#define DIAM_ACCEPT_WORKERS_MAX 1024
#define DIAM_LISTEN_WAIT_MS 5000 /* READY waits this long for freeDiameter's listening socket to appear */

typedef struct diam_node diam_node_t;

/* Initialises and starts freeDiameter with `conf`; fills `dict`. NULL with a reason in err on failure. */
diam_node_t *diam_node_start(const diam_node_conf_t *conf, sh_dict_t *dict, char *err, size_t errlen);

/* Waits until the peer `identity` is in state OPEN, up to timeout_ms. Returns 0 or -1 (timeout/unknown peer). */
int diam_node_wait_peer(diam_node_t *n, const char *identity, int timeout_ms);

/* What the process's listening TCP socket on `port` is bound to, as "ADDR:PORT" (IPv6 in brackets), read from the
 * socket itself: freeDiameter 1.2.1 binds 0.0.0.0 whatever ListenOn says, and a READY line must not claim
 * otherwise. Returns 0, or -1 when nothing listens on that port. */
int diam_listen_bound(int port, char *out, size_t size);
/* The same, waiting up to timeout_ms for the socket: freeDiameter's server thread may create it after
 * fd_core_waitstartcomplete() returned, and a READY line comes only once every listener is bound. */
int diam_listen_wait(int port, int timeout_ms, char *out, size_t size);

/* Shuts freeDiameter down, waits for its threads and removes the temporary directory. freeDiameter 1.2.1 may
 * assert in the last step of its teardown on a loaded machine (see diam_node.c); the process then exits at once
 * with exit_status (0 for diam_node_stop), stdio flushed beforehand. */
void diam_node_stop(diam_node_t *n);
void diam_node_stop_status(diam_node_t *n, int exit_status);

#endif
