/* Unit tests for the stat collector. */
#include "proctest.h"

extern const nx_collector nx_collector_stat;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    pt_flags(&nx_collector_stat, (const char *[]){"collector.stat.softirq", "true", NULL});
    nx_out *o = pt_run_ok(&nx_collector_stat);
    assert_true(nt_value(o, "node_boot_time_seconds", NULL) == 1418183276);
    assert_true(nt_value(o, "node_context_switches_total", NULL) == 38014093);
    assert_true(nt_value(o, "node_intr_total", NULL) == 8885917);
    assert_true(nt_value(o, "node_procs_running", NULL) == 2);
    assert_true(nt_value(o, "node_softirqs_total", "vector=tasklet") == 1783454);
    assert_int_equal(pt_samples(o, "node_softirqs_total"), 10);
    nt_free(o);
    pt_flags(&nx_collector_stat, NULL);
    o = pt_run_ok(&nx_collector_stat);
    assert_null(nt_family(o, "node_softirqs_total"));
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_flags(&nx_collector_stat, (const char *[]){"collector.stat.softirq", "true", NULL});
    pt_run_fail(&nx_collector_stat);
    nt_write(dir, "proc/stat", "ctxt x\nbtime 5\nsoftirq 1 2\ncpuX 1 2\ncpu3 a\nintr\nprocesses 9");
    nx_out *o = pt_run_ok(&nx_collector_stat);
    assert_true(nt_value(o, "node_boot_time_seconds", NULL) == 5);
    assert_true(nt_value(o, "node_forks_total", NULL) == 9);
    assert_true(nt_value(o, "node_context_switches_total", NULL) == 0);
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
