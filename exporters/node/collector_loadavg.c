/* collector_loadavg.c - node_load1, node_load5, node_load15 from /proc/loadavg. */
#include "node.h"

static int collect(nx_out *o)
{
    char *text = nx_read_file(o, nx_proc(o, "loadavg"), NULL);
    if (text == NULL) return nx_error(o, "couldn't read %s: %m", nx_proc(o, "loadavg"));
    char *f[3];
    double v[3];
    if (nx_fields(text, f, 3) < 3 || !nx_parse_double(f[0], &v[0]) ||
        !nx_parse_double(f[1], &v[1]) || !nx_parse_double(f[2], &v[2]))
        return nx_error(o, "unexpected content in %s: %.40s", nx_proc(o, "loadavg"), text);
    nx_gauge(o, "node_load1", "1m load average.", v[0]);
    nx_gauge(o, "node_load5", "5m load average.", v[1]);
    nx_gauge(o, "node_load15", "15m load average.", v[2]);
    return 0;
}

const nx_collector nx_collector_loadavg = {
    .name = "loadavg",
    .default_on = true,
    .collect = collect,
};
