/*
 * collector_schedstat.c - node_schedstat_* per CPU from /proc/schedstat (the
 * 7th to 9th numbers of each "cpuN" line: running and waiting nanoseconds,
 * timeslices).  A missing file means "no data" (success 0), as upstream.
 */
#include "node.h"

#include <errno.h>
#include <string.h>

static const char *const cpu_label[] = {"cpu", NULL};

static int collect(nx_out *o)
{
    const char *path = nx_proc(o, "schedstat");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL && errno == ENOENT) return nx_no_data(o, "collector returned no data");
    if (text == NULL) return nx_error(o, "couldn't read %s: %m", path);
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[11];
        size_t n = nx_fields(line, f, 11);
        if (n < 10 || strncmp(f[0], "cpu", 3) != 0 || f[0][3] < '0' || f[0][3] > '9') continue;
        uint64_t run, wait, slices;
        if (!nx_parse_u64(f[7], &run) || !nx_parse_u64(f[8], &wait) ||
            !nx_parse_u64(f[9], &slices)) {
            nx_warn(o, "malformed line in %s: %.40s", path, f[0]);
            continue;
        }
        const char *cpu = f[0] + 3;
        nx_family(o, "node_schedstat_running_seconds_total",
                  "Number of seconds CPU spent running a process.", PROM_COUNTER, cpu_label);
        nx_samplev(o, (double)run / 1e9, cpu, NULL);
        nx_family(o, "node_schedstat_waiting_seconds_total",
                  "Number of seconds spent by processing waiting for this CPU.", PROM_COUNTER,
                  cpu_label);
        nx_samplev(o, (double)wait / 1e9, cpu, NULL);
        nx_family(o, "node_schedstat_timeslices_total", "Number of timeslices executed by CPU.",
                  PROM_COUNTER, cpu_label);
        nx_samplev(o, (double)slices, cpu, NULL);
    }
    return 0;
}

const nx_collector nx_collector_schedstat = {
    .name = "schedstat",
    .default_on = true,
    .collect = collect,
};
