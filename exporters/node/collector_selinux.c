/*
 * collector_selinux.c - node_selinux_enabled, and when enabled
 * node_selinux_config_mode (SELINUX= of <rootfs>/etc/selinux/config:
 * enforcing 1, permissive 0, disabled -1) and node_selinux_current_mode
 * (<sysfs>/fs/selinux/enforce, -1 when unreadable).
 *
 * As opencontainers/selinux, SELinux counts as enabled when selinuxfs is
 * mounted at <sysfs>/fs/selinux and this process's label is not "kernel";
 * selinuxfs mounted elsewhere is not looked for.  Without SELinux only
 * node_selinux_enabled 0 is printed, as upstream.
 */
#include "node.h"

#include <string.h>
#include <sys/vfs.h>

#define SELINUX_MAGIC 0xf97cff8c

static bool enabled(nx_out *o)
{
    struct statfs fs;
    if (statfs(nx_sys(o, "fs/selinux"), &fs) < 0 || (unsigned long)fs.f_type != SELINUX_MAGIC)
        return false;
    char *label = nx_read_line(o, nx_proc(o, "self/attr/current"));
    return label == NULL || strcmp(label, "kernel") != 0;
}

static double config_mode(nx_out *o)
{
    char *text = nx_read_file(o, nx_root(o, "etc/selinux/config"), NULL);
    double mode = -1;
    for (char *save, *line = text != NULL ? strtok_r(text, "\n", &save) : NULL; line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        line += strspn(line, " \t");
        if (strncmp(line, "SELINUX=", 8) != 0) continue;
        char *v = line + 8;
        v[strcspn(v, " \t\r")] = '\0';
        mode = strcmp(v, "enforcing") == 0 ? 1 : strcmp(v, "permissive") == 0 ? 0 : -1;
    }
    return mode;
}

static double current_mode(nx_out *o)
{
    char *v = nx_read_line(o, nx_sys(o, "fs/selinux/enforce"));
    if (v == NULL) return -1;
    return strcmp(v, "1") == 0 ? 1 : 0;
}

static int collect(nx_out *o)
{
    const char *help = "SELinux is enabled, 1 is true, 0 is false";
    if (!enabled(o)) {
        nx_gauge(o, "node_selinux_enabled", help, 0);
        return 0;
    }
    nx_gauge(o, "node_selinux_enabled", help, 1);
    nx_gauge(o, "node_selinux_config_mode", "Configured SELinux enforcement mode", config_mode(o));
    nx_gauge(o, "node_selinux_current_mode", "Current SELinux enforcement mode", current_mode(o));
    return 0;
}

const nx_collector nx_collector_selinux = {
    .name = "selinux",
    .default_on = true,
    .collect = collect,
};
