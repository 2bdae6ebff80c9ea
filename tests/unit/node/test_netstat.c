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

/* The second run of the same files goes through the plans of the first
 * (names lines already seen); a values line whose field count no longer
 * matches its plan is refused as before. */
static void test_plans(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_flags(&nx_collector_netstat, (const char *[]){"collector.netstat.fields", "^Tcp_.*", NULL});
    nt_write(dir, "proc/net/netstat", "TcpExt: A B\nTcpExt: 1 2\n");
    nt_write(dir, "proc/net/snmp", "Tcp: InSegs OutSegs Odd\nTcp: 10 20 x\nTcp: Again\nTcp: 5\n");
    for (int run = 0; run < 3; run++) {
        nx_out *o = pt_run_ok(&nx_collector_netstat);
        assert_true(nt_value(o, "node_netstat_Tcp_Again", NULL) == 5); /* later block wins */
        assert_null(nt_family(o, "node_netstat_Tcp_InSegs"));
        assert_null(nt_family(o, "node_netstat_TcpExt_A")); /* not wanted */
        nt_free(o);
    }
    nt_write(dir, "proc/net/snmp", "Tcp: InSegs OutSegs Odd\nTcp: 10 20 30\n");
    for (int run = 0; run < 2; run++) {
        nx_out *o = pt_run_ok(&nx_collector_netstat);
        assert_true(nt_value(o, "node_netstat_Tcp_InSegs", NULL) == 10);
        assert_true(nt_value(o, "node_netstat_Tcp_Odd", NULL) == 30);
        nt_free(o);
    }
    nt_write(dir, "proc/net/snmp", "Tcp: InSegs OutSegs Odd\nTcp: 10 20\n"); /* one short */
    nx_out *o = pt_run_ok(&nx_collector_netstat);
    assert_null(nt_family(o, "node_netstat_Tcp_InSegs"));
    nt_free(o);
    pt_rm(dir);
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
        cmocka_unit_test(test_plans),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
