/*
 * block_writer.c - writing one block directory, as upstream's
 * LeveledCompactor.write: everything goes into <ULID>.tmp-for-creation next
 * to the final place, is fsynced, and the directory is renamed into place
 * last, so a crash leaves either the whole block or a temporary directory
 * that the next open removes.
 *
 * The writer streams: chunks go to chunks/ as each series is added and the
 * index takes the series in label order, so memory stays at one series'
 * chunks whatever the block's size.  The caller supplies the symbol table up
 * front because the index format puts it first.
 */
#define _GNU_SOURCE
#include "tsdb/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct tsdb_block_writer {
    char *parent;
    char tmp[PATH_MAX];
    tsdb_ulid ulid;
    int64_t mint, maxt;
    tsdb_chunk_writer chunks;
    bool chunks_open;
    tsdb_index_writer index;
    bool index_open;
    tsdb_block_stats stats;
    tsdb_index_label *lbuf;
    size_t lcap;
    /* Lineage for meta.json (tsdb_block_writer_lineage); level 0: a fresh
     * level-1 block that is its own only source. */
    int64_t level;
    tsdb_ulid *sources;
    size_t nsources;
    tsdb_block_desc *parents;
    size_t nparents;
};

void tsdb_ulid_new(tsdb_ulid *u, int64_t ms)
{
    uint64_t t = (uint64_t)ms;
    for (int i = 5; i >= 0; i--, t >>= 8)
        u->b[i] = (uint8_t)t;
    if (getrandom(u->b + 6, 10, 0) != 10) { /* no entropy source: time and pid */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 32 ^ (uint64_t)ts.tv_sec;
        for (int i = 6; i < 16; i++, x = x * 6364136223846793005u + 1442695040888963407u)
            u->b[i] = (uint8_t)(x >> 56);
    }
}

/* Removes a directory tree (a block or a temporary one). */
static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        char sub[PATH_MAX];
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
            struct stat st;
            if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
                remove_tree(sub);
            else
                unlink(sub);
        }
        closedir(d);
    }
    rmdir(path);
}

void tsdb_remove_tree(const char *path)
{
    remove_tree(path);
}

int tsdb_fsync_dir(const char *path, core_err *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return core_err_set(err, "open %s: %s", path, strerror(errno));
    int rc = fsync(fd) < 0 ? core_err_set(err, "fsync %s: %s", path, strerror(errno)) : 0;
    close(fd);
    return rc;
}

tsdb_block_writer *tsdb_block_writer_new(const char *parent, int64_t mint, int64_t maxt,
                                         const tsdb_str *symbols, size_t nsymbols, core_err *err)
{
    tsdb_block_writer *w = core_calloc(1, sizeof(*w));
    w->parent = core_strdup(parent);
    w->mint = mint;
    w->maxt = maxt;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    tsdb_ulid_new(&w->ulid, (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
    char name[TSDB_ULID_LEN + 1];
    tsdb_ulid_format(&w->ulid, name);
    snprintf(w->tmp, sizeof w->tmp, "%s/%s.tmp-for-creation", parent, name);
    char sub[PATH_MAX + 16];
    snprintf(sub, sizeof sub, "%s/chunks", w->tmp);
    if (mkdir(w->tmp, 0777) < 0 || mkdir(sub, 0777) < 0) {
        core_err_set(err, "create block directory %s: %s", w->tmp, strerror(errno));
        goto fail;
    }
    if (tsdb_chunk_writer_open(&w->chunks, sub, 0, err) < 0) goto fail;
    w->chunks_open = true;
    snprintf(sub, sizeof sub, "%s/index", w->tmp);
    if (tsdb_index_writer_open(&w->index, sub, err) < 0) goto fail;
    w->index_open = true;
    for (size_t i = 0; i < nsymbols; i++)
        if (tsdb_index_writer_add_symbol(&w->index, symbols[i], err) < 0) goto fail;
    return w;
fail:
    tsdb_block_writer_abort(w);
    return NULL;
}

void tsdb_block_writer_lineage(tsdb_block_writer *w, int64_t level, const tsdb_ulid *sources,
                               size_t nsources, const tsdb_block_desc *parents, size_t nparents)
{
    w->level = level;
    free(w->sources);
    free(w->parents);
    w->sources = NULL;
    w->parents = NULL;
    w->nsources = sources ? nsources : 0;
    w->nparents = nparents;
    if (w->nsources) {
        w->sources = core_reallocarray(NULL, nsources, sizeof(*w->sources));
        memcpy(w->sources, sources, nsources * sizeof(*sources));
    }
    if (nparents) {
        w->parents = core_reallocarray(NULL, nparents, sizeof(*w->parents));
        memcpy(w->parents, parents, nparents * sizeof(*parents));
    }
}

static void writer_free(tsdb_block_writer *w)
{
    free(w->lbuf);
    free(w->parent);
    free(w->sources);
    free(w->parents);
    free(w);
}

int tsdb_block_writer_add(tsdb_block_writer *w, const core_labels *ls, tsdb_chunk_meta *metas,
                          const uint8_t *const *bytes, const uint32_t *lens, size_t n,
                          core_err *err)
{
    if (!n) return 0;
    for (size_t i = 0; i < n; i++) {
        if (tsdb_chunk_writer_write(&w->chunks, TSDB_ENC_XOR, bytes[i], lens[i], &metas[i].ref,
                                    err) < 0)
            return -1;
        w->stats.num_samples += (uint64_t)bytes[i][0] << 8 | bytes[i][1];
    }
    if (ls->len > w->lcap) {
        w->lcap = ls->len;
        w->lbuf = core_reallocarray(w->lbuf, w->lcap, sizeof(*w->lbuf));
    }
    for (size_t i = 0; i < ls->len; i++)
        w->lbuf[i] = (tsdb_index_label){tsdb_str_c(ls->v[i].name), tsdb_str_c(ls->v[i].value)};
    if (tsdb_index_writer_add_series(&w->index, w->lbuf, ls->len, metas, n, NULL, err) < 0)
        return -1;
    w->stats.num_series++;
    w->stats.num_chunks += n;
    return 0;
}

int tsdb_block_writer_commit(tsdb_block_writer *w, tsdb_ulid *ulid, core_err *err)
{
    int rc = 0;
    memset(ulid, 0, sizeof(*ulid));
    w->chunks_open = false;
    if (tsdb_chunk_writer_close(&w->chunks, err) < 0) rc = -1;
    w->index_open = false;
    if (tsdb_index_writer_close(&w->index, rc < 0 ? NULL : err) < 0) rc = -1;
    if (rc == 0 && w->stats.num_series == 0) { /* upstream keeps no empty block */
        tsdb_block_writer_abort(w);
        return 0;
    }
    tsdb_block_meta meta = {
        .ulid = w->ulid,
        .mint = w->mint,
        .maxt = w->maxt,
        .stats = w->stats,
        .level = w->level ? w->level : 1,
        .sources = w->nsources ? w->sources : &w->ulid,
        .nsources = w->nsources ? w->nsources : 1,
        .parents = w->parents,
        .nparents = w->nparents,
        .version = TSDB_META_VERSION,
    };
    tsdb_tombstones none;
    tsdb_tombstones_init(&none);
    if (rc == 0 && tsdb_block_meta_write(&meta, w->tmp, NULL, err) < 0) rc = -1;
    if (rc == 0 && tsdb_tombstones_write(&none, w->tmp, NULL, err) < 0) rc = -1;
    tsdb_tombstones_destroy(&none);
    char name[TSDB_ULID_LEN + 1], dst[PATH_MAX + 32];
    tsdb_ulid_format(&w->ulid, name);
    snprintf(dst, sizeof dst, "%s/%s", w->parent, name);
    if (rc == 0 && tsdb_fsync_dir(w->tmp, err) < 0) rc = -1;
    if (rc == 0 && rename(w->tmp, dst) < 0)
        rc = core_err_set(err, "rename %s to %s: %s", w->tmp, dst, strerror(errno));
    if (rc == 0 && tsdb_fsync_dir(w->parent, err) < 0) rc = -1;
    if (rc < 0) {
        tsdb_block_writer_abort(w);
        return -1;
    }
    *ulid = w->ulid;
    writer_free(w);
    return 0;
}

void tsdb_block_writer_abort(tsdb_block_writer *w)
{
    if (!w) return;
    if (w->chunks_open) tsdb_chunk_writer_close(&w->chunks, NULL);
    if (w->index_open) tsdb_index_writer_close(&w->index, NULL);
    remove_tree(w->tmp);
    writer_free(w);
}
