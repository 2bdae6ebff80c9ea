/*
 * db.c - a data directory as one database: blocks, the head and its WAL
 * (upstream tsdb/db.go, head_wal.go, compact.go, the retention part of
 * db.go).
 *
 * Open: leftover temporary block directories are removed, the blocks are
 * opened (a corrupt one is logged and left out), chunks_head/ is emptied and
 * the WAL (its newest checkpoint first) is replayed into a fresh head (read
 * and decoded on the opening thread, appended by two threads sharded by
 * series ref without the series' locks, as no one else sees the head yet;
 * see "WAL replay" below): the WAL holds every sample the head has, so the
 * head chunk files are only an on-disk copy for readers such as Prometheus
 * itself, not needed by us at start.  A WAL whose tail is torn or corrupt
 * is cut at the first bad record (the position is logged) and the segments
 * after it are removed.
 *
 * Appending: an appender finds or creates each series in the head (so a
 * scrape's second sample of a series costs a ref lookup), checks the sample
 * against the series' newest one, and collects it.  Commit logs one series
 * record for the series it created and one samples record to the WAL, then
 * appends to the head.  A rollback still logs the created series, as the
 * head keeps them.
 *
 * Compaction: once the head spans more than 1.5 chunk ranges, its oldest
 * range is written as a level-1 block (chunks copied as they are: head chunks
 * never cross a range boundary; any that do after a replay are re-encoded),
 * the head is truncated to the block's end, and the WAL segments before that
 * point are folded into a checkpoint (series still in the head, samples not
 * yet in a block).  Retention then deletes the blocks that fall out of the
 * time or size limit, oldest first.  Between the two, blocks are merged as
 * compact.c's planner says (level-1 blocks into 6h ones, those into 18h
 * ones, ... up to max-block-duration; overlapping blocks first), each merge
 * replacing its inputs in the list at once; a block that a loaded block
 * names as its parent is deleted at open (a crash came between the two).
 *
 * Locks: `blocks_lock` (rwlock) guards the block list, held shared by every
 * querier for its life; `wal_mtx` serialises WAL writes; `compact_mtx` lets
 * one compaction run at a time.
 */
#define _GNU_SOURCE
#include "tsdb/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY_MS (INT64_C(24) * 3600 * 1000)

struct tsdb_appender {
    tsdb_db *db;
    tsdb_rec_sample *samples; /* as logged */
    tsdb_hseries **series;    /* samples[i]'s series */
    size_t n, cap;
    tsdb_hseries **created;
    size_t ncreated, capcreated;
};

static void appender_destroy(tsdb_appender *a);
static void drop_replaced(tsdb_db *db);

char *tsdb_path_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = core_malloc(la + lb + 2);
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

static uint64_t bits_of(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

/* ---- Opening */

static bool has_suffix(const char *s, const char *suf)
{
    size_t ls = strlen(s), lf = strlen(suf);
    return ls >= lf && strcmp(s + ls - lf, suf) == 0;
}

/* Removes what an interrupted block write or deletion left behind. */
static void remove_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!has_suffix(de->d_name, ".tmp-for-creation") &&
            !has_suffix(de->d_name, ".tmp-for-deletion"))
            continue;
        char *p = tsdb_path_join(dir, de->d_name);
        tsdb_remove_tree(p);
        free(p);
    }
    closedir(d);
}

/* Empties chunks_head/: the WAL replay rebuilds the head from scratch. */
static void clear_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char *p = tsdb_path_join(dir, de->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
}

/* The newest checkpoint.N directory in wal/, if any. */
static bool last_checkpoint(const char *wal, uint64_t *n, char **path)
{
    DIR *d = opendir(wal);
    if (!d) return false;
    struct dirent *de;
    bool found = false;
    while ((de = readdir(d))) {
        const char *name = de->d_name;
        if (strncmp(name, "checkpoint.", 11) || strchr(name + 11, '.')) continue;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(name + 11, &end, 10);
        if (errno || *end || end == name + 11) continue;
        if (!found || v > *n) {
            *n = v;
            free(*path);
            *path = tsdb_path_join(wal, name);
            found = true;
        }
    }
    closedir(d);
    return found;
}

/* ---- WAL replay
 *
 * The reading thread reads and decodes the records, creates series and
 * resolves each sample's ref to its series; two appender threads append the
 * samples, each those of the series whose ref falls in its shard, so every
 * series gets its samples in WAL order while both cores append (upstream
 * replays on GOMAXPROCS workers sharded the same way; an alias ref goes to
 * its series' shard).  Batches gather the samples of several records (fewer
 * wake-ups) and go through a small ring per shard.  The appender threads
 * take no series locks: each alone appends to its series, and no one else
 * sees the head before the open returns. */

#define REPLAY_SHARDS 2
#define REPLAY_RING   8
#define REPLAY_BATCH  16384 /* samples a batch gathers (over records) before it goes */

typedef struct rbatch {
    tsdb_hseries **s;
    tsdb_rec_sample *v;
    size_t n, cap;
} rbatch;

typedef struct rshard {
    pthread_t th;
    pthread_mutex_t mtx;
    pthread_cond_t cond;
    rbatch ring[REPLAY_RING];
    size_t first, count; /* the published batches */
    bool done, started;
    tsdb_head *head;
    uint64_t refused;
} rshard;

static void *rshard_run(void *arg)
{
    rshard *sh = arg;
    for (;;) {
        pthread_mutex_lock(&sh->mtx);
        while (sh->count == 0 && !sh->done)
            pthread_cond_wait(&sh->cond, &sh->mtx);
        if (sh->count == 0) {
            pthread_mutex_unlock(&sh->mtx);
            return NULL;
        }
        rbatch *b = &sh->ring[sh->first];
        pthread_mutex_unlock(&sh->mtx);
        uint64_t counts[5] = {0};
        core_err e = {{0}};
        if (tsdb_head_append_batch_excl(sh->head, b->s, b->v, b->n, counts, &e) < 0)
            core_error("tsdb", "Cannot append replayed samples", "err", e.msg);
        sh->refused += counts[1] + counts[2] + counts[3] + counts[4];
        b->n = 0;
        pthread_mutex_lock(&sh->mtx);
        sh->first = (sh->first + 1) % REPLAY_RING;
        sh->count--;
        pthread_cond_broadcast(&sh->cond);
        pthread_mutex_unlock(&sh->mtx);
    }
}

/* The batch the reader fills next: the ring slot after the published ones
 * (waits while the ring is full). */
static rbatch *rshard_slot(rshard *sh)
{
    pthread_mutex_lock(&sh->mtx);
    while (sh->count == REPLAY_RING)
        pthread_cond_wait(&sh->cond, &sh->mtx);
    rbatch *b = &sh->ring[(sh->first + sh->count) % REPLAY_RING];
    pthread_mutex_unlock(&sh->mtx);
    return b;
}

static void rshard_publish(rshard *sh)
{
    pthread_mutex_lock(&sh->mtx);
    sh->count++;
    pthread_cond_broadcast(&sh->cond);
    pthread_mutex_unlock(&sh->mtx);
}

typedef struct replay {
    tsdb_db *db;
    core_arena arena;
    tsdb_rec_series *series;
    tsdb_rec_sample *samples;
    tsdb_rec_tombstone *stones;
    rshard shards[REPLAY_SHARDS];
    uint64_t (*aliases)[2]; /* (WAL ref, its series' ref), sorted: rare */
    size_t naliases;
    uint64_t unknown_refs;
} replay;

static int cmp_alias(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void replay_alias(replay *rp, uint64_t ref, uint64_t to)
{
    rp->aliases = core_reallocarray(rp->aliases, rp->naliases + 1, sizeof(*rp->aliases));
    rp->aliases[rp->naliases][0] = ref;
    rp->aliases[rp->naliases++][1] = to;
    qsort(rp->aliases, rp->naliases, sizeof(*rp->aliases), cmp_alias);
}

/* The shard of a WAL ref: its series' ref decides, so that an alias's
 * samples go where its series' do (known without touching the series). */
static size_t replay_shard(const replay *rp, uint64_t ref)
{
    if (rp->naliases) {
        const uint64_t(*a)[2] =
            bsearch(&ref, rp->aliases, rp->naliases, sizeof(*rp->aliases), cmp_alias);
        if (a) ref = (*a)[1];
    }
    return ref % REPLAY_SHARDS;
}

static void replay_start(replay *rp)
{
    for (size_t i = 0; i < REPLAY_SHARDS; i++) {
        rshard *sh = &rp->shards[i];
        pthread_mutex_init(&sh->mtx, NULL);
        pthread_cond_init(&sh->cond, NULL);
        sh->head = rp->db->head;
        sh->started = pthread_create(&sh->th, NULL, rshard_run, sh) == 0;
    }
}

/* Waits for the appenders to finish; the refused samples' count. */
static uint64_t replay_stop(replay *rp)
{
    uint64_t refused = 0;
    for (size_t i = 0; i < REPLAY_SHARDS; i++) {
        rshard *sh = &rp->shards[i];
        if (sh->started && rshard_slot(sh)->n) rshard_publish(sh); /* the last, partial batch */
        pthread_mutex_lock(&sh->mtx);
        sh->done = true;
        pthread_cond_broadcast(&sh->cond);
        pthread_mutex_unlock(&sh->mtx);
        if (sh->started) pthread_join(sh->th, NULL);
        refused += sh->refused;
        for (size_t k = 0; k < REPLAY_RING; k++) {
            free(sh->ring[k].s);
            free(sh->ring[k].v);
        }
        pthread_cond_destroy(&sh->cond);
        pthread_mutex_destroy(&sh->mtx);
    }
    return refused;
}

static void replay_samples(replay *rp, size_t n)
{
    tsdb_head *h = rp->db->head;
    rbatch *b[REPLAY_SHARDS];
    for (size_t i = 0; i < REPLAY_SHARDS; i++) {
        rshard *sh = &rp->shards[i];
        b[i] = rshard_slot(sh);
        if (b[i]->cap < b[i]->n + n) {
            b[i]->cap = b[i]->n + n;
            b[i]->s = core_reallocarray(b[i]->s, b[i]->cap, sizeof(*b[i]->s));
            b[i]->v = core_reallocarray(b[i]->v, b[i]->cap, sizeof(*b[i]->v));
        }
    }
    for (size_t i = 0; i < n; i++) {
        tsdb_hseries *s = tsdb_head_series(h, rp->samples[i].ref);
        if (!s) {
            rp->unknown_refs++;
            continue;
        }
        rbatch *d = b[replay_shard(rp, rp->samples[i].ref)];
        d->s[d->n] = s;
        d->v[d->n++] = rp->samples[i];
    }
    for (size_t i = 0; i < REPLAY_SHARDS; i++) {
        rshard *sh = &rp->shards[i];
        if (!sh->started) { /* no thread: append here */
            uint64_t counts[5] = {0};
            core_err e = {{0}};
            if (tsdb_head_append_batch_excl(h, b[i]->s, b[i]->v, b[i]->n, counts, &e) < 0)
                core_error("tsdb", "Cannot append replayed samples", "err", e.msg);
            sh->refused += counts[1] + counts[2] + counts[3] + counts[4];
            b[i]->n = 0;
        } else if (b[i]->n >= REPLAY_BATCH) {
            rshard_publish(sh);
        }
    }
}

static void replay_record(replay *rp, const uint8_t *rec, size_t len)
{
    tsdb_head *h = rp->db->head;
    size_t n = 0;
    core_err e = {{0}};
    switch (tsdb_rec_type(rec, len)) {
    case TSDB_REC_SERIES:
        core_arena_reset(&rp->arena);
        tsdb_rec_decode_series(rec, len, &rp->arena, &rp->series, &n, &e);
        for (size_t i = 0; i < n; i++) {
            bool created;
            tsdb_hseries *s =
                tsdb_head_get_or_create(h, rp->series[i].labels, rp->series[i].ref, &created);
            if (s->ref != rp->series[i].ref) {
                tsdb_head_alias_ref(h, rp->series[i].ref, s);
                replay_alias(rp, rp->series[i].ref, s->ref);
            }
        }
        break;
    case TSDB_REC_SAMPLES:
        tsdb_rec_decode_samples(rec, len, &rp->samples, &n, &e);
        replay_samples(rp, n);
        break;
    case TSDB_REC_TOMBSTONES:
        tsdb_rec_decode_tombstones(rec, len, &rp->stones, &n, &e);
        for (size_t i = 0; i < n; i++) {
            tsdb_hseries *s = tsdb_head_series(h, rp->stones[i].ref);
            if (s)
                tsdb_head_add_stone(h, s->ref, rp->stones[i].mint, rp->stones[i].maxt);
            else
                rp->unknown_refs++;
        }
        break;
    default: /* metadata, exemplars, histograms: not kept in the head yet */ break;
    }
    free(rp->stones);
    rp->stones = NULL;
    free(rp->series);
    rp->series = NULL; /* the samples array is kept for the next record */
    rp->db->wal_replayed_records++;
}

/* Cuts a corrupt WAL at the bad record: the segment is truncated there and
 * every later segment removed (upstream's Repair). */
static void repair(const char *wal, const tsdb_wal_reader *r)
{
    char name[32];
    snprintf(name, sizeof name, "%08llu", (unsigned long long)r->err_seq);
    char *p = tsdb_path_join(wal, name);
    if (truncate(p, (off_t)r->err_off) < 0)
        core_error("tsdb", "Cannot truncate WAL segment", "segment", p, "err", strerror(errno));
    free(p);
    uint64_t *seqs = NULL;
    size_t n = 0;
    core_err e = {{0}};
    if (tsdb_wal_segments(wal, &seqs, &n, &e) == 0)
        for (size_t i = 0; i < n; i++)
            if (seqs[i] > r->err_seq) {
                snprintf(name, sizeof name, "%08llu", (unsigned long long)seqs[i]);
                p = tsdb_path_join(wal, name);
                unlink(p);
                free(p);
            }
    free(seqs);
}

/* Replays one WAL directory from segment `first`; repairs it when `fix`. */
static int replay_dir(replay *rp, const char *dir, uint64_t first, bool fix, core_err *err)
{
    tsdb_wal_reader r;
    if (tsdb_wal_reader_open_from(&r, dir, first, err) < 0) return -1;
    const uint8_t *rec;
    size_t len;
    int rc;
    core_err e = {{0}};
    while ((rc = tsdb_wal_reader_next(&r, &rec, &len, &e)) == 1)
        replay_record(rp, rec, len);
    if (rc < 0) {
        rp->db->wal_corruptions++;
        if (!fix) {
            tsdb_wal_reader_close(&r);
            return core_err_set(err, "%s", e.msg);
        }
        char off[32];
        snprintf(off, sizeof off, "%zu", r.err_off);
        core_warn("tsdb", "Encountered WAL read error, attempting repair", "err", e.msg, "offset",
                  off);
        repair(dir, &r);
    }
    tsdb_wal_reader_close(&r);
    return 0;
}

static int replay_wal(tsdb_db *db, core_err *err)
{
    char *wal = tsdb_path_join(db->dir, "wal");
    char *cp = NULL;
    uint64_t cpn = 0;
    replay rp = {.db = db};
    core_arena_init(&rp.arena, 0);
    replay_start(&rp);
    int rc = 0;
    struct stat st;
    if (last_checkpoint(wal, &cpn, &cp)) {
        rc = replay_dir(&rp, cp, 0, false, err);
        if (rc < 0) core_err_prefix(err, "replay checkpoint");
    }
    if (rc == 0 && stat(wal, &st) == 0)
        rc = replay_dir(&rp, wal, cp ? cpn + 1 : 0, !db->opts.read_only, err);
    (void)replay_stop(&rp);
    if (rp.unknown_refs) {
        char n[32];
        snprintf(n, sizeof n, "%llu", (unsigned long long)rp.unknown_refs);
        core_warn("tsdb", "Unknown series references in WAL samples", "samples", n);
    }
    core_arena_destroy(&rp.arena);
    free(rp.samples);
    free(rp.aliases);
    free(cp);
    free(wal);
    return rc;
}

static int64_t blocks_maxt(const tsdb_db *db)
{
    int64_t m = INT64_MIN;
    for (size_t i = 0; i < db->nblocks; i++)
        if (db->blocks[i].meta.maxt > m) m = db->blocks[i].meta.maxt;
    return m;
}

tsdb_db *tsdb_db_open(const char *dir, const tsdb_db_opts *o, core_err *err)
{
    tsdb_db *db = core_calloc(1, sizeof(*db));
    db->dir = core_strdup(dir);
    db->opts = *o;
    if (db->opts.min_block_ms <= 0) db->opts.min_block_ms = TSDB_DEFAULT_BLOCK_MS;
    if (db->opts.retention_ms <= 0 && db->opts.retention_bytes <= 0)
        db->opts.retention_ms = 15 * DAY_MS;
    if (db->opts.max_block_ms <= 0) { /* as prometheus: a tenth of the retention, at most 31d */
        db->opts.max_block_ms = 31 * DAY_MS;
        if (db->opts.retention_ms > 0 && db->opts.retention_ms / 10 < db->opts.max_block_ms)
            db->opts.max_block_ms = db->opts.retention_ms / 10;
    }
    db->nranges = tsdb_compact_ranges(db->opts.min_block_ms, db->opts.max_block_ms, db->ranges);
    db->lockfd = -1;
    pthread_mutex_init(&db->wal_mtx, NULL);
    pthread_mutex_init(&db->compact_mtx, NULL);
    pthread_mutex_init(&db->spare_mtx, NULL);
    pthread_rwlock_init(&db->blocks_lock, NULL);
    bool ro = db->opts.read_only;
    if (!ro && mkdir(dir, 0777) < 0 && errno != EEXIST) {
        core_err_set(err, "create data directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    if (!ro) {
        char *lock = tsdb_path_join(dir, "lock");
        db->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        free(lock);
        if (db->lockfd < 0 || flock(db->lockfd, LOCK_EX | LOCK_NB) < 0) {
            core_err_set(err, "lock data directory %s: %s (is another server using it?)", dir,
                         strerror(errno));
            goto fail;
        }
        remove_temporaries(dir);
    }
    if (tsdb_blocks_open(dir, true, &db->blocks, &db->nblocks, err) < 0) goto fail;
    drop_replaced(db);
    for (size_t i = 0; !ro && i < db->nblocks; i++) /* the tools' reads check CRCs */
        db->blocks[i].skip_crc = true;
    char *chunks = ro ? NULL : tsdb_path_join(dir, "chunks_head");
    if (chunks) {
        mkdir(chunks, 0777);
        clear_dir(chunks);
    }
    db->head = tsdb_head_new(
        &(tsdb_head_opts){.chunk_range = db->opts.min_block_ms, .chunks_dir = chunks}, err);
    free(chunks);
    if (!db->head) goto fail;
    tsdb_head_set_min_valid(db->head, blocks_maxt(db));
    if (replay_wal(db, err) < 0) goto fail;
    if (!ro && !db->opts.wal_disabled) {
        char *wal = tsdb_path_join(dir, "wal");
        int rc = tsdb_wal_writer_open(&db->wal, wal, 0, db->opts.wal_compression, err);
        free(wal);
        if (rc < 0) goto fail;
        db->wal_open = true;
    }
    return db;
fail:
    tsdb_db_close(db, NULL);
    return NULL;
}

int tsdb_db_close(tsdb_db *db, core_err *err)
{
    if (!db) return 0;
    int rc = 0;
    if (db->wal_open && tsdb_wal_writer_close(&db->wal, err) < 0) rc = -1;
    tsdb_head_free(db->head);
    for (size_t i = 0; i < db->nblocks; i++)
        tsdb_block_close(&db->blocks[i]);
    free(db->blocks);
    if (db->lockfd >= 0) close(db->lockfd);
    for (size_t i = 0; i < db->nspare; i++)
        appender_destroy(db->spare[i]);
    core_sb_destroy(&db->wal_rec);
    pthread_mutex_destroy(&db->wal_mtx);
    pthread_mutex_destroy(&db->compact_mtx);
    pthread_mutex_destroy(&db->spare_mtx);
    pthread_rwlock_destroy(&db->blocks_lock);
    free(db->dir);
    free(db);
    return rc;
}

tsdb_head *tsdb_db_head(tsdb_db *db)
{
    return db->head;
}

tsdb_db_stats tsdb_db_get_stats(tsdb_db *db)
{
    tsdb_db_stats st = {.head = tsdb_head_get_stats(db->head)};
#define LOAD(f) st.f = __atomic_load_n(&db->f, __ATOMIC_RELAXED)
    LOAD(samples_appended);
    LOAD(out_of_order);
    LOAD(duplicates);
    LOAD(out_of_bounds);
    LOAD(wal_corruptions);
    LOAD(wal_replayed_records);
    LOAD(compactions);
    LOAD(retention_deleted);
    LOAD(compactions_failed);
#undef LOAD
    pthread_rwlock_rdlock(&db->blocks_lock);
    st.blocks = db->nblocks;
    pthread_rwlock_unlock(&db->blocks_lock);
    return st;
}

/* ---- Queriers */

void tsdb_db_querier(tsdb_db *db, tsdb_querier *q)
{
    pthread_rwlock_rdlock(&db->blocks_lock);
    tsdb_head_read_lock(db->head);
    *q = (tsdb_querier){.blocks = db->blocks, .n = db->nblocks, .head = db->head, .db = db};
}

void tsdb_db_querier_release(tsdb_db *db)
{
    tsdb_head_read_unlock(db->head);
    pthread_rwlock_unlock(&db->blocks_lock);
}

/* ---- Appending */

/* Appenders are kept after use (a few), so a scrape's appender finds its
 * arrays already grown. */
tsdb_appender *tsdb_db_appender(tsdb_db *db)
{
    tsdb_appender *a = NULL;
    pthread_mutex_lock(&db->spare_mtx);
    if (db->nspare) a = db->spare[--db->nspare];
    pthread_mutex_unlock(&db->spare_mtx);
    if (!a) a = core_calloc(1, sizeof(*a));
    a->db = db;
    a->n = a->ncreated = 0;
    tsdb_head_read_lock(db->head);
    return a;
}

static void appender_destroy(tsdb_appender *a)
{
    free(a->samples);
    free(a->series);
    free(a->created);
    free(a);
}

static void count_n(tsdb_db *db, int rc, uint64_t n)
{
    switch (rc) {
    case TSDB_APPEND_OUT_OF_ORDER:
        __atomic_fetch_add(&db->out_of_order, n, __ATOMIC_RELAXED);
        break;
    case TSDB_APPEND_DUPLICATE: __atomic_fetch_add(&db->duplicates, n, __ATOMIC_RELAXED); break;
    case TSDB_APPEND_OUT_OF_BOUNDS:
        __atomic_fetch_add(&db->out_of_bounds, n, __ATOMIC_RELAXED);
        break;
    default: break;
    }
}

static void count(tsdb_db *db, int rc)
{
    count_n(db, rc, 1);
}

int tsdb_appender_add(tsdb_appender *a, uint64_t *ref, const core_labels *ls, int64_t t, double v,
                      core_err *err)
{
    tsdb_head *h = a->db->head;
    tsdb_hseries *s = *ref ? tsdb_head_series(h, *ref) : NULL;
    if (!s) {
        if (!ls) return core_err_set(err, "unknown series ref %llu", (unsigned long long)*ref);
        if (ls->len == 0) return core_err_set(err, "empty labelset: invalid sample");
        const char *dup = core_labels_dup_name(ls);
        if (dup) return core_err_set(err, "label name \"%s\" is not unique: invalid sample", dup);
        bool created;
        s = tsdb_head_get_or_create(h, ls, 0, &created);
        if (created) {
            if (a->ncreated == a->capcreated) {
                a->capcreated = a->capcreated ? a->capcreated * 2 : 16;
                a->created = core_reallocarray(a->created, a->capcreated, sizeof(*a->created));
            }
            a->created[a->ncreated++] = s;
        }
    }
    *ref = s->ref;
    /* A scrape adds its series in the order it created them: load the
     * series some refs on while this one is checked (far enough ahead for
     * a page walk too: 64 measured best at a million series). */
    tsdb_head_prefetch(h, *ref + 64);
    uint64_t bits = bits_of(v);
    int rc = tsdb_head_check(h, s, t, bits);
    if (rc == TSDB_APPEND_REPEAT) return 0;
    if (rc) {
        count(a->db, rc);
        return rc;
    }
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->samples = core_reallocarray(a->samples, a->cap, sizeof(*a->samples));
        a->series = core_reallocarray(a->series, a->cap, sizeof(*a->series));
    }
    a->series[a->n] = s;
    a->samples[a->n++] = (tsdb_rec_sample){s->ref, t, bits};
    return 0;
}

/* Logs the created series (and the samples, unless rolling back). */
static int log_records(tsdb_appender *a, bool samples, core_err *err)
{
    tsdb_db *db = a->db;
    if (!db->wal_open || (!a->ncreated && (!samples || !a->n))) return 0;
    int rc = 0;
    pthread_mutex_lock(&db->wal_mtx);
    core_sb rec = db->wal_rec;
    core_sb_reset(&rec);
    if (a->ncreated) {
        tsdb_rec_series *rs = core_calloc(a->ncreated, sizeof(*rs));
        for (size_t i = 0; i < a->ncreated; i++)
            rs[i] = (tsdb_rec_series){a->created[i]->ref, tsdb_hs_labels(a->created[i])};
        tsdb_rec_encode_series(&rec, rs, a->ncreated);
        free(rs);
        rc = tsdb_wal_writer_log(&db->wal, (const uint8_t *)rec.buf, rec.len, err);
    }
    if (rc == 0 && samples && a->n) {
        core_sb_reset(&rec);
        tsdb_rec_encode_samples(&rec, a->samples, a->n);
        rc = tsdb_wal_writer_log(&db->wal, (const uint8_t *)rec.buf, rec.len, err);
    }
    if (rec.cap > (1u << 22)) /* a huge record: do not keep its buffer */
        core_sb_destroy(&rec);
    db->wal_rec = rec;
    pthread_mutex_unlock(&db->wal_mtx);
    return rc;
}

static void appender_free(tsdb_appender *a)
{
    tsdb_db *db = a->db;
    tsdb_head_read_unlock(db->head);
    if (a->cap > 65536 || a->capcreated > 65536) { /* a one-off: give the memory back */
        appender_destroy(a);
        return;
    }
    pthread_mutex_lock(&db->spare_mtx);
    if (db->nspare < sizeof(db->spare) / sizeof(db->spare[0])) {
        db->spare[db->nspare++] = a;
        a = NULL;
    }
    pthread_mutex_unlock(&db->spare_mtx);
    if (a) appender_destroy(a);
}

int tsdb_appender_commit(tsdb_appender *a, core_err *err)
{
    tsdb_db *db = a->db;
    int rc = log_records(a, true, err);
    uint64_t counts[5] = {0};
    if (rc == 0) rc = tsdb_head_append_batch(db->head, a->series, a->samples, a->n, counts, err);
    for (int k = 1; k < 5; k++)
        if (counts[k]) count_n(db, k, counts[k]);
    __atomic_fetch_add(&db->samples_appended, counts[0], __ATOMIC_RELAXED);
    appender_free(a);
    return rc;
}

void tsdb_appender_rollback(tsdb_appender *a)
{
    core_err e = {{0}};
    if (log_records(a, false, &e) < 0)
        core_error("tsdb", "Cannot log series on rollback", "err", e.msg);
    appender_free(a);
}

/* ---- Compaction: head to block */

typedef struct collect {
    tsdb_hseries **v;
    size_t n, cap;
    int64_t mint, maxt;
} collect;

static void collect_series(void *ctx, tsdb_hseries *s)
{
    collect *c = ctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->v = core_reallocarray(c->v, c->cap, sizeof(*c->v));
    }
    c->v[c->n++] = s;
}

static int cmp_series(const void *a, const void *b)
{
    return core_labels_compare(tsdb_hs_labels(*(tsdb_hseries *const *)a),
                               tsdb_hs_labels(*(tsdb_hseries *const *)b));
}

static int cmp_ptr_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The sorted, unique label strings of the series (interned: equal strings
 * are the same pointer, but sorting compares text). */
static tsdb_str *symbols_of(tsdb_hseries **v, size_t n, size_t *nsym)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += 2 * tsdb_hs_labels(v[i])->len;
    const char **all = core_calloc(total ? total : 1, sizeof(*all));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t l = 0; l < tsdb_hs_labels(v[i])->len; l++) {
            all[k++] = tsdb_hs_labels(v[i])->v[l].name;
            all[k++] = tsdb_hs_labels(v[i])->v[l].value;
        }
    qsort(all, k, sizeof(*all), cmp_ptr_str);
    tsdb_str *out = core_calloc(k ? k : 1, sizeof(*out));
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        if (i == 0 || strcmp(all[i], all[i - 1]) != 0) out[m++] = tsdb_str_c(all[i]);
    free(all);
    *nsym = m;
    return out;
}

static bool deleted_at(const tsdb_stone *st, int64_t t)
{
    for (size_t i = 0; st && i < st->n; i++)
        if (st->iv[i].mint <= t && t <= st->iv[i].maxt) return true;
    return false;
}

const uint8_t *tsdb_trim_chunk(const uint8_t *data, uint32_t len, int64_t mint, int64_t maxt,
                               const tsdb_stone *st, core_arena *arena, tsdb_chunk_meta *meta,
                               uint32_t *outlen)
{
    tsdb_xor_iter it;
    tsdb_xor x;
    core_err e = {{0}};
    if (tsdb_xor_iter_init(&it, data, len, &e) < 0) return NULL;
    tsdb_xor_init(&x);
    int64_t first = INT64_MAX, last = INT64_MIN;
    while (tsdb_xor_iter_next(&it)) {
        if (it.t < mint || it.t > maxt || deleted_at(st, it.t)) continue;
        tsdb_xor_append_bits(&x, it.t, it.v, &e);
        if (first == INT64_MAX) first = it.t;
        last = it.t;
    }
    const uint8_t *out = NULL;
    if (first != INT64_MAX) {
        size_t n;
        const uint8_t *b = tsdb_xor_bytes(&x, &n);
        uint8_t *copy = core_arena_alloc(arena, n);
        memcpy(copy, b, n);
        out = copy;
        *outlen = (uint32_t)n;
        meta->mint = first;
        meta->maxt = last;
    }
    tsdb_xor_destroy(&x);
    return out;
}

int tsdb_head_write_block(tsdb_head *h, const char *parent, int64_t mint, int64_t maxt,
                          tsdb_ulid *ulid, core_err *err)
{
    collect c = {0};
    tsdb_head_read_lock(h);
    tsdb_head_each(h, collect_series, &c);
    if (c.n) qsort(c.v, c.n, sizeof(*c.v), cmp_series);
    size_t nsym;
    tsdb_str *sym = symbols_of(c.v, c.n, &nsym);
    int rc = 0;
    tsdb_block_writer *w = tsdb_block_writer_new(parent, mint, maxt, sym, nsym, err);
    if (!w) rc = -1;
    core_arena arena;
    core_arena_init(&arena, 0);
    for (size_t i = 0; rc == 0 && i < c.n; i++) {
        core_arena_reset(&arena);
        tsdb_chunk_meta *metas;
        const uint8_t **bytes;
        uint32_t *lens;
        size_t n =
            tsdb_head_series_chunks(h, c.v[i], mint, maxt - 1, &arena, &metas, &bytes, &lens);
        const tsdb_stone *st = tsdb_head_stone_copy(h, c.v[i]->ref, &arena);
        size_t k = 0;
        for (size_t j = 0; j < n; j++) {
            if (metas[j].mint < mint || metas[j].maxt >= maxt || st) {
                bytes[j] = tsdb_trim_chunk(bytes[j], lens[j], mint, maxt - 1, st, &arena, &metas[j],
                                           &lens[j]);
                if (!bytes[j]) continue;
            }
            metas[k] = metas[j];
            bytes[k] = bytes[j];
            lens[k++] = lens[j];
        }
        rc = tsdb_block_writer_add(w, tsdb_hs_labels(c.v[i]), metas, bytes, lens, k, err);
    }
    core_arena_destroy(&arena);
    tsdb_head_read_unlock(h);
    free(c.v);
    free(sym);
    if (rc < 0) {
        tsdb_block_writer_abort(w);
        return -1;
    }
    return tsdb_block_writer_commit(w, ulid, err);
}

static int cmp_block_mint(const void *a, const void *b)
{
    const tsdb_block *x = a, *y = b;
    return x->meta.mint < y->meta.mint ? -1 : x->meta.mint > y->meta.mint;
}

static bool ulid_zero(const tsdb_ulid *u)
{
    static const tsdb_ulid zero;
    return memcmp(u, &zero, sizeof zero) == 0;
}

/* Deletes a block's directory: renamed first, as upstream, so that a crash
 * in the middle leaves a temporary directory the next open removes rather
 * than half a block. */
static void delete_block_dir(const char *dir)
{
    char *tmp = core_malloc(strlen(dir) + 32);
    sprintf(tmp, "%s.tmp-for-deletion", dir);
    if (rename(dir, tmp) == 0) tsdb_remove_tree(tmp);
    free(tmp);
}

int tsdb_db_replace_blocks(tsdb_db *db, const tsdb_ulid *added, const tsdb_ulid *old, size_t nold,
                           core_err *err)
{
    tsdb_block b;
    bool adding = added && !ulid_zero(added);
    if (adding) {
        char name[TSDB_ULID_LEN + 1];
        tsdb_ulid_format(added, name);
        char *p = tsdb_path_join(db->dir, name);
        int rc = tsdb_block_open(&b, p, err);
        free(p);
        if (rc < 0) return -1;
        b.skip_crc = !db->opts.read_only;
    }
    char **gone = core_calloc(nold ? nold : 1, sizeof(*gone));
    size_t ngone = 0;
    pthread_rwlock_wrlock(&db->blocks_lock);
    for (size_t k = 0; k < db->nblocks;) {
        bool replaced = false;
        for (size_t i = 0; i < nold && !replaced; i++)
            replaced = memcmp(&db->blocks[k].meta.ulid, &old[i], sizeof(*old)) == 0;
        if (!replaced) {
            k++;
            continue;
        }
        gone[ngone++] = core_strdup(db->blocks[k].dir);
        tsdb_block_close(&db->blocks[k]);
        memmove(db->blocks + k, db->blocks + k + 1, (db->nblocks - k - 1) * sizeof(*db->blocks));
        db->nblocks--;
    }
    if (adding) {
        db->blocks = core_reallocarray(db->blocks, db->nblocks + 1, sizeof(*db->blocks));
        db->blocks[db->nblocks++] = b;
        qsort(db->blocks, db->nblocks, sizeof(*db->blocks), cmp_block_mint);
    }
    pthread_rwlock_unlock(&db->blocks_lock);
    for (size_t i = 0; i < ngone; i++) {
        delete_block_dir(gone[i]);
        free(gone[i]);
    }
    free(gone);
    return 0;
}

int tsdb_db_add_block(tsdb_db *db, const tsdb_ulid *ulid, core_err *err)
{
    return tsdb_db_replace_blocks(db, ulid, NULL, 0, err);
}

/* At open: blocks that a loaded block names as its parents (a crash came
 * between writing a compacted block and deleting what it replaces) or that
 * are marked deletable are taken out of the list, and deleted unless the db
 * is read-only, as upstream's reloadBlocks. */
static void drop_replaced(tsdb_db *db)
{
    size_t k = 0;
    for (size_t i = 0; i < db->nblocks; i++) {
        tsdb_block *b = &db->blocks[i];
        bool replaced = b->meta.deletable;
        for (size_t j = 0; j < db->nblocks && !replaced; j++)
            for (size_t p = 0; p < db->blocks[j].meta.nparents && !replaced; p++)
                replaced = memcmp(&db->blocks[j].meta.parents[p].ulid, &b->meta.ulid,
                                  sizeof(tsdb_ulid)) == 0;
        if (!replaced) {
            db->blocks[k++] = *b;
            continue;
        }
        core_info("tsdb", "Deleting block replaced by a compaction", "block", b->dir);
        char *dir = core_strdup(b->dir);
        tsdb_block_close(b);
        if (!db->opts.read_only) delete_block_dir(dir);
        free(dir);
    }
    db->nblocks = k;
}

/* ---- WAL checkpoints (upstream wlog.Checkpoint) */

typedef struct cp_state {
    tsdb_head *head;
    int64_t mint;
    core_arena arena;
    tsdb_rec_series *series;
    tsdb_rec_sample *samples;
    tsdb_rec_tombstone *stones;
    tsdb_wal_writer out;
    core_sb rec;
} cp_state;

/* Keeps a record's series that the head still has and samples at or after
 * mint; other record types are dropped. */
static int checkpoint_record(cp_state *cp, const uint8_t *rec, size_t len, core_err *err)
{
    size_t n = 0, k = 0;
    core_err e = {{0}};
    core_sb_reset(&cp->rec);
    switch (tsdb_rec_type(rec, len)) {
    case TSDB_REC_SERIES:
        core_arena_reset(&cp->arena);
        tsdb_rec_decode_series(rec, len, &cp->arena, &cp->series, &n, &e);
        for (size_t i = 0; i < n; i++)
            if (tsdb_head_series(cp->head, cp->series[i].ref)) cp->series[k++] = cp->series[i];
        if (k) tsdb_rec_encode_series(&cp->rec, cp->series, k);
        break;
    case TSDB_REC_SAMPLES:
        tsdb_rec_decode_samples(rec, len, &cp->samples, &n, &e);
        for (size_t i = 0; i < n; i++)
            if (cp->samples[i].t >= cp->mint) cp->samples[k++] = cp->samples[i];
        if (k) tsdb_rec_encode_samples(&cp->rec, cp->samples, k);
        break;
    case TSDB_REC_TOMBSTONES:
        tsdb_rec_decode_tombstones(rec, len, &cp->stones, &n, &e);
        for (size_t i = 0; i < n; i++)
            if (cp->stones[i].maxt >= cp->mint && tsdb_head_series(cp->head, cp->stones[i].ref))
                cp->stones[k++] = cp->stones[i];
        if (k) tsdb_rec_encode_tombstones(&cp->rec, cp->stones, k);
        break;
    default: break;
    }
    free(cp->series);
    free(cp->samples);
    free(cp->stones);
    cp->series = NULL;
    cp->samples = NULL;
    cp->stones = NULL;
    if (!cp->rec.len) return 0;
    return tsdb_wal_writer_log(&cp->out, (const uint8_t *)cp->rec.buf, cp->rec.len, err);
}

static int checkpoint_dir(cp_state *cp, const char *dir, uint64_t first, uint64_t last,
                          core_err *err)
{
    tsdb_wal_reader r;
    if (tsdb_wal_reader_open_from(&r, dir, first, err) < 0) return -1;
    const uint8_t *rec;
    size_t len;
    int rc;
    while ((rc = tsdb_wal_reader_next(&r, &rec, &len, err)) == 1) {
        if (r.nseg && r.seqs[r.cur] > last) break;
        if (checkpoint_record(cp, rec, len, err) < 0) {
            rc = -1;
            break;
        }
    }
    tsdb_wal_reader_close(&r);
    return rc < 0 ? -1 : 0;
}

/* Folds segments up to `last` (and the previous checkpoint) into
 * checkpoint.<last>, then deletes them and older checkpoints. */
static int checkpoint(tsdb_db *db, uint64_t last, int64_t mint, core_err *err)
{
    char *wal = tsdb_path_join(db->dir, "wal");
    char name[64], *tmp, *final, *prev = NULL;
    uint64_t prevn = 0;
    bool have_prev = last_checkpoint(wal, &prevn, &prev);
    snprintf(name, sizeof name, "checkpoint.%08llu.tmp", (unsigned long long)last);
    tmp = tsdb_path_join(wal, name);
    snprintf(name, sizeof name, "checkpoint.%08llu", (unsigned long long)last);
    final = tsdb_path_join(wal, name);
    tsdb_remove_tree(tmp);
    cp_state cp = {.head = db->head, .mint = mint};
    core_arena_init(&cp.arena, 0);
    int rc = tsdb_wal_writer_open(&cp.out, tmp, 0, db->opts.wal_compression, err);
    bool out_open = rc == 0;
    if (rc == 0 && have_prev) rc = checkpoint_dir(&cp, prev, 0, UINT64_MAX, err);
    if (rc == 0) rc = checkpoint_dir(&cp, wal, have_prev ? prevn + 1 : 0, last, err);
    if (out_open && tsdb_wal_writer_close(&cp.out, rc < 0 ? NULL : err) < 0) rc = -1;
    if (rc == 0 && rename(tmp, final) < 0)
        rc = core_err_set(err, "rename %s: %s", tmp, strerror(errno));
    if (rc == 0) tsdb_fsync_dir(wal, NULL);
    if (rc == 0) {
        uint64_t *seqs = NULL;
        size_t n = 0;
        if (tsdb_wal_segments(wal, &seqs, &n, NULL) == 0)
            for (size_t i = 0; i < n; i++)
                if (seqs[i] <= last) {
                    snprintf(name, sizeof name, "%08llu", (unsigned long long)seqs[i]);
                    char *p = tsdb_path_join(wal, name);
                    unlink(p);
                    free(p);
                }
        free(seqs);
        if (have_prev && prevn != last) tsdb_remove_tree(prev);
    } else {
        tsdb_remove_tree(tmp);
    }
    core_arena_destroy(&cp.arena);
    core_sb_destroy(&cp.rec);
    free(tmp);
    free(final);
    free(prev);
    free(wal);
    return rc;
}

/* After the head was truncated to mint: starts a new segment and folds the
 * first two thirds of the segments into a checkpoint, as upstream does. */
static int truncate_wal(tsdb_db *db, int64_t mint, core_err *err)
{
    if (!db->wal_open) return 0;
    pthread_mutex_lock(&db->wal_mtx);
    int rc = tsdb_wal_writer_next_segment(&db->wal, err);
    uint64_t cur = db->wal.seq;
    pthread_mutex_unlock(&db->wal_mtx);
    if (rc < 0) return -1;
    char *wal = tsdb_path_join(db->dir, "wal");
    uint64_t *seqs = NULL;
    size_t n = 0;
    rc = tsdb_wal_segments(wal, &seqs, &n, err);
    free(wal);
    if (rc < 0 || n < 2) {
        free(seqs);
        return rc;
    }
    uint64_t first = seqs[0];
    free(seqs);
    uint64_t last = first + (cur - 1 - first) * 2 / 3;
    if (cur - 1 - first < 2) last = cur - 1; /* few segments: all but the open one */
    return checkpoint(db, last, mint, err);
}

/* ---- Retention */

static int64_t dir_size(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0) return 0;
    if (!S_ISDIR(st.st_mode)) return st.st_size;
    int64_t total = 0;
    DIR *d = opendir(path);
    if (!d) return 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char *p = tsdb_path_join(path, de->d_name);
        total += dir_size(p);
        free(p);
    }
    closedir(d);
    return total;
}

/* Deletes the blocks beyond the time or size limit, oldest first. */
static void apply_retention(tsdb_db *db)
{
    pthread_rwlock_wrlock(&db->blocks_lock);
    size_t n = db->nblocks, drop = 0;
    int64_t newest = blocks_maxt(db);
    if (db->opts.retention_ms > 0)
        while (drop + 1 < n && newest - db->blocks[drop].meta.maxt > db->opts.retention_ms)
            drop++;
    if (db->opts.retention_bytes > 0) {
        char *wal = tsdb_path_join(db->dir, "wal"), *hc = tsdb_path_join(db->dir, "chunks_head");
        int64_t total = dir_size(wal) + dir_size(hc);
        free(wal);
        free(hc);
        int64_t *sizes = core_calloc(n ? n : 1, sizeof(*sizes));
        for (size_t i = 0; i < n; i++)
            total += sizes[i] = dir_size(db->blocks[i].dir);
        for (size_t i = 0; i < drop; i++)
            total -= sizes[i];
        while (drop < n && total > db->opts.retention_bytes)
            total -= sizes[drop++];
        free(sizes);
    }
    for (size_t i = 0; i < drop; i++) {
        char *dir = core_strdup(db->blocks[i].dir);
        tsdb_block_close(&db->blocks[i]);
        delete_block_dir(dir);
        core_info("tsdb", "Deleting obsolete block", "block", dir);
        free(dir);
    }
    memmove(db->blocks, db->blocks + drop, (n - drop) * sizeof(*db->blocks));
    db->nblocks = n - drop;
    db->retention_deleted += drop;
    pthread_rwlock_unlock(&db->blocks_lock);
}

/* ---- Compacting blocks (upstream's DB.compactBlocks) */

/* Runs the planner's choices until it has none.  The inputs are read under
 * the block list's read lock (queries go on; deletes wait); the new block
 * takes their place in one step.  A failed compaction marks its inputs
 * failed (meta.json), so the planner's leveled choices skip them, as
 * upstream. */
static int compact_blocks(tsdb_db *db, core_err *err)
{
    for (;;) {
        pthread_rwlock_rdlock(&db->blocks_lock);
        size_t n = db->nblocks;
        const tsdb_block_meta **metas = core_calloc(n ? n : 1, sizeof(*metas));
        size_t *pick = core_calloc(n ? n : 1, sizeof(*pick));
        for (size_t i = 0; i < n; i++)
            metas[i] = &db->blocks[i].meta;
        size_t k = tsdb_compact_plan(metas, n, db->ranges, db->nranges, pick);
        const tsdb_block **in = core_calloc(k ? k : 1, sizeof(*in));
        tsdb_ulid *old = core_calloc(k ? k : 1, sizeof(*old));
        for (size_t i = 0; i < k; i++) {
            in[i] = &db->blocks[pick[i]];
            old[i] = in[i]->meta.ulid;
        }
        tsdb_ulid added;
        core_err e = {{0}};
        int rc = k ? tsdb_compact_blocks(in, k, k == 1, db->dir, &added, &e) : 0;
        pthread_rwlock_unlock(&db->blocks_lock);
        free(metas);
        free(pick);
        free(in);
        if (rc == 0 && k && (rc = tsdb_db_replace_blocks(db, &added, old, k, &e)) < 0) {
            char name[TSDB_ULID_LEN + 1];
            tsdb_ulid_format(&added, name);
            char *p = tsdb_path_join(db->dir, name);
            delete_block_dir(p); /* else the next open would prefer it to its parents */
            free(p);
        }
        if (rc < 0) {
            __atomic_fetch_add(&db->compactions_failed, 1, __ATOMIC_RELAXED);
            core_error("tsdb", "Compaction of blocks failed", "err", e.msg);
            pthread_rwlock_wrlock(&db->blocks_lock);
            for (size_t i = 0; i < db->nblocks; i++)
                for (size_t j = 0; j < k; j++)
                    if (!memcmp(&db->blocks[i].meta.ulid, &old[j], sizeof(*old))) {
                        db->blocks[i].meta.failed = true;
                        tsdb_block_meta_write(&db->blocks[i].meta, db->blocks[i].dir,
                                              &db->blocks[i].meta_size, NULL);
                    }
            pthread_rwlock_unlock(&db->blocks_lock);
            core_err_set(err, "%s", e.msg);
        } else if (k) {
            __atomic_fetch_add(&db->compactions, 1, __ATOMIC_RELAXED);
        }
        free(old);
        if (rc < 0) return -1;
        if (!k) return 0;
    }
}

int tsdb_db_compact(tsdb_db *db, core_err *err)
{
    pthread_mutex_lock(&db->compact_mtx);
    int rc = 0;
    int64_t range = db->opts.min_block_ms;
    for (;;) {
        tsdb_head_stats st = tsdb_head_get_stats(db->head);
        if (st.mint == INT64_MAX || st.maxt - st.mint <= range / 2 * 3) break;
        int64_t mint = st.mint;
        int64_t maxt = (mint / range) * range + range;
        if (mint < 0 && mint % range) maxt -= range; /* floor for negative times */
        tsdb_ulid ulid;
        if (tsdb_head_write_block(db->head, db->dir, mint, maxt, &ulid, err) < 0) {
            rc = -1;
            break;
        }
        static const tsdb_ulid zero;
        if (memcmp(&ulid, &zero, sizeof zero) != 0 && tsdb_db_add_block(db, &ulid, err) < 0) {
            rc = -1;
            break;
        }
        tsdb_head_truncate(db->head, maxt);
        __atomic_fetch_add(&db->compactions, 1, __ATOMIC_RELAXED);
        if (truncate_wal(db, maxt, err) < 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0 && !db->opts.read_only) rc = compact_blocks(db, err);
    if (rc == 0) apply_retention(db);
    pthread_mutex_unlock(&db->compact_mtx);
    return rc;
}
