/*
 * internal.h - helpers shared by the files of server/tsdb, not part of the door.
 */
#ifndef TSDB_INTERNAL_H
#define TSDB_INTERNAL_H

#include "tsdb/tsdb.h"

#include <stdio.h>

static inline uint32_t tsdb_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t tsdb_get_be64(const uint8_t *p)
{
    return (uint64_t)tsdb_get_be32(p) << 32 | tsdb_get_be32(p + 4);
}

static inline void tsdb_put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline void tsdb_put_be64(uint8_t *p, uint64_t v)
{
    tsdb_put_be32(p, (uint32_t)(v >> 32));
    tsdb_put_be32(p + 4, (uint32_t)v);
}

/* The highest number among the numbered files in `dir` (0 if none). */
int tsdb_segfiles_last_seq(const char *dir, uint64_t *seq, core_err *err);
/* Creates `dir`/<seq as %06> (which must not exist) and writes its header. */
FILE *tsdb_segfile_create(const char *dir, uint64_t seq, uint32_t magic, core_err *err);
/* Flushes, fsyncs and closes a file made by tsdb_segfile_create. */
int tsdb_segfile_finish(FILE *f, core_err *err);
/* Writes n bytes or fails with a message. */
int tsdb_segfile_write(FILE *f, const void *p, size_t n, core_err *err);

/* WAL fragment header: the type's low 3 bits, and the compression flags. */
enum {
    TSDB_WAL_PAGE_TERM = 0,
    TSDB_WAL_FULL = 1,
    TSDB_WAL_FIRST = 2,
    TSDB_WAL_MIDDLE = 3,
    TSDB_WAL_LAST = 4,
    TSDB_WAL_TYPE_MASK = 0x07,
    TSDB_WAL_SNAPPY = 0x08,
    TSDB_WAL_ZSTD = 0x10,
};

/* Lists the numbered WAL segments of `dir` (names as strconv.Atoi reads them),
 * sorted, checking that they are consecutive; *seqs is malloc'd. */
int tsdb_wal_segments(const char *dir, uint64_t **seqs, size_t *n, core_err *err);
/* The highest segment number in `dir`; *any false when there is none. */
int tsdb_wal_last_segment(const char *dir, uint64_t *last, bool *any, core_err *err);

/* Index file layout shared by the reader and the writer. */
#define TSDB_INDEX_HEADER_SIZE  5
#define TSDB_INDEX_TOC_SIZE     (6 * 8 + 4)
#define TSDB_INDEX_SERIES_ALIGN 16

#endif
