/*
 * test_ast.c - /api/v1/parse_query's tree (upstream's translateAST): every
 * node type with its keys in Go's sorted map order, matching clauses,
 * offsets and @ modifiers in milliseconds.
 */
#include "unit/unit.h"

#include "web/internal.h"

static void check(const char *query, const char *want)
{
    core_arena a = {0};
    core_err err;
    pql_node *n = pql_parse(query, NULL, &a, &err);
    if (!n) fail_msg("%s: %s", query, err.msg);
    core_sb sb = CORE_SB_INIT;
    web_ast_json(n, &sb);
    assert_string_equal(sb.buf, want);
    core_sb_destroy(&sb);
    core_arena_destroy(&a);
}

#define VS(name, extra)                                                                 \
    "{\"anchored\":false,\"matchers\":[" extra "{\"name\":\"__name__\",\"type\":\"=\"," \
    "\"value\":\"" name "\"}],\"name\":\"" name "\",\"offset\":0,\"offsetExpr\":null,"  \
    "\"smoothed\":false,\"startOrEnd\":null,\"timestamp\":null,\"type\":\"vectorSelector\"}"

static void test_leaves(void **state)
{
    (void)state;
    check("1.5e3", "{\"type\":\"numberLiteral\",\"val\":\"1500\"}");
    check("\"a<b\"", "{\"type\":\"stringLiteral\",\"val\":\"a\\u003cb\"}");
    check("x", VS("x", ""));
    check("x{job=~\"a.*\"}", VS("x", "{\"name\":\"job\",\"type\":\"=~\",\"value\":\"a.*\"},"));
    check("-x", "{\"expr\":" VS("x", "") ",\"op\":\"-\",\"type\":\"unaryExpr\"}");
    check("(x)", "{\"expr\":" VS("x", "") ",\"type\":\"parenExpr\"}");
    check("x offset -5m @ 100",
          "{\"anchored\":false,\"matchers\":[{\"name\":\"__name__\",\"type\":\"=\",\"value\":"
          "\"x\"}],\"name\":\"x\",\"offset\":-300000,\"offsetExpr\":null,\"smoothed\":false,"
          "\"startOrEnd\":null,\"timestamp\":100000,\"type\":\"vectorSelector\"}");
    check("{job=\"a\"}[5m] @ start()",
          "{\"anchored\":false,\"matchers\":[{\"name\":\"job\",\"type\":\"=\",\"value\":\"a\"}],"
          "\"name\":\"\",\"offset\":0,\"offsetExpr\":null,\"range\":300000,\"rangeExpr\":null,"
          "\"smoothed\":false,\"startOrEnd\":\"start\",\"timestamp\":null,"
          "\"type\":\"matrixSelector\"}");
}

static void test_operators(void **state)
{
    (void)state;
    check("1 + 2", "{\"bool\":false,\"lhs\":{\"type\":\"numberLiteral\",\"val\":\"1\"},"
                   "\"matching\":null,\"op\":\"+\",\"rhs\":{\"type\":\"numberLiteral\",\"val\":"
                   "\"2\"},\"type\":\"binaryExpr\"}");
    check(
        "a > bool on (b) group_left (c) d",
        "{\"bool\":true,\"lhs\":" VS(
            "a",
            "") ",\"matching\":{\"card\":\"many-to-one\","
                "\"fillValues\":{\"lhs\":null,\"rhs\":null},\"include\":[\"c\"],\"labels\":[\"b\"],"
                "\"on\":true},\"op\":\"\\u003e\",\"rhs\":" VS("d", "") ",\"type\":\"binaryExpr\"}");
    check("a and b",
          "{\"bool\":false,\"lhs\":" VS(
              "a", "") ",\"matching\":{\"card\":"
                       "\"many-to-many\",\"fillValues\":{\"lhs\":null,\"rhs\":null},\"include\":[],"
                       "\"labels\":[],\"on\":false},\"op\":\"and\",\"rhs\":" VS(
                           "b", "") ",\"type\":\"binaryExpr\"}");
    check(
        "topk without (a) (3, x)",
        "{\"expr\":" VS(
            "x", "") ",\"grouping\":[\"a\"],\"op\":\"topk\",\"param\":{\"type\":"
                     "\"numberLiteral\",\"val\":\"3\"},\"type\":\"aggregation\",\"without\":true}");
    check("sum(x)", "{\"expr\":" VS("x", "") ",\"grouping\":[],\"op\":\"sum\",\"param\":null,"
                                             "\"type\":\"aggregation\",\"without\":false}");
}

static void test_calls(void **state)
{
    (void)state;
    check("rate(x[1m])",
          "{\"args\":[{\"anchored\":false,\"matchers\":[{\"name\":\"__name__\",\"type\":\"=\","
          "\"value\":\"x\"}],\"name\":\"x\",\"offset\":0,\"offsetExpr\":null,\"range\":60000,"
          "\"rangeExpr\":null,\"smoothed\":false,\"startOrEnd\":null,\"timestamp\":null,"
          "\"type\":\"matrixSelector\"}],\"func\":{\"argTypes\":[\"matrix\"],\"name\":\"rate\","
          "\"returnType\":\"vector\",\"variadic\":0},\"type\":\"call\"}");
    check("time()", "{\"args\":[],\"func\":{\"argTypes\":[],\"name\":\"time\",\"returnType\":"
                    "\"scalar\",\"variadic\":0},\"type\":\"call\"}");
    check("x[1h:5m] offset 1m",
          "{\"expr\":" VS(
              "x", "") ",\"offset\":60000,\"offsetExpr\":null,\"range\":3600000,"
                       "\"rangeExpr\":null,\"startOrEnd\":null,\"step\":300000,\"stepExpr\":null,"
                       "\"timestamp\":null,\"type\":\"subquery\"}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaves),
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
