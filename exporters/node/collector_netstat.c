/*
 * collector_netstat.c - node_netstat_<Protocol>_<Field> from /proc/net/netstat,
 * /proc/net/snmp (header/value line pairs) and /proc/net/snmp6 (one
 * "<Proto>6<Field> value" per line), filtered by --collector.netstat.fields.
 *
 * As upstream, the three files are merged protocol by protocol: a protocol
 * seen again (in a later block or file) replaces the earlier one wholesale;
 * snmp6 is optional (IPv6 may be off), the other two are required.
 */
#include "node.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *fields_flag;
static nx_regex *fields_re;

static core_flag flags[] = {
    {"collector.netstat.fields", CORE_FLAG_STRING, &fields_flag,
     "^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|"
     "TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue|TCPRcvQDrop)|"
     "Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|"
     "Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$",
     "Regexp of fields to return for netstat collector.", false},
};

typedef struct stat_entry {
    const char *proto, *name;
    double value;
} stat_entry;

/* The statistics read so far, as a map from (protocol, name) to value: the
 * entries in reading order plus an open-addressing index over them (hundreds of
 * fields: a linear search per field was most of a scrape's user time). */
typedef struct stats {
    stat_entry *v;
    size_t n, cap;
    uint32_t *index; /* entry number + 1; 0 is empty */
    size_t index_cap;
    bool index_stale;
} stats;

static size_t key_slot(const stats *s, const char *proto, const char *name)
{
    return (size_t)(core_hash_str(proto) * 31 + core_hash_str(name)) & (s->index_cap - 1);
}

static void index_put(stats *s, size_t entry)
{
    size_t i = key_slot(s, s->v[entry].proto, s->v[entry].name);
    while (s->index[i] != 0)
        i = (i + 1) & (s->index_cap - 1);
    s->index[i] = (uint32_t)entry + 1;
}

/* Rebuilds the index when entries were dropped or it is getting full. */
static void index_refresh(stats *s)
{
    if (!s->index_stale && (s->n + 1) * 2 <= s->index_cap) return;
    while ((s->n + 1) * 2 > s->index_cap)
        s->index_cap = s->index_cap ? s->index_cap * 2 : 512;
    free(s->index);
    s->index = core_calloc(s->index_cap, sizeof *s->index);
    for (size_t i = 0; i < s->n; i++)
        index_put(s, i);
    s->index_stale = false;
}

/* A protocol seen anew replaces what an earlier block or file said about it. */
static void drop_protocol(stats *s, const char *proto)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].proto, proto) != 0) s->v[k++] = s->v[i];
    if (k != s->n) s->index_stale = true;
    s->n = k;
}

static void set_stat(stats *s, const char *proto, const char *name, double value)
{
    index_refresh(s);
    for (size_t i = key_slot(s, proto, name); s->index[i] != 0; i = (i + 1) & (s->index_cap - 1)) {
        stat_entry *e = &s->v[s->index[i] - 1];
        if (strcmp(e->proto, proto) == 0 && strcmp(e->name, name) == 0) {
            e->value = value;
            return;
        }
    }
    if (s->n == s->cap)
        s->v = core_reallocarray(s->v, s->cap = s->cap ? 2 * s->cap : 256, sizeof *s->v);
    s->v[s->n++] = (stat_entry){proto, name, value};
    index_put(s, s->n - 1);
}

/* Splits on single spaces, as strings.Split(line, " "). */
static size_t split_spaces(char *line, char **parts, size_t max)
{
    size_t n = 0;
    for (char *p; n < max && (p = strsep(&line, " ")) != NULL;)
        parts[n++] = p;
    return n;
}

#define MAX_PARTS 512

/* netstat / snmp: "Proto: A B C" followed by "Proto: 1 2 3". */
static void parse_pairs(nx_out *o, stats *s, char *text, const char *path)
{
    char *save, *names = strtok_r(text, "\n", &save);
    while (names != NULL) {
        char *values = strtok_r(NULL, "\n", &save);
        if (values == NULL) {
            nx_warn(o, "%s: header line without values: %.40s", path, names);
            return;
        }
        char **np = core_arena_alloc(nx_arena(o), 2 * MAX_PARTS * sizeof *np),
             **vp = np + MAX_PARTS;
        size_t nn = split_spaces(names, np, MAX_PARTS), nv = split_spaces(values, vp, MAX_PARTS);
        size_t pl = strlen(np[0]);
        if (nn != nv || pl < 2 || np[0][pl - 1] != ':') {
            nx_warn(o, "field count mismatch in %s: %.40s", path, np[0]);
        } else {
            np[0][pl - 1] = '\0';
            drop_protocol(s, np[0]);
            for (size_t i = 1; i < nn; i++) {
                double v;
                if (nx_parse_double(vp[i], &v))
                    set_stat(s, np[0], np[i], v);
                else
                    nx_warn(o, "invalid value %.30s in %s", vp[i], path);
            }
        }
        names = strtok_r(NULL, "\n", &save);
    }
}

/* snmp6: "Ip6InReceives 7": the protocol runs up to and including the first '6'. */
static void parse_snmp6(nx_out *o, stats *s, char *text, const char *path)
{
    const char **seen = core_arena_alloc(nx_arena(o), 64 * sizeof *seen);
    size_t n_seen = 0;
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[2];
        if (nx_fields(line, f, 2) < 2) continue;
        char *six = strchr(f[0], '6');
        if (six == NULL) continue;
        double v;
        if (!nx_parse_double(f[1], &v)) {
            nx_warn(o, "invalid value %.30s in %s", f[1], path);
            continue;
        }
        const char *proto = core_arena_strndup(nx_arena(o), f[0], (size_t)(six + 1 - f[0]));
        bool known = false;
        for (size_t i = 0; i < n_seen && !known; i++)
            known = strcmp(seen[i], proto) == 0;
        if (!known) {
            drop_protocol(s, proto);
            if (n_seen < 64) seen[n_seen++] = proto;
        }
        set_stat(s, proto, six + 1, v);
    }
}

static int collect(nx_out *o)
{
    const char *netstat = nx_proc(o, "net/netstat"), *snmp = nx_proc(o, "net/snmp"),
               *snmp6 = nx_proc(o, "net/snmp6");
    char *t1 = nx_read_file(o, netstat, NULL);
    if (t1 == NULL) return nx_error(o, "couldn't get netstats: %s: %m", netstat);
    char *t2 = nx_read_file(o, snmp, NULL);
    if (t2 == NULL) return nx_error(o, "couldn't get SNMP stats: %s: %m", snmp);
    char *t3 = nx_read_file(o, snmp6, NULL);
    if (t3 == NULL && errno != ENOENT)
        return nx_error(o, "couldn't get SNMP6 stats: %s: %m", snmp6);
    stats s = {0};
    parse_pairs(o, &s, t1, netstat);
    parse_pairs(o, &s, t2, snmp);
    if (t3 != NULL) parse_snmp6(o, &s, t3, snmp6);
    for (size_t i = 0; i < s.n; i++) {
        char *key = nx_sprintf(o, "%s_%s", s.v[i].proto, s.v[i].name);
        if (!nx_regex_match(fields_re, key)) continue;
        nx_family(o, nx_sprintf(o, "node_netstat_%s", key),
                  nx_sprintf(o, "Statistic %s%s.", s.v[i].proto, s.v[i].name), PROM_UNTYPED, NULL);
        nx_sample(o, s.v[i].value, NULL);
    }
    free(s.v);
    free(s.index);
    return 0;
}

static int init(core_err *err)
{
    nx_regex_free(fields_re); /* init may run again (tests) */
    return nx_regex_compile(fields_flag, "collector.netstat.fields", &fields_re, err);
}

const nx_collector nx_collector_netstat = {
    .name = "netstat",
    .default_on = true,
    .collect = collect,
    .init = init,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
