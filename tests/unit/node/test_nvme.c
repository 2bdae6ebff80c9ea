/* Unit tests for the nvme collector. */
#include "sysfixture.h"

extern const nx_collector nx_collector_nvme;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = nt_run(&nx_collector_nvme);
    assert_true(nt_value(o, "node_nvme_info",
                         "device=nvme0,firmware_revision=1B2QEXP7,model=Samsung SSD 970 PRO 512GB,"
                         "serial=S680HF8N190894I,state=live,cntlid=1997") == 1);
    assert_true(nt_value(o, "node_nvme_namespace_used_bytes", "device=nvme0,nsid=1") == 2e12);
    assert_true(nt_value(o, "node_nvme_namespace_capacity_bytes", "device=nvme0,nsid=1") == 1.6e13);
    assert_true(
        nt_value(o, "node_nvme_namespace_info", "device=nvme0,nsid=1,ana_state=optimized") == 1);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "nvme");
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_nvme, &rc);
    assert_int_equal(rc, -1);
    assert_true(o->no_data);
    nt_free(o);
    static const char *const files[] = {"firmware_rev", "model", "serial", "state"};
    for (int i = 0; i < 4; i++) {
        char p[128];
        snprintf(p, sizeof p, "sys/class/nvme/nvme1/%s", files[i]);
        nt_write(dir, p, "x\n");
    }
    o = nt_run_rc(&nx_collector_nvme, &rc); /* cntlid missing */
    assert_int_equal(rc, -1);
    assert_false(o->no_data);
    nt_free(o);
    nt_write(dir, "sys/class/nvme/nvme1/cntlid", "1\n");
    nt_write(dir, "sys/class/nvme/nvme1/nvme1n2/nuse", "junk\n");
    nt_write(dir, "sys/class/nvme/nvme1/nvme1n2/size", "10\n");
    nt_write(dir, "sys/class/nvme/nvme1/nvme1n2/queue/logical_block_size", "512\n");
    o = nt_run(&nx_collector_nvme);
    assert_true(nt_value(o, "node_nvme_namespace_used_bytes", "device=nvme1,nsid=2") == 0);
    assert_true(nt_value(o, "node_nvme_namespace_size_bytes", "device=nvme1,nsid=2") == 5120);
    assert_true(nt_value(o, "node_nvme_namespace_info", "device=nvme1,nsid=2,ana_state=unknown") ==
                1);
    nt_free(o);
    st_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
