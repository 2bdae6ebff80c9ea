/*
 * collector_conntrack.c - node_nf_conntrack_* from
 * /proc/sys/net/netfilter/nf_conntrack_{count,max} and the per-CPU hex table
 * /proc/net/stat/nf_conntrack (summed over CPUs).  A missing file means
 * conntrack is not loaded: "no data" (success 0), as upstream.
 */
#include "node.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { FOUND, INVALID, IGNORE, INSERT, INSERT_FAILED, DROP, EARLY_DROP, SEARCH_RESTART, N_STATS };

static const struct {
    int column;
    const char *name, *help;
} stats[N_STATS] = {
    {2, "node_nf_conntrack_stat_found", "Number of searched entries which were successful."},
    {4, "node_nf_conntrack_stat_invalid", "Number of packets seen which can not be tracked."},
    {5, "node_nf_conntrack_stat_ignore",
     "Number of packets seen which are already connected to a conntrack entry."},
    {8, "node_nf_conntrack_stat_insert", "Number of entries inserted into the list."},
    {9, "node_nf_conntrack_stat_insert_failed",
     "Number of entries for which list insertion was attempted but failed."},
    {10, "node_nf_conntrack_stat_drop", "Number of packets dropped due to conntrack failure."},
    {11, "node_nf_conntrack_stat_early_drop",
     "Number of dropped conntrack entries to make room for new ones, if maximum table size was "
     "reached."},
    {16, "node_nf_conntrack_stat_search_restart",
     "Number of conntrack table lookups which had to be restarted due to hashtable resizes."},
};

static int fail(nx_out *o, const char *path)
{
    if (errno == ENOENT) return nx_no_data(o, "collector returned no data");
    return nx_error(o, "failed to retrieve conntrack stats: %s: %m", path);
}

/* Adds one CPU's line to sum[]; false when malformed. */
static bool add_line(char *line, double *sum)
{
    char *f[18];
    size_t n = nx_fields(line, f, 18);
    double v[17] = {0};
    if (n < 16 || n > 17) return false;
    for (size_t i = 0; i < n; i++) {
        char *end;
        v[i] = (double)strtoull(f[i], &end, 16);
        if (*end != '\0' || f[i][0] == '-') return false;
    }
    for (size_t i = 0; i < N_STATS; i++)
        sum[i] += v[stats[i].column];
    return true;
}

static int collect(nx_out *o)
{
    const char *count = nx_proc(o, "sys/net/netfilter/nf_conntrack_count");
    const char *max = nx_proc(o, "sys/net/netfilter/nf_conntrack_max");
    const char *stat = nx_proc(o, "net/stat/nf_conntrack");
    uint64_t v;
    if (nx_read_u64(count, &v) < 0) return fail(o, count);
    nx_gauge(o, "node_nf_conntrack_entries",
             "Number of currently allocated flow entries for connection tracking.", (double)v);
    if (nx_read_u64(max, &v) < 0) return fail(o, max);
    nx_gauge(o, "node_nf_conntrack_entries_limit", "Maximum size of connection tracking table.",
             (double)v);
    char *text = nx_read_file(o, stat, NULL);
    if (text == NULL) return fail(o, stat);
    double sum[N_STATS] = {0};
    char *save, *line = strtok_r(text, "\n", &save); /* the header */
    while (line != NULL && (line = strtok_r(NULL, "\n", &save)) != NULL)
        if (!add_line(line, sum)) nx_warn(o, "invalid conntrack stat line in %s", stat);
    for (size_t i = 0; i < N_STATS; i++)
        nx_gauge(o, stats[i].name, stats[i].help, sum[i]);
    return 0;
}

const nx_collector nx_collector_conntrack = {
    .name = "conntrack",
    .default_on = true,
    .collect = collect,
};
