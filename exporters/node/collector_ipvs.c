/*
 * collector_ipvs.c - node_ipvs_* from <procfs>/net/ip_vs_stats (totals, hex)
 * and <procfs>/net/ip_vs (per-backend connections and weights).
 *
 * Addresses are hex "C0A80016:0CEA" (IPv4) or "[v6 address]:0CEA" and are
 * printed as Go's net.IP does; a firewall-mark service ("FWM <mark>") has an
 * empty local address and port 0.  --collector.ipvs.backend-labels picks the
 * backend labels (in upstream's fixed order); backends that then share a
 * label set are summed, as upstream.
 */
#include "statfile_util.h"

#include <arpa/inet.h>
#include <stdio.h>

static const char *const all_labels[] = {"local_address", "local_port", "remote_address",
                                         "remote_port",   "proto",      "local_mark"};
enum { LOCAL_ADDRESS, LOCAL_PORT, REMOTE_ADDRESS, REMOTE_PORT, PROTO, LOCAL_MARK, N_LABELS };

static const char *labels_flag;
static const char *labels[N_LABELS + 1]; /* the chosen ones, NULL-terminated */
static int label_ids[N_LABELS];
static size_t n_labels;

static core_flag flags[] = {
    {"collector.ipvs.backend-labels", CORE_FLAG_STRING, &labels_flag,
     "local_address,local_port,remote_address,remote_port,proto,local_mark",
     "Comma separated list for IPVS backend stats labels.", false},
};

static int init(core_err *err)
{
    bool want[N_LABELS] = {false};
    char *copy = core_strdup(labels_flag != NULL ? labels_flag : "");
    core_sb unknown = CORE_SB_INIT;
    for (char *save, *l = strtok_r(copy, ",", &save); l != NULL; l = strtok_r(NULL, ",", &save)) {
        size_t i = 0;
        while (i < N_LABELS && strcmp(l, all_labels[i]) != 0)
            i++;
        if (i < N_LABELS) {
            want[i] = true;
        } else {
            core_sb_addf(&unknown, "%s%s", unknown.len ? ", " : "", l);
        }
    }
    free(copy);
    if (unknown.len > 0) {
        core_err_set(err, "unknown IPVS backend labels: \"%s\"", unknown.buf);
        core_sb_destroy(&unknown);
        return -1;
    }
    n_labels = 0;
    for (int i = 0; i < N_LABELS; i++) {
        if (!want[i]) continue;
        label_ids[n_labels] = i;
        labels[n_labels++] = all_labels[i];
    }
    labels[n_labels] = NULL;
    return 0;
}

/* Go's net.IP.String() for a 16-byte address: dotted for IPv4-mapped,
 * else lowercase hex groups with the first longest run (>= 2) of zero
 * groups as "::". */
static void format_ipv6(const unsigned char *a, char *out, size_t cap)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, mapped, 12) == 0) {
        snprintf(out, cap, "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
        return;
    }
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && a[2 * j] == 0 && a[2 * j + 1] == 0)
            j++;
        if (j - i > best_len && j - i >= 2) best = i, best_len = j - i;
        i = j > i ? j : i + 1;
    }
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < 8 && n < cap; i++) {
        if (i == best) {
            n += (size_t)snprintf(out + n, cap - n, "::");
            i += best_len - 1;
            continue;
        }
        const char *sep = (i > 0 && i != best + best_len) ? ":" : "";
        n += (size_t)snprintf(out + n, cap - n, "%s%x", sep,
                              (unsigned)(a[2 * i] << 8 | a[2 * i + 1]));
    }
}

/* "C0A80016:0CEA" or "[2620:...]:0CEA" -> address text and port. */
static bool parse_ip_port(const char *s, char *addr, size_t cap, unsigned *port)
{
    size_t len = strlen(s);
    if (len == 13) {
        unsigned char b[4];
        for (int i = 0; i < 4; i++) {
            char hex[3] = {s[2 * i], s[2 * i + 1], '\0'};
            uint64_t v;
            if (!sf_parse_hex_u64(hex, &v)) return false;
            b[i] = (unsigned char)v;
        }
        snprintf(addr, cap, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    } else if (len == 46) {
        char text[40];
        unsigned char b[16];
        memcpy(text, s + 1, 39);
        text[39] = '\0';
        if (inet_pton(AF_INET6, text, b) != 1) {
            struct in_addr v4;
            if (inet_pton(AF_INET, text, &v4) != 1) return false;
            snprintf(addr, cap, "%s", text);
        } else {
            format_ipv6(b, addr, cap);
        }
    } else {
        return false;
    }
    uint64_t p;
    if (!sf_parse_hex_u64(s + len - 4, &p) || p > 0xffff) return false;
    *port = (unsigned)p;
    return true;
}

static int totals(nx_out *o)
{
    const char *path = nx_proc(o, "net/ip_vs_stats");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL && errno == ENOENT)
        return nx_no_data(o, "ipvs collector metrics are not available for this system");
    if (text == NULL) return nx_error(o, "could not get IPVS stats: %s: %m", path);
    /* As upstream: at least three lines, the third holding five hex totals. */
    size_t newlines = 0;
    for (const char *p = text; *p != '\0'; p++)
        newlines += *p == '\n';
    char *line = NULL;
    for (int i = 0; i < 3; i++)
        line = sf_next_line(&text);
    char *f[6];
    uint64_t v[5];
    if (newlines < 3 || line == NULL || sf_fields(line, f, 6) != 5)
        return nx_error(o, "could not get IPVS stats: ip_vs_stats corrupt");
    for (int i = 0; i < 5; i++)
        if (!sf_parse_hex_u64(f[i], &v[i]))
            return nx_error(o, "could not get IPVS stats: bad value %.20s", f[i]);
    nx_counter(o, "node_ipvs_connections_total", "The total number of connections made.",
               (double)v[0]);
    nx_counter(o, "node_ipvs_incoming_packets_total", "The total number of incoming packets.",
               (double)v[1]);
    nx_counter(o, "node_ipvs_outgoing_packets_total", "The total number of outgoing packets.",
               (double)v[2]);
    nx_counter(o, "node_ipvs_incoming_bytes_total", "The total amount of incoming data.",
               (double)v[3]);
    nx_counter(o, "node_ipvs_outgoing_bytes_total", "The total amount of outgoing data.",
               (double)v[4]);
    return 0;
}

/* Backends summed by their chosen label values. */
typedef struct backend_sum {
    const char *key;
    const char *values[N_LABELS + 1];
    double active, inactive, weight;
    struct backend_sum *next;
} backend_sum;

static void add_backend(nx_out *o, backend_sum **list, const char *const *all, double w, double a,
                        double ia)
{
    const char *values[N_LABELS + 1];
    core_sb key = CORE_SB_INIT;
    for (size_t i = 0; i < n_labels; i++) {
        values[i] = all[label_ids[i]];
        core_sb_addf(&key, "%s%s", i ? "-" : "", values[i]);
    }
    values[n_labels] = NULL;
    backend_sum *s = *list;
    while (s != NULL && strcmp(s->key, key.len ? key.buf : "") != 0)
        s = s->next;
    if (s == NULL) {
        s = core_arena_alloc(nx_arena(o), sizeof *s);
        memset(s, 0, sizeof *s);
        s->key = core_arena_strdup(nx_arena(o), key.len ? key.buf : "");
        for (size_t i = 0; i <= n_labels; i++)
            s->values[i] = values[i] ? core_arena_strdup(nx_arena(o), values[i]) : NULL;
        s->next = *list;
        *list = s;
    }
    core_sb_destroy(&key);
    s->weight += w;
    s->active += a;
    s->inactive += ia;
}

static int backends(nx_out *o)
{
    const char *path = nx_proc(o, "net/ip_vs");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return nx_error(o, "could not get backend status: %s: %m", path);
    backend_sum *list = NULL;
    char local[64] = "", local_port[8] = "0", proto[8] = "", mark[32] = "";
    for (char *line; (line = sf_next_line(&text)) != NULL;) {
        char *f[8];
        size_t n = sf_fields(line, f, 8);
        if (n < 2 || strcmp(f[0], "IP") == 0 || strcmp(f[0], "Prot") == 0 ||
            strcmp(f[1], "RemoteAddress:Port") == 0)
            continue;
        unsigned port;
        char addr[64];
        if (strcmp(f[0], "TCP") == 0 || strcmp(f[0], "UDP") == 0) {
            if (!parse_ip_port(f[1], addr, sizeof addr, &port))
                return nx_error(o, "could not get backend status: bad address %.50s", f[1]);
            snprintf(proto, sizeof proto, "%s", f[0]);
            snprintf(local, sizeof local, "%s", addr);
            snprintf(local_port, sizeof local_port, "%u", port);
            mark[0] = '\0';
        } else if (strcmp(f[0], "FWM") == 0) {
            snprintf(proto, sizeof proto, "FWM");
            snprintf(mark, sizeof mark, "%.31s", f[1]);
            local[0] = '\0';
            snprintf(local_port, sizeof local_port, "0");
        } else if (strcmp(f[0], "->") == 0 && n >= 6) {
            uint64_t w, a, ia;
            if (!parse_ip_port(f[1], addr, sizeof addr, &port) || !nx_parse_u64(f[3], &w) ||
                !nx_parse_u64(f[4], &a) || !nx_parse_u64(f[5], &ia)) {
                nx_warn(o, "ipvs: malformed backend line for %.50s", f[1]);
                continue;
            }
            char rport[8];
            snprintf(rport, sizeof rport, "%u", port);
            const char *all[N_LABELS] = {local, local_port, addr, rport, proto, mark};
            add_backend(o, &list, all, (double)w, (double)a, (double)ia);
        }
    }
    for (backend_sum *s = list; s != NULL; s = s->next) {
        nx_family(o, "node_ipvs_backend_connections_active",
                  "The current active connections by local and remote address.", PROM_GAUGE,
                  labels);
        nx_sample(o, s->active, s->values);
        nx_family(o, "node_ipvs_backend_connections_inactive",
                  "The current inactive connections by local and remote address.", PROM_GAUGE,
                  labels);
        nx_sample(o, s->inactive, s->values);
        nx_family(o, "node_ipvs_backend_weight",
                  "The current backend weight by local and remote address.", PROM_GAUGE, labels);
        nx_sample(o, s->weight, s->values);
    }
    return 0;
}

static int collect(nx_out *o)
{
    if (totals(o) != 0) return -1;
    return backends(o);
}

const nx_collector nx_collector_ipvs = {
    .name = "ipvs",
    .default_on = true,
    .collect = collect,
    .init = init,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
