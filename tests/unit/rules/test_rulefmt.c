/*
 * test_rulefmt.c - rule files: the repository's examples and the seed
 * document's rules load with every field; the seed's alert with an unquoted
 * ": " in its description is refused with file:line:col and the hint to
 * quote, and loads once quoted; strict keys and typed fields; each of
 * upstream's validation messages naming group and rule; several errors
 * reported together; globs for rule_files.
 */
#define _GNU_SOURCE
#include "unit/unit.h"

#include "rules/rules.h"

#include <ftw.h>
#include <unistd.h>

static rules_file *parse(const char *text, core_err *err, core_sb *all)
{
    return rules_file_parse("alerts.yml", text, strlen(text), NULL, err, all);
}

static void assert_error(const char *text, const char *want)
{
    core_err e = {{0}};
    rules_file *f = parse(text, &e, NULL);
    if (f) fail_msg("parsed: %s", text);
    assert_string_equal(e.msg, want);
}

static const char SEED_ALERTS[] =
    "groups:\n"
    "- name: example-alert-rules\n"
    "  rules:\n"
    "  - alert: HighRequestLatency\n"
    "    expr: http_request_duration_seconds > 1\n"
    "    for: 10m\n"
    "    labels:\n"
    "      severity: warning\n"
    "    annotations:\n"
    "      summary: High request latency on {{ $labels.instance }}\n"
    "      description: Request latency is above 1s (current value: {{ $value }}s)\n";

static const char SEED_QUOTED[] =
    "groups:\n"
    "- name: example-alert-rules\n"
    "  rules:\n"
    "  - alert: HighRequestLatency\n"
    "    expr: http_request_duration_seconds > 1\n"
    "    for: 10m\n"
    "    labels:\n"
    "      severity: warning\n"
    "    annotations:\n"
    "      summary: High request latency on {{ $labels.instance }}\n"
    "      description: \"Request latency is above 1s (current value: {{ $value }}s)\"\n";

static void seed_alert(void **state)
{
    (void)state;
    core_err e = {{0}};
    rules_file *f = parse(SEED_ALERTS, &e, NULL);
    assert_null(f);
    assert_string_equal(e.msg, "alerts.yml:11:62: mapping values are not allowed in this context "
                               "(a value that contains \": \" must be quoted)");
    f = parse(SEED_QUOTED, &e, NULL);
    assert_non_null(f);
    assert_int_equal(f->ngroups, 1);
    const rules_group_def *g = &f->groups[0];
    assert_string_equal(g->name, "example-alert-rules");
    assert_int_equal(g->interval_ms, 0);
    assert_false(g->has_query_offset);
    assert_int_equal(g->nrules, 1);
    const rules_rule_def *r = &g->rules[0];
    assert_int_equal(r->kind, RULES_ALERTING);
    assert_string_equal(r->name, "HighRequestLatency");
    assert_string_equal(r->expr, "http_request_duration_seconds > 1");
    assert_int_equal(r->for_ms, 10 * 60 * 1000);
    assert_string_equal(core_labels_get(r->labels, "severity"), "warning");
    assert_string_equal(core_labels_get(r->annotations, "summary"),
                        "High request latency on {{ $labels.instance }}");
    assert_string_equal(core_labels_get(r->annotations, "description"),
                        "Request latency is above 1s (current value: {{ $value }}s)");
    assert_int_equal(r->line, 4);
    assert_int_equal(r->col, 5);
    rules_file_free(f);
}

static void examples(void **state)
{
    (void)state;
    core_err e = {{0}};
    const char *src = getenv("PROM_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/alerts.yml", src ? src : ".");
    rules_file *f = rules_file_load(path, NULL, &e, NULL);
    if (!f) fail_msg("%s", e.msg);
    assert_int_equal(f->groups[0].rules[0].kind, RULES_ALERTING);
    rules_file_free(f);
    snprintf(path, sizeof path, "%s/examples/rules.yml", src ? src : ".");
    f = rules_file_load(path, NULL, &e, NULL);
    if (!f) fail_msg("%s", e.msg);
    assert_string_equal(f->groups[0].name, "example-rules");
    assert_int_equal(f->groups[0].interval_ms, 5 * 60 * 1000);
    assert_int_equal(f->groups[0].rules[0].kind, RULES_RECORDING);
    assert_string_equal(f->groups[0].rules[0].name, "job:http_requests:rate5m");
    assert_string_equal(f->groups[0].rules[0].expr, "sum by (job) (rate(http_requests_total[5m]))");
    rules_file_free(f);
    f = rules_file_load("/nonexistent/x.yml", NULL, &e, NULL);
    assert_null(f);
    assert_string_equal(e.msg, "open /nonexistent/x.yml: No such file or directory");
}

static void all_fields(void **state)
{
    (void)state;
    core_err e = {{0}};
    rules_file *f = parse("groups:\n"
                          "  - name: g1\n"
                          "    interval: 30s\n"
                          "    query_offset: 1m\n"
                          "    limit: 10\n"
                          "    labels: {team: db}\n"
                          "    rules:\n"
                          "      - record: job:up:sum\n"
                          "        expr: sum by (job) (up)\n"
                          "        labels: {src: rec}\n"
                          "      - alert: Down\n"
                          "        expr: up == 0\n"
                          "        for: 5m\n"
                          "        keep_firing_for: 10m\n"
                          "        labels: {severity: page}\n"
                          "        annotations: {summary: '{{ $labels.job }} down'}\n"
                          "  - name: g2\n"
                          "    query_offset: 0s\n",
                          &e, NULL);
    if (!f) fail_msg("%s", e.msg);
    assert_int_equal(f->ngroups, 2);
    assert_int_equal(f->groups[0].interval_ms, 30000);
    assert_true(f->groups[0].has_query_offset);
    assert_int_equal(f->groups[0].query_offset_ms, 60000);
    assert_int_equal(f->groups[0].limit, 10);
    assert_string_equal(core_labels_get(f->groups[0].labels, "team"), "db");
    assert_int_equal(f->groups[0].nrules, 2);
    assert_int_equal(f->groups[0].rules[1].keep_firing_for_ms, 600000);
    assert_true(f->groups[1].has_query_offset);
    assert_int_equal(f->groups[1].query_offset_ms, 0);
    assert_int_equal(f->groups[1].nrules, 0);
    rules_file_free(f);
    /* empty and comment-only files have no groups */
    f = parse("", &e, NULL);
    assert_non_null(f);
    assert_int_equal(f->ngroups, 0);
    rules_file_free(f);
    f = parse("# nothing\ngroups:\n", &e, NULL);
    assert_non_null(f);
    assert_int_equal(f->ngroups, 0);
    rules_file_free(f);
}

static void decoding_errors(void **state)
{
    (void)state;
    assert_error("group:\n", "alerts.yml:1:1: unknown field \"group\" in rule file");
    assert_error("groups: x\n", "alerts.yml:1:9: expected a sequence for groups, got a scalar");
    assert_error("groups:\n- name: a\n  intervall: 1m\n",
                 "alerts.yml:3:3: unknown field \"intervall\" in rule group");
    assert_error("groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n    fo: 1m\n",
                 "alerts.yml:6:5: unknown field \"fo\" in rule");
    assert_error("groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n    for: 10x\n",
                 "alerts.yml:6:10: cannot parse \"10x\" as a duration in for: unknown unit \"x\" "
                 "in duration \"10x\"");
    assert_error("groups:\n- name: a\n  limit: ten\n",
                 "alerts.yml:3:10: cannot parse \"ten\" as an integer in limit");
    assert_error("groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n    labels: [a]\n",
                 "alerts.yml:6:13: expected a mapping for labels, got a sequence");
    assert_error("groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n    labels:\n"
                 "      a: 1\n      a: 2\n",
                 "alerts.yml:8:7: mapping key \"a\" already defined at line 7");
    assert_error("groups:\n- name: a\n  rules:\n  - up\n",
                 "alerts.yml:4:5: expected a mapping for rule, got a scalar");
    assert_error("groups:\n- name: a\n  rules:\n  - alert: [A]\n    expr: up\n",
                 "alerts.yml:4:12: expected a scalar for alert, got a sequence");
}

static void validation_errors(void **state)
{
    (void)state;
    assert_error("groups:\n- name: ''\n", "alerts.yml:2:3: Groupname must not be empty");
    assert_error("groups:\n- name: a\n- name: a\n",
                 "alerts.yml:3:3: groupname: \"a\" is repeated in the same file");
    assert_error("groups:\n- name: a\n  labels:\n    __name__: x\n",
                 "alerts.yml:4:5: invalid label name: __name__");
    assert_error("groups:\n- name: g\n  rules:\n  - alert: A\n    record: r\n    expr: up\n",
                 "alerts.yml:5:13: group \"g\", rule 1, \"A\": only one of 'record' and 'alert' "
                 "must be set");
    assert_error("groups:\n- name: g\n  rules:\n  - expr: up\n",
                 "alerts.yml:4:5: group \"g\", rule 1, \"\": one of 'record' or 'alert' must be "
                 "set");
    assert_error("groups:\n- name: g\n  rules:\n  - record: r\n",
                 "alerts.yml:4:5: group \"g\", rule 1, \"r\": field 'expr' must be set in rule");
    assert_error("groups:\n- name: g\n  rules:\n  - record: r\n    expr: sum(up\n",
                 "alerts.yml:5:11: group \"g\", rule 1, \"r\": could not parse expression: 1:7: "
                 "parse error: unclosed left parenthesis");
    assert_error("groups:\n- name: g\n  rules:\n  - record: r\n    expr: up\n    for: 1m\n",
                 "alerts.yml:4:13: group \"g\", rule 1, \"r\": invalid field 'for' in recording "
                 "rule");
    assert_error("groups:\n- name: g\n  rules:\n  - record: r\n    expr: up\n    keep_firing_for: "
                 "1m\n",
                 "alerts.yml:4:13: group \"g\", rule 1, \"r\": invalid field 'keep_firing_for' "
                 "in recording rule");
    assert_error("groups:\n- name: g\n  rules:\n  - record: r\n    expr: up\n    annotations: {a: "
                 "b}\n",
                 "alerts.yml:4:13: group \"g\", rule 1, \"r\": invalid field 'annotations' in "
                 "recording rule");
    assert_error("groups:\n- name: g\n  rules:\n  - record: 'up{job=\"a\"}'\n    expr: up\n",
                 "alerts.yml:4:13: group \"g\", rule 1, \"up{job=\\\"a\\\"}\": braces present in "
                 "the recording rule name; should it be in expr?: up{job=\"a\"}");
    assert_error("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    labels:\n"
                 "      __name__: x\n",
                 "alerts.yml:7:7: group \"g\", rule 1, \"A\": invalid label name: __name__");
    assert_error("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations:\n"
                 "      summary: '{{ humanise $value }}'\n",
                 "alerts.yml:7:16: group \"g\", rule 1, \"A\": annotation \"summary\": template: "
                 "__alert_A:1: function \"humanise\" not defined");
    assert_error("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    labels:\n"
                 "      sev: '{{ $labels.x '\n",
                 "alerts.yml:7:12: group \"g\", rule 1, \"A\": label \"sev\": template: "
                 "__alert_A:1: unclosed action");
}

static void legacy_names(void **state)
{
    (void)state;
    const char *text = "groups:\n- name: g\n  rules:\n  - record: 'job http'\n    expr: up\n"
                       "    labels:\n      'a.b': x\n";
    core_err e = {{0}};
    rules_file *f = parse(text, &e, NULL);
    assert_non_null(f); /* UTF-8 names, the 3.x default */
    rules_file_free(f);
    rules_parse_opts o = {.names = MODEL_NAMES_LEGACY};
    core_sb all = CORE_SB_INIT;
    f = rules_file_parse("r.yml", text, strlen(text), &o, &e, &all);
    assert_null(f);
    assert_string_equal(all.buf,
                        "r.yml:4:13: group \"g\", rule 1, \"job http\": invalid recording rule "
                        "name: job http\n"
                        "r.yml:7:7: group \"g\", rule 1, \"job http\": invalid label name: a.b\n");
    core_sb_destroy(&all);
}

static void several_errors(void **state)
{
    (void)state;
    core_err e = {{0}};
    core_sb all = CORE_SB_INIT;
    rules_file *f = parse("groups:\n"
                          "- name: a\n"
                          "  rules:\n"
                          "  - record: 'bad name{'\n"
                          "    expr: up +\n"
                          "- name: a\n",
                          &e, &all);
    assert_null(f);
    assert_string_equal(e.msg, "alerts.yml:5:11: group \"a\", rule 1, \"bad name{\": could not "
                               "parse expression: 1:5: parse error: unexpected end of input");
    assert_string_equal(all.buf,
                        "alerts.yml:5:11: group \"a\", rule 1, \"bad name{\": could not parse "
                        "expression: 1:5: parse error: unexpected end of input\n"
                        "alerts.yml:4:13: group \"a\", rule 1, \"bad name{\": braces present in "
                        "the recording rule name; should it be in expr?: bad name{\n"
                        "alerts.yml:6:3: groupname: \"a\" is repeated in the same file\n");
    core_sb_destroy(&all);
}

static int rm_cb(const char *p, const struct stat *s, int f, struct FTW *w)
{
    (void)s, (void)f, (void)w;
    return remove(p);
}

static void globs(void **state)
{
    (void)state;
    char dir[] = "/tmp/rules-glob-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *names[] = {"b.yml", "a.yml", "c.yaml"};
    for (size_t i = 0; i < 3; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        FILE *fp = fopen(p, "w");
        assert_non_null(fp);
        fclose(fp);
    }
    char p1[128], p2[128], p3[128];
    snprintf(p1, sizeof p1, "%s/*.yml", dir);
    snprintf(p2, sizeof p2, "%s/c.yaml", dir);
    snprintf(p3, sizeof p3, "%s/missing.yml", dir);
    const char *pats[] = {p1, p2, p3};
    char **files;
    size_t n;
    core_err e = {{0}};
    assert_int_equal(rules_glob(pats, 3, &files, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_non_null(strstr(files[0], "/a.yml"));
    assert_non_null(strstr(files[1], "/b.yml"));
    assert_non_null(strstr(files[2], "/c.yaml"));
    rules_files_free(files, n);
    const char *bad[] = {"rules/[a.yml"};
    assert_int_equal(rules_glob(bad, 1, &files, &n, &e), -1);
    assert_string_equal(e.msg, "error retrieving rule files for rules/[a.yml: syntax error in "
                               "pattern");
    nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seed_alert),        cmocka_unit_test(examples),
        cmocka_unit_test(all_fields),        cmocka_unit_test(decoding_errors),
        cmocka_unit_test(validation_errors), cmocka_unit_test(legacy_names),
        cmocka_unit_test(several_errors),    cmocka_unit_test(globs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
