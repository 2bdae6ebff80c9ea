/*
 * self.c - the exporter's own process_* families, see scrape.h.
 *
 * The families, help texts and values of libprom's process collector
 * (client/process.c, client_golang's names), written into an nx_out so that
 * they take the scrape's direct path to the response (expose.c).  libprom's
 * collector rereads everything on each scrape: it opens /proc/self/stat,
 * generates the whole /proc/stat for the boot time and opens and lists
 * /proc/self/fd; measured here it cost 46 us a scrape (67 us with the 120
 * descriptors the kept files of util.c add).  This one reads what cannot
 * change once (the boot time and the process's start time), preads the kept
 * /proc/self/stat and /proc/net/netstat (util.c; /proc/net is the process's own
 * network namespace, so when the netstat collector ran in the same scrape its
 * read serves, see nx_read_shared), and counts the open descriptors with one
 * stat(2) (listing them where the kernel is older than 6.2).
 *
 * As client_golang, the descriptor that lists /proc/self/fd is counted among
 * the open ones; a file that cannot be read drops the families that come from
 * it and nothing else.
 */
#include "scrape.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct self_stat {
    unsigned long long utime, stime, starttime, vsize;
    long long rss;
} self_stat;

/* Fields of /proc/self/stat after the command, counted from 3 as in proc(5). */
static bool parse_stat(char *text, self_stat *st)
{
    char *p = strrchr(text, ')');
    if (p == NULL) return false;
    p++;
    int found = 0;
    for (int field = 3; field <= 24; field++) {
        while (*p == ' ')
            p++;
        if (*p == '\0' || *p == '\n') return false;
        char *end;
        switch (field) {
        case 14: st->utime = strtoull(p, &end, 10), found++; break;
        case 15: st->stime = strtoull(p, &end, 10), found++; break;
        case 22: st->starttime = strtoull(p, &end, 10), found++; break;
        case 23: st->vsize = strtoull(p, &end, 10), found++; break;
        case 24: st->rss = strtoll(p, &end, 10), found++; break;
        default: end = p + strcspn(p, " \n");
        }
        p = end;
    }
    return found == 5;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static double start_time = -1; /* Unix seconds; -1 until known */
static DIR *fd_dir;

/* btime of /proc/stat, read once: the boot time does not move. */
static double boot_time(nx_out *o)
{
    char *text = nx_read_file(o, "/proc/stat", NULL);
    const char *b = text != NULL ? strstr(text, "\nbtime ") : NULL;
    return b != NULL ? strtod(b + 7, NULL) : -1;
}

/* Entries of /proc/self/fd, the listing's own descriptor included; -1 when it
 * cannot be listed.  Since Linux 6.2 the directory's size is the number of
 * open descriptors, which saves listing them (the kernel makes a dentry for
 * each): that number plus the one a listing would have open. */
static long open_fds(void)
{
    struct stat st;
    if (stat("/proc/self/fd", &st) == 0 && st.st_size > 0) return (long)st.st_size + 1;
    pthread_mutex_lock(&lock);
    if (fd_dir == NULL)
        fd_dir = opendir("/proc/self/fd");
    else
        rewinddir(fd_dir);
    long n = fd_dir != NULL ? 0 : -1;
    for (struct dirent *de; fd_dir != NULL && (de = readdir(fd_dir)) != NULL;)
        if (de->d_name[0] != '.') n++;
    pthread_mutex_unlock(&lock);
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

/* IpExt InOctets and OutOctets of /proc/self/net/netstat (names line, then values). */
static bool ip_octets(nx_out *o, double *in, double *out)
{
    /* /proc/net is /proc/self/net: the netstat collector's read of this scrape
     * serves, when --path.procfs is /proc */
    char *text = nx_read_shared(o, "/proc/net/netstat", NULL);
    char *names = text != NULL ? strstr(text, "IpExt: ") : NULL;
    char *values = names != NULL ? strstr(names + 7, "IpExt: ") : NULL;
    if (values == NULL) return false;
    int in_col = -1, out_col = -1, col = 0;
    for (char *p = names + 7; *p != '\n' && *p != '\0'; col++) {
        size_t n = strcspn(p, " \n");
        if (n == 8 && memcmp(p, "InOctets", 8) == 0) in_col = col;
        if (n == 9 && memcmp(p, "OutOctets", 9) == 0) out_col = col;
        p += n;
        if (*p == ' ') p++;
    }
    *in = *out = 0;
    col = 0;
    for (char *p = values + 7; *p != '\n' && *p != '\0'; col++) {
        size_t n = strcspn(p, " \n");
        if (col == in_col) *in = strtod(p, NULL);
        if (col == out_col) *out = strtod(p, NULL);
        p += n;
        if (*p == ' ') p++;
    }
    return true;
}

void nx_process_metrics(nx_out *o)
{
    char buf[1024];
    self_stat st = {0};
    if (nx_read_bytes("/proc/self/stat", buf, sizeof buf) > 0 && parse_stat(buf, &st)) {
        double hz = (double)sysconf(_SC_CLK_TCK);
        if (hz <= 0) hz = 100; /* what procfs assumes */
        nx_counter(o, "process_cpu_seconds_total",
                   "Total user and system CPU time spent in seconds.",
                   (double)(st.utime + st.stime) / hz);
        nx_gauge(o, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                 (double)st.vsize);
        nx_gauge(o, "process_resident_memory_bytes", "Resident memory size in bytes.",
                 (double)st.rss * (double)sysconf(_SC_PAGESIZE));
        pthread_mutex_lock(&lock);
        double start = start_time;
        pthread_mutex_unlock(&lock);
        if (start < 0) {
            double btime = boot_time(o);
            if (btime >= 0) start = btime + (double)st.starttime / hz;
            pthread_mutex_lock(&lock);
            start_time = start;
            pthread_mutex_unlock(&lock);
        }
        if (start >= 0)
            nx_gauge(o, "process_start_time_seconds",
                     "Start time of the process since unix epoch in seconds.", start);
    }
    long fds = open_fds();
    if (fds >= 0) nx_gauge(o, "process_open_fds", "Number of open file descriptors.", (double)fds);
    double max;
    if (soft_limit(RLIMIT_NOFILE, &max))
        nx_gauge(o, "process_max_fds", "Maximum number of open file descriptors.", max);
    if (soft_limit(RLIMIT_AS, &max))
        nx_gauge(o, "process_virtual_memory_max_bytes",
                 "Maximum amount of virtual memory available in bytes.", max);
    double in, out;
    if (ip_octets(o, &in, &out)) {
        nx_counter(o, "process_network_receive_bytes_total",
                   "Number of bytes received by the process over the network.", in);
        nx_counter(o, "process_network_transmit_bytes_total",
                   "Number of bytes sent by the process over the network.", out);
    }
}
