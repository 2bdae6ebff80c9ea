/* Unit tests for the netclass collector. */
#include "sysfixture.h"

extern const nx_collector nx_collector_netclass;

static void test_fixture(void **state)
{
    nt_use_root(st_fixture_copy());
    bool on = true;
    st_set_flag(&nx_collector_netclass, "collector.netclass.ignore-invalid-speed", &on);
    st_set_flag(&nx_collector_netclass, "collector.netclass.ignored-devices", "(dmz|int)");
    core_err err;
    assert_int_equal(nx_collector_netclass.init(&err), 0);
    nx_out *o = nt_run(&nx_collector_netclass);
    assert_true(nt_value(o, "node_network_flags", "device=bond0") == 4867);
    assert_true(nt_value(o, "node_network_speed_bytes", "device=eth0") == 125000000);
    assert_true(isnan(nt_value(o, "node_network_speed_bytes", "device=bond0")));
    assert_true(nt_value(o, "node_network_info",
                         "address=01:01:01:01:01:01,adminstate=up,broadcast=ff:ff:ff:ff:ff:ff,"
                         "device=eth0,duplex=full,ifalias=,operstate=up") == 1);
    assert_int_equal(nt_family(o, "node_network_carrier_changes_total")->type, PROM_COUNTER);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "netclass");
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_netclass, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    bool off = false;
    st_set_flag(&nx_collector_netclass, "collector.netclass.ignore-invalid-speed", &off);
    nt_write(dir, "sys/class/net/x0/mtu", "not a number\n");
    nt_write(dir, "sys/class/net/x0/speed", "-1\n");
    nt_write(dir, "sys/class/net/x0/flags", "0x1002\n");
    nt_write(dir, "sys/class/net/stray", "a regular file is no device\n");
    o = nt_run(&nx_collector_netclass);
    assert_null(nt_family(o, "node_network_mtu_bytes"));
    assert_true(nt_value(o, "node_network_speed_bytes", "device=x0") == -125000);
    assert_true(nt_value(o, "node_network_up", "device=x0") == 0);
    assert_true(nt_value(o, "node_network_info",
                         "device=x0,address=,broadcast=,duplex=,operstate=,adminstate=down,"
                         "ifalias=") == 1);
    assert_true(isnan(nt_value(o, "node_network_up", "device=stray")));
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
