/*
 * test_chunks.c - block chunk segment files: writing, reading by ref and in
 * order, segment cutting, and damaged files giving errors.
 */
#include "unit/unit.h"

#include "tsdb/tsdb.h"

#include "helpers.h"

enum { NCHUNKS = 50 };

typedef struct written {
    uint64_t ref;
    uint8_t data[200];
    size_t len;
} written;

/* Writes NCHUNKS XOR chunks of varying size with the given segment size. */
static void write_chunks(const char *dir, uint64_t segsize, written *w)
{
    tsdb_chunk_writer cw;
    core_err err;
    assert_int_equal(tsdb_chunk_writer_open(&cw, dir, segsize, &err), 0);
    for (int i = 0; i < NCHUNKS; i++) {
        tsdb_xor c;
        tsdb_xor_init(&c);
        for (int k = 0; k <= i; k++)
            tsdb_xor_append(&c, 1000 * k + (k * i) % 7, k * 1.5 + i, NULL);
        size_t len;
        const uint8_t *p = tsdb_xor_bytes(&c, &len);
        assert_true(len <= sizeof(w[i].data));
        memcpy(w[i].data, p, len);
        w[i].len = len;
        assert_int_equal(
            tsdb_chunk_writer_write(&cw, TSDB_ENC_XOR, w[i].data, len, &w[i].ref, &err), 0);
        tsdb_xor_destroy(&c);
    }
    assert_int_equal(tsdb_chunk_writer_close(&cw, &err), 0);
}

static void check_read_back(const char *dir, const written *w)
{
    tsdb_chunk_reader r;
    core_err err;
    tsdb_chunk ch;
    assert_int_equal(tsdb_chunk_reader_open(&r, dir, &err), 0);
    for (int i = 0; i < NCHUNKS; i++) {
        assert_int_equal(tsdb_chunk_reader_chunk(&r, w[i].ref, &ch, &err), 0);
        assert_int_equal(ch.enc, TSDB_ENC_XOR);
        assert_int_equal(ch.len, w[i].len);
        assert_memory_equal(ch.data, w[i].data, w[i].len);
    }
    size_t seg = 0, off = 0;
    uint64_t ref;
    for (int i = 0; i < NCHUNKS; i++) {
        assert_int_equal(tsdb_chunk_reader_next(&r, &seg, &off, &ch, &ref, &err), 1);
        assert_true(ref == w[i].ref);
        assert_int_equal(ch.len, w[i].len);
    }
    assert_int_equal(tsdb_chunk_reader_next(&r, &seg, &off, &ch, &ref, &err), 0);
    tsdb_chunk_reader_close(&r);
}

static void test_single_segment(void **state)
{
    char *dir = tmpdir_new();
    static written w[NCHUNKS];
    write_chunks(dir, 0, w);
    assert_true(w[0].ref == 8);
    for (int i = 0; i < NCHUNKS; i++)
        assert_true(w[i].ref >> 32 == 0);
    check_read_back(dir, w);
    size_t len;
    uint8_t *f = file_read(dir, "000001", &len);
    const uint8_t header[8] = {0x85, 0xbd, 0x40, 0xdd, 0x01, 0, 0, 0};
    assert_memory_equal(f, header, 8);
    /* the first record: len, encoding, data, CRC32C(encoding + data) */
    assert_int_equal(f[8], w[0].len);
    assert_int_equal(f[9], TSDB_ENC_XOR);
    uint32_t crc = tsdb_crc32c(0, f + 9, 1 + w[0].len);
    const uint8_t *c = f + 10 + w[0].len;
    assert_int_equal((uint32_t)c[0] << 24 | c[1] << 16 | c[2] << 8 | c[3], crc);
    free(f);
    tmpdir_free(dir);
}

static void test_segments_cut(void **state)
{
    char *dir = tmpdir_new();
    static written w[NCHUNKS];
    write_chunks(dir, 300, w);
    assert_true(w[NCHUNKS - 1].ref >> 32 > 3);
    for (int i = 1; i < NCHUNKS; i++)
        assert_true(w[i].ref >> 32 >= w[i - 1].ref >> 32);
    check_read_back(dir, w);
    tmpdir_free(dir);
}

static void test_continues_numbering(void **state)
{
    char *dir = tmpdir_new();
    file_write(dir, "000007", "\x85\xbd\x40\xdd\x01\x00\x00\x00", 8);
    file_write(dir, "notes.txt", "x", 1); /* not numbered: ignored */
    tsdb_chunk_writer cw;
    assert_int_equal(tsdb_chunk_writer_open(&cw, dir, 0, NULL), 0);
    const uint8_t data[] = {0, 0};
    assert_int_equal(tsdb_chunk_writer_write(&cw, TSDB_ENC_XOR, data, 2, NULL, NULL), 0);
    assert_int_equal(tsdb_chunk_writer_close(&cw, NULL), 0);
    size_t len;
    free(file_read(dir, "000008", &len));
    assert_int_equal(len, 8 + 1 + 1 + 2 + 4);
    tsdb_chunk_reader r;
    assert_int_equal(tsdb_chunk_reader_open(&r, dir, NULL), 0);
    assert_int_equal(r.files.n, 2);
    tsdb_chunk ch;
    assert_int_equal(tsdb_chunk_reader_chunk(&r, tsdb_chunk_ref(1, 8), &ch, NULL), 0);
    assert_int_equal(ch.len, 2);
    tsdb_chunk_reader_close(&r);
    tmpdir_free(dir);
}

static void test_bad_refs(void **state)
{
    char *dir = tmpdir_new();
    static written w[NCHUNKS];
    write_chunks(dir, 0, w);
    tsdb_chunk_reader r;
    core_err err;
    tsdb_chunk ch;
    assert_int_equal(tsdb_chunk_reader_open(&r, dir, &err), 0);
    assert_int_equal(tsdb_chunk_reader_chunk(&r, tsdb_chunk_ref(1, 8), &ch, &err), -1);
    assert_non_null(strstr(err.msg, "out of range"));
    assert_int_equal(tsdb_chunk_reader_chunk(&r, 0, &ch, &err), -1);
    assert_int_equal(tsdb_chunk_reader_chunk(&r, 0xffffffff, &ch, &err), -1);
    assert_int_equal(tsdb_chunk_reader_chunk(&r, w[1].ref + 1, &ch, &err), -1);
    tsdb_chunk_reader_close(&r);
    tmpdir_free(dir);
}

static void test_crc_mismatch(void **state)
{
    char *dir = tmpdir_new();
    static written w[NCHUNKS];
    write_chunks(dir, 0, w);
    size_t len;
    uint8_t *f = file_read(dir, "000001", &len);
    f[(w[3].ref & 0xffffffff) + 5] ^= 0x10; /* inside chunk 3's data */
    file_write(dir, "000001", f, len);
    free(f);
    tsdb_chunk_reader r;
    core_err err;
    tsdb_chunk ch;
    assert_int_equal(tsdb_chunk_reader_open(&r, dir, &err), 0);
    assert_int_equal(tsdb_chunk_reader_chunk(&r, w[2].ref, &ch, &err), 0);
    assert_int_equal(tsdb_chunk_reader_chunk(&r, w[3].ref, &ch, &err), -1);
    assert_non_null(strstr(err.msg, "checksum mismatch"));
    size_t seg = 0, off = 0;
    uint64_t ref;
    int rc;
    int n = 0;
    while ((rc = tsdb_chunk_reader_next(&r, &seg, &off, &ch, &ref, &err)) == 1)
        n++;
    assert_int_equal(rc, -1);
    assert_int_equal(n, 3);
    tsdb_chunk_reader_close(&r);
    tmpdir_free(dir);
}

/* Every truncation and many byte flips of a segment, decoded in memory from
 * exactly-sized copies: errors, never overreads. */
static void test_damaged_segments(void **state)
{
    char *dir = tmpdir_new();
    static written w[NCHUNKS];
    write_chunks(dir, 0, w);
    size_t len;
    uint8_t *f = file_read(dir, "000001", &len);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, f, cut);
        size_t off = 8;
        tsdb_chunk ch;
        int rc = tsdb_segment_check(copy, cut, TSDB_CHUNKS_MAGIC, NULL);
        while (rc == 0 && off < cut)
            rc = tsdb_chunk_decode(copy, cut, off, &ch, &off, NULL);
        bool at_boundary = false;
        for (int i = 0; i < NCHUNKS; i++)
            at_boundary |= cut == (w[i].ref & 0xffffffff);
        assert_true(rc == 0 ? at_boundary || cut == 8 : !at_boundary || cut < 8);
        free(copy);
    }
    uint64_t seed = 11;
    uint8_t *copy = malloc(len);
    for (int round = 0; round < 5000; round++) {
        memcpy(copy, f, len);
        copy[8 + rnd_next(&seed) % (len - 8)] ^= (uint8_t)(1 + rnd_next(&seed) % 255);
        size_t off = 8;
        tsdb_chunk ch;
        int rc = 0;
        while (rc == 0 && off < len)
            rc = tsdb_chunk_decode(copy, len, off, &ch, &off, NULL);
        assert_int_equal(rc, -1); /* every single-byte change is caught */
    }
    free(copy);
    free(f);
    tmpdir_free(dir);
}

static void test_bad_headers(void **state)
{
    char *dir = tmpdir_new();
    tsdb_chunk_reader r;
    core_err err;
    file_write(dir, "000001", "\x85\xbd\x40\xdd\x02\x00\x00\x00", 8);
    assert_int_equal(tsdb_chunk_reader_open(&r, dir, &err), -1);
    assert_non_null(strstr(err.msg, "version 2"));
    file_write(dir, "000001", "\x01\x30\xbc\x91\x01\x00\x00\x00", 8);
    assert_int_equal(tsdb_chunk_reader_open(&r, dir, &err), -1);
    assert_non_null(strstr(err.msg, "magic"));
    file_write(dir, "000001", "\x85\xbd\x40", 3);
    assert_int_equal(tsdb_chunk_reader_open(&r, dir, &err), -1);
    file_write(dir, "000001", "", 0);
    assert_int_equal(tsdb_chunk_reader_open(&r, dir, &err), -1);
    tmpdir_free(dir);
    assert_int_equal(tsdb_chunk_reader_open(&r, "/nonexistent/chunks", &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/chunks"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_segment),      cmocka_unit_test(test_segments_cut),
        cmocka_unit_test(test_continues_numbering), cmocka_unit_test(test_bad_refs),
        cmocka_unit_test(test_crc_mismatch),        cmocka_unit_test(test_damaged_segments),
        cmocka_unit_test(test_bad_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
