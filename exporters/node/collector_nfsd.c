/*
 * collector_nfsd.c - node_nfsd_* (NFS server) from <procfs>/net/rpc/nfsd.
 *
 * Lines: rc (reply cache), fh (stale handles), io (bytes), th (threads; only
 * its first two values, the rest are floats), ra (read-ahead cache), net, rpc,
 * proc2/proc3 (a count, then per-procedure calls), proc4ops (per-operation
 * calls, 39 or 40 of them) and wdeleg_getattr.  As upstream, v2/v3 requests
 * leave out Null, v4 leaves out the unused ops and PutPubFH/PutRootFH, and
 * WdelegGetattr is reported as a v4 method; missing lines report 0.
 */
#include "nfs_util.h"

#define N_V2 (sizeof nfs_v2_names / sizeof nfs_v2_names[0])
#define N_V3 (sizeof nfs_v3_names / sizeof nfs_v3_names[0])

/* The proc4ops operations upstream reports, with their position in the line. */
static const struct {
    const char *name;
    int index;
} v4_ops[] = {
    {"Access", 4},     {"Close", 5},        {"Commit", 6},        {"Create", 7},
    {"DelegPurge", 8}, {"DelegReturn", 9},  {"GetAttr", 10},      {"GetFH", 11},
    {"Link", 12},      {"Lock", 13},        {"Lockt", 14},        {"Locku", 15},
    {"Lookup", 16},    {"LookupRoot", 17},  {"Nverify", 18},      {"Open", 19},
    {"OpenAttr", 20},  {"OpenConfirm", 21}, {"OpenDgrd", 22},     {"PutFH", 23},
    {"Read", 26},      {"ReadDir", 27},     {"ReadLink", 28},     {"Remove", 29},
    {"Rename", 30},    {"Renew", 31},       {"RestoreFH", 32},    {"SaveFH", 33},
    {"SecInfo", 34},   {"SetAttr", 35},     {"SetClientID", 36},  {"SetClientIDConfirm", 37},
    {"Verify", 38},    {"Write", 39},       {"RelLockOwner", 40},
};

typedef struct server_stats {
    uint64_t rc[3], fh[5], io[2], th[2], ra[12], net[4], rpc[5];
    uint64_t v2[N_V2 + 1], v3[N_V3 + 1], v4ops[41], wdeleg_getattr;
} server_stats;

static const struct {
    const char *label;
    size_t offset, min, max; /* where the values go; accepted number of values */
    bool proc;               /* a procN line: first value counts the others */
    bool more_ok;            /* values past max are ignored, not an error */
} lines[] = {
    {"rc", offsetof(server_stats, rc), 3, 3, false, false},
    {"fh", offsetof(server_stats, fh), 5, 5, false, false},
    {"io", offsetof(server_stats, io), 2, 2, false, false},
    {"th", offsetof(server_stats, th), 2, 2, false, false},
    {"ra", offsetof(server_stats, ra), 12, 12, false, false},
    {"net", offsetof(server_stats, net), 4, 4, false, false},
    {"rpc", offsetof(server_stats, rpc), 5, 5, false, false},
    {"proc2", offsetof(server_stats, v2), N_V2 + 1, N_V2 + 1, true, false},
    {"proc3", offsetof(server_stats, v3), N_V3 + 1, N_V3 + 1, true, false},
    {"proc4ops", offsetof(server_stats, v4ops), 40, 41, true, false},
    {"wdeleg_getattr", offsetof(server_stats, wdeleg_getattr), 1, 1, false, true},
};

static void store(nx_out *o, server_stats *st, const nfs_line *l)
{
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        if (strcmp(l->label, lines[i].label) != 0) continue;
        bool ok = lines[i].proc
                      ? nfs_proc_ok(l, lines[i].min - 1)
                      : l->n >= lines[i].min && (l->n <= lines[i].max || lines[i].more_ok);
        if (!ok) {
            nx_warn(o, "nfsd: invalid %s line", l->label);
            return;
        }
        uint64_t *dst = (uint64_t *)((char *)st + lines[i].offset);
        memset(dst, 0, lines[i].max * sizeof *dst);
        memcpy(dst, l->v, (l->n < lines[i].max ? l->n : lines[i].max) * sizeof *dst);
        return;
    }
    /* proc4 (null and compound counts) is read by upstream but not reported. */
    if (strcmp(l->label, "proc4") != 0) nx_warn(o, "nfsd: unknown metric line %s", l->label);
}

static void parse(nx_out *o, char *text, server_stats *st)
{
    for (char *line; (line = sf_next_line(&text)) != NULL;) {
        nfs_line l;
        if (nfs_parse_line(o, "nfsd", line, "th", 2, &l)) store(o, st, &l);
    }
}

static void emit(nx_out *o, const server_stats *st)
{
    nx_counter(o, "node_nfsd_reply_cache_hits_total",
               "Total number of NFSd Reply Cache hits (client lost server response).",
               (double)st->rc[0]);
    nx_counter(o, "node_nfsd_reply_cache_misses_total",
               "Total number of NFSd Reply Cache an operation that requires caching "
               "(idempotent).",
               (double)st->rc[1]);
    nx_counter(o, "node_nfsd_reply_cache_nocache_total",
               "Total number of NFSd Reply Cache non-idempotent operations "
               "(rename/delete/\xe2\x80\xa6).",
               (double)st->rc[2]);
    nx_counter(o, "node_nfsd_file_handles_stale_total", "Total number of NFSd stale file handles",
               (double)st->fh[0]);
    nx_counter(o, "node_nfsd_disk_bytes_read_total", "Total NFSd bytes read.", (double)st->io[0]);
    nx_counter(o, "node_nfsd_disk_bytes_written_total", "Total NFSd bytes written.",
               (double)st->io[1]);
    nx_gauge(o, "node_nfsd_server_threads", "Total number of NFSd kernel threads that are running.",
             (double)st->th[0]);
    nx_gauge(o, "node_nfsd_read_ahead_cache_size_blocks",
             "How large the read ahead cache is in blocks.", (double)st->ra[0]);
    nx_counter(o, "node_nfsd_read_ahead_cache_not_found_total",
               "Total number of NFSd read ahead cache not found.", (double)st->ra[11]);

    static const char *const proto[] = {"proto", NULL};
    nx_family(o, "node_nfsd_packets_total",
              "Total NFSd network packets (sent+received) by protocol type.", PROM_COUNTER, proto);
    nx_samplev(o, (double)st->net[1], "udp", NULL);
    nx_samplev(o, (double)st->net[2], "tcp", NULL);
    nx_counter(o, "node_nfsd_connections_total", "Total number of NFSd TCP connections.",
               (double)st->net[3]);

    static const char *const error[] = {"error", NULL};
    nx_family(o, "node_nfsd_rpc_errors_total", "Total number of NFSd RPC errors by error type.",
              PROM_COUNTER, error);
    nx_samplev(o, (double)st->rpc[2], "fmt", NULL);
    nx_samplev(o, (double)st->rpc[3], "auth", NULL);
    nx_samplev(o, (double)st->rpc[4], "cInt", NULL);
    nx_counter(o, "node_nfsd_server_rpcs_total", "Total number of NFSd RPCs.", (double)st->rpc[0]);

    static const char *const req[] = {"proto", "method", NULL};
    nx_family(o, "node_nfsd_requests_total", "Total number NFSd Requests by method and protocol.",
              PROM_COUNTER, req);
    for (size_t i = 1; i < N_V2; i++) /* from 1: no Null */
        nx_samplev(o, (double)st->v2[i + 1], "2", nfs_v2_names[i], NULL);
    for (size_t i = 1; i < N_V3; i++)
        nx_samplev(o, (double)st->v3[i + 1], "3", nfs_v3_names[i], NULL);
    for (size_t i = 0; i < sizeof v4_ops / sizeof v4_ops[0]; i++)
        nx_samplev(o, (double)st->v4ops[v4_ops[i].index], "4", v4_ops[i].name, NULL);
    nx_samplev(o, (double)st->wdeleg_getattr, "4", "WdelegGetattr", NULL);
}

static int collect(nx_out *o)
{
    const char *path = nx_proc(o, "net/rpc/nfsd");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL && errno == ENOENT) return nx_no_data(o, "Not collecting NFSd metrics: %m");
    if (text == NULL) return nx_error(o, "failed to retrieve nfsd stats: %s: %m", path);
    server_stats st;
    memset(&st, 0, sizeof st);
    parse(o, text, &st);
    emit(o, &st);
    return 0;
}

const nx_collector nx_collector_nfsd = {
    .name = "nfsd",
    .default_on = true,
    .collect = collect,
};
