/* Unit tests for the ipvs collector. */
#include "nodetest.h"

extern const nx_collector nx_collector_ipvs;

static int set_labels(const char *v)
{
    *(const char **)nx_collector_ipvs.flags[0].dest = v;
    core_err err = {0};
    return nx_collector_ipvs.init(&err);
}

static void test_fixture(void **state)
{
    assert_int_equal(set_labels(nx_collector_ipvs.flags[0].def), 0);
    nt_use_root(nt_fixtures());
    nx_out *o = nt_run(&nx_collector_ipvs);
    assert_true(nt_value(o, "node_ipvs_connections_total", NULL) == 23765872);
    assert_true(nt_value(o, "node_ipvs_incoming_bytes_total", NULL) == 89991519156915.0);
    assert_true(nt_value(o, "node_ipvs_backend_connections_active",
                         "local_address=192.168.0.57,local_port=3306,remote_address=192.168.82.21,"
                         "remote_port=3306,proto=TCP,local_mark=") == 1499);
    assert_true(nt_value(o, "node_ipvs_backend_weight",
                         "local_address=,local_port=0,remote_address=192.168.50.26,"
                         "remote_port=3306,proto=FWM,local_mark=10001000") == 20);
    assert_int_equal(nt_family(o, "node_ipvs_backend_weight")->type, PROM_GAUGE);
    nt_free(o);

    /* fewer labels: backends sharing them are summed */
    assert_int_equal(set_labels("proto,local_port"), 0);
    o = nt_run(&nx_collector_ipvs);
    assert_true(nt_value(o, "node_ipvs_backend_connections_active", "local_port=3306,proto=TCP") ==
                248 * 3 + 1499 + 1498);
    assert_true(nt_value(o, "node_ipvs_backend_connections_inactive", "local_port=0,proto=FWM") ==
                6);
    nt_free(o);
    assert_int_equal(set_labels("proto,bogus"), -1);
    assert_int_equal(set_labels(nx_collector_ipvs.flags[0].def), 0);
}

static void test_malformed(void **state)
{
    char dir[] = "/tmp/nt-ipvs-XXXXXX";
    assert_non_null(mkdtemp(dir));
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_ipvs, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    nt_write(dir, "proc/net/ip_vs_stats", "a\nb\n1 2 3 4\n");
    o = nt_run_rc(&nx_collector_ipvs, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    nt_write(dir, "proc/net/ip_vs_stats", "a\nb\n1 2 3 4 FF\n");
    nt_write(dir, "proc/net/ip_vs",
             "x\nTCP [2620:0000:0000:0000:0000:0000:0000:0001]:0050 rr\n"
             "  -> [0000:0000:0000:0000:0000:ffff:0a00:0001]:0050 Route 1 2 3\n"
             "  -> [2001:0db8:0000:0001:0000:0000:0000:0001]:0050 Route 1 2\n"
             "  -> C0A80016:0CEA Route x 1 1\nlonely\n");
    o = nt_run(&nx_collector_ipvs);
    assert_true(nt_value(o, "node_ipvs_outgoing_bytes_total", NULL) == 255);
    assert_true(nt_value(o, "node_ipvs_backend_connections_inactive",
                         "local_address=2620::1,local_port=80,remote_address=10.0.0.1,"
                         "remote_port=80,proto=TCP,local_mark=") == 3);
    assert_int_equal(nt_family(o, "node_ipvs_backend_weight")->n_samples, 1);
    nt_free(o);
    nt_write(dir, "proc/net/ip_vs", "UDP nonsense rr\n");
    o = nt_run_rc(&nx_collector_ipvs, &rc);
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
