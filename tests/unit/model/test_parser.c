/*
 * test_parser.c - what the formats share: the content-type sniffer, names,
 * unescaping, and the three parsers agreeing on the same metric families
 * written by the Go client in text, OpenMetrics and protobuf (data/families.*).
 */
#include "unit/unit.h"

#include "model/model.h"

#include "helpers.h"

static void test_content_types(void **state)
{
    static const struct {
        const char *ct;
        model_format want;
    } cases[] = {
        {NULL, MODEL_FORMAT_TEXT},
        {"", MODEL_FORMAT_TEXT},
        {"text/plain", MODEL_FORMAT_TEXT},
        {"text/plain; version=0.0.4; charset=utf-8", MODEL_FORMAT_TEXT},
        {"application/openmetrics-text", MODEL_FORMAT_OPENMETRICS},
        {"application/openmetrics-text; version=1.0.0; charset=utf-8", MODEL_FORMAT_OPENMETRICS},
        {" Application/OpenMetrics-Text ;version=0.0.1", MODEL_FORMAT_OPENMETRICS},
        {"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
         "encoding=delimited",
         MODEL_FORMAT_PROTOBUF},
        {"application/"
         "vnd.google.protobuf;encoding=delimited;proto=io.prometheus.client.MetricFamily",
         MODEL_FORMAT_PROTOBUF},
        {"APPLICATION/VND.GOOGLE.PROTOBUF; PROTO=\"io.prometheus.client.MetricFamily\"; "
         "Encoding=\"delimited\"",
         MODEL_FORMAT_PROTOBUF},
        {"application/vnd.google.protobuf", MODEL_FORMAT_TEXT},
        {"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily",
         MODEL_FORMAT_TEXT},
        {"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=text",
         MODEL_FORMAT_TEXT},
        {"application/vnd.google.protobuf; proto=other.Message; encoding=delimited",
         MODEL_FORMAT_TEXT},
        {"application/vnd.google.protobuf; proto=io.prometheus.client.metricfamily; "
         "encoding=delimited",
         MODEL_FORMAT_TEXT},
        {"application/json", MODEL_FORMAT_TEXT},
        {"application/openmetrics-textx", MODEL_FORMAT_TEXT},
        {";;;=", MODEL_FORMAT_TEXT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (model_format_from_content_type(cases[i].ct) != cases[i].want)
            fail_msg("case %zu: %s", i, cases[i].ct ? cases[i].ct : "(null)");
}

static void test_names(void **state)
{
    assert_string_equal(model_format_name(MODEL_FORMAT_TEXT), "text");
    assert_string_equal(model_format_name(MODEL_FORMAT_OPENMETRICS), "openmetrics");
    assert_string_equal(model_format_name(MODEL_FORMAT_PROTOBUF), "protobuf");
    static const char *const types[] = {"unknown",        "counter", "gauge", "histogram",
                                        "gaugehistogram", "summary", "info",  "stateset"};
    for (model_type t = MODEL_TYPE_UNKNOWN; t <= MODEL_TYPE_STATESET; t++)
        assert_string_equal(model_type_name(t), types[t]);
}

static void test_unescape(void **state)
{
    static const char in[] = "a\\\\b\\\"c\\nd\\te\\";
    core_sb sb = CORE_SB_INIT;
    model_unescape((model_str){in, sizeof in - 1}, MODEL_ESCAPES_LABEL_VALUE, &sb);
    assert_string_equal(sb.buf, "a\\b\"c\nd\\te\\");
    core_sb_adds(&sb, "|");
    model_unescape((model_str){in, sizeof in - 1}, MODEL_ESCAPES_TEXT_HELP, &sb);
    assert_string_equal(sb.buf, "a\\b\"c\nd\\te\\|a\\b\\\"c\nd\\te\\");
    core_sb_destroy(&sb);
}

/* ---- The three formats agree */

static char *dump_file(model_format fmt, const char *name)
{
    size_t len;
    char *doc = read_data(name, &len);
    char *out = dump_all(fmt, doc, len);
    free(doc);
    return out;
}

/* The dump without exemplars (" # {...} ..." up to the end of the line). */
static char *strip_exemplars(const char *dump)
{
    core_sb out = CORE_SB_INIT;
    for (const char *line = dump; *line;) {
        const char *nl = strchr(line, '\n');
        const char *ex = strstr(line, " # {");
        core_sb_add(&out, line, (size_t)((ex && ex < nl ? ex : nl) - line));
        core_sb_addc(&out, '\n');
        line = nl + 1;
    }
    return core_sb_detach(&out, NULL);
}

/* The text format as the Go client writes it gives exactly the protobuf
 * entries, exemplars aside (the text format has none). */
static void test_text_and_protobuf_agree(void **state)
{
    char *text = dump_file(MODEL_FORMAT_TEXT, "families.prom");
    char *pb = dump_file(MODEL_FORMAT_PROTOBUF, "families.pb");
    char *pb_plain = strip_exemplars(pb);
    assert_string_equal(text, pb_plain);
    assert_non_null(strstr(pb, " # {trace_id=\"abc123\"} 1 @1600000000500"));
    free(text);
    free(pb);
    free(pb_plain);
}

/* One series in a comparable form: name, sorted labels (le and quantile
 * values normalised, as OpenMetrics writes 1 as "1.0"), value, timestamp,
 * exemplar. */
static void canonical_series(model_parser *p, core_sb *out)
{
    size_t n;
    const model_label *l = model_parser_labels(p, &n);
    assert_true(n <= 8);
    char names[8][64], values[8][64];
    core_label pairs[8];
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "%.*s", (int)l[i].name.len, l[i].name.p);
        snprintf(values[i], sizeof values[i], "%.*s", (int)l[i].value.len, l[i].value.p);
        if (strcmp(names[i], "le") == 0 || strcmp(names[i], "quantile") == 0)
            model_format_float(strtod(values[i], NULL), values[i]);
        pairs[i] = (core_label){names[i], values[i]};
    }
    core_labels *ls = core_labels_new(pairs, n);
    model_str name = model_parser_name(p);
    core_sb_add(out, name.p, name.len);
    core_labels_format(ls, out);
    core_sb_addc(out, ' ');
    dump_num(out, model_parser_value(p));
    int64_t ts;
    if (model_parser_timestamp(p, &ts)) core_sb_addf(out, " @%" PRId64, ts);
    model_exemplar ex;
    if (model_parser_exemplar(p, &ex)) {
        core_sb_adds(out, " # ");
        dump_labels(out, ex.labels, ex.n_labels);
        core_sb_addc(out, ' ');
        dump_num(out, ex.value);
        if (ex.has_ts) core_sb_addf(out, " @%" PRId64, ex.ts);
    }
    core_sb_addc(out, '\n');
    free(ls);
}

static char *canonical_file(model_format fmt, const char *file)
{
    size_t len;
    char *doc = read_data(file, &len);
    model_parser *p = model_parser_new(fmt, doc, len, file);
    core_sb out = CORE_SB_INIT;
    core_err err;
    model_entry e;
    while ((e = model_parser_next(p, &err)) > 0)
        if (e == MODEL_ENTRY_SERIES) canonical_series(p, &out);
    if (e != MODEL_ENTRY_EOF) fail_msg("%s", err.msg);
    model_parser_free(p);
    free(doc);
    return core_sb_detach(&out, NULL);
}

static void test_openmetrics_and_protobuf_agree(void **state)
{
    char *om = canonical_file(MODEL_FORMAT_OPENMETRICS, "families.om");
    char *pb = canonical_file(MODEL_FORMAT_PROTOBUF, "families.pb");
    char *text = canonical_file(MODEL_FORMAT_TEXT, "families.prom");
    assert_string_equal(om, pb);
    char *plain = strip_exemplars(pb);
    assert_string_equal(text, plain);
    assert_non_null(strstr(om, "le=\"10\""));
    assert_non_null(strstr(om, "# {trace_id=\"t2\",span=\"s\"} 1.7\n"));
    free(om);
    free(pb);
    free(text);
    free(plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_types),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_unescape),
        cmocka_unit_test(test_text_and_protobuf_agree),
        cmocka_unit_test(test_openmetrics_and_protobuf_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
