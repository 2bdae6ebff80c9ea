/* Unit tests for the filefd collector. */
#include "proctest.h"

extern const nx_collector nx_collector_filefd;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    nx_out *o = pt_run_ok(&nx_collector_filefd);
    assert_true(nt_value(o, "node_filefd_allocated", NULL) == 1024);
    assert_true(nt_value(o, "node_filefd_maximum", NULL) == 1631329);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_run_fail(&nx_collector_filefd);
    static const char *bad[] = {"", "1\t2", "a\t0\tb\n", "\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nt_write(dir, "proc/sys/fs/file-nr", bad[i]);
        pt_run_fail(&nx_collector_filefd);
    }
    nt_write(dir, "proc/sys/fs/file-nr", "5\t0\t9\n");
    nx_out *o = pt_run_ok(&nx_collector_filefd);
    assert_true(nt_value(o, "node_filefd_maximum", NULL) == 9);
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
