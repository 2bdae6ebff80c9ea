/*
 * collector_sysctl.c - node_sysctl_* from <procfs>/sys/<name with '.' as '/'>.
 *
 * --collector.sysctl.include=<name>[:<key>,<key>...] reports numeric values:
 * one value as node_sysctl_<name>, several as node_sysctl_<name>{index}, or,
 * with keys, one node_sysctl_<name>_<key> per value.  --collector.sysctl.
 * include-info=<name> reports the words of a value as node_sysctl_info{name,
 * value,index}.  As upstream (procfs's SysReadFile) only the first 128 bytes
 * of a file are read, integers are parsed as Go's ParseInt with base 0
 * (0x.., 0o.., 0b.., leading-0 octal, '_' separators), and any sysctl that
 * cannot be read or does not fit its keys fails the scrape.
 */
#include "statfile_util.h"

#include <limits.h>

static core_strlist include, include_info;

static core_flag flags[] = {
    {"collector.sysctl.include", CORE_FLAG_LIST, &include, NULL, "Select sysctl metrics to include",
     false},
    {"collector.sysctl.include-info", CORE_FLAG_LIST, &include_info, NULL,
     "Select sysctl metrics to include as info metrics", false},
};

static int digit_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'z') return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
    return 99;
}

/* Go's underscoreOK: '_' only between digits, or right after a base prefix. */
static bool underscores_ok(const char *s)
{
    char saw = '^';
    bool hex = false;
    if (s[0] == '0' && s[1] != '\0' && strchr("bBoOxX", s[1]) != NULL) {
        hex = (s[1] | 0x20) == 'x';
        saw = '0';
        s += 2;
    }
    for (; *s != '\0'; s++) {
        if ((*s >= '0' && *s <= '9') || (hex && digit_value(*s) < 16)) {
            saw = '0';
        } else if (*s == '_') {
            if (saw != '0') return false;
            saw = '_';
        } else {
            if (saw == '_') return false;
            saw = '!';
        }
    }
    return saw != '_';
}

/* Go's strconv.ParseInt(s, 0, 64): 0x/0o/0b prefixes, leading-0 octal, '_'. */
static bool parse_int_base0(const char *s, int64_t *out)
{
    bool neg = false;
    if (*s == '+' || *s == '-') neg = *s++ == '-';
    if (*s == '\0') return false;
    const char *digits = s;
    int base = 10;
    if (s[0] == '0') {
        char p = (char)(s[1] | 0x20);
        bool prefix = s[1] != '\0' && s[2] != '\0' && (p == 'b' || p == 'o' || p == 'x');
        base = !prefix ? 8 : p == 'b' ? 2 : p == 'o' ? 8 : 16;
        digits = s + (prefix ? 2 : 1);
    }
    uint64_t v = 0;
    bool underscores = false;
    for (const char *c = digits; *c != '\0'; c++) {
        if (*c == '_') {
            underscores = true;
            continue;
        }
        int d = digit_value(*c);
        if (d >= base || v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) return false;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    if (underscores && !underscores_ok(s)) return false;
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX) return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* The words of a sysctl's value, or -1 after nx_error(). */
static int read_words(nx_out *o, const char *name, char ***words)
{
    char *rel = nx_sprintf(o, "sys/%s", name);
    for (char *p = rel; *p != '\0'; p++)
        if (*p == '.') *p = '/';
    const char *path = nx_proc(o, rel);
    size_t len;
    char *text = nx_read_file(o, path, &len);
    if (text == NULL) return nx_error(o, "error obtaining sysctl info: %s: %m", path);
    if (len > 128) text[128] = '\0';
    size_t cap = 1;
    for (const char *p = text; *p != '\0'; p++)
        cap++;
    *words = core_arena_alloc(nx_arena(o), cap * sizeof **words);
    for (char *p = text; *p != '\0'; p++)
        if (*p == '\n') *p = ' ';
    return (int)sf_fields(text, *words, cap);
}

static int numeric(nx_out *o, const char *spec)
{
    const char *colon = strchr(spec, ':');
    const char *name = colon ? core_arena_strndup(nx_arena(o), spec, (size_t)(colon - spec)) : spec;
    char **words;
    int n = read_words(o, name, &words);
    if (n < 0) return -1;
    int64_t *v = core_arena_alloc(nx_arena(o), ((size_t)n + 1) * sizeof *v);
    for (int i = 0; i < n; i++)
        if (!parse_int_base0(words[i], &v[i]))
            return nx_error(o,
                            "error obtaining sysctl info: field %d in sysctl %s is not a valid int",
                            i, name);
    size_t n_keys = 0;
    char *keys[256];
    if (colon != NULL)
        n_keys = sf_split_commas(core_arena_strdup(nx_arena(o), colon + 1), keys, 256);
    if (n == 0) return nx_error(o, "sysctl %s has no values", name);
    const char *metric = sf_sanitize_metric_name(o, name);
    const char *help = nx_sprintf(o, "sysctl %s", name);
    if (n == 1) {
        if (n_keys > 0) return nx_error(o, "sysctl %s has only one value, but expected keys", name);
        nx_family(o, nx_sprintf(o, "node_sysctl_%s", metric), help, PROM_UNTYPED, NULL);
        nx_sample(o, (double)v[0], NULL);
        return 0;
    }
    if (n_keys == 0) {
        static const char *const index[] = {"index", NULL};
        nx_family(o, nx_sprintf(o, "node_sysctl_%s", metric), help, PROM_UNTYPED, index);
        for (int i = 0; i < n; i++)
            nx_samplev(o, (double)v[i], nx_sprintf(o, "%d", i), NULL);
        return 0;
    }
    if ((size_t)n != n_keys)
        return nx_error(o, "sysctl %s has %d keys but only %zu defined in flag", name, n, n_keys);
    for (int i = 0; i < n; i++) {
        nx_family(o, nx_sprintf(o, "node_sysctl_%s_%s", metric, keys[i]),
                  nx_sprintf(o, "sysctl %s, field %d", name, i), PROM_UNTYPED, NULL);
        nx_sample(o, (double)v[i], NULL);
    }
    return 0;
}

static int info(nx_out *o, const char *spec)
{
    const char *colon = strchr(spec, ':');
    const char *name = colon ? core_arena_strndup(nx_arena(o), spec, (size_t)(colon - spec)) : spec;
    char **words;
    int n = read_words(o, name, &words);
    if (n < 0) return -1;
    if (n == 0) return nx_error(o, "sysctl %s has no values", name);
    if (colon != NULL && n == 1)
        return nx_error(o, "sysctl %s has only one value, but expected keys", name);
    if (colon != NULL) {
        char *keys[256];
        size_t n_keys = sf_split_commas(core_arena_strdup(nx_arena(o), colon + 1), keys, 256);
        if ((size_t)n != n_keys)
            return nx_error(o, "sysctl %s has %d keys but only %zu defined in flag", name, n,
                            n_keys);
        return nx_error(o, "mapped sysctl string values not supported");
    }
    static const char *const labels[] = {"name", "value", "index", NULL};
    nx_family(o, "node_sysctl_info", "sysctl info", PROM_GAUGE, labels);
    for (int i = 0; i < n; i++)
        nx_samplev(o, 1, name, words[i], nx_sprintf(o, "%d", i), NULL);
    return 0;
}

static int collect(nx_out *o)
{
    for (size_t i = 0; i < include.len; i++)
        if (numeric(o, include.v[i]) != 0) return -1;
    for (size_t i = 0; i < include_info.len; i++)
        if (info(o, include_info.v[i]) != 0) return -1;
    return 0;
}

const nx_collector nx_collector_sysctl = {
    .name = "sysctl",
    .default_on = false,
    .collect = collect,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
