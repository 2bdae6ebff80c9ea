/* Unit tests for the sysctl collector. */
#include "nodetest.h"

extern const nx_collector nx_collector_sysctl;

static core_strlist *include(void)
{
    return nx_collector_sysctl.flags[0].dest;
}

static core_strlist *include_info(void)
{
    return nx_collector_sysctl.flags[1].dest;
}

static void reset(void)
{
    core_strlist_destroy(include());
    core_strlist_destroy(include_info());
    memset(include(), 0, sizeof(core_strlist));
    memset(include_info(), 0, sizeof(core_strlist));
}

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures());
    reset();
    core_strlist_push(include(), "fs.file-nr");
    core_strlist_push(include(), "fs.file-nr:total,current,max");
    core_strlist_push(include(), "kernel.threads-max");
    core_strlist_push(include_info(), "kernel.seccomp.actions_avail");
    nx_out *o = nt_run(&nx_collector_sysctl);
    assert_true(nt_value(o, "node_sysctl_fs_file_nr", "index=2") == 1631329);
    assert_true(nt_value(o, "node_sysctl_fs_file_nr_max", NULL) == 1631329);
    assert_string_equal(nt_family(o, "node_sysctl_fs_file_nr_current")->help,
                        "sysctl fs.file-nr, field 1");
    assert_true(nt_value(o, "node_sysctl_kernel_threads_max", NULL) == 7801);
    assert_int_equal(nt_family(o, "node_sysctl_kernel_threads_max")->type, PROM_UNTYPED);
    assert_true(nt_value(o, "node_sysctl_info",
                         "name=kernel.seccomp.actions_avail,value=user_notif,index=4") == 1);
    nt_free(o);
    reset();
}

static int run_one(const char *dir, const char *spec, const char *content, bool is_info,
                   double *first)
{
    nt_write(dir, "proc/sys/x/y", content);
    reset();
    core_strlist_push(is_info ? include_info() : include(), spec);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_sysctl, &rc);
    if (first != NULL) *first = nt_value(o, "node_sysctl_x_y", NULL);
    nt_free(o);
    reset();
    return rc;
}

static void test_values(void **state)
{
    char dir[] = "/tmp/nt-sysctl-XXXXXX";
    assert_non_null(mkdtemp(dir));
    nt_use_root(dir);
    double v;
    assert_int_equal(run_one(dir, "x.y", "0x1F\n", false, &v), 0);
    assert_true(v == 31);
    assert_int_equal(run_one(dir, "x.y", "010", false, &v), 0);
    assert_true(v == 8);
    assert_int_equal(run_one(dir, "x.y", "-0b101", false, &v), 0);
    assert_true(v == -5);
    assert_int_equal(run_one(dir, "x.y", "1_000", false, &v), 0);
    assert_true(v == 1000);
    static const char *bad[] = {"", "08", "1__0", "_1", "abc", "0x", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(run_one(dir, "x.y", bad[i], false, NULL), -1);
    assert_int_equal(run_one(dir, "x.y:a,b", "1 2 3", false, NULL), -1);
    assert_int_equal(run_one(dir, "x.y:a", "1", false, NULL), -1);
    assert_int_equal(run_one(dir, "x.y:a,b", "p q", true, NULL), -1);
    assert_int_equal(run_one(dir, "x.missing", "1", false, NULL), -1);
    assert_int_equal(run_one(dir, "x.y", "one", true, NULL), 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
