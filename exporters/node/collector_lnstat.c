/*
 * collector_lnstat.c - node_lnstat_<column>_total{subsystem,cpu} from every
 * file in /proc/net/stat/ (a header line, then one line of hex counters per
 * CPU).  As procfs, a column's cpu label counts the values seen for that
 * column, so a short line does not shift the others.
 */
#include "node.h"

#include <stdlib.h>
#include <string.h>

#define MAX_COLUMNS 128

static const char *const labels[] = {"subsystem", "cpu", NULL};

static void parse_file(nx_out *o, const char *file, char *text, const char *path)
{
    char *save, *header = strtok_r(text, "\n", &save);
    if (header == NULL) return;
    char *cols[MAX_COLUMNS];
    size_t nc = nx_fields(header, cols, MAX_COLUMNS);
    unsigned seen[MAX_COLUMNS] = {0};
    for (char *line; (line = strtok_r(NULL, "\n", &save)) != NULL;) {
        char *f[MAX_COLUMNS + 1];
        size_t n = nx_fields(line, f, MAX_COLUMNS + 1);
        if (n > nc) {
            nx_warn(o, "more values than columns in %s", path);
            n = nc;
        }
        for (size_t i = 0; i < n; i++) {
            char *end;
            unsigned long long v = strtoull(f[i], &end, 16);
            if (*end != '\0' || f[i][0] == '-') {
                nx_warn(o, "invalid value %.20s in %s", f[i], path);
                continue;
            }
            nx_family(o, nx_sprintf(o, "node_lnstat_%s_total", cols[i]),
                      "linux network cache stats", PROM_COUNTER, labels);
            nx_samplev(o, (double)v, file, nx_sprintf(o, "%u", seen[i]++), NULL);
        }
    }
}

static int collect(nx_out *o)
{
    char **names;
    int n = nx_list_dir(o, nx_proc(o, "net/stat"), &names);
    for (int i = 0; i < n; i++) {
        const char *path = nx_proc(o, nx_sprintf(o, "net/stat/%s", names[i]));
        char *text = nx_read_file(o, path, NULL);
        if (text == NULL) return nx_error(o, "lnstat error: %s: %m", path);
        parse_file(o, names[i], text, path);
    }
    return 0;
}

const nx_collector nx_collector_lnstat = {
    .name = "lnstat",
    .default_on = false,
    .collect = collect,
};
