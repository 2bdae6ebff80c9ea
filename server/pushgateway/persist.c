/*
 * persist.c - the persistence file.
 *
 * Upstream writes a Go gob of its maps, which nothing else reads; this file
 * has a format of its own, little-endian throughout:
 *
 *   offset 0   "PGWSTORE"                 magic, 8 bytes
 *          8   u32 version (1)
 *         12   u64 L                      length of the payload
 *         20   payload, L bytes
 *       20+L   u64 checksum               XXH3-64 of bytes [0, 20+L)
 *
 *   payload   = u32 n_groups, group...
 *   group     = u32 n_labels, (str name, str value)..., i64 last_push_ns,
 *               u32 n_families, family...
 *   family    = str name, u8 has_help, [str help], u8 type (MetricType
 *               numbering), i64 push_ns, u32 n_metrics, metric...
 *   metric    = f64 value, u64 count, u16 n_labels, u16 n_points,
 *               u32 labels_len, (f64 key, u64 value-or-count bits)...,
 *               labels: labels_len bytes of "name\0value\0" pairs
 *   str       = u32 length, bytes
 *
 * The file is the store's metric layout written out, so loading is a copy
 * per metric.  A file whose size, magic, version or checksum is wrong, or
 * whose payload does not parse to the last byte, is corrupt: nothing of it
 * is loaded, and it is renamed to <file>.corrupt-<unix time>[.<n>] (never
 * overwriting anything) so that the next save cannot destroy what a human
 * may want to look at.  Saving writes <file>.in_progress.XXXXXX in the same
 * directory, fsyncs it, renames it over <file> and fsyncs the directory.
 */
#include "pushgateway/pushgateway.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC      "PGWSTORE"
#define VERSION    1u
#define HEADER_LEN 20

/* ---- Writing */

static void put_u(core_sb *out, uint64_t v, int bytes)
{
    char b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (char)(v >> (8 * i));
    core_sb_add(out, b, (size_t)bytes);
}

static void put_f64(core_sb *out, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    put_u(out, u, 8);
}

static void put_str(core_sb *out, const char *s)
{
    size_t n = strlen(s);
    put_u(out, n, 4);
    core_sb_add(out, s, n);
}

static void put_metric(core_sb *out, const pgw_metric *m)
{
    put_f64(out, m->value);
    put_u(out, m->count, 8);
    put_u(out, m->n_labels, 2);
    put_u(out, m->n_points, 2);
    put_u(out, m->labels_len, 4);
    for (size_t i = 0; i < m->n_points; i++) {
        put_f64(out, m->points[i].key);
        put_u(out, m->points[i].count, 8);
    }
    core_sb_add(out, pgw_metric_labels(m), m->labels_len);
}

static void put_family(core_sb *out, const pgw_family *f)
{
    put_str(out, f->name);
    put_u(out, f->help != NULL, 1);
    if (f->help != NULL) put_str(out, f->help);
    put_u(out, (uint64_t)f->type, 1);
    put_u(out, (uint64_t)f->push_ns, 8);
    put_u(out, f->n, 4);
    for (size_t i = 0; i < f->n; i++)
        put_metric(out, f->m[i]);
}

static void put_group(core_sb *out, const pgw_group *g)
{
    put_u(out, g->labels->len, 4);
    for (size_t i = 0; i < g->labels->len; i++) {
        put_str(out, g->labels->v[i].name);
        put_str(out, g->labels->v[i].value);
    }
    put_u(out, (uint64_t)g->last_push_ns, 8);
    put_u(out, g->n_fams, 4);
    for (size_t i = 0; i < g->n_fams; i++)
        put_family(out, g->fams[i]);
}

void pgw_persist_encode(pgw_store *s, core_sb *out)
{
    size_t start = out->len;
    core_sb_add(out, MAGIC, 8);
    put_u(out, VERSION, 4);
    put_u(out, 0, 8); /* the length, set below */
    pgw_store_rdlock(s);
    size_t n;
    pgw_group **groups = pgw_store_groups(s, &n);
    put_u(out, n, 4);
    for (size_t i = 0; i < n; i++)
        put_group(out, groups[i]);
    pgw_store_unlock(s);
    free(groups);
    uint64_t len = out->len - start - HEADER_LEN;
    for (int i = 0; i < 8; i++)
        out->buf[start + 12 + i] = (char)(len >> (8 * i));
    put_u(out, core_hash(out->buf + start, out->len - start), 8);
}

/* ---- Reading */

typedef struct reader {
    const unsigned char *p, *end;
    bool bad;
} reader;

static uint64_t get_u(reader *r, int bytes)
{
    if (r->bad || r->end - r->p < bytes) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += bytes;
    return v;
}

static double get_f64(reader *r)
{
    uint64_t u = get_u(r, 8);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

static const unsigned char *get_bytes(reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const unsigned char *p = r->p;
    r->p += n;
    return p;
}

/* A string without NUL bytes, malloc'd; NULL when bad. */
static char *get_str(reader *r)
{
    size_t n = get_u(r, 4);
    const unsigned char *p = get_bytes(r, n);
    if (p == NULL || memchr(p, '\0', n) != NULL) return r->bad = true, NULL;
    return core_strndup((const char *)p, n);
}

/* Checks that blob holds exactly n "name\0value\0" pairs; fills ls. */
static bool split_labels(const char *blob, size_t len, size_t n, core_label *ls)
{
    const char *p = blob, *end = blob + len;
    for (size_t i = 0; i < 2 * n; i++) {
        const char *z = memchr(p, '\0', (size_t)(end - p));
        if (z == NULL) return false;
        if (i % 2 == 0)
            ls[i / 2].name = p;
        else
            ls[i / 2].value = p;
        p = z + 1;
    }
    return p == end;
}

static pgw_metric *get_metric(reader *r)
{
    double value = get_f64(r);
    uint64_t count = get_u(r, 8);
    size_t n_labels = get_u(r, 2), n_points = get_u(r, 2), labels_len = get_u(r, 4);
    if (r->bad || (size_t)(r->end - r->p) < n_points * 16 + labels_len) return r->bad = true, NULL;
    pgw_point *points = core_mallocarray(n_points + 1, sizeof *points);
    for (size_t i = 0; i < n_points; i++) {
        points[i].key = get_f64(r);
        points[i].count = get_u(r, 8);
    }
    const char *blob = (const char *)get_bytes(r, labels_len);
    core_label *ls = core_mallocarray(n_labels + 1, sizeof *ls);
    pgw_metric *m = NULL;
    if (blob != NULL && split_labels(blob, labels_len, n_labels, ls))
        m = pgw_metric_new(ls, n_labels, value, count, points, n_points);
    else
        r->bad = true;
    free(ls);
    free(points);
    return m;
}

static pgw_family *get_family(reader *r)
{
    char *name = get_str(r);
    char *help = get_u(r, 1) ? get_str(r) : NULL;
    uint64_t type = get_u(r, 1);
    int64_t push_ns = (int64_t)get_u(r, 8);
    size_t n = get_u(r, 4);
    pgw_family *f = NULL;
    if (!r->bad && type <= PGW_HISTOGRAM && name[0] != '\0') {
        f = pgw_family_new(name, help, (pgw_type)type);
        f->push_ns = push_ns;
        for (size_t i = 0; i < n && !r->bad; i++) {
            pgw_metric *m = get_metric(r);
            if (m != NULL) pgw_family_add(f, m);
        }
    } else {
        r->bad = true;
    }
    free(name);
    free(help);
    if (r->bad) pgw_family_free(f), f = NULL;
    return f;
}

static core_labels *get_grouping(reader *r)
{
    size_t n = get_u(r, 4);
    if (r->bad || n > (size_t)(r->end - r->p) / 8) return r->bad = true, NULL;
    core_label *ls = core_calloc(n + 1, sizeof *ls);
    for (size_t i = 0; i < n && !r->bad; i++) {
        ls[i].name = get_str(r);
        ls[i].value = get_str(r);
    }
    core_labels *g = r->bad ? NULL : core_labels_new(ls, n);
    for (size_t i = 0; i < n; i++) {
        free((char *)ls[i].name);
        free((char *)ls[i].value);
    }
    free(ls);
    if (g != NULL && (core_labels_get(g, "job") == NULL || core_labels_dup_name(g) != NULL))
        free(g), g = NULL, r->bad = true;
    return g;
}

static void get_group(pgw_store *s, reader *r)
{
    core_labels *grouping = get_grouping(r);
    int64_t last = (int64_t)get_u(r, 8);
    size_t n = get_u(r, 4);
    for (size_t i = 0; i < n && !r->bad; i++) {
        pgw_family *f = get_family(r);
        if (f != NULL) pgw_store_restore_family(s, grouping, last, f);
    }
    free(grouping);
}

static int check_frame(const char *buf, size_t len, core_err *err)
{
    if (len < HEADER_LEN + 8) return core_err_set(err, "file too short (%zu bytes)", len);
    if (memcmp(buf, MAGIC, 8) != 0) return core_err_set(err, "not a persistence file of ours");
    reader r = {(const unsigned char *)buf + 8, (const unsigned char *)buf + len, false};
    uint64_t version = get_u(&r, 4), plen = get_u(&r, 8);
    if (version != VERSION)
        return core_err_set(err, "unknown version %llu", (unsigned long long)version);
    if (plen != len - HEADER_LEN - 8)
        return core_err_set(err, "payload of %llu bytes in a file of %zu bytes (truncated?)",
                            (unsigned long long)plen, len);
    r.p = (const unsigned char *)buf + len - 8;
    if (get_u(&r, 8) != core_hash(buf, len - 8)) return core_err_set(err, "checksum mismatch");
    return 0;
}

int pgw_persist_decode(pgw_store *s, const char *buf, size_t len, core_err *err)
{
    if (check_frame(buf, len, err) < 0) return -1;
    reader r = {(const unsigned char *)buf + HEADER_LEN, (const unsigned char *)buf + len - 8,
                false};
    size_t n = get_u(&r, 4);
    for (size_t i = 0; i < n && !r.bad; i++)
        get_group(s, &r);
    if (!r.bad && r.p == r.end) return 0;
    pgw_store_wipe(s);
    return core_err_set(err, "malformed payload at byte %zu",
                        (size_t)(r.p - (const unsigned char *)buf));
}

/* ---- Files */

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void fsync_dir(const char *path)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int pgw_persist_save(pgw_store *s, const char *path, core_err *err)
{
    core_sb data = CORE_SB_INIT;
    pgw_persist_encode(s, &data);
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.in_progress.XXXXXX", path);
    int fd = mkstemp(tmp);
    int rc = 0;
    if (fd < 0) {
        rc = core_err_set(err, "create %s: %s", tmp, strerror(errno));
    } else if (write_all(fd, data.buf, data.len) < 0 || fsync(fd) < 0) {
        rc = core_err_set(err, "write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
    } else if (close(fd) < 0 || rename(tmp, path) < 0) {
        rc = core_err_set(err, "rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
    } else {
        fsync_dir(path);
    }
    core_sb_destroy(&data);
    return rc;
}

static int read_file(const char *path, core_sb *out, core_err *err)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return errno == ENOENT ? 1 : core_err_set(err, "open %s: %s", path, strerror(errno));
    for (;;) {
        core_sb_grow(out, 1 << 16);
        ssize_t n = read(fd, out->buf + out->len, out->cap - out->len - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            close(fd);
            return core_err_set(err, "read %s: %s", path, strerror(errno));
        }
        if (n == 0) break;
        out->len += (size_t)n;
    }
    close(fd);
    return 0;
}

/* Renames a corrupt file to a name nothing has yet. */
static void move_aside(const char *path, char *moved_to)
{
    long now = (long)(core_time_now_ms() / 1000);
    for (int i = 0; i < 1000; i++) {
        if (i == 0)
            snprintf(moved_to, PATH_MAX, "%s.corrupt-%ld", path, now);
        else
            snprintf(moved_to, PATH_MAX, "%s.corrupt-%ld.%d", path, now, i);
        struct stat st;
        if (lstat(moved_to, &st) < 0 && errno == ENOENT && rename(path, moved_to) == 0) return;
    }
    moved_to[0] = '\0';
}

int pgw_persist_load(pgw_store *s, const char *path, char *moved_to, core_err *err)
{
    moved_to[0] = '\0';
    core_sb data = CORE_SB_INIT;
    int rc = read_file(path, &data, err);
    if (rc == 0 && pgw_persist_decode(s, data.buf, data.len, err) < 0) {
        core_err_prefix(err, "%s", path);
        move_aside(path, moved_to);
        rc = -1;
    }
    core_sb_destroy(&data);
    return rc < 0 ? -1 : 0;
}
