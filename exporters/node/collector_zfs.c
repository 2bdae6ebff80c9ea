/*
 * collector_zfs.c - node_zfs_* from the kstat files under <procfs>/spl/kstat/zfs.
 *
 * Global kstats (arcstats, dmu_tx, zil, ...) are "name type data" tables; only
 * rows of type 3 (int64) and 4 (uint64) become metrics, named
 * node_zfs_<subsystem>_<name with '-' as '_'>, HELP the kstat path
 * "kstat.zfs.misc.<file>.<name>", all untyped as upstream.  Per pool:
 * <pool>/io (a header row of column names and a row of values) gives
 * node_zfs_zpool_*, <pool>/objset-* gives node_zfs_zpool_dataset_* labelled
 * with the dataset_name row (kept whole, inner spaces included), and
 * <pool>/state gives node_zfs_zpool_state, one gauge per known state.
 */
#include "statfile_util.h"

#include <glob.h>
#include <stdio.h>
#include <sys/stat.h>

static const struct {
    const char *subsystem, *file;
} kstat_files[] = {
    {"zfs_abd", "abdstats"},
    {"zfs_arc", "arcstats"},
    {"zfs_dbuf", "dbufstats"},
    {"zfs_dmu_tx", "dmu_tx"},
    {"zfs_dnode", "dnodestats"},
    {"zfs_fm", "fm"},
    {"zfs_vdev_cache", "vdev_cache_stats"},
    {"zfs_vdev_mirror", "vdev_mirror_stats"},
    {"zfs_xuio", "xuio_stats"},
    {"zfs_zfetch", "zfetchstats"},
    {"zfs_zil", "zil"},
};

static const char *const pool_states[] = {"online",  "degraded", "faulted",  "offline",
                                          "removed", "unavail",  "suspended"};

/* The metric name of a kstat: node_<subsystem>_<name>, '-' replaced by '_'. */
static char *metric_name(nx_out *o, const char *subsystem, const char *name)
{
    char *m = nx_sprintf(o, "node_%s_%s", subsystem, name);
    for (char *p = m; *p != '\0'; p++)
        if (*p == '-') *p = '_';
    return m;
}

/* Does this line read "name type data"? Parsing starts after it. */
static bool is_kstat_header(char *line)
{
    char *f[4];
    return sf_fields(line, f, 4) == 3 && strcmp(f[0], "name") == 0 && strcmp(f[1], "type") == 0 &&
           strcmp(f[2], "data") == 0;
}

static int parse_kstat(nx_out *o, const char *subsystem, const char *file, char *text)
{
    bool started = false;
    for (char *line; (line = sf_next_line(&text)) != NULL;) {
        if (!started) {
            started = is_kstat_header(line);
            continue;
        }
        char *f[3];
        if (sf_fields(line, f, 3) < 3) continue;
        double v;
        uint64_t u;
        int64_t i;
        if (strcmp(f[1], "4") == 0 && nx_parse_u64(f[2], &u)) {
            v = (double)u;
        } else if (strcmp(f[1], "3") == 0 && sf_parse_i64(f[2], &i)) {
            v = (double)i;
        } else {
            if (strcmp(f[1], "4") == 0 || strcmp(f[1], "3") == 0)
                nx_warn(o, "zfs: bad value %.40s for kstat.zfs.misc.%s.%s", f[2], file, f[0]);
            continue;
        }
        const char *help = nx_sprintf(o, "kstat.zfs.misc.%s.%s", file, f[0]);
        nx_family(o, metric_name(o, subsystem, f[0]), help, PROM_UNTYPED, NULL);
        nx_sample(o, v, NULL);
    }
    if (!started) return nx_error(o, "did not parse a single \"%s\" metric", file);
    return 0;
}

/* The pool's name: the directory holding the file. */
static const char *pool_of(nx_out *o, const char *path, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash != NULL ? slash + 1 : path;
    if (slash == NULL) return "";
    const char *start = slash;
    while (start > path && start[-1] != '/')
        start--;
    return core_arena_strndup(nx_arena(o), start, (size_t)(slash - start));
}

static void parse_pool_io(nx_out *o, const char *path, char *text)
{
    static const char *const labels[] = {"zpool", NULL};
    const char *file, *pool = pool_of(o, path, &file);
    char *names[64];
    size_t n_names = 0;
    for (char *line; (line = sf_next_line(&text)) != NULL;) {
        char *f[64];
        if (n_names == 0) {
            size_t n = sf_fields(line, f, 64);
            if (n >= 12 && strcmp(f[0], "nread") == 0) {
                memcpy(names, f, n * sizeof *f);
                n_names = n;
            }
            continue;
        }
        size_t n = sf_fields(line, f, 64);
        if (n == 0) continue;
        if (n < n_names) {
            nx_warn(o, "zfs: %s: a row of %zu values for %zu columns", path, n, n_names);
            continue;
        }
        for (size_t i = 0; i < n_names; i++) {
            uint64_t v;
            if (!nx_parse_u64(f[i], &v)) {
                nx_warn(o, "zfs: %s: bad value %.40s for %s", path, f[i], names[i]);
                continue;
            }
            const char *help = nx_sprintf(o, "kstat.zfs.misc.%s.%s", file, names[i]);
            nx_family(o, metric_name(o, "zfs_zpool", names[i]), help, PROM_UNTYPED, labels);
            nx_samplev(o, (double)v, pool, NULL);
        }
    }
}

/* The dataset_name row's value: everything from its third field on. */
static const char *dataset_name(nx_out *o, const char *line)
{
    const char *p = line;
    for (int field = 0; field < 2; field++) {
        while (*p == ' ' || *p == '\t')
            p++;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    return core_arena_strdup(nx_arena(o), p);
}

static int parse_pool_objset(nx_out *o, const char *path, char *text)
{
    static const char *const labels[] = {"zpool", "dataset", NULL};
    const char *file, *pool = pool_of(o, path, &file);
    const char *dataset = "";
    bool started = false;
    for (char *line; (line = sf_next_line(&text)) != NULL;) {
        if (!started) {
            started = is_kstat_header(line);
            continue;
        }
        const char *whole = core_arena_strdup(nx_arena(o), line);
        char *f[3];
        if (sf_fields(line, f, 3) < 3) continue;
        if (strcmp(f[0], "dataset_name") == 0) {
            dataset = dataset_name(o, whole);
            continue;
        }
        if (strcmp(f[1], "4") != 0) continue;
        uint64_t v;
        if (!nx_parse_u64(f[2], &v)) {
            nx_warn(o, "zfs: %s: bad value %.40s for %s", path, f[2], f[0]);
            continue;
        }
        const char *help = nx_sprintf(o, "kstat.zfs.misc.objset.%s", f[0]);
        nx_family(o, metric_name(o, "zfs_zpool_dataset", f[0]), help, PROM_UNTYPED, labels);
        nx_samplev(o, (double)v, pool, dataset, NULL);
    }
    if (!started) return nx_error(o, "did not parse a single %s %s metric", pool, dataset);
    return 0;
}

static void parse_pool_state(nx_out *o, const char *path, char *text)
{
    static const char *const labels[] = {"zpool", "state", NULL};
    const char *file, *pool = pool_of(o, path, &file);
    char *line = sf_next_line(&text);
    if (line == NULL) line = "";
    for (char *p = line; *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    nx_family(o, "node_zfs_zpool_state", "kstat.zfs.misc.state", PROM_GAUGE, labels);
    for (size_t i = 0; i < sizeof pool_states / sizeof pool_states[0]; i++)
        nx_samplev(o, strcmp(line, pool_states[i]) == 0 ? 1 : 0, pool, pool_states[i], NULL);
}

/* Runs fn on each file matching <procfs>/spl/kstat/zfs/<pattern>, in glob order. */
static int each_pool_file(nx_out *o, const char *pattern, int (*fn)(nx_out *, const char *, char *))
{
    glob_t g;
    const char *full = nx_proc(o, nx_sprintf(o, "spl/kstat/zfs/%s", pattern));
    int rc = glob(full, 0, NULL, &g);
    if (rc == GLOB_NOMATCH) return 0;
    if (rc != 0) return nx_error(o, "zfs: glob %s failed", full);
    int result = 0;
    for (size_t i = 0; i < g.gl_pathc && result == 0; i++) {
        char *text = nx_read_file(o, g.gl_pathv[i], NULL);
        /* A pool being exported can vanish between glob and open: upstream
         * then stops here, reporting no data. */
        if (text == NULL) {
            result = nx_no_data(o, "ZFS / ZFS statistics are not available");
            break;
        }
        result = fn(o, g.gl_pathv[i], text);
    }
    globfree(&g);
    return result;
}

static int io_fn(nx_out *o, const char *path, char *text)
{
    parse_pool_io(o, path, text);
    return 0;
}

static int state_fn(nx_out *o, const char *path, char *text)
{
    parse_pool_state(o, path, text);
    return 0;
}

static int collect(nx_out *o)
{
    const char *base = nx_proc(o, "spl/kstat/zfs");
    struct stat st;
    if (stat(base, &st) != 0) return nx_no_data(o, "ZFS / ZFS statistics are not available");
    for (size_t i = 0; i < sizeof kstat_files / sizeof kstat_files[0]; i++) {
        const char *path = nx_proc(o, nx_sprintf(o, "spl/kstat/zfs/%s", kstat_files[i].file));
        char *text = nx_read_file(o, path, NULL);
        if (text == NULL) continue; /* kstats come and go with ZFS versions */
        if (parse_kstat(o, kstat_files[i].subsystem, kstat_files[i].file, text) != 0) return -1;
    }
    if (each_pool_file(o, "*/io", io_fn) != 0) return -1;
    if (each_pool_file(o, "*/objset-*", parse_pool_objset) != 0) return -1;
    return each_pool_file(o, "*/state", state_fn);
}

const nx_collector nx_collector_zfs = {
    .name = "zfs",
    .default_on = true,
    .collect = collect,
};
