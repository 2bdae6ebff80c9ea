/* Unit tests for the uname collector (uname(2) on this machine). */
#include "proctest.h"

#include <sys/utsname.h>

extern const nx_collector nx_collector_uname;

static void test_live(void **state)
{
    struct utsname u;
    assert_int_equal(uname(&u), 0);
    nx_out *o = pt_run_ok(&nx_collector_uname);
    const nx_fam *f = nt_family(o, "node_uname_info");
    assert_int_equal(f->n_samples, 1);
    assert_string_equal(f->labels[0], "sysname");
    assert_string_equal(f->samples[0].values[0], u.sysname);
    assert_string_equal(f->samples[0].values[4], u.nodename);
    nt_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
