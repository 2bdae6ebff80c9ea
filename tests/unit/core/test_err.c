/* Unit tests for server/core/err.c and mem.c. */
#include "unit/unit.h"

#include "core/core.h"

static int fail_with(core_err *err, const char *what)
{
    return core_err_set(err, "bad %s at %d", what, 7);
}

static void test_set_and_return(void **state)
{
    core_err err;
    assert_int_equal(fail_with(&err, "thing"), -1);
    assert_string_equal(err.msg, "bad thing at 7");
    assert_int_equal(fail_with(NULL, "thing"), -1); /* NULL discards */
}

static void test_truncates_long_messages(void **state)
{
    core_err err;
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    core_err_set(&err, "%s", big);
    assert_int_equal(strlen(err.msg), CORE_ERR_MAX - 1);
}

static void test_prefix(void **state)
{
    core_err err;
    core_err_set(&err, "prometheus.yml:3:5: unknown field \"foo\"");
    assert_int_equal(core_err_prefix(&err, "loading %s", "config"), -1);
    assert_string_equal(err.msg, "loading config: prometheus.yml:3:5: unknown field \"foo\"");
    assert_int_equal(core_err_prefix(NULL, "x"), -1);
    char big[2000];
    memset(big, 'p', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    core_err_prefix(&err, "%s", big);
    assert_int_equal(strlen(err.msg), CORE_ERR_MAX - 1);
    assert_int_equal(err.msg[0], 'p');
}

static void test_mem_wrappers(void **state)
{
    char *s = core_strdup("abc");
    assert_string_equal(s, "abc");
    free(s);
    s = core_strndup("abcdef", 2);
    assert_string_equal(s, "ab");
    free(s);
    int *v = core_mallocarray(10, sizeof *v);
    v[9] = 1;
    v = core_reallocarray(v, 20, sizeof *v);
    v[19] = 2;
    assert_int_equal(v[9], 1);
    free(v);
    int *z = core_calloc(4, sizeof *z);
    assert_int_equal(z[3], 0);
    z = core_realloc(z, 0); /* size 0 still gives a pointer to free */
    free(z);
    free(core_malloc(0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_and_return),
        cmocka_unit_test(test_truncates_long_messages),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_mem_wrappers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
