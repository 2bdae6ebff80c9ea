/*
 * collector_infiniband.c - node_infiniband_* from /sys/class/infiniband/<dev>:
 * fw_ver, board_id, hca_type, and per port state, phys_state, rate and the
 * counters/, counters_ext/ and hw_counters/ files.
 *
 * Upstream quirks kept: data counters count 4-byte words and are multiplied
 * by 4; the rate is parsed as a float32 of Gb/s and truncated to bytes per
 * second; lifespan (ms) is divided by 1000 in integers.  A missing device or
 * port file fails the collector as in procfs; a counter that does not parse
 * (e.g. "N/A (no PMA)") is left out.
 */
#include "sysfs_read.h"

#include <sys/stat.h>

static const char *dev_include, *dev_exclude;
static nx_filter filter;

static core_flag flags[] = {
    {"collector.infiniband.device-include", CORE_FLAG_STRING, &dev_include, NULL,
     "Regexp of infiniband devices to include (mutually exclusive to device-exclude).", false},
    {"collector.infiniband.device-exclude", CORE_FLAG_STRING, &dev_exclude, NULL,
     "Regexp of infiniband devices to exclude (mutually exclusive to device-include).", false},
};

typedef struct ib_counter {
    const char *file, *metric, *help;
    unsigned mul; /* 4 for counts of 32-bit words */
} ib_counter;

static const ib_counter counters[] = {
    {"excessive_buffer_overrun_errors", "excessive_buffer_overrun_errors_total",
     "Number of times that OverrunErrors consecutive flow control update periods occurred, each "
     "having at least one overrun error.",
     1},
    {"link_downed", "link_downed_total",
     "Number of times the link failed to recover from an error state and went down", 1},
    {"link_error_recovery", "link_error_recovery_total",
     "Number of times the link successfully recovered from an error state", 1},
    {"local_link_integrity_errors", "local_link_integrity_errors_total",
     "Number of times that the count of local physical errors exceeded the threshold specified by "
     "LocalPhyErrors.",
     1},
    {"multicast_rcv_packets", "multicast_packets_received_total",
     "Number of multicast packets received (including errors)", 1},
    {"multicast_xmit_packets", "multicast_packets_transmitted_total",
     "Number of multicast packets transmitted (including errors)", 1},
    {"port_rcv_constraint_errors", "port_constraint_errors_received_total",
     "Number of packets received on the switch physical port that are discarded", 1},
    {"port_rcv_data", "port_data_received_bytes_total",
     "Number of data octets received on all links", 4},
    {"port_rcv_discards", "port_discards_received_total",
     "Number of inbound packets discarded by the port because the port is down or congested", 1},
    {"port_rcv_errors", "port_errors_received_total",
     "Number of packets containing an error that were received on this port", 1},
    {"port_rcv_packets", "port_packets_received_total",
     "Number of packets received on all VLs by this port (including errors)", 1},
    {"port_rcv_remote_physical_errors", "port_receive_remote_physical_errors_total",
     "Number of packets marked with the EBP (End of Bad Packet) delimiter received on the port.",
     1},
    {"port_rcv_switch_relay_errors", "port_receive_switch_relay_errors_total",
     "Number of packets that could not be forwarded by the switch.", 1},
    {"port_xmit_constraint_errors", "port_constraint_errors_transmitted_total",
     "Number of packets not transmitted from the switch physical port", 1},
    {"port_xmit_data", "port_data_transmitted_bytes_total",
     "Number of data octets transmitted on all links", 4},
    {"port_xmit_discards", "port_discards_transmitted_total",
     "Number of outbound packets discarded by the port because the port is down or congested", 1},
    {"port_xmit_packets", "port_packets_transmitted_total",
     "Number of packets transmitted on all VLs from this port (including errors)", 1},
    {"port_xmit_wait", "port_transmit_wait_total",
     "Number of ticks during which the port had data to transmit but no data was sent during the "
     "entire tick",
     1},
    {"symbol_error", "symbol_error_total",
     "Number of minor link errors detected on one or more physical lanes.", 1},
    {"unicast_rcv_packets", "unicast_packets_received_total",
     "Number of unicast packets received (including errors)", 1},
    {"unicast_xmit_packets", "unicast_packets_transmitted_total",
     "Number of unicast packets transmitted (including errors)", 1},
    {"VL15_dropped", "vl15_dropped_total",
     "Number of incoming VL15 packets dropped due to resource limitations.", 1},
    {NULL, NULL, NULL, 0},
};

static const ib_counter counters_ext[] = {
    {"port_multicast_rcv_packets", "legacy_multicast_packets_received_total",
     "Number of multicast packets received", 1},
    {"port_multicast_xmit_packets", "legacy_multicast_packets_transmitted_total",
     "Number of multicast packets transmitted", 1},
    {"port_rcv_data_64", "legacy_data_received_bytes_total",
     "Number of data octets received on all links", 4},
    {"port_rcv_packets_64", "legacy_packets_received_total",
     "Number of data packets received on all links", 1},
    {"port_unicast_rcv_packets", "legacy_unicast_packets_received_total",
     "Number of unicast packets received", 1},
    {"port_unicast_xmit_packets", "legacy_unicast_packets_transmitted_total",
     "Number of unicast packets transmitted", 1},
    {"port_xmit_data_64", "legacy_data_transmitted_bytes_total",
     "Number of data octets transmitted on all links", 4},
    {"port_xmit_packets_64", "legacy_packets_transmitted_total",
     "Number of data packets received on all links", 1},
    {NULL, NULL, NULL, 0},
};

#define OFED41 " The counters was added in MLNX_OFED 4.1"
#define OFED50 " The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0"

static const ib_counter hw_counters[] = {
    {"duplicate_request", "duplicate_requests_packets_total",
     "The number of received packets. A duplicate request is a request that had been previously "
     "executed.",
     1},
    {"implied_nak_seq_err", "implied_nak_seq_errors_total",
     "The number of time the requested decided an ACK. with a PSN larger than the expected PSN for "
     "an RDMA read or response.",
     1},
    {"local_ack_timeout_err", "local_ack_timeout_errors_total",
     "The number of times QP's ack timer expired for RC, XRC, DCT QPs at the sender side. The QP "
     "retry limit was not exceed, therefore it is still recoverable error.",
     1},
    {"np_cnp_sent", "np_cnp_packets_sent_total",
     "The number of CNP packets sent by the Notification Point when it noticed congestion "
     "experienced in the RoCEv2 IP header (ECN bits)." OFED41,
     1},
    {"np_ecn_marked_roce_packets", "np_ecn_marked_roce_packets_received_total",
     "The number of RoCEv2 packets received by the notification point which were marked for "
     "experiencing the congestion (ECN bits where '11' on the ingress RoCE traffic) ." OFED41,
     1},
    {"out_of_buffer", "out_of_buffer_drops_total",
     "The number of drops occurred due to lack of WQE for the associated QPs.", 1},
    {"out_of_sequence", "out_of_sequence_packets_received_total",
     "The number of out of sequence packets received.", 1},
    {"packet_seq_err", "packet_sequence_errors_total",
     "The number of received NAK sequence error packets. The QP retry limit was not exceeded.", 1},
    {"req_cqe_error", "req_cqes_errors_total",
     "The number of times requester detected CQEs completed with errors." OFED41, 1},
    {"req_cqe_flush_error", "req_cqes_flush_errors_total",
     "The number of times requester detected CQEs completed with flushed errors." OFED41, 1},
    {"req_remote_access_errors", "req_remote_access_errors_total",
     "The number of times requester detected remote access errors." OFED41, 1},
    {"req_remote_invalid_request", "req_remote_invalid_request_errors_total",
     "The number of times requester detected remote invalid request errors." OFED41, 1},
    {"resp_cqe_error", "resp_cqes_errors_total",
     "The number of times responder detected CQEs completed with errors." OFED41, 1},
    {"resp_cqe_flush_error", "resp_cqes_flush_errors_total",
     "The number of times responder detected CQEs completed with flushed errors." OFED41, 1},
    {"resp_local_length_error", "resp_local_length_errors_total",
     "The number of times responder detected local length errors." OFED41, 1},
    {"resp_remote_access_errors", "resp_remote_access_errors_total",
     "The number of times responder detected remote access errors." OFED41, 1},
    {"rnr_nak_retry_err", "rnr_nak_retry_packets_received_total",
     "The number of received RNR NAK packets. The QP retry limit was not exceeded.", 1},
    {"roce_adp_retrans", "roce_adp_retransmits_total",
     "The number of adaptive retransmissions for RoCE traffic." OFED50, 1},
    {"roce_adp_retrans_to", "roce_adp_retransmits_timeout_total",
     "The number of times RoCE traffic reached timeout due to adaptive retransmission." OFED50, 1},
    {"roce_slow_restart", "roce_slow_restart_used_total",
     "The number of times RoCE slow restart was used." OFED50, 1},
    {"roce_slow_restart_cnps", "roce_slow_restart_cnps_total",
     "The number of times RoCE slow restart generated CNP packets." OFED50, 1},
    {"roce_slow_restart_trans", "roce_slow_restart_total",
     "The number of times RoCE slow restart changed state to slow restart." OFED50, 1},
    {"rp_cnp_handled", "rp_cnp_packets_handled_total",
     "The number of CNP packets handled by the Reaction Point HCA to throttle the transmission "
     "rate." OFED41,
     1},
    {"rp_cnp_ignored", "rp_cnp_ignored_packets_received_total",
     "The number of CNP packets received and ignored by the Reaction Point HCA. This counter "
     "should not raise if RoCE Congestion Control was enabled in the network. If this counter "
     "raise, verify that ECN was enabled on the adapter.",
     1},
    {"rx_atomic_requests", "rx_atomic_requests_total",
     "The number of received ATOMIC request for the associated QPs.", 1},
    {"rx_dct_connect", "rx_dct_connect_requests_total",
     "The number of received connection requests for the associated DCTs.", 1},
    {"rx_icrc_encapsulated", "rx_icrc_encapsulated_errors_total",
     "The number of RoCE packets with ICRC errors. This counter was added in MLNX_OFED 4.4 and "
     "kernel 4.19",
     1},
    {"rx_read_requests", "rx_read_requests_total",
     "The number of received READ requests for the associated QPs.", 1},
    {"rx_write_requests", "rx_write_requests_total",
     "The number of received WRITE requests for the associated QPs.", 1},
    {NULL, NULL, NULL, 0},
};

static const char *const port_labels[] = {"device", "port", NULL};

static void put(nx_out *o, const char *metric, const char *help, prom_type type, double v,
                const char *dev, const char *port)
{
    nx_family(o, nx_sprintf(o, "node_infiniband_%s", metric), help, type, port_labels);
    nx_samplev(o, v, dev, port, NULL);
}

/* The regular files of dir that a table names; a missing dir is no error. */
static void read_counters(nx_out *o, const char *dir, const ib_counter *table, const char *dev,
                          const char *port)
{
    char **names;
    int n = nx_list_dir(o, dir, &names);
    for (int i = 0; i < n; i++) {
        const char *path = nx_sprintf(o, "%s/%s", dir, names[i]);
        struct stat st;
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        for (const ib_counter *c = table; c->file != NULL; c++) {
            if (strcmp(c->file, names[i]) != 0) continue;
            uint64_t v;
            if (sr_u64_file(o, path, &v))
                put(o, c->metric, c->help, PROM_COUNTER, (double)(v * c->mul), dev, port);
            break;
        }
        if (table == hw_counters && strcmp(names[i], "lifespan") == 0) {
            uint64_t v;
            if (sr_u64_file(o, path, &v))
                put(o, "lifespan_seconds",
                    "The maximum period in ms which defines the aging of the counter reads. Two "
                    "consecutive reads within this period might return the same values.",
                    PROM_GAUGE, (double)(v / 1000), dev, port);
        }
    }
}

/* "4: ACTIVE" -> 4 */
static bool parse_state(const char *s, uint64_t *id)
{
    const char *colon = strchr(s, ':');
    if (colon == NULL || strchr(colon + 1, ':') != NULL) return false;
    char num[32];
    size_t len = (size_t)(colon - s);
    if (len >= sizeof num) return false;
    memcpy(num, s, len);
    num[len] = '\0';
    return nx_parse_u64(sr_trim(num), id) && *id <= UINT32_MAX;
}

/* "40 Gb/sec (4X QDR)" -> bytes per second, via float32 as upstream. */
static bool parse_rate(const char *s, uint64_t *out)
{
    const char *sp = strchr(s, ' ');
    if (sp == NULL) return false;
    char num[64];
    size_t len = (size_t)(sp - s);
    if (len >= sizeof num) return false;
    memcpy(num, s, len);
    num[len] = '\0';
    double v;
    if (!nx_parse_double(sr_trim(num), &v)) return false;
    double r = (double)(float)v * 125000000;
    *out = r > 0 && r < 1.8e19 ? (uint64_t)r : 0;
    return true;
}

static int collect_port(nx_out *o, const char *dev, const char *ports_dir, const char *port)
{
    uint64_t num, state, phys, rate;
    if (!nx_parse_u64(port, &num) || num > UINT32_MAX)
        return nx_error(o, "failed to convert %s into uint", port);
    const char *dir = nx_sprintf(o, "%s/%s", ports_dir, port);
    const char *p;
    char *s;
    if (nx_read_file(o, p = nx_sprintf(o, "%s/link_layer", dir), NULL) == NULL ||
        (s = sr_read_all(o, p = nx_sprintf(o, "%s/state", dir))) == NULL)
        return nx_error(o, "error obtaining InfiniBand class info: %s: %m", p);
    if (!parse_state(s, &state)) return nx_error(o, "could not parse state file in %s", dir);
    if ((s = sr_read_all(o, p = nx_sprintf(o, "%s/phys_state", dir))) == NULL)
        return nx_error(o, "error obtaining InfiniBand class info: %s: %m", p);
    if (!parse_state(s, &phys)) return nx_error(o, "could not parse phys_state file in %s", dir);
    if ((s = sr_read_all(o, p = nx_sprintf(o, "%s/rate", dir))) == NULL)
        return nx_error(o, "error obtaining InfiniBand class info: %s: %m", p);
    if (!parse_rate(s, &rate)) return nx_error(o, "could not parse rate file in %s", dir);
    const char *ps = nx_sprintf(o, "%llu", (unsigned long long)num);
    put(o, "state_id",
        "State of the InfiniBand port (0: no change, 1: down, 2: init, 3: armed, 4: active, 5: "
        "act defer)",
        PROM_GAUGE, (double)state, dev, ps);
    put(o, "physical_state_id",
        "Physical state of the InfiniBand port (0: no change, 1: sleep, 2: polling, 3: disable, "
        "4: shift, 5: link up, 6: link error recover, 7: phytest)",
        PROM_GAUGE, (double)phys, dev, ps);
    put(o, "rate_bytes_per_second", "Maximum signal transfer rate", PROM_GAUGE, (double)rate, dev,
        ps);
    read_counters(o, nx_sprintf(o, "%s/counters", dir), counters, dev, ps);
    read_counters(o, nx_sprintf(o, "%s/counters_ext", dir), counters_ext, dev, ps);
    read_counters(o, nx_sprintf(o, "%s/hw_counters", dir), hw_counters, dev, ps);
    return 0;
}

static int collect_device(nx_out *o, const char *class_dir, const char *dev)
{
    const char *dir = nx_sprintf(o, "%s/%s", class_dir, dev);
    char *fw = sr_read(o, nx_sprintf(o, "%s/fw_ver", dir));
    if (fw == NULL) return nx_error(o, "failed to read HCA firmware version of %s: %m", dev);
    char *board = sr_read(o, nx_sprintf(o, "%s/board_id", dir));
    char *hca = sr_read(o, nx_sprintf(o, "%s/hca_type", dir));
    char **ports;
    const char *ports_dir = nx_sprintf(o, "%s/ports", dir);
    int n = nx_list_dir(o, ports_dir, &ports);
    if (n < 0) return nx_error(o, "failed to list InfiniBand ports at %s: %m", ports_dir);
    if (nx_filter_ignored(&filter, dev)) return 0;
    static const char *const l[] = {"device", "board_id", "firmware_version", "hca_type", NULL};
    nx_family(o, "node_infiniband_info",
              "Non-numeric data from /sys/class/infiniband/<device>, value is always 1.",
              PROM_GAUGE, l);
    nx_samplev(o, 1, dev, board ? board : "", fw, hca ? hca : "", NULL);
    for (int i = 0; i < n; i++)
        if (collect_port(o, dev, ports_dir, ports[i]) < 0) return -1;
    return 0;
}

static int collect(nx_out *o)
{
    const char *class_dir = nx_sys(o, "class/infiniband");
    char **devs;
    int n = nx_list_dir(o, class_dir, &devs);
    if (n < 0 && errno == ENOENT) return nx_no_data(o, "infiniband statistics not found, skipping");
    if (n < 0) return nx_error(o, "error obtaining InfiniBand class info: %m");
    for (int i = 0; i < n; i++)
        if (collect_device(o, class_dir, devs[i]) < 0) return -1;
    return 0;
}

static int init(core_err *err)
{
    nx_regex_free(filter.include);
    nx_regex_free(filter.exclude);
    return nx_filter_init(&filter, dev_include, dev_exclude, "collector.infiniband", err);
}

const nx_collector nx_collector_infiniband = {
    .name = "infiniband",
    .default_on = true,
    .collect = collect,
    .init = init,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
