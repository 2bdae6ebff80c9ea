/*
 * test_engine.c - the PromQL evaluator on a small in-memory storage: vector
 * matching, aggregations, staleness and functions' edge cases (empty input,
 * NaN, Inf, stale markers), and query errors.
 */
#include "unit/unit.h"

#include <math.h>

#include "promql/engine.h"
#include "promql/promql.h"

typedef struct fixture {
    pql_mem_storage *ms;
    core_arena arena;
    pql_result res;
    core_err err;
} fixture;

static fixture fx;

static void add(const char *name, const char *k, const char *v, int64_t t, double val)
{
    core_label pairs[2] = {{CORE_METRIC_NAME, name}, {k, v}};
    core_labels *ls = core_labels_new(pairs, k ? 2 : 1);
    pql_mem_storage_add(fx.ms, ls, t, val);
    free(ls);
}

static int setup(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof fx);
    fx.ms = pql_mem_storage_new();
    for (int i = 0; i <= 10; i++) {
        add("up", "job", "a", i * 60000, 1);
        add("up", "job", "b", i * 60000, 0);
        add("req_total", "job", "a", i * 60000, i * 60.0);
        add("req_total", "job", "b", i * 60000, i * 120.0);
    }
    add("info", "job", "a", 0, 1);
    add("weird", "x", "nan", 0, NAN);
    add("weird", "x", "inf", 0, INFINITY);
    add("gone", NULL, NULL, 0, 5);
    add("gone", NULL, NULL, 60000, pql_stale_nan());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    core_arena_destroy(&fx.arena);
    pql_mem_storage_free(fx.ms);
    return 0;
}

static int eval_at(const char *q, int64_t t)
{
    core_arena_reset(&fx.arena);
    pql_node *n = pql_parse(q, NULL, &fx.arena, &fx.err);
    if (!n) return -1;
    pql_engine_opts o = PQL_ENGINE_OPTS_DEFAULT;
    return pql_eval_instant(pql_mem_storage_iface(fx.ms), &o, n, t, &fx.arena, &fx.res, &fx.err);
}

/* The value of the result series whose labels print as `want`, or -12345. */
static double value_of(const char *want)
{
    for (size_t i = 0; i < fx.res.nseries; i++) {
        core_sb sb = CORE_SB_INIT;
        core_labels_format(fx.res.series[i].labels, &sb);
        bool hit = strcmp(sb.buf ? sb.buf : "{}", want) == 0;
        core_sb_destroy(&sb);
        if (hit) return fx.res.series[i].pts[0].v;
    }
    return -12345;
}

static void test_one_to_one(void **state)
{
    (void)state;
    assert_int_equal(eval_at("req_total / on(job) up", 600000), 0);
    assert_int_equal(fx.res.nseries, 2);
    assert_true(isinf(value_of("{job=\"b\"}")));
    assert_float_equal(value_of("{job=\"a\"}"), 600, 1e-9);
}

static void test_group_left(void **state)
{
    (void)state;
    assert_int_equal(eval_at("up * on(job) group_left info", 0), 0);
    assert_int_equal(fx.res.nseries, 1);
    assert_float_equal(value_of("{job=\"a\"}"), 1, 0);
}

static void test_many_to_many_error(void **state)
{
    (void)state;
    assert_int_equal(eval_at("up + on() req_total", 0), -1);
    assert_non_null(strstr(fx.err.msg, "found duplicate series for the match group {} on the "
                                       "right hand-side of the operation"));
}

static void test_set_ops(void **state)
{
    (void)state;
    assert_int_equal(eval_at("up == 1 or req_total", 0), 0);
    assert_int_equal(fx.res.nseries, 2); /* req_total{job="a"} matches up{job="a"} */
    assert_int_equal(eval_at("req_total unless on(job) up == 0", 0), 0);
    assert_int_equal(fx.res.nseries, 1);
}

static void test_aggregations(void **state)
{
    (void)state;
    assert_int_equal(eval_at("sum(req_total)", 600000), 0);
    assert_float_equal(value_of("{}"), 1800, 1e-9);
    assert_int_equal(eval_at("avg by (job) (up)", 0), 0);
    assert_float_equal(value_of("{job=\"b\"}"), 0, 0);
    assert_int_equal(eval_at("count(up)", 0), 0);
    assert_float_equal(value_of("{}"), 2, 0);
    assert_int_equal(eval_at("topk(1, req_total)", 600000), 0);
    assert_float_equal(value_of("{__name__=\"req_total\", job=\"b\"}"), 1200, 0);
    assert_int_equal(eval_at("quantile(0.5, req_total)", 600000), 0);
    assert_float_equal(value_of("{}"), 900, 1e-9);
    assert_int_equal(eval_at("max(weird)", 0), 0);
    assert_true(isinf(value_of("{}")));
}

static void test_empty_input(void **state)
{
    (void)state;
    assert_int_equal(eval_at("sum(nothing)", 0), 0);
    assert_int_equal(fx.res.nseries, 0);
    assert_int_equal(eval_at("rate(nothing[5m])", 0), 0);
    assert_int_equal(fx.res.nseries, 0);
    assert_int_equal(eval_at("absent(nothing{job=\"x\"})", 0), 0);
    assert_float_equal(value_of("{job=\"x\"}"), 1, 0);
}

static void test_rate_and_stale(void **state)
{
    (void)state;
    assert_int_equal(eval_at("rate(req_total{job=\"a\"}[5m])", 600000), 0);
    assert_float_equal(value_of("{job=\"a\"}"), 1, 1e-9);
    assert_int_equal(eval_at("gone", 30000), 0);
    assert_int_equal(fx.res.nseries, 1);
    assert_int_equal(eval_at("gone", 90000), 0);
    assert_int_equal(fx.res.nseries, 0); /* stale marker ends it */
}

static void test_nan_inf(void **state)
{
    (void)state;
    assert_int_equal(eval_at("abs(weird)", 0), 0);
    assert_true(isnan(value_of("{x=\"nan\"}")));
    assert_int_equal(eval_at("clamp_max(weird, 3)", 0), 0);
    assert_float_equal(value_of("{x=\"inf\"}"), 3, 0);
    assert_int_equal(eval_at("scalar(weird)", 0), 0);
    assert_true(isnan(fx.res.scalar));
}

static void test_label_replace(void **state)
{
    (void)state;
    assert_int_equal(eval_at("label_replace(up, \"dst\", \"x-$1\", \"job\", \"(.*)\")", 0), 0);
    assert_float_equal(value_of("{__name__=\"up\", dst=\"x-a\", job=\"a\"}"), 1, 0);
}

static void test_same_labelset_error(void **state)
{
    (void)state;
    assert_int_equal(eval_at("abs({__name__=~\"up|req_total\"})", 0), -1);
    assert_string_equal(fx.err.msg, "vector cannot contain metrics with the same labelset");
}

static void test_range_query(void **state)
{
    (void)state;
    core_arena_reset(&fx.arena);
    pql_node *n = pql_parse("sum(up)", NULL, &fx.arena, &fx.err);
    pql_engine_opts o = PQL_ENGINE_OPTS_DEFAULT;
    assert_int_equal(pql_eval_range(pql_mem_storage_iface(fx.ms), &o, n, 0, 600000, 60000,
                                    &fx.arena, &fx.res, &fx.err),
                     0);
    assert_int_equal(fx.res.type, PQL_TYPE_MATRIX);
    assert_int_equal(fx.res.nseries, 1);
    assert_int_equal(fx.res.series[0].n, 11);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_to_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_left, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_to_many_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aggregations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_and_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nan_inf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_labelset_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_query, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
