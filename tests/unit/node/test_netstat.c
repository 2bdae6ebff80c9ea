/* Unit tests for the netstat collector. */
#include "proctest.h"

extern const nx_collector nx_collector_netstat;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    pt_flags(&nx_collector_netstat, NULL);
    nx_out *o = pt_run_ok(&nx_collector_netstat);
    assert_true(nt_value(o, "node_netstat_Tcp_InSegs", NULL) == 57252008);
    assert_true(nt_value(o, "node_netstat_Ip6_InOctets", NULL) == 460);
    assert_true(nt_value(o, "node_netstat_TcpExt_ListenDrops", NULL) == 0);
    assert_null(nt_family(o, "node_netstat_TcpExt_TW")); /* filtered out */
    assert_int_equal(nt_family(o, "node_netstat_Ip_Forwarding")->type, PROM_UNTYPED);
    assert_string_equal(nt_family(o, "node_netstat_Udp6_InErrors")->help,
                        "Statistic Udp6InErrors.");
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_flags(&nx_collector_netstat, (const char *[]){"collector.netstat.fields", ".*", NULL});
    pt_run_fail(&nx_collector_netstat); /* netstat and snmp are required */
    nt_write(dir, "proc/net/netstat", "TcpExt: A B\nTcpExt: 1\nIpExt: X Y\nIpExt: 3 z\nLone: Q");
    nt_write(dir, "proc/net/snmp", "Tcp: A\nTcp: 7\nTcpExt: C\nTcpExt: 9\n");
    nx_out *o = pt_run_ok(&nx_collector_netstat); /* snmp6 is optional */
    assert_true(nt_value(o, "node_netstat_IpExt_X", NULL) == 3);
    assert_null(nt_family(o, "node_netstat_IpExt_Y"));
    assert_true(nt_value(o, "node_netstat_Tcp_A", NULL) == 7);
    assert_true(nt_value(o, "node_netstat_TcpExt_C", NULL) == 9); /* replaced by snmp's block */
    nt_free(o);
    nt_write(dir, "proc/net/snmp6", "Ip6InReceives 5\nnosix 3\nUdpLite6InErrors 2\nshort\n");
    o = pt_run_ok(&nx_collector_netstat);
    assert_true(nt_value(o, "node_netstat_Ip6_InReceives", NULL) == 5);
    assert_true(nt_value(o, "node_netstat_UdpLite6_InErrors", NULL) == 2);
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
