/*
 * arena.h - a bump allocator for memory that dies all at once.
 *
 * A request handler or a query evaluation allocates from an arena and frees
 * nothing; when it is done, core_arena_reset() gives everything back in one step
 * while keeping the first block for the next use.  Allocations are 16-byte
 * aligned.  A request larger than the block size gets a block of its own.
 * A zeroed core_arena is valid and uses the default block size.
 */
#ifndef CORE_ARENA_H
#define CORE_ARENA_H

#include <stddef.h>

typedef struct core_arena_block core_arena_block;

typedef struct core_arena {
    core_arena_block *head; /* block being filled; older ones follow */
    size_t block_size;      /* 0: CORE_ARENA_DEFAULT_BLOCK */
    size_t used_total;      /* bytes handed out since the last reset */
} core_arena;

#define CORE_ARENA_DEFAULT_BLOCK (64 * 1024)

void core_arena_init(core_arena *a, size_t block_size);
/* Frees every block. */
void core_arena_destroy(core_arena *a);
/* Forgets every allocation; keeps one block. */
void core_arena_reset(core_arena *a);

void *core_arena_alloc(core_arena *a, size_t n);
void *core_arena_calloc(core_arena *a, size_t count, size_t size);
char *core_arena_strdup(core_arena *a, const char *s);
char *core_arena_strndup(core_arena *a, const char *s, size_t n);
/* printf into arena memory. */
char *core_arena_sprintf(core_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
