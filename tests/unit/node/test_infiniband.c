/* Unit tests for the infiniband collector. */
#include "sysfixture.h"

extern const nx_collector nx_collector_infiniband;

static void test_fixture(void **state)
{
    nt_use_root(st_fixture_copy());
    nx_out *o = nt_run(&nx_collector_infiniband);
    assert_true(nt_value(o, "node_infiniband_info",
                         "board_id=SM_1141000001000,device=mlx4_0,firmware_version=2.31.5050,"
                         "hca_type=MT4099") == 1);
    assert_true(nt_value(o, "node_infiniband_port_data_received_bytes_total",
                         "device=mlx4_0,port=1") == 18527668);
    assert_true(nt_value(o, "node_infiniband_rate_bytes_per_second", "device=mlx4_0,port=1") ==
                5e9);
    assert_int_equal(nt_family(o, "node_infiniband_state_id")->type, PROM_GAUGE);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "ib");
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_infiniband, &rc); /* no class dir */
    assert_int_equal(rc, -1);
    nt_free(o);
    nt_write(dir, "sys/class/infiniband/dev0/fw_ver", "1.0\n");
    nt_write(dir, "sys/class/infiniband/dev0/ports/1/link_layer", "InfiniBand\n");
    nt_write(dir, "sys/class/infiniband/dev0/ports/1/state", "4: ACTIVE\n");
    nt_write(dir, "sys/class/infiniband/dev0/ports/1/phys_state", "5: LinkUp\n");
    nt_write(dir, "sys/class/infiniband/dev0/ports/1/rate", "2.5 Gb/sec (1X SDR)\n");
    nt_write(dir, "sys/class/infiniband/dev0/ports/1/counters/port_xmit_data", "N/A (no PMA)\n");
    nt_write(dir, "sys/class/infiniband/dev0/ports/1/counters/link_downed", "0x10\n");
    nt_write(dir, "sys/class/infiniband/dev0/ports/1/hw_counters/lifespan", "2500\n");
    o = nt_run(&nx_collector_infiniband);
    assert_true(nt_value(o, "node_infiniband_rate_bytes_per_second", "device=dev0,port=1") ==
                312500000);
    assert_true(nt_value(o, "node_infiniband_link_downed_total", "device=dev0,port=1") == 16);
    assert_true(nt_value(o, "node_infiniband_lifespan_seconds", "device=dev0,port=1") == 2);
    assert_null(nt_family(o, "node_infiniband_port_data_transmitted_bytes_total"));
    assert_true(nt_value(o, "node_infiniband_info",
                         "device=dev0,board_id=,firmware_version=1.0,hca_type=") == 1);
    nt_free(o);
    nt_write(dir, "sys/class/infiniband/dev0/ports/1/state", "ACTIVE\n");
    o = nt_run_rc(&nx_collector_infiniband, &rc);
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
