/* Unit tests for the entropy collector. */
#include "proctest.h"

extern const nx_collector nx_collector_entropy;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = pt_run_ok(&nx_collector_entropy);
    assert_true(nt_value(o, "node_entropy_available_bits", NULL) == 1337);
    assert_true(nt_value(o, "node_entropy_pool_size_bits", NULL) == 4096);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_run_fail(&nx_collector_entropy);
    nt_write(dir, "proc/sys/kernel/random/entropy_avail", "256\n");
    pt_run_fail(&nx_collector_entropy); /* poolsize missing */
    nt_write(dir, "proc/sys/kernel/random/poolsize", "x\n");
    pt_run_fail(&nx_collector_entropy);
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
