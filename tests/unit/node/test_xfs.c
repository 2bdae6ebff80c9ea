/* Unit tests for the xfs collector. */
#include "nodetest.h"

extern const nx_collector nx_collector_xfs;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = nt_run(&nx_collector_xfs);
    assert_true(nt_value(o, "node_xfs_extent_allocation_blocks_allocated_total", "device=sda1") ==
                872);
    assert_true(nt_value(o, "node_xfs_write_calls_total", "device=sda1") == 28);
    assert_true(nt_value(o, "node_xfs_read_calls_total", "device=sda1") == 0);
    assert_true(nt_value(o, "node_xfs_directory_operation_getdents_total", "device=sda1") == 52);
    const nx_fam *f = nt_family(o, "node_xfs_vnode_remove_total");
    assert_non_null(f);
    assert_int_equal(f->type, PROM_COUNTER);
    assert_string_equal(f->help, "Number of times vn_remove called for a filesystem.");
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[] = "/tmp/nt-xfs-XXXXXX";
    assert_non_null(mkdtemp(dir));
    nt_use_root(dir);
    nx_out *o = nt_run(&nx_collector_xfs); /* no xfs: nothing, no error */
    assert_null(nt_family(o, "node_xfs_read_calls_total"));
    nt_free(o);
    nt_write(dir, "sys/fs/xfs/vdb/stats/stats",
             "rw 5 6 7\nvnodes 1 2 3 4 5 6 7\ndir 1 2 x 4\nabt 1 2 3 99999999999\n"
             "extent_alloc 9 8 7 6\nlonely\n\nig 1 2 3 4 5 6");
    o = nt_run(&nx_collector_xfs);
    assert_true(nt_value(o, "node_xfs_write_calls_total", "device=vdb") == 0);
    assert_true(nt_value(o, "node_xfs_vnode_remove_total", "device=vdb") == 7);
    assert_true(nt_value(o, "node_xfs_directory_operation_lookup_total", "device=vdb") == 0);
    assert_true(nt_value(o, "node_xfs_allocation_btree_lookups_total", "device=vdb") == 0);
    assert_true(nt_value(o, "node_xfs_extent_allocation_extents_allocated_total", "device=vdb") ==
                9);
    assert_true(nt_value(o, "node_xfs_inode_operation_attempts_total", "device=vdb") == 0);
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
