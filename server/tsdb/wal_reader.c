/*
 * wal_reader.c - reading Prometheus's write-ahead log (wal/) back into records.
 *
 * The reader sees the segments as one stream, as upstream's Reader over its
 * segmentBufReader does: each segment is memory-mapped in turn and, when its
 * size is not a multiple of the page size, reads on as zeros up to the page
 * end.  So a short last page (the state after a crash, or while the writer is
 * still running) ends in padding like any other page and needs no special
 * case, while a fragment cut in the middle reads as padding that fails its
 * CRC, and a record whose last fragment never made it to disk is reported as
 * torn: upstream calls both corruption and leaves the fix (truncation) to a
 * repair step, and so do we, naming the segment and offset where the damaged
 * record starts.  Fragments are checked for order (full | first middle* last),
 * length and CRC32C; a compressed record is gathered whole and decoded with
 * libsnappy or libzstd.  Nothing here trusts a length it read: every copy is
 * bounded by the page and every decompressed size is capped.
 */
#include "tsdb/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <snappy-c.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

/* Upper bound of a decompressed record; upstream's largest are a few MiB. */
#define MAX_RECORD (UINT64_C(1) << 30)
/* Snappy expands at most about 21 times (a 3-byte copy of 64 bytes), so a
 * larger length in its header is a lie that must not size an allocation. */
#define SNAPPY_MAX_RATIO 32

/* ---- Listing segments */

static bool parse_name(const char *name, uint64_t *seq)
{
    uint64_t v = 0;
    if (!*name) return false;
    for (const char *c = name; *c; c++) {
        if (*c < '0' || *c > '9' || v > (UINT64_MAX - 9) / 10) return false;
        v = v * 10 + (uint64_t)(*c - '0');
    }
    *seq = v;
    return true;
}

static int cmp_seq(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int list_segments(const char *dir, uint64_t **seqs, size_t *n, core_err *err)
{
    DIR *d = opendir(dir);
    if (!d) return core_err_set(err, "open WAL directory %s: %s", dir, strerror(errno));
    size_t cap = 0;
    struct dirent *e;
    *seqs = NULL;
    *n = 0;
    while ((e = readdir(d))) {
        uint64_t seq;
        if (!parse_name(e->d_name, &seq)) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            *seqs = core_reallocarray(*seqs, cap, sizeof(**seqs));
        }
        (*seqs)[(*n)++] = seq;
    }
    closedir(d);
    if (*n) qsort(*seqs, *n, sizeof(**seqs), cmp_seq);
    return 0;
}

int tsdb_wal_segments(const char *dir, uint64_t **seqs, size_t *n, core_err *err)
{
    if (list_segments(dir, seqs, n, err) < 0) return -1;
    for (size_t i = 1; i < *n; i++) {
        if ((*seqs)[i] != (*seqs)[i - 1] + 1) {
            core_err_set(err, "%s: segments are not sequential (%llu after %llu)", dir,
                         (unsigned long long)(*seqs)[i], (unsigned long long)(*seqs)[i - 1]);
            free(*seqs);
            *seqs = NULL;
            *n = 0;
            return -1;
        }
    }
    return 0;
}

int tsdb_wal_last_segment(const char *dir, uint64_t *last, bool *any, core_err *err)
{
    uint64_t *seqs;
    size_t n;
    if (tsdb_wal_segments(dir, &seqs, &n, err) < 0) return -1;
    *any = n > 0;
    *last = n ? seqs[n - 1] : 0;
    free(seqs);
    return 0;
}

/* ---- The stream of segments */

static size_t padded(size_t len)
{
    return (len + TSDB_WAL_PAGE_SIZE - 1) / TSDB_WAL_PAGE_SIZE * TSDB_WAL_PAGE_SIZE;
}

static void unmap_segment(tsdb_wal_reader *r)
{
    if (r->map) munmap((void *)r->map, r->len);
    r->map = NULL;
    r->len = r->off = 0;
}

static int map_segment(tsdb_wal_reader *r, size_t i, core_err *err)
{
    char path[4096];
    unmap_segment(r);
    r->cur = i;
    snprintf(path, sizeof(path), "%s/%08llu", r->dir, (unsigned long long)r->seqs[i]);
    return tsdb_map_file(path, "WAL segment ", &r->map, &r->len, err);
}

/* Copies up to n bytes of the stream (zeros past a segment's end up to its
 * page end) into dst; *got < n only at the end of the last segment. */
static int stream_read(tsdb_wal_reader *r, uint8_t *dst, size_t n, size_t *got, core_err *err)
{
    *got = 0;
    while (*got < n) {
        if (r->off >= padded(r->len)) {
            if (r->cur + 1 >= r->nseg) return 0;
            if (map_segment(r, r->cur + 1, err) < 0) return -1;
            continue;
        }
        size_t k = padded(r->len) - r->off;
        if (k > n - *got) k = n - *got;
        size_t real = r->off < r->len ? r->len - r->off : 0;
        if (real > k) real = k;
        if (real) memcpy(dst + *got, r->map + r->off, real);
        memset(dst + *got + real, 0, k - real);
        r->off += k;
        *got += k;
    }
    return 0;
}

int tsdb_wal_reader_open(tsdb_wal_reader *r, const char *dir, core_err *err)
{
    memset(r, 0, sizeof(*r));
    if (tsdb_wal_segments(dir, &r->seqs, &r->nseg, err) < 0) return -1;
    r->dir = core_strdup(dir);
    if (r->nseg == 0 || map_segment(r, 0, err) == 0) return 0;
    tsdb_wal_reader_close(r);
    return -1;
}

int tsdb_wal_reader_open_from(tsdb_wal_reader *r, const char *dir, uint64_t first, core_err *err)
{
    memset(r, 0, sizeof(*r));
    if (tsdb_wal_segments(dir, &r->seqs, &r->nseg, err) < 0) return -1;
    size_t skip = 0;
    while (skip < r->nseg && r->seqs[skip] < first)
        skip++;
    if (skip) memmove(r->seqs, r->seqs + skip, (r->nseg - skip) * sizeof(*r->seqs));
    r->nseg -= skip;
    r->dir = core_strdup(dir);
    if (r->nseg == 0 || map_segment(r, 0, err) == 0) return 0;
    tsdb_wal_reader_close(r);
    return -1;
}

void tsdb_wal_reader_close(tsdb_wal_reader *r)
{
    unmap_segment(r);
    free(r->seqs);
    free(r->dir);
    core_sb_destroy(&r->rec);
    core_sb_destroy(&r->comp);
    ZSTD_freeDCtx(r->zstd);
    memset(r, 0, sizeof(*r));
}

/* ---- Records */

/* Where the record being read started. */
typedef struct position {
    uint64_t seq;
    size_t off;
} position;

__attribute__((format(printf, 4, 5))) static int corrupt(tsdb_wal_reader *r, position at,
                                                         core_err *err, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    r->err_seq = at.seq;
    r->err_off = at.off;
    return core_err_set(err, "corruption in segment %s/%08llu at %zu: %s", r->dir,
                        (unsigned long long)at.seq, at.off, why);
}

/* Skips the zeros after a page-terminating zero byte up to the page end. */
static int skip_padding(tsdb_wal_reader *r, position at, core_err *err)
{
    uint8_t buf[TSDB_WAL_PAGE_SIZE];
    size_t k = TSDB_WAL_PAGE_SIZE - r->off % TSDB_WAL_PAGE_SIZE, got;
    if (k == TSDB_WAL_PAGE_SIZE) return 0;
    if (stream_read(r, buf, k, &got, err) < 0) return -1;
    for (size_t i = 0; i < got; i++)
        if (buf[i] != 0) return corrupt(r, at, err, "unexpected non-zero byte in padded page");
    return 0;
}

static const char *order_error(unsigned type, unsigned nfrag)
{
    switch (type) {
    case TSDB_WAL_FULL: return nfrag ? "unexpected full record" : NULL;
    case TSDB_WAL_FIRST: return nfrag ? "unexpected first record" : NULL;
    case TSDB_WAL_MIDDLE: return nfrag ? NULL : "unexpected middle record";
    case TSDB_WAL_LAST: return nfrag ? NULL : "unexpected last record";
    default: return "unexpected record type";
    }
}

/* Reads the rest of a fragment whose type byte was `h` into the record (or
 * compressed) buffer, checking its length and CRC. */
static int read_fragment(tsdb_wal_reader *r, uint8_t h, position at, core_err *err)
{
    uint8_t hdr[TSDB_WAL_HEADER_SIZE - 1], data[TSDB_WAL_PAGE_SIZE];
    size_t got;
    if (stream_read(r, hdr, sizeof(hdr), &got, err) < 0) return -1;
    if (got < sizeof(hdr)) return corrupt(r, at, err, "unexpected end of log in a header");
    size_t len = (size_t)hdr[0] << 8 | hdr[1];
    if (len > TSDB_WAL_PAGE_SIZE - TSDB_WAL_HEADER_SIZE)
        return corrupt(r, at, err, "invalid record size %zu", len);
    if (stream_read(r, data, len, &got, err) < 0) return -1;
    if (got < len) return corrupt(r, at, err, "invalid size: expected %zu, got %zu", len, got);
    uint32_t want = tsdb_get_be32(hdr + 2), crc = tsdb_crc32c(0, data, len);
    if (crc != want) return corrupt(r, at, err, "unexpected checksum %x, expected %x", crc, want);
    core_sb_add(h & (TSDB_WAL_SNAPPY | TSDB_WAL_ZSTD) ? &r->comp : &r->rec, data, len);
    return 0;
}

static int decode_snappy(tsdb_wal_reader *r, position at, core_err *err)
{
    size_t n;
    if (snappy_uncompressed_length(r->comp.buf, r->comp.len, &n) != SNAPPY_OK || n > MAX_RECORD ||
        n / SNAPPY_MAX_RATIO > r->comp.len)
        return corrupt(r, at, err, "snappy: corrupt input");
    core_sb_grow(&r->rec, n);
    if (snappy_uncompress(r->comp.buf, r->comp.len, r->rec.buf, &n) != SNAPPY_OK)
        return corrupt(r, at, err, "snappy: corrupt input");
    r->rec.len = n;
    return 0;
}

static int decode_zstd(tsdb_wal_reader *r, position at, core_err *err)
{
    if (!r->zstd) r->zstd = ZSTD_createDCtx();
    ZSTD_DCtx_reset(r->zstd, ZSTD_reset_session_only);
    ZSTD_inBuffer in = {r->comp.buf, r->comp.len, 0};
    for (;;) {
        core_sb_grow(&r->rec, ZSTD_DStreamOutSize());
        ZSTD_outBuffer out = {r->rec.buf + r->rec.len, r->rec.cap - r->rec.len - 1, 0};
        size_t rc = ZSTD_decompressStream(r->zstd, &out, &in);
        if (ZSTD_isError(rc)) return corrupt(r, at, err, "zstd: %s", ZSTD_getErrorName(rc));
        r->rec.len += out.pos;
        if (r->rec.len > MAX_RECORD) return corrupt(r, at, err, "zstd: record too large");
        if (in.pos == in.size && rc == 0) return 0;
        if (in.pos == in.size && out.pos < out.size)
            return corrupt(r, at, err, "zstd: truncated input");
    }
}

static int decompress(tsdb_wal_reader *r, uint8_t flags, position at, core_err *err)
{
    if (flags == TSDB_WAL_SNAPPY) return decode_snappy(r, at, err);
    if (flags == TSDB_WAL_ZSTD) return decode_zstd(r, at, err);
    return corrupt(r, at, err, "both snappy and zstd flags set");
}

/* Handles one fragment: 1 when it completed the record, 0 when more follow. */
static int take_fragment(tsdb_wal_reader *r, uint8_t h, unsigned nfrag, uint8_t *flags, position at,
                         core_err *err)
{
    unsigned type = h & TSDB_WAL_TYPE_MASK;
    uint8_t f = h & (TSDB_WAL_SNAPPY | TSDB_WAL_ZSTD);
    const char *bad = order_error(type, nfrag);
    if (bad) return corrupt(r, at, err, "%s (type byte %#x)", bad, h);
    if (nfrag && f != *flags) return corrupt(r, at, err, "compression differs between fragments");
    *flags = f;
    if (read_fragment(r, h, at, err) < 0) return -1;
    if (type != TSDB_WAL_FULL && type != TSDB_WAL_LAST) return 0;
    if (f && r->comp.len > 0 && decompress(r, f, at, err) < 0) return -1;
    r->ncompressed += f != 0;
    return 1;
}

int tsdb_wal_reader_next(tsdb_wal_reader *r, const uint8_t **rec, size_t *len, core_err *err)
{
    core_sb_reset(&r->rec);
    core_sb_reset(&r->comp);
    unsigned nfrag = 0;
    uint8_t flags = 0;
    position start = {0, 0};
    for (;;) {
        uint8_t h;
        size_t got;
        if (stream_read(r, &h, 1, &got, err) < 0) return -1;
        if (got == 0) return nfrag ? corrupt(r, start, err, "last record is torn") : 0;
        position at = {r->seqs[r->cur], r->off - 1};
        if ((h & TSDB_WAL_TYPE_MASK) == TSDB_WAL_PAGE_TERM) {
            if (skip_padding(r, at, err) < 0) return -1;
            continue;
        }
        if (nfrag == 0) start = at;
        int done = take_fragment(r, h, nfrag, &flags, start, err);
        if (done < 0) return -1;
        if (done) {
            *rec = (const uint8_t *)r->rec.buf;
            *len = r->rec.len;
            return 1;
        }
        nfrag++;
    }
}
