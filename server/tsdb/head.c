/*
 * head.c - the in-memory head block: series, their chunks, and postings
 * (upstream tsdb/head.go, head_append.go, index/postings.go).
 *
 * Series.  Each series has a ref (HeadSeriesRef: 1, 2, ... in creation order,
 * the ref the WAL records carry) and a label set whose strings are interned in
 * the head, so a value shared by a million series (`job="node"`) is stored
 * once.  Two indexes find a series: a hash table keyed by the label set's
 * hash, split in stripes that each have a mutex (creation from many scrape
 * threads at once), and a ref table of fixed pages indexed by ref, read
 * without a lock.
 *
 * Chunks.  A series appends into one open Gorilla XOR chunk.  The chunk is cut
 * as upstream cuts it: at the end of the chunk range the first sample falls in
 * (2h by default, so chunks never cross a block boundary), at a predicted end
 * once a quarter full so chunks hold about 120 samples, and at 240 samples
 * whatever happens.  A cut chunk goes to chunks_head/ in upstream's head
 * chunk file format and the series keeps only its ref and time range; reads
 * map the file (pages not yet written out are read from the write buffer).
 * Of the open chunk only the tail is in memory: its whole 64-byte pieces go
 * to the spill log (spill.c) as it grows, so a series costs its labels, this
 * struct and at most 104 bytes of chunk, not the full chunk every series
 * reaches at the same time.  The open chunk is not a tsdb_xor: its encoder
 * state sits in the series' first cache line (see internal.h) and the bits
 * are written by this file's own encoder (the same bits, checked against
 * xor.c by the unit tests), so an append touches that line and the chunk's
 * tail and nothing else; a batch of appends (a commit, a WAL record)
 * prefetches both some samples ahead, which is what makes appends fast at a
 * million series: each sample costs two cache misses, overlapped.
 *
 * Postings.  An inverted index from (name, value) to the sorted refs of the
 * series that have it, plus per name the list of its values; all keyed by
 * interned pointers, so lookups hash pointers, not strings.
 *
 * Locking.  Stripe mutexes guard the hash chains; a spinlock byte in each
 * series guards its chunks (held for one append or one copy of its chunks;
 * the append check before a commit reads the newest sample without it, and
 * the append re-checks under it); a rwlock guards the postings; `gc` is held shared by
 * every appender and query and taken exclusively by tsdb_head_truncate, the
 * only place that frees series, so a series pointer stays valid while `gc`
 * is held shared.
 */
#define _GNU_SOURCE
#include "tsdb/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define STRIPES      4096
#define REF_PAGE     65536u
#define REF_PAGES    65536u /* 2^32 refs */
#define CHUNK_TARGET 120    /* upstream's samples per chunk */
#define FILE_BUF     (256 * 1024)

/* ---- Interned strings: refcounted, chained in a hash table */

typedef struct istr {
    struct istr *next;
    uint64_t hash;
    uint32_t refs;
    uint32_t len;
    char s[];
} istr;

static istr *istr_of(const char *s)
{
    return (istr *)(void *)(s - offsetof(istr, s));
}

static void intern_grow(tsdb_head *h)
{
    size_t ncap = h->icap ? h->icap * 2 : 4096;
    istr **nb = core_calloc(ncap, sizeof(*nb));
    for (size_t i = 0; i < h->icap; i++)
        for (istr *e = h->itab[i], *next; e; e = next) {
            next = e->next;
            e->next = nb[e->hash & (ncap - 1)];
            nb[e->hash & (ncap - 1)] = e;
        }
    free(h->itab);
    h->itab = nb;
    h->icap = ncap;
}

/* Caller holds intern_mtx. */
static const char *intern(tsdb_head *h, const char *s)
{
    size_t len = strlen(s);
    uint64_t hash = core_hash(s, len);
    if (h->icap) {
        for (istr *e = h->itab[hash & (h->icap - 1)]; e; e = e->next)
            if (e->hash == hash && e->len == len && memcmp(e->s, s, len) == 0) {
                e->refs++;
                return e->s;
            }
    }
    if (h->icount + 1 > h->icap) intern_grow(h);
    istr *e = core_malloc(sizeof(*e) + len + 1);
    e->hash = hash;
    e->refs = 1;
    e->len = (uint32_t)len;
    memcpy(e->s, s, len + 1);
    e->next = h->itab[hash & (h->icap - 1)];
    h->itab[hash & (h->icap - 1)] = e;
    h->icount++;
    return e->s;
}

/* The interned copy of s, or NULL if no series uses the string. */
static const char *interned(tsdb_head *h, const char *s, size_t len)
{
    const char *found = NULL;
    uint64_t hash = core_hash(s, len);
    pthread_mutex_lock(&h->intern_mtx);
    for (istr *e = h->icap ? h->itab[hash & (h->icap - 1)] : NULL; e && !found; e = e->next)
        if (e->hash == hash && e->len == len && memcmp(e->s, s, len) == 0) found = e->s;
    pthread_mutex_unlock(&h->intern_mtx);
    return found;
}

/* Caller holds intern_mtx. */
static void unintern(tsdb_head *h, const char *s)
{
    istr *e = istr_of(s);
    if (--e->refs) return;
    istr **pp = &h->itab[e->hash & (h->icap - 1)];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    h->icount--;
    free(e);
}

/* ---- Postings */

typedef tsdb_plist plist;

typedef struct pentry { /* (name, value) -> refs */
    struct pentry *next;
    const char *name, *value; /* interned */
    plist refs;
} pentry;

typedef struct nentry { /* name -> values */
    struct nentry *next;
    const char *name;
    const char **values; /* interned, unsorted */
    uint32_t n, cap;
} nentry;

static uint64_t ptr_hash(const void *a, const void *b)
{
    uint64_t x = (uint64_t)(uintptr_t)a * UINT64_C(0x9E3779B97F4A7C15);
    x ^= (uint64_t)(uintptr_t)b * UINT64_C(0xC2B2AE3D27D4EB4F);
    return x ^ (x >> 29);
}

static void plist_add(plist *p, uint64_t ref)
{
    if (p->n == p->cap) { /* long lists grow by a quarter: less slack per series */
        p->cap = p->cap < 4 ? 4 : p->cap < 256 ? p->cap * 2 : p->cap + p->cap / 4;
        p->refs = core_reallocarray(p->refs, p->cap, sizeof(*p->refs));
    }
    /* Refs arrive nearly sorted (creation order); insert from the end. */
    uint32_t i = p->n++;
    while (i > 0 && p->refs[i - 1] > ref) {
        p->refs[i] = p->refs[i - 1];
        i--;
    }
    p->refs[i] = (uint32_t)ref;
}

static void plist_del(plist *p, uint64_t ref)
{
    uint32_t lo = 0, hi = p->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (p->refs[mid] < ref)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < p->n && p->refs[lo] == ref) {
        memmove(p->refs + lo, p->refs + lo + 1, (p->n - lo - 1) * sizeof(*p->refs));
        p->n--;
    }
}

static void ptab_grow(tsdb_head *h)
{
    size_t ncap = h->pcap ? h->pcap * 2 : 4096;
    pentry **nb = core_calloc(ncap, sizeof(*nb));
    for (size_t i = 0; i < h->pcap; i++)
        for (pentry *e = h->ptab[i], *next; e; e = next) {
            next = e->next;
            size_t b = ptr_hash(e->name, e->value) & (ncap - 1);
            e->next = nb[b];
            nb[b] = e;
        }
    free(h->ptab);
    h->ptab = nb;
    h->pcap = ncap;
}

static pentry *pentry_find(const tsdb_head *h, const char *name, const char *value)
{
    if (!h->pcap) return NULL;
    for (pentry *e = h->ptab[ptr_hash(name, value) & (h->pcap - 1)]; e; e = e->next)
        if (e->name == name && e->value == value) return e;
    return NULL;
}

static nentry *nentry_find(const tsdb_head *h, const char *name)
{
    for (nentry *e = h->ntab[ptr_hash(name, NULL) & (TSDB_HEAD_NAMES - 1)]; e; e = e->next)
        if (e->name == name) return e;
    return NULL;
}

/* Caller holds post_lock exclusively.  name and value are interned. */
static void postings_add(tsdb_head *h, const char *name, const char *value, uint64_t ref)
{
    pentry *e = pentry_find(h, name, value);
    if (!e) {
        if (h->pcount + 1 > h->pcap) ptab_grow(h);
        e = core_calloc(1, sizeof(*e));
        e->name = name;
        e->value = value;
        size_t b = ptr_hash(name, value) & (h->pcap - 1);
        e->next = h->ptab[b];
        h->ptab[b] = e;
        h->pcount++;
        nentry *n = nentry_find(h, name);
        if (!n) {
            n = core_calloc(1, sizeof(*n));
            n->name = name;
            size_t nb = ptr_hash(name, NULL) & (TSDB_HEAD_NAMES - 1);
            n->next = h->ntab[nb];
            h->ntab[nb] = n;
            h->nnames++;
        }
        if (n->n == n->cap) {
            n->cap = n->cap ? n->cap * 2 : 4;
            n->values = core_reallocarray(n->values, n->cap, sizeof(*n->values));
        }
        n->values[n->n++] = value;
    }
    plist_add(&e->refs, ref);
}

/* Caller holds post_lock exclusively. */
static void postings_del(tsdb_head *h, const char *name, const char *value, uint64_t ref)
{
    pentry *e = pentry_find(h, name, value);
    if (!e) return;
    plist_del(&e->refs, ref);
    if (e->refs.n) return;
    pentry **pp = &h->ptab[ptr_hash(name, value) & (h->pcap - 1)];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    h->pcount--;
    free(e->refs.refs);
    free(e);
    nentry **np = &h->ntab[ptr_hash(name, NULL) & (TSDB_HEAD_NAMES - 1)];
    while (*np && (*np)->name != name)
        np = &(*np)->next;
    nentry *n = *np;
    if (!n) return;
    for (uint32_t i = 0; i < n->n; i++)
        if (n->values[i] == value) {
            n->values[i] = n->values[--n->n];
            break;
        }
    if (n->n) return;
    *np = n->next;
    h->nnames--;
    free(n->values);
    free(n);
}

/* ---- Head chunk files */

typedef struct hfile {
    uint64_t seq;
    int fd;
    const uint8_t *map; /* the whole file size, read only */
    size_t written;     /* bytes in the file */
} hfile;

static int hfile_flush(tsdb_head *h, core_err *err)
{
    if (!h->nfiles || !h->buflen) return 0;
    hfile *f = &h->files[h->nfiles - 1];
    size_t done = 0;
    while (done < h->buflen) {
        ssize_t n = pwrite(f->fd, h->buf + done, h->buflen - done, (off_t)(f->written + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            return core_err_set(err, "write head chunk file %06llu: %s", (unsigned long long)f->seq,
                                strerror(errno));
        done += (size_t)n;
    }
    f->written += h->buflen;
    h->buflen = 0;
    return 0;
}

static int hfile_cut(tsdb_head *h, core_err *err)
{
    if (hfile_flush(h, err) < 0) return -1;
    uint64_t seq = h->nfiles ? h->files[h->nfiles - 1].seq + 1 : h->first_seq;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%06llu", h->chunks_dir, (unsigned long long)seq);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return core_err_set(err, "create head chunk file %s: %s", path, strerror(errno));
    void *map = mmap(NULL, h->file_size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        close(fd);
        return core_err_set(err, "map head chunk file %s: %s", path, strerror(errno));
    }
    if (h->nfiles == h->capfiles) {
        h->capfiles = h->capfiles ? h->capfiles * 2 : 8;
        h->files = core_reallocarray(h->files, h->capfiles, sizeof(*h->files));
    }
    h->files[h->nfiles++] = (hfile){.seq = seq, .fd = fd, .map = map, .written = 0};
    uint8_t hdr[TSDB_SEGMENT_HEADER_SIZE] = {0};
    tsdb_put_be32(hdr, TSDB_HEAD_CHUNKS_MAGIC);
    hdr[4] = 1;
    memcpy(h->buf, hdr, sizeof hdr);
    h->buflen = sizeof hdr;
    return 0;
}

static hfile *hfile_find(tsdb_head *h, uint64_t seq)
{
    for (size_t i = 0; i < h->nfiles; i++)
        if (h->files[i].seq == seq) return &h->files[i];
    return NULL;
}

/* Writes a cut chunk's record; *ref gets (file << 32) | offset. */
static int hfile_write(tsdb_head *h, uint64_t series, int64_t mint, int64_t maxt,
                       const uint8_t *data, size_t len, uint64_t *ref, core_err *err)
{
    size_t rec = 25 + 5 + len + 4;
    pthread_mutex_lock(&h->file_mtx);
    int rc = 0;
    hfile *f = h->nfiles ? &h->files[h->nfiles - 1] : NULL;
    if (!f || f->written + h->buflen + rec > h->file_size) rc = hfile_cut(h, err);
    if (rc == 0 && h->buflen + rec > FILE_BUF) rc = hfile_flush(h, err);
    if (rc == 0) {
        f = &h->files[h->nfiles - 1];
        uint64_t off = f->written + h->buflen;
        uint8_t *p = h->buf + h->buflen;
        tsdb_put_be64(p, series);
        tsdb_put_be64(p + 8, (uint64_t)mint);
        tsdb_put_be64(p + 16, (uint64_t)maxt);
        p[24] = TSDB_ENC_XOR;
        size_t n = 25 + tsdb_put_uvarint(p + 25, len);
        memcpy(p + n, data, len);
        n += len;
        tsdb_put_be32(p + n, tsdb_crc32c(0, p, n));
        h->buflen += n + 4;
        *ref = f->seq << 32 | off;
    }
    pthread_mutex_unlock(&h->file_mtx);
    return rc;
}

/* The data of a cut chunk, copied into the arena; with `borrow`, a chunk
 * already written to its file is returned from the mapping instead (valid
 * until the head drops the file: truncation, which the caller's read lock
 * keeps away). */
static const uint8_t *hfile_read(tsdb_head *h, uint64_t ref, size_t *len, core_arena *arena,
                                 bool borrow)
{
    uint64_t seq = ref >> 32, off = ref & 0xffffffffu;
    const uint8_t *rec = NULL, *out = NULL;
    bool mapped = false;
    pthread_mutex_lock(&h->file_mtx);
    hfile *f = hfile_find(h, seq);
    if (f && off >= f->written && f == &h->files[h->nfiles - 1] && off - f->written < h->buflen)
        rec = h->buf + (off - f->written);
    else if (f && off < f->written)
        rec = f->map + off, mapped = true;
    if (rec) {
        uint64_t dlen;
        int n = tsdb_uvarint(rec + 25, 5, &dlen);
        if (n > 0 && mapped && borrow) {
            out = rec + 25 + n;
            *len = dlen;
        } else if (n > 0) {
            uint8_t *copy = core_arena_alloc(arena, dlen ? dlen : 1);
            memcpy(copy, rec + 25 + n, dlen);
            *len = dlen;
            out = copy;
        }
    }
    pthread_mutex_unlock(&h->file_mtx);
    return out;
}

/* Removes files whose chunks all ended before the head's new mint. */
static void hfile_drop_before(tsdb_head *h, uint64_t keep_seq)
{
    pthread_mutex_lock(&h->file_mtx);
    size_t k = 0;
    for (size_t i = 0; i < h->nfiles; i++) {
        hfile *f = &h->files[i];
        if (f->seq < keep_seq && i + 1 < h->nfiles) {
            munmap((void *)f->map, h->file_size);
            close(f->fd);
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%06llu", h->chunks_dir, (unsigned long long)f->seq);
            unlink(path);
        } else {
            h->files[k++] = *f;
        }
    }
    h->nfiles = k;
    pthread_mutex_unlock(&h->file_mtx);
}

/* ---- Series */

static uint64_t rangefor(int64_t t, int64_t width)
{
    /* The end of the range t falls in, as upstream's rangeForTimestamp. */
    return (uint64_t)((t / width) * width + width);
}

/* A series' spinlock: appends hold it for a few dozen nanoseconds and
 * readers for a chunk copy, so a waiter spins a little, then yields. */
static void slock(tsdb_hseries *s)
{
    for (unsigned spins = 0; __atomic_exchange_n(&s->lock, 1, __ATOMIC_ACQUIRE);) {
        while (__atomic_load_n(&s->lock, __ATOMIC_RELAXED)) {
            if (++spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
            } else {
                sched_yield();
            }
        }
    }
}

static void sunlock(tsdb_hseries *s)
{
    __atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
}

tsdb_hseries *tsdb_head_series(tsdb_head *h, uint64_t ref)
{
    if (ref == 0 || ref >= (uint64_t)REF_PAGE * REF_PAGES) return NULL;
    tsdb_hseries **page = __atomic_load_n(&h->refs[ref / REF_PAGE], __ATOMIC_ACQUIRE);
    if (!page) return NULL;
    return __atomic_load_n(&page[ref % REF_PAGE], __ATOMIC_ACQUIRE);
}

void tsdb_head_prefetch(tsdb_head *h, uint64_t ref)
{
    if (ref >= (uint64_t)REF_PAGE * REF_PAGES) return;
    tsdb_hseries **page = __atomic_load_n(&h->refs[ref / REF_PAGE], __ATOMIC_ACQUIRE);
    if (!page) return;
    const char *s = (const char *)__atomic_load_n(&page[ref % REF_PAGE], __ATOMIC_ACQUIRE);
    if (s) __builtin_prefetch(s); /* the append line: the slot's first line */
}

static void set_ref(tsdb_head *h, uint64_t ref, tsdb_hseries *s)
{
    tsdb_hseries **page = __atomic_load_n(&h->refs[ref / REF_PAGE], __ATOMIC_ACQUIRE);
    if (!page) {
        tsdb_hseries **fresh = core_calloc(REF_PAGE, sizeof(*fresh));
        tsdb_hseries **expected = NULL;
        if (__atomic_compare_exchange_n(&h->refs[ref / REF_PAGE], &expected, fresh, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            page = fresh;
        else {
            free(fresh);
            page = expected;
        }
    }
    __atomic_store_n(&page[ref % REF_PAGE], s, __ATOMIC_RELEASE);
}

/* ---- Series memory
 *
 * Series are carved from 2 MiB regions in slots of a multiple of 64 bytes,
 * 64-byte aligned, so an append's fields (the struct's first 64 bytes) are
 * one cache line: at a million series every append misses on it, and one
 * line instead of two (malloc aligns to 16) is fewer misses in flight.  A
 * freed slot goes on its size's free list; regions go back at head_free.
 * Series with very many labels (slots past 4 KiB) use aligned_alloc.
 *
 * Regions are 2 MiB aligned and, from the fourth on (a head past ~40,000
 * series), advised to be transparent huge pages: the series a scrape
 * appends to are 3 refs a 4 KiB page apart, so with small pages every
 * append also missed the TLB, and a prefetch that misses the TLB may be
 * dropped: at 400,000 series (bench/scrape) appending took 14% of the
 * scrape thread's profile, 10% with huge pages (the load of the series line
 * in tsdb_appender_add: 4% -> 0.8%).  A small head (tests, a backfill range)
 * stays on small pages, as a huge page would make its first series cost
 * 2 MiB. */

#define SLAB_REGION     (2u << 20)
#define SLAB_MAX        (64u * 64u)
#define SLAB_HUGE_AFTER 3 /* regions on small pages before the huge ones */

static size_t slot_size(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

/* aligned_alloc that, like core_malloc, does not come back empty-handed. */
static void *aligned_or_die(size_t n)
{
    void *p = aligned_alloc(64, n);
    if (!p) {
        fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return p;
}

/* A region: SLAB_REGION bytes aligned to their size (a huge page's). */
static char *region_new(bool huge)
{
    size_t span = 2 * (size_t)SLAB_REGION;
    char *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        fprintf(stderr, "fatal: out of memory mapping %zu bytes\n", span);
        abort();
    }
    uintptr_t start = ((uintptr_t)m + SLAB_REGION - 1) & ~(uintptr_t)(SLAB_REGION - 1);
    char *r = (char *)start;
    if (r > m) munmap(m, (size_t)(r - m));
    if (r + SLAB_REGION < m + span) munmap(r + SLAB_REGION, (size_t)(m + span - (r + SLAB_REGION)));
    if (huge) madvise(r, SLAB_REGION, MADV_HUGEPAGE);
    return r;
}

static void *slab_alloc(tsdb_head *h, size_t n)
{
    size_t sz = slot_size(n);
    if (sz >= SLAB_MAX) {
        return aligned_or_die(sz);
    }
    void *p;
    pthread_mutex_lock(&h->slab_mtx);
    if ((p = h->slab_free[sz / 64])) {
        h->slab_free[sz / 64] = *(void **)p;
    } else {
        if (!h->slab_cur || (size_t)(h->slab_end - h->slab_cur) < sz) {
            char *r = region_new(h->slab_nregions >= SLAB_HUGE_AFTER);
            h->slab_regions =
                core_reallocarray(h->slab_regions, h->slab_nregions + 1, sizeof(*h->slab_regions));
            h->slab_regions[h->slab_nregions++] = r;
            h->slab_cur = r;
            h->slab_end = r + SLAB_REGION;
        }
        p = h->slab_cur;
        h->slab_cur += sz;
    }
    pthread_mutex_unlock(&h->slab_mtx);
    return p;
}

static void slab_release(tsdb_head *h, void *p, size_t n)
{
    size_t sz = slot_size(n);
    if (sz >= SLAB_MAX) {
        free(p);
        return;
    }
    pthread_mutex_lock(&h->slab_mtx);
    *(void **)p = h->slab_free[sz / 64];
    h->slab_free[sz / 64] = p;
    pthread_mutex_unlock(&h->slab_mtx);
}

static size_t series_size(size_t nlabels)
{
    return sizeof(tsdb_hseries) + sizeof(core_labels) + nlabels * sizeof(core_label);
}

static tsdb_hseries *series_new(tsdb_head *h, uint64_t ref, const core_labels *ls, uint64_t hash)
{
    tsdb_hseries *s = slab_alloc(h, series_size(ls->len));
    memset(s, 0, sizeof(*s));
    s->ref = (uint32_t)ref;
    s->hash = hash;
    s->maxt = INT64_MIN;
    s->open_mint = INT64_MAX;
    s->leading = 0xff;
    core_labels *own = (core_labels *)(void *)(s + 1);
    own->len = ls->len;
    pthread_mutex_lock(&h->intern_mtx);
    for (size_t i = 0; i < ls->len; i++) {
        own->v[i].name = intern(h, ls->v[i].name);
        own->v[i].value = intern(h, ls->v[i].value);
    }
    pthread_mutex_unlock(&h->intern_mtx);
    return s;
}

/* Frees the in-memory data of cut chunks (a head without chunk files). */
static void free_mem_chunks(const tsdb_head *h, const tsdb_hchunk *c, size_t n)
{
    if (h->chunks_dir) return;
    for (size_t i = 0; i < n; i++)
        free((void *)(uintptr_t)c[i].ref);
}

static void series_free(tsdb_head *h, tsdb_hseries *s)
{
    pthread_mutex_lock(&h->intern_mtx);
    for (size_t i = 0; i < tsdb_hs_labels(s)->len; i++) {
        unintern(h, tsdb_hs_labels(s)->v[i].name);
        unintern(h, tsdb_hs_labels(s)->v[i].value);
    }
    pthread_mutex_unlock(&h->intern_mtx);
    if (s->nspill && h->spill) {
        uint64_t last, offs[UINT8_MAX];
        core_err e = {{0}};
        memcpy(&last, s->buf, sizeof last);
        if (tsdb_spill_read(h->spill, last, s->nspill, false, NULL, offs, &e) == 0)
            tsdb_spill_release(h->spill, offs, s->nspill);
        else
            core_error("tsdb", "Cannot free the spilled open chunk of a series", "err", e.msg);
    }
    free(s->buf);
    free_mem_chunks(h, s->mm, s->nmm);
    free(s->mm);
    slab_release(h, s, series_size(tsdb_hs_labels(s)->len));
}

static void index_series(tsdb_head *h, tsdb_hseries *s)
{
    pthread_rwlock_wrlock(&h->post_lock);
    for (size_t i = 0; i < tsdb_hs_labels(s)->len; i++)
        postings_add(h, tsdb_hs_labels(s)->v[i].name, tsdb_hs_labels(s)->v[i].value, s->ref);
    plist_add(&h->all, s->ref);
    pthread_rwlock_unlock(&h->post_lock);
}

/* Finds the series with these labels in the stripe; caller holds its mutex. */
static tsdb_hseries *stripe_find(tsdb_head *h, const core_labels *ls, uint64_t hash)
{
    struct tsdb_stripe *st = &h->stripes[hash % STRIPES];
    if (!st->cap) return NULL;
    for (tsdb_hseries *s = st->buckets[(hash / STRIPES) & (st->cap - 1)]; s; s = s->next)
        if (s->hash == hash && core_labels_equal(tsdb_hs_labels(s), ls)) return s;
    return NULL;
}

static void stripe_insert(tsdb_head *h, tsdb_hseries *s)
{
    struct tsdb_stripe *st = &h->stripes[s->hash % STRIPES];
    if (st->n + 1 > st->cap) {
        size_t ncap = st->cap ? st->cap * 2 : 16;
        tsdb_hseries **nb = core_calloc(ncap, sizeof(*nb));
        for (size_t i = 0; i < st->cap; i++)
            for (tsdb_hseries *e = st->buckets[i], *next; e; e = next) {
                next = e->next;
                size_t b = (e->hash / STRIPES) & (ncap - 1);
                e->next = nb[b];
                nb[b] = e;
            }
        free(st->buckets);
        st->buckets = nb;
        st->cap = ncap;
    }
    size_t b = (s->hash / STRIPES) & (st->cap - 1);
    s->next = st->buckets[b];
    st->buckets[b] = s;
    st->n++;
}

static void stripe_remove(tsdb_head *h, tsdb_hseries *s)
{
    struct tsdb_stripe *st = &h->stripes[s->hash % STRIPES];
    tsdb_hseries **pp = &st->buckets[(s->hash / STRIPES) & (st->cap - 1)];
    while (*pp && *pp != s)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = s->next;
        st->n--;
    }
}

tsdb_hseries *tsdb_head_get_or_create(tsdb_head *h, const core_labels *ls, uint64_t want_ref,
                                      bool *created)
{
    uint64_t hash = core_labels_hash(ls);
    pthread_mutex_t *mtx = &h->stripes[hash % STRIPES].mtx;
    pthread_mutex_lock(mtx);
    tsdb_hseries *s = stripe_find(h, ls, hash);
    *created = false;
    if (!s) {
        uint64_t ref;
        if (want_ref >= (uint64_t)REF_PAGE * REF_PAGES) want_ref = 0; /* beyond the ref table */
        if (want_ref) {
            ref = want_ref;
            uint64_t next = __atomic_load_n(&h->next_ref, __ATOMIC_RELAXED);
            while (next <= ref &&
                   !__atomic_compare_exchange_n(&h->next_ref, &next, ref + 1, false,
                                                __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            }
        } else {
            ref = __atomic_fetch_add(&h->next_ref, 1, __ATOMIC_RELAXED);
        }
        s = series_new(h, ref, ls, hash);
        stripe_insert(h, s);
        set_ref(h, ref, s);
        *created = true;
    }
    pthread_mutex_unlock(mtx);
    if (*created) {
        index_series(h, s);
        __atomic_fetch_add(&h->nseries, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&h->series_created, 1, __ATOMIC_RELAXED);
    }
    return s;
}

void tsdb_head_alias_ref(tsdb_head *h, uint64_t ref, tsdb_hseries *s)
{
    if (ref == 0 || ref >= (uint64_t)REF_PAGE * REF_PAGES) return;
    if (!tsdb_head_series(h, ref)) set_ref(h, ref, s);
    uint64_t next = __atomic_load_n(&h->next_ref, __ATOMIC_RELAXED);
    while (next <= ref && !__atomic_compare_exchange_n(&h->next_ref, &next, ref + 1, false,
                                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

/* ---- Appending */

/* Upstream's computeChunkEndTime: the time at which a chunk that spans
 * [start, cur] after a quarter of its samples will hold about 120, spread so
 * the chunks up to max are even. */
static int64_t chunk_end(int64_t start, int64_t cur, int64_t max, int64_t ratio)
{
    double n = (double)(max - start) / ((double)(cur - start + 1) * (double)ratio);
    if (n <= 1) return max;
    return (int64_t)((double)start + (double)(max - start) / floor(n));
}

/* ---- The open chunk's encoder
 *
 * The same bits as tsdb_xor_append_bits in the V3 layout (xor.c describes
 * them), written straight into the series' buffer: the size of a sample is
 * worked out first, the buffer grown if needed, then the fields are ORed in
 * at the bit position, 8 bytes at a time where the buffer has room for a
 * whole word (the bits past the position are zero), bytewise at its end.
 * The buffer grows in small steps and is kept when the chunk is cut, so a
 * series reallocates only while its first chunk grows.  With a spill log it
 * grows to SPILL_CAP at most: past that its first TSDB_SPILL_SEG bytes are
 * spilled and the rest moved down.  Its first 8 bytes (TAIL_AT) are the
 * offset of the last spill record, then come the chunk's bytes from byte
 * nspill x TSDB_SPILL_SEG on (the 2-byte header too, before a spill). */

#define HDR     2 /* the chunk's sample count */
#define TAIL_AT 8

/* The bit of the buffer's chunk bytes the next sample starts at. */
static inline uint32_t tail_pos(const tsdb_hseries *s)
{
    return 8 * HDR + s->bits - 8u * TSDB_SPILL_SEG * s->nspill;
}

static inline uint64_t to_be64(uint64_t x)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap64(x);
#else
    return x;
#endif
}

/* ORs the n (1..64) low bits of v in at bit *pos of d (room bytes). */
static inline void put_bits(uint8_t *d, size_t room, uint32_t *pos, uint64_t v, unsigned n)
{
    if (n > 56) { /* at most 64 bits of the word are free: split */
        put_bits(d, room, pos, v >> 32, n - 32);
        n = 32;
    }
    uint32_t p = *pos;
    size_t byte = p >> 3;
    uint64_t x = (v << (64 - n)) >> (p & 7);
    if (byte + 8 <= room) {
        uint64_t w;
        memcpy(&w, d + byte, 8);
        w |= to_be64(x);
        memcpy(d + byte, &w, 8);
    } else {
        for (unsigned i = 0, k = ((p & 7) + n + 7) / 8; i < k; i++)
            d[byte + i] |= (uint8_t)(x >> (56 - 8 * i));
    }
    *pos = p + n;
}

static bool bucket(int64_t x, unsigned nbits)
{
    int64_t half = INT64_C(1) << (nbits - 1);
    return -(half - 1) <= x && x <= half;
}

/* The malloc size (16k + 8: served without slack) at least n. */
static size_t alloc_size(size_t n)
{
    return ((n + 7) & ~(size_t)15) + 8;
}

#define SPILL_CAP TSDB_HEAD_TAIL_MAX
_Static_assert(SPILL_CAP == TAIL_AT + TSDB_SPILL_SEG + 32, "the tail's layout");
_Static_assert(TSDB_SPILL_SEG *UINT8_MAX >= 240 * 19, "nspill counts a full chunk's records");

/* Moves the buffer's first TSDB_SPILL_SEG chunk bytes to the spill log;
 * false if they could not be written (the buffer then grows instead: a full
 * disk costs memory, not samples). */
static bool spill_seg(tsdb_head *h, tsdb_hseries *s)
{
    uint8_t *tail = s->buf + TAIL_AT;
    size_t whole = tail_pos(s) / 8, used = (tail_pos(s) + 7) / 8;
    if (whole < TSDB_SPILL_SEG || s->nspill == UINT8_MAX) return false;
    uint64_t prev, ref;
    memcpy(&prev, s->buf, sizeof prev);
    core_err e = {{0}};
    if (tsdb_spill_put(h->spill, prev, tail, &ref, &e) < 0) {
        uint64_t n = __atomic_fetch_add(&h->spill_failures, 1, __ATOMIC_RELAXED);
        if ((n & 0xffff) == 0)
            core_error("tsdb", "Cannot spill open chunks, keeping them in memory", "err", e.msg);
        return false;
    }
    memmove(tail, tail + TSDB_SPILL_SEG, used - TSDB_SPILL_SEG);
    memset(tail + used - TSDB_SPILL_SEG, 0, TSDB_SPILL_SEG);
    memcpy(s->buf, &ref, sizeof ref);
    s->nspill++;
    return true;
}

/* Makes room for `more` bits past the last one written; false if the
 * buffer would pass 64 KiB (never with the head's 240 samples at most).
 * The buffer grows 24 to 39 bytes ahead, with a spill log up to SPILL_CAP;
 * without one, once the chunk holds 16 samples it is grown to the size
 * their average predicts for a full chunk (120 samples) if that is more, so
 * a first chunk is reallocated about 5 times, not 12. */
static bool reserve_bits(tsdb_head *h, tsdb_hseries *s, unsigned more)
{
    size_t need = TAIL_AT + ((size_t)tail_pos(s) + more + 7) / 8;
    if (need <= s->cap) return true;
    if (need > SPILL_CAP && h->spill && spill_seg(h, s)) return true;
    size_t cap = alloc_size(need + 24);
    if (h->spill && need <= SPILL_CAP) {
        if (cap > SPILL_CAP) cap = SPILL_CAP;
    } else if (s->nsamples >= 16) {
        uint8_t vb[TSDB_MAX_VARINT_LEN];
        size_t first = 8 * tsdb_put_varint(vb, s->open_mint) + 64; /* the first sample's bits */
        size_t per = (s->bits - first) / (s->nsamples - 1u);
        size_t predicted =
            alloc_size(TAIL_AT + HDR + (first + per * (CHUNK_TARGET - 1) + 7) / 8 + 8);
        if (predicted > cap) cap = predicted;
    }
    if (cap > UINT16_MAX) cap = alloc_size(need) <= UINT16_MAX ? alloc_size(need) : need;
    if (need > UINT16_MAX) return false;
    s->buf = core_realloc(s->buf, cap);
    memset(s->buf + s->cap, 0, cap - s->cap);
    s->cap = (uint16_t)cap;
    return true;
}

/* Appends a sample to the open chunk; false if it cannot grow. */
static bool encode(tsdb_head *h, tsdb_hseries *s, int64_t t, uint64_t vbits)
{
    unsigned n = s->nsamples;
    uint64_t tdelta = 0, tf = 0, delta = vbits ^ s->last_v;
    uint8_t vb[TSDB_MAX_VARINT_LEN]; /* the first two timestamps are byte varints */
    unsigned tn = 0, nvb = 0, vn, lead = 0, trail = 0;
    int vcase; /* 0: same value, 1: inside the window, 2: new window, 3: first value */
    if (n == 0) {
        nvb = (unsigned)tsdb_put_varint(vb, t);
        tn = 8 * nvb;
        vcase = 3;
        vn = 64;
    } else {
        tdelta = (uint64_t)t - (uint64_t)s->maxt;
        if (n == 1) {
            nvb = (unsigned)tsdb_put_uvarint(vb, tdelta);
            tn = 8 * nvb;
        } else {
            int64_t dod = (int64_t)(tdelta - s->tdelta);
            uint64_t u = (uint64_t)dod;
            if (dod == 0)
                tn = 1;
            else if (bucket(dod, 14))
                tf = UINT64_C(0x2) << 14 | (u & 0x3fff), tn = 16;
            else if (bucket(dod, 17))
                tf = UINT64_C(0x6) << 17 | (u & 0x1ffff), tn = 20;
            else if (bucket(dod, 20))
                tf = UINT64_C(0xe) << 20 | (u & 0xfffff), tn = 24;
            else
                tf = u, tn = 68; /* 0xf then 64 bits */
        }
        if (delta == 0) {
            vcase = 0;
            vn = 1;
        } else {
            lead = (unsigned)__builtin_clzll(delta);
            trail = (unsigned)__builtin_ctzll(delta);
            if (lead >= 32) lead = 31;
            if (s->leading != 0xff && lead >= s->leading && trail >= s->trailing) {
                vcase = 1;
                vn = 2 + 64 - s->leading - s->trailing;
            } else {
                vcase = 2;
                vn = 2 + 5 + 6 + 64 - lead - trail;
            }
        }
    }
    if (!reserve_bits(h, s, tn + vn)) return false;
    uint8_t *d = s->buf + TAIL_AT;
    size_t room = s->cap - TAIL_AT;
    uint32_t start = tail_pos(s), pos = start;
    if (nvb) {
        for (unsigned i = 0; i < nvb; i++)
            put_bits(d, room, &pos, vb[i], 8);
    } else if (tn == 68) {
        put_bits(d, room, &pos, 0xf, 4);
        put_bits(d, room, &pos, tf, 64);
    } else if (tn == 1) {
        pos++; /* a 0 bit */
    } else {
        put_bits(d, room, &pos, tf, tn);
    }
    switch (vcase) {
    case 0: pos++; break;
    case 1: {
        unsigned sig = 64u - s->leading - s->trailing;
        put_bits(d, room, &pos, 0x2, 2);
        put_bits(d, room, &pos, delta >> s->trailing, sig);
        break;
    }
    case 2: {
        unsigned sig = 64 - lead - trail;
        s->leading = (uint8_t)lead;
        s->trailing = (uint8_t)trail;
        put_bits(d, room, &pos, (UINT64_C(0x3) << 11) | (uint64_t)lead << 6 | (sig & 63), 13);
        put_bits(d, room, &pos, delta >> trail, sig);
        break;
    }
    default: put_bits(d, room, &pos, vbits, 64); break;
    }
    s->bits += pos - start;
    s->tdelta = tdelta;
    s->nsamples = (uint16_t)(n + 1);
    return true;
}

/* The open chunk's byte length, header included. */
static size_t open_len(const tsdb_hseries *s)
{
    return HDR + (s->bits + 7) / 8;
}

/* Copies the open chunk's bytes (open_len) into out, its count set; offs
 * (nspill long, or NULL) gets the offsets of its spill records; `mapped`
 * reads them through the spill files' mappings (queries). */
static int open_copy(tsdb_head *h, const tsdb_hseries *s, uint8_t *out, uint64_t *offs, bool mapped,
                     core_err *err)
{
    size_t spilled = (size_t)s->nspill * TSDB_SPILL_SEG;
    if (s->nspill) {
        uint64_t last;
        memcpy(&last, s->buf, sizeof last);
        if (tsdb_spill_read(h->spill, last, s->nspill, mapped, out, offs, err) < 0) return -1;
    }
    memcpy(out + spilled, s->buf + TAIL_AT, open_len(s) - spilled);
    out[0] = (uint8_t)(s->nsamples >> 8);
    out[1] = (uint8_t)s->nsamples;
    return 0;
}

/* Moves the open chunk to a chunk file (or a block of its own without
 * files), keeping the buffer for the next chunk.  Caller holds the lock. */
static int cut_open(tsdb_head *h, tsdb_hseries *s, core_err *err)
{
    size_t len = open_len(s), spilled = (size_t)s->nspill * TSDB_SPILL_SEG;
    uint64_t ref = 0, offs[UINT8_MAX];
    uint8_t *bytes = s->buf + TAIL_AT, *joined = NULL;
    if (s->nspill) {
        bytes = joined = core_malloc(len);
        if (open_copy(h, s, joined, offs, false, err) < 0) {
            free(joined);
            return -1;
        }
    } else {
        bytes[0] = (uint8_t)(s->nsamples >> 8);
        bytes[1] = (uint8_t)s->nsamples;
    }
    if (h->chunks_dir) {
        if (hfile_write(h, s->ref, s->open_mint, s->maxt, bytes, len, &ref, err) < 0) {
            if (!joined) bytes[0] = bytes[1] = 0;
            free(joined);
            return -1;
        }
    } else {
        uint8_t *mem = core_malloc(sizeof(uint32_t) + len);
        uint32_t l32 = (uint32_t)len;
        memcpy(mem, &l32, sizeof l32);
        memcpy(mem + sizeof l32, bytes, len);
        ref = (uint64_t)(uintptr_t)mem;
    }
    if (joined) {
        tsdb_spill_release(h->spill, offs, s->nspill);
        free(joined);
    }
    s->mm = core_reallocarray(s->mm, s->nmm + 1, sizeof(*s->mm));
    s->mm[s->nmm++] = (tsdb_hchunk){.ref = ref, .mint = s->open_mint, .maxt = s->maxt};
    memset(s->buf + TAIL_AT, 0, len - spilled);
    s->nspill = 0;
    s->bits = 0;
    s->nsamples = 0;
    s->leading = 0xff;
    s->trailing = 0;
    s->open_mint = INT64_MAX;
    __atomic_fetch_add(&h->chunks_cut, 1, __ATOMIC_RELAXED);
    return 0;
}

int tsdb_head_check(tsdb_head *h, tsdb_hseries *s, int64_t t, uint64_t vbits)
{
    /* Without the lock: the append at commit checks again under it. */
    if (t < __atomic_load_n(&h->min_valid, __ATOMIC_RELAXED)) return TSDB_APPEND_OUT_OF_BOUNDS;
    int64_t maxt = __atomic_load_n(&s->maxt, __ATOMIC_RELAXED);
    if (t < maxt) return TSDB_APPEND_OUT_OF_ORDER;
    if (t == maxt && vbits != __atomic_load_n(&s->last_v, __ATOMIC_RELAXED))
        return TSDB_APPEND_DUPLICATE;
    return 0;
}

/* Appends under the series' lock; the head's time range is the caller's. */
static int append_locked(tsdb_head *h, tsdb_hseries *s, int64_t t, uint64_t vbits, core_err *err)
{
    if (t <= s->maxt) { /* a repeat of the last sample is dropped; another value is refused */
        if (t < s->maxt) return TSDB_APPEND_OUT_OF_ORDER;
        return vbits == s->last_v ? TSDB_APPEND_REPEAT : TSDB_APPEND_DUPLICATE;
    }
    unsigned n = s->nsamples;
    if (n > 0 && (t >= s->next_at || n >= 2 * CHUNK_TARGET)) {
        if (cut_open(h, s, err) < 0) return -1;
        n = 0;
    }
    if (n == 0) {
        s->open_mint = t;
        s->next_at = (int64_t)rangefor(t, h->chunk_range);
    }
    if (!encode(h, s, t, vbits))
        return core_err_set(err, "head chunk of series %llu is full", (unsigned long long)s->ref);
    __atomic_store_n(&s->maxt, t, __ATOMIC_RELAXED);
    __atomic_store_n(&s->last_v, vbits, __ATOMIC_RELAXED);
    if (n + 1 == CHUNK_TARGET / 4) s->next_at = chunk_end(s->open_mint, t, s->next_at, 4);
    return 0;
}

/* Widens the head's time range to [mint, maxt]. */
static void widen(tsdb_head *h, int64_t mint, int64_t maxt)
{
    int64_t cur = __atomic_load_n(&h->maxt, __ATOMIC_RELAXED);
    while (maxt > cur && !__atomic_compare_exchange_n(&h->maxt, &cur, maxt, false, __ATOMIC_RELAXED,
                                                      __ATOMIC_RELAXED)) {
    }
    cur = __atomic_load_n(&h->mint, __ATOMIC_RELAXED);
    while (mint < cur && !__atomic_compare_exchange_n(&h->mint, &cur, mint, false, __ATOMIC_RELAXED,
                                                      __ATOMIC_RELAXED)) {
    }
}

int tsdb_head_append(tsdb_head *h, tsdb_hseries *s, int64_t t, uint64_t vbits, core_err *err)
{
    if (t < __atomic_load_n(&h->min_valid, __ATOMIC_RELAXED)) return TSDB_APPEND_OUT_OF_BOUNDS;
    slock(s);
    int rc = append_locked(h, s, t, vbits, err);
    sunlock(s);
    if (rc == 0) widen(h, t, t);
    return rc;
}

/* How far ahead the batch loads series, and their chunk tails. */
#define PREFETCH_SERIES 32
#define PREFETCH_TAIL   16

static inline __attribute__((always_inline)) int append_batch(tsdb_head *h, tsdb_hseries *const *sv,
                                                              const tsdb_rec_sample *v, size_t n,
                                                              uint64_t counts[5], bool locked,
                                                              core_err *err)
{
    int64_t min_valid = __atomic_load_n(&h->min_valid, __ATOMIC_RELAXED);
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + PREFETCH_SERIES < n) {
            __builtin_prefetch(sv[i + PREFETCH_SERIES], 1); /* one line: see slab_alloc */
        }
        if (i + PREFETCH_TAIL < n) {
            const tsdb_hseries *f = sv[i + PREFETCH_TAIL];
            const uint8_t *b = __atomic_load_n(&f->buf, __ATOMIC_RELAXED);
            if (b) __builtin_prefetch(b + TAIL_AT + tail_pos(f) / 8, 1);
        }
        tsdb_hseries *s = sv[i];
        int64_t t = v[i].t;
        int r;
        if (t < min_valid) {
            r = TSDB_APPEND_OUT_OF_BOUNDS;
        } else {
            if (locked) slock(s);
            r = append_locked(h, s, t, v[i].v, err);
            if (locked) sunlock(s);
        }
        if (r < 0) {
            rc = -1;
            break;
        }
        counts[r]++;
        if (r == 0) {
            if (t < lo) lo = t;
            if (t > hi) hi = t;
        }
    }
    if (lo <= hi) widen(h, lo, hi);
    return rc;
}

int tsdb_head_append_batch(tsdb_head *h, tsdb_hseries *const *sv, const tsdb_rec_sample *v,
                           size_t n, uint64_t counts[5], core_err *err)
{
    return append_batch(h, sv, v, n, counts, true, err);
}

int tsdb_head_append_batch_excl(tsdb_head *h, tsdb_hseries *const *sv, const tsdb_rec_sample *v,
                                size_t n, uint64_t counts[5], core_err *err)
{
    return append_batch(h, sv, v, n, counts, false, err);
}

/* ---- Life cycle */

tsdb_head *tsdb_head_new(const tsdb_head_opts *o, core_err *err)
{
    tsdb_head *h = core_calloc(1, sizeof(*h));
    h->chunk_range = o->chunk_range > 0 ? o->chunk_range : TSDB_DEFAULT_BLOCK_MS;
    h->file_size = o->chunk_file_size ? o->chunk_file_size : TSDB_HEAD_CHUNK_FILE_SIZE;
    h->next_ref = 1;
    h->mint = INT64_MAX;
    h->maxt = INT64_MIN;
    h->min_valid = INT64_MIN;
    h->stripes = core_calloc(STRIPES, sizeof(*h->stripes));
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_init(&h->stripes[i].mtx, NULL);
    h->refs = core_calloc(REF_PAGES, sizeof(*h->refs));
    pthread_mutex_init(&h->intern_mtx, NULL);
    pthread_mutex_init(&h->file_mtx, NULL);
    pthread_rwlock_init(&h->post_lock, NULL);
    pthread_rwlock_init(&h->gc, NULL);
    pthread_mutex_init(&h->stone_mtx, NULL);
    pthread_mutex_init(&h->slab_mtx, NULL);
    tsdb_tombstones_init(&h->stones);
    if (o->chunks_dir) {
        h->chunks_dir = core_strdup(o->chunks_dir);
        if (mkdir(h->chunks_dir, 0777) < 0 && errno != EEXIST) {
            core_err_set(err, "create %s: %s", h->chunks_dir, strerror(errno));
            tsdb_head_free(h);
            return NULL;
        }
        uint64_t last = 0;
        if (tsdb_segfiles_last_seq(h->chunks_dir, &last, err) < 0) {
            tsdb_head_free(h);
            return NULL;
        }
        h->first_seq = last + 1;
        h->buf = core_malloc(FILE_BUF);
        h->spill = tsdb_spill_new(h->chunks_dir);
    }
    return h;
}

void tsdb_head_free(tsdb_head *h)
{
    if (!h) return;
    core_err ferr = {{0}};
    pthread_mutex_lock(&h->file_mtx);
    if (hfile_flush(h, &ferr) < 0) core_error("tsdb", "Cannot write head chunks", "err", ferr.msg);
    for (size_t i = 0; i < h->nfiles; i++) {
        munmap((void *)h->files[i].map, h->file_size);
        fsync(h->files[i].fd);
        close(h->files[i].fd);
    }
    pthread_mutex_unlock(&h->file_mtx);
    free(h->files);
    tsdb_spill_free(h->spill); /* first: no series needs to give its records back */
    h->spill = NULL;
    /* Aliases (WAL replay) first, while every series is still alive. */
    for (uint64_t p = 0; p < REF_PAGES && h->refs; p++)
        for (uint64_t i = 0; h->refs[p] && i < REF_PAGE; i++)
            if (h->refs[p][i] && h->refs[p][i]->ref != p * REF_PAGE + i) h->refs[p][i] = NULL;
    for (uint64_t p = 0; p < REF_PAGES && h->refs; p++) {
        if (!h->refs[p]) continue;
        for (uint64_t i = 0; i < REF_PAGE; i++) {
            tsdb_hseries *s = h->refs[p][i];
            if (s) series_free(h, s);
        }
        free(h->refs[p]);
    }
    free(h->refs);
    for (size_t i = 0; h->stripes && i < STRIPES; i++) {
        free(h->stripes[i].buckets);
        pthread_mutex_destroy(&h->stripes[i].mtx);
    }
    free(h->stripes);
    for (size_t i = 0; i < h->pcap; i++)
        for (pentry *e = h->ptab[i], *next; e; e = next) {
            next = e->next;
            free(e->refs.refs);
            free(e);
        }
    free(h->ptab);
    for (size_t i = 0; i < TSDB_HEAD_NAMES; i++)
        for (nentry *e = h->ntab[i], *next; e; e = next) {
            next = e->next;
            free(e->values);
            free(e);
        }
    free(h->all.refs);
    for (size_t i = 0; i < h->icap; i++)
        for (istr *e = h->itab[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    free(h->itab);
    pthread_mutex_destroy(&h->intern_mtx);
    pthread_mutex_destroy(&h->file_mtx);
    pthread_rwlock_destroy(&h->post_lock);
    pthread_rwlock_destroy(&h->gc);
    tsdb_tombstones_destroy(&h->stones);
    pthread_mutex_destroy(&h->stone_mtx);
    for (size_t i = 0; i < h->slab_nregions; i++)
        munmap(h->slab_regions[i], SLAB_REGION);
    free(h->slab_regions);
    pthread_mutex_destroy(&h->slab_mtx);
    free(h->chunks_dir);
    free(h->buf);
    free(h);
}

void tsdb_head_read_lock(tsdb_head *h)
{
    pthread_rwlock_rdlock(&h->gc);
}

void tsdb_head_read_unlock(tsdb_head *h)
{
    pthread_rwlock_unlock(&h->gc);
}

/* ---- Reading */

/* Copies the chunks of s overlapping [mint, maxt] into the arena (a snapshot
 * that later appends and truncations cannot disturb); returns their count.
 * With `borrow` (a select, under the head's read lock), chunks already in
 * their file are not copied but read from its mapping. */
static size_t copy_chunks(tsdb_head *h, tsdb_hseries *s, int64_t mint, int64_t maxt,
                          core_arena *arena, bool borrow, tsdb_chunk_meta **metas,
                          const uint8_t ***bytes, uint32_t **lens)
{
    slock(s);
    size_t total = 1, n = 0; /* the open chunk, and the cut ones that overlap */
    for (uint32_t c = 0; c < s->nmm; c++)
        total += s->mm[c].maxt >= mint && s->mm[c].mint <= maxt;
    tsdb_chunk_meta *cm = core_arena_calloc(arena, total, sizeof(*cm));
    const uint8_t **b = core_arena_calloc(arena, total, sizeof(*b));
    uint32_t *l = core_arena_calloc(arena, total, sizeof(*l));
    for (uint32_t c = 0; c < s->nmm; c++) {
        const tsdb_hchunk *hc = &s->mm[c];
        if (hc->maxt < mint || hc->mint > maxt) continue;
        size_t len = 0;
        const uint8_t *data;
        if (!h->chunks_dir) {
            const uint8_t *mem = (const uint8_t *)(uintptr_t)hc->ref;
            uint32_t l32;
            memcpy(&l32, mem, sizeof l32);
            uint8_t *copy = core_arena_alloc(arena, l32);
            memcpy(copy, mem + sizeof l32, l32);
            data = copy;
            len = l32;
        } else {
            data = hfile_read(h, hc->ref, &len, arena, borrow);
        }
        if (!data) continue;
        cm[n] = (tsdb_chunk_meta){.mint = hc->mint, .maxt = hc->maxt};
        b[n] = data;
        l[n++] = (uint32_t)len;
    }
    if (s->nsamples && s->maxt >= mint && s->open_mint <= maxt) {
        size_t len = open_len(s);
        uint8_t *copy = core_arena_alloc(arena, len);
        core_err e = {{0}};
        if (open_copy(h, s, copy, NULL, true, &e) == 0) {
            cm[n] = (tsdb_chunk_meta){.mint = s->open_mint, .maxt = s->maxt};
            b[n] = copy;
            l[n++] = (uint32_t)len;
        } else {
            core_error("tsdb", "Cannot read the open chunk of a series", "err", e.msg);
        }
    }
    sunlock(s);
    *metas = cm;
    *bytes = b;
    *lens = l;
    return n;
}

/* The refs of the series matching every matcher, as the block querier
 * computes them (see querier.c); caller holds post_lock shared. */
static void head_refs(tsdb_head *h, const tsdb_matcher *m, size_t nm, tsdb_refset *out)
{
    bool have = false;
    tsdb_refset tmp = {0};
    const char *empty = "";
    for (size_t pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < nm; i++) {
            bool matches_empty = tsdb_matcher_matches(&m[i], tsdb_str_c(empty));
            if (matches_empty != (pass == 1)) continue;
            if (pass == 1 && !out->n) break;
            tmp.n = 0;
            tsdb_refset *dst = pass == 0 && !have ? out : &tmp;
            /* pass 0: series whose value is accepted; pass 1: rejected. */
            const char *name = interned(h, m[i].name.p, m[i].name.len);
            nentry *ne = name ? nentry_find(h, name) : NULL;
            for (uint32_t v = 0; ne && v < ne->n; v++) {
                const char *val = ne->values[v];
                if (tsdb_matcher_matches(&m[i], tsdb_str_c(val)) != (pass == 0)) continue;
                pentry *pe = pentry_find(h, name, val);
                for (uint32_t k = 0; pe && k < pe->refs.n; k++)
                    tsdb_refset_push(dst, pe->refs.refs[k]);
            }
            tsdb_refset_normalize(dst);
            if (pass == 0) {
                if (have) tsdb_refset_merge(out, &tmp, true);
                have = true;
            } else {
                tsdb_refset_merge(out, &tmp, false);
            }
        }
        if (pass == 0 && !have)
            for (uint32_t k = 0; k < h->all.n; k++)
                tsdb_refset_push(out, h->all.refs[k]);
    }
    free(tmp.v);
}

int tsdb_head_select(tsdb_head *h, const tsdb_matcher *m, size_t nm, int64_t mint, int64_t maxt,
                     core_arena *arena, tsdb_head_found **out, size_t *nout, core_err *err)
{
    (void)err;
    tsdb_refset refs = {0};
    pthread_rwlock_rdlock(&h->post_lock);
    head_refs(h, m, nm, &refs);
    pthread_rwlock_unlock(&h->post_lock);
    tsdb_head_found *f = core_arena_calloc(arena, refs.n ? refs.n : 1, sizeof(*f));
    size_t n = 0;
    for (size_t i = 0; i < refs.n; i++) {
        tsdb_hseries *s = tsdb_head_series(h, refs.v[i]);
        if (!s || s->ref != refs.v[i]) continue;
        tsdb_chunk_meta *cm;
        const uint8_t **bytes;
        uint32_t *lens;
        size_t k = copy_chunks(h, s, mint, maxt, arena, true, &cm, &bytes, &lens);
        if (!k) continue;
        f[n++] = (tsdb_head_found){
            .labels = tsdb_hs_labels(s),
            .part = {.chunks = cm,
                     .nchunks = k,
                     .bytes = bytes,
                     .lens = lens,
                     .stone = tsdb_head_stone_copy(h, s->ref, arena)},
        };
    }
    free(refs.v);
    *out = f;
    *nout = n;
    return 0;
}

/* ---- Truncation */

void tsdb_head_truncate(tsdb_head *h, int64_t mint)
{
    pthread_rwlock_wrlock(&h->gc);
    if (mint > h->min_valid) __atomic_store_n(&h->min_valid, mint, __ATOMIC_RELAXED);
    uint64_t keep_seq = UINT64_MAX;
    int64_t newmin = INT64_MAX;
    uint64_t top = __atomic_load_n(&h->next_ref, __ATOMIC_RELAXED);
    for (uint64_t ref = 1; ref < top; ref++) {
        tsdb_hseries *s = tsdb_head_series(h, ref);
        if (!s) continue;
        if (s->ref != ref) { /* an alias from WAL replay: drop it */
            set_ref(h, ref, NULL);
            continue;
        }
        uint32_t k = 0;
        for (uint32_t c = 0; c < s->nmm; c++) {
            if (s->mm[c].maxt < mint) {
                free_mem_chunks(h, &s->mm[c], 1);
                continue;
            }
            s->mm[k++] = s->mm[c];
        }
        if (k < s->nmm) {
            s->nmm = k;
            if (k) {
                s->mm = core_reallocarray(s->mm, k, sizeof(*s->mm));
            } else {
                free(s->mm);
                s->mm = NULL;
            }
        }
        for (uint32_t c = 0; h->chunks_dir && c < s->nmm; c++)
            if (s->mm[c].ref >> 32 < keep_seq) keep_seq = s->mm[c].ref >> 32;
        bool open = s->nsamples > 0;
        if (!s->nmm && (!open || s->maxt < mint)) {
            /* No data left in the head: the series goes (upstream's gc). */
            pthread_mutex_lock(&h->stripes[s->hash % STRIPES].mtx);
            stripe_remove(h, s);
            pthread_mutex_unlock(&h->stripes[s->hash % STRIPES].mtx);
            pthread_rwlock_wrlock(&h->post_lock);
            for (size_t i = 0; i < tsdb_hs_labels(s)->len; i++)
                postings_del(h, tsdb_hs_labels(s)->v[i].name, tsdb_hs_labels(s)->v[i].value,
                             s->ref);
            plist_del(&h->all, s->ref);
            pthread_rwlock_unlock(&h->post_lock);
            set_ref(h, ref, NULL);
            series_free(h, s);
            __atomic_fetch_sub(&h->nseries, 1, __ATOMIC_RELAXED);
            __atomic_fetch_add(&h->series_removed, 1, __ATOMIC_RELAXED);
            continue;
        }
        int64_t smin = s->nmm ? s->mm[0].mint : s->open_mint;
        if (smin < newmin) newmin = smin;
    }
    if (h->chunks_dir) hfile_drop_before(h, keep_seq);
    h->mint = newmin < mint ? mint : newmin;
    if (newmin == INT64_MAX) h->mint = INT64_MAX;
    pthread_rwlock_unlock(&h->gc);
}

/* ---- Walking every series (compaction, checkpoints, stats) */

void tsdb_head_each(tsdb_head *h, void (*fn)(void *ctx, tsdb_hseries *s), void *ctx)
{
    uint64_t top = __atomic_load_n(&h->next_ref, __ATOMIC_RELAXED);
    for (uint64_t ref = 1; ref < top; ref++) {
        tsdb_hseries *s = tsdb_head_series(h, ref);
        if (s && s->ref == ref) fn(ctx, s);
    }
}

size_t tsdb_head_series_chunks(tsdb_head *h, tsdb_hseries *s, int64_t mint, int64_t maxt,
                               core_arena *arena, tsdb_chunk_meta **metas, const uint8_t ***bytes,
                               uint32_t **lens)
{
    return copy_chunks(h, s, mint, maxt, arena, false, metas, bytes, lens);
}

int tsdb_head_flush(tsdb_head *h, core_err *err)
{
    pthread_mutex_lock(&h->file_mtx);
    int rc = hfile_flush(h, err);
    pthread_mutex_unlock(&h->file_mtx);
    return rc;
}

tsdb_head_stats tsdb_head_get_stats(tsdb_head *h)
{
    return (tsdb_head_stats){
        .series = __atomic_load_n(&h->nseries, __ATOMIC_RELAXED),
        .series_created = __atomic_load_n(&h->series_created, __ATOMIC_RELAXED),
        .series_removed = __atomic_load_n(&h->series_removed, __ATOMIC_RELAXED),
        .chunks_cut = __atomic_load_n(&h->chunks_cut, __ATOMIC_RELAXED),
        .mint = __atomic_load_n(&h->mint, __ATOMIC_RELAXED),
        .maxt = __atomic_load_n(&h->maxt, __ATOMIC_RELAXED),
    };
}

void tsdb_head_set_min_valid(tsdb_head *h, int64_t mint)
{
    __atomic_store_n(&h->min_valid, mint, __ATOMIC_RELAXED);
}

uint64_t tsdb_hseries_ref(const tsdb_hseries *s)
{
    return s->ref;
}

const core_labels *tsdb_hseries_labels(const tsdb_hseries *s)
{
    return tsdb_hs_labels(s);
}

/* ---- Label names and values */

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t tsdb_head_label_names(tsdb_head *h, core_arena *arena, const char ***out)
{
    pthread_rwlock_rdlock(&h->post_lock);
    const char **v = core_arena_calloc(arena, h->nnames ? h->nnames : 1, sizeof(*v));
    size_t n = 0;
    for (size_t i = 0; i < TSDB_HEAD_NAMES; i++)
        for (nentry *e = h->ntab[i]; e; e = e->next)
            v[n++] = core_arena_strdup(arena, e->name);
    pthread_rwlock_unlock(&h->post_lock);
    qsort(v, n, sizeof(*v), cmp_cstr);
    *out = v;
    return n;
}

size_t tsdb_head_label_values(tsdb_head *h, const char *name, core_arena *arena, const char ***out)
{
    const char *iname = interned(h, name, strlen(name));
    pthread_rwlock_rdlock(&h->post_lock);
    nentry *ne = iname ? nentry_find(h, iname) : NULL;
    size_t n = ne ? ne->n : 0;
    const char **v = core_arena_calloc(arena, n ? n : 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = core_arena_strdup(arena, ne->values[i]);
    pthread_rwlock_unlock(&h->post_lock);
    qsort(v, n, sizeof(*v), cmp_cstr);
    *out = v;
    return n;
}

/* ---- Deletions (tombstones kept in memory and in the WAL) */

void tsdb_head_add_stone(tsdb_head *h, uint64_t ref, int64_t mint, int64_t maxt)
{
    pthread_mutex_lock(&h->stone_mtx);
    tsdb_tombstones_add(&h->stones, ref, mint, maxt);
    __atomic_store_n(&h->any_stones, true, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&h->stone_mtx);
}

const tsdb_stone *tsdb_head_stone_copy(tsdb_head *h, uint64_t ref, core_arena *arena)
{
    tsdb_stone *out = NULL;
    if (!__atomic_load_n(&h->any_stones, __ATOMIC_ACQUIRE)) return NULL;
    pthread_mutex_lock(&h->stone_mtx);
    const tsdb_stone *st = h->stones.n ? tsdb_tombstones_get(&h->stones, ref) : NULL;
    if (st && st->n) {
        out = core_arena_calloc(arena, 1, sizeof(*out));
        out->ref = ref;
        out->iv = core_arena_calloc(arena, st->n, sizeof(*out->iv));
        memcpy(out->iv, st->iv, st->n * sizeof(*st->iv));
        out->n = out->cap = st->n;
    }
    pthread_mutex_unlock(&h->stone_mtx);
    return out;
}

uint64_t tsdb_head_stones_total(tsdb_head *h)
{
    pthread_mutex_lock(&h->stone_mtx);
    uint64_t n = tsdb_tombstones_total(&h->stones);
    pthread_mutex_unlock(&h->stone_mtx);
    return n;
}

void tsdb_head_refs_matching(tsdb_head *h, const tsdb_matcher *m, size_t nm, tsdb_refset *out)
{
    pthread_rwlock_rdlock(&h->post_lock);
    head_refs(h, m, nm, out);
    pthread_rwlock_unlock(&h->post_lock);
}

/* ---- Cardinality (upstream's MemPostings.Stats) */

static int cmp_stat(const void *a, const void *b)
{
    const tsdb_stat *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Keeps the top `limit` of a list, sorted by count (descending), then name. */
static size_t top(tsdb_stat *v, size_t n, size_t limit)
{
    if (n) qsort(v, n, sizeof(*v), cmp_stat);
    return n < limit ? n : limit;
}

void tsdb_head_cardinality(tsdb_head *h, const char *name_label, size_t limit, core_arena *arena,
                           tsdb_cardinality *out)
{
    memset(out, 0, sizeof(*out));
    pthread_rwlock_rdlock(&h->post_lock);
    size_t cap_pairs = h->pcount ? h->pcount : 1, cap_names = h->nnames ? h->nnames : 1;
    tsdb_stat *metrics = core_arena_calloc(arena, cap_pairs, sizeof(*metrics));
    tsdb_stat *pairs = core_arena_calloc(arena, cap_pairs, sizeof(*pairs));
    tsdb_stat *values = core_arena_calloc(arena, cap_names, sizeof(*values));
    tsdb_stat *memory = core_arena_calloc(arena, cap_names, sizeof(*memory));
    size_t nm = 0, np = 0, nn = 0;
    for (size_t b = 0; b < TSDB_HEAD_NAMES; b++)
        for (nentry *ne = h->ntab[b]; ne; ne = ne->next) {
            if (!*ne->name) continue;
            uint64_t size = 0;
            for (uint32_t i = 0; i < ne->n; i++) {
                pentry *pe = pentry_find(h, ne->name, ne->values[i]);
                uint64_t cnt = pe ? pe->refs.n : 0;
                if (!strcmp(ne->name, name_label))
                    metrics[nm++] = (tsdb_stat){core_arena_strdup(arena, ne->values[i]), cnt};
                pairs[np++] =
                    (tsdb_stat){core_arena_sprintf(arena, "%s=%s", ne->name, ne->values[i]), cnt};
                size += strlen(ne->values[i]) * cnt;
            }
            values[nn] = (tsdb_stat){core_arena_strdup(arena, ne->name), ne->n};
            memory[nn++] = (tsdb_stat){core_arena_strdup(arena, ne->name), size};
        }
    out->num_series = h->all.n;
    out->num_label_pairs = h->pcount;
    pthread_rwlock_unlock(&h->post_lock);
    out->series_by_metric = metrics;
    out->n_series_by_metric = top(metrics, nm, limit);
    out->values_by_label = values;
    out->n_values_by_label = top(values, nn, limit);
    out->memory_by_label = memory;
    out->n_memory_by_label = top(memory, nn, limit);
    out->series_by_pair = pairs;
    out->n_series_by_pair = top(pairs, np, limit);
}
