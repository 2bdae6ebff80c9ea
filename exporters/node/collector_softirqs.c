/*
 * collector_softirqs.c - node_softirqs_functions_total{cpu,type} from
 * /proc/softirqs, for the ten softirq types procfs knows (HI ... RCU); other
 * lines are ignored, a type seen twice keeps its last line.
 */
#include "node.h"

#include <string.h>

static const char *const types[] = {"HI",       "TIMER",   "NET_TX", "NET_RX",  "BLOCK",
                                    "IRQ_POLL", "TASKLET", "SCHED",  "HRTIMER", "RCU"};
#define N_TYPES  (sizeof types / sizeof types[0])
#define MAX_CPUS 8192

static int type_index(const char *field)
{
    size_t n = strlen(field);
    if (n < 2 || field[n - 1] != ':') return -1;
    for (size_t i = 0; i < N_TYPES; i++)
        if (strlen(types[i]) == n - 1 && strncmp(field, types[i], n - 1) == 0) return (int)i;
    return -1;
}

static int collect(nx_out *o)
{
    const char *path = nx_proc(o, "softirqs");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return nx_error(o, "couldn't get softirqs: %s: %m", path);
    char *save, *header = strtok_r(text, "\n", &save);
    if (header == NULL) return nx_error(o, "couldn't get softirqs: softirqs empty");
    char **row[N_TYPES] = {NULL};
    size_t n_row[N_TYPES] = {0};
    for (char *line; (line = strtok_r(NULL, "\n", &save)) != NULL;) {
        char **f = core_arena_alloc(nx_arena(o), (MAX_CPUS + 1) * sizeof *f);
        size_t n = nx_fields(line, f, MAX_CPUS + 1);
        int t = n >= 2 ? type_index(f[0]) : -1;
        if (t < 0) continue;
        bool ok = true;
        for (size_t i = 1; i < n && ok; i++) {
            uint64_t unused;
            ok = nx_parse_u64(f[i], &unused);
        }
        if (!ok) {
            nx_warn(o, "couldn't parse %s line in %s", types[t], path);
            continue;
        }
        row[t] = f + 1;
        n_row[t] = n - 1;
    }
    static const char *const labels[] = {"cpu", "type", NULL};
    nx_family(o, "node_softirqs_functions_total", "Softirq counts per CPU.", PROM_COUNTER, labels);
    for (size_t t = 0; t < N_TYPES; t++) {
        for (size_t c = 0; c < n_row[t]; c++) {
            uint64_t v;
            nx_parse_u64(row[t][c], &v);
            nx_samplev(o, (double)v, nx_sprintf(o, "%zu", c), types[t], NULL);
        }
    }
    return 0;
}

const nx_collector nx_collector_softirqs = {
    .name = "softirqs",
    .default_on = false,
    .collect = collect,
};
