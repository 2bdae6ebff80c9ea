/*
 * head_chunks.c - the head's memory-mapped chunk files in chunks_head/
 * (upstream tsdb/chunks/head_chunks.go, format in
 * tsdb/docs/format/head_chunks.md).
 *
 * A record is: series ref (8), mint (8), maxt (8), encoding (1), data length
 * (uvarint), data, CRC32C of everything before it in the record (4); all
 * integers big endian.  The reader follows upstream's IterateAllChunks:
 *   - fewer than TSDB_HEAD_CHUNK_META_MAX bytes left: the end if they are all
 *     zero (preallocated space), corruption otherwise;
 *   - series ref, mint and maxt all 0: the end of the file's data;
 *   - a record running past the end or failing its CRC: corruption.
 * Refs are (file number << 32) | offset, the file number being the name
 * itself (not an index, unlike block chunk refs).  File numbers must be
 * consecutive, as upstream requires.
 *
 * The writer cuts a new file before a record that would take the file past
 * its size (upstream's 128 MiB by default), and numbers files after the
 * highest one present.
 */
#include "tsdb/internal.h"

#include <stdlib.h>
#include <string.h>

#define META_FIXED    25 /* series ref, mint, maxt, encoding */
#define LEN_FIELD_MAX 5
#define CRC_SIZE      4

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

int tsdb_head_chunk_decode(const uint8_t *file, size_t len, size_t off, tsdb_head_chunk *out,
                           size_t *next, core_err *err)
{
    if (off < TSDB_SEGMENT_HEADER_SIZE || off > len)
        return core_err_set(err, "head chunk offset %zu outside the file of %zu bytes", off, len);
    if (len - off < TSDB_HEAD_CHUNK_META_MAX) {
        if (all_zero(file + off, len - off)) return 0;
        return core_err_set(err,
                            "head chunk file has unread data at offset %zu but not enough "
                            "bytes for a chunk header",
                            off);
    }
    const uint8_t *p = file + off;
    out->series_ref = tsdb_get_be64(p);
    out->mint = (int64_t)tsdb_get_be64(p + 8);
    out->maxt = (int64_t)tsdb_get_be64(p + 16);
    if (out->series_ref == 0 && out->mint == 0 && out->maxt == 0) return 0;
    out->enc = p[24];
    uint64_t dlen;
    int n = tsdb_uvarint(p + META_FIXED, LEN_FIELD_MAX, &dlen);
    if (n <= 0) return core_err_set(err, "head chunk at offset %zu has an invalid length", off);
    size_t data = off + META_FIXED + (size_t)n;
    if (dlen > len - data || len - data - dlen < CRC_SIZE)
        return core_err_set(err,
                            "head chunk file of %zu bytes is too short for the chunk at "
                            "offset %zu",
                            len, off);
    size_t end = data + dlen;
    uint32_t want = tsdb_get_be32(file + end), got = tsdb_crc32c(0, p, end - off);
    if (want != got)
        return core_err_set(err, "checksum mismatch at offset %zu: expected %08x, actual %08x", off,
                            want, got);
    out->data = file + data;
    out->len = dlen;
    if (next) *next = end + CRC_SIZE;
    return 1;
}

/* ---- Reader */

static int check_sequence(const tsdb_segfiles *s, core_err *err)
{
    for (size_t i = 1; i < s->n; i++)
        if (s->segs[i].seq != s->segs[i - 1].seq + 1)
            return core_err_set(err, "found unsequential head chunk files %06llu and %06llu",
                                (unsigned long long)s->segs[i - 1].seq,
                                (unsigned long long)s->segs[i].seq);
    return 0;
}

int tsdb_head_chunk_reader_open(tsdb_head_chunk_reader *r, const char *dir, core_err *err)
{
    if (tsdb_segfiles_open(&r->files, dir, TSDB_HEAD_CHUNKS_MAGIC, true, err) < 0) return -1;
    if (check_sequence(&r->files, err) < 0) {
        tsdb_segfiles_close(&r->files);
        return -1;
    }
    return 0;
}

void tsdb_head_chunk_reader_close(tsdb_head_chunk_reader *r)
{
    tsdb_segfiles_close(&r->files);
}

int tsdb_head_chunk_reader_chunk(const tsdb_head_chunk_reader *r, uint64_t ref,
                                 tsdb_head_chunk *out, core_err *err)
{
    uint64_t seq = ref >> 32, off = ref & 0xffffffffu;
    for (size_t i = 0; i < r->files.n; i++) {
        const tsdb_segment *s = &r->files.segs[i];
        if (s->seq != seq) continue;
        int rc = tsdb_head_chunk_decode(s->p, s->len, (size_t)off, out, NULL, err);
        if (rc == 0)
            return core_err_set(err, "no head chunk at offset %llu of file %06llu",
                                (unsigned long long)off, (unsigned long long)seq);
        return rc < 0 ? -1 : 0;
    }
    return core_err_set(err, "head chunk file %06llu does not exist", (unsigned long long)seq);
}

int tsdb_head_chunk_reader_next(const tsdb_head_chunk_reader *r, size_t *file, size_t *off,
                                tsdb_head_chunk *out, uint64_t *ref, core_err *err)
{
    for (; *file < r->files.n; (*file)++, *off = 0) {
        const tsdb_segment *s = &r->files.segs[*file];
        if (*off < TSDB_SEGMENT_HEADER_SIZE) *off = TSDB_SEGMENT_HEADER_SIZE;
        *ref = s->seq << 32 | *off;
        int rc = tsdb_head_chunk_decode(s->p, s->len, *off, out, off, err);
        if (rc < 0)
            return core_err_prefix(err, "head chunk file %06llu", (unsigned long long)s->seq);
        if (rc > 0) return 1;
    }
    return 0;
}

/* ---- Writer */

int tsdb_head_chunk_writer_open(tsdb_head_chunk_writer *w, const char *dir, uint64_t file_size,
                                core_err *err)
{
    memset(w, 0, sizeof(*w));
    if (tsdb_segfiles_last_seq(dir, &w->seq, err) < 0) return -1;
    w->dir = core_strdup(dir);
    w->file_size = file_size ? file_size : TSDB_HEAD_CHUNK_FILE_SIZE;
    return 0;
}

static int cut(tsdb_head_chunk_writer *w, core_err *err)
{
    if (w->file && tsdb_segfile_finish(w->file, err) < 0) {
        w->file = NULL;
        return -1;
    }
    w->file = tsdb_segfile_create(w->dir, w->seq + 1, TSDB_HEAD_CHUNKS_MAGIC, err);
    if (!w->file) return -1;
    w->seq++;
    w->off = TSDB_SEGMENT_HEADER_SIZE;
    return 0;
}

int tsdb_head_chunk_writer_write(tsdb_head_chunk_writer *w, const tsdb_head_chunk *c, uint64_t *ref,
                                 core_err *err)
{
    uint8_t head[META_FIXED + TSDB_MAX_VARINT_LEN], crc[CRC_SIZE];
    tsdb_put_be64(head, c->series_ref);
    tsdb_put_be64(head + 8, (uint64_t)c->mint);
    tsdb_put_be64(head + 16, (uint64_t)c->maxt);
    head[24] = c->enc;
    size_t n = META_FIXED + tsdb_put_uvarint(head + META_FIXED, c->len);
    uint64_t size = n + (uint64_t)c->len + CRC_SIZE;
    if ((!w->file || w->off + size > w->file_size) && cut(w, err) < 0) return -1;
    tsdb_put_be32(crc, tsdb_crc32c(tsdb_crc32c(0, head, n), c->data, c->len));
    if (tsdb_segfile_write(w->file, head, n, err) < 0 ||
        tsdb_segfile_write(w->file, c->data, c->len, err) < 0 ||
        tsdb_segfile_write(w->file, crc, CRC_SIZE, err) < 0)
        return -1;
    if (ref) *ref = w->seq << 32 | w->off;
    w->off += size;
    return 0;
}

int tsdb_head_chunk_writer_close(tsdb_head_chunk_writer *w, core_err *err)
{
    int rc = w->file ? tsdb_segfile_finish(w->file, err) : 0;
    free(w->dir);
    memset(w, 0, sizeof(*w));
    return rc;
}
