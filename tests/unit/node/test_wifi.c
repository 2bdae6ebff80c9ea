/* Unit tests for the wifi collector (fixture mode). */
#include "nodetest.h"

extern const nx_collector nx_collector_wifi;

static void use(const char *dir)
{
    *(const char **)nx_collector_wifi.flags[0].dest = dir;
}

static void test_fixture(void **state)
{
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/wifi", nt_fixtures());
    use(dir);
    nx_out *o = nt_run(&nx_collector_wifi);
    assert_true(nt_value(o, "node_wifi_interface_frequency_hertz", "device=wlan1") == 2412e6);
    assert_true(nt_value(o, "node_wifi_station_info",
                         "device=wlan0,bssid=00:11:22:33:44:55,ssid=Example,mode=client") == 1);
    assert_true(nt_value(o, "node_wifi_station_inactive_seconds",
                         "device=wlan0,mac_address=aa:bb:cc:dd:ee:ff") == 0.4);
    assert_true(nt_value(o, "node_wifi_station_signal_dbm",
                         "device=wlan0,mac_address=01:02:03:04:05:06") == -26);
    assert_int_equal(nt_family(o, "node_wifi_station_connected_seconds_total")->type, PROM_COUNTER);
    assert_int_equal(nt_family(o, "node_wifi_interface_frequency_hertz")->n_samples, 2);
    nt_free(o);
    use("");
}

static void test_malformed(void **state)
{
    char dir[] = "/tmp/nt-wifi-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int rc;
    use("");
    nx_out *o = nt_run_rc(&nx_collector_wifi, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    use(dir);
    o = nt_run_rc(&nx_collector_wifi, &rc); /* no interfaces.json */
    assert_int_equal(rc, -1);
    nt_free(o);
    static const char *bad[] = {"[", "{}", "[{\"name\": 1}]", "[{\"frequency\": 2.5}]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nt_write(dir, "interfaces.json", bad[i]);
        o = nt_run_rc(&nx_collector_wifi, &rc);
        assert_int_equal(rc, -1);
        nt_free(o);
    }
    nt_write(dir, "interfaces.json", "[{\"NAME\": \"w0\", \"frequency\": 5180}, {\"type\": 1}]");
    nt_write(dir, "w0/bss.json", "{\"bssid\": \"AQI=\", \"status\": 3}");
    nt_write(dir, "w0/stationinfo.json", "[{\"hardwareaddr\": \"AAEC\", \"signal\": -70}]");
    o = nt_run(&nx_collector_wifi);
    assert_true(nt_value(o, "node_wifi_interface_frequency_hertz", "device=w0") == 5180e6);
    assert_true(nt_value(o, "node_wifi_station_info", "device=w0,bssid=01:02,ssid=,mode=ad-hoc") ==
                1);
    assert_true(nt_value(o, "node_wifi_station_signal_dbm", "device=w0,mac_address=00:01:02") ==
                -70);
    nt_free(o);
    nt_write(dir, "w0/bss.json", "{\"bssid\": \"A=B=\"}");
    o = nt_run_rc(&nx_collector_wifi, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    nt_write(dir, "w0/bss.json", "{}");
    nt_write(dir, "w0/stationinfo.json", "[{\"connected\": \"x\"}]");
    o = nt_run_rc(&nx_collector_wifi, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    use("");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
