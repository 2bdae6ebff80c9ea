/*
 * test_relabel.c - relabel rules: every action, upstream's defaults, its
 * validation messages, and the cases of upstream's model/relabel tests and of
 * the configuration documentation, written out again as tables here.
 */
#include "unit/unit.h"

#include "model/model.h"

/* A rule as a test writes it: NULL fields keep upstream's defaults. */
typedef struct rule {
    const char *action;
    const char *sources; /* comma-separated; "" for an empty list given */
    const char *regex;
    const char *target;
    const char *replacement;
    const char *separator;
    uint64_t modulus;
} rule;

#define MAX_RULES 4

typedef struct rl_case {
    const char *name;
    const char *in[24]; /* name, value, ..., NULL */
    rule rules[MAX_RULES];
    const char *want; /* upstream's String() form, or "DROP" */
} rl_case;

static void build_rule(model_relabel_cfg *c, const rule *r)
{
    model_relabel_cfg_init(c);
    core_err err;
    if (r->action) assert_int_equal(model_relabel_action_parse(r->action, &c->action, &err), 0);
    if (r->sources) {
        char buf[256];
        const char *names[16];
        size_t n = 0;
        snprintf(buf, sizeof buf, "%s", r->sources);
        for (char *tok = strtok(buf, ","); tok != NULL; tok = strtok(NULL, ","))
            names[n++] = tok;
        model_relabel_cfg_set_source_labels(c, names, n);
    }
    if (r->regex) {
        model_regex *re = model_regex_new(r->regex, &err);
        assert_non_null(re);
        model_relabel_cfg_set_regex(c, re);
    }
    if (r->target) model_relabel_cfg_set_target_label(c, r->target);
    if (r->replacement) model_relabel_cfg_set_replacement(c, r->replacement);
    if (r->separator) model_relabel_cfg_set_separator(c, r->separator);
    c->modulus = r->modulus;
}

static size_t count_rules(const rule *rules)
{
    size_t n = 0;
    while (n < MAX_RULES && (rules[n].action || rules[n].sources || rules[n].regex ||
                             rules[n].target || rules[n].replacement))
        n++;
    return n;
}

static core_labels *labels_of(const char *const *kv)
{
    core_label pairs[16];
    size_t n = 0;
    for (; kv[2 * n] != NULL; n++)
        pairs[n] = (core_label){kv[2 * n], kv[2 * n + 1]};
    return core_labels_new(pairs, n);
}

static void run_cases(const rl_case *cases, size_t ncases, model_name_scheme scheme)
{
    int bad = 0;
    for (size_t i = 0; i < ncases; i++) {
        const rl_case *t = &cases[i];
        model_relabel_cfg cfgs[MAX_RULES];
        size_t n = count_rules(t->rules);
        for (size_t k = 0; k < n; k++) {
            build_rule(&cfgs[k], &t->rules[k]);
            core_err err = {{0}};
            if (model_relabel_validate(&cfgs[k], scheme, &err) != 0) {
                printf("%s: rule %zu refused: %s\n", t->name, k, err.msg);
                bad++;
            }
        }
        core_labels *in = labels_of(t->in);
        core_labels *out = model_relabel_labels(cfgs, n, in);
        core_sb got = CORE_SB_INIT;
        if (out == NULL)
            core_sb_adds(&got, "DROP");
        else
            core_labels_format(out, &got);
        if (strcmp(got.buf, t->want) != 0) {
            printf("%s:\n  want %s\n  got  %s\n", t->name, t->want, got.buf);
            bad++;
        }
        core_sb_destroy(&got);
        free(out);
        free(in);
        for (size_t k = 0; k < n; k++)
            model_relabel_cfg_destroy(&cfgs[k]);
    }
    assert_int_equal(bad, 0);
}

/* The cases of upstream's TestRelabel, in upstream's order. */
static const rl_case upstream_cases[] = {
    {"replace with ${1}",
     {"a", "foo", "b", "bar", "c", "baz", NULL},
     {{"replace", "a", "f(.*)", "d", "ch${1}-ch${1}", ";", 0}},
     "{a=\"foo\", b=\"bar\", c=\"baz\", d=\"choo-choo\"}"},
    {"two replaces, the second reading the first",
     {"a", "foo", "b", "bar", "c", "baz", NULL},
     {{"replace", "a,b", "f(.*);(.*)r", "a", "b${1}${2}m", ";", 0},
      {"replace", "c,a", "(b).*b(.*)ba(.*)", "d", "$1$2$2$3", ";", 0}},
     "{a=\"boobam\", b=\"bar\", c=\"baz\", d=\"boooom\"}"},
    {"drop before replace",
     {"a", "foo", NULL},
     {{"drop", "a", ".*o.*", NULL, NULL, NULL, 0},
      {"replace", "a", "f(.*)", "d", "ch$1-ch$1", ";", 0}},
     "DROP"},
    {"drop", {"a", "foo", "b", "bar", NULL}, {{"drop", "a", ".*o.*", NULL, NULL, NULL, 0}}, "DROP"},
    {"replace a middle group",
     {"a", "abc", NULL},
     {{"replace", "a", ".*(b).*", "d", "$1", ";", 0}},
     "{a=\"abc\", d=\"b\"}"},
    {"drop without a match",
     {"a", "foo", NULL},
     {{"drop", "a", "no-match", NULL, NULL, NULL, 0}},
     "{a=\"foo\"}"},
    {"drop regex anchored: f|o does not match foo",
     {"a", "foo", NULL},
     {{"drop", "a", "f|o", NULL, NULL, NULL, 0}},
     "{a=\"foo\"}"},
    {"keep without a match",
     {"a", "foo", NULL},
     {{"keep", "a", "no-match", NULL, NULL, NULL, 0}},
     "DROP"},
    {"keep with a match",
     {"a", "foo", NULL},
     {{"keep", "a", "f.*", NULL, NULL, NULL, 0}},
     "{a=\"foo\"}"},
    {"no replacement without a match",
     {"a", "boo", NULL},
     {{"replace", "a", "f", "b", "bar", NULL, 0}},
     "{a=\"boo\"}"},
    {"blank replacement deletes the target",
     {"a", "foo", "f", "baz", NULL},
     {{"replace", "a", "(f).*", "$1", "$2", NULL, 0}},
     "{a=\"foo\"}"},
    {"hashmod",
     {"a", "foo", "b", "bar", "c", "baz", NULL},
     {{"hashmod", "c", NULL, "d", NULL, ";", 1000}},
     "{a=\"foo\", b=\"bar\", c=\"baz\", d=\"976\"}"},
    {"hashmod of a value with a newline",
     {"a", "foo\nbar", NULL},
     {{"hashmod", "a", NULL, "b", NULL, ";", 1000}},
     "{a=\"foo\\nbar\", b=\"734\"}"},
    {"labelmap",
     {"a", "foo", "b1", "bar", "b2", "baz", NULL},
     {{"labelmap", NULL, "(b.*)", NULL, "bar_${1}", NULL, 0}},
     "{a=\"foo\", b1=\"bar\", b2=\"baz\", bar_b1=\"bar\", bar_b2=\"baz\"}"},
    {"labelmap of meta labels",
     {"a", "foo", "__meta_my_bar", "aaa", "__meta_my_baz", "bbb", "__meta_other", "ccc", NULL},
     {{"labelmap", NULL, "__meta_(my.*)", NULL, "${1}", NULL, 0}},
     "{__meta_my_bar=\"aaa\", __meta_my_baz=\"bbb\", __meta_other=\"ccc\", a=\"foo\", "
     "my_bar=\"aaa\", my_baz=\"bbb\"}"},
    {"target and replacement from groups",
     {"a", "some-name-value", NULL},
     {{"replace", "a", "some-([^-]+)-([^,]+)", "${1}", "${2}", NULL, 0}},
     "{a=\"some-name-value\", name=\"value\"}"},
    {"empty replacement from a missing group",
     {"a", "some-name-value", NULL},
     {{"replace", "a", "some-([^-]+)-([^,]+)", "${1}", "${3}", NULL, 0}},
     "{a=\"some-name-value\"}"},
    {"empty target from missing groups: nothing happens",
     {"a", "some-name-0", NULL},
     {{"replace", "a", "some-([^-]+)-([^,]+)", "${3}", "${1}", NULL, 0},
      {"replace", "a", "some-([^-]+)-([^,]+)", "${3}", "${1}", NULL, 0},
      {"replace", "a", "some-([^-]+)(-[^,]+)", "${3}", "${1}", NULL, 0}},
     "{a=\"some-name-0\"}"},
    {"tags to path, job and a label",
     {"__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar", NULL},
     {{"replace", "__meta_sd_tags", "(?:.+,|^)path:(/[^,]+).*", "__metrics_path__", "${1}", NULL,
       0},
      {"replace", "__meta_sd_tags", "(?:.+,|^)job:([^,]+).*", "job", "${1}", NULL, 0},
      {"replace", "__meta_sd_tags", "(?:.+,|^)label:([^=]+)=([^,]+).*", "${1}", "${2}", NULL, 0}},
     "{__meta_sd_tags=\"path:/secret,job:some-job,label:foo=bar\", "
     "__metrics_path__=\"/secret\", foo=\"bar\", job=\"some-job\"}"},
    {"labeldrop then replace then keep (prometheus#12283)",
     {"__meta_kubernetes_pod_container_port_name", "foo",
      "__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091", NULL},
     {{"labeldrop", NULL, "^__meta_kubernetes_pod_container_port_name$", NULL, NULL, NULL, 0},
      {"replace", "__meta_kubernetes_pod_annotation_XXX_metrics_port", "(.+)",
       "__meta_kubernetes_pod_container_port_name", "metrics", NULL, 0},
      {"keep", "__meta_kubernetes_pod_container_port_name", "^metrics$", NULL, NULL, NULL, 0}},
     "{__meta_kubernetes_pod_annotation_XXX_metrics_port=\"9091\", "
     "__meta_kubernetes_pod_container_port_name=\"metrics\"}"},
    {"labelkeep",
     {"a", "foo", "b1", "bar", "b2", "baz", NULL},
     {{"labelkeep", NULL, "(b.*)", NULL, NULL, NULL, 0}},
     "{b1=\"bar\", b2=\"baz\"}"},
    {"labeldrop",
     {"a", "foo", "b1", "bar", "b2", "baz", NULL},
     {{"labeldrop", NULL, "(b.*)", NULL, NULL, NULL, 0}},
     "{a=\"foo\"}"},
    {"uppercase and lowercase",
     {"foo", "bAr123Foo", NULL},
     {{"uppercase", "foo", NULL, "foo_uppercase", NULL, NULL, 0},
      {"lowercase", "foo", NULL, "foo_lowercase", NULL, NULL, 0}},
     "{foo=\"bAr123Foo\", foo_lowercase=\"bar123foo\", foo_uppercase=\"BAR123FOO\"}"},
    {"keepequal, equal",
     {"__tmp_port", "1234", "__port1", "1234", "__port2", "5678", NULL},
     {{"keepequal", "__tmp_port", NULL, "__port1", NULL, NULL, 0}},
     "{__port1=\"1234\", __port2=\"5678\", __tmp_port=\"1234\"}"},
    {"dropequal, equal",
     {"__tmp_port", "1234", "__port1", "1234", "__port2", "5678", NULL},
     {{"dropequal", "__tmp_port", NULL, "__port1", NULL, NULL, 0}},
     "DROP"},
    {"dropequal, different",
     {"__tmp_port", "1234", "__port1", "1234", "__port2", "5678", NULL},
     {{"dropequal", "__tmp_port", NULL, "__port2", NULL, NULL, 0}},
     "{__port1=\"1234\", __port2=\"5678\", __tmp_port=\"1234\"}"},
    {"keepequal, different",
     {"__tmp_port", "1234", "__port1", "1234", "__port2", "5678", NULL},
     {{"keepequal", "__tmp_port", NULL, "__port2", NULL, NULL, 0}},
     "DROP"},
    {"dot matches a newline",
     {"a", "line1\nline2", "b", "bar", "c", "baz", NULL},
     {{"replace", "a", "line1.*line2", "d", "match${1}", ";", 0}},
     "{a=\"line1\\nline2\", b=\"bar\", c=\"baz\", d=\"match\"}"},
    {"UTF-8 source label",
     {"utf-8.label", "line1\nline2", "b", "bar", "c", "baz", NULL},
     {{"replace", "utf-8.label", "line1.*line2", "d", "match${1}", ";", 0}},
     "{b=\"bar\", c=\"baz\", d=\"match\", utf-8.label=\"line1\\nline2\"}"},
    {"UTF-8 target label",
     {"a", "line1\nline2", "b", "bar", "c", "baz", NULL},
     {{"replace", "a", "line1.*line2", "utf-8.label", "match${1}", ";", 0}},
     "{a=\"line1\\nline2\", b=\"bar\", c=\"baz\", utf-8.label=\"match\"}"},
    {"type from the name",
     {"__name__", "http_requests_total", NULL},
     {{"replace", "__name__", ".*_total$", "__type__", "counter", NULL, 0}},
     "{__name__=\"http_requests_total\", __type__=\"counter\"}"},
};

/* Examples in the style of the configuration documentation and of the
 * kubernetes example configuration. */
static const rl_case doc_cases[] = {
    {"seed document: tag Name to instance, zone",
     {"__address__", "10.0.0.5:9100", "__meta_ec2_tag_Name", "web-1",
      "__meta_ec2_availability_zone", "us-west-2a", NULL},
     {{NULL, "__meta_ec2_tag_Name", NULL, "instance", NULL, NULL, 0},
      {NULL, "__meta_ec2_availability_zone", NULL, "zone", NULL, NULL, 0}},
     "{__address__=\"10.0.0.5:9100\", __meta_ec2_availability_zone=\"us-west-2a\", "
     "__meta_ec2_tag_Name=\"web-1\", instance=\"web-1\", zone=\"us-west-2a\"}"},
    {"an absent source with the default regex deletes the target",
     {"instance", "x", NULL},
     {{NULL, "__meta_missing", NULL, "instance", NULL, NULL, 0}},
     "{}"},
    {"a static label",
     {"a", "1", NULL},
     {{NULL, NULL, NULL, "env", "prod", NULL, 0}},
     "{a=\"1\", env=\"prod\"}"},
    {"address from host and annotation port",
     {"__address__", "10.1.2.3:8080", "__meta_kubernetes_pod_annotation_prometheus_io_port", "9102",
      NULL},
     {{"replace", "__address__,__meta_kubernetes_pod_annotation_prometheus_io_port",
       "([^:]+)(?::\\d+)?;(\\d+)", "__address__", "$1:$2", NULL, 0}},
     "{__address__=\"10.1.2.3:9102\", "
     "__meta_kubernetes_pod_annotation_prometheus_io_port=\"9102\"}"},
    {"alert_relabel_configs keep of the seed document",
     {"alertname", "X", "severity", "critical", NULL},
     {{"keep", "severity", "warning|critical", NULL, NULL, NULL, 0}},
     "{alertname=\"X\", severity=\"critical\"}"},
    {"... drops info",
     {"alertname", "X", "severity", "info", NULL},
     {{"keep", "severity", "warning|critical", NULL, NULL, NULL, 0}},
     "DROP"},
    {"sharding with hashmod and keep",
     {"__address__", "node-7:9100", NULL},
     {{"hashmod", "__address__", NULL, "__tmp_hash", NULL, NULL, 4},
      {"keep", "__tmp_hash", "^1$", NULL, NULL, NULL, 0},
      {"labeldrop", NULL, "__tmp_hash", NULL, NULL, NULL, 0}},
     "{__address__=\"node-7:9100\"}"},
    {"metric_relabel drop by name",
     {"__name__", "go_gc_duration_seconds", "job", "x", NULL},
     {{"drop", "__name__", "go_.*", NULL, NULL, NULL, 0}},
     "DROP"},
    {"separator",
     {"a", "1", "b", "2", NULL},
     {{"replace", "a,b", NULL, "c", NULL, "-", 0}},
     "{a=\"1\", b=\"2\", c=\"1-2\"}"},
    {"missing sources join as empty strings",
     {"a", "1", NULL},
     {{"replace", "x,a,y", NULL, "c", NULL, NULL, 0}},
     "{a=\"1\", c=\";1;\"}"},
    {"$1x is the group named 1x: empty, so the label is deleted",
     {"a", "v", NULL},
     {{"replace", "a", "(.*)", "a", "$1x", NULL, 0}},
     "{}"},
    {"$$ is a dollar",
     {"a", "v", NULL},
     {{"replace", "a", "(.*)", "b", "$$$1", NULL, 0}},
     "{a=\"v\", b=\"$v\"}"},
    {"lowercase of non-ASCII and uppercase",
     {"a", "\xc3\x84PFEL-\xc3\x9f", NULL},
     {{"lowercase", "a", NULL, "lo", NULL, NULL, 0}, {"uppercase", "a", NULL, "up", NULL, NULL, 0}},
     "{a=\"\xc3\x84PFEL-\xc3\x9f\", lo=\"\xc3\xa4pfel-\xc3\x9f\", up=\"\xc3\x84PFEL-\xc3\x9f\"}"},
    {"lowercase of an empty value deletes the target",
     {"a", "1", "t", "x", NULL},
     {{"lowercase", "nope", NULL, "t", NULL, NULL, 0}},
     "{a=\"1\"}"},
    {"labelmap sees labels set by earlier rules, not its own",
     {"a", "1", NULL},
     {{NULL, NULL, NULL, "x_b", "2", NULL, 0},
      {"labelmap", NULL, "x_(.*)", NULL, "x_x_$1", NULL, 0}},
     "{a=\"1\", x_b=\"2\", x_x_b=\"2\"}"},
    {"labeldrop after a set",
     {"a", "1", NULL},
     {{NULL, NULL, NULL, "tmp", "2", NULL, 0}, {"labeldrop", NULL, "tmp|a", NULL, NULL, NULL, 0}},
     "{}"},
    {"action names are case-insensitive",
     {"a", "foo", NULL},
     {{"DROP", "a", "foo", NULL, NULL, NULL, 0}},
     "DROP"},
    {"a target that expands to an invalid name is skipped (legacy scheme in the next table)",
     {"a", "x", NULL},
     {{"replace", "a", "(.*)", "${2}", "v", NULL, 0}},
     "{a=\"x\"}"},
};

static void test_upstream_cases(void **state)
{
    (void)state;
    run_cases(upstream_cases, sizeof upstream_cases / sizeof *upstream_cases, MODEL_NAMES_UTF8);
}

static void test_doc_cases(void **state)
{
    (void)state;
    run_cases(doc_cases, sizeof doc_cases / sizeof *doc_cases, MODEL_NAMES_UTF8);
}

static const rl_case legacy_cases[] = {
    {"a target with a dot is valid under UTF-8 only: skipped under legacy",
     {"a", "x.y", NULL},
     {{"replace", "a", "(.*)", "${1}", "v", NULL, 0}},
     "{a=\"x.y\"}"},
    {"a valid expanded target",
     {"a", "x_y", NULL},
     {{"replace", "a", "(.*)", "${1}", "v", NULL, 0}},
     "{a=\"x_y\", x_y=\"v\"}"},
};

static void test_legacy_cases(void **state)
{
    (void)state;
    run_cases(legacy_cases, sizeof legacy_cases / sizeof *legacy_cases, MODEL_NAMES_LEGACY);
}

typedef struct val_case {
    rule r;
    model_name_scheme scheme;
    const char *want; /* NULL: valid */
} val_case;

static void test_validate(void **state)
{
    (void)state;
    static const val_case cases[] = {
        {{"replace", NULL, NULL, NULL, NULL, NULL, 0},
         MODEL_NAMES_UTF8,
         "relabel configuration for replace action requires 'target_label' value"},
        {{"lowercase", NULL, NULL, NULL, NULL, NULL, 0},
         MODEL_NAMES_UTF8,
         "relabel configuration for lowercase action requires 'target_label' value"},
        {{"lowercase", NULL, NULL, "${3}", NULL, NULL, 0}, MODEL_NAMES_UTF8, NULL},
        {{"lowercase", NULL, NULL, "${3}", NULL, NULL, 0},
         MODEL_NAMES_LEGACY,
         "\"${3}\" is invalid 'target_label' for lowercase action"},
        {{"replace", "a", "some-([^-]+)-([^,]+)", "${3}", "${1}", NULL, 0}, MODEL_NAMES_UTF8, NULL},
        {{"replace", "a", "some-([^-]+)-([^,]+)", "0${3}", "${1}", NULL, 0},
         MODEL_NAMES_UTF8,
         NULL},
        {{"replace", "a", "some-([^-]+)-([^,]+)", "-${3}", "${1}", NULL, 0},
         MODEL_NAMES_UTF8,
         NULL},
        {{"replace", "a", "some-([^-]+)-([^,]+)", "-${3}", "${1}", NULL, 0},
         MODEL_NAMES_LEGACY,
         "\"-${3}\" is invalid 'target_label' for replace action"},
        {{"replace", "a", NULL, "1x", NULL, NULL, 0},
         MODEL_NAMES_LEGACY,
         "\"1x\" is invalid 'target_label' for replace action"},
        {{"replace", "a", NULL, "1x", NULL, NULL, 0}, MODEL_NAMES_UTF8, NULL},
        {{"labelmap", NULL, "__meta_kubernetes_pod_label_(strimzi_io_.+)", NULL, "$1", NULL, 0},
         MODEL_NAMES_LEGACY,
         NULL},
        {{"labelmap", NULL, "__meta_(.+)", NULL, "${1}", NULL, 0}, MODEL_NAMES_LEGACY, NULL},
        {{"labelmap", NULL, "__meta_(.+)", NULL, "a-$1", NULL, 0},
         MODEL_NAMES_LEGACY,
         "\"a-$1\" is invalid 'replacement' for labelmap action"},
        {{"hashmod", "a", NULL, "t", NULL, NULL, 0},
         MODEL_NAMES_UTF8,
         "relabel configuration for hashmod requires non-zero modulus"},
        {{"hashmod", "a", NULL, NULL, NULL, NULL, 8},
         MODEL_NAMES_UTF8,
         "relabel configuration for hashmod action requires 'target_label' value"},
        {{"hashmod", "a", NULL, "${1}", NULL, NULL, 8},
         MODEL_NAMES_LEGACY,
         "\"${1}\" is invalid 'target_label' for hashmod action"},
        {{"uppercase", "a", NULL, "t", "x", NULL, 0},
         MODEL_NAMES_UTF8,
         "'replacement' can not be set for uppercase action"},
        {{"keepequal", "a", NULL, NULL, NULL, NULL, 0},
         MODEL_NAMES_UTF8,
         "relabel configuration for keepequal action requires 'target_label' value"},
        {{"dropequal", "a", "(.*)", "t", NULL, NULL, 0},
         MODEL_NAMES_UTF8,
         "dropequal action requires only 'source_labels' and `target_label`, and no other fields"},
        {{"keepequal", "a", NULL, "t", NULL, ",", 0},
         MODEL_NAMES_UTF8,
         "keepequal action requires only 'source_labels' and `target_label`, and no other fields"},
        {{"keepequal", "a", NULL, "t", NULL, NULL, 3},
         MODEL_NAMES_UTF8,
         "keepequal action requires only 'source_labels' and `target_label`, and no other fields"},
        {{"labelkeep", "a", "x", NULL, NULL, NULL, 0},
         MODEL_NAMES_UTF8,
         "labelkeep action requires only 'regex', and no other fields"},
        {{"labeldrop", NULL, "x", "t", NULL, NULL, 0},
         MODEL_NAMES_UTF8,
         "labeldrop action requires only 'regex', and no other fields"},
        {{"labeldrop", NULL, "x", NULL, "y", NULL, 0},
         MODEL_NAMES_UTF8,
         "labeldrop action requires only 'regex', and no other fields"},
        {{"labeldrop", NULL, "x", NULL, NULL, "", 0},
         MODEL_NAMES_UTF8,
         "labeldrop action requires only 'regex', and no other fields"},
        {{"labelkeep", NULL, "x", NULL, NULL, NULL, 2},
         MODEL_NAMES_UTF8,
         "labelkeep action requires only 'regex', and no other fields"},
        {{"labeldrop", NULL, "x", NULL, NULL, NULL, 0}, MODEL_NAMES_UTF8, NULL},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        model_relabel_cfg c;
        build_rule(&c, &cases[i].r);
        core_err err = {{0}};
        int rc = model_relabel_validate(&c, cases[i].scheme, &err);
        const char *want = cases[i].want;
        if (want == NULL ? rc != 0 : (rc == 0 || strcmp(err.msg, want) != 0)) {
            printf("case %zu: want %s, got rc %d %s\n", i, want ? want : "valid", rc, err.msg);
            bad++;
        }
        model_relabel_cfg_destroy(&c);
    }
    /* An empty action (`action:` given as null) is refused first. */
    model_relabel_cfg c;
    model_relabel_cfg_init(&c);
    c.action = MODEL_RELABEL_NONE;
    core_err err;
    assert_int_equal(model_relabel_validate(&c, MODEL_NAMES_UTF8, &err), -1);
    assert_string_equal(err.msg, "relabel action cannot be empty");
    model_relabel_cfg_destroy(&c);
    assert_int_equal(bad, 0);
}

/* Upstream's TestTargetLabelLegacyValidity, through replace rules under the
 * legacy scheme. */
static void test_legacy_target_with_vars(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool valid;
    } cases[] = {
        {"-label", false},
        {"label", true},
        {"label${1}", true},
        {"${1}label", true},
        {"${1}", true},
        {"${", false},
        {"$", false},
        {"${}", false},
        {"foo${", false},
        {"$1", true},
        {"asd$2asd", true},
        {"-foo${1}bar-", false},
        {"bar.foo${1}bar", false},
        {"_${1}_", true},
        {"foo${bar}foo", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        model_relabel_cfg c;
        model_relabel_cfg_init(&c);
        model_relabel_cfg_set_target_label(&c, cases[i].s);
        core_err err;
        int rc = model_relabel_validate(&c, MODEL_NAMES_LEGACY, &err);
        if ((rc == 0) != cases[i].valid) printf("%s: rc %d\n", cases[i].s, rc);
        assert_int_equal(rc == 0, cases[i].valid);
        model_relabel_cfg_destroy(&c);
    }
}

static void test_actions(void **state)
{
    (void)state;
    static const char *const names[] = {"replace",   "keep",      "drop",     "keepequal",
                                        "dropequal", "hashmod",   "labelmap", "labeldrop",
                                        "labelkeep", "lowercase", "uppercase"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        model_relabel_action a;
        core_err err;
        assert_int_equal(model_relabel_action_parse(names[i], &a, &err), 0);
        assert_string_equal(model_relabel_action_name(a), names[i]);
    }
    model_relabel_action a;
    core_err err;
    assert_int_equal(model_relabel_action_parse("Replace", &a, &err), 0);
    assert_int_equal(a, MODEL_RELABEL_REPLACE);
    assert_int_equal(model_relabel_action_parse("copy", &a, &err), -1);
    assert_string_equal(err.msg, "unknown relabel action \"copy\"");
    assert_int_equal(model_relabel_action_parse("", &a, &err), -1);
    assert_string_equal(err.msg, "unknown relabel action \"\"");
}

static void test_defaults(void **state)
{
    (void)state;
    model_relabel_cfg c;
    model_relabel_cfg_init(&c);
    assert_string_equal(c.separator, ";");
    assert_string_equal(model_regex_pattern(c.regex), "(.*)");
    assert_false(c.regex_set);
    assert_string_equal(c.replacement, "$1");
    assert_string_equal(c.target_label, "");
    assert_int_equal(c.action, MODEL_RELABEL_REPLACE);
    assert_int_equal(c.modulus, 0);
    assert_false(c.source_labels_set);
    model_relabel_cfg_destroy(&c);
}

/* The builder form: no rule, same set; the arena holds new strings. */
static void test_builder(void **state)
{
    (void)state;
    static const char *const kv[] = {"__address__", "h:1", "__meta_x", "y", NULL};
    core_labels *in = labels_of(kv);
    model_relabel_cfg rules[2];
    build_rule(&rules[0], &(rule){"labelmap", NULL, "__meta_(.*)", NULL, "m_$1", NULL, 0});
    build_rule(&rules[1], &(rule){"labeldrop", NULL, "__meta_.*", NULL, NULL, NULL, 0});
    core_err err;
    assert_int_equal(model_relabel_validate(&rules[0], MODEL_NAMES_UTF8, &err), 0);
    assert_int_equal(model_relabel_validate(&rules[1], MODEL_NAMES_UTF8, &err), 0);
    core_arena arena;
    core_arena_init(&arena, 0);
    core_labels_builder b;
    core_labels_builder_init(&b, in);
    assert_true(model_relabel_process(rules, 2, &b, &arena));
    core_labels *out = core_labels_builder_labels(&b, &arena);
    core_sb s = CORE_SB_INIT;
    core_labels_format(out, &s);
    assert_string_equal(s.buf, "{__address__=\"h:1\", m_x=\"y\"}");
    core_sb_destroy(&s);
    /* Reused for a second set. */
    core_arena_reset(&arena);
    core_labels_builder_reset(&b, in);
    assert_true(model_relabel_process(rules, 0, &b, &arena));
    out = core_labels_builder_labels(&b, &arena);
    assert_true(core_labels_equal(out, in));
    core_labels_builder_destroy(&b);
    core_arena_destroy(&arena);
    model_relabel_cfg_destroy(&rules[0]);
    model_relabel_cfg_destroy(&rules[1]);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstream_cases),
        cmocka_unit_test(test_doc_cases),
        cmocka_unit_test(test_legacy_cases),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_legacy_target_with_vars),
        cmocka_unit_test(test_actions),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_builder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
