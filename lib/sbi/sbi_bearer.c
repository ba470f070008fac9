/*
 * sbi_bearer — bearer token syntax, loading and constant-time checking (see sbi_bearer.h; RFC 6750 §2.1).
 */
#include "sbi/sbi_bearer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "core/log.h"

#define SCHEME "Bearer"
#define FILE_READ_MAX (SBI_BEARER_MAX_LEN + 3) /* the longest token, "\r\n", and one byte to see it is longer */

static bool b64token_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~' || c == '+' || c == '/';
}

int sbi_bearer_syntax(const char *token, char *why, size_t why_size)
{
    size_t n = strlen(token), i = 0;

    if (n < SBI_BEARER_MIN_LEN || n > SBI_BEARER_MAX_LEN) {
        snprintf(why, why_size, "must be %d to %d characters, not %zu", SBI_BEARER_MIN_LEN, SBI_BEARER_MAX_LEN, n);
        return -1;
    }
    while (i < n && b64token_char(token[i]))
        i++;
    while (i < n && token[i] == '=') /* b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
        i++;
    if (i < n) {
        snprintf(why, why_size,
                 "character %zu is not allowed in a bearer token (RFC 6750 b64token: letters, "
                 "digits, - . _ ~ + / and trailing =)",
                 i + 1);
        return -1;
    }
    return 0;
}

void sbi_bearer_wipe(char *token)
{
    if (token == NULL)
        return;
    OPENSSL_cleanse(token, strlen(token));
    free(token);
}

/* Reads at most FILE_READ_MAX - 1 bytes; *len < 0 on a read error. */
static char *read_small(int fd, ssize_t *len)
{
    char *buf = calloc(1, FILE_READ_MAX);
    ssize_t got = 0, r = 0;

    if (buf == NULL) {
        *len = -1;
        return NULL;
    }
    while (got < FILE_READ_MAX - 1 && (r = read(fd, buf + got, (size_t)(FILE_READ_MAX - 1 - got))) > 0)
        got += r;
    *len = r < 0 ? -1 : got;
    return buf;
}

char *sbi_bearer_read_file(const char *path, bool *loose, char *err, size_t err_size)
{
    struct stat st;
    ssize_t len;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *loose = false;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    *loose = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
    char *buf = read_small(fd, &len);
    close(fd);
    if (buf == NULL || len < 0) {
        snprintf(err, err_size, "%s: %s", path, buf == NULL ? "out of memory" : "read error");
        sbi_bearer_wipe(buf);
        return NULL;
    }
    if (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    if (len > 0 && buf[len - 1] == '\r')
        buf[--len] = '\0';
    if (memchr(buf, '\0', (size_t)len) != NULL || len > SBI_BEARER_MAX_LEN) {
        snprintf(err, err_size, "%s: not one bearer token of at most %d characters on one line", path,
                 SBI_BEARER_MAX_LEN);
        sbi_bearer_wipe(buf);
        return NULL;
    }
    return buf;
}

int sbi_bearer_load(const char *name, const char *token, const char *file, const char *module, char **out, char *err,
                    size_t err_size)
{
    char why[SBI_BEARER_ERR_MAX];
    bool loose = false;

    *out = NULL;
    if (token != NULL && file != NULL) {
        snprintf(err, err_size, "%s and %s_file are both set: keep one", name, name);
        return -1;
    }
    if (token == NULL && file == NULL)
        return 0;
    char *t = file != NULL ? sbi_bearer_read_file(file, &loose, why, sizeof why) : strdup(token);
    if (t == NULL) {
        snprintf(err, err_size, "%s_file: %s", name, file != NULL ? why : "out of memory");
        return -1;
    }
    if (sbi_bearer_syntax(t, why, sizeof why) != 0) {
        snprintf(err, err_size, "%s%s: %s", name, file != NULL ? "_file" : "", why);
        sbi_bearer_wipe(t);
        return -1;
    }
    if (loose)
        log_warn(module, "%s_file %s may be read by group or others: chmod 600 it", name, file);
    *out = t;
    return 0;
}

static void digest(const char *s, size_t len, unsigned char out[SBI_BEARER_DIGEST_LEN])
{
    SHA256((const unsigned char *)s, len, out);
}

void sbi_bearer_init(sbi_bearer_t *b, const char *token)
{
    digest(token, strlen(token), b->digest);
}

sbi_bearer_result_t sbi_bearer_verify(const sbi_bearer_t *b, const char *authorization)
{
    unsigned char got[SBI_BEARER_DIGEST_LEN];
    const char *p = authorization;

    if (p == NULL)
        return SBI_BEARER_MISSING;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncasecmp(p, SCHEME, sizeof SCHEME - 1) != 0 || (p[sizeof SCHEME - 1] != ' ' && p[sizeof SCHEME - 1] != '\t'))
        return strncasecmp(p, SCHEME, sizeof SCHEME) == 0 ? SBI_BEARER_INVALID : SBI_BEARER_MISSING;
    p += sizeof SCHEME - 1;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = strlen(p);
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    if (len == 0)
        return SBI_BEARER_INVALID;
    digest(p, len, got);
    bool same = CRYPTO_memcmp(got, b->digest, sizeof got) == 0;
    OPENSSL_cleanse(got, sizeof got);
    return same ? SBI_BEARER_OK : SBI_BEARER_INVALID;
}
