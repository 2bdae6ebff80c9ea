/* Unit tests for the kernel_hung collector. */
#include "proctest.h"

extern const nx_collector nx_collector_kernel_hung;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = pt_run_ok(&nx_collector_kernel_hung);
    assert_true(nt_value(o, "node_kernel_hung_tasks_total", NULL) == 42);
    assert_int_equal(nt_family(o, "node_kernel_hung_tasks_total")->type, PROM_COUNTER);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_run_fail(&nx_collector_kernel_hung); /* missing: no data */
    nt_write(dir, "proc/sys/kernel/hung_task_detect_count", "-1\n");
    pt_run_fail(&nx_collector_kernel_hung);
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
