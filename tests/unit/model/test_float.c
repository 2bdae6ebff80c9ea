/*
 * test_float.c - model_format_float against Go's strconv.FormatFloat(v, 'g',
 * -1, 64): a table here, and ~3000 values from Go in data/format_float.txt
 * (random bit patterns, short decimals, integers, powers of two and ten with
 * their neighbours; see data/floats.go).
 */
#include "unit/unit.h"

#include "model/model.h"

#include "helpers.h"

static void check(double v, const char *want)
{
    char got[MODEL_FLOAT_BUFSZ];
    size_t n = model_format_float(v, got);
    if (strcmp(got, want) != 0 || n != strlen(want))
        fail_msg("%.17g: got %s, want %s", v, got, want);
}

static void test_table(void **state)
{
    check(0, "0");
    check(-0.0, "-0");
    check(1, "1");
    check(-1, "-1");
    check(0.005, "0.005");
    check(0.25, "0.25");
    check(2.5, "2.5");
    check(10, "10");
    check(100000, "100000");
    check(123456, "123456");
    check(999999, "999999");
    check(1e6, "1e+06");
    check(1234567, "1.234567e+06");
    check(1e21, "1e+21");
    check(0.0001, "0.0001");
    check(0.00001, "1e-05");
    check(1.5e-7, "1.5e-07");
    check(0.1 + 0.2, "0.30000000000000004");
    check(1.0 / 3, "0.3333333333333333");
    check(9007199254740993.0, "9.007199254740992e+15");
    check(1.7976931348623157e308, "1.7976931348623157e+308");
    check(5e-324, "5e-324");
    check(2.2250738585072014e-308, "2.2250738585072014e-308");
    check(1e100, "1e+100");
    check(INFINITY, "+Inf");
    check(-INFINITY, "-Inf");
    check(NAN, "NaN");
}

static void test_go_values(void **state)
{
    size_t len;
    char *file = read_data("format_float.txt", &len);
    char *data = core_strndup(file, len);
    int n = 0;
    for (char *line = strtok(data, "\n"); line != NULL; line = strtok(NULL, "\n"), n++) {
        char *sp = strchr(line, ' ');
        assert_non_null(sp);
        uint64_t bits = strtoull(line, NULL, 16);
        double v;
        memcpy(&v, &bits, sizeof v);
        check(v, sp + 1);
    }
    assert_true(n > 2900);
    free(data);
    free(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_go_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
