/*
 * collector_bcache.c - node_bcache_* from /sys/fs/bcache/<uuid>/ (the cache
 * set, its bdevN backing devices and cacheN cache devices).
 *
 * Upstream quirks kept: every value file loses its last byte (the newline)
 * unread; human-readable sizes ("1.5k") take the fraction as a count of
 * 1/10.24ths and a suffix bcache does not know multiplies by 0;
 * btree_read_average_duration_us is reported in seconds as us * 1e-9 (the
 * name says nanoseconds, the file holds microseconds); cache_readaheads_total
 * is left out while it is 0.  Any file that cannot be read or parsed (other
 * than missing) fails the collector, as in procfs.
 */
#include "sysfs_read.h"

#include <glob.h>
#include <math.h>

static bool priority_stats;

static core_flag flags[] = {
    {"collector.bcache.priorityStats", CORE_FLAG_BOOL, &priority_stats, NULL,
     "Expose expensive priority stats.", false},
};

/* bcache's parsePseudoFloat: "12.5" is 12 + 5/10.24 */
static bool pseudo_float(const char *s, double *out)
{
    const char *dot = strchr(s, '.');
    char ip[64];
    size_t il = dot ? (size_t)(dot - s) : strlen(s);
    if (il >= sizeof ip) return false;
    memcpy(ip, s, il);
    ip[il] = '\0';
    double i, f = 0;
    if (!nx_parse_double(ip, &i)) return false;
    if (dot != NULL) {
        char fp[64];
        size_t fl = strcspn(dot + 1, ".");
        if (fl >= sizeof fp) return false;
        memcpy(fp, dot + 1, fl);
        fp[fl] = '\0';
        if (!nx_parse_double(fp, &f)) return false;
        f /= 10.24;
    }
    *out = i + f;
    return true;
}

static bool dehumanize(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    if (n == 0) return false;
    double mant, mul = 1;
    unsigned char last = (unsigned char)s[n - 1];
    if (last > '9') {
        static const char units[] = "kMGTPEZY";
        const char *u = strchr(units, last);
        mul = u != NULL ? ldexp(1, 10 * (int)(u - units + 1)) : 0;
        char buf[64];
        if (n - 1 >= sizeof buf) return false;
        memcpy(buf, s, n - 1);
        buf[n - 1] = '\0';
        if (!pseudo_float(buf, &mant)) return false;
    } else if (!nx_parse_double(s, &mant)) {
        return false;
    }
    double r = mant * mul;
    *out = r <= 0 || isnan(r) ? 0 : r >= 1.8446744073709552e19 ? UINT64_MAX : (uint64_t)r;
    return true;
}

static bool dehumanize_signed(const char *s, double *out)
{
    bool neg = *s == '-';
    uint64_t v;
    if (!dehumanize(neg ? s + 1 : s, &v)) return false;
    *out = neg ? -(double)(int64_t)v : (double)(int64_t)v;
    return true;
}

typedef struct reader {
    nx_out *o;
    const char *dir;
    bool failed;
} reader;

/* A value file; a missing one reads as 0. */
static double value(reader *r, const char *sub, const char *file)
{
    if (r->failed) return 0;
    const char *path = nx_sprintf(r->o, "%s/%s%s%s", r->dir, sub, *sub ? "/" : "", file);
    size_t len;
    char *text = nx_read_file(r->o, path, &len);
    if (text == NULL) {
        if (errno != ENOENT) r->failed = nx_error(r->o, "failed to read: %s", path) < 0;
        return 0;
    }
    uint64_t v;
    if (len == 0) {
        r->failed = nx_error(r->o, "failed to read: %s (empty)", path) < 0;
        return 0;
    }
    text[len - 1] = '\0';
    if (!dehumanize(text, &v)) {
        r->failed = nx_error(r->o, "failed to parse %s", path) < 0;
        return 0;
    }
    return (double)v;
}

/* The last field of the line after `key`, without `suffix`. */
static const char *line_value(char *text, const char *key, const char *suffix)
{
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, key, strlen(key)) != 0) continue;
        char *f[32];
        size_t n = nx_fields(line, f, 32);
        if (n == 0) return NULL;
        size_t l = strlen(f[n - 1]), sl = strlen(suffix);
        if (sl > 0 && l >= sl && strcmp(f[n - 1] + l - sl, suffix) == 0) f[n - 1][l - sl] = '\0';
        return f[n - 1];
    }
    return NULL;
}

static const char *const uuid_label[] = {"uuid", NULL};

static void put(nx_out *o, const char *name, const char *help, prom_type t, double v,
                const char *uuid, const char *extra_label, const char *extra_value)
{
    const char *labels[] = {"uuid", extra_label, NULL};
    nx_family(o, nx_sprintf(o, "node_bcache_%s", name), help, t, extra_label ? labels : uuid_label);
    nx_samplev(o, v, uuid, extra_value, NULL);
}

static int backing_device(reader *r, const char *uuid, const char *bdev)
{
    nx_out *o = r->o;
    double dirty = value(r, bdev, "dirty_data");
    if (r->failed) return -1;
    const char *wpath = nx_sprintf(o, "%s/%s/writeback_rate_debug", r->dir, bdev);
    char *w = nx_read_file(o, wpath, NULL);
    if (w == NULL) return nx_error(o, "failed to read: %s", wpath);
    static const struct {
        const char *key, *suffix, *metric, *help;
        bool is_signed;
    } wrd[] = {
        {"target:", "", "dirty_target_bytes",
         "Current dirty data target threshold for this backing device in bytes.", false},
        {"rate:", "/sec", "writeback_rate",
         "Current writeback rate for this backing device in bytes.", false},
        {"proportional:", "", "writeback_rate_proportional_term",
         "Current result of proportional controller, part of writeback rate", true},
        {"integral:", "", "writeback_rate_integral_term",
         "Current result of integral controller, part of writeback rate", true},
        {"change:", "/sec", "writeback_change",
         "Last writeback rate change step for this backing device.", true},
    };
    double wv[5];
    for (size_t i = 0; i < 5; i++) {
        const char *s = line_value(core_arena_strdup(nx_arena(o), w), wrd[i].key, wrd[i].suffix);
        uint64_t u;
        wv[i] = 0;
        if (s == NULL) continue;
        bool ok = wrd[i].is_signed ? dehumanize_signed(s, &wv[i])
                                   : (dehumanize(s, &u) ? (wv[i] = (double)u, true) : false);
        if (!ok) return nx_error(o, "failed to parse path %s: %s", wpath, s);
    }
    const char *tot = nx_sprintf(o, "%s/stats_total", bdev);
    static const struct {
        const char *file, *metric, *help;
    } period[] = {
        {"bypassed", "bypassed_bytes_total",
         "Amount of IO (both reads and writes) that has bypassed the cache."},
        {"cache_hits", "cache_hits_total", "Hits counted per individual IO as bcache sees them."},
        {"cache_misses", "cache_misses_total",
         "Misses counted per individual IO as bcache sees them."},
        {"cache_bypass_hits", "cache_bypass_hits_total", "Hits for IO intended to skip the cache."},
        {"cache_bypass_misses", "cache_bypass_misses_total",
         "Misses for IO intended to skip the cache."},
        {"cache_miss_collisions", "cache_miss_collisions_total",
         "Instances where data insertion from cache miss raced with write (data already present)."},
        {"cache_readaheads", "cache_readaheads_total", "Count of times readahead occurred."},
    };
    double pv[7];
    for (size_t i = 0; i < 7; i++)
        pv[i] = value(r, tot, period[i].file);
    if (r->failed) return -1;
    put(o, "dirty_data_bytes", "Amount of dirty data for this backing device in the cache.",
        PROM_GAUGE, dirty, uuid, "backing_device", bdev);
    for (size_t i = 0; i < 5; i++)
        put(o, wrd[i].metric, wrd[i].help, PROM_GAUGE, wv[i], uuid, "backing_device", bdev);
    for (size_t i = 0; i < 7; i++)
        if (i < 6 || pv[i] != 0)
            put(o, period[i].metric, period[i].help, PROM_COUNTER, pv[i], uuid, "backing_device",
                bdev);
    return 0;
}

static int cache_device(reader *r, const char *uuid, const char *cache)
{
    nx_out *o = r->o;
    double io_errors = value(r, cache, "io_errors");
    double meta = value(r, cache, "metadata_written");
    double written = value(r, cache, "written");
    if (r->failed) return -1;
    double unused = 0, metadata = 0;
    if (priority_stats) {
        const char *path = nx_sprintf(o, "%s/%s/priority_stats", r->dir, cache);
        char *text = nx_read_file(o, path, NULL);
        if (text == NULL) return nx_error(o, "failed to read: %s", path);
        const char *keys[] = {"Unused:", "Metadata:"};
        double *dest[] = {&unused, &metadata};
        for (int i = 0; i < 2; i++) {
            const char *s = line_value(core_arena_strdup(nx_arena(o), text), keys[i], "%");
            uint64_t v;
            if (s == NULL) continue;
            if (!nx_parse_u64(s, &v)) return nx_error(o, "failed to parse path %s: %s", path, s);
            *dest[i] = (double)v;
        }
    }
    put(o, "io_errors", "Number of errors that have occurred, decayed by io_error_halflife.",
        PROM_GAUGE, io_errors, uuid, "cache_device", cache);
    put(o, "metadata_written_bytes_total",
        "Sum of all non data writes (btree writes and all other metadata).", PROM_COUNTER, meta,
        uuid, "cache_device", cache);
    put(o, "written_bytes_total", "Sum of all data that has been written to the cache.",
        PROM_COUNTER, written, uuid, "cache_device", cache);
    if (priority_stats) {
        put(o, "priority_stats_unused_percent",
            "The percentage of the cache that doesn't contain any data.", PROM_GAUGE, unused, uuid,
            "cache_device", cache);
        put(o, "priority_stats_metadata_percent", "Bcache's metadata overhead.", PROM_GAUGE,
            metadata, uuid, "cache_device", cache);
    }
    return 0;
}

/* The basenames of dir/pattern, sorted. */
static size_t glob_names(nx_out *o, const char *dir, const char *pattern, char ***out)
{
    glob_t g;
    size_t n = 0;
    if (glob(nx_sprintf(o, "%s/%s", dir, pattern), 0, NULL, &g) == 0) {
        *out = core_arena_alloc(nx_arena(o), (g.gl_pathc + 1) * sizeof **out);
        for (; n < g.gl_pathc; n++) {
            const char *slash = strrchr(g.gl_pathv[n], '/');
            (*out)[n] = core_arena_strdup(nx_arena(o), slash ? slash + 1 : g.gl_pathv[n]);
        }
        globfree(&g);
    }
    return n;
}

static int cache_set(nx_out *o, const char *dir, const char *uuid)
{
    reader r = {o, dir, false};
    static const struct {
        const char *sub, *file, *metric, *help;
        prom_type type;
        double scale;
    } set[] = {
        {"", "average_key_size", "average_key_size_sectors",
         "Average data per key in the btree (sectors).", PROM_GAUGE, 1},
        {"", "btree_cache_size", "btree_cache_size_bytes",
         "Amount of memory currently used by the btree cache.", PROM_GAUGE, 1},
        {"", "cache_available_percent", "cache_available_percent",
         "Percentage of cache device without dirty data, usable for writeback (may contain clean "
         "cached data).",
         PROM_GAUGE, 1},
        {"", "congested", "congested", "Congestion.", PROM_GAUGE, 1},
        {"", "root_usage_percent", "root_usage_percent",
         "Percentage of the root btree node in use (tree depth increases if too high).", PROM_GAUGE,
         1},
        {"", "tree_depth", "tree_depth", "Depth of the btree.", PROM_GAUGE, 1},
        {"internal", "active_journal_entries", "active_journal_entries",
         "Number of journal entries that are newer than the index.", PROM_GAUGE, 1},
        {"internal", "btree_nodes", "btree_nodes", "Total nodes in the btree.", PROM_GAUGE, 1},
        {"internal", "btree_read_average_duration_us", "btree_read_average_duration_seconds",
         "Average btree read duration.", PROM_GAUGE, 1e-9},
        {"internal", "cache_read_races", "cache_read_races_total",
         "Counts instances where while data was being read from the cache, the bucket was reused "
         "and invalidated - i.e. where the pointer was stale after the read completed.",
         PROM_COUNTER, 1},
    };
    double v[sizeof set / sizeof set[0]];
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        v[i] = value(&r, set[i].sub, set[i].file);
    if (r.failed) return -1;
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        put(o, set[i].metric, set[i].help, set[i].type,
            set[i].scale == 1 ? v[i] : v[i] * set[i].scale, uuid, NULL, NULL);
    char **names;
    size_t n = glob_names(o, dir, "bdev[0-9]*", &names);
    for (size_t i = 0; i < n; i++)
        if (backing_device(&r, uuid, names[i]) < 0) return -1;
    n = glob_names(o, dir, "cache[0-9]*", &names);
    for (size_t i = 0; i < n; i++)
        if (cache_device(&r, uuid, names[i]) < 0) return -1;
    return 0;
}

static int collect(nx_out *o)
{
    const char *root = nx_sys(o, "fs/bcache");
    char **sets;
    size_t n = glob_names(o, root, "*-*", &sets);
    for (size_t i = 0; i < n; i++)
        if (cache_set(o, nx_sprintf(o, "%s/%s", root, sets[i]), sets[i]) < 0) return -1;
    return 0;
}

const nx_collector nx_collector_bcache = {
    .name = "bcache",
    .default_on = true,
    .collect = collect,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
