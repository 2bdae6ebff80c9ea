/* Unit tests for the tapestats collector. */
#include "proctest.h"
#include "sysfixture.h"

extern const nx_collector nx_collector_tapestats;

static void test_fixture(void **state)
{
    pt_flags(&nx_collector_tapestats, NULL);
    nt_use_root(st_fixture_copy());
    nx_out *o = nt_run(&nx_collector_tapestats);
    assert_true(nt_value(o, "node_tape_io_now", "device=st0") == 1);
    assert_true(nt_value(o, "node_tape_read_bytes_total", "device=st0") == 979383912);
    assert_true(fabs(nt_value(o, "node_tape_io_time_seconds_total", "device=st0") - 9247.01108772) <
                1e-6);
    assert_int_equal(pt_samples(o, "node_tape_io_now"), 1); /* nst0, st0a... are left out */
    assert_int_equal(nt_family(o, "node_tape_written_bytes_total")->type, PROM_COUNTER);
    nt_free(o);
    pt_flags(&nx_collector_tapestats,
             (const char *[]){"collector.tapestats.ignored-devices", "^st0$", NULL});
    o = nt_run(&nx_collector_tapestats);
    assert_null(nt_family(o, "node_tape_io_now"));
    nt_free(o);
    pt_flags(&nx_collector_tapestats, NULL);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "tape");
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_tapestats, &rc); /* no class: no data */
    assert_int_equal(rc, -1);
    assert_true(o->no_data);
    nt_free(o);
    nt_write(dir, "sys/class/scsi_tape/st1/stats/read_cnt", "many\n");
    o = nt_run_rc(&nx_collector_tapestats, &rc);
    assert_int_equal(rc, -1);
    assert_false(o->no_data);
    nt_free(o);
    nt_write(dir, "sys/class/scsi_tape/st1/stats/read_cnt", "7\n");
    nt_write(dir, "sys/class/scsi_tape/st1/stats/unknown", "x\n");
    o = nt_run(&nx_collector_tapestats);
    assert_true(nt_value(o, "node_tape_reads_completed_total", "device=st1") == 7);
    assert_true(nt_value(o, "node_tape_io_now", "device=st1") == 0);
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
