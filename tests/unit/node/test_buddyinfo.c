/* Unit tests for the buddyinfo collector. */
#include "proctest.h"

extern const nx_collector nx_collector_buddyinfo;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = pt_run_ok(&nx_collector_buddyinfo);
    assert_true(nt_value(o, "node_buddyinfo_blocks", "node=0,zone=Normal,size=1") == 1093);
    assert_true(nt_value(o, "node_buddyinfo_blocks", "node=0,zone=DMA,size=10") == 3);
    assert_int_equal(pt_samples(o, "node_buddyinfo_blocks"), 33);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_run_fail(&nx_collector_buddyinfo);
    nt_write(dir, "proc/buddyinfo",
             "Node 0, zone A 1 2\nNode 0\nNode 0, zone B 1 2 3\n"
             "Node 1, zone C x 2\nNode 1, zone D 5 6\n");
    nx_out *o = pt_run_ok(&nx_collector_buddyinfo);
    assert_int_equal(pt_samples(o, "node_buddyinfo_blocks"), 4);
    assert_true(nt_value(o, "node_buddyinfo_blocks", "node=1,zone=D,size=1") == 6);
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
