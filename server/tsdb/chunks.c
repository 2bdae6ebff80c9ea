/*
 * chunks.c - chunk segment files of a block (upstream tsdb/chunks/chunks.go,
 * format in tsdb/docs/format/chunks.md).
 *
 * A record is: len (uvarint, at most 5 bytes as upstream reads it), encoding
 * (1 byte), data (len bytes), CRC32C of encoding and data (4 bytes, big
 * endian).  The reader checks every bound before touching a byte and checks
 * the CRC on every read through tsdb_chunk_reader_chunk, so a ref into the
 * wrong place or a damaged file gives an error.  Queries read through
 * tsdb_chunk_reader_chunk_unchecked, which checks the bounds but not the CRC,
 * as upstream's Reader.Chunk (the CRC is the business of verification:
 * tsdb_block_verify, analyze); the XOR iterator still fails cleanly on
 * damaged data.
 *
 * The writer cuts a new file when the next record, counted with a 5-byte
 * length field as upstream counts it, would pass the segment size, unless
 * the file holds no chunk yet (a chunk larger than a segment still gets
 * written).  Refs count files from 0 in the order this writer made them,
 * which is the reader's order for the fresh directory of a new block.
 */
#include "tsdb/internal.h"

#include <stdlib.h>
#include <string.h>

#define LEN_FIELD_MAX 5 /* binary.MaxVarintLen32 */
#define CRC_SIZE      4

static int decode(const uint8_t *seg, size_t len, size_t off, tsdb_chunk *out, size_t *next,
                  bool check, core_err *err)
{
    uint64_t dlen;
    if (off < TSDB_SEGMENT_HEADER_SIZE || off > len || len - off < LEN_FIELD_MAX)
        return core_err_set(err, "segment of %zu bytes has no chunk size field at offset %zu", len,
                            off);
    int n = tsdb_uvarint(seg + off, LEN_FIELD_MAX, &dlen);
    if (n <= 0) return core_err_set(err, "reading chunk length at offset %zu failed", off);
    size_t enc = off + (size_t)n;
    if (dlen > len - enc || len - enc - dlen < 1 + CRC_SIZE)
        return core_err_set(err, "segment of %zu bytes is too short for the chunk at offset %zu",
                            len, off);
    size_t end = enc + 1 + dlen;
    uint32_t want = check ? tsdb_get_be32(seg + end) : 0;
    uint32_t got = check ? tsdb_crc32c(0, seg + enc, 1 + dlen) : 0;
    if (want != got)
        return core_err_set(err, "checksum mismatch at offset %zu: expected %08x, actual %08x", off,
                            want, got);
    *out = (tsdb_chunk){.enc = seg[enc], .data = seg + enc + 1, .len = dlen};
    if (next) *next = end + CRC_SIZE;
    return 0;
}

int tsdb_chunk_decode(const uint8_t *seg, size_t len, size_t off, tsdb_chunk *out, size_t *next,
                      core_err *err)
{
    return decode(seg, len, off, out, next, true, err);
}

/* ---- Reader */

int tsdb_chunk_reader_open(tsdb_chunk_reader *r, const char *dir, core_err *err)
{
    return tsdb_segfiles_open(&r->files, dir, TSDB_CHUNKS_MAGIC, false, err);
}

void tsdb_chunk_reader_close(tsdb_chunk_reader *r)
{
    tsdb_segfiles_close(&r->files);
}

int tsdb_chunk_reader_chunk(const tsdb_chunk_reader *r, uint64_t ref, tsdb_chunk *out,
                            core_err *err)
{
    uint64_t seg = ref >> 32, off = ref & 0xffffffffu;
    if (seg >= r->files.n)
        return core_err_set(err, "segment index %llu out of range", (unsigned long long)seg);
    const tsdb_segment *s = &r->files.segs[seg];
    return tsdb_chunk_decode(s->p, s->len, (size_t)off, out, NULL, err);
}

int tsdb_chunk_reader_chunk_unchecked(const tsdb_chunk_reader *r, uint64_t ref, tsdb_chunk *out,
                                      core_err *err)
{
    uint64_t seg = ref >> 32, off = ref & 0xffffffffu;
    if (seg >= r->files.n)
        return core_err_set(err, "segment index %llu out of range", (unsigned long long)seg);
    const tsdb_segment *s = &r->files.segs[seg];
    return decode(s->p, s->len, (size_t)off, out, NULL, false, err);
}

int tsdb_chunk_reader_next(const tsdb_chunk_reader *r, size_t *seg, size_t *off, tsdb_chunk *out,
                           uint64_t *ref, core_err *err)
{
    for (; *seg < r->files.n; (*seg)++, *off = 0) {
        const tsdb_segment *s = &r->files.segs[*seg];
        if (*off < TSDB_SEGMENT_HEADER_SIZE) *off = TSDB_SEGMENT_HEADER_SIZE;
        if (*off >= s->len) continue;
        *ref = tsdb_chunk_ref(*seg, *off);
        if (tsdb_chunk_decode(s->p, s->len, *off, out, off, err) < 0)
            return core_err_prefix(err, "segment %06llu", (unsigned long long)s->seq);
        return 1;
    }
    return 0;
}

/* ---- Writer */

int tsdb_chunk_writer_open(tsdb_chunk_writer *w, const char *dir, uint64_t segment_size,
                           core_err *err)
{
    memset(w, 0, sizeof(*w));
    if (tsdb_segfiles_last_seq(dir, &w->seq, err) < 0) return -1;
    w->dir = core_strdup(dir);
    w->segment_size = segment_size ? segment_size : TSDB_CHUNKS_SEGMENT_SIZE;
    return 0;
}

static int cut(tsdb_chunk_writer *w, core_err *err)
{
    if (w->file && tsdb_segfile_finish(w->file, err) < 0) {
        w->file = NULL;
        return -1;
    }
    w->file = tsdb_segfile_create(w->dir, w->seq + 1, TSDB_CHUNKS_MAGIC, err);
    if (!w->file) return -1;
    w->seq++;
    w->nfiles++;
    w->off = TSDB_SEGMENT_HEADER_SIZE;
    return 0;
}

int tsdb_chunk_writer_write(tsdb_chunk_writer *w, uint8_t enc, const uint8_t *data, size_t len,
                            uint64_t *ref, core_err *err)
{
    uint64_t estimate = LEN_FIELD_MAX + 1 + (uint64_t)len + CRC_SIZE;
    bool full = w->off > TSDB_SEGMENT_HEADER_SIZE && w->off + estimate > w->segment_size;
    if ((!w->file || full) && cut(w, err) < 0) return -1;
    if (w->off > UINT32_MAX)
        return core_err_set(err, "chunk offset %llu does not fit a chunk ref",
                            (unsigned long long)w->off);
    uint8_t head[TSDB_MAX_VARINT_LEN + 1], crc[CRC_SIZE];
    size_t n = tsdb_put_uvarint(head, len);
    head[n] = enc;
    tsdb_put_be32(crc, tsdb_crc32c(tsdb_crc32c(0, &enc, 1), data, len));
    if (tsdb_segfile_write(w->file, head, n + 1, err) < 0 ||
        tsdb_segfile_write(w->file, data, len, err) < 0 ||
        tsdb_segfile_write(w->file, crc, CRC_SIZE, err) < 0)
        return -1;
    if (ref) *ref = tsdb_chunk_ref(w->nfiles - 1, w->off);
    w->off += n + 1 + len + CRC_SIZE;
    return 0;
}

int tsdb_chunk_writer_close(tsdb_chunk_writer *w, core_err *err)
{
    int rc = w->file ? tsdb_segfile_finish(w->file, err) : 0;
    free(w->dir);
    memset(w, 0, sizeof(*w));
    return rc;
}
