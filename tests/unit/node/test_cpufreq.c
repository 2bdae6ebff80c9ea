/* Unit tests for the cpufreq collector. */
#include "sysfixture.h"

extern const nx_collector nx_collector_cpufreq;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = nt_run(&nx_collector_cpufreq);
    assert_true(nt_value(o, "node_cpu_scaling_frequency_hertz", "cpu=0") == 1699981000.0);
    assert_true(nt_value(o, "node_cpu_scaling_frequency_max_hertz", "cpu=2") == 4.2e9);
    assert_true(nt_value(o, "node_cpu_scaling_governor", "cpu=1,governor=powersave") == 1);
    assert_true(nt_value(o, "node_cpu_scaling_governor", "cpu=1,governor=performance") == 0);
    assert_null(nt_family(o, "node_cpu_frequency_hertz")); /* no cpuinfo_cur_freq */
    nt_free(o);
}

static void write_cpu(const char *dir, const char *cpu, const char *governor)
{
    static const char *const files[] = {"scaling_available_governors", "scaling_driver",
                                        "related_cpus", "scaling_setspeed"};
    char p[256];
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "sys/devices/system/cpu/%s/cpufreq/%s", cpu, files[i]);
        nt_write(dir, p, i == 0 ? "a b\n" : "x\n");
    }
    snprintf(p, sizeof p, "sys/devices/system/cpu/%s/cpufreq/scaling_governor", cpu);
    nt_write(dir, p, governor);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "cpufreq");
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_cpufreq, &rc); /* no offline file */
    assert_int_equal(rc, -1);
    nt_free(o);
    nt_write(dir, "sys/devices/system/cpu/offline", "1\n");
    write_cpu(dir, "cpu0", "b\n");
    write_cpu(dir, "cpu1", "a\n");
    nt_write(dir, "sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_cur_freq", "1000\n");
    o = nt_run(&nx_collector_cpufreq); /* cpu1 is offline */
    assert_true(nt_value(o, "node_cpu_frequency_hertz", "cpu=0") == 1e6);
    assert_true(nt_value(o, "node_cpu_scaling_governor", "cpu=0,governor=b") == 1);
    assert_true(isnan(nt_value(o, "node_cpu_scaling_governor", "cpu=1,governor=a")));
    nt_free(o);
    nt_write(dir, "sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_cur_freq", "fast\n");
    o = nt_run_rc(&nx_collector_cpufreq, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    nt_write(dir, "sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_cur_freq", "1000\n");
    nt_write(dir, "sys/devices/system/cpu/cpu0/cpufreq/stats/time_in_state", "100 2 3\n");
    o = nt_run_rc(&nx_collector_cpufreq, &rc);
    assert_int_equal(rc, -1);
    nt_free(o);
    nt_write(dir, "sys/devices/system/cpu/cpu0/cpufreq/stats/time_in_state", "100 2\n");
    nt_write(dir, "sys/devices/system/cpu/offline", "1-x\n");
    o = nt_run_rc(&nx_collector_cpufreq, &rc);
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
