/*
 * test_xor.c - the XOR float chunk: round trips over edge cases, exact bytes
 * for known inputs, seek semantics, resuming from bytes, corrupt or
 * truncated data giving errors rather than crashes, and the inline fast
 * path (xor_iter.h) reading exactly what the careful one reads, on every
 * truncation and with flipped bits.
 */
#include "unit/unit.h"

#include "tsdb/tsdb.h"
#include "tsdb/xor_iter.h"

#include "helpers.h"

#include <float.h>
#include <math.h>

typedef struct sample {
    int64_t t;
    uint64_t v;
} sample;

static uint64_t bits_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
}

static void encode_layout(tsdb_xor *c, const sample *s, size_t n, tsdb_layout layout)
{
    tsdb_xor_init_layout(c, layout);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(tsdb_xor_append_bits(c, s[i].t, s[i].v, NULL), 0);
    assert_int_equal(tsdb_xor_num_samples(c), n);
}

static void encode(tsdb_xor *c, const sample *s, size_t n)
{
    encode_layout(c, s, n, TSDB_LAYOUT_V3);
}

/* Encodes, decodes and compares every timestamp and value bit pattern. */
static void round_trip(const sample *s, size_t n)
{
    tsdb_xor c;
    encode(&c, s, n);
    size_t len;
    const uint8_t *p = tsdb_xor_bytes(&c, &len);
    tsdb_xor_iter it;
    assert_int_equal(tsdb_xor_iter_init(&it, p, len, NULL), 0);
    for (size_t i = 0; i < n; i++) {
        assert_true(tsdb_xor_iter_next(&it));
        assert_true(it.t == s[i].t);
        assert_true(it.v == s[i].v);
    }
    assert_false(tsdb_xor_iter_next(&it));
    assert_int_equal(tsdb_xor_iter_err(&it, NULL), 0);
    tsdb_xor_destroy(&c);
}

static void test_empty(void **state)
{
    tsdb_xor c;
    tsdb_xor_init(&c);
    size_t len;
    const uint8_t *p = tsdb_xor_bytes(&c, &len);
    assert_int_equal(len, 2);
    assert_int_equal(p[0] | p[1], 0);
    tsdb_xor_iter it;
    assert_int_equal(tsdb_xor_iter_init(&it, p, len, NULL), 0);
    assert_false(tsdb_xor_iter_next(&it));
    assert_false(tsdb_xor_iter_seek(&it, 0));
    assert_int_equal(tsdb_xor_iter_err(&it, NULL), 0);
    tsdb_xor_destroy(&c);
}

/* One sample is a varint timestamp and 64 raw value bits. */
static void test_one_sample_bytes(void **state)
{
    const sample s[] = {{1000, bits_of(1.5)}};
    const uint8_t want[] = {0x00, 0x01, 0xd0, 0x0f, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0};
    tsdb_xor c;
    encode(&c, s, 1);
    size_t len;
    const uint8_t *p = tsdb_xor_bytes(&c, &len);
    assert_int_equal(len, sizeof(want));
    assert_memory_equal(p, want, sizeof(want));
    tsdb_xor_destroy(&c);
    round_trip(s, 1);
}

/* Samples 15 s apart with one value: 1 bit of dod and 1 bit of value each. */
static void test_regular_bytes(void **state)
{
    sample s[4];
    for (int i = 0; i < 4; i++)
        s[i] = (sample){15000 * i, bits_of(1)};
    /* 00 04 | varint 0 | 3ff0... | uvarint 15000 = 98 75 | 0 | 0 0 | 0 0 */
    const uint8_t want[] = {0x00, 0x04, 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x98, 0x75, 0x00};
    tsdb_xor c;
    encode(&c, s, 4);
    size_t len;
    const uint8_t *p = tsdb_xor_bytes(&c, &len);
    assert_int_equal(len, sizeof(want));
    assert_memory_equal(p, want, sizeof(want));
    tsdb_xor_destroy(&c);
    round_trip(s, 4);
}

/* Upstream's own vectors from PR #14854 (storage/remote/read_handler_test.go):
 * one sample (7200000, 12000) is 15 bytes before 3.0 and 14 bytes after. */
static void test_layouts_upstream_vectors(void **state)
{
    const sample s[] = {{7200000, bits_of(12000)}};
    const uint8_t v2[] = {0, 1, 0x80, 0xf4, 0xee, 0x06, 0x40, 0xc7, 0x70, 0, 0, 0, 0, 0, 0};
    tsdb_xor c;
    size_t len;
    encode_layout(&c, s, 1, TSDB_LAYOUT_V2);
    const uint8_t *p = tsdb_xor_bytes(&c, &len);
    assert_int_equal(len, sizeof(v2));
    assert_memory_equal(p, v2, sizeof(v2));
    tsdb_xor_destroy(&c);
    encode(&c, s, 1);
    p = tsdb_xor_bytes(&c, &len);
    assert_int_equal(len, sizeof(v2) - 1);
    assert_memory_equal(p, v2, sizeof(v2) - 1);
    tsdb_xor_destroy(&c);
}

static void test_equal_timestamps(void **state)
{
    sample s[10];
    for (int i = 0; i < 10; i++)
        s[i] = (sample){5, bits_of(i)};
    round_trip(s, 10);
    s[9].t = 4; /* going backwards is stored, not judged */
    round_trip(s, 10);
}

/* Delta-of-deltas on both sides of every bucket boundary. */
static void test_dod_buckets(void **state)
{
    static const int64_t dods[] = {
        0,       1,       -1,      8191,         8192,      8193,     -8191,  -8192,
        65535,   65536,   65537,   -65535,       -65536,    524287,   524288, 524289,
        -524287, -524288, 1 << 30, -(1LL << 40), INT32_MAX, INT32_MIN};
    size_t n = sizeof(dods) / sizeof(dods[0]);
    sample s[64];
    int64_t t = -100000000000LL, delta = 1000;
    s[0] = (sample){t, bits_of(0)};
    t += delta;
    s[1] = (sample){t, bits_of(1)};
    for (size_t i = 0; i < n; i++) {
        delta += dods[i];
        t += delta;
        s[i + 2] = (sample){t, bits_of((double)i)};
    }
    round_trip(s, n + 2);
}

/* Timestamps at the ends of int64: deltas wrap as in Go. */
static void test_extreme_timestamps(void **state)
{
    const sample s[] = {{INT64_MIN, 0}, {INT64_MAX, 1}, {INT64_MIN, 2}, {0, 3},
                        {-1, 4},        {INT64_MAX, 5}, {INT64_MAX, 6}, {INT64_MIN + 1, 7}};
    round_trip(s, sizeof(s) / sizeof(s[0]));
    round_trip(s + 1, 1);
}

static void test_negative_timestamps(void **state)
{
    sample s[120];
    for (int i = 0; i < 120; i++)
        s[i] = (sample){-1000000 + 997 * i - (i % 3) * 13, bits_of(-i * 0.25)};
    round_trip(s, 120);
}

static void test_special_floats(void **state)
{
    static const uint64_t specials[] = {
        TSDB_STALE_NAN_BITS,          UINT64_C(0x7ff8000000000001), /* Go's math.NaN() */
        UINT64_C(0x7ff8000000000000), UINT64_C(0xfff8000000000000),
        UINT64_C(0x7ff0000000000001), /* signalling */
        UINT64_C(0xffffffffffffffff), UINT64_C(0x7fffffffffffffff),
        UINT64_C(0x7ff0000000000000),                               /* +Inf */
        UINT64_C(0xfff0000000000000),                               /* -Inf */
        UINT64_C(0x0000000000000000), UINT64_C(0x8000000000000000), /* -0 */
        UINT64_C(0x0000000000000001),                               /* smallest denormal */
        UINT64_C(0x000fffffffffffff), UINT64_C(0x0010000000000000), /* DBL_MIN */
        UINT64_C(0x7fefffffffffffff),                               /* DBL_MAX */
        UINT64_C(0xffefffffffffffff), UINT64_C(0x3ff0000000000000),
        UINT64_C(0x3ff0000000000001), UINT64_C(0xbff0000000000000),
    };
    size_t n = sizeof(specials) / sizeof(specials[0]);
    sample s[2 * sizeof(specials) / sizeof(specials[0])];
    /* every special after every other one, and repeated */
    for (size_t a = 0; a < n; a++) {
        for (size_t i = 0; i < n; i++) {
            s[2 * i] = (sample){(int64_t)i * 1000, specials[(a + i) % n]};
            s[2 * i + 1] = (sample){(int64_t)i * 1000 + 500, specials[(a + i) % n]};
        }
        round_trip(s, 2 * n);
    }
    for (size_t i = 0; i < n; i++)
        round_trip(&(sample){7, specials[i]}, 1);
}

static void test_double_api(void **state)
{
    tsdb_xor c;
    tsdb_xor_init(&c);
    assert_int_equal(tsdb_xor_append(&c, 1, -0.0, NULL), 0);
    assert_int_equal(tsdb_xor_append(&c, 2, INFINITY, NULL), 0);
    size_t len;
    const uint8_t *p = tsdb_xor_bytes(&c, &len);
    tsdb_xor_iter it;
    assert_int_equal(tsdb_xor_iter_init(&it, p, len, NULL), 0);
    assert_true(tsdb_xor_iter_next(&it));
    assert_true(signbit(tsdb_xor_iter_value(&it)) && tsdb_xor_iter_value(&it) == 0);
    assert_true(tsdb_xor_iter_next(&it));
    assert_true(isinf(tsdb_xor_iter_value(&it)));
    tsdb_xor_destroy(&c);
}

/* 120 samples (upstream's chunk size) of random walks with jittered scrapes. */
static void fill_random_walk(sample *s, size_t n, uint64_t *seed)
{
    int64_t t = (int64_t)(rnd_next(seed) % 2000000000000ULL) - 1000000000000LL;
    double v = (double)(rnd_next(seed) % 1000) - 500;
    unsigned kind = (unsigned)(rnd_next(seed) % 4);
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rnd_next(seed);
        t += 15000 + (int64_t)(r % 41) - 20;
        if (r % 97 == 0) t += (int64_t)(r % 10000000);
        if (kind == 0)
            v += (double)(int64_t)(r % 2001 - 1000) / 1000;
        else if (kind == 1)
            v += (double)(r % 5); /* counter */
        else if (kind == 2)
            v = (double)(r >> 11) * 0x1p-53 * 1e300;
        s[i] = (sample){t, bits_of(v)}; /* kind 3: constant */
    }
}

static void test_random_walks(void **state)
{
    uint64_t seed = 7;
    sample s[TSDB_SAMPLES_PER_CHUNK];
    for (int round = 0; round < 500; round++) {
        fill_random_walk(s, TSDB_SAMPLES_PER_CHUNK, &seed);
        round_trip(s, TSDB_SAMPLES_PER_CHUNK);
    }
}

static void test_seek(void **state)
{
    const sample s[] = {{10, 1}, {20, 2}, {20, 3}, {30, 4}, {45, 5}};
    tsdb_xor c;
    encode(&c, s, 5);
    size_t len;
    const uint8_t *p = tsdb_xor_bytes(&c, &len);
    tsdb_xor_iter it;

    tsdb_xor_iter_init(&it, p, len, NULL);
    assert_true(tsdb_xor_iter_seek(&it, INT64_MIN)); /* a fresh iterator moves to the first */
    assert_true(it.t == 10 && it.v == 1);
    assert_true(tsdb_xor_iter_seek(&it, 10)); /* already there: stays */
    assert_true(it.v == 1);
    assert_true(tsdb_xor_iter_seek(&it, 20)); /* the first of equal timestamps */
    assert_true(it.t == 20 && it.v == 2);
    assert_true(tsdb_xor_iter_seek(&it, 21)); /* between: the next one */
    assert_true(it.t == 30);
    assert_true(tsdb_xor_iter_seek(&it, 5)); /* never backwards */
    assert_true(it.t == 30);
    assert_true(tsdb_xor_iter_seek(&it, 45));
    assert_true(it.v == 5);
    assert_true(tsdb_xor_iter_seek(&it, 45)); /* at the last one, still true */
    assert_false(tsdb_xor_iter_seek(&it, 46));
    assert_false(tsdb_xor_iter_next(&it));
    assert_int_equal(tsdb_xor_iter_err(&it, NULL), 0);

    tsdb_xor_iter_init(&it, p, len, NULL);
    assert_false(tsdb_xor_iter_seek(&it, 1000));
    tsdb_xor_iter_init(&it, p, len, NULL);
    assert_true(tsdb_xor_iter_seek(&it, 0));
    assert_true(it.t == 10);
    assert_true(tsdb_xor_iter_next(&it));
    assert_true(it.t == 20);
    tsdb_xor_destroy(&c);
}

/* Rebuilding an appender from bytes and appending the rest gives the bytes
 * of appending everything at once. */
static void test_resume(void **state)
{
    uint64_t seed = 99;
    sample s[TSDB_SAMPLES_PER_CHUNK];
    for (int round = 0; round < 50; round++) {
        fill_random_walk(s, TSDB_SAMPLES_PER_CHUNK, &seed);
        if (round % 5 == 0)
            for (int i = 0; i < 10; i++)
                s[i].v = s[0].v; /* no value window before the cut */
        tsdb_xor whole;
        encode(&whole, s, TSDB_SAMPLES_PER_CHUNK);
        size_t wlen;
        const uint8_t *w = tsdb_xor_bytes(&whole, &wlen);
        for (size_t cut = 0; cut <= TSDB_SAMPLES_PER_CHUNK; cut += 7) {
            tsdb_xor part, resumed;
            encode(&part, s, cut);
            size_t plen;
            const uint8_t *p = tsdb_xor_bytes(&part, &plen);
            assert_int_equal(tsdb_xor_init_from(&resumed, p, plen, NULL), 0);
            for (size_t i = cut; i < TSDB_SAMPLES_PER_CHUNK; i++)
                assert_int_equal(tsdb_xor_append_bits(&resumed, s[i].t, s[i].v, NULL), 0);
            size_t rlen;
            const uint8_t *r = tsdb_xor_bytes(&resumed, &rlen);
            assert_int_equal(rlen, wlen);
            assert_memory_equal(r, w, wlen);
            tsdb_xor_destroy(&part);
            tsdb_xor_destroy(&resumed);
        }
        tsdb_xor_destroy(&whole);
    }
}

/* The two layouts hold the same bits: V2 is V3 or V3 plus one zero byte, it
 * decodes the same, and it resumes into the same bytes. */
static void test_layouts_agree(void **state)
{
    uint64_t seed = 17;
    sample s[TSDB_SAMPLES_PER_CHUNK];
    int padded = 0;
    for (int round = 0; round < 300; round++) {
        size_t n = 1 + round % TSDB_SAMPLES_PER_CHUNK;
        fill_random_walk(s, n, &seed);
        tsdb_xor v2, v3, resumed;
        size_t len2, len3, rlen;
        encode_layout(&v2, s, n, TSDB_LAYOUT_V2);
        encode(&v3, s, n);
        const uint8_t *p2 = tsdb_xor_bytes(&v2, &len2), *p3 = tsdb_xor_bytes(&v3, &len3);
        assert_true(len2 == len3 || (len2 == len3 + 1 && p2[len3] == 0));
        assert_memory_equal(p2, p3, len3);
        padded += len2 != len3;
        tsdb_xor_iter it;
        assert_int_equal(tsdb_xor_iter_init(&it, p2, len2, NULL), 0);
        for (size_t i = 0; i < n; i++) {
            assert_true(tsdb_xor_iter_next(&it));
            assert_true(it.t == s[i].t && it.v == s[i].v);
        }
        assert_false(tsdb_xor_iter_next(&it));
        if (len2 != len3) {
            tsdb_xor whole;
            encode_layout(&whole, s, n, TSDB_LAYOUT_V2);
            assert_int_equal(tsdb_xor_append_bits(&whole, s[n - 1].t + 1, 0, NULL), 0);
            assert_int_equal(tsdb_xor_init_from(&resumed, p2, len2, NULL), 0);
            assert_int_equal(tsdb_xor_append_bits(&resumed, s[n - 1].t + 1, 0, NULL), 0);
            const uint8_t *w = tsdb_xor_bytes(&whole, &len2), *r = tsdb_xor_bytes(&resumed, &rlen);
            assert_int_equal(rlen, len2);
            assert_memory_equal(r, w, rlen);
            tsdb_xor_destroy(&whole);
            tsdb_xor_destroy(&resumed);
        }
        tsdb_xor_destroy(&v2);
        tsdb_xor_destroy(&v3);
    }
    assert_true(padded > 0);
}

static void test_full_chunk(void **state)
{
    tsdb_xor c;
    tsdb_xor_init(&c);
    for (int i = 0; i < UINT16_MAX; i++)
        assert_int_equal(tsdb_xor_append_bits(&c, i, (uint64_t)i, NULL), 0);
    core_err err;
    assert_int_equal(tsdb_xor_append_bits(&c, 1 << 20, 0, &err), -1);
    assert_non_null(strstr(err.msg, "full"));
    assert_int_equal(tsdb_xor_num_samples(&c), UINT16_MAX);
    tsdb_xor_destroy(&c);
}

/* Iterates to the end; returns the samples read, and whether it failed. */
static size_t drain(const uint8_t *p, size_t len, bool *failed)
{
    tsdb_xor_iter it;
    size_t n = 0;
    *failed = tsdb_xor_iter_init(&it, p, len, NULL) < 0;
    if (*failed) return 0;
    while (tsdb_xor_iter_next(&it))
        n++;
    *failed = tsdb_xor_iter_err(&it, NULL) < 0;
    return n;
}

static void test_truncated(void **state)
{
    uint64_t seed = 3;
    sample s[TSDB_SAMPLES_PER_CHUNK];
    fill_random_walk(s, TSDB_SAMPLES_PER_CHUNK, &seed);
    tsdb_xor c;
    encode(&c, s, TSDB_SAMPLES_PER_CHUNK);
    size_t len;
    const uint8_t *p = tsdb_xor_bytes(&c, &len);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut + 1); /* exact size, so ASan sees overreads */
        memcpy(copy, p, cut);
        bool failed;
        size_t n = drain(copy, cut, &failed);
        assert_true(failed);
        assert_true(n < TSDB_SAMPLES_PER_CHUNK);
        tsdb_xor resumed;
        assert_int_equal(tsdb_xor_init_from(&resumed, copy, cut, NULL), -1);
        free(copy);
    }
    tsdb_xor_destroy(&c);
}

static void test_corrupted(void **state)
{
    uint64_t seed = 5;
    sample s[TSDB_SAMPLES_PER_CHUNK];
    fill_random_walk(s, TSDB_SAMPLES_PER_CHUNK, &seed);
    tsdb_xor c;
    encode(&c, s, TSDB_SAMPLES_PER_CHUNK);
    size_t len;
    const uint8_t *p = tsdb_xor_bytes(&c, &len);
    uint8_t *copy = malloc(len);
    for (int round = 0; round < 20000; round++) {
        memcpy(copy, p, len);
        for (int k = 0; k < 1 + round % 4; k++)
            copy[rnd_next(&seed) % len] ^= (uint8_t)(1u << (rnd_next(&seed) % 8));
        bool failed;
        size_t n = drain(copy, len, &failed);
        assert_true(n <= UINT16_MAX);
    }
    /* a header claiming more samples than the data holds */
    memcpy(copy, p, len);
    copy[0] = 0xff;
    bool failed;
    assert_true(drain(copy, len, &failed) >= TSDB_SAMPLES_PER_CHUNK); /* padding may decode */
    assert_true(failed);
    free(copy);
    core_err err;
    tsdb_xor_iter it;
    assert_int_equal(tsdb_xor_iter_init(&it, p, 1, &err), -1);
    assert_non_null(strstr(err.msg, "header"));
    tsdb_xor_destroy(&c);
}

/* A value window that would pass bit 64 (leading 31 + 40 significant bits). */
static void test_bad_window(void **state)
{
    tsdb_bstream b;
    tsdb_bstream_init(&b);
    tsdb_bstream_write_bits(&b, 2, 16); /* 2 samples */
    tsdb_bstream_write_byte(&b, 0);     /* t0 = 0 */
    tsdb_bstream_write_bits(&b, 0, 64);
    tsdb_bstream_write_byte(&b, 1); /* delta 1 */
    tsdb_bstream_write_bits(&b, 3, 2);
    tsdb_bstream_write_bits(&b, 31, 5);
    tsdb_bstream_write_bits(&b, 40, 6);
    tsdb_bstream_write_bits(&b, 0, 64);
    tsdb_xor_iter it;
    core_err err;
    assert_int_equal(tsdb_xor_iter_init(&it, b.buf, b.len, NULL), 0);
    assert_true(tsdb_xor_iter_next(&it));
    assert_false(tsdb_xor_iter_next(&it));
    assert_int_equal(tsdb_xor_iter_err(&it, &err), -1);
    assert_non_null(strstr(err.msg, "wider than 64"));
    tsdb_bstream_destroy(&b);
}

/* Iterates data both ways (the inline fast path; the careful path alone)
 * and checks they agree sample by sample and on failing. */
static void same_both_ways(const uint8_t *data, size_t len)
{
    tsdb_xor_iter a, b;
    int ra = tsdb_xor_iter_init(&a, data, len, NULL), rb = tsdb_xor_iter_init(&b, data, len, NULL);
    assert_int_equal(ra, rb);
    if (ra < 0) return;
    for (;;) {
        bool na = tsdb_xor_iter_next_inline(&a), nb = tsdb_xor_iter_next_slow(&b);
        assert_int_equal(na, nb);
        if (!na) break;
        assert_int_equal(a.t, b.t);
        assert_int_equal(a.v, b.v);
    }
    assert_int_equal(a.failure == NULL, b.failure == NULL);
    assert_int_equal(a.read, b.read);
}

static void test_fast_path_agrees(void **state)
{
    (void)state;
    uint64_t seed = 7;
    for (int round = 0; round < 60; round++) {
        tsdb_xor c;
        tsdb_xor_init(&c);
        int64_t t = (int64_t)(rnd_next(&seed) % 2000000000000);
        double v = 0;
        size_t n = 1 + rnd_next(&seed) % 200;
        for (size_t i = 0; i < n; i++) {
            uint64_t r = rnd_next(&seed);
            switch (round % 4) {
            case 0: t += 15000; break;
            case 1: t += 15000 + (int64_t)(r % 3 == 0 ? r % 100 : 0); break;
            case 2: t += 1 + (int64_t)(r % (r % 2 ? 70000 : 3000000000)); break;
            default: t += (int64_t)(r % 9) * 1000; break;
            }
            uint64_t vb = round % 3 == 0 ? r : bits_of(v += (double)(r % 100) / 4);
            assert_int_equal(tsdb_xor_append_bits(&c, t, vb, NULL), 0);
        }
        size_t len;
        const uint8_t *data = tsdb_xor_bytes(&c, &len);
        uint8_t *copy = malloc(len);
        for (size_t cut = 0; cut <= len; cut++) {
            memcpy(copy, data, cut);
            same_both_ways(copy, cut);
        }
        for (int flip = 0; flip < 40; flip++) {
            memcpy(copy, data, len);
            size_t bit = rnd_next(&seed) % (len * 8);
            copy[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
            same_both_ways(copy, len);
        }
        free(copy);
        tsdb_xor_destroy(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_one_sample_bytes),
        cmocka_unit_test(test_regular_bytes),
        cmocka_unit_test(test_layouts_upstream_vectors),
        cmocka_unit_test(test_equal_timestamps),
        cmocka_unit_test(test_dod_buckets),
        cmocka_unit_test(test_extreme_timestamps),
        cmocka_unit_test(test_negative_timestamps),
        cmocka_unit_test(test_special_floats),
        cmocka_unit_test(test_double_api),
        cmocka_unit_test(test_random_walks),
        cmocka_unit_test(test_seek),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_layouts_agree),
        cmocka_unit_test(test_full_chunk),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_corrupted),
        cmocka_unit_test(test_bad_window),
        cmocka_unit_test(test_fast_path_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
