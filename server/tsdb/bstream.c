/*
 * bstream.c - the bit streams under every chunk encoding (upstream
 * tsdb/chunkenc/bstream.go).
 *
 * Writer: bits go most significant first into a byte buffer that grows by
 * doubling; `count` says how many low bits of the last byte are still free, so
 * a writer can stop mid-byte and the chunk ends with 0..7 zero padding bits.
 * write_bits fills the free part of the last byte and then whole bytes, which
 * gives exactly the bits upstream's bit-by-bit loop gives, in fewer steps.
 * In the V2 layout a whole byte written at a byte boundary leaves an empty
 * byte after it (count 8), as Prometheus 2.x's writeByte did; the next bits
 * fill that byte, so only a stream's length can differ, never its bits.
 *
 * Reader: a 64-bit window is loaded 8 bytes at a time (fewer at the end) and
 * bits are taken from its top.  Unlike upstream, which wraps around silently
 * when the last load is short of the bits asked for, every read checks that
 * the bits exist and fails otherwise, so corrupt chunks end in an error.
 * Upstream copies the last byte at init because a head chunk may be appended
 * to concurrently; here the caller owns that synchronisation.
 *
 * The byte varints follow Go's encoding/binary (zig-zag for signed values,
 * overflow past 10 bytes an error).
 */
#include "tsdb/tsdb.h"

#include <stdlib.h>
#include <string.h>

/* ---- Writer */

void tsdb_bstream_init(tsdb_bstream *b)
{
    memset(b, 0, sizeof(*b));
}

void tsdb_bstream_destroy(tsdb_bstream *b)
{
    free(b->buf);
    tsdb_bstream_init(b);
}

void tsdb_bstream_reserve(tsdb_bstream *b, size_t n)
{
    if (b->cap - b->len >= n) return;
    size_t cap = b->cap ? b->cap : 128;
    while (cap - b->len < n)
        cap *= 2;
    b->buf = core_realloc(b->buf, cap);
    b->cap = cap;
}

static void push_byte(tsdb_bstream *b, uint8_t byte)
{
    tsdb_bstream_reserve(b, 1);
    b->buf[b->len++] = byte;
}

void tsdb_bstream_write_bit(tsdb_bstream *b, bool bit)
{
    if (b->count == 0) {
        push_byte(b, 0);
        b->count = 8;
    }
    b->count--;
    if (bit) b->buf[b->len - 1] |= (uint8_t)(1u << b->count);
}

/* V2 layout: after whole bytes written from a byte boundary, an empty byte. */
static void pad_v2(tsdb_bstream *b)
{
    if (b->layout == TSDB_LAYOUT_V2 && b->count == 0) {
        push_byte(b, 0);
        b->count = 8;
    }
}

void tsdb_bstream_write_byte(tsdb_bstream *b, uint8_t byte)
{
    if (b->count == 0 || b->count == 8) {
        if (b->count == 0)
            push_byte(b, byte);
        else
            b->buf[b->len - 1] = byte, b->count = 0;
        pad_v2(b);
        return;
    }
    b->buf[b->len - 1] |= (uint8_t)(byte >> (8 - b->count));
    push_byte(b, (uint8_t)(byte << b->count));
}

void tsdb_bstream_write_bits(tsdb_bstream *b, uint64_t u, unsigned nbits)
{
    bool whole_bytes = nbits > 0 && nbits % 8 == 0 && (b->count == 0 || b->count == 8);
    while (nbits > 0) {
        if (b->count == 0) {
            push_byte(b, 0);
            b->count = 8;
        }
        unsigned take = nbits < b->count ? nbits : b->count;
        uint64_t part = (u >> (nbits - take)) & ((1u << take) - 1);
        b->count -= take;
        b->buf[b->len - 1] |= (uint8_t)(part << b->count);
        nbits -= take;
    }
    if (whole_bytes) pad_v2(b);
}

/* ---- Reader */

void tsdb_breader_init(tsdb_breader *r, const uint8_t *p, size_t len)
{
    memset(r, 0, sizeof(*r));
    r->p = p;
    r->len = len;
}

static inline uint64_t low_mask(unsigned n)
{
    return n >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << n) - 1;
}

/* Loads the next (up to) 8 bytes into the window; -1 at the end. */
static int load(tsdb_breader *r)
{
    size_t left = r->len - r->off;
    if (left == 0) return -1;
    size_t n = left < 8 ? left : 8;
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
        w = w << 8 | r->p[r->off + i];
    r->buf = w;
    r->off += n;
    r->valid = (unsigned)n * 8;
    return 0;
}

int tsdb_breader_read_bits(tsdb_breader *r, unsigned nbits, uint64_t *out)
{
    if (nbits <= r->valid) {
        r->valid -= nbits;
        *out = nbits ? (r->buf >> r->valid) & low_mask(nbits) : 0;
        return 0;
    }
    unsigned have = r->valid;
    unsigned rest = nbits - have;
    uint64_t v = have ? (r->buf & low_mask(have)) << rest : 0;
    r->valid = 0;
    if (load(r) < 0 || r->valid < rest) return -1;
    r->valid -= rest;
    *out = v | ((r->buf >> r->valid) & low_mask(rest));
    return 0;
}

int tsdb_breader_read_bit(tsdb_breader *r, unsigned *bit)
{
    if (r->valid == 0 && load(r) < 0) return -1;
    r->valid--;
    *bit = (unsigned)(r->buf >> r->valid) & 1;
    return 0;
}

int tsdb_breader_read_byte(tsdb_breader *r, uint8_t *out)
{
    uint64_t v;
    if (tsdb_breader_read_bits(r, 8, &v) < 0) return -1;
    *out = (uint8_t)v;
    return 0;
}

int tsdb_breader_read_uvarint(tsdb_breader *r, uint64_t *out)
{
    uint64_t x = 0;
    for (unsigned i = 0, s = 0; i < TSDB_MAX_VARINT_LEN; i++, s += 7) {
        uint8_t byte;
        if (tsdb_breader_read_byte(r, &byte) < 0) return -1;
        if (byte < 0x80) {
            if (i == TSDB_MAX_VARINT_LEN - 1 && byte > 1) return -1;
            *out = x | (uint64_t)byte << s;
            return 0;
        }
        x |= (uint64_t)(byte & 0x7f) << s;
    }
    return -1;
}

int tsdb_breader_read_varint(tsdb_breader *r, int64_t *out)
{
    uint64_t ux;
    if (tsdb_breader_read_uvarint(r, &ux) < 0) return -1;
    uint64_t x = ux >> 1;
    if (ux & 1) x = ~x;
    *out = (int64_t)x;
    return 0;
}

/* ---- Byte varints */

size_t tsdb_put_uvarint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

size_t tsdb_put_varint(uint8_t *p, int64_t v)
{
    uint64_t ux = (uint64_t)v << 1;
    if (v < 0) ux = ~ux;
    return tsdb_put_uvarint(p, ux);
}

int tsdb_uvarint(const uint8_t *p, size_t len, uint64_t *out)
{
    uint64_t x = 0;
    for (size_t i = 0; i < len && i < TSDB_MAX_VARINT_LEN; i++) {
        uint8_t byte = p[i];
        if (byte < 0x80) {
            if (i == TSDB_MAX_VARINT_LEN - 1 && byte > 1) return -1;
            *out = x | (uint64_t)byte << (7 * i);
            return (int)i + 1;
        }
        x |= (uint64_t)(byte & 0x7f) << (7 * i);
    }
    return len >= TSDB_MAX_VARINT_LEN ? -1 : 0;
}
