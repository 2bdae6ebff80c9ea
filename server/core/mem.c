/* mem.c - see mem.h. */
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", n);
    abort();
}

void *core_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) oom(n);
    return p;
}

void *core_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL) oom(count * size);
    return p;
}

void *core_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) oom(n);
    return q;
}

static size_t checked_mul(size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        fprintf(stderr, "fatal: allocation of %zu x %zu bytes overflows\n", count, size);
        abort();
    }
    return n;
}

void *core_mallocarray(size_t count, size_t size)
{
    return core_malloc(checked_mul(count, size));
}

void *core_reallocarray(void *p, size_t count, size_t size)
{
    return core_realloc(p, checked_mul(count, size));
}

char *core_strndup(const char *s, size_t n)
{
    char *d = core_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *core_strdup(const char *s)
{
    return core_strndup(s, strlen(s));
}
