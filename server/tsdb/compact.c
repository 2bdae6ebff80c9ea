/*
 * compact.c - merging blocks into larger ones (upstream tsdb/compact.go's
 * LeveledCompactor: its planner, Compact, and the one-block rewrite that
 * clean-tombstones uses).
 *
 * Planning looks at block metas only and is a pure function, so the unit
 * tests can feed it any layout (see tsdb.h for the rules; they are
 * upstream's, including its quirks: the newest block never takes part in a
 * leveled compaction, so a freshly cut block stays as it is for one block
 * range, which lets users back up new blocks piece by piece).
 *
 * Merging streams: each input block's series are read in index order (which
 * is label order), a k-way merge over the blocks finds the series with the
 * smallest labels, and that series' chunks from every block holding it go to
 * the block writer.  Memory is one series' chunks at a time plus the symbol
 * table (the union of the blocks' tables, which the index needs first).
 * Chunks are copied byte for byte unless a tombstone covers part of one
 * (re-encoded without the deleted samples) or two chunks overlap in time,
 * which only happens when the blocks themselves overlap (a backfill dropped
 * next to live data): those are decoded, merged by time and cut again into
 * chunks of at most 120 samples.
 */
#define _GNU_SOURCE
#include "tsdb/internal.h"

#include <stdlib.h>
#include <string.h>

#define MERGED_CHUNK_SAMPLES 120

size_t tsdb_compact_ranges(int64_t min_ms, int64_t max_ms, int64_t out[TSDB_COMPACT_MAX_RANGES])
{
    if (min_ms <= 0) min_ms = TSDB_DEFAULT_BLOCK_MS;
    if (max_ms < min_ms) max_ms = min_ms;
    size_t n = 0;
    for (int64_t r = min_ms; n < TSDB_COMPACT_MAX_RANGES && r <= max_ms; r *= 3) {
        out[n++] = r;
        if (r > INT64_MAX / 3) break;
    }
    return n;
}

/* ---- Planning */

typedef struct pmeta {
    const tsdb_block_meta *m;
    size_t i; /* index in the caller's array */
} pmeta;

static int cmp_pmeta(const void *a, const void *b)
{
    const pmeta *x = a, *y = b;
    if (x->m->mint != y->m->mint) return x->m->mint < y->m->mint ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* The first run of blocks that overlap one another (upstream's
 * selectOverlappingDirs). */
static size_t plan_overlapping(const pmeta *v, size_t n, size_t *out)
{
    if (n < 2) return 0;
    size_t k = 0;
    int64_t global_maxt = v[0].m->maxt;
    for (size_t i = 1; i < n; i++) {
        if (v[i].m->mint < global_maxt) {
            if (k == 0) out[k++] = v[i - 1].i;
            out[k++] = v[i].i;
        } else if (k) {
            break;
        }
        if (v[i].m->maxt > global_maxt) global_maxt = v[i].m->maxt;
    }
    return k;
}

/* Start of the aligned range of length tr holding t (floor division). */
static int64_t align_down(int64_t t, int64_t tr)
{
    return t >= 0 ? tr * (t / tr) : tr * ((t - tr + 1) / tr);
}

/* Upstream's selectDirs over splitByRange: v is sorted and does not hold the
 * newest block. */
static size_t plan_levels(const pmeta *v, size_t n, const int64_t *ranges, size_t nranges,
                          size_t *out)
{
    if (nranges < 2 || n < 1) return 0;
    int64_t high = v[n - 1].m->mint;
    for (size_t r = 1; r < nranges; r++) {
        int64_t tr = ranges[r];
        for (size_t i = 0; i < n;) {
            int64_t t0 = align_down(v[i].m->mint, tr);
            if (v[i].m->maxt > t0 + tr) { /* does not fit in an aligned range */
                i++;
                continue;
            }
            size_t start = i;
            while (i < n && v[i].m->maxt <= t0 + tr)
                i++;
            bool failed = false;
            for (size_t j = start; j < i; j++)
                failed |= v[j].m->failed;
            if (failed || i - start < 2) continue;
            int64_t mint = v[start].m->mint, maxt = v[i - 1].m->maxt;
            if (maxt - mint == tr || maxt <= high) {
                for (size_t j = start; j < i; j++)
                    out[j - start] = v[j].i;
                return i - start;
            }
        }
    }
    return 0;
}

/* A large enough block with many tombstones, to be rewritten without them. */
static size_t plan_tombstones(const pmeta *v, size_t n, const int64_t *ranges, size_t nranges,
                              size_t *out)
{
    if (!nranges) return 0;
    for (size_t i = n; i-- > 0;) {
        const tsdb_block_stats *st = &v[i].m->stats;
        if (v[i].m->maxt - v[i].m->mint < ranges[nranges / 2]) {
            if (st->num_tombstones > 0 && st->num_tombstones >= st->num_series) {
                out[0] = v[i].i;
                return 1;
            }
            return 0;
        }
        if ((double)st->num_tombstones / (double)(st->num_series + 1) > 0.05) {
            out[0] = v[i].i;
            return 1;
        }
    }
    return 0;
}

size_t tsdb_compact_plan(const tsdb_block_meta *const *metas, size_t n, const int64_t *ranges,
                         size_t nranges, size_t *out)
{
    if (n == 0) return 0;
    pmeta *v = core_calloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = (pmeta){metas[i], i};
    qsort(v, n, sizeof(*v), cmp_pmeta);
    size_t k = plan_overlapping(v, n, out);
    if (!k) k = plan_levels(v, n - 1, ranges, nranges, out);
    if (!k) k = plan_tombstones(v, n - 1, ranges, nranges, out);
    free(v);
    return k;
}

/* ---- Merging */

typedef struct cursor {
    const tsdb_block *b;
    size_t order; /* position among the inputs: the earlier wins a tie */
    tsdb_postings all;
    uint32_t k;
    uint32_t ref;
    tsdb_index_series s; /* the series at k, while k < all.n */
} cursor;

static int cursor_load(cursor *c, core_err *err)
{
    if (c->k >= c->all.n) return 0;
    c->ref = tsdb_postings_at(&c->all, c->k);
    return tsdb_index_series_read(&c->b->index, c->ref, &c->s, err);
}

/* Label order, as core_labels_compare orders the same labels. */
static int cmp_series_labels(const tsdb_index_series *a, const tsdb_index_series *b)
{
    size_t n = a->nlabels < b->nlabels ? a->nlabels : b->nlabels;
    for (size_t i = 0; i < n; i++) {
        int c = tsdb_str_cmp(a->labels[i].name, b->labels[i].name);
        if (!c) c = tsdb_str_cmp(a->labels[i].value, b->labels[i].value);
        if (c) return c;
    }
    return a->nlabels < b->nlabels ? -1 : a->nlabels > b->nlabels;
}

static int cmp_tsdb_str(const void *a, const void *b)
{
    return tsdb_str_cmp(*(const tsdb_str *)a, *(const tsdb_str *)b);
}

/* Every block's symbols, sorted and unique (borrowed from the readers). */
static int union_symbols(const tsdb_block *const *b, size_t n, tsdb_str **out, size_t *nout,
                         core_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += b[i]->index.nsym;
    tsdb_str *v = core_calloc(total ? total : 1, sizeof(*v));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (uint32_t s = 0; s < b[i]->index.nsym; s++)
            if (tsdb_index_symbol(&b[i]->index, s, &v[k++], err) < 0) {
                free(v);
                return -1;
            }
    qsort(v, k, sizeof(*v), cmp_tsdb_str);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || tsdb_str_cmp(v[i], v[u - 1]) != 0) v[u++] = v[i];
    *out = v;
    *nout = u;
    return 0;
}

/* ---- Merging chunks of one series (also the querier's, for overlapping
 * blocks) */

typedef struct sample {
    int64_t t;
    uint64_t v;
    size_t order;
} sample;

static int cmp_piece(const void *a, const void *b)
{
    const tsdb_piece *x = a, *y = b;
    if (x->meta.mint != y->meta.mint) return x->meta.mint < y->meta.mint ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_sample(const void *a, const void *b)
{
    const sample *x = a, *y = b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

void tsdb_chunkvec_push(tsdb_chunkvec *o, core_arena *a, tsdb_chunk_meta m, const uint8_t *p,
                        uint32_t len)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        tsdb_chunk_meta *metas = core_arena_calloc(a, cap, sizeof(*metas));
        const uint8_t **bytes = core_arena_calloc(a, cap, sizeof(*bytes));
        uint32_t *lens = core_arena_calloc(a, cap, sizeof(*lens));
        if (o->n) {
            memcpy(metas, o->metas, o->n * sizeof(*metas));
            memcpy(bytes, o->bytes, o->n * sizeof(*bytes));
            memcpy(lens, o->lens, o->n * sizeof(*lens));
        }
        o->metas = metas;
        o->bytes = bytes;
        o->lens = lens;
        o->cap = cap;
    }
    o->metas[o->n] = m;
    o->bytes[o->n] = p;
    o->lens[o->n++] = len;
}

/* Overlapping pieces p[0..n) merged by time into chunks of at most 120
 * samples; of equal timestamps the lowest order's sample is kept. */
static int merge_overlap(const tsdb_piece *p, size_t n, core_arena *a, tsdb_chunkvec *o,
                         core_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += (size_t)p[i].data[0] << 8 | p[i].data[1];
    sample *s = core_calloc(total ? total : 1, sizeof(*s));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        tsdb_xor_iter it;
        if (tsdb_xor_iter_init(&it, p[i].data, p[i].len, err) < 0) goto fail;
        while (tsdb_xor_iter_next(&it) && k < total)
            s[k++] = (sample){it.t, it.v, p[i].order};
        if (tsdb_xor_iter_err(&it, err) < 0) goto fail;
    }
    qsort(s, k, sizeof(*s), cmp_sample);
    tsdb_xor x;
    tsdb_xor_init(&x);
    tsdb_chunk_meta m = {0};
    size_t in_chunk = 0;
    for (size_t i = 0; i < k; i++) {
        if (i && s[i].t == s[i - 1].t) continue;
        if (in_chunk == 0) m.mint = s[i].t;
        tsdb_xor_append_bits(&x, s[i].t, s[i].v, NULL);
        m.maxt = s[i].t;
        bool last = i + 1 == k;
        if (++in_chunk == MERGED_CHUNK_SAMPLES || last) {
            size_t len;
            const uint8_t *b = tsdb_xor_bytes(&x, &len);
            uint8_t *copy = core_arena_alloc(a, len);
            memcpy(copy, b, len);
            tsdb_chunkvec_push(o, a, m, copy, (uint32_t)len);
            tsdb_xor_destroy(&x);
            tsdb_xor_init(&x);
            in_chunk = 0;
        }
    }
    tsdb_xor_destroy(&x);
    free(s);
    return 0;
fail:
    free(s);
    return -1;
}

int tsdb_pieces_merge(tsdb_piece *p, size_t n, core_arena *a, tsdb_chunkvec *o, core_err *err)
{
    qsort(p, n, sizeof(*p), cmp_piece);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        int64_t maxt = p[i].meta.maxt;
        while (j < n && p[j].meta.mint <= maxt) {
            if (p[j].meta.maxt > maxt) maxt = p[j].meta.maxt;
            j++;
        }
        if (j == i + 1)
            tsdb_chunkvec_push(o, a, p[i].meta, p[i].data, p[i].len);
        else if (merge_overlap(p + i, j - i, a, o, err) < 0)
            return -1;
        i = j;
    }
    return 0;
}

/* The chunks of the series under cursors c[0..n) (equal labels), deleted
 * samples left out, overlaps merged. */
static int series_chunks(cursor *const *c, size_t n, core_arena *a, tsdb_chunkvec *o, core_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += c[i]->s.nchunks;
    tsdb_piece *p = core_arena_calloc(a, total ? total : 1, sizeof(*p));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const tsdb_block *b = c[i]->b;
        const tsdb_stone *st = tsdb_tombstones_get(&b->tombstones, c[i]->ref);
        for (size_t j = 0; j < c[i]->s.nchunks; j++) {
            tsdb_chunk ch;
            if (tsdb_chunk_reader_chunk(&b->chunks, c[i]->s.chunks[j].ref, &ch, err) < 0) return -1;
            if (ch.enc != TSDB_ENC_XOR)
                return core_err_set(err,
                                    "block %s: series %u has a chunk of encoding %u, "
                                    "which this server cannot compact",
                                    b->dir, c[i]->ref, ch.enc);
            if (ch.len < 2) return core_err_set(err, "block %s: empty chunk", b->dir);
            tsdb_piece *q = &p[k];
            q->meta = c[i]->s.chunks[j];
            q->data = ch.data;
            q->len = (uint32_t)ch.len;
            q->order = c[i]->order;
            if (st && !(q->data = tsdb_trim_chunk(ch.data, (uint32_t)ch.len, INT64_MIN, INT64_MAX,
                                                  st, a, &q->meta, &q->len)))
                continue; /* every sample deleted */
            k++;
        }
    }
    return tsdb_pieces_merge(p, k, a, o, err);
}

static core_labels *labels_copy(const tsdb_index_series *s, core_arena *a)
{
    core_label *pairs = core_arena_calloc(a, s->nlabels + 1, sizeof(*pairs));
    for (size_t l = 0; l < s->nlabels; l++)
        pairs[l] =
            (core_label){core_arena_strndup(a, s->labels[l].name.p, s->labels[l].name.len),
                         core_arena_strndup(a, s->labels[l].value.p, s->labels[l].value.len)};
    return core_labels_new_in(a, pairs, s->nlabels);
}

static int cmp_ulid(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(tsdb_ulid));
}

/* meta.json's lineage of the merged block: sources united, parents listed,
 * level one above the highest. */
static void set_lineage(tsdb_block_writer *w, const tsdb_block *const *b, size_t n)
{
    size_t ns = 0;
    int64_t level = 0;
    for (size_t i = 0; i < n; i++) {
        ns += b[i]->meta.nsources;
        if (b[i]->meta.level > level) level = b[i]->meta.level;
    }
    tsdb_ulid *src = core_calloc(ns ? ns : 1, sizeof(*src));
    tsdb_block_desc *par = core_calloc(n, sizeof(*par));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(src + k, b[i]->meta.sources, b[i]->meta.nsources * sizeof(*src));
        k += b[i]->meta.nsources;
        par[i] = (tsdb_block_desc){b[i]->meta.ulid, b[i]->meta.mint, b[i]->meta.maxt};
    }
    qsort(src, k, sizeof(*src), cmp_ulid);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || memcmp(&src[i], &src[u - 1], sizeof(*src)) != 0) src[u++] = src[i];
    tsdb_block_writer_lineage(w, level + 1, src, u, par, n);
    free(src);
    free(par);
}

int tsdb_compact_blocks(const tsdb_block *const *b, size_t n, bool rewrite, const char *parent,
                        tsdb_ulid *ulid, core_err *err)
{
    memset(ulid, 0, sizeof(*ulid));
    if (n == 0) return 0;
    int64_t mint = b[0]->meta.mint, maxt = b[0]->meta.maxt;
    for (size_t i = 1; i < n; i++) {
        if (b[i]->meta.mint < mint) mint = b[i]->meta.mint;
        if (b[i]->meta.maxt > maxt) maxt = b[i]->meta.maxt;
    }
    tsdb_str *sym = NULL;
    size_t nsym = 0;
    if (union_symbols(b, n, &sym, &nsym, err) < 0) return -1;
    tsdb_block_writer *w = tsdb_block_writer_new(parent, mint, maxt, sym, nsym, err);
    free(sym);
    if (!w) return -1;
    if (rewrite) {
        tsdb_block_desc par = {b[0]->meta.ulid, b[0]->meta.mint, b[0]->meta.maxt};
        tsdb_block_writer_lineage(w, 1, NULL, 0, &par, 1);
    } else {
        set_lineage(w, b, n);
    }
    cursor *cur = core_calloc(n, sizeof(*cur));
    cursor **same = core_calloc(n, sizeof(*same));
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        cur[i].b = b[i];
        cur[i].order = i;
        rc = tsdb_index_postings(&b[i]->index, tsdb_str_c(""), tsdb_str_c(""), &cur[i].all, err);
        if (rc == 0) rc = cursor_load(&cur[i], err);
    }
    core_arena arena;
    core_arena_init(&arena, 0);
    while (rc == 0) {
        cursor *min = NULL;
        for (size_t i = 0; i < n; i++)
            if (cur[i].k < cur[i].all.n && (!min || cmp_series_labels(&cur[i].s, &min->s) < 0))
                min = &cur[i];
        if (!min) break;
        size_t ns = 0;
        for (size_t i = 0; i < n; i++)
            if (cur[i].k < cur[i].all.n && cmp_series_labels(&cur[i].s, &min->s) == 0)
                same[ns++] = &cur[i];
        core_arena_reset(&arena);
        tsdb_chunkvec o = {0};
        rc = series_chunks(same, ns, &arena, &o, err);
        if (rc == 0 && o.n)
            rc = tsdb_block_writer_add(w, labels_copy(&min->s, &arena), o.metas, o.bytes, o.lens,
                                       o.n, err);
        for (size_t i = 0; rc == 0 && i < ns; i++) {
            same[i]->k++;
            rc = cursor_load(same[i], err);
        }
    }
    core_arena_destroy(&arena);
    for (size_t i = 0; i < n; i++)
        tsdb_index_series_destroy(&cur[i].s);
    free(cur);
    free(same);
    if (rc < 0) {
        tsdb_block_writer_abort(w);
        return -1;
    }
    return tsdb_block_writer_commit(w, ulid, err);
}
