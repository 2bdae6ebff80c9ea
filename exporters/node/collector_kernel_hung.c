/*
 * collector_kernel_hung.c - node_kernel_hung_tasks_total from
 * /proc/sys/kernel/hung_task_detect_count; a missing file means "no data"
 * (success 0), as upstream.
 */
#include "node.h"

#include <errno.h>
#include <unistd.h>

static int collect(nx_out *o)
{
    const char *path = nx_proc(o, "sys/kernel/hung_task_detect_count");
    uint64_t v;
    if (nx_read_u64(path, &v) < 0) {
        if (access(path, F_OK) < 0 && errno == ENOENT)
            return nx_no_data(o, "collector returned no data");
        return nx_error(o, "couldn't read %s", path);
    }
    nx_counter(o, "node_kernel_hung_tasks_total",
               "Total number of tasks that have been detected as hung since the system booted.",
               (double)v);
    return 0;
}

const nx_collector nx_collector_kernel_hung = {
    .name = "kernel_hung",
    .default_on = true,
    .collect = collect,
};
