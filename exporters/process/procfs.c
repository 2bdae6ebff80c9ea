/*
 * procfs.c - reading the files of /proc/<pid>/ without allocating.
 *
 * A scrape reads thousands of small files, so every read is openat() relative
 * to one open procfs directory (no path walk from /), into a caller's stack
 * buffer, with one read(2): procfs's single-record files (stat, status, io,
 * limits, wchan, smaps_rollup) hand over their whole text at once when the
 * buffer is large enough, and a read is repeated only when it filled more
 * than half the buffer.
 * Directories (/proc, task/) are listed with getdents64 into a stack buffer:
 * opendir() would malloc 32 KiB per call.  Open fds are counted by one
 * fstat of fd/ (kept open like the files) where the kernel gives the count as
 * its size (6.2+).
 *
 * The parsers take exactly `len` bytes (no NUL needed) and refuse text that is
 * not what the kernel writes, so a truncated or garbled file gives -1, never a
 * read past the end.  /proc/<pid>/stat is cut at the last ')' since comm may
 * hold spaces and parentheses.
 */
#include "process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Small text helpers */

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Parses an unsigned decimal at *p (after blanks); advances *p. */
static int scan_u64(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    while (s < end && is_space(*s))
        s++;
    if (s == end || *s < '0' || *s > '9') return -1;
    uint64_t v = 0;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
    }
    *out = v;
    *p = s;
    return 0;
}

/* A signed decimal, clamped to int64. */
static int scan_i64(const char **p, const char *end, int64_t *out)
{
    const char *s = *p;
    while (s < end && is_space(*s))
        s++;
    bool neg = s < end && *s == '-';
    if (neg) s++;
    uint64_t v;
    if (scan_u64(&s, end, &v) < 0) return -1;
    if (v > INT64_MAX) v = INT64_MAX;
    *out = neg ? -(int64_t)v : (int64_t)v;
    *p = s;
    return 0;
}

/* Next line of [*p, end) into [*ls, *le); false at the end. */
static bool next_line(const char **p, const char *end, const char **ls, const char **le)
{
    if (*p >= end) return false;
    *ls = *p;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    *le = nl ? nl : end;
    *p = nl ? nl + 1 : end;
    return true;
}

/* If the line starts with `key` followed by ':', points *val after the colon. */
static bool line_key(const char *ls, const char *le, const char *key, const char **val)
{
    size_t n = strlen(key);
    if ((size_t)(le - ls) <= n || memcmp(ls, key, n) != 0 || ls[n] != ':') return false;
    *val = ls + n + 1;
    return true;
}

/* ---- Parsers */

/* stat fields after "pid (comm) ", counted from 0 (state). */
enum {
    ST_PPID = 1,
    ST_MINFLT = 7,
    ST_MAJFLT = 9,
    ST_UTIME = 11,
    ST_STIME = 12,
    ST_NUM_THREADS = 17,
    ST_STARTTIME = 19,
    ST_VSIZE = 20,
    ST_RSS = 21,
    ST_NEEDED = 22,
};

static void stat_store(pe_stat *out, int field, int64_t v)
{
    uint64_t u = v < 0 ? 0 : (uint64_t)v;
    switch (field) {
    case ST_PPID: out->ppid = v > INT32_MAX || v < 0 ? 0 : (int)v; break;
    case ST_MINFLT: out->minflt = u; break;
    case ST_MAJFLT: out->majflt = u; break;
    case ST_UTIME: out->utime = u; break;
    case ST_STIME: out->stime = u; break;
    case ST_NUM_THREADS: out->num_threads = v; break;
    case ST_STARTTIME: out->starttime = u; break;
    case ST_VSIZE: out->vsize = u; break;
    case ST_RSS: out->rss = v; break;
    default: break;
    }
}

/* "pid (comm" : copies comm, returns the position after the last ')'. */
static const char *stat_comm(const char *buf, const char *end, pe_stat *out)
{
    const char *open = memchr(buf, '(', (size_t)(end - buf));
    const char *close = NULL;
    for (const char *c = end; c > buf; c--)
        if (c[-1] == ')') {
            close = c - 1;
            break;
        }
    if (open == NULL || close == NULL || close < open || open == buf) return NULL;
    size_t n = (size_t)(close - open - 1);
    if (n >= PE_COMM_MAX) n = PE_COMM_MAX - 1;
    memcpy(out->comm, open + 1, n);
    out->comm[n] = '\0';
    return close + 1;
}

int pe_parse_stat(const char *buf, size_t len, pe_stat *out)
{
    memset(out, 0, sizeof *out);
    const char *end = buf + len;
    const char *p = buf == NULL ? NULL : stat_comm(buf, end, out);
    if (p == NULL || p + 2 >= end || p[0] != ' ') return -1;
    out->state = p[1];
    p += 2;
    for (int field = 1; field < ST_NEEDED; field++) {
        int64_t v;
        if (p >= end || *p != ' ' || scan_i64(&p, end, &v) < 0) return -1;
        stat_store(out, field, v);
    }
    return 0;
}

/* "Uid:\treal\teffective\tsaved\tfs": the effective one. */
static int status_uid(const char *val, const char *le, pe_status *out)
{
    uint64_t real, eff;
    if (scan_u64(&val, le, &real) < 0 || scan_u64(&val, le, &eff) < 0) return -1;
    out->euid = eff > INT32_MAX ? -1 : (int)eff;
    return 0;
}

int pe_parse_status(const char *buf, size_t len, pe_status *out)
{
    memset(out, 0, sizeof *out);
    out->euid = -1;
    const char *p = buf, *end = buf + len, *ls, *le, *val;
    while (buf != NULL && next_line(&p, end, &ls, &le)) {
        int rc = 0;
        if (line_key(ls, le, "Uid", &val))
            rc = status_uid(val, le, out);
        else if (line_key(ls, le, "VmSwap", &val))
            rc = scan_u64(&val, le, &out->vm_swap_kb);
        else if (line_key(ls, le, "voluntary_ctxt_switches", &val))
            rc = scan_u64(&val, le, &out->ctx_voluntary);
        else if (line_key(ls, le, "nonvoluntary_ctxt_switches", &val))
            rc = scan_u64(&val, le, &out->ctx_nonvoluntary);
        if (rc < 0) return -1;
    }
    return out->euid < 0 ? -1 : 0;
}

int pe_parse_io(const char *buf, size_t len, pe_io *out)
{
    memset(out, 0, sizeof *out);
    const char *p = buf, *end = buf + len, *ls, *le, *val;
    int found = 0;
    while (buf != NULL && next_line(&p, end, &ls, &le)) {
        if (line_key(ls, le, "read_bytes", &val)) {
            if (scan_u64(&val, le, &out->read_bytes) < 0) return -1;
            found |= 1;
        } else if (line_key(ls, le, "write_bytes", &val)) {
            if (scan_u64(&val, le, &out->write_bytes) < 0) return -1;
            found |= 2;
        }
    }
    return found == 3 ? 0 : -1;
}

int pe_parse_limits_nofile(const char *buf, size_t len, uint64_t *soft)
{
    static const char key[] = "Max open files";
    const char *p = buf, *end = buf + len, *ls, *le;
    while (buf != NULL && next_line(&p, end, &ls, &le)) {
        if ((size_t)(le - ls) < sizeof key || memcmp(ls, key, sizeof key - 1) != 0) continue;
        const char *v = ls + sizeof key - 1;
        while (v < le && is_space(*v))
            v++;
        if ((size_t)(le - v) >= 9 && memcmp(v, "unlimited", 9) == 0) {
            *soft = UINT64_MAX;
            return 0;
        }
        return scan_u64(&v, le, soft);
    }
    return -1;
}

/* "Key:   123 kB" in bytes. */
static int kb_value(const char *val, const char *le, uint64_t *out)
{
    uint64_t kb;
    if (scan_u64(&val, le, &kb) < 0) return -1;
    *out = kb > UINT64_MAX / 1024 ? UINT64_MAX : kb * 1024;
    return 0;
}

int pe_parse_smaps_rollup(const char *buf, size_t len, uint64_t *pss, uint64_t *swap_pss)
{
    const char *p = buf, *end = buf + len, *ls, *le, *val;
    int found = 0;
    *pss = *swap_pss = 0;
    while (buf != NULL && next_line(&p, end, &ls, &le)) {
        if (line_key(ls, le, "Pss", &val)) {
            if (kb_value(val, le, pss) < 0) return -1;
            found |= 1;
        } else if (line_key(ls, le, "SwapPss", &val)) {
            if (kb_value(val, le, swap_pss) < 0) return -1;
            found |= 2;
        }
    }
    return found & 1 ? 0 : -1;
}

/* ---- Arithmetic on counts and states */

void pe_states_add_letter(pe_states *s, char state)
{
    switch (state) {
    case 'R': s->running++; break;
    case 'S': s->sleeping++; break;
    case 'D': s->waiting++; break;
    case 'Z': s->zombie++; break;
    default: s->other++; break;
    }
}

void pe_states_add(pe_states *s, const pe_states *t)
{
    s->running += t->running;
    s->sleeping += t->sleeping;
    s->waiting += t->waiting;
    s->zombie += t->zombie;
    s->other += t->other;
}

void pe_counts_add(pe_counts *c, const pe_counts *d)
{
    c->cpu_user += d->cpu_user;
    c->cpu_system += d->cpu_system;
    c->read_bytes += d->read_bytes;
    c->write_bytes += d->write_bytes;
    c->major_faults += d->major_faults;
    c->minor_faults += d->minor_faults;
    c->ctx_voluntary += d->ctx_voluntary;
    c->ctx_nonvoluntary += d->ctx_nonvoluntary;
}

static uint64_t sub_u64(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

void pe_counts_delta(const pe_counts *now, const pe_counts *then, pe_counts *d)
{
    d->cpu_user = sub_u64(now->cpu_user, then->cpu_user);
    d->cpu_system = sub_u64(now->cpu_system, then->cpu_system);
    d->read_bytes = sub_u64(now->read_bytes, then->read_bytes);
    d->write_bytes = sub_u64(now->write_bytes, then->write_bytes);
    d->major_faults = sub_u64(now->major_faults, then->major_faults);
    d->minor_faults = sub_u64(now->minor_faults, then->minor_faults);
    d->ctx_voluntary = sub_u64(now->ctx_voluntary, then->ctx_voluntary);
    d->ctx_nonvoluntary = sub_u64(now->ctx_nonvoluntary, then->ctx_nonvoluntary);
}

/* ---- Readers */

/* ---- Files kept open between scrapes
 *
 * Every scrape reads each process's stat (and for tracked ones status, io,
 * wchan and the size of fd/).  Opening /proc/<pid>/<file> walks two path
 * components and sets up a seq_file, which costs more than the read; the file
 * can instead stay open and be read again with pread at offset 0, which
 * regenerates it.  A kept file of a process that exited fails to read (ESRCH),
 * even when the pid has been reused, so it is never read for another process:
 * it is closed and the path opened afresh.
 *
 * The table has one entry per process ("<pid>/...") or thread
 * ("<pid>/task/<tid>/..."), keyed by the number, holding a descriptor for each
 * file kind read there: a scrape's five lookups for a process hit one cache
 * line (a table keyed by path strings cost 4.5% of a scrape over 1,000
 * processes in its lookups alone).  Paths of other shapes are not kept.
 * Entries not used in a scrape are closed at its end (pe_keep_sweep).
 * Scrapes are serialised by the caller, so no lock.  How many files may stay
 * open is bounded by the fd limit (pe_keep_init). */

enum { K_STAT, K_STATUS, K_IO, K_WCHAN, K_FD, K_LIMITS, K_SMAPS, K_KINDS };
static const char *const kind_names[K_KINDS] = {"stat", "status", "io",          "wchan",
                                                "fd",   "limits", "smaps_rollup"};

typedef struct kept {
    int id;         /* pid or tid; 0 when free */
    bool thread;    /* a task/<tid>/ entry */
    unsigned epoch; /* the scrape that last used it */
    int fd[K_KINDS];
} kept;

static struct {
    kept *v;
    size_t cap, n, files, budget;
    int dirfd;
    unsigned epoch;
} keep;

void pe_keep_init(size_t budget)
{
    keep.budget = budget;
    keep.epoch = 1;
    keep.dirfd = -1;
}

static bool parse_id(const char **p, int *id)
{
    long v = 0;
    const char *s = *p;
    if (*s < '0' || *s > '9') return false;
    for (; *s >= '0' && *s <= '9'; s++)
        if ((v = v * 10 + (*s - '0')) > 100000000) return false;
    *id = (int)v;
    *p = s;
    return v > 0;
}

/* "<pid>/<kind>" or "<pid>/task/<tid>/<kind>" into its key; false otherwise. */
static bool keep_key(const char *path, int *id, bool *thread, int *kind)
{
    if (!parse_id(&path, id) || *path++ != '/') return false;
    *thread = strncmp(path, "task/", 5) == 0;
    if (*thread) {
        path += 5;
        if (!parse_id(&path, id) || *path++ != '/') return false;
    }
    for (int k = 0; k < K_KINDS; k++)
        if (strcmp(path, kind_names[k]) == 0) {
            *kind = k;
            return true;
        }
    return false;
}

static size_t keep_hash(int id, bool thread)
{
    uint64_t h = ((uint64_t)(unsigned)id << 1 | thread) * 0x9E3779B97F4A7C15u;
    return (size_t)(h >> 32);
}

/* The entry of (id, thread), or the free one where it would go. */
static kept *keep_slot(int id, bool thread)
{
    for (size_t i = keep_hash(id, thread) & (keep.cap - 1);; i = (i + 1) & (keep.cap - 1))
        if (keep.v[i].id == 0 || (keep.v[i].id == id && keep.v[i].thread == thread))
            return &keep.v[i];
}

static void keep_close(kept *k)
{
    for (int i = 0; i < K_KINDS; i++)
        if (k->fd[i] >= 0) {
            close(k->fd[i]);
            k->fd[i] = -1;
            keep.files--;
        }
}

/* Rebuilds the table with only the entries used in this scrape, closing the
 * others' files; sized for twice what stays. */
void pe_keep_sweep(void)
{
    size_t live = 0;
    for (size_t i = 0; i < keep.cap; i++)
        if (keep.v[i].id != 0 && keep.v[i].epoch == keep.epoch) live++;
    size_t cap = 64;
    while (cap < (live + 1) * 2)
        cap *= 2;
    kept *old = keep.v;
    size_t old_cap = keep.cap;
    keep.v = core_calloc(cap, sizeof *keep.v);
    keep.cap = cap;
    keep.n = 0;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].id == 0) continue;
        if (old[i].epoch != keep.epoch) {
            keep_close(&old[i]);
            continue;
        }
        *keep_slot(old[i].id, old[i].thread) = old[i];
        keep.n++;
    }
    free(old);
    keep.epoch++;
}

/* The entry a keepable path's file belongs in, made if need be (NULL when the
 * path is not of a kept shape or the table is full), and the file's kind. */
static kept *keep_find(int dirfd, const char *path, int *kind)
{
    int id;
    bool thread;
    if (keep.budget == 0 || (keep.dirfd >= 0 && keep.dirfd != dirfd) ||
        !keep_key(path, &id, &thread, kind))
        return NULL;
    if (keep.v == NULL) pe_keep_sweep(); /* first use: makes the table */
    kept *k = keep_slot(id, thread);
    if (k->id == 0) {
        if ((keep.n + 1) * 2 > keep.cap) return NULL; /* grows at the sweep */
        k->id = id;
        k->thread = thread;
        for (int i = 0; i < K_KINDS; i++)
            k->fd[i] = -1;
        keep.n++;
    }
    k->epoch = keep.epoch;
    return k;
}

/* Keeps fd open as the entry's file of that kind when the budget allows;
 * false when the caller closes it. */
static bool keep_put(kept *k, int kind, int dirfd, int fd)
{
    if (k == NULL || keep.files >= keep.budget) return false;
    k->fd[kind] = fd;
    keep.files++;
    keep.dirfd = dirfd;
    return true;
}

/* Reads from offset 0 into buf as pe_read_at does; -1 on a read error. */
static long read_from_start(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    for (;;) {
        ssize_t n = pread(fd, buf + len, cap - len, (off_t)len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        len += (size_t)n;
        if (n == 0 || len == cap || len < cap / 2) return (long)len;
    }
}

long pe_read_at(int dirfd, const char *path, char *buf, size_t cap)
{
    int kind;
    kept *k = keep_find(dirfd, path, &kind);
    if (k != NULL && k->fd[kind] >= 0) {
        long n = read_from_start(k->fd[kind], buf, cap);
        if (n >= 0) return n;
        keep_close(k); /* the process is gone: the path may be another's now */
    }
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return -1;
    long n = read_from_start(fd, buf, cap);
    int e = errno;
    if (n >= 0 && keep_put(k, kind, dirfd, fd)) return n;
    close(fd);
    errno = e;
    return n;
}

/* stat of a /proc directory through a descriptor kept open on it, which
 * spares the walk of two path components per process and scrape; like a
 * kept file's read, its fstat fails once the process is gone, even if the
 * pid was reused.  A directory that cannot be opened (another user's fd/
 * without the right to list it) is stat'ed by path. */
static int stat_kept(int dirfd, const char *path, struct stat *st)
{
    int kind;
    kept *k = keep_find(dirfd, path, &kind);
    if (k != NULL && k->fd[kind] >= 0) {
        if (fstat(k->fd[kind], st) == 0) return 0;
        keep_close(k);
    }
    int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fstatat(dirfd, path, st, 0);
    if (fstat(fd, st) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (!keep_put(k, kind, dirfd, fd)) close(fd);
    return 0;
}

char *pe_read_all_at(int dirfd, const char *path, core_arena *a, size_t *out_len)
{
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = core_arena_alloc(a, cap + 1);
    for (;;) {
        if (len == cap) {
            char *bigger = core_arena_alloc(a, cap * 2 + 1);
            memcpy(bigger, buf, len);
            buf = bigger;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            close(fd);
            if (n < 0) return NULL;
            break;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    *out_len = len;
    return buf;
}

/* Lists a directory with getdents64: fn(name, ino, ctx) per entry but . and
 * ..; a non-zero return of fn stops. */
typedef int (*dirent_fn)(const char *name, uint64_t ino, void *ctx);

static int each_dirent(int dirfd, const char *path, dirent_fn fn, void *ctx)
{
    int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buf[8192] __attribute__((aligned(8)));
    int rc = 0;
    for (;;) {
        ssize_t n = getdents64(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            rc = n < 0 ? -1 : 0;
            break;
        }
        for (ssize_t off = 0; off < n && rc == 0;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            off += d->d_reclen;
            const char *name = d->d_name;
            if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
                continue;
            rc = fn(name, d->d_ino, ctx);
        }
        if (rc != 0) {
            rc = 0;
            break;
        }
    }
    close(fd);
    return rc;
}

static int count_one(const char *name, uint64_t ino, void *ctx)
{
    (*(long *)ctx)++;
    return 0;
}

long pe_count_dir_at(int dirfd, const char *path)
{
    long n = 0;
    return each_dirent(dirfd, path, count_one, &n) < 0 ? -1 : n;
}

long pe_count_fds_at(int dirfd, const char *fd_dir)
{
    struct stat st;
    if (stat_kept(dirfd, fd_dir, &st) < 0) return -1;
    return st.st_size > 0 ? (long)st.st_size : pe_count_dir_at(dirfd, fd_dir);
}

typedef struct pid_walk {
    pe_pid_fn fn;
    void *ctx;
} pid_walk;

static int pid_one(const char *name, uint64_t ino, void *ctx)
{
    pid_walk *w = ctx;
    long pid = 0;
    for (const char *c = name; *c; c++) {
        if (*c < '0' || *c > '9' || pid > 100000000) return 0;
        pid = pid * 10 + (*c - '0');
    }
    return pid > 0 ? w->fn((int)pid, ino, w->ctx) : 0;
}

int pe_each_pid_at(int dirfd, const char *path, pe_pid_fn fn, void *ctx)
{
    pid_walk w = {fn, ctx};
    return each_dirent(dirfd, path, pid_one, &w);
}
