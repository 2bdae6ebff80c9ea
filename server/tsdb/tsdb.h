/*
 * tsdb.h - the door of server/tsdb, Prometheus's time series storage.
 *
 * This first part holds the chunk layer, bit-exact with Prometheus 2.x:
 *
 *   bit streams     the bit writer and reader under every chunk encoding
 *   XOR chunks      Gorilla-style float chunks (encoding 1): appender and iterator
 *   CRC32C          the Castagnoli checksum that guards every chunk on disk
 *   block chunks    segment files in a block's chunks/ directory
 *   head chunks     the memory-mapped chunk files in chunks_head/
 *
 * Conventions as in core.h: a function that can fail returns 0 (or a count) on
 * success and -1 on failure, with a message in the caller's core_err.  Corrupt
 * or truncated input is an error, never a crash.  Sample values travel as
 * IEEE-754 bit patterns where exactness matters (staleness markers and every
 * NaN payload must survive a round trip), with double wrappers for convenience.
 */
#ifndef TSDB_TSDB_H
#define TSDB_TSDB_H

#include "core/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- Chunk encodings (upstream chunkenc.Encoding) */

enum {
    TSDB_ENC_NONE = 0,
    TSDB_ENC_XOR = 1,
    TSDB_ENC_HISTOGRAM = 2,
    TSDB_ENC_FLOAT_HISTOGRAM = 3,
    /* Set on head chunks of out-of-order samples (encoding byte 0x81 for XOR). */
    TSDB_ENC_OOO_MASK = 0x80,
};

/* The float bits of a staleness marker (upstream value.StaleNaN). */
#define TSDB_STALE_NAN_BITS UINT64_C(0x7ff0000000000002)

/* Upstream cuts a float chunk after this many samples; the caller decides. */
#define TSDB_SAMPLES_PER_CHUNK 120

/* ---- Bit streams (bstream.c)
 *
 * The writer appends bits most significant first into a growing byte buffer
 * whose last byte may be partly filled; unused bits are zero.  The reader
 * walks a borrowed byte range and fails (returns -1) when it runs out.
 *
 * Two byte layouts give the same bits.  Prometheus before 3.0 (so the 2.42
 * peer) wrote a whole byte at a byte boundary as that byte plus an empty one
 * (upstream fixed it in PR #14854), so a stream whose last write was such a
 * byte ends in one extra zero byte; later versions do not.  TSDB_LAYOUT_V3
 * is the default; TSDB_LAYOUT_V2 reproduces the older bytes exactly. */

typedef enum tsdb_layout {
    TSDB_LAYOUT_V3 = 0, /* Prometheus >= 3.0 */
    TSDB_LAYOUT_V2 = 1, /* Prometheus 2.x: possibly one trailing empty byte */
} tsdb_layout;

typedef struct tsdb_bstream {
    uint8_t *buf;
    size_t len;
    size_t cap;
    unsigned count; /* bits still free in the last byte: 0..7, or 8 in the V2 layout */
    tsdb_layout layout;
} tsdb_bstream;

/* An empty stream in the V3 layout (set `layout` before writing to change it). */
void tsdb_bstream_init(tsdb_bstream *b);
void tsdb_bstream_destroy(tsdb_bstream *b);
/* Makes room for `n` more bytes (so a caller can write a header directly). */
void tsdb_bstream_reserve(tsdb_bstream *b, size_t n);
void tsdb_bstream_write_bit(tsdb_bstream *b, bool bit);
void tsdb_bstream_write_byte(tsdb_bstream *b, uint8_t byte);
/* Writes the `nbits` (0..64) low bits of `u`, most significant first. */
void tsdb_bstream_write_bits(tsdb_bstream *b, uint64_t u, unsigned nbits);

typedef struct tsdb_breader {
    const uint8_t *p; /* borrowed */
    size_t len;
    size_t off;   /* next byte to load into `buf` */
    uint64_t buf; /* loaded bits, the `valid` low ones unread */
    unsigned valid;
} tsdb_breader;

void tsdb_breader_init(tsdb_breader *r, const uint8_t *p, size_t len);
/* Each returns 0, or -1 when the stream ends first (the reader is then spent). */
int tsdb_breader_read_bit(tsdb_breader *r, unsigned *bit);
int tsdb_breader_read_bits(tsdb_breader *r, unsigned nbits, uint64_t *out);
int tsdb_breader_read_byte(tsdb_breader *r, uint8_t *out);
/* Go's encoding/binary varints read bytewise from the bit stream. */
int tsdb_breader_read_uvarint(tsdb_breader *r, uint64_t *out);
int tsdb_breader_read_varint(tsdb_breader *r, int64_t *out);

/* Byte-level varints, as Go's binary.PutUvarint / binary.Uvarint.  The encoder
 * writes at most TSDB_MAX_VARINT_LEN bytes and returns their count; the decoder
 * returns the count read, 0 if `p` ends first, -1 on overflow. */
#define TSDB_MAX_VARINT_LEN 10
size_t tsdb_put_uvarint(uint8_t *p, uint64_t v);
size_t tsdb_put_varint(uint8_t *p, int64_t v);
int tsdb_uvarint(const uint8_t *p, size_t len, uint64_t *out);

/* ---- XOR chunks (xor.c)
 *
 * Data layout: a big-endian uint16 sample count, then the first timestamp
 * (varint) and value (64 bits), the second timestamp as a delta (uvarint) and
 * every later one as a delta of deltas in upstream's buckets (0 / 14 / 17 / 20
 * / 64 bits), each value XORed with the previous one and stored with reuse of
 * the previous leading/trailing zero window (Gorilla). */

typedef struct tsdb_xor {
    tsdb_bstream b; /* the chunk bytes, header included */
    int64_t t;      /* last sample */
    uint64_t v;
    uint64_t tdelta;
    uint8_t leading; /* 0xff until a value window is chosen */
    uint8_t trailing;
} tsdb_xor;

/* An empty chunk (2 header bytes, count 0) in the V3 byte layout. */
void tsdb_xor_init(tsdb_xor *c);
/* An empty chunk in the given byte layout (see the bit streams above). */
void tsdb_xor_init_layout(tsdb_xor *c, tsdb_layout layout);
/* A chunk holding a copy of `data`, ready to take more samples: the appender
 * state is rebuilt by reading every sample.  Data ending in the V2 layout's
 * empty byte continues in that layout, any other in V3 (the two cannot be
 * told apart then).  Fails on corrupt data. */
int tsdb_xor_init_from(tsdb_xor *c, const uint8_t *data, size_t len, core_err *err);
void tsdb_xor_destroy(tsdb_xor *c);
/* Appends a sample.  Fails only when the chunk holds 65535 samples already.
 * Timestamps are taken as given (upstream does not check their order). */
int tsdb_xor_append_bits(tsdb_xor *c, int64_t t, uint64_t vbits, core_err *err);
int tsdb_xor_append(tsdb_xor *c, int64_t t, double v, core_err *err);
/* The encoded bytes (borrowed, valid until the next append) and sample count. */
const uint8_t *tsdb_xor_bytes(const tsdb_xor *c, size_t *len);
uint16_t tsdb_xor_num_samples(const tsdb_xor *c);

typedef struct tsdb_xor_iter {
    tsdb_breader br;
    uint16_t total;
    uint16_t read;
    int64_t t;  /* current sample, valid after next/seek returned true */
    uint64_t v; /* its value bits; see tsdb_xor_iter_value */
    uint64_t tdelta;
    uint8_t leading;
    uint8_t trailing;
    bool windowed;       /* a value window was read (the appender's leading != 0xff) */
    const char *failure; /* why iteration stopped early, NULL if it did not */
} tsdb_xor_iter;

/* Starts iterating over chunk data (borrowed).  Fails if it is shorter than
 * the 2-byte header. */
int tsdb_xor_iter_init(tsdb_xor_iter *it, const uint8_t *data, size_t len, core_err *err);
/* Moves to the next sample: true if there is one, false at the end or on
 * corrupt data (tell them apart with tsdb_xor_iter_err). */
bool tsdb_xor_iter_next(tsdb_xor_iter *it);
/* Moves to the first sample at or after `t`, as upstream: never backwards, and
 * a current sample already at or after `t` stays current. */
bool tsdb_xor_iter_seek(tsdb_xor_iter *it, int64_t t);
double tsdb_xor_iter_value(const tsdb_xor_iter *it);
/* -1 with a message if iteration stopped on corrupt data, else 0. */
int tsdb_xor_iter_err(const tsdb_xor_iter *it, core_err *err);

/* ---- CRC32C (crc32c.c): Castagnoli polynomial, as Go's crc32.Update with
 * crc32.MakeTable(crc32.Castagnoli).  Start with crc = 0; chain calls. */
uint32_t tsdb_crc32c(uint32_t crc, const void *p, size_t n);
/* The portable table-driven path, exposed so tests can check the SSE4.2 one. */
uint32_t tsdb_crc32c_sw(uint32_t crc, const void *p, size_t n);

/* ---- Numbered segment files (segfiles.c): 000001, 000002, ... in a directory,
 * memory-mapped read-only, sorted by number.  Files whose name is not a
 * number are ignored, as upstream does. */

typedef struct tsdb_segment {
    uint64_t seq; /* the number in the file name */
    const uint8_t *p;
    size_t len;
} tsdb_segment;

typedef struct tsdb_segfiles {
    tsdb_segment *segs;
    size_t n;
} tsdb_segfiles;

/* Maps every numbered file in `dir` and checks its 8-byte header (magic,
 * version 1).  A directory without numbered files gives an empty set.  With
 * skip_empty_last, a last file too short for a magic number or whose magic is
 * 0 is left out (upstream deletes such a file, left by a crash, when it opens
 * chunks_head/). */
int tsdb_segfiles_open(tsdb_segfiles *s, const char *dir, uint32_t magic, bool skip_empty_last,
                       core_err *err);
void tsdb_segfiles_close(tsdb_segfiles *s);
/* Checks a segment header in memory: length, magic and version. */
int tsdb_segment_check(const uint8_t *p, size_t len, uint32_t magic, core_err *err);

#define TSDB_SEGMENT_HEADER_SIZE 8

/* ---- Block chunk files (chunks.c): chunks/000001 ...
 *
 * File: magic 0x85BD40DD (4, big endian), version 1, 3 zero bytes, then
 * records: len (uvarint), encoding (1 byte), data (len bytes), CRC32C of
 * encoding + data (4, big endian).  A chunk ref is (segment index << 32) |
 * offset, the index counting files in name order from 0. */

#define TSDB_CHUNKS_MAGIC        UINT32_C(0x85BD40DD)
#define TSDB_CHUNKS_SEGMENT_SIZE (UINT64_C(512) * 1024 * 1024)

typedef struct tsdb_chunk {
    uint8_t enc;
    const uint8_t *data; /* borrowed from the mapped file */
    size_t len;
} tsdb_chunk;

static inline uint64_t tsdb_chunk_ref(uint64_t segment, uint64_t offset)
{
    return segment << 32 | (offset & 0xffffffffu);
}

/* Reads the record at `off` of one segment's bytes, checking bounds and CRC;
 * `*next` (if not NULL) gets the offset after it. */
int tsdb_chunk_decode(const uint8_t *seg, size_t len, size_t off, tsdb_chunk *out, size_t *next,
                      core_err *err);

typedef struct tsdb_chunk_reader {
    tsdb_segfiles files;
} tsdb_chunk_reader;

int tsdb_chunk_reader_open(tsdb_chunk_reader *r, const char *dir, core_err *err);
void tsdb_chunk_reader_close(tsdb_chunk_reader *r);
/* The chunk a ref points at (data borrowed until close). */
int tsdb_chunk_reader_chunk(const tsdb_chunk_reader *r, uint64_t ref, tsdb_chunk *out,
                            core_err *err);
/* Walks the records of segment `*seg` from `*off` (start both at 0): 1 and the
 * chunk and its ref, 0 after the last one of the last segment, -1 on error. */
int tsdb_chunk_reader_next(const tsdb_chunk_reader *r, size_t *seg, size_t *off, tsdb_chunk *out,
                           uint64_t *ref, core_err *err);

typedef struct tsdb_chunk_writer {
    char *dir;
    void *file;      /* FILE *, NULL before the first chunk */
    uint64_t seq;    /* number of the file being written */
    uint64_t nfiles; /* files this writer cut; the current one's index + 1 */
    uint64_t off;    /* bytes in the current file */
    uint64_t segment_size;
} tsdb_chunk_writer;

/* Writes into `dir` (which must exist), continuing after its highest numbered
 * file; segment_size 0 means upstream's 512 MiB. */
int tsdb_chunk_writer_open(tsdb_chunk_writer *w, const char *dir, uint64_t segment_size,
                           core_err *err);
/* Appends a chunk; *ref gets its ref relative to the files this writer made. */
int tsdb_chunk_writer_write(tsdb_chunk_writer *w, uint8_t enc, const uint8_t *data, size_t len,
                            uint64_t *ref, core_err *err);
/* Flushes, fsyncs and closes; frees the writer either way. */
int tsdb_chunk_writer_close(tsdb_chunk_writer *w, core_err *err);

/* ---- Head chunk files (head_chunks.c): chunks_head/000001 ...
 *
 * File: magic 0x0130BC91, version 1, 3 zero bytes, then records: series ref
 * (8), mint (8), maxt (8), encoding (1), len (uvarint), data, CRC32C of all
 * that came before in the record (4); all big endian.  A ref is (file number
 * << 32) | offset.  A file may end in zeros (preallocation); a record whose
 * series ref, mint and maxt are all 0 ends the file, as upstream reads it. */

#define TSDB_HEAD_CHUNKS_MAGIC    UINT32_C(0x0130BC91)
#define TSDB_HEAD_CHUNK_FILE_SIZE (UINT64_C(128) * 1024 * 1024)
/* The largest record overhead: 8 + 8 + 8 + 1 + 5 (uvarint of a 32-bit len) + 4. */
#define TSDB_HEAD_CHUNK_META_MAX 34

typedef struct tsdb_head_chunk {
    uint64_t series_ref;
    int64_t mint;
    int64_t maxt;
    uint8_t enc;
    const uint8_t *data; /* borrowed from the mapped file */
    size_t len;
} tsdb_head_chunk;

/* Reads the record at `off` of one file's bytes.  Returns 1 and the record
 * (`*next` after it), 0 if the file's data ends there, -1 on corruption. */
int tsdb_head_chunk_decode(const uint8_t *file, size_t len, size_t off, tsdb_head_chunk *out,
                           size_t *next, core_err *err);

typedef struct tsdb_head_chunk_reader {
    tsdb_segfiles files;
} tsdb_head_chunk_reader;

int tsdb_head_chunk_reader_open(tsdb_head_chunk_reader *r, const char *dir, core_err *err);
void tsdb_head_chunk_reader_close(tsdb_head_chunk_reader *r);
int tsdb_head_chunk_reader_chunk(const tsdb_head_chunk_reader *r, uint64_t ref,
                                 tsdb_head_chunk *out, core_err *err);
/* Walks every record of every file in order, like tsdb_chunk_reader_next. */
int tsdb_head_chunk_reader_next(const tsdb_head_chunk_reader *r, size_t *file, size_t *off,
                                tsdb_head_chunk *out, uint64_t *ref, core_err *err);

typedef struct tsdb_head_chunk_writer {
    char *dir;
    void *file; /* FILE *, NULL before the first chunk */
    uint64_t seq;
    uint64_t off;
    uint64_t file_size;
} tsdb_head_chunk_writer;

/* file_size 0 means upstream's 128 MiB. */
int tsdb_head_chunk_writer_open(tsdb_head_chunk_writer *w, const char *dir, uint64_t file_size,
                                core_err *err);
int tsdb_head_chunk_writer_write(tsdb_head_chunk_writer *w, const tsdb_head_chunk *c, uint64_t *ref,
                                 core_err *err);
int tsdb_head_chunk_writer_close(tsdb_head_chunk_writer *w, core_err *err);

/* ---- Write-ahead log (wal_writer.c, wal_reader.c): wal/00000000 ...
 *
 * Segment files named by an 8-digit number, each a sequence of 32 KiB pages
 * (the last page of a file may be short).  A record is split into fragments
 * that never cross a page: type (1 byte: 1 full, 2 first, 3 middle, 4 last,
 * 0 = the rest of the page is zero padding; bit 3 snappy, bit 4 zstd), data
 * length (u16 BE), CRC32C of the data (u32 BE), data.  A record never spans
 * segments when written; a compressed record is compressed whole and then
 * split, every fragment carrying the flag. */

#define TSDB_WAL_PAGE_SIZE    32768u
#define TSDB_WAL_HEADER_SIZE  7u
#define TSDB_WAL_SEGMENT_SIZE (UINT64_C(128) * 1024 * 1024)

typedef enum tsdb_wal_compression {
    TSDB_WAL_COMPRESS_NONE = 0,
    TSDB_WAL_COMPRESS_SNAPPY = 1,
    TSDB_WAL_COMPRESS_ZSTD = 2,
} tsdb_wal_compression;

typedef struct tsdb_wal_writer {
    char *dir;
    int fd;         /* current segment, -1 before the first record */
    uint64_t seq;   /* its number */
    uint8_t *page;  /* TSDB_WAL_PAGE_SIZE bytes, zero beyond `alloc` */
    size_t alloc;   /* bytes used in the page */
    size_t flushed; /* of which written to the file */
    uint64_t done;  /* pages completed in the current segment */
    uint64_t pages; /* pages per segment */
    tsdb_wal_compression compress;
    uint8_t *cbuf; /* compression scratch */
    size_t ccap;
} tsdb_wal_writer;

/* Writes into `dir` (created if missing) in a new segment after the highest
 * existing one, as upstream does on open.  segment_size 0 means 128 MiB; it
 * must be a multiple of the page size. */
int tsdb_wal_writer_open(tsdb_wal_writer *w, const char *dir, uint64_t segment_size,
                         tsdb_wal_compression compress, core_err *err);
/* Appends one record and writes the page out (not fsynced).  A record is
 * compressed only when that makes it smaller, as upstream does. */
int tsdb_wal_writer_log(tsdb_wal_writer *w, const uint8_t *rec, size_t len, core_err *err);
/* Ends the current segment (padding its page) and starts the next one. */
int tsdb_wal_writer_next_segment(tsdb_wal_writer *w, core_err *err);
/* Pads the last page, fsyncs and closes; frees the writer either way. */
int tsdb_wal_writer_close(tsdb_wal_writer *w, core_err *err);

typedef struct tsdb_wal_reader {
    char *dir;
    uint64_t *seqs; /* segment numbers, consecutive */
    size_t nseg;
    size_t cur;         /* index of the mapped segment */
    const uint8_t *map; /* its bytes */
    size_t len;
    size_t off;           /* read position in it; beyond `len` reads zeros up to a page end */
    core_sb rec;          /* the assembled record */
    core_sb comp;         /* compressed fragments before decoding */
    void *zstd;           /* ZSTD_DCtx, made on first use */
    uint64_t ncompressed; /* records read that were compressed */
    uint64_t err_seq;     /* after a corruption error: segment and offset */
    size_t err_off;
} tsdb_wal_reader;

/* Opens every numbered segment in `dir` (they must be consecutive). */
int tsdb_wal_reader_open(tsdb_wal_reader *r, const char *dir, core_err *err);
/* The same, starting at segment `first` (earlier ones are left out). */
int tsdb_wal_reader_open_from(tsdb_wal_reader *r, const char *dir, uint64_t first, core_err *err);
void tsdb_wal_reader_close(tsdb_wal_reader *r);
/* The next record: 1 with the bytes (borrowed until the next call), 0 at the
 * end, -1 on corruption ("corruption in segment <dir>/<seq> at <offset>: ...",
 * also in err_seq / err_off).  As upstream: a short last page reads as if
 * zero-padded (the end of a segment after a crash or before a close), while a
 * record cut short at the end of the log is an error ("last record is torn")
 * that a repair would truncate. */
int tsdb_wal_reader_next(tsdb_wal_reader *r, const uint8_t **rec, size_t *len, core_err *err);

/* ---- WAL records (record.c), as upstream tsdb/record.
 *
 * Type byte first, then:
 *   series (1)      per series: ref (u64 BE), label count (uvarint), then
 *                   name and value each as uvarint length + bytes
 *   samples (2)     first ref (u64 BE), first t (i64 BE), then per sample ref
 *                   and t minus the first's (varints), value bits (u64 BE)
 *   tombstones (3)  per interval: ref (u64 BE), mint, maxt (varints)
 *   metadata (6)    per series: ref (uvarint), metric type (1 byte), field
 *                   count (uvarint), then name/value strings ("UNIT", "HELP")
 * Decoders append to *out (NULL with *n 0, or an array the same decoder grew
 * before; free() it), put strings in the caller's arena, and fail on
 * truncated entries, leaving those decoded before them in *out. */

enum {
    TSDB_REC_SERIES = 1,
    TSDB_REC_SAMPLES = 2,
    TSDB_REC_TOMBSTONES = 3,
    TSDB_REC_EXEMPLARS = 4,
    TSDB_REC_MMAP_MARKERS = 5,
    TSDB_REC_METADATA = 6,
    TSDB_REC_HISTOGRAM_SAMPLES = 7,
    TSDB_REC_FLOAT_HISTOGRAM_SAMPLES = 8,
    TSDB_REC_UNKNOWN = 255,
};

typedef struct tsdb_rec_series {
    uint64_t ref;
    core_labels *labels; /* in the arena */
} tsdb_rec_series;

typedef struct tsdb_rec_sample {
    uint64_t ref;
    int64_t t;
    uint64_t v; /* float64 bits */
} tsdb_rec_sample;

typedef struct tsdb_rec_tombstone {
    uint64_t ref;
    int64_t mint;
    int64_t maxt;
} tsdb_rec_tombstone;

typedef struct tsdb_rec_metadata {
    uint64_t ref;
    uint8_t type;     /* 0 unknown, 1 counter, 2 gauge, 3 histogram, 4 gauge histogram,
                         5 summary, 6 info, 7 stateset */
    const char *unit; /* in the arena; "" when absent */
    const char *help;
} tsdb_rec_metadata;

/* The record's type byte, or TSDB_REC_UNKNOWN for an empty record. */
int tsdb_rec_type(const uint8_t *rec, size_t len);

void tsdb_rec_encode_series(core_sb *out, const tsdb_rec_series *s, size_t n);
void tsdb_rec_encode_samples(core_sb *out, const tsdb_rec_sample *s, size_t n);
void tsdb_rec_encode_tombstones(core_sb *out, const tsdb_rec_tombstone *s, size_t n);
void tsdb_rec_encode_metadata(core_sb *out, const tsdb_rec_metadata *m, size_t n);

int tsdb_rec_decode_series(const uint8_t *rec, size_t len, core_arena *arena, tsdb_rec_series **out,
                           size_t *n, core_err *err);
int tsdb_rec_decode_samples(const uint8_t *rec, size_t len, tsdb_rec_sample **out, size_t *n,
                            core_err *err);
int tsdb_rec_decode_tombstones(const uint8_t *rec, size_t len, tsdb_rec_tombstone **out, size_t *n,
                               core_err *err);
int tsdb_rec_decode_metadata(const uint8_t *rec, size_t len, core_arena *arena,
                             tsdb_rec_metadata **out, size_t *n, core_err *err);

/* ---- Block index (index.c reads, index_writer.c writes): a block's `index`
 * file, format version 2 as upstream tsdb/index (docs/format/index.md).
 *
 * Header: magic 0xBAAAD700 (4, big endian), version 2 (1 byte).  Then the
 * symbol table (every string, sorted; referenced by position), the series
 * (each 16-byte aligned; its ref is its offset / 16), label indices, postings
 * lists, the label offset table, the postings offset table and the TOC (six
 * big-endian u64 section offsets and their CRC32C).  Every section carries a
 * CRC32C; the reader checks the tables when it opens the file and each series
 * or postings list when it is read.  Strings in the index are not
 * NUL-terminated: they travel as tsdb_str, borrowed from the mapped file. */

#define TSDB_INDEX_MAGIC   UINT32_C(0xBAAAD700)
#define TSDB_INDEX_VERSION 2

typedef struct tsdb_str {
    const char *p;
    size_t len;
} tsdb_str;

static inline tsdb_str tsdb_str_c(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return (tsdb_str){.p = s, .len = n};
}

/* Orders strings bytewise, a shorter prefix first (Go's string comparison). */
static inline int tsdb_str_cmp(tsdb_str a, tsdb_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    if (c) return c;
    return a.len < b.len ? -1 : a.len > b.len;
}

typedef struct tsdb_index_toc {
    uint64_t symbols;
    uint64_t series;
    uint64_t label_indices;
    uint64_t label_offsets;
    uint64_t postings;
    uint64_t postings_offsets;
} tsdb_index_toc;

typedef struct tsdb_chunk_meta {
    uint64_t ref; /* into the block's chunks/, see tsdb_chunk_ref */
    int64_t mint;
    int64_t maxt;
} tsdb_chunk_meta;

typedef struct tsdb_index_label {
    tsdb_str name;
    tsdb_str value;
} tsdb_index_label;

/* A series as read: its labels (sorted by name; strings borrowed from the
 * reader) and chunk metas.  Zero it before the first read; reads reuse the
 * arrays; free them with tsdb_index_series_destroy. */
typedef struct tsdb_index_series {
    tsdb_index_label *labels;
    size_t nlabels, cap_labels;
    tsdb_chunk_meta *chunks;
    size_t nchunks, cap_chunks;
} tsdb_index_series;

void tsdb_index_series_destroy(tsdb_index_series *s);

/* One entry of the postings offset table: a name/value pair and where its
 * postings list starts.  The first entry of a file is the all-series list,
 * name and value empty. */
typedef struct tsdb_index_entry {
    tsdb_str name;
    tsdb_str value;
    uint64_t off;
} tsdb_index_entry;

/* A label name and its run of entries (values sorted) in the table. */
typedef struct tsdb_index_name {
    tsdb_str name;
    size_t first;
    size_t n;
} tsdb_index_name;

/* A postings list: n series refs, sorted, as big-endian u32 (borrowed). */
typedef struct tsdb_postings {
    const uint8_t *refs;
    uint32_t n;
} tsdb_postings;

static inline uint32_t tsdb_postings_at(const tsdb_postings *p, uint32_t i)
{
    const uint8_t *b = p->refs + 4 * (size_t)i;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

typedef struct tsdb_index_reader {
    const uint8_t *p; /* the file's bytes */
    size_t len;
    bool mapped; /* p is a mapping this reader owns */
    tsdb_index_toc toc;
    size_t series_end; /* where the series section ends */
    size_t *sym_off;   /* offset of each symbol's length field */
    uint32_t nsym;
    tsdb_index_entry *entries; /* the postings offset table */
    size_t nentries;
    tsdb_index_name *names; /* label names, sorted, without the empty one */
    size_t nnames;
} tsdb_index_reader;

/* Maps `path` read-only and checks header, TOC, symbol table, label indices
 * and both offset tables.  Errors name the section and offset. */
int tsdb_index_reader_open(tsdb_index_reader *r, const char *path, core_err *err);
/* The same over bytes in memory (borrowed until close). */
int tsdb_index_reader_open_mem(tsdb_index_reader *r, const uint8_t *p, size_t len, core_err *err);
void tsdb_index_reader_close(tsdb_index_reader *r);
/* The symbol with position `ref` (borrowed until close). */
int tsdb_index_symbol(const tsdb_index_reader *r, uint32_t ref, tsdb_str *out, core_err *err);
/* The label names, sorted (borrowed until close). */
const tsdb_index_name *tsdb_index_label_names(const tsdb_index_reader *r, size_t *n);
/* The entries of label `name`, one per value, sorted by value; NULL with *n
 * 0 when the name is not in the index. */
const tsdb_index_entry *tsdb_index_label_values(const tsdb_index_reader *r, tsdb_str name,
                                                size_t *n);
/* The postings list of name=value; empty when the pair is not in the index.
 * Both empty give every series.  The list's CRC is checked. */
int tsdb_index_postings(const tsdb_index_reader *r, tsdb_str name, tsdb_str value,
                        tsdb_postings *out, core_err *err);
/* The postings list at `off` (an entry's), CRC checked. */
int tsdb_index_postings_at(const tsdb_index_reader *r, uint64_t off, tsdb_postings *out,
                           core_err *err);
/* The labels and chunk metas of the series with this ref, CRC checked. */
int tsdb_index_series_read(const tsdb_index_reader *r, uint64_t ref, tsdb_index_series *out,
                           core_err *err);

/* The writer takes, in this order: every symbol (sorted, unique), then every
 * series (sorted by labels, each label's name and value among the symbols),
 * then close, which writes label indices, postings, both offset tables and
 * the TOC, the same bytes upstream's Writer makes from the same input. */
typedef struct tsdb_index_writer {
    void *file; /* FILE * */
    uint64_t pos;
    int stage;
    tsdb_index_toc toc;
    core_sb symtab;  /* the symbol table's strings as written */
    size_t *sym_off; /* offset of each symbol in symtab */
    uint32_t nsym;
    size_t cap_sym;
    uint32_t (*pairs)[3]; /* name ref, value ref, series ref per label */
    size_t npairs, cap_pairs;
    size_t last_first; /* where the last series' labels start in pairs */
    uint32_t *series;  /* refs of the series written */
    size_t nseries, cap_series;
} tsdb_index_writer;

/* Creates `path` (which must not exist) and writes the header. */
int tsdb_index_writer_open(tsdb_index_writer *w, const char *path, core_err *err);
int tsdb_index_writer_add_symbol(tsdb_index_writer *w, tsdb_str sym, core_err *err);
/* *ref (if not NULL) gets the series ref that postings use. */
int tsdb_index_writer_add_series(tsdb_index_writer *w, const tsdb_index_label *labels, size_t n,
                                 const tsdb_chunk_meta *chunks, size_t nchunks, uint64_t *ref,
                                 core_err *err);
/* Writes the rest, fsyncs and closes; frees the writer either way. */
int tsdb_index_writer_close(tsdb_index_writer *w, core_err *err);

/* ---- Atomic file replacement (meta.c): writes `len` bytes to dir/name.tmp,
 * fsyncs and closes it, renames it over dir/name and fsyncs `dir`, as
 * upstream's writeMetaFile and fileutil.Replace; the temporary file is
 * removed on failure. */
int tsdb_replace_file(const char *dir, const char *name, const void *p, size_t len, core_err *err);

/* ---- ULIDs (meta.c): 16 bytes, 26 characters of Crockford base32. */

typedef struct tsdb_ulid {
    uint8_t b[16];
} tsdb_ulid;

#define TSDB_ULID_LEN 26
/* Parses 26 characters (either case); fails on another length, a character
 * outside the alphabet or a value above 128 bits (first character > '7'). */
int tsdb_ulid_parse(const char *s, size_t len, tsdb_ulid *out, core_err *err);
/* Writes the 26 upper-case characters and a NUL. */
void tsdb_ulid_format(const tsdb_ulid *u, char out[TSDB_ULID_LEN + 1]);

/* ---- Block meta (meta.c): a block's meta.json, as upstream BlockMeta.
 *
 * Read with jansson: field names match as Go's encoding/json matches them
 * (exactly, else case-insensitively), unknown fields are ignored, null leaves
 * a field zero, and `version` must be 1.  Written as Go's
 * json.MarshalIndent(meta, "", "\t") writes it, the omitempty fields left out
 * when zero, so the bytes equal upstream's. */

typedef struct tsdb_block_desc {
    tsdb_ulid ulid;
    int64_t mint;
    int64_t maxt;
} tsdb_block_desc;

typedef struct tsdb_block_stats {
    uint64_t num_samples;
    uint64_t num_float_samples;     /* newer upstream versions only */
    uint64_t num_histogram_samples; /* newer upstream versions only */
    uint64_t num_series;
    uint64_t num_chunks;
    uint64_t num_tombstones;
} tsdb_block_stats;

typedef struct tsdb_block_meta {
    tsdb_ulid ulid;
    int64_t mint; /* inclusive */
    int64_t maxt; /* exclusive */
    tsdb_block_stats stats;
    int64_t level;
    tsdb_ulid *sources; /* malloc'd */
    size_t nsources;
    bool deletable;
    tsdb_block_desc *parents; /* malloc'd */
    size_t nparents;
    bool failed;
    char **hints; /* malloc'd strings (newer upstream versions) */
    size_t nhints;
    int64_t version; /* 1 */
} tsdb_block_meta;

#define TSDB_META_FILENAME "meta.json"
#define TSDB_META_VERSION  1

void tsdb_block_meta_destroy(tsdb_block_meta *m);
/* Parses meta.json text; errors name `what` (the file) and the field. */
int tsdb_block_meta_parse(tsdb_block_meta *m, const char *text, size_t len, const char *what,
                          core_err *err);
/* Appends the JSON upstream writes (version written as 1, no final newline). */
void tsdb_block_meta_format(const tsdb_block_meta *m, core_sb *out);
/* dir/meta.json; *size (if not NULL) gets the file's length. */
int tsdb_block_meta_read(tsdb_block_meta *m, const char *dir, int64_t *size, core_err *err);
int tsdb_block_meta_write(const tsdb_block_meta *m, const char *dir, int64_t *size, core_err *err);

/* ---- Tombstones (tombstones.c): a block's `tombstones` file, as upstream
 * tsdb/tombstones.
 *
 * File: magic 0x0130BA30 (4, big endian), format version 1 (1 byte), then per
 * interval: series ref (uvarint), mint, maxt (varints); last the CRC32C (4,
 * big endian) of what lies between the version byte and it (upstream leaves
 * the version byte out of the sum).  A missing file means no tombstones.
 * Intervals of a series are kept sorted, overlapping and adjacent ones merged,
 * as upstream's Intervals.Add does on reading and adding. */

#define TSDB_TOMBSTONES_MAGIC    UINT32_C(0x0130BA30)
#define TSDB_TOMBSTONES_FILENAME "tombstones"

typedef struct tsdb_interval {
    int64_t mint;
    int64_t maxt;
} tsdb_interval;

typedef struct tsdb_stone {
    uint64_t ref;
    tsdb_interval *iv; /* sorted, disjoint, not adjacent */
    size_t n, cap;
} tsdb_stone;

/* Series with tombstones, sorted by ref.  Zero it (or tsdb_tombstones_init). */
typedef struct tsdb_tombstones {
    tsdb_stone *s;
    size_t n, cap;
} tsdb_tombstones;

void tsdb_tombstones_init(tsdb_tombstones *t);
void tsdb_tombstones_destroy(tsdb_tombstones *t);
/* Adds [mint, maxt] to series `ref`, merging as upstream. */
void tsdb_tombstones_add(tsdb_tombstones *t, uint64_t ref, int64_t mint, int64_t maxt);
/* The series' intervals, NULL if it has none. */
const tsdb_stone *tsdb_tombstones_get(const tsdb_tombstones *t, uint64_t ref);
/* The number of intervals (upstream's Total, meta's numTombstones). */
uint64_t tsdb_tombstones_total(const tsdb_tombstones *t);
/* Appends the whole file: magic, version, intervals by ref, CRC. */
void tsdb_tombstones_encode(const tsdb_tombstones *t, core_sb *out);
/* Adds the intervals of a whole file's bytes to *t; fails on a short file, a
 * wrong magic, version or CRC, or a truncated entry. */
int tsdb_tombstones_decode(tsdb_tombstones *t, const uint8_t *p, size_t len, core_err *err);
/* dir/tombstones into *t (initialised here); a missing file gives none and
 * *size 0. */
int tsdb_tombstones_read(tsdb_tombstones *t, const char *dir, int64_t *size, core_err *err);
int tsdb_tombstones_write(const tsdb_tombstones *t, const char *dir, int64_t *size, core_err *err);

/* ---- Blocks (block.c): a block directory opened as upstream's OpenBlock
 * does: meta.json, chunks/, index and tombstones, each checked as its reader
 * checks it when it opens.  No querying here. */

typedef struct tsdb_block {
    char *dir;
    tsdb_block_meta meta;
    tsdb_chunk_reader chunks;
    tsdb_index_reader index;
    tsdb_tombstones tombstones;
    int64_t meta_size;
    int64_t tombstones_size;
    /* Queries read chunks without checking their CRC, as upstream's do: a
     * server's database sets it; a block opened on its own (the tools) keeps
     * the check, so a damaged chunk is reported. */
    bool skip_crc;
} tsdb_block;

/* Errors name the block directory and the part that failed. */
int tsdb_block_open(tsdb_block *b, const char *dir, core_err *err);
void tsdb_block_close(tsdb_block *b);
/* Walks every series of the index and every chunk it points at (CRC checked):
 * counts series, chunks and samples (from each chunk's 2-byte count) into
 * *out (num_tombstones from the tombstones), and checks that every chunk lies
 * within [meta mint, meta maxt) and every tombstone names a series. */
int tsdb_block_verify(const tsdb_block *b, tsdb_block_stats *out, core_err *err);

/* ---- Querier (querier.c): series and samples over one or more blocks.
 *
 * select() picks the series whose labels satisfy every matcher and that have
 * a chunk overlapping [mint, maxt] not wholly deleted by a tombstone; a label
 * that is absent has the value "".  Positive matchers (those that do not
 * match "") intersect postings lists (regexes through the label's values);
 * the others subtract the series whose value fails them.  Series present in
 * several blocks are merged into one, sorted by labels as upstream sorts
 * them.  The iterator walks a series' float samples in time order through
 * its chunks, skipping samples outside [mint, maxt] and tombstoned ones.
 *
 * Regex matching is left to the caller (tsdb does not depend on a regex
 * engine): RE and NRE matchers carry a predicate telling whether the regex
 * matches a whole value. */

typedef enum tsdb_match_type {
    TSDB_MATCH_EQ,  /* = */
    TSDB_MATCH_NEQ, /* != */
    TSDB_MATCH_RE,  /* =~ */
    TSDB_MATCH_NRE, /* !~ */
} tsdb_match_type;

typedef struct tsdb_matcher {
    tsdb_match_type type;
    tsdb_str name;
    tsdb_str value;
    /* RE / NRE: whether the (fully anchored) regex matches `v`. */
    bool (*re_match)(void *ctx, tsdb_str v);
    void *ctx;
} tsdb_matcher;

/* Whether value `v` satisfies m. */
bool tsdb_matcher_matches(const tsdb_matcher *m, tsdb_str v);

typedef struct tsdb_head tsdb_head;
typedef struct tsdb_db tsdb_db;

typedef struct tsdb_querier {
    tsdb_block *blocks; /* sorted by mint */
    size_t n;
    tsdb_head *head; /* also selects from the head when set (tsdb_db_querier) */
    tsdb_db *db;     /* set by tsdb_db_querier: blocks are the db's, held until close */
} tsdb_querier;

/* Opens every block (a subdirectory holding meta.json) of a data directory;
 * other entries (wal/, chunks_head/, lock files) are ignored. */
int tsdb_querier_open(tsdb_querier *q, const char *dir, core_err *err);
/* Closes the blocks it opened, or releases a tsdb_db_querier. */
void tsdb_querier_close(tsdb_querier *q);

/* One series' chunks in one block, or in the head (block NULL: the chunks'
 * bytes, in bytes/lens, were copied out of the head at select time, or point
 * into its chunk files, which stay while the querier holds the head). */
typedef struct tsdb_qpart {
    const tsdb_block *block;
    tsdb_chunk_meta *chunks; /* overlapping [mint, maxt], sorted by mint */
    size_t nchunks;
    const tsdb_stone *stone; /* the series' tombstones in that block, or NULL */
    const uint8_t **bytes;   /* head only: each chunk's data */
    const uint32_t *lens;
} tsdb_qpart;

typedef struct tsdb_qseries {
    core_labels *labels; /* in the arena */
    tsdb_qpart *parts;   /* by block mint */
    size_t nparts;
    int64_t mint, maxt; /* the select's range */
} tsdb_qseries;

/* Fills *out (arena memory, like everything it points at) with the matching
 * series sorted by labels.  Returns 0, or -1 with err. */
int tsdb_querier_select(const tsdb_querier *q, const tsdb_matcher *m, size_t nm, int64_t mint,
                        int64_t maxt, core_arena *arena, tsdb_qseries **out, size_t *nout,
                        core_err *err);

typedef struct tsdb_qiter {
    const tsdb_qseries *s;
    size_t part, chunk; /* the chunk being read */
    bool started, done;
    tsdb_xor_iter xi;
    int64_t last;        /* last sample returned (the iterator never goes back) */
    int64_t t;           /* current sample, valid after a true return */
    uint64_t v;          /* its value bits */
    const char *failure; /* why iteration stopped early, NULL if it did not */
} tsdb_qiter;

/* Positions before the first sample of s (borrowed). */
void tsdb_qiter_init(tsdb_qiter *it, const tsdb_qseries *s);
/* The next sample; false at the end (or on a corrupt chunk: see failure). */
bool tsdb_qiter_next(tsdb_qiter *it);
/* The first sample at or after t, never moving backwards. */
bool tsdb_qiter_seek(tsdb_qiter *it, int64_t t);

/* ---- The head (head.c): the newest data, in memory and chunks_head/.
 *
 * Series get refs 1, 2, ... in creation order (the refs WAL records carry);
 * each appends into an open XOR chunk cut as upstream cuts them (at the end
 * of the chunk range, about every 120 samples, at 240 at most); cut chunks go
 * to chunks_head/ in upstream's format and are read back through a mapping.
 * Postings map each label pair to its series.  Safe for concurrent use:
 * appends, selects and creation from any thread; truncation excludes them
 * (hold tsdb_head_read_lock while using series pointers). */

#define TSDB_DEFAULT_BLOCK_MS (INT64_C(2) * 3600 * 1000)

/* Outcomes of an append besides 0 (stored) and -1 (an I/O or encoding error). */
enum {
    TSDB_APPEND_OUT_OF_ORDER = 1,  /* older than the series' newest sample */
    TSDB_APPEND_DUPLICATE = 2,     /* same timestamp, another value */
    TSDB_APPEND_OUT_OF_BOUNDS = 3, /* older than what the head still takes */
    TSDB_APPEND_REPEAT = 4,        /* same timestamp and value: dropped quietly */
};

typedef struct tsdb_hseries tsdb_hseries;

typedef struct tsdb_head_opts {
    int64_t chunk_range;      /* 0: 2h */
    const char *chunks_dir;   /* chunks_head/; NULL keeps cut chunks in memory */
    uint64_t chunk_file_size; /* 0: 128 MiB */
} tsdb_head_opts;

typedef struct tsdb_head_stats {
    uint64_t series, series_created, series_removed, chunks_cut;
    int64_t mint, maxt; /* INT64_MAX / INT64_MIN when empty */
} tsdb_head_stats;

tsdb_head *tsdb_head_new(const tsdb_head_opts *o, core_err *err);
void tsdb_head_free(tsdb_head *h);
/* The series with these labels, created (with ref want_ref, or the next ref
 * when 0) if missing; *created tells which. */
tsdb_hseries *tsdb_head_get_or_create(tsdb_head *h, const core_labels *ls, uint64_t want_ref,
                                      bool *created);
/* The series with this ref, or NULL. */
tsdb_hseries *tsdb_head_series(tsdb_head *h, uint64_t ref);
uint64_t tsdb_hseries_ref(const tsdb_hseries *s);
const core_labels *tsdb_hseries_labels(const tsdb_hseries *s);
/* Makes `ref` another name of s (WAL replay of a series logged twice). */
void tsdb_head_alias_ref(tsdb_head *h, uint64_t ref, tsdb_hseries *s);
/* Whether a sample would be taken (0) or which TSDB_APPEND_* refuses it. */
int tsdb_head_check(tsdb_head *h, tsdb_hseries *s, int64_t t, uint64_t vbits);
/* Appends one sample: 0, a TSDB_APPEND_* code, or -1 with err. */
int tsdb_head_append(tsdb_head *h, tsdb_hseries *s, int64_t t, uint64_t vbits, core_err *err);
/* Drops chunks that end before mint, and series left without data; samples
 * before mint are refused from then on. */
void tsdb_head_truncate(tsdb_head *h, int64_t mint);
/* Refuses samples before mint (the end of the newest block). */
void tsdb_head_set_min_valid(tsdb_head *h, int64_t mint);
void tsdb_head_read_lock(tsdb_head *h);
void tsdb_head_read_unlock(tsdb_head *h);
/* Calls fn for every series (caller holds the read lock). */
void tsdb_head_each(tsdb_head *h, void (*fn)(void *ctx, tsdb_hseries *s), void *ctx);
/* Copies the chunks of s that overlap [mint, maxt] into the arena; returns
 * their count, with their metas (ref unset), bytes and lengths. */
size_t tsdb_head_series_chunks(tsdb_head *h, tsdb_hseries *s, int64_t mint, int64_t maxt,
                               core_arena *arena, tsdb_chunk_meta **metas, const uint8_t ***bytes,
                               uint32_t **lens);
/* Writes buffered chunk records to chunks_head/. */
int tsdb_head_flush(tsdb_head *h, core_err *err);
tsdb_head_stats tsdb_head_get_stats(tsdb_head *h);
/* Label names (sorted, unique) of the head's series, in the arena. */
size_t tsdb_head_label_names(tsdb_head *h, core_arena *arena, const char ***out);
/* Values of label `name` (sorted), in the arena. */
size_t tsdb_head_label_values(tsdb_head *h, const char *name, core_arena *arena, const char ***out);

/* Cardinality of the head's index, as upstream's head stats for
 * /api/v1/status/tsdb: the top `limit` entries of each list, by count. */
typedef struct tsdb_stat {
    const char *name;
    uint64_t count;
} tsdb_stat;

typedef struct tsdb_cardinality {
    uint64_t num_series, num_label_pairs;
    tsdb_stat *series_by_metric; /* values of name_label (__name__) by series */
    size_t n_series_by_metric;
    tsdb_stat *values_by_label; /* label names by number of values */
    size_t n_values_by_label;
    tsdb_stat *memory_by_label; /* label names by bytes of values times series */
    size_t n_memory_by_label;
    tsdb_stat *series_by_pair; /* "name=value" by series */
    size_t n_series_by_pair;
} tsdb_cardinality;

void tsdb_head_cardinality(tsdb_head *h, const char *name_label, size_t limit, core_arena *arena,
                           tsdb_cardinality *out);

/* ---- Writing a block (block_writer.c): series handed over in label order,
 * each with its encoded chunks; the block appears under `parent` as
 * <ULID>/ (written in <ULID>.tmp-for-creation and renamed) with chunks/,
 * index, meta.json (level 1, its own ULID as source) and an empty
 * tombstones file, as upstream's LeveledCompactor.write. */

typedef struct tsdb_block_writer tsdb_block_writer;

/* mint inclusive, maxt exclusive.  `symbols` are every label name and value
 * the series will use, sorted and unique (the index needs them first). */
tsdb_block_writer *tsdb_block_writer_new(const char *parent, int64_t mint, int64_t maxt,
                                         const tsdb_str *symbols, size_t nsymbols, core_err *err);
/* Sets the lineage meta.json records (copied): the compaction level, the
 * level-1 blocks the data comes from (NULL: the new block itself) and the
 * blocks it replaces.  Without a call: level 1, its own source, no parents. */
void tsdb_block_writer_lineage(tsdb_block_writer *w, int64_t level, const tsdb_ulid *sources,
                               size_t nsources, const tsdb_block_desc *parents, size_t nparents);
/* Adds a series; chunks are XOR chunk bytes with their time ranges (refs
 * are filled in).  A series without chunks is skipped. */
int tsdb_block_writer_add(tsdb_block_writer *w, const core_labels *ls, tsdb_chunk_meta *metas,
                          const uint8_t *const *bytes, const uint32_t *lens, size_t n,
                          core_err *err);
/* Finishes the block; *ulid gets its name.  A block without series is not
 * kept (*ulid zero, returns 0), as upstream. */
int tsdb_block_writer_commit(tsdb_block_writer *w, tsdb_ulid *ulid, core_err *err);
/* Removes the unfinished block. */
void tsdb_block_writer_abort(tsdb_block_writer *w);
/* Writes the head's samples in [mint, maxt) as a block under `parent`
 * (chunks copied, or re-encoded where they cross the range's edges); *ulid is
 * zero when the range holds no sample.  Backfilling builds a head per range
 * and writes it out through this, as upstream's BlockWriter. */
int tsdb_head_write_block(tsdb_head *h, const char *parent, int64_t mint, int64_t maxt,
                          tsdb_ulid *ulid, core_err *err);
/* A new ULID for time `ms` (random bits from getrandom). */
void tsdb_ulid_new(tsdb_ulid *u, int64_t ms);

/* ---- Compaction (compact.c), as upstream's LeveledCompactor.
 *
 * Ranges: min-block-duration times 3^i (i < 10), those longer than
 * max-block-duration left out.  The planner picks, from blocks in any order:
 * the first run of blocks overlapping in time; else (leaving out the newest
 * block) for each range above the first, the first group of blocks that lie
 * in one aligned range and either fill it or end before the newest block
 * starts, skipping a group with a block whose compaction failed; else the
 * newest block of at least the middle range whose tombstones cover more
 * than 5% of its series (or any small one that is entirely deleted). */

#define TSDB_COMPACT_MAX_RANGES 10

size_t tsdb_compact_ranges(int64_t min_ms, int64_t max_ms, int64_t out[TSDB_COMPACT_MAX_RANGES]);
/* Fills out[] with the indexes (into metas) of the blocks to compact into
 * one, oldest first; returns how many (0: nothing to do; 1: a block to
 * rewrite without its tombstones). */
size_t tsdb_compact_plan(const tsdb_block_meta *const *metas, size_t n, const int64_t *ranges,
                         size_t nranges, size_t *out);
/* Writes blocks b[0..n) (n >= 1) as one new block under `parent`: series
 * merged by labels, deleted samples left out, chunks copied where they do not
 * overlap and merged sample by sample where they do (of two samples at one
 * time the one from the earlier of b[] is kept).  meta.json: the union of the
 * time ranges and of the sources, the blocks as parents, level one above the
 * highest (with `rewrite`, as upstream's rewrite of a block: level 1, the new
 * block its own source).  *ulid is zero when no sample is left. */
int tsdb_compact_blocks(const tsdb_block *const *b, size_t n, bool rewrite, const char *parent,
                        tsdb_ulid *ulid, core_err *err);

/* ---- The database (db.c): a data directory with blocks, a head and its
 * WAL, as upstream's tsdb.DB.
 *
 * Open replays wal/ (a checkpoint first, if there is one) into the head;
 * a corrupt WAL tail is cut at the first bad record and logged.  Appenders
 * collect samples and commit them at once: the new series and the samples go
 * to the WAL as one series record and one samples record, then into the head.
 * tsdb_db_compact writes the head's oldest chunk range to a block once the head
 * spans 1.5 ranges, truncates the head, and applies retention. */

typedef struct tsdb_db_opts {
    int64_t min_block_ms;    /* 0: 2h */
    int64_t max_block_ms;    /* 0: a tenth of the retention time, at most 31d */
    int64_t retention_ms;    /* 0 with retention_bytes 0: 15d */
    int64_t retention_bytes; /* 0: no size limit */
    tsdb_wal_compression wal_compression;
    bool wal_disabled;
    /* Reads blocks and replays the WAL into a head kept in memory, writing
     * nothing (no lock, no repair: a corrupt WAL is an error), as upstream's
     * DBReadOnly for promtool; appending and compaction are not for it. */
    bool read_only;
} tsdb_db_opts;

typedef struct tsdb_db_stats {
    tsdb_head_stats head;
    uint64_t samples_appended, out_of_order, duplicates, out_of_bounds;
    uint64_t wal_corruptions, wal_replayed_records, compactions, blocks, retention_deleted;
    uint64_t compactions_failed;
} tsdb_db_stats;

tsdb_db *tsdb_db_open(const char *dir, const tsdb_db_opts *o, core_err *err);
/* Flushes and closes; returns -1 with err if something could not be written. */
int tsdb_db_close(tsdb_db *db, core_err *err);
tsdb_head *tsdb_db_head(tsdb_db *db);
tsdb_db_stats tsdb_db_get_stats(tsdb_db *db);
/* A querier over the db's blocks and head as they are now; the blocks stay
 * open until tsdb_querier_close. */
void tsdb_db_querier(tsdb_db *db, tsdb_querier *q);
/* Head to blocks and retention, when due; safe to call from any thread. */
int tsdb_db_compact(tsdb_db *db, core_err *err);

/* Deletes the samples in [mint, maxt] of the series matching every matcher:
 * tombstones in each block concerned (its tombstones file and meta.json
 * rewritten) and in the head (logged to the WAL); queries stop returning them
 * at once.  As upstream's DB.Delete. */
int tsdb_db_delete(tsdb_db *db, const tsdb_matcher *m, size_t nm, int64_t mint, int64_t maxt,
                   core_err *err);
/* Rewrites every block that has tombstones without the deleted data (a new
 * block replaces it; one left empty is just removed), as upstream's
 * CleanTombstones.  Head deletions go away with compaction. */
int tsdb_db_clean_tombstones(tsdb_db *db, core_err *err);
/* Hard-links every block into `dir` (created), and with_head also writes the
 * head's data there as a block, as upstream's DB.Snapshot. */
int tsdb_db_snapshot(tsdb_db *db, const char *dir, bool with_head, core_err *err);

typedef struct tsdb_appender tsdb_appender;

tsdb_appender *tsdb_db_appender(tsdb_db *db);
/* Adds a sample for the series `*ref` (from an earlier append; 0 when not
 * known) or, when that ref is unknown, for labels `ls` (required then); sets
 * *ref.  Returns 0, a TSDB_APPEND_* code (the sample is not taken), or -1. */
int tsdb_appender_add(tsdb_appender *a, uint64_t *ref, const core_labels *ls, int64_t t, double v,
                      core_err *err);
/* Writes the WAL and applies the samples; frees the appender either way. */
int tsdb_appender_commit(tsdb_appender *a, core_err *err);
/* Forgets the samples; frees the appender. */
void tsdb_appender_rollback(tsdb_appender *a);

#endif
