/*
 * collector_rapl.c - node_rapl_<zone>_joules_total from
 * /sys/class/powercap/<zone>/{name,max_energy_range_uj,energy_uj}, or
 * node_rapl_joules_total{rapl_zone} with --collector.rapl.enable-zone-label.
 *
 * As upstream: zones without a readable name file are skipped; a name
 * "<word>-<n>" gives index n, other names count up per name; the path label
 * is the zone's full path under --path.sysfs; a missing class directory or
 * max_energy_range_uj, or a permission error, is "no data".
 */
#include "sysfs_read.h"

#include <ctype.h>

static bool zone_label;

static core_flag flags[] = {
    {"collector.rapl.enable-zone-label", CORE_FLAG_BOOL, &zone_label, "false",
     "Enables service unit metric unit_start_time_seconds", false},
};

/* SanitizeMetricName: each run of [^0-9A-Za-z_]+ with the '_' around it
 * becomes one '_'. */
static char *sanitize(nx_out *o, const char *s)
{
    char *out = nx_sprintf(o, "%s", s), *w = out;
    for (const char *p = s; *p != '\0';) {
        const char *q = p;
        while (*q == '_')
            q++;
        const char *r = q;
        while (*r != '\0' && !isalnum((unsigned char)*r) && *r != '_')
            r++;
        if (r == q) {
            *w++ = *p++;
            continue;
        }
        while (*r == '_')
            r++;
        *w++ = '_';
        p = r;
    }
    *w = '\0';
    return out;
}

typedef struct name_count {
    const char *name;
    int next;
} name_count;

static int zone_index(char *name, name_count *counts, size_t *n_counts)
{
    char *dash = strchr(name, '-');
    if (dash != NULL && strchr(dash + 1, '-') == NULL) {
        char *end;
        long v = strtol(dash + 1, &end, 10);
        if (dash[1] != '\0' && *end == '\0' && v >= INT32_MIN && v <= INT32_MAX) {
            *dash = '\0';
            return (int)v;
        }
    }
    for (size_t i = 0; i < *n_counts; i++)
        if (strcmp(counts[i].name, name) == 0) return counts[i].next;
    return 0;
}

static void count_name(const char *name, int index, name_count *counts, size_t *n_counts)
{
    for (size_t i = 0; i < *n_counts; i++) {
        if (strcmp(counts[i].name, name) == 0) {
            counts[i].next = index + 1;
            return;
        }
    }
    counts[*n_counts].name = name;
    counts[(*n_counts)++].next = index + 1;
}

static int read_uj(nx_out *o, const char *path, uint64_t *v, bool missing_is_no_data)
{
    char *s = sr_read_all(o, path);
    if (s == NULL && (errno == EACCES || errno == EPERM || (missing_is_no_data && errno == ENOENT)))
        return nx_no_data(o, "can't access %s: %m", path);
    if (s == NULL) return nx_error(o, "failed to retrieve rapl stats: %s: %m", path);
    if (!nx_parse_u64(s, v)) return nx_error(o, "failed to retrieve rapl stats: %s: %s", path, s);
    return 0;
}

static int collect(nx_out *o)
{
    const char *dir = nx_sys(o, "class/powercap");
    char **names;
    int n = nx_list_dir(o, dir, &names);
    if (n < 0 && (errno == ENOENT || errno == EACCES))
        return nx_no_data(o, "Platform doesn't have powercap files present");
    if (n < 0) return nx_error(o, "failed to retrieve rapl stats: %s: %m", dir);
    name_count *counts = core_arena_alloc(nx_arena(o), (size_t)(n + 1) * sizeof *counts);
    size_t n_counts = 0;
    const char **zname = core_arena_alloc(nx_arena(o), (size_t)(n + 1) * sizeof *zname);
    const char **zpath = core_arena_alloc(nx_arena(o), (size_t)(n + 1) * sizeof *zpath);
    int *zindex = core_arena_alloc(nx_arena(o), (size_t)(n + 1) * sizeof *zindex);
    size_t nz = 0;
    for (int i = 0; i < n; i++) {
        const char *path = nx_sprintf(o, "%s/%s", dir, names[i]);
        char *name = sr_read_all(o, nx_sprintf(o, "%s/name", path));
        if (name == NULL) continue;
        int index = zone_index(name, counts, &n_counts);
        uint64_t max;
        if (read_uj(o, nx_sprintf(o, "%s/max_energy_range_uj", path), &max, true) < 0) return -1;
        count_name(name, index, counts, &n_counts);
        zname[nz] = name, zpath[nz] = path, zindex[nz++] = index;
    }
    for (size_t i = 0; i < nz; i++) {
        uint64_t uj;
        if (read_uj(o, nx_sprintf(o, "%s/energy_uj", zpath[i]), &uj, false) < 0) return -1;
        const char *index = nx_sprintf(o, "%d", zindex[i]);
        if (zone_label) {
            static const char *const l[] = {"index", "path", "rapl_zone", NULL};
            nx_family(o, "node_rapl_joules_total", "Current RAPL value in joules", PROM_COUNTER, l);
            nx_samplev(o, (double)uj / 1e6, index, zpath[i], zname[i], NULL);
        } else {
            static const char *const l[] = {"index", "path", NULL};
            nx_family(o, nx_sprintf(o, "node_rapl_%s_joules_total", sanitize(o, zname[i])),
                      nx_sprintf(o, "Current RAPL %s value in joules", zname[i]), PROM_COUNTER, l);
            nx_samplev(o, (double)uj / 1e6, index, zpath[i], NULL);
        }
    }
    return 0;
}

const nx_collector nx_collector_rapl = {
    .name = "rapl",
    .default_on = true,
    .collect = collect,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
