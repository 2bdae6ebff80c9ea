/* Unit tests for the loadavg collector. */
#include "nodetest.h"

extern const nx_collector nx_collector_loadavg;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = nt_run(&nx_collector_loadavg);
    assert_true(nt_value(o, "node_load1", NULL) == 0.21);
    assert_true(nt_value(o, "node_load5", NULL) == 0.37);
    assert_true(nt_value(o, "node_load15", NULL) == 0.39);
    assert_string_equal(nt_family(o, "node_load1")->help, "1m load average.");
    assert_int_equal(nt_family(o, "node_load1")->type, PROM_GAUGE);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[] = "/tmp/nt-loadavg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_loadavg, &rc); /* missing file */
    assert_int_equal(rc, -1);
    assert_non_null(strstr(o->err.msg, "couldn't read"));
    nt_free(o);
    static const char *bad[] = {"", "0.1 0.2", "0.1 x 0.3 1/2 3", "\n\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nt_write(dir, "proc/loadavg", bad[i]);
        o = nt_run_rc(&nx_collector_loadavg, &rc);
        assert_int_equal(rc, -1);
        assert_non_null(strstr(o->err.msg, "unexpected content"));
        nt_free(o);
    }
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
