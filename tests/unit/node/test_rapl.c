/* Unit tests for the rapl collector. */
#include "proctest.h"
#include "sysfixture.h"

extern const nx_collector nx_collector_rapl;

static void test_fixture(void **state)
{
    pt_flags(&nx_collector_rapl, NULL);
    nt_use_root(nt_fixtures());
    nx_out *o = nt_run(&nx_collector_rapl);
    const nx_fam *f = nt_family(o, "node_rapl_core_joules_total");
    assert_non_null(f);
    assert_string_equal(f->help, "Current RAPL core value in joules");
    assert_true(f->samples[0].value == 118821.284256);
    assert_non_null(strstr(f->samples[0].values[1], "/sys/class/powercap/intel-rapl:0:0"));
    assert_non_null(nt_family(o, "node_rapl_package_joules_total"));
    nt_free(o);
    pt_flags(&nx_collector_rapl,
             (const char *[]){"collector.rapl.enable-zone-label", "true", NULL});
    o = nt_run(&nx_collector_rapl);
    assert_int_equal(nt_family(o, "node_rapl_joules_total")->n_samples, 2);
    nt_free(o);
    pt_flags(&nx_collector_rapl, NULL);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "rapl");
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_rapl, &rc);
    assert_int_equal(rc, -1);
    assert_true(o->no_data);
    nt_free(o);
    nt_write(dir, "sys/class/powercap/z1/name", "dram\n");
    o = nt_run_rc(&nx_collector_rapl, &rc); /* no max_energy_range_uj */
    assert_true(o->no_data);
    nt_free(o);
    nt_write(dir, "sys/class/powercap/z1/max_energy_range_uj", "100\n");
    nt_write(dir, "sys/class/powercap/z1/energy_uj", "x\n");
    o = nt_run_rc(&nx_collector_rapl, &rc);
    assert_int_equal(rc, -1);
    assert_false(o->no_data);
    nt_free(o);
    nt_write(dir, "sys/class/powercap/z1/energy_uj", "2500000\n");
    nt_write(dir, "sys/class/powercap/z2/name", "psys-x.y\n");
    nt_write(dir, "sys/class/powercap/z2/max_energy_range_uj", "100\n");
    nt_write(dir, "sys/class/powercap/z2/energy_uj", "1\n");
    o = nt_run(&nx_collector_rapl);
    assert_true(nt_family(o, "node_rapl_dram_joules_total")->samples[0].value == 2.5);
    assert_non_null(nt_family(o, "node_rapl_psys_x_y_joules_total"));
    nt_free(o);
    st_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
