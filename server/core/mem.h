/*
 * mem.h - allocation for the server side.
 *
 * Running out of memory is not a user's mistake and there is no sensible way for
 * a scrape loop or a query to go on without the memory it asked for, so these
 * wrappers print a message and abort when the allocator fails (like git's xmalloc
 * and Redis's zmalloc).  libprom, the client library, never uses them: it returns
 * errors to the application instead.
 */
#ifndef CORE_MEM_H
#define CORE_MEM_H

#include <stddef.h>

void *core_malloc(size_t n);
void *core_calloc(size_t count, size_t size);
void *core_realloc(void *p, size_t n);
char *core_strdup(const char *s);
char *core_strndup(const char *s, size_t n);
/* Allocates count * size bytes, aborting if the product overflows. */
void *core_mallocarray(size_t count, size_t size);
void *core_reallocarray(void *p, size_t count, size_t size);

#endif
