/*
 * collector_sockstat.c - node_sockstat_<PROTO>_<key> from /proc/net/sockstat
 * and /proc/net/sockstat6 (either may be missing when IPv4/IPv6 is off).
 *
 * As upstream (procfs): every protocol line gives <PROTO>_inuse (0 when the
 * line lacks it) and whichever of orphan, tw, alloc, mem, memory it has; a
 * mem value, counted in pages, also gives <PROTO>_mem_bytes; the "sockets:
 * used" line of the IPv4 file gives node_sockstat_sockets_used.  The families'
 * names and help are made once per protocol and key (nx_names).
 */
#include "node.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static const char *const keys[] = {"inuse", "orphan", "tw", "alloc", "mem", "memory"};
#define N_KEYS (sizeof keys / sizeof keys[0])

/* "<PROTO>_<key>" -> the family's name and help, made once. */
static nx_names names = NX_NAMES_INIT;

static void make_name(nx_out *o, const char *proto_key, nx_name *e, void *ctx)
{
    size_t proto_len = *(const size_t *)ctx;
    e->wanted = true;
    e->family = nx_sprintf(o, "node_sockstat_%s", proto_key);
    e->help = nx_sprintf(o, "Number of %.*s sockets in state %s.", (int)proto_len, proto_key,
                         proto_key + proto_len + 1);
}

static void emit(nx_out *o, const char *proto, const char *key, double v)
{
    char buf[256];
    size_t pl = strlen(proto), kl = strlen(key);
    if (pl + kl + 2 > sizeof buf) return;
    memcpy(buf, proto, pl);
    buf[pl] = '_';
    memcpy(buf + pl + 1, key, kl + 1);
    const nx_name *e = nx_names_get(&names, o, buf, pl + 1 + kl, make_name, &pl);
    nx_gauge(o, e->family, e->help, v);
}

/* "PROTO: k1 v1 k2 v2 ..."; false when malformed. */
static bool parse_line(nx_out *o, char *line, bool ipv6)
{
    char *f[2 + 2 * 16];
    size_t n = nx_fields(line, f, sizeof f / sizeof f[0]);
    if (n < 3 || (n - 1) % 2 != 0) return false;
    double v[N_KEYS];
    bool have[N_KEYS] = {false};
    double used = 0;
    for (size_t i = 1; i < n; i += 2) {
        double x;
        if (!nx_parse_double(f[i + 1], &x)) return false;
        if (strcmp(f[i], "used") == 0) used = x;
        for (size_t k = 0; k < N_KEYS; k++)
            if (strcmp(f[i], keys[k]) == 0) v[k] = x, have[k] = true;
    }
    size_t pl = strlen(f[0]);
    if (pl > 0 && f[0][pl - 1] == ':') f[0][pl - 1] = '\0';
    if (strcmp(f[0], "sockets") == 0) {
        if (!ipv6)
            nx_gauge(o, "node_sockstat_sockets_used", "Number of IPv4 sockets in use.", used);
        return true;
    }
    emit(o, f[0], "inuse", have[0] ? v[0] : 0);
    for (size_t k = 1; k < N_KEYS; k++)
        if (have[k]) emit(o, f[0], keys[k], v[k]);
    if (have[4]) emit(o, f[0], "mem_bytes", v[4] * (double)sysconf(_SC_PAGESIZE));
    return true;
}

/* 0, 1 when the file is missing, -1 on a read error. */
static int read_one(nx_out *o, const char *rel, bool ipv6)
{
    const char *path = nx_proc(o, rel);
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) {
        if (errno == ENOENT) return 1;
        return nx_error(o, "failed to get IPv%c sockstat data: %s: %m", ipv6 ? '6' : '4', path);
    }
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save))
        if (!parse_line(o, line, ipv6)) nx_warn(o, "malformed sockstat line in %s", path);
    return 0;
}

static int collect(nx_out *o)
{
    if (read_one(o, "net/sockstat", false) < 0 || read_one(o, "net/sockstat6", true) < 0) return -1;
    return 0;
}

const nx_collector nx_collector_sockstat = {
    .name = "sockstat",
    .default_on = true,
    .collect = collect,
};
