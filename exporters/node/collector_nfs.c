/*
 * collector_nfs.c - node_nfs_* (NFS client) from <procfs>/net/rpc/nfs.
 *
 * Lines: net (packets/connections), rpc (calls, retransmissions, auth
 * refreshes), proc2/proc3/proc4 (a count, then per-procedure calls).  Every
 * procedure of upstream's V2/V3/ClientV4 stats is reported, 0 when the file
 * lacks it (an older kernel's short proc4 line is padded with zeros, as
 * upstream).  Labels as upstream: packets use "protocol", requests "proto".
 * Note that upstream's GetDeviceInfo/LayoutGet come in kernel order 45, 46.
 */
#include "nfs_util.h"

/* proc4 values 1..59, by position in the kernel's line. */
static const char *const v4_names[] = {
    "Null",
    "Read",
    "Write",
    "Commit",
    "Open",
    "OpenConfirm",
    "OpenNoattr",
    "OpenDowngrade",
    "Close",
    "Setattr",
    "FsInfo",
    "Renew",
    "SetClientID",
    "SetClientIDConfirm",
    "Lock",
    "Lockt",
    "Locku",
    "Access",
    "Getattr",
    "Lookup",
    "LookupRoot",
    "Remove",
    "Rename",
    "Link",
    "Symlink",
    "Create",
    "Pathconf",
    "StatFs",
    "ReadLink",
    "ReadDir",
    "ServerCaps",
    "DelegReturn",
    "GetACL",
    "SetACL",
    "FsLocations",
    "ReleaseLockowner",
    "Secinfo",
    "FsidPresent",
    "ExchangeID",
    "CreateSession",
    "DestroySession",
    "Sequence",
    "GetLeaseTime",
    "ReclaimComplete",
    "GetDeviceInfo",
    "LayoutGet",
    "LayoutCommit",
    "LayoutReturn",
    "SecinfoNoName",
    "TestStateID",
    "FreeStateID",
    "GetDeviceList",
    "BindConnToSession",
    "DestroyClientID",
    "Seek",
    "Allocate",
    "DeAllocate",
    "LayoutStats",
    "Clone",
};

#define N_V2 (sizeof nfs_v2_names / sizeof nfs_v2_names[0])
#define N_V3 (sizeof nfs_v3_names / sizeof nfs_v3_names[0])
#define N_V4 (sizeof v4_names / sizeof v4_names[0])

typedef struct client_stats {
    uint64_t net[4], rpc[3];
    uint64_t v2[N_V2 + 1], v3[N_V3 + 1], v4[N_V4 + 1];
} client_stats;

/* Copies the line's values into dst (n values wanted) if the line is valid. */
static void take(nx_out *o, const nfs_line *l, bool ok, uint64_t *dst, size_t n)
{
    if (!ok) {
        nx_warn(o, "nfs: invalid %s line", l->label);
        return;
    }
    memset(dst, 0, n * sizeof *dst);
    memcpy(dst, l->v, (l->n < n ? l->n : n) * sizeof *dst);
}

static void parse(nx_out *o, char *text, client_stats *st)
{
    for (char *line; (line = sf_next_line(&text)) != NULL;) {
        nfs_line l;
        if (!nfs_parse_line(o, "nfs", line, NULL, 0, &l)) continue;
        if (strcmp(l.label, "net") == 0)
            take(o, &l, l.n == 4, st->net, 4);
        else if (strcmp(l.label, "rpc") == 0)
            take(o, &l, l.n == 3, st->rpc, 3);
        else if (strcmp(l.label, "proc2") == 0)
            take(o, &l, nfs_proc_ok(&l, N_V2), st->v2, N_V2 + 1);
        else if (strcmp(l.label, "proc3") == 0)
            take(o, &l, nfs_proc_ok(&l, N_V3), st->v3, N_V3 + 1);
        else if (strcmp(l.label, "proc4") == 0)
            take(o, &l, nfs_proc_ok(&l, 0), st->v4, N_V4 + 1);
        else
            nx_warn(o, "nfs: unknown metric line %s", l.label);
    }
}

static void requests(nx_out *o, const char *proto, const char *const *names, size_t n,
                     const uint64_t *v)
{
    for (size_t i = 0; i < n; i++)
        nx_samplev(o, (double)v[i + 1], proto, names[i], NULL);
}

static int collect(nx_out *o)
{
    const char *path = nx_proc(o, "net/rpc/nfs");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL && errno == ENOENT) return nx_no_data(o, "Not collecting NFS metrics: %m");
    if (text == NULL) return nx_error(o, "failed to retrieve nfs stats: %s: %m", path);
    client_stats st;
    memset(&st, 0, sizeof st);
    parse(o, text, &st);

    static const char *const protocol[] = {"protocol", NULL};
    nx_family(o, "node_nfs_packets_total",
              "Total NFSd network packets (sent+received) by protocol type.", PROM_COUNTER,
              protocol);
    nx_samplev(o, (double)st.net[1], "udp", NULL);
    nx_samplev(o, (double)st.net[2], "tcp", NULL);
    nx_counter(o, "node_nfs_connections_total", "Total number of NFSd TCP connections.",
               (double)st.net[3]);
    nx_counter(o, "node_nfs_rpcs_total", "Total number of RPCs performed.", (double)st.rpc[0]);
    nx_counter(o, "node_nfs_rpc_retransmissions_total", "Number of RPC transmissions performed.",
               (double)st.rpc[1]);
    nx_counter(o, "node_nfs_rpc_authentication_refreshes_total",
               "Number of RPC authentication refreshes performed.", (double)st.rpc[2]);

    static const char *const proc_labels[] = {"proto", "method", NULL};
    nx_family(o, "node_nfs_requests_total", "Number of NFS procedures invoked.", PROM_COUNTER,
              proc_labels);
    requests(o, "2", nfs_v2_names, N_V2, st.v2);
    requests(o, "3", nfs_v3_names, N_V3, st.v3);
    requests(o, "4", v4_names, N_V4, st.v4);
    return 0;
}

const nx_collector nx_collector_nfs = {
    .name = "nfs",
    .default_on = true,
    .collect = collect,
};
