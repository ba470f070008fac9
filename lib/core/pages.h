/*
 * pages — large zero-filled arrays that can give their memory back while they keep their size.
 *
 * The transaction layer sizes its slot array, hash buckets and timer heap for the configured peak once, so that a
 * load spike never has to allocate on the hot path. calloc gives lazily mapped pages, but once a spike has touched
 * them they stay resident for the life of the process: after a load the tables alone held several times the idle
 * footprint. These arrays are private anonymous mappings instead, and their owner calls pages_release_*() when it is
 * idle: madvise(MADV_DONTNEED) drops the chosen pages, and the next read of them sees zeros again (a fresh page is
 * faulted in only when written), which is exactly the state of a freshly calloc'ed array.
 *
 *   sip_txn_slot_t *s = pages_alloc(n * sizeof *s);         // zeroed, nothing resident yet
 *   pages_release_tail(s, n * sizeof *s, used * sizeof *s);  // bytes from `used` on read as zero again
 *   pages_release_zero(buckets, nb * sizeof *buckets);       // every page that holds only zeros
 *   pages_free(s, n * sizeof *s);
 */
#ifndef MIHUA_PAGES_H
#define MIHUA_PAGES_H

#include <stddef.h>

/* A zero-filled array of bytes (rounded up to whole pages), or NULL. */
void *pages_alloc(size_t bytes);
void pages_free(void *base, size_t bytes);
/* Drops every whole page at or after offset `from`; those bytes read as zero afterwards. */
void pages_release_tail(void *base, size_t bytes, size_t from);
/* Drops every page whose bytes are all zero (no content changes). Reads the whole array once: call it when idle.
 * Reading a dropped page maps the kernel's shared zero page, which costs no memory. */
void pages_release_zero(void *base, size_t bytes);

#endif
