/*
 * collector_tapestats.c - node_tape_* from /sys/class/scsi_tape/st<N>/stats/
 * (the kernel's st driver statistics), one device label per tape drive.
 *
 * As upstream: only the st<N> entries count (not nst0, st0a...); a missing
 * class directory is "no data"; an unreadable or malformed stats file fails
 * the scrape; the *_ns counters are printed in seconds.
 */
#include "sysfs_read.h"

#include <ctype.h>

static const char *ignored_flag;
static nx_regex *ignored_re;

static core_flag flags[] = {
    {"collector.tapestats.ignored-devices", CORE_FLAG_STRING, &ignored_flag, "^$",
     "Regexp of devices to ignore for tapestats.", false},
};

static const struct {
    const char *file, *metric, *help;
    double scale;
    prom_type type;
} stats[] = {
    {"in_flight", "node_tape_io_now", "The number of I/Os currently outstanding to this device.", 1,
     PROM_GAUGE},
    {"io_ns", "node_tape_io_time_seconds_total",
     "The amount of time spent waiting for all I/O to complete (including read and write). This "
     "includes tape movement commands such as seeking between file or set marks and implicit "
     "tape movement such as when rewind on close tape devices are used.",
     1e-9, PROM_COUNTER},
    {"other_cnt", "node_tape_io_others_total",
     "The number of I/Os issued to the tape drive other than read or write commands. The time "
     "taken to complete these commands uses the following calculation "
     "io_time_seconds_total-read_time_seconds_total-write_time_seconds_total",
     1, PROM_COUNTER},
    {"read_byte_cnt", "node_tape_read_bytes_total", "The number of bytes read from the tape drive.",
     1, PROM_COUNTER},
    {"read_cnt", "node_tape_reads_completed_total",
     "The number of read requests issued to the tape drive.", 1, PROM_COUNTER},
    {"read_ns", "node_tape_read_time_seconds_total",
     "The amount of time spent waiting for read requests to complete.", 1e-9, PROM_COUNTER},
    {"resid_cnt", "node_tape_residual_total",
     "The number of times during a read or write we found the residual amount to be non-zero. "
     "This should mean that a program is issuing a read larger thean the block size on tape. For "
     "write not all data made it to tape.",
     1, PROM_COUNTER},
    {"write_byte_cnt", "node_tape_written_bytes_total",
     "The number of bytes written to the tape drive.", 1, PROM_COUNTER},
    {"write_cnt", "node_tape_writes_completed_total",
     "The number of write requests issued to the tape drive.", 1, PROM_COUNTER},
    {"write_ns", "node_tape_write_time_seconds_total",
     "The amount of time spent waiting for write requests to complete.", 1e-9, PROM_COUNTER},
};
#define N_STATS (sizeof stats / sizeof stats[0])

/* ^st\d+$ */
static bool is_tape(const char *name)
{
    if (strncmp(name, "st", 2) != 0 || name[2] == '\0') return false;
    for (const char *p = name + 2; *p != '\0'; p++)
        if (!isdigit((unsigned char)*p)) return false;
    return true;
}

/* Reads the stats of one drive into v (0 for a counter the kernel lacks). */
static int read_tape(nx_out *o, const char *dir, uint64_t *v)
{
    char **files;
    int n = nx_list_dir(o, dir, &files);
    if (n < 0) return nx_error(o, "error obtaining SCSITape class info: %s: %m", dir);
    for (int i = 0; i < n; i++) {
        const char *path = nx_sprintf(o, "%s/%s", dir, files[i]);
        char *s = sr_read(o, path);
        if (s == NULL) return nx_error(o, "failed to read file %s: %m", path);
        for (size_t k = 0; k < N_STATS; k++)
            if (strcmp(files[i], stats[k].file) == 0 && !nx_parse_u64(s, &v[k]))
                return nx_error(o, "couldn't parse %s: %.40s", path, s);
    }
    return 0;
}

static int collect(nx_out *o)
{
    const char *class_dir = nx_sys(o, "class/scsi_tape");
    char **names;
    int n = nx_list_dir(o, class_dir, &names);
    if (n < 0 && errno == ENOENT) return nx_no_data(o, "scsi_tape stats not found, skipping");
    if (n < 0) return nx_error(o, "error obtaining SCSITape class info: %s: %m", class_dir);
    static const char *const labels[] = {"device", NULL};
    for (int i = 0; i < n; i++) {
        if (!is_tape(names[i]) || nx_regex_match(ignored_re, names[i])) continue;
        uint64_t v[N_STATS] = {0};
        if (read_tape(o, nx_sprintf(o, "%s/%s/stats", class_dir, names[i]), v) < 0) return -1;
        for (size_t k = 0; k < N_STATS; k++) {
            nx_family(o, stats[k].metric, stats[k].help, stats[k].type, labels);
            nx_samplev(o, (double)v[k] * stats[k].scale, names[i], NULL);
        }
    }
    return 0;
}

static int init(core_err *err)
{
    nx_regex_free(ignored_re);
    ignored_re = NULL;
    return nx_regex_compile(ignored_flag, "collector.tapestats.ignored-devices", &ignored_re, err);
}

const nx_collector nx_collector_tapestats = {
    .name = "tapestats",
    .default_on = true,
    .collect = collect,
    .init = init,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
