/* Unit tests for the powersupplyclass collector. */
#include "sysfixture.h"

extern const nx_collector nx_collector_powersupplyclass;

static void test_fixture(void **state)
{
    nt_use_root(st_fixture_copy());
    nx_out *o = nt_run(&nx_collector_powersupplyclass);
    assert_true(nt_value(o, "node_power_supply_energy_full", "power_supply=BAT0") == 45.07);
    assert_true(nt_value(o, "node_power_supply_voltage_volt", "power_supply=BAT0") == 11.66);
    assert_true(nt_value(o, "node_power_supply_online", "power_supply=AC") == 0);
    assert_null(nt_family(o, "node_power_supply_info")); /* AC and BAT0 differ in labels */
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "psu");
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_powersupplyclass, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    nt_write(dir, "sys/class/power_supply/BAT1/capacity", "full\n");
    nt_write(dir, "sys/class/power_supply/BAT1/temp", "315\n");
    nt_write(dir, "sys/class/power_supply/BAT1/status", "Charging\n");
    nt_write(dir, "sys/class/power_supply/BAT1/model_name", "X\xff\xfeY\n");
    o = nt_run(&nx_collector_powersupplyclass);
    assert_null(nt_family(o, "node_power_supply_capacity"));
    assert_true(nt_value(o, "node_power_supply_temp_celsius", "power_supply=BAT1") == 31.5);
    assert_true(nt_value(o, "node_power_supply_info",
                         "power_supply=BAT1,model_name=X\xef\xbf\xbdY,status=Charging") == 1);
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
