/*
 * collector_meminfo_numa.c - node_memory_numa_<field>{node} from
 * /sys/devices/system/node/node<N>/meminfo ("Node N Key: value [kB]", kB
 * turned into bytes, "Active(anon)" into "Active_anon") and numastat (one
 * counter "<key>_total" per line).  Both files are required for every node,
 * as upstream.
 */
#include "node.h"

#include <string.h>

static const char *const node_label[] = {"node", NULL};

static void emit(nx_out *o, const char *name, prom_type type, const char *node, double v)
{
    nx_family(o, nx_sprintf(o, "node_memory_numa_%s", name),
              nx_sprintf(o, "Memory information field %s.", name), type, node_label);
    nx_samplev(o, v, node, NULL);
}

/* "Active(anon):" -> "Active_anon", as upstream's regexp `\((.*)\)` -> `_$1`. */
static char *metric_name(nx_out *o, char *key)
{
    size_t n = strlen(key);
    while (n > 0 && key[n - 1] == ':')
        key[--n] = '\0';
    char *open = strchr(key, '('), *close = strrchr(key, ')');
    if (open == NULL || close == NULL || close < open) return key;
    return nx_sprintf(o, "%.*s_%.*s%s", (int)(open - key), key, (int)(close - open - 1), open + 1,
                      close + 1);
}

static void parse_meminfo(nx_out *o, char *text, const char *path)
{
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[6];
        size_t n = nx_fields(line, f, 6);
        if (n == 0) continue;
        double v;
        if ((n != 4 && !(n == 5 && strcmp(f[4], "kB") == 0)) || !nx_parse_double(f[3], &v)) {
            nx_warn(o, "invalid line in %s: %.60s", path, f[0]);
            continue;
        }
        emit(o, metric_name(o, f[2]), PROM_GAUGE, f[1], n == 5 ? v * 1024 : v);
    }
}

static void parse_numastat(nx_out *o, char *text, const char *node, const char *path)
{
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[3];
        size_t n = nx_fields(line, f, 3);
        if (n == 0) continue;
        double v;
        if (n != 2 || !nx_parse_double(f[1], &v)) {
            nx_warn(o, "invalid line in %s: %.60s", path, f[0]);
            continue;
        }
        emit(o, nx_sprintf(o, "%s_total", f[0]), PROM_COUNTER, node, v);
    }
}

static int collect(nx_out *o)
{
    char **names;
    int n = nx_list_dir(o, nx_sys(o, "devices/system/node"), &names);
    for (int i = 0; i < n; i++) {
        if (strncmp(names[i], "node", 4) != 0 || names[i][4] < '0' || names[i][4] > '9') continue;
        const char *mi = nx_sys(o, nx_sprintf(o, "devices/system/node/%s/meminfo", names[i]));
        const char *ns = nx_sys(o, nx_sprintf(o, "devices/system/node/%s/numastat", names[i]));
        char *mtext = nx_read_file(o, mi, NULL), *ntext = nx_read_file(o, ns, NULL);
        if (mtext == NULL) return nx_error(o, "couldn't get NUMA meminfo: %s: %m", mi);
        if (ntext == NULL) return nx_error(o, "couldn't get NUMA meminfo: %s: %m", ns);
        size_t digits = strspn(names[i] + 4, "0123456789");
        const char *node = nx_sprintf(o, "%.*s", (int)digits, names[i] + 4);
        parse_meminfo(o, mtext, mi);
        parse_numastat(o, ntext, node, ns);
    }
    return 0;
}

const nx_collector nx_collector_meminfo_numa = {
    .name = "meminfo_numa",
    .default_on = false,
    .collect = collect,
};
