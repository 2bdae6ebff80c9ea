/*
 * test_spill.c - the spill log of open head chunks: chains read back from
 * the write buffer and from the files, across file boundaries; files closed
 * once their last record is released and the log left empty in the
 * directory; and the head spilling its open chunks: at most SPILL_CAP bytes
 * of chunk in memory per series, queries and cut chunks still exact,
 * records given back at every cut and when truncation removes a series.
 */
#include "unit/unit.h"

#include "tsdb/internal.h"

#include "helpers.h"

#include <dirent.h>

static size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void fill(uint8_t *seg, uint64_t chain, uint64_t i)
{
    for (size_t k = 0; k < TSDB_SPILL_SEG; k++)
        seg[k] = (uint8_t)(chain * 31 + i * 7 + k);
}

/* Three chains interleaved over more than one file (16 MiB each), read back
 * whole (by pread, and through the mappings for the second) while some
 * records are still in the write buffer. */
static void test_chains(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    core_err err = {{0}};
    tsdb_spill *sp = tsdb_spill_new(dir);
    enum { CHAINS = 3, LEN = 80000 }; /* 240,000 records of 72 bytes: two files */
    uint64_t *last = calloc(CHAINS, sizeof(*last));
    uint8_t seg[TSDB_SPILL_SEG];
    for (uint64_t i = 0; i < LEN; i++)
        for (uint64_t c = 0; c < CHAINS; c++) {
            fill(seg, c, i);
            assert_int_equal(tsdb_spill_put(sp, last[c], seg, &last[c], &err), 0);
        }
    uint64_t files, live;
    tsdb_spill_stats(sp, &files, &live);
    assert_int_equal(files, 2);
    assert_int_equal(live, (uint64_t)CHAINS * LEN * TSDB_SPILL_SEG);
    assert_int_equal(dir_entries(dir), 0); /* unlinked scratch files */

    uint8_t *out = malloc((size_t)LEN * TSDB_SPILL_SEG);
    uint64_t *offs = malloc(LEN * sizeof(*offs));
    for (uint64_t c = 0; c < CHAINS; c++) {
        assert_int_equal(tsdb_spill_read(sp, last[c], LEN, c == 1, out, offs, &err), 0);
        for (uint64_t i = 0; i < LEN; i += 997) {
            fill(seg, c, i);
            assert_memory_equal(out + i * TSDB_SPILL_SEG, seg, TSDB_SPILL_SEG);
        }
        fill(seg, c, LEN - 1); /* the newest record: still in the write buffer */
        assert_memory_equal(out + (size_t)(LEN - 1) * TSDB_SPILL_SEG, seg, TSDB_SPILL_SEG);
        for (uint64_t i = 1; i < LEN; i++)
            assert_true(offs[i] > offs[i - 1]);
        /* A short read of the newest records only. */
        uint8_t two[2 * TSDB_SPILL_SEG];
        assert_int_equal(tsdb_spill_read(sp, last[c], 2, c != 1, two, NULL, &err), 0);
        assert_memory_equal(two, out + (size_t)(LEN - 2) * TSDB_SPILL_SEG, sizeof two);
        tsdb_spill_release(sp, offs, LEN);
    }
    /* Every record released: the first file is closed, the one being
     * written stays. */
    tsdb_spill_stats(sp, &files, &live);
    assert_int_equal(files, 1);
    assert_int_equal(live, 0);
    /* A record nobody has put is an error, not a crash. */
    assert_int_equal(tsdb_spill_read(sp, UINT64_C(1) << 40, 1, false, seg, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "not in the log"));
    tsdb_spill_free(sp);
    assert_int_equal(dir_entries(dir), 0);
    free(out);
    free(offs);
    free(last);
    tmpdir_free(dir);
}

/* A log that cannot create its files: the put fails with the reason. */
static void test_unwritable(void **state)
{
    (void)state;
    core_err err = {{0}};
    tsdb_spill *sp = tsdb_spill_new("/nonexistent/chunks_head");
    uint8_t seg[TSDB_SPILL_SEG] = {0};
    uint64_t ref;
    assert_int_equal(tsdb_spill_put(sp, 0, seg, &ref, &err), -1);
    assert_non_null(strstr(err.msg, "spill file in /nonexistent/chunks_head"));
    tsdb_spill_free(sp);
}

static uint64_t rnd_bits(uint64_t *seed)
{
    return rnd_next(seed);
}

/* 500 series of random values (about 9 bytes a sample): each open chunk
 * spills, memory stays small, and what a query and the cut chunks return is
 * what was appended. */
static void test_head_spills(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    core_err err = {{0}};
    tsdb_head *h = tsdb_head_new(&(tsdb_head_opts){.chunks_dir = dir}, &err);
    assert_non_null(h);
    enum { SERIES = 500, SAMPLES = 100 };
    tsdb_hseries *s[SERIES];
    for (int i = 0; i < SERIES; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        core_labels *ls = core_labels_new((core_label[]){{"__name__", "m"}, {"i", v}}, 2);
        bool created;
        s[i] = tsdb_head_get_or_create(h, ls, 0, &created);
        free(ls);
    }
    const int64_t t0 = 1700000000000;
    uint64_t seed = 7;
    for (int k = 0; k < SAMPLES; k++)
        for (int i = 0; i < SERIES; i++)
            assert_int_equal(tsdb_head_append(h, s[i], t0 + k * 15000, rnd_bits(&seed), &err), 0);
    uint64_t files, live;
    tsdb_spill_stats(h->spill, &files, &live);
    for (int i = 0; i < SERIES; i++) {
        assert_true(s[i]->nspill >= 700 / TSDB_SPILL_SEG); /* 800-900 bytes of chunk each */
        assert_true(s[i]->cap <= TSDB_HEAD_TAIL_MAX);
    }
    assert_true(live >= (uint64_t)SERIES * (700 / TSDB_SPILL_SEG) * TSDB_SPILL_SEG);

    /* The open chunks read back whole. */
    seed = 7;
    core_arena arena;
    core_arena_init(&arena, 0);
    for (int k = 0; k < SAMPLES; k++)
        for (int i = 0; i < SERIES; i++) {
            uint64_t want = rnd_bits(&seed);
            if (i % 50 || k % 9) continue;
            tsdb_chunk_meta *m;
            const uint8_t **b;
            uint32_t *l;
            size_t n = tsdb_head_series_chunks(h, s[i], INT64_MIN, INT64_MAX, &arena, &m, &b, &l);
            assert_int_equal(n, 1);
            tsdb_xor_iter it;
            assert_int_equal(tsdb_xor_iter_init(&it, b[0], l[0], &err), 0);
            int n_read = 0;
            while (tsdb_xor_iter_next(&it) && it.t < t0 + k * 15000)
                n_read++;
            assert_int_equal(n_read, k);
            assert_int_equal(it.t, t0 + k * 15000);
            assert_true(it.v == want);
        }
    core_arena_destroy(&arena);

    /* Into the next 2 h range: every open chunk is cut, its records given
     * back; the new chunks are small and in memory again. */
    const int64_t later = (t0 / 7200000 + 1) * 7200000;
    for (int i = 0; i < SERIES; i++) {
        assert_int_equal(tsdb_head_append(h, s[i], later, rnd_bits(&seed), &err), 0);
        assert_int_equal(s[i]->nspill, 0);
        assert_int_equal(s[i]->nmm, 1);
    }
    tsdb_spill_stats(h->spill, &files, &live);
    assert_int_equal(live, 0);
    assert_int_equal(files, 1);
    /* Spill again, then truncation removes half the series with theirs. */
    for (int k = 1; k < 40; k++)
        for (int i = 0; i < SERIES; i++)
            assert_int_equal(tsdb_head_append(h, s[i], later + k * 15000, rnd_bits(&seed), &err),
                             0);
    tsdb_spill_stats(h->spill, &files, &live);
    uint64_t before = live;
    assert_true(before > 0);
    for (int i = 0; i < SERIES; i += 2)
        assert_int_equal(tsdb_head_append(h, s[i], later + 40 * 15000, rnd_bits(&seed), &err), 0);
    tsdb_head_truncate(h, later + 40 * 15000);
    tsdb_spill_stats(h->spill, &files, &live);
    assert_true(live > 0 && live <= before / 2 + TSDB_SPILL_SEG * SERIES / 2);
    assert_int_equal(tsdb_head_get_stats(h).series, SERIES / 2);
    tsdb_head_free(h);
    tmpdir_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chains),
        cmocka_unit_test(test_unwritable),
        cmocka_unit_test(test_head_spills),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
