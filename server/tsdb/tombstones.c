/*
 * tombstones.c - a block's tombstones file (upstream tsdb/tombstones/
 * tombstones.go, docs/format/tombstones.md).
 *
 *   magic 0x0130BA30 (4, BE) | version 1 (1) | per interval: ref (uvarint),
 *   mint (varint), maxt (varint) | CRC32C (4, BE)
 *
 * The CRC covers the interval entries only: upstream hashes the encoded
 * content without its leading version byte ("for compatibility") and checks
 * it the same way.  Reading follows ReadTombstones: shorter than 5 bytes is
 * an error, then magic, then CRC, then version, then entries until the CRC,
 * a truncated or overflowing varint being an error.  Each entry goes through
 * the same merge as upstream's Intervals.Add (sorted, overlapping or adjacent
 * intervals of a series joined, the int64 edges guarded against overflow as
 * newer upstream versions do).
 *
 * In memory the series are an array sorted by ref (binary search; insertion
 * moves the tail), so writing gives the entries in ref order.  Upstream
 * writes them in Go map order, which differs from run to run; readers do not
 * care.  Writing goes through tsdb_replace_file: tombstones.tmp, fsync,
 * rename, as upstream's WriteFile.
 */
#include "tsdb/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_SIZE 5 /* magic + version */
#define CRC_SIZE    4
#define FORMAT_V1   1

void tsdb_tombstones_init(tsdb_tombstones *t)
{
    memset(t, 0, sizeof(*t));
}

void tsdb_tombstones_destroy(tsdb_tombstones *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->s[i].iv);
    free(t->s);
    memset(t, 0, sizeof(*t));
}

/* The index of the first series with ref >= `ref`. */
static size_t lower_bound(const tsdb_tombstones *t, uint64_t ref)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->s[mid].ref < ref)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const tsdb_stone *tsdb_tombstones_get(const tsdb_tombstones *t, uint64_t ref)
{
    size_t i = lower_bound(t, ref);
    return i < t->n && t->s[i].ref == ref ? &t->s[i] : NULL;
}

uint64_t tsdb_tombstones_total(const tsdb_tombstones *t)
{
    uint64_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        n += t->s[i].n;
    return n;
}

static void insert_at(tsdb_stone *s, size_t at, tsdb_interval iv)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 2;
        s->iv = core_reallocarray(s->iv, s->cap, sizeof(*s->iv));
    }
    memmove(s->iv + at + 1, s->iv + at, (s->n - at) * sizeof(*s->iv));
    s->iv[at] = iv;
    s->n++;
}

/* Upstream's Intervals.Add. */
static void intervals_add(tsdb_stone *s, tsdb_interval n)
{
    tsdb_interval *in = s->iv;
    size_t len = s->n, mini = 0, maxi;
    if (len == 0) {
        insert_at(s, 0, n);
        return;
    }
    /* mini: first interval ending at or after n.mint - 1 */
    if (n.mint != INT64_MIN) {
        size_t lo = 0, hi = len;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (in[mid].maxt >= n.mint - 1)
                hi = mid;
            else
                lo = mid + 1;
        }
        mini = lo;
        if (mini == len) {
            insert_at(s, len, n);
            return;
        }
    }
    /* maxi: how many from mini start at or before n.maxt + 1 */
    maxi = len - mini;
    if (n.maxt != INT64_MAX) {
        size_t lo = 0, hi = len - mini;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (in[mini + mid].mint > n.maxt + 1)
                hi = mid;
            else
                lo = mid + 1;
        }
        maxi = lo;
        if (maxi == 0) {
            insert_at(s, mini, n);
            return;
        }
    }
    if (n.mint < in[mini].mint) in[mini].mint = n.mint;
    in[mini].maxt = in[maxi + mini - 1].maxt;
    if (n.maxt > in[mini].maxt) in[mini].maxt = n.maxt;
    memmove(in + mini + 1, in + mini + maxi, (len - mini - maxi) * sizeof(*in));
    s->n = len - maxi + 1;
}

void tsdb_tombstones_add(tsdb_tombstones *t, uint64_t ref, int64_t mint, int64_t maxt)
{
    size_t i = lower_bound(t, ref);
    if (i == t->n || t->s[i].ref != ref) {
        if (t->n == t->cap) {
            t->cap = t->cap ? 2 * t->cap : 8;
            t->s = core_reallocarray(t->s, t->cap, sizeof(*t->s));
        }
        memmove(t->s + i + 1, t->s + i, (t->n - i) * sizeof(*t->s));
        t->s[i] = (tsdb_stone){.ref = ref};
        t->n++;
    }
    intervals_add(&t->s[i], (tsdb_interval){.mint = mint, .maxt = maxt});
}

void tsdb_tombstones_encode(const tsdb_tombstones *t, core_sb *out)
{
    uint8_t b[3 * TSDB_MAX_VARINT_LEN];
    tsdb_put_be32(b, TSDB_TOMBSTONES_MAGIC);
    b[4] = FORMAT_V1;
    core_sb_add(out, b, HEADER_SIZE);
    size_t start = out->len;
    for (size_t i = 0; i < t->n; i++) {
        for (size_t k = 0; k < t->s[i].n; k++) {
            size_t n = tsdb_put_uvarint(b, t->s[i].ref);
            n += tsdb_put_varint(b + n, t->s[i].iv[k].mint);
            n += tsdb_put_varint(b + n, t->s[i].iv[k].maxt);
            core_sb_add(out, b, n);
        }
    }
    uint32_t crc = tsdb_crc32c(0, out->buf + start, out->len - start);
    tsdb_put_be32(b, crc);
    core_sb_add(out, b, CRC_SIZE);
}

/* Go's binary.Varint over a byte range: count read, 0 if short, -1 on overflow. */
static int read_varint(const uint8_t *p, size_t len, int64_t *out)
{
    uint64_t u;
    int n = tsdb_uvarint(p, len, &u);
    if (n > 0) *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return n;
}

int tsdb_tombstones_decode(tsdb_tombstones *t, const uint8_t *p, size_t len, core_err *err)
{
    if (len < HEADER_SIZE + CRC_SIZE)
        return core_err_set(err,
                            "tombstones file of %zu bytes is shorter than its header and "
                            "checksum",
                            len);
    uint32_t magic = tsdb_get_be32(p);
    if (magic != TSDB_TOMBSTONES_MAGIC)
        return core_err_set(err, "tombstones: invalid magic number %x", magic);
    size_t end = len - CRC_SIZE;
    uint32_t want = tsdb_get_be32(p + end);
    uint32_t got = tsdb_crc32c(0, p + HEADER_SIZE, end - HEADER_SIZE);
    if (want != got)
        return core_err_set(err, "tombstones: checksum did not match (file %08x, content %08x)",
                            want, got);
    if (p[4] != FORMAT_V1) return core_err_set(err, "tombstones: invalid format %x", p[4]);
    for (size_t off = HEADER_SIZE; off < end;) {
        size_t at = off;
        uint64_t ref;
        int64_t mint, maxt;
        int n = tsdb_uvarint(p + off, end - off, &ref);
        if (n > 0) off += (size_t)n;
        if (n > 0) n = read_varint(p + off, end - off, &mint);
        if (n > 0) off += (size_t)n;
        if (n > 0) n = read_varint(p + off, end - off, &maxt);
        if (n > 0) off += (size_t)n;
        if (n <= 0)
            return core_err_set(err, "tombstones: %s entry at offset %zu",
                                n == 0 ? "truncated" : "overflowing varint in", at);
        tsdb_tombstones_add(t, ref, mint, maxt);
    }
    return 0;
}

int tsdb_tombstones_read(tsdb_tombstones *t, const char *dir, int64_t *size, core_err *err)
{
    core_sb path = CORE_SB_INIT, data = CORE_SB_INIT;
    core_sb_addf(&path, "%s/%s", dir, TSDB_TOMBSTONES_FILENAME);
    tsdb_tombstones_init(t);
    if (size) *size = 0;
    int rc = -1;
    FILE *f = fopen(path.buf, "rb");
    if (!f) {
        if (errno == ENOENT)
            rc = 0;
        else
            core_err_set(err, "%s: %s", path.buf, strerror(errno));
        goto out;
    }
    uint8_t buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        core_sb_add(&data, buf, n);
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        core_err_set(err, "%s: read error", path.buf);
        goto out;
    }
    core_err e = {{0}};
    if (tsdb_tombstones_decode(t, (const uint8_t *)data.buf, data.len, &e) < 0) {
        core_err_set(err, "%s: %s", path.buf, e.msg);
        tsdb_tombstones_destroy(t);
        goto out;
    }
    if (size) *size = (int64_t)data.len;
    rc = 0;
out:
    core_sb_destroy(&path);
    core_sb_destroy(&data);
    return rc;
}

int tsdb_tombstones_write(const tsdb_tombstones *t, const char *dir, int64_t *size, core_err *err)
{
    core_sb out = CORE_SB_INIT;
    tsdb_tombstones_encode(t, &out);
    int rc = tsdb_replace_file(dir, TSDB_TOMBSTONES_FILENAME, out.buf, out.len, err);
    if (rc == 0 && size) *size = (int64_t)out.len;
    core_sb_destroy(&out);
    return rc;
}
