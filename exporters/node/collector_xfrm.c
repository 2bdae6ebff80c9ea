/*
 * collector_xfrm.c - node_xfrm_* counters from <procfs>/net/xfrm_stat.
 *
 * The file holds "<name> <value>" lines (XfrmInError 1, ...); each of the 28
 * counters upstream knows is reported, 0 when the file lacks its line.
 */
#include "statfile_util.h"

static const struct {
    const char *field, *name, *help;
} counters[] = {
    {"XfrmInError", "in_error_packets_total", "All errors not matched by other"},
    {"XfrmInBufferError", "in_buffer_error_packets_total", "No buffer is left"},
    {"XfrmInHdrError", "in_hdr_error_packets_total", "Header error"},
    {"XfrmInNoStates", "in_no_states_packets_total",
     "No state is found i.e. Either inbound SPI, address, or IPsec protocol at SA is wrong"},
    {"XfrmInStateProtoError", "in_state_proto_error_packets_total",
     "Transformation protocol specific error e.g. SA key is wrong"},
    {"XfrmInStateModeError", "in_state_mode_error_packets_total",
     "Transformation mode specific error"},
    {"XfrmInStateSeqError", "in_state_seq_error_packets_total",
     "Sequence error i.e. Sequence number is out of window"},
    {"XfrmInStateExpired", "in_state_expired_packets_total", "State is expired"},
    {"XfrmInStateMismatch", "in_state_mismatch_packets_total",
     "State has mismatch option e.g. UDP encapsulation type is mismatch"},
    {"XfrmInStateInvalid", "in_state_invalid_packets_total", "State is invalid"},
    {"XfrmInTmplMismatch", "in_tmpl_mismatch_packets_total",
     "No matching template for states e.g. Inbound SAs are correct but SP rule is wrong"},
    {"XfrmInNoPols", "in_no_pols_packets_total",
     "No policy is found for states e.g. Inbound SAs are correct but no SP is found"},
    {"XfrmInPolBlock", "in_pol_block_packets_total", "Policy discards"},
    {"XfrmInPolError", "in_pol_error_packets_total", "Policy error"},
    {"XfrmOutError", "out_error_packets_total", "All errors which is not matched others"},
    {"XfrmOutBundleGenError", "out_bundle_gen_error_packets_total", "Bundle generation error"},
    {"XfrmOutBundleCheckError", "out_bundle_check_error_packets_total", "Bundle check error"},
    {"XfrmOutNoStates", "out_no_states_packets_total", "No state is found"},
    {"XfrmOutStateProtoError", "out_state_proto_error_packets_total",
     "Transformation protocol specific error"},
    {"XfrmOutStateModeError", "out_state_mode_error_packets_total",
     "Transformation mode specific error"},
    {"XfrmOutStateSeqError", "out_state_seq_error_packets_total",
     "Sequence error i.e. Sequence number overflow"},
    {"XfrmOutStateExpired", "out_state_expired_packets_total", "State is expired"},
    {"XfrmOutPolBlock", "out_pol_block_packets_total", "Policy discards"},
    {"XfrmOutPolDead", "out_pol_dead_packets_total", "Policy is dead"},
    {"XfrmOutPolError", "out_pol_error_packets_total", "Policy error"},
    {"XfrmFwdHdrError", "fwd_hdr_error_packets_total",
     "Forward routing of a packet is not allowed"},
    {"XfrmOutStateInvalid", "out_state_invalid_packets_total", "State is invalid, perhaps expired"},
    {"XfrmAcquireError", "acquire_error_packets_total",
     "State hasn\xe2\x80\x99t been fully acquired before use"},
};

#define N_COUNTERS (sizeof counters / sizeof counters[0])

static int collect(nx_out *o)
{
    const char *path = nx_proc(o, "net/xfrm_stat");
    char *text = nx_read_file(o, path, NULL);
    if (text == NULL) return nx_error(o, "couldn't read %s: %m", path);
    double values[N_COUNTERS] = {0};
    for (char *line; (line = sf_next_line(&text)) != NULL;) {
        char *f[3];
        int64_t v;
        size_t n = sf_fields(line, f, 3);
        if (n == 0) continue;
        if (n != 2 || !sf_parse_i64(f[1], &v)) {
            nx_warn(o, "xfrm: malformed line in %s: %.60s", path, f[0]);
            continue;
        }
        for (size_t i = 0; i < N_COUNTERS; i++)
            if (strcmp(f[0], counters[i].field) == 0) values[i] = (double)v;
    }
    for (size_t i = 0; i < N_COUNTERS; i++)
        nx_counter(o, nx_sprintf(o, "node_xfrm_%s", counters[i].name), counters[i].help, values[i]);
    return 0;
}

const nx_collector nx_collector_xfrm = {
    .name = "xfrm",
    .default_on = false,
    .collect = collect,
};
