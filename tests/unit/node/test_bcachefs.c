/* Unit tests for the bcachefs collector. */
#include "nodetest.h"

extern const nx_collector nx_collector_bcachefs;

#define UUID "uuid=deadbeef-1234-5678-9012-abcdefabcdef"

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = nt_run(&nx_collector_bcachefs);
    assert_true(nt_value(o, "node_bcachefs_info", UUID) == 1);
    assert_true(nt_value(o, "node_bcachefs_btree_cache_size_bytes", UUID) == 2201170739.0);
    assert_true(nt_value(o, "node_bcachefs_btree_write_average_size_bytes",
                         UUID ",type=init_next_bset") == 28876);
    assert_true(nt_value(o, "node_bcachefs_compression_compressed_bytes",
                         UUID ",algorithm=incompressible") == 11874725579980.0);
    assert_true(nt_value(o, "node_bcachefs_errors_total",
                         UUID ",error_type=extent_io_opts_not_set") == 11299659571772285102.0);
    assert_true(nt_value(o, "node_bcachefs_device_bucket_size_bytes", UUID ",device=10") == 524288);
    assert_true(nt_value(o, "node_bcachefs_device_info",
                         UUID ",device=4,label=disk-4,state=[rw] ro evacuating spare") == 1);
    assert_true(nt_value(o, "node_bcachefs_device_io_done_bytes_total",
                         UUID ",device=10,operation=write,data_type=sb") == 645120);
    assert_true(
        nt_value(o, "node_bcachefs_device_io_errors_total", UUID ",device=6,type=checksum") == 5);
    const nx_fam *f = nt_family(o, "node_bcachefs_btree_cache_reap_total");
    assert_non_null(f);
    assert_int_equal(f->type, PROM_COUNTER);
    assert_string_equal(f->help, "Bcachefs counter btree_cache_reap since filesystem creation.");
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[] = "/tmp/nt-bcachefs-XXXXXX";
    assert_non_null(mkdtemp(dir));
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_bcachefs, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    nt_write(dir, "sys/fs/bcachefs/u1/btree_cache_size", "1.5k\n");
    nt_write(dir, "sys/fs/bcachefs/u1/compression_stats", "hdr\nzstd 1M 2M\nlz4 x 1\nshort 1\n");
    nt_write(dir, "sys/fs/bcachefs/u1/errors", "a 1\nb\nc -1\n");
    nt_write(dir, "sys/fs/bcachefs/u1/counters/we-ird..name_", "since filesystem creation: 2k\n");
    nt_write(dir, "sys/fs/bcachefs/u1/counters/a__-_b", "since mount: 3\n");
    nt_write(dir, "sys/fs/bcachefs/u1/counters/bad", "garbage\n");
    nt_write(dir, "sys/fs/bcachefs/u1/dev-0/nbuckets", "12x");
    nt_write(dir, "sys/fs/bcachefs/u1/dev-1/io_done", "sb: 1\nread:\n need gc : 7\nbtree: x\n");
    nt_write(dir, "sys/fs/bcachefs/u1/dev-1/io_errors", "read: 9\n");
    o = nt_run(&nx_collector_bcachefs);
    assert_true(nt_value(o, "node_bcachefs_btree_cache_size_bytes", "uuid=u1") == 1536);
    assert_true(nt_value(o, "node_bcachefs_compression_uncompressed_bytes",
                         "uuid=u1,algorithm=zstd") == 2097152);
    assert_true(
        isnan(nt_value(o, "node_bcachefs_compression_compressed_bytes", "uuid=u1,algorithm=lz4")));
    assert_true(nt_value(o, "node_bcachefs_errors_total", "uuid=u1,error_type=a") == 1);
    assert_true(nt_value(o, "node_bcachefs_we_ird_name__total", "uuid=u1") == 2048);
    assert_true(nt_value(o, "node_bcachefs_a_b_total", "uuid=u1") == 0);
    assert_null(nt_family(o, "node_bcachefs_bad_total"));
    assert_true(isnan(nt_value(o, "node_bcachefs_device_buckets", "uuid=u1,device=0")));
    assert_true(nt_value(o, "node_bcachefs_device_buckets", "uuid=u1,device=1") == 0);
    assert_true(nt_value(o, "node_bcachefs_device_io_done_bytes_total",
                         "uuid=u1,device=1,operation=read,data_type=need gc") == 7);
    assert_null(nt_family(o, "node_bcachefs_device_io_errors_total"));
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
