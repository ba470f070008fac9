/*
 * Unit tests for lib/core/core_hex and lib/core/core_b64url: RFC 4648 §10 vectors (base16 and, padding stripped,
 * base64url), round trips over every length, strict decoding (padding, foreign alphabet, dangling bits, odd or
 * invalid hex, no room).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/core_b64url.h"
#include "core/core_hex.h"

/* RFC 4648 §10 inputs, shared by both encodings. */
static const char *const rfc4648_in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
#define N_VECTORS (sizeof(rfc4648_in) / sizeof(rfc4648_in[0]))

/* ------------------------------------------------------------ base16 */

static void test_hex_rfc4648_vectors(void **state)
{
    (void)state;
    static const char *const upper[N_VECTORS] = {"", "66", "666F", "666F6F", "666F6F62", "666F6F6261", "666F6F626172"};
    char enc[16], lower[16];
    uint8_t dec[8];

    for (size_t i = 0; i < N_VECTORS; i++) {
        size_t n = strlen(rfc4648_in[i]);
        core_hex_encode((const uint8_t *)rfc4648_in[i], n, enc);
        for (size_t k = 0; k <= strlen(upper[i]); k++)
            lower[k] = (char)(upper[i][k] == 'F' ? 'f' : upper[i][k]);
        assert_string_equal(enc, lower);                                          /* we write lowercase */
        assert_int_equal(core_hex_decode(upper[i], strlen(upper[i]), dec, n), 0); /* and read either case */
        assert_memory_equal(dec, rfc4648_in[i], n);
        assert_int_equal(core_hex_decode(enc, strlen(enc), dec, n), 0);
        assert_memory_equal(dec, rfc4648_in[i], n);
    }
}

static void test_hex_all_bytes(void **state)
{
    (void)state;
    uint8_t in[256], dec[256];
    char enc[513];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)i;
    core_hex_encode(in, sizeof(in), enc);
    assert_int_equal(strlen(enc), 512);
    assert_memory_equal(enc + 2 * 0xa5, "a5", 2);
    assert_int_equal(core_hex_decode(enc, 512, dec, sizeof(dec)), 0);
    assert_memory_equal(dec, in, sizeof(in));
}

static void test_hex_value(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        int want = c >= '0' && c <= '9'   ? c - '0'
                   : c >= 'a' && c <= 'f' ? c - 'a' + 10
                   : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                          : -1;
        assert_int_equal(core_hex_value((char)c), want);
    }
}

static void test_hex_bad_input(void **state)
{
    (void)state;
    uint8_t dec[4] = {0};
    assert_int_equal(core_hex_decode("abc", 3, dec, 2), -1);  /* odd length */
    assert_int_equal(core_hex_decode("abcd", 4, dec, 1), -1); /* longer than wanted */
    assert_int_equal(core_hex_decode("ab", 2, dec, 2), -1);   /* shorter than wanted */
    assert_int_equal(core_hex_decode("0g", 2, dec, 1), -1);   /* not a hex digit */
    assert_int_equal(core_hex_decode("g0", 2, dec, 1), -1);
    assert_int_equal(core_hex_decode(" 0", 2, dec, 1), -1);
    assert_int_equal(core_hex_decode("0\0", 2, dec, 1), -1); /* NUL inside */
    assert_int_equal(core_hex_decode("+1", 2, dec, 1), -1);
    assert_int_equal(core_hex_decode(NULL, 0, dec, 0), -1);
    assert_int_equal(core_hex_decode("", 0, dec, 0), 0); /* nothing to decode is fine */
    assert_int_equal(core_hex_decode("Ff", 2, dec, 1), 0);
    assert_int_equal(dec[0], 0xff);
}

/* ------------------------------------------------------------ base64url */

static void test_b64url_rfc4648_vectors(void **state)
{
    (void)state;
    static const char *const out[N_VECTORS] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    char enc[16];
    uint8_t dec[16];
    size_t dec_len;

    for (size_t i = 0; i < N_VECTORS; i++) {
        size_t n = strlen(rfc4648_in[i]);
        assert_int_equal(core_b64url_encode((const uint8_t *)rfc4648_in[i], n, enc, sizeof(enc)), (int)strlen(out[i]));
        assert_string_equal(enc, out[i]);
        assert_int_equal(core_b64url_len(n), strlen(out[i]));
        assert_int_equal(core_b64url_decode(out[i], strlen(out[i]), dec, sizeof(dec), &dec_len), 0);
        assert_int_equal(dec_len, n);
        assert_memory_equal(dec, rfc4648_in[i], n);
    }
    /* The two characters where base64url differs from base64 (RFC 4648 §5: '-' for '+', '_' for '/'). */
    assert_int_equal(core_b64url_encode((const uint8_t *)"\xfb\xff\xbf", 3, enc, sizeof(enc)), 4);
    assert_string_equal(enc, "-_-_");
}

static void test_b64url_round_trip_all_lengths(void **state)
{
    (void)state;
    uint8_t in[100], dec[100];
    char enc[200];
    size_t dec_len;
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof(in); n++) {
        int len = core_b64url_encode(in, n, enc, sizeof(enc));
        assert_int_equal(len, (int)core_b64url_len(n));
        assert_int_equal(core_b64url_decode(enc, (size_t)len, dec, sizeof(dec), &dec_len), 0);
        assert_int_equal(dec_len, n);
        assert_memory_equal(dec, in, n);
    }
}

static void test_b64url_strict_decode(void **state)
{
    (void)state;
    uint8_t dec[16];
    size_t dec_len;
    assert_int_equal(core_b64url_decode("Zg==", 4, dec, sizeof(dec), &dec_len), -1);   /* padding */
    assert_int_equal(core_b64url_decode("Zm9v+A", 6, dec, sizeof(dec), &dec_len), -1); /* '+' is base64, not url */
    assert_int_equal(core_b64url_decode("Zm9v/A", 6, dec, sizeof(dec), &dec_len), -1);
    assert_int_equal(core_b64url_decode("Zm9vY", 5, dec, sizeof(dec), &dec_len), -1); /* 6 dangling bits */
    assert_int_equal(core_b64url_decode("Z", 1, dec, sizeof(dec), &dec_len), -1);
    assert_int_equal(core_b64url_decode("Zh", 2, dec, sizeof(dec), &dec_len), -1);    /* non-zero spare bits */
    assert_int_equal(core_b64url_decode("Zm9", 3, dec, sizeof(dec), &dec_len), -1);   /* idem, 2 spare bits */
    assert_int_equal(core_b64url_decode("Zm\0v", 4, dec, sizeof(dec), &dec_len), -1); /* NUL inside */
    assert_int_equal(core_b64url_decode("Zm 9v", 5, dec, sizeof(dec), &dec_len), -1); /* whitespace */
    assert_int_equal(core_b64url_decode("Zm9vYmFy", 8, dec, 5, &dec_len), -1);        /* no room */
    assert_int_equal(core_b64url_decode(NULL, 0, dec, sizeof(dec), &dec_len), -1);
    assert_int_equal(core_b64url_decode("", 0, dec, sizeof(dec), &dec_len), 0);
    assert_int_equal(dec_len, 0);
    char small[4];
    assert_int_equal(core_b64url_encode((const uint8_t *)"foo", 3, small, sizeof(small)), -1); /* no room for NUL */
    assert_int_equal(core_b64url_encode(NULL, 1, small, sizeof(small)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_rfc4648_vectors),
        cmocka_unit_test(test_hex_all_bytes),
        cmocka_unit_test(test_hex_value),
        cmocka_unit_test(test_hex_bad_input),
        cmocka_unit_test(test_b64url_rfc4648_vectors),
        cmocka_unit_test(test_b64url_round_trip_all_lengths),
        cmocka_unit_test(test_b64url_strict_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
