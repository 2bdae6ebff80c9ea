/*
 * test_admin.c - deletes (tombstones in blocks and head, through the WAL and
 * compaction), cleaning tombstones (blocks rewritten without the deleted
 * samples), snapshots (hard-linked blocks plus the head as a block), and the
 * head's cardinality statistics.
 */
#define _GNU_SOURCE
#include "unit/unit.h"

#include "tsdb/tsdb.h"

#include "helpers.h"

#include <sys/stat.h>

#define H1 (3600 * 1000)

static core_labels *lbl(int i)
{
    char inst[16];
    snprintf(inst, sizeof inst, "h%d", i);
    core_label p[] = {{"__name__", i < 5 ? "up" : "load"}, {"instance", inst}};
    return core_labels_new(p, 2);
}

static void fill(tsdb_db *db, int64_t from, int64_t to)
{
    core_err err = {{0}};
    uint64_t refs[10] = {0};
    for (int64_t t = from; t < to; t += 15000) {
        tsdb_appender *a = tsdb_db_appender(db);
        for (int i = 0; i < 10; i++) {
            core_labels *ls = lbl(i);
            assert_int_equal(tsdb_appender_add(a, &refs[i], ls, t, (double)i, &err), 0);
            free(ls);
        }
        assert_int_equal(tsdb_appender_commit(a, &err), 0);
    }
}

/* Samples of instance h<i> in [mint, maxt]. */
static size_t count(tsdb_db *db, int i, int64_t mint, int64_t maxt)
{
    char inst[16];
    snprintf(inst, sizeof inst, "h%d", i);
    tsdb_matcher m = {
        .type = TSDB_MATCH_EQ, .name = tsdb_str_c("instance"), .value = tsdb_str_c(inst)};
    return db_count(db, &m, 1, mint, maxt);
}

static void test_delete_and_clean(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    core_err err = {{0}};
    tsdb_db *db = tsdb_db_open(dir, &(tsdb_db_opts){0}, &err);
    fill(db, 0, 5 * H1); /* a block [0, 2h) and a head [2h, 5h) */
    assert_int_equal(tsdb_db_compact(db, &err), 0);
    assert_int_equal(tsdb_db_get_stats(db).blocks, 1);
    assert_int_equal(count(db, 3, 0, 5 * H1), 1200);
    /* Delete h3 over [1h, 3h]: half in the block, half in the head. */
    tsdb_matcher m = {
        .type = TSDB_MATCH_EQ, .name = tsdb_str_c("instance"), .value = tsdb_str_c("h3")};
    assert_int_equal(tsdb_db_delete(db, &m, 1, H1, 3 * H1, &err), 0);
    assert_int_equal(count(db, 3, 0, 5 * H1), 1200 - 481);
    assert_int_equal(count(db, 4, 0, 5 * H1), 1200); /* others untouched */
    /* The block's tombstones file and meta.json say so. */
    tsdb_querier q;
    tsdb_db_querier(db, &q);
    assert_int_equal(q.blocks[0].meta.stats.num_tombstones, 1);
    char bdir[4096];
    snprintf(bdir, sizeof bdir, "%s", q.blocks[0].dir);
    tsdb_querier_close(&q);
    tsdb_block b;
    assert_int_equal(tsdb_block_open(&b, bdir, &err), 0);
    assert_int_equal(tsdb_tombstones_total(&b.tombstones), 1);
    tsdb_block_close(&b);
    /* The head's deletion survives a restart (WAL) ... */
    tsdb_db_close(db, &err);
    db = tsdb_db_open(dir, &(tsdb_db_opts){0}, &err);
    assert_non_null(db);
    assert_int_equal(count(db, 3, 0, 5 * H1), 1200 - 481);
    /* ... and compaction: the new block leaves the deleted samples out. */
    fill(db, 5 * H1, 7 * H1);
    assert_int_equal(tsdb_db_compact(db, &err), 0);
    assert_int_equal(tsdb_db_get_stats(db).blocks, 2);
    assert_int_equal(count(db, 3, 0, 7 * H1), 1680 - 481);
    /* Cleaning rewrites the first block without h3's deleted samples. */
    assert_int_equal(tsdb_db_clean_tombstones(db, &err), 0);
    tsdb_db_querier(db, &q);
    assert_int_equal(q.n, 2);
    for (size_t i = 0; i < q.n; i++)
        assert_int_equal(q.blocks[i].tombstones.n, 0);
    assert_int_equal(q.blocks[0].meta.stats.num_samples, 10 * 480 - 240);
    tsdb_querier_close(&q);
    assert_int_equal(count(db, 3, 0, 7 * H1), 1680 - 481);
    struct stat st;
    assert_int_not_equal(stat(bdir, &st), 0); /* the old block is gone */
    /* Deleting everything of a block and cleaning removes it. */
    tsdb_matcher all = {
        .type = TSDB_MATCH_NEQ, .name = tsdb_str_c("instance"), .value = tsdb_str_c("")};
    assert_int_equal(tsdb_db_delete(db, &all, 1, 0, 2 * H1 - 1, &err), 0);
    assert_int_equal(tsdb_db_clean_tombstones(db, &err), 0);
    assert_int_equal(tsdb_db_get_stats(db).blocks, 1);
    tsdb_db_close(db, &err);
    rm_tree(dir);
}

static void test_snapshot(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    core_err err = {{0}};
    tsdb_db *db = tsdb_db_open(dir, &(tsdb_db_opts){0}, &err);
    fill(db, 0, 5 * H1);
    assert_int_equal(tsdb_db_compact(db, &err), 0);
    char snap[4200];
    snprintf(snap, sizeof snap, "%s/snapshots/one", dir);
    char parent[4200];
    snprintf(parent, sizeof parent, "%s/snapshots", dir);
    mkdir(parent, 0777);
    assert_int_equal(tsdb_db_snapshot(db, snap, true, &err), 0);
    /* The snapshot opens as a data directory holding everything. */
    tsdb_db *copy = tsdb_db_open(snap, &(tsdb_db_opts){.read_only = true}, &err);
    assert_non_null(copy);
    assert_int_equal(tsdb_db_get_stats(copy).blocks, 2);
    assert_int_equal(count(copy, 7, 0, 5 * H1), 1200);
    tsdb_db_close(copy, &err);
    /* Without the head: only the block. */
    snprintf(snap, sizeof snap, "%s/snapshots/two", dir);
    assert_int_equal(tsdb_db_snapshot(db, snap, false, &err), 0);
    copy = tsdb_db_open(snap, &(tsdb_db_opts){.read_only = true}, &err);
    assert_int_equal(count(copy, 7, 0, 5 * H1), 480);
    tsdb_db_close(copy, &err);
    tsdb_db_close(db, &err);
    rm_tree(dir);
}

static void test_cardinality(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    core_err err = {{0}};
    tsdb_db *db = tsdb_db_open(dir, &(tsdb_db_opts){0}, &err);
    fill(db, 0, 60000);
    core_arena arena;
    core_arena_init(&arena, 0);
    tsdb_cardinality c;
    tsdb_head_cardinality(tsdb_db_head(db), "__name__", 10, &arena, &c);
    assert_int_equal(c.num_series, 10);
    assert_int_equal(c.n_series_by_metric, 2);
    assert_string_equal(c.series_by_metric[0].name, "load"); /* 5 each: by name */
    assert_int_equal(c.series_by_metric[0].count, 5);
    assert_int_equal(c.n_values_by_label, 2);
    assert_string_equal(c.values_by_label[0].name, "instance");
    assert_int_equal(c.values_by_label[0].count, 10);
    assert_string_equal(c.memory_by_label[0].name, "__name__"); /* 5*2 + 5*4 = 30 > 20 */
    assert_int_equal(c.memory_by_label[0].count, 30);
    assert_int_equal(c.n_series_by_pair, 10);
    assert_string_equal(c.series_by_pair[0].name, "__name__=load");
    tsdb_head_cardinality(tsdb_db_head(db), "__name__", 1, &arena, &c);
    assert_int_equal(c.n_series_by_pair, 1);
    core_arena_destroy(&arena);
    tsdb_db_close(db, &err);
    rm_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delete_and_clean),
        cmocka_unit_test(test_snapshot),
        cmocka_unit_test(test_cardinality),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
