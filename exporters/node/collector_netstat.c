/*
 * collector_netstat.c - node_netstat_<Protocol>_<Field> from /proc/net/netstat,
 * /proc/net/snmp (header/value line pairs) and /proc/net/snmp6 (one
 * "<Proto>6<Field> value" per line), filtered by --collector.netstat.fields.
 *
 * As upstream, the three files are merged protocol by protocol: a protocol
 * seen again (in a later block or file) replaces the earlier one wholesale;
 * snmp6 is optional (IPv6 may be off), the other two are required.
 *
 * Of the 300 fields only the few dozen the fields regex wants matter, and the
 * names are the same at every scrape: a name table (nx_names) remembers per
 * "<Proto>_<Field>" whether it is wanted and its family's name and help, so a
 * field costs a hash lookup (measured: the collector's user time from 90 us
 * to 10 us a scrape); the values of unwanted fields are not even parsed.
 */
#include "node.h"

#include <errno.h>
#include <pthread.h>
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

/* What the fields regex says of "<Proto>_<Field>", and the family made of it. */
static nx_names names = NX_NAMES_INIT;

static void make_name(nx_out *o, const char *key, nx_name *e, void *ctx)
{
    size_t proto_len = *(const size_t *)ctx;
    e->wanted = nx_regex_match(fields_re, key);
    if (!e->wanted) return;
    e->family = nx_sprintf(o, "node_netstat_%s", key);
    e->help = nx_sprintf(o, "Statistic %.*s%s.", (int)proto_len, key, key + proto_len + 1);
}

/* The wanted statistics read so far: a field is kept only if the regex wants
 * it, so this holds a few dozen entries. */
typedef struct stat_entry {
    const char *proto;
    const nx_name *name;
    double value;
} stat_entry;

typedef struct stats {
    stat_entry *v;
    size_t n, cap;
} stats;

/* A protocol seen anew replaces what an earlier block or file said about it. */
static void drop_protocol(stats *s, const char *proto)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].proto, proto) != 0) s->v[k++] = s->v[i];
    s->n = k;
}

/* Looks "<proto>_<name>" up; NULL when the regex does not want it. */
static const nx_name *wanted(nx_out *o, const char *proto, size_t proto_len, const char *name)
{
    char key[512];
    size_t nl = strlen(name);
    if (proto_len + 1 + nl >= sizeof key) {
        char *k = nx_sprintf(o, "%s_%s", proto, name);
        const nx_name *e = nx_names_get(&names, o, k, strlen(k), make_name, &proto_len);
        return e->wanted ? e : NULL;
    }
    memcpy(key, proto, proto_len);
    key[proto_len] = '_';
    memcpy(key + proto_len + 1, name, nl + 1);
    const nx_name *e = nx_names_get(&names, o, key, proto_len + 1 + nl, make_name, &proto_len);
    return e->wanted ? e : NULL;
}

static void set_stat(stats *s, const char *proto, const nx_name *name, double value)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].name == name) {
            s->v[i].value = value;
            return;
        }
    if (s->n == s->cap)
        s->v = core_reallocarray(s->v, s->cap = s->cap ? 2 * s->cap : 64, sizeof *s->v);
    s->v[s->n++] = (stat_entry){proto, name, value};
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

/* A names line met before ("TcpExt: SyncookiesSent SyncookiesRecv ..."):
 * what each column is, the wanted entry or NULL.  The lines are the same at
 * every scrape, so a block costs a comparison of its names line and a walk of
 * its values line; per field, splitting both lines and looking the name up
 * was most of the collector's own time.  Plans are made under plans_lock,
 * which each scrape holds while it uses them, and freed by init. */
typedef struct plan {
    char *header; /* the names line, as read */
    size_t len, n;
    const nx_name **col; /* n columns, the protocol's (always NULL) included */
} plan;

#define MAX_PLANS 64

static pthread_mutex_t plans_lock = PTHREAD_MUTEX_INITIALIZER;
static plan plans[MAX_PLANS];
static size_t n_plans;

static void free_plans(void)
{
    pthread_mutex_lock(&plans_lock);
    for (size_t i = 0; i < n_plans; i++) {
        free(plans[i].header);
        free(plans[i].col);
    }
    n_plans = 0;
    pthread_mutex_unlock(&plans_lock);
}

/* The plan of a well-formed names line (lock held); NULL when it is not well
 * formed, has too many columns, or the plans are full. */
static const plan *plan_of(nx_out *o, const char *line)
{
    size_t len = strlen(line);
    for (size_t i = 0; i < n_plans; i++)
        if (plans[i].len == len && memcmp(plans[i].header, line, len) == 0) return &plans[i];
    if (n_plans == MAX_PLANS) return NULL;
    char *copy = core_arena_strndup(nx_arena(o), line, len), *np[MAX_PARTS];
    size_t nn = split_spaces(copy, np, MAX_PARTS), pl = strlen(np[0]);
    if (nn == MAX_PARTS || pl < 2 || np[0][pl - 1] != ':') return NULL;
    np[0][pl - 1] = '\0';
    plan *p = &plans[n_plans++];
    p->header = core_strndup(line, len);
    p->len = len;
    p->n = nn;
    p->col = core_calloc(nn, sizeof *p->col);
    for (size_t i = 1; i < nn; i++)
        p->col[i] = wanted(o, np[0], pl - 1, np[i]);
    return p;
}

/* The values line of a planned block: false (nothing changed) when its field
 * count is not the plan's. */
static bool apply_plan(nx_out *o, stats *s, const plan *p, char *header, char *values,
                       const char *path)
{
    size_t n = 1;
    for (const char *c = values; (c = strchr(c, ' ')) != NULL; c++)
        n++;
    if (n != p->n) return false;
    header[strcspn(header, " ") - 1] = '\0'; /* "Proto:" (checked by plan_of) as "Proto" */
    drop_protocol(s, header);
    char *v = values;
    for (size_t i = 0; i < n; i++) {
        char *end = strchr(v, ' ');
        if (end != NULL) *end = '\0';
        double x;
        if (p->col[i] != NULL) {
            if (nx_parse_double(v, &x))
                set_stat(s, header, p->col[i], x);
            else
                nx_warn(o, "invalid value %.30s in %s", v, path);
        }
        if (end == NULL) break;
        v = end + 1;
    }
    return true;
}

/* netstat / snmp: "Proto: A B C" followed by "Proto: 1 2 3". */
static void parse_pairs(nx_out *o, stats *s, char *text, const char *path)
{
    char *save, *names_line = strtok_r(text, "\n", &save);
    char *np[MAX_PARTS], *vp[MAX_PARTS];
    while (names_line != NULL) {
        char *values = strtok_r(NULL, "\n", &save);
        if (values == NULL) {
            nx_warn(o, "%s: header line without values: %.40s", path, names_line);
            return;
        }
        const plan *p = plan_of(o, names_line);
        if (p != NULL && apply_plan(o, s, p, names_line, values, path)) {
            names_line = strtok_r(NULL, "\n", &save);
            continue;
        }
        size_t nn = split_spaces(names_line, np, MAX_PARTS),
               nv = split_spaces(values, vp, MAX_PARTS);
        size_t pl = strlen(np[0]);
        if (nn != nv || pl < 2 || np[0][pl - 1] != ':') {
            nx_warn(o, "field count mismatch in %s: %.40s", path, np[0]);
        } else {
            np[0][pl - 1] = '\0';
            drop_protocol(s, np[0]);
            for (size_t i = 1; i < nn; i++) {
                const nx_name *e = wanted(o, np[0], pl - 1, np[i]);
                if (e == NULL) continue;
                double v;
                if (nx_parse_double(vp[i], &v))
                    set_stat(s, np[0], e, v);
                else
                    nx_warn(o, "invalid value %.30s in %s", vp[i], path);
            }
        }
        names_line = strtok_r(NULL, "\n", &save);
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
        size_t pl = (size_t)(six + 1 - f[0]);
        const char *proto = NULL;
        for (size_t i = 0; i < n_seen && proto == NULL; i++)
            if (strncmp(seen[i], f[0], pl) == 0 && seen[i][pl] == '\0') proto = seen[i];
        if (proto == NULL) {
            proto = core_arena_strndup(nx_arena(o), f[0], pl);
            drop_protocol(s, proto);
            if (n_seen < 64) seen[n_seen++] = proto;
        }
        const nx_name *e = wanted(o, proto, pl, six + 1);
        if (e == NULL) continue;
        double v;
        if (!nx_parse_double(f[1], &v)) {
            nx_warn(o, "invalid value %.30s in %s", f[1], path);
            continue;
        }
        set_stat(s, proto, e, v);
    }
}

static int collect(nx_out *o)
{
    const char *netstat = nx_proc(o, "net/netstat"), *snmp = nx_proc(o, "net/snmp"),
               *snmp6 = nx_proc(o, "net/snmp6");
    char *t1 = nx_read_shared(o, netstat, NULL); /* process_network_* read it too */
    if (t1 == NULL) return nx_error(o, "couldn't get netstats: %s: %m", netstat);
    char *t2 = nx_read_file(o, snmp, NULL);
    if (t2 == NULL) return nx_error(o, "couldn't get SNMP stats: %s: %m", snmp);
    char *t3 = nx_read_file(o, snmp6, NULL);
    if (t3 == NULL && errno != ENOENT)
        return nx_error(o, "couldn't get SNMP6 stats: %s: %m", snmp6);
    stats s = {0};
    pthread_mutex_lock(&plans_lock);
    parse_pairs(o, &s, t1, netstat);
    parse_pairs(o, &s, t2, snmp);
    pthread_mutex_unlock(&plans_lock);
    if (t3 != NULL) parse_snmp6(o, &s, t3, snmp6);
    for (size_t i = 0; i < s.n; i++) {
        nx_family(o, s.v[i].name->family, s.v[i].name->help, PROM_UNTYPED, NULL);
        nx_sample(o, s.v[i].value, NULL);
    }
    free(s.v);
    return 0;
}

static int init(core_err *err)
{
    free_plans();
    nx_names_clear(&names);
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
