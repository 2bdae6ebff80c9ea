/*
 * test_cancel.c - pql_engine_opts.cancelled: a query whose callback says
 * "cancelled" stops with upstream's timeout message (and the engine frees
 * what it held: the sanitizer build checks for leaks), one whose callback
 * never does runs to the end, and the callback is asked while the query runs,
 * not only at its start.
 */
#include "unit/unit.h"

#include "promql/engine.h"

typedef struct counter {
    int calls, cancel_after;
} counter;

static bool cancelled(void *ctx)
{
    counter *c = ctx;
    return ++c->calls > c->cancel_after;
}

static pql_mem_storage *fill(void)
{
    pql_mem_storage *ms = pql_mem_storage_new();
    char inst[16];
    for (int s = 0; s < 200; s++) {
        snprintf(inst, sizeof inst, "i%d", s);
        core_label l[] = {{"__name__", "m"}, {"instance", inst}};
        core_labels *ls = core_labels_new(l, 2);
        for (int64_t t = 0; t < 2000; t++)
            pql_mem_storage_add(ms, ls, t * 15000, (double)(t * (s + 1)));
        free(ls);
    }
    return ms;
}

static int run(pql_mem_storage *ms, counter *c, core_err *err)
{
    core_arena arena;
    core_arena_init(&arena, 0);
    pql_node *n = pql_parse("sum by (instance) (rate(m[5m]))", NULL, &arena, err);
    assert_non_null(n);
    pql_engine_opts o = PQL_ENGINE_OPTS_DEFAULT;
    o.cancelled = cancelled;
    o.cancel_ctx = c;
    pql_result r;
    int rc =
        pql_eval_range(pql_mem_storage_iface(ms), &o, n, 0, 2000 * 15000, 15000, &arena, &r, err);
    core_arena_destroy(&arena);
    return rc;
}

static void test_cancelled_midway(void **state)
{
    (void)state;
    pql_mem_storage *ms = fill();
    core_err err = {{0}};
    counter never = {0, 1 << 30};
    assert_int_equal(run(ms, &never, &err), 0);
    assert_true(never.calls > 2); /* asked while running */
    counter soon = {0, 1};
    assert_int_equal(run(ms, &soon, &err), -1);
    assert_string_equal(err.msg, "query timed out in expression evaluation");
    assert_true(soon.calls < never.calls); /* stopped early */
    pql_mem_storage_free(ms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cancelled_midway)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
