/*
 * sbi_bearer — the shared secret of an operator API as an OAuth 2.0 bearer token (RFC 6750 §2.1): its syntax, how
 * it is loaded (config text or a file) and how a request's `Authorization: Bearer ...` is checked against it.
 *
 * The check compares SHA-256 digests of the expected and the presented token with CRYPTO_memcmp: constant time,
 * and independent of the presented token's length, so neither timing nor length probing tells an attacker how
 * much of a guess was right. Only the digest is kept by the checker; the token text stays with the caller (a
 * client that must send it, like the KMS asking the AS), which wipes it when done.
 *
 * A token file is read whole at start, with one trailing newline ("\n" or "\r\n") stripped, so `openssl rand
 * -hex 32 > file` works as is; any other whitespace is a syntax error rather than silently part of the secret.
 * Trade-off: a file that group or others may read is accepted with a warning (the caller logs it), not refused:
 * lab machines often run everything as one user with a permissive umask.
 */
#ifndef MIHUA_SBI_BEARER_H
#define MIHUA_SBI_BEARER_H

#include <stdbool.h>
#include <stddef.h>

#define SBI_BEARER_MIN_LEN 16  /* b64token characters: at least ~96 bits, hopeless to guess within the rate limit */
#define SBI_BEARER_MAX_LEN 512 /* a header line well under the server's header-list bound */
#define SBI_BEARER_DIGEST_LEN 32
#define SBI_BEARER_ERR_MAX 512

typedef struct {
    unsigned char digest[SBI_BEARER_DIGEST_LEN]; /* SHA-256 of the expected token */
} sbi_bearer_t;

typedef enum {
    SBI_BEARER_OK = 0,
    SBI_BEARER_MISSING, /* no Authorization header, or another scheme (RFC 6750 §3.1: no error code) */
    SBI_BEARER_INVALID, /* a Bearer token that is not the expected one (error="invalid_token") */
} sbi_bearer_result_t;

/* 0 when `token` is an RFC 6750 b64token of SBI_BEARER_MIN_LEN..SBI_BEARER_MAX_LEN characters; else -1 with the
 * reason in `why` (never the token itself). */
int sbi_bearer_syntax(const char *token, char *why, size_t why_size);

/* Reads a token file as described above. Returns the token (malloc'd; wipe and free it with sbi_bearer_wipe), or
 * NULL with the reason in `err`. *loose is set when group or others may read the file. The syntax is not checked
 * here (sbi_bearer_load does). */
char *sbi_bearer_read_file(const char *path, bool *loose, char *err, size_t err_size);

/* The token from config text `token` or file `file` (at most one may be set): a checked copy in *out (NULL when
 * neither is set), or -1 with the reason in `err`. `name` names the setting in messages ("admin_token"); a loose
 * file's warning is logged under `module`. */
int sbi_bearer_load(const char *name, const char *token, const char *file, const char *module, char **out, char *err,
                    size_t err_size);

/* Overwrites and frees a token string. NULL is fine. */
void sbi_bearer_wipe(char *token);

/* Prepares the checker for `token`. */
void sbi_bearer_init(sbi_bearer_t *b, const char *token);

/* Checks one Authorization header value (NULL when absent). The scheme is case-insensitive (RFC 9110 §11.1). */
sbi_bearer_result_t sbi_bearer_verify(const sbi_bearer_t *b, const char *authorization);

#endif
