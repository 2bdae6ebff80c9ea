/*
 * test_pretty.c - /api/v1/format_query's layout, upstream's Pretty(0): text
 * up to 100 characters stays on one line; longer aggregations, binary
 * operations, calls, parentheses and subqueries split over lines indented
 * two spaces per level, unary operators stick to their operand.
 */
#include "unit/unit.h"

#include "web/internal.h"

#define A \
    "rate(http_requests_total{code=~\"5..\",handler=\"/api/comments\",job=\"api-server\"}[5m])"
#define B  "rate(http_requests_total{handler=\"/api/comments\",job=\"api-server\"}[5m])"
#define HQ "sum by (le, job) (rate(http_request_duration_seconds_bucket{job=\"api-server\"}[5m]))"

static void check(const char *query, const char *want)
{
    core_arena a = {0};
    core_err err;
    pql_node *n = pql_parse(query, NULL, &a, &err);
    if (!n) fail_msg("%s: %s", query, err.msg);
    core_sb sb = CORE_SB_INIT;
    web_pretty(n, &sb);
    assert_string_equal(sb.buf, want);
    core_sb_destroy(&sb);
    core_arena_destroy(&a);
}

static void test_short(void **state)
{
    (void)state;
    check("sum(rate(x[5m]))", "sum(rate(x[5m]))");
    check("  up{job='a'}  ", "up{job=\"a\"}");
    check("sum by(job)(x)", "sum by (job) (x)");
    check("-x", "-x");
    check("rate(x[5m])[1h:1m]", "rate(x[5m])[1h:1m]");
    check(B, B);
}

static void test_split(void **state)
{
    (void)state;
    check("sum without (instance) (" A ")", "sum without (instance) (\n  " A "\n)");
    check("topk(5, " A ")", "topk(5, " A ")");
    check("sum by (job) (" A ") / on (job) sum by (job) (" B ")",
          "  sum by (job) (" A ")\n/ on (job)\n  sum by (job) (" B ")");
    check("histogram_quantile(0.9, " HQ ")", "histogram_quantile(\n  0.9,\n  " HQ "\n)");
    check("-(sum by (job) (" A ") / on (job) sum by (job) (" B "))",
          "-(\n    sum by (job) (" A ")\n  / on (job)\n    sum by (job) (" B ")\n)");
    check("max_over_time((sum by (job) (" A ") / on (job) sum by (job) (" B "))[1h:5m])",
          "max_over_time(\n  (\n      sum by (job) (" A ")\n    / on (job)\n      sum by (job) (" B
          ")\n  )[1h:5m]\n)");
    check(A " > bool 0.5 * " B, "  " A "\n> bool\n  0.5 * " B);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short),
        cmocka_unit_test(test_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
