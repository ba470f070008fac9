/*
 * sbi_tls — OpenSSL contexts for HTTP/2 over TLS (RFC 9113 §3.2, §9.2; RFC 7301 ALPN). See sbi_tls.h.
 *
 * TLS 1.3 minimum on both sides, so RFC 9113 §9.2.2's TLS 1.2 rules (cipher blacklist, no renegotiation) hold by
 * construction. Compression is off (CRIME) and so are session tickets' 0-RTT: SBI requests are not idempotent in
 * general (the KMS's POSTs), and 0-RTT data is replayable (RFC 8446 §8).
 */
#include "sbi/sbi_tls.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/log.h"

#define KEYLOG_ENV "SSLKEYLOGFILE"

static const unsigned char alpn_h2[] = {2, 'h', '2'}; /* ALPN wire format: length-prefixed names */

const char *sbi_tls_last_error(char *buf, size_t size)
{
    unsigned long e = ERR_get_error();
    if (e == 0)
        snprintf(buf, size, "unknown TLS error");
    else
        ERR_error_string_n(e, buf, size);
    ERR_clear_error();
    return buf;
}

/* NSS key log lines for Wireshark; see the trade-off in sbi_tls.h. */
static void keylog_cb(const SSL *ssl, const char *line)
{
    (void)ssl;
    const char *path = getenv(KEYLOG_ENV);
    if (!path || !*path)
        return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    size_t len = strlen(line);
    char buf[1024];
    if (len + 1 <= sizeof(buf)) {
        memcpy(buf, line, len);
        buf[len] = '\n';
        if (write(fd, buf, len + 1) < 0) {
            /* nothing useful to do: the key log is a debugging aid */
        }
    }
    close(fd);
}

static void ctx_common(SSL_CTX *ctx)
{
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_max_early_data(ctx, 0);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (getenv(KEYLOG_ENV))
        SSL_CTX_set_keylog_callback(ctx, keylog_cb);
}

static int alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                          unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    unsigned char *sel;
    if (SSL_select_next_proto(&sel, outlen, alpn_h2, sizeof(alpn_h2), in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL; /* RFC 7301 §3.2 no_application_protocol */
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

SSL_CTX *sbi_tls_server_ctx_new(const char *cert_file, const char *key_file, char *err, size_t err_size)
{
    char ebuf[SBI_TLS_ERR_MAX];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, err_size, "SSL_CTX_new: %s", sbi_tls_last_error(ebuf, sizeof(ebuf)));
        return NULL;
    }
    ctx_common(ctx);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        snprintf(err, err_size, "%s: %s", cert_file, sbi_tls_last_error(ebuf, sizeof(ebuf)));
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, err_size, "%s: %s", key_file, sbi_tls_last_error(ebuf, sizeof(ebuf)));
        goto fail;
    }
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select_cb, NULL);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

SSL_CTX *sbi_tls_client_ctx_new(const char *ca_file, char *err, size_t err_size)
{
    char ebuf[SBI_TLS_ERR_MAX];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(err, err_size, "SSL_CTX_new: %s", sbi_tls_last_error(ebuf, sizeof(ebuf)));
        return NULL;
    }
    ctx_common(ctx);
    int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        snprintf(err, err_size, "%s: %s", ca_file ? ca_file : "default CA paths",
                 sbi_tls_last_error(ebuf, sizeof(ebuf)));
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_set_alpn_protos(ctx, alpn_h2, sizeof(alpn_h2)) != 0) {
        snprintf(err, err_size, "ALPN: %s", sbi_tls_last_error(ebuf, sizeof(ebuf)));
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int sbi_tls_is_h2(const SSL *ssl)
{
    const unsigned char *proto = NULL;
    unsigned len = 0;
    SSL_get0_alpn_selected(ssl, &proto, &len);
    return proto && len == 2 && memcmp(proto, SBI_ALPN_H2, 2) == 0;
}

int sbi_tls_set_peer_name(SSL *ssl, const char *host)
{
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1)
        return 0; /* an IP literal: no SNI (RFC 6066 §3 forbids literal addresses) */
    if (SSL_set_tlsext_host_name(ssl, host) != 1)
        return -1;
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return X509_VERIFY_PARAM_set1_host(param, host, 0) == 1 ? 0 : -1;
}
