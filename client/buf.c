/*
 * buf.c - appending to a caller's prom_buffer without ever aborting.
 *
 * A pm_buf wraps a prom_buffer (data, len, cap) that the caller owns and may
 * reuse across renders.  Room grows by doubling with realloc, so a steady
 * scrape loop stops allocating once the buffer has reached its working size.
 * When realloc fails the writer turns "failed" and every later append is a
 * no-op: an encoder writes without checking each call and looks at `failed`
 * once at the end.  One byte past len is always kept free and set to NUL, so
 * the content can be read as a C string.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "prom/registry.h"

#define PM_BUF_MIN_CAP 256

/* The capacity to grow to so that `need` bytes fit: doubling from the current
 * one, or exactly `need` when doubling would overflow. */
static size_t grown_cap(size_t cap, size_t need)
{
    size_t c = cap < PM_BUF_MIN_CAP ? PM_BUF_MIN_CAP : cap;
    while (c < need) {
        if (c > SIZE_MAX / 2) return need;
        c *= 2;
    }
    return c;
}

bool pm_buf_reserve(pm_buf *w, size_t extra)
{
    if (w->failed) return false;
    prom_buffer *b = w->b;
    if (b->cap > b->len && extra < b->cap - b->len) return true;
    if (extra >= SIZE_MAX - b->len) {
        w->failed = true;
        return false;
    }
    size_t cap = grown_cap(b->cap, b->len + extra + 1);
    char *data = realloc(b->data, cap);
    if (data == NULL) {
        w->failed = true;
        return false;
    }
    b->data = data;
    b->cap = cap;
    return true;
}

void pm_buf_add(pm_buf *w, const void *data, size_t n)
{
    if (!pm_buf_reserve(w, n)) return;
    prom_buffer *b = w->b;
    if (n > 0) memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void pm_buf_adds(pm_buf *w, const char *s)
{
    pm_buf_add(w, s, strlen(s));
}

void pm_buf_addc(pm_buf *w, char c)
{
    pm_buf_add(w, &c, 1);
}

void pm_buf_add_u64(pm_buf *w, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    pm_buf_add(w, tmp + i, sizeof tmp - i);
}

void prom_buffer_free(prom_buffer *b)
{
    if (b == NULL) return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}
