/* Unit tests for the lnstat collector. */
#include "proctest.h"

extern const nx_collector nx_collector_lnstat;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = pt_run_ok(&nx_collector_lnstat);
    assert_true(nt_value(o, "node_lnstat_allocs_total", "subsystem=ndisc_cache,cpu=1") == 252);
    assert_true(nt_value(o, "node_lnstat_ignore_total", "subsystem=nf_conntrack,cpu=0") == 0x588a);
    assert_string_equal(nt_family(o, "node_lnstat_entries_total")->help,
                        "linux network cache stats");
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    nt_write(dir, "proc/net/stat/x", "a b\n1 2 3\nzz 4\n\n5\n");
    nt_write(dir, "proc/net/stat/empty", "");
    nx_out *o = pt_run_ok(&nx_collector_lnstat);
    assert_true(nt_value(o, "node_lnstat_a_total", "subsystem=x,cpu=1") == 5);
    assert_true(nt_value(o, "node_lnstat_b_total", "subsystem=x,cpu=1") == 4);
    assert_int_equal(pt_samples(o, "node_lnstat_a_total"), 2);
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
