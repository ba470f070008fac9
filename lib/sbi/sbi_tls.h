/*
 * sbi_tls — OpenSSL contexts for HTTP/2 over TLS (RFC 9113 §3.2 and §9.2): TLS 1.3 only, ALPN "h2" only.
 *
 * Both sides refuse anything but TLS 1.3 (DESIGN §4), so the TLS 1.2 cipher-suite blacklist of RFC 9113 §9.2.2
 * never applies. The server selects "h2" in the ALPN callback and fails the handshake (no_application_protocol,
 * RFC 7301 §3.2) when the client does not offer it; the client offers only "h2" and verifies the server's
 * certificate against a CA file and the host name or IP address it connected to.
 *
 * SSLKEYLOGFILE (NSS key log format) is honoured on both sides so that a capture can be decrypted in Wireshark.
 * The keylog callback has no user pointer, so it opens the file named by the environment at each line (append);
 * that costs an open() per secret, a handful per handshake, and keeps the module free of global state.
 * Trade-off accepted: a test tool, never enabled in production.
 */
#ifndef MIHUA_SBI_TLS_H
#define MIHUA_SBI_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

#define SBI_TLS_ERR_MAX 256
#define SBI_ALPN_H2 "h2"

/* A server context with `cert_file` (PEM chain) and `key_file` (PEM). NULL with `err` filled on failure. */
SSL_CTX *sbi_tls_server_ctx_new(const char *cert_file, const char *key_file, char *err, size_t err_size);

/* A client context that trusts `ca_file` (PEM), or the system's default paths when NULL. */
SSL_CTX *sbi_tls_client_ctx_new(const char *ca_file, char *err, size_t err_size);

/* True when the handshake on `ssl` negotiated ALPN "h2". */
int sbi_tls_is_h2(const SSL *ssl);

/* Sets SNI and the name or IP address the peer certificate must carry (client side). Returns 0 or -1. */
int sbi_tls_set_peer_name(SSL *ssl, const char *host);

/* The first OpenSSL error as text, cleared from the error queue (for log lines). */
const char *sbi_tls_last_error(char *buf, size_t size);

#endif
