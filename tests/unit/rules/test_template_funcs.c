/*
 * test_template_funcs.c - Prometheus's template functions: the humanize
 * family on floats, strings, ints and special values, timestamps and toTime,
 * durations, query/first/label/value/strvalue/sortByLabel through a query
 * function, args with define/template, reReplaceAll and match (searching,
 * leftmost-first, anchors, errors), title/toUpper/toLower, links, stripPort,
 * stripDomain, pathPrefix/externalURL, parseDuration, safeHtml and tmpl in
 * HTML mode, and the argument type errors upstream gives.
 */
#include "unit/unit.h"

#include "tmpl_helpers.h"

#include <math.h>

static void humanize(void **state)
{
    (void)state;
    tmpl_val fl[] = {tv_float(0), tv_float(1), tv_float(1234567), tv_float(.12)};
    tmpl_val l = tv_list(fl, 4, "[]float64");
    assert_expands("{{ range . }}{{ humanize . }}:{{ end }}", &l, "0:1:1.235M:120m:");
    tmpl_val st[] = {tv_str("0.0"), tv_str("1.0"), tv_str("1234567.0"), tv_str(".12")};
    tmpl_val ls = tv_list(st, 4, "[]string");
    assert_expands("{{ range . }}{{ humanize . }}:{{ end }}", &ls, "0:1:1.235M:120m:");
    tmpl_val in[] = {{.k = TV_INT64, .u.i = 0},
                     {.k = TV_INT64, .u.i = -1},
                     {.k = TV_INT64, .u.i = 1},
                     {.k = TV_INT64, .u.i = 1234567},
                     {.k = TV_INT64, .u.i = INT64_MAX}};
    tmpl_val li = tv_list(in, 5, "[]int64");
    assert_expands("{{ range . }}{{ humanize . }}:{{ end }}", &li, "0:-1:1:1.235M:9.223E:");
    tmpl_val un[] = {{.k = TV_UINT64, .u.u = 0},
                     {.k = TV_UINT64, .u.u = 1},
                     {.k = TV_UINT64, .u.u = 1234567},
                     {.k = TV_UINT64, .u.u = UINT64_MAX}};
    tmpl_val lu = tv_list(un, 4, "[]uint64");
    assert_expands("{{ range . }}{{ humanize . }}:{{ end }}", &lu, "0:1:1.235M:18.45E:");
    assert_expands("{{ humanize 0.000001234 }}", NULL, "1.234u");
    assert_expands("{{ humanize -1234.5 }}", NULL, "-1.234k");
    assert_expands("{{ humanize 1e30 }}", NULL, "1e+06Y");
    assert_fails("{{ humanize \"one\" }}", NULL,
                 "error executing template test: template: test:1:3: executing \"test\" at "
                 "<humanize \"one\">: error calling humanize: strconv.ParseFloat: parsing "
                 "\"one\": invalid syntax");
    assert_fails("{{ humanize true }}", NULL,
                 "error executing template test: template: test:1:3: executing \"test\" at "
                 "<humanize true>: error calling humanize: can't convert bool to float");
}

static void humanize1024(void **state)
{
    (void)state;
    tmpl_val fl[] = {tv_float(0), tv_float(1), tv_float(1048576), tv_float(.12)};
    tmpl_val l = tv_list(fl, 4, "[]float64");
    assert_expands("{{ range . }}{{ humanize1024 . }}:{{ end }}", &l, "0:1:1Mi:0.12:");
    tmpl_val in[] = {{.k = TV_INT64, .u.i = 0},
                     {.k = TV_INT64, .u.i = -1},
                     {.k = TV_INT64, .u.i = 1},
                     {.k = TV_INT64, .u.i = 1234567},
                     {.k = TV_INT64, .u.i = INT64_MAX}};
    tmpl_val li = tv_list(in, 5, "[]int64");
    assert_expands("{{ range . }}{{ humanize1024 . }}:{{ end }}", &li, "0:-1:1:1.177Mi:8Ei:");
    tmpl_val un[] = {{.k = TV_UINT64, .u.u = UINT64_MAX}};
    tmpl_val lu = tv_list(un, 1, "[]uint64");
    assert_expands("{{ range . }}{{ humanize1024 . }}{{ end }}", &lu, "16Ei");
    assert_fails("{{ humanize1024 \"one\" }}", NULL,
                 "error executing template test: template: test:1:3: executing \"test\" at "
                 "<humanize1024 \"one\">: error calling humanize1024: strconv.ParseFloat: "
                 "parsing \"one\": invalid syntax");
}

static void humanize_duration(void **state)
{
    (void)state;
    tmpl_val fl[] = {tv_float(0),
                     tv_float(1),
                     tv_float(60),
                     tv_float(3600),
                     tv_float(86400),
                     tv_float(86400 + 3600),
                     tv_float(-(86400 * 2 + 3600 * 3 + 60 * 4 + 5)),
                     tv_float(899.99)};
    tmpl_val l = tv_list(fl, 8, "[]float64");
    assert_expands("{{ range . }}{{ humanizeDuration . }}:{{ end }}", &l,
                   "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:");
    tmpl_val sm[] = {tv_float(.1),   tv_float(.0001),  tv_float(.12345), tv_float(60.1),
                     tv_float(60.5), tv_float(1.2345), tv_float(12.345)};
    tmpl_val ls = tv_list(sm, 7, "[]float64");
    assert_expands("{{ range . }}{{ humanizeDuration . }}:{{ end }}", &ls,
                   "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:");
    tmpl_val st[] = {tv_str(".1"), tv_str("60.5"), tv_str("86400")};
    tmpl_val lt = tv_list(st, 3, "[]string");
    assert_expands("{{ range . }}{{ humanizeDuration . }}:{{ end }}", &lt,
                   "100ms:1m 0s:1d 0h 0m 0s:");
    tmpl_val in[] = {tv_int(0), tv_int(-1), tv_int(1), tv_int(1234567)};
    tmpl_val li = tv_list(in, 4, "[]int");
    assert_expands("{{ range . }}{{ humanizeDuration . }}:{{ end }}", &li,
                   "0s:-1s:1s:14d 6h 56m 7s:");
    assert_fails("{{ humanizeDuration \"one\" }}", NULL,
                 "error executing template test: template: test:1:3: executing \"test\" at "
                 "<humanizeDuration \"one\">: error calling humanizeDuration: "
                 "strconv.ParseFloat: parsing \"one\": invalid syntax");
}

static void special_values(void **state)
{
    (void)state;
    tmpl_val fl[] = {tv_float(INFINITY), tv_float(-INFINITY), tv_float(NAN)};
    tmpl_val l = tv_list(fl, 3, "[]float64");
    const char *t = "{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . "
                    "}}:{{humanizeTimestamp .}}:{{ end }}";
    assert_expands(t, &l, "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:");
    tmpl_val st[] = {tv_str("+Inf"), tv_str("-Inf"), tv_str("NaN")};
    tmpl_val ls = tv_list(st, 3, "[]string");
    assert_expands(t, &ls, "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:");
}

static void humanize_percentage(void **state)
{
    (void)state;
    assert_expands("{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ "
                   "0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}",
                   NULL, "-22.22%:0%:12.35%:123.5%");
    tmpl_val in[] = {{.k = TV_INT64, .u.i = 0},
                     {.k = TV_INT64, .u.i = -1},
                     {.k = TV_INT64, .u.i = 1},
                     {.k = TV_INT64, .u.i = 1234567},
                     {.k = TV_INT64, .u.i = INT64_MAX}};
    tmpl_val li = tv_list(in, 5, "[]int64");
    assert_expands("{{ range . }}{{ humanizePercentage . }}:{{ end }}", &li,
                   "0%:-100%:100%:1.235e+08%:9.223e+20%:");
    assert_expands("{{ \"0.1234567\" | humanizePercentage }}", NULL, "12.35%");
    assert_fails("{{ \"one\" | humanizePercentage }}", NULL,
                 "error executing template test: template: test:1:11: executing \"test\" at "
                 "<humanizePercentage>: error calling humanizePercentage: strconv.ParseFloat: "
                 "parsing \"one\": invalid syntax");
}

static void humanize_timestamp(void **state)
{
    (void)state;
    tmpl_val in[] = {{.k = TV_INT64, .u.i = 0},
                     {.k = TV_INT64, .u.i = -1},
                     {.k = TV_INT64, .u.i = 1},
                     {.k = TV_INT64, .u.i = 1234567},
                     {.k = TV_INT64, .u.i = 9223372036}};
    tmpl_val li = tv_list(in, 5, "[]int64");
    assert_expands("{{ range . }}{{ humanizeTimestamp . }}:{{ end }}", &li,
                   "1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-01 "
                   "00:00:01 +0000 UTC:1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 "
                   "UTC:");
    assert_expands("{{ 1435065584.128 | humanizeTimestamp }}", NULL,
                   "2015-06-23 13:19:44.128 +0000 UTC");
    assert_expands("{{ \"1435065584.128\" | humanizeTimestamp }}", NULL,
                   "2015-06-23 13:19:44.128 +0000 UTC");
    tmpl_val big[] = {{.k = TV_INT64, .u.i = INT64_MIN}, {.k = TV_INT64, .u.i = INT64_MAX}};
    tmpl_val lb = tv_list(big, 2, "[]int64");
    assert_fails("{{ range . }}{{ humanizeTimestamp . }}:{{ end }}", &lb,
                 "error executing template test: template: test:1:16: executing \"test\" at "
                 "<humanizeTimestamp .>: error calling humanizeTimestamp: "
                 "-9.223372036854776e+18 cannot be represented as a nanoseconds timestamp "
                 "since it overflows int64");
    tmpl_val ub[] = {{.k = TV_UINT64, .u.u = UINT64_MAX}};
    tmpl_val lu = tv_list(ub, 1, "[]uint64");
    assert_fails("{{ range . }}{{ humanizeTimestamp . }}:{{ end }}", &lu,
                 "error executing template test: template: test:1:16: executing \"test\" at "
                 "<humanizeTimestamp .>: error calling humanizeTimestamp: "
                 "1.8446744073709552e+19 cannot be represented as a nanoseconds timestamp "
                 "since it overflows int64");
}

static void times(void **state)
{
    (void)state;
    assert_expands("{{ (1435065584.128 | toTime).Format \"2006\" }}", NULL, "2015");
    assert_expands("{{ (\"1435065584.128\" | toTime).Format \"2006\" }}", NULL, "2015");
    assert_expands("{{ 1435065584.128 | toTime }}", NULL, "2015-06-23 13:19:44.128 +0000 UTC");
    assert_expands("{{ (1800 | toDuration).String }}", NULL, "30m0s");
    assert_expands("{{ (\"1800\" | toDuration).String }}", NULL, "30m0s");
    assert_expands("{{ 90 | toDuration }}", NULL, "1m30s");
    rules_tmpl_opts o = {.time_ms = 1353755652000};
    core_err e = {{0}};
    char *s = expand_opts("{{ now }}", NULL, &o, false, &e);
    assert_string_equal(s, "1.353755652e+09");
    free(s);
    s = expand_opts("{{ (now | toTime).Format \"Mon Jan 2 15:04:05 2006\" }}", NULL, &o, false, &e);
    assert_string_equal(s, "Sat Nov 24 11:14:12 2012");
    free(s);
    s = expand_opts("{{ (\"-30m\" | parseDuration | toDuration | (now | toTime).Add).UnixMilli }}",
                    NULL, &o, false, &e);
    assert_non_null(s);
    assert_string_equal(s, "1353753852000");
    free(s);
    assert_fails("{{ toTime \"NaN\" }}", NULL,
                 "error executing template test: template: test:1:3: executing \"test\" at "
                 "<toTime \"NaN\">: error calling toTime: value is NaN or Inf");
}

static void parse_duration(void **state)
{
    (void)state;
    assert_expands("{{ printf \"%0.2f\" (parseDuration \"1h2m10ms\") }}", NULL, "3720.01");
    assert_expands("{{ printf \"%0.2f\" (parseDuration \"-1h2m10ms\") }}", NULL, "-3720.01");
    assert_expands("{{ parseDuration \"90s\" }}", NULL, "90");
    assert_fails("{{ parseDuration \"1x\" }}", NULL,
                 "error executing template test: template: test:1:3: executing \"test\" at "
                 "<parseDuration \"1x\">: error calling parseDuration: unknown unit \"x\" "
                 "in duration \"1x\"");
}

/* ---- query */

static int fake_query(void *ctx, const char *q, int64_t t, core_arena *arena,
                      rules_tmpl_sample **out, size_t *n, core_err *err)
{
    int64_t *seen = ctx;
    *seen = t;
    if (strcmp(q, "missing") == 0) {
        *n = 0;
        *out = NULL;
        return 0;
    }
    if (strcmp(q, "bad(") == 0)
        return core_err_set(err, "1:5: parse error: unclosed left parenthesis");
    if (strcmp(q, "1.5") == 0) {
        *out = core_arena_calloc(arena, 1, sizeof **out);
        (*out)[0].labels = core_labels_new_in(arena, NULL, 0);
        (*out)[0].value = 1.5;
        *n = 1;
        return 0;
    }
    /* metric: instance b then a */
    *out = core_arena_calloc(arena, 2, sizeof **out);
    core_label b[] = {{"__name__", "metric"}, {"instance", "b"}};
    core_label a[] = {{"__name__", "metric"}, {"instance", "a"}, {"__value__", "x"}};
    (*out)[0].labels = core_labels_new_in(arena, b, 2);
    (*out)[0].value = 21;
    (*out)[1].labels = core_labels_new_in(arena, a, 3);
    (*out)[1].value = 11;
    *n = 2;
    return 0;
}

static char *qexpand(const char *text, core_err *e, int64_t *seen)
{
    rules_tmpl_opts o = {.time_ms = 5000, .query = fake_query, .query_ctx = seen};
    return expand_opts(text, NULL, &o, false, e);
}

static void query(void **state)
{
    (void)state;
    int64_t seen = 0;
    core_err e = {{0}};
    char *s = qexpand("{{ query \"1.5\" | first | value }}", &e, &seen);
    assert_string_equal(s, "1.5");
    assert_int_equal(seen, 5000);
    free(s);
    s = qexpand("{{ range query \"metric\" | sortByLabel \"instance\" "
                "}}{{.Labels.instance}}:{{.Value}}: {{end}}",
                &e, &seen);
    assert_string_equal(s, "a:11: b:21: ");
    free(s);
    s = qexpand("{{ query \"metric\" | first | label \"instance\" }}", &e, &seen);
    assert_string_equal(s, "b");
    free(s);
    s = qexpand("{{ query \"metric\" | first | label \"foo\" }}", &e, &seen);
    assert_string_equal(s, "");
    free(s);
    s = qexpand("{{ $x := query \"metric\" | first }}{{ $x.Labels.foo }}", &e, &seen);
    assert_string_equal(s, "");
    free(s);
    s = qexpand("{{ query \"metric\" | sortByLabel \"instance\" | first | strvalue }}", &e, &seen);
    assert_string_equal(s, "x");
    free(s);
    s = qexpand("{{ len (query \"metric\") }}", &e, &seen);
    assert_string_equal(s, "2");
    free(s);
    s = qexpand("{{ with query \"missing\" }}some{{ else }}none{{ end }}", &e, &seen);
    assert_string_equal(s, "none");
    free(s);
    s = qexpand("{{ query \"missing\" | first }}", &e, &seen);
    assert_null(s);
    assert_string_equal(e.msg, "error executing template test: template: test:1:21: executing "
                               "\"test\" at <first>: error calling first: first() called on "
                               "vector with no elements");
    s = qexpand("{{ (query \"missing\").banana }}", &e, &seen);
    assert_null(s);
    assert_string_equal(e.msg, "error executing template test: template: test:1:10: executing "
                               "\"test\" at <\"missing\">: can't evaluate field banana in type "
                               "template.queryResult");
    s = qexpand("{{ query \"bad(\" }}", &e, &seen);
    assert_null(s);
    assert_string_equal(e.msg, "error executing template test: template: test:1:3: executing "
                               "\"test\" at <query \"bad(\">: error calling query: 1:5: parse "
                               "error: unclosed left parenthesis");
    /* without a query function */
    assert_fails("{{ query \"up\" }}", NULL,
                 "error executing template test: template: test:1:3: executing \"test\" at "
                 "<query \"up\">: error calling query: no query engine");
    /* a string where a sample is wanted */
    assert_fails("{{ value \"x\" }}", NULL,
                 "error executing template test: template: test:1:9: executing \"test\" at "
                 "<\"x\">: can't handle \"x\" for arg of type *template.sample");
    assert_fails("{{ label \"x\" nil }}", NULL,
                 "error executing template test: template: test:1:3: executing \"test\" at "
                 "<label \"x\" nil>: error calling label: runtime error: invalid memory address "
                 "or nil pointer dereference");
}

static void args_and_templates(void **state)
{
    (void)state;
    assert_expands("{{define \"x\"}}{{.arg0}} {{.arg1}}{{end}}{{template \"x\" (args 1 \"2\")}}",
                   NULL, "1 2");
    assert_expands("{{ args 1 \"a\" 2.5 }}", NULL, "map[arg0:1 arg1:a arg2:2.5]");
    assert_expands("{{ (args).arg0 }}", NULL, "<no value>");
}

static void regexes(void **state)
{
    (void)state;
    assert_expands("{{ reReplaceAll \"(a)b\" \"x$1\" \"ab\" }}", NULL, "xa");
    assert_expands("{{ reReplaceAll \"a\" \"x\" \"banana\" }}", NULL, "bxnxnx");
    assert_expands("{{ reReplaceAll \"^a\" \"x\" \"aaa\" }}", NULL, "xaa");
    assert_expands("{{ reReplaceAll \"a*\" \"-\" \"baaac\" }}", NULL, "-b-c-");
    assert_expands("{{ reReplaceAll \"\\\\bfoo\" \"X\" \"foo afoo foo\" }}", NULL, "X afoo X");
    assert_expands("{{ reReplaceAll \"(?P<host>[^:]+):(\\\\d+)\" \"${host}\" \"web-1:9100\" }}",
                   NULL, "web-1");
    assert_expands("{{ reReplaceAll \"x\" \"y\" \"\" }}", NULL, "");
    assert_expands("{{ reReplaceAll \"\" \"-\" \"ab\" }}", NULL, "-a-b-");
    assert_expands("{{ reReplaceAll \"(?i)B\" \"_\" \"abBa\" }}", NULL, "a__a");
    assert_fails("{{ reReplaceAll \"(\" \"x\" \"y\" }}", NULL,
                 "error executing template test: template: test:1:3: executing \"test\" at "
                 "<reReplaceAll \"(\" \"x\" \"y\">: error calling reReplaceAll: regexp: "
                 "Compile(`(`): error parsing regexp: missing closing ): `(`");
    assert_expands("{{ match \"a+\" \"aa\" }} {{ match \"a+\" \"b\" }}", NULL, "true false");
    assert_expands("{{ match \"^b\" \"ab\" }} {{ match \"b$\" \"ab\" }}", NULL, "false true");
    assert_expands("{{ if match \"^web-\" \"web-1\" }}web{{ end }}", NULL, "web");
    assert_fails("{{ match \"(\" \"x\" }}", NULL,
                 "error executing template test: template: test:1:3: executing \"test\" at "
                 "<match \"(\" \"x\">: error calling match: error parsing regexp: missing "
                 "closing ): `(`");
}

static void strings(void **state)
{
    (void)state;
    assert_expands("{{ \"aa bb CC\" | title }}", NULL, "Aa Bb CC");
    assert_expands("{{ \"it's a foo-bar_baz\" | title }}", NULL, "It's A Foo-Bar_baz");
    assert_expands("{{ \"aa bb CC\" | toUpper }}", NULL, "AA BB CC");
    assert_expands("{{ \"aA bB CC\" | toLower }}", NULL, "aa bb cc");
    assert_expands("{{ \"éte Ωmega\" | toUpper }}", NULL, "ÉTE ΩMEGA");
    assert_expands("{{ \"ÉTÉ\" | toLower }}", NULL, "été");
    assert_expands("{{ graphLink \"up\" }}", NULL, "/graph?g0.expr=up&g0.tab=0");
    assert_expands("{{ tableLink \"rate(x[5m]) > 1\" }}", NULL,
                   "/graph?g0.expr=rate%28x%5B5m%5D%29+%3E+1&g0.tab=1");
    assert_expands("{{ urlQueryEscape \"a b&c\" }}", NULL, "a+b%26c");
    assert_fails("{{ toUpper 1 }}", NULL,
                 "error executing template test: template: test:1:11: executing \"test\" at "
                 "<1>: expected string; found 1");
    tmpl_val v = tv_float(1.5);
    assert_fails("{{ . | toUpper }}", &v,
                 "error executing template test: template: test:1:7: executing \"test\" at "
                 "<toUpper>: wrong type for value; expected string; got float64");
}

static void ports_and_domains(void **state)
{
    (void)state;
    assert_expands("{{ \"foo.example.com\" | stripPort }}", NULL, "foo.example.com");
    assert_expands("{{ \"foo.example.com:12345\" | stripPort }}", NULL, "foo.example.com");
    assert_expands("{{ \"192.0.2.1\" | stripPort }}", NULL, "192.0.2.1");
    assert_expands("{{ \"192.0.2.1:12345\" | stripPort }}", NULL, "192.0.2.1");
    assert_expands("{{ \"2001:0DB8::1\" | stripPort }}", NULL, "2001:0DB8::1");
    assert_expands("{{ \"[2001:0DB8::1]:12345\" | stripPort }}", NULL, "2001:0DB8::1");
    assert_expands("{{ \"[2001:0DB8::1]::12345\" | stripPort }}", NULL, "[2001:0DB8::1]::12345");
    assert_expands("{{ \"foo.example.com\" | stripDomain }}", NULL, "foo");
    assert_expands("{{ \"foo.example.com:12345\" | stripDomain }}", NULL, "foo:12345");
    assert_expands("{{ \"192.0.2.1\" | stripDomain }}", NULL, "192.0.2.1");
    assert_expands("{{ \"192.0.2.1:12345\" | stripDomain }}", NULL, "192.0.2.1:12345");
    assert_expands("{{ \"2001:0DB8::1\" | stripDomain }}", NULL, "2001:0DB8::1");
    assert_expands("{{ \"[2001:0DB8::1]:12345\" | stripDomain }}", NULL, "[2001:0DB8::1]:12345");
    assert_expands("{{ \"[2001:0DB8::1]::12345\" | stripDomain }}", NULL, "[2001:0DB8::1]::12345");
}

static void urls(void **state)
{
    (void)state;
    rules_tmpl_opts o = {.external_url = "http://testhost:9090/path/prefix"};
    core_err e = {{0}};
    char *s = expand_opts("{{ pathPrefix }}", NULL, &o, false, &e);
    assert_string_equal(s, "/path/prefix");
    free(s);
    s = expand_opts("{{ externalURL }}", NULL, &o, false, &e);
    assert_string_equal(s, "http://testhost:9090/path/prefix");
    free(s);
    o.external_url = "http://host:9090";
    s = expand_opts("[{{ pathPrefix }}]", NULL, &o, false, &e);
    assert_string_equal(s, "[]");
    free(s);
}

static void html_mode(void **state)
{
    (void)state;
    core_err e = {{0}};
    char *s = expand_opts("{{ \"<b>\" }}", NULL, NULL, true, &e);
    assert_string_equal(s, "&lt;b&gt;");
    free(s);
    s = expand_opts("{{ \"<b>\" | safeHtml }}", NULL, NULL, true, &e);
    assert_string_equal(s, "<b>");
    free(s);
    s = expand_opts("{{ \"<b>\" }}", NULL, NULL, false, &e);
    assert_string_equal(s, "<b>");
    free(s);
    s = expand_opts("{{ define \"a\" }}x{{ end }}{{ $name := \"a\"}}{{ tmpl $name . }}", NULL, NULL,
                    true, &e);
    assert_string_equal(s, "x");
    free(s);
    /* tmpl exists only for HTML (console) templates, as upstream */
    s = expand_opts("{{ tmpl \"a\" . }}", NULL, NULL, false, &e);
    assert_null(s);
    assert_string_equal(e.msg, "error parsing template test: template: test:1: function "
                               "\"tmpl\" not defined");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(humanize),
        cmocka_unit_test(humanize1024),
        cmocka_unit_test(humanize_duration),
        cmocka_unit_test(special_values),
        cmocka_unit_test(humanize_percentage),
        cmocka_unit_test(humanize_timestamp),
        cmocka_unit_test(times),
        cmocka_unit_test(parse_duration),
        cmocka_unit_test(query),
        cmocka_unit_test(args_and_templates),
        cmocka_unit_test(regexes),
        cmocka_unit_test(strings),
        cmocka_unit_test(ports_and_domains),
        cmocka_unit_test(urls),
        cmocka_unit_test(html_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
