/*
 * index_writer.c - writes a block's index file, format version 2, the same
 * bytes as upstream's tsdb/index Writer for the same symbols and series.
 *
 * Stages as upstream: symbols, then series, then everything else on close.
 * The symbol table is kept in memory as written (so a string's ref is found
 * by binary search over it) and goes out when the first series comes, since
 * its length and count lead it.  Each series is padded to 16 bytes, its ref
 * being its offset / 16.  For the postings the writer records one (name ref,
 * value ref, series ref) triple per label; sorting them on close gives, in
 * order, every label index (the distinct values of each name) and every
 * postings list, since symbols are sorted and so are their refs.  Label
 * indices and postings lists are 4-byte aligned, the all-series list (key
 * "", "") first, as upstream lays them out.
 */
#include "tsdb/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

enum { STAGE_SYMBOLS, STAGE_SERIES, STAGE_DONE };

#define NO_SYMBOL UINT32_MAX /* the empty name and value of the all-series key */

typedef struct offset_entry {
    uint32_t name, value; /* symbol refs; value unused in the label offset table */
    uint64_t off;
} offset_entry;

/* ---- Output */

static int put(tsdb_index_writer *w, const void *p, size_t n, core_err *err)
{
    if (tsdb_segfile_write(w->file, p, n, err) < 0) return core_err_prefix(err, "index");
    w->pos += n;
    return 0;
}

static int pad(tsdb_index_writer *w, unsigned align, core_err *err)
{
    static const uint8_t zeros[TSDB_INDEX_SERIES_ALIGN];
    return put(w, zeros, (align - w->pos % align) % align, err);
}

/* Writes a section: its 4-byte length, the body and the body's CRC32C. */
static int put_section(tsdb_index_writer *w, const core_sb *body, core_err *err)
{
    uint8_t b[4];
    if (body->len > UINT32_MAX) return core_err_set(err, "index section of %zu bytes", body->len);
    tsdb_put_be32(b, (uint32_t)body->len);
    if (put(w, b, 4, err) < 0 || put(w, body->buf, body->len, err) < 0) return -1;
    tsdb_put_be32(b, tsdb_crc32c(0, body->buf, body->len));
    return put(w, b, 4, err);
}

static void sb_be32(core_sb *sb, uint32_t v)
{
    uint8_t b[4];
    tsdb_put_be32(b, v);
    core_sb_add(sb, b, 4);
}

static void sb_uvarint(core_sb *sb, uint64_t v)
{
    uint8_t b[TSDB_MAX_VARINT_LEN];
    core_sb_add(sb, b, tsdb_put_uvarint(b, v));
}

static void sb_varint(core_sb *sb, int64_t v)
{
    uint8_t b[TSDB_MAX_VARINT_LEN];
    core_sb_add(sb, b, tsdb_put_varint(b, v));
}

static void sb_str(core_sb *sb, tsdb_str s)
{
    sb_uvarint(sb, s.len);
    core_sb_add(sb, s.p, s.len);
}

/* ---- Symbols */

static tsdb_str symbol(const tsdb_index_writer *w, uint32_t ref)
{
    if (ref == NO_SYMBOL) return (tsdb_str){.p = "", .len = 0};
    const uint8_t *p = (const uint8_t *)w->symtab.buf + w->sym_off[ref];
    uint64_t n = 0;
    int k = tsdb_uvarint(p, w->symtab.len - w->sym_off[ref], &n);
    return (tsdb_str){.p = (const char *)p + k, .len = (size_t)n};
}

static int lookup(const tsdb_index_writer *w, tsdb_str s, uint32_t *ref, core_err *err)
{
    uint32_t lo = 0, hi = w->nsym;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = tsdb_str_cmp(symbol(w, mid), s);
        if (c == 0) {
            *ref = mid;
            return 0;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return core_err_set(err, "index: symbol \"%.*s\" not added", (int)s.len, s.p);
}

int tsdb_index_writer_add_symbol(tsdb_index_writer *w, tsdb_str sym, core_err *err)
{
    if (w->stage != STAGE_SYMBOLS) return core_err_set(err, "index: symbol added after series");
    if (w->nsym && tsdb_str_cmp(symbol(w, w->nsym - 1), sym) >= 0)
        return core_err_set(err, "index: symbol \"%.*s\" out of order", (int)sym.len, sym.p);
    if (w->nsym == UINT32_MAX - 1) return core_err_set(err, "index: too many symbols");
    if (w->nsym == w->cap_sym) {
        w->cap_sym = w->cap_sym ? 2 * w->cap_sym : 256;
        w->sym_off = core_reallocarray(w->sym_off, w->cap_sym, sizeof(*w->sym_off));
    }
    w->sym_off[w->nsym++] = w->symtab.len;
    sb_str(&w->symtab, sym);
    return 0;
}

static int finish_symbols(tsdb_index_writer *w, core_err *err)
{
    core_sb body = CORE_SB_INIT;
    sb_be32(&body, w->nsym);
    core_sb_add(&body, w->symtab.buf, w->symtab.len);
    int rc = put_section(w, &body, err);
    core_sb_destroy(&body);
    w->toc.series = w->pos;
    w->stage = STAGE_SERIES;
    return rc;
}

/* ---- Series */

/* Resolves the labels into refs (appended to pairs with series ref `ref`),
 * checking that names ascend. */
static int add_pairs(tsdb_index_writer *w, const tsdb_index_label *l, size_t n, uint32_t ref,
                     core_err *err)
{
    if (w->npairs + n > w->cap_pairs) {
        w->cap_pairs = w->npairs + n > 2 * w->cap_pairs ? w->npairs + n : 2 * w->cap_pairs;
        w->pairs = core_reallocarray(w->pairs, w->cap_pairs, sizeof(*w->pairs));
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t *p = w->pairs[w->npairs + i];
        if (lookup(w, l[i].name, &p[0], err) < 0 || lookup(w, l[i].value, &p[1], err) < 0)
            return -1;
        if (i && p[0] <= p[-3])
            return core_err_set(err, "index: labels of a series not sorted by name");
        p[2] = ref;
    }
    return 0;
}

/* Compares the labels just resolved (from `first`) with the last series'. */
static int cmp_last(const tsdb_index_writer *w, size_t first, size_t n)
{
    size_t m = first - w->last_first;
    for (size_t i = 0; i < n && i < m; i++) {
        const uint32_t *a = w->pairs[first + i], *b = w->pairs[w->last_first + i];
        if (a[0] != b[0]) return a[0] < b[0] ? -1 : 1;
        if (a[1] != b[1]) return a[1] < b[1] ? -1 : 1;
    }
    return n < m ? -1 : n > m;
}

static void encode_series(const tsdb_index_writer *w, size_t n, const tsdb_chunk_meta *c, size_t nc,
                          core_sb *body)
{
    sb_uvarint(body, n);
    for (size_t i = 0; i < n; i++) {
        sb_uvarint(body, w->pairs[w->npairs + i][0]);
        sb_uvarint(body, w->pairs[w->npairs + i][1]);
    }
    sb_uvarint(body, nc);
    for (size_t i = 0; i < nc; i++) {
        if (i == 0)
            sb_varint(body, c[0].mint);
        else
            sb_uvarint(body, (uint64_t)c[i].mint - (uint64_t)c[i - 1].maxt);
        sb_uvarint(body, (uint64_t)c[i].maxt - (uint64_t)c[i].mint);
        if (i == 0)
            sb_uvarint(body, c[0].ref);
        else
            sb_varint(body, (int64_t)(c[i].ref - c[i - 1].ref));
    }
}

static int put_series(tsdb_index_writer *w, const core_sb *body, core_err *err)
{
    uint8_t b[TSDB_MAX_VARINT_LEN];
    if (put(w, b, tsdb_put_uvarint(b, body->len), err) < 0 || put(w, body->buf, body->len, err) < 0)
        return -1;
    tsdb_put_be32(b, tsdb_crc32c(0, body->buf, body->len));
    return put(w, b, 4, err);
}

int tsdb_index_writer_add_series(tsdb_index_writer *w, const tsdb_index_label *labels, size_t n,
                                 const tsdb_chunk_meta *chunks, size_t nchunks, uint64_t *ref,
                                 core_err *err)
{
    if (w->stage == STAGE_SYMBOLS && finish_symbols(w, err) < 0) return -1;
    if (w->stage != STAGE_SERIES) return core_err_set(err, "index: series added after close");
    if (pad(w, TSDB_INDEX_SERIES_ALIGN, err) < 0) return -1;
    uint64_t id = w->pos / TSDB_INDEX_SERIES_ALIGN;
    if (id >= NO_SYMBOL) return core_err_set(err, "index: series offset exceeds 16 * 2^32");
    if (add_pairs(w, labels, n, (uint32_t)id, err) < 0) return -1;
    if (w->nseries && cmp_last(w, w->npairs, n) <= 0)
        return core_err_set(err, "index: out-of-order series added");
    core_sb body = CORE_SB_INIT;
    encode_series(w, n, chunks, nchunks, &body);
    int rc = put_series(w, &body, err);
    core_sb_destroy(&body);
    if (rc < 0) return -1;
    w->last_first = w->npairs;
    w->npairs += n;
    if (w->nseries == w->cap_series) {
        w->cap_series = w->cap_series ? 2 * w->cap_series : 256;
        w->series = core_reallocarray(w->series, w->cap_series, sizeof(*w->series));
    }
    w->series[w->nseries++] = (uint32_t)id;
    if (ref) *ref = id;
    return 0;
}

/* ---- Closing: label indices, postings, offset tables, TOC */

static int cmp_pair(const void *a, const void *b)
{
    const uint32_t *x = a, *y = b;
    for (int i = 0; i < 3; i++)
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
}

/* Writes name `pairs[i].name`'s label index; *i moves past the name's pairs. */
static int put_label_index(tsdb_index_writer *w, size_t *i, offset_entry *e, core_err *err)
{
    core_sb body = CORE_SB_INIT;
    uint32_t name = w->pairs[*i][0], count = 0;
    sb_be32(&body, 1);
    sb_be32(&body, 0);
    for (; *i < w->npairs && w->pairs[*i][0] == name; (*i)++) {
        if (count && w->pairs[*i][1] == w->pairs[*i - 1][1]) continue;
        sb_be32(&body, w->pairs[*i][1]);
        count++;
    }
    tsdb_put_be32((uint8_t *)body.buf + 4, count);
    int rc = pad(w, 4, err);
    *e = (offset_entry){.name = name, .value = NO_SYMBOL, .off = w->pos};
    if (rc == 0) rc = put_section(w, &body, err);
    core_sb_destroy(&body);
    return rc;
}

/* Writes one postings list of n series refs, each `stride` u32s apart. */
static int put_postings(tsdb_index_writer *w, const uint32_t *refs, size_t n, size_t stride,
                        offset_entry *e, core_err *err)
{
    core_sb body = CORE_SB_INIT;
    sb_be32(&body, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        sb_be32(&body, refs[i * stride]);
    int rc = pad(w, 4, err);
    e->off = w->pos;
    if (rc == 0) rc = put_section(w, &body, err);
    core_sb_destroy(&body);
    return rc;
}

/* The label indices and postings; *labels and *postings get the table
 * entries (malloc'd). */
static int put_lists(tsdb_index_writer *w, offset_entry *labels, size_t *nl, offset_entry *postings,
                     size_t *np, core_err *err)
{
    w->toc.label_indices = w->pos;
    for (size_t i = 0; i < w->npairs;)
        if (put_label_index(w, &i, &labels[(*nl)++], err) < 0) return -1;
    w->toc.postings = w->pos;
    postings[0] = (offset_entry){.name = NO_SYMBOL, .value = NO_SYMBOL, .off = 0};
    if (put_postings(w, w->series, w->nseries, 1, &postings[(*np)++], err) < 0) return -1;
    for (size_t i = 0, j; i < w->npairs; i = j) {
        for (j = i; j < w->npairs && !memcmp(w->pairs[j], w->pairs[i], 8); j++)
            ;
        offset_entry *e = &postings[(*np)++];
        *e = (offset_entry){.name = w->pairs[i][0], .value = w->pairs[i][1], .off = 0};
        if (put_postings(w, &w->pairs[i][2], j - i, 3, e, err) < 0) return -1;
    }
    return 0;
}

/* An offset table: entry count, then per entry its key count, keys, offset. */
static int put_table(tsdb_index_writer *w, const offset_entry *e, size_t n, unsigned keys,
                     core_err *err)
{
    core_sb body = CORE_SB_INIT;
    sb_be32(&body, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        sb_uvarint(&body, keys);
        sb_str(&body, symbol(w, e[i].name));
        if (keys == 2) sb_str(&body, symbol(w, e[i].value));
        sb_uvarint(&body, e[i].off);
    }
    int rc = put_section(w, &body, err);
    core_sb_destroy(&body);
    return rc;
}

static int put_toc(tsdb_index_writer *w, core_err *err)
{
    uint8_t b[TSDB_INDEX_TOC_SIZE];
    const uint64_t f[] = {w->toc.symbols,       w->toc.series,   w->toc.label_indices,
                          w->toc.label_offsets, w->toc.postings, w->toc.postings_offsets};
    for (size_t i = 0; i < 6; i++)
        tsdb_put_be64(b + 8 * i, f[i]);
    tsdb_put_be32(b + 48, tsdb_crc32c(0, b, 48));
    return put(w, b, sizeof(b), err);
}

static int finish(tsdb_index_writer *w, core_err *err)
{
    if (w->stage == STAGE_SYMBOLS && finish_symbols(w, err) < 0) return -1;
    w->stage = STAGE_DONE;
    if (w->npairs) qsort(w->pairs, w->npairs, sizeof(*w->pairs), cmp_pair);
    offset_entry *labels = core_mallocarray(w->npairs + 1, sizeof(*labels));
    offset_entry *postings = core_mallocarray(w->npairs + 1, sizeof(*postings));
    size_t nl = 0, np = 0;
    int rc = put_lists(w, labels, &nl, postings, &np, err);
    w->toc.label_offsets = w->pos;
    if (rc == 0) rc = put_table(w, labels, nl, 1, err);
    w->toc.postings_offsets = w->pos;
    if (rc == 0) rc = put_table(w, postings, np, 2, err);
    if (rc == 0) rc = put_toc(w, err);
    free(labels);
    free(postings);
    return rc;
}

/* ---- Open and close */

int tsdb_index_writer_open(tsdb_index_writer *w, const char *path, core_err *err)
{
    memset(w, 0, sizeof(*w));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    w->file = fd < 0 ? NULL : fdopen(fd, "wb");
    if (!w->file) {
        core_err_set(err, "create %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    uint8_t header[TSDB_INDEX_HEADER_SIZE];
    tsdb_put_be32(header, TSDB_INDEX_MAGIC);
    header[4] = TSDB_INDEX_VERSION;
    w->toc.symbols = TSDB_INDEX_HEADER_SIZE;
    if (put(w, header, sizeof(header), err) < 0) {
        fclose(w->file);
        w->file = NULL;
        return -1;
    }
    return 0;
}

int tsdb_index_writer_close(tsdb_index_writer *w, core_err *err)
{
    int rc = w->file ? finish(w, err) : core_err_set(err, "index: writer not open");
    int done = w->file ? tsdb_segfile_finish(w->file, rc < 0 ? NULL : err) : -1;
    core_sb_destroy(&w->symtab);
    free(w->sym_off);
    free(w->pairs);
    free(w->series);
    memset(w, 0, sizeof(*w));
    return rc < 0 ? rc : done;
}
