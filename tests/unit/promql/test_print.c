/*
 * test_print.c - the printer: upstream's printer_test.go cases (input and the
 * canonical text upstream prints for it), number formatting, and round trips:
 * parse(print(parse(q))) prints the same as parse(q).
 */
#include "unit/unit.h"

#include <math.h>

#include "promql/internal.h"
#include "promql/promql.h"

static const pql_parse_opts all_on = {true, true, true, true};

static const struct {
    const char *in, *out;
} upstream_cases[] = {
    {"sum by() (task:errors:rate10s{job=\"s\"})", "sum(task:errors:rate10s{job=\"s\"})"},
    {"sum by(code) (task:errors:rate10s{job=\"s\"})",
     "sum by (code) (task:errors:rate10s{job=\"s\"})"},
    {"sum without() (task:errors:rate10s{job=\"s\"})",
     "sum without () (task:errors:rate10s{job=\"s\"})"},
    {"sum without(instance) (task:errors:rate10s{job=\"s\"})",
     "sum without (instance) (task:errors:rate10s{job=\"s\"})"},
    {"sum by(\"foo.bar\") (task:errors:rate10s{job=\"s\"})",
     "sum by (\"foo.bar\") (task:errors:rate10s{job=\"s\"})"},
    {"sum without(\"foo.bar\") (task:errors:rate10s{job=\"s\"})",
     "sum without (\"foo.bar\") (task:errors:rate10s{job=\"s\"})"},
    {"topk(5, task:errors:rate10s{job=\"s\"})", "topk(5, task:errors:rate10s{job=\"s\"})"},
    {"count_values(\"value\", task:errors:rate10s{job=\"s\"})",
     "count_values(\"value\", task:errors:rate10s{job=\"s\"})"},
    {"a - on() c", "a - on () c"},
    {"a - on(b) c", "a - on (b) c"},
    {"a - on(b) group_left(x) c", "a - on (b) group_left (x) c"},
    {"a - on(b) group_left(x, y) c", "a - on (b) group_left (x, y) c"},
    {"a - on(b) group_left c", "a - on (b) group_left () c"},
    {"a - on(b) group_left() (c)", "a - on (b) group_left () (c)"},
    {"a - ignoring(b) c", "a - ignoring (b) c"},
    {"a - ignoring() c", "a - c"},
    {"a - ignoring() group_left c", "a - ignoring () group_left () c"},
    {"a + fill(-23) b", "a + fill (-23) b"},
    {"a + fill_left(-23) b", "a + fill_left (-23) b"},
    {"a + fill_right(42) b", "a + fill_right (42) b"},
    {"a + fill_left(-23) fill_right(42) b", "a + fill_left (-23) fill_right (42) b"},
    {"a + fill_left(5) fill_right(5) b", "a + fill (5) b"},
    {"a + on(b) group_left fill(-23) c", "a + on (b) group_left () fill (-23) c"},
    {"up > bool 0", "up > bool 0"},
    {"a offset 1m", "a offset 1m"},
    {"a offset -7m", "a offset -7m"},
    {"a{c=\"d\"}[5m] offset 1m", "a{c=\"d\"}[5m] offset 1m"},
    {"a[5m] offset 1m", "a[5m] offset 1m"},
    {"a[12m] offset -3m", "a[12m] offset -3m"},
    {"a[1h:5m] offset 1m", "a[1h:5m] offset 1m"},
    {"a anchored", "a anchored"},
    {"a[5m] anchored", "a[5m] anchored"},
    {"a{b=\"c\"}[5m] anchored", "a{b=\"c\"}[5m] anchored"},
    {"a{b=\"c\"}[5m] anchored offset 1m", "a{b=\"c\"}[5m] anchored offset 1m"},
    {"a{b=\"c\"}[5m] anchored @ start() offset 1m", "a{b=\"c\"}[5m] anchored @ start() offset 1m"},
    {"a smoothed", "a smoothed"},
    {"a[5m] smoothed", "a[5m] smoothed"},
    {"a{b=\"c\"}[5m] smoothed", "a{b=\"c\"}[5m] smoothed"},
    {"a{b=\"c\"}[5m] smoothed offset 1m", "a{b=\"c\"}[5m] smoothed offset 1m"},
    {"a{b=\"c\"}[5m] smoothed @ start() offset 1m", "a{b=\"c\"}[5m] smoothed @ start() offset 1m"},
    {"{__name__=\"a\"}", "{__name__=\"a\"}"},
    {"a{b!=\"c\"}[1m]", "a{b!=\"c\"}[1m]"},
    {"a{b=~\"c\"}[1m]", "a{b=~\"c\"}[1m]"},
    {"a{b!~\"c\"}[1m]", "a{b!~\"c\"}[1m]"},
    {"a @ 10", "a @ 10.000"},
    {"a[1m] @ 10", "a[1m] @ 10.000"},
    {"a @ start()", "a @ start()"},
    {"a @ end()", "a @ end()"},
    {"a[1m] @ start()", "a[1m] @ start()"},
    {"a[1m] @ end()", "a[1m] @ end()"},
    {"{__name__=\"\",a=\"x\"}", "{__name__=\"\",a=\"x\"}"},
    {"{\"a.b\"=\"c\"}", "{\"a.b\"=\"c\"}"},
    {"{\"0\"=\"1\"}", "{\"0\"=\"1\"}"},
    {"{\"_0\"=\"1\"}", "{_0=\"1\"}"},
    {"{\"\"=\"0\"}", "{\"\"=\"0\"}"},
    {"{``=\"0\"}", "{\"\"=\"0\"}"},
    {"1048576", "1048576"},
    {"foo[step()]", "foo[step()]"},
    {"foo[-step()]", "foo[-step()]"},
    {"foo[(step())]", "foo[(step())]"},
    {"foo[-(step())]", "foo[-(step())]"},
    {"foo offset step()", "foo offset step()"},
    {"foo offset -step()", "foo offset -step()"},
    {"foo offset (step())", "foo offset (step())"},
    {"foo offset -(step())", "foo offset -(step())"},
    {"foo offset +(5)", "foo offset (5)"},
    {"foo offset -(5)", "foo offset -(5)"},
    {"foo offset (5)", "foo offset (5)"},
    {"foo offset (5m)", "foo offset (5m)"},
    {"foo[(5s)]", "foo[(5s)]"},
    {"foo[(5m):(1m)]", "foo[(5m):(1m)]"},
    {"foo offset +min_of(10s, 20s)", "foo offset min_of(10s, 20s)"},
    {"foo offset -min_of(10s, 20s)", "foo offset -min_of(10s, 20s)"},
    {"foo offset -min_of(10s, +max_of(step() ^ 2, 2))",
     "foo offset -min_of(10s, max_of(step() ^ 2, 2))"},
    {"foo[200-min_of(-step()^+step(),1)]", "foo[200 - min_of(-step() ^ step(), 1)]"},
    {"foo[200 - min_of(step() + 10s, -max_of(step() ^ 2, 3))]",
     "foo[200 - min_of(step() + 10s, -max_of(step() ^ 2, 3))]"},
    {"foo[range()]", "foo[range()]"},
    {"foo[-range()]", "foo[-range()]"},
    {"foo offset range()", "foo offset range()"},
    {"foo offset -range()", "foo offset -range()"},
    {"foo[max_of(range(), 5s)]", "foo[max_of(range(), 5s)]"},
    {"predict_linear(foo[1h], 3000)", "predict_linear(foo[1h], 3000)"},
    {"sum by(\"\303\274\303\274\303\274\") (foo)", "sum by (\"\303\274\303\274\303\274\") (foo)"},
    {"sum without(\"\303\244\303\244\303\244\") (foo)",
     "sum without (\"\303\244\303\244\303\244\") (foo)"},
    {"count by(\"\303\266\303\266\303\266\", job) (foo)",
     "count by (\"\303\266\303\266\303\266\", job) (foo)"},
};

/* Parses q and returns its printed form (malloc'd), or fails the test. */
static char *reprint(const char *q)
{
    core_arena a = {0};
    core_err err;
    pql_node *n = pql_parse(q, &all_on, &a, &err);
    if (!n) fail_msg("%s: %s", q, err.msg);
    core_sb sb = CORE_SB_INIT;
    pql_print(n, &sb);
    core_arena_destroy(&a);
    return core_sb_detach(&sb, NULL);
}

static void test_upstream_cases(void **state)
{
    for (size_t i = 0; i < sizeof upstream_cases / sizeof upstream_cases[0]; i++) {
        char *got = reprint(upstream_cases[i].in);
        if (strcmp(got, upstream_cases[i].out) != 0)
            fail_msg("%s:\n got  %s\n want %s", upstream_cases[i].in, got, upstream_cases[i].out);
        free(got);
    }
}

static void test_round_trips(void **state)
{
    static const char *queries[] = {
        "sum by (job) (rate(x[5m]))",
        "-x ^ 2 * -3 + +y % 4 atan2 z",
        "a or b and c unless d == bool e",
        "x > on (a, b) group_right (c) y",
        "foo{a=\"b\\n\\\"c\",d!~'e',`f`=\"g\"}[1h30m] offset -1d @ 1700000000.123",
        "x[5m:] @ end() offset 1w",
        "count_values('x', y) without (a)",
        "label_join(x, 'a', ',', 'b', 'c', 'd')",
        "foo[5m+1m:step()*2] offset -(1m + 2s)",
        "-(1)",
        "- - 1",
        "0x1F + 1e-7 + .5 + 5. + 1_000 + Inf + nAn",
        "{\"a.b\"=\"c\",\"d\"}",
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        char *once = reprint(queries[i]);
        char *twice = reprint(once);
        if (strcmp(once, twice) != 0)
            fail_msg("%s:\n once  %s\n twice %s", queries[i], once, twice);
        free(once);
        free(twice);
    }
}

static void check_float(double v, const char *want)
{
    core_sb sb = CORE_SB_INIT;
    pql_format_float_f(&sb, v);
    if (strcmp(sb.buf, want) != 0) fail_msg("%.17g: %s, want %s", v, sb.buf, want);
    core_sb_destroy(&sb);
}

static void test_format_float(void **state)
{
    check_float(0, "0");
    check_float(-0.0, "-0");
    check_float(1, "1");
    check_float(0.1, "0.1");
    check_float(1.5e-7, "0.00000015");
    check_float(123456.789, "123456.789");
    check_float(1e21, "1000000000000000000000");
    check_float(1e-10, "0.0000000001");
    check_float(INFINITY, "+Inf");
    check_float(-INFINITY, "-Inf");
    check_float(NAN, "NaN");
    check_float(0.30000000000000004, "0.30000000000000004");
}

static void test_printed_forms(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"foo offset 90m", "foo offset 1h30m"},
        {"foo[1800]", "foo[30m]"},
        {"foo @ 1.5", "foo @ 1.500"},
        {"foo @ -2", "foo @ -2.000"},
        {"foo @ 5m", "foo @ 300.000"},
        {"a + fill(1e6) b", "a + fill (1e+06) b"},
        {"a + fill_right(-0.5) fill_left(2) b", "a + fill_left (2) fill_right (-0.5) b"},
        {"x offset -(5m)", "x offset -(5m)"},
        {"'\\u00e9\\x41'", "\"\xc3\xa9"
                           "A\""},
        {"`a\\b`", "\"a\\\\b\""},
        {"sum(x) by (\"foo bar\", baz)", "sum by (\"foo bar\", baz) (x)"},
        {"x and on() y", "x and on () y"},
        {"x + ignoring() y", "x + y"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = reprint(cases[i].in);
        if (strcmp(got, cases[i].out) != 0)
            fail_msg("%s:\n got  %s\n want %s", cases[i].in, got, cases[i].out);
        free(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstream_cases),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_format_float),
        cmocka_unit_test(test_printed_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
