/*
 * test_template.c - the template lexer and parser: Go's syntax (trim
 * markers, comments, raw strings, numbers and character constants, variable
 * declaration and assignment, if/else if/with/else with/range/break/continue,
 * define/block/template) and Go's parse errors word for word, with their
 * line numbers, as promtool shows them for a bad rule file.
 */
#include "unit/unit.h"

#include "tmpl_helpers.h"

static void parse_error(const char *text, const char *want)
{
    core_err e = {{0}};
    rules_tmpl *t = rules_tmpl_new("test", text, false, &e);
    if (t) fail_msg("%s: parsed", text);
    assert_string_equal(e.msg, want);
}

static void syntax_errors(void **state)
{
    (void)state;
    parse_error("{{", "template: test:1: unclosed action");
    parse_error("{{ .Foo", "template: test:1: unclosed action");
    parse_error("{{ \xc2\xa0}}", "template: test:1: unrecognized character in action: U+00A0");
    parse_error("{{ humanise 1 }}", "template: test:1: function \"humanise\" not defined");
    parse_error("{{ $x }}", "template: test:1: undefined variable \"$x\"");
    parse_error("{{ end }}", "template: test:1: unexpected {{end}}");
    parse_error("{{ else }}", "template: test:1: unexpected {{else}}");
    parse_error("{{ if 1 }}", "template: test:1: unexpected EOF");
    parse_error("{{ if }}{{ end }}", "template: test:1: missing value for if");
    parse_error("{{ }}", "template: test:1: missing value for command");
    parse_error("{{ range $i, $v, $w := . }}{{ end }}",
                "template: test:1: too many declarations in range");
    parse_error("{{ with $x, $y := . }}{{ end }}",
                "template: test:1: too many declarations in with");
    parse_error("{{ range $i, 3 }}{{ end }}",
                "template: test:1: range can only initialize variables");
    parse_error("{{ 1 | 2 }}", "template: test:1: non executable command in pipeline stage 2");
    parse_error("{{ ( }}", "template: test:1: unclosed left paren");
    parse_error("{{ ) }}", "template: test:1: unexpected right paren");
    parse_error("{{ \"abc }}", "template: test:1: unterminated quoted string");
    parse_error("{{ `abc }}", "template: test:1: unterminated raw quoted string");
    parse_error("{{ 'ab }}", "template: test:1: unterminated character constant");
    parse_error("{{ 3x }}", "template: test:1: bad number syntax: \"3x\"");
    parse_error("{{ $x := 1 }}{{ $x: }}", "template: test:1: expected :=");
    parse_error("{{/* open", "template: test:1: unclosed comment");
    parse_error("{{/* c */ x}}", "template: test:1: comment ends before closing delimiter");
    parse_error("{{ break }}", "template: test:1: {{break}} outside {{range}}");
    parse_error("{{ range . }}{{ continue 1 }}{{ end }}",
                "template: test:1: unexpected \"1\" in {{continue}}");
    parse_error("{{ if 1 }}a{{ else }}b{{ else }}c{{ end }}",
                "template: test:1: expected end; found {{else}}");
    parse_error("{{define \"a\"}}x{{end}}{{define \"a\"}}y{{end}}",
                "template: test:1: template: multiple definition of template \"a\"");
    parse_error("{{ define a }}{{ end }}", "template: test:1: unexpected \"a\" in define clause");
    parse_error("{{ template x }}", "template: test:1: unexpected \"x\" in template clause");
    parse_error("{{ .A | \"x\" }}", "template: test:1: non executable command in pipeline stage 2");
    parse_error("{{ \"x\".y }}", "template: test:1: unexpected . after term \"\\\"x\\\"\"");
    parse_error("{{ 1 = 2 }}", "template: test:1: unexpected \"=\" in operand");
    parse_error("{{ \"\\q\" }}", "template: test:1: invalid syntax");
    parse_error("{{ 99999999999999999999 }}",
                "template: test:1: integer overflow: \"99999999999999999999\"");
    parse_error("{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}",
                "template: test:1: undefined variable \"$x\"");
    parse_error("{{ $x := 1 }}{{ define \"t\" }}{{ $x }}{{ end }}",
                "template: test:1: undefined variable \"$x\"");
    parse_error("{{ .A.B.C | printf \"%s\" | x }}", "template: test:1: function \"x\" not defined");
}

static void error_lines(void **state)
{
    (void)state;
    parse_error("line one\nline two {{ humanise 1 }}",
                "template: test:2: function \"humanise\" not defined");
    parse_error("a\n{{ if true }}\nb\n", "template: test:4: unexpected EOF");
    parse_error("a\n{{ 1\n}}\n{{ 3x }}", "template: test:4: bad number syntax: \"3x\"");
    /* an action left open: the lexer reads to the end */
    parse_error("{{ if true\n\n", "template: test:3: unclosed action");
}

static void nesting(void **state)
{
    (void)state;
    core_sb sb = CORE_SB_INIT;
    core_sb_adds(&sb, "{{ ");
    for (int i = 0; i < 1100; i++)
        core_sb_addc(&sb, '(');
    core_sb_addc(&sb, '1');
    for (int i = 0; i < 1100; i++)
        core_sb_addc(&sb, ')');
    core_sb_adds(&sb, " }}");
    parse_error(sb.buf, "template: test:1: template nested too deeply");
    core_sb_reset(&sb);
    for (int i = 0; i < 1100; i++)
        core_sb_adds(&sb, "{{ if 1 }}");
    parse_error(sb.buf, "template: test:1: template nested too deeply");
    core_sb_destroy(&sb);
    /* 100 levels are fine */
    core_sb t = CORE_SB_INIT;
    core_sb_adds(&t, "{{ ");
    for (int i = 0; i < 100; i++)
        core_sb_addc(&t, '(');
    core_sb_addc(&t, '7');
    for (int i = 0; i < 100; i++)
        core_sb_addc(&t, ')');
    core_sb_adds(&t, " }}");
    assert_expands(t.buf, NULL, "7");
    core_sb_destroy(&t);
}

static void alert_check(void **state)
{
    (void)state;
    core_err e = {{0}};
    assert_int_equal(
        rules_tmpl_check_alert("HighLatency", "{{ $labels.instance }} {{ $value }}", &e), 0);
    assert_int_equal(
        rules_tmpl_check_alert("HighLatency", "{{ $externalLabels.x }} {{ $externalURL }}", &e), 0);
    assert_int_equal(rules_tmpl_check_alert("HighLatency", "{{ humanise $value }}", &e), -1);
    assert_string_equal(e.msg,
                        "template: __alert_HighLatency:1: function \"humanise\" not defined");
    assert_int_equal(rules_tmpl_check_alert("X", "{{ $lables.instance }}", &e), -1);
    assert_string_equal(e.msg, "template: __alert_X:1: undefined variable \"$lables\"");
    /* definitions do not see the variables, as upstream */
    assert_int_equal(rules_tmpl_check_alert("X", "{{ define \"t\" }}{{ $labels }}{{ end }}", &e),
                     -1);
    assert_string_equal(e.msg, "template: __alert_X:1: undefined variable \"$labels\"");
}

static void trim_and_comments(void **state)
{
    (void)state;
    assert_expands("a  {{- 1 -}}  b", NULL, "a1b");
    assert_expands("a \n {{- 1 }} \n b", NULL, "a1 \n b");
    assert_expands("{{/* c */}}a{{- /* d */ -}}  b", NULL, "ab");
    assert_expands("{{-3}}", NULL, "-3");
    assert_expands("{{- 3 -}}", NULL, "3");
    assert_expands("x {{- \"y\" }}", NULL, "xy");
    assert_expands("{{ 1 }}\n{{- 2 }}", NULL, "12");
    assert_expands("{{\n  1\n}}", NULL, "1");
}

static void literals(void **state)
{
    (void)state;
    assert_expands("{{ 1 }}", NULL, "1");
    assert_expands("{{ -7 }}", NULL, "-7");
    assert_expands("{{ 1.5 }}", NULL, "1.5");
    assert_expands("{{ 1e3 }}", NULL, "1000");
    assert_expands("{{ 0x1F }}", NULL, "31");
    assert_expands("{{ 0o17 }} {{ 017 }} {{ 0b101 }} {{ 1_000 }}", NULL, "15 15 5 1000");
    assert_expands("{{ 'a' }} {{ '\\n' }}", NULL, "97 10");
    assert_expands("{{ \"a\\tb\\u00e9\\x41\" }}", NULL,
                   "a\tb\xc3\xa9"
                   "A");
    assert_expands("{{ `raw \\n` }}", NULL, "raw \\n");
    assert_expands("{{ true }} {{ false }}", NULL, "true false");
    assert_expands("{{ 0x1p-2 }}", NULL, "0.25");
}

static void control(void **state)
{
    (void)state;
    assert_expands("{{if false}}a{{else if true}}b{{else}}c{{end}}", NULL, "b");
    assert_expands("{{if false}}a{{else if false}}b{{else}}c{{end}}", NULL, "c");
    assert_expands("{{with 0}}a{{else with 2}}{{.}}{{end}}", NULL, "2");
    assert_expands("{{with $x := 5}}{{$x}}{{.}}{{end}}", NULL, "55");
    assert_expands("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", NULL, "2");
    assert_expands("{{ $x := 1 }}{{ if true }}{{ $x = 3 }}{{ end }}{{ $x }}", NULL, "3");
    assert_expands("{{ $x := 1 }}{{ if true }}{{ $x := 3 }}{{ end }}{{ $x }}", NULL, "1");
    assert_expands("{{ block \"b\" 5 }}[{{ . }}]{{ end }}", NULL, "[5]");
    assert_expands("{{ define \"t\" }}<{{ . }}|{{ $ }}>{{ end }}{{ template \"t\" 7 }}", NULL,
                   "<7|7>");
    assert_expands("{{ define \"t\" }}T{{ end }}{{ template \"t\" }}", NULL, "T");
    assert_expands("{{ range 3 }}{{ . }}{{ end }}", NULL, "012");
    assert_expands("{{ range $i := 2 }}{{ $i }}{{ end }}", NULL, "01");
    assert_expands("{{ range 0 }}x{{ else }}none{{ end }}", NULL, "none");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(syntax_errors),     cmocka_unit_test(error_lines),
        cmocka_unit_test(nesting),           cmocka_unit_test(alert_check),
        cmocka_unit_test(trim_and_comments), cmocka_unit_test(literals),
        cmocka_unit_test(control),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
