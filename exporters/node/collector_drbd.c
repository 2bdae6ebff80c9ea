/*
 * collector_drbd.c - node_drbd_* from /proc/drbd (DRBD 8): the words of the
 * file as key:value pairs; "<n>:" starts device drbd<n>, the counters (ns,
 * dw, dr and oos in KiB, printed in bytes) and the ro/ds pairs (local/remote)
 * and cs follow.  As upstream: other words are skipped, a counter that is
 * not a number fails the scrape (what came before stays); a ro/ds value
 * without '/' (which makes upstream panic) is skipped with a warning.
 */
#include "node.h"

#include <errno.h>
#include <string.h>

static const struct {
    const char *key, *name, *help;
    prom_type type;
    double mult;
} numbers[] = {
    {"ns", "node_drbd_network_sent_bytes_total", "Total number of bytes sent via the network.",
     PROM_COUNTER, 1024},
    {"nr", "node_drbd_network_received_bytes_total",
     "Total number of bytes received via the network.", PROM_COUNTER, 1},
    {"dw", "node_drbd_disk_written_bytes_total", "Net data written on local hard disk; in bytes.",
     PROM_COUNTER, 1024},
    {"dr", "node_drbd_disk_read_bytes_total", "Net data read from local hard disk; in bytes.",
     PROM_COUNTER, 1024},
    {"al", "node_drbd_activitylog_writes_total",
     "Number of updates of the activity log area of the meta data.", PROM_COUNTER, 1},
    {"bm", "node_drbd_bitmap_writes_total",
     "Number of updates of the bitmap area of the meta data.", PROM_COUNTER, 1},
    {"lo", "node_drbd_local_pending", "Number of open requests to the local I/O sub-system.",
     PROM_GAUGE, 1},
    {"pe", "node_drbd_remote_pending",
     "Number of requests sent to the peer, but that have not yet been answered by the latter.",
     PROM_GAUGE, 1},
    {"ua", "node_drbd_remote_unacknowledged",
     "Number of requests received by the peer via the network connection, but that have not yet "
     "been answered.",
     PROM_GAUGE, 1},
    {"ap", "node_drbd_application_pending",
     "Number of block I/O requests forwarded to DRBD, but not yet answered by DRBD.", PROM_GAUGE,
     1},
    {"ep", "node_drbd_epochs", "Number of Epochs currently on the fly.", PROM_GAUGE, 1},
    {"oos", "node_drbd_out_of_sync_bytes", "Amount of data known to be out of sync; in bytes.",
     PROM_GAUGE, 1024},
};

static const struct {
    const char *key, *name, *help, *ok;
} pairs[] = {
    {"ro", "node_drbd_node_role_is_primary",
     "Whether the role of the node is in the primary state.", "Primary"},
    {"ds", "node_drbd_disk_state_is_up_to_date", "Whether the disk of the node is up to date.",
     "UpToDate"},
};

static const char *const l_dev[] = {"device", NULL};
static const char *const l_node[] = {"device", "node", NULL};

/* One key:value word; 0, or -1 after nx_error. */
static int handle(nx_out *o, char *key, char *value, const char **device)
{
    uint64_t id;
    if (*value == '\0' && nx_parse_u64(key, &id)) {
        *device = nx_sprintf(o, "drbd%llu", (unsigned long long)id);
        return 0;
    }
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        if (strcmp(key, numbers[i].key) != 0) continue;
        double v;
        if (!nx_parse_double(value, &v))
            return nx_error(o, "couldn't parse %s:%s in /proc/drbd", key, value);
        nx_family(o, numbers[i].name, numbers[i].help, numbers[i].type, l_dev);
        nx_samplev(o, v * numbers[i].mult, *device, NULL);
        return 0;
    }
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        if (strcmp(key, pairs[i].key) != 0) continue;
        char *slash = strchr(value, '/');
        if (slash == NULL) {
            nx_warn(o, "skipping %s:%s in /proc/drbd: no local/remote pair", key, value);
            return 0;
        }
        *slash = '\0';
        char *end = strchr(slash + 1, '/');
        if (end != NULL) *end = '\0';
        nx_family(o, pairs[i].name, pairs[i].help, PROM_GAUGE, l_node);
        nx_samplev(o, strcmp(value, pairs[i].ok) == 0, *device, "local", NULL);
        nx_samplev(o, strcmp(slash + 1, pairs[i].ok) == 0, *device, "remote", NULL);
        return 0;
    }
    if (strcmp(key, "cs") == 0) {
        nx_family(o, "node_drbd_connected", "Whether DRBD is connected to the peer.", PROM_GAUGE,
                  l_dev);
        nx_samplev(o, strcmp(value, "Connected") == 0, *device, NULL);
    }
    return 0;
}

static int collect(nx_out *o)
{
    const char *path = nx_proc(o, "drbd");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL && errno == ENOENT)
        return nx_no_data(o, "stats file %s does not exist, skipping", path);
    if (text == NULL) return nx_error(o, "couldn't read %s: %m", path);
    const char *device = "unknown";
    for (char *save, *w = strtok_r(text, " \t\n\r\v\f", &save); w != NULL;
         w = strtok_r(NULL, " \t\n\r\v\f", &save)) {
        char *colon = strchr(w, ':');
        if (colon == NULL || strchr(colon + 1, ':') != NULL) continue;
        *colon = '\0';
        if (handle(o, w, colon + 1, &device) < 0) return -1;
    }
    return 0;
}

const nx_collector nx_collector_drbd = {
    .name = "drbd",
    .default_on = false,
    .collect = collect,
};
