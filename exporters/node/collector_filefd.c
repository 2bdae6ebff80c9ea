/*
 * collector_filefd.c - node_filefd_allocated and node_filefd_maximum from
 * /proc/sys/fs/file-nr ("allocated<TAB>unused<TAB>maximum").
 */
#include "node.h"

#include <string.h>

static int collect(nx_out *o)
{
    const char *path = nx_proc(o, "sys/fs/file-nr");
    /* One small read: the kernel zeroes a buffer the size of a sysctl read,
     * and a whole-file read asks for tens of KiB (8 us here against 0.5). */
    char text[256];
    if (nx_read_bytes(path, text, sizeof text) < 0)
        return nx_error(o, "couldn't get file-nr: %s: %m", path);
    char *f[3];
    double allocated, maximum;
    if (nx_fields(text, f, 3) < 3)
        return nx_error(o, "unexpected number of file stats in %s", path);
    f[2][strcspn(f[2], "\r\n")] = '\0';
    if (!nx_parse_double(f[0], &allocated) || !nx_parse_double(f[2], &maximum))
        return nx_error(o, "invalid value in file-nr: %.40s %.40s", f[0], f[2]);
    nx_gauge(o, "node_filefd_allocated", "File descriptor statistics: allocated.", allocated);
    nx_gauge(o, "node_filefd_maximum", "File descriptor statistics: maximum.", maximum);
    return 0;
}

const nx_collector nx_collector_filefd = {
    .name = "filefd",
    .default_on = true,
    .collect = collect,
};
