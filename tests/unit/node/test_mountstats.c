/* Unit tests for the mountstats collector. */
#include "nodetest.h"

extern const nx_collector nx_collector_mountstats;

#define TCP "export=192.168.1.1:/srv/test,protocol=tcp,mountaddr=192.168.1.1"
#define UDP "export=192.168.1.1:/srv/test,protocol=udp,mountaddr=192.168.1.1"

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = nt_run(&nx_collector_mountstats);
    assert_true(nt_value(o, "node_mountstats_nfs_age_seconds_total", TCP) == 13968);
    assert_true(nt_value(o, "node_mountstats_nfs_total_read_bytes_total", UDP) == 1210214218);
    assert_true(nt_value(o, "node_mountstats_nfs_mountpoint_info",
                         TCP ",mountpoint=/mnt/nfs/test-dupe") == 1);
    assert_int_equal(nt_family(o, "node_mountstats_nfs_mountpoint_info")->n_samples, 3);
    /* the tcp dupe is reported once: the first mount has no ACCESS op */
    assert_true(isnan(
        nt_value(o, "node_mountstats_nfs_operations_requests_total", TCP ",operation=ACCESS")));
    assert_true(nt_value(o, "node_mountstats_nfs_operations_queue_time_seconds_total",
                         UDP ",operation=ACCESS") == 9007044786793.922);
    assert_true(
        nt_value(o, "node_mountstats_nfs_transport_idle_time_seconds", TCP ",transport=0") == 11);
    assert_true(nt_value(o, "node_mountstats_nfs_transport_sends_total", UDP ",transport=0") ==
                6428);
    assert_true(nt_value(o, "node_mountstats_nfs_event_vfs_flush_total", TCP) == 77);
    assert_int_equal(nt_family(o, "node_mountstats_nfs_transport_maximum_rpc_slots")->type,
                     PROM_GAUGE);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[] = "/tmp/nt-mountstats-XXXXXX";
    assert_non_null(mkdtemp(dir));
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_mountstats, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    nt_write(dir, "proc/self", "7");
    nt_write(dir, "proc/7/mountinfo", "garbage\n1 0 0:1 / /m rw - nfs s:/x rw,addr=10.0.0.9\n");
    nt_write(
        dir, "proc/7/mountstats",
        "device a mounted on / with fstype ext4\n"
        "device bad line\n"
        "device s:/x mounted on /m with fstype nfs statvers=1.1\n"
        "\tage:\tx\n\tbytes:\t1 2 3\n\tevents:\t1\n"
        "\txprt:\tudp 1 2 3 4 5 6 7 8 9 10\n\txprt:\tsctp 1 2\n\txprt:\ttcp 1\n"
        "\tper-op statistics\n\t  READ: 1 2 3 4 5 6 7 8\n\t  BAD: 1 2\n\t  W: x 1 1 1 1 1 1 1\n"
        "\n"
        "device t:/y mounted on /n with fstype nfs statvers=9\n"
        "\txprt:\ttcp 1 2 3 4 5 6 7 8 9 10\n");
    o = nt_run(&nx_collector_mountstats);
    const char *l = "export=s:/x,protocol=udp,mountaddr=10.0.0.9";
    assert_true(nt_value(o, "node_mountstats_nfs_age_seconds_total", l) == 0);
    assert_true(nt_value(o, "node_mountstats_nfs_transport_sends_total",
                         "export=s:/x,protocol=udp,mountaddr=10.0.0.9,transport=0") == 3);
    assert_true(nt_value(o, "node_mountstats_nfs_transport_connect_total",
                         "export=s:/x,protocol=udp,mountaddr=10.0.0.9,transport=0") == 0);
    assert_true(nt_value(o, "node_mountstats_nfs_operations_requests_total",
                         "export=s:/x,protocol=udp,mountaddr=10.0.0.9,operation=READ") == 1);
    assert_int_equal(nt_family(o, "node_mountstats_nfs_operations_requests_total")->n_samples, 1);
    assert_int_equal(nt_family(o, "node_mountstats_nfs_mountpoint_info")->n_samples, 1);
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
