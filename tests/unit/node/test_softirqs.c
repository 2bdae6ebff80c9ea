/* Unit tests for the softirqs collector. */
#include "proctest.h"

extern const nx_collector nx_collector_softirqs;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = pt_run_ok(&nx_collector_softirqs);
    assert_true(nt_value(o, "node_softirqs_functions_total", "cpu=1,type=TIMER") == 108342);
    assert_true(nt_value(o, "node_softirqs_functions_total", "cpu=0,type=HI") == 7);
    assert_int_equal(pt_samples(o, "node_softirqs_functions_total"), 20);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_run_fail(&nx_collector_softirqs);
    nt_write(dir, "proc/softirqs", "");
    pt_run_fail(&nx_collector_softirqs);
    nt_write(dir, "proc/softirqs", "CPU0 CPU1\nHI: 1 2\nTIMER: x 1\nFOO: 3 3\nRCU:\nHI: 4 5 6\n");
    nx_out *o = pt_run_ok(&nx_collector_softirqs);
    assert_true(nt_value(o, "node_softirqs_functions_total", "cpu=2,type=HI") == 6);
    assert_int_equal(pt_samples(o, "node_softirqs_functions_total"), 3);
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
