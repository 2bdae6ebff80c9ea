/* Unit tests for the edac collector. */
#include "nodetest.h"
#include "sysfixture.h"

extern const nx_collector nx_collector_edac;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = nt_run(&nx_collector_edac);
    assert_true(nt_value(o, "node_edac_correctable_errors_total", "controller=0") == 1);
    assert_true(nt_value(o, "node_edac_csrow_uncorrectable_errors_total",
                         "controller=0,csrow=unknown") == 6);
    assert_true(nt_value(o, "node_edac_csrow_correctable_errors_total", "controller=0,csrow=0") ==
                3);
    assert_true(nt_value(o, "node_edac_channel_uncorrectable_errors_total",
                         "controller=0,csrow=1,channel=1,dimm_label=mc0_csrow1_channel1") == 2);
    assert_int_equal(nt_family(o, "node_edac_channel_correctable_errors_total")->n_samples, 6);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "edac");
    nt_use_root(dir);
    nx_out *o = nt_run(&nx_collector_edac); /* no EDAC: nothing */
    assert_int_equal(o->n_families, 0);
    nt_free(o);
    const char *mc = "sys/devices/system/edac/mc/mc3";
    char p[256];
    snprintf(p, sizeof p, "%s/ce_count", mc);
    nt_write(dir, p, "1\n");
    int rc;
    o = nt_run_rc(&nx_collector_edac, &rc); /* ue_count and the rest missing */
    assert_int_equal(rc, -1);
    nt_free(o);
    static const char *const files[] = {"ce_noinfo_count", "ue_count", "ue_noinfo_count"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", mc, files[i]);
        nt_write(dir, p, "2\n");
    }
    snprintf(p, sizeof p, "%s/csrow7/ce_count", mc);
    nt_write(dir, p, "4\n");
    snprintf(p, sizeof p, "%s/csrow7/ue_count", mc);
    nt_write(dir, p, "5\n");
    snprintf(p, sizeof p, "%s/csrow7/ch2_ce_count", mc);
    nt_write(dir, p, "6\n");
    snprintf(p, sizeof p, "%s/csrow7/ch2_dimm_label", mc);
    nt_write(dir, p, "CPU#0csrow7channel2\n");
    o = nt_run(&nx_collector_edac);
    assert_true(nt_value(o, "node_edac_channel_correctable_errors_total",
                         "controller=3,csrow=7,channel=2,dimm_label=CPU0_csrow7_channel2") == 6);
    assert_null(nt_family(o, "node_edac_channel_uncorrectable_errors_total"));
    nt_free(o);
    snprintf(p, sizeof p, "%s/csrow7/ch2_ce_count", mc);
    nt_write(dir, p, "-1\n");
    o = nt_run_rc(&nx_collector_edac, &rc);
    assert_int_equal(rc, -1);
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
