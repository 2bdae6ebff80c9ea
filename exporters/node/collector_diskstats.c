/*
 * collector_diskstats.c - node_disk_* from /proc/diskstats, with each device's
 * udev properties (<udev.data>/b<major>:<minor>) and /sys/block/<dev>/queue/rotational.
 *
 * Upstream quirks kept: a line needs at least 14 fields (older kernels print
 * fewer columns, and only the columns present are reported); discarded
 * sectors are not converted to bytes; the udev directory is checked once at
 * start and, when missing, no udev labels are ever filled in.
 */
#include "node.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_EXCLUDE "^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$"

static const char *dev_exclude, *dev_ignored, *dev_include;
static nx_filter filter;
static bool have_udev = true;

static core_flag flags[] = {
    {"collector.diskstats.device-exclude", CORE_FLAG_STRING, &dev_exclude, DEFAULT_EXCLUDE,
     "Regexp of diskstats devices to exclude (mutually exclusive to device-include).", false},
    {"collector.diskstats.ignored-devices", CORE_FLAG_STRING, &dev_ignored, NULL,
     "DEPRECATED: Use collector.diskstats.device-exclude", false},
    {"collector.diskstats.device-include", CORE_FLAG_STRING, &dev_include, NULL,
     "Regexp of diskstats devices to include (mutually exclusive to device-exclude).", false},
};

static const char *const dev_label[] = {"device", NULL};

static const struct {
    const char *name, *help;
    prom_type type;
    double scale; /* 0: none */
} stats[] = {
    {"node_disk_reads_completed_total", "The total number of reads completed successfully.",
     PROM_COUNTER, 0},
    {"node_disk_reads_merged_total", "The total number of reads merged.", PROM_COUNTER, 0},
    {"node_disk_read_bytes_total", "The total number of bytes read successfully.", PROM_COUNTER,
     512},
    {"node_disk_read_time_seconds_total", "The total number of seconds spent by all reads.",
     PROM_COUNTER, 0.001},
    {"node_disk_writes_completed_total", "The total number of writes completed successfully.",
     PROM_COUNTER, 0},
    {"node_disk_writes_merged_total", "The number of writes merged.", PROM_COUNTER, 0},
    {"node_disk_written_bytes_total", "The total number of bytes written successfully.",
     PROM_COUNTER, 512},
    {"node_disk_write_time_seconds_total",
     "This is the total number of seconds spent by all writes.", PROM_COUNTER, 0.001},
    {"node_disk_io_now", "The number of I/Os currently in progress.", PROM_GAUGE, 0},
    {"node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", PROM_COUNTER, 0.001},
    {"node_disk_io_time_weighted_seconds_total", "The weighted # of seconds spent doing I/Os.",
     PROM_COUNTER, 0.001},
    {"node_disk_discards_completed_total", "The total number of discards completed successfully.",
     PROM_COUNTER, 0},
    {"node_disk_discards_merged_total", "The total number of discards merged.", PROM_COUNTER, 0},
    {"node_disk_discarded_sectors_total", "The total number of sectors discarded successfully.",
     PROM_COUNTER, 0},
    {"node_disk_discard_time_seconds_total",
     "This is the total number of seconds spent by all discards.", PROM_COUNTER, 0.001},
    {"node_disk_flush_requests_total", "The total number of flush requests completed successfully",
     PROM_COUNTER, 0},
    {"node_disk_flush_requests_time_seconds_total",
     "This is the total number of seconds spent by all flush requests.", PROM_COUNTER, 0.001},
};
#define N_STATS (sizeof stats / sizeof stats[0])

/* ---- udev properties: the "E:KEY=value" lines of the device's data file */

typedef struct udev_info {
    char *text;
} udev_info;

/* The last "E:key=" line's value (later lines win, as in upstream's map). */
static const char *udev_get(const udev_info *u, const char *key)
{
    size_t kl = strlen(key);
    const char *found = NULL;
    for (const char *p = u->text; p != NULL && *p != '\0';) {
        const char *nl = strchr(p, '\n');
        if (strncmp(p, "E:", 2) == 0 && strncmp(p + 2, key, kl) == 0 && p[2 + kl] == '=')
            found = p + 3 + kl;
        p = nl ? nl + 1 : NULL;
    }
    return found;
}

/* The value up to the end of its line, in scrape memory; "" when absent. */
static const char *udev_str(nx_out *o, const udev_info *u, const char *key)
{
    const char *v = udev_get(u, key);
    if (v == NULL) return "";
    return core_arena_strndup(nx_arena(o), v, strcspn(v, "\n"));
}

/* ---- One line of /proc/diskstats */

static void emit_udev(nx_out *o, const char *dev, const udev_info *u)
{
    const char *fs_type = udev_str(o, u, "ID_FS_TYPE");
    if (*fs_type != '\0') {
        static const char *const l[] = {"device", "type", "usage", "uuid", "version", NULL};
        nx_family(o, "node_disk_filesystem_info", "Info about disk filesystem.", PROM_GAUGE, l);
        nx_samplev(o, 1, dev, fs_type, udev_str(o, u, "ID_FS_USAGE"), udev_str(o, u, "ID_FS_UUID"),
                   udev_str(o, u, "ID_FS_VERSION"), NULL);
    }
    const char *dm = udev_str(o, u, "DM_NAME");
    if (*dm != '\0') {
        static const char *const l[] = {"device",  "name",     "uuid", "vg_name",
                                        "lv_name", "lv_layer", NULL};
        nx_family(o, "node_disk_device_mapper_info", "Info about disk device mapper.", PROM_GAUGE,
                  l);
        nx_samplev(o, 1, dev, dm, udev_str(o, u, "DM_UUID"), udev_str(o, u, "DM_VG_NAME"),
                   udev_str(o, u, "DM_LV_NAME"), udev_str(o, u, "DM_LV_LAYER"), NULL);
    }
    if (*udev_str(o, u, "ID_ATA") == '\0') return;
    static const struct {
        const char *key, *name, *help;
    } ata[] = {
        {"ID_ATA_WRITE_CACHE", "node_disk_ata_write_cache", "ATA disk has a write cache."},
        {"ID_ATA_WRITE_CACHE_ENABLED", "node_disk_ata_write_cache_enabled",
         "ATA disk has its write cache enabled."},
        {"ID_ATA_ROTATION_RATE_RPM", "node_disk_ata_rotation_rate_rpm",
         "ATA disk rotation rate in RPMs (0 for SSDs)."},
    };
    for (size_t i = 0; i < sizeof ata / sizeof ata[0]; i++) {
        double v;
        if (udev_get(u, ata[i].key) == NULL) continue;
        if (!nx_parse_double(udev_str(o, u, ata[i].key), &v)) {
            nx_warn(o, "failed to parse ATA value %s of %s", ata[i].key, dev);
            continue;
        }
        nx_family(o, ata[i].name, ata[i].help, PROM_GAUGE, dev_label);
        nx_samplev(o, v, dev, NULL);
    }
}

static void emit_device(nx_out *o, char **f, size_t n)
{
    const char *dev = f[2];
    if (nx_filter_ignored(&filter, dev)) return;
    udev_info u = {NULL};
    if (have_udev) u.text = nx_read_file(o, nx_udev(o, nx_sprintf(o, "b%s:%s", f[0], f[1])), NULL);
    const char *serial = udev_str(o, &u, "SCSI_IDENT_SERIAL");
    if (*serial == '\0') serial = udev_str(o, &u, "ID_SERIAL_SHORT");
    if (*serial == '\0') serial = udev_str(o, &u, "ID_SERIAL");
    uint64_t rot;
    const char *rotational =
        nx_read_u64(nx_sys(o, nx_sprintf(o, "block/%s/queue/rotational", dev)), &rot) == 0 &&
                rot == 1
            ? "1"
            : "0";
    static const char *const info_labels[] = {"device", "major",  "minor",    "path",       "wwn",
                                              "model",  "serial", "revision", "rotational", NULL};
    nx_family(o, "node_disk_info", "Info of /sys/block/<block_device>.", PROM_GAUGE, info_labels);
    nx_samplev(o, 1, dev, f[0], f[1], udev_str(o, &u, "ID_PATH"), udev_str(o, &u, "ID_WWN"),
               udev_str(o, &u, "ID_MODEL"), serial, udev_str(o, &u, "ID_REVISION"), rotational,
               NULL);
    for (size_t i = 0; i + 3 < n && i < N_STATS; i++) {
        uint64_t raw;
        nx_parse_u64(f[i + 3], &raw);
        double v = stats[i].scale != 0 ? (double)raw * stats[i].scale : (double)raw;
        nx_family(o, stats[i].name, stats[i].help, stats[i].type, dev_label);
        nx_samplev(o, v, dev, NULL);
    }
    emit_udev(o, dev, &u);
}

/* Like upstream's Sscanf: the leading fields that parse count; a field that
 * does not parse ends the line (upstream would give up on the whole file). */
static size_t parse_line(char *line, char **f)
{
    size_t n = nx_fields(line, f, 3 + N_STATS);
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        if (i != 2 && !nx_parse_u64(f[i], &v)) return i;
    }
    return n;
}

static int collect(nx_out *o)
{
    const char *path = nx_proc(o, "diskstats");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return nx_error(o, "couldn't get diskstats: %m");
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[3 + N_STATS];
        size_t n = parse_line(line, f);
        if (n < 14) {
            nx_warn(o, "skipping malformed line in %s: %.60s", path, line);
            continue;
        }
        emit_device(o, f, n);
    }
    return 0;
}

static int init(core_err *err)
{
    nx_regex_free(filter.include);
    nx_regex_free(filter.exclude);
    bool exclude_given = flags[0].given;
    const char *exclude = dev_exclude;
    if (dev_ignored != NULL && *dev_ignored != '\0') {
        if (exclude_given)
            return core_err_set(err, "--collector.diskstats.ignored-devices and "
                                     "--collector.diskstats.device-exclude are mutually exclusive");
        core_warn("diskstats", "--collector.diskstats.ignored-devices is DEPRECATED and will be "
                               "removed in 2.0.0, use --collector.diskstats.device-exclude");
        exclude = dev_ignored;
    }
    if (dev_include != NULL && *dev_include != '\0') {
        if (exclude_given && exclude != NULL && *exclude != '\0')
            return core_err_set(err, "device-exclude & device-include are mutually exclusive");
        exclude = NULL;
    }
    struct stat st;
    have_udev = stat(nx_path.udev_data, &st) == 0 && S_ISDIR(st.st_mode);
    if (!have_udev)
        core_error("diskstats", "Failed to open directory, disabling udev device properties",
                   "path", nx_path.udev_data);
    return nx_filter_init(&filter, dev_include, exclude, "collector.diskstats", err);
}

const nx_collector nx_collector_diskstats = {
    .name = "diskstats",
    .default_on = true,
    .collect = collect,
    .init = init,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
