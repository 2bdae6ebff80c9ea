/*
 * self.c - the exporter's own process_* families, see process.h.
 *
 * The families, help texts and values of libprom's process collector
 * (client/process.c, client_golang's names).  libprom's collector counts the
 * open descriptors by listing /proc/self/fd, and this exporter keeps several
 * files open per tracked process (procfs.c): over 1,000 processes that is
 * some 4,000 entries for the kernel to make a dentry for at every scrape,
 * measured at 3.4 ms of a 25 ms scrape.  Here the count is the size of
 * /proc/self/fd, which the kernel reports since Linux 6.2 without a listing
 * (a listing where it reports 0), plus one for the descriptor a listing would
 * hold open, as client_golang counts it.  The start time uses the boot time
 * the exporter read at start; the rest is read at each scrape as libprom does.
 */
#include "process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* One whole small file of /proc/self into buf; its length or -1. */
static long read_self(const char *name, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/%s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
        if (len == cap - 1) break;
    }
    close(fd);
    buf[len] = '\0';
    return (long)len;
}

/* Open descriptors, the listing's own included; -1 when unknown. */
static long open_fds(void)
{
    struct stat st;
    if (stat("/proc/self/fd", &st) == 0 && st.st_size > 0) return (long)st.st_size + 1;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) return -1;
    long n = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;)
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

/* IpExt InOctets and OutOctets of /proc/self/net/netstat (names line, then
 * values); false when the file cannot be read. */
static bool ip_octets(double *in, double *out)
{
    char buf[16384];
    if (read_self("net/netstat", buf, sizeof buf) < 0) return false;
    *in = *out = 0;
    char *names = strstr(buf, "IpExt: ");
    char *values = names != NULL ? strstr(names + 7, "IpExt: ") : NULL;
    if (values == NULL) return true;
    int in_col = -1, out_col = -1, col = 0;
    for (char *p = names + 7; *p != '\n' && *p != '\0'; col++) {
        size_t n = strcspn(p, " \n");
        if (n == 8 && memcmp(p, "InOctets", 8) == 0) in_col = col;
        if (n == 9 && memcmp(p, "OutOctets", 9) == 0) out_col = col;
        p += n;
        if (*p == ' ') p++;
    }
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

static void emit(prom_emitter *e, const char *name, const char *help, prom_type type, double v)
{
    if (prom_emit_family(e, name, help, type, NULL, NULL, 0) == 0) prom_emit_value(e, NULL, v);
}

int pe_self_collect(prom_emitter *e, void *userdata)
{
    const pe_exporter *x = userdata;
    char buf[1024];
    pe_stat st;
    long n = read_self("stat", buf, sizeof buf);
    if (n > 0 && pe_parse_stat(buf, (size_t)n, &st) == 0) {
        double hz = (double)sysconf(_SC_CLK_TCK);
        if (hz <= 0) hz = 100; /* what procfs assumes */
        emit(e, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
             PROM_COUNTER, (double)(st.utime + st.stime) / hz);
        emit(e, "process_virtual_memory_bytes", "Virtual memory size in bytes.", PROM_GAUGE,
             (double)st.vsize);
        emit(e, "process_resident_memory_bytes", "Resident memory size in bytes.", PROM_GAUGE,
             (double)st.rss * (double)sysconf(_SC_PAGESIZE));
        emit(e, "process_start_time_seconds",
             "Start time of the process since unix epoch in seconds.", PROM_GAUGE,
             (double)x->boot_time + (double)st.starttime / hz);
    }
    long fds = open_fds();
    if (fds >= 0)
        emit(e, "process_open_fds", "Number of open file descriptors.", PROM_GAUGE, (double)fds);
    double max;
    if (soft_limit(RLIMIT_NOFILE, &max))
        emit(e, "process_max_fds", "Maximum number of open file descriptors.", PROM_GAUGE, max);
    if (soft_limit(RLIMIT_AS, &max))
        emit(e, "process_virtual_memory_max_bytes",
             "Maximum amount of virtual memory available in bytes.", PROM_GAUGE, max);
    double in, out;
    if (ip_octets(&in, &out)) {
        emit(e, "process_network_receive_bytes_total",
             "Number of bytes received by the process over the network.", PROM_COUNTER, in);
        emit(e, "process_network_transmit_bytes_total",
             "Number of bytes sent by the process over the network.", PROM_COUNTER, out);
    }
    return 0;
}
