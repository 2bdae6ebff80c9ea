/*
 * decode.c - compressed request bodies (Content-Encoding gzip or snappy).
 *
 * gzip goes through zlib, member after member as Go's gzip.Reader reads a
 * multistream.  snappy is the framing format Go's snappy.NewReader reads
 * (what snzip and client libraries write): a "sNaPpY" stream identifier,
 * then chunks of compressed (libsnappy's raw block) or uncompressed data,
 * each with a masked CRC-32C of its uncompressed bytes, and skippable
 * chunks.  Decoded output is bounded, so a small bomb cannot take the
 * process down; past the bound the body is refused.
 */
#include "pushgateway/pushgateway.h"

#include <pthread.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* ---- gzip */

static int gunzip(const char *in, size_t len, size_t limit, core_sb *out, core_err *err)
{
    if (len == 0) return core_err_set(err, "EOF");
    z_stream z = {0};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return core_err_set(err, "gzip: out of memory");
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    int rc = Z_OK;
    while (rc != Z_STREAM_END || z.avail_in > 0) {
        if (rc == Z_STREAM_END) inflateReset(&z);
        core_sb_grow(out, 64 * 1024);
        z.next_out = (Bytef *)out->buf + out->len;
        z.avail_out = (uInt)(out->cap - out->len - 1);
        rc = inflate(&z, Z_NO_FLUSH);
        out->len = (size_t)((char *)z.next_out - out->buf);
        if (out->len > limit) {
            inflateEnd(&z);
            return core_err_set(err, "gzip: decompressed body larger than %zu bytes", limit);
        }
        if (rc == Z_BUF_ERROR && z.avail_in == 0) break;
        if (rc != Z_OK && rc != Z_STREAM_END) break;
    }
    const char *msg = z.msg;
    inflateEnd(&z);
    if (rc != Z_STREAM_END)
        return core_err_set(err, "gzip: %s", msg != NULL ? msg : "unexpected EOF");
    out->buf[out->len] = '\0';
    return 0;
}

/* ---- snappy framing */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        crc_table[i] = c;
    }
}

/* CRC-32C (Castagnoli), bytewise. */
static uint32_t crc32c(const unsigned char *p, size_t n)
{
    pthread_once(&crc_once, crc_init);
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

static uint32_t masked_crc(const unsigned char *p, size_t n)
{
    uint32_t c = crc32c(p, n);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* One data chunk (type 0 or 1) appended to out. */
static int data_chunk(int type, const unsigned char *p, size_t n, size_t limit, core_sb *out,
                      core_err *err)
{
    if (n < 4) return core_err_set(err, "snappy: corrupt input");
    uint32_t want = le32(p);
    const char *data = (const char *)p + 4;
    size_t dlen = n - 4, ulen = dlen;
    if (type == 0 && snappy_uncompressed_length(data, dlen, &ulen) != SNAPPY_OK)
        return core_err_set(err, "snappy: corrupt input");
    if (out->len + ulen > limit)
        return core_err_set(err, "snappy: decompressed body larger than %zu bytes", limit);
    core_sb_grow(out, ulen);
    char *dst = out->buf + out->len;
    if (type == 0) {
        if (snappy_uncompress(data, dlen, dst, &ulen) != SNAPPY_OK)
            return core_err_set(err, "snappy: corrupt input");
    } else {
        memcpy(dst, data, dlen);
    }
    if (masked_crc((const unsigned char *)dst, ulen) != want)
        return core_err_set(err, "snappy: corrupt input checksum");
    out->len += ulen;
    out->buf[out->len] = '\0';
    return 0;
}

int pgw_snappy_frame_decode(const char *in, size_t len, size_t limit, core_sb *out, core_err *err)
{
    const unsigned char *p = (const unsigned char *)in, *end = p + len;
    bool seen_id = false;
    while (p < end) {
        if (end - p < 4) return core_err_set(err, "unexpected EOF");
        int type = p[0];
        size_t n = (size_t)p[1] | (size_t)p[2] << 8 | (size_t)p[3] << 16;
        p += 4;
        if ((size_t)(end - p) < n) return core_err_set(err, "unexpected EOF");
        if (type == 0xff) {
            if (n != 6 || memcmp(p, "sNaPpY", 6) != 0)
                return core_err_set(err, "snappy: corrupt input");
            seen_id = true;
        } else if (!seen_id) {
            return core_err_set(err, "snappy: corrupt input");
        } else if (type == 0 || type == 1) {
            if (data_chunk(type, p, n, limit, out, err) < 0) return -1;
        } else if (type < 0x80) {
            return core_err_set(err, "snappy: unsupported input");
        }
        p += n;
    }
    if (out->buf == NULL) core_sb_grow(out, 0), out->buf[0] = '\0';
    return 0;
}

int pgw_decode_body(const char *encoding, const char *in, size_t len, size_t limit, char **out,
                    size_t *out_len, bool *owned, core_err *err)
{
    bool gzip = encoding != NULL && strcasecmp(encoding, "gzip") == 0;
    bool snappy = encoding != NULL && strcasecmp(encoding, "snappy") == 0;
    *owned = false;
    if (!gzip && !snappy) {
        *out = (char *)in;
        *out_len = len;
        return 0;
    }
    core_sb sb = CORE_SB_INIT;
    int rc =
        gzip ? gunzip(in, len, limit, &sb, err) : pgw_snappy_frame_decode(in, len, limit, &sb, err);
    if (rc < 0) {
        core_sb_destroy(&sb);
        return -1;
    }
    *out = core_sb_detach(&sb, out_len);
    *owned = true;
    return 0;
}
