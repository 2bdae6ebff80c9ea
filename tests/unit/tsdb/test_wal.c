/*
 * test_wal.c - the WAL writer and reader: upstream's exact bytes for small
 * records, round trips across page and segment boundaries with and without
 * compression, a short last page, torn records, CRC and padding damage, and
 * the segment directory rules.
 */
#include "unit/unit.h"

#include "tsdb/tsdb.h"

#include "helpers.h"

#include <sys/stat.h>

enum { NRECS = 300, PAGE = TSDB_WAL_PAGE_SIZE };

typedef struct recs {
    uint8_t *data[NRECS];
    size_t len[NRECS];
} recs;

/* Records of sizes from 0 up to several pages, some very compressible. */
static void make_recs(recs *r, uint64_t seed)
{
    for (int i = 0; i < NRECS; i++) {
        size_t n = i % 50 == 7 ? 3 * PAGE + (size_t)i : rnd_next(&seed) % 3000;
        if (i == 0) n = 0;
        r->data[i] = malloc(n + 1);
        bool text = i % 3 == 0;
        for (size_t k = 0; k < n; k++)
            r->data[i][k] = text ? (uint8_t)('a' + k % 7) : (uint8_t)rnd_next(&seed);
        r->len[i] = n;
    }
}

static void free_recs(recs *r)
{
    for (int i = 0; i < NRECS; i++)
        free(r->data[i]);
}

static void write_recs(const char *dir, const recs *r, uint64_t seg_size, tsdb_wal_compression c)
{
    tsdb_wal_writer w;
    core_err err;
    assert_int_equal(tsdb_wal_writer_open(&w, dir, seg_size, c, &err), 0);
    for (int i = 0; i < NRECS; i++)
        assert_int_equal(tsdb_wal_writer_log(&w, r->data[i], r->len[i], &err), 0);
    assert_int_equal(tsdb_wal_writer_close(&w, &err), 0);
}

/* Reads the whole log: the number of records matching `r` in order, and the
 * last result of next (0 at a clean end, -1 on corruption). */
static int read_recs(const char *dir, const recs *r, int *count, core_err *err)
{
    tsdb_wal_reader rd;
    const uint8_t *p;
    size_t len;
    int rc;
    assert_int_equal(tsdb_wal_reader_open(&rd, dir, err), 0);
    *count = 0;
    while ((rc = tsdb_wal_reader_next(&rd, &p, &len, err)) == 1) {
        assert_true(*count < NRECS);
        assert_int_equal(len, r->len[*count]);
        if (len) assert_memory_equal(p, r->data[*count], len);
        (*count)++;
    }
    tsdb_wal_reader_close(&rd);
    return rc;
}

static void round_trip(tsdb_wal_compression c)
{
    char *dir = tmpdir_new();
    recs r;
    make_recs(&r, 42 + c);
    write_recs(dir, &r, 4 * PAGE, c);
    int n;
    core_err err;
    assert_int_equal(read_recs(dir, &r, &n, &err), 0);
    assert_int_equal(n, NRECS);
    /* Many segments, none beyond the segment size. */
    struct stat st;
    char path[4096];
    snprintf(path, sizeof(path), "%s/00000005", dir);
    assert_int_equal(stat(path, &st), 0);
    for (int i = 0; snprintf(path, sizeof(path), "%s/%08d", dir, i), stat(path, &st) == 0; i++) {
        assert_true(st.st_size <= 4 * PAGE);
        assert_int_equal(st.st_size % PAGE, 0);
    }
    free_recs(&r);
    tmpdir_free(dir);
}

static void test_round_trip_plain(void **state)
{
    (void)state;
    round_trip(TSDB_WAL_COMPRESS_NONE);
}

static void test_round_trip_snappy(void **state)
{
    (void)state;
    round_trip(TSDB_WAL_COMPRESS_SNAPPY);
}

static void test_round_trip_zstd(void **state)
{
    (void)state;
    round_trip(TSDB_WAL_COMPRESS_ZSTD);
}

static void write_one(const char *dir, const void *rec, size_t len, tsdb_wal_compression c)
{
    tsdb_wal_writer w;
    core_err err;
    assert_int_equal(tsdb_wal_writer_open(&w, dir, 0, c, &err), 0);
    assert_int_equal(tsdb_wal_writer_log(&w, rec, len, &err), 0);
    assert_int_equal(tsdb_wal_writer_close(&w, &err), 0);
}

/* The bytes upstream writes for one small record: a full fragment, then the
 * page padded with zeros on close. */
static void test_exact_bytes(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    write_one(dir, "abc", 3, TSDB_WAL_COMPRESS_NONE);
    size_t len;
    uint8_t *p = file_read(dir, "00000000", &len);
    assert_int_equal(len, PAGE);
    /* CRC32C("abc") = 0x364b3fb7. */
    const uint8_t want[] = {0x01, 0x00, 0x03, 0x36, 0x4b, 0x3f, 0xb7, 'a', 'b', 'c'};
    assert_memory_equal(p, want, sizeof(want));
    for (size_t i = sizeof(want); i < len; i++)
        assert_int_equal(p[i], 0);
    free(p);
    tmpdir_free(dir);
}

/* A record larger than a page: first fragment fills page 0, last in page 1. */
static void test_fragments(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    size_t n = 40000;
    uint8_t *rec = malloc(n);
    for (size_t i = 0; i < n; i++)
        rec[i] = (uint8_t)(i * 7);
    write_one(dir, rec, n, TSDB_WAL_COMPRESS_NONE);
    size_t len;
    uint8_t *p = file_read(dir, "00000000", &len);
    assert_int_equal(len, 2 * PAGE);
    size_t first = PAGE - TSDB_WAL_HEADER_SIZE;
    assert_int_equal(p[0], 2);
    assert_int_equal(p[1] << 8 | p[2], first);
    assert_int_equal(p[PAGE], 4);
    assert_int_equal(p[PAGE + 1] << 8 | p[PAGE + 2], n - first);
    assert_memory_equal(p + PAGE + 7, rec + first, n - first);
    free(p);
    free(rec);
    tmpdir_free(dir);
}

/* Snappy sets bit 3 of the type byte; an incompressible record stays plain. */
static void test_compression_flag(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    char rec[1000];
    memset(rec, 'x', sizeof(rec));
    write_one(dir, rec, sizeof(rec), TSDB_WAL_COMPRESS_SNAPPY);
    write_one(dir, "ab", 2, TSDB_WAL_COMPRESS_SNAPPY);
    size_t len;
    uint8_t *p = file_read(dir, "00000000", &len);
    assert_int_equal(p[0], 0x09);
    free(p);
    p = file_read(dir, "00000001", &len);
    assert_int_equal(p[0], 0x01);
    free(p);
    tmpdir_free(dir);
}

static void truncate_file(const char *dir, const char *name, off_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(truncate(path, len), 0);
}

/* Small records with the page cut short right after one: the normal state
 * after a crash, read to the end without error. */
static void test_short_last_page(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    recs r;
    for (int i = 0; i < NRECS; i++) {
        r.len[i] = 10;
        r.data[i] = malloc(10);
        memset(r.data[i], 0xaa, 10);
        r.data[i][0] = (uint8_t)i;
    }
    write_recs(dir, &r, 0, TSDB_WAL_COMPRESS_NONE);
    truncate_file(dir, "00000000", 17 * 40);
    int n;
    core_err err;
    assert_int_equal(read_recs(dir, &r, &n, &err), 0);
    assert_int_equal(n, 40);
    /* Cut inside a fragment: corruption at that record's start. */
    truncate_file(dir, "00000000", 17 * 40 - 3);
    tsdb_wal_reader rd;
    const uint8_t *p;
    size_t len;
    assert_int_equal(tsdb_wal_reader_open(&rd, dir, &err), 0);
    for (int i = 0; i < 39; i++)
        assert_int_equal(tsdb_wal_reader_next(&rd, &p, &len, &err), 1);
    assert_int_equal(tsdb_wal_reader_next(&rd, &p, &len, &err), -1);
    assert_non_null(strstr(err.msg, "corruption in segment"));
    assert_non_null(strstr(err.msg, "checksum"));
    assert_int_equal(rd.err_seq, 0);
    assert_int_equal(rd.err_off, 17 * 39);
    tsdb_wal_reader_close(&rd);
    free_recs(&r);
    tmpdir_free(dir);
}

/* A record whose last fragment is missing at the end of the log. */
static void test_torn_record(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    uint8_t rec[40000] = {0};
    write_one(dir, "head", 4, TSDB_WAL_COMPRESS_NONE);
    write_one(dir, rec, sizeof(rec), TSDB_WAL_COMPRESS_NONE);
    truncate_file(dir, "00000001", PAGE);
    tsdb_wal_reader rd;
    core_err err;
    const uint8_t *p;
    size_t len;
    assert_int_equal(tsdb_wal_reader_open(&rd, dir, &err), 0);
    assert_int_equal(tsdb_wal_reader_next(&rd, &p, &len, &err), 1);
    assert_int_equal(tsdb_wal_reader_next(&rd, &p, &len, &err), -1);
    assert_non_null(strstr(err.msg, "last record is torn"));
    assert_non_null(strstr(err.msg, "/00000001 at 0"));
    tsdb_wal_reader_close(&rd);
    tmpdir_free(dir);
}

/* Reads until an error, which must mention `want` and name segment `seq`. */
static void read_expect_error(const char *dir, const char *want, uint64_t seq)
{
    tsdb_wal_reader rd;
    core_err err;
    const uint8_t *p;
    size_t len;
    int rc;
    assert_int_equal(tsdb_wal_reader_open(&rd, dir, &err), 0);
    while ((rc = tsdb_wal_reader_next(&rd, &p, &len, &err)) == 1)
        ;
    assert_int_equal(rc, -1);
    if (!strstr(err.msg, want)) fail_msg("%s not in %s", want, err.msg);
    assert_int_equal(rd.err_seq, seq);
    tsdb_wal_reader_close(&rd);
}

static void patch(const char *dir, const char *name, size_t off, uint8_t byte)
{
    size_t len;
    uint8_t *p = file_read(dir, name, &len);
    assert_true(off < len);
    p[off] = byte;
    file_write(dir, name, p, len);
    free(p);
}

static void test_damage(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    recs r;
    make_recs(&r, 7);
    write_recs(dir, &r, 4 * PAGE, TSDB_WAL_COMPRESS_SNAPPY);
    /* The first fragment of segment 2 that has data. */
    size_t len, off = 0;
    uint8_t *p = file_read(dir, "00000002", &len);
    while ((p[off + 1] << 8 | p[off + 2]) == 0)
        off += TSDB_WAL_HEADER_SIZE;
    uint8_t byte = p[off + TSDB_WAL_HEADER_SIZE];
    free(p);
    patch(dir, "00000002", off + TSDB_WAL_HEADER_SIZE, byte ^ 0x40);
    read_expect_error(dir, "unexpected checksum", 2);
    patch(dir, "00000002", off + TSDB_WAL_HEADER_SIZE, byte);
    patch(dir, "00000002", 0, 0x07);
    read_expect_error(dir, "unexpected record type", 2);
    free_recs(&r);
    tmpdir_free(dir);
}

static void test_bad_padding_and_order(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    write_one(dir, "abc", 3, TSDB_WAL_COMPRESS_NONE);
    patch(dir, "00000000", 100, 1);
    read_expect_error(dir, "non-zero byte in padded page", 0);
    patch(dir, "00000000", 100, 0);
    patch(dir, "00000000", 0, 4);
    read_expect_error(dir, "unexpected last record", 0);
    patch(dir, "00000000", 0, 0x03);
    read_expect_error(dir, "unexpected middle record", 0);
    patch(dir, "00000000", 0, 0x19);
    read_expect_error(dir, "both snappy and zstd", 0);
    patch(dir, "00000000", 0, 0x09);
    read_expect_error(dir, "snappy", 0);
    patch(dir, "00000000", 1, 0x80);
    read_expect_error(dir, "invalid record size", 0);
    tmpdir_free(dir);
}

static void test_segments(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    tsdb_wal_reader rd;
    core_err err;
    const uint8_t *p;
    size_t len;
    assert_int_equal(tsdb_wal_reader_open(&rd, dir, &err), 0);
    assert_int_equal(tsdb_wal_reader_next(&rd, &p, &len, &err), 0);
    tsdb_wal_reader_close(&rd);
    tsdb_wal_writer w;
    assert_int_equal(tsdb_wal_writer_open(&w, dir, 1000, TSDB_WAL_COMPRESS_NONE, &err), -1);
    /* Each writer continues after the last segment; empty files read as nothing. */
    write_one(dir, "one", 3, TSDB_WAL_COMPRESS_NONE);
    file_write(dir, "00000001", "", 0);
    file_write(dir, "checkpoint.00000001", "x", 1);
    write_one(dir, "two", 3, TSDB_WAL_COMPRESS_ZSTD);
    assert_int_equal(tsdb_wal_reader_open(&rd, dir, &err), 0);
    assert_int_equal(rd.nseg, 3);
    assert_int_equal(tsdb_wal_reader_next(&rd, &p, &len, &err), 1);
    assert_memory_equal(p, "one", 3);
    assert_int_equal(tsdb_wal_reader_next(&rd, &p, &len, &err), 1);
    assert_memory_equal(p, "two", 3);
    assert_int_equal(tsdb_wal_reader_next(&rd, &p, &len, &err), 0);
    tsdb_wal_reader_close(&rd);
    file_write(dir, "00000009", "", 0);
    assert_int_equal(tsdb_wal_reader_open(&rd, dir, &err), -1);
    assert_non_null(strstr(err.msg, "not sequential"));
    tmpdir_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_plain), cmocka_unit_test(test_round_trip_snappy),
        cmocka_unit_test(test_round_trip_zstd),  cmocka_unit_test(test_exact_bytes),
        cmocka_unit_test(test_fragments),        cmocka_unit_test(test_compression_flag),
        cmocka_unit_test(test_short_last_page),  cmocka_unit_test(test_torn_record),
        cmocka_unit_test(test_damage),           cmocka_unit_test(test_bad_padding_and_order),
        cmocka_unit_test(test_segments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
