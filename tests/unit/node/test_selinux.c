/* Unit tests for the selinux collector. */
#include "proctest.h"

extern const nx_collector nx_collector_selinux;

static void test_absent(void **state)
{
    nt_use_root(nt_fixtures()); /* no selinuxfs under the fixture's sysfs */
    nx_out *o = pt_run_ok(&nx_collector_selinux);
    assert_true(nt_value(o, "node_selinux_enabled", NULL) == 0);
    assert_int_equal(o->n_families, 1);
    nt_free(o);
    char dir[64];
    pt_tmp(dir); /* a plain directory and files are not selinuxfs */
    nt_write(dir, "sys/fs/selinux/enforce", "1\n");
    nt_write(dir, "etc/selinux/config", "SELINUX=enforcing\n");
    o = pt_run_ok(&nx_collector_selinux);
    assert_true(nt_value(o, "node_selinux_enabled", NULL) == 0);
    nt_free(o);
    pt_rm(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
