/* arena.c - see arena.h. */
#include "core/arena.h"
#include "core/mem.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN 16

struct core_arena_block {
    core_arena_block *next;
    size_t cap;
    size_t used;
    _Alignas(ALIGN) unsigned char data[];
};

static size_t round_up(size_t n)
{
    return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

void core_arena_init(core_arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size;
    a->used_total = 0;
}

void core_arena_destroy(core_arena *a)
{
    core_arena_block *b = a->head;
    while (b != NULL) {
        core_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used_total = 0;
}

void core_arena_reset(core_arena *a)
{
    if (a->head == NULL) return;
    /* Keep the last block in the chain: the first one allocated.  Big one-off
     * blocks are always slotted behind the head, never at the end. */
    core_arena_block *keep = a->head;
    while (keep->next != NULL) {
        core_arena_block *b = keep;
        keep = keep->next;
        free(b);
    }
    keep->used = 0;
    a->head = keep;
    a->used_total = 0;
}

void *core_arena_alloc(core_arena *a, size_t n)
{
    n = round_up(n ? n : 1);
    core_arena_block *b = a->head;
    if (b == NULL || b->cap - b->used < n) {
        size_t bs = a->block_size ? a->block_size : CORE_ARENA_DEFAULT_BLOCK;
        if (b != NULL && n > bs / 4) {
            /* A big allocation: its own block, slotted behind the current one so
             * the space left in the current block is not wasted. */
            core_arena_block *big = core_malloc(sizeof *big + n);
            big->cap = big->used = n;
            big->next = b->next;
            b->next = big;
            a->used_total += n;
            return big->data;
        }
        size_t cap = n > bs ? n : bs;
        core_arena_block *nb = core_malloc(sizeof *nb + cap);
        nb->cap = cap;
        nb->used = 0;
        nb->next = b;
        a->head = b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    a->used_total += n;
    return p;
}

void *core_arena_calloc(core_arena *a, size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        fprintf(stderr, "fatal: arena allocation of %zu x %zu bytes overflows\n", count, size);
        abort();
    }
    void *p = core_arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *core_arena_strndup(core_arena *a, const char *s, size_t n)
{
    char *d = core_arena_alloc(a, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *core_arena_strdup(core_arena *a, const char *s)
{
    return core_arena_strndup(a, s, strlen(s));
}

char *core_arena_sprintf(core_arena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *d = core_arena_alloc(a, (size_t)(n < 0 ? 0 : n) + 1);
    vsnprintf(d, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap2);
    va_end(ap2);
    return d;
}
