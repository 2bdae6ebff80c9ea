/* Unit tests for the schedstat collector. */
#include "proctest.h"

extern const nx_collector nx_collector_schedstat;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = pt_run_ok(&nx_collector_schedstat);
    assert_true(nt_value(o, "node_schedstat_running_seconds_total", "cpu=1") ==
                1904686152592476.0 / 1e9);
    assert_true(nt_value(o, "node_schedstat_timeslices_total", "cpu=0") == 4767485306.0);
    assert_int_equal(pt_samples(o, "node_schedstat_waiting_seconds_total"), 2);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_run_fail(&nx_collector_schedstat);
    nt_write(dir, "proc/schedstat",
             "version 15\ncpu0 1 2 3\ncpu1 0 0 0 0 0 0 2000000000 x 4\n"
             "cpu2 0 0 0 0 0 0 1000000000 0 7\ndomain0 1 2 3 4 5 6 7 8 9\n");
    nx_out *o = pt_run_ok(&nx_collector_schedstat);
    assert_int_equal(pt_samples(o, "node_schedstat_running_seconds_total"), 1);
    assert_true(nt_value(o, "node_schedstat_running_seconds_total", "cpu=2") == 1);
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
