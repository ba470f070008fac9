/*
 * sim_capture — packet captures of a simulator's own traffic through its admin API (DESIGN §8), by dumpcap
 * (lib/sim/dumpcap), so a CI job gets the exchanges of a run as a pcapng artifact without root on the runner:
 *
 *   POST   /admin/v1/captures              {"maxBytes":N,"maxSeconds":N} (both optional) -> 201 + Location, the capture
 *   GET    /admin/v1/captures              {"captures":[...]}, oldest first
 *   GET    /admin/v1/captures/{id}         state (capturing | stopped), file, bytes, packets, bounds, times
 *   DELETE /admin/v1/captures/{id}         stops it (the file finalized; nothing happens to one already stopped)
 *   GET    /admin/v1/captures/{id}/file    the pcapng, application/vnd.tcpdump.pcap; 409 while capturing
 * 409 ProblemDetails when dumpcap is not installed (cause CAPTURE_UNAVAILABLE) or a capture is running
 * (CAPTURE_RUNNING); 503 SYSTEM_FAILURE when dumpcap does not start (no capture rights, ...).
 *
 * What is captured: TCP on the simulator's listening ports (Diameter for mihua-hss, the SBI for mihua-udm; not
 * the admin API), on `lo` when the listener is on a loopback address, else on `any`. Connections the simulator
 * opens itself to other ports (the UDM's notifications to callback URIs) are not. One capture at a time; each is
 * bounded in size and duration (dumpcap's autostop; defaults SIM_CAPTURE_DEFAULT_*, at most SIM_CAPTURE_MAX_*),
 * and the last SIM_CAPTURE_KEEP are kept in a private temporary directory removed when the daemon exits; a running
 * dumpcap is stopped then too (and by the kernel if the daemon dies: PR_SET_PDEATHSIG).
 *
 * TLS (mihua-udm with tls.cert): while a capture runs, the server context's key-log callback writes the session
 * secrets of handshakes made during the capture to a key file, embedded in the pcapng at stop
 * (editcap --inject-secrets), so the file opens decrypted. Connections opened before the capture started cannot
 * be decrypted: connect after the POST. An SSLKEYLOGFILE callback set by lib/sbi keeps working alongside.
 *
 * Trade-off: start and stop block the admin loop (dumpcap.h: until dumpcap captures, until the file is quiet,
 * seconds at most); on mihua-udm the SBI shares that loop and pauses with it. A test double accepts that.
 */
#ifndef MIHUA_SIM_CAPTURE_H
#define MIHUA_SIM_CAPTURE_H

#include <openssl/ssl.h>

#include "sbi/sbi_server.h"

#define SIM_CAPTURE_KEEP 8                             /* captures kept (files on disk); older ones are deleted */
#define SIM_CAPTURE_DEFAULT_BYTES (8ull * 1024 * 1024) /* a CI run's exchanges fit many times over */
#define SIM_CAPTURE_MAX_BYTES (32ull * 1024 * 1024)    /* a download is held in memory while it is sent */
#define SIM_CAPTURE_DEFAULT_SECONDS 300
#define SIM_CAPTURE_MAX_SECONDS 3600

typedef struct {
    const char *program;     /* names the temporary directory: "mihua-hss" */
    const char *host;        /* the listeners' address (picks the interface); NULL: every address */
    int diameter_port;       /* 0: none */
    const sbi_server_t *sbi; /* its bound port is captured; NULL: none */
    SSL_CTX *tls;            /* that server's TLS context, for the session secrets; NULL: h2c */
} sim_capture_conf_t;

typedef struct sim_capture sim_capture_t;

/* Registers the routes on the admin server `admin`; `conf` is copied (strings too). NULL on failure. */
sim_capture_t *sim_capture_new(sbi_server_t *admin, const sim_capture_conf_t *conf);
/* Stops a running capture and deletes the files. After the admin server is freed, before `conf->tls`. */
void sim_capture_free(sim_capture_t *c);

#endif
