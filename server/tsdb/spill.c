/*
 * spill.c - the spilled start of the head's open chunks (used by head.c).
 *
 * Left whole in memory, a series' open chunk is the largest thing a series
 * costs: 120 samples of a few bytes each, and every series of a scrape fills
 * its chunk in step with the others, so all of them are full at once.  The
 * head keeps only the last bytes of an open chunk in memory; each time
 * TSDB_SPILL_SEG whole bytes have gathered before the bit being written they
 * go here, to an append-only log, and are read back when the chunk is cut
 * (pread: pages read through a mapping would count against the process, and
 * every chunk is cut once) or a query copies it (through a mapping, as the
 * cut chunks are read: a pread a record would cost a query more than its
 * decoding).  Upstream keeps its cut chunks in mapped files to save memory;
 * this does it for the open ones too.
 *
 * The log is scratch: after a crash the WAL rebuilds the open chunks, so its
 * files are unlinked as soon as they are created (O_TMPFILE where the file
 * system has it) and nothing is ever left in the data directory.
 *
 * A record is the offset of the series' previous record (the chain runs back
 * to its chunk's first segment; the series knows how many there are) and
 * TSDB_SPILL_SEG bytes.  Offsets are global: file k holds [k, k+1) x
 * SPILL_FILE, and a record never straddles two files.  Records gather in a
 * write buffer, readable before it is written out.  Each file counts its
 * live records; once none is left a file other than the one being written
 * is closed (and its space freed).
 */
#define _GNU_SOURCE
#include "tsdb/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SPILL_FILE (16u << 20)
#define SPILL_REC  (8 + TSDB_SPILL_SEG)
#define SPILL_BUF  (64u * 1024)

typedef struct spill_file {
    uint64_t no; /* holds [no, no + 1) x SPILL_FILE */
    int fd;
    const uint8_t *map; /* the whole file size, read only */
    uint32_t live;      /* records still in a chain */
} spill_file;

struct tsdb_spill {
    pthread_mutex_t mtx;
    char *dir;
    spill_file *files; /* ascending; the last is the one written */
    size_t nfiles, capfiles;
    uint64_t end;     /* where the next record goes */
    uint64_t flushed; /* where the buffer's first byte goes */
    uint8_t *buf;
    size_t buflen;
};

tsdb_spill *tsdb_spill_new(const char *dir)
{
    tsdb_spill *sp = core_calloc(1, sizeof(*sp));
    pthread_mutex_init(&sp->mtx, NULL);
    sp->dir = core_strdup(dir);
    sp->buf = core_malloc(SPILL_BUF);
    return sp;
}

void tsdb_spill_free(tsdb_spill *sp)
{
    if (!sp) return;
    for (size_t i = 0; i < sp->nfiles; i++) {
        munmap((void *)sp->files[i].map, SPILL_FILE);
        close(sp->files[i].fd);
    }
    free(sp->files);
    free(sp->buf);
    free(sp->dir);
    pthread_mutex_destroy(&sp->mtx);
    free(sp);
}

static spill_file *find(tsdb_spill *sp, uint64_t off)
{
    uint64_t no = off / SPILL_FILE;
    size_t lo = 0, hi = sp->nfiles;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sp->files[mid].no < no)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < sp->nfiles && sp->files[lo].no == no ? &sp->files[lo] : NULL;
}

/* Caller holds mtx. */
static int flush(tsdb_spill *sp, core_err *err)
{
    if (!sp->buflen) return 0;
    int fd = sp->files[sp->nfiles - 1].fd;
    size_t done = 0;
    while (done < sp->buflen) {
        ssize_t n = pwrite(fd, sp->buf + done, sp->buflen - done,
                           (off_t)((sp->flushed + done) % SPILL_FILE));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            return core_err_set(err, "write open chunk spill file in %s: %s", sp->dir,
                                strerror(errno));
        done += (size_t)n;
    }
    sp->flushed += sp->buflen;
    sp->buflen = 0;
    return 0;
}

static int open_unlinked(const char *dir, core_err *err)
{
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) return fd;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/.spill-XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return core_err_set(err, "create open chunk spill file in %s: %s", dir, strerror(errno));
    unlink(path);
    return fd;
}

/* Starts the file that holds `end` (rounded up to a file's start unless it
 * is one already).  Caller holds mtx. */
static int next_file(tsdb_spill *sp, core_err *err)
{
    if (flush(sp, err) < 0) return -1;
    uint64_t no = sp->nfiles ? sp->end / SPILL_FILE + (sp->end % SPILL_FILE != 0) : 0;
    int fd = open_unlinked(sp->dir, err);
    if (fd < 0) return -1;
    void *map = mmap(NULL, SPILL_FILE, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        close(fd);
        return core_err_set(err, "map open chunk spill file in %s: %s", sp->dir, strerror(errno));
    }
    spill_file *cur = sp->nfiles ? &sp->files[sp->nfiles - 1] : NULL;
    if (cur && cur->live == 0) { /* nothing of it is read any more */
        munmap((void *)cur->map, SPILL_FILE);
        close(cur->fd);
        sp->nfiles--;
    }
    if (sp->nfiles == sp->capfiles) {
        sp->capfiles = sp->capfiles ? sp->capfiles * 2 : 8;
        sp->files = core_reallocarray(sp->files, sp->capfiles, sizeof(*sp->files));
    }
    sp->files[sp->nfiles++] = (spill_file){.no = no, .fd = fd, .map = map};
    sp->end = sp->flushed = no * SPILL_FILE;
    return 0;
}

int tsdb_spill_put(tsdb_spill *sp, uint64_t prev, const uint8_t *seg, uint64_t *ref, core_err *err)
{
    pthread_mutex_lock(&sp->mtx);
    int rc = 0;
    if (!sp->nfiles || sp->end % SPILL_FILE + SPILL_REC > SPILL_FILE) rc = next_file(sp, err);
    if (rc == 0 && sp->buflen + SPILL_REC > SPILL_BUF) rc = flush(sp, err);
    if (rc == 0) {
        uint8_t *p = sp->buf + sp->buflen;
        memcpy(p, &prev, 8);
        memcpy(p + 8, seg, TSDB_SPILL_SEG);
        sp->buflen += SPILL_REC;
        *ref = sp->end;
        sp->end += SPILL_REC;
        sp->files[sp->nfiles - 1].live++;
    }
    pthread_mutex_unlock(&sp->mtx);
    return rc;
}

/* Reads the record at off into rec, from the mapping if `mapped`. */
static int read_rec(tsdb_spill *sp, uint64_t off, uint8_t rec[SPILL_REC], bool mapped,
                    core_err *err)
{
    pthread_mutex_lock(&sp->mtx);
    if (off >= sp->flushed && off + SPILL_REC <= sp->flushed + sp->buflen) {
        memcpy(rec, sp->buf + (off - sp->flushed), SPILL_REC);
        pthread_mutex_unlock(&sp->mtx);
        return 0;
    }
    spill_file *f = find(sp, off);
    /* The file stays open while the caller's chain holds a record of it. */
    int fd = f && off + SPILL_REC <= sp->flushed ? f->fd : -1;
    const uint8_t *map = fd >= 0 ? f->map : NULL;
    pthread_mutex_unlock(&sp->mtx);
    if (map && mapped) {
        memcpy(rec, map + off % SPILL_FILE, SPILL_REC);
        return 0;
    }
    if (fd < 0)
        return core_err_set(err, "open chunk spill record %llu: not in the log",
                            (unsigned long long)off);
    size_t done = 0;
    while (done < SPILL_REC) {
        ssize_t n = pread(fd, rec + done, SPILL_REC - done, (off_t)((off + done) % SPILL_FILE));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            return core_err_set(err, "read open chunk spill file in %s: %s", sp->dir,
                                n < 0 ? strerror(errno) : "short read");
        done += (size_t)n;
    }
    return 0;
}

int tsdb_spill_read(tsdb_spill *sp, uint64_t last, size_t n, bool mapped, uint8_t *out,
                    uint64_t *offs, core_err *err)
{
    uint8_t rec[SPILL_REC];
    uint64_t off = last;
    for (size_t i = n; i-- > 0;) {
        if (read_rec(sp, off, rec, mapped, err) < 0) return -1;
        if (out) memcpy(out + i * TSDB_SPILL_SEG, rec + 8, TSDB_SPILL_SEG);
        if (offs) offs[i] = off;
        memcpy(&off, rec, 8);
    }
    return 0;
}

void tsdb_spill_release(tsdb_spill *sp, const uint64_t *offs, size_t n)
{
    pthread_mutex_lock(&sp->mtx);
    for (size_t i = 0; i < n; i++) {
        spill_file *f = find(sp, offs[i]);
        if (!f || !f->live || --f->live || f == &sp->files[sp->nfiles - 1]) continue;
        munmap((void *)f->map, SPILL_FILE);
        close(f->fd);
        size_t k = (size_t)(f - sp->files);
        memmove(f, f + 1, (sp->nfiles - k - 1) * sizeof(*f));
        sp->nfiles--;
    }
    pthread_mutex_unlock(&sp->mtx);
}

void tsdb_spill_stats(tsdb_spill *sp, uint64_t *files, uint64_t *live_bytes)
{
    pthread_mutex_lock(&sp->mtx);
    uint64_t live = 0;
    for (size_t i = 0; i < sp->nfiles; i++)
        live += sp->files[i].live;
    *files = sp->nfiles;
    *live_bytes = live * TSDB_SPILL_SEG;
    pthread_mutex_unlock(&sp->mtx);
}
