/*
 * test_compact.c - leveled compaction: the ranges, the planner on block
 * layouts (levels, gaps, the newest block left out, failed blocks, overlaps,
 * tombstones, negative times), merging blocks (series united in label order,
 * lineage in meta.json, tombstones applied, overlapping chunks merged with
 * the first input winning a tie; a query over overlapping blocks merges the
 * same way), and the database around it (blocks merged
 * as they age, a crash between writing a merged block and deleting its
 * parents repaired at open).
 */
#define _GNU_SOURCE
#include "unit/unit.h"

#include "tsdb/tsdb.h"

#include "helpers.h"

#include <sys/stat.h>

#define H1 (INT64_C(3600) * 1000)

/* ---- Ranges */

static void test_ranges(void **state)
{
    (void)state;
    int64_t r[TSDB_COMPACT_MAX_RANGES];
    assert_int_equal(tsdb_compact_ranges(2 * H1, 36 * H1, r), 3); /* 15d retention */
    assert_true(r[0] == 2 * H1 && r[1] == 6 * H1 && r[2] == 18 * H1);
    assert_int_equal(tsdb_compact_ranges(2 * H1, 31 * 24 * H1, r), 6);
    assert_true(r[5] == 486 * H1);
    assert_int_equal(tsdb_compact_ranges(2 * H1, H1, r), 1); /* max below min: min */
    assert_int_equal(tsdb_compact_ranges(2 * H1, INT64_MAX, r), 10);
    assert_true(r[9] == 2 * H1 * 19683);
}

/* ---- Planning */

#define MAXB 8

typedef struct layout {
    tsdb_block_meta m[MAXB];
    const tsdb_block_meta *p[MAXB];
    size_t n;
} layout;

static void add(layout *l, int64_t mint, int64_t maxt)
{
    l->m[l->n] = (tsdb_block_meta){.mint = mint, .maxt = maxt, .level = 1};
    l->p[l->n] = &l->m[l->n];
    l->n++;
}

static const int64_t R[] = {20, 60, 180, 540};

/* The plan as a string of input indexes, "" for none. */
static const char *plan(const layout *l)
{
    static char buf[64];
    size_t out[MAXB];
    size_t k = tsdb_compact_plan(l->p, l->n, R, 4, out);
    buf[0] = 0;
    for (size_t i = 0; i < k; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%zu", i ? "," : "", out[i]);
    return buf;
}

static void test_plan_levels(void **state)
{
    (void)state;
    layout l = {0};
    assert_string_equal(plan(&l), "");
    add(&l, 0, 20);
    assert_string_equal(plan(&l), "");
    add(&l, 20, 40);
    add(&l, 40, 60); /* the newest is left out: 0-40 neither fills 60 nor ends before 20 */
    assert_string_equal(plan(&l), "");
    add(&l, 60, 80); /* now 0-60 is full */
    assert_string_equal(plan(&l), "0,1,2");

    layout s = {0}; /* any input order; indexes are the caller's */
    add(&s, 60, 80);
    add(&s, 40, 60);
    add(&s, 0, 20);
    add(&s, 20, 40);
    assert_string_equal(plan(&s), "2,3,1");

    layout up = {0}; /* three full 60s make a 180 */
    add(&up, 0, 60);
    add(&up, 60, 120);
    add(&up, 120, 180);
    add(&up, 180, 200);
    assert_string_equal(plan(&up), "0,1,2");

    layout gap = {0}; /* a gap inside a range that is spanned end to end */
    add(&gap, 0, 20);
    add(&gap, 40, 60);
    add(&gap, 60, 80);
    add(&gap, 80, 100);
    assert_string_equal(plan(&gap), "0,1");

    layout old = {0}; /* a partial range that ends before the newest kept block */
    add(&old, 0, 20);
    add(&old, 20, 40);
    add(&old, 60, 80);
    add(&old, 80, 100);
    assert_string_equal(plan(&old), "0,1");

    layout big = {0}; /* 0-100 fits no 60 range; at 180, 0-140 neither fills it nor ends
                       * before the newest kept block starts (120) */
    add(&big, 0, 100);
    add(&big, 100, 120);
    add(&big, 120, 140);
    add(&big, 140, 160);
    assert_string_equal(plan(&big), "");
    add(&big, 160, 180);
    add(&big, 180, 200); /* now 120-180 is full (a lower level first) */
    assert_string_equal(plan(&big), "2,3,4");

    layout neg = {0}; /* ranges aligned below zero too */
    add(&neg, -40, -20);
    add(&neg, -20, 0);
    add(&neg, 0, 20);
    add(&neg, 20, 40);
    assert_string_equal(plan(&neg), "0,1");
}

static void test_plan_failed(void **state)
{
    (void)state;
    layout l = {0};
    add(&l, 0, 20);
    add(&l, 20, 40);
    add(&l, 40, 60);
    add(&l, 60, 80);
    l.m[1].failed = true; /* its group is skipped at every level */
    assert_string_equal(plan(&l), "");
    add(&l, 180, 200);
    add(&l, 200, 220);
    add(&l, 220, 240);
    add(&l, 240, 260); /* another full range is still compacted */
    assert_string_equal(plan(&l), "4,5,6");
}

static void test_plan_overlaps(void **state)
{
    (void)state;
    layout l = {0};
    add(&l, 0, 20);
    add(&l, 10, 30);
    add(&l, 40, 60);
    assert_string_equal(plan(&l), "0,1");
    layout nw = {0}; /* overlaps include the newest block and go first */
    add(&nw, 0, 20);
    add(&nw, 20, 40);
    add(&nw, 40, 60);
    add(&nw, 60, 80);
    add(&nw, 70, 90);
    assert_string_equal(plan(&nw), "3,4");
    layout chain = {0}; /* a run: each overlaps the run so far */
    add(&chain, 0, 30);
    add(&chain, 10, 20);
    add(&chain, 25, 50);
    add(&chain, 50, 60);
    assert_string_equal(plan(&chain), "0,1,2");
}

static void test_plan_tombstones(void **state)
{
    (void)state;
    layout l = {0}; /* at least the middle range (180) */
    add(&l, 0, 180);
    add(&l, 180, 200);
    l.m[0].stats = (tsdb_block_stats){.num_series = 100, .num_tombstones = 5};
    assert_string_equal(plan(&l), ""); /* 5 of 101: not over 5% */
    l.m[0].stats.num_tombstones = 6;
    assert_string_equal(plan(&l), "0");
    layout small = {0}; /* under the middle range: only when all of it is deleted */
    add(&small, 0, 20);
    add(&small, 20, 40);
    small.m[0].stats = (tsdb_block_stats){.num_series = 10, .num_tombstones = 9};
    assert_string_equal(plan(&small), "");
    small.m[0].stats.num_tombstones = 10;
    assert_string_equal(plan(&small), "0");
}

/* ---- Merging */

typedef struct spec {
    const char *name;
    int64_t from, to, step;
    double add; /* value = t + add */
} spec;

/* A block under dir with one series per spec (120 samples a chunk);
 * returns its path (malloc'd). */
static char *write_block(const char *dir, int64_t mint, int64_t maxt, const spec *s, size_t n)
{
    core_err err = {{0}};
    const char *syms[2 * MAXB + 1];
    size_t ns = 0;
    syms[ns++] = "__name__";
    for (size_t i = 0; i < n; i++)
        syms[ns++] = s[i].name;
    tsdb_str sym[2 * MAXB + 1];
    /* names are given sorted, all after "__name__" */
    for (size_t i = 0; i < ns; i++)
        sym[i] = tsdb_str_c(syms[i]);
    tsdb_block_writer *w = tsdb_block_writer_new(dir, mint, maxt, sym, ns, &err);
    assert_non_null(w);
    for (size_t i = 0; i < n; i++) {
        tsdb_chunk_meta metas[64];
        const uint8_t *bytes[64];
        uint32_t lens[64];
        uint8_t *copies[64];
        size_t nc = 0;
        tsdb_xor x;
        tsdb_xor_init(&x);
        for (int64_t t = s[i].from; t <= s[i].to; t += s[i].step) {
            if (tsdb_xor_num_samples(&x) == 0) metas[nc].mint = t;
            tsdb_xor_append(&x, t, (double)t + s[i].add, &err);
            metas[nc].maxt = t;
            if (tsdb_xor_num_samples(&x) == 120 || t + s[i].step > s[i].to) {
                size_t len;
                const uint8_t *b = tsdb_xor_bytes(&x, &len);
                copies[nc] = malloc(len);
                memcpy(copies[nc], b, len);
                bytes[nc] = copies[nc];
                lens[nc++] = (uint32_t)len;
                tsdb_xor_destroy(&x);
                tsdb_xor_init(&x);
            }
        }
        tsdb_xor_destroy(&x);
        core_label p[] = {{"__name__", s[i].name}};
        core_labels *ls = core_labels_new(p, 1);
        assert_int_equal(tsdb_block_writer_add(w, ls, metas, bytes, lens, nc, &err), 0);
        free(ls);
        for (size_t c = 0; c < nc; c++)
            free(copies[c]);
    }
    tsdb_ulid u;
    assert_int_equal(tsdb_block_writer_commit(w, &u, &err), 0);
    char name[TSDB_ULID_LEN + 1];
    tsdb_ulid_format(&u, name);
    char *path;
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    return path;
}

/* Reads series `name` of block b: its samples' times and values. */
static size_t read_series(const tsdb_block *b, const char *name, int64_t *ts, double *vs,
                          size_t cap)
{
    core_err err = {{0}};
    tsdb_postings p;
    assert_int_equal(
        tsdb_index_postings(&b->index, tsdb_str_c("__name__"), tsdb_str_c(name), &p, &err), 0);
    if (p.n == 0) return 0;
    assert_int_equal(p.n, 1);
    tsdb_index_series s = {0};
    assert_int_equal(tsdb_index_series_read(&b->index, tsdb_postings_at(&p, 0), &s, &err), 0);
    size_t k = 0;
    int64_t last = INT64_MIN;
    for (size_t c = 0; c < s.nchunks; c++) {
        tsdb_chunk ch;
        assert_int_equal(tsdb_chunk_reader_chunk(&b->chunks, s.chunks[c].ref, &ch, &err), 0);
        tsdb_xor_iter it;
        assert_int_equal(tsdb_xor_iter_init(&it, ch.data, ch.len, &err), 0);
        bool first = true;
        while (tsdb_xor_iter_next(&it)) {
            assert_true(it.t > last); /* sorted, no duplicates, chunks in order */
            if (first) assert_true(it.t == s.chunks[c].mint);
            first = false;
            last = it.t;
            assert_true(k < cap);
            ts[k] = it.t;
            vs[k++] = tsdb_xor_iter_value(&it);
        }
        assert_true(last == s.chunks[c].maxt);
    }
    tsdb_index_series_destroy(&s);
    return k;
}

static void open_block(tsdb_block *b, const char *parent, const tsdb_ulid *u)
{
    char name[TSDB_ULID_LEN + 1], path[4096];
    tsdb_ulid_format(u, name);
    snprintf(path, sizeof path, "%s/%s", parent, name);
    core_err err = {{0}};
    assert_int_equal(tsdb_block_open(b, path, &err), 0);
}

static void test_merge(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    core_err err = {{0}};
    spec sa[] = {{"a", 0, 990, 10, 0}, {"b", 0, 500, 100, 0}};
    spec sb[] = {{"a", 1000, 1990, 10, 0}, {"c", 1000, 1500, 50, 0}};
    char *pa = write_block(dir, 0, 1000, sa, 2), *pb = write_block(dir, 1000, 2000, sb, 2);
    tsdb_block A, B;
    assert_int_equal(tsdb_block_open(&A, pa, &err), 0);
    assert_int_equal(tsdb_block_open(&B, pb, &err), 0);
    /* Delete c in [1100, 1200] in B (as tsdb_db_delete would, in memory). */
    tsdb_postings p;
    assert_int_equal(
        tsdb_index_postings(&B.index, tsdb_str_c("__name__"), tsdb_str_c("c"), &p, &err), 0);
    tsdb_tombstones_add(&B.tombstones, tsdb_postings_at(&p, 0), 1100, 1200);

    const tsdb_block *in[] = {&A, &B};
    tsdb_ulid u;
    assert_int_equal(tsdb_compact_blocks(in, 2, false, dir, &u, &err), 0);
    tsdb_block M;
    open_block(&M, dir, &u);
    assert_true(M.meta.mint == 0 && M.meta.maxt == 2000);
    assert_int_equal(M.meta.level, 2);
    assert_int_equal(M.meta.nparents, 2);
    assert_memory_equal(&M.meta.parents[0].ulid, &A.meta.ulid, sizeof(tsdb_ulid));
    assert_memory_equal(&M.meta.parents[1].ulid, &B.meta.ulid, sizeof(tsdb_ulid));
    assert_int_equal(M.meta.nsources, 2);
    assert_true(memcmp(&M.meta.sources[0], &M.meta.sources[1], sizeof(tsdb_ulid)) < 0);
    assert_int_equal(M.meta.stats.num_series, 3);
    assert_int_equal(M.meta.stats.num_samples, 200 + 6 + 11 - 3);
    assert_int_equal(M.tombstones.n, 0);
    tsdb_block_stats vs;
    assert_int_equal(tsdb_block_verify(&M, &vs, &err), 0);
    assert_int_equal(vs.num_samples, M.meta.stats.num_samples);
    int64_t ts[512];
    double v[512];
    assert_int_equal(read_series(&M, "a", ts, v, 512), 200);
    for (size_t i = 0; i < 200; i++)
        assert_true(ts[i] == (int64_t)i * 10 && v[i] == (double)ts[i]);
    assert_int_equal(read_series(&M, "b", ts, v, 512), 6);
    size_t nc = read_series(&M, "c", ts, v, 512);
    assert_int_equal(nc, 8);
    for (size_t i = 0; i < nc; i++)
        assert_true(ts[i] < 1100 || ts[i] > 1200);

    /* Level: one above the highest input; a merged block's sources carry on. */
    spec sc[] = {{"a", 2000, 2990, 10, 0}};
    char *pc = write_block(dir, 2000, 3000, sc, 1);
    tsdb_block C;
    assert_int_equal(tsdb_block_open(&C, pc, &err), 0);
    const tsdb_block *in2[] = {&M, &C};
    tsdb_ulid u2;
    assert_int_equal(tsdb_compact_blocks(in2, 2, false, dir, &u2, &err), 0);
    tsdb_block M2;
    open_block(&M2, dir, &u2);
    assert_int_equal(M2.meta.level, 3);
    assert_int_equal(M2.meta.nsources, 3);
    assert_int_equal(read_series(&M2, "a", ts, v, 512), 300);

    /* A rewrite (clean tombstones): level 1, its own source, B its parent. */
    const tsdb_block *one = &B;
    tsdb_ulid u3;
    assert_int_equal(tsdb_compact_blocks(&one, 1, true, dir, &u3, &err), 0);
    tsdb_block R1;
    open_block(&R1, dir, &u3);
    assert_int_equal(R1.meta.level, 1);
    assert_int_equal(R1.meta.nsources, 1);
    assert_memory_equal(&R1.meta.sources[0], &u3, sizeof u3);
    assert_memory_equal(&R1.meta.parents[0].ulid, &B.meta.ulid, sizeof(tsdb_ulid));
    assert_int_equal(read_series(&R1, "c", ts, v, 512), 8);

    tsdb_block_close(&R1);
    tsdb_block_close(&M2);
    tsdb_block_close(&C);
    tsdb_block_close(&M);
    tsdb_block_close(&A);
    tsdb_block_close(&B);
    free(pa);
    free(pb);
    free(pc);
    rm_tree(dir);
}

static void test_merge_overlapping(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    core_err err = {{0}};
    /* A and B overlap in [500, 1000]; at 600, 700, ... both have a sample,
     * with different values: A's (the first input) is kept. */
    spec sa[] = {{"a", 0, 1000, 10, 0}};
    spec sb[] = {{"a", 500, 1995, 5, 0.5}};
    char *pa = write_block(dir, 0, 1001, sa, 1), *pb = write_block(dir, 500, 2000, sb, 1);
    tsdb_block A, B;
    assert_int_equal(tsdb_block_open(&A, pa, &err), 0);
    assert_int_equal(tsdb_block_open(&B, pb, &err), 0);
    /* A query over both before they are merged: the same samples. */
    tsdb_block both[] = {A, B};
    tsdb_querier q = {.blocks = both, .n = 2};
    core_arena arena;
    core_arena_init(&arena, 0);
    tsdb_qseries *qs;
    size_t nq;
    assert_int_equal(tsdb_querier_select(&q, NULL, 0, INT64_MIN, INT64_MAX, &arena, &qs, &nq, &err),
                     0);
    assert_int_equal(nq, 1);
    tsdb_qiter it;
    tsdb_qiter_init(&it, &qs[0]);
    size_t nit = 0;
    while (tsdb_qiter_next(&it)) {
        double x;
        memcpy(&x, &it.v, sizeof x);
        bool from_a = it.t <= 1000 && it.t % 10 == 0;
        assert_true(x == (double)it.t + (from_a ? 0 : 0.5));
        nit++;
    }
    assert_int_equal(nit, 50 + 300);
    /* Seeking into the overlap. */
    tsdb_qiter_init(&it, &qs[0]);
    assert_true(tsdb_qiter_seek(&it, 702));
    assert_true(it.t == 705);
    core_arena_destroy(&arena);

    const tsdb_block *in[] = {&A, &B};
    tsdb_ulid u;
    assert_int_equal(tsdb_compact_blocks(in, 2, false, dir, &u, &err), 0);
    tsdb_block M;
    open_block(&M, dir, &u);
    int64_t ts[1024];
    double v[1024];
    size_t n = read_series(&M, "a", ts, v, 1024);
    assert_int_equal(n, 50 + 300); /* 0..490 by 10, then 500..1995 by 5 */
    for (size_t i = 0; i < n; i++) {
        bool from_a = ts[i] <= 1000 && ts[i] % 10 == 0;
        assert_true(v[i] == (double)ts[i] + (from_a ? 0 : 0.5));
    }
    assert_int_equal(M.meta.stats.num_samples, n);
    tsdb_block_stats vs;
    assert_int_equal(tsdb_block_verify(&M, &vs, &err), 0);
    tsdb_block_close(&M);
    tsdb_block_close(&A);
    tsdb_block_close(&B);
    free(pa);
    free(pb);
    rm_tree(dir);
}

/* ---- The database */

static void fill(tsdb_db *db, int64_t from, int64_t to)
{
    core_err err = {{0}};
    uint64_t refs[4] = {0};
    for (int64_t t = from; t < to; t += 60000) {
        tsdb_appender *a = tsdb_db_appender(db);
        for (int i = 0; i < 4; i++) {
            char inst[8];
            snprintf(inst, sizeof inst, "h%d", i);
            core_label p[] = {{"__name__", "up"}, {"instance", inst}};
            core_labels *ls = core_labels_new(p, 2);
            assert_int_equal(tsdb_appender_add(a, &refs[i], ls, t, (double)t, &err), 0);
            free(ls);
        }
        assert_int_equal(tsdb_appender_commit(a, &err), 0);
    }
}

static size_t count_all(tsdb_db *db)
{
    return db_count(db, NULL, 0, INT64_MIN, INT64_MAX);
}

static void test_db_levels(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    core_err err = {{0}};
    tsdb_db_opts o = {.max_block_ms = 18 * H1, .retention_ms = 1000 * H1};
    tsdb_db *db = tsdb_db_open(dir, &o, &err);
    assert_non_null(db);
    /* 41 hours: cut every hour as a scraper would. */
    for (int64_t h = 0; h < 41; h++) {
        fill(db, h * H1, (h + 1) * H1);
        assert_int_equal(tsdb_db_compact(db, &err), 0);
    }
    assert_int_equal(count_all(db), 4 * 41 * 60);
    tsdb_querier q;
    tsdb_db_querier(db, &q);
    /* Blocks up to 38h: [0,18) level 3, [18,24) and [24,30) level 2, [30,32) ...,
     * the newest level-1 blocks not yet merged. */
    assert_true(q.n >= 3);
    assert_true(q.blocks[0].meta.mint == 0 && q.blocks[0].meta.maxt == 18 * H1);
    assert_int_equal(q.blocks[0].meta.level, 3);
    assert_int_equal(q.blocks[0].meta.nsources, 9);
    for (size_t i = 1; i < q.n; i++) {
        assert_true(q.blocks[i - 1].meta.maxt <= q.blocks[i].meta.mint);
        assert_true(q.blocks[i].meta.maxt - q.blocks[i].meta.mint <= 18 * H1);
    }
    tsdb_querier_close(&q);
    tsdb_db_stats st = tsdb_db_get_stats(db);
    assert_int_equal(st.compactions_failed, 0);
    assert_true(st.compactions > 19);
    tsdb_db_close(db, &err);

    /* Reopened: the same data, the same blocks. */
    db = tsdb_db_open(dir, &o, &err);
    assert_non_null(db);
    assert_int_equal(count_all(db), 4 * 41 * 60);
    tsdb_db_close(db, &err);
    rm_tree(dir);
}

/* A crash after a merged block is in place but before its parents are
 * deleted: open deletes the parents, nothing is counted twice. */
static void test_db_crash_between(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    core_err err = {{0}};
    tsdb_db_opts o = {.max_block_ms = 2 * H1, .retention_ms = 1000 * H1}; /* no merging */
    tsdb_db *db = tsdb_db_open(dir, &o, &err);
    fill(db, 0, 7 * H1);
    assert_int_equal(tsdb_db_compact(db, &err), 0);
    assert_int_equal(tsdb_db_get_stats(db).blocks, 2);
    size_t total = count_all(db);
    tsdb_querier q;
    tsdb_db_querier(db, &q);
    const tsdb_block *in[] = {&q.blocks[0], &q.blocks[1]};
    char p0[4096], p1[4096];
    snprintf(p0, sizeof p0, "%s", q.blocks[0].dir);
    snprintf(p1, sizeof p1, "%s", q.blocks[1].dir);
    tsdb_ulid u;
    assert_int_equal(tsdb_compact_blocks(in, 2, false, dir, &u, &err), 0);
    tsdb_querier_close(&q);
    tsdb_db_close(db, &err);

    db = tsdb_db_open(dir, &o, &err);
    assert_non_null(db);
    assert_int_equal(tsdb_db_get_stats(db).blocks, 1);
    assert_int_equal(count_all(db), total);
    struct stat st;
    assert_int_not_equal(stat(p0, &st), 0);
    assert_int_not_equal(stat(p1, &st), 0);
    tsdb_db_close(db, &err);
    rm_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_plan_levels),
        cmocka_unit_test(test_plan_failed),
        cmocka_unit_test(test_plan_overlaps),
        cmocka_unit_test(test_plan_tombstones),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_merge_overlapping),
        cmocka_unit_test(test_db_levels),
        cmocka_unit_test(test_db_crash_between),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
