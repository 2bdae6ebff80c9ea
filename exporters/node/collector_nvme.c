/*
 * collector_nvme.c - node_nvme_* from /sys/class/nvme/<device>/ (firmware_rev,
 * model, serial, state, cntlid) and its namespaces nvme<N>n<M>/ (nuse, size,
 * queue/logical_block_size, ana_state).
 *
 * As prometheus/procfs: a missing device file fails the scrape, a missing
 * class directory is "no data", ana_state defaults to "unknown", a number
 * that does not parse is 0, and the byte counts are nuse and size times the
 * logical block size (capacity equals size).
 */
#include "sysfs_read.h"

#include <ctype.h>

/* The namespace id of nvme\d+n(\d+) anywhere in name, or NULL. */
static const char *namespace_id(nx_out *o, const char *name)
{
    for (const char *p = strstr(name, "nvme"); p != NULL; p = strstr(p + 1, "nvme")) {
        const char *q = p + 4;
        if (!isdigit((unsigned char)*q)) continue;
        while (isdigit((unsigned char)*q))
            q++;
        if (*q != 'n' || !isdigit((unsigned char)q[1])) continue;
        size_t n = 0;
        while (isdigit((unsigned char)q[1 + n]))
            n++;
        return nx_sprintf(o, "%.*s", (int)n, q + 1);
    }
    return NULL;
}

static uint64_t ns_u64(const char *s)
{
    uint64_t v;
    return nx_parse_u64(s, &v) ? v : 0;
}

static int collect_namespace(nx_out *o, const char *device, const char *dir, const char *nsid)
{
    static const char *const files[] = {"nuse", "size", "queue/logical_block_size"};
    uint64_t v[3];
    for (int i = 0; i < 3; i++) {
        const char *path = nx_sprintf(o, "%s/%s", dir, files[i]);
        char *s = sr_read(o, path);
        if (s == NULL) return nx_error(o, "error obtaining NVMe class info: %s: %m", path);
        v[i] = ns_u64(s);
    }
    const char *ana = sr_read(o, nx_sprintf(o, "%s/ana_state", dir));
    static const char *const l_info[] = {"device", "nsid", "ana_state", NULL};
    static const char *const l_ns[] = {"device", "nsid", NULL};
    nx_family(o, "node_nvme_namespace_info", "Information about NVMe namespaces. Value is always 1",
              PROM_GAUGE, l_info);
    nx_samplev(o, 1, device, nsid, ana != NULL ? ana : "unknown", NULL);
    nx_family(o, "node_nvme_namespace_capacity_bytes",
              "Capacity of the NVMe namespace in bytes. Computed as namespace_size * "
              "namespace_logical_block_size",
              PROM_GAUGE, l_ns);
    nx_samplev(o, (double)(v[1] * v[2]), device, nsid, NULL);
    nx_family(o, "node_nvme_namespace_size_bytes",
              "Size of the NVMe namespace in bytes. Available in "
              "/sys/class/nvme/<device>/<namespace>/size",
              PROM_GAUGE, l_ns);
    nx_samplev(o, (double)(v[1] * v[2]), device, nsid, NULL);
    nx_family(o, "node_nvme_namespace_used_bytes",
              "Used space of the NVMe namespace in bytes. Available in "
              "/sys/class/nvme/<device>/<namespace>/nuse",
              PROM_GAUGE, l_ns);
    nx_samplev(o, (double)(v[0] * v[2]), device, nsid, NULL);
    nx_family(o, "node_nvme_namespace_logical_block_size_bytes",
              "Logical block size of the NVMe namespace in bytes. Usually 4Kb. Available in "
              "/sys/class/nvme/<device>/<namespace>/queue/logical_block_size",
              PROM_GAUGE, l_ns);
    nx_samplev(o, (double)v[2], device, nsid, NULL);
    return 0;
}

static int collect_device(nx_out *o, const char *class_dir, const char *device)
{
    static const char *const files[] = {"firmware_rev", "model", "serial", "state", "cntlid"};
    const char *dir = nx_sprintf(o, "%s/%s", class_dir, device);
    const char *info[6] = {device};
    for (int i = 0; i < 5; i++) {
        const char *path = nx_sprintf(o, "%s/%s", dir, files[i]);
        if ((info[i + 1] = sr_read(o, path)) == NULL)
            return nx_error(o, "error obtaining NVMe class info: failed to read file %s: %m", path);
    }
    static const char *const l_info[] = {
        "device", "firmware_revision", "model", "serial", "state", "cntlid", NULL};
    nx_family(o, "node_nvme_info",
              "Non-numeric data from /sys/class/nvme/<device>, value is always 1.", PROM_GAUGE,
              l_info);
    nx_sample(o, 1, info);
    char **names;
    int n = nx_list_dir(o, dir, &names);
    if (n < 0) return nx_error(o, "error obtaining NVMe class info: %s: %m", dir);
    for (int i = 0; i < n; i++) {
        const char *nsid = namespace_id(o, names[i]);
        if (nsid != NULL &&
            collect_namespace(o, device, nx_sprintf(o, "%s/%s", dir, names[i]), nsid) < 0)
            return -1;
    }
    return 0;
}

static int collect(nx_out *o)
{
    const char *class_dir = nx_sys(o, "class/nvme");
    char **names;
    int n = nx_list_dir(o, class_dir, &names);
    if (n < 0 && errno == ENOENT) return nx_no_data(o, "nvme statistics not found, skipping");
    if (n < 0) return nx_error(o, "error obtaining NVMe class info: %s: %m", class_dir);
    for (int i = 0; i < n; i++)
        if (collect_device(o, class_dir, names[i]) < 0) return -1;
    return 0;
}

const nx_collector nx_collector_nvme = {
    .name = "nvme",
    .default_on = true,
    .collect = collect,
};
