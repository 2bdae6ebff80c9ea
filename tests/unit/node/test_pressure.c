/* Unit tests for the pressure collector. */
#include "proctest.h"

extern const nx_collector nx_collector_pressure;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = pt_run_ok(&nx_collector_pressure);
    assert_true(nt_value(o, "node_pressure_cpu_waiting_seconds_total", NULL) ==
                14036781 / 1000.0 / 1000.0);
    assert_true(nt_value(o, "node_pressure_io_stalled_seconds_total", NULL) ==
                159229614 / 1000.0 / 1000.0);
    assert_true(nt_value(o, "node_pressure_irq_stalled_seconds_total", NULL) ==
                8494 / 1000.0 / 1000.0);
    assert_int_equal(o->n_families, 6);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_run_fail(&nx_collector_pressure); /* no resource at all: no data */
    nt_write(dir, "proc/pressure/cpu",
             "some avg10=0.00 avg60=0.00 avg300=0.00 total=2000000\n"
             "other line\nfull avg10=x total=1\n");
    nx_out *o = pt_run_ok(&nx_collector_pressure);
    assert_true(nt_value(o, "node_pressure_cpu_waiting_seconds_total", NULL) == 2);
    nt_free(o);
    nt_write(dir, "proc/pressure/io", "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n");
    pt_run_fail(&nx_collector_pressure); /* io without "full" */
    pt_rm(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
