/*
 * admin.c - what the admin API asks of the database (upstream's DB.Delete,
 * DB.CleanTombstones, DB.Snapshot).
 *
 * Delete marks, it does not rewrite: each block concerned gets intervals in
 * its tombstones file (written whole and renamed into place, then meta.json's
 * numTombstones), the head gets them in memory and in the WAL.  Queries apply
 * tombstones as they read.  Clean tombstones rewrites the blocks that have
 * some, sample by sample, into new blocks with the same range and level, and
 * removes the old ones.  A snapshot is a directory of hard links to the
 * blocks' files (blocks never change in place, so links are a consistent
 * copy), plus the head written as a block.
 *
 * Every operation holds the block list's write lock while it changes a
 * block's files or the list, so no query sees a half-changed block.
 */
#define _GNU_SOURCE
#include "tsdb/internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Delete */

/* Tombstones for the matching series of block b that have data in range. */
static int block_delete(tsdb_block *b, const tsdb_matcher *m, size_t nm, int64_t mint, int64_t maxt,
                        core_err *err)
{
    if (b->meta.maxt <= mint || b->meta.mint > maxt) return 0;
    tsdb_refset refs = {0};
    tsdb_index_series s = {0};
    int rc = tsdb_block_refs(b, m, nm, &refs, err);
    bool changed = false;
    for (size_t i = 0; rc == 0 && i < refs.n; i++) {
        if ((rc = tsdb_index_series_read(&b->index, refs.v[i], &s, err)) < 0) break;
        for (size_t c = 0; c < s.nchunks; c++)
            if (s.chunks[c].maxt >= mint && s.chunks[c].mint <= maxt) {
                tsdb_tombstones_add(&b->tombstones, refs.v[i], mint, maxt);
                changed = true;
                break;
            }
    }
    tsdb_index_series_destroy(&s);
    free(refs.v);
    if (rc < 0 || !changed) return rc;
    if (tsdb_tombstones_write(&b->tombstones, b->dir, &b->tombstones_size, err) < 0) return -1;
    b->meta.stats.num_tombstones = tsdb_tombstones_total(&b->tombstones);
    return tsdb_block_meta_write(&b->meta, b->dir, &b->meta_size, err);
}

int tsdb_db_delete(tsdb_db *db, const tsdb_matcher *m, size_t nm, int64_t mint, int64_t maxt,
                   core_err *err)
{
    int rc = 0;
    pthread_rwlock_wrlock(&db->blocks_lock);
    for (size_t i = 0; rc == 0 && i < db->nblocks; i++)
        rc = block_delete(&db->blocks[i], m, nm, mint, maxt, err);
    pthread_rwlock_unlock(&db->blocks_lock);
    if (rc < 0) return -1;
    tsdb_head *h = db->head;
    tsdb_head_read_lock(h);
    tsdb_refset refs = {0};
    tsdb_head_refs_matching(h, m, nm, &refs);
    tsdb_rec_tombstone *st = core_calloc(refs.n ? refs.n : 1, sizeof(*st));
    size_t n = 0;
    for (size_t i = 0; i < refs.n; i++) {
        tsdb_hseries *s = tsdb_head_series(h, refs.v[i]);
        if (!s) continue;
        st[n++] = (tsdb_rec_tombstone){s->ref, mint, maxt};
    }
    if (n && db->wal_open) {
        core_sb rec = CORE_SB_INIT;
        tsdb_rec_encode_tombstones(&rec, st, n);
        pthread_mutex_lock(&db->wal_mtx);
        rc = tsdb_wal_writer_log(&db->wal, (const uint8_t *)rec.buf, rec.len, err);
        pthread_mutex_unlock(&db->wal_mtx);
        core_sb_destroy(&rec);
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        tsdb_head_add_stone(h, st[i].ref, mint, maxt);
    tsdb_head_read_unlock(h);
    free(st);
    free(refs.v);
    return rc;
}

/* ---- Clean tombstones */

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Rewrites block b without its deleted samples into a new block under
 * parent; *ulid zero when nothing is left. */
static int rewrite_block(const tsdb_block *b, const char *parent, tsdb_ulid *ulid, core_err *err)
{
    tsdb_postings all;
    if (tsdb_index_postings(&b->index, tsdb_str_c(""), tsdb_str_c(""), &all, err) < 0) return -1;
    /* Symbols: every name and value of the block's series (a superset of
     * what the kept series use is fine for the index). */
    tsdb_index_series s = {0};
    core_arena arena;
    core_arena_init(&arena, 0);
    const char **sym = NULL;
    size_t nsym = 0, cap = 0;
    int rc = 0;
    for (uint32_t k = 0; rc == 0 && k < all.n; k++) {
        if ((rc = tsdb_index_series_read(&b->index, tsdb_postings_at(&all, k), &s, err)) < 0) break;
        for (size_t l = 0; l < s.nlabels; l++) {
            if (nsym + 2 > cap) {
                cap = cap ? cap * 2 : 256;
                sym = core_reallocarray(sym, cap, sizeof(*sym));
            }
            sym[nsym++] = core_arena_strndup(&arena, s.labels[l].name.p, s.labels[l].name.len);
            sym[nsym++] = core_arena_strndup(&arena, s.labels[l].value.p, s.labels[l].value.len);
        }
    }
    if (nsym) qsort(sym, nsym, sizeof(*sym), cmp_cstr);
    size_t u = 0;
    for (size_t i = 0; i < nsym; i++)
        if (u == 0 || strcmp(sym[i], sym[u - 1]) != 0) sym[u++] = sym[i];
    tsdb_str *syms = core_calloc(u ? u : 1, sizeof(*syms));
    for (size_t i = 0; i < u; i++)
        syms[i] = tsdb_str_c(sym[i]);
    tsdb_block_writer *w =
        rc == 0 ? tsdb_block_writer_new(parent, b->meta.mint, b->meta.maxt, syms, u, err) : NULL;
    if (!w) rc = -1;
    core_arena per;
    core_arena_init(&per, 0);
    for (uint32_t k = 0; rc == 0 && k < all.n; k++) {
        uint32_t ref = tsdb_postings_at(&all, k);
        if ((rc = tsdb_index_series_read(&b->index, ref, &s, err)) < 0) break;
        core_arena_reset(&per);
        const tsdb_stone *st = tsdb_tombstones_get(&b->tombstones, ref);
        tsdb_chunk_meta *metas = core_arena_calloc(&per, s.nchunks + 1, sizeof(*metas));
        const uint8_t **bytes = core_arena_calloc(&per, s.nchunks + 1, sizeof(*bytes));
        uint32_t *lens = core_arena_calloc(&per, s.nchunks + 1, sizeof(*lens));
        size_t n = 0;
        for (size_t c = 0; rc == 0 && c < s.nchunks; c++) {
            tsdb_chunk ch;
            if ((rc = tsdb_chunk_reader_chunk(&b->chunks, s.chunks[c].ref, &ch, err)) < 0) break;
            metas[n] = s.chunks[c];
            if (st) {
                bytes[n] = tsdb_trim_chunk(ch.data, (uint32_t)ch.len, INT64_MIN, INT64_MAX, st,
                                           &per, &metas[n], &lens[n]);
                if (!bytes[n]) continue;
            } else {
                bytes[n] = ch.data;
                lens[n] = (uint32_t)ch.len;
            }
            n++;
        }
        if (rc < 0) break;
        core_label *pairs = core_arena_calloc(&per, s.nlabels + 1, sizeof(*pairs));
        for (size_t l = 0; l < s.nlabels; l++)
            pairs[l] =
                (core_label){core_arena_strndup(&per, s.labels[l].name.p, s.labels[l].name.len),
                             core_arena_strndup(&per, s.labels[l].value.p, s.labels[l].value.len)};
        core_labels *ls = core_labels_new_in(&per, pairs, s.nlabels);
        rc = tsdb_block_writer_add(w, ls, metas, bytes, lens, n, err);
    }
    tsdb_index_series_destroy(&s);
    core_arena_destroy(&per);
    core_arena_destroy(&arena);
    free(sym);
    free(syms);
    if (rc < 0) {
        tsdb_block_writer_abort(w);
        return -1;
    }
    return tsdb_block_writer_commit(w, ulid, err);
}

int tsdb_db_clean_tombstones(tsdb_db *db, core_err *err)
{
    pthread_mutex_lock(&db->compact_mtx);
    int rc = 0;
    for (;;) {
        /* One block at a time: find one with tombstones, rewrite it, swap. */
        pthread_rwlock_rdlock(&db->blocks_lock);
        size_t i = 0;
        while (i < db->nblocks && !db->blocks[i].tombstones.n)
            i++;
        if (i == db->nblocks) {
            pthread_rwlock_unlock(&db->blocks_lock);
            break;
        }
        tsdb_ulid ulid, old = db->blocks[i].meta.ulid;
        rc = rewrite_block(&db->blocks[i], db->dir, &ulid, err);
        pthread_rwlock_unlock(&db->blocks_lock);
        if (rc < 0) break;
        static const tsdb_ulid zero;
        if (memcmp(&ulid, &zero, sizeof zero) != 0 && tsdb_db_add_block(db, &ulid, err) < 0) {
            rc = -1;
            break;
        }
        pthread_rwlock_wrlock(&db->blocks_lock);
        for (size_t k = 0; k < db->nblocks; k++) {
            if (memcmp(&db->blocks[k].meta.ulid, &old, sizeof old) != 0) continue;
            char *dir = core_strdup(db->blocks[k].dir);
            tsdb_block_close(&db->blocks[k]);
            memmove(db->blocks + k, db->blocks + k + 1,
                    (db->nblocks - k - 1) * sizeof(*db->blocks));
            db->nblocks--;
            char *tmp = core_malloc(strlen(dir) + 32);
            sprintf(tmp, "%s.tmp-for-deletion", dir);
            if (rename(dir, tmp) == 0) tsdb_remove_tree(tmp);
            free(tmp);
            free(dir);
            break;
        }
        pthread_rwlock_unlock(&db->blocks_lock);
    }
    pthread_mutex_unlock(&db->compact_mtx);
    return rc;
}

/* ---- Snapshot */

static int link_tree(const char *src, const char *dst, core_err *err)
{
    if (mkdir(dst, 0777) < 0 && errno != EEXIST)
        return core_err_set(err, "create %s: %s", dst, strerror(errno));
    DIR *d = opendir(src);
    if (!d) return core_err_set(err, "open %s: %s", src, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char *s = tsdb_path_join(src, de->d_name), *t = tsdb_path_join(dst, de->d_name);
        struct stat st;
        if (lstat(s, &st) == 0 && S_ISDIR(st.st_mode))
            rc = link_tree(s, t, err);
        else if (link(s, t) < 0)
            rc = core_err_set(err, "link %s: %s", t, strerror(errno));
        free(s);
        free(t);
    }
    closedir(d);
    return rc;
}

int tsdb_db_snapshot(tsdb_db *db, const char *dir, bool with_head, core_err *err)
{
    if (mkdir(dir, 0777) < 0 && errno != EEXIST)
        return core_err_set(err, "create snapshot directory %s: %s", dir, strerror(errno));
    int rc = 0;
    pthread_rwlock_rdlock(&db->blocks_lock);
    for (size_t i = 0; rc == 0 && i < db->nblocks; i++) {
        char name[TSDB_ULID_LEN + 1];
        tsdb_ulid_format(&db->blocks[i].meta.ulid, name);
        char *dst = tsdb_path_join(dir, name);
        rc = link_tree(db->blocks[i].dir, dst, err);
        free(dst);
    }
    pthread_rwlock_unlock(&db->blocks_lock);
    if (rc < 0 || !with_head) return rc;
    tsdb_head_stats st = tsdb_head_get_stats(db->head);
    if (st.mint == INT64_MAX) return 0;
    tsdb_ulid ulid;
    return tsdb_head_write_block(db->head, dir, st.mint, st.maxt + 1, &ulid, err);
}
