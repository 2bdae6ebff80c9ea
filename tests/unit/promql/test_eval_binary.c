/*
 * test_eval_binary.c - binary operators, which match series once for all
 * steps: a range query equals, step by step, the instant queries at its
 * steps (steps.h), for arithmetic and comparisons with every kind of vector
 * matching, set operators, vector-scalar operators, and the errors
 * (duplicates on the "one" side, multiple matches, one labelset twice),
 * which must come at the first step where the instant query has them.
 */
#include "steps.h"

static pql_mem_storage *ms;

/* The data set, plus series whose matching breaks at some steps only:
 * dup{i="0", k="a"} always, dup{i="0", k="b"} from 1 h on; early{i="0"}
 * until 50 min (so 55 min with the lookback). */
static int setup(void **state)
{
    (void)state;
    ms = pql_mem_storage_new();
    steps_fill(ms);
    for (int64_t t = 0; t < STEPS_DATA_END; t += 15000) {
        steps_add(ms, "dup", "i", "0", "k", "a", t, 1);
        if (t >= 3600000) steps_add(ms, "dup", "i", "0", "k", "b", t, 2);
        if (t < 3000000) steps_add(ms, "early", "i", "0", NULL, NULL, t, 3);
    }
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
    return steps_check(pql_mem_storage_iface(ms), q, 1800000, STEPS_DATA_END, 20000, 0);
}

static void test_matching_step_by_step(void **state)
{
    (void)state;
    static const char *const qs[] = {
        "gauge + zero",
        "gauge - on(i) zero",
        "gauge / ignoring(__name__) counter",
        "gauge > zero",
        "gauge >= bool zero",
        "gauge * on(i) group_left zero",
        "zero * on(i) group_right gauge",
        "zero + on() group_left(g) bucket{le=\"1\", g=\"0\"}",
        "rate(counter[5m]) / on(i) group_left sum by (i) (gauge)",
        "gauge and zero",
        "gauge or zero",
        "gauge unless zero",
        "gauge and on() zero{i=\"1\"}",
        "(gauge > 0) or on(i) counter",
        "counter unless on(i) (gauge > 0)",
        "gauge atan2 zero",
        "gauge ^ 2 % 7",
        "1 - gauge",
        "gauge != bool 0",
        "gauge == -0",
        "-zero < bool zero",
        "sum by (i) (gauge) * on(i) group_left max by (i) (counter)",
    };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
        if (check(qs[i]) == 0) fail_msg("%s: no points", qs[i]);
}

/* The range query fails with `want`, and so do the instant queries from
 * the first failing step on (steps_check). */
static void check_fails(const char *q, const char *want)
{
    core_arena a = {0};
    core_err err = {{0}};
    pql_node *n = pql_parse(q, NULL, &a, &err);
    assert_non_null(n);
    pql_engine_opts o = PQL_ENGINE_OPTS_DEFAULT;
    pql_result r;
    if (pql_eval_range(pql_mem_storage_iface(ms), &o, n, 1800000, STEPS_DATA_END, 20000, &a, &r,
                       &err) == 0)
        fail_msg("%s: no error", q);
    if (!strstr(err.msg, want)) fail_msg("%s: %s", q, err.msg);
    core_arena_destroy(&a);
    check(q);
}

static void test_errors_at_their_step(void **state)
{
    (void)state;
    /* each fails only from 1 h on, when dup{k="b"} starts */
    check_fails("gauge * on(i) dup", "found duplicate series for the match group {i=\"0\"} on "
                                     "the right hand-side of the operation");
    check_fails("dup + on(i) group_right gauge", "on the left hand-side of the operation");
    check_fails("gauge * on(i) group_left dup", "found duplicate series");
    check_fails("dup * on(i) gauge", "multiple matches for labels: many-to-one matching must be "
                                     "explicit (group_left/group_right)");
    check_fails("dup / on(i) group_left(k) gauge",
                "multiple matches for labels: grouping labels must ensure unique matches");
    /* no error where the other side has no sample */
    assert_true(check("early * on(i) dup") > 0);
    assert_true(check("dup * on(i) group_left early") > 0);
    /* the same labelset twice once the name goes */
    check_fails("-{__name__=~\"gauge|zero\"}",
                "vector cannot contain metrics with the same labelset");
    check_fails("({__name__=~\"gauge|zero\"} > bool 0) or dup",
                "vector cannot contain metrics with the same labelset");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matching_step_by_step),
        cmocka_unit_test(test_errors_at_their_step),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
