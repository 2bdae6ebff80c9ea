/*
 * test_manager.c - the rule manager over a real TSDB, time driven by the
 * test (manual mode and a fake clock): the seed document's alert and
 * recording rule from files (pending for 10m, firing, annotations expanded,
 * notifications, resolution), restoring on the first load, a bad file
 * leaving the running rules alone, reload keeping unchanged groups and the
 * state of changed ones, staleness markers two intervals after a group is
 * removed, snapshots for the API and self-metrics, loading from a
 * prometheus.yml (globs, evaluation_interval, rule_query_offset,
 * external_labels), the groups' slots, and threads evaluating on their own.
 */
#define _GNU_SOURCE
#include "unit/unit.h"

#include "db_helpers.h"

#include <time.h>

typedef struct fixture {
    testdb d;
    char dir[64];
    int64_t now;
    rules_manager *m;
    /* notifications */
    size_t nnotes;
    char note_labels[512], note_ann[512];
    int64_t note_start, note_end;
    size_t note_n;
} fixture;

static int64_t fake_clock(void *ctx)
{
    return ((fixture *)ctx)->now;
}

static void notify(void *ctx, const char *expr, const rules_notify_alert *a, size_t n)
{
    fixture *f = ctx;
    (void)expr;
    f->note_n = n;
    if (n == 0) return;
    f->nnotes++;
    core_sb sb = CORE_SB_INIT;
    core_labels_format(a[0].labels, &sb);
    snprintf(f->note_labels, sizeof f->note_labels, "%s", sb.buf);
    core_sb_reset(&sb);
    core_labels_format(a[0].annotations, &sb);
    snprintf(f->note_ann, sizeof f->note_ann, "%s", sb.buf);
    core_sb_destroy(&sb);
    f->note_start = a[0].starts_at_ms;
    f->note_end = a[0].ends_at_ms;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    testdb_open(&f->d);
    snprintf(f->dir, sizeof f->dir, "%s", f->d.dir);
    f->now = T0;
    rules_manager_opts o = {.db = f->d.db,
                            .storage = f->d.st,
                            .external_url = "http://prom:9090",
                            .notify = notify,
                            .notify_ctx = f,
                            .manual = true,
                            .clock = fake_clock,
                            .clock_ctx = f};
    core_err e = {{0}};
    f->m = rules_manager_new(&o, &e);
    assert_non_null(f->m);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rules_manager_free(f->m);
    testdb_close(&f->d);
    free(f);
    return 0;
}

static const char ALERTS_YML[] =
    "groups:\n"
    "  - name: example-alert-rules\n"
    "    rules:\n"
    "      - alert: HighRequestLatency\n"
    "        expr: http_request_duration_seconds > 1\n"
    "        for: 10m\n"
    "        labels:\n"
    "          severity: warning\n"
    "        annotations:\n"
    "          summary: High request latency on {{ $labels.instance }}\n"
    "          description: \"Request latency is above 1s (current value: {{ $value }}s)\"\n";

static const char RULES_YML[] = "groups:\n"
                                "  - name: example-rules\n"
                                "    interval: 5m\n"
                                "    rules:\n"
                                "      - record: job:http_requests:rate5m\n"
                                "        expr: sum by (job) (rate(http_requests_total[5m]))\n";

static void load(fixture *f, const char *const *files, size_t n)
{
    core_err e = {{0}};
    if (rules_manager_update(f->m, 15000, 0, files, n, NULL, &e) < 0) fail_msg("%s", e.msg);
}

static void eval(fixture *f, const char *file, const char *group, int64_t t)
{
    core_err e = {{0}};
    f->now = t;
    if (rules_manager_eval_group(f->m, file, group, t, &e) < 0) fail_msg("%s", e.msg);
}

static void seed_rules(void **state)
{
    fixture *f = *state;
    char alerts[128], rules[128];
    write_file(f->dir, "alerts.yml", ALERTS_YML, alerts, sizeof alerts);
    write_file(f->dir, "rules.yml", RULES_YML, rules, sizeof rules);
    const char *files[] = {alerts, rules};
    load(f, files, 2);
    /* latency above 1s for 14 minutes, then below; traffic all along */
    for (int64_t t = 0; t <= 30 * MIN; t += 15000) {
        put(&f->d, T0 + t, t < 14 * MIN ? 1.5 : 0.5, "http_request_duration_seconds", "job", "app",
            "instance", "web-1:8000", NULL);
        put(&f->d, T0 + t, (double)t / 1000, "http_requests_total", "job", "app", "instance",
            "web-1:8000", NULL);
    }
    const char *g = "example-alert-rules";
    for (int64_t t = 0; t <= 9 * MIN; t += MIN)
        eval(f, alerts, g, T0 + t);
    core_arena a = {0};
    rules_group_snap *gs;
    size_t ng = rules_manager_groups(f->m, &a, &gs);
    assert_int_equal(ng, 2);
    assert_string_equal(gs[0].name, "example-alert-rules"); /* sorted by file, then name */
    assert_string_equal(gs[1].name, "example-rules");
    assert_int_equal(gs[0].interval_ms, 15000);
    assert_int_equal(gs[1].interval_ms, 5 * MIN);
    const rules_rule_snap *r = &gs[0].rules[0];
    assert_int_equal(r->kind, RULES_ALERTING);
    assert_string_equal(r->query, "http_request_duration_seconds > 1");
    assert_int_equal(r->for_ms, 10 * MIN);
    assert_int_equal(r->health, RULES_HEALTH_OK);
    assert_string_equal(r->last_error, "");
    assert_int_equal(r->state, RULES_STATE_PENDING);
    assert_int_equal(r->nalerts, 1);
    assert_int_equal(r->alerts[0].active_at_ms, T0);
    assert_string_equal(core_labels_get(r->alerts[0].annotations, "summary"),
                        "High request latency on web-1:8000");
    assert_string_equal(core_labels_get(r->alerts[0].annotations, "description"),
                        "Request latency is above 1s (current value: 1.5s)");
    assert_int_equal(f->nnotes, 0);
    /* restored after the second evaluation: ALERTS from the third on */
    samples s = raw(&f->d, "ALERTS{alertname=\"HighRequestLatency\",alertstate=\"pending\"}");
    assert_int_equal(s.n, 8);
    assert_int_equal(s.t[0], T0 + 2 * MIN);
    core_arena_reset(&a);

    eval(f, alerts, g, T0 + 10 * MIN);
    ng = rules_manager_groups(f->m, &a, &gs);
    assert_int_equal(gs[0].rules[0].state, RULES_STATE_FIRING);
    assert_int_equal(f->nnotes, 1);
    assert_string_equal(f->note_labels,
                        "{alertname=\"HighRequestLatency\", instance=\"web-1:8000\", "
                        "job=\"app\", severity=\"warning\"}");
    assert_string_equal(f->note_ann, "{description=\"Request latency is above 1s (current value: "
                                     "1.5s)\", summary=\"High request latency on web-1:8000\"}");
    assert_int_equal(f->note_start, T0 + 10 * MIN);
    assert_int_equal(f->note_end, T0 + 10 * MIN + 4 * MIN);
    s = raw(&f->d, "ALERTS{alertname=\"HighRequestLatency\",alertstate=\"firing\","
                   "severity=\"warning\",instance=\"web-1:8000\",job=\"app\"}");
    assert_int_equal(s.n, 1);
    rules_active_alert *act;
    assert_int_equal(rules_manager_alerts(f->m, &a, &act), 1);
    assert_string_equal(act[0].rule, "HighRequestLatency");
    assert_int_equal(act[0].alert.state, RULES_STATE_FIRING);
    core_arena_reset(&a);

    /* latency drops at 14m */
    for (int64_t t = 11 * MIN; t <= 15 * MIN; t += MIN)
        eval(f, alerts, g, T0 + t);
    ng = rules_manager_groups(f->m, &a, &gs);
    assert_int_equal(gs[0].rules[0].state, RULES_STATE_INACTIVE);
    assert_int_equal(gs[0].rules[0].alerts[0].resolved_at_ms, T0 + 14 * MIN);
    assert_int_equal(f->note_end, T0 + 14 * MIN);
    assert_int_equal(rules_manager_alerts(f->m, &a, &act), 0);
    s = raw(&f->d, "ALERTS{alertstate=\"firing\"}");
    assert_true(pql_is_stale(s.v[s.n - 1]));
    assert_int_equal(s.t[s.n - 1], T0 + 14 * MIN);

    /* the recording rule every 5 minutes */
    for (int64_t t = 5 * MIN; t <= 15 * MIN; t += 5 * MIN)
        eval(f, rules, "example-rules", T0 + t);
    s = raw(&f->d, "job:http_requests:rate5m{job=\"app\"}");
    assert_int_equal(s.n, 3);
    assert_true(fabs(s.v[2] - 1.0) < 1e-9);

    rules_metrics mx;
    rules_manager_metrics(f->m, &a, &mx);
    assert_int_equal(mx.ngroups, 2);
    char key[256];
    snprintf(key, sizeof key, "%s;example-alert-rules", alerts);
    assert_string_equal(mx.groups[0].key, key);
    assert_int_equal(mx.groups[0].iterations_total, 16);
    assert_int_equal(mx.groups[0].evaluations_total, 16);
    assert_int_equal(mx.groups[0].evaluation_failures, 0);
    assert_int_equal(mx.groups[0].rules, 1);
    assert_true(mx.groups[0].interval_seconds == 15);
    assert_true(mx.groups[0].last_eval_timestamp_seconds == (double)(T0 + 15 * MIN) / 1000);
    assert_int_equal(mx.groups[1].iterations_total, 3);
    assert_int_equal(mx.groups[1].last_samples, 1);
    assert_int_equal(mx.rule_eval_count, 19);
    assert_int_equal(mx.group_eval_count, 19);
    core_arena_destroy(&a);
}

static void bad_files(void **state)
{
    fixture *f = *state;
    char good[128], bad[128];
    write_file(f->dir, "good.yml", RULES_YML, good, sizeof good);
    const char *files[] = {good};
    load(f, files, 1);
    write_file(f->dir, "bad.yml", "groups:\n- name: x\n  rules:\n  - record: r\n    expr: sum(\n",
               bad, sizeof bad);
    const char *both[] = {good, bad};
    core_err e = {{0}};
    assert_int_equal(rules_manager_update(f->m, 15000, 0, both, 2, NULL, &e), -1);
    char want[512];
    snprintf(want, sizeof want,
             "error loading rules, previous rule set restored: %s:5:11: group \"x\", rule 1, "
             "\"r\": could not parse expression: 1:5: parse error: unclosed left parenthesis",
             bad);
    assert_string_equal(e.msg, want);
    core_arena a = {0};
    rules_group_snap *gs;
    assert_int_equal(rules_manager_groups(f->m, &a, &gs), 1);
    assert_string_equal(gs[0].name, "example-rules");
    core_arena_destroy(&a);
    const char *missing[] = {"/nonexistent/rules.yml"};
    assert_int_equal(rules_manager_update(f->m, 15000, 0, missing, 1, NULL, &e), -1);
    assert_string_equal(e.msg, "error loading rules, previous rule set restored: open "
                               "/nonexistent/rules.yml: No such file or directory");
    assert_int_equal(rules_manager_eval_group(f->m, good, "nope", T0, &e), -1);
}

static const char TWO_GROUPS[] = "groups:\n"
                                 "  - name: g1\n"
                                 "    rules:\n"
                                 "      - alert: A\n"
                                 "        expr: x > 1\n"
                                 "        for: 5m\n"
                                 "  - name: g2\n"
                                 "    rules:\n"
                                 "      - record: copy\n"
                                 "        expr: x\n";

static void reload(void **state)
{
    fixture *f = *state;
    char path[128];
    write_file(f->dir, "r.yml", TWO_GROUPS, path, sizeof path);
    const char *files[] = {path};
    load(f, files, 1);
    for (int64_t t = 0; t <= 20 * MIN; t += 15000)
        put(&f->d, T0 + t, 2, "x", NULL);
    eval(f, path, "g1", T0);
    eval(f, path, "g1", T0 + MIN);
    eval(f, path, "g2", T0 + MIN);
    assert_int_equal(raw(&f->d, "copy").n, 1);

    /* unchanged: the same groups go on with their state */
    load(f, files, 1);
    core_arena a = {0};
    rules_group_snap *gs;
    rules_manager_groups(f->m, &a, &gs);
    assert_int_equal(gs[0].rules[0].nalerts, 1);
    assert_int_equal(gs[0].rules[0].alerts[0].active_at_ms, T0);
    rules_metrics mx;
    rules_manager_metrics(f->m, &a, &mx);
    assert_int_equal(mx.groups[0].iterations_total, 2);
    core_arena_reset(&a);

    /* g1 changes: its alert carries over; g2 goes away */
    write_file(f->dir, "r.yml",
               "groups:\n  - name: g1\n    rules:\n      - alert: A\n        expr: x > 1.5\n"
               "        for: 5m\n",
               path, sizeof path);
    f->now = T0 + 2 * MIN;
    load(f, files, 1);
    assert_int_equal(rules_manager_groups(f->m, &a, &gs), 1);
    assert_string_equal(gs[0].rules[0].query, "x > 1.5");
    assert_int_equal(gs[0].rules[0].nalerts, 1);
    assert_int_equal(gs[0].rules[0].alerts[0].active_at_ms, T0);
    eval(f, path, "g1", T0 + 5 * MIN);
    core_arena_reset(&a);
    rules_manager_groups(f->m, &a, &gs);
    assert_int_equal(gs[0].rules[0].state, RULES_STATE_FIRING);
    /* g2's series are marked stale two intervals after its removal, at the
     * time it was removed */
    rules_manager_housekeep(f->m, T0 + 2 * MIN + 29999);
    assert_int_equal(raw(&f->d, "copy").n, 1);
    rules_manager_housekeep(f->m, T0 + 2 * MIN + 30000);
    samples s = raw(&f->d, "copy");
    assert_int_equal(s.n, 2);
    assert_true(pql_is_stale(s.v[1]));
    assert_int_equal(s.t[1], T0 + 2 * MIN);
    rules_manager_housekeep(f->m, T0 + 10 * MIN);
    assert_int_equal(raw(&f->d, "copy").n, 2);
    core_arena_destroy(&a);
}

static void restore_on_first_load(void **state)
{
    fixture *f = *state;
    char path[128];
    write_file(f->dir, "r.yml",
               "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: x > 1\n"
               "        for: 30m\n",
               path, sizeof path);
    for (int64_t t = 0; t <= 20 * MIN; t += MIN)
        put(&f->d, T0 + t, 2, "x", NULL);
    /* what a previous run left: active since T0, last written at 3m */
    for (int64_t t = 0; t <= 3 * MIN; t += MIN)
        put(&f->d, T0 + t, (double)(T0 / 1000), "ALERTS_FOR_STATE", "alertname", "A", NULL);
    const char *files[] = {path};
    load(f, files, 1);
    eval(f, path, "g", T0 + 10 * MIN);
    eval(f, path, "g", T0 + 11 * MIN);
    core_arena a = {0};
    rules_group_snap *gs;
    rules_manager_groups(f->m, &a, &gs);
    assert_int_equal(gs[0].rules[0].alerts[0].active_at_ms, T0 + 8 * MIN);
    core_arena_destroy(&a);
    /* a group added by a later reload starts restored */
    write_file(f->dir, "s.yml",
               "groups:\n  - name: h\n    rules:\n      - alert: B\n"
               "        expr: x > 1\n",
               path, sizeof path);
    char first[128];
    snprintf(first, sizeof first, "%s/r.yml", f->dir);
    const char *two[] = {first, path};
    load(f, two, 2);
    eval(f, path, "h", T0 + 12 * MIN);
    assert_int_equal(raw(&f->d, "ALERTS{alertname=\"B\"}").n, 1);
}

static void from_config(void **state)
{
    fixture *f = *state;
    char path[128], yml[1024];
    write_file(f->dir, "a.rules.yml",
               "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: x > 1\n"
               "        annotations:\n          where: '{{ $externalLabels.monitor }}'\n",
               path, sizeof path);
    write_file(f->dir, "b.rules.yml",
               "groups:\n  - name: h\n    interval: 1m\n    rules:\n      - record: y\n"
               "        expr: x\n",
               path, sizeof path);
    snprintf(yml, sizeof yml,
             "global:\n  evaluation_interval: 30s\n  rule_query_offset: 1m\n"
             "  external_labels:\n    monitor: example-monitor\n"
             "rule_files:\n  - '%s/*.rules.yml'\n",
             f->dir);
    core_err e = {{0}};
    cfg_config *cfg = cfg_load_string("prometheus.yml", yml, strlen(yml), &e);
    if (!cfg) fail_msg("%s", e.msg);
    assert_int_equal(rules_manager_update_config(f->m, cfg, &e), 0);
    cfg_free(cfg);
    put(&f->d, T0, 2, "x", NULL);
    core_arena a = {0};
    rules_group_snap *gs;
    assert_int_equal(rules_manager_groups(f->m, &a, &gs), 2);
    assert_int_equal(gs[0].interval_ms, 30000);
    assert_int_equal(gs[0].query_offset_ms, MIN);
    assert_int_equal(gs[1].interval_ms, MIN);
    char apath[128];
    snprintf(apath, sizeof apath, "%s/a.rules.yml", f->dir);
    eval(f, apath, "g", T0 + MIN);
    eval(f, path, "h", T0 + MIN);
    samples s = raw(&f->d, "y");
    assert_int_equal(s.n, 1);
    assert_int_equal(s.t[0], T0); /* the global rule_query_offset */
    core_arena_reset(&a);
    rules_manager_groups(f->m, &a, &gs);
    assert_string_equal(core_labels_get(gs[0].rules[0].alerts[0].annotations, "where"),
                        "example-monitor");
    core_arena_destroy(&a);
}

static void slots(void **state)
{
    (void)state;
    int64_t interval = MIN, now = (T0 + 12345) * 1000000;
    int64_t t1 = rules_group_eval_timestamp("a.yml", "g1", interval, now);
    int64_t t2 = rules_group_eval_timestamp("a.yml", "g2", interval, now);
    int64_t iv = interval * 1000000;
    assert_true(t1 <= now && now - t1 < iv);
    assert_true(t2 <= now && now - t2 < iv);
    assert_true(t1 != t2); /* groups spread over the interval */
    /* the slot stays put */
    assert_int_equal(rules_group_eval_timestamp("a.yml", "g1", interval, now + iv), t1 + iv);
    assert_int_equal(rules_group_eval_timestamp("a.yml", "g1", interval, t1), t1);
    assert_int_equal(rules_group_eval_timestamp("a.yml", "g1", interval, t1 - 1), t1 - iv);
}

/* ---- Threads */

static void threads(void **state)
{
    (void)state;
    testdb d;
    testdb_open(&d);
    char path[128];
    write_file(d.dir, "t.yml",
               "groups:\n  - name: fast\n    interval: 100ms\n    rules:\n"
               "      - record: one\n        expr: vector(1)\n"
               "  - name: other\n    interval: 100ms\n    rules:\n"
               "      - record: two\n        expr: vector(2)\n",
               path, sizeof path);
    rules_manager_opts o = {.db = d.db, .storage = d.st};
    core_err e = {{0}};
    rules_manager *m = rules_manager_new(&o, &e);
    const char *files[] = {path};
    assert_int_equal(rules_manager_update(m, MIN, 0, files, 1, NULL, &e), 0);
    rules_manager_start(m);
    struct timespec ts = {0, 50000000};
    core_arena a = {0};
    rules_metrics mx = {0};
    for (int i = 0; i < 100; i++) {
        nanosleep(&ts, NULL);
        core_arena_reset(&a);
        rules_manager_metrics(m, &a, &mx);
        if (mx.groups[0].iterations_total >= 4 && mx.groups[1].iterations_total >= 4) break;
    }
    assert_true(mx.groups[0].iterations_total >= 4);
    samples s = raw(&d, "one");
    assert_true(s.n >= 3);
    /* every evaluation at the group's slot */
    int64_t slot =
        rules_group_eval_timestamp(path, "fast", 100, (s.t[0] + 1) * 1000000 - 1) / 1000000;
    assert_int_equal(slot, s.t[0]);
    for (size_t i = 1; i < s.n; i++)
        assert_int_equal((s.t[i] - s.t[0]) % 100, 0);
    /* removing a group: its series go stale two intervals later */
    write_file(d.dir, "t.yml",
               "groups:\n  - name: fast\n    interval: 100ms\n    rules:\n"
               "      - record: one\n        expr: vector(1)\n",
               path, sizeof path);
    assert_int_equal(rules_manager_update(m, MIN, 0, files, 1, NULL, &e), 0);
    bool stale = false;
    for (int i = 0; i < 60 && !stale; i++) {
        nanosleep(&ts, NULL);
        s = raw(&d, "two");
        stale = s.n > 0 && pql_is_stale(s.v[s.n - 1]);
    }
    assert_true(stale);
    rules_manager_free(m);
    core_arena_destroy(&a);
    testdb_close(&d);
}

static int64_t atomic_clock(void *ctx)
{
    return __atomic_load_n((int64_t *)ctx, __ATOMIC_SEQ_CST);
}

static uint64_t wait_iterations(rules_manager *m, uint64_t want)
{
    core_arena a = {0};
    rules_metrics mx = {0};
    struct timespec ts = {0, 20000000};
    for (int i = 0; i < 250; i++) {
        core_arena_reset(&a);
        rules_manager_metrics(m, &a, &mx);
        if (mx.groups[0].iterations_total >= want) break;
        nanosleep(&ts, NULL);
    }
    uint64_t n = mx.groups[0].iterations_total;
    core_arena_destroy(&a);
    return n;
}

static void missed_iterations(void **state)
{
    (void)state;
    testdb d;
    testdb_open(&d);
    char path[128];
    write_file(d.dir, "m.yml",
               "groups:\n  - name: g\n    rules:\n      - record: one\n        expr: vector(1)\n",
               path, sizeof path);
    int64_t now = T0;
    rules_manager_opts o = {.db = d.db, .storage = d.st, .clock = atomic_clock, .clock_ctx = &now};
    core_err e = {{0}};
    rules_manager *m = rules_manager_new(&o, &e);
    const char *files[] = {path};
    assert_int_equal(rules_manager_update(m, MIN, 0, files, 1, NULL, &e), 0);
    rules_manager_start(m);
    /* let the thread pick its first slot, the one after T0 */
    struct timespec pause = {0, 200000000};
    nanosleep(&pause, NULL);
    int64_t first = rules_group_eval_timestamp(path, "g", MIN, T0 * 1000000) / 1000000 + MIN;
    __atomic_store_n(&now, first + 1, __ATOMIC_SEQ_CST);
    assert_int_equal(wait_iterations(m, 1), 1);
    /* the clock jumps ten intervals: nine slots are missed (and, as with
     * Go's ticker, the tick that fired meanwhile is still taken) */
    __atomic_store_n(&now, first + 10 * MIN + 1, __ATOMIC_SEQ_CST);
    assert_true(wait_iterations(m, 11) >= 11);
    core_arena a = {0};
    rules_metrics mx;
    rules_manager_metrics(m, &a, &mx);
    assert_int_equal(mx.groups[0].iterations_missed, 9);
    samples s = raw(&d, "one");
    assert_true(s.n >= 2);
    assert_int_equal(s.t[0], first);
    assert_int_equal(s.t[1], first + 10 * MIN);
    rules_manager_free(m);
    core_arena_destroy(&a);
    testdb_close(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(seed_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_files, setup, teardown),
        cmocka_unit_test_setup_teardown(reload, setup, teardown),
        cmocka_unit_test_setup_teardown(restore_on_first_load, setup, teardown),
        cmocka_unit_test_setup_teardown(from_config, setup, teardown),
        cmocka_unit_test(slots),
        cmocka_unit_test(threads),
        cmocka_unit_test(missed_iterations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
