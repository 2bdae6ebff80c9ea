/*
 * collector_udp_queues.c - node_udp_queues{queue,ip}: the tx_queue and
 * rx_queue columns of /proc/net/udp and /proc/net/udp6, summed over sockets.
 * A missing file is skipped; both missing means "no data" (success 0).
 * Read with nx_read_records: the read that would only find the end costs the
 * kernel a walk over every bucket of the socket table.
 */
#include "node.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* "tx:rx" in hex; false when malformed. */
static bool parse_queues(const char *s, double *tx, double *rx)
{
    char *end;
    if (strchr(s, ':') == NULL) return false;
    unsigned long long t = strtoull(s, &end, 16);
    if (end == s || *end != ':') return false;
    const char *r = end + 1;
    unsigned long long x = strtoull(r, &end, 16);
    if (end == r || *end != '\0') return false;
    *tx += (double)t;
    *rx += (double)x;
    return true;
}

/* 0, 1 when the file is missing, -1 on error. */
static int summary(nx_out *o, const char *rel, const char *ip)
{
    const char *path = nx_proc(o, rel);
    /* A socket's line is 128 bytes in udp (padded), under 256 in udp6. */
    char *text = nx_read_records(o, path, 256, NULL);
    if (text == NULL && errno == ENOENT) return 1;
    if (text == NULL) return nx_error(o, "couldn't get %s queued bytes: %s: %m", rel + 4, path);
    double tx = 0, rx = 0;
    char *save, *line = strtok_r(text, "\n", &save); /* the header */
    while (line != NULL && (line = strtok_r(NULL, "\n", &save)) != NULL) {
        char *f[10];
        if (nx_fields(line, f, 10) < 10 || !parse_queues(f[4], &tx, &rx))
            nx_warn(o, "malformed socket line in %s", path);
    }
    static const char *const labels[] = {"queue", "ip", NULL};
    nx_family(o, "node_udp_queues",
              "Number of allocated memory in the kernel for UDP datagrams in bytes.", PROM_GAUGE,
              labels);
    nx_samplev(o, tx, "tx", ip, NULL);
    nx_samplev(o, rx, "rx", ip, NULL);
    return 0;
}

static int collect(nx_out *o)
{
    int v4 = summary(o, "net/udp", "v4");
    if (v4 < 0) return -1;
    int v6 = summary(o, "net/udp6", "v6");
    if (v6 < 0) return -1;
    if (v4 == 1 && v6 == 1) return nx_no_data(o, "collector returned no data");
    return 0;
}

const nx_collector nx_collector_udp_queues = {
    .name = "udp_queues",
    .default_on = true,
    .collect = collect,
};
