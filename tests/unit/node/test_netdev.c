/* Unit tests for the netdev collector: /proc/net/dev, netlink, address-info. */
#include "sysfixture.h"

extern const nx_collector nx_collector_netdev;

static void set_bool(const char *flag, bool v)
{
    st_set_flag(&nx_collector_netdev, flag, &v);
}

static void test_proc(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "netdev");
    nt_use_root(dir);
    set_bool("collector.netdev.netlink", false);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_netdev, &rc); /* no net/dev */
    assert_int_equal(rc, -1);
    nt_free(o);
    nt_write(dir, "proc/net/dev",
             "Inter-|   Receive |  Transmit\n"
             " face |bytes packets errs drop fifo frame compressed multicast|bytes ...\n"
             "    lo: 10 2 3 4 5 6 7 8 20 9 10 11 12 13 14 15\n"
             "  eth0: 1 2 3\n"
             "no colon here\n"
             "  eth1: 1 2 3 4 5 6 7 8 x 9 10 11 12 13 14 15\n");
    o = nt_run(&nx_collector_netdev);
    assert_true(nt_value(o, "node_network_receive_bytes_total", "device=lo") == 10);
    assert_true(nt_value(o, "node_network_receive_errs_total", "device=lo") == 3);
    assert_true(nt_value(o, "node_network_transmit_colls_total", "device=lo") == 13);
    assert_true(nt_value(o, "node_network_transmit_carrier_total", "device=lo") == 14);
    assert_string_equal(nt_family(o, "node_network_receive_drop_total")->help,
                        "Network device statistic receive_drop.");
    assert_true(isnan(nt_value(o, "node_network_receive_bytes_total", "device=eth0")));
    assert_true(isnan(nt_value(o, "node_network_receive_bytes_total", "device=eth1")));
    assert_null(nt_family(o, "node_network_receive_nohandler_total"));
    nt_free(o);
    st_rmdir(dir);
}

/* The kernel's own interfaces: every host has lo. */
static void test_netlink(void **state)
{
    set_bool("collector.netdev.netlink", true);
    set_bool("collector.netdev.address-info", true);
    st_set_flag(&nx_collector_netdev, "collector.netdev.device-include", "^lo$");
    core_err err;
    assert_int_equal(nx_collector_netdev.init(&err), 0);
    nx_out *o = nt_run(&nx_collector_netdev);
    assert_false(isnan(nt_value(o, "node_network_receive_nohandler_total", "device=lo")));
    assert_false(isnan(nt_value(o, "node_network_transmit_carrier_total", "device=lo")));
    assert_null(nt_family(o, "node_network_receive_missed_errors_total"));
    double a = nt_value(o, "node_network_address_info",
                        "device=lo,address=127.0.0.1,netmask=8,scope=link-local");
    assert_true(a == 1 || isnan(a)); /* lo may have no IPv4 address in a sandbox */
    nt_free(o);
    set_bool("collector.netdev.address-info", false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proc),
        cmocka_unit_test(test_netlink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
