/*
 * internal.h - helpers shared by the files of server/tsdb, not part of the door.
 */
#ifndef TSDB_INTERNAL_H
#define TSDB_INTERNAL_H

#include "tsdb/tsdb.h"

#include <pthread.h>
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

/* Maps the file at `path` read-only (*p NULL when it is empty); errors say
 * "open <what><path>: ..." (segfiles.c). */
int tsdb_map_file(const char *path, const char *what, const uint8_t **p, size_t *len,
                  core_err *err);
/* Lists the numbered WAL segments of `dir` (names as strconv.Atoi reads them),
 * sorted, checking that they are consecutive; *seqs is malloc'd. */
int tsdb_wal_segments(const char *dir, uint64_t **seqs, size_t *n, core_err *err);
/* The highest segment number in `dir`; *any false when there is none. */
int tsdb_wal_last_segment(const char *dir, uint64_t *last, bool *any, core_err *err);

/* Index file layout shared by the reader and the writer. */
#define TSDB_INDEX_HEADER_SIZE  5
#define TSDB_INDEX_TOC_SIZE     (6 * 8 + 4)
#define TSDB_INDEX_SERIES_ALIGN 16

/* A block chunk without its CRC checked (the query path; chunks.c). */
int tsdb_chunk_reader_chunk_unchecked(const tsdb_chunk_reader *r, uint64_t ref, tsdb_chunk *out,
                                      core_err *err);

/* ---- Sets of series refs (refset.c): sorted, unique, malloc'd */

typedef struct tsdb_refset {
    uint64_t *v;
    size_t n, cap;
} tsdb_refset;

void tsdb_refset_push(tsdb_refset *s, uint64_t r);
/* Sorts and removes duplicates. */
void tsdb_refset_normalize(tsdb_refset *s);
/* a = a ∩ b (intersect) or a = a \ b (subtract); both normalized. */
void tsdb_refset_merge(tsdb_refset *a, const tsdb_refset *b, bool intersect);

/* ---- The spilled start of open head chunks (spill.c) */

/* Bytes of a chunk a record holds.  Smaller records keep less in memory and
 * cost more reads when a chunk is cut (one pread a record, ~0.4 us): at 64,
 * 11 reads for a chunk of 700 bytes, about 0.02 us a sample. */
#define TSDB_SPILL_SEG 64

/* The largest open chunk buffer of a head with a spill log: the offset of
 * the last record, then 96 bytes of chunk: room for a segment and the
 * largest sample (145 bits) past it.  104 bytes: malloc serves it in 112. */
#define TSDB_HEAD_TAIL_MAX (8 + TSDB_SPILL_SEG + 32)

typedef struct tsdb_spill tsdb_spill;

/* A log of unlinked scratch files in dir, created as records come. */
tsdb_spill *tsdb_spill_new(const char *dir);
void tsdb_spill_free(tsdb_spill *sp);
/* Appends TSDB_SPILL_SEG bytes chained to the record at prev (ignored for a
 * chunk's first); *ref gets the new record's offset. */
int tsdb_spill_put(tsdb_spill *sp, uint64_t prev, const uint8_t *seg, uint64_t *ref, core_err *err);
/* Reads the n records of the chain ending at `last`, oldest first: their
 * bytes into out (n x TSDB_SPILL_SEG; may be NULL), their offsets into offs
 * (n; may be NULL).  `mapped` reads written records through the files'
 * mappings (pages that then count as the process's) instead of pread. */
int tsdb_spill_read(tsdb_spill *sp, uint64_t last, size_t n, bool mapped, uint8_t *out,
                    uint64_t *offs, core_err *err);
/* Gives up the records at offs[0..n) (a chain no longer needed). */
void tsdb_spill_release(tsdb_spill *sp, const uint64_t *offs, size_t n);
/* Open files, and bytes of records still live. */
void tsdb_spill_stats(tsdb_spill *sp, uint64_t *files, uint64_t *live_bytes);

/* ---- Head internals (head.c) */

/* A cut chunk: in chunks_head/ at `ref`, or, in a head without files, in
 * memory: `ref` is then the address of a malloc'd block holding the data's
 * length (uint32) and the data. */
typedef struct tsdb_hchunk {
    uint64_t ref;
    int64_t mint, maxt;
} tsdb_hchunk;

/* A head series.  The first 64 bytes are what an append reads and writes:
 * the open chunk's encoder state lives here (no tsdb_xor, no count read from
 * the chunk bytes), so an append touches this line and the chunk's tail.
 * The open chunk's bytes carry a zero count in their 2-byte header while
 * open; readers of the bytes set it from `nsamples`.  Its first
 * nspill x TSDB_SPILL_SEG bytes are in the spill log, the rest at `buf`
 * after the offset of the last spill record (8 bytes); the bits after the
 * last one written are zero, up to `cap`.  The labels follow the struct in the same
 * allocation (no pointer: 16 bytes a series less, with malloc's rounding).
 * Series live in 64-byte aligned slots (head.c), so the append line is one
 * cache line, not two. */
struct tsdb_hseries {
    /* Guarded by `lock` (a spinlock, see head.c): */
    uint8_t lock;
    uint8_t leading, trailing; /* XOR value window; leading 0xff before one */
    uint8_t nspill;            /* TSDB_SPILL_SEG byte records of the open chunk in the spill log */
    uint16_t nsamples;         /* in the open chunk */
    uint16_t cap;              /* bytes at buf */
    uint32_t bits;             /* data bits in the open chunk after its header */
    uint32_t ref;              /* (refs are below 2^32: the ref table's size) */
    uint8_t *buf;      /* the open chunk's tail (see head.c); NULL before the first sample */
    int64_t maxt;      /* newest sample, INT64_MIN when none */
    uint64_t last_v;   /* its value bits */
    uint64_t tdelta;   /* last timestamp delta in the open chunk */
    int64_t open_mint; /* its first sample, INT64_MAX when empty */
    int64_t next_at;   /* cut the open chunk at a sample this late */
    /* end of the append line */
    tsdb_hchunk *mm; /* cut chunks, oldest first, exactly nmm long */
    uint32_t nmm;
    uint64_t hash;
    struct tsdb_hseries *next; /* hash chain in its stripe */
    /* then its labels (tsdb_hs_labels): the pairs point at interned strings */
};

static inline core_labels *tsdb_hs_labels(const struct tsdb_hseries *s)
{
    return (core_labels *)(void *)(uintptr_t)(s + 1);
}

/* Appends samples in order, sample i (its t and v; its ref is not read) to
 * series s[i], prefetching the series ahead; counts[0] gets the number
 * stored, counts[TSDB_APPEND_*] the refusals of each kind.  -1 with err on an
 * I/O error (the samples after it are not appended). */
int tsdb_head_append_batch(tsdb_head *h, tsdb_hseries *const *s, const tsdb_rec_sample *v, size_t n,
                           uint64_t counts[5], core_err *err);
/* The same without the series' locks, for a caller that alone can reach
 * these series (WAL replay at open: each replay thread its own series). */
int tsdb_head_append_batch_excl(tsdb_head *h, tsdb_hseries *const *s, const tsdb_rec_sample *v,
                                size_t n, uint64_t counts[5], core_err *err);

struct tsdb_stripe {
    pthread_mutex_t mtx;
    tsdb_hseries **buckets;
    size_t n, cap;
};

/* A postings list: sorted series refs (head refs fit in 32 bits: see the
 * ref table in head.c). */
typedef struct tsdb_plist {
    uint32_t *refs;
    uint32_t n, cap;
} tsdb_plist;

#define TSDB_HEAD_NAMES 1024 /* buckets of the label name table */

struct tsdb_head {
    int64_t chunk_range;
    uint64_t file_size;
    uint64_t next_ref;
    int64_t mint, maxt, min_valid;
    uint64_t nseries, series_created, series_removed, chunks_cut;
    struct tsdb_stripe *stripes;
    struct tsdb_hseries ***refs; /* pages of series pointers by ref */
    /* interned strings */
    pthread_mutex_t intern_mtx;
    struct istr **itab;
    size_t icap, icount;
    /* postings */
    pthread_rwlock_t post_lock;
    struct pentry **ptab;
    size_t pcap, pcount;
    struct nentry *ntab[TSDB_HEAD_NAMES];
    size_t nnames;
    tsdb_plist all; /* every series */
    /* chunks_head/ */
    char *chunks_dir;
    pthread_mutex_t file_mtx;
    struct hfile *files;
    size_t nfiles, capfiles;
    tsdb_spill *spill; /* the open chunks' spilled bytes; NULL without chunks_dir */
    uint64_t spill_failures;
    uint64_t first_seq;
    uint8_t *buf; /* records not yet written to the last file */
    size_t buflen;
    pthread_rwlock_t gc;
    /* series memory (head.c): 64-byte slots by size, with free lists */
    pthread_mutex_t slab_mtx;
    void *slab_free[64];
    char *slab_cur, *slab_end;
    char **slab_regions;
    size_t slab_nregions;
    pthread_mutex_t stone_mtx;
    tsdb_tombstones stones; /* deletions of head data, by series ref */
    bool any_stones;        /* set (atomically) once there is one: selects skip the lock */
};

/* A series found by tsdb_head_select, with its chunks copied. */
typedef struct tsdb_head_found {
    const core_labels *labels; /* the head's, valid while its read lock is held */
    tsdb_qpart part;
} tsdb_head_found;

/* Removes a directory and everything in it (block_writer.c). */
void tsdb_remove_tree(const char *path);
int tsdb_fsync_dir(const char *path, core_err *err);
/* Opens the blocks of a data directory (querier.c); with skip_bad, a block
 * that fails to open is logged and left out instead of failing the call. */
int tsdb_blocks_open(const char *dir, bool skip_bad, tsdb_block **out, size_t *n, core_err *err);

/* The database (db.c; admin.c works on it too). */
struct tsdb_db {
    char *dir;
    tsdb_db_opts opts;
    int lockfd;
    tsdb_head *head;
    pthread_mutex_t wal_mtx;
    tsdb_wal_writer wal;
    bool wal_open;
    pthread_rwlock_t blocks_lock;
    tsdb_block *blocks; /* sorted by mint */
    size_t nblocks;
    pthread_mutex_t compact_mtx;
    core_sb wal_rec; /* record scratch, under wal_mtx */
    pthread_mutex_t spare_mtx;
    struct tsdb_appender *spare[4]; /* finished appenders kept for their arrays */
    size_t nspare;
    int64_t ranges[TSDB_COMPACT_MAX_RANGES]; /* compaction levels (compact.c) */
    size_t nranges;
    uint64_t samples_appended, out_of_order, duplicates, out_of_bounds;
    uint64_t wal_corruptions, wal_replayed_records, compactions, retention_deleted;
    uint64_t compactions_failed;
};

/* Re-encodes a chunk keeping only samples in [mint, maxt] not deleted by st
 * (may be NULL), in the arena; NULL if none is left (db.c). */
const uint8_t *tsdb_trim_chunk(const uint8_t *data, uint32_t len, int64_t mint, int64_t maxt,
                               const tsdb_stone *st, core_arena *arena, tsdb_chunk_meta *meta,
                               uint32_t *outlen);
/* One chunk of a series to merge with others (compact.c): its bytes, and
 * its place among the inputs (the lowest wins a timestamp they share). */
typedef struct tsdb_piece {
    tsdb_chunk_meta meta;
    const uint8_t *data;
    uint32_t len;
    size_t order;
} tsdb_piece;

/* Chunks in an arena: metas, bytes and lengths side by side. */
typedef struct tsdb_chunkvec {
    tsdb_chunk_meta *metas;
    const uint8_t **bytes;
    uint32_t *lens;
    size_t n, cap;
} tsdb_chunkvec;

void tsdb_chunkvec_push(tsdb_chunkvec *o, core_arena *a, tsdb_chunk_meta m, const uint8_t *p,
                        uint32_t len);
/* Sorts p by time and appends the chunks to o: as they are where they do not
 * overlap, decoded, merged by time and cut into chunks of at most 120
 * samples where they do. */
int tsdb_pieces_merge(tsdb_piece *p, size_t n, core_arena *a, tsdb_chunkvec *o, core_err *err);

/* Adds a freshly written block directory to the db's list (db.c). */
int tsdb_db_add_block(tsdb_db *db, const tsdb_ulid *ulid, core_err *err);
/* Puts the block `added` just wrote (none if it is all zero) in the place of
 * the blocks named in old[], in one step for queriers, and deletes the old
 * directories (each renamed first, so a crash cannot leave half of one); a
 * crash before that leaves them as parents of `added`, which open deletes
 * (db.c). */
int tsdb_db_replace_blocks(tsdb_db *db, const tsdb_ulid *added, const tsdb_ulid *old, size_t nold,
                           core_err *err);
/* a/b, malloc'd (db.c). */
char *tsdb_path_join(const char *a, const char *b);

/* Ends a querier made by tsdb_db_querier (db.c). */
void tsdb_db_querier_release(tsdb_db *db);

/* Head deletions: an interval for series ref; a copy of a series' intervals
 * in the arena (NULL if none); the refs matching every matcher. */
void tsdb_head_add_stone(tsdb_head *h, uint64_t ref, int64_t mint, int64_t maxt);
const tsdb_stone *tsdb_head_stone_copy(tsdb_head *h, uint64_t ref, core_arena *arena);
uint64_t tsdb_head_stones_total(tsdb_head *h);
void tsdb_head_refs_matching(tsdb_head *h, const tsdb_matcher *m, size_t nm, tsdb_refset *out);
/* The refs of a block's series matching every matcher (querier.c). */
int tsdb_block_refs(const tsdb_block *b, const tsdb_matcher *m, size_t nm, tsdb_refset *out,
                    core_err *err);

/* Starts loading the series with this ref into the cache, if there is one
 * (appenders guess the next ref a scrape will add). */
void tsdb_head_prefetch(tsdb_head *h, uint64_t ref);

int tsdb_head_select(tsdb_head *h, const tsdb_matcher *m, size_t nm, int64_t mint, int64_t maxt,
                     core_arena *arena, tsdb_head_found **out, size_t *nout, core_err *err);

#endif
