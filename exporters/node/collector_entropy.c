/*
 * collector_entropy.c - node_entropy_available_bits and
 * node_entropy_pool_size_bits from /proc/sys/kernel/random/{entropy_avail,poolsize}.
 */
#include "node.h"

static int collect(nx_out *o)
{
    uint64_t avail, pool;
    if (nx_read_u64(nx_proc(o, "sys/kernel/random/entropy_avail"), &avail) < 0)
        return nx_error(o, "couldn't get entropy_avail");
    nx_gauge(o, "node_entropy_available_bits", "Bits of available entropy.", (double)avail);
    if (nx_read_u64(nx_proc(o, "sys/kernel/random/poolsize"), &pool) < 0)
        return nx_error(o, "couldn't get entropy poolsize");
    nx_gauge(o, "node_entropy_pool_size_bits", "Bits of entropy pool.", (double)pool);
    return 0;
}

const nx_collector nx_collector_entropy = {
    .name = "entropy",
    .default_on = true,
    .collect = collect,
};
