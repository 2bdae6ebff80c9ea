/* Unit tests for the meminfo_numa collector. */
#include "proctest.h"

extern const nx_collector nx_collector_meminfo_numa;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = pt_run_ok(&nx_collector_meminfo_numa);
    assert_true(nt_value(o, "node_memory_numa_MemUsed", "node=1") == 94582940.0 * 1024);
    assert_true(nt_value(o, "node_memory_numa_numa_miss_total", "node=1") == 59858626709.0);
    assert_int_equal(nt_family(o, "node_memory_numa_numa_hit_total")->type, PROM_COUNTER);
    assert_int_equal(pt_samples(o, "node_memory_numa_Active_anon"), 3);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    nt_write(dir, "sys/devices/system/node/node0/meminfo",
             "Node 0 MemTotal: 10 kB\nNode 0 Bad\nNode 0 HugePages_Total: 2\nNode 0 X: y kB\n");
    pt_run_fail(&nx_collector_meminfo_numa); /* numastat missing */
    nt_write(dir, "sys/devices/system/node/node0/numastat", "numa_hit 5\nbroken\nx 1 2\n");
    nx_out *o = pt_run_ok(&nx_collector_meminfo_numa);
    assert_true(nt_value(o, "node_memory_numa_MemTotal", "node=0") == 10240);
    assert_true(nt_value(o, "node_memory_numa_HugePages_Total", "node=0") == 2);
    assert_true(nt_value(o, "node_memory_numa_numa_hit_total", "node=0") == 5);
    assert_null(nt_family(o, "node_memory_numa_X"));
    nt_free(o);
    pt_rm(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
