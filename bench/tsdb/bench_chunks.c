/*
 * bench_chunks.c - XOR chunk speed and size: appends 1M samples into chunks
 * of 120 (upstream's cut), iterates them all back, and prints ns/sample and
 * bytes/sample for a few sample shapes, plus CRC32C throughput.
 *
 *   bench-tsdb-chunks [samples]
 *
 * Shapes: a constant scraped at an exact 15 s (the best case), a counter
 * with exact scrapes, a gauge random walk with +-50 ms scrape jitter, and
 * random doubles (the worst case).  Each figure is the best of 5 runs.
 */
#include "tsdb/tsdb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS 5

typedef struct sample {
    int64_t t;
    double v;
} sample;

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void generate(sample *s, size_t n, int shape)
{
    uint64_t seed = 12345;
    int64_t t = INT64_C(1700000000000);
    double v = 100;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rnd(&seed);
        t += 15000;
        if (shape == 0) {
            v = 42;
        } else if (shape == 1) {
            v += (double)(r % 10);
        } else if (shape == 2) {
            t += (int64_t)(r % 101) - 50;
            v += (double)((int64_t)(r >> 8) % 2001 - 1000) / 1000;
        } else {
            v = (double)(r >> 11) * 0x1p-53 * 1e6;
        }
        s[i] = (sample){t, v};
    }
}

/* Encodes everything into chunks of 120; returns the total byte size. */
static size_t encode_all(const sample *s, size_t n, tsdb_xor *chunks)
{
    size_t bytes = 0;
    for (size_t i = 0, c = 0; i < n; c++) {
        tsdb_xor_init(&chunks[c]);
        for (size_t k = 0; k < TSDB_SAMPLES_PER_CHUNK && i < n; k++, i++)
            tsdb_xor_append(&chunks[c], s[i].t, s[i].v, NULL);
        size_t len;
        tsdb_xor_bytes(&chunks[c], &len);
        bytes += len;
    }
    return bytes;
}

/* Iterates every chunk; returns a checksum so the work is not optimised out. */
static uint64_t iterate_all(const tsdb_xor *chunks, size_t nchunks, size_t *count)
{
    uint64_t sum = 0;
    *count = 0;
    for (size_t c = 0; c < nchunks; c++) {
        size_t len;
        const uint8_t *p = tsdb_xor_bytes(&chunks[c], &len);
        tsdb_xor_iter it;
        tsdb_xor_iter_init(&it, p, len, NULL);
        while (tsdb_xor_iter_next(&it)) {
            sum += (uint64_t)it.t ^ it.v;
            (*count)++;
        }
    }
    return sum;
}

static void free_all(tsdb_xor *chunks, size_t nchunks)
{
    for (size_t c = 0; c < nchunks; c++)
        tsdb_xor_destroy(&chunks[c]);
}

static void bench_shape(const char *name, int shape, size_t n)
{
    sample *s = malloc(n * sizeof(*s));
    size_t nchunks = (n + TSDB_SAMPLES_PER_CHUNK - 1) / TSDB_SAMPLES_PER_CHUNK;
    tsdb_xor *chunks = calloc(nchunks, sizeof(*chunks));
    generate(s, n, shape);
    double best_app = 1e30, best_it = 1e30;
    size_t bytes = 0, count = 0;
    uint64_t sum = 0;
    for (int run = 0; run < RUNS; run++) {
        double t0 = now_ns();
        bytes = encode_all(s, n, chunks);
        double t1 = now_ns();
        sum += iterate_all(chunks, nchunks, &count);
        double t2 = now_ns();
        free_all(chunks, nchunks);
        if (t1 - t0 < best_app) best_app = t1 - t0;
        if (t2 - t1 < best_it) best_it = t2 - t1;
    }
    if (count != n) fprintf(stderr, "%s: iterated %zu of %zu samples\n", name, count, n);
    printf("%-22s %10.2f %12.2f %12.3f   (check %016" PRIx64 ")\n", name, best_app / (double)n,
           best_it / (double)n, (double)bytes / (double)n, sum);
    free(chunks);
    free(s);
}

static void bench_crc(void)
{
    enum { SIZE = 1 << 20, REPS = 64 };
    uint8_t *buf = malloc(SIZE);
    for (size_t i = 0; i < SIZE; i++)
        buf[i] = (uint8_t)(i * 131);
    uint32_t acc = 0;
    double t0 = now_ns();
    for (int r = 0; r < REPS; r++)
        acc += tsdb_crc32c(0, buf, SIZE);
    double t1 = now_ns();
    for (int r = 0; r < REPS; r++)
        acc -= tsdb_crc32c_sw(0, buf, SIZE);
    double t2 = now_ns();
    double mb = (double)SIZE * REPS / 1e6;
    printf(
        "\nCRC32C: %.0f MB/s (dispatched), %.0f MB/s (table)   (check %08x, 0 when both agree)\n",
        mb / ((t1 - t0) / 1e9), mb / ((t2 - t1) / 1e9), acc);
    free(buf);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    if (n == 0) {
        fprintf(stderr, "usage: %s [samples > 0]\n", argv[0]);
        return 2;
    }
    printf("XOR chunks, %zu samples, %d per chunk, best of %d\n", n, TSDB_SAMPLES_PER_CHUNK, RUNS);
    printf("%-22s %10s %12s %12s\n", "shape", "append ns", "iterate ns", "bytes/sample");
    bench_shape("constant, exact 15s", 0, n);
    bench_shape("counter, exact 15s", 1, n);
    bench_shape("gauge walk, jitter", 2, n);
    bench_shape("random doubles", 3, n);
    bench_crc();
    return 0;
}
