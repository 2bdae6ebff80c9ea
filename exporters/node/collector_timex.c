/*
 * collector_timex.c - node_timex_* from adjtimex(2) on the live machine (a
 * read-only call: modes 0).  Offsets and jitter are in ns when STA_NANO is
 * set, µs otherwise; frequencies are in 2^-16 ppm.  EPERM means "no data"
 * (success 0), as upstream.
 */
#include "node.h"

#include <errno.h>
#include <string.h>
#include <sys/timex.h>

#define PPM16FRAC (1000000.0 * 65536.0)

static int collect(nx_out *o)
{
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    int state = adjtimex(&tx);
    if (state < 0 && errno == EPERM) return nx_no_data(o, "collector returned no data");
    if (state < 0) return nx_error(o, "failed to retrieve adjtimex stats: %m");
    double divisor = (tx.status & STA_NANO) != 0 ? 1e9 : 1e6;
    nx_gauge(o, "node_timex_sync_status",
             "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
             state == TIME_ERROR ? 0 : 1);
    nx_gauge(o, "node_timex_offset_seconds",
             "Time offset in between local system and reference clock.",
             (double)tx.offset / divisor);
    nx_gauge(o, "node_timex_frequency_adjustment_ratio", "Local clock frequency adjustment.",
             1 + (double)tx.freq / PPM16FRAC);
    nx_gauge(o, "node_timex_maxerror_seconds", "Maximum error in seconds.",
             (double)tx.maxerror / 1e6);
    nx_gauge(o, "node_timex_estimated_error_seconds", "Estimated error in seconds.",
             (double)tx.esterror / 1e6);
    nx_gauge(o, "node_timex_status", "Value of the status array bits.", (double)tx.status);
    nx_gauge(o, "node_timex_loop_time_constant", "Phase-locked loop time constant.",
             (double)tx.constant);
    nx_gauge(o, "node_timex_tick_seconds", "Seconds between clock ticks.", (double)tx.tick / 1e6);
    nx_gauge(o, "node_timex_pps_frequency_hertz", "Pulse per second frequency.",
             (double)tx.ppsfreq / PPM16FRAC);
    nx_gauge(o, "node_timex_pps_jitter_seconds", "Pulse per second jitter.",
             (double)tx.jitter / divisor);
    nx_gauge(o, "node_timex_pps_shift_seconds", "Pulse per second interval duration.",
             (double)tx.shift);
    nx_gauge(o, "node_timex_pps_stability_hertz",
             "Pulse per second stability, average of recent frequency changes.",
             (double)tx.stabil / PPM16FRAC);
    nx_counter(o, "node_timex_pps_jitter_total",
               "Pulse per second count of jitter limit exceeded events.", (double)tx.jitcnt);
    nx_counter(o, "node_timex_pps_calibration_total",
               "Pulse per second count of calibration intervals.", (double)tx.calcnt);
    nx_counter(o, "node_timex_pps_error_total", "Pulse per second count of calibration errors.",
               (double)tx.errcnt);
    nx_counter(o, "node_timex_pps_stability_exceeded_total",
               "Pulse per second count of stability limit exceeded events.", (double)tx.stbcnt);
    nx_gauge(o, "node_timex_tai_offset_seconds", "International Atomic Time (TAI) offset.",
             (double)tx.tai);
    return 0;
}

const nx_collector nx_collector_timex = {
    .name = "timex",
    .default_on = true,
    .collect = collect,
};
