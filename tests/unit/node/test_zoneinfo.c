/* Unit tests for the zoneinfo collector. */
#include "proctest.h"

extern const nx_collector nx_collector_zoneinfo;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = pt_run_ok(&nx_collector_zoneinfo);
    assert_true(nt_value(o, "node_zoneinfo_nr_free_pages", "node=0,zone=Normal") == 4539739);
    assert_true(nt_value(o, "node_zoneinfo_nr_dirtied_total", "node=0,zone=DMA") == 1189097);
    assert_true(nt_value(o, "node_zoneinfo_protection_1", "node=0,zone=DMA") == 2039);
    assert_int_equal(nt_family(o, "node_zoneinfo_numa_hit_total")->type, PROM_COUNTER);
    assert_string_equal(nt_family(o, "node_zoneinfo_protection_0")->help,
                        "Protection array 0. field");
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_run_fail(&nx_collector_zoneinfo);
    nt_write(dir, "proc/zoneinfo",
             "Node 0, zone   DMA\n  min 0x10\n  low x\n  protection: (1, y)\n"
             "Node 1, zone Normal\n  high 4\n  protection: (0, 7)\n"
             "Node , zone\n  spanned 2\n");
    nx_out *o = pt_run_ok(&nx_collector_zoneinfo);
    assert_true(nt_value(o, "node_zoneinfo_min_pages", "node=0,zone=DMA") == 16);
    assert_null(nt_family(o, "node_zoneinfo_low_pages"));
    assert_int_equal(pt_samples(o, "node_zoneinfo_protection_1"), 1);
    assert_true(nt_value(o, "node_zoneinfo_protection_1", "node=1,zone=Normal") == 7);
    assert_true(nt_value(o, "node_zoneinfo_spanned_pages", "node=,zone=") == 2);
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
