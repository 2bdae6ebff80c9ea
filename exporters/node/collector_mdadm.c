/*
 * collector_mdadm.c - node_md_* from /proc/mdstat (disks, states, blocks and
 * sync progress per array) and /sys/block/md<N>/md/ (raid_disks, degraded).
 *
 * Parsing follows prometheus/procfs: a device line is followed by a status
 * line and, after an optional bitmap line, a sync line whose
 * recovery/reshape/check/resync word overrides the state; a line that does
 * not parse fails the whole file.  The state family keeps upstream's quirk
 * of looking up "resyncing" and "checking" but labelling them "resync" and
 * "check", and a reshaping array has none of its states set.  A missing
 * mdstat, or a missing file under /sys/block/md<N>/md, is "no data" (what
 * was emitted before stays).
 */
#include "sysfs_read.h"

#include <glob.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>

static regex_t status_re, blocks_re, pct_re, finish_re, speed_re;
static bool regex_ok;
static pthread_once_t regex_once = PTHREAD_ONCE_INIT;

static void compile_regexes(void)
{
    regex_ok = regcomp(&status_re, "([0-9]+) blocks .*\\[([0-9]+)/([0-9]+)\\] \\[([U_]+)\\]",
                       REG_EXTENDED) == 0 &&
               regcomp(&blocks_re, "\\(([0-9]+)/([0-9]+)\\)", REG_EXTENDED) == 0 &&
               regcomp(&pct_re, "= (.+)%", REG_EXTENDED) == 0 &&
               regcomp(&finish_re, "finish=(.+)min", REG_EXTENDED) == 0 &&
               regcomp(&speed_re, "speed=(.+)[A-Z]", REG_EXTENDED) == 0;
}

typedef struct md_stat {
    const char *name, *state;
    int64_t active, total, failed, spare, blocks, synced;
} md_stat;

static int64_t count_of(const char *s, const char *what)
{
    int64_t n = 0;
    for (const char *p = strstr(s, what); p != NULL; p = strstr(p + strlen(what), what))
        n++;
    return n;
}

/* Capture group g of re in s, into scrape memory; NULL when no match. */
static char *capture(nx_out *o, const regex_t *re, const char *s, int g)
{
    regmatch_t m[5];
    if (regexec(re, s, 5, m, 0) != 0 || m[g].rm_so < 0) return NULL;
    return nx_sprintf(o, "%.*s", (int)(m[g].rm_eo - m[g].rm_so), s + m[g].rm_so);
}

static bool parse_i64(const char *s, int64_t *v)
{
    uint64_t u;
    if (s == NULL || !nx_parse_u64(s, &u) || u > INT64_MAX) return false;
    *v = (int64_t)u;
    return true;
}

static bool parse_float(nx_out *o, const regex_t *re, const char *line, bool trim)
{
    char *s = capture(o, re, line, 1);
    double d;
    return s != NULL && nx_parse_double(trim ? sr_trim(s) : s, &d);
}

static bool eval_status(nx_out *o, const char *dev_line, char *status_line, md_stat *md)
{
    char *copy = nx_sprintf(o, "%s", status_line), *f[2];
    if (nx_fields(copy, f, 2) < 1 || !parse_i64(f[0], &md->blocks)) return false;
    if (strstr(dev_line, "raid0") != NULL || strstr(dev_line, "linear") != NULL) {
        md->total = md->active = count_of(dev_line, "[");
        return true;
    }
    if (strstr(dev_line, "inactive") != NULL) return true;
    return parse_i64(capture(o, &status_re, status_line, 2), &md->total) &&
           parse_i64(capture(o, &status_re, status_line, 3), &md->active);
}

static bool eval_sync(nx_out *o, const char *line, md_stat *md)
{
    if (strstr(line, "PENDING") != NULL || strstr(line, "DELAYED") != NULL) {
        md->synced = 0;
        return true;
    }
    int64_t to_sync;
    return parse_i64(capture(o, &blocks_re, line, 1), &md->synced) &&
           parse_i64(capture(o, &blocks_re, line, 2), &to_sync) &&
           parse_float(o, &pct_re, line, true) && parse_float(o, &finish_re, line, false) &&
           parse_float(o, &speed_re, line, false);
}

static bool known_type(const char *word, char **types, size_t n_types)
{
    if (strpbrk(word, "([") != NULL) return false;
    for (size_t i = 0; i < n_types; i++)
        if (strcmp(types[i], word) == 0) return true;
    return false;
}

/* A component "name[index](flags)" whose index overflows 32 bits is an error. */
static bool components_ok(char **f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *open = strrchr(f[i], '[');
        if (open == NULL || open[1] == '\0') continue;
        char *end;
        long long v = strtoll(open + 1, &end, 10);
        if (*end == ']' && end > open + 1 && (v > INT32_MAX || end - open > 12)) return false;
    }
    return true;
}

static int parse_mdstat(nx_out *o, char *text, md_stat **out, size_t *n_out)
{
    size_t n_lines = 1;
    for (char *p = text; *p != '\0'; p++)
        n_lines += *p == '\n';
    char **lines = core_arena_alloc(nx_arena(o), n_lines * sizeof *lines);
    lines[0] = text;
    for (size_t i = 1; i < n_lines; i++) {
        lines[i] = strchr(lines[i - 1], '\n') + 1;
        lines[i][-1] = '\0';
    }
    md_stat *mds = core_arena_alloc(nx_arena(o), n_lines * sizeof *mds);
    char *types[64];
    size_t n_types = 0, n = 0;
    for (size_t i = 0; i < n_lines; i++) {
        char *line = lines[i], *trim = sr_trim(nx_sprintf(o, "%s", line));
        if (*trim == '\0' || line[0] == ' ' || strncmp(line, "unused", 6) == 0) continue;
        if (n_types == 0 && strncmp(line, "Personalities : ", 16) == 0) {
            char *w[64];
            size_t nw = nx_fields(nx_sprintf(o, "%s", line + 16), w, 64);
            for (size_t k = 0; k < nw; k++)
                if (strlen(w[k]) >= 2)
                    types[n_types++] = nx_sprintf(o, "%.*s", (int)strlen(w[k]) - 2, w[k] + 1);
            continue;
        }
        char *f[256];
        size_t nf = nx_fields(nx_sprintf(o, "%s", line), f, 256);
        if (nf < 3) return nx_error(o, "error parsing mdstatus: expected 3+ fields: %.80s", line);
        md_stat *md = &mds[n];
        memset(md, 0, sizeof *md);
        md->name = f[0];
        md->state = f[2];
        size_t start = 0;
        if (nf > 3 && known_type(f[3], types, n_types))
            start = 4;
        else if (nf > 4 && known_type(f[4], types, n_types))
            start = 5;
        if (n_lines <= i + 3)
            return nx_error(o, "error parsing mdstatus: too few lines for md device %s", md->name);
        md->failed = count_of(line, "(F)");
        md->spare = count_of(line, "(S)");
        if (!eval_status(o, line, lines[i + 1], md))
            return nx_error(o, "error parsing mdstatus: bad status line for %s", md->name);
        size_t sync = strstr(lines[i + 2], "bitmap") != NULL ? i + 3 : i + 2;
        md->synced = md->blocks;
        const char *s = lines[sync];
        bool rec = strstr(s, "recovery") != NULL, reshape = strstr(s, "reshape") != NULL;
        bool resync = strstr(s, "resync") != NULL, check = strstr(s, "check") != NULL;
        if (rec || reshape || resync || check) {
            md->state = rec       ? "recovering"
                        : reshape ? "reshaping"
                        : check   ? "checking"
                                  : "resyncing";
            if (!eval_sync(o, s, md))
                return nx_error(o, "error parsing mdstatus: bad sync line for %s", md->name);
        }
        if (start > 0 && !components_ok(f + start, nf - start))
            return nx_error(o, "error parsing mdstatus: bad component in %s", md->name);
        n++;
    }
    *out = mds;
    *n_out = n;
    return 0;
}

static void emit_mdstat(nx_out *o, const md_stat *md)
{
    static const char *const l_dev[] = {"device", NULL};
    static const char *const l_state[] = {"device", "state", NULL};
    nx_family(o, "node_md_disks_required", "Total number of disks of device.", PROM_GAUGE, l_dev);
    nx_samplev(o, (double)md->total, md->name, NULL);
    nx_family(o, "node_md_disks", "Number of active/failed/spare disks of device.", PROM_GAUGE,
              l_state);
    nx_samplev(o, (double)md->active, md->name, "active", NULL);
    nx_samplev(o, (double)md->failed, md->name, "failed", NULL);
    nx_samplev(o, (double)md->spare, md->name, "spare", NULL);
    static const char *const looked_up[] = {"active", "inactive", "recovering", "resyncing",
                                            "checking"};
    static const char *const label[] = {"active", "inactive", "recovering", "resync", "check"};
    nx_family(o, "node_md_state", "Indicates the state of md-device.", PROM_GAUGE, l_state);
    for (size_t k = 0; k < 5; k++)
        nx_samplev(o, strcmp(md->state, looked_up[k]) == 0, md->name, label[k], NULL);
    nx_family(o, "node_md_blocks", "Total number of blocks on device.", PROM_GAUGE, l_dev);
    nx_samplev(o, (double)md->blocks, md->name, NULL);
    nx_family(o, "node_md_blocks_synced", "Number of blocks synced on device.", PROM_GAUGE, l_dev);
    nx_samplev(o, (double)md->synced, md->name, NULL);
}

/* util.SysReadFile; a missing file is "no data" (-2), another failure -1. */
static int md_read(nx_out *o, const char *dir, const char *file, char **out)
{
    const char *path = nx_sprintf(o, "%s/%s", dir, file);
    *out = sr_read(o, path);
    if (*out != NULL) return 0;
    if (errno == ENOENT) return nx_no_data(o, "Not collecting mdraids, %s does not exist", path);
    return nx_error(o, "error parsing mdraids: %s: %m", path);
}

static bool level_in(const char *level, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(level, *list) == 0) return true;
    return false;
}

static int collect_mdraid(nx_out *o, const char *dir, const char *device)
{
    char *level, *s;
    if (md_read(o, dir, "level", &level) < 0 || md_read(o, dir, "array_state", &s) < 0 ||
        md_read(o, dir, "metadata_version", &s) < 0)
        return -1;
    bool have_disks = false;
    uint64_t disks = 0, degraded = 0;
    if (*level != '\0' &&
        !level_in(level, (const char *const[]){"container", "imsm", "ddf", NULL})) {
        const char *path = nx_sprintf(o, "%s/raid_disks", dir);
        char *content = sr_read_all(o, path);
        if (content == NULL) return nx_error(o, "reading raid_disks for %s: %m", device);
        char *space = strchr(content, ' ');
        have_disks = nx_parse_u64(content, &disks);
        if (!have_disks && space != NULL && space > content) {
            *space = '\0';
            have_disks = nx_parse_u64(content, &disks);
        }
    }
    if (md_read(o, dir, "uuid", &s) < 0) return -1;
    glob_t g;
    if (glob(nx_sprintf(o, "%s/dev-*", dir), 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            if (md_read(o, g.gl_pathv[i], "state", &s) < 0) {
                globfree(&g);
                return -1;
            }
        }
        globfree(&g);
    }
    uint64_t v;
    if (level_in(level,
                 (const char *const[]){"raid0", "raid4", "raid5", "raid6", "raid10", NULL})) {
        if (md_read(o, dir, "chunk_size", &s) < 0) return -1;
        if (!nx_parse_u64(s, &v)) return nx_error(o, "error parsing mdraids: chunk_size %s", s);
    }
    if (level_in(level,
                 (const char *const[]){"raid1", "raid4", "raid5", "raid6", "raid10", NULL})) {
        if (md_read(o, dir, "degraded", &s) < 0) return -1;
        if (!nx_parse_u64(s, &degraded))
            return nx_error(o, "error parsing mdraids: degraded %s", s);
        if (md_read(o, dir, "sync_action", &s) < 0 || md_read(o, dir, "sync_completed", &s) < 0)
            return -1;
        unsigned long long a, b;
        if (strcmp(s, "none") != 0 && sscanf(s, "%llu / %llu", &a, &b) != 2)
            return nx_error(o, "error parsing mdraids: sync_completed %s", s);
    }
    static const char *const l_dev[] = {"device", NULL};
    if (have_disks) {
        nx_family(o, "node_md_raid_disks", "Number of raid disks on device.", PROM_GAUGE, l_dev);
        nx_samplev(o, (double)disks, device, NULL);
    }
    nx_family(o, "node_md_degraded", "Number of degraded disks on device.", PROM_GAUGE, l_dev);
    nx_samplev(o, (double)degraded, device, NULL);
    return 0;
}

static int collect(nx_out *o)
{
    pthread_once(&regex_once, compile_regexes);
    if (!regex_ok) return nx_error(o, "cannot compile the mdstat regexes");
    const char *path = nx_proc(o, "mdstat");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL && errno == ENOENT)
        return nx_no_data(o, "Not collecting mdstat, file does not exist");
    if (text == NULL) return nx_error(o, "error parsing mdstatus: %s: %m", path);
    md_stat *mds;
    size_t n;
    if (parse_mdstat(o, text, &mds, &n) < 0) return -1;
    for (size_t i = 0; i < n; i++)
        emit_mdstat(o, &mds[i]);
    glob_t g;
    int rc = glob(nx_sys(o, "block/md*/md"), 0, NULL, &g);
    if (rc != 0) return 0;
    for (size_t i = 0; i < g.gl_pathc && rc == 0; i++) {
        char *dir = nx_sprintf(o, "%s", g.gl_pathv[i]);
        *strrchr(dir, '/') = '\0';
        const char *device = strrchr(dir, '/') + 1;
        rc = collect_mdraid(o, g.gl_pathv[i], device);
    }
    globfree(&g);
    return rc;
}

const nx_collector nx_collector_mdadm = {
    .name = "mdadm",
    .default_on = true,
    .collect = collect,
};
