/*
 * block.c - opening a block directory (upstream tsdb/block.go OpenBlock):
 *
 *   <dir>/meta.json    tsdb_block_meta_read (version 1)
 *   <dir>/chunks/      tsdb_chunk_reader_open (segment headers checked)
 *   <dir>/index        tsdb_index_reader_open (header, TOC, tables checked)
 *   <dir>/tombstones   tsdb_tombstones_read (missing: none)
 *
 * in upstream's order, everything opened so far closed again on failure, the
 * error prefixed with the block directory.  Opening reads no series or
 * chunk; tsdb_block_verify does, for tools and tests that want to know the
 * whole block is sound: every series of the all-series postings list is read
 * (CRC checked), every chunk it points at is read (CRC checked) and must lie
 * within the meta's [minTime, maxTime), and samples are counted from each
 * chunk's 2-byte big-endian sample count (the header of every chunk
 * encoding).  Those counts are what upstream's compactor puts in the stats.
 */
#include "tsdb/internal.h"

#include <stdlib.h>
#include <string.h>

int tsdb_block_open(tsdb_block *b, const char *dir, core_err *err)
{
    core_err e = {{0}};
    core_sb path = CORE_SB_INIT;
    int stage = 0;
    memset(b, 0, sizeof(*b));
    if (tsdb_block_meta_read(&b->meta, dir, &b->meta_size, &e) < 0) goto fail;
    stage = 1;
    core_sb_addf(&path, "%s/chunks", dir);
    if (tsdb_chunk_reader_open(&b->chunks, path.buf, &e) < 0) goto fail;
    stage = 2;
    core_sb_reset(&path);
    core_sb_addf(&path, "%s/index", dir);
    if (tsdb_index_reader_open(&b->index, path.buf, &e) < 0) goto fail;
    stage = 3;
    if (tsdb_tombstones_read(&b->tombstones, dir, &b->tombstones_size, &e) < 0) goto fail;
    core_sb_destroy(&path);
    b->dir = core_strdup(dir);
    return 0;
fail:
    core_sb_destroy(&path);
    if (stage >= 3) tsdb_index_reader_close(&b->index);
    if (stage >= 2) tsdb_chunk_reader_close(&b->chunks);
    if (stage >= 1) tsdb_block_meta_destroy(&b->meta);
    static const char *const part[] = {"meta", "chunks", "index", "tombstones"};
    return core_err_set(err, "open block %s (%s): %s", dir, part[stage], e.msg);
}

void tsdb_block_close(tsdb_block *b)
{
    if (!b->dir) return;
    tsdb_tombstones_destroy(&b->tombstones);
    tsdb_index_reader_close(&b->index);
    tsdb_chunk_reader_close(&b->chunks);
    tsdb_block_meta_destroy(&b->meta);
    free(b->dir);
    memset(b, 0, sizeof(*b));
}

static bool postings_has(const tsdb_postings *p, uint64_t ref)
{
    uint32_t lo = 0, hi = p->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint32_t v = tsdb_postings_at(p, mid);
        if (v == ref) return true;
        if (v < ref)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static int verify_series(const tsdb_block *b, uint64_t ref, tsdb_index_series *s,
                         tsdb_block_stats *out, core_err *err)
{
    if (tsdb_index_series_read(&b->index, ref, s, err) < 0) return -1;
    out->num_series++;
    for (size_t i = 0; i < s->nchunks; i++) {
        const tsdb_chunk_meta *m = &s->chunks[i];
        tsdb_chunk ch;
        if (m->mint > m->maxt || m->mint < b->meta.mint || m->maxt >= b->meta.maxt)
            return core_err_set(err,
                                "series %llu: chunk %llu spans [%lld, %lld], outside the "
                                "block's [%lld, %lld)",
                                (unsigned long long)ref, (unsigned long long)m->ref,
                                (long long)m->mint, (long long)m->maxt, (long long)b->meta.mint,
                                (long long)b->meta.maxt);
        core_err e = {{0}};
        if (tsdb_chunk_reader_chunk(&b->chunks, m->ref, &ch, &e) < 0)
            return core_err_set(err, "series %llu: chunk %llu: %s", (unsigned long long)ref,
                                (unsigned long long)m->ref, e.msg);
        if (ch.len < 2)
            return core_err_set(err, "series %llu: chunk %llu of %zu bytes has no sample count",
                                (unsigned long long)ref, (unsigned long long)m->ref, ch.len);
        uint64_t n = (uint64_t)ch.data[0] << 8 | ch.data[1];
        out->num_chunks++;
        out->num_samples += n;
        if ((ch.enc & ~TSDB_ENC_OOO_MASK) == TSDB_ENC_XOR)
            out->num_float_samples += n;
        else
            out->num_histogram_samples += n;
    }
    return 0;
}

int tsdb_block_verify(const tsdb_block *b, tsdb_block_stats *out, core_err *err)
{
    tsdb_postings all;
    tsdb_index_series s = {0};
    core_err e = {{0}};
    memset(out, 0, sizeof(*out));
    int rc = tsdb_index_postings(&b->index, tsdb_str_c(""), tsdb_str_c(""), &all, &e);
    for (uint32_t k = 0; rc == 0 && k < all.n; k++)
        rc = verify_series(b, tsdb_postings_at(&all, k), &s, out, &e);
    tsdb_index_series_destroy(&s);
    for (size_t i = 0; rc == 0 && i < b->tombstones.n; i++)
        if (!postings_has(&all, b->tombstones.s[i].ref))
            rc = core_err_set(&e, "tombstones name series %llu, which is not in the index",
                              (unsigned long long)b->tombstones.s[i].ref);
    out->num_tombstones = tsdb_tombstones_total(&b->tombstones);
    if (rc < 0) return core_err_set(err, "block %s: %s", b->dir, e.msg);
    return 0;
}
