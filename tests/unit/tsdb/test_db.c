/*
 * test_db.c - the database over a data directory: appenders (commit,
 * rollback, refusals and their counts, ref reuse), WAL replay on reopen
 * (also with snappy and zstd), a torn or bit-flipped WAL tail repaired, head
 * compaction into a block that our block opener verifies, the checkpoint that
 * replaces old segments, queries over blocks and head together,
 * retention by time and by size, and a WAL that logs a series twice (two refs, one
 * series) replayed on the two replay threads without losing samples.
 */
#define _GNU_SOURCE
#include "unit/unit.h"

#include "tsdb/tsdb.h"

#include "helpers.h"

#include <ftw.h>
#include <sys/stat.h>

#define H1 (3600 * 1000)

static core_labels *series_labels(int i)
{
    char inst[16];
    snprintf(inst, sizeof inst, "host%d", i);
    core_label p[] = {{"__name__", i % 2 ? "node_load1" : "node_cpu_seconds_total"},
                      {"instance", inst},
                      {"job", "node"}};
    return core_labels_new(p, 3);
}

/* Appends nseries x [from, to) every 15 s, one commit per timestamp. */
static void fill(tsdb_db *db, int nseries, int64_t from, int64_t to)
{
    core_err err = {{0}};
    uint64_t *refs = calloc((size_t)nseries, sizeof(*refs));
    for (int64_t t = from; t < to; t += 15000) {
        tsdb_appender *a = tsdb_db_appender(db);
        for (int i = 0; i < nseries; i++) {
            core_labels *ls = refs[i] ? NULL : series_labels(i);
            assert_int_equal(tsdb_appender_add(a, &refs[i], ls, t, (double)(t / 1000 + i), &err),
                             0);
            free(ls);
        }
        assert_int_equal(tsdb_appender_commit(a, &err), 0);
    }
    free(refs);
}

/* Counts series and samples over [mint, maxt], checking every value. */
static void count_all(tsdb_db *db, int64_t mint, int64_t maxt, size_t *nseries, size_t *nsamples)
{
    core_err err = {{0}};
    tsdb_querier q;
    tsdb_db_querier(db, &q);
    core_arena arena;
    core_arena_init(&arena, 0);
    tsdb_qseries *out;
    size_t n;
    assert_int_equal(tsdb_querier_select(&q, NULL, 0, mint, maxt, &arena, &out, &n, &err), 0);
    *nseries = n;
    *nsamples = 0;
    for (size_t i = 0; i < n; i++) {
        const char *inst = core_labels_get(out[i].labels, "instance");
        int idx = atoi(inst + 4);
        tsdb_qiter it;
        tsdb_qiter_init(&it, &out[i]);
        int64_t prev = INT64_MIN;
        while (tsdb_qiter_next(&it)) {
            double v;
            memcpy(&v, &it.v, sizeof v);
            assert_true(it.t > prev);
            assert_true(v == (double)(it.t / 1000 + idx));
            prev = it.t;
            (*nsamples)++;
        }
        assert_null(it.failure);
    }
    core_arena_destroy(&arena);
    tsdb_querier_close(&q);
}

static void test_append_replay(void **state)
{
    (void)state;
    static const tsdb_wal_compression modes[] = {TSDB_WAL_COMPRESS_NONE, TSDB_WAL_COMPRESS_SNAPPY,
                                                 TSDB_WAL_COMPRESS_ZSTD};
    for (size_t m = 0; m < 3; m++) {
        char *dir = tmpdir_new();
        core_err err = {{0}};
        tsdb_db_opts o = {.wal_compression = modes[m]};
        tsdb_db *db = tsdb_db_open(dir, &o, &err);
        assert_non_null(db);
        fill(db, 20, 0, 10 * 60000); /* 10 minutes: 40 samples each */
        size_t ns, nsamp;
        count_all(db, INT64_MIN, INT64_MAX, &ns, &nsamp);
        assert_int_equal(ns, 20);
        assert_int_equal(nsamp, 800);
        tsdb_db_stats st = tsdb_db_get_stats(db);
        assert_int_equal(st.samples_appended, 800);
        assert_int_equal(st.head.series, 20);
        /* A second server on the same directory is refused. */
        core_err e2 = {{0}};
        assert_null(tsdb_db_open(dir, &o, &e2));
        assert_non_null(strstr(e2.msg, "lock"));
        assert_int_equal(tsdb_db_close(db, &err), 0);
        db = tsdb_db_open(dir, &o, &err);
        assert_non_null(db);
        count_all(db, INT64_MIN, INT64_MAX, &ns, &nsamp);
        assert_int_equal(ns, 20);
        assert_int_equal(nsamp, 800);
        /* Appending continues after the replayed data. */
        fill(db, 20, 10 * 60000, 11 * 60000);
        count_all(db, INT64_MIN, INT64_MAX, &ns, &nsamp);
        assert_int_equal(nsamp, 880);
        tsdb_db_close(db, &err);
        rm_tree(dir);
    }
}

static void test_refusals_and_rollback(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    core_err err = {{0}};
    tsdb_db *db = tsdb_db_open(dir, &(tsdb_db_opts){0}, &err);
    core_labels *ls = series_labels(1);
    uint64_t ref = 0;
    tsdb_appender *a = tsdb_db_appender(db);
    assert_int_equal(tsdb_appender_add(a, &ref, ls, 2000, 3, &err), 0);
    assert_int_not_equal(ref, 0);
    assert_int_equal(tsdb_appender_commit(a, &err), 0);
    a = tsdb_db_appender(db);
    assert_int_equal(tsdb_appender_add(a, &ref, NULL, 1000, 1, &err), TSDB_APPEND_OUT_OF_ORDER);
    assert_int_equal(tsdb_appender_add(a, &ref, NULL, 2000, 5, &err), TSDB_APPEND_DUPLICATE);
    assert_int_equal(tsdb_appender_add(a, &ref, NULL, 2000, 3, &err), 0); /* a quiet repeat */
    core_label none[1];
    core_labels *empty = core_labels_new(none, 0);
    uint64_t r2 = 0;
    assert_int_equal(tsdb_appender_add(a, &r2, empty, 3000, 1, &err), -1);
    assert_non_null(strstr(err.msg, "empty labelset"));
    uint64_t unknown = 999;
    assert_int_equal(tsdb_appender_add(a, &unknown, NULL, 3000, 1, &err), -1);
    assert_non_null(strstr(err.msg, "unknown series ref"));
    /* A rollback drops the samples but the new series stays known. */
    core_labels *other = series_labels(2);
    uint64_t r3 = 0;
    assert_int_equal(tsdb_appender_add(a, &r3, other, 3000, 1, &err), 0);
    tsdb_appender_rollback(a);
    tsdb_db_stats st = tsdb_db_get_stats(db);
    assert_int_equal(st.out_of_order, 1);
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(st.head.series, 2);
    size_t ns, nsamp;
    count_all(db, INT64_MIN, INT64_MAX, &ns, &nsamp);
    assert_int_equal(ns, 1);
    assert_int_equal(nsamp, 1);
    tsdb_db_close(db, &err);
    free(ls), free(empty), free(other);
    rm_tree(dir);
}

/* The newest WAL segment's path. */
static void last_segment(const char *dir, char *out, size_t cap)
{
    char wal[4096];
    snprintf(wal, sizeof wal, "%s/wal", dir);
    DIR *d = opendir(wal);
    struct dirent *e;
    char best[64] = "";
    while ((e = readdir(d)))
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && strcmp(e->d_name, best) > 0)
            snprintf(best, sizeof best, "%.60s", e->d_name);
    closedir(d);
    snprintf(out, cap, "%s/%s", wal, best);
}

static void test_wal_repair(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        char *dir = tmpdir_new();
        core_err err = {{0}};
        tsdb_db *db = tsdb_db_open(dir, &(tsdb_db_opts){0}, &err);
        fill(db, 10, 0, 5 * 60000); /* 20 commits */
        tsdb_db_close(db, &err);
        char seg[4200];
        last_segment(dir, seg, sizeof seg);
        struct stat st;
        assert_int_equal(stat(seg, &st), 0);
        /* The segment holds data in its first page; find the data's end. */
        FILE *f = fopen(seg, "r+b");
        assert_non_null(f);
        uint8_t *buf = malloc((size_t)st.st_size);
        assert_int_equal(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
        size_t end = (size_t)st.st_size;
        while (end > 0 && buf[end - 1] == 0)
            end--;
        if (mode == 0) { /* torn: the last record's tail is missing */
            assert_int_equal(ftruncate(fileno(f), (off_t)(end - 20)), 0);
        } else { /* a flipped bit in the last record */
            fseek(f, (long)(end - 10), SEEK_SET);
            uint8_t b = buf[end - 10] ^ 0x10;
            fwrite(&b, 1, 1, f);
        }
        fclose(f);
        free(buf);
        db = tsdb_db_open(dir, &(tsdb_db_opts){0}, &err);
        assert_non_null(db);
        tsdb_db_stats s = tsdb_db_get_stats(db);
        assert_int_equal(s.wal_corruptions, 1);
        size_t ns, nsamp;
        count_all(db, INT64_MIN, INT64_MAX, &ns, &nsamp);
        assert_int_equal(ns, 10);
        assert_int_equal(nsamp, 190); /* the last commit is lost, nothing else */
        fill(db, 10, 5 * 60000, 6 * 60000);
        tsdb_db_close(db, &err);
        /* Reopens cleanly: the repair cut the bad record. */
        db = tsdb_db_open(dir, &(tsdb_db_opts){0}, &err);
        assert_non_null(db);
        assert_int_equal(tsdb_db_get_stats(db).wal_corruptions, 0);
        count_all(db, INT64_MIN, INT64_MAX, &ns, &nsamp);
        assert_int_equal(nsamp, 230);
        tsdb_db_close(db, &err);
        rm_tree(dir);
    }
}

/* Lists the block directories (names of 26 characters with meta.json). */
static size_t list_blocks(const char *dir, char names[][32], size_t cap)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;
    char p[4200];
    while ((e = readdir(d))) {
        snprintf(p, sizeof p, "%s/%s/meta.json", dir, e->d_name);
        struct stat st;
        if (strlen(e->d_name) == 26 && stat(p, &st) == 0 && n < cap)
            snprintf(names[n++], 32, "%.26s", e->d_name);
    }
    closedir(d);
    return n;
}

static void test_compaction(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    core_err err = {{0}};
    tsdb_db *db = tsdb_db_open(dir, &(tsdb_db_opts){0}, &err);
    fill(db, 30, 0, 5 * H1); /* 5 hours: compacts [0, 2h) once */
    assert_int_equal(tsdb_db_compact(db, &err), 0);
    char names[8][32];
    assert_int_equal(list_blocks(dir, names, 8), 1);
    tsdb_db_stats st = tsdb_db_get_stats(db);
    assert_int_equal(st.compactions, 1);
    assert_int_equal(st.blocks, 1);
    assert_true(st.head.mint >= 2 * H1);
    /* The block opens and verifies: 30 series x 480 samples in [0, 2h). */
    char bdir[4200];
    snprintf(bdir, sizeof bdir, "%s/%s", dir, names[0]);
    tsdb_block b;
    assert_int_equal(tsdb_block_open(&b, bdir, &err), 0);
    assert_int_equal(b.meta.mint, 0);
    assert_int_equal(b.meta.maxt, 2 * H1);
    assert_int_equal(b.meta.level, 1);
    tsdb_block_stats bs;
    assert_int_equal(tsdb_block_verify(&b, &bs, &err), 0);
    assert_int_equal(bs.num_series, 30);
    assert_int_equal(bs.num_samples, 30 * 480);
    assert_int_equal(b.meta.stats.num_samples, 30 * 480);
    tsdb_block_close(&b);
    /* Every sample once, across block and head. */
    size_t ns, nsamp;
    count_all(db, INT64_MIN, INT64_MAX, &ns, &nsamp);
    assert_int_equal(ns, 30);
    assert_int_equal(nsamp, 30 * 1200);
    count_all(db, H1, 3 * H1, &ns, &nsamp); /* a range across the boundary */
    assert_int_equal(nsamp, 30 * 481);
    /* The WAL's old segments became a checkpoint; a reopen replays it. */
    char cp[4200];
    snprintf(cp, sizeof cp, "%s/wal/checkpoint.00000000", dir);
    struct stat sst;
    assert_int_equal(stat(cp, &sst), 0);
    tsdb_db_close(db, &err);
    db = tsdb_db_open(dir, &(tsdb_db_opts){0}, &err);
    assert_non_null(db);
    count_all(db, INT64_MIN, INT64_MAX, &ns, &nsamp);
    assert_int_equal(ns, 30);
    assert_int_equal(nsamp, 30 * 1200);
    /* Samples older than the newest block are refused. */
    tsdb_appender *a = tsdb_db_appender(db);
    uint64_t ref = 0;
    core_labels *ls = series_labels(99);
    assert_int_equal(tsdb_appender_add(a, &ref, ls, H1, 1, &err), TSDB_APPEND_OUT_OF_BOUNDS);
    tsdb_appender_rollback(a);
    free(ls);
    /* More data: two more blocks, then retention of 3h keeps the newest. */
    fill(db, 30, 5 * H1, 9 * H1);
    assert_int_equal(tsdb_db_compact(db, &err), 0);
    assert_int_equal(list_blocks(dir, names, 8), 3);
    tsdb_db_close(db, &err);
    db = tsdb_db_open(dir, &(tsdb_db_opts){.retention_ms = 3 * H1}, &err);
    assert_int_equal(tsdb_db_compact(db, &err), 0);
    assert_int_equal(list_blocks(dir, names, 8), 2);
    assert_int_equal(tsdb_db_get_stats(db).retention_deleted, 1);
    count_all(db, INT64_MIN, INT64_MAX, &ns, &nsamp);
    assert_int_equal(nsamp, 30 * (1200 + 960 - 480));
    tsdb_db_close(db, &err);
    rm_tree(dir);
}

static int64_t tree_bytes;

static int add_size(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path, (void)ftw;
    if (flag == FTW_F) tree_bytes += st->st_size;
    return 0;
}

static int64_t du(const char *dir, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    tree_bytes = 0;
    nftw(path, add_size, 16, FTW_PHYS);
    return tree_bytes;
}

/* Orders block names by their meta.json's minTime. */
static void sort_by_mint(const char *dir, char names[][32], size_t n)
{
    int64_t mint[8];
    for (size_t i = 0; i < n; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        tsdb_block_meta m;
        core_err err = {{0}};
        assert_int_equal(tsdb_block_meta_read(&m, path, NULL, &err), 0);
        mint[i] = m.mint;
        tsdb_block_meta_destroy(&m);
    }
    for (size_t i = 1; i < n; i++) /* insertion sort: a handful */
        for (size_t j = i; j > 0 && mint[j - 1] > mint[j]; j--) {
            int64_t t = mint[j];
            mint[j] = mint[j - 1];
            mint[j - 1] = t;
            char tmp[32];
            memcpy(tmp, names[j], 32);
            memcpy(names[j], names[j - 1], 32);
            memcpy(names[j - 1], tmp, 32);
        }
}

/* Retention by size: blocks, WAL and head chunks together stay under the
 * limit, the oldest blocks deleted first, whole. */
static void test_retention_size(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    core_err err = {{0}};
    tsdb_db_opts o = {.max_block_ms = 2 * H1, .retention_ms = 1000 * (int64_t)H1}; /* no merging */
    tsdb_db *db = tsdb_db_open(dir, &o, &err);
    fill(db, 30, 0, 11 * H1); /* blocks [0,2h) ... [6h,8h), head [8h, 11h) */
    assert_int_equal(tsdb_db_compact(db, &err), 0);
    tsdb_db_close(db, &err);
    /* Once more, to measure what an open counts (it starts chunks_head/
     * afresh; a close writes the head's chunks there). */
    db = tsdb_db_open(dir, &o, &err);
    char names[8][32];
    assert_int_equal(list_blocks(dir, names, 8), 4);
    sort_by_mint(dir, names, 4);
    int64_t newest2 = du(dir, names[2]) + du(dir, names[3]);
    int64_t rest = du(dir, "wal") + du(dir, "chunks_head");
    tsdb_db_close(db, &err);
    /* Room for the WAL, the head chunks and the two newest blocks, with half
     * a block to spare. */
    o.retention_bytes = rest + newest2 + du(dir, names[0]) / 2;
    db = tsdb_db_open(dir, &o, &err);
    assert_non_null(db);
    assert_int_equal(tsdb_db_compact(db, &err), 0);
    char left[8][32];
    assert_int_equal(list_blocks(dir, left, 8), 2);
    sort_by_mint(dir, left, 2);
    assert_string_equal(left[0], names[2]);
    assert_string_equal(left[1], names[3]);
    assert_int_equal(tsdb_db_get_stats(db).retention_deleted, 2);
    size_t ns, nsamp;
    count_all(db, INT64_MIN, INT64_MAX, &ns, &nsamp);
    assert_int_equal(nsamp, 30 * (11 - 4) * 240);
    tsdb_db_close(db, &err);
    rm_tree(dir);
}

static void test_corrupt_block_left_out(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    core_err err = {{0}};
    tsdb_db *db = tsdb_db_open(dir, &(tsdb_db_opts){0}, &err);
    fill(db, 5, 0, 4 * H1);
    assert_int_equal(tsdb_db_compact(db, &err), 0);
    tsdb_db_close(db, &err);
    char names[4][32];
    assert_int_equal(list_blocks(dir, names, 4), 1);
    char p[4200];
    snprintf(p, sizeof p, "%s/%s/index", dir, names[0]);
    FILE *f = fopen(p, "r+b");
    fseek(f, 0, SEEK_SET);
    fputc(0, f); /* bad magic */
    fclose(f);
    db = tsdb_db_open(dir, &(tsdb_db_opts){0}, &err);
    assert_non_null(db);
    assert_int_equal(tsdb_db_get_stats(db).blocks, 0);
    size_t ns, nsamp;
    count_all(db, INT64_MIN, INT64_MAX, &ns, &nsamp);
    assert_int_equal(ns, 5);
    assert_int_equal(nsamp, 5 * 480); /* the head's 2h */
    tsdb_db_close(db, &err);
    rm_tree(dir);
}

static void log_rec(tsdb_wal_writer *w, core_sb *rec)
{
    core_err err = {{0}};
    assert_int_equal(tsdb_wal_writer_log(w, (const uint8_t *)rec->buf, rec->len, &err), 0);
    core_sb_reset(rec);
}

/* Series 1 and 2 carry the same labels (2 is an alias of 1); their samples
 * alternate, in records of many samples, with series 3 beside them. */
static void test_replay_alias(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    char wal[4096];
    snprintf(wal, sizeof wal, "%s/wal", dir);
    core_err err = {{0}};
    tsdb_wal_writer w;
    assert_int_equal(tsdb_wal_writer_open(&w, wal, 0, TSDB_WAL_COMPRESS_NONE, &err), 0);
    core_labels *a = series_labels(0), *b = series_labels(1);
    core_sb rec = CORE_SB_INIT;
    tsdb_rec_series rs[] = {{1, a}, {3, b}, {2, a}};
    tsdb_rec_encode_series(&rec, rs, 3);
    log_rec(&w, &rec);
    enum { N = 40000 };
    tsdb_rec_sample *smp = calloc(2 * N, sizeof(*smp));
    for (int i = 0; i < N; i++) {
        int64_t t = (int64_t)i * 15000;
        double va = (double)(t / 1000), vb = (double)(t / 1000 + 1);
        smp[2 * i] = (tsdb_rec_sample){.ref = i % 2 ? 2 : 1, .t = t};
        memcpy(&smp[2 * i].v, &va, sizeof va);
        smp[2 * i + 1] = (tsdb_rec_sample){.ref = 3, .t = t};
        memcpy(&smp[2 * i + 1].v, &vb, sizeof vb);
    }
    for (int k = 0; k < 2 * N; k += 2000) {
        tsdb_rec_encode_samples(&rec, smp + k, 2000);
        log_rec(&w, &rec);
    }
    assert_int_equal(tsdb_wal_writer_close(&w, &err), 0);
    core_sb_destroy(&rec);
    free(smp);
    free(a);
    free(b);
    tsdb_db *db = tsdb_db_open(dir, &(tsdb_db_opts){0}, &err);
    assert_non_null(db);
    tsdb_db_stats st = tsdb_db_get_stats(db);
    assert_int_equal(st.head.series, 2);
    size_t ns, nsamp;
    count_all(db, INT64_MIN, INT64_MAX, &ns, &nsamp);
    assert_int_equal(ns, 2);
    assert_int_equal(nsamp, 2 * N);
    assert_int_equal(tsdb_db_close(db, &err), 0);
    rm_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_replay),  cmocka_unit_test(test_refusals_and_rollback),
        cmocka_unit_test(test_wal_repair),     cmocka_unit_test(test_compaction),
        cmocka_unit_test(test_retention_size), cmocka_unit_test(test_corrupt_block_left_out),
        cmocka_unit_test(test_replay_alias),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
