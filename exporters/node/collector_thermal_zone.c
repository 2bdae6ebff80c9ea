/*
 * collector_thermal_zone.c - node_thermal_zone_temp from
 * /sys/class/thermal/thermal_zone<N>/{type,temp} and node_cooling_device_*
 * from /sys/class/thermal/cooling_device<N>/{type,max_state,cur_state}.
 *
 * As prometheus/procfs: a zone whose files cannot be read is still printed
 * (type "", temperature 0); a cooling device whose file is missing, not
 * permitted or not supported (ENOENT, EACCES, EOPNOTSUPP, EINVAL) is
 * skipped, while another read error or a malformed state fails the scrape.
 *
 * The zones and the devices are found with one listing of /sys/class/thermal
 * (names in strcmp order, as upstream's globs give them), not two globs.
 */
#include "sysfs_read.h"

static bool ignorable(int err)
{
    return err == ENOENT || err == EACCES || err == EPERM || err == EOPNOTSUPP || err == EINVAL;
}

/* Whether name is prefix followed by a digit (the globs' "<prefix>[0-9]*"). */
static bool numbered(const char *name, const char *prefix, size_t len)
{
    return strncmp(name, prefix, len) == 0 && name[len] >= '0' && name[len] <= '9';
}

static void collect_zones(nx_out *o, const char *class_dir, char **names, int n)
{
    static const char *const l[] = {"zone", "type", NULL};
    for (int i = 0; i < n; i++) {
        if (!numbered(names[i], "thermal_zone", 12)) continue;
        const char *zone = nx_sprintf(o, "%s/%s", class_dir, names[i]);
        const char *type = sr_read(o, nx_sprintf(o, "%s/type", zone));
        const char *temp = sr_read(o, nx_sprintf(o, "%s/temp", zone));
        long long t = 0;
        char *end;
        errno = 0;
        if (temp != NULL) t = strtoll(temp, &end, 10);
        if (temp == NULL || *temp == '\0' || *end != '\0' || errno != 0) t = 0;
        nx_family(o, "node_thermal_zone_temp", "Zone temperature in Celsius", PROM_GAUGE, l);
        nx_samplev(o, (double)t / 1000.0, names[i] + 12, type != NULL ? type : "", NULL);
    }
}

/* 1 = read, 0 = skip the device, -1 = fail. */
static int read_state(nx_out *o, const char *dir, const char *file, int64_t *v)
{
    const char *path = nx_sprintf(o, "%s/%s", dir, file);
    char *s = sr_read(o, path);
    if (s == NULL) return ignorable(errno) ? 0 : nx_error(o, "couldn't read %s: %m", path);
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0)
        return nx_error(o, "couldn't parse %s: %.40s", path, s);
    *v = x;
    return 1;
}

static int collect_cooling(nx_out *o, const char *class_dir, char **names, int n)
{
    static const char *const l[] = {"name", "type", NULL};
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (!numbered(names[i], "cooling_device", 14)) continue;
        const char *dir = nx_sprintf(o, "%s/%s", class_dir, names[i]);
        const char *name = names[i] + 14;
        const char *type = sr_read(o, nx_sprintf(o, "%s/type", dir));
        if (type == NULL) {
            if (!ignorable(errno)) rc = nx_error(o, "couldn't read %s/type: %m", dir);
            continue;
        }
        int64_t max, cur;
        int r = read_state(o, dir, "max_state", &max);
        if (r == 1) r = read_state(o, dir, "cur_state", &cur);
        if (r < 0) rc = -1;
        if (r != 1) continue;
        nx_family(o, "node_cooling_device_cur_state",
                  "Current throttle state of the cooling device", PROM_GAUGE, l);
        nx_samplev(o, (double)cur, name, type, NULL);
        nx_family(o, "node_cooling_device_max_state",
                  "Maximum throttle state of the cooling device", PROM_GAUGE, l);
        nx_samplev(o, (double)max, name, type, NULL);
    }
    return rc;
}

static int collect(nx_out *o)
{
    const char *class_dir = nx_sys(o, "class/thermal");
    char **names;
    int n = nx_list_dir(o, class_dir, &names);
    if (n < 0) return 0; /* as the globs: nothing matches */
    collect_zones(o, class_dir, names, n);
    return collect_cooling(o, class_dir, names, n);
}

const nx_collector nx_collector_thermal_zone = {
    .name = "thermal_zone",
    .default_on = true,
    .collect = collect,
};
