/*
 * test_head_chunks.c - chunks_head/ files: writing, reading by ref and in
 * order, file cutting, the zero tail of a preallocated file, and damaged
 * files giving errors.
 */
#include "unit/unit.h"

#include "tsdb/tsdb.h"

#include "helpers.h"

enum { NCHUNKS = 40 };

typedef struct written {
    uint64_t ref;
    tsdb_head_chunk meta;
    uint8_t data[200];
} written;

static void write_chunks(const char *dir, uint64_t file_size, written *w)
{
    tsdb_head_chunk_writer hw;
    core_err err;
    assert_int_equal(tsdb_head_chunk_writer_open(&hw, dir, file_size, &err), 0);
    for (int i = 0; i < NCHUNKS; i++) {
        tsdb_xor c;
        tsdb_xor_init(&c);
        for (int k = 0; k <= i; k++)
            tsdb_xor_append(&c, -5000 + 100 * k, (double)(k ^ i), NULL);
        size_t len;
        const uint8_t *p = tsdb_xor_bytes(&c, &len);
        memcpy(w[i].data, p, len);
        w[i].meta =
            (tsdb_head_chunk){.series_ref = 1 + (uint64_t)i % 7,
                              .mint = -5000,
                              .maxt = -5000 + 100 * i,
                              .enc = i % 5 ? TSDB_ENC_XOR : TSDB_ENC_XOR | TSDB_ENC_OOO_MASK,
                              .data = w[i].data,
                              .len = len};
        assert_int_equal(tsdb_head_chunk_writer_write(&hw, &w[i].meta, &w[i].ref, &err), 0);
        tsdb_xor_destroy(&c);
    }
    assert_int_equal(tsdb_head_chunk_writer_close(&hw, &err), 0);
}

static void check_chunk(const tsdb_head_chunk *got, const written *w)
{
    assert_true(got->series_ref == w->meta.series_ref);
    assert_true(got->mint == w->meta.mint);
    assert_true(got->maxt == w->meta.maxt);
    assert_int_equal(got->enc, w->meta.enc);
    assert_int_equal(got->len, w->meta.len);
    assert_memory_equal(got->data, w->data, got->len);
}

static void check_read_back(const char *dir, const written *w)
{
    tsdb_head_chunk_reader r;
    core_err err;
    tsdb_head_chunk ch;
    assert_int_equal(tsdb_head_chunk_reader_open(&r, dir, &err), 0);
    for (int i = 0; i < NCHUNKS; i++) {
        assert_int_equal(tsdb_head_chunk_reader_chunk(&r, w[i].ref, &ch, &err), 0);
        check_chunk(&ch, &w[i]);
    }
    size_t file = 0, off = 0;
    uint64_t ref;
    for (int i = 0; i < NCHUNKS; i++) {
        assert_int_equal(tsdb_head_chunk_reader_next(&r, &file, &off, &ch, &ref, &err), 1);
        assert_true(ref == w[i].ref);
        check_chunk(&ch, &w[i]);
    }
    assert_int_equal(tsdb_head_chunk_reader_next(&r, &file, &off, &ch, &ref, &err), 0);
    tsdb_head_chunk_reader_close(&r);
}

static void test_round_trip(void **state)
{
    char *dir = tmpdir_new();
    static written w[NCHUNKS];
    write_chunks(dir, 0, w);
    assert_true(w[0].ref == (UINT64_C(1) << 32 | 8));
    check_read_back(dir, w);
    size_t len;
    uint8_t *f = file_read(dir, "000001", &len);
    const uint8_t header[8] = {0x01, 0x30, 0xbc, 0x91, 0x01, 0, 0, 0};
    assert_memory_equal(f, header, 8);
    /* series ref 1, mint -5000, maxt -5000, OOO XOR, len, data, CRC of all of it */
    assert_int_equal(f[15], 1);
    assert_int_equal(f[16], 0xff);
    assert_int_equal(f[24 + 7], 0x78);
    assert_int_equal(f[32], 0x81);
    assert_int_equal(f[33], w[0].meta.len);
    size_t end = 34 + w[0].meta.len;
    uint32_t crc = tsdb_crc32c(0, f + 8, end - 8);
    assert_int_equal((uint32_t)f[end] << 24 | f[end + 1] << 16 | f[end + 2] << 8 | f[end + 3], crc);
    free(f);
    tmpdir_free(dir);
}

static void test_files_cut(void **state)
{
    char *dir = tmpdir_new();
    static written w[NCHUNKS];
    write_chunks(dir, 400, w);
    assert_true(w[NCHUNKS - 1].ref >> 32 > 4);
    check_read_back(dir, w);
    tmpdir_free(dir);
}

/* Preallocated zeros after the data, and an empty last file, end the data. */
static void test_zero_tail_and_empty_last(void **state)
{
    char *dir = tmpdir_new();
    static written w[NCHUNKS];
    write_chunks(dir, 0, w);
    size_t len;
    uint8_t *f = file_read(dir, "000001", &len);
    uint8_t *padded = calloc(1, len + 1000);
    memcpy(padded, f, len);
    file_write(dir, "000001", padded, len + 1000);
    file_write(dir, "000002", "", 0);
    check_read_back(dir, w);
    /* 20 zero bytes (less than a record header) also end the data */
    file_write(dir, "000001", padded, len + 20);
    check_read_back(dir, w);
    /* ... but not 20 bytes holding anything else */
    padded[len + 10] = 1;
    file_write(dir, "000001", padded, len + 20);
    tsdb_head_chunk_reader r;
    core_err err;
    tsdb_head_chunk ch;
    uint64_t ref;
    size_t file = 0, off = 0;
    int rc;
    assert_int_equal(tsdb_head_chunk_reader_open(&r, dir, &err), 0);
    while ((rc = tsdb_head_chunk_reader_next(&r, &file, &off, &ch, &ref, &err)) == 1)
        ;
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err.msg, "not enough bytes"));
    tsdb_head_chunk_reader_close(&r);
    free(padded);
    free(f);
    tmpdir_free(dir);
}

static void test_crc_and_refs(void **state)
{
    char *dir = tmpdir_new();
    static written w[NCHUNKS];
    write_chunks(dir, 0, w);
    size_t len;
    uint8_t *f = file_read(dir, "000001", &len);
    f[(w[5].ref & 0xffffffff) + 9] ^= 0x01; /* chunk 5's mint */
    file_write(dir, "000001", f, len);
    free(f);
    tsdb_head_chunk_reader r;
    core_err err;
    tsdb_head_chunk ch;
    assert_int_equal(tsdb_head_chunk_reader_open(&r, dir, &err), 0);
    assert_int_equal(tsdb_head_chunk_reader_chunk(&r, w[5].ref, &ch, &err), -1);
    assert_non_null(strstr(err.msg, "checksum mismatch"));
    assert_int_equal(tsdb_head_chunk_reader_chunk(&r, w[4].ref, &ch, &err), 0);
    assert_int_equal(tsdb_head_chunk_reader_chunk(&r, w[4].ref + 1, &ch, &err), -1);
    assert_int_equal(tsdb_head_chunk_reader_chunk(&r, UINT64_C(2) << 32 | 8, &ch, &err), -1);
    assert_non_null(strstr(err.msg, "does not exist"));
    assert_int_equal(tsdb_head_chunk_reader_chunk(&r, UINT64_C(1) << 32 | 3, &ch, &err), -1);
    assert_int_equal(tsdb_head_chunk_reader_chunk(&r, UINT64_C(1) << 32 | 0xfffffff, &ch, &err),
                     -1);
    tsdb_head_chunk_reader_close(&r);
    tmpdir_free(dir);
}

static void test_damaged_files(void **state)
{
    char *dir = tmpdir_new();
    static written w[NCHUNKS];
    write_chunks(dir, 0, w);
    size_t len;
    uint8_t *f = file_read(dir, "000001", &len);
    for (size_t cut = 8; cut < len; cut++) {
        uint8_t *copy = malloc(cut);
        memcpy(copy, f, cut);
        size_t off = 8;
        tsdb_head_chunk ch;
        int rc = 1;
        while (rc == 1)
            rc = tsdb_head_chunk_decode(copy, cut, off, &ch, &off, NULL);
        /* a record cut within its series ref's 7 leading zero bytes reads as
         * zero padding, as upstream reads it */
        bool at_boundary = cut == 8;
        for (int i = 0; i < NCHUNKS; i++) {
            size_t start = w[i].ref & 0xffffffff;
            at_boundary |= cut >= start && cut < start + 8;
        }
        assert_int_equal(rc, at_boundary ? 0 : -1);
        free(copy);
    }
    uint64_t seed = 13;
    uint8_t *copy = malloc(len);
    for (int round = 0; round < 5000; round++) {
        memcpy(copy, f, len);
        size_t at = 8 + rnd_next(&seed) % (len - 8);
        copy[at] ^= (uint8_t)(1 + rnd_next(&seed) % 255);
        size_t off = 8;
        tsdb_head_chunk ch;
        int rc = 1;
        while (rc == 1)
            rc = tsdb_head_chunk_decode(copy, len, off, &ch, &off, NULL);
        assert_true(rc == -1 || rc == 0); /* 0 only if a record header became all zero */
    }
    free(copy);
    free(f);
    tmpdir_free(dir);
}

static void test_bad_directories(void **state)
{
    char *dir = tmpdir_new();
    tsdb_head_chunk_reader r;
    core_err err;
    const char *hdr = "\x01\x30\xbc\x91\x01\x00\x00\x00";
    file_write(dir, "000001", hdr, 8);
    file_write(dir, "000003", hdr, 8);
    assert_int_equal(tsdb_head_chunk_reader_open(&r, dir, &err), -1);
    assert_non_null(strstr(err.msg, "unsequential"));
    file_write(dir, "000002", "\x85\xbd\x40\xdd\x01\x00\x00\x00", 8);
    assert_int_equal(tsdb_head_chunk_reader_open(&r, dir, &err), -1);
    assert_non_null(strstr(err.msg, "magic"));
    tmpdir_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_files_cut),
        cmocka_unit_test(test_zero_tail_and_empty_last),
        cmocka_unit_test(test_crc_and_refs),
        cmocka_unit_test(test_damaged_files),
        cmocka_unit_test(test_bad_directories),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
