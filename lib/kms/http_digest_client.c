/*
 * http_digest_client — the client side of HTTP Digest (RFC 7616 §3.4): cnonces and the Authorization value that
 * answers a parsed challenge, reusing its nonce with nc+1 until the server says stale=true (§3.5).
 *
 * Trade-off: cnonces are drawn from RAND_bytes in batches (digest_cnonce_pool_t, see http_digest.h): one DRBG call
 * per DIGEST_CNONCE_POOL requests; each cnonce is still fresh random bytes, used once and wiped from the pool.
 */
#include "kms/http_digest_int.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/core_b64url.h"
#include "core/core_hex.h"

#define DG_CNONCE_RAW_LEN DIGEST_CNONCE_RAW_LEN

int digest_cnonce_new(char out[DIGEST_CNONCE_LEN + 1])
{
    uint8_t raw[DG_CNONCE_RAW_LEN];
    if (!out || RAND_bytes(raw, sizeof(raw)) != 1)
        return -1;
    core_b64url_encode(raw, sizeof(raw), out, DIGEST_CNONCE_LEN + 1);
    return 0;
}

int digest_cnonce_next(digest_cnonce_pool_t *pool, char out[DIGEST_CNONCE_LEN + 1])
{
    if (!pool || !out)
        return -1;
    if (pool->left == 0) {
        if (RAND_bytes(pool->raw, sizeof(pool->raw)) != 1)
            return -1;
        pool->left = DIGEST_CNONCE_POOL;
    }
    uint8_t *raw = pool->raw + (size_t)(DIGEST_CNONCE_POOL - pool->left) * DG_CNONCE_RAW_LEN;
    core_b64url_encode(raw, DG_CNONCE_RAW_LEN, out, DIGEST_CNONCE_LEN + 1);
    OPENSSL_cleanse(raw, DG_CNONCE_RAW_LEN); /* handed out once */
    pool->left--;
    return 0;
}

void digest_cnonce_pool_clear(digest_cnonce_pool_t *pool)
{
    if (!pool)
        return;
    OPENSSL_cleanse(pool, sizeof(*pool));
}

int digest_build_authorization(const digest_challenge_t *ch, const char *username, const char *password,
                               const char *method, const char *uri, const char *cnonce, uint32_t nc, char *buf,
                               size_t cap)
{
    return digest_build_authorization_h(NULL, ch, username, password, method, uri, cnonce, nc, buf, cap);
}

int digest_build_authorization_h(digest_hasher_t *h, const digest_challenge_t *ch, const char *username,
                                 const char *password, const char *method, const char *uri, const char *cnonce,
                                 uint32_t nc, char *buf, size_t cap)
{
    char nc_text[DIGEST_NC_LEN + 1];
    char response[DIGEST_RESPONSE_LEN + 1];

    if (!ch || !username || !password || !method || !uri || !cnonce || !cnonce[0] || nc == 0 || !buf || cap > INT32_MAX)
        return -1;
    const uint8_t nc_be[DIGEST_NC_LEN / 2] = {(uint8_t)(nc >> 24), (uint8_t)(nc >> 16), (uint8_t)(nc >> 8),
                                              (uint8_t)nc};
    core_hex_encode(nc_be, sizeof(nc_be), nc_text);
    if (dg_compute(h, ch->alg, username, ch->realm, password, method, uri, ch->nonce, nc_text, cnonce, DG_QOP,
                   response) < 0)
        return -1;

    dg_out_t o = {buf, cap, 0, cap == 0};
    if (cap)
        buf[0] = '\0';
    dg_out_str(&o, DG_SCHEME);
    dg_out_param(&o, " ", "username", username, 1);
    dg_out_param(&o, ", ", "realm", ch->realm, 1);
    dg_out_param(&o, ", ", "uri", uri, 1);
    dg_out_param(&o, ", ", "algorithm", digest_alg_name(ch->alg), 0);
    dg_out_param(&o, ", ", "nonce", ch->nonce, 1);
    dg_out_param(&o, ", ", "nc", nc_text, 0);
    dg_out_param(&o, ", ", "cnonce", cnonce, 1);
    dg_out_param(&o, ", ", "qop", DG_QOP, 0);
    dg_out_param(&o, ", ", "response", response, 1);
    if (ch->has_opaque)
        dg_out_param(&o, ", ", "opaque", ch->opaque, 1);
    return dg_out_done(&o);
}
