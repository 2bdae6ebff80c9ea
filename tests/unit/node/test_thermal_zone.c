/* Unit tests for the thermal_zone collector. */
#include "sysfixture.h"

extern const nx_collector nx_collector_thermal_zone;

static void test_fixture(void **state)
{
    nt_use_root(st_fixture_copy());
    nx_out *o = nt_run(&nx_collector_thermal_zone);
    assert_true(nt_value(o, "node_thermal_zone_temp", "zone=0,type=cpu-thermal") == 12.376);
    assert_true(nt_value(o, "node_cooling_device_max_state", "name=0,type=Processor") == 3);
    assert_true(nt_value(o, "node_cooling_device_cur_state", "name=0,type=Processor") == 0);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "thermal");
    nt_use_root(dir);
    nx_out *o = nt_run(&nx_collector_thermal_zone);
    assert_int_equal(o->n_families, 0);
    nt_free(o);
    nt_write(dir, "sys/class/thermal/thermal_zone3/temp", "hot\n");
    nt_write(dir, "sys/class/thermal/cooling_device2/type", "Fan\n");
    o = nt_run(&nx_collector_thermal_zone); /* a device without states is skipped */
    assert_true(nt_value(o, "node_thermal_zone_temp", "zone=3,type=") == 0);
    assert_null(nt_family(o, "node_cooling_device_cur_state"));
    nt_free(o);
    nt_write(dir, "sys/class/thermal/cooling_device2/max_state", "x\n");
    nt_write(dir, "sys/class/thermal/cooling_device2/cur_state", "1\n");
    int rc;
    o = nt_run_rc(&nx_collector_thermal_zone, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    st_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_malformed),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    st_fixture_remove();
    return rc;
}
