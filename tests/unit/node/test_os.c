/* Unit tests for the os collector. */
#include "proctest.h"

extern const nx_collector nx_collector_os;

static void test_fixture(void **state)
{
    nt_use_root(nt_fixtures()); /* only usr/lib/os-release there */
    nx_out *o = pt_run_ok(&nx_collector_os);
    assert_true(nt_value(o, "node_os_info",
                         "build_id=,id=ubuntu,id_like=debian,image_id=,image_version=,name=Ubuntu,"
                         "pretty_name=Ubuntu 20.04.2 LTS,variant=,variant_id=,"
                         "version=20.04.2 LTS (Focal Fossa),version_codename=focal,"
                         "version_id=20.04") == 1);
    assert_true(nt_value(o, "node_os_version", "id=ubuntu,id_like=debian,name=Ubuntu") == 20.04);
    assert_null(nt_family(o, "node_os_support_end_timestamp_seconds"));
    nt_free(o);
}

static void test_quoting_and_malformed(void **state)
{
    char dir[64];
    pt_tmp(dir);
    pt_run_fail(&nx_collector_os); /* neither file: no data */
    nt_write(dir, "etc/os-release",
             "# comment\nexport NAME='A \"b\"'\nID=x # trailing\n"
             "PRETTY_NAME=\"P \\\"q\\\"\"\nbroken line\nVERSION_ID=\"unclosed\n"
             "SUPPORT_END=2030-01-02\n");
    nt_write(dir, "usr/lib/os-release", "NAME=ignored\n");
    nx_out *o = pt_run_ok(&nx_collector_os);
    const nx_fam *f = nt_family(o, "node_os_info");
    assert_non_null(f);
    assert_true(nt_value(o, "node_os_support_end_timestamp_seconds", NULL) == 1893542400);
    assert_null(nt_family(o, "node_os_version")); /* VERSION_ID unusable */
    assert_true(nt_value(o, "node_os_info",
                         "build_id=,id=x,id_like=,image_id=,image_version=,name=A \"b\","
                         "pretty_name=P \"q\",variant=,variant_id=,version=,version_codename=,"
                         "version_id=") == 1);
    nt_free(o);
    nt_write(dir, "etc/os-release", "SUPPORT_END=soon\n");
    pt_run_fail(&nx_collector_os);
    pt_rm(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_quoting_and_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
