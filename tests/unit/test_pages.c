/* Unit tests for lib/core/pages: memory really leaves (mincore), contents read as zero, live bytes stay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/pages.h"

static size_t resident_pages(void *base, size_t bytes)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE), n = (bytes + ps - 1) / ps, r = 0;
    unsigned char vec[1024];
    assert_true(n <= sizeof vec);
    assert_int_equal(mincore(base, bytes, vec), 0);
    for (size_t i = 0; i < n; i++)
        r += vec[i] & 1u;
    return r;
}

static void test_alloc_lazy_and_zero(void **state)
{
    (void)state;
    size_t ps = (size_t)sysconf(_SC_PAGESIZE), bytes = 64 * ps;
    uint8_t *p = pages_alloc(bytes);
    assert_non_null(p);
    assert_int_equal(resident_pages(p, bytes), 0);
    for (size_t i = 0; i < bytes; i += 97)
        assert_int_equal(p[i], 0);
    memset(p, 0xa5, bytes);
    assert_int_equal(resident_pages(p, bytes), 64);
    pages_free(p, bytes);
}

static void test_release_tail(void **state)
{
    (void)state;
    size_t ps = (size_t)sysconf(_SC_PAGESIZE), bytes = 64 * ps;
    uint8_t *p = pages_alloc(bytes);
    memset(p, 0xa5, 40 * ps); /* pages 40-63 never touched: not counted as given back */
    /* from the middle of page 10: page 10 keeps its live bytes, 11-39 go */
    pages_release_tail(p, bytes, 10 * ps + 5);
    assert_int_equal(resident_pages(p, bytes), 11); /* before anything reads a dropped page (that maps the zero page) */
    assert_int_equal(p[10 * ps + 4], 0xa5);
    assert_int_equal(p[10 * ps + 6], 0xa5); /* the partial page is kept whole */
    assert_int_equal(p[11 * ps], 0);
    assert_int_equal(p[39 * ps + 1], 0);
    pages_release_tail(p, bytes, bytes); /* nothing after the end: harmless */
    pages_release_tail(NULL, bytes, 0);
    assert_int_equal(p[10 * ps], 0xa5);
    pages_free(p, bytes);
}

static void test_release_zero(void **state)
{
    (void)state;
    size_t ps = (size_t)sysconf(_SC_PAGESIZE), bytes = 32 * ps;
    uint8_t *p = pages_alloc(bytes);
    memset(p, 0, bytes); /* all 32 resident, all zero */
    p[3 * ps + 17] = 1;
    p[31 * ps + ps - 1] = 2; /* the last byte of the last page */
    assert_int_equal(resident_pages(p, bytes), 32);
    pages_release_zero(p, bytes);
    assert_int_equal(resident_pages(p, bytes), 2); /* checked before anything reads the dropped pages */
    assert_int_equal(p[3 * ps + 17], 1);
    assert_int_equal(p[31 * ps + ps - 1], 2);
    assert_int_equal(p[4 * ps], 0);
    pages_free(p, bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_lazy_and_zero),
        cmocka_unit_test(test_release_tail),
        cmocka_unit_test(test_release_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
