/* Unit tests for the cpu collector. */
#include "proctest.h"

extern const nx_collector nx_collector_cpu;

static const char *const info_flags[] = {
    "collector.cpu.info.flags-include", "^(aes|avx.?|constant_tsc)$",
    "collector.cpu.info.bugs-include", "^(cpu_meltdown|spectre_.*|mds)$", NULL};

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    pt_flags(&nx_collector_cpu, info_flags); /* an include flag turns cpu.info on */
    nx_out *o = pt_run_ok(&nx_collector_cpu);
    assert_true(nt_value(o, "node_cpu_seconds_total", "cpu=0,mode=idle") == 10870.69);
    assert_true(nt_value(o, "node_cpu_guest_seconds_total", "cpu=7,mode=user") == 0.09);
    assert_int_equal(pt_samples(o, "node_cpu_seconds_total"), 64);
    assert_int_equal(pt_samples(o, "node_cpu_info"), 8);
    assert_true(nt_value(o, "node_cpu_flag_info", "flag=avx2") == 1);
    assert_int_equal(pt_samples(o, "node_cpu_flag_info"), 4);
    assert_int_equal(pt_samples(o, "node_cpu_bug_info"), 4);
    assert_true(nt_value(o, "node_cpu_package_throttles_total", "package=0") == 30);
    assert_true(nt_value(o, "node_cpu_core_throttles_total", "package=1,core=1") == 9);
    assert_int_equal(pt_samples(o, "node_cpu_isolated"), 5);
    assert_true(nt_value(o, "node_cpu_isolated", "cpu=9") == 1);
    assert_null(nt_family(o, "node_cpu_online")); /* cpu0 has no online file */
    nt_free(o);
}

static void test_monotonic(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_flags(&nx_collector_cpu, NULL);
    nt_write(dir, "proc/stat", "cpu0 100 0 0 1000 0 0 0 0 0 0\ncpu1 5 0 0 5 0\n");
    nt_free(pt_run_ok(&nx_collector_cpu));
    nt_write(dir, "proc/stat", "cpu0 90 0 0 999 0 0 0 0 0 0\ncpu1 5 0 0 5 0\n");
    nx_out *o = pt_run_ok(&nx_collector_cpu);
    assert_true(nt_value(o, "node_cpu_seconds_total", "cpu=0,mode=user") == 1); /* held */
    assert_true(nt_value(o, "node_cpu_seconds_total", "cpu=0,mode=idle") == 10);
    nt_free(o);
    nt_write(dir, "proc/stat", "cpu0 90 0 0 100 0 0 0 0 0 0\n"); /* idle back 9s: reset */
    o = pt_run_ok(&nx_collector_cpu);
    assert_true(nt_value(o, "node_cpu_seconds_total", "cpu=0,mode=user") == 0.9);
    assert_int_equal(pt_samples(o, "node_cpu_seconds_total"), 8); /* cpu1 gone */
    nt_free(o);
    pt_rm(dir);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_flags(&nx_collector_cpu, info_flags);
    nt_write(dir, "proc/stat", "cpu0 1 2\ncpuZ 1\n");
    pt_run_fail(&nx_collector_cpu); /* no cpuinfo */
    nt_write(dir, "proc/cpuinfo", "model name: x\n");
    pt_run_fail(&nx_collector_cpu); /* must start with processor */
    nt_write(dir, "proc/cpuinfo",
             "\nprocessor\t: zz\ncpu MHz : bad\nflags\t: aes sse\nbugs\t:\n"
             "power management:\nprocessor : 1\n");
    nt_write(dir, "sys/devices/system/cpu/isolated", "1-x\n");
    nt_write(dir, "sys/devices/system/cpu/cpu0/online", "1\n");
    nt_write(dir, "sys/devices/system/cpu/cpu0/topology/core_id", "bad\n");
    nx_out *o = pt_run_ok(&nx_collector_cpu);
    assert_int_equal(pt_samples(o, "node_cpu_info"), 2);
    assert_true(nt_value(o, "node_cpu_flag_info", "flag=aes") == 1);
    assert_true(nt_value(o, "node_cpu_online", "cpu=0") == 1);
    assert_true(nt_value(o, "node_cpu_seconds_total", "cpu=0,mode=nice") == 0.02);
    assert_int_equal(pt_samples(o, "node_cpu_core_throttles_total"), 0);
    nt_free(o);
    pt_rm(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_monotonic),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
