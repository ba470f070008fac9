/*
 * fuzz_digest — libFuzzer target for the HTTP Digest header parsers of lib/kms/http_digest.h (RFC 7616 §3.3
 * WWW-Authenticate and §3.4 Authorization; auth-param syntax of RFC 7235 §2.1, quoted-string of RFC 7230 §3.2.6).
 * mihua-kms parses every Authorization header it receives; the UE-side KMS client parses the server's challenge.
 *
 * Each input is tried as both headers. Properties checked on top of the sanitizers:
 *   - a parsed Authorization has NUL-terminated fields within their bounds, no control character but HTAB in
 *     any of them (nothing can carry CR/LF into a later header), an nc of 8 hex digits when one was sent; the
 *     KMS's checks on it (digest_server_verify, the username's identity normalisation) never grant access, and
 *     normalising a normalised identity changes nothing;
 *   - a parsed challenge can be answered: digest_build_authorization succeeds unless a value holds a HTAB (which
 *     the builder refuses to quote), the answer parses back with the challenge's realm, nonce and opaque, its
 *     response verifies with the password, and a server of that realm calls it stale (right credentials, nonce
 *     not one of its own) rather than wrong.
 */
#include "fuzz.h"

#include <stdbool.h>
#include <string.h>

#include "kms/http_digest.h"
#include "subscriber/subscriber.h"

#define REALM "mihua-kms"
#define USERNAME "sip:+15550000001@ims.mnc001.mcc001.3gppnetwork.org"
#define PASSWORD "3a13d46e42d0348cf301e000c7feae7197228f2053e3f23b79c2bc1acfbf69fd"
#define METHOD "POST"
#define URI "/kms/v1/session-keys"
#define CNONCE "ZnV6ei1jbm9uY2UtZml4ZWQtMDAwMDAw" /* fixed: a random one would make runs differ */
#define NOW 1000                                  /* any monotonic time; the table is empty anyway */

static bool clean_field(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
            return false;
    return true;
}

#define CLEAN(field) clean_field((field), sizeof(field))

static void check_auth_fields(const digest_auth_t *a)
{
    FUZZ_CHECK(CLEAN(a->username) && CLEAN(a->realm) && CLEAN(a->nonce) && CLEAN(a->uri));
    FUZZ_CHECK(CLEAN(a->response) && CLEAN(a->cnonce) && CLEAN(a->opaque) && CLEAN(a->algorithm));
    FUZZ_CHECK(CLEAN(a->qop) && CLEAN(a->nc_text));
    if (a->present & DIGEST_P_NC)
        FUZZ_CHECK(strlen(a->nc_text) == DIGEST_NC_LEN);
    FUZZ_CHECK(!(a->present & DIGEST_P_USERNAME_EXT));
}

/* What mihua-kms does with the username (sub_find_by_identity normalises it first). */
static void check_identity(const char *username)
{
    char norm[SUB_URI_MAX + 1], again[SUB_URI_MAX + 1];
    if (sub_identity_normalise(username, norm, sizeof norm) != 0)
        return;
    FUZZ_CHECK(sub_identity_normalise(norm, again, sizeof again) == 0 && strcmp(norm, again) == 0);
}

static void fuzz_authorization(const char *text, size_t len)
{
    digest_auth_t auth;
    if (digest_parse_authorization(text, len, &auth) != 0)
        return;
    check_auth_fields(&auth);
    check_identity(auth.username);
    digest_server_t *srv = digest_server_new(&(digest_server_cfg_t){.realm = REALM, .max_nonces = 1});
    FUZZ_CHECK(srv != NULL);
    digest_result_t r = digest_server_verify(srv, &auth, METHOD, auth.uri, PASSWORD, NOW);
    FUZZ_CHECK(r != DIGEST_OK && r != DIGEST_INTERNAL);
    (void)digest_result_str(r);
    digest_server_free(srv);
}

static bool has_tab(const char *s)
{
    return strchr(s, '\t') != NULL;
}

/* The answer to a challenge parses back, verifies, and a server of that realm finds the nonce stale. */
static void check_answer(const digest_challenge_t *ch, const char *hdr, int n)
{
    digest_auth_t auth;
    FUZZ_CHECK(digest_parse_authorization(hdr, (size_t)n, &auth) == 0);
    FUZZ_CHECK(strcmp(auth.realm, ch->realm) == 0 && strcmp(auth.nonce, ch->nonce) == 0);
    FUZZ_CHECK(ch->has_opaque ? strcmp(auth.opaque, ch->opaque) == 0 : !(auth.present & DIGEST_P_OPAQUE));
    FUZZ_CHECK(strcmp(auth.username, USERNAME) == 0 && strcmp(auth.uri, URI) == 0 && auth.nc == 1);
    FUZZ_CHECK(digest_response_matches(&auth, METHOD, PASSWORD) == 1);
    digest_server_t *srv = digest_server_new(&(digest_server_cfg_t){.realm = ch->realm, .max_nonces = 1});
    if (!srv)
        return; /* a realm no server of ours could have (empty) */
    FUZZ_CHECK(digest_server_verify(srv, &auth, METHOD, URI, PASSWORD, NOW) == DIGEST_STALE);
    digest_server_free(srv);
}

static void fuzz_challenge(const char *text, size_t len)
{
    digest_challenge_t ch;
    if (digest_parse_challenge(text, len, &ch) != 0)
        return;
    FUZZ_CHECK(CLEAN(ch.realm) && CLEAN(ch.nonce) && CLEAN(ch.opaque) && CLEAN(ch.qop) && ch.nonce[0]);
    char hdr[DIGEST_MAX_HEADER_LEN];
    int n = digest_build_authorization(&ch, USERNAME, PASSWORD, METHOD, URI, CNONCE, 1, hdr, sizeof hdr);
    if (has_tab(ch.realm) || has_tab(ch.nonce) || (ch.has_opaque && has_tab(ch.opaque))) {
        FUZZ_CHECK(n < 0);
        return;
    }
    FUZZ_CHECK(n > 0 && (size_t)n < sizeof hdr);
    check_answer(&ch, hdr, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_authorization((const char *)data, size);
    fuzz_challenge((const char *)data, size);
    return 0;
}
