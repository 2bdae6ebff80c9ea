/*
 * collector_stat.c - kernel counters from /proc/stat: interrupts, context
 * switches, forks, boot time, running/blocked processes and, with
 * --collector.stat.softirq, softirqs per vector.
 */
#include "procstat_parse.h"

static bool softirq;

static core_flag flags[] = {
    {"collector.stat.softirq", CORE_FLAG_BOOL, &softirq, "false", "Export softirq calls per vector",
     false},
};

static const char *const vectors[PS_N_SOFTIRQ] = {
    "hi",           "timer",   "net_tx", "net_rx",  "block",
    "block_iopoll", "tasklet", "sched",  "hrtimer", "rcu",
};

static int collect(nx_out *o)
{
    ps_stat st;
    if (ps_read(o, &st) < 0) return -1;
    nx_counter(o, "node_intr_total", "Total number of interrupts serviced.", (double)st.intr);
    nx_counter(o, "node_context_switches_total", "Total number of context switches.",
               (double)st.ctxt);
    nx_counter(o, "node_forks_total", "Total number of forks.", (double)st.processes);
    nx_gauge(o, "node_boot_time_seconds", "Node boot time, in unixtime.", (double)st.btime);
    nx_gauge(o, "node_procs_running", "Number of processes in runnable state.", (double)st.running);
    nx_gauge(o, "node_procs_blocked", "Number of processes blocked waiting for I/O to complete.",
             (double)st.blocked);
    if (!softirq) return 0;
    static const char *const labels[] = {"vector", NULL};
    nx_family(o, "node_softirqs_total", "Number of softirq calls.", PROM_COUNTER, labels);
    for (size_t i = 0; i < PS_N_SOFTIRQ; i++)
        nx_samplev(o, (double)st.softirq[i], vectors[i], NULL);
    return 0;
}

const nx_collector nx_collector_stat = {
    .name = "stat",
    .default_on = true,
    .collect = collect,
    .flags = flags,
    .n_flags = sizeof flags / sizeof flags[0],
};
