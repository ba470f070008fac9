/*
 * sbi_client — an HTTP/2 client for SBI consumers (TS 29.500 §5, RFC 9113) on nghttp2 and libevent.
 *
 * Requests name a full URL: "http://" is h2c with prior knowledge (RFC 9113 §3.3), "https://" is TLS 1.3 with
 * ALPN "h2" and certificate verification (sbi_tls.h). One connection per authority (scheme, host, port) is opened
 * on first use and reused; concurrent requests are multiplexed on it as streams, and nghttp2 queues requests
 * beyond the peer's SETTINGS_MAX_CONCURRENT_STREAMS. A connection that fails, or on which the peer sent GOAWAY,
 * is replaced for new requests; one the peer closed while idle is never given a request (a restarted peer costs
 * no failed request, whatever the method).
 *
 * Retry (RFC 9110 §9.2.2, RFC 9113 §8.7): a request with an idempotent method (GET, HEAD, OPTIONS, TRACE, PUT,
 * DELETE) is resubmitted once when no response byte arrived for it and either the connection it went on was
 * already established and then broke (closed, reset, write error) or its stream was refused (above a GOAWAY's
 * last-stream-id, or RST_STREAM REFUSED_STREAM). It goes on a fresh connection, or on the same one when only the
 * stream was refused and the connection lives on. Never for POST or PATCH: the server may have acted on it. The retry runs under the request's original timeout, so a caller's budget holds; a caller
 * sees one callback either way, with elapsed_us from the first submission.
 *
 * Every request has a timeout (its own or the client's default); on expiry the stream is reset (CANCEL) and the
 * callback reports SBI_CLIENT_ERR_TIMEOUT. Callbacks never run inside sbi_client_request() or inside nghttp2:
 * completions are queued and delivered from the event loop, so a callback may issue new requests, cancel others
 * or free the client.
 *
 * Host names are resolved with a blocking getaddrinfo (no evdns): mihua's peers are IP literals or "localhost"
 * from configuration, so that never blocks in practice. Trade-off noted for anyone pointing it at DNS names.
 */
#ifndef MIHUA_SBI_CLIENT_H
#define MIHUA_SBI_CLIENT_H

#include <event2/event.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "sbi/sbi_server.h" /* sbi_header_t */

#define SBI_CLIENT_TIMEOUT_MS_DEFAULT 3000    /* a request nobody configured still ends */
#define SBI_CLIENT_CONNECT_TIMEOUT_MS 3000    /* TCP + TLS handshake; requests fail with SBI_CLIENT_ERR_CONNECT */
#define SBI_CLIENT_MAX_BODY (4 * 1024 * 1024) /* a larger response is cut: SBI_CLIENT_ERR_TOO_LARGE */
#define SBI_CLIENT_MAX_HEADER_LIST 65536      /* response header bytes kept; advertised in SETTINGS */
#define SBI_CLIENT_URL_MAX 2048               /* longer URLs are refused at submission */

typedef struct sbi_client sbi_client_t;

typedef struct {
    SSL_CTX *tls;                /* for https:// URLs (borrowed); NULL: https:// requests are refused */
    unsigned default_timeout_ms; /* 0: SBI_CLIENT_TIMEOUT_MS_DEFAULT */
} sbi_client_config_t;

typedef enum {
    SBI_CLIENT_OK = 0,         /* a response arrived: look at status */
    SBI_CLIENT_ERR_TIMEOUT,    /* no complete response within the timeout */
    SBI_CLIENT_ERR_CONNECT,    /* TCP connect, TLS handshake or ALPN failed */
    SBI_CLIENT_ERR_CONNECTION, /* the connection closed or broke with the stream open */
    SBI_CLIENT_ERR_RESET,      /* the server reset the stream (RST_STREAM / refused by GOAWAY) */
    SBI_CLIENT_ERR_TOO_LARGE,  /* the response exceeded SBI_CLIENT_MAX_BODY */
} sbi_client_err_t;

/* Valid only during the callback. */
typedef struct {
    sbi_client_err_t error;
    int status;                  /* HTTP status; 0 unless error == SBI_CLIENT_OK */
    const char *content_type;    /* NULL when absent */
    const char *location;        /* NULL when absent */
    const sbi_header_t *headers; /* every response header (not :status) */
    size_t n_headers;
    const char *body; /* NUL-terminated for convenience; body_len excludes the NUL */
    size_t body_len;
    uint64_t elapsed_us; /* submission to completion */
} sbi_client_response_t;

typedef void (*sbi_client_cb)(const sbi_client_response_t *resp, void *ud);

typedef struct {
    const char *method;          /* "GET" */
    const char *url;             /* "http://127.0.0.1:7701/nudm-uecm/v1/imsi-1/registrations/amf-3gpp-access" */
    const sbi_header_t *headers; /* extra request headers (lower-case names), may be NULL */
    size_t n_headers;
    const char *content_type; /* required when body_len > 0 */
    const void *body;         /* copied */
    size_t body_len;
    unsigned timeout_ms; /* 0: the client's default */
} sbi_client_req_t;

sbi_client_t *sbi_client_new(struct event_base *base, const sbi_client_config_t *cfg);
/* Closes every connection. Pending callbacks are NOT called. */
void sbi_client_free(sbi_client_t *c);

/* Submits a request; `cb` is called exactly once from the loop unless the request is cancelled or the client
 * freed first. Returns a request id (> 0), or 0 when the request is refused outright (bad URL, https without a TLS
 * context, no memory) — then `cb` is never called. */
uint64_t sbi_client_request(sbi_client_t *c, const sbi_client_req_t *r, sbi_client_cb cb, void *ud);

/* Forgets a request: its callback will not be called and its stream is reset. Returns 0, or -1 when unknown
 * (already completed). */
int sbi_client_cancel(sbi_client_t *c, uint64_t id);

/* Header lookup in a response (case-insensitive), NULL when absent. */
const char *sbi_client_response_header(const sbi_client_response_t *resp, const char *name);

const char *sbi_client_strerror(sbi_client_err_t e);

/* Number of open connections (tests: proves reuse). */
size_t sbi_client_connection_count(const sbi_client_t *c);

#endif
