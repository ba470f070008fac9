/*
 * sbi_arena — the per-message string arena and header list of lib/sbi: the server's request (pseudo-headers,
 * headers, path copies, a small answer) and the client's response headers. Internal to lib/sbi.
 *
 * Memory comes from a fixed block inside the owning object first and spills to one malloc'd block per string
 * beyond it, so a typical SBI message costs no allocation per string and freeing it is one walk of a short list.
 * The trade-off: the inline block is paid by every message, used or not; its size is the owner's choice.
 * A header list starts in an inline array of the owner's and moves to the heap (doubling) when it is full.
 */
#ifndef MIHUA_SBI_ARENA_H
#define MIHUA_SBI_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "sbi/sbi_server.h" /* sbi_header_t */

typedef struct sbi_arena_spill sbi_arena_spill_t;

typedef struct {
    char *mem; /* the owner's inline block */
    size_t size, used;
    sbi_arena_spill_t *spill; /* strings that did not fit, newest first */
} sbi_arena_t;

void sbi_arena_init(sbi_arena_t *a, char *mem, size_t size);
/* `n` bytes that live until sbi_arena_reset; NULL when memory runs out. */
void *sbi_arena_alloc(sbi_arena_t *a, size_t n);
/* A NUL-terminated copy of `len` bytes of `s` in the arena; NULL when memory runs out. */
char *sbi_arena_strndup(sbi_arena_t *a, const char *s, size_t len);
/* Frees the spill blocks and empties the inline block. */
void sbi_arena_reset(sbi_arena_t *a);

typedef struct {
    sbi_header_t *v; /* inline_v, or the heap once more arrived */
    size_t n, cap;
    sbi_header_t *inline_v;
} sbi_header_list_t;

void sbi_header_list_init(sbi_header_list_t *l, sbi_header_t *inline_v, size_t cap);
/* Appends a copy of name and value (both NUL-terminated, in `a`). Returns 0, or -1 when memory runs out. */
int sbi_header_list_add(sbi_header_list_t *l, sbi_arena_t *a, const uint8_t *name, size_t namelen, const uint8_t *value,
                        size_t valuelen);
/* Frees the heap array, if any (the strings belong to the arena). */
void sbi_header_list_free(sbi_header_list_t *l);

#endif
