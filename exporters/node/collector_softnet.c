/*
 * collector_softnet.c - node_softnet_* per CPU from /proc/net/softnet_stat
 * (hex columns).  As procfs: at least 9 columns; the 10th is received_rps,
 * the 11th flow_limit_count, and from 13 columns on the 12th is the backlog
 * length and the 13th the CPU number (older kernels: the line's index).
 */
#include "node.h"

#include <stdlib.h>
#include <string.h>

static bool parse_hex(const char *s, double *out)
{
    char *end;
    if (*s == '\0' || *s == '-' || *s == '+') return false;
    unsigned long long v = strtoull(s, &end, 16);
    if (*end != '\0' || v > UINT32_MAX) return false;
    *out = (double)v;
    return true;
}

enum { PROCESSED, DROPPED, SQUEEZED, COLLISION, RPS, FLOW, BACKLOG, N_STATS };

static const struct {
    const char *name, *help;
    prom_type type;
} stats[N_STATS] = {
    {"node_softnet_processed_total", "Number of processed packets", PROM_COUNTER},
    {"node_softnet_dropped_total", "Number of dropped packets", PROM_COUNTER},
    {"node_softnet_times_squeezed_total", "Number of times processing packets ran out of quota",
     PROM_COUNTER},
    {"node_softnet_cpu_collision_total",
     "Number of collision occur while obtaining device lock while transmitting", PROM_COUNTER},
    {"node_softnet_received_rps_total", "Number of times cpu woken up received_rps", PROM_COUNTER},
    {"node_softnet_flow_limit_count_total", "Number of times flow limit has been reached",
     PROM_COUNTER},
    {"node_softnet_backlog_len", "Softnet backlog status", PROM_GAUGE},
};

/* One line into v[] and its CPU number; false when malformed. */
static bool parse_line(char *line, unsigned index, double *v, double *cpu)
{
    static const int column[N_STATS] = {0, 1, 2, 8, 9, 10, 11};
    char *f[16];
    size_t n = nx_fields(line, f, 16);
    if (n < 9) return false;
    for (size_t i = 0; i < N_STATS; i++) {
        v[i] = 0;
        if ((size_t)column[i] < n && (i != BACKLOG || n >= 13) && !parse_hex(f[column[i]], &v[i]))
            return false;
    }
    *cpu = index;
    return n < 13 || parse_hex(f[12], cpu);
}

static int collect(nx_out *o)
{
    const char *path = nx_proc(o, "net/softnet_stat");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return nx_error(o, "could not get softnet statistics: %s: %m", path);
    static const char *const labels[] = {"cpu", NULL};
    unsigned index = 0;
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save), index++) {
        double v[N_STATS], cpu;
        if (!parse_line(line, index, v, &cpu)) {
            nx_warn(o, "malformed line %u in %s", index + 1, path);
            continue;
        }
        char *id = nx_sprintf(o, "%.0f", cpu);
        for (size_t i = 0; i < N_STATS; i++) {
            nx_family(o, stats[i].name, stats[i].help, stats[i].type, labels);
            nx_samplev(o, v[i], id, NULL);
        }
    }
    return 0;
}

const nx_collector nx_collector_softnet = {
    .name = "softnet",
    .default_on = true,
    .collect = collect,
};
