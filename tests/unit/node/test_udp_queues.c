/* Unit tests for the udp_queues collector. */
#include "proctest.h"

extern const nx_collector nx_collector_udp_queues;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = pt_run_ok(&nx_collector_udp_queues);
    assert_true(nt_value(o, "node_udp_queues", "queue=tx,ip=v4") == 21);
    assert_true(nt_value(o, "node_udp_queues", "queue=rx,ip=v4") == 0);
    assert_int_equal(pt_samples(o, "node_udp_queues"), 2); /* no udp6 in the fixture */
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_run_fail(&nx_collector_udp_queues); /* neither file: no data */
    nt_write(dir, "proc/net/udp6",
             "header\n 0: a:1 b:2 07 00000010:00000001 0 0 0 0 0\n 1: short\n"
             " 2: a:1 b:2 07 zz 0 0 0 0 0\n 3: a:1 b:2 07 00000001:00000002 0 0 0 0 0\n");
    nx_out *o = pt_run_ok(&nx_collector_udp_queues);
    assert_true(nt_value(o, "node_udp_queues", "queue=tx,ip=v6") == 17);
    assert_true(nt_value(o, "node_udp_queues", "queue=rx,ip=v6") == 3);
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
