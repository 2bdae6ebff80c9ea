/*
 * wal_writer.c - appending records to Prometheus's write-ahead log (wal/).
 *
 * The writer mirrors upstream's wlog.WL byte for byte: records go into a
 * 32 KiB page buffer as fragments with a 7-byte header; a page that has less
 * than a header's room left is padded with zeros and completed; after every
 * record the filled part of the page is written out, so a crash loses at most
 * what the kernel had not yet written, and the file may end in a short page.
 * A record that does not fit in the pages left in the segment starts a new
 * segment, so records never span files.  Compression (snappy or zstd) is
 * applied to the whole record before it is split, and kept only when it makes
 * the record smaller, as upstream does.  Close pads the last page and fsyncs;
 * cutting a segment fsyncs the finished one (upstream does it in the
 * background; here it is synchronous, which is simpler and as durable).
 */
#include "tsdb/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define ZSTD_LEVEL 1

static int write_all(int fd, const uint8_t *p, size_t n, core_err *err)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return core_err_set(err, "write WAL segment: %s", strerror(errno));
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Writes the unwritten part of the page; with `clear` (or a full page) the
 * page is padded to its end with zeros and a fresh one begins. */
static int flush_page(tsdb_wal_writer *w, bool clear, core_err *err)
{
    if (TSDB_WAL_PAGE_SIZE - w->alloc < TSDB_WAL_HEADER_SIZE) clear = true;
    if (clear) w->alloc = TSDB_WAL_PAGE_SIZE;
    if (write_all(w->fd, w->page + w->flushed, w->alloc - w->flushed, err) < 0) return -1;
    w->flushed = w->alloc;
    if (clear) {
        memset(w->page, 0, TSDB_WAL_PAGE_SIZE);
        w->alloc = w->flushed = 0;
        w->done++;
    }
    return 0;
}

static int create_segment(tsdb_wal_writer *w, uint64_t seq, core_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%08llu", w->dir, (unsigned long long)seq);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0) return core_err_set(err, "create WAL segment %s: %s", path, strerror(errno));
    w->fd = fd;
    w->seq = seq;
    w->done = 0;
    return 0;
}

/* Pads the page (if it holds anything), fsyncs and closes the segment. */
static int finish_segment(tsdb_wal_writer *w, core_err *err)
{
    int rc = w->alloc > 0 ? flush_page(w, true, err) : 0;
    if (rc == 0 && fsync(w->fd) != 0)
        rc = core_err_set(err, "sync WAL segment: %s", strerror(errno));
    if (close(w->fd) != 0 && rc == 0)
        rc = core_err_set(err, "close WAL segment: %s", strerror(errno));
    w->fd = -1;
    return rc;
}

int tsdb_wal_writer_next_segment(tsdb_wal_writer *w, core_err *err)
{
    if (finish_segment(w, err) < 0) return -1;
    return create_segment(w, w->seq + 1, err);
}

int tsdb_wal_writer_open(tsdb_wal_writer *w, const char *dir, uint64_t segment_size,
                         tsdb_wal_compression compress, core_err *err)
{
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    if (segment_size == 0) segment_size = TSDB_WAL_SEGMENT_SIZE;
    if (segment_size % TSDB_WAL_PAGE_SIZE != 0 || segment_size < TSDB_WAL_PAGE_SIZE)
        return core_err_set(err, "invalid WAL segment size %llu: not a multiple of the page size",
                            (unsigned long long)segment_size);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return core_err_set(err, "create WAL directory %s: %s", dir, strerror(errno));
    uint64_t last = 0;
    bool any = false;
    if (tsdb_wal_last_segment(dir, &last, &any, err) < 0) return -1;
    w->dir = core_strdup(dir);
    w->page = core_calloc(1, TSDB_WAL_PAGE_SIZE);
    w->pages = segment_size / TSDB_WAL_PAGE_SIZE;
    w->compress = compress;
    if (create_segment(w, any ? last + 1 : 0, err) == 0) return 0;
    free(w->dir);
    free(w->page);
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    return -1;
}

static uint8_t *scratch(tsdb_wal_writer *w, size_t n)
{
    if (w->ccap < n) {
        w->cbuf = core_realloc(w->cbuf, n);
        w->ccap = n;
    }
    return w->cbuf;
}

/* Compresses `*rec` into the scratch buffer when that makes it smaller and
 * returns the header flag for it (0 when the record stays as it was). */
static uint8_t compress_record(tsdb_wal_writer *w, const uint8_t **rec, size_t *len)
{
    size_t n = 0;
    uint8_t flag = 0;
    if (*len == 0) return 0;
    if (w->compress == TSDB_WAL_COMPRESS_SNAPPY) {
        n = snappy_max_compressed_length(*len);
        if (snappy_compress((const char *)*rec, *len, (char *)scratch(w, n), &n) != SNAPPY_OK)
            return 0;
        flag = TSDB_WAL_SNAPPY;
    } else if (w->compress == TSDB_WAL_COMPRESS_ZSTD) {
        n = ZSTD_compress(scratch(w, ZSTD_compressBound(*len)), ZSTD_compressBound(*len), *rec,
                          *len, ZSTD_LEVEL);
        if (ZSTD_isError(n)) return 0;
        flag = TSDB_WAL_ZSTD;
    }
    if (flag == 0 || n >= *len) return 0;
    *rec = w->cbuf;
    *len = n;
    return flag;
}

static uint8_t fragment_type(bool first, bool last)
{
    if (first) return last ? TSDB_WAL_FULL : TSDB_WAL_FIRST;
    return last ? TSDB_WAL_LAST : TSDB_WAL_MIDDLE;
}

/* Bytes of record data that still fit in the segment (the page has room for
 * a header: log() completes a full page first). */
static uint64_t room_left(const tsdb_wal_writer *w)
{
    if (w->done >= w->pages) return 0;
    uint64_t page_room = TSDB_WAL_PAGE_SIZE - w->alloc - TSDB_WAL_HEADER_SIZE;
    return page_room +
           (uint64_t)(TSDB_WAL_PAGE_SIZE - TSDB_WAL_HEADER_SIZE) * (w->pages - w->done - 1);
}

int tsdb_wal_writer_log(tsdb_wal_writer *w, const uint8_t *rec, size_t len, core_err *err)
{
    if (w->fd < 0) return core_err_set(err, "WAL writer is closed");
    if (TSDB_WAL_PAGE_SIZE - w->alloc < TSDB_WAL_HEADER_SIZE && flush_page(w, true, err) < 0)
        return -1;
    uint8_t flag = compress_record(w, &rec, &len);
    if (len > room_left(w) && tsdb_wal_writer_next_segment(w, err) < 0) return -1;
    for (bool first = true; first || len > 0; first = false) {
        size_t l = TSDB_WAL_PAGE_SIZE - w->alloc - TSDB_WAL_HEADER_SIZE;
        if (l > len) l = len;
        uint8_t *h = w->page + w->alloc;
        h[0] = fragment_type(first, l == len) | flag;
        h[1] = (uint8_t)(l >> 8);
        h[2] = (uint8_t)l;
        tsdb_put_be32(h + 3, tsdb_crc32c(0, rec, l));
        if (l) memcpy(h + TSDB_WAL_HEADER_SIZE, rec, l);
        w->alloc += TSDB_WAL_HEADER_SIZE + l;
        if (TSDB_WAL_PAGE_SIZE - w->alloc < TSDB_WAL_HEADER_SIZE && flush_page(w, true, err) < 0)
            return -1;
        rec += l;
        len -= l;
    }
    return w->alloc > 0 ? flush_page(w, false, err) : 0;
}

int tsdb_wal_writer_close(tsdb_wal_writer *w, core_err *err)
{
    int rc = w->fd >= 0 ? finish_segment(w, err) : 0;
    free(w->dir);
    free(w->page);
    free(w->cbuf);
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    return rc;
}
