/*
 * test_parse.c - the parser: every construct, checked by printing the AST
 * back (canonical text) and for some by looking at the nodes: precedence and
 * associativity, vector matching, aggregations, selectors and their
 * modifiers, subqueries, duration expressions, types, and the function table.
 */
#include "unit/unit.h"

#include <math.h>

#include "promql/promql.h"

static const pql_parse_opts all_on = {true, true, true, true};

static pql_node *parse_ok(core_arena *a, const char *q)
{
    core_err err;
    pql_node *n = pql_parse(q, &all_on, a, &err);
    if (!n) fail_msg("%s: %s", q, err.msg);
    return n;
}

static void expect_print(const char *q, const char *want)
{
    core_arena a = {0};
    core_sb sb = CORE_SB_INIT;
    pql_print(parse_ok(&a, q), &sb);
    if (strcmp(sb.buf, want) != 0) fail_msg("%s:\n got  %s\n want %s", q, sb.buf, want);
    core_sb_destroy(&sb);
    core_arena_destroy(&a);
}

static void test_precedence(void **state)
{
    core_arena a = {0};
    /* ^ is right-associative and binds tighter than unary minus */
    pql_node *n = parse_ok(&a, "2 ^ 3 ^ 2");
    assert_int_equal(n->kind, PQL_NODE_BINARY);
    assert_int_equal(n->u.binary.rhs->kind, PQL_NODE_BINARY);
    n = parse_ok(&a, "-2 ^ 2");
    assert_int_equal(n->kind, PQL_NODE_UNARY);
    n = parse_ok(&a, "-x * y");
    assert_int_equal(n->kind, PQL_NODE_BINARY);
    assert_int_equal(n->u.binary.lhs->kind, PQL_NODE_UNARY);
    /* - - is left-assoc among equals */
    n = parse_ok(&a, "1 - 2 - 3");
    assert_int_equal(n->u.binary.lhs->kind, PQL_NODE_BINARY);
    /* or is lowest, then and/unless, comparisons, +, * */
    n = parse_ok(&a, "a or b and c == d + e * f");
    assert_int_equal(n->u.binary.op, PQL_OP_OR);
    pql_node *r = n->u.binary.rhs;
    assert_int_equal(r->u.binary.op, PQL_OP_AND);
    assert_int_equal(r->u.binary.rhs->u.binary.op, PQL_OP_EQLC);
    assert_int_equal(r->u.binary.rhs->u.binary.rhs->u.binary.op, PQL_OP_ADD);
    n = parse_ok(&a, "a atan2 b + c");
    assert_int_equal(n->u.binary.op, PQL_OP_ADD);
    /* a sign on a number folds into the literal */
    n = parse_ok(&a, "-1.5");
    assert_int_equal(n->kind, PQL_NODE_NUMBER);
    assert_true(n->u.number.value == -1.5);
    core_arena_destroy(&a);
}

static void test_literals(void **state)
{
    core_arena a = {0};
    pql_node *n = parse_ok(&a, "0x1F");
    assert_true(n->u.number.value == 31);
    n = parse_ok(&a, "017");
    assert_true(n->u.number.value == 15);
    n = parse_ok(&a, "1e-3");
    assert_true(n->u.number.value == 0.001);
    n = parse_ok(&a, "-Inf");
    assert_true(isinf(n->u.number.value) && n->u.number.value < 0);
    n = parse_ok(&a, "NaN");
    assert_true(isnan(n->u.number.value));
    n = parse_ok(&a, "1h30m");
    assert_true(n->u.number.duration && n->u.number.value == 5400);
    n = parse_ok(&a, "\"a\\x00b\"");
    assert_int_equal(n->kind, PQL_NODE_STRING);
    assert_int_equal(n->u.string.len, 3);
    assert_int_equal(pql_node_type(n), PQL_TYPE_STRING);
    core_arena_destroy(&a);
    expect_print("1_000", "1000");
    expect_print(".5", "0.5");
    expect_print("-5m", "-5m");
    expect_print("'single'", "\"single\"");
    expect_print("1 + 2 > bool 0", "1 + 2 > bool 0");
}

static void test_selectors(void **state)
{
    core_arena a = {0};
    pql_node *n = parse_ok(&a, "foo{a=\"1\",b!=\"2\",c=~\"3\",d!~\"4\"}");
    assert_int_equal(n->kind, PQL_NODE_VECTOR);
    assert_string_equal(n->u.vector.name, "foo");
    assert_int_equal(n->u.vector.nmatchers, 5);
    assert_int_equal(n->u.vector.matchers[1].type, PQL_MATCH_NEQ);
    assert_int_equal(n->u.vector.matchers[2].type, PQL_MATCH_RE);
    assert_int_equal(n->u.vector.matchers[3].type, PQL_MATCH_NRE);
    assert_string_equal(n->u.vector.matchers[4].name, "__name__");
    n = parse_ok(&a, "{\"foo.bar\", job=\"x\"}");
    assert_string_equal(n->u.vector.name, "");
    assert_string_equal(n->u.vector.matchers[0].name, "__name__");
    assert_string_equal(n->u.vector.matchers[0].value, "foo.bar");
    n = parse_ok(&a, "foo offset -5m @ end()");
    assert_true(n->u.vector.timing.offset_ms == -300000);
    assert_int_equal(n->u.vector.timing.at, PQL_AT_END);
    n = parse_ok(&a, "foo[5m] @ 100.5 offset 1m");
    assert_int_equal(n->kind, PQL_NODE_MATRIX);
    assert_true(n->u.matrix.range_ms == 300000);
    assert_true(n->u.matrix.vector->u.vector.timing.at_ms == 100500);
    assert_true(n->u.matrix.vector->u.vector.timing.offset_ms == 60000);
    assert_int_equal(pql_node_type(n), PQL_TYPE_MATRIX);
    core_arena_destroy(&a);
    expect_print("foo{b=\"2\",a=\"1\",}", "foo{a=\"1\",b=\"2\"}");
    expect_print("{__name__=\"foo\"}", "{__name__=\"foo\"}");
    expect_print("{__name__=~\"foo\"}", "{__name__=~\"foo\"}");
    expect_print("sum", "sum");
    expect_print("by{a=\"b\"} + offset + start", "by{a=\"b\"} + offset + start");
    expect_print("foo @ start() offset 1m", "foo @ start() offset 1m");
    expect_print("foo offset 1m @ 10", "foo @ 10.000 offset 1m");
    expect_print("foo[1h] smoothed", "foo[1h] smoothed");
    expect_print("foo anchored offset 5m", "foo anchored offset 5m");
}

static void test_subqueries(void **state)
{
    core_arena a = {0};
    pql_node *n = parse_ok(&a, "rate(x[5m])[30m:1m] offset 1h @ start()");
    assert_int_equal(n->kind, PQL_NODE_SUBQUERY);
    assert_true(n->u.subquery.range_ms == 1800000 && n->u.subquery.step_ms == 60000);
    assert_true(n->u.subquery.timing.offset_ms == 3600000);
    assert_int_equal(n->u.subquery.timing.at, PQL_AT_START);
    n = parse_ok(&a, "x[30m:]");
    assert_true(n->u.subquery.step_ms == 0 && n->u.subquery.step_expr == NULL);
    n = parse_ok(&a, "x[5m+1m:step()]");
    assert_non_null(n->u.subquery.range_expr);
    assert_int_equal(n->u.subquery.range_expr->u.duration.op, PQL_OP_ADD);
    assert_int_equal(n->u.subquery.step_expr->u.duration.op, PQL_OP_STEP);
    core_arena_destroy(&a);
    expect_print("min_over_time((a + b)[1h:5m] offset -1d)",
                 "min_over_time((a + b)[1h:5m] offset -1d)");
    expect_print("(x[1h:])", "(x[1h:])");
}

static void test_binary_matching(void **state)
{
    core_arena a = {0};
    pql_node *n = parse_ok(&a, "a * on(x, y) group_left(z) b");
    assert_true(n->u.binary.matching && n->u.binary.on);
    assert_int_equal(n->u.binary.card, PQL_CARD_MANY_TO_ONE);
    assert_int_equal(n->u.binary.nlabels, 2);
    assert_string_equal(n->u.binary.include[0], "z");
    n = parse_ok(&a, "a and b");
    assert_int_equal(n->u.binary.card, PQL_CARD_MANY_TO_MANY);
    n = parse_ok(&a, "a + 1");
    assert_false(n->u.binary.matching);
    n = parse_ok(&a, "a > bool 1");
    assert_true(n->u.binary.return_bool);
    n = parse_ok(&a, "a - fill_left(1) fill_right(-2) b");
    assert_true(n->u.binary.has_fill_lhs && n->u.binary.fill_lhs == 1);
    assert_true(n->u.binary.has_fill_rhs && n->u.binary.fill_rhs == -2);
    core_arena_destroy(&a);
    expect_print("a / ignoring(b) group_right c", "a / ignoring (b) group_right () c");
    expect_print("a < on() group_left b", "a < on () group_left () b");
    expect_print("a unless on(b) c", "a unless on (b) c");
    expect_print("a </ b >/ c", "a </ b >/ c");
    expect_print("a != bool on(x) b", "a != bool on (x) b");
}

static void test_aggregations(void **state)
{
    static const char *ops[] = {"sum", "avg", "count", "min", "max", "group", "stddev", "stdvar"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        char q[128], want[128];
        snprintf(q, sizeof q, "%s(x) by (a,b)", ops[i]);
        snprintf(want, sizeof want, "%s by (a, b) (x)", ops[i]);
        expect_print(q, want);
    }
    expect_print("topk without(a) (3, x)", "topk without (a) (3, x)");
    expect_print("bottomk(3, x)", "bottomk(3, x)");
    expect_print("quantile(0.9, x) by (job)", "quantile by (job) (0.9, x)");
    expect_print("count_values by (a) ('v', x)", "count_values by (a) (\"v\", x)");
    expect_print("limitk(2, x)", "limitk(2, x)");
    expect_print("limit_ratio(-0.5, x)", "limit_ratio(-0.5, x)");
    expect_print("SUM BY (job) (x)", "sum by (job) (x)");
    expect_print("sum by (sum, by, on, offset) (x)", "sum by (sum, by, on, offset) (x)");
    core_arena a = {0};
    pql_node *n = parse_ok(&a, "topk(5, x) without (a)");
    assert_int_equal(n->u.aggr.op, PQL_AGGR_TOPK);
    assert_true(n->u.aggr.without);
    assert_int_equal(n->u.aggr.param->kind, PQL_NODE_NUMBER);
    assert_int_equal(n->u.aggr.expr->kind, PQL_NODE_VECTOR);
    core_arena_destroy(&a);
}

static void test_calls_and_types(void **state)
{
    core_arena a = {0};
    pql_node *n = parse_ok(&a, "histogram_quantile(0.9, rate(x[5m]))");
    assert_int_equal(n->kind, PQL_NODE_CALL);
    assert_string_equal(n->u.call.func->name, "histogram_quantile");
    assert_int_equal(n->u.call.nargs, 2);
    assert_int_equal(pql_node_type(parse_ok(&a, "time()")), PQL_TYPE_SCALAR);
    assert_int_equal(pql_node_type(parse_ok(&a, "scalar(x) + 1")), PQL_TYPE_SCALAR);
    assert_int_equal(pql_node_type(parse_ok(&a, "x + 1")), PQL_TYPE_VECTOR);
    assert_int_equal(pql_node_type(parse_ok(&a, "(x[5m:])")), PQL_TYPE_MATRIX);
    n = parse_ok(&a, "info(x, {k=~\".+\"})");
    assert_true(n->u.call.args[1]->u.vector.bypass_empty_check);
    parse_ok(&a, "info(x)");
    parse_ok(&a, "label_join(x, 'd', ',', 'a', 'b', 'c', 'd')");
    parse_ok(&a, "sort_by_label(x, 'a', 'b')");
    parse_ok(&a, "double_exponential_smoothing(x[5m], 0.5, 0.5)");
    parse_ok(&a, "mad_over_time(x[5m]) + ts_of_max_over_time(x[5m]) + first_over_time(x[1m])");
    parse_ok(&a, "ts_of_min_over_time(x[1m]) + ts_of_first_over_time(x[1m]) + "
                 "ts_of_last_over_time(x[1m])");
    parse_ok(&a, "sort_by_label_desc(x, 'a') + round(x) + round(x, 5)");
    core_arena_destroy(&a);
    expect_print("day_of_week()", "day_of_week()");
    expect_print("step() + range() + min_of(1, 2)", "step() + range() + min_of(1, 2)");
}

static void test_duration_expressions(void **state)
{
    expect_print("x[2m*(10+5)]", "x[2m * (10 + 5)]");
    expect_print("x[(5m)]", "x[(5m)]");
    expect_print("x offset -(5m + 1m)", "x offset -(5m + 1m)");
    expect_print("x offset +step()", "x offset step()");
    expect_print("x offset -step() * 2", "x offset -step() * 2");
    expect_print("x[max_of(min_of(step()+1,1h),1ms)]", "x[max_of(min_of(step() + 1, 1h), 1ms)]");
    expect_print("x[1h % 7m ^ 2]", "x[1h % 7m ^ 2]");
    expect_print("x offset 1.5", "x offset 1s500ms");
}

static void test_function_table(void **state)
{
    size_t n;
    const pql_func *all = pql_func_all(&n);
    assert_true(n >= 80);
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(all[i - 1].name, all[i].name) < 0);
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(pql_func_lookup(all[i].name, strlen(all[i].name)), &all[i]);
        assert_true(all[i].nargs >= 0 && all[i].nargs <= 5);
    }
    const pql_func *f = pql_func_lookup("label_join", 10);
    assert_int_equal(f->variadic, -1);
    assert_int_equal(f->arg_types[0], PQL_TYPE_VECTOR);
    f = pql_func_lookup("rate", 4);
    assert_int_equal(f->arg_types[0], PQL_TYPE_MATRIX);
    assert_int_equal(f->ret, PQL_TYPE_VECTOR);
    assert_true(pql_func_lookup("mad_over_time", 13)->experimental);
    assert_null(pql_func_lookup("nope", 4));
    assert_null(pql_func_lookup("rat", 3));
    assert_string_equal(pql_type_doc_name(PQL_TYPE_MATRIX), "range vector");
}

static void test_positions_in_multiline(void **state)
{
    core_arena a = {0};
    core_err err;
    assert_null(pql_parse("sum(\n  rate(x[5m])\n) by (a) +\n  foo{", &all_on, &a, &err));
    assert_string_equal(err.msg, "4:7: parse error: unexpected end of input inside braces");
    assert_non_null(pql_parse_n("x + 1 garbage", 5, &all_on, &a, &err));
    core_arena_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence),      cmocka_unit_test(test_literals),
        cmocka_unit_test(test_selectors),       cmocka_unit_test(test_subqueries),
        cmocka_unit_test(test_binary_matching), cmocka_unit_test(test_aggregations),
        cmocka_unit_test(test_calls_and_types), cmocka_unit_test(test_duration_expressions),
        cmocka_unit_test(test_function_table),  cmocka_unit_test(test_positions_in_multiline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
