/*
 * test_record.c - WAL record encodings: upstream's exact bytes for series,
 * samples, tombstones and metadata, round trips, and every truncation of an
 * encoded record decoding without a crash.
 */
#include "unit/unit.h"

#include "tsdb/tsdb.h"

static void test_series_bytes(void **state)
{
    (void)state;
    core_label l[] = {{"__name__", "up"}, {"a", ""}};
    core_labels *ls = core_labels_new(l, 2);
    tsdb_rec_series s[] = {{.ref = 0x0102, .labels = ls}};
    core_sb out = CORE_SB_INIT;
    tsdb_rec_encode_series(&out, s, 1);
    const uint8_t want[] = {1,   0,   0,   0,   0,   0,   0, 1,   2,   2, 8,   '_', '_',
                            'n', 'a', 'm', 'e', '_', '_', 2, 'u', 'p', 1, 'a', 0};
    assert_int_equal(out.len, sizeof(want));
    assert_memory_equal(out.buf, want, sizeof(want));

    core_arena arena;
    core_arena_init(&arena, 0);
    tsdb_rec_series *got = NULL;
    size_t n = 0;
    core_err err;
    assert_int_equal(tsdb_rec_type((uint8_t *)out.buf, out.len), TSDB_REC_SERIES);
    assert_int_equal(tsdb_rec_decode_series((uint8_t *)out.buf, out.len, &arena, &got, &n, &err),
                     0);
    assert_int_equal(n, 1);
    assert_true(got[0].ref == 0x0102);
    assert_true(core_labels_equal(got[0].labels, ls));
    free(got);
    core_arena_destroy(&arena);
    core_sb_destroy(&out);
    free(ls);
}

static void test_samples_bytes(void **state)
{
    (void)state;
    tsdb_rec_sample s[] = {{5, 1000, UINT64_C(0x3ff0000000000000)}, {3, 1500, TSDB_STALE_NAN_BITS}};
    core_sb out = CORE_SB_INIT;
    tsdb_rec_encode_samples(&out, s, 2);
    const uint8_t want[] = {2, 0, 0,    0,    0,    0,    0,    0,    5, 0, 0, 0, 0,
                            0, 0, 3,    0xe8, 0,    0,    0x3f, 0xf0, 0, 0, 0, 0, 0,
                            0, 3, 0xe8, 0x07, 0x7f, 0xf0, 0,    0,    0, 0, 0, 2};
    assert_int_equal(out.len, sizeof(want));
    assert_memory_equal(out.buf, want, sizeof(want));
    tsdb_rec_sample *got = NULL;
    size_t n = 0;
    core_err err;
    assert_int_equal(tsdb_rec_decode_samples((uint8_t *)out.buf, out.len, &got, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(got, s, sizeof(s));
    free(got);
    /* An empty record is the type byte alone. */
    core_sb_reset(&out);
    tsdb_rec_encode_samples(&out, NULL, 0);
    assert_int_equal(out.len, 1);
    got = NULL;
    n = 0;
    assert_int_equal(tsdb_rec_decode_samples((uint8_t *)out.buf, out.len, &got, &n, &err), 0);
    assert_int_equal(n, 0);
    core_sb_destroy(&out);
}

static void test_many_samples(void **state)
{
    (void)state;
    enum { N = 1000 };
    tsdb_rec_sample s[N];
    for (int i = 0; i < N; i++)
        s[i] = (tsdb_rec_sample){(uint64_t)(i * 7919 % 1009), INT64_MIN / 2 + i * 15000 - (i % 3),
                                 (uint64_t)i * UINT64_C(0x9e3779b97f4a7c15)};
    core_sb out = CORE_SB_INIT;
    tsdb_rec_encode_samples(&out, s, N);
    tsdb_rec_sample *got = NULL;
    size_t n = 0;
    core_err err;
    assert_int_equal(tsdb_rec_decode_samples((uint8_t *)out.buf, out.len, &got, &n, &err), 0);
    assert_int_equal(n, N);
    assert_memory_equal(got, s, sizeof(s));
    free(got);
    core_sb_destroy(&out);
}

static void test_tombstones(void **state)
{
    (void)state;
    tsdb_rec_tombstone s[] = {{1, -5, 10}, {UINT64_MAX, INT64_MIN, INT64_MAX}};
    core_sb out = CORE_SB_INIT;
    tsdb_rec_encode_tombstones(&out, s, 2);
    const uint8_t head[] = {3, 0, 0, 0, 0, 0, 0, 0, 1, 9, 20};
    assert_memory_equal(out.buf, head, sizeof(head));
    tsdb_rec_tombstone *got = NULL;
    size_t n = 0;
    core_err err;
    assert_int_equal(tsdb_rec_decode_tombstones((uint8_t *)out.buf, out.len, &got, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(got, s, sizeof(s));
    free(got);
    core_sb_destroy(&out);
}

static void test_metadata(void **state)
{
    (void)state;
    tsdb_rec_metadata m[] = {{300, 1, "seconds", "Total time."}, {2, 7, "", ""}};
    core_sb out = CORE_SB_INIT;
    tsdb_rec_encode_metadata(&out, m, 2);
    const uint8_t head[] = {6, 0xac, 0x02, 1, 2, 4, 'U', 'N', 'I', 'T', 7, 's'};
    assert_memory_equal(out.buf, head, sizeof(head));
    /* A field this version does not know is skipped. */
    const uint8_t extra[] = {6, 9, 2, 2, 1, 'X', 1, 'y', 4, 'H', 'E', 'L', 'P', 1, 'h'};
    core_sb_add(&out, extra + 1, sizeof(extra) - 1);
    core_arena arena;
    core_arena_init(&arena, 0);
    tsdb_rec_metadata *got = NULL;
    size_t n = 0;
    core_err err;
    assert_int_equal(tsdb_rec_decode_metadata((uint8_t *)out.buf, out.len, &arena, &got, &n, &err),
                     0);
    assert_int_equal(n, 3);
    assert_int_equal(got[0].ref, 300);
    assert_int_equal(got[0].type, 1);
    assert_string_equal(got[0].unit, "seconds");
    assert_string_equal(got[0].help, "Total time.");
    assert_string_equal(got[1].help, "");
    assert_int_equal(got[2].ref, 9);
    assert_string_equal(got[2].unit, "");
    assert_string_equal(got[2].help, "h");
    free(got);
    core_arena_destroy(&arena);
    core_sb_destroy(&out);
}

/* Every prefix of a record decodes or fails cleanly; wrong types fail. */
static void test_truncations(void **state)
{
    (void)state;
    core_label l[] = {{"job", "node"}, {"instance", "a:9100"}};
    core_labels *ls = core_labels_new(l, 2);
    tsdb_rec_series s[] = {{1, ls}, {2, ls}};
    tsdb_rec_sample sm[] = {{1, 10, 1}, {2, 20, 2}};
    core_sb series = CORE_SB_INIT, samples = CORE_SB_INIT;
    tsdb_rec_encode_series(&series, s, 2);
    tsdb_rec_encode_samples(&samples, sm, 2);
    core_arena arena;
    core_arena_init(&arena, 0);
    core_err err;
    for (size_t k = 0; k < series.len; k++) {
        tsdb_rec_series *got = NULL;
        size_t n = 0;
        int rc = tsdb_rec_decode_series((uint8_t *)series.buf, k, &arena, &got, &n, &err);
        assert_true(rc == -1 || n < 2);
        free(got);
    }
    for (size_t k = 0; k < samples.len; k++) {
        tsdb_rec_sample *got = NULL;
        size_t n = 0;
        int rc = tsdb_rec_decode_samples((uint8_t *)samples.buf, k, &got, &n, &err);
        assert_true(rc == -1 || n < 2);
        free(got);
    }
    tsdb_rec_sample *got = NULL;
    size_t n = 0;
    assert_int_equal(tsdb_rec_decode_samples((uint8_t *)series.buf, series.len, &got, &n, &err),
                     -1);
    assert_non_null(strstr(err.msg, "invalid record type"));
    /* A NUL inside a label, and a label count larger than the record. */
    const uint8_t nul[] = {1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 'a', 2, 'b', 0};
    const uint8_t many[] = {1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0x7f};
    tsdb_rec_series *gs = NULL;
    assert_int_equal(tsdb_rec_decode_series(nul, sizeof(nul), &arena, &gs, &n, &err), -1);
    assert_int_equal(tsdb_rec_decode_series(many, sizeof(many), &arena, &gs, &n, &err), -1);
    assert_int_equal(n, 0);
    assert_int_equal(tsdb_rec_type(NULL, 0), TSDB_REC_UNKNOWN);
    free(gs);
    core_arena_destroy(&arena);
    core_sb_destroy(&series);
    core_sb_destroy(&samples);
    free(ls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_series_bytes), cmocka_unit_test(test_samples_bytes),
        cmocka_unit_test(test_many_samples), cmocka_unit_test(test_tombstones),
        cmocka_unit_test(test_metadata),     cmocka_unit_test(test_truncations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
