/*
 * test_rule.c - one rule's evaluation over the in-memory PromQL storage:
 * recording rules (renaming, labels, an empty label deleting, duplicates,
 * limit, scalar and string results, the query offset), alerting rules
 * (pending -> firing after `for`, value and annotation updates, resolution
 * kept 15 minutes, a pending alert vanishing, keep_firing_for, a resolved
 * alert coming back, ALERTS and ALERTS_FOR_STATE only once restored,
 * templated labels, duplicates, limit) and what goes to the notifier
 * (resend delay, valid-until, resolved alerts, generator URL).
 */
#include "unit/unit.h"

#include "rules/internal.h"

#include <math.h>

#define MIN (60 * 1000)

typedef struct fixture {
    pql_mem_storage *ms;
    rules_env env;
    pthread_mutex_t lock;
    core_arena arena;
    /* notifications */
    size_t notified_calls, nalerts;
    int64_t starts[8], ends[8];
    char url[256];
} fixture;

static fixture *F;

static void notify(void *ctx, const char *expr, const rules_notify_alert *a, size_t n)
{
    fixture *f = ctx;
    (void)expr;
    f->notified_calls++;
    f->nalerts = n;
    for (size_t i = 0; i < n && i < 8; i++) {
        f->starts[i] = a[i].starts_at_ms;
        f->ends[i] = a[i].ends_at_ms;
        snprintf(f->url, sizeof f->url, "%s", a[i].generator_url);
    }
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->ms = pql_mem_storage_new();
    f->env = (rules_env){.storage = pql_mem_storage_iface(f->ms),
                         .engine = PQL_ENGINE_OPTS_DEFAULT,
                         .external_url = "http://prom:9090",
                         .resend_delay_ms = MIN,
                         .notify = notify,
                         .notify_ctx = f};
    pthread_mutex_init(&f->lock, NULL);
    F = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    pql_mem_storage_free(f->ms);
    pthread_mutex_destroy(&f->lock);
    core_arena_destroy(&f->arena);
    free(f);
    return 0;
}

static void add(fixture *f, const char *name, const char *a, const char *b, int64_t t, double v)
{
    core_label pairs[3] = {{"__name__", name}};
    size_t n = 1;
    if (a) pairs[n++] = (core_label){"a", a};
    if (b) pairs[n++] = (core_label){"b", b};
    core_labels *ls = core_labels_new(pairs, n);
    pql_mem_storage_add(f->ms, ls, t, v);
    free(ls);
}

static rules_rule *rule(rules_kind kind, const char *name, const char *expr, int64_t hold,
                        const core_label *labels, size_t nl, const core_label *ann, size_t na)
{
    core_labels *l = core_labels_new(labels, nl), *an = core_labels_new(ann, na);
    rules_rule_def def = {
        .kind = kind, .name = name, .expr = expr, .for_ms = hold, .labels = l, .annotations = an};
    core_err e = {{0}};
    rules_rule *r = rules_rule_new(&def, NULL, NULL, NULL, true, &e);
    if (!r) fail_msg("%s", e.msg);
    free(l);
    free(an);
    return r;
}

static int eval(fixture *f, rules_rule *r, int64_t ts, int64_t limit, rules_sample **v, size_t *n,
                core_err *e)
{
    core_arena_reset(&f->arena);
    int rc = rules_rule_eval(r, &f->env, 0, ts, limit, &f->arena, &f->lock, v, n, e);
    if (rc == 0) r->last_eval_ms = ts;
    return rc;
}

static const rules_sample *find(const rules_sample *v, size_t n, const char *name,
                                const char *label, const char *value)
{
    for (size_t i = 0; i < n; i++) {
        const char *nm = core_labels_get(v[i].ls, "__name__");
        const char *lv = label ? core_labels_get(v[i].ls, label) : NULL;
        if (nm && strcmp(nm, name) == 0 && (!label || (lv && strcmp(lv, value) == 0))) return &v[i];
    }
    return NULL;
}

/* ---- Recording */

static void recording(void **state)
{
    fixture *f = *state;
    add(f, "x", "1", "p", 0, 2);
    add(f, "x", "2", "q", 0, 3);
    core_label ls[] = {{"team", "db"}, {"b", ""}};
    rules_rule *r = rule(RULES_RECORDING, "job:x:sum", "x", 0, ls, 2, NULL, 0);
    assert_string_equal(r->query, "x");
    rules_sample *v;
    size_t n;
    core_err e = {{0}};
    assert_int_equal(eval(f, r, 60000, 0, &v, &n, &e), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(core_labels_get(v[i].ls, "__name__"), "job:x:sum");
        assert_string_equal(core_labels_get(v[i].ls, "team"), "db");
        assert_null(core_labels_get(v[i].ls, "b")); /* an empty value deletes */
        assert_int_equal(v[i].t, 60000);
    }
    /* limit */
    assert_int_equal(eval(f, r, 60000, 1, &v, &n, &e), -1);
    assert_string_equal(e.msg, "exceeded limit of 1 with 2 series");
    rules_rule_free(r);
    /* same labels after relabeling */
    add(f, "y", "1", "p", 0, 1);
    add(f, "y", "1", "q", 0, 1);
    core_label drop_b[] = {{"b", ""}};
    r = rule(RULES_RECORDING, "r", "y", 0, drop_b, 1, NULL, 0);
    assert_int_equal(eval(f, r, 60000, 0, &v, &n, &e), -1);
    assert_string_equal(
        e.msg, "vector contains metrics with the same labelset after applying rule labels");
    rules_rule_free(r);
    /* a scalar is one sample without labels; a string is refused */
    r = rule(RULES_RECORDING, "answer", "42", 0, NULL, 0, NULL, 0);
    assert_int_equal(eval(f, r, 1000, 0, &v, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].ls->len, 1);
    assert_true(v[0].v == 42);
    rules_rule_free(r);
    r = rule(RULES_RECORDING, "s", "\"x\"", 0, NULL, 0, NULL, 0);
    assert_int_equal(eval(f, r, 1000, 0, &v, &n, &e), -1);
    assert_string_equal(e.msg, "rule result is not a vector or scalar");
    rules_rule_free(r);
    /* the query offset moves the query and the samples */
    add(f, "late", NULL, NULL, 0, 7);
    r = rule(RULES_RECORDING, "late:copy", "late", 0, NULL, 0, NULL, 0);
    core_arena_reset(&f->arena);
    assert_int_equal(
        rules_rule_eval(r, &f->env, 10 * MIN, 12 * MIN, 0, &f->arena, &f->lock, &v, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].t, 2 * MIN);
    assert_int_equal(eval(f, r, 12 * MIN, 0, &v, &n, &e), 0);
    assert_int_equal(n, 0); /* beyond the lookback at 12m */
    rules_rule_free(r);
}

/* ---- Alerting */

static void lifecycle(void **state)
{
    fixture *f = *state;
    core_label ls[] = {{"severity", "{{ if gt $value 5.0 }}critical{{ else }}warning{{ end }}"}};
    core_label an[] = {{"summary", "{{ $labels.a }} is {{ $value }}"}};
    rules_rule *r = rule(RULES_ALERTING, "High", "x > 1", 5 * MIN, ls, 1, an, 1);
    rules_sample *v;
    size_t n;
    core_err e = {{0}};
    for (int64_t t = 0; t <= 8 * MIN; t += MIN)
        add(f, "x", "1", NULL, t, t < 7 * MIN ? 2 + (double)t / MIN : 0);
    /* pending */
    assert_int_equal(eval(f, r, 0, 0, &v, &n, &e), 0);
    assert_int_equal(r->nalerts, 1);
    rules_alert *a = r->alerts[0];
    assert_int_equal(a->state, RULES_STATE_PENDING);
    assert_int_equal(a->active_at, 0);
    assert_string_equal(core_labels_get(a->labels, "alertname"), "High");
    assert_string_equal(core_labels_get(a->labels, "severity"), "warning");
    assert_null(core_labels_get(a->labels, "__name__"));
    assert_string_equal(core_labels_get(a->annotations, "summary"), "1 is 2");
    assert_int_equal(n, 2);
    const rules_sample *s = find(v, n, "ALERTS", "alertstate", "pending");
    assert_non_null(s);
    assert_true(s->v == 1);
    assert_string_equal(core_labels_get(s->ls, "severity"), "warning");
    s = find(v, n, "ALERTS_FOR_STATE", NULL, NULL);
    assert_non_null(s);
    assert_true(s->v == 0);
    assert_null(core_labels_get(s->ls, "alertstate"));
    assert_int_equal(rules_rule_state(r), RULES_STATE_PENDING);
    /* still pending at 4m; value, annotations and the templated label follow */
    assert_int_equal(eval(f, r, 4 * MIN, 0, &v, &n, &e), 0);
    assert_int_equal(r->alerts[0]->state, RULES_STATE_PENDING);
    assert_true(r->alerts[0]->value == 6);
    assert_string_equal(core_labels_get(r->alerts[0]->annotations, "summary"), "1 is 6");
    /* the labels identify the alert: a new severity makes a new one, and the
     * pending one it replaces is forgotten */
    assert_int_equal(r->nalerts, 1);
    assert_string_equal(core_labels_get(r->alerts[0]->labels, "severity"), "critical");
    assert_int_equal(r->alerts[0]->active_at, 4 * MIN);
    rules_rule_free(r);

    /* plain labels: firing after `for` */
    r = rule(RULES_ALERTING, "High", "x > 1", 5 * MIN, NULL, 0, NULL, 0);
    assert_int_equal(eval(f, r, 0, 0, &v, &n, &e), 0);
    assert_int_equal(eval(f, r, 4 * MIN, 0, &v, &n, &e), 0);
    assert_int_equal(r->alerts[0]->state, RULES_STATE_PENDING);
    assert_int_equal(eval(f, r, 5 * MIN, 0, &v, &n, &e), 0);
    assert_int_equal(r->alerts[0]->state, RULES_STATE_FIRING);
    assert_int_equal(r->alerts[0]->fired_at, 5 * MIN);
    assert_non_null(find(v, n, "ALERTS", "alertstate", "firing"));
    assert_true(find(v, n, "ALERTS_FOR_STATE", NULL, NULL)->v == 0);
    assert_int_equal(rules_rule_state(r), RULES_STATE_FIRING);
    /* the condition ends at 7m: resolved, no series */
    assert_int_equal(eval(f, r, 7 * MIN, 0, &v, &n, &e), 0);
    assert_int_equal(r->nalerts, 1);
    assert_int_equal(r->alerts[0]->state, RULES_STATE_INACTIVE);
    assert_int_equal(r->alerts[0]->resolved_at, 7 * MIN);
    assert_int_equal(n, 0);
    assert_int_equal(rules_rule_state(r), RULES_STATE_INACTIVE);
    /* kept 15 minutes, then dropped */
    assert_int_equal(eval(f, r, 22 * MIN, 0, &v, &n, &e), 0);
    assert_int_equal(r->nalerts, 1);
    assert_int_equal(eval(f, r, 22 * MIN + 1, 0, &v, &n, &e), 0);
    assert_int_equal(r->nalerts, 0);
    rules_rule_free(r);
}

static void pending_vanishes_and_returns(void **state)
{
    fixture *f = *state;
    add(f, "x", "1", NULL, 0, 2);
    add(f, "x", "1", NULL, MIN, 0);
    add(f, "x", "1", NULL, 2 * MIN, 2);
    rules_rule *r = rule(RULES_ALERTING, "A", "x > 1", 5 * MIN, NULL, 0, NULL, 0);
    rules_sample *v;
    size_t n;
    core_err e = {{0}};
    assert_int_equal(eval(f, r, 0, 0, &v, &n, &e), 0);
    assert_int_equal(r->nalerts, 1);
    assert_int_equal(eval(f, r, MIN, 0, &v, &n, &e), 0);
    assert_int_equal(r->nalerts, 0); /* a pending alert is forgotten at once */
    assert_int_equal(eval(f, r, 2 * MIN, 0, &v, &n, &e), 0);
    assert_int_equal(r->nalerts, 1);
    assert_int_equal(r->alerts[0]->active_at, 2 * MIN);
    rules_rule_free(r);

    /* a resolved alert that comes back starts over as pending */
    r = rule(RULES_ALERTING, "B", "x > 1", 0, NULL, 0, NULL, 0);
    assert_int_equal(eval(f, r, 0, 0, &v, &n, &e), 0);
    assert_int_equal(r->alerts[0]->state, RULES_STATE_FIRING); /* for: 0 fires at once */
    assert_int_equal(eval(f, r, MIN, 0, &v, &n, &e), 0);
    assert_int_equal(r->alerts[0]->state, RULES_STATE_INACTIVE);
    assert_int_equal(eval(f, r, 2 * MIN, 0, &v, &n, &e), 0);
    assert_int_equal(r->nalerts, 1);
    assert_int_equal(r->alerts[0]->state, RULES_STATE_FIRING);
    assert_int_equal(r->alerts[0]->active_at, 2 * MIN);
    assert_int_equal(r->alerts[0]->resolved_at, RULES_NO_TIME);
    rules_rule_free(r);
}

static void keep_firing_for(void **state)
{
    fixture *f = *state;
    add(f, "x", "1", NULL, 0, 2);
    add(f, "x", "1", NULL, MIN, 0);
    add(f, "x", "1", NULL, 4 * MIN, 0);
    core_label none[1];
    rules_rule_def def = {.kind = RULES_ALERTING,
                          .name = "K",
                          .expr = "x > 1",
                          .keep_firing_for_ms = 2 * MIN,
                          .labels = core_labels_new(none, 0),
                          .annotations = core_labels_new(none, 0)};
    core_err e = {{0}};
    rules_rule *r = rules_rule_new(&def, NULL, NULL, NULL, true, &e);
    free(def.labels);
    free(def.annotations);
    rules_sample *v;
    size_t n;
    assert_int_equal(eval(f, r, 0, 0, &v, &n, &e), 0);
    assert_int_equal(r->alerts[0]->state, RULES_STATE_FIRING);
    assert_int_equal(eval(f, r, MIN, 0, &v, &n, &e), 0);
    assert_int_equal(r->alerts[0]->state, RULES_STATE_FIRING);
    assert_int_equal(r->alerts[0]->keep_firing_since, MIN);
    assert_non_null(find(v, n, "ALERTS", "alertstate", "firing"));
    assert_int_equal(eval(f, r, 2 * MIN, 0, &v, &n, &e), 0);
    assert_int_equal(r->alerts[0]->state, RULES_STATE_FIRING);
    assert_int_equal(eval(f, r, 3 * MIN, 0, &v, &n, &e), 0);
    assert_int_equal(r->alerts[0]->state, RULES_STATE_INACTIVE);
    assert_int_equal(r->alerts[0]->resolved_at, 3 * MIN);
    rules_rule_free(r);
}

static void not_restored_yet(void **state)
{
    fixture *f = *state;
    add(f, "x", "1", NULL, 0, 2);
    core_label none[1];
    rules_rule_def def = {.kind = RULES_ALERTING,
                          .name = "R",
                          .expr = "x > 1",
                          .labels = core_labels_new(none, 0),
                          .annotations = core_labels_new(none, 0)};
    core_err e = {{0}};
    rules_rule *r = rules_rule_new(&def, NULL, NULL, NULL, false, &e);
    free(def.labels);
    free(def.annotations);
    rules_sample *v;
    size_t n;
    assert_int_equal(eval(f, r, 0, 0, &v, &n, &e), 0);
    assert_int_equal(r->nalerts, 1);
    assert_int_equal(n, 0); /* no ALERTS before the `for` state is restored */
    r->restored = true;
    assert_int_equal(eval(f, r, 1000, 0, &v, &n, &e), 0);
    assert_int_equal(n, 2);
    rules_rule_free(r);
}

static void alert_errors(void **state)
{
    fixture *f = *state;
    add(f, "x", "1", "p", 0, 2);
    add(f, "x", "1", "q", 0, 2);
    core_label same_b[] = {{"b", "fixed"}};
    rules_rule *r = rule(RULES_ALERTING, "D", "x", 0, same_b, 1, NULL, 0);
    rules_sample *v;
    size_t n;
    core_err e = {{0}};
    assert_int_equal(eval(f, r, 0, 0, &v, &n, &e), -1);
    assert_string_equal(
        e.msg, "vector contains metrics with the same labelset after applying alert labels");
    assert_int_equal(r->nalerts, 0);
    rules_rule_free(r);
    r = rule(RULES_ALERTING, "L", "x", 0, NULL, 0, NULL, 0);
    assert_int_equal(eval(f, r, 0, 1, &v, &n, &e), -1);
    assert_string_equal(e.msg, "exceeded limit of 1 with 2 alerts");
    assert_int_equal(r->nalerts, 0);
    assert_int_equal(eval(f, r, 0, 2, &v, &n, &e), 0);
    assert_int_equal(r->nalerts, 2);
    rules_rule_free(r);
    /* a template error becomes the text */
    core_label an[] = {{"d", "{{ humanize \"x\" }}"}};
    r = rule(RULES_ALERTING, "T", "x", 0, NULL, 0, an, 1);
    assert_int_equal(eval(f, r, 0, 0, &v, &n, &e), 0);
    const char *d = core_labels_get(r->alerts[0]->annotations, "d");
    assert_non_null(strstr(d, "<error expanding template: error executing template __alert_T: "));
    assert_non_null(strstr(d, "error calling humanize: strconv.ParseFloat: parsing \"x\": "
                              "invalid syntax>"));
    rules_rule_free(r);
}

static void template_query(void **state)
{
    fixture *f = *state;
    add(f, "x", "1", NULL, 0, 2);
    add(f, "total", NULL, NULL, 0, 8);
    core_label an[] = {{"share", "{{ with query \"total\" }}{{ . | first | value | printf "
                                 "\"%.0f\" }}{{ end }}"}};
    rules_rule *r = rule(RULES_ALERTING, "Q", "x", 0, NULL, 0, an, 1);
    rules_sample *v;
    size_t n;
    core_err e = {{0}};
    assert_int_equal(eval(f, r, 1000, 0, &v, &n, &e), 0);
    assert_string_equal(core_labels_get(r->alerts[0]->annotations, "share"), "8");
    rules_rule_free(r);
}

static void sending(void **state)
{
    fixture *f = *state;
    for (int64_t t = 0; t <= 12 * MIN; t += MIN)
        add(f, "x", "1", NULL, t, t < 8 * MIN ? 2 : 0);
    rules_rule *r = rule(RULES_ALERTING, "S", "x > 1", 5 * MIN, NULL, 0, NULL, 0);
    rules_sample *v;
    size_t n;
    core_err e = {{0}};
    assert_int_equal(eval(f, r, 0, 0, &v, &n, &e), 0);
    rules_rule_send(r, &f->env, 0, MIN, &f->lock);
    assert_int_equal(f->notified_calls, 1); /* called even with nothing to send */
    assert_int_equal(f->nalerts, 0);        /* pending alerts are not sent */
    assert_int_equal(eval(f, r, 5 * MIN, 0, &v, &n, &e), 0);
    rules_rule_send(r, &f->env, 5 * MIN, MIN, &f->lock);
    assert_int_equal(f->nalerts, 1);
    assert_int_equal(f->starts[0], 5 * MIN);
    assert_int_equal(f->ends[0], 9 * MIN); /* 4 x max(interval, resend delay) */
    assert_string_equal(f->url, "http://prom:9090/graph?g0.expr=x+%3E+1&g0.tab=1");
    assert_int_equal(eval(f, r, 6 * MIN, 0, &v, &n, &e), 0);
    rules_rule_send(r, &f->env, 6 * MIN, MIN, &f->lock);
    assert_int_equal(f->nalerts, 0); /* within the resend delay */
    assert_int_equal(eval(f, r, 6 * MIN + 1, 0, &v, &n, &e), 0);
    rules_rule_send(r, &f->env, 6 * MIN + 1, MIN, &f->lock);
    assert_int_equal(f->nalerts, 1);
    /* resolved at 8m: sent with its end */
    assert_int_equal(eval(f, r, 8 * MIN, 0, &v, &n, &e), 0);
    rules_rule_send(r, &f->env, 8 * MIN, MIN, &f->lock);
    assert_int_equal(f->nalerts, 1);
    assert_int_equal(f->ends[0], 8 * MIN);
    assert_int_equal(f->starts[0], 5 * MIN);
    rules_rule_send(r, &f->env, 9 * MIN, MIN, &f->lock);
    assert_int_equal(f->nalerts, 0);
    rules_rule_send(r, &f->env, 9 * MIN + 1, MIN, &f->lock);
    assert_int_equal(f->nalerts, 1); /* repeated while kept */
    rules_rule_free(r);
}

static void building(void **state)
{
    (void)state;
    core_label gl[] = {{"team", "db"}, {"env", "prod"}};
    core_labels *group = core_labels_new(gl, 2);
    core_label rl[] = {{"env", "dev"}, {"x", ""}};
    core_labels *rlab = core_labels_new(rl, 2), *none = core_labels_new(NULL, 0);
    rules_rule_def def = {.kind = RULES_RECORDING,
                          .name = "r",
                          .expr = "sum   by(job)(rate(x[5m]))",
                          .labels = rlab,
                          .annotations = none};
    core_err e = {{0}};
    rules_rule *a = rules_rule_new(&def, group, NULL, NULL, true, &e);
    assert_non_null(a);
    assert_string_equal(a->query, "sum by (job) (rate(x[5m]))");
    assert_string_equal(core_labels_get(a->labels, "team"), "db");
    assert_string_equal(core_labels_get(a->labels, "env"), "dev");
    assert_string_equal(core_labels_get(a->labels, "x"), "");
    def.expr = "sum by (job) (rate(x[5m]))";
    rules_rule *b = rules_rule_new(&def, group, NULL, NULL, true, &e);
    assert_true(rules_rule_equal(a, b));
    rules_rule_free(b);
    def.expr = "sum by (job) (rate(x[1m]))";
    b = rules_rule_new(&def, group, NULL, NULL, true, &e);
    assert_false(rules_rule_equal(a, b));
    rules_rule_free(b);
    def.expr = "sum(";
    assert_null(rules_rule_new(&def, group, NULL, NULL, true, &e));
    assert_string_equal(e.msg, "1:5: parse error: unclosed left parenthesis");
    rules_rule_free(a);
    free(group);
    free(rlab);
    free(none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(recording, setup, teardown),
        cmocka_unit_test_setup_teardown(lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(pending_vanishes_and_returns, setup, teardown),
        cmocka_unit_test_setup_teardown(keep_firing_for, setup, teardown),
        cmocka_unit_test_setup_teardown(not_restored_yet, setup, teardown),
        cmocka_unit_test_setup_teardown(alert_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(template_query, setup, teardown),
        cmocka_unit_test_setup_teardown(sending, setup, teardown),
        cmocka_unit_test(building),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
