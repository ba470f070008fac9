/*
 * http_digest_header — writing Digest header values: the WWW-Authenticate challenge (RFC 7616 §3.3) and the
 * bounded writer the client's Authorization (http_digest_client.c) shares.
 *
 * Values go out as quoted-strings with '"' and '\' escaped (RFC 7230 §3.2.6); a control character in a value is an
 * error, so nothing a caller passes can inject a header line. A buffer too small is an error, never a cut value.
 */
#include "kms/http_digest_int.h"

#include <string.h>

void dg_out_str(dg_out_t *o, const char *s)
{
    size_t n = strlen(s);
    if (o->err || o->len + n + 1 > o->cap) {
        o->err = 1;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void dg_out_byte(dg_out_t *o, char c)
{
    if (o->err || o->len + 2 > o->cap) {
        o->err = 1;
        return;
    }
    o->buf[o->len++] = c;
    o->buf[o->len] = '\0';
}

/* Writes "value" with '"' and '\' escaped; control characters are refused (no header injection). */
static void dg_out_quoted(dg_out_t *o, const char *s)
{
    dg_out_byte(o, '"');
    for (; *s && !o->err; s++) {
        unsigned char c = (unsigned char)*s;
        if (!dg_qd_ok(c) || c == '\t') {
            o->err = 1;
            return;
        }
        if (c == '"' || c == '\\')
            dg_out_byte(o, '\\');
        dg_out_byte(o, (char)c);
    }
    dg_out_byte(o, '"');
}

void dg_out_param(dg_out_t *o, const char *sep, const char *name, const char *value, int quoted)
{
    dg_out_str(o, sep);
    dg_out_str(o, name);
    dg_out_str(o, "=");
    if (quoted)
        dg_out_quoted(o, value);
    else
        dg_out_str(o, value);
}

int dg_out_done(dg_out_t *o)
{
    if (o->err) {
        if (o->cap)
            o->buf[0] = '\0';
        return -1;
    }
    return (int)o->len;
}

const char *digest_alg_name(digest_alg_t alg)
{
    return alg == DIGEST_MD5 ? DG_ALGORITHM_MD5 : DG_ALGORITHM;
}

int digest_challenge_build(char *buf, size_t cap, const char *realm, const char *nonce, const char *opaque, int stale)
{
    return digest_challenge_build_alg(buf, cap, DIGEST_SHA256, realm, nonce, opaque, stale);
}

int digest_challenge_build_alg(char *buf, size_t cap, digest_alg_t alg, const char *realm, const char *nonce,
                               const char *opaque, int stale)
{
    if (!buf || !realm || !nonce || !opaque || cap > INT32_MAX)
        return -1;
    dg_out_t o = {buf, cap, 0, cap == 0};
    if (cap)
        buf[0] = '\0';
    dg_out_str(&o, DG_SCHEME);
    dg_out_param(&o, " ", "realm", realm, 1);
    dg_out_param(&o, ", ", "qop", DG_QOP, 1);
    dg_out_param(&o, ", ", "algorithm", digest_alg_name(alg), 0);
    dg_out_param(&o, ", ", "nonce", nonce, 1);
    dg_out_param(&o, ", ", "opaque", opaque, 1);
    if (stale)
        dg_out_param(&o, ", ", "stale", "true", 0);
    return dg_out_done(&o);
}
