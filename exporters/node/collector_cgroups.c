/*
 * collector_cgroups.c - node_cgroups_cgroups and node_cgroups_enabled
 * {subsys_name} from /proc/cgroups (comment lines skipped).  Upstream gives
 * both families the same HELP text; so does this one.
 */
#include "node.h"

#include <string.h>

static const char *const labels[] = {"subsys_name", NULL};
static const char *const help = "Current cgroup number of the subsystem.";

static int collect(nx_out *o)
{
    const char *path = nx_proc(o, "cgroups");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return nx_error(o, "couldn't read %s: %m", path);
    for (char *save, *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') continue;
        char *f[4];
        double hierarchy, cgroups, enabled;
        if (nx_fields(line, f, 4) < 4 || !nx_parse_double(f[1], &hierarchy) ||
            !nx_parse_double(f[2], &cgroups) || !nx_parse_double(f[3], &enabled)) {
            nx_warn(o, "malformed line in %s: %.40s", path, line);
            continue;
        }
        nx_family(o, "node_cgroups_cgroups", help, PROM_GAUGE, labels);
        nx_samplev(o, cgroups, f[0], NULL);
        nx_family(o, "node_cgroups_enabled", help, PROM_GAUGE, labels);
        nx_samplev(o, enabled, f[0], NULL);
    }
    return 0;
}

const nx_collector nx_collector_cgroups = {
    .name = "cgroups",
    .default_on = false,
    .collect = collect,
};
