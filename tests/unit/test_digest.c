/*
 * Unit tests for lib/kms/http_digest: the RFC 7616 §3.9.1 SHA-256 example, the parser against hostile input, the
 * server nonces (expiry with a fake clock, replay refusal, a challenge flood evicting nothing, stale only with good
 * credentials) and the client/server round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kms/http_digest.h"
#include "kms/kms_crypto.h"

#define HDR_CAP 1024

/* RFC 7616 §3.9.1 */
static const char RFC_USER[] = "Mufasa";
static const char RFC_PASS[] = "Circle of Life";
static const char RFC_REALM[] = "http-auth@example.org";
static const char RFC_NONCE[] = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
static const char RFC_CNONCE[] = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
static const char RFC_OPAQUE[] = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
static const char RFC_URI[] = "/dir/index.html";
static const char RFC_RESPONSE[] = "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1";

static int parse(const char *s, digest_auth_t *a)
{
    return digest_parse_authorization(s, strlen(s), a);
}

/* ------------------------------------------------------------ computation */

static void test_rfc7616_example_response(void **state)
{
    (void)state;
    char out[DIGEST_RESPONSE_LEN + 1];
    assert_int_equal(digest_compute_response(RFC_USER, RFC_REALM, RFC_PASS, "GET", RFC_URI, RFC_NONCE, "00000001",
                                             RFC_CNONCE, "auth", out),
                     0);
    assert_string_equal(out, RFC_RESPONSE);
}

static void test_rfc7616_example_header_parses_and_matches(void **state)
{
    (void)state;
    /* The RFC's Authorization example on one line (header folding is obsolete, RFC 7230 §3.2.4). */
    static const char hdr[] = "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", "
                              "algorithm=SHA-256, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, "
                              "cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, "
                              "response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", "
                              "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
    digest_auth_t a;
    assert_int_equal(parse(hdr, &a), 0);
    assert_string_equal(a.username, RFC_USER);
    assert_string_equal(a.realm, RFC_REALM);
    assert_string_equal(a.uri, RFC_URI);
    assert_string_equal(a.algorithm, "SHA-256");
    assert_string_equal(a.nonce, RFC_NONCE);
    assert_string_equal(a.nc_text, "00000001");
    assert_int_equal(a.nc, 1);
    assert_string_equal(a.cnonce, RFC_CNONCE);
    assert_string_equal(a.qop, "auth");
    assert_string_equal(a.response, RFC_RESPONSE);
    assert_string_equal(a.opaque, RFC_OPAQUE);
    assert_true(digest_response_matches(&a, "GET", RFC_PASS));
    assert_false(digest_response_matches(&a, "POST", RFC_PASS));
    assert_false(digest_response_matches(&a, "GET", "Circle of life"));

    /* Uppercase hex in the response is the same number. */
    for (char *p = a.response; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    assert_true(digest_response_matches(&a, "GET", RFC_PASS));
}

/* RFC 7616 §3.9.1 gives the same exchange with MD5 (RFC 8760 keeps MD5 for SIP phones that know no better). */
static void test_rfc7616_md5_example(void **state)
{
    (void)state;
    static const char md5_response[] = "8ca523f5e9506fed4657c9700eebdbec";
    static const char hdr[] = "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", "
                              "algorithm=MD5, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, "
                              "cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, "
                              "response=\"8ca523f5e9506fed4657c9700eebdbec\", "
                              "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
    char out[DIGEST_RESPONSE_LEN + 1];
    assert_int_equal(digest_compute_response_alg(DIGEST_MD5, RFC_USER, RFC_REALM, RFC_PASS, "GET", RFC_URI, RFC_NONCE,
                                                 "00000001", RFC_CNONCE, "auth", out),
                     0);
    assert_string_equal(out, md5_response);
    assert_int_equal(digest_compute_response_alg(DIGEST_SHA256, RFC_USER, RFC_REALM, RFC_PASS, "GET", RFC_URI,
                                                 RFC_NONCE, "00000001", RFC_CNONCE, "auth", out),
                     0);
    assert_string_equal(out, RFC_RESPONSE);

    /* A client offered the MD5 challenge builds the RFC's MD5 response. */
    static const char chal[] = "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=MD5, "
                               "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
                               "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
    digest_challenge_t ch;
    char built[HDR_CAP];
    digest_auth_t a;
    assert_int_equal(digest_parse_challenge(chal, strlen(chal), &ch), -1); /* the KMS client: SHA-256 only */
    assert_int_equal(digest_parse_challenge_alg(chal, strlen(chal), DIGEST_ALGS_SHA256 | DIGEST_ALGS_MD5, &ch), 0);
    assert_int_equal(ch.alg, DIGEST_MD5);
    assert_true(
        digest_build_authorization(&ch, RFC_USER, RFC_PASS, "GET", RFC_URI, RFC_CNONCE, 1, built, sizeof(built)) > 0);
    assert_int_equal(parse(built, &a), 0);
    assert_string_equal(a.response, md5_response);
    assert_string_equal(a.algorithm, "MD5");
    assert_int_equal(parse(hdr, &a), 0);
    a.alg = DIGEST_MD5;
    assert_true(digest_response_matches(&a, "GET", RFC_PASS));
}

static void test_client_builds_rfc_example(void **state)
{
    (void)state;
    static const char chal[] = "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=SHA-256, "
                               "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
                               "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
    digest_challenge_t ch;
    char hdr[HDR_CAP];
    digest_auth_t a;

    assert_int_equal(digest_parse_challenge(chal, strlen(chal), &ch), 0);
    assert_string_equal(ch.realm, RFC_REALM);
    assert_string_equal(ch.nonce, RFC_NONCE);
    assert_true(ch.has_opaque);
    assert_false(ch.stale);
    int n = digest_build_authorization(&ch, RFC_USER, RFC_PASS, "GET", RFC_URI, RFC_CNONCE, 1, hdr, sizeof(hdr));
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(hdr));
    assert_int_equal(parse(hdr, &a), 0);
    assert_string_equal(a.response, RFC_RESPONSE);
    assert_string_equal(a.opaque, RFC_OPAQUE);
    assert_string_equal(a.nc_text, "00000001");

    /* too small a buffer fails cleanly */
    assert_int_equal(digest_build_authorization(&ch, RFC_USER, RFC_PASS, "GET", RFC_URI, RFC_CNONCE, 1, hdr, 40), -1);
    assert_string_equal(hdr, "");
    assert_int_equal(digest_build_authorization(&ch, RFC_USER, RFC_PASS, "GET", RFC_URI, RFC_CNONCE, 0, hdr, 1024), -1);
    /* CR/LF in a value would inject a header: refused */
    assert_int_equal(
        digest_build_authorization(&ch, "a\r\nX: y", RFC_PASS, "GET", RFC_URI, RFC_CNONCE, 1, hdr, sizeof(hdr)), -1);
}

static void test_challenge_parse_variants(void **state)
{
    (void)state;
    digest_challenge_t ch;
#define CH(s) digest_parse_challenge((s), strlen(s), &ch)
    assert_int_equal(CH("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256, qop=\"auth\", stale=TRUE"), 0);
    assert_true(ch.stale);
    assert_false(ch.has_opaque);
    /* a second challenge after ours is not ours */
    assert_int_equal(CH("Digest realm=\"r\", nonce=\"n\", algorithm=sha-256, qop=auth, Basic realm=\"x\""), 0);
    assert_string_equal(ch.realm, "r");
    assert_int_equal(CH("Digest realm=\"r\", nonce=\"n\", qop=\"auth\""), -1); /* MD5 */
    assert_int_equal(CH("Digest realm=\"r\", nonce=\"n\", algorithm=MD5, qop=\"auth\""), -1);
    assert_int_equal(CH("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256, qop=\"auth-int\""), -1);
    assert_int_equal(CH("Digest realm=\"r\", algorithm=SHA-256, qop=\"auth\""), -1); /* no nonce */
    assert_int_equal(CH("Basic realm=\"r\""), -1);
    assert_int_equal(CH("Digest realm=\"r\", realm=\"s\", nonce=\"n\", algorithm=SHA-256, qop=auth"), -1);
#undef CH
}

/* ------------------------------------------------------------ parser: accepted shapes */

static void test_parse_tolerant_syntax(void **state)
{
    (void)state;
    digest_auth_t a;
    /* scheme case, OWS around '=', tabs, empty list elements, quoted tokens, escapes, unknown params */
    assert_int_equal(parse("dIgEsT  ,username = \"a\\\"b\\\\c\" ,\t,realm=r, x-ext=\"y, z\", nc=0000000A, "
                           "qop=\"auth\",,",
                           &a),
                     0);
    assert_string_equal(a.username, "a\"b\\c");
    assert_string_equal(a.realm, "r");
    assert_string_equal(a.qop, "auth");
    assert_int_equal(a.nc, 10);
    assert_string_equal(a.nc_text, "0000000A");
    assert_true(a.present & DIGEST_P_USERNAME);
    assert_false(a.present & DIGEST_P_CNONCE);
    /* parameter names are case-insensitive */
    assert_int_equal(parse("Digest USERNAME=\"u\", Realm=r", &a), 0);
    assert_string_equal(a.username, "u");
    /* obs-text inside quotes is kept */
    assert_int_equal(parse("Digest realm=\"caf\xc3\xa9\"", &a), 0);
    assert_string_equal(a.realm, "caf\xc3\xa9");
}

/* ------------------------------------------------------------ parser: hostile input */

static void test_parse_rejects(void **state)
{
    (void)state;
    digest_auth_t a;
    static const char *const bad[] = {
        "",
        "Basic dXNlcjpwYXNz",
        "Digestusername=\"a\"",
        "Digest username",
        "Digest username=",
        "Digest username=\"a",                   /* unterminated */
        "Digest username=\"a\\",                 /* dangling escape */
        "Digest username=\"a\" realm=\"b\"",     /* missing comma */
        "Digest username=\"a\", username=\"b\"", /* duplicate */
        "Digest username=\"a\", USERNAME=\"a\"", /* duplicate, other case */
        "Digest nc=1",                           /* nc must be 8 hex */
        "Digest nc=0000000g",
        "Digest nc=000000001",
        "Digest username=\"a\rb\"", /* control char */
        "Digest username=\"a\nb\"",
        "Digest username=\"a\x7f\"",
        "Digest username=a\"b\"", /* quote inside a token */
        "Digest =\"a\"",
        "Digest username*=UTF-8''Mufasa", /* RFC 8187 form: refused */
        "Digest userhash=maybe",
        "Digest username=\"a\";realm=b",
        "Digest username=\"a\", realm=b c",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(bad[i], &a), -1);
        assert_int_equal(a.present, 0); /* output cleared on failure */
    }
    /* a bare scheme parses (no parameters), but verification then calls it malformed */
    assert_int_equal(parse("Digest", &a), 0);
    assert_int_equal(a.present, 0);

    /* NUL inside the given length is a control character */
    static const char with_nul[] = "Digest username=\"a\0b\"";
    assert_int_equal(digest_parse_authorization(with_nul, sizeof(with_nul) - 1, &a), -1);
}

static void test_parse_bounds(void **state)
{
    (void)state;
    digest_auth_t a;
    char *buf = malloc(DIGEST_MAX_HEADER_LEN + 64);
    assert_non_null(buf);

    /* username exactly at its bound: accepted; one more: refused, not truncated */
    int n = snprintf(buf, 64, "Digest username=\"");
    memset(buf + n, 'u', DIGEST_MAX_USERNAME_LEN);
    strcpy(buf + n + DIGEST_MAX_USERNAME_LEN, "\"");
    assert_int_equal(parse(buf, &a), 0);
    assert_int_equal(strlen(a.username), DIGEST_MAX_USERNAME_LEN);
    memset(buf + n, 'u', DIGEST_MAX_USERNAME_LEN + 1);
    strcpy(buf + n + DIGEST_MAX_USERNAME_LEN + 1, "\"");
    assert_int_equal(parse(buf, &a), -1);
    /* same for a token value */
    n = snprintf(buf, 64, "Digest algorithm=");
    memset(buf + n, 'A', DIGEST_MAX_TOKEN_LEN + 1);
    buf[n + DIGEST_MAX_TOKEN_LEN + 1] = '\0';
    assert_int_equal(parse(buf, &a), -1);
    /* response longer than 64 */
    n = snprintf(buf, 64, "Digest response=\"");
    memset(buf + n, 'a', DIGEST_RESPONSE_LEN + 1);
    strcpy(buf + n + DIGEST_RESPONSE_LEN + 1, "\"");
    assert_int_equal(parse(buf, &a), -1);

    /* too many parameters */
    size_t len = (size_t)snprintf(buf, 64, "Digest ");
    for (int i = 0; i <= DIGEST_MAX_PARAMS; i++)
        len += (size_t)snprintf(buf + len, 32, "x%d=y,", i);
    assert_int_equal(parse(buf, &a), -1);

    /* header over its bound */
    memset(buf, ' ', DIGEST_MAX_HEADER_LEN + 1);
    memcpy(buf, "Digest", 6);
    assert_int_equal(digest_parse_authorization(buf, DIGEST_MAX_HEADER_LEN + 1, &a), -1);
    free(buf);
}

/* Fuzz-ish: random bytes and random mutations of a good header must never crash or read out of bounds (ASan). */
static void test_parse_random_never_crashes(void **state)
{
    (void)state;
    static const char good[] = "Digest username=\"Mufasa\", realm=\"r\", uri=\"/a\", algorithm=SHA-256, "
                               "nonce=\"abc\", nc=00000001, cnonce=\"c\", qop=auth, response=\"00\", opaque=\"o\"";
    static const char alphabet[] = "\"\\,= \tDigestabc01\r\n\x7f\xff";
    digest_auth_t a;
    digest_challenge_t ch;
    char buf[sizeof(good)];
    unsigned seed = 12345;

    for (int iter = 0; iter < 20000; iter++) {
        size_t len = sizeof(good) - 1;
        memcpy(buf, good, sizeof(good));
        int muts = 1 + iter % 4;
        for (int m = 0; m < muts; m++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = (seed >> 8) % len;
            seed = seed * 1103515245u + 12345u;
            buf[pos] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
        }
        seed = seed * 1103515245u + 12345u;
        size_t cut = (seed >> 8) % (len + 1);
        /* heap copy of exactly `cut` bytes: any overread is caught by ASan */
        char *exact = malloc(cut ? cut : 1);
        assert_non_null(exact);
        memcpy(exact, buf, cut);
        (void)digest_parse_authorization(exact, cut, &a);
        (void)digest_parse_challenge(exact, cut, &ch);
        free(exact);
    }
}

/* ------------------------------------------------------------ server */

typedef struct {
    digest_server_t *srv;
    int64_t now; /* the fake clock */
} fixture_t;

static const char REALM[] = "mihua-kms";
static const char USER[] = "sip:+15550000001@ims.mnc001.mcc001.3gppnetwork.org";
static const char PASS[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char PATH[] = "/kms/v1/session-keys";

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    digest_server_cfg_t cfg = {.realm = REALM, .nonce_lifetime_s = 300, .max_nonces = 4};
    f->srv = digest_server_new(&cfg);
    f->now = 1000;
    *state = f;
    return f->srv ? 0 : -1;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    digest_server_free(f->srv);
    free(f);
    return 0;
}

/* Server issues a challenge; the client parses it. */
static void challenge(fixture_t *f, int stale, digest_challenge_t *ch)
{
    char hdr[HDR_CAP];
    int n = digest_server_challenge(f->srv, f->now, stale, hdr, sizeof(hdr));
    assert_true(n > 0);
    assert_int_equal(digest_parse_challenge(hdr, (size_t)n, ch), 0);
    assert_int_equal(ch->stale, stale);
}

/* Client answers with (pass, nc); the server verifies. */
static digest_result_t answer(fixture_t *f, const digest_challenge_t *ch, const char *pass, uint32_t nc)
{
    char hdr[HDR_CAP], cnonce[DIGEST_CNONCE_LEN + 1];
    digest_auth_t a;
    assert_int_equal(digest_cnonce_new(cnonce), 0);
    assert_true(digest_build_authorization(ch, USER, pass, "POST", PATH, cnonce, nc, hdr, sizeof(hdr)) > 0);
    assert_int_equal(parse(hdr, &a), 0);
    return digest_server_verify(f->srv, &a, "POST", PATH, PASS, f->now);
}

static void test_server_challenge_format(void **state)
{
    fixture_t *f = *state;
    char hdr[HDR_CAP];
    assert_true(digest_server_challenge(f->srv, f->now, 1, hdr, sizeof(hdr)) > 0);
    assert_non_null(strstr(hdr, "Digest realm=\"mihua-kms\", qop=\"auth\", algorithm=SHA-256, nonce=\""));
    assert_non_null(strstr(hdr, "\", opaque=\""));
    assert_non_null(strstr(hdr, ", stale=true"));
    assert_true(digest_server_challenge(f->srv, f->now, 0, hdr, sizeof(hdr)) > 0);
    assert_null(strstr(hdr, "stale"));
    assert_int_equal(digest_server_challenge(f->srv, f->now, 0, hdr, 20), -1);

    /* builder escapes quotes and refuses CR/LF */
    assert_true(digest_challenge_build(hdr, sizeof(hdr), "a\"b", "n", "o", 0) > 0);
    assert_non_null(strstr(hdr, "realm=\"a\\\"b\""));
    assert_int_equal(digest_challenge_build(hdr, sizeof(hdr), "a\r\nb", "n", "o", 0), -1);
}

/* A SIP-style server (RFC 8760 §2.4) offers SHA-256 then MD5 and verifies either; absent algorithm means MD5; a
 * KMS-style server (the default) refuses MD5 as malformed. */
static void test_server_md5_and_sha256(void **state)
{
    (void)state;
    digest_server_cfg_t cfg = {.realm = "ims.test", .algorithms = DIGEST_ALGS_SHA256 | DIGEST_ALGS_MD5};
    digest_server_t *sip = digest_server_new(&cfg);
    cfg.algorithms = 0;
    digest_server_t *kms = digest_server_new(&cfg);
    char hdr[HDR_CAP], auth[HDR_CAP];
    digest_challenge_t ch;
    digest_auth_t a;
    assert_non_null(sip);
    assert_non_null(kms);
    const unsigned both = DIGEST_ALGS_SHA256 | DIGEST_ALGS_MD5;
    for (int alg = DIGEST_SHA256; alg <= DIGEST_MD5; alg++) {
        int n = digest_server_challenge_alg(sip, 1000, 0, (digest_alg_t)alg, hdr, sizeof(hdr));
        assert_true(n > 0);
        assert_non_null(strstr(hdr, alg == DIGEST_MD5 ? "algorithm=MD5," : "algorithm=SHA-256,"));
        assert_int_equal(digest_parse_challenge_alg(hdr, (size_t)n, both, &ch), 0);
        assert_int_equal(ch.alg, alg);
        assert_true(digest_build_authorization(&ch, "+15550000001", "secret-pw", "REGISTER", "sip:ims.test", "c1", 1,
                                               auth, sizeof(auth)) > 0);
        assert_int_equal(parse(auth, &a), 0);
        assert_int_equal(digest_server_verify(sip, &a, "REGISTER", "sip:ims.test", "secret-pw", 1000), DIGEST_OK);
        assert_int_equal(digest_server_verify(sip, &a, "REGISTER", "sip:ims.test", "secret-pw", 1000), DIGEST_REPLAY);
        assert_int_equal(digest_server_verify(kms, &a, "REGISTER", "sip:ims.test", "secret-pw", 1000),
                         alg == DIGEST_MD5 ? DIGEST_MALFORMED : DIGEST_STALE); /* MD5 refused; not its nonce */
    }
    /* "algorithm" absent (RFC 2617 style): MD5 */
    int n = digest_server_challenge_alg(sip, 1000, 0, DIGEST_MD5, hdr, sizeof(hdr));
    assert_int_equal(digest_parse_challenge_alg(hdr, (size_t)n, both, &ch), 0);
    assert_true(
        digest_build_authorization(&ch, "u", "secret-pw", "REGISTER", "sip:ims.test", "c2", 1, auth, sizeof(auth)) > 0);
    char *alg_param = strstr(auth, "algorithm=MD5, ");
    assert_non_null(alg_param);
    memmove(alg_param, alg_param + strlen("algorithm=MD5, "), strlen(alg_param + strlen("algorithm=MD5, ")) + 1);
    assert_int_equal(parse(auth, &a), 0);
    assert_int_equal(digest_server_verify(sip, &a, "REGISTER", "sip:ims.test", "secret-pw", 1000), DIGEST_OK);
    assert_int_equal(digest_server_challenge_alg(kms, 1000, 0, DIGEST_MD5, hdr, sizeof(hdr)), -1);
    digest_server_free(sip);
    digest_server_free(kms);
}

static void test_server_ok_then_reuse_with_next_nc(void **state)
{
    fixture_t *f = *state;
    digest_challenge_t ch;
    challenge(f, 0, &ch);
    assert_int_equal(answer(f, &ch, PASS, 1), DIGEST_OK);
    assert_int_equal(answer(f, &ch, PASS, 2), DIGEST_OK);
    assert_int_equal(answer(f, &ch, PASS, 7), DIGEST_OK); /* gaps allowed: strictly increasing is enough */
}

static void test_server_replay_refused(void **state)
{
    fixture_t *f = *state;
    digest_challenge_t ch;
    char hdr[HDR_CAP];
    digest_auth_t a;
    challenge(f, 0, &ch);

    assert_true(digest_build_authorization(&ch, USER, PASS, "POST", PATH, "cn", 5, hdr, sizeof(hdr)) > 0);
    assert_int_equal(parse(hdr, &a), 0);
    assert_int_equal(digest_server_verify(f->srv, &a, "POST", PATH, PASS, f->now), DIGEST_OK);
    /* the very same header again */
    assert_int_equal(digest_server_verify(f->srv, &a, "POST", PATH, PASS, f->now), DIGEST_REPLAY);
    /* a lower nc */
    assert_int_equal(answer(f, &ch, PASS, 4), DIGEST_REPLAY);
    assert_int_equal(answer(f, &ch, PASS, 6), DIGEST_OK);
}

static void test_server_bad_password_does_not_burn_nc(void **state)
{
    fixture_t *f = *state;
    digest_challenge_t ch;
    challenge(f, 0, &ch);
    assert_int_equal(answer(f, &ch, "wrong", 0xffffffffu), DIGEST_BAD_RESPONSE);
    assert_int_equal(answer(f, &ch, PASS, 1), DIGEST_OK);
}

static void test_server_expiry_with_fake_clock(void **state)
{
    fixture_t *f = *state;
    digest_challenge_t ch;
    challenge(f, 0, &ch);
    assert_int_equal(digest_server_nonce_count(f->srv, f->now), 0); /* issuing stores nothing */

    f->now += 299;
    assert_int_equal(answer(f, &ch, PASS, 1), DIGEST_OK);
    assert_int_equal(digest_server_nonce_count(f->srv, f->now), 1); /* its nc is tracked once used */
    f->now += 1;                                                    /* lifetime reached */
    assert_int_equal(answer(f, &ch, PASS, 2), DIGEST_STALE);
    assert_int_equal(answer(f, &ch, "wrong", 2), DIGEST_BAD_RESPONSE); /* stale only for good credentials */
    assert_int_equal(digest_server_nonce_count(f->srv, f->now), 0);

    /* the client follows the stale=true challenge */
    challenge(f, 1, &ch);
    assert_int_equal(answer(f, &ch, PASS, 1), DIGEST_OK);
}

/* Unauthenticated clients get challenges without limit; none of them can make a legitimate nonce stale. */
static void test_server_challenge_flood_evicts_nothing(void **state)
{
    fixture_t *f = *state; /* max_nonces = 4 */
    digest_challenge_t legit, unused;
    challenge(f, 0, &legit);
    challenge(f, 0, &unused);
    assert_int_equal(answer(f, &legit, PASS, 1), DIGEST_OK);
    for (int i = 0; i < 5000; i++) {
        digest_challenge_t junk;
        challenge(f, 0, &junk);
    }
    assert_int_equal(digest_server_nonce_count(f->srv, f->now), 1);
    assert_int_equal(answer(f, &legit, PASS, 2), DIGEST_OK);  /* in use before the flood */
    assert_int_equal(answer(f, &unused, PASS, 1), DIGEST_OK); /* issued before it, first used after */
}

/* More nonces in use than the replay table holds: an evicted nonce is stale, never replayable. */
static void test_server_replay_table_full(void **state)
{
    fixture_t *f = *state; /* max_nonces = 4 */
    enum { N = 12 };
    digest_challenge_t ch[N];
    for (int i = 0; i < N; i++) {
        challenge(f, 0, &ch[i]);
        assert_int_equal(answer(f, &ch[i], PASS, 1), DIGEST_OK);
        f->now++;
    }
    assert_true(digest_server_nonce_count(f->srv, f->now) <= 4);
    for (int i = 0; i < N; i++) {
        digest_result_t r = answer(f, &ch[i], PASS, 1);
        assert_true(r == DIGEST_REPLAY || r == DIGEST_STALE);
    }
    assert_int_equal(answer(f, &ch[N - 1], PASS, 2), DIGEST_OK); /* the newest is still held */
    digest_challenge_t fresh;
    challenge(f, 1, &fresh);
    assert_int_equal(answer(f, &fresh, PASS, 1), DIGEST_OK);
}

static void test_server_unknown_nonces(void **state)
{
    fixture_t *f = *state;
    digest_challenge_t ch;
    challenge(f, 0, &ch);

    digest_challenge_t forged = ch;
    /* not ours at all, right shape but random, slot index out of range */
    strcpy(forged.nonce, "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
    assert_int_equal(answer(f, &forged, PASS, 1), DIGEST_STALE);
    strcpy(forged.nonce, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_int_equal(answer(f, &forged, PASS, 1), DIGEST_STALE);
    strcpy(forged.nonce, "_____AAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_int_equal(answer(f, &forged, PASS, 1), DIGEST_STALE);
    /* one character changed in a live nonce */
    forged = ch;
    forged.nonce[20] = forged.nonce[20] == 'A' ? 'B' : 'A';
    assert_int_equal(answer(f, &forged, PASS, 1), DIGEST_STALE);
    /* the genuine one still works */
    assert_int_equal(answer(f, &ch, PASS, 1), DIGEST_OK);
}

static void test_server_realm_and_opaque(void **state)
{
    fixture_t *f = *state;
    digest_challenge_t ch, other;
    challenge(f, 0, &ch);

    other = ch;
    strcpy(other.realm, "elsewhere");
    assert_int_equal(answer(f, &other, PASS, 1), DIGEST_BAD_RESPONSE);
    other = ch;
    strcpy(other.opaque, "tampered");
    assert_int_equal(answer(f, &other, PASS, 1), DIGEST_BAD_RESPONSE);
    other = ch;
    other.has_opaque = 0;
    assert_int_equal(answer(f, &other, PASS, 1), DIGEST_BAD_RESPONSE);
    assert_int_equal(answer(f, &ch, PASS, 1), DIGEST_OK);
}

static void test_server_malformed(void **state)
{
    fixture_t *f = *state;
    digest_challenge_t ch;
    char hdr[HDR_CAP];
    digest_auth_t a;
    challenge(f, 0, &ch);
    assert_true(digest_build_authorization(&ch, USER, PASS, "POST", PATH, "cn", 1, hdr, sizeof(hdr)) > 0);
    assert_int_equal(parse(hdr, &a), 0);

    /* uri must be the request-target (RFC 7616 §3.4.6) */
    assert_int_equal(digest_server_verify(f->srv, &a, "POST", "/kms/v1/other", PASS, f->now), DIGEST_MALFORMED);

    digest_auth_t b = a;
    strcpy(b.algorithm, "MD5");
    assert_int_equal(digest_server_verify(f->srv, &b, "POST", PATH, PASS, f->now), DIGEST_MALFORMED);
    b = a;
    strcpy(b.qop, "auth-int");
    assert_int_equal(digest_server_verify(f->srv, &b, "POST", PATH, PASS, f->now), DIGEST_MALFORMED);
    b = a;
    b.present &= ~(unsigned)DIGEST_P_CNONCE;
    assert_int_equal(digest_server_verify(f->srv, &b, "POST", PATH, PASS, f->now), DIGEST_MALFORMED);
    b = a;
    b.present &= ~(unsigned)DIGEST_P_ALGORITHM; /* absent = MD5 */
    assert_int_equal(digest_server_verify(f->srv, &b, "POST", PATH, PASS, f->now), DIGEST_MALFORMED);
    b = a;
    b.nc = 0;
    assert_int_equal(digest_server_verify(f->srv, &b, "POST", PATH, PASS, f->now), DIGEST_MALFORMED);
    b = a;
    b.userhash = 1;
    assert_int_equal(digest_server_verify(f->srv, &b, "POST", PATH, PASS, f->now), DIGEST_MALFORMED);
    b = a;
    strcpy(b.response, "xyz");
    assert_int_equal(digest_server_verify(f->srv, &b, "POST", PATH, PASS, f->now), DIGEST_MALFORMED);
    assert_int_equal(parse("Digest", &b), 0);
    assert_int_equal(digest_server_verify(f->srv, &b, "POST", PATH, PASS, f->now), DIGEST_MALFORMED);

    /* nothing above consumed the nonce */
    assert_int_equal(digest_server_verify(f->srv, &a, "POST", PATH, PASS, f->now), DIGEST_OK);
}

static void test_server_with_kms_key_password(void **state)
{
    fixture_t *f = *state;
    uint8_t key[KMS_KEY_LEN];
    char pw[KMS_DIGEST_PASSWORD_LEN + 1];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)i;
    kms_digest_password(key, pw);
    assert_string_equal(pw, PASS); /* the hex form the fixture (and curl -u IMPU:HEX) uses */
    digest_challenge_t ch;
    challenge(f, 0, &ch);
    assert_int_equal(answer(f, &ch, pw, 1), DIGEST_OK);
    kms_cleanse(pw, sizeof(pw));
}

/* The pool hands out distinct 32-character cnonces across refills and wipes what it handed out. */
static void test_cnonce_pool(void **state)
{
    (void)state;
    digest_cnonce_pool_t pool = {0};
    char seen[2 * DIGEST_CNONCE_POOL + 1][DIGEST_CNONCE_LEN + 1];
    for (int i = 0; i < 2 * DIGEST_CNONCE_POOL + 1; i++) {
        assert_int_equal(digest_cnonce_next(&pool, seen[i]), 0);
        assert_int_equal(strlen(seen[i]), DIGEST_CNONCE_LEN);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(seen[i], seen[j]);
    }
    static const uint8_t zero[DIGEST_CNONCE_RAW_LEN];
    assert_memory_equal(pool.raw, zero, sizeof(zero)); /* the first of the third batch was handed out */
    digest_cnonce_pool_clear(&pool);
    assert_int_equal(pool.left, 0);
    assert_int_equal(digest_cnonce_next(NULL, seen[0]), -1);
}

static void test_server_config(void **state)
{
    (void)state;
    digest_server_cfg_t cfg = {.realm = NULL};
    assert_null(digest_server_new(&cfg));
    cfg.realm = "";
    assert_null(digest_server_new(&cfg));
    cfg.realm = "a\r\nb";
    assert_null(digest_server_new(&cfg));
    cfg.realm = "ok";
    cfg.max_nonces = DIGEST_MAX_NONCES_LIMIT + 1;
    assert_null(digest_server_new(&cfg));
    cfg.max_nonces = 0; /* defaults */
    digest_server_t *srv = digest_server_new(&cfg);
    assert_non_null(srv);
    digest_server_free(srv);
    digest_server_free(NULL);
    assert_string_equal(digest_result_str(DIGEST_REPLAY), "replay");
    assert_string_equal(digest_result_str(DIGEST_STALE), "stale");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7616_example_response),
        cmocka_unit_test(test_rfc7616_example_header_parses_and_matches),
        cmocka_unit_test(test_rfc7616_md5_example),
        cmocka_unit_test(test_client_builds_rfc_example),
        cmocka_unit_test(test_server_md5_and_sha256),
        cmocka_unit_test(test_challenge_parse_variants),
        cmocka_unit_test(test_parse_tolerant_syntax),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_parse_bounds),
        cmocka_unit_test(test_parse_random_never_crashes),
        cmocka_unit_test_setup_teardown(test_server_challenge_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_ok_then_reuse_with_next_nc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_replay_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_bad_password_does_not_burn_nc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_expiry_with_fake_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_challenge_flood_evicts_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_replay_table_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_unknown_nonces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_realm_and_opaque, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_with_kms_key_password, setup, teardown),
        cmocka_unit_test(test_server_config),
        cmocka_unit_test(test_cnonce_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
