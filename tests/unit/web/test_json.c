/*
 * test_json.c - JSON as upstream's API writes it: sample values (Go's
 * FormatFloat with jsonutil's 'e' cut-offs, NaN, Inf, staleness markers),
 * timestamps (always three decimals when there is a fraction), strings (jsoniter's HTML escaping
 * and invalid UTF-8), label sets and every result type.
 */
#include "unit/unit.h"

#include <math.h>

#include "web/internal.h"

static const char *value(double v)
{
    static char buf[WEB_VALUE_BUFSZ];
    web_format_value(v, buf);
    return buf;
}

static void test_values(void **state)
{
    (void)state;
    assert_string_equal(value(0), "0");
    assert_string_equal(value(-0.0), "-0");
    assert_string_equal(value(1), "1");
    assert_string_equal(value(-42), "-42");
    assert_string_equal(value(0.1), "0.1");
    assert_string_equal(value(1.5), "1.5");
    assert_string_equal(value(1.4999999999999998), "1.4999999999999998");
    assert_string_equal(value(0.1 + 0.2), "0.30000000000000004");
    assert_string_equal(value(123456789.123), "123456789.123");
    assert_string_equal(value(1e6), "1000000");
    assert_string_equal(value(2.5e15), "2500000000000000");
    assert_string_equal(value(1e20), "100000000000000000000");
    assert_string_equal(value(123456789012345678901.0), "123456789012345680000");
    /* 'e' from 1e21 on and below 1e-6, with at least two exponent digits */
    assert_string_equal(value(1e21), "1e+21");
    assert_string_equal(value(-2.5e22), "-2.5e+22");
    assert_string_equal(value(1.7976931348623157e308), "1.7976931348623157e+308");
    assert_string_equal(value(1e-6), "0.000001");
    assert_string_equal(value(0.000123), "0.000123");
    assert_string_equal(value(1.5e-6), "0.0000015");
    assert_string_equal(value(9.99e-7), "9.99e-07");
    assert_string_equal(value(-1.5e-7), "-1.5e-07");
    assert_string_equal(value(5e-324), "5e-324");
    assert_string_equal(value(1e-100), "1e-100");
    /* NaN, infinities and the staleness marker */
    assert_string_equal(value(NAN), "NaN");
    assert_string_equal(value(INFINITY), "+Inf");
    assert_string_equal(value(-INFINITY), "-Inf");
    assert_string_equal(value(pql_stale_nan()), "NaN");
}

static void test_format_float_f(void **state)
{
    (void)state;
    core_sb sb = CORE_SB_INIT;
    web_format_float_f(1e21, &sb);
    assert_string_equal(sb.buf, "1000000000000000000000");
    core_sb_reset(&sb);
    web_format_float_f(1e-7, &sb);
    assert_string_equal(sb.buf, "0.0000001");
    core_sb_reset(&sb);
    web_format_float_f(-300.25, &sb);
    assert_string_equal(sb.buf, "-300.25");
    core_sb_reset(&sb);
    web_format_float_f(1e300, &sb);
    assert_int_equal(sb.len, 301);
    assert_int_equal(sb.buf[0], '1');
    assert_int_equal(strspn(sb.buf + 1, "0"), 300);
    core_sb_reset(&sb);
    web_format_float_f(INFINITY, &sb);
    assert_string_equal(sb.buf, "+Inf");
    core_sb_reset(&sb);
    web_json_number(&sb, 0.000001);
    core_sb_addc(&sb, ' ');
    web_json_number(&sb, 1.5e-7);
    core_sb_addc(&sb, ' ');
    web_json_number(&sb, 1e21);
    core_sb_addc(&sb, ' ');
    web_json_number(&sb, 0);
    assert_string_equal(sb.buf, "0.000001 1.5e-7 1e+21 0");
    core_sb_destroy(&sb);
}

static void test_times(void **state)
{
    (void)state;
    const struct {
        int64_t ms;
        const char *want;
    } cases[] = {
        {0, "0"},
        {1500, "1.500"},
        {12050, "12.050"},
        {1001, "1.001"},
        {-1, "-0.001"},
        {-1500, "-1.500"},
        {10, "0.010"},
        {1700000000000, "1700000000"},
        {1700000000123, "1700000000.123"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        core_sb sb = CORE_SB_INIT;
        web_json_time(&sb, cases[i].ms);
        assert_string_equal(sb.buf, cases[i].want);
        core_sb_destroy(&sb);
    }
}

/* Go's time.Time in JSON, in the local zone. */
static void test_go_time(void **state)
{
    (void)state;
    const char *tz = getenv("TZ");
    char *saved = tz ? core_strdup(tz) : NULL;
    const struct {
        const char *tz;
        int64_t ms;
        const char *want;
    } cases[] = {
        {"UTC", 0, "\"0001-01-01T00:00:00Z\""},
        {"UTC", 1700000000123, "\"2023-11-14T22:13:20.123Z\""},
        {"UTC", 1700000000100, "\"2023-11-14T22:13:20.1Z\""},
        {"UTC", 1700000000000, "\"2023-11-14T22:13:20Z\""},
        {"UTC-2", 1700000000120, "\"2023-11-15T00:13:20.12+02:00\""},
        {"UTC+5:30", 1700000000000, "\"2023-11-14T16:43:20-05:30\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv("TZ", cases[i].tz, 1);
        tzset();
        core_sb sb = CORE_SB_INIT;
        web_json_go_time(&sb, cases[i].ms);
        assert_string_equal(sb.buf, cases[i].want);
        core_sb_destroy(&sb);
    }
    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved);
}

static void test_strings(void **state)
{
    (void)state;
    core_sb sb = CORE_SB_INIT;
    const char in[] = "a\"b\\c\n\t\r\x01\x1f<>&\xe2\x80\xa8\xe2\x80\xa9 \xc3\xa9 \xff\xc3";
    web_json_str(&sb, in, sizeof in - 1);
    assert_string_equal(sb.buf, "\"a\\\"b\\\\c\\n\\t\\r\\u0001\\u001f\\u003c\\u003e\\u0026"
                                "\\u2028\\u2029 \xc3\xa9 \\ufffd\\ufffd\"");
    core_sb_reset(&sb);
    /* a NUL byte inside a label value */
    web_json_str(&sb, "x\0y", 3);
    assert_string_equal(sb.buf, "\"x\\u0000y\"");
    core_sb_reset(&sb);
    /* overlong and surrogate encodings are invalid, each byte replaced */
    web_json_str(&sb, "\xc0\xaf\xed\xa0\x80", 5);
    assert_string_equal(sb.buf, "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
    core_sb_reset(&sb);
    const char *v[] = {"a", "<b>"};
    web_json_strings(&sb, v, 2);
    assert_string_equal(sb.buf, "[\"a\",\"\\u003cb\\u003e\"]");
    core_sb_destroy(&sb);
}

static core_labels *mk(const char *name, const char *k, const char *v)
{
    core_label pairs[2] = {{CORE_METRIC_NAME, name}, {k, v}};
    return core_labels_new(pairs, 2);
}

static void test_results(void **state)
{
    (void)state;
    core_sb sb = CORE_SB_INIT;
    core_labels *a = mk("up", "job", "a"), *b = mk("up", "job", "b&c");
    pql_point pa[] = {{1000, 1}, {2500, NAN}}, pb[] = {{1000, INFINITY}};
    pql_result_series ser[] = {{a, pa, 2}, {b, pb, 1}, {a, NULL, 0}};

    pql_result r = {.type = PQL_TYPE_SCALAR, .scalar = -INFINITY, .t = 1500};
    web_json_result(&sb, &r, 0);
    assert_string_equal(sb.buf, "{\"resultType\":\"scalar\",\"result\":[1.500,\"-Inf\"]}");

    core_sb_reset(&sb);
    r = (pql_result){.type = PQL_TYPE_STRING, .str = "x<y", .t = 2000};
    web_json_result(&sb, &r, 0);
    assert_string_equal(sb.buf, "{\"resultType\":\"string\",\"result\":[2,\"x\\u003cy\"]}");

    core_sb_reset(&sb);
    pql_point va[] = {{3000, pql_stale_nan()}}, vb[] = {{3000, 1e-9}};
    pql_result_series vs[] = {{a, va, 1}, {b, vb, 1}};
    r = (pql_result){.type = PQL_TYPE_VECTOR, .series = vs, .nseries = 2, .t = 3000};
    web_json_result(&sb, &r, 0);
    assert_string_equal(sb.buf, "{\"resultType\":\"vector\",\"result\":["
                                "{\"metric\":{\"__name__\":\"up\",\"job\":\"a\"},"
                                "\"value\":[3,\"NaN\"]},"
                                "{\"metric\":{\"__name__\":\"up\",\"job\":\"b\\u0026c\"},"
                                "\"value\":[3,\"1e-09\"]}]}");
    /* limit keeps the first series */
    core_sb_reset(&sb);
    web_json_result(&sb, &r, 1);
    assert_null(strstr(sb.buf, "b\\u0026c"));

    core_sb_reset(&sb);
    r = (pql_result){.type = PQL_TYPE_MATRIX, .series = ser, .nseries = 3};
    web_json_result(&sb, &r, 0);
    assert_string_equal(sb.buf, "{\"resultType\":\"matrix\",\"result\":["
                                "{\"metric\":{\"__name__\":\"up\",\"job\":\"a\"},"
                                "\"values\":[[1,\"1\"],[2.500,\"NaN\"]]},"
                                "{\"metric\":{\"__name__\":\"up\",\"job\":\"b\\u0026c\"},"
                                "\"values\":[[1,\"+Inf\"]]},"
                                "{\"metric\":{\"__name__\":\"up\",\"job\":\"a\"}}]}");

    core_sb_reset(&sb);
    r = (pql_result){.type = PQL_TYPE_VECTOR};
    web_json_result(&sb, &r, 0);
    assert_string_equal(sb.buf, "{\"resultType\":\"vector\",\"result\":[]}");

    core_sb_reset(&sb);
    core_labels *empty = core_labels_new(NULL, 0);
    web_json_labels(&sb, empty);
    assert_string_equal(sb.buf, "{}");
    free(empty);
    free(a);
    free(b);
    core_sb_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),  cmocka_unit_test(test_format_float_f),
        cmocka_unit_test(test_times),   cmocka_unit_test(test_strings),
        cmocka_unit_test(test_results), cmocka_unit_test(test_go_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
