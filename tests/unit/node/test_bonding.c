/* Unit tests for the bonding collector. */
#include "sysfixture.h"

extern const nx_collector nx_collector_bonding;

static void test_fixture(void **state)
{
    nt_use_root(st_fixture_copy());
    nx_out *o = nt_run(&nx_collector_bonding);
    assert_true(nt_value(o, "node_bonding_slaves", "master=int") == 2);
    assert_true(nt_value(o, "node_bonding_active", "master=int") == 1);
    assert_true(nt_value(o, "node_bonding_active", "master=dmz") == 2);
    assert_true(nt_value(o, "node_bonding_slaves", "master=bond0") == 0);
    nt_free(o);
}

static void test_malformed(void **state)
{
    char dir[64];
    st_tmpdir(dir, sizeof dir, "bonding");
    nt_use_root(dir);
    int rc;
    nx_out *o = nt_run_rc(&nx_collector_bonding, &rc);
    assert_true(o->no_data);
    nt_free(o);
    nt_write(dir, "sys/class/net/bonding_masters", "b0\n");
    nt_write(dir, "sys/class/net/b0/bonding/slaves", "e1 e2\n");
    nt_write(dir, "sys/class/net/b0/lower_e1/bonding_slave/mii_status", "up\n");
    o = nt_run_rc(&nx_collector_bonding, &rc); /* e2 has no status */
    assert_true(o->no_data);
    assert_null(nt_family(o, "node_bonding_slaves"));
    nt_free(o);
    nt_write(dir, "sys/class/net/b0/slave_e2/bonding_slave/mii_status", "down\n");
    o = nt_run(&nx_collector_bonding);
    assert_true(nt_value(o, "node_bonding_slaves", "master=b0") == 2);
    assert_true(nt_value(o, "node_bonding_active", "master=b0") == 1);
    nt_free(o);
    st_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_malformed),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    st_fixture_remove();
    return rc;
}
