/*
 * scrape.c - one pass over /proc feeding the tracker, then the metrics.
 *
 * The cost of a scrape is what it reads, so it reads as little as it can:
 *
 *   every process   /proc/<pid>/stat only (its start time makes the identity;
 *                   --top.* takes its numbers from the same read)
 *   a new process   cmdline, status (for the user name) and cgroup only when
 *                   the namer's rules or templates use them
 *   a tracked one   status, io, wchan, the fd count (a stat of fd/), the fd
 *                   limit (prlimit(2) when procfs is the live /proc, else limits),
 *                   smaps_rollup with -gather-smaps, and task/<tid>/{stat,
 *                   status,io,wchan} when it has two or more threads
 *
 * A process (or thread) that has not run since the scrape before keeps its
 * wchan, and a single-threaded one its io counters: when stat says it sleeps
 * (S, D or I) and its status gives the same voluntary and involuntary context
 * switches as last time, it has not been switched in since (every run ends
 * in a switch out, which counts), so it sleeps where it slept and did no I/O.
 * wchan is the costliest of the files for the kernel (it unwinds the stack
 * and looks the address up among the kernel's symbols: a tenth of a scrape
 * over 1,000 idle processes).  What the scrape reports is what reading both
 * files at the moment of the stat read would give.
 *
 * Reads go into stack buffers; per-scrape data (new processes' strings,
 * thread samples, labels) comes from one arena reset at the start of the
 * next scrape.  Errors follow upstream: a tracked process whose stat, status
 * or limits cannot be read (for another reason than having exited) counts in
 * namedprocess_scrape_procread_errors; one missing io, fd, wchan, smaps or
 * thread data counts once in namedprocess_scrape_partial_errors.
 *
 * A family without samples is left out, as client_golang leaves it out.
 *
 * Quirks kept from upstream so dashboards read the same numbers: a process
 * with two or more threads adds its own state and wchan plus each thread's to
 * the group's states and threads_wchan, its context switches are the sum
 * over its threads, and a group without processes reports an oldest start
 * time of Go's zero time (-62135596800).
 */
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct pe_user {
    int uid;
    char *name;
};

/* ---- Setup */

static int read_boot_time(int procfd, uint64_t *btime)
{
    char buf[16384];
    long n = pe_read_at(procfd, "stat", buf, sizeof buf);
    const char *p = buf, *end = buf + (n > 0 ? n : 0);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (le - p > 6 && memcmp(p, "btime ", 6) == 0) {
            *btime = strtoull(p + 6, NULL, 10);
            return 0;
        }
        p = le + 1;
    }
    return -1;
}

/* Raises the soft open-file limit to the hard one (as Go programs, upstream
 * included, do at start) and lets procfs.c keep files open within it,
 * leaving room for sockets and the exporter's own files. */
static void keep_files_open(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 1 << 20 ? 1 << 20 : rl.rlim_max;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) getrlimit(RLIMIT_NOFILE, &rl);
    }
    pe_keep_init(rl.rlim_cur > 512 ? (size_t)(rl.rlim_cur - 256) : 0);
}

int pe_exporter_init(pe_exporter *x, const pe_options *opt, pe_namer *namer, core_err *err)
{
    memset(x, 0, sizeof *x);
    x->opt = *opt;
    x->namer = namer;
    x->procfd = open(opt->procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (x->procfd < 0) return core_err_set(err, "open %s: %s", opt->procfs, strerror(errno));
    if (read_boot_time(x->procfd, &x->boot_time) < 0) {
        close(x->procfd);
        return core_err_set(err, "could not read btime from %s/stat", opt->procfs);
    }
    x->page_size = sysconf(_SC_PAGESIZE);
    keep_files_open();
    x->procfs_is_proc = strcmp(opt->procfs, "/proc") == 0 || strcmp(opt->procfs, "/proc/") == 0;
    x->needs = pe_namer_needs(namer);
    core_arena_init(&x->arena, 0);
    pe_tracker_opts to = {opt->children, opt->recheck || opt->recheck_limit > 0, opt->recheck_limit,
                          opt->remove_empty};
    pe_tracker_init(&x->tracker, namer, &to, &x->arena);
    return 0;
}

void pe_exporter_destroy(pe_exporter *x)
{
    pe_tracker_destroy(&x->tracker);
    pe_top_destroy(&x->top);
    core_arena_destroy(&x->arena);
    pe_namer_free(x->namer);
    for (size_t i = 0; i < x->n_users; i++)
        free(x->users[i].name);
    free(x->users);
    if (x->procfd >= 0) close(x->procfd);
    memset(x, 0, sizeof *x);
}

/* ---- User names, looked up once per uid */

static const char *username(pe_exporter *x, int uid)
{
    for (size_t i = 0; i < x->n_users; i++)
        if (x->users[i].uid == uid) return x->users[i].name;
    char buf[4096], num[16];
    struct passwd pw, *res = NULL;
    getpwuid_r((uid_t)uid, &pw, buf, sizeof buf, &res);
    snprintf(num, sizeof num, "%d", uid);
    if (x->n_users == x->cap_users) {
        x->cap_users = x->cap_users ? x->cap_users * 2 : 8;
        x->users = core_reallocarray(x->users, x->cap_users, sizeof *x->users);
    }
    x->users[x->n_users] = (pe_user){uid, core_strdup(res ? res->pw_name : num)};
    return x->users[x->n_users++].name;
}

/* ---- Reading one process */

static double start_seconds(const pe_exporter *x, const pe_stat *st)
{
    return (double)x->boot_time + (double)st->starttime / PE_USER_HZ;
}

/* Whether a failed read means the process (or thread) is gone. */
static bool gone(void)
{
    return errno == ENOENT || errno == ESRCH;
}

static long read_file(const pe_exporter *x, const char *dir, const char *file, char *buf,
                      size_t cap)
{
    char path[96];
    size_t dl = strlen(dir), fl = strlen(file);
    if (dl + 1 + fl >= sizeof path) return -1;
    memcpy(path, dir, dl); /* thousands a scrape: no printf */
    path[dl] = '/';
    memcpy(path + dl + 1, file, fl + 1);
    return pe_read_at(x->procfd, path, buf, cap);
}

/* "<pid>" into buf (room for 12); its length. */
static size_t pid_str(int pid, char *buf)
{
    char tmp[12];
    size_t i = sizeof tmp;
    unsigned v = pid < 0 ? 0 : (unsigned)pid;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    memcpy(buf, tmp + i, sizeof tmp - i);
    buf[sizeof tmp - i] = '\0';
    return sizeof tmp - i;
}

/* /proc/<...>/wchan: "0" (or nothing) when not waiting. */
static int read_wchan(const pe_exporter *x, const char *dir, char *out)
{
    out[0] = '\0';
    long n = read_file(x, dir, "wchan", out, PE_WCHAN_MAX - 1);
    if (n < 0) return -1;
    out[n] = '\0';
    if (strcmp(out, "0") == 0) out[0] = '\0';
    return 0;
}

static void counts_from(pe_counts *c, const pe_stat *st, const pe_status *ss, const pe_io *io)
{
    c->cpu_user = st->utime;
    c->cpu_system = st->stime;
    c->major_faults = st->majflt;
    c->minor_faults = st->minflt;
    c->ctx_voluntary = ss->ctx_voluntary;
    c->ctx_nonvoluntary = ss->ctx_nonvoluntary;
    c->read_bytes = io->read_bytes;
    c->write_bytes = io->write_bytes;
}

/* Whether a task in this state is off the CPUs, waiting (see the top). */
static bool asleep(char state)
{
    return state == 'S' || state == 'D' || state == 'I';
}

/* Whether a task last seen waiting in `wchan` with these context switches
 * has not run since: it sleeps now, and neither count moved. */
static bool not_run(char state, const char *wchan, uint64_t vol, uint64_t nonvol,
                    const pe_status *ss)
{
    return asleep(state) && wchan[0] != '\0' && vol == ss->ctx_voluntary &&
           nonvol == ss->ctx_nonvoluntary;
}

/* One thread of task/; false when it vanished or is unreadable.  `old` is the
 * thread's process as the scrape before left it, or NULL. */
static bool read_thread(const pe_exporter *x, const pe_proc *old, const char *dir,
                        pe_thread_sample *ts)
{
    char buf[4096];
    pe_stat st;
    pe_status ss;
    pe_io io = {0, 0};
    long n = read_file(x, dir, "stat", buf, sizeof buf);
    if (n < 0 || pe_parse_stat(buf, (size_t)n, &st) < 0) return false;
    n = read_file(x, dir, "status", buf, sizeof buf);
    if (n < 0 || pe_parse_status(buf, (size_t)n, &ss) < 0) return false;
    const pe_thread *was = old != NULL ? pe_proc_thread(old, ts->tid, st.starttime) : NULL;
    bool still = was != NULL && not_run(st.state, was->wchan, was->total.ctx_voluntary,
                                        was->total.ctx_nonvoluntary, &ss);
    if (still) {
        io.read_bytes = was->total.read_bytes;
        io.write_bytes = was->total.write_bytes;
    } else {
        n = read_file(x, dir, "io", buf, sizeof buf);
        if (n >= 0) pe_parse_io(buf, (size_t)n, &io);
    }
    memcpy(ts->name, st.comm, sizeof ts->name);
    ts->starttime = st.starttime;
    counts_from(&ts->counts, &st, &ss, &io);
    memset(&ts->states, 0, sizeof ts->states);
    pe_states_add_letter(&ts->states, st.state);
    if (still)
        memcpy(ts->wchan, was->wchan, sizeof ts->wchan);
    else
        read_wchan(x, dir, ts->wchan);
    return true;
}

typedef struct thread_walk {
    pe_exporter *x;
    const pe_proc *old;
    int pid;
    pe_thread_sample *v;
    size_t n, cap;
} thread_walk;

static int thread_one(int tid, uint64_t ino, void *ctx)
{
    thread_walk *w = ctx;
    if (w->n == w->cap) {
        size_t cap = w->cap * 2 + 8;
        pe_thread_sample *v = core_arena_alloc(&w->x->arena, cap * sizeof *v);
        if (w->n) memcpy(v, w->v, w->n * sizeof *v);
        w->v = v;
        w->cap = cap;
    }
    char dir[64];
    snprintf(dir, sizeof dir, "%d/task/%d", w->pid, tid);
    w->v[w->n].tid = tid;
    if (read_thread(w->x, w->old, dir, &w->v[w->n])) w->n++;
    return 0;
}

/* task/: threads go into the sample, their context switches and states into
 * the process's, as upstream does.  -1 when task/ cannot be listed. */
static int read_threads(pe_exporter *x, const pe_proc *old, int pid, int64_t hint, pe_sample *s)
{
    thread_walk w = {x, old, pid, NULL, 0, 0};
    w.cap = hint > 0 && hint < 100000 ? (size_t)hint + 4 : 16;
    w.v = core_arena_alloc(&x->arena, w.cap * sizeof *w.v);
    char dir[32];
    snprintf(dir, sizeof dir, "%d/task", pid);
    if (pe_each_pid_at(x->procfd, dir, thread_one, &w) < 0) return -1;
    if (w.n < 2) return 0;
    s->counts.ctx_voluntary = s->counts.ctx_nonvoluntary = 0;
    for (size_t i = 0; i < w.n; i++) {
        s->counts.ctx_voluntary += w.v[i].counts.ctx_voluntary;
        s->counts.ctx_nonvoluntary += w.v[i].counts.ctx_nonvoluntary;
        pe_states_add(&s->states, &w.v[i].states);
    }
    s->threads = w.v;
    s->n_threads = w.n;
    return 0;
}

/* The parts a tracked process may lack without failing: io, fds, wchan,
 * smaps.  Returns how many were missing.  `old`, when the process has not
 * run since the scrape before (see the top), gives wchan and, if it was and
 * is single-threaded, io. */
static int read_optional(pe_exporter *x, const char *dir, const pe_proc *old, const pe_stat *st,
                         pe_sample *s, pe_io *io)
{
    char buf[4096];
    int missing = 0;
    if (old != NULL && old->now.io_ok && old->now.num_threads == 1 && st->num_threads == 1) {
        io->read_bytes = old->now.counts.read_bytes;
        io->write_bytes = old->now.counts.write_bytes;
        s->io_ok = true;
    } else {
        long n = read_file(x, dir, "io", buf, sizeof buf);
        s->io_ok = n >= 0 && pe_parse_io(buf, (size_t)n, io) == 0;
        if (!s->io_ok) missing++;
    }
    char path[64];
    size_t dl = strlen(dir);
    memcpy(path, dir, dl);
    memcpy(path + dl, "/fd", 4);
    s->open_fds = pe_count_fds_at(x->procfd, path);
    if (s->open_fds < 0) missing++;
    if (old != NULL)
        memcpy(s->wchan, old->now.wchan, sizeof s->wchan);
    else if (read_wchan(x, dir, s->wchan) < 0)
        missing++;
    if (x->opt.smaps) {
        long n = read_file(x, dir, "smaps_rollup", buf, sizeof buf);
        if (n < 0 || pe_parse_smaps_rollup(buf, (size_t)n, &s->mem.pss, &s->mem.swap_pss) < 0)
            missing++;
    }
    return missing;
}

/* The soft RLIMIT_NOFILE: prlimit(2) is one system call where reading
 * limits is three and a page of text; the file where prlimit is refused
 * (another user's process without CAP_SYS_RESOURCE). */
static int read_fd_limit(pe_exporter *x, int pid, const char *dir, long *n, uint64_t *limit)
{
    struct rlimit rl;
    if (x->procfs_is_proc && prlimit(pid, RLIMIT_NOFILE, NULL, &rl) == 0) {
        *limit = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
        return 0;
    }
    char buf[4096];
    *n = read_file(x, dir, "limits", buf, sizeof buf);
    return *n >= 0 ? pe_parse_limits_nofile(buf, (size_t)*n, limit) : -1;
}

/* A tracked process's sample; -1 when it cannot be read (counted unless it
 * exited meanwhile).  `old`: the process as the scrape before left it, or
 * NULL for one tracked from this scrape on. */
static int read_sample(pe_exporter *x, int pid, const pe_stat *st, const pe_proc *old, pe_sample *s)
{
    char dir[16], buf[8192];
    pid_str(pid, dir);
    memset(s, 0, sizeof *s);
    pe_status ss;
    long n = read_file(x, dir, "status", buf, sizeof buf);
    bool ok = n >= 0 && pe_parse_status(buf, (size_t)n, &ss) == 0;
    ok = ok && read_fd_limit(x, pid, dir, &n, &s->fd_limit) == 0;
    if (!ok) {
        if (n >= 0 || !gone()) x->procread_errors++;
        return -1;
    }
    pe_io io = {0, 0};
    bool still = old != NULL && not_run(st->state, old->now.wchan, old->now.own_voluntary,
                                        old->now.own_nonvoluntary, &ss);
    int missing = read_optional(x, dir, still ? old : NULL, st, s, &io);
    counts_from(&s->counts, st, &ss, &io);
    s->own_voluntary = ss.ctx_voluntary;
    s->own_nonvoluntary = ss.ctx_nonvoluntary;
    s->mem.resident = st->rss > 0 ? (uint64_t)st->rss * (uint64_t)x->page_size : 0;
    s->mem.virt = st->vsize;
    s->mem.swapped = ss.vm_swap_kb * 1024;
    s->num_threads = st->num_threads > 0 ? (uint64_t)st->num_threads : 0;
    pe_states_add_letter(&s->states, st->state);
    if (st->num_threads >= 2 && read_threads(x, old, pid, st->num_threads, s) < 0) missing++;
    if (missing > 0) x->partial_errors++;
    return 0;
}

/* What the namer needs to know about a new process. */
static void offer(pe_exporter *x, int pid, uint64_t ino, const pe_stat *st)
{
    char dir[16], path[32], buf[8192];
    snprintf(dir, sizeof dir, "%d", pid);
    pe_ident id = {.pid = pid,
                   .ino = ino,
                   .ppid = st->ppid,
                   .starttime = st->starttime,
                   .start_time = start_seconds(x, st),
                   .comm = st->comm};
    if (x->needs & PE_NEED_CMDLINE) {
        snprintf(path, sizeof path, "%s/cmdline", dir);
        id.cmdline = pe_read_all_at(x->procfd, path, &x->arena, &id.cmdline_len);
    }
    if (x->needs & PE_NEED_USERNAME) {
        pe_status ss;
        long n = read_file(x, dir, "status", buf, sizeof buf);
        if (n >= 0 && pe_parse_status(buf, (size_t)n, &ss) == 0) id.username = username(x, ss.euid);
    }
    if (x->needs & PE_NEED_CGROUPS) {
        size_t len;
        snprintf(path, sizeof path, "%s/cgroup", dir);
        id.cgroups = pe_read_all_at(x->procfd, path, &x->arena, &len);
    }
    pe_tracker_offer(&x->tracker, &id);
}

static int visit_pid(int pid, uint64_t ino, void *ctx)
{
    pe_exporter *x = ctx;
    bool top = x->opt.top_cpu > 0 || x->opt.top_memory > 0;
    if (!top && pe_tracker_skip(&x->tracker, pid, ino)) return 0;
    char path[32], buf[4096];
    memcpy(path + pid_str(pid, path), "/stat", 6);
    long n = pe_read_at(x->procfd, path, buf, sizeof buf);
    pe_stat st;
    if (n < 0 || pe_parse_stat(buf, (size_t)n, &st) < 0) return 0;
    if (top) pe_top_observe(&x->top, pid, &st, start_seconds(x, &st), x->page_size);
    pe_sample s;
    switch (pe_tracker_see(&x->tracker, pid, st.starttime, ino)) {
    case PE_TRACKED:
        if (read_sample(x, pid, &st, pe_tracker_last(&x->tracker), &s) == 0)
            pe_tracker_update(&x->tracker, &s);
        else
            pe_tracker_forget(&x->tracker);
        break;
    case PE_NEW: offer(x, pid, ino, &st); break;
    case PE_IGNORED: break;
    }
    return 0;
}

/* Samples of the processes the namer just chose. */
static void add_new(pe_exporter *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int pid = pe_tracker_new_pid(&x->tracker, i);
        char path[32], buf[4096];
        snprintf(path, sizeof path, "%d/stat", pid);
        long len = pe_read_at(x->procfd, path, buf, sizeof buf);
        pe_stat st;
        pe_sample s;
        if (len < 0 || pe_parse_stat(buf, (size_t)len, &st) < 0) continue;
        if (read_sample(x, pid, &st, NULL, &s) == 0) pe_tracker_add(&x->tracker, i, &s);
    }
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void pe_exporter_update(pe_exporter *x)
{
    core_arena_reset(&x->arena);
    double now = wall_now();
    pe_tracker_begin(&x->tracker, now);
    pe_top_begin(&x->top, now);
    if (pe_each_pid_at(x->procfd, ".", visit_pid, x) < 0) {
        x->scrape_errors++;
        core_error("collector", "error reading procs", "err", strerror(errno));
    }
    add_new(x, pe_tracker_resolve(&x->tracker));
    pe_tracker_end(&x->tracker);
    pe_top_end(&x->top);
    pe_keep_sweep();
}

/* ---- Metrics */

#define NS "namedprocess_namegroup_"

static const char *const L_GROUP[] = {"groupname"};

typedef double (*group_fn)(const pe_group *g);

static double g_procs(const pe_group *g)
{
    return g->procs;
}
static double g_read(const pe_group *g)
{
    return (double)g->counts.read_bytes;
}
static double g_write(const pe_group *g)
{
    return (double)g->counts.write_bytes;
}
static double g_majflt(const pe_group *g)
{
    return (double)g->counts.major_faults;
}
static double g_minflt(const pe_group *g)
{
    return (double)g->counts.minor_faults;
}
static double g_fds(const pe_group *g)
{
    return (double)g->open_fds;
}
static double g_fd_ratio(const pe_group *g)
{
    return g->worst_fd_ratio;
}
static double g_oldest(const pe_group *g)
{
    return g->present ? floor(g->oldest_start) : -62135596800.0;
}
static double g_threads(const pe_group *g)
{
    return (double)g->num_threads;
}

static const struct {
    const char *name, *help;
    prom_type type;
    group_fn fn;
} per_group[] = {
    {NS "num_procs", "number of processes in this group", PROM_GAUGE, g_procs},
    {NS "read_bytes_total", "number of bytes read by this group", PROM_COUNTER, g_read},
    {NS "write_bytes_total", "number of bytes written by this group", PROM_COUNTER, g_write},
    {NS "major_page_faults_total", "Major page faults", PROM_COUNTER, g_majflt},
    {NS "minor_page_faults_total", "Minor page faults", PROM_COUNTER, g_minflt},
    {NS "open_filedesc", "number of open file descriptors for this group", PROM_GAUGE, g_fds},
    {NS "worst_fd_ratio",
     "the worst (closest to 1) ratio between open fds and max fds among all procs in this group",
     PROM_GAUGE, g_fd_ratio},
    {NS "oldest_start_time_seconds",
     "start time in seconds since 1970/01/01 of oldest process in group", PROM_GAUGE, g_oldest},
    {NS "num_threads", "Number of threads", PROM_GAUGE, g_threads},
};

static void emit_per_group(const pe_tracker *t, prom_emitter *e)
{
    for (size_t f = 0; t->n_groups > 0 && f < sizeof per_group / sizeof per_group[0]; f++) {
        prom_emit_family(e, per_group[f].name, per_group[f].help, per_group[f].type, NULL, L_GROUP,
                         1);
        for (size_t i = 0; i < t->n_groups; i++)
            prom_emit_value(e, (const char *[]){t->groups[i].name}, per_group[f].fn(&t->groups[i]));
    }
}

/* A family with groupname and one more label, a value per label value. */
static void emit_split(const pe_tracker *t, prom_emitter *e, const char *name, const char *help,
                       prom_type type, const char *label, const char *const *values,
                       double (*fn)(const pe_group *g, size_t k), size_t n)
{
    const char *labels[] = {"groupname", label};
    if (t->n_groups == 0) return;
    prom_emit_family(e, name, help, type, NULL, labels, 2);
    for (size_t i = 0; i < t->n_groups; i++)
        for (size_t k = 0; k < n; k++)
            prom_emit_value(e, (const char *[]){t->groups[i].name, values[k]},
                            fn(&t->groups[i], k));
}

static double cpu_k(const pe_group *g, size_t k)
{
    return (double)(k == 0 ? g->counts.cpu_user : g->counts.cpu_system) / PE_USER_HZ;
}

static double ctx_k(const pe_group *g, size_t k)
{
    return (double)(k == 0 ? g->counts.ctx_voluntary : g->counts.ctx_nonvoluntary);
}

static double mem_k(const pe_group *g, size_t k)
{
    const uint64_t v[] = {g->mem.resident, g->mem.virt, g->mem.swapped, g->mem.pss,
                          g->mem.swap_pss};
    return (double)v[k];
}

static double state_k(const pe_group *g, size_t k)
{
    const int v[] = {g->states.running, g->states.sleeping, g->states.waiting, g->states.zombie,
                     g->states.other};
    return v[k];
}

static void emit_splits(const pe_exporter *x, prom_emitter *e)
{
    const pe_tracker *t = &x->tracker;
    static const char *const modes[] = {"user", "system"};
    static const char *const ctx[] = {"voluntary", "nonvoluntary"};
    static const char *const mem[] = {"resident", "virtual", "swapped", "proportionalResident",
                                      "proportionalSwapped"};
    static const char *const states[] = {"Running", "Sleeping", "Waiting", "Zombie", "Other"};
    emit_split(t, e, NS "cpu_seconds_total", "Cpu user usage in seconds", PROM_COUNTER, "mode",
               modes, cpu_k, 2);
    emit_split(t, e, NS "context_switches_total", "Context switches", PROM_COUNTER, "ctxswitchtype",
               ctx, ctx_k, 2);
    emit_split(t, e, NS "memory_bytes", "number of bytes of memory in use", PROM_GAUGE, "memtype",
               mem, mem_k, x->opt.smaps ? 5 : 3);
    emit_split(t, e, NS "states",
               "Number of processes in states Running, Sleeping, Waiting, Zombie, or Other",
               PROM_GAUGE, "state", states, state_k, 5);
}

static void emit_wchans(const pe_tracker *t, prom_emitter *e)
{
    const char *labels[] = {"groupname", "wchan"};
    size_t n = 0;
    for (size_t i = 0; i < t->n_groups; i++)
        n += t->groups[i].n_wchans;
    if (n == 0) return;
    prom_emit_family(e, NS "threads_wchan", "Number of threads in this group waiting on each wchan",
                     PROM_GAUGE, NULL, labels, 2);
    for (size_t i = 0; i < t->n_groups; i++)
        for (size_t k = 0; k < t->groups[i].n_wchans; k++)
            prom_emit_value(e, (const char *[]){t->groups[i].name, t->groups[i].wchans[k].wchan},
                            t->groups[i].wchans[k].count);
}

/* ---- Per thread name */

typedef struct tfam {
    const char *name, *help;
    prom_type type;
    const char *label;     /* third label, or NULL */
    const char *values[2]; /* its values */
    double (*fn)(const pe_tname *tn, size_t k);
} tfam;

static double t_count(const pe_tname *tn, size_t k)
{
    return tn->count;
}
static double t_cpu(const pe_tname *tn, size_t k)
{
    return (double)(k == 0 ? tn->counts.cpu_user : tn->counts.cpu_system) / PE_USER_HZ;
}
static double t_io(const pe_tname *tn, size_t k)
{
    return (double)(k == 0 ? tn->counts.read_bytes : tn->counts.write_bytes);
}
static double t_majflt(const pe_tname *tn, size_t k)
{
    return (double)tn->counts.major_faults;
}
static double t_minflt(const pe_tname *tn, size_t k)
{
    return (double)tn->counts.minor_faults;
}
static double t_ctx(const pe_tname *tn, size_t k)
{
    return (double)(k == 0 ? tn->counts.ctx_voluntary : tn->counts.ctx_nonvoluntary);
}

static const tfam thread_fams[] = {
    {NS "thread_count",
     "Number of threads in this group with same threadname",
     PROM_GAUGE,
     NULL,
     {NULL, NULL},
     t_count},
    {NS "thread_cpu_seconds_total",
     "Cpu user/system usage in seconds",
     PROM_COUNTER,
     "mode",
     {"user", "system"},
     t_cpu},
    {NS "thread_io_bytes_total",
     "number of bytes read/written by these threads",
     PROM_COUNTER,
     "iomode",
     {"read", "write"},
     t_io},
    {NS "thread_major_page_faults_total",
     "Major page faults for these threads",
     PROM_COUNTER,
     NULL,
     {NULL, NULL},
     t_majflt},
    {NS "thread_minor_page_faults_total",
     "Minor page faults for these threads",
     PROM_COUNTER,
     NULL,
     {NULL, NULL},
     t_minflt},
    {NS "thread_context_switches_total",
     "Context switches for these threads",
     PROM_COUNTER,
     "ctxswitchtype",
     {"voluntary", "nonvoluntary"},
     t_ctx},
};

static void emit_thread_family(const pe_tracker *t, prom_emitter *e, const tfam *f)
{
    const char *labels[] = {"groupname", "threadname", f->label};
    size_t nl = f->label ? 3 : 2, nv = f->label ? 2 : 1, n = 0;
    for (size_t i = 0; i < t->n_groups; i++)
        n += t->groups[i].present ? t->groups[i].n_tnames : 0;
    if (n == 0) return;
    prom_emit_family(e, f->name, f->help, f->type, NULL, labels, nl);
    for (size_t i = 0; i < t->n_groups; i++) {
        const pe_group *g = &t->groups[i];
        for (size_t j = 0; g->present && j < g->n_tnames; j++)
            for (size_t k = 0; k < nv; k++)
                prom_emit_value(e, (const char *[]){g->name, g->tnames[j].name, f->values[k]},
                                f->fn(&g->tnames[j], k));
    }
}

/* ---- Top processes */

static void emit_top_list(pe_exporter *x, prom_emitter *e, const char *name, const char *help,
                          size_t n, bool cpu)
{
    static const char *const labels[] = {"pid", "comm"};
    if (n > x->top.n_cur) n = x->top.n_cur;
    const pe_top_entry **v = core_arena_alloc(&x->arena, (n + 1) * sizeof *v);
    size_t k = cpu ? pe_top_cpu(&x->top, n, v) : pe_top_memory(&x->top, n, v);
    if (k == 0) return;
    prom_emit_family(e, name, help, PROM_GAUGE, NULL, labels, 2);
    for (size_t i = 0; i < k; i++) {
        char pid[16];
        snprintf(pid, sizeof pid, "%d", v[i]->pid);
        prom_emit_value(e, (const char *[]){pid, v[i]->comm},
                        cpu ? v[i]->cpu_rate : (double)v[i]->rss_bytes);
    }
}

static void emit_top(pe_exporter *x, prom_emitter *e)
{
    if (x->opt.top_cpu > 0)
        emit_top_list(x, e, "namedprocess_top_cpu_seconds_rate",
                      "CPU seconds (user+system) per second used between the last two scrapes by "
                      "each of the --top.cpu busiest processes",
                      x->opt.top_cpu, true);
    if (x->opt.top_memory > 0)
        emit_top_list(x, e, "namedprocess_top_memory_resident_bytes",
                      "Resident memory in bytes of each of the --top.memory processes using the "
                      "most",
                      x->opt.top_memory, false);
}

static void emit_errors(const pe_exporter *x, prom_emitter *e)
{
    prom_emit_family(e, "namedprocess_scrape_errors",
                     "general scrape errors: no proc metrics collected during a cycle",
                     PROM_COUNTER, NULL, NULL, 0);
    prom_emit_value(e, NULL, (double)x->scrape_errors);
    prom_emit_family(e, "namedprocess_scrape_procread_errors",
                     "incremented each time a proc's metrics collection fails", PROM_COUNTER, NULL,
                     NULL, 0);
    prom_emit_value(e, NULL, (double)x->procread_errors);
    prom_emit_family(e, "namedprocess_scrape_partial_errors",
                     "incremented each time a tracked proc's metrics collection fails partially, "
                     "e.g. unreadable I/O stats",
                     PROM_COUNTER, NULL, NULL, 0);
    prom_emit_value(e, NULL, (double)x->partial_errors);
}

void pe_exporter_emit(pe_exporter *x, prom_emitter *e)
{
    const pe_tracker *t = &x->tracker;
    emit_per_group(t, e);
    emit_splits(x, e);
    emit_wchans(t, e);
    for (size_t f = 0; x->opt.threads && f < sizeof thread_fams / sizeof thread_fams[0]; f++)
        emit_thread_family(t, e, &thread_fams[f]);
    emit_top(x, e);
    emit_errors(x, e);
}
