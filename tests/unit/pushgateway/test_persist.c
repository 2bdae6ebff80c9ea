/* Unit tests for server/pushgateway/persist.c: the file format round trip,
 * truncation at every byte, every single-bit flip, and the file handling. */
#include "unit/unit.h"

#include "pushgateway/pushgateway.h"

#include <limits.h>
#include <unistd.h>

static const char *const bodies[][2] = {
    {"job/a",
     "# HELP m Help \\\\ with\\nnewline.\n# TYPE m counter\nm{x=\"1\"} 1\nm{x=\"2\"} 2.5\n"},
    {"job/b/instance/i1", "# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 3\n"
                          "h_sum 0.5\nh_count 3\n# TYPE s summary\ns{quantile=\"0.9\"} 2\n"
                          "s_sum 5\ns_count 4\nu NaN\n"},
    {"job@base64/L3Zhcg/path@base64/=", "w{v=\"a\\\"b\\nc\"} -Inf\n"},
};

static pgw_store *filled(void)
{
    pgw_store *s = pgw_store_new();
    core_err err;
    for (size_t i = 0; i < 3; i++) {
        core_labels *g = pgw_grouping_parse(bodies[i][0], &err);
        pgw_push *p =
            pgw_push_parse(bodies[i][1], strlen(bodies[i][1]), MODEL_FORMAT_TEXT, g, &err);
        assert_non_null(p);
        assert_int_equal(
            pgw_store_push(s, p, g, true, true, INT64_C(1700000000123456789) + (int64_t)i, &err),
            0);
        free(g);
    }
    /* A failed push, so a group has a failure time. */
    core_labels *g = pgw_grouping_parse("job/a", &err);
    pgw_push *p = pgw_push_parse("m 1 1\n", 6, MODEL_FORMAT_TEXT, g, &err);
    assert_int_equal(pgw_store_push(s, p, g, false, true, INT64_C(1700000001000000000), &err), -1);
    free(g);
    return s;
}

static char *text_of(pgw_store *s)
{
    core_sb sb = CORE_SB_INIT;
    pgw_expo_text(s, NULL, 0, &sb);
    pgw_expo_api_metrics(s, &sb);
    return core_sb_detach(&sb, NULL);
}

static void test_round_trip(void **state)
{
    pgw_store *a = filled();
    core_sb file = CORE_SB_INIT;
    pgw_persist_encode(a, &file);
    pgw_store *b = pgw_store_new();
    core_err err;
    assert_int_equal(pgw_persist_decode(b, file.buf, file.len, &err), 0);
    char *ta = text_of(a), *tb = text_of(b);
    assert_string_equal(ta, tb);
    core_sb again = CORE_SB_INIT;
    pgw_persist_encode(b, &again);
    assert_int_equal(again.len, file.len);
    assert_memory_equal(again.buf, file.buf, file.len);
    free(ta);
    free(tb);
    core_sb_destroy(&again);
    core_sb_destroy(&file);
    pgw_store_free(a);
    pgw_store_free(b);
}

static void test_truncation_at_every_byte(void **state)
{
    pgw_store *a = filled();
    core_sb file = CORE_SB_INIT;
    pgw_persist_encode(a, &file);
    for (size_t n = 0; n < file.len; n++) {
        pgw_store *b = pgw_store_new();
        core_err err;
        char *copy = malloc(n + 1); /* exactly n bytes, so ASan sees any overread */
        memcpy(copy, file.buf, n);
        assert_int_equal(pgw_persist_decode(b, copy, n, &err), -1);
        assert_int_equal(pgw_store_n_groups(b), 0);
        free(copy);
        pgw_store_free(b);
    }
    core_sb_destroy(&file);
    pgw_store_free(a);
}

static void test_every_bit_flip(void **state)
{
    pgw_store *a = filled();
    core_sb file = CORE_SB_INIT;
    pgw_persist_encode(a, &file);
    char *copy = malloc(file.len);
    for (size_t i = 0; i < file.len * 8; i++) {
        memcpy(copy, file.buf, file.len);
        copy[i / 8] ^= (char)(1 << (i % 8));
        pgw_store *b = pgw_store_new();
        core_err err;
        assert_int_equal(pgw_persist_decode(b, copy, file.len, &err), -1);
        assert_int_equal(pgw_store_n_groups(b), 0);
        pgw_store_free(b);
    }
    free(copy);
    core_sb_destroy(&file);
    pgw_store_free(a);
}

static void test_files(void **state)
{
    char dir[] = "/tmp/pgw-persist-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[PATH_MAX], moved[PATH_MAX];
    snprintf(path, sizeof path, "%s/data", dir);
    core_err err;
    pgw_store *a = filled(), *b = pgw_store_new();
    assert_int_equal(pgw_persist_load(b, path, moved, &err), 0); /* missing: fine */
    assert_int_equal(pgw_store_n_groups(b), 0);
    assert_int_equal(pgw_persist_save(a, path, &err), 0);
    assert_int_equal(pgw_persist_load(b, path, moved, &err), 0);
    assert_int_equal(pgw_store_n_groups(b), 3);
    FILE *f = fopen(path, "r+");
    fseek(f, 30, SEEK_SET);
    fputc('!', f);
    fclose(f);
    pgw_store *c = pgw_store_new();
    assert_int_equal(pgw_persist_load(c, path, moved, &err), -1);
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(pgw_store_n_groups(c), 0);
    assert_int_equal(access(path, F_OK), -1); /* moved aside */
    assert_int_equal(access(moved, F_OK), 0);
    assert_non_null(strstr(moved, "/data.corrupt-"));
    unlink(moved);
    rmdir(dir);
    pgw_store_free(a);
    pgw_store_free(b);
    pgw_store_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_truncation_at_every_byte),
        cmocka_unit_test(test_every_bit_flip),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
