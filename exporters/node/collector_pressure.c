/*
 * collector_pressure.c - node_pressure_* from /proc/pressure/{cpu,io,memory,irq}
 * (the "total=" microseconds of the some/full lines, in seconds).
 *
 * As upstream: a missing resource file is skipped; a resource lacking its
 * "some" line (except irq) or its "full" line (except cpu), or no resource at
 * all, ends the scrape with "no data" (success 0).
 */
#include "node.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct psi {
    bool some, full;
    double some_total, full_total; /* microseconds */
} psi;

/* "some avg10=0.00 avg60=0.00 avg300=0.00 total=14036781"; false when malformed. */
static bool parse_psi_line(char *line, double *total)
{
    char *f[6];
    if (nx_fields(line, f, 6) != 5 || strncmp(f[1], "avg10=", 6) != 0 ||
        strncmp(f[2], "avg60=", 6) != 0 || strncmp(f[3], "avg300=", 7) != 0 ||
        strncmp(f[4], "total=", 6) != 0)
        return false;
    uint64_t t;
    if (!nx_parse_u64(f[4] + 6, &t)) return false;
    *total = (double)t;
    return true;
}

static void parse_psi(nx_out *o, char *text, const char *path, psi *p)
{
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        bool is_some = strncmp(line, "some ", 5) == 0, is_full = strncmp(line, "full ", 5) == 0;
        if (!is_some && !is_full) continue;
        double total;
        if (!parse_psi_line(line, &total)) {
            nx_warn(o, "malformed line in %s: %.60s", path, line);
        } else if (is_some) {
            p->some = true;
            p->some_total = total;
        } else {
            p->full = true;
            p->full_total = total;
        }
    }
}

static void emit(nx_out *o, const char *name, const char *help, double micros)
{
    nx_counter(o, name, help, micros / 1000.0 / 1000.0);
}

static int collect(nx_out *o)
{
    static const char *const resources[] = {"cpu", "io", "memory", "irq"};
    int found = 0;
    for (size_t i = 0; i < 4; i++) {
        const char *res = resources[i];
        const char *path = nx_proc(o, nx_sprintf(o, "pressure/%s", res));
        char *text = nx_read_file(o, path, NULL);
        if (text == NULL && errno == ENOENT) continue;
        if (text == NULL && errno == EOPNOTSUPP) return nx_no_data(o, "collector returned no data");
        if (text == NULL) return nx_error(o, "failed to retrieve pressure stats: %s: %m", path);
        psi p = {0};
        parse_psi(o, text, path, &p);
        if ((!p.some && strcmp(res, "irq") != 0) || (!p.full && strcmp(res, "cpu") != 0))
            return nx_no_data(o, "collector returned no data");
        if (strcmp(res, "cpu") == 0) {
            emit(o, "node_pressure_cpu_waiting_seconds_total",
                 "Total time in seconds that processes have waited for CPU time", p.some_total);
        } else if (strcmp(res, "io") == 0) {
            emit(o, "node_pressure_io_waiting_seconds_total",
                 "Total time in seconds that processes have waited due to IO congestion",
                 p.some_total);
            emit(o, "node_pressure_io_stalled_seconds_total",
                 "Total time in seconds no process could make progress due to IO congestion",
                 p.full_total);
        } else if (strcmp(res, "memory") == 0) {
            emit(o, "node_pressure_memory_waiting_seconds_total",
                 "Total time in seconds that processes have waited for memory", p.some_total);
            emit(o, "node_pressure_memory_stalled_seconds_total",
                 "Total time in seconds no process could make progress due to memory congestion",
                 p.full_total);
        } else {
            emit(o, "node_pressure_irq_stalled_seconds_total",
                 "Total time in seconds no process could make progress due to IRQ congestion",
                 p.full_total);
        }
        found++;
    }
    if (found == 0) return nx_no_data(o, "collector returned no data");
    return 0;
}

const nx_collector nx_collector_pressure = {
    .name = "pressure",
    .default_on = true,
    .collect = collect,
};
