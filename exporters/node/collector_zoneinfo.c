/*
 * collector_zoneinfo.c - node_zoneinfo_*{node,zone} from /proc/zoneinfo.
 *
 * As procfs: the file is cut into blocks at each "\nNode"; a block's node and
 * zone come from its "N, zone NAME" line, and its known "key value" lines
 * (including the per-node stats that precede a node's first zone) give one
 * sample each; "protection: (a, b, ...)" gives protection_<i> (dropped whole
 * when one value is bad).  A value that does not parse is left out.
 */
#include "node.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct zfield {
    const char *key, *name, *help;
    bool counter;
} zfield;

static const zfield zfields[] = {
    {"nr_free_pages", "nr_free_pages", "Total number of free pages in the zone", false},
    {"min", "min_pages", "Zone watermark pages_min", false},
    {"low", "low_pages", "Zone watermark pages_low", false},
    {"high", "high_pages", "Zone watermark pages_high", false},
    {"scanned", "scanned_pages", "Pages scanned since last reclaim", false},
    {"spanned", "spanned_pages", "Total pages spanned by the zone, including holes", false},
    {"present", "present_pages", "Physical pages existing within the zone", false},
    {"managed", "managed_pages", "Present pages managed by the buddy system", false},
    {"nr_active_anon", "nr_active_anon_pages", "Number of anonymous pages recently more used",
     false},
    {"nr_inactive_anon", "nr_inactive_anon_pages", "Number of anonymous pages recently less used",
     false},
    {"nr_isolated_anon", "nr_isolated_anon_pages", "Temporary isolated pages from anon lru", false},
    {"nr_anon_pages", "nr_anon_pages", "Number of anonymous pages currently used by the system",
     false},
    {"nr_anon_transparent_hugepages", "nr_anon_transparent_hugepages",
     "Number of anonymous transparent huge pages currently used by the system", false},
    {"nr_active_file", "nr_active_file_pages", "Number of active pages with file-backing", false},
    {"nr_inactive_file", "nr_inactive_file_pages", "Number of inactive pages with file-backing",
     false},
    {"nr_isolated_file", "nr_isolated_file_pages", "Temporary isolated pages from file lru", false},
    {"nr_file_pages", "nr_file_pages", "Number of file pages", false},
    {"nr_slab_reclaimable", "nr_slab_reclaimable_pages", "Number of reclaimable slab pages", false},
    {"nr_slab_unreclaimable", "nr_slab_unreclaimable_pages", "Number of unreclaimable slab pages",
     false},
    {"nr_mlock_stack", "nr_mlock_stack_pages", "mlock()ed pages found and moved off LRU", false},
    {"nr_kernel_stack", "nr_kernel_stacks", "Number of kernel stacks", false},
    {"nr_mapped", "nr_mapped_pages", "Number of mapped pages", false},
    {"nr_dirty", "nr_dirty_pages", "Number of dirty pages", false},
    {"nr_writeback", "nr_writeback_pages", "Number of writeback pages", false},
    {"nr_unevictable", "nr_unevictable_pages", "Number of unevictable pages", false},
    {"nr_shmem", "nr_shmem_pages", "Number of shmem pages (included tmpfs/GEM pages)", false},
    {"nr_dirtied", "nr_dirtied_total", "Page dirtyings since bootup", true},
    {"nr_written", "nr_written_total", "Page writings since bootup", true},
    {"numa_hit", "numa_hit_total", "Allocated in intended node", true},
    {"numa_miss", "numa_miss_total", "Allocated in non intended node", true},
    {"numa_foreign", "numa_foreign_total", "Was intended here, hit elsewhere", true},
    {"numa_interleave", "numa_interleave_total", "Interleaver preferred this zone", true},
    {"numa_local", "numa_local_total", "Allocation from local node", true},
    {"numa_other", "numa_other_total", "Allocation from other node", true},
};
#define N_ZFIELDS      (sizeof zfields / sizeof zfields[0])
#define MAX_PROTECTION 16

typedef struct zone {
    const char *node, *zone;
    bool set[N_ZFIELDS];
    double v[N_ZFIELDS];
    size_t n_protection;
    double protection[MAX_PROTECTION];
} zone;

/* Go's ParseInt(s, 0, 64). */
static bool parse_int(const char *s, int base, double *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, base);
    if (end == s || *end != '\0' || errno != 0) return false;
    *out = (double)v;
    return true;
}

static bool is_word(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* The regexp `(\d+), zone\s+(\w+)`: node and zone of a "Node 0, zone DMA" line. */
static bool node_zone(nx_out *o, const char *line, zone *z)
{
    for (const char *p = strstr(line, ", zone"); p != NULL; p = strstr(p + 1, ", zone")) {
        const char *d = p;
        while (d > line && isdigit((unsigned char)d[-1]))
            d--;
        const char *w = p + 6, *ws = w;
        while (isspace((unsigned char)*w))
            w++;
        size_t wl = 0;
        while (is_word(w[wl]))
            wl++;
        if (d == p || w == ws || wl == 0) continue;
        z->node = nx_sprintf(o, "%.*s", (int)(p - d), d);
        z->zone = nx_sprintf(o, "%.*s", (int)wl, w);
        return true;
    }
    return false;
}

/* "protection: (0, 2039, 31932)"; the whole array or nothing. */
static void parse_protection(const char *line, zone *z)
{
    const char *p = strchr(line, ':');
    char buf[512];
    snprintf(buf, sizeof buf, "%s", p + 1);
    char *open = strchr(buf, '('), *close = strchr(buf, ')');
    if (open != NULL) *open = ' ';
    if (close != NULL) *close = ' ';
    double v[MAX_PROTECTION];
    size_t n = 0;
    for (char *save, *tok = strtok_r(buf, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        char *f[2];
        if (n == MAX_PROTECTION || nx_fields(tok, f, 2) != 1 || !parse_int(f[0], 10, &v[n])) return;
        n++;
    }
    memcpy(z->protection, v, n * sizeof *v);
    z->n_protection = n;
}

static void parse_line(nx_out *o, char *line, zone *z)
{
    if (node_zone(o, line, z)) return;
    char copy[512];
    snprintf(copy, sizeof copy, "%s", line);
    char *f[3];
    if (nx_fields(copy, f, 3) < 2) return;
    if (strcmp(f[0], "protection:") == 0) {
        parse_protection(line, z);
        return;
    }
    for (size_t i = 0; i < N_ZFIELDS; i++) {
        if (strcmp(f[0], zfields[i].key) != 0) continue;
        z->set[i] = parse_int(f[1], 0, &z->v[i]);
        return;
    }
}

static void emit(nx_out *o, const zone *z)
{
    static const char *const labels[] = {"node", "zone", NULL};
    const char *node = z->node != NULL ? z->node : "", *name = z->zone != NULL ? z->zone : "";
    for (size_t i = 0; i < N_ZFIELDS; i++) {
        if (!z->set[i]) continue;
        nx_family(o, nx_sprintf(o, "node_zoneinfo_%s", zfields[i].name), zfields[i].help,
                  zfields[i].counter ? PROM_COUNTER : PROM_GAUGE, labels);
        nx_samplev(o, z->v[i], node, name, NULL);
    }
    for (size_t i = 0; i < z->n_protection; i++) {
        nx_family(o, nx_sprintf(o, "node_zoneinfo_protection_%zu", i),
                  nx_sprintf(o, "Protection array %zu. field", i), PROM_GAUGE, labels);
        nx_samplev(o, z->protection[i], node, name, NULL);
    }
}

static int collect(nx_out *o)
{
    const char *path = nx_proc(o, "zoneinfo");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return nx_error(o, "couldn't get zoneinfo: %s: %m", path);
    char *block = text;
    while (block != NULL) {
        char *next = strstr(block, "\nNode");
        if (next != NULL) {
            *next = '\0';
            next += 5;
        }
        zone z = {0};
        for (char *save, *line = strtok_r(block, "\n", &save); line != NULL;
             line = strtok_r(NULL, "\n", &save))
            parse_line(o, line, &z);
        emit(o, &z);
        block = next;
    }
    return 0;
}

const nx_collector nx_collector_zoneinfo = {
    .name = "zoneinfo",
    .default_on = false,
    .collect = collect,
};
