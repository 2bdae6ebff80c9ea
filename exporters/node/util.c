/*
 * util.c - paths, file reading, parsing and regexes for collectors, see node.h.
 *
 * Files under /proc and /sys are small and generated on read, so they are read
 * whole with plain read(2) calls into the scrape's arena.  Regexes use PCRE2
 * (interpreted: their answers are memoized); like Go's regexp.MatchString
 * they match anywhere in the string unless the pattern anchors itself.
 */
#include "out.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

nx_paths nx_path = {"/proc", "/sys", "/", "/run/udev/data"};

static const char *join(nx_out *o, const char *root, const char *rel)
{
    size_t rl = strlen(root);
    while (rl > 1 && root[rl - 1] == '/')
        rl--;
    while (*rel == '/')
        rel++;
    if (*rel == '\0') return core_arena_strndup(&o->arena, root, rl);
    return nx_sprintf(o, "%.*s/%s", (int)rl, root, rel);
}

const char *nx_proc(nx_out *o, const char *rel)
{
    return join(o, nx_path.procfs, rel);
}

const char *nx_sys(nx_out *o, const char *rel)
{
    return join(o, nx_path.sysfs, rel);
}

const char *nx_root(nx_out *o, const char *rel)
{
    return join(o, nx_path.rootfs, rel);
}

const char *nx_udev(nx_out *o, const char *rel)
{
    return join(o, nx_path.udev_data, rel);
}

/* ---- Files of /proc and /sys kept open
 *
 * Opening a sysfs or procfs file walks the path through kernfs or procfs,
 * which costs more than reading it; their files can be read again from offset
 * 0 to get fresh contents.  So the first read of such a file keeps it open and
 * later scrapes pread() it.  Only files on procfs and sysfs are kept (checked
 * with fstatfs): a regular file, such as a fixture tree's or a textfile, may be
 * replaced by a new one under the same name.  A kept file that fails to read
 * (the device went away) is closed once no reader uses it, and opened afresh
 * the next time.  Readers do not hold the lock while they read, so a read
 * that blocks holds up only its own collector.
 */

#define KEPT_MAX    2048 /* table slots; at most half are used */
#define PROC_MAGIC  0x9fa0
#define SYSFS_MAGIC 0x62656572

typedef struct kept {
    char *path;
    int fd;       /* -1: to be opened again */
    int users;    /* readers between kept_get and kept_put */
    unsigned gen; /* counts the fds it has had (nx_read_mounts) */
    bool stale;
} kept;

static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
static kept kept_table[KEPT_MAX];
static size_t kept_count;

static bool worth_keeping(int fd)
{
    struct statfs sf;
    return fstatfs(fd, &sf) == 0 && (sf.f_type == PROC_MAGIC || sf.f_type == SYSFS_MAGIC);
}

/* The table slot of path, or the empty slot where it would go (lock held). */
static kept *kept_slot(const char *path)
{
    for (size_t i = core_hash_str(path) & (KEPT_MAX - 1);; i = (i + 1) & (KEPT_MAX - 1))
        if (kept_table[i].path == NULL || strcmp(kept_table[i].path, path) == 0)
            return &kept_table[i];
}

/* An fd to pread path from, and the slot it belongs to (NULL: the caller
 * closes the fd).  -1 when the file cannot be opened. */
static int kept_get(const char *path, kept **slot)
{
    *slot = NULL;
    pthread_mutex_lock(&kept_lock);
    kept *k = kept_slot(path);
    if (k->path != NULL && k->fd >= 0 && !k->stale) {
        k->users++;
        *slot = k;
        pthread_mutex_unlock(&kept_lock);
        return k->fd;
    }
    pthread_mutex_unlock(&kept_lock);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || !worth_keeping(fd)) return fd;
    pthread_mutex_lock(&kept_lock);
    k = kept_slot(path);
    if (k->path == NULL && kept_count < KEPT_MAX / 2) {
        k->path = core_strdup(path);
        k->fd = -1;
        kept_count++;
    }
    if (k->path != NULL && k->fd < 0 && k->users == 0) {
        k->fd = fd;
        k->gen++;
        k->stale = false;
        k->users = 1;
        *slot = k;
    }
    pthread_mutex_unlock(&kept_lock);
    return fd;
}

/* Ends a read.  A read that failed because the file or its device is gone
 * retires the kept fd; other errors (EINVAL from an attribute a virtual
 * device does not have) come back the same on every read, so the fd stays. */
static void kept_put(kept *k, int fd, bool failed)
{
    failed = failed && (errno == ENODEV || errno == ENXIO || errno == ENOENT || errno == EIO);
    if (k == NULL) {
        close(fd);
        return;
    }
    pthread_mutex_lock(&kept_lock);
    k->users--;
    k->stale = k->stale || failed;
    if (k->stale && k->users == 0 && k->fd >= 0) {
        close(k->fd);
        k->fd = -1;
        k->stale = false;
    }
    pthread_mutex_unlock(&kept_lock);
}

/* Reads a whole file with pread from offset 0: into a page on the stack
 * first, which holds nearly every /proc and /sys file, and past that into
 * arena memory that doubles.  A small first read matters for sysctl files,
 * for which the kernel zeroes a buffer the size of the read.  With
 * max_record > 0 a read shorter than a page by at least max_record bytes is
 * taken as the end (see nx_read_records).  NULL on a read error. */
static char *read_fd(nx_out *o, int fd, size_t max_record, size_t *len)
{
    char page[4096];
    char *big = NULL; /* once the page is full */
    size_t cap = sizeof page, n = 0;
    for (;;) {
        if (cap - n < 2) {
            char *bigger = core_arena_alloc(&o->arena, cap * 2);
            memcpy(bigger, big != NULL ? big : page, n);
            big = bigger;
            cap *= 2;
        }
        size_t want = cap - n - 1;
        ssize_t r = pread(fd, (big != NULL ? big : page) + n, want, (off_t)n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return NULL;
        if (r == 0) break;
        n += (size_t)r;
        if (max_record > 0 && (size_t)r < want && (size_t)r + max_record <= 4096) break;
    }
    *len = n;
    if (big == NULL) return core_arena_strndup(&o->arena, page, n);
    big[n] = '\0';
    return big;
}

static char *read_file(nx_out *o, const char *path, size_t *len, size_t max_record)
{
    kept *k;
    int fd = kept_get(path, &k);
    if (fd < 0) return NULL;
    size_t n = 0;
    char *out = read_fd(o, fd, max_record, &n);
    int saved = errno;
    kept_put(k, fd, out == NULL);
    errno = saved;
    if (out != NULL && len != NULL) *len = n;
    return out;
}

char *nx_read_file(nx_out *o, const char *path, size_t *len)
{
    return read_file(o, path, len, 0);
}

char *nx_read_records(nx_out *o, const char *path, size_t max_record, size_t *len)
{
    return read_file(o, path, len, max_record);
}

/* ---- Mount tables
 *
 * The kernel tells a reader of /proc/<pid>/mountinfo that the mount table
 * changed (a mount, an unmount, a remount) by flagging POLLPRI on its open
 * file, until it polls again.  With the file kept open, a scrape polls first
 * and reads only after a change, handing out a copy of the last text
 * otherwise: writing the table is the kernel's largest cost in the
 * filesystem collector (some 20 us for 20 mounts, a path walk per mount).  A
 * change between the poll and the read is flagged for the next scrape, which
 * reads again.  A file that is not kept (not on procfs) is read every time. */

static struct {
    pthread_mutex_t lock;
    struct {
        const kept *k;
        unsigned gen; /* k's fd the text was read from */
        char *text;
        size_t len;
    } slot[2];
    unsigned next;
} mounts = {.lock = PTHREAD_MUTEX_INITIALIZER};

char *nx_read_mounts(nx_out *o, const char *path, size_t *len)
{
    kept *k;
    int fd = kept_get(path, &k);
    if (fd < 0) return NULL;
    size_t n = 0;
    if (k == NULL) {
        char *text = read_fd(o, fd, 0, &n);
        int saved = errno;
        close(fd);
        errno = saved;
        if (text != NULL && len != NULL) *len = n;
        return text;
    }
    pthread_mutex_lock(&kept_lock);
    unsigned gen = k->gen;
    pthread_mutex_unlock(&kept_lock);
    pthread_mutex_lock(&mounts.lock);
    int at = -1;
    for (int i = 0; i < 2 && at < 0; i++)
        if (mounts.slot[i].k == k) at = i;
    if (at < 0) {
        at = (int)(mounts.next++ % 2);
        free(mounts.slot[at].text);
        mounts.slot[at].k = k;
        mounts.slot[at].text = NULL;
    }
    struct pollfd p = {.fd = fd, .events = POLLPRI};
    bool changed = poll(&p, 1, 0) < 0 || (p.revents & (POLLPRI | POLLERR | POLLNVAL)) != 0;
    char *text;
    if (!changed && mounts.slot[at].text != NULL && mounts.slot[at].gen == gen) {
        n = mounts.slot[at].len;
        text = core_arena_strndup(&o->arena, mounts.slot[at].text, n);
    } else {
        text = read_fd(o, fd, 0, &n);
        free(mounts.slot[at].text);
        mounts.slot[at].text = text != NULL ? core_strndup(text, n) : NULL;
        mounts.slot[at].len = n;
        mounts.slot[at].gen = gen;
    }
    int saved = errno;
    pthread_mutex_unlock(&mounts.lock);
    kept_put(k, fd, text == NULL);
    errno = saved;
    if (text != NULL && len != NULL) *len = n;
    return text;
}

/* The files of nx_read_shared: a few slots, each the text of one path as read
 * in one scrape, replaced by the next scrape's read. */
#define SHARED_SLOTS 4

static struct {
    pthread_mutex_t lock;
    struct {
        char *path, *text;
        size_t len;
        unsigned long scrape;
    } slot[SHARED_SLOTS];
    unsigned next;
} shared = {.lock = PTHREAD_MUTEX_INITIALIZER};

char *nx_read_shared(nx_out *o, const char *path, size_t *len)
{
    if (o->scrape == 0) return read_file(o, path, len, 0);
    pthread_mutex_lock(&shared.lock);
    for (int i = 0; i < SHARED_SLOTS; i++) {
        if (shared.slot[i].path == NULL || shared.slot[i].scrape != o->scrape ||
            strcmp(shared.slot[i].path, path) != 0)
            continue;
        char *copy = core_arena_strndup(&o->arena, shared.slot[i].text, shared.slot[i].len);
        if (len != NULL) *len = shared.slot[i].len;
        pthread_mutex_unlock(&shared.lock);
        return copy;
    }
    pthread_mutex_unlock(&shared.lock);
    size_t n = 0;
    char *text = read_file(o, path, &n, 0);
    if (text == NULL) return NULL;
    if (len != NULL) *len = n;
    pthread_mutex_lock(&shared.lock);
    int at = -1;
    for (int i = 0; i < SHARED_SLOTS && at < 0; i++)
        if (shared.slot[i].path != NULL && strcmp(shared.slot[i].path, path) == 0) at = i;
    if (at < 0) at = (int)(shared.next++ % SHARED_SLOTS);
    if (shared.slot[at].path == NULL || strcmp(shared.slot[at].path, path) != 0) {
        free(shared.slot[at].path);
        shared.slot[at].path = core_strdup(path);
    }
    free(shared.slot[at].text);
    shared.slot[at].text = core_strndup(text, n); /* the scrape's copy is its own to change */
    shared.slot[at].len = n;
    shared.slot[at].scrape = o->scrape;
    pthread_mutex_unlock(&shared.lock);
    return text;
}

ssize_t nx_read_bytes(const char *path, char *buf, size_t cap)
{
    kept *k;
    int fd = kept_get(path, &k);
    if (fd < 0) return -1;
    ssize_t n;
    do
        n = pread(fd, buf, cap - 1, 0);
    while (n < 0 && errno == EINTR);
    int saved = errno;
    kept_put(k, fd, n < 0);
    errno = saved;
    if (n >= 0) buf[n] = '\0';
    return n;
}

/* Reads a small file into buf (NUL-terminated, trailing newline dropped). */
static int read_small(const char *path, char *buf, size_t cap)
{
    ssize_t n = nx_read_bytes(path, buf, cap);
    if (n < 0) return -1;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    return 0;
}

int nx_read_u64(const char *path, uint64_t *out)
{
    char buf[64];
    return read_small(path, buf, sizeof buf) == 0 && nx_parse_u64(buf, out) ? 0 : -1;
}

int nx_read_i64(const char *path, int64_t *out)
{
    char buf[64], *end;
    if (read_small(path, buf, sizeof buf) < 0 || buf[0] == '\0') return -1;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (*end != '\0' || errno != 0) return -1;
    *out = v;
    return 0;
}

int nx_read_double(const char *path, double *out)
{
    char buf[64];
    return read_small(path, buf, sizeof buf) == 0 && nx_parse_double(buf, out) ? 0 : -1;
}

char *nx_read_line(nx_out *o, const char *path)
{
    char buf[4096];
    if (read_small(path, buf, sizeof buf) < 0) return NULL;
    return core_arena_strdup(&o->arena, buf);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* getdents64 into a buffer on the stack, names straight into the arena:
 * opendir() would malloc and free 32 KiB and fstat the directory (nine
 * listings a scrape). */
int nx_list_dir(nx_out *o, const char *path, char ***names)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t n = 0, cap = 32;
    char **v = core_arena_alloc(&o->arena, cap * sizeof *v);
    char buf[8192] __attribute__((aligned(8)));
    for (;;) {
        ssize_t got = getdents64(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (got == 0) break;
        for (ssize_t off = 0; off < got;) {
            const struct dirent64 *d = (const struct dirent64 *)(buf + off);
            off += d->d_reclen;
            const char *name = d->d_name;
            if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
                continue;
            if (n + 1 == cap) {
                char **bigger = core_arena_alloc(&o->arena, 2 * cap * sizeof *v);
                memcpy(bigger, v, n * sizeof *v);
                v = bigger;
                cap *= 2;
            }
            v[n++] = core_arena_strdup(&o->arena, name);
        }
    }
    close(fd);
    qsort(v, n, sizeof *v, cmp_names);
    v[n] = NULL;
    *names = v;
    return (int)n;
}

size_t nx_fields(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '\n') break;
        fields[n++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n')
            p++;
        if (*p == '\0') break;
        *p++ = '\0';
    }
    return n;
}

bool nx_parse_double(const char *s, double *out)
{
    if (s == NULL || *s == '\0') return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0' || (errno == ERANGE && fabs(v) > 1)) return false;
    *out = v;
    return true;
}

bool nx_parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9') return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || errno != 0) return false;
    *out = v;
    return true;
}

/* ---- Text */

char *nx_valid_utf8(nx_out *o, const char *s)
{
    size_t n = strlen(s);
    char *out = core_arena_alloc(nx_arena(o), 3 * n + 1), *w = out;
    const unsigned char *p = (const unsigned char *)s;
    bool in_bad = false;
    while (*p != '\0') {
        size_t len = *p < 0x80             ? 1
                     : (*p & 0xE0) == 0xC0 ? 2
                     : (*p & 0xF0) == 0xE0 ? 3
                     : (*p & 0xF8) == 0xF0 ? 4
                                           : 0;
        bool ok = len > 0 && (len != 2 || *p >= 0xC2) && (len != 4 || *p <= 0xF4);
        for (size_t i = 1; ok && i < len; i++)
            ok = (p[i] & 0xC0) == 0x80;
        if (ok && len == 3) ok = !(p[0] == 0xE0 && p[1] < 0xA0) && !(p[0] == 0xED && p[1] >= 0xA0);
        if (ok && len == 4) ok = !(p[0] == 0xF0 && p[1] < 0x90) && !(p[0] == 0xF4 && p[1] >= 0x90);
        if (!ok) {
            if (!in_bad) memcpy(w, "\xEF\xBF\xBD", 3), w += 3;
            in_bad = true;
            p++;
            continue;
        }
        in_bad = false;
        memcpy(w, p, len);
        w += len, p += len;
    }
    *w = '\0';
    return out;
}

/* ---- Regexes */

/* The names a filter sees (devices, fields) are the same at every scrape, so
 * each regex remembers its answers: after the first scrape a match is a hash
 * lookup instead of a regex run.  The memo starts small and doubles (a filter
 * sees a few dozen names; 4,096 slots from the start cost 64 KiB of resident
 * memory per regex, some 600 KiB in all); past MEMO_MAX slots the regex simply
 * runs.  Since nearly every match is answered from the memo, the patterns are
 * not JIT-compiled: the JIT compiler's code would stay resident (some 300 KiB
 * of libpcre2) for runs that hardly ever happen. */
#define MEMO_MIN 32
#define MEMO_MAX 4096 /* at most half used */

typedef struct memo {
    char *name; /* NULL: free */
    bool match;
} memo;

struct nx_regex {
    pcre2_code *code;
    pthread_mutex_t lock; /* the memo is shared by the collectors' threads */
    memo *memo;
    size_t n_memo, cap;
};

int nx_regex_compile(const char *pattern, const char *flag, nx_regex **out, core_err *err)
{
    *out = NULL;
    if (pattern == NULL || pattern[0] == '\0') return 0;
    int code;
    PCRE2_SIZE off;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off, NULL);
    if (re == NULL) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        return core_err_set(err, "invalid regex for %s at offset %zu: %s", flag, (size_t)off,
                            (const char *)msg);
    }
    nx_regex *r = core_calloc(1, sizeof *r);
    r->code = re;
    r->cap = MEMO_MIN;
    r->memo = core_calloc(r->cap, sizeof *r->memo);
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return 0;
}

static size_t memo_slot(const memo *m, size_t cap, const char *s)
{
    size_t i = core_hash_str(s) & (cap - 1);
    while (m[i].name != NULL && strcmp(m[i].name, s) != 0)
        i = (i + 1) & (cap - 1);
    return i;
}

/* Doubles the memo (lock held). */
static void memo_grow(nx_regex *r)
{
    size_t cap = r->cap * 2;
    memo *m = core_calloc(cap, sizeof *m);
    for (size_t i = 0; i < r->cap; i++)
        if (r->memo[i].name != NULL) m[memo_slot(m, cap, r->memo[i].name)] = r->memo[i];
    free(r->memo);
    r->memo = m;
    r->cap = cap;
}

bool nx_regex_match(const nx_regex *re, const char *s)
{
    if (re == NULL) return false;
    nx_regex *r = (nx_regex *)re;
    pthread_mutex_lock(&r->lock);
    size_t i = memo_slot(r->memo, r->cap, s);
    bool match;
    if (r->memo[i].name != NULL) {
        match = r->memo[i].match;
    } else {
        /* Match data made for the run and freed: pcre2_match keeps 20 KiB of
         * frames in it, for a run that the memo makes rare. */
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(r->code, NULL);
        match = md != NULL &&
                pcre2_match(r->code, (PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0, 0, md, NULL) >= 0;
        pcre2_match_data_free(md);
        if ((r->n_memo + 1) * 2 > r->cap && r->cap < MEMO_MAX) {
            memo_grow(r);
            i = memo_slot(r->memo, r->cap, s);
        }
        if ((r->n_memo + 1) * 2 <= r->cap) {
            r->memo[i].name = core_strdup(s);
            r->memo[i].match = match;
            r->n_memo++;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return match;
}

void nx_regex_free(nx_regex *re)
{
    if (re == NULL) return;
    for (size_t i = 0; i < re->cap; i++)
        free(re->memo[i].name);
    free(re->memo);
    pcre2_code_free(re->code);
    pthread_mutex_destroy(&re->lock);
    free(re);
}

int nx_filter_init(nx_filter *f, const char *include, const char *exclude, const char *what,
                   core_err *err)
{
    f->include = f->exclude = NULL;
    if (include != NULL && include[0] != '\0' && exclude != NULL && exclude[0] != '\0')
        return core_err_set(err, "%s: the include and exclude flags are mutually exclusive", what);
    if (nx_regex_compile(include, what, &f->include, err) < 0 ||
        nx_regex_compile(exclude, what, &f->exclude, err) < 0)
        return -1;
    return 0;
}

bool nx_filter_ignored(const nx_filter *f, const char *name)
{
    return (f->exclude != NULL && nx_regex_match(f->exclude, name)) ||
           (f->include != NULL && !nx_regex_match(f->include, name));
}

/* ---- Name tables
 *
 * Open addressing over entry pointers, at most half full.  A reader loads the
 * current table and probes it without a lock: entries never change once
 * added, and an insertion that would fill the table past half builds a bigger
 * copy and publishes it, keeping the old one (chained through its first
 * word) for readers still probing it, until nx_names_clear.  Past NAMES_MAX
 * entries (a file whose names keep changing) new names are made afresh each
 * time into the scrape's memory instead of kept. */

#define NAMES_MAX 8192

typedef struct name_entry {
    uint64_t hash;
    size_t len;
    const char *key;
    nx_name e;
} name_entry;

typedef struct name_tab {
    struct name_tab *prev; /* an older table, kept for readers */
    size_t cap, n;
    name_entry *_Atomic slots[];
} name_tab;

static name_entry *tab_find(const name_tab *t, uint64_t h, const char *name, size_t len)
{
    if (t == NULL) return NULL;
    for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        name_entry *e = atomic_load_explicit(&t->slots[i], memory_order_acquire);
        if (e == NULL) return NULL;
        if (e->hash == h && e->len == len && memcmp(e->key, name, len) == 0) return e;
    }
}

static void tab_put(name_tab *t, name_entry *e)
{
    size_t i = e->hash & (t->cap - 1);
    while (atomic_load_explicit(&t->slots[i], memory_order_relaxed) != NULL)
        i = (i + 1) & (t->cap - 1);
    atomic_store_explicit(&t->slots[i], e, memory_order_release); /* the entry is whole */
    t->n++;
}

const nx_name *nx_names_get(nx_names *t, nx_out *o, const char *name, size_t len, nx_name_fn make,
                            void *ctx)
{
    uint64_t h = core_hash(name, len);
    name_entry *e = tab_find(atomic_load_explicit(&t->tab, memory_order_acquire), h, name, len);
    if (e != NULL) return &e->e;
    pthread_mutex_lock(&t->lock);
    name_tab *tab = atomic_load_explicit(&t->tab, memory_order_relaxed);
    e = tab_find(tab, h, name, len);
    if (e != NULL) {
        pthread_mutex_unlock(&t->lock);
        return &e->e;
    }
    char *key = core_arena_strndup(&o->arena, name, len);
    nx_name made = {0};
    make(o, key, &made, ctx);
    if (tab != NULL && tab->n >= NAMES_MAX) {
        pthread_mutex_unlock(&t->lock);
        nx_name *tmp = core_arena_alloc(&o->arena, sizeof *tmp);
        *tmp = made;
        return tmp;
    }
    if (t->mem.block_size == 0) t->mem.block_size = 4096;
    e = core_arena_alloc(&t->mem, sizeof *e);
    e->hash = h;
    e->len = len;
    e->key = core_arena_strndup(&t->mem, name, len);
    e->e = made;
    if (made.family != NULL) e->e.family = core_arena_strdup(&t->mem, made.family);
    if (made.help != NULL) e->e.help = core_arena_strdup(&t->mem, made.help);
    if (tab == NULL || (tab->n + 1) * 2 > tab->cap) {
        size_t cap = tab != NULL ? tab->cap * 2 : 64;
        name_tab *bigger = core_calloc(1, sizeof *bigger + cap * sizeof *bigger->slots);
        bigger->cap = cap;
        for (size_t i = 0; tab != NULL && i < tab->cap; i++) {
            name_entry *old = atomic_load_explicit(&tab->slots[i], memory_order_relaxed);
            if (old != NULL) tab_put(bigger, old);
        }
        bigger->prev = tab;
        tab_put(bigger, e);
        atomic_store_explicit(&t->tab, bigger, memory_order_release);
    } else {
        tab_put(tab, e);
    }
    pthread_mutex_unlock(&t->lock);
    return &e->e;
}

void nx_names_clear(nx_names *t)
{
    pthread_mutex_lock(&t->lock);
    for (name_tab *tab = atomic_load(&t->tab), *prev; tab != NULL; tab = prev) {
        prev = tab->prev;
        free(tab);
    }
    atomic_store(&t->tab, NULL);
    core_arena_destroy(&t->mem);
    pthread_mutex_unlock(&t->lock);
}
