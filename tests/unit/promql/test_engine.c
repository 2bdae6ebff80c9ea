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

/* eval_at with experimental functions on. */
static int eval_exp(const char *q, int64_t t)
{
    core_arena_reset(&fx.arena);
    pql_parse_opts po = {.experimental_functions = true};
    pql_node *n = pql_parse(q, &po, &fx.arena, &fx.err);
    if (!n) return -1;
    pql_engine_opts o = PQL_ENGINE_OPTS_DEFAULT;
    return pql_eval_instant(pql_mem_storage_iface(fx.ms), &o, n, t, &fx.arena, &fx.res, &fx.err);
}

/* The text of annotation i of the last result for query q. */
static void assert_annotation(const char *q, size_t i, bool info, const char *want)
{
    assert_true(i < fx.res.nannos);
    assert_int_equal(fx.res.annos[i].info, info);
    core_sb sb = CORE_SB_INIT;
    pql_annotation_format(&fx.res.annos[i], q, &sb);
    assert_string_equal(sb.buf, want);
    core_sb_destroy(&sb);
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

static void add_buckets(const char *name, const char *const *les, const double *counts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        add(name, "le", les[i], 0, counts[i]);
}

static void test_histogram_fraction(void **state)
{
    (void)state;
    static const char *const les[] = {"1", "2", "3", "+Inf"};
    static const double counts[] = {1, 3, 6, 100};
    add_buckets("h_bucket", les, counts, 4);
    assert_int_equal(eval_at("histogram_fraction(0, 1.5, h_bucket)", 0), 0);
    assert_float_equal(value_of("{}"), 0.02, 1e-12);
    assert_int_equal(eval_at("histogram_fraction(3, 2, h_bucket)", 0), 0);
    assert_float_equal(value_of("{}"), 0, 0);
    assert_int_equal(eval_at("histogram_fraction(NaN, 2, h_bucket)", 0), 0);
    assert_true(isnan(value_of("{}")));
}

static void test_histogram_quantiles(void **state)
{
    (void)state;
    static const char *const les[] = {"1", "2", "+Inf"};
    static const double counts[] = {2, 4, 4};
    add_buckets("h_bucket", les, counts, 3);
    assert_int_equal(eval_exp("histogram_quantiles(h_bucket, \"q\", 0.5, 1)", 0), 0);
    assert_float_equal(value_of("{q=\"0.5\"}"), 1, 1e-12);
    assert_float_equal(value_of("{q=\"1.0\"}"), 2, 1e-12);
}

static void test_annotations(void **state)
{
    (void)state;
    const char *q = "quantile(2, up)";
    assert_int_equal(eval_at(q, 0), 0);
    assert_int_equal(fx.res.nannos, 1);
    assert_annotation(q, 0, false,
                      "PromQL warning: quantile value should be between 0 and 1, got 2 (1:10)");
    add("bad_bucket", "le", "x", 0, 1);
    q = "histogram_quantile(0.5,\n bad_bucket)";
    assert_int_equal(eval_at(q, 0), 0);
    assert_int_equal(fx.res.nseries, 0);
    assert_annotation(q, 0, false,
                      "PromQL warning: bucket label \"le\" is missing or has a malformed value of "
                      "\"x\" for metric name \"bad_bucket\" (2:2)");
    static const char *const les[] = {"1", "2", "+Inf"};
    static const double counts[] = {3, 2, 4};
    add_buckets("mono_bucket", les, counts, 3);
    assert_int_equal(eval_at("histogram_quantile(0.5, mono_bucket)", 0), 0);
    assert_int_equal(fx.res.nannos, 1);
    assert_true(fx.res.annos[0].info);
    assert_int_equal(eval_at("sum(up)", 0), 0);
    assert_int_equal(fx.res.nannos, 0);
}

static void test_sort_by_label(void **state)
{
    (void)state;
    add("s", "i", "a10", 0, 1);
    add("s", "i", "a9", 0, 2);
    add("s", "i", "b1", 0, 3);
    assert_int_equal(eval_exp("sort_by_label(s, \"i\")", 0), 0);
    assert_int_equal(fx.res.nseries, 3);
    assert_float_equal(fx.res.series[0].pts[0].v, 2, 0);
    assert_float_equal(fx.res.series[1].pts[0].v, 1, 0);
    assert_int_equal(eval_exp("sort_by_label_desc(s, \"i\")", 0), 0);
    assert_float_equal(fx.res.series[0].pts[0].v, 3, 0);
}

static void test_new_range_functions(void **state)
{
    (void)state;
    static const double v[] = {4, 6, 2, 1, 999, 1, 2};
    for (int i = 0; i < 7; i++)
        add("m", NULL, NULL, i * 10000, v[i]);
    assert_int_equal(eval_exp("mad_over_time(m[70s])", 70000), 0);
    assert_float_equal(value_of("{}"), 1, 0);
    assert_int_equal(eval_exp("ts_of_max_over_time(m[70s])", 70000), 0);
    assert_float_equal(value_of("{}"), 40, 0);
    assert_int_equal(eval_exp("ts_of_first_over_time(m[70s])", 70000), 0);
    assert_float_equal(value_of("{}"), 10, 0);
}

static void test_query_time_functions(void **state)
{
    (void)state;
    assert_int_equal(eval_exp("min_of(3, NaN)", 0), 0);
    assert_true(isnan(fx.res.scalar));
    assert_int_equal(eval_exp("max_of(3, 5)", 0), 0);
    assert_float_equal(fx.res.scalar, 5, 0);
    core_arena_reset(&fx.arena);
    pql_parse_opts po = {.experimental_functions = true};
    pql_node *n = pql_parse("step() + range()", &po, &fx.arena, &fx.err);
    pql_engine_opts o = PQL_ENGINE_OPTS_DEFAULT;
    assert_int_equal(pql_eval_range(pql_mem_storage_iface(fx.ms), &o, n, 0, 20000, 10000, &fx.arena,
                                    &fx.res, &fx.err),
                     0);
    assert_float_equal(fx.res.series[0].pts[0].v, 30, 0);
}

static void test_label_replace_invalid_dst(void **state)
{
    (void)state;
    assert_int_equal(eval_at("label_replace(up, \"\\xff\", \"\", \"job\", \"(.*)\")", 0), -1);
    assert_non_null(strstr(fx.err.msg, "invalid destination label name"));
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
        cmocka_unit_test_setup_teardown(test_histogram_fraction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_histogram_quantiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_annotations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sort_by_label, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_range_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_time_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_replace_invalid_dst, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
