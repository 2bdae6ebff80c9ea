/*
 * cache.c - a target's series cache (see cache.h).
 *
 * Why a hash and no text.  The cache used to keep a copy of each series'
 * raw text, its final label set and a chained hash entry: about 340 bytes a
 * series, half of what the whole server spent per active series, and every
 * lookup chased three pointers into cold memory.  An entry is now 32 bytes:
 * a 128-bit XXH3 of the text (seeded per process, so two texts of one target
 * that collide are as likely as 2^-128 per pair and cannot be picked in
 * advance by someone who does not know the seed), the TSDB ref, and the
 * iteration bookkeeping.  The labels are not needed once the series has a
 * ref; when the TSDB no longer knows the ref (the head dropped a series
 * that had no data left), the scrape loop rebuilds them from the text it is
 * reading (see process_body in scrape.c).
 *
 * Why an ordered array.  A target exposes its series in the same order
 * every time, so the entries are kept in that order and a lookup first
 * compares the entry after the one found last: a scrape of an unchanged
 * target then reads the cache front to back, two entries a cache line,
 * with no hashing into a table.  The table (open addressing, indexes into
 * the array, at most 70% full) serves the guesses that miss and new series.
 * Each entry remembers its place in the scrape it was last seen in, and the
 * sweep after a scrape puts the array back in that order when only a few
 * entries are out of place (series appeared or moved); a target that
 * shuffles its series every time (a Go map) is left alone, as reordering
 * would not help it.
 */
#include "scrape/cache.h"

#include "core/core.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

void scrape_cache_key(const void *p, size_t len, uint64_t seed, uint64_t h[2])
{
    XXH128_hash_t x = XXH3_128bits_withSeed(p, len, seed);
    h[0] = x.low64;
    h[1] = x.high64;
}

static void slots_insert(scrape_cache *c, uint32_t idx)
{
    uint32_t mask = c->nslots - 1;
    uint32_t i = (uint32_t)c->v[idx].h[0] & mask;
    while (c->slots[i])
        i = (i + 1) & mask;
    c->slots[i] = idx + 1;
}

/* Rebuilds the table for the entries there are, with `nslots` slots. */
static void slots_rebuild(scrape_cache *c, uint32_t nslots)
{
    if (nslots != c->nslots) {
        free(c->slots);
        c->slots = core_mallocarray(nslots, sizeof(*c->slots));
        c->nslots = nslots;
    }
    memset(c->slots, 0, (size_t)nslots * sizeof(*c->slots));
    for (uint32_t i = 0; i < c->n; i++)
        slots_insert(c, i);
}

/* The table size for n entries: at most 70% full. */
static uint32_t slots_for(uint32_t n)
{
    uint32_t s = 64;
    while ((uint64_t)n * 10 > (uint64_t)s * 7)
        s *= 2;
    return s;
}

scrape_centry *scrape_cache_find(scrape_cache *c, const uint64_t h[2])
{
    uint32_t g = c->next;
    if (g < c->n && c->v[g].h[0] == h[0] && c->v[g].h[1] == h[1]) {
        c->next = g + 1;
        return &c->v[g];
    }
    if (!c->nslots) return NULL;
    uint32_t mask = c->nslots - 1;
    for (uint32_t i = (uint32_t)h[0] & mask;; i = (i + 1) & mask) {
        uint32_t s = c->slots[i];
        if (!s) return NULL;
        scrape_centry *e = &c->v[s - 1];
        if (e->h[0] == h[0] && e->h[1] == h[1]) {
            c->next = s;
            return e;
        }
    }
}

scrape_centry *scrape_cache_add(scrape_cache *c, const uint64_t h[2])
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = core_reallocarray(c->v, c->cap, sizeof(*c->v));
    }
    uint32_t idx = c->n++;
    c->v[idx] = (scrape_centry){.h = {h[0], h[1]}};
    if ((uint64_t)c->n * 10 > (uint64_t)c->nslots * 7)
        slots_rebuild(c, slots_for(c->n));
    else
        slots_insert(c, idx);
    c->next = idx + 1;
    return &c->v[idx];
}

/* Puts the entries in the order of `pos` (distinct, below maxpos + 1). */
static void reorder(scrape_cache *c, uint32_t maxpos)
{
    uint32_t *at = core_calloc((size_t)maxpos + 1, sizeof(*at));
    for (uint32_t i = 0; i < c->n; i++)
        at[c->v[i].pos] = i + 1;
    scrape_centry *nv = core_mallocarray(c->cap, sizeof(*nv));
    uint32_t w = 0;
    for (uint32_t p = 0; p <= maxpos; p++)
        if (at[p]) nv[w++] = c->v[at[p] - 1];
    free(at);
    free(c->v);
    c->v = nv;
}

void scrape_cache_sweep(scrape_cache *c, uint32_t iter,
                        void (*gone)(void *ctx, const scrape_centry *e), void *ctx)
{
    uint32_t w = 0, breaks = 0, prev = 0, maxpos = 0;
    bool removed = false;
    for (uint32_t i = 0; i < c->n; i++) {
        scrape_centry *e = &c->v[i];
        if (e->seen != iter) {
            if (gone) gone(ctx, e);
            removed = true;
            continue;
        }
        e->flags &= ~(uint32_t)SCRAPE_CE_NEW;
        if (w && e->pos < prev) breaks++;
        prev = e->pos;
        if (e->pos > maxpos) maxpos = e->pos;
        if (w != i) c->v[w] = *e;
        w++;
    }
    c->n = w;
    c->next = 0;
    if (!w) {
        scrape_cache_destroy(c);
        return;
    }
    if (c->cap > w + w / 4 + 64) { /* many went, or the array grew past them: trim it */
        c->cap = w + w / 8 + 16;
        c->v = core_reallocarray(c->v, c->cap, sizeof(*c->v));
    }
    bool reordered = breaks && breaks <= w / 4;
    if (reordered) reorder(c, maxpos);
    if (removed || reordered) slots_rebuild(c, slots_for(w));
}

void scrape_cache_destroy(scrape_cache *c)
{
    free(c->v);
    free(c->slots);
    memset(c, 0, sizeof(*c));
}

size_t scrape_cache_bytes(const scrape_cache *c)
{
    return (size_t)c->cap * sizeof(*c->v) + (size_t)c->nslots * sizeof(*c->slots);
}
