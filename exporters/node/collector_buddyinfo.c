/*
 * collector_buddyinfo.c - node_buddyinfo_blocks{node,zone,size} from
 * /proc/buddyinfo ("Node 0, zone DMA n0 n1 ...").  As procfs, every line must
 * have as many sizes as the first; a line that does not is skipped.
 */
#include "node.h"

#include <string.h>

#define MAX_FIELDS 64

static int collect(nx_out *o)
{
    const char *path = nx_proc(o, "buddyinfo");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return nx_error(o, "couldn't get buddyinfo: %s: %m", path);
    static const char *const labels[] = {"node", "zone", "size", NULL};
    long buckets = -1;
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[MAX_FIELDS];
        size_t n = nx_fields(line, f, MAX_FIELDS);
        if (n == 0) continue;
        double v[MAX_FIELDS];
        bool ok = n >= 4 && (buckets < 0 || (long)(n - 4) == buckets);
        for (size_t i = 4; ok && i < n; i++)
            ok = nx_parse_double(f[i], &v[i]);
        if (!ok) {
            nx_warn(o, "invalid line in %s: %.40s", path, f[0]);
            continue;
        }
        buckets = (long)(n - 4);
        f[1][strcspn(f[1], ",")] = '\0';
        f[3][strcspn(f[3], ",")] = '\0';
        nx_family(o, "node_buddyinfo_blocks", "Count of free blocks according to size.", PROM_GAUGE,
                  labels);
        for (size_t i = 4; i < n; i++)
            nx_samplev(o, v[i], f[1], f[3], nx_sprintf(o, "%zu", i - 4), NULL);
    }
    return 0;
}

const nx_collector nx_collector_buddyinfo = {
    .name = "buddyinfo",
    .default_on = false,
    .collect = collect,
};
