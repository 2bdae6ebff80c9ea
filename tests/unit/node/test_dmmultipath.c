/* Unit tests for the dmmultipath collector. */
#include "sysfixture.h"

extern const nx_collector nx_collector_dmmultipath;

static void test_fixture(void **state)
{
    nt_use_root(st_fixture_copy());
    nx_out *o = nt_run(&nx_collector_dmmultipath);
    assert_true(nt_value(o, "node_dmmultipath_device_paths", "device=mpathA,sysfs_name=dm-5") == 4);
    assert_true(
        nt_value(o, "node_dmmultipath_device_paths_failed", "device=mpathA,sysfs_name=dm-5") == 1);
    assert_true(nt_value(o, "node_dmmultipath_device_size_bytes",
                         "device=mpathB,sysfs_name=dm-6") == 107374182400.0);
    assert_true(
        nt_value(o, "node_dmmultipath_path_state", "device=mpathA,path=sdl,state=offline") == 1);
    assert_int_equal(nt_family(o, "node_dmmultipath_device_info")->n_samples, 2); /* not dm-7 */
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "dmmp");
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_dmmultipath, &rc);
    assert_true(o->no_data);
    nt_free(o);
    nt_write(dir, "sys/block/dm-1/dm/uuid", "mpath-x\n");
    nt_write(dir, "sys/block/dm-1/dm/name", "m\n");
    nt_write(dir, "sys/block/dm-1/dm/suspended", "maybe\n");
    nt_write(dir, "sys/block/dm-1/size", "8\n");
    o = nt_run_rc(&nx_collector_dmmultipath, &rc);
    assert_int_equal(rc, -1);
    assert_false(o->no_data);
    nt_free(o);
    nt_write(dir, "sys/block/dm-1/dm/suspended", "1\n");
    o = nt_run(&nx_collector_dmmultipath); /* no slaves/: no paths */
    assert_true(nt_value(o, "node_dmmultipath_device_active", "device=m,sysfs_name=dm-1") == 0);
    assert_true(nt_value(o, "node_dmmultipath_device_size_bytes", "device=m,sysfs_name=dm-1") ==
                4096);
    assert_true(nt_value(o, "node_dmmultipath_device_paths", "device=m,sysfs_name=dm-1") == 0);
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
