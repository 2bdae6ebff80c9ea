/*
 * xor.c - the XOR float chunk (encoding 1), bit-exact with upstream
 * tsdb/chunkenc/xor.go (itself after Facebook's Gorilla paper and Damian
 * Gryski's go-tsz).
 *
 * Layout after the 2-byte big-endian sample count:
 *   sample 0: timestamp as a zig-zag varint, value as 64 raw bits;
 *   sample 1: timestamp delta as a uvarint, value XORed with the previous;
 *   sample n: delta of deltas in one of upstream's buckets (the prefix, then
 *             the low bits of the two's complement):
 *               0                       dod == 0
 *               10   + 14 bits          -8191 ..  8192
 *               110  + 17 bits         -65535 .. 65536
 *               1110 + 20 bits        -524287 .. 524288
 *               1111 + 64 bits          anything else
 *             then the value XORed with the previous.
 * A value XOR is 0 when unchanged; else 1 then either 0 and the significant
 * bits inside the previous leading/trailing-zero window (when the new XOR fits
 * in it), or 1, 5 bits of leading zeros (clamped to 31), 6 bits of the
 * significant bit count (64 written as 0) and those bits.
 *
 * Values are handled as bit patterns throughout, so NaN payloads and the
 * staleness marker survive.  Timestamp arithmetic is done in uint64 so that
 * extreme inputs wrap as in Go instead of being undefined behaviour.
 *
 * Iteration goes through the inline fast path of xor_iter.h; the functions
 * here are its careful fallback (first samples, 64-bit fields, the chunk's
 * last bytes), which check every read.
 *
 * Unlike upstream, a chunk rebuilt from bytes (tsdb_xor_init_from) resumes at
 * the exact bit where the last sample ended, so appending to it yields the
 * same bytes as appending everything to one chunk.
 */
#include "tsdb/xor_iter.h"

#include <string.h>

#define HEADER_SIZE 2

static uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint64_t double_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return u;
}

/* ---- Appender */

void tsdb_xor_init_layout(tsdb_xor *c, tsdb_layout layout)
{
    memset(c, 0, sizeof(*c));
    tsdb_bstream_init(&c->b);
    c->b.layout = layout;
    tsdb_bstream_reserve(&c->b, HEADER_SIZE);
    c->b.buf[0] = c->b.buf[1] = 0;
    c->b.len = HEADER_SIZE;
    c->leading = 0xff;
}

void tsdb_xor_init(tsdb_xor *c)
{
    tsdb_xor_init_layout(c, TSDB_LAYOUT_V3);
}

void tsdb_xor_destroy(tsdb_xor *c)
{
    tsdb_bstream_destroy(&c->b);
}

const uint8_t *tsdb_xor_bytes(const tsdb_xor *c, size_t *len)
{
    *len = c->b.len;
    return c->b.buf;
}

uint16_t tsdb_xor_num_samples(const tsdb_xor *c)
{
    return get_be16(c->b.buf);
}

/* Whether x fits upstream's nbits bucket: -(2^(n-1) - 1) <= x <= 2^(n-1). */
static bool bit_range(int64_t x, unsigned nbits)
{
    int64_t half = INT64_C(1) << (nbits - 1);
    return -(half - 1) <= x && x <= half;
}

static void write_bytes(tsdb_bstream *b, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tsdb_bstream_write_byte(b, p[i]);
}

static void write_dod(tsdb_bstream *b, int64_t dod)
{
    uint64_t u = (uint64_t)dod;
    if (dod == 0) {
        tsdb_bstream_write_bit(b, false);
    } else if (bit_range(dod, 14)) {
        tsdb_bstream_write_bits(b, 0x2, 2);
        tsdb_bstream_write_bits(b, u, 14);
    } else if (bit_range(dod, 17)) {
        tsdb_bstream_write_bits(b, 0x6, 3);
        tsdb_bstream_write_bits(b, u, 17);
    } else if (bit_range(dod, 20)) {
        tsdb_bstream_write_bits(b, 0xe, 4);
        tsdb_bstream_write_bits(b, u, 20);
    } else {
        tsdb_bstream_write_bits(b, 0xf, 4);
        tsdb_bstream_write_bits(b, u, 64);
    }
}

static void write_value(tsdb_xor *c, uint64_t vbits)
{
    uint64_t delta = vbits ^ c->v;
    if (delta == 0) {
        tsdb_bstream_write_bit(&c->b, false);
        return;
    }
    tsdb_bstream_write_bit(&c->b, true);
    unsigned lead = (unsigned)__builtin_clzll(delta);
    unsigned trail = (unsigned)__builtin_ctzll(delta);
    if (lead >= 32) lead = 31;
    if (c->leading != 0xff && lead >= c->leading && trail >= c->trailing) {
        tsdb_bstream_write_bit(&c->b, false);
        tsdb_bstream_write_bits(&c->b, delta >> c->trailing, 64u - c->leading - c->trailing);
        return;
    }
    c->leading = (uint8_t)lead;
    c->trailing = (uint8_t)trail;
    unsigned sig = 64 - lead - trail;
    tsdb_bstream_write_bit(&c->b, true);
    tsdb_bstream_write_bits(&c->b, lead, 5);
    tsdb_bstream_write_bits(&c->b, sig, 6); /* 64 is written as 0 */
    tsdb_bstream_write_bits(&c->b, delta >> trail, sig);
}

int tsdb_xor_append_bits(tsdb_xor *c, int64_t t, uint64_t vbits, core_err *err)
{
    uint16_t num = tsdb_xor_num_samples(c);
    uint64_t tdelta = 0;
    uint8_t buf[TSDB_MAX_VARINT_LEN];
    if (num == UINT16_MAX)
        return core_err_set(err, "XOR chunk is full (%u samples)", (unsigned)num);
    if (num == 0) {
        write_bytes(&c->b, buf, tsdb_put_varint(buf, t));
        tsdb_bstream_write_bits(&c->b, vbits, 64);
    } else if (num == 1) {
        tdelta = (uint64_t)t - (uint64_t)c->t;
        write_bytes(&c->b, buf, tsdb_put_uvarint(buf, tdelta));
        write_value(c, vbits);
    } else {
        tdelta = (uint64_t)t - (uint64_t)c->t;
        write_dod(&c->b, (int64_t)(tdelta - c->tdelta));
        write_value(c, vbits);
    }
    c->t = t;
    c->v = vbits;
    c->tdelta = tdelta;
    put_be16(c->b.buf, (uint16_t)(num + 1));
    return 0;
}

int tsdb_xor_append(tsdb_xor *c, int64_t t, double v, core_err *err)
{
    return tsdb_xor_append_bits(c, t, double_bits(v), err);
}

/* Cuts the stream right after the last bit `it` read and restores the write
 * position, so appends continue the bit sequence; a V2 empty byte after a
 * byte-aligned end is kept. */
static void resume_at(tsdb_xor *c, const tsdb_xor_iter *it, size_t len)
{
    size_t bits = it->br.off * 8 - it->br.valid;
    size_t used = (bits + 7) / 8;
    c->b.len = HEADER_SIZE + used;
    c->b.count = (unsigned)(used * 8 - bits);
    if (c->b.count)
        c->b.buf[c->b.len - 1] &= (uint8_t)(0xff << c->b.count);
    else if (bits > 0 && len == c->b.len + 1 && c->b.buf[c->b.len] == 0) {
        c->b.layout = TSDB_LAYOUT_V2;
        c->b.len++;
        c->b.count = 8;
    }
}

int tsdb_xor_init_from(tsdb_xor *c, const uint8_t *data, size_t len, core_err *err)
{
    tsdb_xor_iter it;
    if (tsdb_xor_iter_init(&it, data, len, err) < 0) return -1;
    while (tsdb_xor_iter_next(&it))
        ;
    if (tsdb_xor_iter_err(&it, err) < 0) return -1;
    tsdb_xor_init(c);
    tsdb_bstream_reserve(&c->b, len);
    memcpy(c->b.buf, data, len);
    resume_at(c, &it, len);
    c->t = it.t;
    c->v = it.v;
    c->tdelta = it.tdelta;
    if (it.windowed) {
        c->leading = it.leading;
        c->trailing = it.trailing;
    }
    return 0;
}

/* ---- Iterator */

int tsdb_xor_iter_init(tsdb_xor_iter *it, const uint8_t *data, size_t len, core_err *err)
{
    memset(it, 0, sizeof(*it));
    if (len < HEADER_SIZE)
        return core_err_set(err, "XOR chunk of %zu bytes is shorter than its header", len);
    it->total = get_be16(data);
    tsdb_breader_init(&it->br, data + HEADER_SIZE, len - HEADER_SIZE);
    it->t = INT64_MIN;
    return 0;
}

static bool fail(tsdb_xor_iter *it, const char *why)
{
    it->failure = why;
    return false;
}

static bool read_first(tsdb_xor_iter *it)
{
    if (tsdb_breader_read_varint(&it->br, &it->t) < 0 ||
        tsdb_breader_read_bits(&it->br, 64, &it->v) < 0)
        return fail(it, "XOR chunk truncated in its first sample");
    it->read++;
    return true;
}

/* Reads a value XOR into it->v (upstream xorRead). */
static bool read_value(tsdb_xor_iter *it)
{
    unsigned bit;
    uint64_t bits;
    if (tsdb_breader_read_bit(&it->br, &bit) < 0) return fail(it, "XOR chunk truncated in a value");
    if (bit) {
        if (tsdb_breader_read_bit(&it->br, &bit) < 0)
            return fail(it, "XOR chunk truncated in a value");
        if (bit) {
            uint64_t lead, sig;
            if (tsdb_breader_read_bits(&it->br, 5, &lead) < 0 ||
                tsdb_breader_read_bits(&it->br, 6, &sig) < 0)
                return fail(it, "XOR chunk truncated in a value");
            if (sig == 0) sig = 64;
            if (lead + sig > 64) return fail(it, "XOR chunk has a value window wider than 64 bits");
            it->leading = (uint8_t)lead;
            it->trailing = (uint8_t)(64 - lead - sig);
            it->windowed = true;
        }
        unsigned mbits = 64u - it->leading - it->trailing;
        if (tsdb_breader_read_bits(&it->br, mbits, &bits) < 0)
            return fail(it, "XOR chunk truncated in a value");
        it->v ^= bits << it->trailing;
    }
    it->read++;
    return true;
}

/* Reads a delta-of-delta prefix and payload (see the table at the top). */
static bool read_dod(tsdb_xor_iter *it, int64_t *dod)
{
    static const unsigned sizes[] = {0, 14, 17, 20, 64};
    unsigned prefix = 0, bit;
    while (prefix < 4) {
        if (tsdb_breader_read_bit(&it->br, &bit) < 0)
            return fail(it, "XOR chunk truncated in a timestamp");
        if (!bit) break;
        prefix++;
    }
    unsigned sz = sizes[prefix];
    uint64_t bits = 0;
    if (sz && tsdb_breader_read_bits(&it->br, sz, &bits) < 0)
        return fail(it, "XOR chunk truncated in a timestamp");
    if (sz && sz < 64 && bits > (UINT64_C(1) << (sz - 1))) bits -= UINT64_C(1) << sz;
    *dod = (int64_t)bits;
    return true;
}

bool tsdb_xor_iter_value_slow(tsdb_xor_iter *it)
{
    return read_value(it);
}

bool tsdb_xor_iter_next_slow(tsdb_xor_iter *it)
{
    if (it->failure || it->read == it->total) return false;
    if (it->read == 0) return read_first(it);
    if (it->read == 1) {
        if (tsdb_breader_read_uvarint(&it->br, &it->tdelta) < 0)
            return fail(it, "XOR chunk truncated in its second timestamp");
    } else {
        int64_t dod;
        if (!read_dod(it, &dod)) return false;
        it->tdelta += (uint64_t)dod;
    }
    it->t = (int64_t)((uint64_t)it->t + it->tdelta);
    return read_value(it);
}

bool tsdb_xor_iter_next(tsdb_xor_iter *it)
{
    return tsdb_xor_iter_next_inline(it);
}

bool tsdb_xor_iter_seek(tsdb_xor_iter *it, int64_t t)
{
    if (it->failure) return false;
    while (t > it->t || it->read == 0) {
        if (!tsdb_xor_iter_next(it)) return false;
    }
    return true;
}

double tsdb_xor_iter_value(const tsdb_xor_iter *it)
{
    double v;
    memcpy(&v, &it->v, sizeof(v));
    return v;
}

int tsdb_xor_iter_err(const tsdb_xor_iter *it, core_err *err)
{
    if (!it->failure) return 0;
    return core_err_set(err, "%s (after %u of %u samples)", it->failure, (unsigned)it->read,
                        (unsigned)it->total);
}
