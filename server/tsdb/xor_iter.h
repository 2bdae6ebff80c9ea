/*
 * xor_iter.h - the XOR chunk iterator's fast path, inline for its callers in
 * server/tsdb (xor.c's tsdb_xor_iter_next and the querier's sample loop).
 *
 * Reading a sample is a handful of bit fields; through out-of-line reader
 * calls (bstream.c) each field cost a call and a refill check, which was
 * most of a query's time.  Here the reader's 64-bit window is refilled with
 * one unaligned big-endian load at the current bit (57 to 64 bits valid
 * after it) and fields are taken from the window inline; the delta-of-delta
 * prefix is read by counting leading ones instead of bit by bit.
 *
 * The window keeps bstream.c's meaning (the `valid` low bits of `buf` are the
 * next ones, `off` is the next byte to load), so whenever the fast path
 * cannot go on, it hands over to the careful code in xor.c, which checks
 * every bound: a 64-bit timestamp bucket or value, fields that pass the end
 * of the chunk, and first samples whose bytes are not all there.  A corrupt chunk thus
 * fails exactly as before.
 */
#ifndef TSDB_XOR_ITER_H
#define TSDB_XOR_ITER_H

#include "tsdb/tsdb.h"

#include <string.h>

/* xor.c: the careful paths (a whole sample; a sample's value). */
__attribute__((cold)) bool tsdb_xor_iter_next_slow(tsdb_xor_iter *it);
__attribute__((cold)) bool tsdb_xor_iter_value_slow(tsdb_xor_iter *it);

/* Makes at least n (<= 57) bits valid; false if the stream has fewer left.
 * Loads 8 bytes at the next unread bit, or what is left of the stream. */
static inline __attribute__((always_inline)) bool tsdb_br_need(tsdb_breader *r, unsigned n)
{
    if (r->valid >= n) return true;
    size_t pos = r->off * 8 - r->valid; /* the next unread bit */
    size_t byte = pos / 8;
    uint64_t w;
    if (byte + 8 <= r->len) {
        memcpy(&w, r->p + byte, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        r->valid = 64 - (unsigned)(pos & 7);
        r->off = byte + 8;
    } else { /* the stream's last bytes, at the bottom of the window */
        size_t k = r->len - byte;
        if (k == 0) return false;
        w = 0;
        for (size_t i = 0; i < k; i++)
            w = w << 8 | r->p[byte + i];
        r->valid = (unsigned)(k * 8) - (unsigned)(pos & 7);
        r->off = r->len;
    }
    r->buf = w;
    return r->valid >= n;
}

/* Takes n (1..valid) bits. */
static inline __attribute__((always_inline)) uint64_t tsdb_br_take(tsdb_breader *r, unsigned n)
{
    r->valid -= n;
    return (r->buf >> r->valid) & (~UINT64_C(0) >> (64 - n));
}

/* The first sample (varint timestamp, 64-bit value), or the second one's
 * timestamp (uvarint delta), read as bytes: both start at a byte boundary.
 * False (nothing taken) when the bytes are not all there: the careful path
 * then reads them and reports the failure. */
static inline bool tsdb_xor_first_two(tsdb_xor_iter *it)
{
    tsdb_breader *r = &it->br;
    size_t byte = (r->off * 8 - r->valid) / 8;
    uint64_t x;
    int n = tsdb_uvarint(r->p + byte, r->len - byte, &x);
    if (n <= 0) return false;
    byte += (size_t)n;
    if (it->read == 0) {
        if (r->len - byte < 8) return false;
        uint64_t w;
        memcpy(&w, r->p + byte, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        it->t = (int64_t)(x >> 1) ^ -(int64_t)(x & 1);
        it->v = w;
        byte += 8;
        it->read++;
    } else { /* the value follows; the caller reads it and counts the sample */
        it->tdelta = x;
        it->t = (int64_t)((uint64_t)it->t + x);
    }
    r->off = byte;
    r->valid = 0;
    return true;
}

static inline __attribute__((always_inline)) bool tsdb_xor_iter_next_inline(tsdb_xor_iter *it)
{
    tsdb_breader *r = &it->br;
    if (__builtin_expect(it->read < 2 || it->read == it->total || it->failure != NULL, 0)) {
        bool first = it->read == 0;
        if (it->read == it->total || it->failure || !tsdb_xor_first_two(it))
            return tsdb_xor_iter_next_slow(it);
        if (first) return true;
        goto value; /* the second sample's timestamp was read */
    }
    /* Timestamp: a prefix of up to 4 ones, then 0, 14, 17 or 20 bits.  Near
     * the chunk's end the window may hold fewer than 24 bits: enough when
     * the field is short, else the careful path (nothing is taken yet). */
    static const unsigned char size[5] = {0, 14, 17, 20, 64};
    if (!tsdb_br_need(r, 24) && r->valid == 0) return tsdb_xor_iter_next_slow(it);
    uint64_t top = r->buf << (64 - r->valid); /* the valid bits, at the top */
    unsigned ones = (unsigned)__builtin_clzll(~top | (UINT64_C(1) << 59));
    if (__builtin_expect(r->valid < 24, 0) &&
        (ones >= r->valid || (ones ? ones + 1 : 1) + size[ones] > r->valid))
        return tsdb_xor_iter_next_slow(it);
    if (ones == 0) {
        r->valid--;
    } else if (ones < 4) {
        unsigned sz = size[ones];
        r->valid -= ones + 1;
        uint64_t bits = tsdb_br_take(r, sz);
        if (bits > (UINT64_C(1) << (sz - 1))) bits -= UINT64_C(1) << sz;
        it->tdelta += bits;
    } else {
        return tsdb_xor_iter_next_slow(it); /* 64-bit bucket: nothing was taken yet */
    }
    it->t = (int64_t)((uint64_t)it->t + it->tdelta);
value:                          /* 0 (same), 10 + bits in the window, 11 + 5 + 6 + bits. */
    if (!tsdb_br_need(r, 13)) { /* the chunk's end: are the control bits there? */
        uint64_t c = r->valid ? r->buf << (64 - r->valid) : 0;
        unsigned ctl = r->valid == 0 ? 1 : !(c >> 63) ? 1 : !((c >> 62) & 1) ? 2 : 13;
        if (r->valid < ctl) return tsdb_xor_iter_value_slow(it);
    }
    if (!tsdb_br_take(r, 1)) {
        it->read++;
        return true;
    }
    if (tsdb_br_take(r, 1)) {
        unsigned lead = (unsigned)tsdb_br_take(r, 5), sig = (unsigned)tsdb_br_take(r, 6);
        if (sig == 0) sig = 64;
        if (lead + sig > 64) {
            it->failure = "XOR chunk has a value window wider than 64 bits";
            return false;
        }
        it->leading = (uint8_t)lead;
        it->trailing = (uint8_t)(64 - lead - sig);
        it->windowed = true;
    }
    unsigned mbits = 64u - it->leading - it->trailing;
    uint64_t bits;
    if (mbits <= 57 && tsdb_br_need(r, mbits)) {
        bits = tsdb_br_take(r, mbits);
    } else if (tsdb_breader_read_bits(r, mbits, &bits) < 0) {
        it->failure = "XOR chunk truncated in a value";
        return false;
    }
    it->v ^= bits << it->trailing;
    it->read++;
    return true;
}

#endif
