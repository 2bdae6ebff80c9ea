/*
 * admin.c - what the admin API asks of the database (upstream's DB.Delete,
 * DB.CleanTombstones, DB.Snapshot).
 *
 * Delete marks, it does not rewrite: each block concerned gets intervals in
 * its tombstones file (written whole and renamed into place, then meta.json's
 * numTombstones), the head gets them in memory and in the WAL.  Queries apply
 * tombstones as they read.  Clean tombstones rewrites the blocks that have
 * some into new blocks of the same range without the deleted samples
 * (compact.c's one-block rewrite, as upstream), and removes the old ones.  A snapshot is a
 * directory of hard links to the blocks' files (blocks never change in place, so links are a
 * consistent copy), plus the head written as a block.
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
        const tsdb_block *one = &db->blocks[i];
        rc = tsdb_compact_blocks(&one, 1, true, db->dir, &ulid, err);
        pthread_rwlock_unlock(&db->blocks_lock);
        if (rc < 0 || (rc = tsdb_db_replace_blocks(db, &ulid, &old, 1, err)) < 0) break;
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
