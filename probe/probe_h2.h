/*
 * probe_h2 — a small synchronous HTTP/2 client for the probe (RFC 9113): one connection, h2c with prior knowledge
 * (§3.3) or TLS 1.3 with ALPN h2 (lib/sbi/sbi_tls, SSLKEYLOGFILE honoured), several requests in flight at once.
 *
 * The probe checks servers rather than using them, so it keeps what a production client throws away: whether the
 * server acknowledged our SETTINGS, its SETTINGS_MAX_CONCURRENT_STREAMS, the stream each answer came on, a stream
 * reset and its error code, each answer's latency. Blocking I/O with poll() and nghttp2's mem_send/mem_recv: no
 * event loop for a process that sends a handful of requests and exits.
 */
#ifndef MIHUA_PROBE_H2_H
#define MIHUA_PROBE_H2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROBE_H2_MAX_STREAMS 16 /* requests in one exchange; the suite's multiplexing case sends 4 */
#define PROBE_H2_MAX_BODY (1024 * 1024)

typedef struct {
    const char *method;
    const char *path;
    const char *content_type;  /* with a body */
    const char *authorization; /* NULL: none */
    const char *body;
    size_t body_len;
} probe_h2_req_t;

typedef struct {
    int status;           /* 0: no answer (reset, connection lost or timeout) */
    bool reset;           /* the server reset the stream */
    uint32_t reset_error; /* its RST_STREAM error code */
    int32_t stream_id;
    char content_type[128];
    char retry_after[32];
    char www_authenticate[512];
    char location[256];
    char *body; /* NUL-terminated, malloc'd; NULL when empty */
    size_t body_len;
    double latency_ms;
} probe_h2_resp_t;

typedef struct probe_h2 probe_h2_t;

/* Connects to `base_url` (http://host:port or https://host:port; a path is ignored). `ca_file` (https only) is
 * trusted, or the system's store when NULL. NULL with a reason in err. */
probe_h2_t *probe_h2_connect(const char *base_url, const char *ca_file, int timeout_ms, char *err, size_t err_len);
/* Sends the n requests at once and waits until each is answered or reset, the connection ends or timeout_ms
 * passes. Returns the number answered (status or reset). */
size_t probe_h2_exchange(probe_h2_t *c, const probe_h2_req_t *reqs, probe_h2_resp_t *resps, size_t n, int timeout_ms);
bool probe_h2_settings_acked(const probe_h2_t *c);     /* the server acknowledged our SETTINGS */
bool probe_h2_got_settings(const probe_h2_t *c);       /* the server sent its own SETTINGS */
uint32_t probe_h2_max_concurrent(const probe_h2_t *c); /* the server's limit; UINT32_MAX when not given */
bool probe_h2_is_tls(const probe_h2_t *c);
void probe_h2_close(probe_h2_t *c);
void probe_h2_resp_clear(probe_h2_resp_t *r);

#endif
