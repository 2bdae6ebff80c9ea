/* Unit tests for the watchdog collector. */
#include "sysfixture.h"

extern const nx_collector nx_collector_watchdog;

static void test_fixture(void **state)
{
    nt_use_root(st_fixture_copy());
    nx_out *o = nt_run(&nx_collector_watchdog);
    assert_true(nt_value(o, "node_watchdog_timeleft_seconds", "name=watchdog0") == 300);
    assert_true(nt_value(o, "node_watchdog_info",
                         "identity=,name=watchdog1,options=,pretimeout_governor=,state=,status=") ==
                1);
    assert_string_equal(nt_family(o, "node_watchdog_bootstatus")->help,
                        "Value of /sys/class/watchdog/<watchdog>/bootstatus");
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "watchdog");
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_watchdog, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    nt_write(dir, "sys/class/watchdog/w0/timeout", "soon\n");
    nt_write(dir, "sys/class/watchdog/w0/nowayout", "0x1\n");
    o = nt_run(&nx_collector_watchdog);
    assert_null(nt_family(o, "node_watchdog_timeout_seconds"));
    assert_true(nt_value(o, "node_watchdog_nowayout", "name=w0") == 1);
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
