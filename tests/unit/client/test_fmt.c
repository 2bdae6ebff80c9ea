/*
 * Unit tests for client/fmt.c: numbers as client_golang writes them.
 *
 * The expected strings were produced by Go 1.19 (strconv.FormatFloat(v, 'g',
 * -1, 64) behind expfmt's writeFloat and writeOpenMetricsFloat), never worked
 * out by hand: the table below for chosen values, golden/fmt_go.txt for some
 * 1400 more.  A property test then checks that random doubles read back
 * exactly and are never longer than printf's %.17g.
 */
#include "unit/unit.h"

#include "internal.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>

typedef struct fmt_case {
    double v;
    const char *text; /* expfmt writeFloat */
    const char *om;   /* expfmt writeOpenMetricsFloat */
} fmt_case;

static const fmt_case cases[] = {
    {0.0, "0", "0.0"},
    {-0.0, "0", "0.0"},
    {1.0, "1", "1.0"},
    {-1.0, "-1", "-1.0"},
    {0.1, "0.1", "0.1"},
    {-0.1, "-0.1", "-0.1"},
    {1.0 / 3, "0.3333333333333333", "0.3333333333333333"},
    {2.0 / 3, "0.6666666666666666", "0.6666666666666666"},
    {-2.0 / 3, "-0.6666666666666666", "-0.6666666666666666"},
    {1e6, "1e+06", "1e+06"},
    {-1e6, "-1e+06", "-1e+06"},
    {1e21, "1e+21", "1e+21"},
    {1e-5, "1e-05", "1e-05"},
    {123456789.0, "1.23456789e+08", "1.23456789e+08"},
    {9007199254740992.0, "9.007199254740992e+15", "9.007199254740992e+15"},
    {9007199254740994.0, "9.007199254740994e+15", "9.007199254740994e+15"},
    {9007199254740993.0, "9.007199254740992e+15", "9.007199254740992e+15"},
    {9007199254740991.0, "9.007199254740991e+15", "9.007199254740991e+15"},
    {DBL_MAX, "1.7976931348623157e+308", "1.7976931348623157e+308"},
    {-DBL_MAX, "-1.7976931348623157e+308", "-1.7976931348623157e+308"},
    {DBL_MIN, "2.2250738585072014e-308", "2.2250738585072014e-308"},
    {DBL_TRUE_MIN, "5e-324", "5e-324"},
    {2 * DBL_TRUE_MIN, "1e-323", "1e-323"},
    {DBL_MIN - DBL_TRUE_MIN, "2.225073858507201e-308", "2.225073858507201e-308"},
    {1e-310, "1e-310", "1e-310"},
    {NAN, "NaN", "NaN"},
    {-NAN, "NaN", "NaN"},
    {INFINITY, "+Inf", "+Inf"},
    {-INFINITY, "-Inf", "-Inf"},
    {0.005, "0.005", "0.005"},
    {2.5, "2.5", "2.5"},
    {1.7976931348623157e308, "1.7976931348623157e+308", "1.7976931348623157e+308"},
    {1700000000.123, "1.700000000123e+09", "1.700000000123e+09"},
    {1700000000.0, "1.7e+09", "1.7e+09"},
    {1700000000.1234567, "1.7000000001234567e+09", "1.7000000001234567e+09"},
    {0.0001, "0.0001", "0.0001"},
    {0.00001, "1e-05", "1e-05"},
    {0.00012345, "0.00012345", "0.00012345"},
    {100000.0, "100000", "100000.0"},
    {123456.0, "123456", "123456.0"},
    {1234567.0, "1.234567e+06", "1.234567e+06"},
    {999999.0, "999999", "999999.0"},
    {1000001.0, "1.000001e+06", "1.000001e+06"},
    {999999.5, "999999.5", "999999.5"},
    {0.1 + 0.2, "0.30000000000000004", "0.30000000000000004"},
    {1e-7, "1e-07", "1e-07"},
    {1.5e-7, "1.5e-07", "1.5e-07"},
    {100.0, "100", "100.0"},
    {1e15, "1e+15", "1e+15"},
    {1e16, "1e+16", "1e+16"},
    {1e17, "1e+17", "1e+17"},
    {1e22, "1e+22", "1e+22"},
    {1e23, "1e+23", "1e+23"},
    {0.3, "0.3", "0.3"},
    {3.14159, "3.14159", "3.14159"},
    {M_PI, "3.141592653589793", "3.141592653589793"},
    {M_E, "2.718281828459045", "2.718281828459045"},
    {1 + 0x1p-17, "1.0000076293945312", "1.0000076293945312"},
    {1 + DBL_EPSILON, "1.0000000000000002", "1.0000000000000002"},
    {1 - DBL_EPSILON / 2, "0.9999999999999999", "0.9999999999999999"},
    {0.01, "0.01", "0.01"},
    {0.025, "0.025", "0.025"},
    {0.05, "0.05", "0.05"},
    {0.25, "0.25", "0.25"},
    {0.5, "0.5", "0.5"},
    {10.0, "10", "10.0"},
    {0.9, "0.9", "0.9"},
    {0.99, "0.99", "0.99"},
    {0.999, "0.999", "0.999"},
    {42.0, "42", "42.0"},
    {-42.5, "-42.5", "-42.5"},
    {65536.0, "65536", "65536.0"},
    {4294967295.0, "4.294967295e+09", "4.294967295e+09"},
    {9223372036854775808.0, "9.223372036854776e+18", "9.223372036854776e+18"},
    {18446744073709551616.0, "1.8446744073709552e+19", "1.8446744073709552e+19"},
    {1e300, "1e+300", "1e+300"},
    {1.23e-300, "1.23e-300", "1.23e-300"},
    {7.1746481373430634e-43, "7.174648137343064e-43", "7.174648137343064e-43"},
    {12.345, "12.345", "12.345"},
    {1.1, "1.1", "1.1"},
    {0x1p-10, "0.0009765625", "0.0009765625"},
    {1e-9, "1e-09", "1e-09"},
    {9.999999999999999e-10, "9.999999999999999e-10", "9.999999999999999e-10"},
    {99999999999999984.0, "9.999999999999998e+16", "9.999999999999998e+16"},
    {1.2345678901234567e-5, "1.2345678901234568e-05", "1.2345678901234568e-05"},
    {123456789012345678.0, "1.2345678901234568e+17", "1.2345678901234568e+17"},
    {5e-5, "5e-05", "5e-05"},
    {0.000099999, "9.9999e-05", "9.9999e-05"},
    {2.2250738585072014e-308, "2.2250738585072014e-308", "2.2250738585072014e-308"},
    {4.9406564584124654e-324, "5e-324", "5e-324"},
};

static void test_table(void **state)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[PM_FMT_BUFSZ];
        size_t n = pm_fmt_double(cases[i].v, buf);
        assert_string_equal(buf, cases[i].text);
        assert_int_equal(n, strlen(cases[i].text));
        n = pm_fmt_double_om(cases[i].v, buf);
        assert_string_equal(buf, cases[i].om);
        assert_int_equal(n, strlen(cases[i].om));
    }
}

static FILE *open_golden(const char *name)
{
    const char *src = getenv("PROM_SOURCE_DIR");
    assert_non_null(src);
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/unit/client/golden/%s", src, name);
    FILE *f = fopen(path, "r");
    if (f == NULL) fail_msg("cannot open %s", path);
    return f;
}

static double from_bits(uint64_t bits)
{
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* Each line of fmt_go.txt: the bits of a positive double and Go's text; the
 * negated value must come out with a '-' in front. */
static void test_golden_from_go(void **state)
{
    FILE *f = open_golden("fmt_go.txt");
    char line[128];
    int checked = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] == '#') continue;
        uint64_t bits;
        char want[64], neg[66], got[PM_FMT_BUFSZ];
        assert_int_equal(sscanf(line, "%" SCNx64 " %63s", &bits, want), 2);
        pm_fmt_double(from_bits(bits), got);
        if (strcmp(got, want) != 0) fail_msg("%016" PRIx64 ": got %s, Go %s", bits, got, want);
        snprintf(neg, sizeof neg, "-%s", want);
        pm_fmt_double(-from_bits(bits), got);
        assert_string_equal(got, neg);
        checked++;
    }
    fclose(f);
    assert_true(checked > 1000);
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A random double: half of them random bit patterns over the whole range,
 * half of them in the range metrics live in. */
static double random_double(uint64_t *s)
{
    uint64_t r = xorshift(s);
    if (r & 1) return from_bits(xorshift(s));
    return (double)(xorshift(s) >> 11) / 9007199254740992.0 * pow(10, (double)(r >> 1 & 31) - 12);
}

/* The significant digits of a number's text (before any exponent, without
 * leading zeros). */
static size_t significant_digits(const char *s)
{
    size_t n = 0;
    for (; *s != '\0' && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9' && (n > 0 || *s != '0')) n++;
    return n;
}

/* Reads back exactly, and has no more digits than printf's %.17g.  (Not
 * fewer characters: Go writes 1234567 as 1.234567e+06.) */
static void check_round_trip(double v)
{
    char buf[PM_FMT_BUFSZ], longest[64];
    size_t n = pm_fmt_double(v, buf);
    assert_int_equal(n, strlen(buf));
    assert_true(n < PM_FMT_BUFSZ);
    if (isnan(v) || isinf(v)) return;
    double back = strtod(buf, NULL);
    if (back != v) fail_msg("%.17g printed as %s reads back as %.17g", v, buf, back);
    snprintf(longest, sizeof longest, "%.17g", v);
    if (significant_digits(buf) > significant_digits(longest))
        fail_msg("%s has more digits than %s", buf, longest);
}

static void check_om(double v)
{
    char text[PM_FMT_BUFSZ], om[PM_FMT_BUFSZ];
    size_t n = pm_fmt_double(v, text);
    size_t m = pm_fmt_double_om(v, om);
    assert_int_equal(m, strlen(om));
    if (!isfinite(v) || strpbrk(text, ".e") != NULL) {
        assert_string_equal(om, text);
        return;
    }
    assert_int_equal(m, n + 2);
    assert_memory_equal(om, text, n);
    assert_string_equal(om + n, ".0");
}

static void test_round_trip_property(void **state)
{
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 100000; i++) {
        double v = random_double(&s);
        check_round_trip(v);
        check_round_trip(-v);
        check_om(v);
    }
}

static void test_integers_and_layout_boundaries(void **state)
{
    char buf[PM_FMT_BUFSZ], want[64];
    /* Integers keep all digits below 10^6 and switch to %e from there. */
    for (double v = 1; v < 1e6; v = v * 3 + 1) {
        pm_fmt_double(v, buf);
        snprintf(want, sizeof want, "%.0f", v);
        assert_string_equal(buf, want);
    }
    pm_fmt_double(999999, buf);
    assert_string_equal(buf, "999999");
    pm_fmt_double(1000000, buf);
    assert_string_equal(buf, "1e+06");
    /* Small values: fixed down to 1e-4, then the exponent. */
    pm_fmt_double(0.00015, buf);
    assert_string_equal(buf, "0.00015");
    pm_fmt_double(0.000015, buf);
    assert_string_equal(buf, "1.5e-05");
    pm_fmt_double(-1.5e-100, buf);
    assert_string_equal(buf, "-1.5e-100");
}

static void test_om_special_values(void **state)
{
    char buf[PM_FMT_BUFSZ];
    const struct {
        double v;
        const char *om;
    } om[] = {{1, "1.0"},         {0, "0.0"},         {-0.0, "0.0"},       {-1, "-1.0"},
              {NAN, "NaN"},       {INFINITY, "+Inf"}, {-INFINITY, "-Inf"}, {100, "100.0"},
              {1e6, "1e+06"},     {0.5, "0.5"},       {-3, "-3.0"},        {123456, "123456.0"},
              {1.5e-7, "1.5e-07"}};
    for (size_t i = 0; i < sizeof om / sizeof om[0]; i++) {
        pm_fmt_double_om(om[i].v, buf);
        assert_string_equal(buf, om[i].om);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_golden_from_go),
        cmocka_unit_test(test_round_trip_property),
        cmocka_unit_test(test_integers_and_layout_boundaries),
        cmocka_unit_test(test_om_special_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
