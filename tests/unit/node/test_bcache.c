/* Unit tests for the bcache collector. */
#include "sysfixture.h"

extern const nx_collector nx_collector_bcache;

#define UUID "uuid=deaddd54-c735-46d5-868e-f331c5fd7c74"

static void test_fixture(void **state)
{
    nt_use_root(st_fixture_copy());
    bool on = true;
    st_set_flag(&nx_collector_bcache, "collector.bcache.priorityStats", &on);
    nx_out *o = nt_run(&nx_collector_bcache);
    assert_true(nt_value(o, "node_bcache_btree_read_average_duration_seconds", UUID) == 1.305e-06);
    assert_true(nt_value(o, "node_bcache_dirty_target_bytes", UUID ",backing_device=bdev0") ==
                21894266880.0);
    assert_true(nt_value(o, "node_bcache_writeback_rate", UUID ",backing_device=bdev0") == 1150976);
    assert_true(nt_value(o, "node_bcache_cache_readaheads_total", UUID ",backing_device=bdev0") ==
                13);
    assert_true(nt_value(o, "node_bcache_priority_stats_unused_percent",
                         UUID ",cache_device=cache0") == 99);
    nt_free(o);
    on = false;
    st_set_flag(&nx_collector_bcache, "collector.bcache.priorityStats", &on);
    o = nt_run(&nx_collector_bcache);
    assert_null(nt_family(o, "node_bcache_priority_stats_unused_percent"));
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "bcache");
    nt_use_root(dir);
    nx_out *o = nt_run(&nx_collector_bcache); /* no bcache: nothing, no error */
    assert_int_equal(o->n_families, 0);
    nt_free(o);
    nt_write(dir, "sys/fs/bcache/a-b/btree_cache_size", "1.5k\n");
    nt_write(dir, "sys/fs/bcache/a-b/tree_depth", "17"); /* no newline: last byte lost */
    nt_write(dir, "sys/fs/bcache/a-b/bdev0/writeback_rate_debug",
             "rate: 1.0M/sec\nchange: -2k/sec\n");
    o = nt_run(&nx_collector_bcache);
    assert_true(nt_value(o, "node_bcache_btree_cache_size_bytes", "uuid=a-b") ==
                (double)(uint64_t)((1 + 5 / 10.24) * 1024));
    assert_true(nt_value(o, "node_bcache_tree_depth", "uuid=a-b") == 1);
    assert_true(nt_value(o, "node_bcache_writeback_change", "uuid=a-b,backing_device=bdev0") ==
                -2048);
    assert_true(nt_value(o, "node_bcache_writeback_rate", "uuid=a-b,backing_device=bdev0") ==
                1048576);
    nt_free(o);
    nt_write(dir, "sys/fs/bcache/a-b/congested", "lots\n");
    int rc;
    o = nt_run_rc(&nx_collector_bcache, &rc);
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
