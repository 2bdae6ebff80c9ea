/*
 * collector_arp.c - node_arp_entries{device} from /proc/net/arp, devices
 * filtered by --collector.arp.device-include / device-exclude.
 *
 * Upstream reads the neighbour table over netlink unless
 * --no-collector.arp.netlink; this collector accepts that flag and reads
 * /proc/net/arp either way (the counts agree except for NOARP entries, which
 * netlink leaves out).  Every 6-column line counts, complete or not.
 */
#include "node.h"

#include <string.h>

static const char *include_flag, *exclude_flag;
static bool netlink;
static nx_filter filter;

static core_flag flags[] = {
    {"collector.arp.device-include", CORE_FLAG_STRING, &include_flag, "",
     "Regexp of arp devices to include (mutually exclusive to device-exclude).", false},
    {"collector.arp.device-exclude", CORE_FLAG_STRING, &exclude_flag, "",
     "Regexp of arp devices to exclude (mutually exclusive to device-include).", false},
    {"collector.arp.netlink", CORE_FLAG_BOOL, &netlink, "true",
     "Use netlink to gather stats instead of /proc/net/arp.", false},
};

#define MAX_DEVICES 1024

static int collect(nx_out *o)
{
    const char *path = nx_proc(o, "net/arp");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return nx_error(o, "could not get ARP entries: %s: %m", path);
    const char **devices = core_arena_alloc(nx_arena(o), MAX_DEVICES * sizeof *devices);
    double counts[MAX_DEVICES];
    size_t n = 0;
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[10];
        size_t w = nx_fields(line, f, 10);
        if (w == 0 || w == 9) continue; /* the header has 9 words */
        if (w != 6) {
            nx_warn(o, "%zu columns found in %s, but expected 6", w, path);
            continue;
        }
        size_t i = 0;
        while (i < n && strcmp(devices[i], f[5]) != 0)
            i++;
        if (i == MAX_DEVICES) continue;
        if (i == n) devices[n] = f[5], counts[n++] = 0;
        counts[i]++;
    }
    static const char *const labels[] = {"device", NULL};
    nx_family(o, "node_arp_entries", "ARP entries by device", PROM_GAUGE, labels);
    for (size_t i = 0; i < n; i++)
        if (!nx_filter_ignored(&filter, devices[i])) nx_samplev(o, counts[i], devices[i], NULL);
    return 0;
}

static int init(core_err *err)
{
    nx_regex_free(filter.include); /* init may run again (tests) */
    nx_regex_free(filter.exclude);
    return nx_filter_init(&filter, include_flag, exclude_flag, "collector.arp", err);
}

const nx_collector nx_collector_arp = {
    .name = "arp",
    .default_on = true,
    .collect = collect,
    .init = init,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
