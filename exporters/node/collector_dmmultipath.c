/*
 * collector_dmmultipath.c - node_dmmultipath_* from /sys/block/dm-<N>/ whose
 * dm/uuid starts with "mpath-": dm/name, dm/suspended, size (512-byte
 * sectors) and, per entry of slaves/, /sys/block/<path>/device/state
 * ("running" or "live" count as active).
 *
 * As prometheus/procfs: a dm device without dm/uuid is skipped, a device
 * without slaves/ has no paths, any other missing or malformed file fails
 * the scrape with nothing printed; a missing /sys/block is "no data".
 */
#include "sysfs_read.h"

typedef struct mp_path {
    const char *device, *state;
} mp_path;

typedef struct mp_dev {
    const char *sysfs_name, *name, *uuid;
    bool suspended;
    uint64_t sectors;
    mp_path *paths;
    int n_paths;
} mp_dev;

static int fail_read(nx_out *o, const char *what, const char *dev)
{
    if (errno == ENOENT || errno == EACCES)
        return nx_no_data(o, "Could not read DM-multipath devices: %s for %s: %m", what, dev);
    return nx_error(o, "failed to scan DM-multipath devices: failed to read %s for %s: %m", what,
                    dev);
}

static bool read_uint(nx_out *o, const char *path, uint64_t *v)
{
    char *s = sr_read_all(o, path);
    if (s != NULL && !nx_parse_u64(s, v)) {
        errno = EINVAL;
        return false;
    }
    return s != NULL;
}

static int read_paths(nx_out *o, const char *block, mp_dev *d)
{
    char **names;
    int n = nx_list_dir(o, nx_sprintf(o, "%s/%s/slaves", block, d->sysfs_name), &names);
    if (n < 0 && errno == ENOENT) return 0;
    if (n < 0) return fail_read(o, "slaves", d->sysfs_name);
    d->paths = core_arena_alloc(nx_arena(o), (size_t)(n + 1) * sizeof *d->paths);
    for (int i = 0; i < n; i++) {
        const char *state = sr_read(o, nx_sprintf(o, "%s/%s/device/state", block, names[i]));
        if (state == NULL) return fail_read(o, "device/state", names[i]);
        d->paths[d->n_paths++] = (mp_path){names[i], state};
    }
    return 0;
}

/* 1 = a multipath device, 0 = not one, -1 = failed. */
static int read_device(nx_out *o, const char *block, const char *entry, mp_dev *d)
{
    const char *dir = nx_sprintf(o, "%s/%s", block, entry);
    *d = (mp_dev){.sysfs_name = entry};
    d->uuid = sr_read(o, nx_sprintf(o, "%s/dm/uuid", dir));
    if (d->uuid == NULL) return errno == ENOENT ? 0 : fail_read(o, "dm/uuid", entry);
    if (strncmp(d->uuid, "mpath-", 6) != 0) return 0;
    uint64_t suspended;
    if ((d->name = sr_read(o, nx_sprintf(o, "%s/dm/name", dir))) == NULL)
        return fail_read(o, "dm/name", entry);
    if (!read_uint(o, nx_sprintf(o, "%s/dm/suspended", dir), &suspended))
        return fail_read(o, "dm/suspended", entry);
    if (!read_uint(o, nx_sprintf(o, "%s/size", dir), &d->sectors))
        return fail_read(o, "size", entry);
    d->suspended = suspended == 1;
    return read_paths(o, block, d) < 0 ? -1 : 1;
}

static void emit(nx_out *o, const mp_dev *d)
{
    static const char *const l_info[] = {"device", "sysfs_name", "uuid", NULL};
    static const char *const l_dev[] = {"device", "sysfs_name", NULL};
    static const char *const l_path[] = {"device", "path", "state", NULL};
    nx_family(o, "node_dmmultipath_device_info",
              "Non-numeric information about a DM-multipath device.", PROM_GAUGE, l_info);
    nx_samplev(o, 1, d->name, d->sysfs_name, d->uuid, NULL);
    nx_family(o, "node_dmmultipath_device_active",
              "Whether the multipath device-mapper device is active (1) or suspended (0).",
              PROM_GAUGE, l_dev);
    nx_samplev(o, d->suspended ? 0 : 1, d->name, d->sysfs_name, NULL);
    nx_family(o, "node_dmmultipath_device_size_bytes",
              "Size of the multipath device in bytes, read from /sys/block/<dm>/size.", PROM_GAUGE,
              l_dev);
    nx_samplev(o, (double)d->sectors * 512, d->name, d->sysfs_name, NULL);
    int active = 0;
    for (int i = 0; i < d->n_paths; i++) {
        active +=
            strcmp(d->paths[i].state, "running") == 0 || strcmp(d->paths[i].state, "live") == 0;
        nx_family(o, "node_dmmultipath_path_state",
                  "Reports the underlying device state for a multipath path, as read from "
                  "/sys/block/<dev>/device/state.",
                  PROM_GAUGE, l_path);
        nx_samplev(o, 1, d->name, d->paths[i].device, d->paths[i].state, NULL);
    }
    nx_family(o, "node_dmmultipath_device_paths", "Number of paths for a multipath device.",
              PROM_GAUGE, l_dev);
    nx_samplev(o, d->n_paths, d->name, d->sysfs_name, NULL);
    nx_family(o, "node_dmmultipath_device_paths_active",
              "Number of paths in active state (SCSI running or NVMe live) for a multipath device.",
              PROM_GAUGE, l_dev);
    nx_samplev(o, active, d->name, d->sysfs_name, NULL);
    nx_family(o, "node_dmmultipath_device_paths_failed",
              "Number of paths not in active state for a multipath device.", PROM_GAUGE, l_dev);
    nx_samplev(o, d->n_paths - active, d->name, d->sysfs_name, NULL);
}

static int collect(nx_out *o)
{
    const char *block = nx_sys(o, "block");
    char **names;
    int n = nx_list_dir(o, block, &names);
    if (n < 0) {
        if (errno == ENOENT || errno == EACCES)
            return nx_no_data(o, "Could not read DM-multipath devices: %s: %m", block);
        return nx_error(o, "failed to scan DM-multipath devices: %s: %m", block);
    }
    mp_dev *devs = core_arena_alloc(nx_arena(o), (size_t)(n + 1) * sizeof *devs);
    int n_devs = 0;
    for (int i = 0; i < n; i++) {
        if (strncmp(names[i], "dm-", 3) != 0) continue;
        int r = read_device(o, block, names[i], &devs[n_devs]);
        if (r < 0) return -1;
        n_devs += r;
    }
    for (int i = 0; i < n_devs; i++)
        emit(o, &devs[i]);
    return 0;
}

const nx_collector nx_collector_dmmultipath = {
    .name = "dmmultipath",
    .default_on = false,
    .collect = collect,
};
