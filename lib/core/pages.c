/*
 * pages — see pages.h. Linux semantics: MADV_DONTNEED on a private anonymous mapping makes the next access see a
 * zero page. Page size from sysconf once per call (cheap, and keeps this module free of state).
 */
#include "core/pages.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t pages_size(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    return ps > 0 ? (size_t)ps : 4096u;
}

static size_t pages_round_up(size_t bytes)
{
    size_t ps = pages_size();
    return (bytes + ps - 1) / ps * ps;
}

void *pages_alloc(size_t bytes)
{
    if (bytes == 0)
        bytes = 1;
    void *p = mmap(NULL, pages_round_up(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void pages_free(void *base, size_t bytes)
{
    if (base)
        munmap(base, pages_round_up(bytes ? bytes : 1));
}

static void pages_drop(uint8_t *start, size_t len)
{
    if (len > 0)
        (void)madvise(start, len, MADV_DONTNEED); /* advice: on failure the pages simply stay */
}

void pages_release_tail(void *base, size_t bytes, size_t from)
{
    size_t ps = pages_size(), end = pages_round_up(bytes);
    size_t first = (from + ps - 1) / ps * ps; /* the page holding `from` keeps its live bytes */
    if (base && first < end)
        pages_drop((uint8_t *)base + first, end - first);
}

static int pages_is_zero(const uint8_t *p, size_t len)
{
    static const uint8_t zero[256];
    for (size_t off = 0; off < len; off += sizeof zero)
        if (memcmp(p + off, zero, len - off < sizeof zero ? len - off : sizeof zero) != 0)
            return 0;
    return 1;
}

void pages_release_zero(void *base, size_t bytes)
{
    size_t ps = pages_size(), end = pages_round_up(bytes);
    uint8_t *b = base;
    if (!base)
        return;
    /* runs of zero pages go to the kernel in one call */
    for (size_t off = 0, run = 0; off <= end; off += ps) {
        if (off < end && pages_is_zero(b + off, ps))
            continue;
        if (off > run)
            pages_drop(b + run, off - run);
        run = off + ps;
    }
}
