/*
 * test_bstream.c - the bit writer and reader, and the byte varints.
 */
#include "unit/unit.h"

#include "tsdb/tsdb.h"

#include "helpers.h"

static void test_write_layout(void **state)
{
    tsdb_bstream b;
    tsdb_bstream_init(&b);
    tsdb_bstream_write_bit(&b, true);
    tsdb_bstream_write_bits(&b, 0x2, 2);
    tsdb_bstream_write_byte(&b, 0xab);
    /* 1 10 10101011 -> 1101 0101 011(0 0000) */
    assert_int_equal(b.len, 2);
    assert_int_equal(b.buf[0], 0xd5);
    assert_int_equal(b.buf[1], 0x60);
    assert_int_equal(b.count, 5);
    tsdb_bstream_write_bits(&b, UINT64_C(0xffffffffffffffff), 64);
    assert_int_equal(b.len, 10);
    assert_int_equal(b.buf[1], 0x7f);
    assert_int_equal(b.buf[9], 0xe0);
    tsdb_bstream_write_bits(&b, 0, 0);
    assert_int_equal(b.len, 10);
    tsdb_bstream_destroy(&b);
}

/* Prometheus 2.x: a byte written at a boundary leaves an empty byte behind,
 * which the next bits fill. */
static void test_v2_layout(void **state)
{
    tsdb_bstream b;
    tsdb_bstream_init(&b);
    b.layout = TSDB_LAYOUT_V2;
    tsdb_bstream_write_byte(&b, 0xab);
    assert_int_equal(b.len, 2);
    assert_int_equal(b.count, 8);
    tsdb_bstream_write_byte(&b, 0xcd);
    assert_int_equal(b.len, 3);
    tsdb_bstream_write_bits(&b, 0x5, 3);
    assert_int_equal(b.len, 3);
    assert_int_equal(b.buf[2], 0xa0);
    tsdb_bstream_write_bits(&b, 0x1f, 5);
    assert_int_equal(b.len, 3); /* ended on a boundary by bits: no empty byte */
    assert_int_equal(b.count, 0);
    tsdb_bstream_write_bits(&b, 0x1234, 16);
    assert_int_equal(b.len, 6);
    assert_int_equal(b.count, 8);
    tsdb_bstream_write_bits(&b, 0x3ff, 10);
    assert_int_equal(b.len, 7);
    assert_int_equal(b.count, 6);
    const uint8_t want[] = {0xab, 0xcd, 0xbf, 0x12, 0x34, 0xff, 0xc0};
    assert_memory_equal(b.buf, want, sizeof(want));
    tsdb_bstream_destroy(&b);
}

static void test_high_bits_ignored(void **state)
{
    tsdb_bstream b;
    tsdb_bstream_init(&b);
    tsdb_bstream_write_bits(&b, 0xff05, 4);
    assert_int_equal(b.len, 1);
    assert_int_equal(b.buf[0], 0x50);
    tsdb_bstream_destroy(&b);
}

/* Writes random-width fields, reads them back, then hits the end. */
static void test_random_round_trip(void **state)
{
    enum { N = 5000 };
    static uint64_t vals[N];
    static unsigned widths[N];
    uint64_t seed = 42;
    tsdb_bstream b;
    tsdb_bstream_init(&b);
    size_t total = 0;
    for (int i = 0; i < N; i++) {
        widths[i] = (unsigned)(rnd_next(&seed) % 65);
        uint64_t v = rnd_next(&seed);
        vals[i] = widths[i] == 64 ? v : v & ((UINT64_C(1) << widths[i]) - 1);
        if (widths[i] == 1)
            tsdb_bstream_write_bit(&b, vals[i]);
        else if (widths[i] == 8)
            tsdb_bstream_write_byte(&b, (uint8_t)vals[i]);
        else
            tsdb_bstream_write_bits(&b, v, widths[i]);
        total += widths[i];
    }
    assert_int_equal(b.len, (total + 7) / 8);
    tsdb_breader r;
    tsdb_breader_init(&r, b.buf, b.len);
    for (int i = 0; i < N; i++) {
        uint64_t got;
        if (widths[i] == 1) {
            unsigned bit;
            assert_int_equal(tsdb_breader_read_bit(&r, &bit), 0);
            got = bit;
        } else {
            assert_int_equal(tsdb_breader_read_bits(&r, widths[i], &got), 0);
        }
        assert_true(got == vals[i]);
    }
    uint64_t pad;
    unsigned left = (unsigned)(b.len * 8 - total);
    assert_int_equal(tsdb_breader_read_bits(&r, left, &pad), 0);
    assert_true(pad == 0);
    unsigned bit;
    assert_int_equal(tsdb_breader_read_bit(&r, &bit), -1);
    tsdb_bstream_destroy(&b);
}

static void test_read_past_end(void **state)
{
    const uint8_t p[3] = {0xff, 0x00, 0xaa};
    tsdb_breader r;
    uint64_t v;
    tsdb_breader_init(&r, p, sizeof(p));
    assert_int_equal(tsdb_breader_read_bits(&r, 25, &v), -1);
    tsdb_breader_init(&r, p, sizeof(p));
    assert_int_equal(tsdb_breader_read_bits(&r, 20, &v), 0);
    assert_true(v == 0xff00a);
    assert_int_equal(tsdb_breader_read_bits(&r, 5, &v), -1);
    tsdb_breader_init(&r, NULL, 0);
    assert_int_equal(tsdb_breader_read_bits(&r, 1, &v), -1);
    assert_int_equal(tsdb_breader_read_bits(&r, 0, &v), 0);
}

static void test_varints(void **state)
{
    static const int64_t ints[] = {0, 1, -1, 63, -64, 64, 1000, -1000, INT64_MAX, INT64_MIN};
    uint8_t buf[TSDB_MAX_VARINT_LEN];
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        tsdb_bstream b;
        tsdb_bstream_init(&b);
        tsdb_bstream_write_bit(&b, true); /* unaligned on purpose */
        size_t n = tsdb_put_varint(buf, ints[i]);
        for (size_t k = 0; k < n; k++)
            tsdb_bstream_write_byte(&b, buf[k]);
        n = tsdb_put_uvarint(buf, (uint64_t)ints[i]);
        for (size_t k = 0; k < n; k++)
            tsdb_bstream_write_byte(&b, buf[k]);
        tsdb_breader r;
        tsdb_breader_init(&r, b.buf, b.len);
        unsigned bit;
        int64_t s;
        uint64_t u;
        assert_int_equal(tsdb_breader_read_bit(&r, &bit), 0);
        assert_int_equal(tsdb_breader_read_varint(&r, &s), 0);
        assert_true(s == ints[i]);
        assert_int_equal(tsdb_breader_read_uvarint(&r, &u), 0);
        assert_true(u == (uint64_t)ints[i]);
        assert_int_equal(tsdb_uvarint(buf, n, &u), (int)n);
        assert_true(u == (uint64_t)ints[i]);
        assert_int_equal(tsdb_uvarint(buf, n - 1, &u), 0);
        tsdb_bstream_destroy(&b);
    }
    assert_int_equal(tsdb_put_varint(buf, -1), 1);
    assert_int_equal(buf[0], 1);
    assert_int_equal(tsdb_put_uvarint(buf, UINT64_MAX), 10);
}

static void test_varint_overflow(void **state)
{
    const uint8_t big[11] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    const uint8_t tenth[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    uint64_t u;
    assert_int_equal(tsdb_uvarint(big, sizeof(big), &u), -1);
    assert_int_equal(tsdb_uvarint(tenth, sizeof(tenth), &u), -1);
    tsdb_breader r;
    tsdb_breader_init(&r, big, sizeof(big));
    assert_int_equal(tsdb_breader_read_uvarint(&r, &u), -1);
    tsdb_breader_init(&r, tenth, sizeof(tenth));
    assert_int_equal(tsdb_breader_read_uvarint(&r, &u), -1);
    tsdb_breader_init(&r, big, 3);
    assert_int_equal(tsdb_breader_read_uvarint(&r, &u), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_layout),      cmocka_unit_test(test_v2_layout),
        cmocka_unit_test(test_high_bits_ignored), cmocka_unit_test(test_random_round_trip),
        cmocka_unit_test(test_read_past_end),     cmocka_unit_test(test_varints),
        cmocka_unit_test(test_varint_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
