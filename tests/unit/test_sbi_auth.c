/* Unit tests for the admin token pieces: lib/sbi/sbi_bearer (syntax, file loading, the Authorization check),
 * the per-address failure table of lib/core/ratelimit, and the loopback test of lib/sbi/sbi_auth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ratelimit.h"
#include "sbi/sbi_auth.h"
#include "sbi/sbi_bearer.h"

#define TOKEN "c2VjcmV0LXRva2VuLWZvci10ZXN0cw-_~+/=="

static void test_syntax(void **state)
{
    (void)state;
    char why[SBI_BEARER_ERR_MAX];
    assert_int_equal(sbi_bearer_syntax(TOKEN, why, sizeof why), 0);
    assert_int_equal(sbi_bearer_syntax("short", why, sizeof why), -1);
    assert_non_null(strstr(why, "16 to 512"));
    assert_int_equal(sbi_bearer_syntax("0123456789abcdef 123", why, sizeof why), -1); /* a space inside */
    assert_non_null(strstr(why, "character 17"));
    assert_int_equal(sbi_bearer_syntax("0123456789abcdef=x", why, sizeof why), -1); /* '=' only at the end */
    assert_int_equal(sbi_bearer_syntax("0123456789abcdef\"", why, sizeof why), -1);
}

static void test_verify(void **state)
{
    (void)state;
    sbi_bearer_t b;
    sbi_bearer_init(&b, TOKEN);
    assert_int_equal(sbi_bearer_verify(&b, "Bearer " TOKEN), SBI_BEARER_OK);
    assert_int_equal(sbi_bearer_verify(&b, "bearer \t" TOKEN "  "), SBI_BEARER_OK); /* scheme case-insensitive */
    assert_int_equal(sbi_bearer_verify(&b, NULL), SBI_BEARER_MISSING);
    assert_int_equal(sbi_bearer_verify(&b, "Basic dXNlcjpwdw=="), SBI_BEARER_MISSING); /* another scheme */
    assert_int_equal(sbi_bearer_verify(&b, "BearerX " TOKEN), SBI_BEARER_MISSING);
    assert_int_equal(sbi_bearer_verify(&b, "Bearer"), SBI_BEARER_INVALID);
    assert_int_equal(sbi_bearer_verify(&b, "Bearer   "), SBI_BEARER_INVALID);
    assert_int_equal(sbi_bearer_verify(&b, "Bearer " TOKEN "x"), SBI_BEARER_INVALID);
    assert_int_equal(sbi_bearer_verify(&b, "Bearer c2VjcmV0"), SBI_BEARER_INVALID); /* a prefix of it */
}

/* Writes `text` to a new file with `mode`; returns its path (static buffer). */
static const char *write_file(const char *text, mode_t mode)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/mihua-token-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
    return path;
}

static void test_file(void **state)
{
    (void)state;
    char err[SBI_BEARER_ERR_MAX];
    bool loose = true;
    const char *p = write_file(TOKEN "\r\n", 0600);
    char *t = sbi_bearer_read_file(p, &loose, err, sizeof err);
    assert_non_null(t);
    assert_string_equal(t, TOKEN); /* CRLF stripped */
    assert_false(loose);
    sbi_bearer_wipe(t);
    unlink(p);

    p = write_file(TOKEN "\n", 0644);
    t = sbi_bearer_read_file(p, &loose, err, sizeof err);
    assert_non_null(t);
    assert_string_equal(t, TOKEN);
    assert_true(loose); /* world-readable: the caller warns */
    sbi_bearer_wipe(t);
    unlink(p);

    p = write_file(TOKEN "\n\n", 0600); /* only one newline is stripped: the rest is not a token */
    char *loaded = NULL;
    assert_int_equal(sbi_bearer_load("admin_token", NULL, p, "test", &loaded, err, sizeof err), -1);
    assert_null(loaded);
    assert_null(strstr(err, TOKEN)); /* the message never carries the secret */
    assert_non_null(strstr(err, "admin_token_file"));
    unlink(p);

    assert_null(sbi_bearer_read_file("/nonexistent/token", &loose, err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/token"));
}

static void test_load(void **state)
{
    (void)state;
    char err[SBI_BEARER_ERR_MAX], *t = (char *)"x";
    assert_int_equal(sbi_bearer_load("admin_token", NULL, NULL, "test", &t, err, sizeof err), 0);
    assert_null(t); /* neither set: no token */
    assert_int_equal(sbi_bearer_load("admin_token", TOKEN, NULL, "test", &t, err, sizeof err), 0);
    assert_string_equal(t, TOKEN);
    sbi_bearer_wipe(t);
    assert_int_equal(sbi_bearer_load("admin_token", TOKEN, "/x", "test", &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "both"));
    assert_int_equal(sbi_bearer_load("as.token", "too short", NULL, "test", &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "as.token: must be"));
}

static void test_failures(void **state)
{
    (void)state;
    ratelimit_keys_t *t = malloc(sizeof *t);
    assert_non_null(t);
    ratelimit_keys_init(t, 3, 60);
    assert_false(ratelimit_keys_hit(t, "192.0.2.1", 1000));
    assert_false(ratelimit_keys_hit(t, "192.0.2.1", 1010));
    assert_int_equal(ratelimit_keys_blocked(t, "192.0.2.1", 1010), 0);
    assert_true(ratelimit_keys_hit(t, "192.0.2.1", 1020));              /* the third within 60 s blocks */
    assert_int_equal(ratelimit_keys_blocked(t, "192.0.2.1", 1020), 40); /* until the window opened at 1000 ends */
    assert_int_equal(ratelimit_keys_blocked(t, "192.0.2.2", 1020), 0);  /* another address is not */
    assert_int_equal(ratelimit_keys_blocked(t, "192.0.2.1", 1059), 1);
    assert_int_equal(ratelimit_keys_blocked(t, "192.0.2.1", 1060), 0); /* window over */
    assert_false(ratelimit_keys_hit(t, "192.0.2.1", 1060));            /* a new window, count 1 */
    assert_int_equal(ratelimit_keys_blocked(t, "192.0.2.1", 1061), 0);

    /* a full table reuses the slot whose window opened first */
    ratelimit_keys_init(t, 2, 60);
    char key[RATELIMIT_KEY_MAX];
    for (int i = 0; i < RATELIMIT_KEYS_MAX; i++) {
        snprintf(key, sizeof key, "10.0.%d.%d", i / 256, i % 256);
        ratelimit_keys_hit(t, key, 2000 + (i == 0 ? 0 : 1));
        ratelimit_keys_hit(t, key, 2000 + (i == 0 ? 0 : 1));
    }
    assert_int_equal(ratelimit_keys_blocked(t, "10.0.0.0", 2001), 59);
    assert_false(ratelimit_keys_hit(t, "198.51.100.7", 2001));
    assert_int_equal(ratelimit_keys_blocked(t, "10.0.0.0", 2001), 0); /* evicted: the oldest */
    assert_int_equal(ratelimit_keys_blocked(t, "10.0.0.1", 2001), 60);
    free(t);
}

static void test_loopback(void **state)
{
    (void)state;
    assert_true(sbi_host_is_loopback("127.0.0.1"));
    assert_true(sbi_host_is_loopback("127.1.2.3"));
    assert_true(sbi_host_is_loopback("::1"));
    assert_true(sbi_host_is_loopback("::ffff:127.0.0.1"));
    assert_true(sbi_host_is_loopback("localhost"));
    assert_false(sbi_host_is_loopback("0.0.0.0"));
    assert_false(sbi_host_is_loopback("::"));
    assert_false(sbi_host_is_loopback("192.0.2.1"));
    assert_false(sbi_host_is_loopback("::ffff:10.0.0.1"));
    assert_false(sbi_host_is_loopback("example.org"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syntax), cmocka_unit_test(test_verify),   cmocka_unit_test(test_file),
        cmocka_unit_test(test_load),   cmocka_unit_test(test_failures), cmocka_unit_test(test_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
