/*
 * test_text.c - the Prometheus text format 0.0.4 parser.
 *
 * Tables of inputs with the exact entries (or exact error, with position)
 * they must give; the valid cases include Prometheus's own promparse_test
 * input and were cross-checked against Prometheus 2.42's parser.  Every
 * prefix of the valid documents is parsed too, in exactly sized buffers.
 */
#include "unit/unit.h"

#include "model/model.h"

#include "helpers.h"

/* Prometheus's TestPromParse input (model/textparse/promparse_test.go). */
static const char upstream_doc[] =
    "# HELP go_gc_duration_seconds A summary of the GC invocation durations.\n"
    "# \tTYPE go_gc_duration_seconds summary\n"
    "go_gc_duration_seconds{quantile=\"0\"} 4.9351e-05\n"
    "go_gc_duration_seconds{quantile=\"0.25\",} 7.424100000000001e-05\n"
    "go_gc_duration_seconds{quantile=\"0.5\",a=\"b\"} 8.3835e-05\n"
    "go_gc_duration_seconds{quantile=\"0.8\", a=\"b\"} 8.3835e-05\n"
    "go_gc_duration_seconds{ quantile=\"0.9\", a=\"b\"} 8.3835e-05\n"
    "# Hrandom comment starting with prefix of HELP\n"
    "#\n"
    "wind_speed{A=\"2\",c=\"3\"} 12345\n"
    "# comment with escaped \\n newline\n"
    "# comment with escaped \\ escape character\n"
    "# HELP nohelp1\n"
    "# HELP nohelp2 \n"
    "go_gc_duration_seconds{ quantile=\"1.0\", a=\"b\" } 8.3835e-05\n"
    "go_gc_duration_seconds { quantile=\"1.0\", a=\"b\" } 8.3835e-05\n"
    "go_gc_duration_seconds { quantile= \"1.0\", a= \"b\", } 8.3835e-05\n"
    "go_gc_duration_seconds { quantile = \"1.0\", a = \"b\" } 8.3835e-05\n"
    "go_gc_duration_seconds_count 99\n"
    "some:aggregate:rate5m{a_b=\"c\"}\t1\n"
    "# HELP go_goroutines Number of goroutines that currently exist.\n"
    "# TYPE go_goroutines gauge\n"
    "go_goroutines 33  \t123123\n"
    "_metric_starting_with_underscore 1\n"
    "testmetric{_label_starting_with_underscore=\"foo\"} 1\n"
    "testmetric{label=\"\\\"bar\\\"\"} 1\n"
    "# HELP metric foo\0bar\n"
    "null_byte_metric{a=\"abc\0\"} 1";

static const char upstream_want[] =
    "HELP go_gc_duration_seconds \"A summary of the GC invocation durations.\"\n"
    "TYPE go_gc_duration_seconds summary\n"
    "SERIES go_gc_duration_seconds{quantile=\"0\"} 4.9351e-05\n"
    "SERIES go_gc_duration_seconds{quantile=\"0.25\"} 7.424100000000001e-05\n"
    "SERIES go_gc_duration_seconds{quantile=\"0.5\",a=\"b\"} 8.3835e-05\n"
    "SERIES go_gc_duration_seconds{quantile=\"0.8\",a=\"b\"} 8.3835e-05\n"
    "SERIES go_gc_duration_seconds{quantile=\"0.9\",a=\"b\"} 8.3835e-05\n"
    "COMMENT \"# Hrandom comment starting with prefix of HELP\"\n"
    "COMMENT \"#\"\n"
    "SERIES wind_speed{A=\"2\",c=\"3\"} 12345\n"
    "COMMENT \"# comment with escaped \\\\n newline\"\n"
    "COMMENT \"# comment with escaped \\\\ escape character\"\n"
    "HELP nohelp1 \"\"\n"
    "HELP nohelp2 \"\"\n"
    "SERIES go_gc_duration_seconds{quantile=\"1.0\",a=\"b\"} 8.3835e-05\n"
    "SERIES go_gc_duration_seconds{quantile=\"1.0\",a=\"b\"} 8.3835e-05\n"
    "SERIES go_gc_duration_seconds{quantile=\"1.0\",a=\"b\"} 8.3835e-05\n"
    "SERIES go_gc_duration_seconds{quantile=\"1.0\",a=\"b\"} 8.3835e-05\n"
    "SERIES go_gc_duration_seconds_count{} 99\n"
    "SERIES some:aggregate:rate5m{a_b=\"c\"} 1\n"
    "HELP go_goroutines \"Number of goroutines that currently exist.\"\n"
    "TYPE go_goroutines gauge\n"
    "SERIES go_goroutines{} 33 @123123\n"
    "SERIES _metric_starting_with_underscore{} 1\n"
    "SERIES testmetric{_label_starting_with_underscore=\"foo\"} 1\n"
    "SERIES testmetric{label=\"\\\"bar\\\"\"} 1\n"
    "HELP metric \"foo\\x00bar\"\n"
    "SERIES null_byte_metric{a=\"abc\\x00\"} 1\n"
    "EOF\n";

static void test_upstream_document(void **state)
{
    dump_case c = {upstream_doc, upstream_want, sizeof upstream_doc - 1};
    check_cases(MODEL_FORMAT_TEXT, &c, 1);
}

static const dump_case valid[] = {
    {"", "EOF\n", 0},
    {" \t\n\n  \n", "EOF\n", 0},
    {"a 1", "SERIES a{} 1\nEOF\n", 0},
    {"a 1\n\n\nb 2\n", "SERIES a{} 1\nSERIES b{} 2\nEOF\n", 0},
    {"  \t a 1  \n", "SERIES a{} 1\nEOF\n", 0},
    {"a{} 1\n", "SERIES a{} 1\nEOF\n", 0},
    {"a {}1\n", "SERIES a{} 1\nEOF\n", 0},
    /* Commas between labels are optional, one may trail. */
    {"a{b=\"1\"c=\"2\",} 1\n", "SERIES a{b=\"1\",c=\"2\"} 1\nEOF\n", 0},
    {"a{ b = \"1\" , c = \"2\" , } 1\n", "SERIES a{b=\"1\",c=\"2\"} 1\nEOF\n", 0},
    /* Values: Go's ParseFloat. */
    {"a NaN\nb nan\nc +Inf\nd -Inf\ne Inf\nf inf\ng infinity\nh -INFINITY\n",
     "SERIES a{} NaN\nSERIES b{} NaN\nSERIES c{} +Inf\nSERIES d{} -Inf\nSERIES e{} +Inf\n"
     "SERIES f{} +Inf\nSERIES g{} +Inf\nSERIES h{} -Inf\nEOF\n",
     0},
    {"a 1e3\nb 1E-3\nc .5\nd 5.\ne +7\nf -0\ng 007\nh 1e-400\n",
     "SERIES a{} 1000\nSERIES b{} 0.001\nSERIES c{} 0.5\nSERIES d{} 5\nSERIES e{} 7\n"
     "SERIES f{} -0\nSERIES g{} 7\nSERIES h{} 0\nEOF\n",
     0},
    {"a 1.7976931348623157e308\nb 4.9e-324\nc 123456789012345678901234567890\n"
     "d 9007199254740993\ne 0.1000000000000000055511151231257827\n",
     "SERIES a{} 1.7976931348623157e+308\nSERIES b{} 5e-324\nSERIES c{} 1.2345678901234568e+29\n"
     "SERIES d{} 9.007199254740992e+15\nSERIES e{} 0.1\nEOF\n",
     0},
    /* Timestamps: int64 milliseconds. */
    {"a 1 0\nb 2 9223372036854775807\nc 3 \t 42 \t\n",
     "SERIES a{} 1 @0\nSERIES b{} 2 @9223372036854775807\nSERIES c{} 3 @42\nEOF\n", 0},
    /* Label values: \\ \" \n are escapes, other escapes stay, raw line breaks
     * are allowed as upstream's lexer allows them; UTF-8. */
    {"a{b=\"x\\\\y\\\"z\\nw\"} 1\n", "SERIES a{b=\"x\\\\y\\\"z\\nw\"} 1\nEOF\n", 0},
    {"a{b=\"\\t\\x\\é\"} 1\n", "SERIES a{b=\"\\\\t\\\\x\\\\é\"} 1\nEOF\n", 0},
    {"a{b=\"line\nbreak\"} 1\n", "SERIES a{b=\"line\\nbreak\"} 1\nEOF\n", 0},
    {"a{b=\"ünïcödé ☃ 𝄞\"} 1\n", "SERIES a{b=\"ünïcödé ☃ 𝄞\"} 1\nEOF\n", 0},
    {"a{b=\"\",c=\"{}=,# \"} 1\n", "SERIES a{b=\"\",c=\"{}=,# \"} 1\nEOF\n", 0},
    /* HELP: \\ and \n unescaped, \" kept; one byte after the name dropped. */
    {"# HELP a x\\\\y\\nz\\\"w\\t\n", "HELP a \"x\\\\y\\nz\\\\\\\"w\\\\t\"\nEOF\n", 0},
    {"# HELP a   two spaces kept\n", "HELP a \"  two spaces kept\"\nEOF\n", 0},
    {"# HELP a!b\n# HELP c\tt\n# HELP d \t \n", "HELP a \"b\"\nHELP c \"t\"\nHELP d \"\"\nEOF\n",
     0},
    {"#\t \tHELP\t a  b", "HELP a \" b\"\nEOF\n", 0},
    {"# HELP a ünï\n", "HELP a \"ünï\"\nEOF\n", 0},
    /* TYPE. */
    {"# TYPE a counter\n# TYPE b gauge\n# TYPE c histogram\n# TYPE d summary\n# TYPE e untyped\n",
     "TYPE a counter\nTYPE b gauge\nTYPE c histogram\nTYPE d summary\nTYPE e unknown\nEOF\n", 0},
    /* Comments: any other "#" line, whole. */
    {"#HELP a b\n# HELPa b\n# help a b\n# TYPE\n#",
     "COMMENT \"#HELP a b\"\nCOMMENT \"# HELPa b\"\n"
     "COMMENT \"# help a b\"\nCOMMENT \"# TYPE\"\nCOMMENT \"#\"\nEOF\n",
     0},
    {"  # indented\n", "COMMENT \"# indented\"\nEOF\n", 0},
    /* Names. */
    {"a:b_c:9 1\n_x{_y=\"1\"} 2\n", "SERIES a:b_c:9{} 1\nSERIES _x{_y=\"1\"} 2\nEOF\n", 0},
};

static void test_valid(void **state)
{
    check_cases(MODEL_FORMAT_TEXT, valid, sizeof valid / sizeof *valid);
}

static const dump_case invalid[] = {
    {"a", "ERROR in:1:2: expected value after metric, got end of input\n", 0},
    {"a\n", "ERROR in:1:2: expected value after metric, got end of line\n", 0},
    {"a{b='c'} 1\n", "ERROR in:1:5: expected label value, got \"'\"\n", 0},
    {"a{b=\n", "ERROR in:1:5: expected label value, got end of line\n", 0},
    {"a{\xff=\"foo\"} 1\n", "ERROR in:1:3: expected label name, got \"\\xff\"\n", 0},
    {"a{b=\"\xff\"} 1\n", "ERROR in:1:6: invalid UTF-8 in value of label \"b\"\n", 0},
    {"a{b=\"\\\xff\"} 1\n", "ERROR in:1:6: invalid UTF-8 in value of label \"b\"\n", 0},
    {"a{b=\"\xed\xa0\x80\"} 1\n", "ERROR in:1:6: invalid UTF-8 in value of label \"b\"\n", 0},
    {"a true\n", "ERROR in:1:3: invalid value \"true\" for metric \"a\"\n", 0},
    {"x 1\ny 2\nsomething_weird{problem=\"",
     "SERIES x{} 1\nSERIES y{} 2\n"
     "ERROR in:3:25: unterminated value of label \"problem\"\n",
     0},
    {"a{b=\"c\\", "ERROR in:1:5: unterminated value of label \"b\"\n", 0},
    {"a{b=\"c\\\nd\"} 1\n", "ERROR in:1:7: invalid escape at end of line in value of label \"b\"\n",
     0},
    {"empty_label_name{=\"\"} 0", "ERROR in:1:18: expected label name, got \"=\"\n", 0},
    {"a{b=\"1\",,c=\"2\"} 1\n", "ERROR in:1:9: expected label name, got \",\"\n", 0},
    {"a{,} 1\n", "ERROR in:1:3: expected label name, got \",\"\n", 0},
    {"a{b\"c\"} 1\n", "ERROR in:1:4: expected \"=\" after label name, got \"\\\"\"\n", 0},
    {"a{b=\"c\"", "ERROR in:1:8: expected label name, got end of input\n", 0},
    {"a{b=\"c\"}{d=\"e\"} 1\n", "ERROR in:1:9: expected value after metric, got \"{\"\n", 0},
    {"foo 1_2\n", "ERROR in:1:5: invalid value \"1_2\" for metric \"foo\"\n", 0},
    {"foo 0x1p-3\n", "ERROR in:1:5: invalid value \"0x1p-3\" for metric \"foo\"\n", 0},
    {"foo 0x10\n", "ERROR in:1:5: invalid value \"0x10\" for metric \"foo\"\n", 0},
    {"foo 1e309\n", "ERROR in:1:5: out of range value \"1e309\" for metric \"foo\"\n", 0},
    {"foo -1e309\n", "ERROR in:1:5: out of range value \"-1e309\" for metric \"foo\"\n", 0},
    {"foo +NaN\n", "ERROR in:1:5: invalid value \"+NaN\" for metric \"foo\"\n", 0},
    {"foo 1\r\n", "ERROR in:1:5: invalid value \"1\\r\" for metric \"foo\"\n", 0},
    {"foo 1}\n", "ERROR in:1:5: invalid value \"1}\" for metric \"foo\"\n", 0},
    {"foo 0 1_2\n", "ERROR in:1:8: expected end of line after timestamp, got \"_2\"\n", 0},
    {"foo 1 -2\n", "ERROR in:1:7: expected timestamp or end of line, got \"-\"\n", 0},
    {"foo 1 2 3\n", "ERROR in:1:9: expected end of line after timestamp, got \"3\"\n", 0},
    {"foo 1 # {a=\"b\"} 1\n", "ERROR in:1:7: expected timestamp or end of line, got \"#\"\n", 0},
    {"foo 1 9223372036854775808\n",
     "ERROR in:1:7: out of range timestamp \"9223372036854775808\" for metric \"foo\"\n", 0},
    {"{a=\"ok\"} 1", "ERROR in:1:1: expected a metric name or a comment, got \"{\"\n", 0},
    {"9a 1", "ERROR in:1:1: expected a metric name or a comment, got \"9a\"\n", 0},
    {"a 1\n\0b 1",
     "SERIES a{} 1\nERROR in:2:1: expected a metric name or a comment, got \"\\x00\"\n", 2 + 6},
    {"# TYPE #\n", "ERROR in:1:8: expected metric name after TYPE, got \"#\"\n", 0},
    {"# HELP #\n", "ERROR in:1:8: expected metric name after HELP, got \"#\"\n", 0},
    {"# HELP \n", "ERROR in:1:8: expected metric name after HELP, got end of line\n", 0},
    {"# TYPE a", "ERROR in:1:9: invalid metric type \"\"\n", 0},
    {"# TYPE a info\n", "ERROR in:1:10: invalid metric type \"info\"\n", 0},
    {"# TYPE a counter \n", "ERROR in:1:10: invalid metric type \"counter \"\n", 0},
    {"# TYPE a Counter\n", "ERROR in:1:10: invalid metric type \"Counter\"\n", 0},
    {"# HELP a \xc3\n", "ERROR in:1:10: invalid UTF-8 in HELP text of \"a\"\n", 0},
    {"a{b=\"1\",b=\"2\"} 1\n", "ERROR in:1:9: duplicate label name \"b\"\n", 0},
    {"a{__name__=\"x\"} 1\n", "ERROR in:1:3: duplicate label name \"__name__\"\n", 0},
    /* Positions count lines and bytes. */
    {"# ok\n\n  a 1\n   b{c=\"é\"} 2 x\n",
     "COMMENT \"# ok\"\nSERIES a{} 1\n"
     "ERROR in:4:16: expected timestamp or end of line, got \"x\"\n",
     0},
    /* Long excerpts are cut. */
    {"a{b=\"1\"} 12345678901234567890123456789012345678901234567890x\n",
     "ERROR in:1:10: invalid value \"123456789012345678901234567890123456789012345678\"... for "
     "metric "
     "\"a\"\n",
     0},
};

static void test_invalid(void **state)
{
    check_cases(MODEL_FORMAT_TEXT, invalid, sizeof invalid / sizeof *invalid);
}

/* Many labels take the sorting path of the duplicate check. */
static void test_many_labels(void **state)
{
    core_sb in = CORE_SB_INIT, want = CORE_SB_INIT;
    core_sb_adds(&in, "m{");
    core_sb_adds(&want, "SERIES m{");
    for (int i = 0; i < 40; i++) {
        core_sb_addf(&in, "l%d=\"%d\",", 39 - i, i);
        core_sb_addf(&want, "%sl%d=\"%d\"", i ? "," : "", 39 - i, i);
    }
    core_sb_adds(&in, "} 1\n");
    core_sb_adds(&want, "} 1\nEOF\n");
    dump_case ok = {in.buf, want.buf, in.len};
    check_cases(MODEL_FORMAT_TEXT, &ok, 1);
    core_sb_truncate(&in, in.len - 4);
    core_sb_adds(&in, "l7=\"x\"} 1\n");
    dump_case dup = {in.buf, "ERROR in:1:7: duplicate label name \"l7\"\n", in.len};
    char *got = dump_all(MODEL_FORMAT_TEXT, dup.in, dup.len);
    assert_true(strncmp(got, "ERROR in:1:", 11) == 0 &&
                strstr(got, "duplicate label name \"l7\"") != NULL);
    free(got);
    core_sb_destroy(&in);
    core_sb_destroy(&want);
}

/* NaN samples carry Prometheus's normal NaN bits, never a stale marker's. */
static void test_nan_bits(void **state)
{
    static const char in[] = "a NaN\nb nan\n";
    model_parser *p = model_parser_new(MODEL_FORMAT_TEXT, in, sizeof in - 1, NULL);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(model_parser_next(p, NULL), MODEL_ENTRY_SERIES);
        double v = model_parser_value(p);
        uint64_t bits;
        memcpy(&bits, &v, sizeof bits);
        assert_true(bits == MODEL_NORMAL_NAN_BITS);
    }
    model_parser_free(p);
}

/* Decodes the hex digits in h[0..n) into out. */
static void unhex(const char *h, size_t n, core_sb *out)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        char byte[3] = {h[i], h[i + 1], 0};
        core_sb_addc(out, (char)strtol(byte, NULL, 16));
    }
}

/* Every value in parse_float.txt reads as Go's strconv.ParseFloat reads it
 * (inputs with the format's separators in them are not single values). */
static void test_values_like_go(void **state)
{
    size_t len;
    char *file = read_data("parse_float.txt", &len);
    char *data = core_strndup(file, len);
    core_sb in = CORE_SB_INIT;
    int n = 0, checked = 0;
    for (char *line = strtok(data, "\n"); line != NULL; line = strtok(NULL, "\n"), n++) {
        char *sp = strchr(line, ' ');
        assert_non_null(sp);
        core_sb_reset(&in);
        core_sb_adds(&in, "m ");
        unhex(line, (size_t)(sp - line), &in);
        if (in.len == 2 || strpbrk(in.buf + 2, " \t\n{") != NULL) continue;
        core_sb_addc(&in, '\n');
        const char *want = sp + 1;
        model_parser *p = model_parser_new(MODEL_FORMAT_TEXT, in.buf, in.len, NULL);
        core_err err;
        model_entry e = model_parser_next(p, &err);
        if (strcmp(want, "syntax") == 0 || strcmp(want, "range") == 0) {
            const char *msg = strcmp(want, "range") == 0 ? "out of range value" : "invalid value";
            if (e != MODEL_ENTRY_ERROR || strstr(err.msg, msg) == NULL)
                fail_msg("line %d: %s: want %s error, got entry %d", n, in.buf, want, e);
        } else {
            if (e != MODEL_ENTRY_SERIES) fail_msg("line %d: %s: %s", n, in.buf, err.msg);
            double v = model_parser_value(p);
            uint64_t bits, wbits = strtoull(want, NULL, 16);
            memcpy(&bits, &v, sizeof bits);
            if (isnan(v)) wbits = MODEL_NORMAL_NAN_BITS;
            if (bits != wbits)
                fail_msg("line %d: %s: got %016" PRIx64 ", want %s", n, in.buf, bits, want);
        }
        checked++;
        model_parser_free(p);
    }
    assert_true(checked > 1500);
    core_sb_destroy(&in);
    free(data);
    free(file);
}

/* Accessors, the escaped flag, raw values and label sets. */
static void test_accessors(void **state)
{
    static const char in[] =
        "# HELP m a\\nb\n# TYPE m gauge\nm{z=\"1\",a=\"x\\\"y\"} 2.5 17\n# c\n";
    model_parser *p = model_parser_new(MODEL_FORMAT_TEXT, in, sizeof in - 1, "body");
    assert_int_equal(model_parser_format(p), MODEL_FORMAT_TEXT);

    assert_int_equal(model_parser_next(p, NULL), MODEL_ENTRY_HELP);
    assert_true(model_parser_help_escaped(p));
    model_str h = model_parser_help(p), raw = model_parser_help_raw(p);
    assert_int_equal(h.len, 3);
    assert_memory_equal(h.p, "a\nb", 3);
    assert_int_equal(raw.len, 4);
    assert_ptr_equal(raw.p, in + 9);
    assert_int_equal(model_parser_type(p), MODEL_TYPE_UNKNOWN); /* not a TYPE entry */

    assert_int_equal(model_parser_next(p, NULL), MODEL_ENTRY_TYPE);
    assert_int_equal(model_parser_type(p), MODEL_TYPE_GAUGE);
    assert_int_equal(model_parser_help(p).len, 0);

    assert_int_equal(model_parser_next(p, NULL), MODEL_ENTRY_SERIES);
    size_t n;
    const model_label *l = model_parser_labels(p, &n);
    assert_int_equal(n, 2);
    assert_false(l[0].escaped);
    assert_ptr_equal(l[0].value.p, strstr(in, "1\""));
    assert_true(l[1].escaped);
    assert_int_equal(l[1].value.len, 3);
    assert_memory_equal(l[1].value.p, "x\"y", 3);
    assert_int_equal(l[1].raw.len, 4);
    model_str key = model_parser_series_key(p);
    assert_int_equal(key.len, strlen("m{z=\"1\",a=\"x\\\"y\"}"));
    assert_ptr_equal(key.p, strstr(in, "m{"));
    int64_t ts = 0;
    assert_true(model_parser_timestamp(p, &ts));
    assert_int_equal(ts, 17);
    assert_false(model_parser_exemplar(p, NULL));

    core_err err;
    core_labels *ls = model_parser_labels_new(p, NULL, &err);
    assert_non_null(ls);
    core_sb s = CORE_SB_INIT;
    core_labels_format(ls, &s);
    assert_string_equal(s.buf, "{__name__=\"m\", a=\"x\\\"y\", z=\"1\"}");
    free(ls);
    core_arena arena = {0};
    ls = model_parser_labels_new(p, &arena, &err);
    assert_non_null(ls);
    assert_string_equal(core_labels_get(ls, "__name__"), "m");
    core_arena_destroy(&arena);
    assert_null(model_parser_exemplar_labels_new(p, NULL, &err));

    assert_int_equal(model_parser_next(p, NULL), MODEL_ENTRY_COMMENT);
    assert_int_equal(model_parser_comment(p).len, 3);
    assert_null(model_parser_labels_new(p, NULL, &err));
    assert_string_equal(err.msg, "body: the current entry is not a series");

    assert_int_equal(model_parser_next(p, NULL), MODEL_ENTRY_EOF);
    assert_int_equal(model_parser_next(p, NULL), MODEL_ENTRY_EOF);
    assert_int_equal(model_parser_name(p).len, 0);
    assert_null(model_parser_error(p));
    core_sb_destroy(&s);
    model_parser_free(p);
}

/* A label value with a NUL byte cannot become a core_labels. */
static void test_labels_with_nul(void **state)
{
    static const char in[] = "m{a=\"x\0y\"} 1\n";
    model_parser *p = model_parser_new(MODEL_FORMAT_TEXT, in, sizeof in - 1, "body");
    assert_int_equal(model_parser_next(p, NULL), MODEL_ENTRY_SERIES);
    core_err err;
    assert_null(model_parser_labels_new(p, NULL, &err));
    assert_string_equal(err.msg, "body: the value of label \"a\" contains a NUL byte");
    model_parser_free(p);
}

/* After an error the parser keeps reporting it; reset starts over. */
static void test_sticky_error_and_reset(void **state)
{
    static const char bad[] = "a 1\nb x\nc 3\n", good[] = "d 4\n";
    model_parser *p = model_parser_new(MODEL_FORMAT_TEXT, bad, sizeof bad - 1, "first");
    core_err err;
    assert_int_equal(model_parser_next(p, &err), MODEL_ENTRY_SERIES);
    for (int i = 0; i < 3; i++) {
        memset(&err, 0, sizeof err);
        assert_int_equal(model_parser_next(p, &err), MODEL_ENTRY_ERROR);
        assert_string_equal(err.msg, "first:2:3: invalid value \"x\" for metric \"b\"");
        assert_string_equal(model_parser_error(p), err.msg);
        assert_int_equal(model_parser_name(p).len, 0);
    }
    assert_int_equal(model_parser_next(p, NULL), MODEL_ENTRY_ERROR);
    model_parser_reset(p, MODEL_FORMAT_TEXT, good, sizeof good - 1, NULL);
    assert_null(model_parser_error(p));
    assert_int_equal(model_parser_next(p, &err), MODEL_ENTRY_SERIES);
    assert_int_equal(model_parser_value(p), 4);
    assert_int_equal(model_parser_next(p, &err), MODEL_ENTRY_EOF);
    model_parser_reset(p, MODEL_FORMAT_TEXT, NULL, 0, "empty");
    assert_int_equal(model_parser_next(p, &err), MODEL_ENTRY_EOF);
    model_parser_free(p);
}

static void test_prefixes(void **state)
{
    check_prefixes(MODEL_FORMAT_TEXT, upstream_doc, sizeof upstream_doc - 1);
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++)
        check_prefixes(MODEL_FORMAT_TEXT, valid[i].in, strlen(valid[i].in));
    size_t len;
    char *doc = read_data("families.prom", &len);
    check_prefixes(MODEL_FORMAT_TEXT, doc, len);
    free(doc);
}

/* ---- The known-series shortcut */

/* Series texts a first pass accepted: what a scraper's cache holds. */
typedef struct known_set {
    char *keys[256];
    size_t n, hits, asked;
} known_set;

static bool is_known(void *ctx, const char *s, size_t len)
{
    known_set *k = ctx;
    k->asked++;
    for (size_t i = 0; i < k->n; i++)
        if (strlen(k->keys[i]) == len && memcmp(k->keys[i], s, len) == 0) {
            k->hits++;
            return true;
        }
    return false;
}

/* The dump of `in` and its series keys, with the shortcut knowing `k`. */
static char *dump_known(const char *in, size_t len, known_set *k, known_set *learn)
{
    char *buf = exact_copy(in, len);
    model_parser *p = model_parser_new(MODEL_FORMAT_TEXT, buf, len, "in");
    if (k) model_parser_set_known(p, is_known, k);
    core_sb out = CORE_SB_INIT;
    core_err err;
    for (;;) {
        model_entry e = model_parser_next(p, &err);
        if (e == MODEL_ENTRY_SERIES) {
            model_str key = model_parser_series_key(p);
            core_sb_adds(&out, "KEY ");
            core_sb_add(&out, key.p, key.len);
            core_sb_addc(&out, '\n');
            if (learn && learn->n < 256) learn->keys[learn->n++] = strndup(key.p, key.len);
        }
        if (!dump_entry(&out, p, e, &err)) break;
    }
    model_parser_free(p);
    free(buf);
    return core_sb_detach(&out, NULL);
}

static void shortcut_same(const char *in, size_t len, known_set *total)
{
    known_set k = {0};
    char *plain = dump_known(in, len, NULL, &k);
    char *fast = dump_known(in, len, &k, NULL);
    if (strcmp(plain, fast) != 0)
        fail_msg("input %.*s\n--- without the shortcut\n%s--- with it\n%s", (int)len, in, plain,
                 fast);
    total->hits += k.hits;
    total->asked += k.asked;
    for (size_t i = 0; i < k.n; i++)
        free(k.keys[i]);
    free(plain);
    free(fast);
}

/* Every valid and invalid case, and more lines made for the shortcut, give
 * the same entries, keys and errors with the shortcut as without it, when
 * it knows the series a first pass accepted; labels (escapes too) are
 * lexed when asked. */
static void test_known_shortcut(void **state)
{
    (void)state;
    known_set total = {0};
    shortcut_same(upstream_doc, sizeof upstream_doc - 1, &total);
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++)
        shortcut_same(valid[i].in, valid[i].len ? valid[i].len : strlen(valid[i].in), &total);
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++)
        shortcut_same(invalid[i].in, invalid[i].len ? invalid[i].len : strlen(invalid[i].in),
                      &total);
    static const char *const extra[] = {
        "m 1 2\nm 1 2\n",
        "m{a=\"x 1\"} 2\nm{a=\"x 1\"} 2 3\n",
        "m{a=\"x\\\"y\\n\"} 2\t \nm {a=\"x\\\"y\\n\"}\t2 \t17\n",
        "m{a=\"b\"} 1\nm{a=\"b\"} 1 99999999999999999999\n", /* timestamp out of range */
        "m{a=\"b\"} 1\nm{a=\"b\"} x\n",                      /* value does not parse */
        "m{a=\"b\"} 1\nm{a=\"b\"} 1{\n",
        "m{a=\"b\"} 1\nm{a=\"b\"} 1 2 3\n",
        "m{a=\"b\"} 1\nm{a=\"b\"}\n",
        "m{a=\"b\"} 1\nm{a=\"b\"} 1\r\n",
        "m{a=\"b\"} 1\nm{a=\"b\"} 1 1x\n",
        "m{a=\"b\"} +Inf\nm{a=\"b\"} NaN 5",
    };
    for (size_t i = 0; i < sizeof extra / sizeof *extra; i++)
        shortcut_same(extra[i], strlen(extra[i]), &total);
    assert_true(total.hits > 40); /* the shortcut did take lines */
    assert_true(total.asked > total.hits);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstream_document),
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_many_labels),
        cmocka_unit_test(test_nan_bits),
        cmocka_unit_test(test_values_like_go),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_labels_with_nul),
        cmocka_unit_test(test_sticky_error_and_reset),
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_known_shortcut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
