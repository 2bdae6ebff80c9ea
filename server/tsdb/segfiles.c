/*
 * segfiles.c - the numbered files (000001, 000002, ...) that hold chunks, in a
 * block's chunks/ directory and in chunks_head/.
 *
 * Reading maps each file read-only with mmap, as upstream does, so a chunk is
 * a borrowed pointer into the page cache and opening a block costs no reads.
 * Names that are not plain decimal numbers are skipped (upstream uses
 * strconv.ParseUint); files are sorted by number.  Every file must start with
 * the 8-byte header: magic (big endian), version 1, three padding bytes.
 *
 * Writing goes through stdio with a large buffer and ends in fsync, which is
 * what upstream's bufio writer plus Sync amount to; files are not
 * preallocated, so no truncation is needed at the end.
 */
#include "tsdb/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define WRITE_BUFFER (1u << 20)

/* Parses a file name as Go's strconv.ParseUint(name, 10, 64). */
static bool parse_seq(const char *name, uint64_t *seq)
{
    uint64_t v = 0;
    if (!*name) return false;
    for (const char *c = name; *c; c++) {
        if (*c < '0' || *c > '9' || v > (UINT64_MAX - (uint64_t)(*c - '0')) / 10) return false;
        v = v * 10 + (uint64_t)(*c - '0');
    }
    *seq = v;
    return true;
}

static int cmp_seg(const void *a, const void *b)
{
    uint64_t x = ((const tsdb_segment *)a)->seq, y = ((const tsdb_segment *)b)->seq;
    return x < y ? -1 : x > y;
}

/* Collects the numbered names of `dir` into s->segs (unmapped, p == NULL). */
static int list_dir(tsdb_segfiles *s, const char *dir, core_err *err)
{
    DIR *d = opendir(dir);
    if (!d) return core_err_set(err, "open chunk directory %s: %s", dir, strerror(errno));
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        uint64_t seq;
        if (!parse_seq(e->d_name, &seq)) continue;
        if (s->n == cap) {
            cap = cap ? 2 * cap : 8;
            s->segs = core_reallocarray(s->segs, cap, sizeof(*s->segs));
        }
        s->segs[s->n++] = (tsdb_segment){.seq = seq, .p = NULL, .len = 0};
    }
    closedir(d);
    if (s->n) qsort(s->segs, s->n, sizeof(*s->segs), cmp_seg);
    return 0;
}

int tsdb_map_file(const char *path, const char *what, const uint8_t **p, size_t *len, core_err *err)
{
    *p = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return core_err_set(err, "open %s%s: %s", what, path, strerror(errno));
    struct stat st;
    int rc = fstat(fd, &st);
    if (rc == 0 && st.st_size > 0) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED)
            rc = -1;
        else
            *p = m, *len = (size_t)st.st_size;
    }
    if (rc < 0) core_err_set(err, "map %s%s: %s", what, path, strerror(errno));
    close(fd);
    return rc;
}

static int map_file(tsdb_segment *seg, const char *dir, core_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%06llu", dir, (unsigned long long)seg->seq);
    return tsdb_map_file(path, "", &seg->p, &seg->len, err);
}

int tsdb_segment_check(const uint8_t *p, size_t len, uint32_t magic, core_err *err)
{
    if (len < TSDB_SEGMENT_HEADER_SIZE)
        return core_err_set(err, "invalid segment header: %zu bytes", len);
    uint32_t m = tsdb_get_be32(p);
    if (m != magic) return core_err_set(err, "invalid magic number %x", m);
    if (p[4] != 1) return core_err_set(err, "invalid chunk format version %u", p[4]);
    return 0;
}

/* Whether the file holds no magic number (empty, short or zeros). */
static bool blank_header(const tsdb_segment *seg)
{
    return seg->len < 4 || tsdb_get_be32(seg->p) == 0;
}

int tsdb_segfiles_open(tsdb_segfiles *s, const char *dir, uint32_t magic, bool skip_empty_last,
                       core_err *err)
{
    memset(s, 0, sizeof(*s));
    if (list_dir(s, dir, err) < 0) return -1;
    for (size_t i = 0; i < s->n; i++) {
        if (map_file(&s->segs[i], dir, err) < 0) {
            tsdb_segfiles_close(s);
            return -1;
        }
        if (skip_empty_last && i == s->n - 1 && blank_header(&s->segs[i])) {
            if (s->segs[i].p) munmap((void *)s->segs[i].p, s->segs[i].len);
            s->n--;
            break;
        }
        if (tsdb_segment_check(s->segs[i].p, s->segs[i].len, magic, err) < 0) {
            core_err_prefix(err, "%s/%06llu", dir, (unsigned long long)s->segs[i].seq);
            tsdb_segfiles_close(s);
            return -1;
        }
    }
    return 0;
}

void tsdb_segfiles_close(tsdb_segfiles *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->segs[i].p) munmap((void *)s->segs[i].p, s->segs[i].len);
    free(s->segs);
    memset(s, 0, sizeof(*s));
}

/* ---- Writing */

int tsdb_segfiles_last_seq(const char *dir, uint64_t *seq, core_err *err)
{
    tsdb_segfiles s = {0};
    if (list_dir(&s, dir, err) < 0) return -1;
    *seq = s.n ? s.segs[s.n - 1].seq : 0;
    free(s.segs);
    return 0;
}

int tsdb_segfile_write(FILE *f, const void *p, size_t n, core_err *err)
{
    if (n && fwrite(p, 1, n, f) != n)
        return core_err_set(err, "write chunk file: %s", strerror(errno));
    return 0;
}

FILE *tsdb_segfile_create(const char *dir, uint64_t seq, uint32_t magic, core_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%06llu", dir, (unsigned long long)seq);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "wb");
    if (!f) {
        core_err_set(err, "create %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return NULL;
    }
    setvbuf(f, NULL, _IOFBF, WRITE_BUFFER);
    uint8_t header[TSDB_SEGMENT_HEADER_SIZE] = {0};
    tsdb_put_be32(header, magic);
    header[4] = 1;
    if (tsdb_segfile_write(f, header, sizeof(header), err) < 0) {
        fclose(f);
        return NULL;
    }
    return f;
}

int tsdb_segfile_finish(FILE *f, core_err *err)
{
    int rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -1;
    if (rc < 0) core_err_set(err, "sync chunk file: %s", strerror(errno));
    if (fclose(f) != 0 && rc == 0) rc = core_err_set(err, "close chunk file: %s", strerror(errno));
    return rc;
}
