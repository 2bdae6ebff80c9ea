/*
 * collector_filesystem.c - node_filesystem_* from statfs(2) on each mount
 * point of <procfs>/1/mountinfo (or <procfs>/self/mountinfo when that is
 * missing), the mount points taken relative to --path.rootfs.
 *
 * Filters as upstream: --collector.filesystem.mount-points-exclude and
 * fs-types-exclude (with upstream's default regexes), or the *-include
 * flags (setting an include alone drops the default exclude; both given is
 * an error), and the deprecated ignored-mount-points / ignored-fs-types.
 *
 * Hanging mounts: the statfs calls run on helper threads kept from scrape to
 * scrape, at most --collector.filesystem.stat-workers at a time; the scrape
 * waits for a statfs at most --collector.filesystem.mount-timeout (5s) after
 * it started.  One helper takes the scrape's mounts one after another, and
 * only while some are still queued 2 ms on are more helpers woken: local
 * mounts answer in microseconds, so a scrape costs one thread wakeup (a
 * thread started per mount, as before, cost some 25 us a mount).
 * A statfs that takes longer is given up on: its mount point is printed with
 * device_error="mountpoint timeout" (node_filesystem_device_error 1) and
 * marked stuck, and while it stays stuck later scrapes do not call statfs on
 * it again but print the same error at once.  When the abandoned statfs
 * finally returns, the helper thread clears the mark, so the next scrape
 * measures the mount again (upstream's stuckMounts, except that upstream's
 * scrape itself waits for the hanging statfs).
 *
 * Mounts whose statfs only reads counters kept in memory (tmpfs, ramfs and
 * the ext family: no I/O, no network, nothing that waits on a device) are
 * stat'ed by the collector itself, without a helper: on a machine where every
 * mount is such, a scrape wakes no helper at all (two thread switches saved,
 * some 20 us a scrape with bench/exporters/run).  Their output is the same;
 * only such a mount can never be reported as "mountpoint timeout".
 *
 * Upstream quirk kept: node_filesystem_purgeable_bytes (macOS) is printed as
 * 0 for every mount on Linux by node_exporter 1.12.
 */
#include "mountinfo_parse.h"

#include <pthread.h>
#include <sys/statfs.h>
#include <time.h>

#define DEF_MOUNT_POINTS_EXCLUDED \
    "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
#define DEF_FS_TYPES_EXCLUDED                                                                  \
    "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|"    \
    "iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|" \
    "erofs|sysfs|tracefs)$"

static const char *mp_exclude, *mp_include, *old_mp_exclude, *fs_exclude, *fs_include,
    *old_fs_exclude;
static int64_t mount_timeout_ms, stat_workers;
static nx_filter mp_filter, fs_filter;

static core_flag flags[] = {
    {"collector.filesystem.mount-points-exclude", CORE_FLAG_STRING, &mp_exclude,
     DEF_MOUNT_POINTS_EXCLUDED,
     "Regexp of mount points to exclude for filesystem collector. (mutually exclusive to "
     "mount-points-include)",
     false},
    {"collector.filesystem.ignored-mount-points", CORE_FLAG_STRING, &old_mp_exclude, "",
     "Regexp of mount points to ignore for filesystem collector.", false},
    {"collector.filesystem.mount-points-include", CORE_FLAG_STRING, &mp_include, "",
     "Regexp of mount points to include for filesystem collector. (mutually exclusive to "
     "mount-points-exclude)",
     false},
    {"collector.filesystem.fs-types-exclude", CORE_FLAG_STRING, &fs_exclude, DEF_FS_TYPES_EXCLUDED,
     "Regexp of filesystem types to exclude for filesystem collector. (mutually exclusive to "
     "fs-types-include)",
     false},
    {"collector.filesystem.ignored-fs-types", CORE_FLAG_STRING, &old_fs_exclude, "",
     "Regexp of filesystem types to ignore for filesystem collector.", false},
    {"collector.filesystem.fs-types-include", CORE_FLAG_STRING, &fs_include, "",
     "Regexp of filesystem types to include for filesystem collector. (mutually exclusive to "
     "fs-types-exclude)",
     false},
    {"collector.filesystem.mount-timeout", CORE_FLAG_DURATION, &mount_timeout_ms, "5s",
     "how long to wait for a mount to respond before marking it as stale", false},
    {"collector.filesystem.stat-workers", CORE_FLAG_INT, &stat_workers, "4",
     "how many stat calls to process simultaneously", false},
};

/* The statfs the helper threads call; tests replace it to simulate a hang. */
int (*nx_filesystem_statfs)(const char *path, struct statfs *buf) = statfs;

/* ---- Stuck mount points and the helper threads, shared by all scrapes */

static void add_ns(struct timespec *t, long ns)
{
    t->tv_nsec += ns;
    while (t->tv_nsec >= 1000000000)
        t->tv_sec++, t->tv_nsec -= 1000000000;
}

static bool before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char **stuck;
static size_t n_stuck, cap_stuck;

static ssize_t stuck_index(const char *mp)
{
    for (size_t i = 0; i < n_stuck; i++)
        if (strcmp(stuck[i], mp) == 0) return (ssize_t)i;
    return -1;
}

static void stuck_add(const char *mp) /* with mu held */
{
    if (stuck_index(mp) >= 0) return;
    if (n_stuck == cap_stuck) {
        size_t cap = cap_stuck ? 2 * cap_stuck : 8;
        char **bigger = realloc(stuck, cap * sizeof *stuck);
        if (bigger == NULL) return;
        stuck = bigger, cap_stuck = cap;
    }
    char *copy = strdup(mp);
    if (copy != NULL) stuck[n_stuck++] = copy;
}

static void stuck_remove(const char *mp) /* with mu held */
{
    ssize_t i = stuck_index(mp);
    if (i < 0) return;
    free(stuck[i]);
    stuck[i] = stuck[--n_stuck];
}

/* One statfs; owned by the scrape and the helper that runs it (refs), freed
 * by whichever lets go last, so a scrape can abandon it. */
typedef struct stat_job {
    char *path, *mount_point;
    struct statfs buf;
    int err, refs;
    bool started, done;
    struct timespec deadline; /* set when a helper starts it */
    /* the waiting scrape: its condition and count of jobs not done; NULL once
     * the scrape abandoned the job */
    pthread_cond_t *wake;
    size_t *pending;
    struct stat_job *next; /* in the queue */
} stat_job;

/* The helpers: threads kept from scrape to scrape that take jobs from one
 * queue (all under mu).  `running` counts the helpers in a statfs the scrape
 * still waits for; a helper whose statfs was given up on is no longer counted
 * and finishes on its own. */
static struct {
    pthread_cond_t work;
    stat_job *head, *tail;
    unsigned idle, running;
} helpers = {PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0};

static void job_release(stat_job *j) /* with mu held */
{
    if (--j->refs > 0) return;
    free(j->path);
    free(j->mount_point);
    free(j);
}

static void *helper(void *arg)
{
    pthread_mutex_lock(&mu);
    for (;;) {
        while (helpers.head == NULL) {
            helpers.idle++;
            pthread_cond_wait(&helpers.work, &mu);
            helpers.idle--;
        }
        stat_job *j = helpers.head;
        helpers.head = j->next;
        if (helpers.head == NULL) helpers.tail = NULL;
        j->started = true;
        clock_gettime(CLOCK_REALTIME, &j->deadline);
        int64_t ms = mount_timeout_ms > 0 ? mount_timeout_ms : 0;
        j->deadline.tv_sec += ms / 1000;
        add_ns(&j->deadline, (long)(ms % 1000) * 1000000);
        helpers.running++;
        pthread_mutex_unlock(&mu);

        struct statfs buf;
        int rc = nx_filesystem_statfs(j->path, &buf);
        int err = rc == 0 ? 0 : errno;

        pthread_mutex_lock(&mu);
        j->buf = buf;
        j->err = err;
        j->done = true;
        stuck_remove(j->mount_point); /* a stuck mount that answered has recovered */
        if (j->wake != NULL) {
            helpers.running--;
            if (--*j->pending == 0) pthread_cond_signal(j->wake);
        }
        job_release(j);
    }
    return NULL;
}

/* Gets one more helper going: wakes an idle one or starts one (mu held). */
static void add_helper(void)
{
    if (helpers.idle > 0) {
        pthread_cond_signal(&helpers.work);
        return;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024); /* a statfs call deep */
    pthread_t t;
    pthread_create(&t, &attr, helper, NULL); /* on failure the jobs wait for the others */
    pthread_attr_destroy(&attr);
}

/* After this long with jobs still queued, the scrape gets another helper
 * going (up to `workers` at once); mounts that answer in microseconds are all
 * done by the first helper, with one wakeup for the scrape. */
#define SPREAD_NS (2 * 1000 * 1000)

/* Runs the jobs on the helpers, at most `workers` statfs at a time; a job not
 * done by its deadline (mount-timeout after its start) is abandoned
 * (timed_out set, jobs[i] NULL, its mount point marked stuck). */
static void run_jobs(stat_job **jobs, bool *timed_out, size_t n, size_t workers)
{
    if (n == 0) return;
    pthread_cond_t wake;
    pthread_cond_init(&wake, NULL);
    size_t pending = n;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n; i++) {
        stat_job *j = jobs[i];
        j->refs = 2;
        j->wake = &wake;
        j->pending = &pending;
        if (helpers.tail != NULL)
            helpers.tail->next = j;
        else
            helpers.head = j;
        helpers.tail = j;
    }
    add_helper();
    struct timespec spread_at;
    clock_gettime(CLOCK_REALTIME, &spread_at);
    add_ns(&spread_at, SPREAD_NS);
    while (pending > 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        bool queued = false, any = false;
        struct timespec until = {0, 0};
        for (size_t i = 0; i < n; i++) {
            stat_job *j = jobs[i];
            if (j == NULL || j->done) continue;
            if (!j->started) {
                queued = true;
                continue;
            }
            if (!before(&now, &j->deadline)) {
                timed_out[i] = true;
                stuck_add(j->mount_point);
                j->wake = NULL;
                pending--;
                helpers.running--;
                job_release(j);
                jobs[i] = NULL;
            } else if (!any || before(&j->deadline, &until)) {
                until = j->deadline;
                any = true;
            }
        }
        if (pending == 0) break;
        if (queued && !before(&now, &spread_at)) {
            /* slow mounts: more statfs at once, or a replacement for stuck helpers */
            if (helpers.running < workers) add_helper();
            spread_at = now;
            add_ns(&spread_at, SPREAD_NS);
        }
        if (queued && (!any || before(&spread_at, &until))) until = spread_at;
        pthread_cond_timedwait(&wake, &mu, &until);
    }
    pthread_mutex_unlock(&mu);
    pthread_cond_destroy(&wake);
}

/* Filesystem types whose statfs answers from memory (see the top of the file). */
static bool stat_inline(const char *fs_type)
{
    static const char *const types[] = {"ext2", "ext3", "ext4", "ramfs", "tmpfs"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(fs_type, types[i]) == 0) return true;
    return false;
}

/* ---- Output */

typedef struct fs_stat {
    const mi_mount *m;
    const char *device_error;
    double size, free, avail, files, files_free, ro;
    bool error;
} fs_stat;

static const char *const labels[] = {"device", "mountpoint", "fstype", "device_error", NULL};

static void gauge(nx_out *o, const fs_stat *s, const char *name, const char *help, double v)
{
    nx_family(o, name, help, PROM_GAUGE, labels);
    nx_samplev(o, v, s->m->device, s->m->mount_point, s->m->fs_type, s->device_error, NULL);
}

static bool same_labels(const fs_stat *a, const fs_stat *b)
{
    return strcmp(a->m->device, b->m->device) == 0 &&
           strcmp(a->m->mount_point, b->m->mount_point) == 0 &&
           strcmp(a->m->fs_type, b->m->fs_type) == 0 &&
           strcmp(a->device_error, b->device_error) == 0 && strcmp(a->m->major, b->m->major) == 0 &&
           strcmp(a->m->minor, b->m->minor) == 0;
}

static void emit(nx_out *o, const fs_stat *s)
{
    gauge(o, s, "node_filesystem_device_error",
          "Whether an error occurred while getting statistics for the given device.", s->error);
    gauge(o, s, "node_filesystem_readonly", "Filesystem read-only status.", s->ro);
    if (s->error) return;
    gauge(o, s, "node_filesystem_size_bytes", "Filesystem size in bytes.", s->size);
    gauge(o, s, "node_filesystem_free_bytes", "Filesystem free space in bytes.", s->free);
    gauge(o, s, "node_filesystem_avail_bytes",
          "Filesystem space available to non-root users in bytes.", s->avail);
    gauge(o, s, "node_filesystem_files", "Filesystem total file nodes.", s->files);
    gauge(o, s, "node_filesystem_files_free", "Filesystem total free file nodes.", s->files_free);
    static const char *const info_labels[] = {"device", "major", "minor", "mountpoint", NULL};
    nx_family(o, "node_filesystem_mount_info", "Filesystem mount information.", PROM_GAUGE,
              info_labels);
    nx_samplev(o, 1, s->m->device, s->m->major, s->m->minor, s->m->mount_point, NULL);
    gauge(o, s, "node_filesystem_purgeable_bytes",
          "Filesystem space available including purgeable space (MacOS specific).", 0);
}

static void fill_stat(fs_stat *s, const struct statfs *buf, int err)
{
    if (err != 0) {
        s->error = true;
        s->device_error = strerror(err);
        return;
    }
    double bsize = (double)buf->f_bsize;
    s->size = (double)buf->f_blocks * bsize;
    s->free = (double)buf->f_bfree * bsize;
    s->avail = (double)buf->f_bavail * bsize;
    s->files = (double)buf->f_files;
    s->files_free = (double)buf->f_ffree;
}

static void fill(fs_stat *s, const stat_job *j, bool timed_out)
{
    if (timed_out) {
        s->error = true;
        s->device_error = "mountpoint timeout";
        return;
    }
    fill_stat(s, &j->buf, j->err);
}

static int collect(nx_out *o)
{
    mi_mount *m;
    size_t n;
    char why[512];
    if (mi_read(o, &m, &n, why, sizeof why) < 0) return nx_error(o, "%s", why);
    fs_stat *stats = core_arena_alloc(nx_arena(o), (n + 1) * sizeof *stats);
    stat_job **jobs = core_arena_calloc(nx_arena(o), n + 1, sizeof *jobs);
    bool *timed_out = core_arena_calloc(nx_arena(o), n + 1, sizeof *timed_out);
    size_t *job_stat = core_arena_calloc(nx_arena(o), n + 1, sizeof *job_stat);
    size_t n_stats = 0, n_jobs = 0, n_inline = 0;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n; i++) {
        if (nx_filter_ignored(&mp_filter, m[i].mount_point) ||
            nx_filter_ignored(&fs_filter, m[i].fs_type))
            continue;
        fs_stat *s = &stats[n_stats++];
        *s = (fs_stat){.m = &m[i], .device_error = "", .ro = m[i].read_only};
        if (stuck_index(m[i].mount_point) >= 0) {
            *s = (fs_stat){.m = &m[i], .device_error = "mountpoint timeout", .error = true};
            continue;
        }
        if (stat_inline(m[i].fs_type)) {
            n_inline++;
            continue; /* stat'ed below, without the lock */
        }
        stat_job *j = calloc(1, sizeof *j);
        if (j != NULL) j->path = strdup(nx_root(o, m[i].mount_point));
        if (j != NULL) j->mount_point = strdup(m[i].mount_point);
        if (j == NULL || j->path == NULL || j->mount_point == NULL) {
            if (j != NULL) free(j->path), free(j->mount_point), free(j);
            s->error = true, s->device_error = "cannot allocate memory";
            continue;
        }
        job_stat[n_jobs] = n_stats - 1;
        jobs[n_jobs++] = j;
    }
    pthread_mutex_unlock(&mu);
    for (size_t i = 0; i < n_stats && n_inline > 0; i++) {
        fs_stat *s = &stats[i];
        if (s->error || !stat_inline(s->m->fs_type)) continue;
        struct statfs buf;
        int rc = nx_filesystem_statfs(nx_root(o, s->m->mount_point), &buf);
        fill_stat(s, &buf, rc == 0 ? 0 : errno);
    }
    run_jobs(jobs, timed_out, n_jobs, stat_workers > 0 ? (size_t)stat_workers : 1);
    pthread_mutex_lock(&mu);
    for (size_t k = 0; k < n_jobs; k++) {
        fill(&stats[job_stat[k]], jobs[k], timed_out[k]);
        if (jobs[k] != NULL) job_release(jobs[k]);
    }
    pthread_mutex_unlock(&mu);
    for (size_t i = 0; i < n_stats; i++) {
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = same_labels(&stats[k], &stats[i]);
        if (!seen) emit(o, &stats[i]);
    }
    return 0;
}

/* newMountPointsFilter / newFSTypeFilter: the deprecated flag stands in for
 * an exclude that was not given; an include alone drops the default exclude. */
static int make_filter(nx_filter *f, core_flag *exclude, const char *old, const char *include,
                       const char *what, core_err *err)
{
    const char *ex = *(const char **)exclude->dest;
    if (old != NULL && *old != '\0') {
        if (exclude->given) {
            core_err_set(err, "--collector.filesystem.ignored-%s and --%s are mutually exclusive",
                         what, exclude->name);
            return -1;
        }
        ex = old;
    }
    if (include != NULL && *include != '\0' && !exclude->given) ex = "";
    if (ex != NULL && *ex != '\0' && include != NULL && *include != '\0') {
        core_err_set(err, "--%s and the matching include flag are mutually exclusive",
                     exclude->name);
        return -1;
    }
    return nx_filter_init(f, include, ex, exclude->name, err);
}

static void free_filter(nx_filter *f)
{
    nx_regex_free(f->include);
    nx_regex_free(f->exclude);
    f->include = f->exclude = NULL;
}

static int init(core_err *err)
{
    free_filter(&mp_filter); /* init may run again (tests) */
    free_filter(&fs_filter);
    if (make_filter(&mp_filter, &flags[0], old_mp_exclude, mp_include, "mount-points", err) < 0)
        return -1;
    return make_filter(&fs_filter, &flags[3], old_fs_exclude, fs_include, "fs-types", err);
}

const nx_collector nx_collector_filesystem = {
    .name = "filesystem",
    .default_on = true,
    .collect = collect,
    .init = init,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
