/*
 * collector_mountstats.c - node_mountstats_nfs_* from <procfs>/<pid>/mountstats,
 * where <pid> is what <procfs>/self points to (upstream reads the exporter's
 * own namespace through procfs's Self()).  A fixture tree whose symlinks were
 * flattened into files holding their target is read the same way.
 *
 * Each NFS mount ("device ... with fstype nfs|nfs4 statvers=...") has opts,
 * age, events, bytes, xprt lines and per-op statistics; the mount's server
 * address is the "addr" super option of the mountinfo line at the same index.
 * As upstream: a mount is reported once per (export, protocol, address),
 * its mountpoint_info once per (export, protocol, address, mountpoint);
 * transports are normalized to the tcp 1.1 layout (udp lacks connect and
 * idle counts); idle and queue/response/request times are taken modulo 2^53.
 */
#include "statfile_util.h"

#include <unistd.h>

#define MANTISSA 9007199254740992ULL

static const char *const L_MOUNT[] = {"export", "protocol", "mountaddr", NULL};
static const char *const L_INFO[] = {"export", "protocol", "mountaddr", "mountpoint", NULL};
static const char *const L_OP[] = {"export", "protocol", "mountaddr", "operation", NULL};
static const char *const L_XPRT[] = {"export", "protocol", "mountaddr", "transport", NULL};

static const struct {
    const char *name, *help;
} bytes_metrics[8] = {
    {"read_bytes_total", "Number of bytes read using the read() syscall."},
    {"write_bytes_total", "Number of bytes written using the write() syscall."},
    {"direct_read_bytes_total", "Number of bytes read using the read() syscall in O_DIRECT mode."},
    {"direct_write_bytes_total",
     "Number of bytes written using the write() syscall in O_DIRECT mode."},
    {"total_read_bytes_total", "Number of bytes read from the NFS server, in total."},
    {"total_write_bytes_total", "Number of bytes written to the NFS server, in total."},
    {"read_pages_total", "Number of pages read directly via mmap()'d files."},
    {"write_pages_total", "Number of pages written directly via mmap()'d files."},
};

/* The events line, by position (18, congestion wait, is not reported). */
static const struct {
    int index;
    const char *name, *help;
} event_metrics[] = {
    {0, "inode_revalidate",
     "Number of times cached inode attributes are re-validated from the server."},
    {1, "dnode_revalidate",
     "Number of times cached dentry nodes are re-validated from the server."},
    {2, "data_invalidate", "Number of times an inode cache is cleared."},
    {3, "attribute_invalidate", "Number of times cached inode attributes are invalidated."},
    {4, "vfs_open", "Number of times cached inode attributes are invalidated."},
    {5, "vfs_lookup", "Number of times a directory lookup has occurred."},
    {6, "vfs_access", "Number of times permissions have been checked."},
    {7, "vfs_update_page", "Number of updates (and potential writes) to pages."},
    {8, "vfs_read_page", "Number of pages read directly via mmap()'d files."},
    {9, "vfs_read_pages", "Number of times a group of pages have been read."},
    {10, "vfs_write_page", "Number of pages written directly via mmap()'d files."},
    {11, "vfs_write_pages", "Number of times a group of pages have been written."},
    {12, "vfs_getdents", "Number of times directory entries have been read with getdents()."},
    {13, "vfs_setattr", "Number of times directory entries have been read with getdents()."},
    {14, "vfs_flush", "Number of pending writes that have been forcefully flushed to the server."},
    {15, "vfs_fsync", "Number of times fsync() has been called on directories and files."},
    {16, "vfs_lock", "Number of times locking has been attempted on a file."},
    {17, "vfs_file_release", "Number of times files have been closed and released."},
    {19, "truncation", "Number of times files have been truncated."},
    {20, "write_extension",
     "Number of times a file has been grown due to writes beyond its existing end."},
    {21, "silly_rename", "Number of times a file was removed while still open by another process."},
    {22, "short_read",
     "Number of times the NFS server gave less data than expected while reading."},
    {23, "short_write",
     "Number of times the NFS server wrote less data than expected while writing."},
    {24, "jukebox_delay",
     "Number of times the NFS server indicated EJUKEBOX; retrieving data from offline storage."},
    {25, "pnfs_read", "Number of NFS v4.1+ pNFS reads."},
    {26, "pnfs_write", "Number of NFS v4.1+ pNFS writes."},
};

/* Normalized transport values (tcp 1.1 layout), by position. */
static const struct {
    int index;
    bool gauge;
    const char *name, *help;
} xprt_metrics[] = {
    {1, false, "transport_bind_total",
     "Number of times the client has had to establish a connection from scratch to the NFS "
     "server."},
    {2, false, "transport_connect_total",
     "Number of times the client has made a TCP connection to the NFS server."},
    {4, true, "transport_idle_time_seconds",
     "Duration since the NFS mount last saw any RPC traffic, in seconds."},
    {5, false, "transport_sends_total",
     "Number of RPC requests for this mount sent to the NFS server."},
    {6, false, "transport_receives_total",
     "Number of RPC responses for this mount received from the NFS server."},
    {7, false, "transport_bad_transaction_ids_total",
     "Number of times the NFS server sent a response with a transaction ID unknown to this "
     "client."},
    {9, false, "transport_backlog_queue_total",
     "Total number of items added to the RPC backlog queue."},
    {10, true, "transport_maximum_rpc_slots",
     "Maximum number of simultaneously active RPC requests ever used."},
    {11, false, "transport_sending_queue_total",
     "Total number of items added to the RPC transmission sending queue."},
    {12, false, "transport_pending_queue_total",
     "Total number of items added to the RPC transmission pending queue."},
};

static const struct {
    int index;
    double scale; /* 0: a plain count; else milliseconds modulo 2^53 times scale */
    const char *name, *help;
} op_metrics[] = {
    {0, 0, "operations_requests_total", "Number of requests performed for a given operation."},
    {1, 0, "operations_transmissions_total",
     "Number of times an actual RPC request has been transmitted for a given operation."},
    {2, 0, "operations_major_timeouts_total",
     "Number of times a request has had a major timeout for a given operation."},
    {3, 0, "operations_sent_bytes_total",
     "Number of bytes sent for a given operation, including RPC headers and payload."},
    {4, 0, "operations_received_bytes_total",
     "Number of bytes received for a given operation, including RPC headers and payload."},
    {5, 1e-3, "operations_queue_time_seconds_total",
     "Duration all requests spent queued for transmission for a given operation before they "
     "were sent, in seconds."},
    {6, 1e-3, "operations_response_time_seconds_total",
     "Duration all requests took to get a reply back after a request for a given operation was "
     "transmitted, in seconds."},
    {7, 1e-3, "operations_request_time_seconds_total",
     "Duration all requests took from when a request was enqueued to when it was completely "
     "handled for a given operation, in seconds."},
};

#define XPRT_VALUES 31
#define MAX_XPRT    8
#define MAX_OPS     128

typedef struct xprt {
    const char *protocol;
    uint64_t v[XPRT_VALUES];
} xprt;

typedef struct op {
    const char *name;
    uint64_t v[8];
} op;

typedef struct nfs_mount {
    const char *device, *mountpoint, *statvers;
    double age;
    uint64_t bytes[8], events[27];
    xprt xprts[MAX_XPRT];
    size_t n_xprts;
    op ops[MAX_OPS];
    size_t n_ops;
} nfs_mount;

/* A set of strings (the dedup keys), in scrape memory. */
typedef struct key_set {
    const char **v;
    size_t n, cap;
} key_set;

/* Adds key; false if it was there already. */
static bool key_add(nx_out *o, key_set *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], key) == 0) return false;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        const char **v = core_arena_alloc(nx_arena(o), cap * sizeof *v);
        if (s->n > 0) memcpy(v, s->v, s->n * sizeof *v);
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = key;
    return true;
}

/* ---- mountinfo: the "addr" super option of each line, by index */

static const char *super_addr(nx_out *o, char *line)
{
    /* Fields are split on single spaces; the separator "-" is 4th from last. */
    char *f[256];
    size_t n = 0;
    for (char *p = line, *save = NULL; n < 256;) {
        f[n++] = p;
        save = strchr(p, ' ');
        if (save == NULL) break;
        *save = '\0';
        p = save + 1;
    }
    if (n < 10 || strcmp(f[n - 4], "-") != 0) return NULL;
    const char *addr = "";
    for (char *save, *opt = strtok_r(f[n - 1], ",", &save); opt != NULL;
         opt = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(opt, '=');
        if (eq == NULL || (size_t)(eq - opt) != 4 || strncmp(opt, "addr", 4) != 0) continue;
        char *end = strchr(eq + 1, '=');
        addr =
            core_arena_strndup(nx_arena(o), eq + 1, end ? (size_t)(end - eq - 1) : strlen(eq + 1));
    }
    return addr;
}

static int read_mountinfo(nx_out *o, const char *path, const char ***addrs, size_t *n)
{
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return nx_error(o, "failed to parse mountinfo: %s: %m", path);
    size_t cap = 1;
    for (const char *p = text; *p != '\0'; p++)
        cap += *p == '\n';
    *addrs = core_arena_alloc(nx_arena(o), cap * sizeof **addrs);
    *n = 0;
    for (char *line; (line = sf_next_line(&text)) != NULL && *n < cap;) {
        const char *a = super_addr(o, line);
        if (a == NULL) nx_warn(o, "mountstats: malformed mountinfo line %zu", *n + 1);
        (*addrs)[(*n)++] = a != NULL ? a : "";
    }
    return 0;
}

/* ---- mountstats */

/* An xprt line's values after "xprt: <protocol>", normalized. */
static bool parse_xprt(char **f, size_t n, const char *statvers, xprt *x)
{
    const char *proto = f[0];
    f++, n--;
    bool tcp = strcmp(proto, "tcp") == 0, udp = strcmp(proto, "udp") == 0,
         rdma = strcmp(proto, "rdma") == 0;
    if (strcmp(statvers, "1.0") == 0) {
        if (!(tcp && n == 10) && !(udp && n == 7)) return false;
    } else if (strcmp(statvers, "1.1") == 0) {
        if (!(tcp && n == 13) && !(udp && n == 10) && !(rdma && n >= 20 && n <= XPRT_VALUES))
            return false;
    } else {
        return false;
    }
    uint64_t raw[XPRT_VALUES] = {0};
    if (!sf_parse_u64s(f, n, raw)) return false;
    memset(x->v, 0, sizeof x->v);
    x->protocol = proto;
    if (udp) { /* port, bind, then no connect/connect idle/idle */
        memcpy(x->v, raw, 2 * sizeof *raw);
        memcpy(x->v + 5, raw + 2, (XPRT_VALUES - 5) * sizeof *raw);
    } else if (tcp) {
        memcpy(x->v, raw, 13 * sizeof *raw);
    } else { /* rdma: three slots after the tenth are not reported by the kernel */
        memcpy(x->v, raw, 10 * sizeof *raw);
        memcpy(x->v + 13, raw + 10, (XPRT_VALUES - 13) * sizeof *raw);
    }
    return true;
}

/* The lines of one NFS mount after its device line, up to a blank line. */
static void parse_nfs(nx_out *o, char **text, nfs_mount *m)
{
    bool per_op = false;
    for (char *line; !per_op && (line = sf_next_line(text)) != NULL;) {
        char *f[64];
        size_t n = sf_fields(line, f, 64);
        if (n == 0) return;
        if (strcmp(f[0], "per-op") == 0) per_op = true;
        if (n < 2) continue;
        if (strcmp(f[0], "age:") == 0) {
            if (!nx_parse_double(f[1], &m->age)) nx_warn(o, "mountstats: bad age %.40s", f[1]);
        } else if (strcmp(f[0], "bytes:") == 0) {
            if (n != 9 || !sf_parse_u64s(f + 1, 8, m->bytes))
                nx_warn(o, "mountstats: invalid NFS bytes stats for %s", m->device);
        } else if (strcmp(f[0], "events:") == 0) {
            if (n != 28 || !sf_parse_u64s(f + 1, 27, m->events))
                nx_warn(o, "mountstats: invalid NFS events stats for %s", m->device);
        } else if (strcmp(f[0], "xprt:") == 0 && n >= 3) {
            if (m->n_xprts < MAX_XPRT &&
                parse_xprt(f + 1, n - 1, m->statvers, &m->xprts[m->n_xprts]))
                m->n_xprts++;
            else
                nx_warn(o, "mountstats: invalid NFS transport stats for %s", m->device);
        }
    }
    if (!per_op) return;
    for (char *line; (line = sf_next_line(text)) != NULL;) {
        char *f[16];
        size_t n = sf_fields(line, f, 16);
        if (n == 0) return;
        op *p = &m->ops[m->n_ops];
        if (n < 9 || m->n_ops == MAX_OPS || !sf_parse_u64s(f + 1, 8, p->v)) {
            nx_warn(o, "mountstats: invalid NFS per-operations stats for %s", m->device);
            continue;
        }
        size_t l = strlen(f[0]);
        if (l > 0 && f[0][l - 1] == ':') f[0][l - 1] = '\0';
        p->name = f[0];
        m->n_ops++;
    }
}

static void emit_stats(nx_out *o, const nfs_mount *m, const char *proto, const char *addr)
{
    nx_family(o, "node_mountstats_nfs_age_seconds_total", "The age of the NFS mount in seconds.",
              PROM_COUNTER, L_MOUNT);
    nx_samplev(o, m->age, m->device, proto, addr, NULL);
    for (size_t i = 0; i < 8; i++) {
        nx_family(o, nx_sprintf(o, "node_mountstats_nfs_%s", bytes_metrics[i].name),
                  bytes_metrics[i].help, PROM_COUNTER, L_MOUNT);
        nx_samplev(o, (double)m->bytes[i], m->device, proto, addr, NULL);
    }
    for (size_t t = 0; t < m->n_xprts; t++) {
        const char *idx = nx_sprintf(o, "%zu", t);
        for (size_t i = 0; i < sizeof xprt_metrics / sizeof xprt_metrics[0]; i++) {
            uint64_t v = m->xprts[t].v[xprt_metrics[i].index];
            if (xprt_metrics[i].index == 4) v %= MANTISSA;
            nx_family(o, nx_sprintf(o, "node_mountstats_nfs_%s", xprt_metrics[i].name),
                      xprt_metrics[i].help, xprt_metrics[i].gauge ? PROM_GAUGE : PROM_COUNTER,
                      L_XPRT);
            nx_samplev(o, (double)v, m->device, proto, addr, idx, NULL);
        }
    }
    for (size_t k = 0; k < m->n_ops; k++) {
        for (size_t i = 0; i < sizeof op_metrics / sizeof op_metrics[0]; i++) {
            uint64_t raw = m->ops[k].v[op_metrics[i].index];
            double v = op_metrics[i].scale == 0 ? (double)raw : (double)(raw % MANTISSA) / 1000.0;
            nx_family(o, nx_sprintf(o, "node_mountstats_nfs_%s", op_metrics[i].name),
                      op_metrics[i].help, PROM_COUNTER, L_OP);
            nx_samplev(o, v, m->device, proto, addr, m->ops[k].name, NULL);
        }
    }
    for (size_t i = 0; i < sizeof event_metrics / sizeof event_metrics[0]; i++) {
        nx_family(o, nx_sprintf(o, "node_mountstats_nfs_event_%s_total", event_metrics[i].name),
                  event_metrics[i].help, PROM_COUNTER, L_MOUNT);
        nx_samplev(o, (double)m->events[event_metrics[i].index], m->device, proto, addr, NULL);
    }
}

typedef struct seen {
    key_set mountpoints, devices;
} seen;

static void report(nx_out *o, const nfs_mount *m, const char *addr, seen *s)
{
    for (size_t k = 0; k < m->n_xprts; k++) {
        const char *proto = m->xprts[k].protocol;
        if (key_add(o, &s->mountpoints,
                    nx_sprintf(o, "%s\x01%s\x01%s\x01%s", m->device, proto, addr, m->mountpoint))) {
            nx_family(o, "node_mountstats_nfs_mountpoint_info",
                      "Info metric for an NFS mountpoint.", PROM_GAUGE, L_INFO);
            nx_samplev(o, 1, m->device, proto, addr, m->mountpoint, NULL);
        }
        if (!key_add(o, &s->devices, nx_sprintf(o, "%s\x01%s\x01%s", m->device, proto, addr)))
            break;
        emit_stats(o, m, proto, addr);
    }
}

/* The pid <procfs>/self names: a symlink, or a file holding the target. */
static const char *self_pid(nx_out *o)
{
    const char *self = nx_proc(o, "self");
    char buf[64];
    ssize_t n = readlink(self, buf, sizeof buf - 1);
    char *target;
    if (n >= 0) {
        buf[n] = '\0';
        target = core_arena_strdup(nx_arena(o), buf);
    } else {
        target = nx_read_line(o, self);
    }
    uint64_t pid;
    if (target == NULL) return NULL;
    const char *slash = strrchr(target, '/');
    const char *digits = slash ? slash + 1 : target;
    return nx_parse_u64(digits, &pid) ? digits : NULL;
}

static int collect(nx_out *o)
{
    const char *pid = self_pid(o);
    if (pid == NULL) return nx_error(o, "failed to open %s", nx_proc(o, "self"));
    const char *path = nx_proc(o, nx_sprintf(o, "%s/mountstats", pid));
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return nx_error(o, "failed to parse mountstats: %s: %m", path);
    const char **addrs = NULL;
    size_t n_addrs = 0;
    if (read_mountinfo(o, nx_proc(o, nx_sprintf(o, "%s/mountinfo", pid)), &addrs, &n_addrs) != 0)
        return -1;
    seen s;
    memset(&s, 0, sizeof s);
    nfs_mount *m = core_arena_alloc(nx_arena(o), sizeof *m);
    size_t index = 0;
    for (char *line; (line = sf_next_line(&text)) != NULL;) {
        char *f[10];
        size_t n = sf_fields(line, f, 10);
        if (n == 0 || strcmp(f[0], "device") != 0) continue;
        if (n < 8 || strcmp(f[2], "mounted") != 0 || strcmp(f[3], "on") != 0 ||
            strcmp(f[5], "with") != 0 || strcmp(f[6], "fstype") != 0) {
            nx_warn(o, "mountstats: invalid device line");
            continue;
        }
        size_t idx = index++;
        if (n == 8) continue;
        if (strcmp(f[7], "nfs") != 0 && strcmp(f[7], "nfs4") != 0) {
            nx_warn(o, "mountstats: cannot parse stats of fstype %s", f[7]);
            continue;
        }
        memset(m, 0, sizeof *m);
        m->device = f[1];
        m->mountpoint = f[4];
        m->statvers = strncmp(f[8], "statvers=", 9) == 0 ? f[8] + 9 : f[8];
        parse_nfs(o, &text, m);
        report(o, m, idx < n_addrs ? addrs[idx] : "", &s);
    }
    return 0;
}

const nx_collector nx_collector_mountstats = {
    .name = "mountstats",
    .default_on = false,
    .collect = collect,
};
