/* Unit tests for the btrfs collector. */
#include "sysfixture.h"

extern const nx_collector nx_collector_btrfs;

#define FS1 "uuid=0abb23a9-579b-43e6-ad30-227ef47fcb9d"
#define FS2 "uuid=7f07c59f-6136-449c-ab87-e1cf2328731b"

static void test_fixture(void **state)
{
    nt_use_root(st_fixture_copy());
    nx_out *o = nt_run(&nx_collector_btrfs);
    assert_true(nt_value(o, "node_btrfs_info", FS1 ",label=fixture") == 1);
    assert_true(nt_value(o, "node_btrfs_commits_total", FS1) == 258051);
    assert_true(nt_value(o, "node_btrfs_max_commit_seconds", FS1) == 51.462);
    assert_true(nt_value(o, "node_btrfs_allocation_ratio",
                         FS2 ",block_group_type=data,mode=raid5") == 4.0 / 3.0);
    assert_true(nt_value(o, "node_btrfs_size_bytes", FS1 ",block_group_type=data,mode=raid0") ==
                2147483648.0);
    assert_true(nt_value(o, "node_btrfs_device_size_bytes", FS2 ",device=loop22") == 10737418240.0);
    assert_true(nt_value(o, "node_btrfs_commits_total", FS2) == 0); /* no commit_stats */
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "btrfs");
    nt_use_root(dir);
    nx_out *o = nt_run(&nx_collector_btrfs); /* no btrfs: nothing */
    assert_int_equal(o->n_families, 0);
    nt_free(o);
    const char *fs = "sys/fs/btrfs/aaaa-bbbb";
    char p[256];
    snprintf(p, sizeof p, "%s/label", fs);
    nt_write(dir, p, "x\n");
    int rc;
    o = nt_run_rc(&nx_collector_btrfs, &rc); /* no devices/ */
    assert_int_equal(rc, -1);
    nt_free(o);
    snprintf(p, sizeof p, "%s/devices/sda/size", fs);
    nt_write(dir, p, "junk\n");
    static const char *const types[] = {"data", "metadata", "system"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/allocation/%s/single/total_bytes", fs, types[i]);
        nt_write(dir, p, "4096\n");
    }
    snprintf(p, sizeof p, "%s/commit_stats", fs);
    nt_write(dir, p, "commits 3\nlast_commit_ms\n");
    o = nt_run_rc(&nx_collector_btrfs, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    nt_write(dir, p, "commits 3\nother 9\n");
    o = nt_run(&nx_collector_btrfs);
    assert_true(nt_value(o, "node_btrfs_commits_total", "uuid=aaaa-bbbb") == 3);
    assert_true(nt_value(o, "node_btrfs_device_size_bytes", "uuid=aaaa-bbbb,device=sda") == 0);
    assert_true(nt_value(o, "node_btrfs_size_bytes",
                         "uuid=aaaa-bbbb,block_group_type=system,mode=single") == 4096);
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
