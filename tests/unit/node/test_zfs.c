/* Unit tests for the zfs collector. */
#include "nodetest.h"

extern const nx_collector nx_collector_zfs;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = nt_run(&nx_collector_zfs);
    assert_true(nt_value(o, "node_zfs_abd_struct_size", NULL) == 2520);
    assert_true(nt_value(o, "node_zfs_fm_erpt_dropped", NULL) == 18);
    assert_true(nt_value(o, "node_zfs_dmu_tx_dmu_tx_assigned", NULL) == 3532844);
    const nx_fam *f = nt_family(o, "node_zfs_arc_anon_size");
    assert_non_null(f);
    assert_int_equal(f->type, PROM_UNTYPED);
    assert_string_equal(f->help, "kstat.zfs.misc.arcstats.anon_size");
    assert_true(nt_value(o, "node_zfs_zpool_nread", "zpool=pool1") == 1884160);
    assert_string_equal(nt_family(o, "node_zfs_zpool_nread")->help, "kstat.zfs.misc.io.nread");
    assert_true(nt_value(o, "node_zfs_zpool_dataset_nwritten",
                         "zpool=pool3,dataset=pool3/dataset with  space") == 12302);
    assert_true(nt_value(o, "node_zfs_zpool_state", "zpool=pool2,state=suspended") == 1);
    assert_true(nt_value(o, "node_zfs_zpool_state", "zpool=pool2,state=online") == 0);
    assert_int_equal(nt_family(o, "node_zfs_zpool_state")->type, PROM_GAUGE);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[] = "/tmp/nt-zfs-XXXXXX";
    assert_non_null(mkdtemp(dir));
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_zfs, &rc); /* no zfs at all */
    assert_int_equal(rc, -1);
    nt_free(o);

    nt_write(dir, "proc/spl/kstat/zfs/arcstats",
             "6 1 0x01\nname type data\nhits 4 12\nbad 4 x1\nneg 3 -5\nstr 7 text\nshort 4\n"
             "dash-ed 4 7");
    nt_write(dir, "proc/spl/kstat/zfs/p/io", "nread nwritten\n1 2\n");
    nt_write(dir, "proc/spl/kstat/zfs/q/io",
             "x\nnread a b c d e f g h i j k\n1 2 3\n1 2 3 4 5 6 7 8 9 10 11 z\n");
    nt_write(dir, "proc/spl/kstat/zfs/q/state", "");
    o = nt_run(&nx_collector_zfs);
    assert_true(nt_value(o, "node_zfs_arc_hits", NULL) == 12);
    assert_true(nt_value(o, "node_zfs_arc_neg", NULL) == -5);
    assert_true(nt_value(o, "node_zfs_arc_dash_ed", NULL) == 7);
    assert_null(nt_family(o, "node_zfs_arc_bad"));
    assert_null(nt_family(o, "node_zfs_arc_str"));
    assert_true(nt_value(o, "node_zfs_zpool_nread", "zpool=q") == 1);
    assert_null(nt_family(o, "node_zfs_zpool_k"));
    assert_true(nt_value(o, "node_zfs_zpool_state", "zpool=q,state=online") == 0);
    nt_free(o);

    nt_write(dir, "proc/spl/kstat/zfs/zil", "no header\n1 4 2\n");
    o = nt_run_rc(&nx_collector_zfs, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    nt_write(dir, "proc/spl/kstat/zfs/zil", "name type data\n");
    nt_write(dir, "proc/spl/kstat/zfs/q/objset-1", "garbage");
    o = nt_run_rc(&nx_collector_zfs, &rc);
    assert_int_equal(rc, -1);
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
