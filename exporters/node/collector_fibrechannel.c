/*
 * collector_fibrechannel.c - node_fibrechannel_* from /sys/class/fc_host/<host>:
 * the host's attributes as an info metric and statistics/<counter>.
 *
 * Upstream quirks kept: port_id, port_name and fabric_name lose their "0x";
 * a counter reading all ones (0xffffffffffffffff, "not supported") is left
 * out; counters are parsed with base prefixes (most files are hex).  Where
 * upstream dereferences a missing counter (and panics) the counter is left out.
 */
#include "sysfs_read.h"

static const struct {
    const char *file, *metric, *help;
} counters[] = {
    {"dumped_frames", "dumped_frames_total", "Number of dumped frames"},
    {"error_frames", "error_frames_total", "Number of errors in frames"},
    {"invalid_crc_count", "invalid_crc_total", "Invalid Cyclic Redundancy Check count"},
    {"rx_frames", "rx_frames_total", "Number of frames received"},
    {"rx_words", "rx_words_total", "Number of words received by host port"},
    {"tx_frames", "tx_frames_total", "Number of frames transmitted by host port"},
    {"tx_words", "tx_words_total", "Number of words transmitted by host port"},
    {"seconds_since_last_reset", "seconds_since_last_reset_total",
     "Number of seconds since last host port reset"},
    {"invalid_tx_word_count", "invalid_tx_words_total",
     "Number of invalid words transmitted by host port"},
    {"link_failure_count", "link_failure_total", "Number of times the host port link has failed"},
    {"loss_of_sync_count", "loss_of_sync_total",
     "Number of failures on either bit or transmission word boundaries"},
    {"loss_of_signal_count", "loss_of_signal_total", "Number of times signal has been lost"},
    {"nos_count", "nos_total", "Number Not_Operational Primitive Sequence received by host port"},
    {"fcp_packet_aborts", "fcp_packet_aborts_total", "Number of aborted packets"},
};
#define N_COUNTERS (sizeof counters / sizeof counters[0])

static const char *const info_files[] = {
    "speed",       "port_state",    "port_type",         "port_id",          "port_name",
    "fabric_name", "symbolic_name", "supported_classes", "supported_speeds", "dev_loss_tmo",
};
#define N_INFO (sizeof info_files / sizeof info_files[0])

static int collect_host(nx_out *o, const char *class_dir, const char *host)
{
    const char *dir = nx_sprintf(o, "%s/%s", class_dir, host);
    const char *info[N_INFO + 2] = {host};
    for (size_t i = 0; i < N_INFO; i++) {
        const char *path = nx_sprintf(o, "%s/%s", dir, info_files[i]);
        char *v = sr_read(o, path);
        if (v == NULL && errno != ENOENT) return nx_error(o, "failed to read file %s: %m", path);
        if (v != NULL && i >= 3 && i <= 5 && strlen(v) > 2) v += 2;
        info[i + 1] = v != NULL ? v : "";
    }
    uint64_t values[N_COUNTERS];
    bool have[N_COUNTERS] = {false};
    for (size_t i = 0; i < N_COUNTERS; i++) {
        const char *path = nx_sprintf(o, "%s/statistics/%s", dir, counters[i].file);
        char *v = sr_read(o, path);
        if (v == NULL) continue; /* missing, or not supported by the driver */
        if (!sr_u64(v, &values[i])) return nx_error(o, "couldn't parse %s: %s", path, v);
        have[i] = values[i] != UINT64_MAX;
    }
    static const char *const l[] = {"fc_host",          "speed",         "port_state",
                                    "port_type",        "port_id",       "port_name",
                                    "fabric_name",      "symbolic_name", "supported_classes",
                                    "supported_speeds", "dev_loss_tmo",  NULL};
    nx_family(o, "node_fibrechannel_info",
              "Non-numeric data from /sys/class/fc_host/<host>, value is always 1.", PROM_GAUGE, l);
    nx_sample(o, 1, info);
    static const char *const host_label[] = {"fc_host", NULL};
    for (size_t i = 0; i < N_COUNTERS; i++) {
        if (!have[i]) continue;
        nx_family(o, nx_sprintf(o, "node_fibrechannel_%s", counters[i].metric), counters[i].help,
                  PROM_COUNTER, host_label);
        nx_samplev(o, (double)values[i], host, NULL);
    }
    return 0;
}

static int collect(nx_out *o)
{
    const char *class_dir = nx_sys(o, "class/fc_host");
    char **hosts;
    int n = nx_list_dir(o, class_dir, &hosts);
    if (n < 0 && errno == ENOENT)
        return nx_no_data(o, "fibrechannel statistics not found, skipping");
    if (n < 0) return nx_error(o, "error obtaining FibreChannel class info: %m");
    for (int i = 0; i < n; i++)
        if (collect_host(o, class_dir, hosts[i]) < 0) return -1;
    return 0;
}

const nx_collector nx_collector_fibrechannel = {
    .name = "fibrechannel",
    .default_on = true,
    .collect = collect,
};
