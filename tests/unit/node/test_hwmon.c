/* Unit tests for the hwmon collector: the sysfs path on the fixtures and on
 * odd files, and the libsensors path on this machine (skipped without chips). */
#include "sysfixture.h"

#include <sensors/sensors.h>

extern const nx_collector nx_collector_hwmon;

static void use_filters(const char *chip_include, const char *sensor_exclude)
{
    st_set_flag(&nx_collector_hwmon, "collector.hwmon.chip-include", chip_include);
    st_set_flag(&nx_collector_hwmon, "collector.hwmon.sensor-exclude", sensor_exclude);
    core_err err;
    assert_int_equal(nx_collector_hwmon.init(&err), 0);
}

static void test_fixture(void **state)
{
    nt_use_root(st_fixture_copy());
    use_filters("(applesmc|asus_nb_wmi|coretemp|hwmon4|ieee80211|nct6779)", NULL);
    nx_out *o = nt_run(&nx_collector_hwmon);
    assert_true(nt_value(o, "node_hwmon_temp_celsius", "chip=platform_coretemp_0,sensor=temp1") ==
                55);
    assert_true(nt_value(o, "node_hwmon_in_volts", "chip=nct6779,sensor=in1") == 1.024);
    assert_true(nt_value(o, "node_hwmon_fan_rpm", "chip=platform_applesmc_768,sensor=fan2") ==
                1998);
    assert_true(nt_value(o, "node_hwmon_freq_freq_mhz", "chip=hwmon4,sensor=sclk") == 214);
    assert_true(nt_value(o, "node_hwmon_chip_names",
                         "chip=platform_asus_nb_wmi_asus_wmi_sensors,chip_name=asus_wmi_sensors") ==
                1);
    assert_true(nt_value(o, "node_hwmon_sensor_label",
                         "chip=platform_applesmc_768,sensor=fan1,label=Left side") == 1);
    assert_string_equal(nt_family(o, "node_hwmon_temp_crit_alarm_celsius")->help,
                        "Hardware monitor for temperature (crit_alarm)");
    assert_null(nt_family(o, "node_hwmon_power_watt")); /* chip of hwmon5 filtered out */
    nt_free(o);

    use_filters("coretemp", "platform_coretemp_0;temp[1-4]");
    o = nt_run(&nx_collector_hwmon);
    assert_true(
        isnan(nt_value(o, "node_hwmon_temp_celsius", "chip=platform_coretemp_0,sensor=temp1")));
    assert_true(nt_value(o, "node_hwmon_temp_celsius", "chip=platform_coretemp_0,sensor=temp5") ==
                50);
    assert_true(nt_value(o, "node_hwmon_temp_celsius", "chip=platform_coretemp_1,sensor=temp1") ==
                55);
    assert_null(nt_family(o, "node_hwmon_fan_rpm"));
    nt_free(o);
    use_filters(NULL, NULL);
}

static void test_odd_files(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "hwmon");
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_hwmon, &rc); /* no class/hwmon */
    assert_int_equal(rc, -1);
    nt_free(o);
    nt_write(dir, "sys/class/hwmon/hwmon0/name", "my chip\n");
    nt_write(dir, "sys/class/hwmon/hwmon0/temp1_input", "garbage\n");
    nt_write(dir, "sys/class/hwmon/hwmon0/temp2_input", "");
    nt_write(dir, "sys/class/hwmon/hwmon0/temp3_input", "41000\n");
    nt_write(dir, "sys/class/hwmon/hwmon0/temp3_label", "\xff\xfe bad\n");
    nt_write(dir, "sys/class/hwmon/hwmon0/in99999999999999999999_input", "1\n");
    nt_write(dir, "sys/class/hwmon/hwmon0/update_interval", "1500\n");
    nt_write(dir, "sys/class/hwmon/hwmon0/beep_enable", "1\n");
    nt_write(dir, "sys/class/hwmon/hwmon0/fan1_", "7\n");
    nt_write(dir, "sys/class/hwmon/hwmon0/power1_average", "2500000\n");
    nt_write(dir, "sys/class/hwmon/hwmon1/name", "\n");
    nt_write(dir, "sys/class/hwmon/stray", "not a directory");
    o = nt_run(&nx_collector_hwmon);
    assert_true(nt_value(o, "node_hwmon_temp_celsius", "chip=my_chip,sensor=temp3") == 41);
    assert_true(isnan(nt_value(o, "node_hwmon_temp_celsius", "chip=my_chip,sensor=temp1")));
    assert_true(nt_value(o, "node_hwmon_sensor_label",
                         "chip=my_chip,sensor=temp3,label=\xef\xbf\xbd bad") == 1);
    assert_true(nt_value(o, "node_hwmon_update_interval_seconds",
                         "chip=my_chip,sensor=update_interval0") == 1.5);
    assert_true(nt_value(o, "node_hwmon_beep_enabled", "chip=my_chip,sensor=beep_enable0") == 1);
    assert_true(nt_value(o, "node_hwmon_power_average_watt", "chip=my_chip,sensor=power1") == 2.5);
    assert_true(nt_value(o, "node_hwmon_chip_names", "chip=hwmon1,chip_name=hwmon1") != 1);
    nt_free(o);
    st_rmdir(dir);
}

/* The libsensors path reads the real /sys; without chips there is nothing
 * to compare, so the test skips. */
static void test_libsensors(void **state)
{
    if (sensors_init(NULL) != 0) skip();
    int nr = 0;
    bool any = sensors_get_detected_chips(NULL, &nr) != NULL;
    sensors_cleanup();
    if (!any) skip();
    static char sys[] = "/sys";
    nx_path.sysfs = sys;
    nx_out *o = nt_run(&nx_collector_hwmon);
    assert_non_null(nt_family(o, "node_hwmon_chip_names"));
    nt_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_odd_files),
        cmocka_unit_test(test_libsensors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    st_fixture_remove();
    return rc;
}
