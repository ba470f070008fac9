/*
 * sbi_arena — inline-first string arena and header list of lib/sbi (sbi_arena.h).
 */
#include "sbi/sbi_arena.h"

#include <stdlib.h>
#include <string.h>

struct sbi_arena_spill {
    struct sbi_arena_spill *next;
    char data[];
};

void sbi_arena_init(sbi_arena_t *a, char *mem, size_t size)
{
    a->mem = mem;
    a->size = size;
    a->used = 0;
    a->spill = NULL;
}

void *sbi_arena_alloc(sbi_arena_t *a, size_t n)
{
    if (n <= a->size - a->used) {
        char *p = a->mem + a->used;
        a->used += n;
        return p;
    }
    sbi_arena_spill_t *sp = malloc(sizeof(*sp) + n);
    if (!sp)
        return NULL;
    sp->next = a->spill;
    a->spill = sp;
    return sp->data;
}

char *sbi_arena_strndup(sbi_arena_t *a, const char *s, size_t len)
{
    char *p = sbi_arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void sbi_arena_reset(sbi_arena_t *a)
{
    while (a->spill) {
        sbi_arena_spill_t *next = a->spill->next;
        free(a->spill);
        a->spill = next;
    }
    a->used = 0;
}

void sbi_header_list_init(sbi_header_list_t *l, sbi_header_t *inline_v, size_t cap)
{
    l->v = l->inline_v = inline_v;
    l->n = 0;
    l->cap = cap;
}

static int header_list_grow(sbi_header_list_t *l)
{
    size_t cap = l->cap * 2;
    sbi_header_t *v = malloc(cap * sizeof(*v));
    if (!v)
        return -1;
    memcpy(v, l->v, l->n * sizeof(*v));
    if (l->v != l->inline_v)
        free(l->v);
    l->v = v;
    l->cap = cap;
    return 0;
}

int sbi_header_list_add(sbi_header_list_t *l, sbi_arena_t *a, const uint8_t *name, size_t namelen, const uint8_t *value,
                        size_t valuelen)
{
    if (l->n == l->cap && header_list_grow(l))
        return -1;
    char *buf = sbi_arena_alloc(a, namelen + valuelen + 2);
    if (!buf)
        return -1;
    memcpy(buf, name, namelen);
    buf[namelen] = '\0';
    memcpy(buf + namelen + 1, value, valuelen);
    buf[namelen + 1 + valuelen] = '\0';
    l->v[l->n].name = buf;
    l->v[l->n].value = buf + namelen + 1;
    l->n++;
    return 0;
}

void sbi_header_list_free(sbi_header_list_t *l)
{
    if (l->v != l->inline_v)
        free(l->v);
    l->v = l->inline_v;
    l->n = 0;
}
