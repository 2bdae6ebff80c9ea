/* Unit tests for the time collector. */
#include "proctest.h"

#include <time.h>

extern const nx_collector nx_collector_time;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    pt_flags(&nx_collector_time, NULL);
    nx_out *o = pt_run_ok(&nx_collector_time);
    assert_true(fabs(nt_value(o, "node_time_seconds", NULL) - (double)time(NULL)) < 5);
    assert_int_equal(pt_samples(o, "node_time_zone_offset_seconds"), 1);
    assert_true(nt_value(o, "node_time_clocksource_available_info", "device=0,clocksource=hpet") ==
                1);
    assert_true(nt_value(o, "node_time_clocksource_current_info", "device=0,clocksource=tsc") == 1);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    nx_out *o = pt_run_ok(&nx_collector_time); /* no clocksources: only the clock */
    assert_int_equal(o->n_families, 2);
    nt_free(o);
    nt_write(dir, "sys/devices/system/clocksource/clocksource0/available_clocksource", "tsc\n");
    pt_run_fail(&nx_collector_time); /* current_clocksource missing */
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
