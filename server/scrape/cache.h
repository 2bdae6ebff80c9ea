/*
 * cache.h - a target's series cache: from the raw text of a scraped series to
 * what its first sight decided (internal to server/scrape; see cache.c).
 *
 * Entries are keyed by a 128-bit seeded hash of the series text (no copy of
 * the text is kept) and hold the series' TSDB ref, or that metric relabeling
 * dropped it.  Entries sit in an array in the order the target exposed them,
 * so a lookup first tries the entry after the last one found (a target
 * exposes its series in the same order every time) and only falls back to
 * the hash table when that guess misses.
 */
#ifndef SCRAPE_CACHE_H
#define SCRAPE_CACHE_H

#include <stddef.h>
#include <stdint.h>

enum {
    SCRAPE_CE_DROPPED = 1, /* metric relabeling dropped the series */
    SCRAPE_CE_NEW = 2,     /* first seen in the scrape under way */
    /* Its last sample came with its own timestamp (honored): no staleness
     * marker when it goes, unless track_timestamps_staleness. */
    SCRAPE_CE_UNTRACKED = 4,
};

typedef struct scrape_centry {
    uint64_t h[2];  /* scrape_cache_key of the series text */
    uint32_t ref;   /* the series' TSDB ref; 0: none yet (or past 32 bits) */
    uint32_t seen;  /* the iteration it was last seen in */
    uint32_t pos;   /* its place among that scrape's series */
    uint32_t flags; /* SCRAPE_CE_* */
} scrape_centry;

typedef struct scrape_cache {
    scrape_centry *v; /* in the order of the scrapes (see scrape_cache_sweep) */
    uint32_t n, cap;
    uint32_t *slots; /* open addressing on h[0]: entry index + 1, 0 for free */
    uint32_t nslots; /* a power of two, or 0 */
    uint32_t next;   /* the entry guessed for the next lookup */
} scrape_cache;

/* The 128-bit key of series text [p, p+len) under `seed`. */
void scrape_cache_key(const void *p, size_t len, uint64_t seed, uint64_t h[2]);
/* The entry with key h, or NULL.  The pointer is valid until the next
 * scrape_cache_add, _sweep or _destroy. */
scrape_centry *scrape_cache_find(scrape_cache *c, const uint64_t h[2]);
/* Adds an entry with key h (which must not be there), zeroed but for h;
 * the pointer is valid as scrape_cache_find's. */
scrape_centry *scrape_cache_add(scrape_cache *c, const uint64_t h[2]);
/* After a successful scrape `iter`: calls gone(ctx, e) for every entry not
 * seen in it and removes those, clears SCRAPE_CE_NEW, and puts the entries
 * back in the order of this scrape (`pos`) when that order changed a little
 * (not when the target shuffles its series every time). */
void scrape_cache_sweep(scrape_cache *c, uint32_t iter,
                        void (*gone)(void *ctx, const scrape_centry *e), void *ctx);
/* Frees everything; the cache is empty and usable again. */
void scrape_cache_destroy(scrape_cache *c);
/* Bytes held (for tests and accounting). */
size_t scrape_cache_bytes(const scrape_cache *c);

#endif
