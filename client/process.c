/*
 * process.c - the process collector: client_golang's process_* metrics.
 *
 * A custom collector registered as "process" reads /proc at every scrape and
 * emits the families of client_golang's process collector, with its names,
 * types and help texts:
 *
 *   process_cpu_seconds_total       utime + stime of /proc/self/stat, in seconds
 *   process_virtual_memory_bytes    vsize of /proc/self/stat
 *   process_resident_memory_bytes   rss of /proc/self/stat times the page size
 *   process_start_time_seconds      btime of /proc/stat + starttime of /proc/self/stat
 *   process_open_fds                the entries of /proc/self/fd
 *   process_max_fds                 the soft RLIMIT_NOFILE
 *   process_virtual_memory_max_bytes the soft RLIMIT_AS
 *   process_network_receive_bytes_total, process_network_transmit_bytes_total
 *                                   IpExt InOctets / OutOctets of /proc/self/net/netstat
 *
 * The network counters come from the network namespace's IpExt counters, as in
 * client_golang (procfs's Proc.Netstat): they count what every process of the
 * namespace sent and received, which in a container is the process's own.
 * An unlimited rlimit is reported as client_golang does, as the largest uint64
 * converted to a double (1.8446744073709552e+19).
 *
 * Files are read with open/read into a buffer on the stack, line by line, so a
 * scrape allocates nothing here; a line longer than the buffer (the "intr" line
 * of /proc/stat on a large machine) is cut short, which never matters for the
 * fields read.  A file that cannot be read or parsed drops the metrics that
 * come from it and nothing else, as client_golang does without ReportErrors.
 *
 * What cannot change is not read again: the start time (the boot time of
 * /proc/stat, a file the kernel writes whole for every CPU and interrupt, plus
 * the process's start) is worked out once per process, and /proc/self/stat
 * stays open to be read again from its start.  Both are tied to the pid they
 * were made for, so a child of fork() makes its own.  The open descriptors
 * are counted with one stat(2) of /proc/self/fd, whose size is their number
 * since Linux 6.2 (listing them makes the kernel build an entry for each),
 * plus the one a listing would hold open, which client_golang counts; older
 * kernels list the directory.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_BUF 4096

/* ---- reading /proc */

typedef void (*line_fn)(char *line, void *ctx);

/* Hands each line of the open file, read from offset 0, to fn (without its
 * '\n'; a line that does not fit the buffer is cut short).  False if it
 * cannot be read. */
static bool read_lines_fd(int fd, line_fn fn, void *ctx)
{
    char buf[LINE_BUF];
    size_t len = 0;
    off_t at = 0;
    bool skipping = false; /* inside the cut-off rest of a long line */
    ssize_t n;
    while ((n = pread(fd, buf + len, sizeof buf - 1 - len, at)) != 0) {
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        at += n;
        char *start = buf, *end = buf + len + (size_t)n, *nl;
        while ((nl = memchr(start, '\n', (size_t)(end - start))) != NULL) {
            *nl = '\0';
            if (!skipping) fn(start, ctx);
            skipping = false;
            start = nl + 1;
        }
        len = (size_t)(end - start);
        if (len == sizeof buf - 1) { /* no newline in a full buffer */
            buf[len] = '\0';
            if (!skipping) fn(buf, ctx);
            skipping = true;
            len = 0;
        } else {
            memmove(buf, start, len);
        }
    }
    if (len > 0 && !skipping) {
        buf[len] = '\0';
        fn(buf, ctx);
    }
    return true;
}

/* The same for a path, opened for this read.  False if it cannot be opened or read. */
static bool read_lines(const char *path, line_fn fn, void *ctx)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = read_lines_fd(fd, fn, ctx);
    close(fd);
    return ok;
}

/* ---- What is kept per process: /proc/self/stat open, the start time */

static struct {
    pthread_mutex_t lock;
    pid_t pid;    /* the process they belong to; 0: none yet */
    int stat_fd;  /* /proc/<pid>/stat, or -1 */
    double start; /* Unix seconds; negative: unknown yet */
} self = {PTHREAD_MUTEX_INITIALIZER, 0, -1, -1};

/* Forgets what belonged to another process (the parent of a fork); lock held. */
static void self_check(void)
{
    pid_t pid = getpid();
    if (self.pid == pid) return;
    if (self.stat_fd >= 0) close(self.stat_fd);
    self.pid = pid;
    self.stat_fd = -1;
    self.start = -1;
}

/* ---- /proc/self/stat */

typedef struct proc_stat {
    bool ok;
    unsigned long long utime, stime, starttime, vsize;
    long long rss;
} proc_stat;

/* Fields after the command (which may hold spaces and parentheses), counted
 * from 3 (the state) as in proc(5). */
static void parse_stat(char *line, void *ctx)
{
    proc_stat *st = ctx;
    char *p = strrchr(line, ')');
    if (p == NULL) return;
    p++;
    int found = 0;
    for (int field = 3; field <= 24; field++) {
        p += strspn(p, " ");
        if (*p == '\0') return;
        char *end;
        switch (field) {
        case 14:
            st->utime = strtoull(p, &end, 10);
            found++;
            break;
        case 15:
            st->stime = strtoull(p, &end, 10);
            found++;
            break;
        case 22:
            st->starttime = strtoull(p, &end, 10);
            found++;
            break;
        case 23:
            st->vsize = strtoull(p, &end, 10);
            found++;
            break;
        case 24:
            st->rss = strtoll(p, &end, 10);
            found++;
            break;
        default: end = p + strcspn(p, " ");
        }
        p = end;
    }
    st->ok = found == 5;
}

static void find_btime(char *line, void *ctx)
{
    if (strncmp(line, "btime ", 6) == 0) *(double *)ctx = strtod(line + 6, NULL);
}

/* Boot time in Unix seconds from /proc/stat; negative when unknown. */
static double boot_time(void)
{
    double btime = -1;
    if (!read_lines("/proc/stat", find_btime, &btime)) return -1;
    return btime;
}

/* ---- /proc/self/net/netstat: pairs of lines, names then values, per section. */

typedef struct netstat {
    bool header_seen; /* the IpExt names line was read; the next IpExt line holds values */
    int in_col, out_col;
    double in_octets, out_octets;
} netstat;

static void parse_netstat(char *line, void *ctx)
{
    netstat *ns = ctx;
    if (strncmp(line, "IpExt:", 6) != 0) return;
    char *save, *tok = strtok_r(line + 6, " ", &save);
    for (int col = 0; tok != NULL; col++, tok = strtok_r(NULL, " ", &save)) {
        if (!ns->header_seen) {
            if (strcmp(tok, "InOctets") == 0) ns->in_col = col;
            if (strcmp(tok, "OutOctets") == 0) ns->out_col = col;
        } else if (col == ns->in_col) {
            ns->in_octets = strtod(tok, NULL);
        } else if (col == ns->out_col) {
            ns->out_octets = strtod(tok, NULL);
        }
    }
    ns->header_seen = !ns->header_seen;
}

/* ---- other sources */

/* Entries of /proc/self/fd (the directory's own descriptor included, as in
 * client_golang); negative when it cannot be listed. */
static long open_fds(void)
{
    struct stat sb;
    if (stat("/proc/self/fd", &sb) == 0 && sb.st_size > 0) return (long)sb.st_size + 1;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) return -1;
    long n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* A soft limit as client_golang reports it (unlimited: 2^64 - 1 as a double). */
static bool soft_limit(int resource, double *out)
{
    struct rlimit rl;
    if (getrlimit(resource, &rl) != 0) return false;
    *out = rl.rlim_cur == RLIM_INFINITY ? (double)UINT64_MAX : (double)rl.rlim_cur;
    return true;
}

/* ---- the collector */

static const char *const families[] = {
    "process_cpu_seconds_total",
    "process_open_fds",
    "process_max_fds",
    "process_virtual_memory_bytes",
    "process_virtual_memory_max_bytes",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
    "process_network_receive_bytes_total",
    "process_network_transmit_bytes_total",
};

static void emit(prom_emitter *e, const char *name, const char *help, prom_type type, double v)
{
    if (prom_emit_family(e, name, help, type, NULL, NULL, 0) == 0) prom_emit_value(e, NULL, v);
}

/* /proc/self/stat parsed through the kept descriptor (opened the first time,
 * and again after a failed read); false when it cannot be read. */
static bool read_self_stat(proc_stat *st)
{
    pthread_mutex_lock(&self.lock);
    self_check();
    bool ok = false;
    for (int attempt = 0; attempt < 2 && !ok; attempt++) {
        if (self.stat_fd < 0) self.stat_fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
        if (self.stat_fd < 0) break;
        ok = read_lines_fd(self.stat_fd, parse_stat, st) && st->ok;
        if (!ok) {
            close(self.stat_fd);
            self.stat_fd = -1;
        }
    }
    pthread_mutex_unlock(&self.lock);
    return ok;
}

/* The start time in Unix seconds, worked out once per process; negative when
 * unknown. */
static double start_time(const proc_stat *st, double hz)
{
    pthread_mutex_lock(&self.lock);
    self_check();
    if (self.start < 0) {
        double btime = boot_time();
        if (btime >= 0) self.start = btime + (double)st->starttime / hz;
    }
    double start = self.start;
    pthread_mutex_unlock(&self.lock);
    return start;
}

static void emit_stat(prom_emitter *e)
{
    proc_stat st = {0};
    if (!read_self_stat(&st)) return;
    double hz = (double)sysconf(_SC_CLK_TCK);
    if (hz <= 0) hz = 100; /* what procfs assumes */
    emit(e, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
         PROM_COUNTER, (double)(st.utime + st.stime) / hz);
    emit(e, "process_virtual_memory_bytes", "Virtual memory size in bytes.", PROM_GAUGE,
         (double)st.vsize);
    emit(e, "process_resident_memory_bytes", "Resident memory size in bytes.", PROM_GAUGE,
         (double)st.rss * (double)sysconf(_SC_PAGESIZE));
    double start = start_time(&st, hz);
    if (start >= 0)
        emit(e, "process_start_time_seconds",
             "Start time of the process since unix epoch in seconds.", PROM_GAUGE, start);
}

static void emit_fds(prom_emitter *e)
{
    long fds = open_fds();
    if (fds >= 0)
        emit(e, "process_open_fds", "Number of open file descriptors.", PROM_GAUGE, (double)fds);
    double max;
    if (soft_limit(RLIMIT_NOFILE, &max))
        emit(e, "process_max_fds", "Maximum number of open file descriptors.", PROM_GAUGE, max);
    if (soft_limit(RLIMIT_AS, &max))
        emit(e, "process_virtual_memory_max_bytes",
             "Maximum amount of virtual memory available in bytes.", PROM_GAUGE, max);
}

static void emit_network(prom_emitter *e)
{
    netstat ns = {.in_col = -1, .out_col = -1};
    if (!read_lines("/proc/self/net/netstat", parse_netstat, &ns)) return;
    emit(e, "process_network_receive_bytes_total",
         "Number of bytes received by the process over the network.", PROM_COUNTER, ns.in_octets);
    emit(e, "process_network_transmit_bytes_total",
         "Number of bytes sent by the process over the network.", PROM_COUNTER, ns.out_octets);
}

static int collect(prom_emitter *e, void *userdata)
{
    emit_stat(e);
    emit_fds(e);
    emit_network(e);
    return 0;
}

int prom_process_collector_register(prom_registry *r)
{
    return prom_collector_register(r, "process", families, sizeof families / sizeof *families,
                                   collect, NULL);
}
