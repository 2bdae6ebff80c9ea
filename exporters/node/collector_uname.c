/*
 * collector_uname.c - node_uname_info from uname(2) on the live machine.
 */
#include "node.h"

#include <sys/utsname.h>

static int collect(nx_out *o)
{
    struct utsname u;
    if (uname(&u) < 0) return nx_error(o, "uname failed: %m");
    static const char *const labels[] = {"sysname",  "release",    "version", "machine",
                                         "nodename", "domainname", NULL};
    nx_family(o, "node_uname_info",
              "Labeled system information as provided by the uname system call.", PROM_GAUGE,
              labels);
    nx_samplev(o, 1, u.sysname, u.release, u.version, u.machine, u.nodename, u.domainname, NULL);
    return 0;
}

const nx_collector nx_collector_uname = {
    .name = "uname",
    .default_on = true,
    .collect = collect,
};
