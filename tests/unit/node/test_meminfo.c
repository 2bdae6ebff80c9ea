/* Unit tests for the meminfo collector. */
#include "proctest.h"

extern const nx_collector nx_collector_meminfo;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = pt_run_ok(&nx_collector_meminfo);
    assert_true(nt_value(o, "node_memory_MemTotal_bytes", NULL) == 3742148.0 * 1024);
    assert_true(nt_value(o, "node_memory_Active_anon_bytes", NULL) == 2020004.0 * 1024);
    assert_true(nt_value(o, "node_memory_HugePages_Total", NULL) == 0);
    assert_true(nt_value(o, "node_memory_Hugepagesize_bytes", NULL) == 2048.0 * 1024);
    assert_null(nt_family(o, "node_memory_MemAvailable_bytes")); /* not in the fixture */
    assert_string_equal(nt_family(o, "node_memory_Slab_bytes")->help,
                        "Memory information field Slab_bytes.");
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_run_fail(&nx_collector_meminfo); /* missing file */
    nt_write(dir, "proc/meminfo",
             "MemTotal: 10 kB\nBad line\nMemFree: x kB\nCached: 5 MB\nHugePages_Free: 3\n"
             "Hugetlb: 7 kB\nBuffers:");
    nx_out *o = pt_run_ok(&nx_collector_meminfo);
    assert_true(nt_value(o, "node_memory_MemTotal_bytes", NULL) == 10240);
    assert_true(nt_value(o, "node_memory_HugePages_Free", NULL) == 3);
    assert_null(nt_family(o, "node_memory_MemFree_bytes"));
    assert_null(nt_family(o, "node_memory_Cached_bytes"));
    assert_null(nt_family(o, "node_memory_Hugetlb_bytes"));
    nt_free(o);
    pt_rm(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
