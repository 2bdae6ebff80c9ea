/*
 * collector_netdev.c - node_network_{receive,transmit}_*_total per device,
 * from rtnetlink (RTM_GETLINK, the default as upstream: it reads the running
 * kernel whatever --path.procfs says) or from <procfs>/net/dev with
 * --no-collector.netdev.netlink; with --collector.netdev.address-info also
 * node_network_address_info from getifaddrs(3).
 *
 * Upstream quirks kept: the kernel's detailed counters are folded into the
 * legacy names (receive_drop includes missed errors, receive_frame the length,
 * over and crc errors, transmit_carrier the aborted, heartbeat and window
 * errors) unless --collector.netdev.enable-detailed-metrics; the netlink path
 * reports receive_nohandler, the /proc path does not.
 */
#include "sysfs_read.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

static const char *dev_include, *dev_exclude, *old_include, *old_exclude;
static bool address_info, detailed, use_netlink, label_ifalias;
static nx_filter filter;

static core_flag flags[] = {
    {"collector.netdev.device-include", CORE_FLAG_STRING, &dev_include, NULL,
     "Regexp of net devices to include (mutually exclusive to device-exclude).", false},
    {"collector.netdev.device-whitelist", CORE_FLAG_STRING, &old_include, NULL,
     "DEPRECATED: Use collector.netdev.device-include", false},
    {"collector.netdev.device-exclude", CORE_FLAG_STRING, &dev_exclude, NULL,
     "Regexp of net devices to exclude (mutually exclusive to device-include).", false},
    {"collector.netdev.device-blacklist", CORE_FLAG_STRING, &old_exclude, NULL,
     "DEPRECATED: Use collector.netdev.device-exclude", false},
    {"collector.netdev.address-info", CORE_FLAG_BOOL, &address_info, NULL,
     "Collect address-info for every device", false},
    {"collector.netdev.enable-detailed-metrics", CORE_FLAG_BOOL, &detailed, NULL,
     "Use (incompatible) metric names that provide more detailed stats on Linux", false},
    {"collector.netdev.netlink", CORE_FLAG_BOOL, &use_netlink, "true",
     "Use netlink to gather stats instead of /proc/net/dev.", false},
    {"collector.netdev.label-ifalias", CORE_FLAG_BOOL, &label_ifalias, "false", "Add ifAlias label",
     false},
};

/* One device's statistics under upstream's keys. */
#define MAX_STATS 24
typedef struct dev_stats {
    const char *key[MAX_STATS];
    uint64_t value[MAX_STATS];
    size_t n;
} dev_stats;

static void set(dev_stats *s, const char *key, uint64_t v)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->key[i], key) == 0) {
            s->value[i] = v;
            return;
        }
    if (s->n < MAX_STATS) {
        s->key[s->n] = key;
        s->value[s->n++] = v;
    }
}

/* set() for a key not there yet: a device's statistics arrive each under
 * its own key, so only legacy() below needs set()'s search (half of the
 * collector's own time went to those comparisons). */
static void push(dev_stats *s, const char *key, uint64_t v)
{
    if (s->n < MAX_STATS) {
        s->key[s->n] = key;
        s->value[s->n++] = v;
    }
}

static bool pop(dev_stats *s, const char *key, uint64_t *v)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->key[i], key) != 0) continue;
        *v = s->value[i];
        s->n--;
        s->key[i] = s->key[s->n];
        s->value[i] = s->value[s->n];
        return true;
    }
    return false;
}

static uint64_t popz(dev_stats *s, const char *key)
{
    uint64_t v = 0;
    pop(s, key, &v);
    return v;
}

/* upstream's legacy(): the detailed names folded into the old ones */
static void legacy(dev_stats *s)
{
    uint64_t v;
    if (pop(s, "receive_errors", &v)) set(s, "receive_errs", v);
    if (pop(s, "receive_dropped", &v)) set(s, "receive_drop", v + popz(s, "receive_missed_errors"));
    if (pop(s, "receive_fifo_errors", &v)) set(s, "receive_fifo", v);
    if (pop(s, "receive_frame_errors", &v))
        set(s, "receive_frame",
            v + popz(s, "receive_length_errors") + popz(s, "receive_over_errors") +
                popz(s, "receive_crc_errors"));
    if (pop(s, "multicast", &v)) set(s, "receive_multicast", v);
    if (pop(s, "transmit_errors", &v)) set(s, "transmit_errs", v);
    if (pop(s, "transmit_dropped", &v)) set(s, "transmit_drop", v);
    if (pop(s, "transmit_fifo_errors", &v)) set(s, "transmit_fifo", v);
    if (pop(s, "collisions", &v)) set(s, "transmit_colls", v);
    if (pop(s, "transmit_carrier_errors", &v))
        set(s, "transmit_carrier",
            v + popz(s, "transmit_aborted_errors") + popz(s, "transmit_heartbeat_errors") +
                popz(s, "transmit_window_errors"));
}

/* Per statistic key: its family's name and help, made once (two printfs per
 * device and key were a third of the collector's time). */
static nx_names names = NX_NAMES_INIT;

static void make_name(nx_out *o, const char *key, nx_name *e, void *ctx)
{
    e->wanted = true;
    e->family = nx_sprintf(o, "node_network_%s_total", key);
    e->help = nx_sprintf(o, "Network device statistic %s.", key);
}

static void emit(nx_out *o, const char *dev, dev_stats *s, const char *ifalias)
{
    if (!detailed) legacy(s);
    static const char *const l1[] = {"device", NULL}, *const l2[] = {"device", "ifalias", NULL};
    for (size_t i = 0; i < s->n; i++) {
        const nx_name *e = nx_names_get(&names, o, s->key[i], strlen(s->key[i]), make_name, NULL);
        nx_family(o, e->family, e->help, PROM_COUNTER, ifalias ? l2 : l1);
        nx_samplev(o, (double)s->value[i], dev, ifalias, NULL);
    }
}

static const char *ifalias_of(nx_out *o, const char *dev)
{
    if (!label_ifalias) return NULL;
    char *a = sr_read(o, nx_sys(o, nx_sprintf(o, "class/net/%s/ifalias", dev)));
    return a != NULL ? a : "";
}

/* ---- /proc/net/dev */

static int collect_proc(nx_out *o)
{
    const char *path = nx_proc(o, "net/dev");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return nx_error(o, "couldn't get netstats: failed to parse %s: %m", path);
    static const char *const keys[] = {
        "receive_bytes",  "receive_packets",  "receive_errors",     "receive_dropped",
        "receive_fifo",   "receive_frame",    "receive_compressed", "receive_multicast",
        "transmit_bytes", "transmit_packets", "transmit_errors",    "transmit_dropped",
        "transmit_fifo",  "transmit_colls",   "transmit_carrier",   "transmit_compressed",
    };
    int n = 0;
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save), n++) {
        if (n < 2) continue;
        char *colon = strrchr(line, ':'), *f[16];
        if (colon == NULL) {
            nx_warn(o, "invalid net/dev line, missing colon: %.60s", line);
            continue;
        }
        *colon = '\0';
        char *name = sr_trim(line);
        dev_stats s = {.n = 0};
        bool ok = *name != '\0' && nx_fields(colon + 1, f, 16) == 16;
        for (size_t i = 0; ok && i < 16; i++) {
            uint64_t v;
            ok = nx_parse_u64(f[i], &v);
            push(&s, keys[i], v);
        }
        if (!ok) {
            nx_warn(o, "skipping malformed line of %s for %s", path, name);
            continue;
        }
        if (nx_filter_ignored(&filter, name)) continue;
        emit(o, name, &s, ifalias_of(o, name));
    }
    return 0;
}

/* ---- rtnetlink */

static void link_stats(const struct rtnl_link_stats64 *st, dev_stats *s)
{
    push(s, "receive_packets", st->rx_packets);
    push(s, "transmit_packets", st->tx_packets);
    push(s, "receive_bytes", st->rx_bytes);
    push(s, "transmit_bytes", st->tx_bytes);
    push(s, "receive_errors", st->rx_errors);
    push(s, "transmit_errors", st->tx_errors);
    push(s, "receive_dropped", st->rx_dropped);
    push(s, "transmit_dropped", st->tx_dropped);
    push(s, "multicast", st->multicast);
    push(s, "collisions", st->collisions);
    push(s, "receive_length_errors", st->rx_length_errors);
    push(s, "receive_over_errors", st->rx_over_errors);
    push(s, "receive_crc_errors", st->rx_crc_errors);
    push(s, "receive_frame_errors", st->rx_frame_errors);
    push(s, "receive_fifo_errors", st->rx_fifo_errors);
    push(s, "receive_missed_errors", st->rx_missed_errors);
    push(s, "transmit_aborted_errors", st->tx_aborted_errors);
    push(s, "transmit_carrier_errors", st->tx_carrier_errors);
    push(s, "transmit_fifo_errors", st->tx_fifo_errors);
    push(s, "transmit_heartbeat_errors", st->tx_heartbeat_errors);
    push(s, "transmit_window_errors", st->tx_window_errors);
    push(s, "receive_compressed", st->rx_compressed);
    push(s, "transmit_compressed", st->tx_compressed);
    push(s, "receive_nohandler", st->rx_nohandler);
}

/* One RTM_NEWLINK message: its name and 64-bit (or widened 32-bit) stats. */
static void link_message(nx_out *o, struct nlmsghdr *h)
{
    struct ifinfomsg *ifi = NLMSG_DATA(h);
    int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof *ifi);
    const char *name = NULL;
    struct rtnl_link_stats64 st64;
    bool have64 = false, have32 = false;
    struct rtnl_link_stats st32;
    for (struct rtattr *a = IFLA_RTA(ifi); len > 0 && RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        size_t plen = RTA_PAYLOAD(a);
        if (a->rta_type == IFLA_IFNAME && plen > 0)
            name = core_arena_strndup(nx_arena(o), RTA_DATA(a), strnlen(RTA_DATA(a), plen));
        else if (a->rta_type == IFLA_STATS64) {
            memset(&st64, 0, sizeof st64);
            memcpy(&st64, RTA_DATA(a), plen < sizeof st64 ? plen : sizeof st64);
            have64 = true;
        } else if (a->rta_type == IFLA_STATS) {
            memset(&st32, 0, sizeof st32);
            memcpy(&st32, RTA_DATA(a), plen < sizeof st32 ? plen : sizeof st32);
            have32 = true;
        }
    }
    if (name == NULL || nx_filter_ignored(&filter, name)) return;
    if (!have64 && have32) {
        memset(&st64, 0, sizeof st64);
        st64.rx_packets = st32.rx_packets;
        st64.tx_packets = st32.tx_packets;
        st64.rx_bytes = st32.rx_bytes;
        st64.tx_bytes = st32.tx_bytes;
        st64.rx_errors = st32.rx_errors;
        st64.tx_errors = st32.tx_errors;
        st64.rx_dropped = st32.rx_dropped;
        st64.tx_dropped = st32.tx_dropped;
        st64.multicast = st32.multicast;
        st64.collisions = st32.collisions;
        st64.rx_length_errors = st32.rx_length_errors;
        st64.rx_over_errors = st32.rx_over_errors;
        st64.rx_crc_errors = st32.rx_crc_errors;
        st64.rx_frame_errors = st32.rx_frame_errors;
        st64.rx_fifo_errors = st32.rx_fifo_errors;
        st64.rx_missed_errors = st32.rx_missed_errors;
        st64.tx_aborted_errors = st32.tx_aborted_errors;
        st64.tx_carrier_errors = st32.tx_carrier_errors;
        st64.tx_fifo_errors = st32.tx_fifo_errors;
        st64.tx_heartbeat_errors = st32.tx_heartbeat_errors;
        st64.tx_window_errors = st32.tx_window_errors;
        st64.rx_compressed = st32.rx_compressed;
        st64.tx_compressed = st32.tx_compressed;
        st64.rx_nohandler = st32.rx_nohandler;
        have64 = true;
    }
    if (!have64) return;
    dev_stats s = {.n = 0};
    link_stats(&st64, &s);
    emit(o, name, &s, ifalias_of(o, name));
}

static int collect_netlink(nx_out *o)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return nx_error(o, "couldn't get netstats: netlink socket: %m");
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct {
        struct nlmsghdr h;
        struct ifinfomsg i;
    } req = {
        .h = {NLMSG_LENGTH(sizeof(struct ifinfomsg)), RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1,
              0},
        .i = {.ifi_family = AF_UNSPEC},
    };
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return nx_error(o, "couldn't get netstats: netlink send: %m");
    }
    /* In the scrape's memory: as a thread-local array it was 32 KiB of every
     * thread's TLS block, which glibc clears for each thread it starts. */
    enum { BUF = 32768 };
    char *buf = core_arena_alloc(nx_arena(o), BUF);
    for (;;) {
        ssize_t n = recv(fd, buf, BUF, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            close(fd);
            return nx_error(o, "couldn't get netstats: netlink receive: %m");
        }
        int left = (int)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_type == NLMSG_DONE) {
                close(fd);
                return 0;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                close(fd);
                return nx_error(o, "couldn't get netstats: netlink error");
            }
            if (h->nlmsg_type == RTM_NEWLINK) link_message(o, h);
        }
    }
}

/* ---- address-info */

static const char *scope_of(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
        if ((a >> 24) == 127 || (a >> 16) == 0xA9FE || (a >> 8) == 0xE00000) return "link-local";
        if (a != 0 && a != 0xFFFFFFFF && (a >> 28) != 0xE) return "global";
        return "";
    }
    const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    static const uint8_t loop[16] = {[15] = 1}, zero[16] = {0};
    if (memcmp(b, loop, 16) == 0 || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||
        (b[0] == 0xff && (b[1] & 0x0f) == 0x02))
        return "link-local";
    if (b[0] == 0xff && (b[1] & 0x0f) == 0x01) return "interface-local";
    if (memcmp(b, zero, 16) != 0 && b[0] != 0xff) return "global";
    return "";
}

static int prefix_len(const struct sockaddr *mask)
{
    const uint8_t *b;
    size_t n;
    if (mask == NULL) return 0;
    if (mask->sa_family == AF_INET) {
        b = (const uint8_t *)&((const struct sockaddr_in *)mask)->sin_addr;
        n = 4;
    } else {
        b = ((const struct sockaddr_in6 *)mask)->sin6_addr.s6_addr;
        n = 16;
    }
    int bits = 0;
    for (size_t i = 0; i < n; i++)
        bits += __builtin_popcount(b[i]);
    return bits;
}

static int collect_addresses(nx_out *o)
{
    struct ifaddrs *list;
    if (getifaddrs(&list) < 0) return nx_error(o, "could not get network interfaces: %m");
    static const char *const l[] = {"device", "address", "netmask", "scope", NULL};
    for (struct ifaddrs *a = list; a != NULL; a = a->ifa_next) {
        if (a->ifa_addr == NULL ||
            (a->ifa_addr->sa_family != AF_INET && a->ifa_addr->sa_family != AF_INET6))
            continue;
        if (nx_filter_ignored(&filter, a->ifa_name)) continue;
        char ip[INET6_ADDRSTRLEN];
        const void *src = a->ifa_addr->sa_family == AF_INET
                              ? (const void *)&((struct sockaddr_in *)a->ifa_addr)->sin_addr
                              : (const void *)&((struct sockaddr_in6 *)a->ifa_addr)->sin6_addr;
        if (inet_ntop(a->ifa_addr->sa_family, src, ip, sizeof ip) == NULL) continue;
        nx_family(o, "node_network_address_info", "node network address by device", PROM_GAUGE, l);
        nx_samplev(o, 1, a->ifa_name, ip, nx_sprintf(o, "%d", prefix_len(a->ifa_netmask)),
                   scope_of(a->ifa_addr), NULL);
    }
    freeifaddrs(list);
    return 0;
}

static int collect(nx_out *o)
{
    if ((use_netlink ? collect_netlink(o) : collect_proc(o)) < 0) return -1;
    return address_info ? collect_addresses(o) : 0;
}

static int init(core_err *err)
{
    nx_regex_free(filter.include);
    nx_regex_free(filter.exclude);
    const char *inc = dev_include, *exc = dev_exclude;
    if (old_include != NULL && *old_include != '\0') {
        if (inc != NULL && *inc != '\0')
            return core_err_set(err, "--collector.netdev.device-whitelist and "
                                     "--collector.netdev.device-include are mutually exclusive");
        core_warn("netdev", "--collector.netdev.device-whitelist is DEPRECATED and will be removed "
                            "in 2.0.0, use --collector.netdev.device-include");
        inc = old_include;
    }
    if (old_exclude != NULL && *old_exclude != '\0') {
        if (exc != NULL && *exc != '\0')
            return core_err_set(err, "--collector.netdev.device-blacklist and "
                                     "--collector.netdev.device-exclude are mutually exclusive");
        core_warn("netdev", "--collector.netdev.device-blacklist is DEPRECATED and will be removed "
                            "in 2.0.0, use --collector.netdev.device-exclude");
        exc = old_exclude;
    }
    return nx_filter_init(&filter, inc, exc, "collector.netdev", err);
}

const nx_collector nx_collector_netdev = {
    .name = "netdev",
    .default_on = true,
    .collect = collect,
    .init = init,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
