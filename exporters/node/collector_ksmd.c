/*
 * collector_ksmd.c - node_ksmd_* from /sys/kernel/mm/ksm/<file> (one number per
 * file; sleep_millisecs reported in seconds).  A missing file is skipped, as
 * upstream after 1.12.1.
 */
#include "node.h"

#include <errno.h>

static const struct {
    const char *file, *name, *help;
    bool counter;
    double scale;
} files[] = {
    {"full_scans", "node_ksmd_full_scans_total",
     "How many times all mergeable areas have been scanned.", true, 1},
    {"general_profit", "node_ksmd_general_profit_bytes",
     "How effective is KSM. ksm_saved_pages * sizeof(page) - (all_rmap_items) * sizeof(rmap_item)",
     false, 1},
    {"merge_across_nodes", "node_ksmd_merge_across_nodes",
     "Specifies if pages from different NUMA nodes can be merged.", false, 1},
    {"pages_shared", "node_ksmd_pages_shared", "How many shared pages are being used.", false, 1},
    {"pages_sharing", "node_ksmd_pages_sharing",
     "How many more sites are sharing them i.e. how much saved.", false, 1},
    {"pages_to_scan", "node_ksmd_pages_to_scan",
     "How many pages to scan before ksmd goes to sleep.", false, 1},
    {"pages_unshared", "node_ksmd_pages_unshared",
     "How many pages unique but repeatedly checked for merging.", false, 1},
    {"pages_volatile", "node_ksmd_pages_volatile",
     "How many pages changing too fast to be placed in a tree.", false, 1},
    {"run", "node_ksmd_run", "The status of ksmd. stopped = 0, running = 1", false, 1},
    {"sleep_millisecs", "node_ksmd_sleep_seconds",
     "How many seconds ksmd should sleep before next scan.", false, 1000},
};

static int collect(nx_out *o)
{
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        const char *path = nx_sys(o, nx_sprintf(o, "kernel/mm/ksm/%s", files[i].file));
        uint64_t v;
        errno = 0;
        if (nx_read_u64(path, &v) < 0) {
            if (errno == ENOENT) continue;
            return nx_error(o, "couldn't read %s", path);
        }
        if (files[i].counter)
            nx_counter(o, files[i].name, files[i].help, (double)v);
        else
            nx_gauge(o, files[i].name, files[i].help, (double)v / files[i].scale);
    }
    return 0;
}

const nx_collector nx_collector_ksmd = {
    .name = "ksmd",
    .default_on = false,
    .collect = collect,
};
