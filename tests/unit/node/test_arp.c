/* Unit tests for the arp collector. */
#include "proctest.h"

extern const nx_collector nx_collector_arp;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    pt_flags(&nx_collector_arp, (const char *[]){"collector.arp.device-exclude", "nope",
                                                 "collector.arp.netlink", "false", NULL});
    nx_out *o = pt_run_ok(&nx_collector_arp);
    assert_true(nt_value(o, "node_arp_entries", "device=eth0") == 3);
    assert_true(nt_value(o, "node_arp_entries", "device=eth1") == 3);
    assert_int_equal(pt_samples(o, "node_arp_entries"), 2);
    nt_free(o);
    pt_flags(&nx_collector_arp, NULL); /* netlink on: the same file is read */
    o = pt_run_ok(&nx_collector_arp);
    assert_int_equal(pt_samples(o, "node_arp_entries"), 3);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_flags(&nx_collector_arp, (const char *[]){"collector.arp.device-include", "^e", NULL});
    pt_run_fail(&nx_collector_arp);
    nt_write(dir, "proc/net/arp",
             "IP address HW type Flags HW address Mask Device\n"
             "1.2.3.4 0x1 0x2 aa:bb * eth0 extra\n1.2.3.5 0x1 0x0 00:00 * eth0\n"
             "1.2.3.6 0x1 0x2 aa:bb * wlan0\n");
    nx_out *o = pt_run_ok(&nx_collector_arp);
    assert_true(nt_value(o, "node_arp_entries", "device=eth0") == 1);
    assert_int_equal(pt_samples(o, "node_arp_entries"), 1);
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
