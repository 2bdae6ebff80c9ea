/*
 * collector_slabinfo.c - node_slabinfo_*{slab} from /proc/slabinfo (version
 * 2.1: 16 columns per slab), the slab names filtered by
 * --collector.slabinfo.slabs-include / --collector.slabinfo.slabs-exclude.
 */
#include "node.h"

#include <string.h>

static const char *include_flag, *exclude_flag;
static nx_regex *include_re, *exclude_re;

static core_flag flags[] = {
    {"collector.slabinfo.slabs-include", CORE_FLAG_STRING, &include_flag, ".*",
     "Regexp of slabs to include in slabinfo collector.", false},
    {"collector.slabinfo.slabs-exclude", CORE_FLAG_STRING, &exclude_flag, "",
     "Regexp of slabs to exclude in slabinfo collector.", false},
};

static const struct {
    int column;
    const char *name, *help;
} stats[] = {
    {1, "node_slabinfo_active_objects",
     "The number of objects that are currently active (i.e., in use)."},
    {2, "node_slabinfo_objects",
     "The total number of allocated objects (i.e., objects that are both in use and not in use)."},
    {3, "node_slabinfo_object_size_bytes", "The size of objects in this slab, in bytes."},
    {4, "node_slabinfo_objects_per_slab", "The number of objects stored in each slab."},
    {5, "node_slabinfo_pages_per_slab", "The number of pages allocated for each slab."},
};
#define N_STATS (sizeof stats / sizeof stats[0])

static bool ignored(const char *name)
{
    return (exclude_re != NULL && nx_regex_match(exclude_re, name)) ||
           (include_re != NULL && !nx_regex_match(include_re, name));
}

static int collect(nx_out *o)
{
    const char *path = nx_proc(o, "slabinfo");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return nx_error(o, "couldn't get slabinfo: %s: %m", path);
    static const char *const labels[] = {"slab", NULL};
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (strstr(line, "slabinfo -") != NULL || strstr(line, "# name") != NULL) continue;
        char *f[17];
        double v[N_STATS];
        bool ok = nx_fields(line, f, 17) == 16;
        for (size_t i = 0; ok && i < N_STATS; i++)
            ok = nx_parse_double(f[stats[i].column], &v[i]);
        if (!ok) {
            nx_warn(o, "unable to parse slabinfo line: %.40s", line);
            continue;
        }
        if (ignored(f[0])) continue;
        for (size_t i = 0; i < N_STATS; i++) {
            nx_family(o, stats[i].name, stats[i].help, PROM_GAUGE, labels);
            nx_samplev(o, v[i], f[0], NULL);
        }
    }
    return 0;
}

static int init(core_err *err)
{
    nx_regex_free(include_re); /* init may run again (tests) */
    nx_regex_free(exclude_re);
    if (nx_regex_compile(include_flag, "collector.slabinfo.slabs-include", &include_re, err) < 0 ||
        nx_regex_compile(exclude_flag, "collector.slabinfo.slabs-exclude", &exclude_re, err) < 0)
        return -1;
    return 0;
}

const nx_collector nx_collector_slabinfo = {
    .name = "slabinfo",
    .default_on = false,
    .collect = collect,
    .init = init,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
