/*
 * refset.c - sets of series refs as sorted arrays, the currency of postings
 * arithmetic in the block querier and the head.  Building a set pushes refs in
 * any order and normalizes once; intersection and difference are linear
 * merges of two sorted arrays.
 */
#include "tsdb/internal.h"

#include <stdlib.h>

void tsdb_refset_push(tsdb_refset *s, uint64_t r)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = core_reallocarray(s->v, s->cap, sizeof(*s->v));
    }
    s->v[s->n++] = r;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void tsdb_refset_normalize(tsdb_refset *s)
{
    if (s->n < 2) return;
    qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
    size_t k = 1;
    for (size_t i = 1; i < s->n; i++)
        if (s->v[i] != s->v[k - 1]) s->v[k++] = s->v[i];
    s->n = k;
}

void tsdb_refset_merge(tsdb_refset *a, const tsdb_refset *b, bool intersect)
{
    size_t i = 0, j = 0, k = 0;
    while (i < a->n) {
        while (j < b->n && b->v[j] < a->v[i])
            j++;
        bool in_b = j < b->n && b->v[j] == a->v[i];
        if (in_b == intersect) a->v[k++] = a->v[i];
        i++;
    }
    a->n = k;
}
