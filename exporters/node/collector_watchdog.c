/*
 * collector_watchdog.c - node_watchdog_* from /sys/class/watchdog/<name>/:
 * the numeric attributes each as a gauge, the text ones as labels of
 * node_watchdog_info ("" when a file is missing).  A number that does not
 * parse leaves its metric out.
 */
#include "sysfs_read.h"

static const struct {
    const char *file, *metric;
} numbers[] = {
    {"bootstatus", "bootstatus"},   {"fw_version", "fw_version"},
    {"nowayout", "nowayout"},       {"timeleft", "timeleft_seconds"},
    {"timeout", "timeout_seconds"}, {"pretimeout", "pretimeout_seconds"},
    {"access_cs0", "access_cs0"},
};

static const char *const texts[] = {"options", "identity", "state", "status",
                                    "pretimeout_governor"};

static int collect_one(nx_out *o, const char *class_dir, const char *name)
{
    const char *values[7] = {name};
    static const char *const name_label[] = {"name", NULL};
    for (size_t i = 0; i < 5; i++) {
        const char *path = nx_sprintf(o, "%s/%s/%s", class_dir, name, texts[i]);
        char *v = sr_read(o, path);
        if (v == NULL && errno != ENOENT) return nx_error(o, "failed to read file %s: %m", path);
        values[i + 1] = v != NULL ? v : "";
    }
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        const char *path = nx_sprintf(o, "%s/%s/%s", class_dir, name, numbers[i].file);
        char *v = sr_read(o, path);
        int64_t x;
        if (v == NULL && errno != ENOENT) return nx_error(o, "failed to read file %s: %m", path);
        if (v == NULL || !sr_i64(v, &x)) continue;
        nx_family(o, nx_sprintf(o, "node_watchdog_%s", numbers[i].metric),
                  nx_sprintf(o, "Value of /sys/class/watchdog/<watchdog>/%s", numbers[i].file),
                  PROM_GAUGE, name_label);
        nx_samplev(o, (double)x, name, NULL);
    }
    static const char *const info_labels[] = {
        "name", "options", "identity", "state", "status", "pretimeout_governor", NULL};
    nx_family(o, "node_watchdog_info", "Info of /sys/class/watchdog/<watchdog>", PROM_GAUGE,
              info_labels);
    nx_sample(o, 1, values);
    return 0;
}

static int collect(nx_out *o)
{
    const char *class_dir = nx_sys(o, "class/watchdog");
    char **names;
    int n = nx_list_dir(o, class_dir, &names);
    if (n < 0 && (errno == ENOENT || errno == EACCES || errno == EPERM || errno == EINVAL))
        return nx_no_data(o, "watchdog class not found, skipping: %s: %m", class_dir);
    if (n < 0) return nx_error(o, "could not read watchdog stats: %s: %m", class_dir);
    for (int i = 0; i < n; i++)
        if (collect_one(o, class_dir, names[i]) < 0) return -1;
    return 0;
}

const nx_collector nx_collector_watchdog = {
    .name = "watchdog",
    .default_on = true,
    .collect = collect,
};
