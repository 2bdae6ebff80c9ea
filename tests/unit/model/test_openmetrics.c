/*
 * test_openmetrics.c - the OpenMetrics 1.0.0 parser.
 *
 * Tables of inputs with the exact entries (or exact error, with position)
 * they must give; the valid cases include Prometheus's own
 * openmetricsparse_test input and its error cases, cross-checked against
 * Prometheus 2.42's parser.  Every prefix of the valid documents is parsed
 * too, in exactly sized buffers: none may be accepted without its "# EOF".
 */
#include "unit/unit.h"

#include "model/model.h"

#include "helpers.h"

/* Prometheus's TestOpenMetricsParse input (openmetricsparse_test.go). */
static const char upstream_doc[] =
    "# HELP go_gc_duration_seconds A summary of the GC invocation durations.\n"
    "# TYPE go_gc_duration_seconds summary\n"
    "# UNIT go_gc_duration_seconds seconds\n"
    "go_gc_duration_seconds{quantile=\"0\"} 4.9351e-05\n"
    "go_gc_duration_seconds{quantile=\"0.25\"} 7.424100000000001e-05\n"
    "go_gc_duration_seconds{quantile=\"0.5\",a=\"b\"} 8.3835e-05\n"
    "# HELP nohelp1 \n"
    "# HELP help2 escape \\ \\n \\\\ \\\" \\x chars\n"
    "# UNIT nounit \n"
    "go_gc_duration_seconds{quantile=\"1.0\",a=\"b\"} 8.3835e-05\n"
    "go_gc_duration_seconds_count 99\n"
    "some:aggregate:rate5m{a_b=\"c\"} 1\n"
    "# HELP go_goroutines Number of goroutines that currently exist.\n"
    "# TYPE go_goroutines gauge\n"
    "go_goroutines 33 123.123\n"
    "# TYPE hh histogram\n"
    "hh_bucket{le=\"+Inf\"} 1\n"
    "# TYPE gh gaugehistogram\n"
    "gh_bucket{le=\"+Inf\"} 1\n"
    "# TYPE hhh histogram\n"
    "hhh_bucket{le=\"+Inf\"} 1 # {aa=\"bb\"} 4\n"
    "# TYPE ggh gaugehistogram\n"
    "ggh_bucket{le=\"+Inf\"} 1 # {cc=\"dd\",xx=\"yy\"} 4 123.123\n"
    "# TYPE ii info\n"
    "ii{foo=\"bar\"} 1\n"
    "# TYPE ss stateset\n"
    "ss{ss=\"foo\"} 1\n"
    "ss{ss=\"bar\"} 0\n"
    "ss{A=\"a\"} 0\n"
    "# TYPE un unknown\n"
    "_metric_starting_with_underscore 1\n"
    "testmetric{_label_starting_with_underscore=\"foo\"} 1\n"
    "testmetric{label=\"\\\"bar\\\"\"} 1\n"
    "# TYPE foo counter\n"
    "foo_total 17.0 1520879607.789 # {xx=\"yy\"} 5\n"
    "# HELP metric foo\0bar\n"
    "null_byte_metric{a=\"abc\0\"} 1\n"
    "# EOF\n";

static const char upstream_want[] =
    "HELP go_gc_duration_seconds \"A summary of the GC invocation durations.\"\n"
    "TYPE go_gc_duration_seconds summary\n"
    "UNIT go_gc_duration_seconds \"seconds\"\n"
    "SERIES go_gc_duration_seconds{quantile=\"0\"} 4.9351e-05\n"
    "SERIES go_gc_duration_seconds{quantile=\"0.25\"} 7.424100000000001e-05\n"
    "SERIES go_gc_duration_seconds{quantile=\"0.5\",a=\"b\"} 8.3835e-05\n"
    "HELP nohelp1 \"\"\n"
    "HELP help2 \"escape \\\\ \\n \\\\ \\\" \\\\x chars\"\n"
    "UNIT nounit \"\"\n"
    "SERIES go_gc_duration_seconds{quantile=\"1.0\",a=\"b\"} 8.3835e-05\n"
    "SERIES go_gc_duration_seconds_count{} 99\n"
    "SERIES some:aggregate:rate5m{a_b=\"c\"} 1\n"
    "HELP go_goroutines \"Number of goroutines that currently exist.\"\n"
    "TYPE go_goroutines gauge\n"
    "SERIES go_goroutines{} 33 @123123\n"
    "TYPE hh histogram\n"
    "SERIES hh_bucket{le=\"+Inf\"} 1\n"
    "TYPE gh gaugehistogram\n"
    "SERIES gh_bucket{le=\"+Inf\"} 1\n"
    "TYPE hhh histogram\n"
    "SERIES hhh_bucket{le=\"+Inf\"} 1 # {aa=\"bb\"} 4\n"
    "TYPE ggh gaugehistogram\n"
    "SERIES ggh_bucket{le=\"+Inf\"} 1 # {cc=\"dd\",xx=\"yy\"} 4 @123123\n"
    "TYPE ii info\n"
    "SERIES ii{foo=\"bar\"} 1\n"
    "TYPE ss stateset\n"
    "SERIES ss{ss=\"foo\"} 1\n"
    "SERIES ss{ss=\"bar\"} 0\n"
    "SERIES ss{A=\"a\"} 0\n"
    "TYPE un unknown\n"
    "SERIES _metric_starting_with_underscore{} 1\n"
    "SERIES testmetric{_label_starting_with_underscore=\"foo\"} 1\n"
    "SERIES testmetric{label=\"\\\"bar\\\"\"} 1\n"
    "TYPE foo counter\n"
    "SERIES foo_total{} 17 @1520879607789 # {xx=\"yy\"} 5\n"
    "HELP metric \"foo\\x00bar\"\n"
    "SERIES null_byte_metric{a=\"abc\\x00\"} 1\n"
    "EOF\n";

static void test_upstream_document(void **state)
{
    dump_case c = {upstream_doc, upstream_want, sizeof upstream_doc - 1};
    check_cases(MODEL_FORMAT_OPENMETRICS, &c, 1);
}

static const dump_case valid[] = {
    {"# EOF", "EOF\n", 0},
    {"# EOF\n", "EOF\n", 0},
    {"a 1\n# EOF\n", "SERIES a{} 1\nEOF\n", 0},
    {"a{} 1\n# EOF\n", "SERIES a{} 1\nEOF\n", 0},
    {"a NaN\nb +Inf\nc -Inf\nd 1e3\ne -0.5\n# EOF",
     "SERIES a{} NaN\nSERIES b{} +Inf\nSERIES c{} -Inf\nSERIES d{} 1000\nSERIES e{} -0.5\nEOF\n",
     0},
    /* Timestamps are seconds, kept as milliseconds truncated toward zero. */
    {"a 1 0\nb 1 -1.5\nc 1 1.0009\nd 1 -0.0009\ne 1 1e3\n# EOF\n",
     "SERIES a{} 1 @0\nSERIES b{} 1 @-1500\nSERIES c{} 1 @1000\nSERIES d{} 1 @0\n"
     "SERIES e{} 1 @1000000\nEOF\n",
     0},
    /* Exemplars, on _total and _bucket only, with or without timestamps. */
    {"a_total 1 # {} 2\nb_bucket{le=\"1\"} 1 2 # {t=\"x\"} 0.5 3\nc_total 1 # {a=\"1\",b=\"\\\"\"} "
     "NaN\n# EOF\n",
     "SERIES a_total{} 1 # {} 2\nSERIES b_bucket{le=\"1\"} 1 @2000 # {t=\"x\"} 0.5 @3000\n"
     "SERIES c_total{} 1 # {a=\"1\",b=\"\\\"\"} NaN\nEOF\n",
     0},
    {"a{b=\"x\\\\y\\\"z\\nw\\t\"} 1\n# EOF\n", "SERIES a{b=\"x\\\\y\\\"z\\nw\\\\t\"} 1\nEOF\n", 0},
    {"a{b=\"ünïcödé ☃\",c=\"{}=,# \"} 1\n# EOF\n",
     "SERIES a{b=\"ünïcödé ☃\",c=\"{}=,# \"} 1\nEOF\n", 0},
    {"# TYPE a counter\n# TYPE b gauge\n# TYPE c histogram\n# TYPE d gaugehistogram\n"
     "# TYPE e summary\n# TYPE f info\n# TYPE g stateset\n# TYPE h unknown\n# EOF\n",
     "TYPE a counter\nTYPE b gauge\nTYPE c histogram\nTYPE d gaugehistogram\nTYPE e summary\n"
     "TYPE f info\nTYPE g stateset\nTYPE h unknown\nEOF\n",
     0},
    {"# UNIT a_seconds seconds\n# UNIT b_bytes_total bytes_total\n# UNIT c \n# EOF\n",
     "UNIT a_seconds \"seconds\"\nUNIT b_bytes_total \"bytes_total\"\nUNIT c \"\"\nEOF\n", 0},
    {"# HELP a  lead\n# HELP b ünï \\\\ \n# EOF\n", "HELP a \" lead\"\nHELP b \"ünï \\\\ \"\nEOF\n",
     0},
};

static void test_valid(void **state)
{
    check_cases(MODEL_FORMAT_OPENMETRICS, valid, sizeof valid / sizeof *valid);
}

static const dump_case invalid[] = {
    /* Prometheus's TestOpenMetricsParseErrors, with positions. */
    {"", "ERROR in:1:1: \"# EOF\" missing at the end\n", 0},
    {"\n", "ERROR in:1:1: blank lines are not allowed\n", 0},
    {"metric", "ERROR in:1:7: expected value after metric, got end of input\n", 0},
    {"metric 1", "ERROR in:1:9: \"# EOF\" missing at the end\n", 0},
    {"metric 1\n", "SERIES metric{} 1\nERROR in:2:1: \"# EOF\" missing at the end\n", 0},
    {"metric_total 1 # {aa=\"bb\"} 4", "ERROR in:1:29: \"# EOF\" missing at the end\n", 0},
    {"a\n#EOF\n", "ERROR in:1:2: expected value after metric, got end of line\n", 0},
    {"\n\n#EOF\n", "ERROR in:1:1: blank lines are not allowed\n", 0},
    {" a 1\n#EOF\n", "ERROR in:1:1: expected a metric name or \"#\", got \" \"\n", 0},
    {"9\n#EOF\n", "ERROR in:1:1: expected a metric name or \"#\", got \"9\"\n", 0},
    {"# TYPE u untyped\n#EOF\n", "ERROR in:1:10: invalid metric type \"untyped\"\n", 0},
    {"# TYPE c counter \n#EOF\n", "ERROR in:1:10: invalid metric type \"counter \"\n", 0},
    {"#  TYPE c counter\n#EOF\n",
     "ERROR in:1:1: expected \"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\", got \"#  TYPE c "
     "counter\"\n",
     0},
    {"# TYPE \n#EOF\n", "ERROR in:1:8: expected metric name after TYPE, got end of line\n", 0},
    {"# TYPE m\n#EOF\n",
     "ERROR in:1:9: expected \" \" and text after the metric name in TYPE, got end of line\n", 0},
    {"# UNIT metric suffix\n#EOF\n",
     "ERROR in:1:15: unit \"suffix\" is not a suffix of metric \"metric\"\n", 0},
    {"# UNIT metricsuffix suffix\n#EOF\n",
     "ERROR in:1:21: unit \"suffix\" is not a suffix of metric \"metricsuffix\"\n", 0},
    {"# UNIT m suffix\n#EOF\n", "ERROR in:1:10: unit \"suffix\" is not a suffix of metric \"m\"\n",
     0},
    {"# UNIT suffix suffix\n#EOF\n",
     "ERROR in:1:15: unit \"suffix\" is not a suffix of metric \"suffix\"\n", 0},
    {"# UNIT \n#EOF\n", "ERROR in:1:8: expected metric name after UNIT, got end of line\n", 0},
    {"# UNIT m\n#EOF\n",
     "ERROR in:1:9: expected \" \" and text after the metric name in UNIT, got end of line\n", 0},
    {"# HELP \n#EOF\n", "ERROR in:1:8: expected metric name after HELP, got end of line\n", 0},
    {"# HELP m\n#EOF\n",
     "ERROR in:1:9: expected \" \" and text after the metric name in HELP, got end of line\n", 0},
    {"# HELP m x", "ERROR in:1:11: \"# EOF\" missing at the end\n", 0},
    {"a\t1\n#EOF\n", "ERROR in:1:2: expected value after metric, got \"\\t\"\n", 0},
    {"a 1\t2\n#EOF\n", "ERROR in:1:3: invalid value \"1\\t2\" for metric \"a\"\n", 0},
    {"a 1 2 \n#EOF\n", "ERROR in:1:7: expected exemplar after timestamp, got end of line\n", 0},
    {"a 1 2 #\n#EOF\n", "ERROR in:1:7: expected exemplar after timestamp, got \"#\"\n", 0},
    {"a 1 1z\n#EOF\n", "ERROR in:1:5: invalid timestamp \"1z\" for metric \"a\"\n", 0},
    {"a 1 \n#EOF\n", "ERROR in:1:5: expected timestamp or exemplar, got end of line\n", 0},
    {" # EOF\n", "ERROR in:1:1: expected a metric name or \"#\", got \" \"\n", 0},
    {"# EOF\na 1", "ERROR in:2:1: unexpected data after \"# EOF\"\n", 0},
    {"# EOF\n\n", "ERROR in:2:1: unexpected data after \"# EOF\"\n", 0},
    {"# EOFa 1", "ERROR in:1:6: unexpected data after \"# EOF\"\n", 0},
    {"#\tTYPE c counter\n",
     "ERROR in:1:1: expected \"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\", got \"#\\tTYPE c "
     "counter\"\n",
     0},
    {"# TYPE c  counter\n", "ERROR in:1:10: invalid metric type \" counter\"\n", 0},
    {"# comment\n# EOF\n",
     "ERROR in:1:1: expected \"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\", got \"# comment\"\n",
     0},
    {"#", "ERROR in:1:1: expected \"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\", got \"#\"\n", 0},
    {"a 1 1 1\n# EOF\n", "ERROR in:1:7: expected exemplar after timestamp, got \"1\"\n", 0},
    {"a{b='c'} 1\n# EOF\n", "ERROR in:1:5: expected label value, got \"'\"\n", 0},
    {"a{b=\"c\",} 1\n# EOF\n", "ERROR in:1:9: expected label name, got \"}\"\n", 0},
    {"a{,b=\"c\"} 1\n# EOF\n", "ERROR in:1:3: expected label name or \"}\", got \",\"\n", 0},
    {"a{b=\"c\"d=\"e\"} 1\n# EOF\n",
     "ERROR in:1:8: expected \",\" or \"}\" after label value, got \"d\"\n", 0},
    {"a{b=\"c\",,d=\"e\"} 1\n# EOF\n", "ERROR in:1:9: expected label name, got \",\"\n", 0},
    {"a{b=\"c\", d=\"e\"} 1\n# EOF\n", "ERROR in:1:9: expected label name, got \" \"\n", 0},
    {"a{b =\"c\"} 1\n# EOF\n", "ERROR in:1:4: expected \"=\" after label name, got \" \"\n", 0},
    {"a {b=\"c\"} 1\n# EOF\n", "ERROR in:1:3: invalid value \"{b=\\\"c\\\"}\" for metric \"a\"\n",
     0},
    {"a{b=\n# EOF\n", "ERROR in:1:5: expected label value, got end of line\n", 0},
    {"a{b=\"x\ny\"} 1\n# EOF\n", "ERROR in:1:7: line break in value of label \"b\"\n", 0},
    {"a{\xff=\"foo\"} 1\n# EOF\n", "ERROR in:1:3: expected label name or \"}\", got \"\\xff\"\n",
     0},
    {"a{b=\"\xff\"} 1\n# EOF\n", "ERROR in:1:6: invalid UTF-8 in value of label \"b\"\n", 0},
    {"a true\n", "ERROR in:1:3: invalid value \"true\" for metric \"a\"\n", 0},
    {"something_weird{problem=\"\n# EOF\n",
     "ERROR in:1:26: line break in value of label \"problem\"\n", 0},
    {"something_weird{problem=\"", "ERROR in:1:25: unterminated value of label \"problem\"\n", 0},
    {"empty_label_name{=\"\"} 0\n# EOF\n",
     "ERROR in:1:18: expected label name or \"}\", got \"=\"\n", 0},
    {"foo 1_2\n\n# EOF\n", "ERROR in:1:5: invalid value \"1_2\" for metric \"foo\"\n", 0},
    {"foo 0x1p-3\n\n# EOF\n", "ERROR in:1:5: invalid value \"0x1p-3\" for metric \"foo\"\n", 0},
    {"foo 0x1P-3\n\n# EOF\n", "ERROR in:1:5: invalid value \"0x1P-3\" for metric \"foo\"\n", 0},
    {"foo 0 1_2\n\n# EOF\n", "ERROR in:1:7: invalid timestamp \"1_2\" for metric \"foo\"\n", 0},
    {"custom_metric_total 1 # {aa=bb}\n# EOF\n",
     "ERROR in:1:29: expected label value, got \"bb\"\n", 0},
    {"custom_metric_total 1 # {aa=\"bb\"}\n# EOF\n",
     "ERROR in:1:34: expected value after exemplar labels, got end of line\n", 0},
    {"custom_metric_total 1 # {aa=\"bb\"}",
     "ERROR in:1:34: expected value after exemplar labels, got end of input\n", 0},
    {"custom_metric 1 # {aa=\"bb\"}",
     "ERROR in:1:17: metric \"custom_metric\" does not support exemplars (only _total and _bucket "
     "do)\n",
     0},
    {"custom_metric_total 1 # {aa=\"bb\",,cc=\"dd\"} 1",
     "ERROR in:1:34: expected label name, got \",\"\n", 0},
    {"custom_metric_total 1 # {aa=\"bb\"} 1_2",
     "ERROR in:1:35: invalid exemplar value \"1_2\" for metric \"custom_metric_total\"\n", 0},
    {"custom_metric_total 1 # {aa=\"bb\"} 0x1p-3",
     "ERROR in:1:35: invalid exemplar value \"0x1p-3\" for metric \"custom_metric_total\"\n", 0},
    {"custom_metric_total 1 # {aa=\"bb\"} true",
     "ERROR in:1:35: invalid exemplar value \"true\" for metric \"custom_metric_total\"\n", 0},
    {"custom_metric_total 1 # {aa=\"bb\",cc=}", "ERROR in:1:37: expected label value, got \"}\"\n",
     0},
    {"custom_metric_total 1 # {aa=\"\xff\"} 9.0",
     "ERROR in:1:30: invalid UTF-8 in value of label \"aa\"\n", 0},
    {"custom_metric_total 1 # {aa=\"1\",aa=\"2\"} 9.0",
     "ERROR in:1:33: duplicate exemplar label name \"aa\"\n", 0},
    {"custom_metric_total 1 # {aa=\"1\"} 9.0 1 2\n# EOF\n",
     "ERROR in:1:40: expected end of line after exemplar timestamp, got \"2\"\n", 0},
    {"custom_metric_total 1 # {aa=\"1\"} 9.0 \n# EOF\n",
     "ERROR in:1:38: expected exemplar timestamp, got end of line\n", 0},
    {"custom_metric_total 1 # {aa=\"1\"} 9.0 1", "ERROR in:1:39: \"# EOF\" missing at the end\n",
     0},
    {"{b=\"c\",} 1", "ERROR in:1:1: expected a metric name or \"#\", got \"{\"\n", 0},
    {"a 1 NaN", "ERROR in:1:5: invalid timestamp \"NaN\" for metric \"a\"\n", 0},
    {"a 1 -Inf", "ERROR in:1:5: invalid timestamp \"-Inf\" for metric \"a\"\n", 0},
    {"a 1 Inf", "ERROR in:1:5: invalid timestamp \"Inf\" for metric \"a\"\n", 0},
    {"a 1 1e300\n# EOF\n", "ERROR in:1:5: out of range timestamp \"1e300\" for metric \"a\"\n", 0},
    {"# TYPE hhh histogram\nhhh_bucket{le=\"+Inf\"} 1 # {aa=\"bb\"} 4 NaN",
     "TYPE hhh histogram\nERROR in:2:39: invalid exemplar timestamp \"NaN\" for metric "
     "\"hhh_bucket\"\n",
     0},
    {"# TYPE hhh histogram\nhhh_bucket{le=\"+Inf\"} 1 # {aa=\"bb\"} 4 -Inf",
     "TYPE hhh histogram\nERROR in:2:39: invalid exemplar timestamp \"-Inf\" for metric "
     "\"hhh_bucket\"\n",
     0},
    {"a{b=\"1\",b=\"2\"} 1\n# EOF\n", "ERROR in:1:9: duplicate label name \"b\"\n", 0},
    {"a{__name__=\"x\"} 1\n# EOF\n", "ERROR in:1:3: duplicate label name \"__name__\"\n", 0},
    {"# HELP a \xc3\n# EOF\n", "ERROR in:1:10: invalid UTF-8 in HELP text of \"a\"\n", 0},
    {"a 1\n# EOF\n", "SERIES a{} 1\nEOF\n", 0}, /* (the NUL case below is one byte longer) */
    {"a 1\n\0# EOF\n",
     "SERIES a{} 1\nERROR in:2:1: expected a metric name or \"#\", got \"\\x00\"\n", 11},
};

static void test_invalid(void **state)
{
    check_cases(MODEL_FORMAT_OPENMETRICS, invalid, sizeof invalid / sizeof *invalid);
}

/* Accessors: UNIT, exemplar label sets, escaped HELP. */
static void test_accessors(void **state)
{
    static const char in[] =
        "# UNIT m_seconds seconds\n# HELP m_seconds \\\"q\\\"\n"
        "m_seconds_bucket{le=\"0.5\"} 1 # {trace_id=\"a\\\\b\",z=\"1\"} 0.25 1.5\n# EOF\n";
    model_parser *p = model_parser_new(MODEL_FORMAT_OPENMETRICS, in, sizeof in - 1, NULL);
    core_err err;
    assert_int_equal(model_parser_format(p), MODEL_FORMAT_OPENMETRICS);
    assert_int_equal(model_parser_next(p, &err), MODEL_ENTRY_UNIT);
    model_str u = model_parser_unit(p);
    assert_int_equal(u.len, 7);
    assert_memory_equal(u.p, "seconds", 7);
    assert_int_equal(model_parser_help(p).len, 0);

    assert_int_equal(model_parser_next(p, &err), MODEL_ENTRY_HELP);
    assert_true(model_parser_help_escaped(p));
    assert_int_equal(model_parser_help(p).len, 3);
    assert_memory_equal(model_parser_help(p).p, "\"q\"", 3);

    assert_int_equal(model_parser_next(p, &err), MODEL_ENTRY_SERIES);
    model_exemplar ex;
    assert_true(model_parser_exemplar(p, &ex));
    assert_int_equal(ex.n_labels, 2);
    assert_true(ex.labels[0].escaped);
    assert_memory_equal(ex.labels[0].value.p, "a\\b", 3);
    assert_true(ex.has_ts);
    assert_int_equal(ex.ts, 1500);
    assert_true(ex.value == 0.25);
    core_labels *el = model_parser_exemplar_labels_new(p, NULL, &err);
    assert_non_null(el);
    core_sb s = CORE_SB_INIT;
    core_labels_format(el, &s);
    assert_string_equal(s.buf, "{trace_id=\"a\\\\b\", z=\"1\"}");
    free(el);
    core_labels *ls = model_parser_labels_new(p, NULL, &err);
    core_sb_reset(&s);
    core_labels_format(ls, &s);
    assert_string_equal(s.buf, "{__name__=\"m_seconds_bucket\", le=\"0.5\"}");
    free(ls);
    model_str key = model_parser_series_key(p);
    assert_int_equal(key.len, strlen("m_seconds_bucket{le=\"0.5\"}"));
    assert_int_equal(model_parser_next(p, &err), MODEL_ENTRY_EOF);
    core_sb_destroy(&s);
    model_parser_free(p);
}

static void test_prefixes(void **state)
{
    check_prefixes(MODEL_FORMAT_OPENMETRICS, upstream_doc, sizeof upstream_doc - 1);
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++)
        check_prefixes(MODEL_FORMAT_OPENMETRICS, valid[i].in, strlen(valid[i].in));
    size_t len;
    char *doc = read_data("families.om", &len);
    check_prefixes(MODEL_FORMAT_OPENMETRICS, doc, len);
    /* A prefix can only end well at the very end. */
    for (size_t k = 0; k + 1 < len; k++) {
        char *got = dump_all(MODEL_FORMAT_OPENMETRICS, doc, k);
        assert_null(strstr(got, "\nEOF\n"));
        free(got);
    }
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstream_document), cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),           cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_prefixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
