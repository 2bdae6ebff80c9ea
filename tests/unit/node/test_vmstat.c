/* Unit tests for the vmstat collector. */
#include "proctest.h"

extern const nx_collector nx_collector_vmstat;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    pt_flags(&nx_collector_vmstat, NULL);
    nx_out *o = pt_run_ok(&nx_collector_vmstat);
    assert_true(nt_value(o, "node_vmstat_pgfault", NULL) == 2320168809.0);
    assert_int_equal(nt_family(o, "node_vmstat_oom_kill")->type, PROM_UNTYPED);
    assert_null(nt_family(o, "node_vmstat_nr_free_pages"));
    assert_int_equal(o->n_families, 7);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_flags(&nx_collector_vmstat, (const char *[]){"collector.vmstat.fields", "^nr_", NULL});
    pt_run_fail(&nx_collector_vmstat);
    nt_write(dir, "proc/vmstat", "nr_a 1\nnr_b\nnr_c x\n\npgfault 3\nnr_d 4");
    nx_out *o = pt_run_ok(&nx_collector_vmstat);
    assert_int_equal(o->n_families, 2);
    assert_true(nt_value(o, "node_vmstat_nr_d", NULL) == 4);
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
