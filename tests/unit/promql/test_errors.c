/*
 * test_errors.c - malformed queries give upstream's message at upstream's
 * position, never a crash.
 *
 * The first table is every failing case of upstream's parse_test.go that has
 * an exact message (parsed with every feature flag on, as those cases are);
 * the second covers what a default parser (flags off) refuses; the last test
 * throws truncations and byte mutations of valid queries at the parser.
 */
#include "unit/unit.h"

#include "promql/promql.h"

typedef struct err_case {
    const char *query;
    const char *want;
} err_case;

static const pql_parse_opts all_on = {true, true, true, true};

static const err_case upstream_cases[] = {
    {"", "unknown position: parse error: no expression found in input"},
    {"# just a comment\012\012", "1:1: parse error: no expression found in input"},
    {"1+", "1:3: parse error: unexpected end of input"},
    {".", "1:1: parse error: unexpected character: '.'"},
    {"2.5.", "1:1: parse error: bad number or duration syntax: \"2.5.\""},
    {"100..4", "1:1: parse error: bad number or duration syntax: \"100..\""},
    {"0deadbeef", "1:1: parse error: bad number or duration syntax: \"0de\""},
    {"1 /", "1:4: parse error: unexpected end of input"},
    {"*1", "1:1: parse error: unexpected <op:*>"},
    {"(1))", "1:5: parse error: unexpected right parenthesis ')'"},
    {"((1)", "1:5: parse error: unclosed left parenthesis"},
    {"(", "1:2: parse error: unclosed left parenthesis"},
    {"1 and 1", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"},
    {"1 == 1", "1:3: parse error: comparisons between scalars must use BOOL modifier"},
    {"1 or 1", "1:1: parse error: set operator \"or\" not allowed in binary scalar expression"},
    {"1 unless 1",
     "1:1: parse error: set operator \"unless\" not allowed in binary scalar expression"},
    {"1 !~ 1", "1:3: parse error: unexpected character after '!': '~'"},
    {"1 =~ 1", "1:3: parse error: unexpected character after '=': '~'"},
    {"-\"string\"", "1:1: parse error: unary expression only allowed on expressions of type scalar "
                    "or instant vector, got \"string\""},
    {"-test[5m]", "1:1: parse error: unary expression only allowed on expressions of type scalar "
                  "or instant vector, got \"range vector\""},
    {"*test", "1:1: parse error: unexpected <op:*>"},
    {"@@", "1:1: parse error: unexpected <op:@>"},
    {"1 offset 1d", "1:1: parse error: offset modifier must be preceded by an instant vector "
                    "selector or range vector selector or a subquery"},
    {"foo offset 1s offset 2s", "1:1: parse error: offset may not be set multiple times"},
    {"a - on(b) ignoring(c) d", "1:11: parse error: unexpected <ignoring>"},
    {"foo and 1", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"},
    {"1 and foo", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"},
    {"foo or 1", "1:1: parse error: set operator \"or\" not allowed in binary scalar expression"},
    {"1 or foo", "1:1: parse error: set operator \"or\" not allowed in binary scalar expression"},
    {"foo unless 1",
     "1:1: parse error: set operator \"unless\" not allowed in binary scalar expression"},
    {"1 unless foo",
     "1:1: parse error: set operator \"unless\" not allowed in binary scalar expression"},
    {"1 or on(bar) foo", "1:1: parse error: vector matching only allowed between instant vectors"},
    {"foo == on(bar) 10", "1:1: parse error: vector matching only allowed between instant vectors"},
    {"foo + group_left(baz) bar", "1:7: parse error: unexpected <group_left>"},
    {"foo and on(bar) group_left(baz) bar",
     "1:1: parse error: no grouping allowed for \"and\" operation"},
    {"foo and on(bar) group_right(baz) bar",
     "1:1: parse error: no grouping allowed for \"and\" operation"},
    {"foo or on(bar) group_left(baz) bar",
     "1:1: parse error: no grouping allowed for \"or\" operation"},
    {"foo or on(bar) group_right(baz) bar",
     "1:1: parse error: no grouping allowed for \"or\" operation"},
    {"foo unless on(bar) group_left(baz) bar",
     "1:1: parse error: no grouping allowed for \"unless\" operation"},
    {"foo unless on(bar) group_right(baz) bar",
     "1:1: parse error: no grouping allowed for \"unless\" operation"},
    {"http_requests{group=\"production\"} + on(instance) group_left(job,instance) "
     "cpu_count{type=\"smp\"}",
     "1:35: parse error: label \"instance\" must not occur in ON and GROUP clause at once"},
    {"foo + bool bar", "1:5: parse error: bool modifier can only be used on comparison operators"},
    {"foo + bool 10", "1:5: parse error: bool modifier can only be used on comparison operators"},
    {"foo and bool 10", "1:5: parse error: bool modifier can only be used on comparison operators"},
    {"http_requests{group=\"production\"} + on(instance) group_left(job,instance) "
     "cpu_count{type=\"smp\"}",
     "1:35: parse error: label \"instance\" must not occur in ON and GROUP clause at once"},
    {"foo @ +Inf", "1:1: parse error: timestamp out of bounds for @ modifier: +Inf"},
    {"foo @ -Inf", "1:1: parse error: timestamp out of bounds for @ modifier: -Inf"},
    {"foo @ NaN", "1:1: parse error: timestamp out of bounds for @ modifier: NaN"},
    {"{", "1:2: parse error: unexpected end of input inside braces"},
    {"}", "1:1: parse error: unexpected character: '}'"},
    {"some{", "1:6: parse error: unexpected end of input inside braces"},
    {"some}", "1:5: parse error: unexpected character: '}'"},
    {"some_metric{a=b}",
     "1:15: parse error: unexpected identifier \"b\" in label matching, expected string"},
    {"some_metric{a:b=\"b\"}", "1:14: parse error: unexpected character inside braces: ':'"},
    {"foo{a*\"b\"}", "1:6: parse error: unexpected character inside braces: '*'"},
    {"foo{a>=\"b\"}", "1:6: parse error: unexpected character inside braces: '>'"},
    {"some_metric{a=\"\377\"}", "1:15: parse error: invalid UTF-8 rune"},
    {"foo{gibberish}",
     "1:14: parse error: unexpected \"}\" in label matching, expected label matching operator"},
    {"foo{1}", "1:5: parse error: unexpected character inside braces: '1'"},
    {"{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"{x=\"\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"{x=~\".*\"}",
     "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"{x!~\".+\"}",
     "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"{x!=\"a\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"foo{__name__=\"bar\"}",
     "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\""},
    {"foo{__name__= =}", "1:15: parse error: unexpected \"=\" in label matching, expected string"},
    {"foo{,}",
     "1:5: parse error: unexpected \",\" in label matching, expected identifier or \"}\""},
    {"foo{__name__ == \"bar\"}",
     "1:15: parse error: unexpected \"=\" in label matching, expected string"},
    {"foo{__name__=\"bar\" lol}",
     "1:20: parse error: unexpected identifier \"lol\" in label matching, expected \",\" or \"}\""},
    {"foo{\"a\"=}", "1:9: parse error: unexpected \"}\" in label matching, expected string"},
    {"foo[5mm]", "1:5: parse error: bad number or duration syntax: \"5mm\""},
    {"foo[5m1]", "1:5: parse error: bad number or duration syntax: \"5m1\""},
    {"foo[5m:1m1]", "1:8: parse error: bad number or duration syntax: \"1m1\""},
    {"foo[5y1hs]", "1:5: parse error: unknown unit \"hs\" in duration \"5y1hs\""},
    {"foo[5m1h]", "1:5: parse error: not a valid duration string: \"5m1h\""},
    {"foo[5m1m]", "1:5: parse error: not a valid duration string: \"5m1m\""},
    {"foo[0m]", "1:5: parse error: duration must be greater than 0"},
    {"foo[\"5m\"]", "1:5: parse error: unexpected character in duration expression: '\"'"},
    {"foo[]", "1:5: parse error: unexpected \"]\" in subquery or range selector, expected number, "
              "duration, step(), or range()"},
    {"foo[-1]", "1:5: parse error: duration must be greater than 0"},
    {"some_metric[5m] OFFSET 1mm", "1:24: parse error: bad number or duration syntax: \"1mm\""},
    {"some_metric[5m] OFFSET", "1:23: parse error: unexpected end of input in offset, expected "
                               "number, duration, step(), or range()"},
    {"some_metric OFFSET 1m[5m]", "1:22: parse error: no offset modifiers allowed before range"},
    {"some_metric[5m] @", "1:18: parse error: unexpected end of input in @, expected timestamp"},
    {"some_metric @ 1234 [5m]", "1:20: parse error: no @ modifiers allowed before range"},
    {"some_metric @ start() [5m]", "1:23: parse error: no @ modifiers allowed before range"},
    {"some_metric @ end()[5m]", "1:20: parse error: no @ modifiers allowed before range"},
    {"some_metric offset step()[5m]",
     "1:26: parse error: no offset modifiers allowed before range"},
    {"(foo + bar)[5m]", "1:12: parse error: ranges only allowed for vector selectors"},
    {"sum by (\"foo)(some_metric{})", "1:9: parse error: unterminated quoted string"},
    {"sum without(==)(some_metric)",
     "1:13: parse error: unexpected <op:==> in grouping opts, expected label"},
    {"sum without(,)(some_metric)",
     "1:13: parse error: unexpected \",\" in grouping opts, expected label"},
    {"sum without(foo,,)(some_metric)",
     "1:17: parse error: unexpected \",\" in grouping opts, expected label"},
    {"sum some_metric by (test)", "1:5: parse error: unexpected identifier \"some_metric\""},
    {"sum (some_metric) by test",
     "1:22: parse error: unexpected identifier \"test\" in grouping opts, expected \"(\""},
    {"sum () by (test)", "1:1: parse error: no arguments for aggregate expression provided"},
    {"MIN keep_common (some_metric)", "1:5: parse error: unexpected identifier \"keep_common\""},
    {"MIN (some_metric) keep_common", "1:19: parse error: unexpected identifier \"keep_common\""},
    {"sum (some_metric) without (test) by (test)", "1:34: parse error: unexpected <by>"},
    {"sum without (test) (some_metric) by (test)", "1:34: parse error: unexpected <by>"},
    {"topk(some_metric)", "1:1: parse error: wrong number of arguments for aggregate expression "
                          "provided, expected 2, got 1"},
    {"topk(some_metric,)", "1:17: parse error: trailing commas not allowed in function call args"},
    {"topk(some_metric, other_metric)",
     "1:6: parse error: expected type scalar in aggregation parameter, got instant vector"},
    {"count_values(5, other_metric)",
     "1:14: parse error: expected type string in aggregation parameter, got scalar"},
    {"rate(some_metric[5m]) @ 1234", "1:1: parse error: @ modifier must be preceded by an instant "
                                     "vector selector or range vector selector or a subquery"},
    {"floor()", "1:1: parse error: expected 1 argument(s) in call to \"floor\", got 0"},
    {"floor(some_metric, other_metric)",
     "1:1: parse error: expected 1 argument(s) in call to \"floor\", got 2"},
    {"floor(some_metric, 1)",
     "1:1: parse error: expected 1 argument(s) in call to \"floor\", got 2"},
    {"floor(1)",
     "1:7: parse error: expected type instant vector in call to function \"floor\", got scalar"},
    {"hour(some_metric, some_metric, some_metric)",
     "1:1: parse error: expected at most 1 argument(s) in call to \"hour\", got 3"},
    {"time(some_metric)", "1:1: parse error: expected 0 argument(s) in call to \"time\", got 1"},
    {"non_existent_function_far_bar()",
     "1:1: parse error: unknown function with name \"non_existent_function_far_bar\""},
    {"rate(some_metric)", "1:6: parse error: expected type range vector in call to function "
                          "\"rate\", got instant vector"},
    {"label_replace(a, `b`, `c\377`, `d`, `.*`)", "1:23: parse error: invalid UTF-8 rune"},
    {"*1", "1:1: parse error: unexpected <op:*>"},
    {"-=", "1:2: parse error: unexpected \"=\""},
    {"++-++-+-+-<", "1:11: parse error: unexpected <op:<>"},
    {"e-+=/(0)", "1:4: parse error: unexpected \"=\""},
    {"a>b()", "1:3: parse error: unknown function with name \"b\""},
    {"rate(avg)", "1:6: parse error: expected type range vector in call to function \"rate\", got "
                  "instant vector"},
    {"`\\``", "1:4: parse error: unterminated raw string"},
    {"\"\\", "1:1: parse error: escape sequence not terminated"},
    {"\"\\c\"", "1:1: parse error: unknown escape sequence U+0063 'c'"},
    {"\"\\x.\"", "1:1: parse error: illegal character U+002E '.' in escape sequence"},
    {"foo{bar=\"baz\"}[", "1:16: parse error: unexpected end of input in duration expression"},
    {"test[5d] OFFSET 10s [10m:5s]",
     "1:1: parse error: subquery is only allowed on instant vector, got matrix instead"},
    {"(foo + bar{nm=\"val\"})[5m:][10m:5s]",
     "1:1: parse error: subquery is only allowed on instant vector, got matrix instead"},
    {"rate(food[1m])[1h] offset 1h", "1:15: parse error: ranges only allowed for vector selectors"},
    {"rate(food[1m])[1h] @ 100", "1:15: parse error: ranges only allowed for vector selectors"},
    {"info(rate(http_request_counter_total{}[5m]), target_info{foo=\"bar\"})",
     "1:46: parse error: expected label selectors only, got vector selector instead"},
    {"info(http_request_counter_total{namespace=\"zzz\"}, {foo=\"bar\"} == 1)",
     "1:51: parse error: expected label selectors only"},
    {"foo[step]", "1:9: parse error: unexpected \"]\" in subquery or range selector, expected "
                  "number, duration, step(), or range()"},
    {"foo[step()/0d]", "1:11: parse error: division by zero"},
    {"foo[5s/0d]", "1:7: parse error: division by zero"},
    {"foo offset (4d/0)", "1:15: parse error: division by zero"},
    {"foo[5s%0d]", "1:7: parse error: modulo by zero"},
    {"foo offset 9.5e10", "1:12: parse error: duration out of range"},
    {"foo[9.5e10]", "1:5: parse error: duration out of range"},
    {"sum(", "1:5: parse error: unclosed left parenthesis"},
    {"sum(rate(", "1:10: parse error: unclosed left parenthesis"},
    {"foo[5s x 5s]", "1:8: parse error: unexpected character: 'x', expected ':'"},
    {"foo[5s s 5s]", "1:8: parse error: unexpected character: 's', expected ':'"},
    {"1[5m] smoothed", "1:2: parse error: ranges only allowed for vector selectors"},
    {"1[5m] anchored", "1:2: parse error: ranges only allowed for vector selectors"},
};

static const err_case flags_off_cases[] = {
    {"limitk(1, x)", "1:1: parse error: limitk() is experimental and must be enabled with "
                     "--enable-feature=promql-experimental-functions"},
    {"mad_over_time(x[5m])", "1:1: parse error: function \"mad_over_time\" is not enabled"},
    {"x[5m+1m]", "1:3: parse error: experimental duration expression is not enabled"},
    {"x[step()]", "1:3: parse error: experimental duration expression is not enabled"},
    {"x offset (5m)", "1:11: parse error: experimental duration expression is not enabled"},
    {"x[5m] anchored", "1:1: parse error: anchored modifier is experimental and not enabled"},
    {"x smoothed", "1:1: parse error: smoothed modifier is experimental and not enabled"},
    {"a + fill(0) b", "1:1: parse error: binop fill modifiers are experimental and not enabled"},
};

/* Cases of our own, for paths the upstream table does not reach. */
static const err_case own_cases[] = {
    {"foo{a=~\"(\"}", NULL},
    {"sum by (a) without (b) (x)", "1:12: parse error: unexpected <without>"},
    {"foo @ 1 @ 2", "1:1: parse error: @ <timestamp> may not be set multiple times"},
    {"foo[5m] offset 1m offset 2m", "1:1: parse error: offset may not be set multiple times"},
    {"foo[5m:1m:2m]", "1:10: parse error: unexpected colon ':'"},
    {"foo[:5m]", "1:6: parse error: unexpected colon before duration in duration expression"},
    {"label_join(x)", "1:1: parse error: expected at least 3 argument(s) in call to "
                      "\"label_join\", got 1"},
    {"round(x, 1, 2)", "1:1: parse error: expected at most 2 argument(s) in call to \"round\", "
                       "got 3"},
    {"foo and on(a) fill(1) bar", "1:1: parse error: filling in missing series not allowed for "
                                  "set operators"},
    {"1 + fill(1) 2", "1:1: parse error: filling in missing series only allowed between "
                      "instant vectors"},
    {"x[5m] anchored smoothed", "1:1: parse error: anchored and smoothed modifiers cannot be "
                                "used together"},
    {"x[5m:] anchored", "1:1: parse error: anchored modifier is not supported for subqueries"},
    {"foo\n  + *", "2:5: parse error: unexpected <op:*>"},
    {"sum(x) by ()  (y)", "1:15: parse error: unexpected \"(\""},
    {"quantile(\"a\", x)", "1:10: parse error: expected type scalar in aggregation parameter, "
                           "got string"},
    {"sum(x[5m])", "1:5: parse error: expected type instant vector in aggregation expression, "
                   "got range vector"},
    {"x[5m] + 1", "1:1: parse error: binary expression must contain only scalar and instant "
                  "vector types"},
    {"abs(\"a\" + 1)", "1:5: parse error: binary expression must contain only scalar and "
                       "instant vector types"},
    {"sum by (\"\") (x)", "1:9: parse error: invalid label name for grouping: \"\""},
    {"foo{a=\"\\xzz\"}", "1:7: parse error: illegal character U+007A 'z' in escape sequence"},
    {"foo{a=\"\\uD800\"}", "1:7: parse error: escape sequence is an invalid Unicode code point"},
    {"'abc", "1:1: parse error: unterminated quoted string"},
    {"foo @ end", "1:10: parse error: unexpected end of input in @, expected timestamp"},
    {"foo offset -", "1:13: parse error: unexpected end of input in offset, expected number, "
                     "duration, step(), or range()"},
    {"foo[5m:1m", "1:10: parse error: unclosed left bracket"},
    {"foo]", "1:4: parse error: unexpected right bracket ']'"},
    {"foo[5m:1m] [1m]", "1:12: parse error: ranges only allowed for vector selectors"},
};

/* Returns 1 (after printing why) when q does not fail as wanted. */
static int expect_error(const char *q, const char *want, const pql_parse_opts *opts)
{
    core_arena a = {0};
    core_err err = {{0}};
    pql_node *n = pql_parse(q, opts, &a, &err);
    core_arena_destroy(&a);
    if (n) {
        print_error("%s: parsed, want error %s\n", q, want ? want : "(any)");
        return 1;
    }
    if (want && strcmp(err.msg, want) != 0) {
        print_error("%s:\n got  %s\n want %s\n", q, err.msg, want);
        return 1;
    }
    return 0;
}

static void expect_errors(const err_case *cases, size_t n, const pql_parse_opts *opts)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += expect_error(cases[i].query, cases[i].want, opts);
    assert_int_equal(bad, 0);
}

static void test_upstream_cases(void **state)
{
    expect_errors(upstream_cases, sizeof upstream_cases / sizeof upstream_cases[0], &all_on);
}

static void test_flags_off(void **state)
{
    expect_errors(flags_off_cases, sizeof flags_off_cases / sizeof flags_off_cases[0], NULL);
}

static void test_own_cases(void **state)
{
    expect_errors(own_cases, sizeof own_cases / sizeof own_cases[0], &all_on);
}

/* Every prefix and many one-byte changes of valid queries: an AST or an
 * error, never a crash (the sanitizer build watches memory). */
static void test_mutations(void **state)
{
    static const char *seeds[] = {
        "sum by (job) (rate(http_requests_total{job=~\"a.*\",x!=\"y\"}[5m] offset -1h @ 10))",
        "histogram_quantile(0.9, x) > bool on(a) group_left(b) fill_left(1) y ^ -2 ^ 3",
        "max_over_time(foo[min_of(step(), 1h) + (5m * 2):30s] @ start()) or label_replace(x, "
        "'a', `b`, \"c\\n\", 'd')",
        "count_values(\"v\", topk(3, -vector(1e3) unless {__name__=\"x\"} anchored))",
    };
    static const char subst[] = "([{}]):,\"'`@-+*/^=!~<>#\\ \n0.5emxaz";
    size_t parsed = 0, failed = 0;
    for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
        size_t len = strlen(seeds[s]);
        char *buf = malloc(len + 1);
        for (size_t cut = 0; cut <= len; cut++) {
            for (size_t k = 0; k < sizeof subst; k++) {
                memcpy(buf, seeds[s], len + 1);
                if (k < sizeof subst - 1 && cut < len) buf[cut] = subst[k];
                if (k == sizeof subst - 1) buf[cut] = '\0';
                core_arena a = {0};
                core_err err;
                pql_node *n = pql_parse(buf, &all_on, &a, &err);
                if (n) {
                    core_sb sb = CORE_SB_INIT;
                    pql_print(n, &sb);
                    core_sb_destroy(&sb);
                    parsed++;
                } else {
                    assert_non_null(strstr(err.msg, "parse error: "));
                    failed++;
                }
                core_arena_destroy(&a);
            }
        }
        free(buf);
    }
    assert_true(parsed > 0 && failed > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstream_cases),
        cmocka_unit_test(test_flags_off),
        cmocka_unit_test(test_own_cases),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
