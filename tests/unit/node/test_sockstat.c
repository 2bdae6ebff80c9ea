/* Unit tests for the sockstat collector. */
#include "proctest.h"

#include <unistd.h>

extern const nx_collector nx_collector_sockstat;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = pt_run_ok(&nx_collector_sockstat);
    assert_true(nt_value(o, "node_sockstat_sockets_used", NULL) == 229);
    assert_true(nt_value(o, "node_sockstat_TCP_tw", NULL) == 4);
    assert_true(nt_value(o, "node_sockstat_TCP_mem_bytes", NULL) == (double)sysconf(_SC_PAGESIZE));
    assert_true(nt_value(o, "node_sockstat_TCP6_inuse", NULL) == 17);
    assert_true(nt_value(o, "node_sockstat_FRAG6_memory", NULL) == 0);
    assert_string_equal(nt_family(o, "node_sockstat_UDP_mem")->help,
                        "Number of UDP sockets in state mem.");
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    nx_out *o = pt_run_ok(&nx_collector_sockstat); /* both files may be missing */
    assert_int_equal(o->n_families, 0);
    nt_free(o);
    nt_write(dir, "proc/net/sockstat",
             "sockets: used\nTCP: inuse 3 orphan\nUDP: mem 2\nRAW: inuse x\n");
    o = pt_run_ok(&nx_collector_sockstat);
    assert_null(nt_family(o, "node_sockstat_sockets_used"));
    assert_null(nt_family(o, "node_sockstat_TCP_inuse"));
    assert_true(nt_value(o, "node_sockstat_UDP_inuse", NULL) == 0); /* inuse is always there */
    assert_true(nt_value(o, "node_sockstat_UDP_mem", NULL) == 2);
    assert_null(nt_family(o, "node_sockstat_RAW_inuse"));
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
