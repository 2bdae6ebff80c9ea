/* Unit tests for the fibrechannel collector. */
#include "sysfixture.h"

extern const nx_collector nx_collector_fibrechannel;

static void test_fixture(void **state)
{
    nt_use_root(st_fixture_copy());
    nx_out *o = nt_run(&nx_collector_fibrechannel);
    assert_true(nt_value(o, "node_fibrechannel_rx_frames_total", "fc_host=host0") == 3);
    assert_true(nt_value(o, "node_fibrechannel_info",
                         "dev_loss_tmo=,fabric_name=,fc_host=host1,port_id=,port_name=,"
                         "port_state=Online,port_type=,speed=8 Gbit,supported_classes=,"
                         "supported_speeds=,symbolic_name=") == 1);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "fc");
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_fibrechannel, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    nt_write(dir, "sys/class/fc_host/host9/port_id", "0x0a\n");
    nt_write(dir, "sys/class/fc_host/host9/statistics/tx_words", "0xffffffffffffffff\n");
    nt_write(dir, "sys/class/fc_host/host9/statistics/nos_count", "0x20\n");
    o = nt_run(&nx_collector_fibrechannel);
    assert_true(nt_value(o, "node_fibrechannel_nos_total", "fc_host=host9") == 32);
    assert_null(nt_family(o, "node_fibrechannel_tx_words_total"));
    assert_null(nt_family(o, "node_fibrechannel_rx_words_total"));
    nt_free(o);
    nt_write(dir, "sys/class/fc_host/host9/statistics/nos_count", "many\n");
    o = nt_run_rc(&nx_collector_fibrechannel, &rc);
    assert_int_equal(rc, -1);
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
