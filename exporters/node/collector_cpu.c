/*
 * collector_cpu.c - per-CPU times from /proc/stat (node_cpu_seconds_total,
 * node_cpu_guest_seconds_total), /proc/cpuinfo with --collector.cpu.info
 * (node_cpu_info, node_cpu_frequency_hertz and the first CPU's flags and bugs
 * filtered by --collector.cpu.info.{flags,bugs}-include), thermal throttle
 * counts, isolated and online CPUs from /sys/devices/system/cpu.
 *
 * Upstream quirks kept: the times are kept monotonic across scrapes (a value
 * that goes back is held, and an idle time that drops by 3s or more is taken
 * as a hotplug and resets that CPU); setting an include flag turns
 * --collector.cpu.info on; node_cpu_online is skipped when cpu0 has no
 * "online" file; node_cpu_frequency_hertz is printed only while the cpufreq
 * collector is on (its default), as upstream.
 */
#include "procstat_parse.h"

#include <errno.h>
#include <pthread.h>

static bool guest, info;
static const char *flags_include, *bugs_include;
static nx_regex *flags_re, *bugs_re;

static core_flag flags[] = {
    {"collector.cpu.guest", CORE_FLAG_BOOL, &guest, "true",
     "Enables metric node_cpu_guest_seconds_total", false},
    {"collector.cpu.info", CORE_FLAG_BOOL, &info, "false", "Enables metric cpu_info", false},
    {"collector.cpu.info.flags-include", CORE_FLAG_STRING, &flags_include, "",
     "Filter the `flags` field in cpuInfo with a value that must be a regular expression", false},
    {"collector.cpu.info.bugs-include", CORE_FLAG_STRING, &bugs_include, "",
     "Filter the `bugs` field in cpuInfo with a value that must be a regular expression", false},
};

static const char *const cpu_mode[] = {"cpu", "mode", NULL};
static const char *const cpu_only[] = {"cpu", NULL};

/* ---- Times, kept monotonic across scrapes */

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static ps_cpu *cache;
static size_t n_cache, cap_cache;

static ps_cpu *cached(int64_t id)
{
    for (size_t i = 0; i < n_cache; i++)
        if (cache[i].id == id) return &cache[i];
    if (n_cache == cap_cache)
        cache = core_reallocarray(cache, cap_cache = 2 * cap_cache + 8, sizeof *cache);
    cache[n_cache] = (ps_cpu){.id = id};
    return &cache[n_cache++];
}

static void update_cache(const ps_stat *st)
{
    for (size_t i = 0; i < st->n_cpus; i++) {
        const ps_cpu *n = &st->cpus[i];
        ps_cpu *c = cached(n->id);
        if (c->t[PS_IDLE] - n->t[PS_IDLE] >= 3.0) *c = (ps_cpu){.id = n->id};
        for (size_t m = 0; m < PS_N_MODES; m++)
            if (n->t[m] >= c->t[m]) c->t[m] = n->t[m];
    }
    size_t k = 0; /* drop the CPUs that went away */
    for (size_t i = 0; i < n_cache; i++) {
        bool present = false;
        for (size_t j = 0; j < st->n_cpus && !present; j++)
            present = st->cpus[j].id == cache[i].id;
        if (present) cache[k++] = cache[i];
    }
    n_cache = k;
}

static void emit_times(nx_out *o)
{
    static const char *const modes[] = {"user",   "nice", "system",  "idle",
                                        "iowait", "irq",  "softirq", "steal"};
    nx_family(o, "node_cpu_seconds_total", "Seconds the CPUs spent in each mode.", PROM_COUNTER,
              cpu_mode);
    for (size_t i = 0; i < n_cache; i++) {
        char *id = nx_sprintf(o, "%lld", (long long)cache[i].id);
        for (size_t m = 0; m < 8; m++)
            nx_samplev(o, cache[i].t[m], id, modes[m], NULL);
    }
    if (!guest) return;
    nx_family(o, "node_cpu_guest_seconds_total",
              "Seconds the CPUs spent in guests (VMs) for each mode.", PROM_COUNTER, cpu_mode);
    for (size_t i = 0; i < n_cache; i++) {
        char *id = nx_sprintf(o, "%lld", (long long)cache[i].id);
        nx_samplev(o, cache[i].t[PS_GUEST], id, "user", NULL);
        nx_samplev(o, cache[i].t[PS_GUEST_NICE], id, "nice", NULL);
    }
}

static int update_stat(nx_out *o)
{
    ps_stat st;
    if (ps_read(o, &st) < 0) return -1;
    pthread_mutex_lock(&cache_lock);
    update_cache(&st);
    emit_times(o);
    pthread_mutex_unlock(&cache_lock);
    return 0;
}

/* ---- /proc/cpuinfo */

typedef struct cpuinfo {
    const char *processor, *vendor, *family, *model, *model_name, *microcode, *stepping,
        *cache_size, *physical_id, *core_id;
    double mhz;
    char *flags, *bugs;
} cpuinfo;

/* Stores "key: value" of the x86 layout into c. */
static void cpuinfo_field(nx_out *o, cpuinfo *c, const char *key, char *value)
{
    static const struct {
        const char *key;
        size_t off;
    } strings[] = {
        {"vendor", offsetof(cpuinfo, vendor)},
        {"vendor_id", offsetof(cpuinfo, vendor)},
        {"cpu family", offsetof(cpuinfo, family)},
        {"model", offsetof(cpuinfo, model)},
        {"model name", offsetof(cpuinfo, model_name)},
        {"stepping", offsetof(cpuinfo, stepping)},
        {"microcode", offsetof(cpuinfo, microcode)},
        {"cache size", offsetof(cpuinfo, cache_size)},
        {"physical id", offsetof(cpuinfo, physical_id)},
        {"core id", offsetof(cpuinfo, core_id)},
    };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        if (strcmp(key, strings[i].key) == 0) {
            *(const char **)((char *)c + strings[i].off) = value;
            return;
        }
    }
    if (strcmp(key, "cpu MHz") == 0 && !nx_parse_double(value, &c->mhz))
        nx_warn(o, "bad cpu MHz in cpuinfo: %.30s", value);
    else if (strcmp(key, "flags") == 0)
        c->flags = value;
    else if (strcmp(key, "bugs") == 0)
        c->bugs = value;
}

static const char *processor_number(nx_out *o, const char *value)
{
    char *end;
    unsigned long long v = strtoull(value, &end, 0);
    if (*value < '0' || *value > '9' || *end != '\0' || v > UINT32_MAX) {
        nx_warn(o, "bad processor number in cpuinfo: %.30s", value);
        v = 0;
    }
    return nx_sprintf(o, "%llu", v);
}

/* Trims blanks at both ends, in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Parses cpuinfo text into *out (scrape memory); the count, or -1. */
static int parse_cpuinfo(nx_out *o, char *text, cpuinfo **out)
{
    size_t n = 0, cap = 0;
    cpuinfo *v = NULL;
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (n == 0 && trim(line)[0] == '\0') continue;
        if (n == 0 && (strncmp(line, "processor", 9) != 0 || strchr(line, ':') == NULL))
            return nx_error(o, "cannot parse cpuinfo line: %.40s", line);
        if (strchr(line, ':') == NULL) continue;
        char *sep = strstr(line, ": ");
        char *value = sep != NULL ? sep + 2 : (char *)"";
        if (sep != NULL) *sep = '\0';
        char *key = trim(line);
        if (sep == NULL) *strchr(key, ':') = '\0', key = trim(key);
        if (strcmp(key, "processor") == 0) {
            if (n == cap) {
                cpuinfo *more = core_arena_alloc(nx_arena(o), (cap = 2 * cap + 8) * sizeof *more);
                if (n > 0) memcpy(more, v, n * sizeof *v);
                v = more;
            }
            v[n] = (cpuinfo){.processor = processor_number(o, value)};
            n++;
        } else {
            cpuinfo_field(o, &v[n - 1], key, value);
        }
    }
    *out = v;
    return (int)n;
}

static const char *str(const char *s)
{
    return s != NULL ? s : "";
}

/* One sample per word of `words` that the filter takes (no filter: none). */
static void emit_words(nx_out *o, const char *name, const char *help, const char *label,
                       char *words, const nx_regex *re)
{
    if (re == NULL || words == NULL) return;
    const char *labels[] = {label, NULL};
    nx_family(o, name, help, PROM_GAUGE, labels);
    char *w[1024];
    size_t n = nx_fields(words, w, 1024);
    for (size_t i = 0; i < n; i++)
        if (nx_regex_match(re, w[i])) nx_samplev(o, 1, w[i], NULL);
}

static int update_info(nx_out *o)
{
    const char *path = nx_proc(o, "cpuinfo");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return nx_error(o, "couldn't read %s: %m", path);
    cpuinfo *c = NULL;
    int n = parse_cpuinfo(o, text, &c);
    if (n < 0) return -1;
    static const char *const info_labels[] = {"package",  "core",      "cpu",        "vendor",
                                              "family",   "model",     "model_name", "microcode",
                                              "stepping", "cachesize", NULL};
    nx_family(o, "node_cpu_info", "CPU information from /proc/cpuinfo.", PROM_GAUGE, info_labels);
    for (int i = 0; i < n; i++)
        nx_samplev(o, 1, str(c[i].physical_id), str(c[i].core_id), c[i].processor, str(c[i].vendor),
                   str(c[i].family), str(c[i].model), str(c[i].model_name), str(c[i].microcode),
                   str(c[i].stepping), str(c[i].cache_size), NULL);
    static const char *const freq_labels[] = {"package", "core", "cpu", NULL};
    if (nx_collector_enabled("cpufreq")) {
        nx_family(o, "node_cpu_frequency_hertz", "CPU frequency in hertz from /proc/cpuinfo.",
                  PROM_GAUGE, freq_labels);
        for (int i = 0; i < n; i++)
            nx_samplev(o, c[i].mhz * 1e6, str(c[i].physical_id), str(c[i].core_id), c[i].processor,
                       NULL);
    }
    if (n == 0) return 0;
    emit_words(o, "node_cpu_flag_info",
               "The `flags` field of CPU information from /proc/cpuinfo taken from the first core.",
               "flag", c[0].flags, flags_re);
    emit_words(o, "node_cpu_bug_info",
               "The `bugs` field of CPU information from /proc/cpuinfo taken from the first core.",
               "bug", c[0].bugs, bugs_re);
    return 0;
}

/* ---- /sys/devices/system/cpu */

/* The cpuN entries (as the glob cpu[0-9]*). */
static int list_cpus(nx_out *o, char ***names)
{
    char **all;
    int n = nx_list_dir(o, nx_sys(o, "devices/system/cpu"), &all);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (strncmp(all[i], "cpu", 3) == 0 && all[i][3] >= '0' && all[i][3] <= '9')
            all[k++] = all[i];
    *names = all;
    return n < 0 ? 0 : k;
}

typedef struct throttle {
    uint64_t package, core, count;
    bool is_package;
} throttle;

static bool have_throttle(const throttle *t, size_t n, bool is_package, uint64_t pkg, uint64_t core)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].is_package == is_package && t[i].package == pkg &&
            (is_package || t[i].core == core))
            return true;
    return false;
}

static void update_throttles(nx_out *o, char **cpus, int n)
{
    throttle *t = core_arena_alloc(nx_arena(o), (2 * (size_t)n + 1) * sizeof *t);
    size_t nt = 0;
    for (int i = 0; i < n; i++) {
        const char *dir = nx_sys(o, nx_sprintf(o, "devices/system/cpu/%s", cpus[i]));
        uint64_t pkg, core, count;
        if (nx_read_u64(nx_sprintf(o, "%s/topology/physical_package_id", dir), &pkg) < 0 ||
            nx_read_u64(nx_sprintf(o, "%s/topology/core_id", dir), &core) < 0)
            continue;
        if (!have_throttle(t, nt, false, pkg, core) &&
            nx_read_u64(nx_sprintf(o, "%s/thermal_throttle/core_throttle_count", dir), &count) == 0)
            t[nt++] = (throttle){pkg, core, count, false};
        if (!have_throttle(t, nt, true, pkg, 0) &&
            nx_read_u64(nx_sprintf(o, "%s/thermal_throttle/package_throttle_count", dir), &count) ==
                0)
            t[nt++] = (throttle){pkg, 0, count, true};
    }
    static const char *const pkg_labels[] = {"package", NULL};
    static const char *const pkg_core_labels[] = {"package", "core", NULL};
    nx_family(o, "node_cpu_package_throttles_total",
              "Number of times this CPU package has been throttled.", PROM_COUNTER, pkg_labels);
    for (size_t i = 0; i < nt; i++)
        if (t[i].is_package)
            nx_samplev(o, (double)t[i].count,
                       nx_sprintf(o, "%llu", (unsigned long long)t[i].package), NULL);
    nx_family(o, "node_cpu_core_throttles_total",
              "Number of times this CPU core has been throttled.", PROM_COUNTER, pkg_core_labels);
    for (size_t i = 0; i < nt; i++)
        if (!t[i].is_package)
            nx_samplev(o, (double)t[i].count,
                       nx_sprintf(o, "%llu", (unsigned long long)t[i].package),
                       nx_sprintf(o, "%llu", (unsigned long long)t[i].core), NULL);
}

/* Expands a CPU list such as "1,3-5,9"; false when malformed. */
static bool for_each_in_range(nx_out *o, char *list)
{
    for (char *save, *part = strtok_r(list, ",", &save); part != NULL;
         part = strtok_r(NULL, ",", &save)) {
        char *end, *dash = strchr(part, '-');
        long lo = strtol(part, &end, 10), hi = lo;
        if (end == part || (dash != NULL ? end != dash : *end != '\0')) return false;
        if (dash != NULL) {
            hi = strtol(dash + 1, &end, 10);
            if (end == dash + 1 || *end != '\0') return false;
        }
        if (lo < 0 || hi > 65535) return false;
        for (long c = lo; c <= hi; c++)
            nx_samplev(o, 1, nx_sprintf(o, "%ld", c), NULL);
    }
    return true;
}

static void update_isolated(nx_out *o)
{
    const char *path = nx_sys(o, "devices/system/cpu/isolated");
    char *text = nx_read_line(o, path);
    if (text == NULL) return;
    nx_family(o, "node_cpu_isolated",
              "Whether each core is isolated, information from /sys/devices/system/cpu/isolated.",
              PROM_GAUGE, cpu_only);
    if (!for_each_in_range(o, text)) nx_warn(o, "invalid cpu range in %s", path);
}

static void update_online(nx_out *o, char **cpus, int n)
{
    if (n == 0) return;
    char *first =
        nx_read_line(o, nx_sys(o, nx_sprintf(o, "devices/system/cpu/%s/online", cpus[0])));
    if (first == NULL && errno == ENOENT) return;
    nx_family(o, "node_cpu_online", "CPUs that are online and being scheduled.", PROM_GAUGE,
              cpu_only);
    for (int i = 0; i < n; i++) {
        char *s =
            nx_read_line(o, nx_sys(o, nx_sprintf(o, "devices/system/cpu/%s/online", cpus[i])));
        nx_samplev(o, s != NULL && strcmp(s, "1") == 0 ? 1 : 0, cpus[i] + 3, NULL);
    }
}

static int collect(nx_out *o)
{
    if (info && update_info(o) < 0) return -1;
    if (update_stat(o) < 0) return -1;
    update_isolated(o);
    char **cpus;
    int n = list_cpus(o, &cpus);
    update_throttles(o, cpus, n);
    update_online(o, cpus, n);
    return 0;
}

static int init(core_err *err)
{
    nx_regex_free(flags_re); /* init may run again (tests) */
    nx_regex_free(bugs_re);
    if ((flags_include[0] != '\0' || bugs_include[0] != '\0') && !info) {
        info = true;
        core_info("cpu", "--collector.cpu.info has been set to `true` because you set the "
                         "following flags, like --collector.cpu.info.flags-include and "
                         "--collector.cpu.info.bugs-include");
    }
    if (nx_regex_compile(flags_include, "collector.cpu.info.flags-include", &flags_re, err) < 0 ||
        nx_regex_compile(bugs_include, "collector.cpu.info.bugs-include", &bugs_re, err) < 0)
        return -1;
    return 0;
}

const nx_collector nx_collector_cpu = {
    .name = "cpu",
    .default_on = true,
    .collect = collect,
    .init = init,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
