/* Unit tests for the interrupts collector. */
#include "proctest.h"

extern const nx_collector nx_collector_interrupts;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    pt_flags(&nx_collector_interrupts, NULL);
    nx_out *o = pt_run_ok(&nx_collector_interrupts);
    assert_true(nt_value(o, "node_interrupts_total",
                         "cpu=0,type=1,info=IR-IO-APIC-edge,devices=i8042") == 17960);
    assert_true(nt_value(o, "node_interrupts_total",
                         "cpu=1,type=LOC,info=Local timer interrupts,devices=") == 135776678);
    nt_free(o);
}

static void test_filters_and_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_flags(&nx_collector_interrupts,
             (const char *[]){"collector.interrupts.include-zeros", "false",
                              "collector.interrupts.name-exclude", "^NMI;", NULL});
    pt_run_fail(&nx_collector_interrupts);
    nt_write(dir, "proc/interrupts", "");
    pt_run_fail(&nx_collector_interrupts);
    nt_write(dir, "proc/interrupts",
             "  CPU0 CPU1\n  0: 5 0 edge timer dev\nERR: 3\n"
             "NMI: 1 2 Non-maskable\nLOC: x 4 Local\nno colon here\n"
             " 0: 6 1 edge timer2\n");
    nx_out *o = pt_run_ok(&nx_collector_interrupts);
    assert_true(nt_value(o, "node_interrupts_total", "cpu=0,type=0,info=edge,devices=timer2") == 6);
    assert_true(nt_value(o, "node_interrupts_total", "cpu=1,type=LOC,info=Local,devices=") == 4);
    assert_int_equal(pt_samples(o, "node_interrupts_total"), 3); /* ERR, NMI, zeros, bad out */
    nt_free(o);
    pt_rm(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_filters_and_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
