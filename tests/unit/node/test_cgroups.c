/* Unit tests for the cgroups collector. */
#include "proctest.h"

extern const nx_collector nx_collector_cgroups;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = pt_run_ok(&nx_collector_cgroups);
    assert_true(nt_value(o, "node_cgroups_cgroups", "subsys_name=memory") == 234);
    assert_true(nt_value(o, "node_cgroups_enabled", "subsys_name=rdma") == 1);
    assert_int_equal(pt_samples(o, "node_cgroups_enabled"), 12);
    assert_string_equal(nt_family(o, "node_cgroups_enabled")->help,
                        "Current cgroup number of the subsystem.");
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_run_fail(&nx_collector_cgroups);
    nt_write(dir, "proc/cgroups", "#subsys_name\thierarchy\nshort 1 2\nbad x 1 1\ncpu 1 2 0\n");
    nx_out *o = pt_run_ok(&nx_collector_cgroups);
    assert_int_equal(pt_samples(o, "node_cgroups_cgroups"), 1);
    assert_true(nt_value(o, "node_cgroups_enabled", "subsys_name=cpu") == 0);
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
