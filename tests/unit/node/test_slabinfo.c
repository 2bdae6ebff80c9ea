/* Unit tests for the slabinfo collector. */
#include "proctest.h"

extern const nx_collector nx_collector_slabinfo;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    pt_flags(&nx_collector_slabinfo, NULL);
    nx_out *o = pt_run_ok(&nx_collector_slabinfo);
    assert_true(nt_value(o, "node_slabinfo_objects", "slab=kmalloc-8192") == 148);
    assert_true(nt_value(o, "node_slabinfo_object_size_bytes", "slab=tw_sock_TCP") == 256);
    assert_true(nt_value(o, "node_slabinfo_pages_per_slab", "slab=dmaengine-unmap-128") == 8);
    nt_free(o);
    pt_flags(&nx_collector_slabinfo,
             (const char *[]){"collector.slabinfo.slabs-exclude", "^kmalloc", NULL});
    o = pt_run_ok(&nx_collector_slabinfo);
    assert_true(isnan(nt_value(o, "node_slabinfo_objects", "slab=kmalloc-8192")));
    assert_true(nt_value(o, "node_slabinfo_objects", "slab=tw_sock_TCP") == 864);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_flags(&nx_collector_slabinfo, NULL);
    pt_run_fail(&nx_collector_slabinfo);
    nt_write(dir, "proc/slabinfo",
             "slabinfo - version: 2.1\n# name <x>\nshort 1 2\n"
             "bad x 2 3 4 5 : tunables 0 0 0 : slabdata 1 1 0\n"
             "ok 1 2 3 4 5 : tunables 0 0 0 : slabdata 1 1 0\n");
    nx_out *o = pt_run_ok(&nx_collector_slabinfo);
    assert_int_equal(pt_samples(o, "node_slabinfo_objects"), 1);
    assert_true(nt_value(o, "node_slabinfo_objects_per_slab", "slab=ok") == 4);
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
