/* Unit tests for the qdisc collector (fixture mode). */
#include "nodetest.h"

extern const nx_collector nx_collector_qdisc;

static int configure(const char *fixtures, const char *include, const char *exclude)
{
    *(const char **)nx_collector_qdisc.flags[0].dest = fixtures;
    *(const char **)nx_collector_qdisc.flags[1].dest = include;
    *(const char **)nx_collector_qdisc.flags[3].dest = exclude;
    core_err err;
    return nx_collector_qdisc.init(&err);
}

static void test_fixture(void **state)
{
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/qdisc/", nt_fixtures());
    assert_int_equal(configure(dir, "(wlan0|eth0)", NULL), 0);
    nx_out *o = nt_run(&nx_collector_qdisc);
    assert_true(nt_value(o, "node_qdisc_bytes_total", "device=eth0,kind=pfifo_fast") == 83);
    assert_true(nt_value(o, "node_qdisc_drops_total", "device=wlan0,kind=fq") == 1);
    assert_true(nt_value(o, "node_qdisc_backlog", "device=eth0,kind=pfifo_fast") == 0);
    assert_int_equal(nt_family(o, "node_qdisc_backlog")->type, PROM_GAUGE);
    nt_free(o);
    assert_int_equal(configure(dir, NULL, "eth"), 0);
    o = nt_run(&nx_collector_qdisc);
    assert_int_equal(nt_family(o, "node_qdisc_bytes_total")->n_samples, 1);
    nt_free(o);
    assert_int_equal(configure(dir, "a", "b"), -1);
}

static void test_malformed(void **state)
{
    char dir[] = "/tmp/nt-qdisc-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int rc;
    assert_int_equal(configure("", NULL, NULL), 0);
    nx_out *o = nt_run_rc(&nx_collector_qdisc, &rc); /* no netlink support */
    assert_int_equal(rc, -1);
    nt_free(o);
    assert_int_equal(configure(dir, NULL, NULL), 0);
    o = nt_run_rc(&nx_collector_qdisc, &rc); /* no results.json */
    assert_int_equal(rc, -1);
    nt_free(o);
    static const char *bad[] = {
        "[", "{}", "[1]", "[{\"Bytes\": -1}]", "[{\"Bytes\": 1.5}]", "[{\"IfaceName\": 3}]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nt_write(dir, "results.json", bad[i]);
        o = nt_run_rc(&nx_collector_qdisc, &rc);
        assert_int_equal(rc, -1);
        nt_free(o);
    }
    nt_write(dir, "results.json",
             "[{\"ifacename\": \"x\", \"KIND\": \"fq\", \"qlen\": 4, \"Parent\": 0},"
             " {\"IfaceName\": \"y\", \"Parent\": 65536}]");
    o = nt_run(&nx_collector_qdisc);
    assert_true(nt_value(o, "node_qdisc_current_queue_length", "device=x,kind=fq") == 4);
    assert_int_equal(nt_family(o, "node_qdisc_bytes_total")->n_samples, 1);
    nt_free(o);
    assert_int_equal(configure("", NULL, NULL), 0);
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
