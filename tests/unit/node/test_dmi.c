/* Unit tests for the dmi collector. */
#include "sysfixture.h"

extern const nx_collector nx_collector_dmi;

static void test_fixture(void **state)
{
    nt_use_root(st_fixture_copy());
    nx_out *o = nt_run(&nx_collector_dmi);
    const nx_fam *f = nt_family(o, "node_dmi_info");
    assert_non_null(f);
    assert_int_equal(f->n_samples, 1);
    size_t present = 0;
    for (size_t i = 0; i < f->n_labels; i++) {
        const char *v = f->samples[0].values[i];
        present += v != NULL;
        if (strcmp(f->labels[i], "system_vendor") == 0) assert_string_equal(v, "Dell Inc.");
        if (strcmp(f->labels[i], "product_version") == 0)
            assert_string_equal(v, "\xef\xbf\xbd\x1c[\xef\xbf\xbd");
        if (strcmp(f->labels[i], "board_asset_tag") == 0) assert_null(v);
    }
    assert_int_equal(present, 19);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "dmi");
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_dmi, &rc);
    assert_true(o->no_data);
    nt_free(o);
    nt_write(dir, "sys/class/dmi/id/modalias", "x\n");
    o = nt_run_rc(&nx_collector_dmi, &rc);
    assert_true(o->no_data);
    nt_free(o);
    nt_write(dir, "sys/class/dmi/id/bios_vendor", "  Acme  \n");
    o = nt_run(&nx_collector_dmi);
    assert_string_equal(nt_family(o, "node_dmi_info")->samples[0].values[2], "Acme");
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
