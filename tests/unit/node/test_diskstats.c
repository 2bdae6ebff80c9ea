/* Unit tests for the diskstats collector. */
#include "sysfixture.h"

extern const nx_collector nx_collector_diskstats;

static void test_fixture(void **state)
{
    nt_use_root(st_fixture_copy());
    st_set_flag(&nx_collector_diskstats, "collector.diskstats.device-exclude",
                "^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$");
    core_err err;
    assert_int_equal(nx_collector_diskstats.init(&err), 0);
    nx_out *o = nt_run(&nx_collector_diskstats);
    assert_true(nt_value(o, "node_disk_ata_rotation_rate_rpm", "device=sda") == 7200);
    assert_true(
        nt_value(o, "node_disk_device_mapper_info",
                 "device=dm-1,lv_layer=,lv_name=swap_1,name=system-swap_1,"
                 "uuid=LVM-wbGqQEBL9SxrW2DLntJwgg8fAv946hw3Tvjqh0v31fWgxEtD4BoHO0lROWFUY65T,"
                 "vg_name=system") == 1);
    assert_non_null(nt_family(o, "node_disk_read_bytes_total"));
    assert_true(isnan(nt_value(o, "node_disk_reads_completed_total", "device=sda1")));
    assert_int_equal(nt_family(o, "node_disk_io_now")->type, PROM_GAUGE);
    assert_string_equal(nt_family(o, "node_disk_written_bytes_total")->help,
                        "The total number of bytes written successfully.");
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "diskstats");
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_diskstats, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    nt_write(dir, "proc/diskstats",
             "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n"          /* 14 fields: old kernel */
             "   8       1 sdz 1 2 3 4 x 6 7 8 9 10 11 12 13 14\n" /* bad number: skipped */
             "   8       2 sdy 1 2\n"                              /* truncated */
             "garbage\n"
             "   8       3 sdx 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21\n");
    nt_write(dir, "udev/data/b8:0", "E:ID_ATA=1\nE:ID_ATA_ROTATION_RATE_RPM=fast\nE:ID_MODEL=m\n");
    nt_write(dir, "sys/block/sda/queue/rotational", "1\n");
    o = nt_run(&nx_collector_diskstats);
    assert_true(nt_value(o, "node_disk_read_bytes_total", "device=sda") == 3 * 512);
    assert_true(nt_value(o, "node_disk_io_time_weighted_seconds_total", "device=sda") == 0.011);
    assert_true(isnan(nt_value(o, "node_disk_discards_completed_total", "device=sda")));
    assert_true(nt_value(o, "node_disk_flush_requests_time_seconds_total", "device=sdx") == 0.017);
    assert_true(isnan(nt_value(o, "node_disk_reads_completed_total", "device=sdz")));
    assert_null(nt_family(o, "node_disk_ata_rotation_rate_rpm"));
    assert_true(nt_value(o, "node_disk_info",
                         "device=sda,major=8,minor=0,path=,wwn=,model=m,serial=,revision=,"
                         "rotational=1") == 1);
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
