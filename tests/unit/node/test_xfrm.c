/* Unit tests for the xfrm collector. */
#include "nodetest.h"

extern const nx_collector nx_collector_xfrm;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = nt_run(&nx_collector_xfrm);
    assert_true(nt_value(o, "node_xfrm_in_error_packets_total", NULL) == 1);
    assert_true(nt_value(o, "node_xfrm_out_error_packets_total", NULL) == 1000000);
    assert_true(nt_value(o, "node_xfrm_acquire_error_packets_total", NULL) == 24532);
    const nx_fam *f = nt_family(o, "node_xfrm_in_hdr_error_packets_total");
    assert_int_equal(f->type, PROM_COUNTER);
    assert_string_equal(f->help, "Header error");
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[] = "/tmp/nt-xfrm-XXXXXX";
    assert_non_null(mkdtemp(dir));
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_xfrm, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    nt_write(dir, "proc/net/xfrm_stat",
             "XfrmInError 5\nXfrmOutError x\nXfrmInHdrError\n\nXfrmNew 3\nXfrmInNoStates -2 1\n"
             "XfrmFwdHdrError -4");
    o = nt_run(&nx_collector_xfrm);
    assert_true(nt_value(o, "node_xfrm_in_error_packets_total", NULL) == 5);
    assert_true(nt_value(o, "node_xfrm_out_error_packets_total", NULL) == 0);
    assert_true(nt_value(o, "node_xfrm_in_no_states_packets_total", NULL) == 0);
    assert_true(nt_value(o, "node_xfrm_fwd_hdr_error_packets_total", NULL) == -4);
    nt_free(o);
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
