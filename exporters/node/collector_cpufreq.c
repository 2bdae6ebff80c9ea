/*
 * collector_cpufreq.c - node_cpu_frequency_*_hertz and node_cpu_scaling_*
 * from /sys/devices/system/cpu/cpu<N>/cpufreq/ (kHz in sysfs, Hz here).
 *
 * As prometheus/procfs: CPUs listed in devices/system/cpu/offline and CPUs
 * without a cpufreq directory are skipped; a frequency file that is missing
 * or not permitted is left out, but a missing governor/driver/related_cpus/
 * setspeed file, a malformed number or a malformed stats/time_in_state or
 * stats/trans_table fails the scrape; the governor family has one sample
 * per available governor, 1 for the current one.  node_cpu_frequency_hertz
 * here (cpuinfo_cur_freq, label cpu) is upstream's too, distinct from the cpu
 * collector's /proc/cpuinfo one.
 */
#include "sysfs_read.h"

#include <glob.h>
#include <sys/stat.h>

enum { CUR, AVG, MAX, MIN, LATENCY, SCALING_CUR, SCALING_MAX, SCALING_MIN, N_UINT };

static const char *const uint_files[N_UINT] = {
    "cpuinfo_cur_freq",           "cpuinfo_avg_freq", "cpuinfo_max_freq", "cpuinfo_min_freq",
    "cpuinfo_transition_latency", "scaling_cur_freq", "scaling_max_freq", "scaling_min_freq",
};

typedef struct cpu_freq {
    const char *name;
    bool have[N_UINT];
    uint64_t v[N_UINT];
    const char *governors, *governor;
} cpu_freq;

/* parseCPURange: "0-2,5"; false when malformed. */
static bool in_cpu_list(const char *list, long cpu, bool *ok)
{
    bool found = false;
    char *copy = strdup(list), *save;
    *ok = copy != NULL;
    for (char *tok = copy != NULL ? strtok_r(copy, ",", &save) : NULL; tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        char *end, *dash = strchr(tok, '-');
        long lo = strtol(tok, &end, 10), hi = lo;
        if (dash != NULL) {
            if (end != dash || dash == tok || strchr(dash + 1, '-') != NULL) *ok = false;
            hi = strtol(dash + 1, &end, 10);
            if (dash[1] == '\0') *ok = false;
        }
        if (*end != '\0' || end == tok) *ok = false;
        found |= cpu >= lo && cpu <= hi;
    }
    free(copy);
    return found;
}

/* A stats file of unsigned numbers; skip_first for trans_table's header. */
static bool stats_file_ok(nx_out *o, const char *path, bool two_fields, bool skip_first)
{
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return errno == ENOENT || errno == EACCES || errno == EPERM;
    bool first = true;
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save), first = false) {
        if (skip_first && first) continue;
        char *f[512];
        size_t n = nx_fields(line, f, 512);
        if (two_fields && n != 2) return false;
        for (size_t i = 0; i < n; i++) {
            size_t len = strlen(f[i]);
            if (i == 0 && !two_fields && len > 0 && f[i][len - 1] == ':') f[i][len - 1] = '\0';
            uint64_t v;
            if (*f[i] != '\0' && !nx_parse_u64(f[i], &v)) return false;
        }
    }
    return true;
}

static int read_cpu(nx_out *o, const char *dir, cpu_freq *c)
{
    for (int i = 0; i < N_UINT; i++) {
        const char *path = nx_sprintf(o, "%s/%s", dir, uint_files[i]);
        char *s = sr_read_all(o, path);
        if (s == NULL && (errno == ENOENT || errno == EACCES || errno == EPERM)) continue;
        if (s == NULL) return nx_error(o, "couldn't read %s: %m", path);
        if (!nx_parse_u64(s, &c->v[i])) return nx_error(o, "couldn't parse %s: %.40s", path, s);
        c->have[i] = true;
    }
    static const char *const str_files[] = {"scaling_available_governors", "scaling_driver",
                                            "scaling_governor", "related_cpus", "scaling_setspeed"};
    const char *s[5];
    for (int i = 0; i < 5; i++) {
        const char *path = nx_sprintf(o, "%s/%s", dir, str_files[i]);
        if ((s[i] = sr_read(o, path)) == NULL) return nx_error(o, "couldn't read %s: %m", path);
    }
    c->governors = s[0], c->governor = s[2];
    uint64_t v;
    const char *path = nx_sprintf(o, "%s/stats/total_trans", dir);
    char *t = sr_read_all(o, path);
    if ((t == NULL && errno != ENOENT && errno != EACCES && errno != EPERM) ||
        (t != NULL && !nx_parse_u64(t, &v)))
        return nx_error(o, "couldn't read %s", path);
    if (!stats_file_ok(o, nx_sprintf(o, "%s/stats/time_in_state", dir), true, false) ||
        !stats_file_ok(o, nx_sprintf(o, "%s/stats/trans_table", dir), false, true))
        return nx_error(o, "malformed cpufreq stats in %s/stats", dir);
    return 0;
}

static void emit(nx_out *o, const cpu_freq *c)
{
    static const struct {
        int idx;
        const char *name, *help;
    } m[] = {
        {CUR, "node_cpu_frequency_hertz", "Current CPU thread frequency in hertz."},
        {AVG, "node_cpu_frequency_avg_hertz", "Average CPU thread frequency in hertz."},
        {MIN, "node_cpu_frequency_min_hertz", "Minimum CPU thread frequency in hertz."},
        {MAX, "node_cpu_frequency_max_hertz", "Maximum CPU thread frequency in hertz."},
        {SCALING_CUR, "node_cpu_scaling_frequency_hertz",
         "Current scaled CPU thread frequency in hertz."},
        {SCALING_MIN, "node_cpu_scaling_frequency_min_hertz",
         "Minimum scaled CPU thread frequency in hertz."},
        {SCALING_MAX, "node_cpu_scaling_frequency_max_hertz",
         "Maximum scaled CPU thread frequency in hertz."},
    };
    static const char *const l_cpu[] = {"cpu", NULL};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        if (!c->have[m[i].idx]) continue;
        nx_family(o, m[i].name, m[i].help, PROM_GAUGE, l_cpu);
        nx_samplev(o, (double)c->v[m[i].idx] * 1000.0, c->name, NULL);
    }
    if (*c->governor == '\0') return;
    static const char *const l_gov[] = {"cpu", "governor", NULL};
    nx_family(o, "node_cpu_scaling_governor", "Current enabled CPU frequency governor.", PROM_GAUGE,
              l_gov);
    char *list = nx_sprintf(o, "%s", c->governors);
    for (char *g = list, *next; g != NULL; g = next) { /* split on single spaces */
        next = strchr(g, ' ');
        if (next != NULL) *next++ = '\0';
        nx_samplev(o, strcmp(g, c->governor) == 0, c->name, g, NULL);
    }
}

static int collect(nx_out *o)
{
    glob_t g;
    int rc = glob(nx_sys(o, "devices/system/cpu/cpu[0-9]*"), 0, NULL, &g);
    if (rc != 0 && rc != GLOB_NOMATCH) return nx_error(o, "glob of cpu directories failed");
    const char *path = nx_sys(o, "devices/system/cpu/offline");
    char *offline = nx_read_file(o, path, NULL);
    if (offline == NULL) {
        if (rc == 0) globfree(&g);
        return nx_error(o, "couldn't read %s: %m", path);
    }
    offline = sr_trim(offline);
    size_t n = rc == 0 ? g.gl_pathc : 0, n_cpus = 0;
    cpu_freq *cpus = core_arena_alloc(nx_arena(o), (n + 1) * sizeof *cpus);
    memset(cpus, 0, (n + 1) * sizeof *cpus);
    int result = 0;
    for (size_t i = 0; i < n && result == 0; i++) {
        const char *name = strrchr(g.gl_pathv[i], '/') + 4;
        if (*offline != '\0') {
            char *end;
            long num = strtol(name, &end, 10);
            bool ok;
            bool off = in_cpu_list(offline, num, &ok);
            if (*end != '\0' || !ok) {
                result = nx_error(o, "couldn't parse %s or cpu%s", path, name);
                break;
            }
            if (off) continue;
        }
        n_cpus++;
        const char *dir = nx_sprintf(o, "%s/cpufreq", g.gl_pathv[i]);
        struct stat sb;
        if (stat(dir, &sb) != 0) {
            if (errno != ENOENT) result = nx_error(o, "couldn't stat %s: %m", dir);
            continue;
        }
        cpu_freq *c = &cpus[i];
        c->name = nx_sprintf(o, "%s", name);
        result = read_cpu(o, dir, c);
    }
    if (result == 0 && n_cpus == 0)
        result = nx_error(o, "could not find any cpufreq files: file does not exist");
    for (size_t i = 0; i < n && result == 0; i++)
        if (cpus[i].name != NULL) emit(o, &cpus[i]);
    if (rc == 0) globfree(&g);
    return result;
}

const nx_collector nx_collector_cpufreq = {
    .name = "cpufreq",
    .default_on = true,
    .collect = collect,
};
