/*
 * collector_dmi.c - node_dmi_info from the regular files of /sys/class/dmi/id/,
 * each a label when present (sys_vendor becomes system_vendor), invalid UTF-8
 * replaced by U+FFFD.  As upstream: a file only root may read is left out,
 * another unreadable file fails the scrape, and no DMI at all is "no data".
 * Upstream reads the files once at start; they do not change, so reading
 * them at each scrape gives the same output.
 */
#include "mountinfo_parse.h"
#include "sysfs_read.h"

#include <dirent.h>
#include <sys/stat.h>

static const char *const labels[] = {
    "bios_date",         "bios_release",    "bios_vendor",
    "bios_version",      "board_asset_tag", "board_name",
    "board_serial",      "board_vendor",    "board_version",
    "chassis_asset_tag", "chassis_serial",  "chassis_vendor",
    "chassis_version",   "product_family",  "product_name",
    "product_serial",    "product_sku",     "product_uuid",
    "product_version",   "system_vendor",   NULL,
};
#define N_LABELS (sizeof labels / sizeof labels[0] - 1)

static int collect(nx_out *o)
{
    const char *dir = nx_sys(o, "class/dmi/id");
    char **names;
    int n = nx_list_dir(o, dir, &names);
    if (n < 0 && errno == ENOENT)
        return nx_no_data(o, "Platform does not support Desktop Management Interface (DMI) "
                             "information");
    if (n < 0)
        return nx_error(o, "failed to read Desktop Management Interface (DMI) information: %s: %m",
                        dir);
    const char *values[N_LABELS] = {NULL};
    bool any = false;
    for (int i = 0; i < n; i++) {
        const char *path = nx_sprintf(o, "%s/%s", dir, names[i]);
        struct stat sb;
        if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
        const char *label = strcmp(names[i], "sys_vendor") == 0 ? "system_vendor" : names[i];
        size_t k = 0;
        while (k < N_LABELS && strcmp(labels[k], label) != 0)
            k++;
        if (strcmp(names[i], "modalias") == 0 || strcmp(names[i], "uevent") == 0) continue;
        char *v = sr_read(o, path);
        if (v == NULL && (errno == EACCES || errno == EPERM)) continue;
        if (v == NULL)
            return nx_error(o,
                            "failed to read Desktop Management Interface (DMI) information: "
                            "%s: %m",
                            path);
        if (k == N_LABELS) continue;
        values[k] = nx_valid_utf8(o, v);
        any = true;
    }
    if (!any) return nx_no_data(o, "no DMI information");
    nx_family(o, "node_dmi_info",
              "A metric with a constant '1' value labeled by bios_date, bios_release, bios_vendor, "
              "bios_version, board_asset_tag, board_name, board_serial, board_vendor, "
              "board_version, chassis_asset_tag, chassis_serial, chassis_vendor, chassis_version, "
              "product_family, product_name, product_serial, product_sku, product_uuid, "
              "product_version, system_vendor if provided by DMI.",
              PROM_GAUGE, labels);
    nx_sample(o, 1, values);
    return 0;
}

const nx_collector nx_collector_dmi = {
    .name = "dmi",
    .default_on = true,
    .collect = collect,
};
