/*
 * test_template_exec.c - executing templates: the alert data and its
 * variables ($labels, $value, $externalLabels, $externalURL and the .Labels
 * forms), missing labels (missingkey=zero), fields and their errors, range
 * over lists, maps and ints with break/continue/else, the builtins (and, or,
 * not, eq ... ge, len, index, print, println, html, js, urlquery), argument
 * counts and types, execution error positions (the column counts the four
 * definitions upstream puts in front), and an error becoming the alert's text.
 */
#include "unit/unit.h"

#include "tmpl_helpers.h"

/* ---- Alert templates */

static char *alert(const char *text, double value, core_err *e)
{
    core_label ls[] = {
        {"__name__", "http_request_duration_seconds"}, {"instance", "web-1:8000"}, {"job", "app"}};
    core_label ext[] = {{"monitor", "example-monitor"}};
    core_labels *l = core_labels_new(ls, 3), *x = core_labels_new(ext, 1);
    rules_alert_data d = {
        .labels = l, .external_labels = x, .external_url = "http://prom:9090", .value = value};
    rules_tmpl *t = rules_tmpl_new_alert("HighRequestLatency", text, e);
    char *res = NULL;
    if (t) {
        core_sb out = CORE_SB_INIT;
        if (rules_tmpl_expand_alert(t, &d, NULL, &out, e) == 0)
            res = core_sb_detach(&out, NULL);
        else
            core_sb_destroy(&out);
        rules_tmpl_free(t);
    }
    free(l);
    free(x);
    return res;
}

#define assert_alert(text, value, want)                \
    do {                                               \
        core_err e_ = {{0}};                           \
        char *got_ = alert((text), (value), &e_);      \
        if (!got_) fail_msg("%s: %s", (text), e_.msg); \
        assert_string_equal(got_, (want));             \
        free(got_);                                    \
    } while (0)

static void alert_data(void **state)
{
    (void)state;
    /* the seed document's annotations */
    assert_alert("High request latency on {{ $labels.instance }}", 1.5,
                 "High request latency on web-1:8000");
    assert_alert("Request latency is above 1s (current value: {{ $value }}s)", 1.5,
                 "Request latency is above 1s (current value: 1.5s)");
    assert_alert("{{ .Labels.job }}/{{ .Value }}/{{ .ExternalURL }}/{{ .ExternalLabels.monitor }}",
                 2, "app/2/http://prom:9090/example-monitor");
    assert_alert("{{ $externalLabels.monitor }} {{ $externalURL }}", 0,
                 "example-monitor http://prom:9090");
    assert_alert("{{ $labels.__name__ }}", 0, "http_request_duration_seconds");
    assert_alert("[{{ $labels.missing }}]", 0, "[]");
    assert_alert("{{ $value }}", 1234567, "1.234567e+06");
    assert_alert("{{ $value }}", 0.1, "0.1");
    assert_alert("{{ $value | printf \"%.2f\" }}", 1.5, "1.50");
    assert_alert("{{ humanize $value }}", 1234567, "1.235M");
    assert_alert("{{ if gt $value 1.0 }}high{{ else }}low{{ end }}", 1.5, "high");
    assert_alert("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}", 0,
                 "__name__=http_request_duration_seconds;instance=web-1:8000;job=app;");
    assert_alert("{{ $labels }}", 0,
                 "map[__name__:http_request_duration_seconds instance:web-1:8000 job:app]");
    assert_alert("{{ len $labels }}", 0, "3");
    assert_alert("{{ index $labels \"job\" }}", 0, "app");
    assert_alert("{{ $labels.instance | reReplaceAll \":.*\" \"\" }}", 0, "web-1");
    assert_alert("{{ with $labels.instance }}{{ . }}{{ end }}", 0, "web-1:8000");
}

static void alert_errors(void **state)
{
    (void)state;
    core_err e = {{0}};
    /* the column counts the 112 characters of the definitions in front */
    char *s = alert("{{ humanize \"x\" }}", 0, &e);
    assert_null(s);
    assert_string_equal(e.msg, "error executing template __alert_HighRequestLatency: template: "
                               "__alert_HighRequestLatency:1:115: executing "
                               "\"__alert_HighRequestLatency\" at <humanize \"x\">: error "
                               "calling humanize: strconv.ParseFloat: parsing \"x\": invalid "
                               "syntax");
    s = alert("{{ if gt $value 1 }}x{{ end }}", 1.5, &e);
    assert_null(s);
    assert_string_equal(e.msg, "error executing template __alert_HighRequestLatency: template: "
                               "__alert_HighRequestLatency:1:118: executing "
                               "\"__alert_HighRequestLatency\" at <gt $value 1>: error calling "
                               "gt: incompatible types for comparison");
    s = alert("{{ .Nope }}", 0, &e);
    assert_null(s);
    assert_string_equal(e.msg, "error executing template __alert_HighRequestLatency: template: "
                               "__alert_HighRequestLatency:1:115: executing "
                               "\"__alert_HighRequestLatency\" at <.Nope>: can't evaluate field "
                               "Nope in type struct { Labels map[string]string; ExternalLabels "
                               "map[string]string; ExternalURL string; Value interface {} }");
    s = alert("{{ $labels.job.x }}", 0, &e);
    assert_null(s);
    assert_string_equal(e.msg, "error executing template __alert_HighRequestLatency: template: "
                               "__alert_HighRequestLatency:1:122: executing "
                               "\"__alert_HighRequestLatency\" at <$labels.job.x>: can't "
                               "evaluate field x in type string");
    s = alert("{{ .Value.x }}", 0, &e);
    assert_null(s);
    assert_string_equal(e.msg, "error executing template __alert_HighRequestLatency: template: "
                               "__alert_HighRequestLatency:1:121: executing "
                               "\"__alert_HighRequestLatency\" at <.Value.x>: can't evaluate "
                               "field x in type interface {}");
    s = alert("{{ $value.x }}", 0, &e);
    assert_null(s);
    assert_non_null(strstr(e.msg, "can't evaluate field x in type float64"));
    /* the error becomes the annotation, as upstream */
    core_label ls[] = {{"instance", "a"}};
    core_labels *l = core_labels_new(ls, 1);
    rules_tmpl *t = rules_tmpl_new_alert("A", "v={{ humanize \"x\" }}", &e);
    assert_non_null(t);
    core_sb out = CORE_SB_INIT;
    rules_alert_data d = {.labels = l, .value = 1};
    uint64_t n0, f0, n1, f1;
    rules_tmpl_counters(&n0, &f0);
    rules_tmpl_expand_or_error(t, &d, NULL, &out);
    rules_tmpl_counters(&n1, &f1);
    assert_string_equal(out.buf, "<error expanding template: error executing template __alert_A: "
                                 "template: __alert_A:1:117: executing \"__alert_A\" at "
                                 "<humanize \"x\">: error calling humanize: strconv.ParseFloat: "
                                 "parsing \"x\": invalid syntax>");
    assert_int_equal(n1 - n0, 1);
    assert_int_equal(f1 - f0, 1);
    core_sb_destroy(&out);
    rules_tmpl_free(t);
    free(l);
}

/* ---- Generic execution */

static void fields(void **state)
{
    (void)state;
    core_label ls[] = {{"a", "1"}, {"b", "2"}};
    core_labels *l = core_labels_new(ls, 2);
    tmpl_val m = {.k = TV_STRMAP, .u.map = l};
    assert_expands("{{ .a }}{{ .b }}[{{ .c }}]", &m, "12[]");
    assert_expands("{{ $.a }}", &m, "1");
    assert_expands("{{ . }}", &m, "map[a:1 b:2]");
    assert_fails("{{ .a 1 }}", &m,
                 "error executing template test: template: test:1:3: executing \"test\" at <.a>: "
                 "a is not a method but has arguments");
    assert_fails("{{ .a.b }}", &m,
                 "error executing template test: template: test:1:5: executing \"test\" at "
                 "<.a.b>: can't evaluate field b in type string");
    assert_expands("{{ .x }}", NULL, "<no value>");
    assert_expands("{{ .x.y }}", NULL, "<no value>");
    tmpl_val f = tv_float(2);
    assert_fails("{{ .x }}", &f,
                 "error executing template test: template: test:1:3: executing \"test\" at <.x>: "
                 "can't evaluate field x in type float64");
    free(l);
}

static void commands(void **state)
{
    (void)state;
    assert_fails("{{ nil }}", NULL,
                 "error executing template test: template: test:1:3: executing \"test\" at "
                 "<nil>: nil is not a command");
    assert_fails("{{ 1 2 }}", NULL,
                 "error executing template test: template: test:1:3: executing \"test\" at <1>: "
                 "can't give argument to non-function 1");
    assert_fails("{{ printf }}", NULL,
                 "error executing template test: template: test:1:3: executing \"test\" at "
                 "<printf>: wrong number of args for printf: want at least 1 got 0");
    assert_fails("{{ not }}", NULL,
                 "error executing template test: template: test:1:3: executing \"test\" at "
                 "<not>: wrong number of args for not: want 1 got 0");
    assert_fails("{{ 1 | not 2 }}", NULL,
                 "error executing template test: template: test:1:7: executing \"test\" at "
                 "<not>: wrong number of args for not: want 1 got 2");
    assert_fails("{{ printf 1 }}", NULL,
                 "error executing template test: template: test:1:10: executing \"test\" at "
                 "<1>: expected string; found 1");
    assert_fails("{{ template \"nope\" }}", NULL,
                 "error executing template test: template: test:1:12: executing \"test\" at "
                 "<{{template \"nope\"}}>: template \"nope\" not defined");
    assert_fails("{{ define \"t\" }}{{ humanize \"z\" }}{{ end }}\n{{ template \"t\" }}", NULL,
                 "error executing template test: template: test:1:19: executing \"t\" at "
                 "<humanize \"z\">: error calling humanize: strconv.ParseFloat: parsing \"z\": "
                 "invalid syntax");
    assert_fails("{{ define \"r\" }}{{ template \"r\" }}{{ end }}{{ template \"r\" }}", NULL,
                 "error executing template test: template: test:1:28: executing \"r\" at "
                 "<{{template \"r\"}}>: exceeded maximum template depth (1000)");
    assert_fails("{{ range 1.5 }}{{ end }}", NULL,
                 "error executing template test: template: test:1:9: executing \"test\" at "
                 "<1.5>: range can't iterate over 1.5");
    /* multi-line positions */
    assert_fails("a\nbc {{ humanize \"q\" }}", NULL,
                 "error executing template test: template: test:2:6: executing \"test\" at "
                 "<humanize \"q\">: error calling humanize: strconv.ParseFloat: parsing \"q\": "
                 "invalid syntax");
}

static void ranges(void **state)
{
    (void)state;
    tmpl_val s[] = {tv_str("a"), tv_str("b")};
    tmpl_val l = tv_list(s, 2, "[]string");
    assert_expands("{{ range $i, $e := . }}{{$i}}={{$e}} {{end}}", &l, "0=a 1=b ");
    assert_expands("{{ range . }}{{ . }}{{ end }}", &l, "ab");
    assert_expands("{{ $i := 0 }}{{ $e := 0 }}{{ range $i, $e = . }}{{ end }}{{ $i }}{{ $e }}", &l,
                   "1b");
    tmpl_val ints[] = {tv_int(1), tv_int(2), tv_int(3)};
    tmpl_val li = tv_list(ints, 3, "[]int");
    assert_expands("{{ range . }}{{ if eq . 2 }}{{ break }}{{ end }}{{ . }}{{ end }}", &li, "1");
    assert_expands("{{ range . }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ . }}{{ end }}", &li,
                   "13");
    tmpl_val empty = tv_list(NULL, 0, "[]int");
    assert_expands("{{ range . }}x{{ else }}empty{{ end }}", &empty, "empty");
    assert_expands("{{ range .nope }}x{{ else }}nil{{ end }}", NULL, "nil");
    core_label ls[] = {{"z", "26"}, {"a", "1"}};
    core_labels *m = core_labels_new(ls, 2);
    tmpl_val mv = {.k = TV_STRMAP, .u.map = m};
    assert_expands("{{ range $k, $v := . }}{{$k}}:{{$v}};{{end}}", &mv, "a:1;z:26;");
    free(m);
}

static void logic(void **state)
{
    (void)state;
    assert_expands("{{ and 1 0 2 }}|{{ and 1 2 }}|{{ or 0 \"\" \"x\" }}|{{ or 0 \"\" }}|", NULL,
                   "0|2|x||");
    assert_expands("{{ and false (humanize \"x\") }} {{ or true (humanize \"x\") }}", NULL,
                   "false true");
    assert_expands("{{ not 0 }} {{ not \"a\" }} {{ 1 | and 2 }}", NULL, "true false 1");
    assert_expands("{{ eq 1 1 }} {{ eq \"a\" \"b\" \"a\" }} {{ ne 1 2 }} {{ eq 1.5 1.5 }}", NULL,
                   "true true true true");
    assert_expands("{{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1.0 2.0 }}", NULL,
                   "true true true false");
    assert_expands("{{ eq .missing \"\" }}", NULL, "false");
    assert_fails("{{ eq 1 1.0 }}", NULL,
                 "error executing template test: template: test:1:3: executing \"test\" at <eq 1 "
                 "1.0>: error calling eq: incompatible types for comparison");
    assert_fails("{{ lt true false }}", NULL,
                 "error executing template test: template: test:1:3: executing \"test\" at <lt "
                 "true false>: error calling lt: invalid type for comparison");
    assert_fails("{{ eq 1 }}", NULL,
                 "error executing template test: template: test:1:3: executing \"test\" at <eq "
                 "1>: error calling eq: missing argument for comparison");
}

static void builtins(void **state)
{
    (void)state;
    assert_expands("{{ len \"abc\" }} {{ index \"abc\" 1 }}", NULL, "3 98");
    tmpl_val s[] = {tv_str("a"), tv_str("b")};
    tmpl_val l = tv_list(s, 2, "[]string");
    assert_expands("{{ index . 1 }}", &l, "b");
    assert_fails("{{ index . 5 }}", &l,
                 "error executing template test: template: test:1:3: executing \"test\" at "
                 "<index . 5>: error calling index: index out of range: 5");
    assert_fails("{{ index . \"x\" }}", &l,
                 "error executing template test: template: test:1:3: executing \"test\" at "
                 "<index . \"x\">: error calling index: cannot index slice/array with type "
                 "string");
    assert_fails("{{ len 3 }}", NULL,
                 "error executing template test: template: test:1:3: executing \"test\" at <len "
                 "3>: error calling len: len of type int");
    assert_expands("{{ print 1 2 \"a\" 3 \"b\" \"c\" }}", NULL, "1 2a3bc");
    assert_expands("{{ println 1 \"a\" }}", NULL, "1 a\n");
    assert_expands("{{ print }}|{{ print nil }}", NULL, "|<nil>");
    assert_expands("{{ html \"<a href=\\\"x\\\">'&'\" }}", NULL,
                   "&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;");
    assert_expands("{{ js \"it's <b> & \\\"q\\\" =\" }}", NULL,
                   "it\\'s \\u003Cb\\u003E \\u0026 \\\"q\\\" \\u003D");
    assert_expands("{{ urlquery \"a b&c/d\" }}", NULL, "a+b%26c%2Fd");
    assert_expands("{{ html 1 2 }}", NULL, "1 2");
    assert_expands("{{ \"x\" | printf \"%s-%s\" \"y\" }}", NULL, "y-x");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alert_data), cmocka_unit_test(alert_errors), cmocka_unit_test(fields),
        cmocka_unit_test(commands),   cmocka_unit_test(ranges),       cmocka_unit_test(logic),
        cmocka_unit_test(builtins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
