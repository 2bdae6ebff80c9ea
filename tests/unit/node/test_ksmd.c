/* Unit tests for the ksmd collector. */
#include "proctest.h"

extern const nx_collector nx_collector_ksmd;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = pt_run_ok(&nx_collector_ksmd);
    assert_true(nt_value(o, "node_ksmd_full_scans_total", NULL) == 323);
    assert_int_equal(nt_family(o, "node_ksmd_full_scans_total")->type, PROM_COUNTER);
    assert_true(nt_value(o, "node_ksmd_sleep_seconds", NULL) == 0.02);
    assert_true(nt_value(o, "node_ksmd_general_profit_bytes", NULL) == 1044480);
    assert_int_equal(o->n_families, 10);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    nx_out *o = pt_run_ok(&nx_collector_ksmd); /* missing files are skipped */
    assert_int_equal(o->n_families, 0);
    nt_free(o);
    nt_write(dir, "sys/kernel/mm/ksm/run", "1\n");
    nt_write(dir, "sys/kernel/mm/ksm/pages_shared", "lots\n");
    pt_run_fail(&nx_collector_ksmd);
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
