/* Unit tests for the nfs and nfsd collectors. */
#include "nodetest.h"

extern const nx_collector nx_collector_nfs;
extern const nx_collector nx_collector_nfsd;

static void test_nfs_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = nt_run(&nx_collector_nfs);
    assert_true(nt_value(o, "node_nfs_packets_total", "protocol=tcp") == 69);
    assert_true(nt_value(o, "node_nfs_connections_total", NULL) == 45);
    assert_true(nt_value(o, "node_nfs_rpcs_total", NULL) == 1218785755);
    assert_true(nt_value(o, "node_nfs_requests_total", "proto=2,method=Link") == 17);
    assert_true(nt_value(o, "node_nfs_requests_total", "proto=3,method=ReadDirPlus") == 92385);
    assert_true(nt_value(o, "node_nfs_requests_total", "proto=4,method=GetDeviceInfo") == 1);
    assert_true(nt_value(o, "node_nfs_requests_total", "proto=4,method=LayoutGet") == 90);
    assert_true(nt_value(o, "node_nfs_requests_total", "proto=4,method=Clone") == 0);
    assert_int_equal(nt_family(o, "node_nfs_requests_total")->n_samples, 18 + 22 + 59);
    nt_free(o);
}

static void test_nfsd_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = nt_run(&nx_collector_nfsd);
    assert_true(nt_value(o, "node_nfsd_reply_cache_nocache_total", NULL) == 18622);
    assert_true(nt_value(o, "node_nfsd_server_threads", NULL) == 8);
    assert_int_equal(nt_family(o, "node_nfsd_server_threads")->type, PROM_GAUGE);
    assert_true(nt_value(o, "node_nfsd_read_ahead_cache_size_blocks", NULL) == 32);
    assert_true(nt_value(o, "node_nfsd_rpc_errors_total", "error=cInt") == 0);
    assert_true(nt_value(o, "node_nfsd_rpc_errors_total", "error=fmt") == 1);
    assert_true(nt_value(o, "node_nfsd_requests_total", "proto=2,method=Lookup") == 4410);
    assert_true(nt_value(o, "node_nfsd_requests_total", "proto=4,method=PutFH") == 9609);
    assert_true(nt_value(o, "node_nfsd_requests_total", "proto=4,method=WdelegGetattr") == 15);
    assert_true(isnan(nt_value(o, "node_nfsd_requests_total", "proto=2,method=Null")));
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[] = "/tmp/nt-nfs-XXXXXX";
    assert_non_null(mkdtemp(dir));
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_nfs, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    o = nt_run_rc(&nx_collector_nfsd, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    nt_write(dir, "proc/net/rpc/nfs",
             "net 1 2 3\nrpc 7 8 9\nproc2 3 1 2 3\nproc3\nproc4 2 5 6\nbogus 1\nrpc x y z\n");
    o = nt_run(&nx_collector_nfs);
    assert_true(nt_value(o, "node_nfs_packets_total", "protocol=udp") == 0);
    assert_true(nt_value(o, "node_nfs_rpcs_total", NULL) == 7);
    assert_true(nt_value(o, "node_nfs_requests_total", "proto=2,method=Null") == 0);
    assert_true(nt_value(o, "node_nfs_requests_total", "proto=4,method=Read") == 6);
    assert_true(nt_value(o, "node_nfs_requests_total", "proto=4,method=Write") == 0);
    nt_free(o);
    nt_write(dir, "proc/net/rpc/nfsd",
             "th 4 0 0.000 1.5\nrc 1 2\nproc4ops 2 1 1\nwdeleg_getattr 3 4\nra\nnet 1 2 3 4");
    o = nt_run(&nx_collector_nfsd);
    assert_true(nt_value(o, "node_nfsd_server_threads", NULL) == 4);
    assert_true(nt_value(o, "node_nfsd_reply_cache_hits_total", NULL) == 0);
    assert_true(nt_value(o, "node_nfsd_requests_total", "proto=4,method=WdelegGetattr") == 3);
    assert_true(nt_value(o, "node_nfsd_connections_total", NULL) == 4);
    nt_free(o);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nfs_fixture),
        cmocka_unit_test(test_nfsd_fixture),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
