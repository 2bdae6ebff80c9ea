/* Unit tests for the mdadm collector. */
#include "sysfixture.h"

extern const nx_collector nx_collector_mdadm;

static void test_fixture(void **state)
{
    nt_use_root(st_fixture_copy());
    nx_out *o = nt_run(&nx_collector_mdadm);
    assert_true(nt_value(o, "node_md_blocks", "device=md3") == 5853468288.0);
    assert_true(nt_value(o, "node_md_blocks_synced", "device=md6") == 16775552);
    assert_true(nt_value(o, "node_md_disks", "device=md3,state=spare") == 2);
    assert_true(nt_value(o, "node_md_state", "device=md6,state=recovering") == 1);
    assert_true(nt_value(o, "node_md_state", "device=md8,state=resync") == 1);
    assert_true(nt_value(o, "node_md_state", "device=md4,state=inactive") == 1);
    assert_true(nt_value(o, "node_md_degraded", "device=md5") == 1);
    assert_true(nt_value(o, "node_md_raid_disks", "device=md10") == 4);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "mdadm");
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_mdadm, &rc);
    assert_int_equal(rc, -1);
    assert_true(o->no_data);
    nt_free(o);
    static const char *bad[] = {
        "md0 : active\n",                                              /* too few fields */
        "md0 : active raid1 sda[0]\n      xx blocks [2/2] [UU]\n\n\n", /* bad size */
        "md0 : active raid1 sda[0]\n      10 blocks [2/2] [UU]\n",     /* too few lines */
        "md0 : active raid1 sda[0]\n      10 blocks [2/2] [UU]\n  resync = x\n\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nt_write(dir, "proc/mdstat", bad[i]);
        o = nt_run_rc(&nx_collector_mdadm, &rc);
        assert_int_equal(rc, -1);
        assert_false(o->no_data);
        nt_free(o);
    }
    nt_write(dir, "proc/mdstat",
             "Personalities : [raid1]\nmd9 : active raid1 sda[0] sdb[1](F)\n"
             "      100 blocks [2/1] [U_]\n      [==>....]  recovery = 12.6% (12/100) "
             "finish=1.5min speed=100K/sec\n\n");
    nt_write(dir, "sys/block/md9/md/level", "raid1\n");
    o = nt_run_rc(&nx_collector_mdadm, &rc); /* array_state missing: no data */
    assert_int_equal(rc, -1);
    assert_true(o->no_data);
    assert_true(nt_value(o, "node_md_blocks_synced", "device=md9") == 12);
    assert_true(nt_value(o, "node_md_disks", "device=md9,state=failed") == 1);
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
