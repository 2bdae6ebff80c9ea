/*
 * querier.c - selecting series by matchers over blocks and iterating their
 * samples, as upstream's blockQuerier and its merge of block queriers.
 *
 * Per block, matchers become sets of series refs (sorted u32 arrays): each
 * positive matcher contributes the union of the postings of the values it
 * accepts (one list for =), the intersection of them is the candidate set
 * (every series when there is none), and each matcher that accepts "" takes
 * away the postings of the values it rejects.  The survivors are read from
 * the index, their chunks trimmed to [mint, maxt]; then the series of all
 * blocks are sorted by labels and those with equal labels merged.  A block's
 * series come sorted (the index keeps them in label order), so only the
 * head's are sorted (comparing interned pointers before strings) and the
 * runs merged; the merge gives equal label sets one pointer, so grouping
 * the parts of a series compares pointers.
 *
 * Iteration decodes through xor_iter.h's inline fast path, and skips the
 * tombstone test for parts without tombstones; a database's block chunks are
 * read without checking their CRC, as upstream's queries read them
 * (verification checks it; so do reads of blocks not opened by a
 * writable database: the tools', which report damaged chunks).
 */
#include "tsdb/internal.h"
#include "tsdb/xor_iter.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- Matchers */

bool tsdb_matcher_matches(const tsdb_matcher *m, tsdb_str v)
{
    switch (m->type) {
    case TSDB_MATCH_EQ: return tsdb_str_cmp(m->value, v) == 0;
    case TSDB_MATCH_NEQ: return tsdb_str_cmp(m->value, v) != 0;
    case TSDB_MATCH_RE: return m->re_match(m->ctx, v);
    case TSDB_MATCH_NRE: return !m->re_match(m->ctx, v);
    }
    return false;
}

/* ---- Opening a data directory */

static int cmp_block(const void *a, const void *b)
{
    const tsdb_block *x = a, *y = b;
    if (x->meta.mint != y->meta.mint) return x->meta.mint < y->meta.mint ? -1 : 1;
    return strcmp(x->dir, y->dir);
}

int tsdb_blocks_open(const char *dir, bool skip_bad, tsdb_block **out, size_t *nout, core_err *err)
{
    *out = NULL;
    *nout = 0;
    DIR *d = opendir(dir);
    if (!d) return core_err_set(err, "open data directory %s: %s", dir, strerror(errno));
    char **paths = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    core_sb sb = CORE_SB_INIT;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        core_sb_reset(&sb);
        core_sb_addf(&sb, "%s/%s/%s", dir, de->d_name, TSDB_META_FILENAME);
        struct stat st;
        if (stat(sb.buf, &st) < 0 || !S_ISREG(st.st_mode)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            paths = core_reallocarray(paths, cap, sizeof(*paths));
        }
        core_sb_reset(&sb);
        core_sb_addf(&sb, "%s/%s", dir, de->d_name);
        paths[n++] = core_strdup(sb.buf);
    }
    closedir(d);
    core_sb_destroy(&sb);
    tsdb_block *blocks = core_calloc(n ? n : 1, sizeof(*blocks));
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        core_err e = {{0}};
        if (rc == 0 && tsdb_block_open(&blocks[k], paths[i], &e) < 0) {
            if (skip_bad) {
                core_error("tsdb", "Block is corrupt, left out of queries", "block", paths[i],
                           "err", e.msg);
            } else {
                core_err_set(err, "%s", e.msg);
                rc = -1;
            }
        } else if (rc == 0) {
            k++;
        }
        free(paths[i]);
    }
    free(paths);
    if (rc < 0) {
        for (size_t i = 0; i < k; i++)
            tsdb_block_close(&blocks[i]);
        free(blocks);
        return -1;
    }
    qsort(blocks, k, sizeof(*blocks), cmp_block);
    *out = blocks;
    *nout = k;
    return 0;
}

int tsdb_querier_open(tsdb_querier *q, const char *dir, core_err *err)
{
    memset(q, 0, sizeof(*q));
    return tsdb_blocks_open(dir, false, &q->blocks, &q->n, err);
}

void tsdb_querier_close(tsdb_querier *q)
{
    if (q->db) {
        tsdb_db_querier_release(q->db);
        memset(q, 0, sizeof(*q));
        return;
    }
    for (size_t i = 0; i < q->n; i++)
        tsdb_block_close(&q->blocks[i]);
    free(q->blocks);
    memset(q, 0, sizeof(*q));
}

/* ---- Postings to ref sets */

static int add_postings(tsdb_refset *s, const tsdb_index_reader *ix, uint64_t off, core_err *err)
{
    tsdb_postings p;
    if (tsdb_index_postings_at(ix, off, &p, err) < 0) return -1;
    for (uint32_t k = 0; k < p.n; k++)
        tsdb_refset_push(s, tsdb_postings_at(&p, k));
    return 0;
}

/* The series whose value of m's label satisfies m (accept) or fails it
 * (!accept), among those that have the label. */
static int matching_values(const tsdb_index_reader *ix, const tsdb_matcher *m, bool accept,
                           tsdb_refset *out, core_err *err)
{
    if (accept && m->type == TSDB_MATCH_EQ) {
        tsdb_postings p;
        if (tsdb_index_postings(ix, m->name, m->value, &p, err) < 0) return -1;
        for (uint32_t k = 0; k < p.n; k++)
            tsdb_refset_push(out, tsdb_postings_at(&p, k));
        return 0;
    }
    size_t n;
    const tsdb_index_entry *e = tsdb_index_label_values(ix, m->name, &n);
    for (size_t i = 0; i < n; i++)
        if (tsdb_matcher_matches(m, e[i].value) == accept)
            if (add_postings(out, ix, e[i].off, err) < 0) return -1;
    tsdb_refset_normalize(out);
    return 0;
}

static int block_refs(const tsdb_block *b, const tsdb_matcher *m, size_t nm, tsdb_refset *out,
                      core_err *err)
{
    const tsdb_index_reader *ix = &b->index;
    bool have = false;
    tsdb_refset tmp = {0};
    int rc = 0;
    for (size_t i = 0; i < nm && rc == 0; i++) {
        if (tsdb_matcher_matches(&m[i], tsdb_str_c(""))) continue;
        tmp.n = 0;
        rc = matching_values(ix, &m[i], true, have ? &tmp : out, err);
        if (have) tsdb_refset_merge(out, &tmp, true);
        have = true;
    }
    if (rc == 0 && !have) {
        tsdb_postings all;
        rc = tsdb_index_postings(ix, tsdb_str_c(""), tsdb_str_c(""), &all, err);
        for (uint32_t k = 0; rc == 0 && k < all.n; k++)
            tsdb_refset_push(out, tsdb_postings_at(&all, k));
    }
    for (size_t i = 0; i < nm && rc == 0 && out->n; i++) {
        if (!tsdb_matcher_matches(&m[i], tsdb_str_c(""))) continue;
        tmp.n = 0;
        rc = matching_values(ix, &m[i], false, &tmp, err);
        tsdb_refset_merge(out, &tmp, false);
    }
    free(tmp.v);
    return rc;
}

int tsdb_block_refs(const tsdb_block *b, const tsdb_matcher *m, size_t nm, tsdb_refset *out,
                    core_err *err)
{
    return block_refs(b, m, nm, out, err);
}

/* ---- Select */

static bool deleted(const tsdb_stone *st, int64_t mint, int64_t maxt)
{
    for (size_t i = 0; st && i < st->n; i++)
        if (st->iv[i].mint <= mint && maxt <= st->iv[i].maxt) return true;
    return false;
}

typedef struct found {
    core_labels *labels;
    tsdb_qpart part;
    size_t block; /* index in the querier */
} found;

typedef struct found_list {
    found *v;
    size_t n, cap;
} found_list;

static void found_push(found_list *out, found f)
{
    if (out->n == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 64;
        out->v = core_reallocarray(out->v, out->cap, sizeof(*out->v));
    }
    out->v[out->n++] = f;
}

/* The series' labels as a core_labels in the arena, in one piece (the
 * index keeps the pairs sorted by name). */
static core_labels *labels_in(core_arena *arena, const tsdb_index_series *s)
{
    size_t sz = sizeof(core_labels) + s->nlabels * sizeof(core_label);
    for (size_t l = 0; l < s->nlabels; l++)
        sz += s->labels[l].name.len + s->labels[l].value.len + 2;
    core_labels *ls = core_arena_alloc(arena, sz);
    ls->len = s->nlabels;
    char *p = (char *)&ls->v[s->nlabels];
    for (size_t l = 0; l < s->nlabels; l++) {
        const tsdb_str *f[2] = {&s->labels[l].name, &s->labels[l].value};
        for (int k = 0; k < 2; k++) {
            memcpy(p, f[k]->p, f[k]->len);
            p[f[k]->len] = '\0';
            if (k == 0)
                ls->v[l].name = p;
            else
                ls->v[l].value = p;
            p += f[k]->len + 1;
        }
    }
    return ls;
}

static int block_select(const tsdb_querier *q, size_t bi, const tsdb_matcher *m, size_t nm,
                        int64_t mint, int64_t maxt, core_arena *arena, found_list *out,
                        core_err *err)
{
    const tsdb_block *b = &q->blocks[bi];
    if (b->meta.maxt <= mint || b->meta.mint > maxt) return 0;
    tsdb_refset refs = {0};
    tsdb_index_series s = {0};
    int rc = block_refs(b, m, nm, &refs, err);
    for (size_t i = 0; rc == 0 && i < refs.n; i++) {
        if ((rc = tsdb_index_series_read(&b->index, refs.v[i], &s, err)) < 0) break;
        const tsdb_stone *st = tsdb_tombstones_get(&b->tombstones, refs.v[i]);
        size_t keep = 0;
        for (size_t c = 0; c < s.nchunks; c++)
            if (s.chunks[c].maxt >= mint && s.chunks[c].mint <= maxt &&
                !deleted(st, s.chunks[c].mint, s.chunks[c].maxt))
                keep++;
        if (!keep) continue;
        tsdb_chunk_meta *cm = core_arena_calloc(arena, keep, sizeof(*cm));
        keep = 0;
        for (size_t c = 0; c < s.nchunks; c++)
            if (s.chunks[c].maxt >= mint && s.chunks[c].mint <= maxt &&
                !deleted(st, s.chunks[c].mint, s.chunks[c].maxt))
                cm[keep++] = s.chunks[c];
        found_push(out, (found){
                            .labels = labels_in(arena, &s),
                            .part = {.block = b, .chunks = cm, .nchunks = keep, .stone = st},
                            .block = bi,
                        });
    }
    tsdb_index_series_destroy(&s);
    free(refs.v);
    return rc;
}

/* The head's series come after every block's (its data is the newest). */
static int head_select(const tsdb_querier *q, const tsdb_matcher *m, size_t nm, int64_t mint,
                       int64_t maxt, core_arena *arena, found_list *out, core_err *err)
{
    tsdb_head_found *hf;
    size_t n;
    if (tsdb_head_select(q->head, m, nm, mint, maxt, arena, &hf, &n, err) < 0) return -1;
    for (size_t i = 0; i < n; i++)
        found_push(
            out, (found){.labels = (core_labels *)hf[i].labels, .part = hf[i].part, .block = q->n});
    return 0;
}

/* Head series: their strings are interned, so equal pointers are equal
 * strings and most pairs are decided without strcmp. */
static int cmp_interned(const void *a, const void *b)
{
    const core_labels *x = ((const found *)a)->labels, *y = ((const found *)b)->labels;
    size_t n = x->len < y->len ? x->len : y->len;
    for (size_t i = 0; i < n; i++) {
        const core_label *p = &x->v[i], *q = &y->v[i];
        int c = p->name == q->name ? 0 : strcmp(p->name, q->name);
        if (c) return c;
        c = p->value == q->value ? 0 : strcmp(p->value, q->value);
        if (c) return c;
    }
    return x->len < y->len ? -1 : x->len > y->len;
}

/* Merges the sorted runs v[a, b) and v[b, c) into out[a, c), the first
 * run's entries first among equals.  Entries of the second run whose labels
 * equal one of the first run's take that entry's labels pointer, so equal
 * label sets end up as one pointer, on adjacent entries (a block's or the
 * head's label sets are distinct). */
static void merge_runs(found *v, size_t a, size_t b, size_t c, found *out)
{
    size_t i = a, j = b, k = a;
    while (i < b && j < c) {
        int d = v[i].labels == v[j].labels ? 0 : core_labels_compare(v[j].labels, v[i].labels);
        if (d == 0 && v[j].labels != v[i].labels) { /* and the entries sharing v[j]'s */
            const core_labels *old = v[j].labels;
            for (size_t x = j; x < c && v[x].labels == old; x++)
                v[x].labels = v[i].labels;
        }
        out[k++] = d < 0 ? v[j++] : v[i++];
    }
    while (i < b)
        out[k++] = v[i++];
    while (j < c)
        out[k++] = v[j++];
}

/* Sorts the found series by labels, then block.  Each block's come in its
 * index's order, which the format keeps sorted by labels; only the head's
 * need sorting; then the runs are merged pairwise. */
static void sort_found(found_list *f, size_t *runs, size_t nruns)
{
    size_t hs = runs[nruns - 1];
    if (f->n - hs > 1) qsort(f->v + hs, f->n - hs, sizeof(*f->v), cmp_interned);
    runs[nruns] = f->n;
    found *tmp = core_malloc((f->n ? f->n : 1) * sizeof(*tmp));
    while (nruns > 1) {
        size_t k = 0;
        for (size_t r = 0; r < nruns; r += 2) {
            if (r + 1 < nruns)
                merge_runs(f->v, runs[r], runs[r + 1], runs[r + 2], tmp);
            else
                memcpy(tmp + runs[r], f->v + runs[r], (runs[r + 1] - runs[r]) * sizeof(*tmp));
            runs[k++] = runs[r];
        }
        runs[k] = f->n;
        nruns = k;
        found *swap = f->v;
        f->v = tmp;
        tmp = swap;
    }
    free(tmp);
}

/* Whether two of a series' parts hold chunks that overlap in time (blocks
 * that overlap, as a backfill can leave them until compaction merges them;
 * the head's chunks never overlap a block's). */
static bool parts_overlap(const tsdb_qseries *o)
{
    for (size_t k = 1; k < o->nparts; k++) {
        const tsdb_qpart *a = &o->parts[k - 1], *b = &o->parts[k];
        if (a->nchunks && b->nchunks && a->chunks[a->nchunks - 1].maxt >= b->chunks[0].mint)
            return true;
    }
    return false;
}

/* Replaces the parts of o with one part of merged chunks in the arena (the
 * earlier part's sample kept where two share a time, tombstones applied),
 * as upstream merges overlapping blocks' series at query time.  Rare, so
 * the iterator keeps its one fast path. */
static int merge_parts(tsdb_qseries *o, core_arena *arena, core_err *err)
{
    size_t total = 0;
    for (size_t k = 0; k < o->nparts; k++)
        total += o->parts[k].nchunks;
    tsdb_piece *pc = core_arena_calloc(arena, total ? total : 1, sizeof(*pc));
    size_t n = 0;
    for (size_t k = 0; k < o->nparts; k++) {
        const tsdb_qpart *p = &o->parts[k];
        for (size_t c = 0; c < p->nchunks; c++) {
            tsdb_piece *x = &pc[n];
            x->meta = p->chunks[c];
            x->order = k;
            if (!p->block) {
                x->data = p->bytes[c];
                x->len = p->lens[c];
            } else {
                tsdb_chunk ch;
                if (tsdb_chunk_reader_chunk(&p->block->chunks, p->chunks[c].ref, &ch, err) < 0)
                    return -1;
                if ((ch.enc & ~TSDB_ENC_OOO_MASK) != TSDB_ENC_XOR || ch.len < 2)
                    return core_err_set(err, "block %s: unreadable chunk", p->block->dir);
                x->data = ch.data;
                x->len = (uint32_t)ch.len;
            }
            if (p->stone && !(x->data = tsdb_trim_chunk(x->data, x->len, INT64_MIN, INT64_MAX,
                                                        p->stone, arena, &x->meta, &x->len)))
                continue;
            n++;
        }
    }
    tsdb_chunkvec v = {0};
    if (tsdb_pieces_merge(pc, n, arena, &v, err) < 0) return -1;
    o->parts[0] = (tsdb_qpart){.chunks = v.metas, .nchunks = v.n, .bytes = v.bytes, .lens = v.lens};
    o->nparts = 1;
    return 0;
}

int tsdb_querier_select(const tsdb_querier *q, const tsdb_matcher *m, size_t nm, int64_t mint,
                        int64_t maxt, core_arena *arena, tsdb_qseries **out, size_t *nout,
                        core_err *err)
{
    found_list f = {0};
    *out = NULL;
    *nout = 0;
    size_t *runs = core_malloc((q->n + 2) * sizeof(*runs)), nruns = 0;
    for (size_t i = 0; i < q->n; i++) {
        runs[nruns++] = f.n;
        if (block_select(q, i, m, nm, mint, maxt, arena, &f, err) < 0) {
            free(f.v);
            free(runs);
            return -1;
        }
    }
    runs[nruns++] = f.n; /* the head's run, maybe empty */
    if (q->head && head_select(q, m, nm, mint, maxt, arena, &f, err) < 0) {
        free(f.v);
        free(runs);
        return -1;
    }
    sort_found(&f, runs, nruns);
    free(runs);
    tsdb_qseries *s = core_arena_calloc(arena, f.n + 1, sizeof(*s));
    size_t n = 0;
    for (size_t i = 0; i < f.n;) {
        size_t j = i + 1;
        while (j < f.n && f.v[i].labels == f.v[j].labels) /* see merge_runs */
            j++;
        tsdb_qseries *o = &s[n++];
        o->labels = f.v[i].labels;
        o->parts = core_arena_calloc(arena, j - i, sizeof(*o->parts));
        o->nparts = j - i;
        for (size_t k = i; k < j; k++)
            o->parts[k - i] = f.v[k].part;
        o->mint = mint;
        o->maxt = maxt;
        i = j;
        if (parts_overlap(o) && merge_parts(o, arena, err) < 0) {
            free(f.v);
            return -1;
        }
    }
    free(f.v);
    *out = s;
    *nout = n;
    return 0;
}

/* ---- Iteration */

void tsdb_qiter_init(tsdb_qiter *it, const tsdb_qseries *s)
{
    memset(it, 0, sizeof(*it));
    it->s = s;
    it->last = INT64_MIN;
}

static bool in_stone(const tsdb_stone *st, int64_t t)
{
    for (size_t i = 0; st && i < st->n; i++) {
        if (t < st->iv[i].mint) return false;
        if (t <= st->iv[i].maxt) return true;
    }
    return false;
}

/* Opens the chunk at (part, chunk), moving past the end of a part; false
 * when every chunk was read or a chunk cannot be read. */
static __attribute__((noinline)) bool open_chunk(tsdb_qiter *it)
{
    const tsdb_qseries *s = it->s;
    while (it->part < s->nparts && it->chunk >= s->parts[it->part].nchunks) {
        it->part++;
        it->chunk = 0;
    }
    if (it->part >= s->nparts) return false;
    const tsdb_qpart *p = &s->parts[it->part];
    const uint8_t *data;
    size_t len;
    if (!p->block) { /* head: the bytes were taken at select time */
        data = p->bytes[it->chunk];
        len = p->lens[it->chunk];
        if (it->chunk + 1 < p->nchunks) __builtin_prefetch(p->bytes[it->chunk + 1]);
    } else {
        tsdb_chunk c;
        uint64_t cref = p->chunks[it->chunk].ref;
        if ((p->block->skip_crc
                 ? tsdb_chunk_reader_chunk_unchecked(&p->block->chunks, cref, &c, NULL)
                 : tsdb_chunk_reader_chunk(&p->block->chunks, cref, &c, NULL)) < 0 ||
            (c.enc & ~TSDB_ENC_OOO_MASK) != TSDB_ENC_XOR) {
            it->failure = "unreadable chunk";
            return false;
        }
        data = c.data;
        len = c.len;
        /* The next chunk's first bytes, while this one is decoded. */
        if (it->chunk + 1 < p->nchunks) {
            uint64_t ref = p->chunks[it->chunk + 1].ref;
            const tsdb_chunk_reader *r = &p->block->chunks;
            if (ref >> 32 < r->files.n && (ref & 0xffffffffu) < r->files.segs[ref >> 32].len)
                __builtin_prefetch(r->files.segs[ref >> 32].p + (ref & 0xffffffffu));
        }
    }
    if (tsdb_xor_iter_init(&it->xi, data, len, NULL) < 0) {
        it->failure = "unreadable chunk";
        return false;
    }
    return true;
}

/* Whether the current raw sample of the chunk iterator should be returned. */
static bool acceptable(const tsdb_qiter *it)
{
    const tsdb_qseries *s = it->s;
    int64_t t = it->xi.t;
    return t > it->last && t >= s->mint && t <= s->maxt && !in_stone(s->parts[it->part].stone, t);
}

static bool emit(tsdb_qiter *it)
{
    it->t = it->xi.t;
    it->v = it->xi.v;
    it->last = it->t;
    return true;
}

static bool stop(tsdb_qiter *it)
{
    it->done = true;
    return false;
}

/* Advances the raw chunk iterator until an acceptable sample (inline in
 * tsdb_qiter_next: a call less per sample). */
static inline __attribute__((always_inline)) bool advance(tsdb_qiter *it)
{
    const tsdb_qseries *s = it->s;
    for (;;) {
        const tsdb_stone *st = s->parts[it->part].stone;
        while (tsdb_xor_iter_next_inline(&it->xi)) {
            int64_t t = it->xi.t;
            if (t > s->maxt) break;
            if (t > it->last && t >= s->mint && (!st || !in_stone(st, t))) return emit(it);
        }
        if (it->xi.failure) {
            it->failure = it->xi.failure;
            return stop(it);
        }
        it->chunk++;
        if (!open_chunk(it)) return stop(it);
    }
}

bool tsdb_qiter_next(tsdb_qiter *it)
{
    if (it->done) return false;
    if (!it->started) {
        it->started = true;
        if (!open_chunk(it)) return stop(it);
    }
    return advance(it);
}

bool tsdb_qiter_seek(tsdb_qiter *it, int64_t t)
{
    if (it->done) return false;
    if (it->started && it->last != INT64_MIN && it->t >= t) return true;
    const tsdb_qseries *s = it->s;
    /* Skip whole chunks that end before t. */
    size_t part = it->part, chunk = it->chunk;
    while (part < s->nparts) {
        const tsdb_qpart *p = &s->parts[part];
        while (chunk < p->nchunks && p->chunks[chunk].maxt < t)
            chunk++;
        if (chunk < p->nchunks) break;
        part++;
        chunk = 0;
    }
    if (!it->started || part != it->part || chunk != it->chunk) {
        it->started = true;
        it->part = part;
        it->chunk = chunk;
        if (!open_chunk(it)) return stop(it);
    }
    if (!tsdb_xor_iter_seek(&it->xi, t)) {
        if (it->xi.failure) {
            it->failure = it->xi.failure;
            return stop(it);
        }
        return advance(it);
    }
    if (it->xi.t > s->maxt) {
        it->chunk++;
        if (!open_chunk(it)) return stop(it);
        return advance(it);
    }
    if (acceptable(it)) return emit(it);
    return advance(it);
}
