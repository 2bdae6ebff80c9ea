/* Unit tests for the drbd collector. */
#include "nodetest.h"
#include "sysfixture.h"

extern const nx_collector nx_collector_drbd;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = nt_run(&nx_collector_drbd);
    assert_true(nt_value(o, "node_drbd_network_sent_bytes_total", "device=drbd1") ==
                17324442.0 * 1024);
    assert_true(nt_value(o, "node_drbd_network_received_bytes_total", "device=drbd1") == 10961011);
    assert_true(nt_value(o, "node_drbd_disk_state_is_up_to_date", "device=drbd1,node=remote") == 1);
    assert_true(nt_value(o, "node_drbd_connected", "device=drbd1") == 1);
    assert_true(nt_value(o, "node_drbd_epochs", "device=drbd1") == 1);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "drbd");
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_drbd, &rc);
    assert_true(o->no_data);
    nt_free(o);
    nt_write(dir, "proc/drbd", "al:3 ro:Primary cs:WFConnection a:b:c 2: ns:x\n");
    o = nt_run_rc(&nx_collector_drbd, &rc);
    assert_int_equal(rc, -1);
    assert_true(nt_value(o, "node_drbd_activitylog_writes_total", "device=unknown") == 3);
    assert_null(nt_family(o, "node_drbd_node_role_is_primary")); /* no '/' */
    assert_true(nt_value(o, "node_drbd_connected", "device=unknown") == 0);
    nt_free(o);
    st_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
