/*
 * crc32c.c - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of every chunk record in Prometheus's chunk files.
 *
 * Written here because none of the project's libraries offers it: zlib's
 * crc32() is the IEEE polynomial, and Debian ships no C CRC-32C library
 * (libcrc32c is not packaged; only python3-crc32c / crcmod, which the
 * interop test may use as an outside check).
 *
 * Two paths with the same result:
 *   - x86-64 with SSE4.2: the CRC32 instruction, 8 bytes per step, chosen at
 *     run time with __builtin_cpu_supports;
 *   - elsewhere: slicing-by-8 over eight 256-entry tables built once
 *     (pthread_once), about 1 byte per cycle.
 * The interface matches Go's crc32.Update: the running value is stored
 * inverted, so a checksum starts from 0 and calls chain.
 */
#include "tsdb/tsdb.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#define POLY UINT32_C(0x82F63B78)

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
        table[0][i] = c;
    }
    for (int s = 1; s < 8; s++)
        for (int i = 0; i < 256; i++)
            table[s][i] = (table[s - 1][i] >> 8) ^ table[0][table[s - 1][i] & 0xff];
}

static uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t tsdb_crc32c_sw(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    pthread_once(&table_once, build_table);
    crc = ~crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint32_t lo = crc ^ load_le32(p), hi = load_le32(p + 4);
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
              table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
              table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
    }
    while (n--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
                                                            size_t n)
{
    uint64_t c = ~crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t w;
        memcpy(&w, p, sizeof(w));
        c = _mm_crc32_u64(c, w);
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}

static bool have_sse42;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

static void check_cpu(void)
{
    have_sse42 = __builtin_cpu_supports("sse4.2");
}

uint32_t tsdb_crc32c(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&cpu_once, check_cpu);
    return have_sse42 ? crc32c_hw(crc, p, n) : tsdb_crc32c_sw(crc, p, n);
}
#else
uint32_t tsdb_crc32c(uint32_t crc, const void *p, size_t n)
{
    return tsdb_crc32c_sw(crc, p, n);
}
#endif
