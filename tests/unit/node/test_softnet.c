/* Unit tests for the softnet collector. */
#include "proctest.h"

extern const nx_collector nx_collector_softnet;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = pt_run_ok(&nx_collector_softnet);
    assert_true(nt_value(o, "node_softnet_processed_total", "cpu=2") == 0x551c3f);
    assert_true(nt_value(o, "node_softnet_dropped_total", "cpu=1") == 41);
    assert_true(nt_value(o, "node_softnet_times_squeezed_total", "cpu=3") == 50);
    assert_int_equal(nt_family(o, "node_softnet_backlog_len")->type, PROM_GAUGE);
    assert_int_equal(pt_samples(o, "node_softnet_backlog_len"), 4);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_run_fail(&nx_collector_softnet);
    nt_write(dir, "proc/net/softnet_stat",
             "1 2 3\n"
             "0000000a 0 0 0 0 0 0 0 0 0 0 00000007 00000005\n"
             "zz 0 0 0 0 0 0 0 0\n"
             "00000001 0 0 0 0 0 0 0 00000002\n");
    nx_out *o = pt_run_ok(&nx_collector_softnet);
    assert_true(nt_value(o, "node_softnet_processed_total", "cpu=5") == 10);
    assert_true(nt_value(o, "node_softnet_backlog_len", "cpu=5") == 7);
    assert_true(nt_value(o, "node_softnet_cpu_collision_total", "cpu=3") == 2);
    assert_int_equal(pt_samples(o, "node_softnet_processed_total"), 2);
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
