/*
 * test_eval_agg.c - aggregations, which fold their input series by series
 * into (group, step) cells: a range query equals, step by step, the instant
 * queries at its steps (steps.h) for every aggregation, with and without
 * grouping, over streamed and evaluated inputs; topk and bottomk, which keep
 * a bounded heap per cell, keep the first k of a stable sort (by value, NaN
 * last, ties in input order); count_values over changing values.
 */
#include "steps.h"

static pql_mem_storage *ms;

static int setup(void **state)
{
    (void)state;
    ms = pql_mem_storage_new();
    steps_fill(ms);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pql_mem_storage_free(ms);
    return 0;
}

static size_t check(const char *q)
{
    return steps_check(pql_mem_storage_iface(ms), q, 1800000, STEPS_DATA_END, 20000, 1e-12);
}

static void test_aggregations_step_by_step(void **state)
{
    (void)state;
    static const char *const ops[] = {"sum",
                                      "avg",
                                      "count",
                                      "min",
                                      "max",
                                      "group",
                                      "stddev",
                                      "stdvar",
                                      "topk(2,",
                                      "bottomk(3,",
                                      "limitk(2,",
                                      "limit_ratio(0.5,",
                                      "limit_ratio(-0.9,",
                                      "quantile(0.3,"};
    static const char *const ins[] = {"gauge", "rate(counter[5m])", "zero", "-gauge",
                                      "gauge * on(i) group_left zero"};
    static const char *const by[] = {"", " by (i)", " without (i)"};
    char q[256];
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
        for (size_t i = 0; i < sizeof ins / sizeof ins[0]; i++)
            for (size_t b = 0; b < sizeof by / sizeof by[0]; b++) {
                bool param = strchr(ops[o], '(') != NULL;
                snprintf(q, sizeof q, "%s%s%s%s)", ops[o], param ? " " : "", param ? "" : "(",
                         ins[i]);
                char full[300];
                snprintf(full, sizeof full, "%s%s", q, by[b]);
                if (check(full) == 0) fail_msg("%s: no points", full);
            }
}

static void test_nested_and_parameters(void **state)
{
    (void)state;
    static const char *const qs[] = {
        "sum(sum by (i) (rate(counter[5m])))",
        "max by (le) (rate(bucket[5m]))",
        "topk(scalar(count(gauge) - 4), gauge)",
        "bottomk by (g) (1, rate(bucket[5m]))",
        "quantile(scalar(zero{i=\"0\"}), gauge)",
        "count_values(\"v\", zero)",
        "count_values by (i) (\"v\", round(gauge))",
        "count_values without (i) (\"v\", zero)",
        "avg(big)",
        "sum(gauge) / count(gauge)",
    };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
        assert_true(check(qs[i]) > 0);
}

static void test_parameter_errors(void **state)
{
    (void)state;
    /* fails at every step, even without input */
    check("topk(NaN, gauge)");
    check("limitk(NaN, nothing)");
    check("limit_ratio(NaN, gauge)");
}

/* topk/bottomk at every step of a range query keep exactly the series a
 * stable sort of that step's input (by value, NaN last) puts first. */
static void test_topk_is_a_stable_sort(void **state)
{
    (void)state;
    static const char *const qs[] = {"topk(2, zero)", "bottomk(2, zero)", "topk(3, gauge)",
                                     "bottomk(1, gauge)"};
    for (size_t qi = 0; qi < sizeof qs / sizeof qs[0]; qi++) {
        bool top = qs[qi][0] == 't';
        size_t k = (size_t)(strchr(qs[qi], '(')[1] - '0');
        const char *sel = strchr(qs[qi], ',') + 2;
        char in_q[32];
        snprintf(in_q, sizeof in_q, "%.*s", (int)(strlen(sel) - 1), sel);
        core_arena a = {0};
        core_err err = {{0}};
        pql_node *n = pql_parse(qs[qi], NULL, &a, &err), *in = pql_parse(in_q, NULL, &a, &err);
        pql_engine_opts o = PQL_ENGINE_OPTS_DEFAULT;
        pql_result r;
        assert_int_equal(pql_eval_range(pql_mem_storage_iface(ms), &o, n, 1800000, STEPS_DATA_END,
                                        20000, &a, &r, &err),
                         0);
        for (int64_t t = 1800000; t <= STEPS_DATA_END; t += 20000) {
            core_arena ia = {0};
            pql_result v;
            assert_int_equal(pql_eval_instant(pql_mem_storage_iface(ms), &o, in, t, &ia, &v, &err),
                             0);
            /* selection by insertion: the best remaining each time */
            bool *taken = calloc(v.nseries + 1, sizeof *taken);
            for (size_t round = 0; round < k && round < v.nseries; round++) {
                size_t best = SIZE_MAX;
                for (size_t i = 0; i < v.nseries; i++) {
                    if (taken[i]) continue;
                    if (best == SIZE_MAX) {
                        best = i;
                        continue;
                    }
                    double x = v.series[i].pts[0].v, y = v.series[best].pts[0].v;
                    bool better = isnan(y) ? !isnan(x) : !isnan(x) && (top ? x > y : x < y);
                    if (better) best = i;
                }
                taken[best] = true;
            }
            for (size_t i = 0; i < v.nseries; i++) {
                const pql_point *p = steps_point(&r, v.series[i].labels, t);
                if ((p != NULL) != taken[i])
                    fail_msg("%s at %lld: series %zu %s", qs[qi], (long long)t, i,
                             taken[i] ? "missing" : "not expected");
            }
            free(taken);
            core_arena_destroy(&ia);
        }
        core_arena_destroy(&a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aggregations_step_by_step),
        cmocka_unit_test(test_nested_and_parameters),
        cmocka_unit_test(test_parameter_errors),
        cmocka_unit_test(test_topk_is_a_stable_sort),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
