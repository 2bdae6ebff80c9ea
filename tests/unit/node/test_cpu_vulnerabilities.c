/* Unit tests for the cpu_vulnerabilities collector. */
#include "sysfixture.h"

extern const nx_collector nx_collector_cpu_vulnerabilities;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = nt_run(&nx_collector_cpu_vulnerabilities);
    assert_true(nt_value(o, "node_cpu_vulnerabilities_info",
                         "codename=mds,state=vulnerable,mitigation=") == 1);
    assert_true(nt_value(o, "node_cpu_vulnerabilities_info",
                         "codename=retbleed,state=mitigation,mitigation=untrained return thunk; "
                         "SMT enabled with STIBP protection") == 1);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "vuln");
    nt_use_root(dir);
    nx_out *o = nt_run(&nx_collector_cpu_vulnerabilities);
    assert_int_equal(o->n_families, 0);
    nt_free(o);
    nt_write(dir, "sys/devices/system/cpu/vulnerabilities/a", "Processor vulnerable\n");
    nt_write(dir, "sys/devices/system/cpu/vulnerabilities/b", "Unknown:   No   mitigations\n");
    nt_write(dir, "sys/devices/system/cpu/vulnerabilities/c", "");
    o = nt_run(&nx_collector_cpu_vulnerabilities);
    assert_true(nt_value(o, "node_cpu_vulnerabilities_info",
                         "codename=a,state=unknown,mitigation=Processor vulnerable") == 1);
    assert_true(nt_value(o, "node_cpu_vulnerabilities_info",
                         "codename=b,state=unknown,mitigation=No mitigations") == 1);
    assert_true(
        nt_value(o, "node_cpu_vulnerabilities_info", "codename=c,state=unknown,mitigation=") == 1);
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
