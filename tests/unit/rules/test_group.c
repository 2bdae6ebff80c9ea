/*
 * test_group.c - groups over a real TSDB in a temporary directory: the
 * seed's recording rule written at each evaluation time, the query offset,
 * staleness markers when a rule's series disappears and when an alert
 * resolves, samples the TSDB refuses making the rule unhealthy, rules seeing
 * what earlier rules of the group wrote, carrying state over to a changed
 * group (and marking the series of a removed rule stale), equality, and
 * restoring `for` state from ALERTS_FOR_STATE in each of upstream's cases.
 */
#define _GNU_SOURCE
#include "unit/unit.h"

#include "db_helpers.h"

typedef struct fixture {
    testdb d;
    rules_env env;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    testdb_open(&f->d);
    f->env = (rules_env){.db = f->d.db,
                         .storage = f->d.st,
                         .engine = PQL_ENGINE_OPTS_DEFAULT,
                         .external_url = "http://prom:9090",
                         .outage_tolerance_ms = 60 * MIN,
                         .for_grace_period_ms = 10 * MIN,
                         .resend_delay_ms = MIN};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    testdb_close(&f->d);
    free(f);
    return 0;
}

static rules_group *group(const char *yaml, bool should_restore)
{
    core_err e = {{0}};
    rules_file *rf = rules_file_parse("test.yml", yaml, strlen(yaml), NULL, &e, NULL);
    if (!rf) fail_msg("%s", e.msg);
    rules_group *g =
        rules_group_new(&rf->groups[0], "test.yml", MIN, NULL, NULL, should_restore, &e);
    if (!g) fail_msg("%s", e.msg);
    rules_file_free(rf);
    return g;
}

static void seed_recording_rule(void **state)
{
    fixture *f = *state;
    /* two targets of one job: 10 and 20 requests a minute */
    for (int64_t t = 0; t <= 20 * MIN; t += 15000) {
        put(&f->d, T0 + t, (double)t / 6000, "http_requests_total", "job", "app", "instance", "a",
            NULL);
        put(&f->d, T0 + t, (double)t / 3000, "http_requests_total", "job", "app", "instance", "b",
            NULL);
    }
    rules_group *g = group("groups:\n"
                           "  - name: example-rules\n"
                           "    interval: 5m\n"
                           "    rules:\n"
                           "      - record: job:http_requests:rate5m\n"
                           "        expr: sum by (job) (rate(http_requests_total[5m]))\n",
                           false);
    assert_int_equal(g->interval_ms, 5 * MIN);
    for (int64_t t = 5 * MIN; t <= 15 * MIN; t += 5 * MIN)
        rules_group_iteration(g, &f->env, T0 + t, 0, NULL);
    samples s = raw(&f->d, "job:http_requests:rate5m");
    assert_int_equal(s.nseries, 1);
    assert_int_equal(s.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(s.t[i], T0 + (int64_t)(i + 1) * 5 * MIN);
        assert_true(fabs(s.v[i] - 0.5) < 1e-9); /* (10 + 20) / 60 per second */
    }
    assert_true(value_at(&f->d, "job:http_requests:rate5m{job=\"app\"}", T0 + 15 * MIN) > 0);
    assert_int_equal(g->rules[0]->health, RULES_HEALTH_OK);
    assert_int_equal(g->iterations_total, 3);
    assert_int_equal(g->evaluations_total, 3);
    assert_int_equal(g->evaluation_failures, 0);
    assert_int_equal(g->last_samples, 1);
    assert_int_equal(g->last_eval_ts, T0 + 15 * MIN);
    rules_group_free(g);
}

static void offset_and_chaining(void **state)
{
    fixture *f = *state;
    put(&f->d, T0, 3, "x", NULL);
    rules_group *g = group("groups:\n"
                           "  - name: g\n"
                           "    query_offset: 1m\n"
                           "    rules:\n"
                           "      - record: x:double\n"
                           "        expr: x * 2\n"
                           "      - record: x:quad\n"
                           "        expr: x:double * 2\n",
                           false);
    rules_group_iteration(g, &f->env, T0 + MIN, 0, NULL);
    samples s = raw(&f->d, "x:double");
    assert_int_equal(s.n, 1);
    assert_int_equal(s.t[0], T0); /* at the evaluation time minus the offset */
    assert_true(s.v[0] == 6);
    s = raw(&f->d, "x:quad"); /* the second rule reads the first one's result */
    assert_int_equal(s.n, 1);
    assert_true(s.v[0] == 12);
    assert_int_equal(rules_group_offset(g, 5 * MIN), MIN);
    rules_group_free(g);
    g = group("groups:\n  - name: h\n    rules:\n      - record: y\n        expr: x\n", false);
    assert_int_equal(rules_group_offset(g, 2 * MIN), 2 * MIN); /* the default */
    rules_group_free(g);
}

static void staleness(void **state)
{
    fixture *f = *state;
    put(&f->d, T0, 1, "x", "a", "1", NULL);
    put(&f->d, T0, 1, "x", "a", "2", NULL);
    rules_group *g =
        group("groups:\n  - name: g\n    rules:\n      - record: r\n        expr: x\n", false);
    rules_group_iteration(g, &f->env, T0, 0, NULL);
    assert_int_equal(raw(&f->d, "r").nseries, 2);
    /* x{a="2"} ends */
    put(&f->d, T0 + MIN, 1, "x", "a", "1", NULL);
    put(&f->d, T0 + MIN, pql_stale_nan(), "x", "a", "2", NULL);
    rules_group_iteration(g, &f->env, T0 + MIN, 0, NULL);
    samples s = raw(&f->d, "r{a=\"2\"}");
    assert_int_equal(s.n, 2);
    assert_int_equal(s.t[1], T0 + MIN);
    assert_true(pql_is_stale(s.v[1]));
    s = raw(&f->d, "r{a=\"1\"}");
    assert_int_equal(s.n, 2);
    assert_false(pql_is_stale(s.v[1]));
    assert_int_equal(g->rules[0]->prev_series.n, 1);
    rules_group_free(g);
}

static void alert_series_and_staleness(void **state)
{
    fixture *f = *state;
    put(&f->d, T0, 2, "lat", "instance", "web-1", NULL);
    put(&f->d, T0 + MIN, 2, "lat", "instance", "web-1", NULL);
    put(&f->d, T0 + 2 * MIN, 0, "lat", "instance", "web-1", NULL);
    rules_group *g = group("groups:\n  - name: g\n    rules:\n      - alert: Slow\n"
                           "        expr: lat > 1\n        for: 1m\n"
                           "        labels: {severity: warning}\n",
                           false);
    rules_group_iteration(g, &f->env, T0, 0, NULL);
    samples s = raw(&f->d, "ALERTS{alertname=\"Slow\",alertstate=\"pending\"}");
    assert_int_equal(s.n, 1);
    rules_group_iteration(g, &f->env, T0 + MIN, 0, NULL);
    s = raw(&f->d, "ALERTS{alertname=\"Slow\",alertstate=\"pending\"}");
    assert_int_equal(s.n, 2); /* the pending series ends with a staleness marker */
    assert_true(pql_is_stale(s.v[1]));
    s = raw(&f->d, "ALERTS{alertname=\"Slow\",alertstate=\"firing\",severity=\"warning\","
                   "instance=\"web-1\"}");
    assert_int_equal(s.n, 1);
    s = raw(&f->d, "ALERTS_FOR_STATE{alertname=\"Slow\"}");
    assert_int_equal(s.n, 2);
    assert_true(s.v[1] == (double)(T0 / 1000));
    rules_group_iteration(g, &f->env, T0 + 2 * MIN, 0, NULL);
    s = raw(&f->d, "ALERTS{alertstate=\"firing\"}");
    assert_int_equal(s.n, 2);
    assert_true(pql_is_stale(s.v[1]));
    s = raw(&f->d, "ALERTS_FOR_STATE");
    assert_true(pql_is_stale(s.v[s.n - 1]));
    rules_group_free(g);
}

static void refused_samples(void **state)
{
    fixture *f = *state;
    put(&f->d, T0, 1, "x", NULL);
    rules_group *g =
        group("groups:\n  - name: g\n    rules:\n      - record: r\n        expr: x\n", false);
    rules_group_iteration(g, &f->env, T0 + MIN, 0, NULL);
    assert_int_equal(g->rules[0]->health, RULES_HEALTH_OK);
    rules_group_iteration(g, &f->env, T0 + 30000, 0, NULL); /* older than the last sample */
    assert_int_equal(g->rules[0]->health, RULES_HEALTH_ERR);
    assert_string_equal(g->rules[0]->last_error, "out of order sample");
    assert_int_equal(g->evaluation_failures, 0); /* refused samples are no failure */
    /* a failing query is */
    rules_group_free(g);
    g = group("groups:\n  - name: g\n    rules:\n      - record: r\n"
              "        expr: x\n        labels: {a: ''}\n",
              false);
    put(&f->d, T0, 1, "x", "a", "b", NULL);
    rules_group_iteration(g, &f->env, T0 + MIN, 0, NULL);
    assert_int_equal(g->rules[0]->health, RULES_HEALTH_ERR);
    assert_non_null(g->rules[0]->last_error);
    assert_int_equal(g->evaluation_failures, 1);
    rules_group_free(g);
}

static void copy_state(void **state)
{
    fixture *f = *state;
    put(&f->d, T0, 2, "x", NULL);
    put(&f->d, T0, 2, "y", NULL);
    rules_group *a = group("groups:\n  - name: g\n    rules:\n"
                           "      - alert: A\n        expr: x > 1\n        for: 5m\n"
                           "      - record: gone\n        expr: y\n",
                           false);
    rules_group_iteration(a, &f->env, T0, 0, NULL);
    assert_int_equal(a->rules[0]->nalerts, 1);
    rules_group *b = group("groups:\n  - name: g\n    rules:\n"
                           "      - alert: A\n        expr: x > 1.5\n        for: 5m\n",
                           false);
    assert_false(rules_group_equal(a, b));
    rules_group_copy_state(b, a);
    assert_int_equal(b->rules[0]->nalerts, 1); /* the alert goes on pending */
    assert_int_equal(b->rules[0]->alerts[0]->active_at, T0);
    assert_int_equal(b->nstale, 1); /* the removed rule's series */
    rules_group_free(a);
    put(&f->d, T0 + MIN, 2, "x", NULL);
    rules_group_iteration(b, &f->env, T0 + MIN, 0, NULL);
    samples s = raw(&f->d, "gone");
    assert_int_equal(s.n, 2);
    assert_true(pql_is_stale(s.v[1]));
    assert_int_equal(s.t[1], T0 + MIN);
    assert_int_equal(b->nstale, 0);
    rules_group *c = group("groups:\n  - name: g\n    rules:\n"
                           "      - alert: A\n        expr: x > 1.5\n        for: 5m\n",
                           false);
    assert_true(rules_group_equal(b, c));
    rules_group_free(c);
    c = group("groups:\n  - name: g\n    limit: 3\n    rules:\n"
              "      - alert: A\n        expr: x > 1.5\n        for: 5m\n",
              false);
    assert_false(rules_group_equal(b, c));
    rules_group_free(c);
    rules_group_free(b);
}

/* Writes ALERTS_FOR_STATE as a server that ran from `from` to `to` would
 * have, with the alert active since `active`. */
static void history(fixture *f, const char *alert, int64_t from, int64_t to, int64_t active)
{
    for (int64_t t = from; t <= to; t += MIN)
        put(&f->d, t, (double)(active / 1000), "ALERTS_FOR_STATE", "alertname", alert, "instance",
            "i", NULL);
}

static rules_group *restored_group(fixture *f, const char *alert, const char *hold)
{
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "groups:\n  - name: g\n    rules:\n      - alert: %s\n"
             "        expr: cond > 0\n        for: %s\n",
             alert, hold);
    (void)f;
    return group(yaml, true);
}

static void restore_for_state(void **state)
{
    fixture *f = *state;
    for (int64_t t = 0; t <= 60 * MIN; t += MIN)
        put(&f->d, T0 + t, 1, "cond", "instance", "i", NULL);
    /* down from 3m to 10m; the alert had been active since 0 */
    history(f, "Long", T0, T0 + 3 * MIN, T0);
    history(f, "Near", T0, T0 + 3 * MIN, T0);
    history(f, "Done", T0, T0 + 3 * MIN, T0);
    history(f, "Short", T0, T0 + 3 * MIN, T0);

    /* 30m `for`, 3m spent: the downtime is added to the active time */
    rules_group *g = restored_group(f, "Long", "30m");
    rules_group_iteration(g, &f->env, T0 + 10 * MIN, 0, NULL);
    assert_int_equal(raw(&f->d, "ALERTS{alertname=\"Long\"}").n, 0); /* not before restoring */
    rules_group_iteration(g, &f->env, T0 + 11 * MIN, 0, NULL);
    rules_group_restore(g, &f->env, T0 + 11 * MIN);
    assert_false(g->should_restore);
    assert_true(g->rules[0]->restored);
    assert_int_equal(g->rules[0]->alerts[0]->active_at, T0 + 8 * MIN);
    rules_group_iteration(g, &f->env, T0 + 12 * MIN, 0, NULL);
    assert_int_equal(raw(&f->d, "ALERTS{alertname=\"Long\"}").n, 1);
    rules_group_free(g);

    /* 12m `for`: 9m left, less than the grace period: it fires 10m from now */
    g = restored_group(f, "Near", "12m");
    rules_group_iteration(g, &f->env, T0 + 10 * MIN, 0, NULL);
    rules_group_iteration(g, &f->env, T0 + 11 * MIN, 0, NULL);
    rules_group_restore(g, &f->env, T0 + 11 * MIN);
    assert_int_equal(g->rules[0]->alerts[0]->active_at, T0 + 9 * MIN);
    rules_group_iteration(g, &f->env, T0 + 20 * MIN, 0, NULL);
    assert_int_equal(g->rules[0]->alerts[0]->state, RULES_STATE_PENDING);
    rules_group_iteration(g, &f->env, T0 + 21 * MIN, 0, NULL);
    assert_int_equal(g->rules[0]->alerts[0]->state, RULES_STATE_FIRING);
    rules_group_free(g);

    /* 10m `for` with 3m spent: 7m left < grace: active so that it fires at
     * now + grace */
    g = restored_group(f, "Done", "10m");
    rules_group_iteration(g, &f->env, T0 + 10 * MIN, 0, NULL);
    rules_group_iteration(g, &f->env, T0 + 11 * MIN, 0, NULL);
    rules_group_restore(g, &f->env, T0 + 11 * MIN);
    assert_int_equal(g->rules[0]->alerts[0]->active_at, T0 + 11 * MIN);
    rules_group_free(g);

    /* a `for` shorter than the grace period is not restored */
    g = restored_group(f, "Short", "5m");
    rules_group_iteration(g, &f->env, T0 + 10 * MIN, 0, NULL);
    rules_group_iteration(g, &f->env, T0 + 11 * MIN, 0, NULL);
    rules_group_restore(g, &f->env, T0 + 11 * MIN);
    assert_true(g->rules[0]->restored);
    assert_int_equal(g->rules[0]->alerts[0]->active_at, T0 + 10 * MIN);
    rules_group_free(g);
}

static void restore_firing_and_outage(void **state)
{
    fixture *f = *state;
    for (int64_t t = 0; t <= 200 * MIN; t += MIN)
        put(&f->d, T0 + t, 1, "cond", "instance", "i", NULL);
    /* it had been firing: 12m spent of a 10m `for` */
    history(f, "Fired", T0, T0 + 12 * MIN, T0);
    rules_group *g = restored_group(f, "Fired", "10m");
    rules_group_iteration(g, &f->env, T0 + 20 * MIN, 0, NULL);
    rules_group_iteration(g, &f->env, T0 + 21 * MIN, 0, NULL);
    rules_group_restore(g, &f->env, T0 + 21 * MIN);
    assert_int_equal(g->rules[0]->alerts[0]->active_at, T0);
    rules_group_iteration(g, &f->env, T0 + 22 * MIN, 0, NULL);
    assert_int_equal(g->rules[0]->alerts[0]->state, RULES_STATE_FIRING);
    rules_group_free(g);
    /* down longer than the outage tolerance: nothing to restore */
    history(f, "Old", T0, T0 + 3 * MIN, T0);
    g = restored_group(f, "Old", "30m");
    rules_group_iteration(g, &f->env, T0 + 100 * MIN, 0, NULL);
    rules_group_iteration(g, &f->env, T0 + 101 * MIN, 0, NULL);
    rules_group_restore(g, &f->env, T0 + 101 * MIN);
    assert_int_equal(g->rules[0]->alerts[0]->active_at, T0 + 100 * MIN);
    rules_group_free(g);
    /* a staleness marker last: the alert was not active */
    history(f, "Ended", T0, T0 + 3 * MIN, T0);
    put(&f->d, T0 + 4 * MIN, pql_stale_nan(), "ALERTS_FOR_STATE", "alertname", "Ended", "instance",
        "i", NULL);
    g = restored_group(f, "Ended", "30m");
    rules_group_iteration(g, &f->env, T0 + 10 * MIN, 0, NULL);
    rules_group_iteration(g, &f->env, T0 + 11 * MIN, 0, NULL);
    rules_group_restore(g, &f->env, T0 + 11 * MIN);
    assert_int_equal(g->rules[0]->alerts[0]->active_at, T0 + 10 * MIN);
    rules_group_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(seed_recording_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(offset_and_chaining, setup, teardown),
        cmocka_unit_test_setup_teardown(staleness, setup, teardown),
        cmocka_unit_test_setup_teardown(alert_series_and_staleness, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_samples, setup, teardown),
        cmocka_unit_test_setup_teardown(copy_state, setup, teardown),
        cmocka_unit_test_setup_teardown(restore_for_state, setup, teardown),
        cmocka_unit_test_setup_teardown(restore_firing_and_outage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
