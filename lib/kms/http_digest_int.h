/*
 * http_digest_int — what the files of lib/kms/http_digest_* share and nobody else may use: the protocol tokens,
 * the parser's character class, the hash that every side computes, and the bounded header writer. The contract
 * for callers is http_digest.h.
 *
 * Files: http_digest_parse.c (RFC 7235/7616 parameter lists), http_digest_hash.c (RFC 7616 §3.4.1 response),
 * http_digest_header.c (challenge writer), http_digest_server.c (nonces, replay table, verify),
 * http_digest_client.c (cnonces, Authorization writer). Each calls only this header and http_digest.h.
 */
#ifndef MIHUA_HTTP_DIGEST_INT_H
#define MIHUA_HTTP_DIGEST_INT_H

#include "kms/http_digest.h"

#define DG_ALGORITHM "SHA-256"
#define DG_ALGORITHM_MD5 "MD5"
#define DG_QOP "auth"
#define DG_SCHEME "Digest"

/* Byte allowed inside a quoted-string or after a backslash: HTAB, SP, VCHAR, obs-text (RFC 7230 §3.2.6). */
int dg_qd_ok(unsigned char c);

/* The algorithm a challenge or an Authorization names, if it is in `algs`: 0, or -1. Absent means MD5. */
int dg_alg_of(unsigned present, const char *name, unsigned algs, digest_alg_t *alg);

/* The RFC 7616 §3.4.1 response for qop=auth in `alg`, as lowercase hex; on `h`'s context (NULL: one of its own).
 * 0 or -1. */
int dg_compute(digest_hasher_t *h, digest_alg_t alg, const char *username, const char *realm, const char *password,
               const char *method, const char *uri, const char *nonce, const char *nc_text, const char *cnonce,
               const char *qop, char out[DIGEST_RESPONSE_LEN + 1]);

/* Lowercases a received response into out; -1 unless exactly as many hex characters as `alg` gives. */
int dg_normalize_response(const char *in, digest_alg_t alg, char out[DIGEST_RESPONSE_LEN + 1]);

/* digest_response_matches on `h` (NULL: a context of its own). */
int dg_response_matches(digest_hasher_t *h, const digest_auth_t *auth, const char *method, const char *password);

/* A header value written into a bounded buffer; err is sticky, so a sequence of writes is checked once at the
 * end (dg_out_done), and a value that does not fit is never cut short. */
typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    int err;
} dg_out_t;

void dg_out_str(dg_out_t *o, const char *s);
/* sep name=value, the value quoted-string escaped when `quoted` (control characters refused). */
void dg_out_param(dg_out_t *o, const char *sep, const char *name, const char *value, int quoted);
/* The length written, or -1 (buffer emptied) after any error. */
int dg_out_done(dg_out_t *o);

#endif
