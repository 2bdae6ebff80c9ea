/*
 * collector_btrfs.c - node_btrfs_* from /sys/fs/btrfs/<uuid>/ (label,
 * metadata_uuid, devices/, allocation/{data,metadata,system}/, commit_stats)
 * and, for each btrfs mount of <procfs>/1/mountinfo that can be opened under
 * --path.rootfs, the BTRFS_IOC_{FS_INFO,DEV_INFO,GET_DEV_STATS} ioctls.
 *
 * As prometheus/procfs: a file that is missing reads as 0 (or ""), a number
 * that does not parse as 0, but any other read error, a missing devices/ or
 * allocation/<type>/ directory, or a malformed commit_stats line fails the
 * scrape.  The raid5/raid6 ratios use the number of devices.  When the
 * ioctls answer for a filesystem (its fsid, in hex, equals the uuid without
 * dashes) its devices come from them, with device_unused_bytes and
 * device_errors_total; otherwise node_btrfs_device_size_bytes comes from
 * devices/<dev>/size in 512-byte sectors.  A failing ioctl is skipped.
 */
#include "mountinfo_parse.h"
#include "sysfs_read.h"

#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <linux/btrfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fs_reader {
    nx_out *o;
    const char *dir;
    int err; /* set when a read failed for a reason other than ENOENT */
    const char *err_path;
} fs_reader;

static char *rd_str(fs_reader *r, const char *rel)
{
    const char *path = nx_sprintf(r->o, "%s/%s", r->dir, rel);
    char *s = sr_read(r->o, path);
    if (s == NULL && errno != ENOENT && r->err == 0) r->err = errno, r->err_path = path;
    return s != NULL ? s : "";
}

static uint64_t rd_u64(fs_reader *r, const char *rel)
{
    uint64_t v;
    const char *s = rd_str(r, rel);
    return nx_parse_u64(s, &v) ? v : 0;
}

/* Entries of dir (relative), or -1 with r->err set. */
static int rd_list(fs_reader *r, const char *rel, char ***names)
{
    const char *path = nx_sprintf(r->o, "%s/%s", r->dir, rel);
    int n = nx_list_dir(r->o, path, names);
    if (n < 0 && r->err == 0) r->err = errno, r->err_path = path;
    return n;
}

static double layout_ratio(const char *mode, int n_devices)
{
    if (strcmp(mode, "single") == 0 || strcmp(mode, "raid0") == 0) return 1;
    if (strcmp(mode, "dup") == 0 || strcmp(mode, "raid1") == 0 || strcmp(mode, "raid10") == 0)
        return 2;
    if (strcmp(mode, "raid1c3") == 0) return 3;
    if (strcmp(mode, "raid1c4") == 0) return 4;
    if (strcmp(mode, "raid5") == 0) return (double)n_devices / ((double)n_devices - 1);
    if (strcmp(mode, "raid6") == 0) return (double)n_devices / ((double)n_devices - 2);
    return 0;
}

static void emit_allocation(fs_reader *r, const char *uuid, const char *type, int n_devices)
{
    static const char *const l_type[] = {"uuid", "block_group_type", NULL};
    static const char *const l_mode[] = {"uuid", "block_group_type", "mode", NULL};
    const char *dir = nx_sprintf(r->o, "allocation/%s", type);
    uint64_t reserved = rd_u64(r, nx_sprintf(r->o, "%s/bytes_reserved", dir));
    char **names;
    int n = rd_list(r, dir, &names);
    if (n < 0) return;
    nx_family(r->o, "node_btrfs_reserved_bytes", "Amount of space reserved for a data type",
              PROM_GAUGE, l_type);
    nx_samplev(r->o, (double)reserved, uuid, type, NULL);
    for (int i = 0; i < n; i++) {
        struct stat sb;
        const char *sub = nx_sprintf(r->o, "%s/%s", dir, names[i]);
        if (lstat(nx_sprintf(r->o, "%s/%s", r->dir, sub), &sb) != 0 || !S_ISDIR(sb.st_mode))
            continue;
        uint64_t total = rd_u64(r, nx_sprintf(r->o, "%s/total_bytes", sub));
        uint64_t used = rd_u64(r, nx_sprintf(r->o, "%s/used_bytes", sub));
        nx_family(r->o, "node_btrfs_used_bytes", "Amount of used space by a layout/data type",
                  PROM_GAUGE, l_mode);
        nx_samplev(r->o, (double)used, uuid, type, names[i], NULL);
        nx_family(r->o, "node_btrfs_size_bytes", "Amount of space allocated for a layout/data type",
                  PROM_GAUGE, l_mode);
        nx_samplev(r->o, (double)total, uuid, type, names[i], NULL);
        nx_family(r->o, "node_btrfs_allocation_ratio",
                  "Data allocation ratio for a layout/data type", PROM_GAUGE, l_mode);
        nx_samplev(r->o, layout_ratio(names[i], n_devices), uuid, type, names[i], NULL);
    }
}

/* commit_stats: "<name> <value>" lines; 0 or -1 after nx_error. */
static int read_commit_stats(fs_reader *r, uint64_t v[4])
{
    static const char *const keys[] = {"commits", "last_commit_ms", "max_commit_ms",
                                       "total_commit_ms"};
    const char *path = nx_sprintf(r->o, "%s/commit_stats", r->dir);
    char *text = nx_read_file(r->o, path, NULL);
    if (text == NULL && errno == ENOENT) return 0;
    if (text == NULL) return nx_error(r->o, "failed to retrieve Btrfs stats: %s: %m", path);
    size_t len = strlen(text);
    if (len > 0 && text[len - 1] == '\n') text[len - 1] = '\0';
    for (char *line = text; line != NULL && len > 0;) {
        char *next = strchr(line, '\n');
        if (next != NULL) *next++ = '\0';
        char *f[3];
        uint64_t x;
        if (nx_fields(line, f, 3) != 2)
            return nx_error(r->o, "failed to retrieve Btrfs stats: invalid commit_stats line");
        if (!nx_parse_u64(f[1], &x))
            return nx_error(r->o, "failed to retrieve Btrfs stats: error parsing commit_stats "
                                  "line");
        for (size_t k = 0; k < 4; k++)
            if (strcmp(f[0], keys[k]) == 0) v[k] = x;
        line = next;
    }
    return 0;
}

/* ---- ioctls on the mounted filesystems */

typedef struct ioctl_fs {
    char fsid[33];
    size_t n_devices;
    struct {
        const char *name, *uuid;
        uint64_t used, total, errs[5];
    } dev[64];
} ioctl_fs;

static bool ioctl_devices(nx_out *o, int fd, const struct btrfs_ioctl_fs_info_args *fi,
                          ioctl_fs *fs)
{
    fs->n_devices = 0;
    for (uint64_t id = 0; id <= fi->max_id && fs->n_devices < 64; id++) {
        struct btrfs_ioctl_dev_info_args di = {.devid = id};
        if (ioctl(fd, BTRFS_IOC_DEV_INFO, &di) < 0) {
            if (errno == ENODEV) continue;
            return false;
        }
        struct btrfs_ioctl_get_dev_stats ds = {.devid = id, .nr_items = BTRFS_DEV_STAT_VALUES_MAX};
        if (ioctl(fd, BTRFS_IOC_GET_DEV_STATS, &ds) < 0) return false;
        const char *path = (const char *)di.path, *slash = strrchr(path, '/');
        const unsigned char *u = di.uuid;
        fs->dev[fs->n_devices].name = nx_sprintf(o, "%s", slash != NULL ? slash + 1 : path);
        fs->dev[fs->n_devices].uuid =
            nx_sprintf(o, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                       u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
                       u[12], u[13], u[14], u[15]);
        fs->dev[fs->n_devices].used = di.bytes_used;
        fs->dev[fs->n_devices].total = di.total_bytes;
        for (int k = 0; k < 5; k++)
            fs->dev[fs->n_devices].errs[k] = ds.values[k];
        if (++fs->n_devices == fi->num_devices) break;
    }
    return true;
}

/* The ioctl view of every btrfs mount; an unreadable mount table gives none. */
static size_t ioctl_stats(nx_out *o, ioctl_fs **out)
{
    mi_mount *m;
    size_t n, n_fs = 0;
    char why[256];
    if (mi_read(o, &m, &n, why, sizeof why) < 0) return 0; /* a debug message upstream */
    ioctl_fs *fs = core_arena_alloc(nx_arena(o), (n + 1) * sizeof *fs);
    const char **done = core_arena_alloc(nx_arena(o), (n + 1) * sizeof *done);
    size_t n_done = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m[i].fs_type, "btrfs") != 0) continue;
        bool seen = false;
        for (size_t k = 0; k < n_done && !seen; k++)
            seen = strcmp(done[k], m[i].device) == 0;
        if (seen) continue;
        int fd = open(nx_root(o, m[i].mount_point), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) continue;
        struct btrfs_ioctl_fs_info_args fi = {0};
        if (ioctl(fd, BTRFS_IOC_FS_INFO, &fi) == 0) {
            char id[33];
            for (int k = 0; k < 16; k++)
                snprintf(id + 2 * k, 3, "%02x", fi.fsid[k]);
            for (size_t k = 0; k < n_fs && !seen; k++)
                seen = strcmp(fs[k].fsid, id) == 0;
            if (!seen && ioctl_devices(o, fd, &fi, &fs[n_fs])) {
                memcpy(fs[n_fs++].fsid, id, sizeof id);
                done[n_done++] = m[i].device;
            }
        }
        close(fd);
    }
    *out = fs;
    return n_fs;
}

static void emit_ioctl_devices(nx_out *o, const char *uuid, const ioctl_fs *fs)
{
    static const char *const l_dev[] = {"uuid", "device", "btrfs_dev_uuid", NULL};
    static const char *const l_err[] = {"uuid", "type", "device", "btrfs_dev_uuid", NULL};
    static const char *const types[] = {"write", "read", "flush", "corruption", "generation"};
    for (size_t i = 0; i < fs->n_devices; i++) {
        nx_family(o, "node_btrfs_device_size_bytes",
                  "Size of a device that is part of the filesystem.", PROM_GAUGE, l_dev);
        nx_samplev(o, (double)fs->dev[i].total, uuid, fs->dev[i].name, fs->dev[i].uuid, NULL);
        nx_family(o, "node_btrfs_device_unused_bytes",
                  "Unused bytes unused on a device that is part of the filesystem.", PROM_GAUGE,
                  l_dev);
        nx_samplev(o, (double)(fs->dev[i].total - fs->dev[i].used), uuid, fs->dev[i].name,
                   fs->dev[i].uuid, NULL);
        for (int k = 0; k < 5; k++) {
            nx_family(o, "node_btrfs_device_errors_total", "Errors reported for the device",
                      PROM_COUNTER, l_err);
            nx_samplev(o, (double)fs->dev[i].errs[k], uuid, types[k], fs->dev[i].name,
                       fs->dev[i].uuid, NULL);
        }
    }
}

/* ---- one filesystem of /sys/fs/btrfs */

static int collect_fs(nx_out *o, const char *dir, const ioctl_fs *ifs, size_t n_ifs)
{
    fs_reader r = {.o = o, .dir = dir};
    char **devs;
    int n_devs = rd_list(&r, "devices", &devs);
    uint64_t *dev_size = core_arena_alloc(nx_arena(o), (size_t)(n_devs > 0 ? n_devs : 1) * 8);
    for (int i = 0; i < n_devs; i++)
        dev_size[i] = 512 * rd_u64(&r, nx_sprintf(o, "devices/%s/size", devs[i]));
    const char *label = rd_str(&r, "label");
    const char *uuid = rd_str(&r, "metadata_uuid");
    if (*uuid == '\0') uuid = strrchr(dir, '/') + 1;
    uint64_t rsv = rd_u64(&r, "allocation/global_rsv_size");
    uint64_t commits[4] = {0};
    if (r.err != 0) goto fail;
    if (read_commit_stats(&r, commits) < 0) return -1;

    static const char *const l_uuid[] = {"uuid", NULL};
    static const char *const l_info[] = {"uuid", "label", NULL};
    nx_family(o, "node_btrfs_info", "Filesystem information", PROM_GAUGE, l_info);
    nx_samplev(o, 1, uuid, label, NULL);
    nx_family(o, "node_btrfs_global_rsv_size_bytes", "Size of global reserve.", PROM_GAUGE, l_uuid);
    nx_samplev(o, (double)rsv, uuid, NULL);
    nx_family(o, "node_btrfs_commits_total", "The total number of commits that have occurred.",
              PROM_COUNTER, l_uuid);
    nx_samplev(o, (double)commits[0], uuid, NULL);
    nx_family(o, "node_btrfs_last_commit_seconds",
              "Duration of the most recent commit, in seconds.", PROM_GAUGE, l_uuid);
    nx_samplev(o, (double)commits[1] / 1000, uuid, NULL);
    nx_family(o, "node_btrfs_max_commit_seconds", "Duration of the slowest commit, in seconds.",
              PROM_GAUGE, l_uuid);
    nx_samplev(o, (double)commits[2] / 1000, uuid, NULL);
    nx_family(o, "node_btrfs_commit_seconds_total",
              "Sum of the duration of all commits, in seconds.", PROM_COUNTER, l_uuid);
    nx_samplev(o, (double)commits[3] / 1000, uuid, NULL);
    emit_allocation(&r, uuid, "data", n_devs);
    emit_allocation(&r, uuid, "metadata", n_devs);
    emit_allocation(&r, uuid, "system", n_devs);
    if (r.err != 0) goto fail;

    char key[64];
    size_t k = 0;
    for (const char *p = uuid; *p != '\0' && k < sizeof key - 1; p++)
        if (*p != '-') key[k++] = *p;
    key[k] = '\0';
    for (size_t i = 0; i < n_ifs; i++) {
        if (strcmp(ifs[i].fsid, key) == 0) {
            emit_ioctl_devices(o, uuid, &ifs[i]);
            return 0;
        }
    }
    static const char *const l_dev[] = {"uuid", "device", NULL};
    for (int i = 0; i < n_devs; i++) {
        nx_family(o, "node_btrfs_device_size_bytes",
                  "Size of a device that is part of the filesystem.", PROM_GAUGE, l_dev);
        nx_samplev(o, (double)dev_size[i], uuid, devs[i], NULL);
    }
    return 0;
fail:
    errno = r.err;
    return nx_error(o, "failed to retrieve Btrfs stats from procfs: %s: %m", r.err_path);
}

static int collect(nx_out *o)
{
    glob_t g;
    int rc = glob(nx_sys(o, "fs/btrfs/*-*"), 0, NULL, &g);
    if (rc == GLOB_NOMATCH) return 0;
    if (rc != 0) return nx_error(o, "failed to retrieve Btrfs stats from procfs: glob failed");
    ioctl_fs *ifs;
    size_t n_ifs = ioctl_stats(o, &ifs);
    int result = 0;
    for (size_t i = 0; i < g.gl_pathc && result == 0; i++)
        result = collect_fs(o, nx_sprintf(o, "%s", g.gl_pathv[i]), ifs, n_ifs);
    globfree(&g);
    return result;
}

const nx_collector nx_collector_btrfs = {
    .name = "btrfs",
    .default_on = true,
    .collect = collect,
};
