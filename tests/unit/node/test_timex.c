/* Unit tests for the timex collector (adjtimex on this machine). */
#include "proctest.h"

extern const nx_collector nx_collector_timex;

static void test_live(void **state)
{
    nx_out *o = pt_run_ok(&nx_collector_timex);
    assert_true(nt_value(o, "node_timex_tick_seconds", NULL) > 0);
    assert_true(nt_value(o, "node_timex_frequency_adjustment_ratio", NULL) > 0.9);
    assert_int_equal(nt_family(o, "node_timex_pps_error_total")->type, PROM_COUNTER);
    assert_int_equal(o->n_families, 17);
    nt_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
