/*
 * collector_netclass.c - node_network_* device properties from the regular
 * files of /sys/class/net/<iface>/ (the sysfs path; netlink is not used).
 *
 * Upstream quirks kept: a value that does not parse leaves its metric out;
 * numbers take base prefixes (flags is "0x1003"); adminstate is "up" when
 * flags has IFF_UP, "unknown" without a flags file; the speed in Mb/s becomes
 * bytes with integer arithmetic, and a negative speed is still reported
 * unless --collector.netclass.ignore-invalid-speed.  A file that exists but
 * cannot be read for another reason than ENOENT/EACCES/EINVAL/EOPNOTSUPP
 * fails the collector, as in procfs.
 *
 * The files are read in the order of a directory listing but without one:
 * listing each device's directory (some 30 entries through kernfs) cost more
 * than reading the 22 files wanted from it, and a missing file reads as
 * ENOENT, which is skipped like a file that is not listed.
 */
#include "sysfs_read.h"

#include <pthread.h>
#include <sys/stat.h>

static const char *ignored_devices;
static bool ignore_invalid_speed, use_netlink;
static nx_regex *ignored;

static core_flag flags[] = {
    {"collector.netclass.ignored-devices", CORE_FLAG_STRING, &ignored_devices, "^$",
     "Regexp of net devices to ignore for netclass collector.", false},
    {"collector.netclass.ignore-invalid-speed", CORE_FLAG_BOOL, &ignore_invalid_speed, NULL,
     "Ignore devices where the speed is invalid. This will be the default behavior in 2.x.", false},
    {"collector.netclass.netlink", CORE_FLAG_BOOL, &use_netlink, "false",
     "Use netlink to gather stats instead of /proc/net/dev.", false},
};

/* The numeric attributes, in the order upstream emits them, with their
 * families' names and help. */
#define ATTR(file, metric, counter)                                               \
    {                                                                             \
        file, "node_network_" metric, "Network device property: " metric, counter \
    }
static const struct {
    const char *file, *family, *help;
    bool counter;
} attrs[] = {
    ATTR("addr_assign_type", "address_assign_type", false),
    ATTR("carrier", "carrier", false),
    ATTR("carrier_changes", "carrier_changes_total", true),
    ATTR("carrier_up_count", "carrier_up_changes_total", true),
    ATTR("carrier_down_count", "carrier_down_changes_total", true),
    ATTR("dev_id", "device_id", false),
    ATTR("dormant", "dormant", false),
    ATTR("flags", "flags", false),
    ATTR("ifindex", "iface_id", false),
    ATTR("iflink", "iface_link", false),
    ATTR("link_mode", "iface_link_mode", false),
    ATTR("mtu", "mtu_bytes", false),
    ATTR("name_assign_type", "name_assign_type", false),
    ATTR("netdev_group", "net_dev_group", false),
    ATTR("speed", "speed_bytes", false),
    ATTR("tx_queue_len", "transmit_queue_length", false),
    ATTR("type", "protocol_type", false),
};
#undef ATTR
#define N_ATTRS (sizeof attrs / sizeof attrs[0])
enum { FLAGS = 7, SPEED = 14 };

typedef struct iface {
    const char *address, *broadcast, *duplex, *operstate, *ifalias;
    int64_t v[N_ATTRS];
    bool have[N_ATTRS];
} iface;

static const char *const text_files[] = {"address", "broadcast", "duplex", "operstate", "ifalias"};
#define N_TEXT   (sizeof text_files / sizeof text_files[0])
#define N_WANTED (N_TEXT + N_ATTRS)

/* Every file read, in name order (the order of a directory listing): numbers
 * below N_TEXT are text_files, the others attrs (minus N_TEXT). */
static size_t wanted_order[N_WANTED];
static pthread_once_t order_once = PTHREAD_ONCE_INIT;

static const char *wanted_name(size_t w)
{
    return w < N_TEXT ? text_files[w] : attrs[w - N_TEXT].file;
}

static void sort_wanted(void)
{
    for (size_t i = 0; i < N_WANTED; i++) {
        size_t k = i;
        while (k > 0 && strcmp(wanted_name(wanted_order[k - 1]), wanted_name(i)) > 0) {
            wanted_order[k] = wanted_order[k - 1];
            k--;
        }
        wanted_order[k] = i;
    }
}

static bool ignorable(int e)
{
    return e == ENOENT || e == EACCES || e == EPERM || e == EINVAL || e == EOPNOTSUPP;
}

/* Reads the wanted files of one device directory, in name order.  Each is
 * read without listing the directory first: a file the device lacks fails
 * with ENOENT and is skipped, as a file not listed is. */
static int read_iface(nx_out *o, const char *dir, iface *f)
{
    const char **texts[] = {&f->address, &f->broadcast, &f->duplex, &f->operstate, &f->ifalias};
    pthread_once(&order_once, sort_wanted);
    char path[4096];
    size_t dl = strlen(dir);
    if (dl + 32 > sizeof path)
        return nx_error(o, "could not get net class info: %s: path too long", dir);
    memcpy(path, dir, dl);
    path[dl] = '/';
    for (size_t i = 0; i < N_WANTED; i++) {
        size_t w = wanted_order[i];
        const char *name = wanted_name(w);
        memcpy(path + dl + 1, name, strlen(name) + 1);
        char *v = sr_read(o, path);
        if (v == NULL) {
            if (ignorable(errno)) continue;
            return nx_error(o, "could not get net class info: failed to read file %s: %m", path);
        }
        if (w < N_TEXT)
            *texts[w] = v;
        else
            f->have[w - N_TEXT] = sr_i64(v, &f->v[w - N_TEXT]);
    }
    return 0;
}

static void emit_iface(nx_out *o, const char *dev, const iface *f)
{
    static const char *const dev_label[] = {"device", NULL};
    nx_family(o, "node_network_up", "Value is 1 if operstate is 'up', 0 otherwise.", PROM_GAUGE,
              dev_label);
    nx_samplev(o, f->operstate && strcmp(f->operstate, "up") == 0 ? 1 : 0, dev, NULL);
    static const char *const info_labels[] = {"device",    "address",    "broadcast", "duplex",
                                              "operstate", "adminstate", "ifalias",   NULL};
    const char *admin = !f->have[FLAGS] ? "unknown" : (f->v[FLAGS] & 1) ? "up" : "down";
    nx_family(o, "node_network_info",
              "Non-numeric data from /sys/class/net/<iface>, value is always 1.", PROM_GAUGE,
              info_labels);
#define S(x) ((x) ? (x) : "")
    nx_samplev(o, 1, dev, S(f->address), S(f->broadcast), S(f->duplex), S(f->operstate), admin,
               S(f->ifalias), NULL);
#undef S
    for (size_t k = 0; k < N_ATTRS; k++) {
        if (!f->have[k]) continue;
        double v = (double)f->v[k];
        if (k == SPEED) {
            if (f->v[k] < 0 && ignore_invalid_speed) continue;
            /* int64 arithmetic that wraps, as Go's */
            v = (double)((int64_t)((uint64_t)f->v[k] * 1000000u) / 8);
        }
        nx_family(o, attrs[k].family, attrs[k].help, attrs[k].counter ? PROM_COUNTER : PROM_GAUGE,
                  dev_label);
        nx_samplev(o, v, dev, NULL);
    }
}

static int collect(nx_out *o)
{
    const char *class_dir = nx_sys(o, "class/net");
    char **devs;
    int n = nx_list_dir(o, class_dir, &devs);
    if (n < 0 && (errno == ENOENT || errno == EACCES || errno == EPERM))
        return nx_no_data(o, "Could not read netclass file: %s: %m", class_dir);
    if (n < 0) return nx_error(o, "could not read netclass: cannot access dir %s: %m", class_dir);
    for (int i = 0; i < n; i++) {
        const char *dir = nx_sprintf(o, "%s/%s", class_dir, devs[i]);
        struct stat st;
        if (lstat(dir, &st) != 0 || S_ISREG(st.st_mode)) continue;
        if (ignored != NULL && nx_regex_match(ignored, devs[i])) continue;
        iface f = {0};
        if (read_iface(o, dir, &f) < 0) return -1;
        emit_iface(o, devs[i], &f);
    }
    return 0;
}

static int init(core_err *err)
{
    nx_regex_free(ignored);
    ignored = NULL;
    if (use_netlink)
        core_warn("netclass", "--collector.netclass.netlink is not supported, reading sysfs");
    if (ignored_devices != NULL && strcmp(ignored_devices, "^$") == 0) return 0;
    return nx_regex_compile(ignored_devices, "collector.netclass.ignored-devices", &ignored, err);
}

const nx_collector nx_collector_netclass = {
    .name = "netclass",
    .default_on = true,
    .collect = collect,
    .init = init,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
