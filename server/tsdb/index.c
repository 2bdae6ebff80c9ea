/*
 * index.c - reads a block's index file, format version 2 (upstream
 * tsdb/index/index.go Reader, format in docs/format/index.md).
 *
 * The file is mapped read-only and every read is bounds-checked through a
 * small cursor (`cur`) that turns any overrun into a sticky failure, so a
 * truncated or damaged file gives an error naming the section and offset,
 * never a read outside the mapping.
 *
 * Opening checks the header and the TOC, then reads and CRC-checks the
 * symbol table (keeping each symbol's offset, so a lookup is O(1) where
 * upstream samples every 32nd and walks), the label offset table and each
 * label index it names (checked only: label values come from the postings
 * offset table, as in upstream's v2 reader), and the postings offset table,
 * which is kept whole, checked to be sorted, and grouped by label name for
 * binary search.  Series entries and postings lists are CRC-checked when
 * read, as upstream does, so opening costs no walk over the series.
 */
#include "tsdb/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Bounds-checked decoding (upstream encoding.Decbuf) */

typedef struct cur {
    const uint8_t *p;
    size_t len;
    size_t off;
    bool bad;
} cur;

static bool cur_need(cur *c, size_t n)
{
    if (c->bad || c->len - c->off < n) c->bad = true;
    return !c->bad;
}

static uint32_t cur_be32(cur *c)
{
    if (!cur_need(c, 4)) return 0;
    c->off += 4;
    return tsdb_get_be32(c->p + c->off - 4);
}

static uint64_t cur_uvarint(cur *c)
{
    if (!c->bad && c->off < c->len && c->p[c->off] < 0x80) return c->p[c->off++];
    uint64_t v = 0;
    int n = c->bad ? 0 : tsdb_uvarint(c->p + c->off, c->len - c->off, &v);
    if (n <= 0) {
        c->bad = true;
        return 0;
    }
    c->off += (size_t)n;
    return v;
}

static int64_t cur_varint(cur *c)
{
    uint64_t u = cur_uvarint(c);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static tsdb_str cur_str(cur *c)
{
    uint64_t n = cur_uvarint(c);
    if (n > SIZE_MAX || !cur_need(c, (size_t)n)) return (tsdb_str){.p = "", .len = 0};
    c->off += (size_t)n;
    return (tsdb_str){.p = (const char *)c->p + c->off - n, .len = (size_t)n};
}

static bool cur_done(const cur *c)
{
    return !c->bad && c->off == c->len;
}

/* The contents of a section at `off` that starts with a 4-byte length and
 * ends with the CRC32C of the contents. */
static int section_at(const tsdb_index_reader *r, uint64_t off, const char *what, cur *out,
                      core_err *err)
{
    if (off > r->len || r->len - off < 8)
        return core_err_set(err, "%s at offset %llu: beyond the end of the %zu-byte file", what,
                            (unsigned long long)off, r->len);
    uint32_t n = tsdb_get_be32(r->p + off);
    if (r->len - off - 8 < n)
        return core_err_set(err, "%s at offset %llu: length %u passes the end of the file", what,
                            (unsigned long long)off, n);
    const uint8_t *body = r->p + off + 4;
    uint32_t want = tsdb_get_be32(body + n), got = tsdb_crc32c(0, body, n);
    if (want != got)
        return core_err_set(err, "%s at offset %llu: checksum mismatch: expected %08x, actual %08x",
                            what, (unsigned long long)off, want, got);
    *out = (cur){.p = body, .len = n, .off = 0, .bad = false};
    return 0;
}

static int malformed(core_err *err, const char *what, uint64_t off, const char *why)
{
    return core_err_set(err, "%s at offset %llu: %s", what, (unsigned long long)off, why);
}

/* ---- Opening */

static int read_header(tsdb_index_reader *r, core_err *err)
{
    if (r->len < TSDB_INDEX_HEADER_SIZE + TSDB_INDEX_TOC_SIZE)
        return core_err_set(err, "index header: file of %zu bytes is too short", r->len);
    uint32_t magic = tsdb_get_be32(r->p);
    if (magic != TSDB_INDEX_MAGIC)
        return core_err_set(err, "index header at offset 0: invalid magic number %08x", magic);
    if (r->p[4] != TSDB_INDEX_VERSION)
        return core_err_set(err, "index header at offset 4: unsupported version %u", r->p[4]);
    return 0;
}

static int read_toc(tsdb_index_reader *r, core_err *err)
{
    size_t at = r->len - TSDB_INDEX_TOC_SIZE;
    const uint8_t *b = r->p + at;
    uint32_t want = tsdb_get_be32(b + 48), got = tsdb_crc32c(0, b, 48);
    if (want != got)
        return core_err_set(err, "TOC at offset %zu: checksum mismatch: expected %08x, actual %08x",
                            at, want, got);
    uint64_t *f[] = {&r->toc.symbols,       &r->toc.series,   &r->toc.label_indices,
                     &r->toc.label_offsets, &r->toc.postings, &r->toc.postings_offsets};
    for (size_t i = 0; i < 6; i++) {
        *f[i] = tsdb_get_be64(b + 8 * i);
        if (*f[i] > at || (*f[i] && *f[i] < TSDB_INDEX_HEADER_SIZE))
            return core_err_set(err, "TOC at offset %zu: section offset %llu out of range", at,
                                (unsigned long long)*f[i]);
    }
    r->series_end = at;
    for (size_t i = 0; i < 6; i++)
        if (*f[i] > r->toc.series && *f[i] < r->series_end) r->series_end = (size_t)*f[i];
    return 0;
}

static int read_symbols(tsdb_index_reader *r, core_err *err)
{
    cur c;
    const char *what = "symbol table";
    if (section_at(r, r->toc.symbols, what, &c, err) < 0) return -1;
    uint32_t n = cur_be32(&c);
    if (c.bad || n > c.len) return malformed(err, what, r->toc.symbols, "bad symbol count");
    r->sym_off = core_mallocarray(n ? n : 1, sizeof(*r->sym_off));
    tsdb_str prev = {.p = "", .len = 0};
    for (uint32_t i = 0; i < n; i++) {
        r->sym_off[i] = c.off;
        tsdb_str s = cur_str(&c);
        if (c.bad) return malformed(err, what, r->toc.symbols + 4 + r->sym_off[i], "symbol cut");
        if (i && tsdb_str_cmp(prev, s) >= 0)
            return malformed(err, what, r->toc.symbols + 4 + r->sym_off[i], "symbols not sorted");
        prev = s;
    }
    if (!cur_done(&c)) return malformed(err, what, r->toc.symbols, "bytes after the last symbol");
    r->nsym = n;
    return 0;
}

/* Checks one label index: a name count of 1, then sorted value refs. */
static int check_label_index(const tsdb_index_reader *r, uint64_t off, core_err *err)
{
    cur c;
    const char *what = "label index";
    if (section_at(r, off, what, &c, err) < 0) return -1;
    uint32_t names = cur_be32(&c), n = cur_be32(&c);
    if (c.bad || names != 1 || (c.len - c.off) / 4 != n || (c.len - c.off) % 4)
        return malformed(err, what, off, "bad name or entry count");
    for (uint32_t i = 0; i < n; i++)
        if (cur_be32(&c) >= r->nsym) return malformed(err, what, off, "symbol ref out of range");
    return 0;
}

static int read_label_offsets(tsdb_index_reader *r, core_err *err)
{
    cur c;
    const char *what = "label offset table";
    if (!r->toc.label_offsets) return 0;
    if (section_at(r, r->toc.label_offsets, what, &c, err) < 0) return -1;
    uint32_t n = cur_be32(&c);
    for (uint32_t i = 0; i < n && !c.bad; i++) {
        if (cur_uvarint(&c) != 1 && !c.bad)
            return malformed(err, what, r->toc.label_offsets, "entry with other than one name");
        cur_str(&c);
        uint64_t off = cur_uvarint(&c);
        if (!c.bad && check_label_index(r, off, err) < 0) return -1;
    }
    if (!cur_done(&c)) return malformed(err, what, r->toc.label_offsets, "entries cut");
    return 0;
}

static int entry_cmp(const tsdb_index_entry *a, const tsdb_index_entry *b)
{
    int k = tsdb_str_cmp(a->name, b->name);
    return k ? k : tsdb_str_cmp(a->value, b->value);
}

/* Appends a label name run for entry i if it starts one. */
static void group_name(tsdb_index_reader *r, size_t i)
{
    const tsdb_index_entry *e = &r->entries[i];
    if (!e->name.len) return;
    if (r->nnames && tsdb_str_cmp(r->names[r->nnames - 1].name, e->name) == 0) {
        r->names[r->nnames - 1].n++;
        return;
    }
    r->names[r->nnames++] = (tsdb_index_name){.name = e->name, .first = i, .n = 1};
}

static int read_postings_offsets(tsdb_index_reader *r, core_err *err)
{
    cur c;
    const char *what = "postings offset table";
    uint64_t at = r->toc.postings_offsets;
    if (section_at(r, at, what, &c, err) < 0) return -1;
    uint32_t n = cur_be32(&c);
    if (c.bad || n > c.len / 4) return malformed(err, what, at, "bad entry count");
    r->entries = core_mallocarray(n ? n : 1, sizeof(*r->entries));
    r->names = core_mallocarray(n ? n : 1, sizeof(*r->names));
    for (uint32_t i = 0; i < n; i++) {
        size_t start = c.off;
        if (cur_uvarint(&c) != 2 && !c.bad)
            return malformed(err, what, at + 4 + start, "entry with other than two keys");
        tsdb_index_entry *e = &r->entries[i];
        e->name = cur_str(&c);
        e->value = cur_str(&c);
        e->off = cur_uvarint(&c);
        if (c.bad) return malformed(err, what, at + 4 + start, "entry cut");
        if (i && entry_cmp(&r->entries[i - 1], e) >= 0)
            return malformed(err, what, at + 4 + start, "entries not sorted");
        r->nentries++;
        group_name(r, i);
    }
    if (!cur_done(&c)) return malformed(err, what, at, "bytes after the last entry");
    return 0;
}

int tsdb_index_reader_open_mem(tsdb_index_reader *r, const uint8_t *p, size_t len, core_err *err)
{
    memset(r, 0, sizeof(*r));
    r->p = p;
    r->len = len;
    if (read_header(r, err) < 0 || read_toc(r, err) < 0 || read_symbols(r, err) < 0 ||
        read_label_offsets(r, err) < 0 || read_postings_offsets(r, err) < 0) {
        tsdb_index_reader_close(r);
        return -1;
    }
    return 0;
}

int tsdb_index_reader_open(tsdb_index_reader *r, const char *path, core_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return core_err_set(err, "open %s: %s", path, strerror(errno));
    struct stat st = {0};
    void *p = MAP_FAILED;
    if (fstat(fd, &st) == 0 && st.st_size > 0)
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED && st.st_size > 0)
        return core_err_set(err, "map %s: %s", path, strerror(e));
    if (p == MAP_FAILED) return core_err_set(err, "%s: empty index file", path);
    if (tsdb_index_reader_open_mem(r, p, (size_t)st.st_size, err) < 0) {
        munmap(p, (size_t)st.st_size);
        return core_err_prefix(err, "%s", path);
    }
    r->mapped = true;
    return 0;
}

void tsdb_index_reader_close(tsdb_index_reader *r)
{
    if (r->mapped) munmap((void *)r->p, r->len);
    free(r->sym_off);
    free(r->entries);
    free(r->names);
    memset(r, 0, sizeof(*r));
}

/* ---- Lookups */

int tsdb_index_symbol(const tsdb_index_reader *r, uint32_t ref, tsdb_str *out, core_err *err)
{
    if (ref >= r->nsym)
        return core_err_set(err, "symbol ref %u out of range (%u symbols)", ref, r->nsym);
    const uint8_t *body = r->p + r->toc.symbols + 4;
    cur c = {.p = body, .len = tsdb_get_be32(body - 4), .off = r->sym_off[ref], .bad = false};
    *out = cur_str(&c);
    return 0;
}

const tsdb_index_name *tsdb_index_label_names(const tsdb_index_reader *r, size_t *n)
{
    *n = r->nnames;
    return r->names;
}

const tsdb_index_entry *tsdb_index_label_values(const tsdb_index_reader *r, tsdb_str name,
                                                size_t *n)
{
    size_t lo = 0, hi = r->nnames;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = tsdb_str_cmp(r->names[mid].name, name);
        if (c == 0) {
            *n = r->names[mid].n;
            return r->entries + r->names[mid].first;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *n = 0;
    return NULL;
}

int tsdb_index_postings_at(const tsdb_index_reader *r, uint64_t off, tsdb_postings *out,
                           core_err *err)
{
    cur c;
    const char *what = "postings list";
    if (off < r->toc.postings || section_at(r, off, what, &c, err) < 0)
        return off < r->toc.postings ? malformed(err, what, off, "before the postings section")
                                     : -1;
    uint32_t n = cur_be32(&c);
    if (c.bad || (c.len - c.off) / 4 != n || (c.len - c.off) % 4)
        return malformed(err, what, off, "length does not match the entry count");
    *out = (tsdb_postings){.refs = c.p + c.off, .n = n};
    return 0;
}

int tsdb_index_postings(const tsdb_index_reader *r, tsdb_str name, tsdb_str value,
                        tsdb_postings *out, core_err *err)
{
    const tsdb_index_entry *e = r->entries;
    size_t n = r->nentries;
    if (name.len) e = tsdb_index_label_values(r, name, &n);
    tsdb_index_entry key = {.name = name, .value = value, .off = 0};
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = entry_cmp(&e[mid], &key);
        if (c == 0) return tsdb_index_postings_at(r, e[mid].off, out, err);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *out = (tsdb_postings){.refs = NULL, .n = 0};
    return 0;
}

/* ---- Series */

void tsdb_index_series_destroy(tsdb_index_series *s)
{
    free(s->labels);
    free(s->chunks);
    memset(s, 0, sizeof(*s));
}

/* The entry of series `ref`: a uvarint length, the contents, their CRC. */
static int series_entry(const tsdb_index_reader *r, uint64_t ref, cur *out, core_err *err)
{
    const char *what = "series";
    uint64_t off = ref * TSDB_INDEX_SERIES_ALIGN;
    if (ref > UINT64_MAX / TSDB_INDEX_SERIES_ALIGN || off < r->toc.series || off >= r->series_end)
        return core_err_set(err, "series ref %llu outside the series section",
                            (unsigned long long)ref);
    cur c = {.p = r->p, .len = r->series_end, .off = (size_t)off, .bad = false};
    uint64_t n = cur_uvarint(&c);
    if (c.bad || n > c.len - c.off || c.len - c.off - n < 4)
        return malformed(err, what, off, "entry passes the end of the series section");
    const uint8_t *body = c.p + c.off;
    uint32_t want = tsdb_get_be32(body + n), got = tsdb_crc32c(0, body, (size_t)n);
    if (want != got)
        return core_err_set(err,
                            "series at offset %llu: checksum mismatch: expected %08x, "
                            "actual %08x",
                            (unsigned long long)off, want, got);
    *out = (cur){.p = body, .len = (size_t)n, .off = 0, .bad = false};
    return 0;
}

static int read_labels(const tsdb_index_reader *r, cur *c, tsdb_index_series *s, core_err *err)
{
    uint64_t n = cur_uvarint(c);
    if (c->bad || n > c->len) return core_err_set(err, "bad label count");
    if (n > s->cap_labels) {
        s->labels = core_reallocarray(s->labels, (size_t)n, sizeof(*s->labels));
        s->cap_labels = (size_t)n;
    }
    for (s->nlabels = 0; s->nlabels < n; s->nlabels++) {
        tsdb_index_label *l = &s->labels[s->nlabels];
        uint64_t name = cur_uvarint(c), value = cur_uvarint(c);
        if (c->bad) return core_err_set(err, "labels cut");
        if (name > UINT32_MAX || value > UINT32_MAX ||
            tsdb_index_symbol(r, (uint32_t)name, &l->name, err) < 0 ||
            tsdb_index_symbol(r, (uint32_t)value, &l->value, err) < 0)
            return core_err_set(err, "label symbol ref out of range");
    }
    return 0;
}

static int read_chunks(cur *c, tsdb_index_series *s, core_err *err)
{
    uint64_t n = cur_uvarint(c);
    if (c->bad || n > c->len) return core_err_set(err, "bad chunk count");
    if (n > s->cap_chunks) {
        s->chunks = core_reallocarray(s->chunks, (size_t)n, sizeof(*s->chunks));
        s->cap_chunks = (size_t)n;
    }
    uint64_t t0 = 0, ref = 0;
    for (s->nchunks = 0; s->nchunks < n; s->nchunks++) {
        tsdb_chunk_meta *m = &s->chunks[s->nchunks];
        uint64_t mint = s->nchunks ? t0 + cur_uvarint(c) : (uint64_t)cur_varint(c);
        uint64_t maxt = mint + cur_uvarint(c);
        ref = s->nchunks ? ref + (uint64_t)cur_varint(c) : cur_uvarint(c);
        if (c->bad) return core_err_set(err, "chunk metas cut");
        *m = (tsdb_chunk_meta){.ref = ref, .mint = (int64_t)mint, .maxt = (int64_t)maxt};
        t0 = maxt;
    }
    if (!cur_done(c)) return core_err_set(err, "bytes after the chunk metas");
    return 0;
}

int tsdb_index_series_read(const tsdb_index_reader *r, uint64_t ref, tsdb_index_series *out,
                           core_err *err)
{
    cur c;
    if (series_entry(r, ref, &c, err) < 0) return -1;
    if (read_labels(r, &c, out, err) < 0 || read_chunks(&c, out, err) < 0)
        return core_err_prefix(err, "series at offset %llu",
                               (unsigned long long)(ref * TSDB_INDEX_SERIES_ALIGN));
    return 0;
}
