/* Unit tests for the conntrack collector. */
#include "proctest.h"

extern const nx_collector nx_collector_conntrack;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = pt_run_ok(&nx_collector_conntrack);
    assert_true(nt_value(o, "node_nf_conntrack_entries", NULL) == 123);
    assert_true(nt_value(o, "node_nf_conntrack_entries_limit", NULL) == 65536);
    assert_true(nt_value(o, "node_nf_conntrack_stat_ignore", NULL) == 89738);
    assert_true(nt_value(o, "node_nf_conntrack_stat_invalid", NULL) == 53);
    assert_true(nt_value(o, "node_nf_conntrack_stat_search_restart", NULL) == 7);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_run_fail(&nx_collector_conntrack);
    nt_write(dir, "proc/sys/net/netfilter/nf_conntrack_count", "3\n");
    nt_write(dir, "proc/sys/net/netfilter/nf_conntrack_max", "9\n");
    pt_run_fail(&nx_collector_conntrack); /* stat table missing */
    nt_write(dir, "proc/net/stat/nf_conntrack",
             "header\n1 2 3\n0 0 a 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
             "0 0 0 0 0 10 0 0 0 0 0 0 0 0 0 0\n");
    nx_out *o = pt_run_ok(&nx_collector_conntrack);
    assert_true(nt_value(o, "node_nf_conntrack_stat_ignore", NULL) == 16);
    assert_true(nt_value(o, "node_nf_conntrack_stat_search_restart", NULL) == 0);
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
