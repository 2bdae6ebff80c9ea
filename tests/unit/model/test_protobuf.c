/*
 * test_protobuf.c - the delimited protobuf MetricFamily parser.
 *
 * Inputs are families.pb, written by the Go client's own encoder (see
 * data/families.go), and messages encoded by hand below, byte by byte, to
 * reach what the Go encoder never writes: fields in odd orders, unknown
 * fields of every wire type, repeated message fields that must merge, and
 * every way the bytes can be broken.  Every prefix and many corruptions of
 * the documents are parsed too, in exactly sized buffers.
 */
#include "unit/unit.h"

#include "model/model.h"

#include "helpers.h"

/* ---- A protobuf writer: each call appends one field and returns the
 * message, so messages nest as expressions. */

typedef core_sb msg;

static msg *m(void)
{
    return core_calloc(1, sizeof(msg));
}

static void put_varint(msg *b, uint64_t v)
{
    while (v >= 0x80) {
        core_sb_addc(b, (char)(v | 0x80));
        v >>= 7;
    }
    core_sb_addc(b, (char)v);
}

static void put_le(msg *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        core_sb_addc(b, (char)(v >> (8 * i)));
}

static msg *var(msg *b, unsigned f, uint64_t v)
{
    put_varint(b, f << 3 | 0);
    put_varint(b, v);
    return b;
}

static msg *dbl(msg *b, unsigned f, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    put_varint(b, f << 3 | 1);
    put_le(b, u, 8);
    return b;
}

static msg *fix32(msg *b, unsigned f, uint32_t v)
{
    put_varint(b, f << 3 | 5);
    put_le(b, v, 4);
    return b;
}

static msg *bytes(msg *b, unsigned f, const char *s, size_t n)
{
    put_varint(b, f << 3 | 2);
    put_varint(b, n);
    core_sb_add(b, s, n);
    return b;
}

static msg *str(msg *b, unsigned f, const char *s)
{
    return bytes(b, f, s, strlen(s));
}

/* Embeds (and frees) sub as field f. */
static msg *sub(msg *b, unsigned f, msg *s)
{
    bytes(b, f, s->buf ? s->buf : "", s->len);
    core_sb_destroy(s);
    free(s);
    return b;
}

static msg *raw(msg *b, const char *s, size_t n)
{
    core_sb_add(b, s, n);
    return b;
}

static msg *label(const char *name, const char *value)
{
    return str(str(m(), 1, name), 2, value);
}

/* A family: name, help, type (type < 0: none) and metrics added later. */
static msg *family(const char *name, const char *help, int type)
{
    msg *f = str(m(), 1, name);
    if (help) str(f, 2, help);
    if (type >= 0) var(f, 3, (uint64_t)type);
    return f;
}

/* Appends the delimited family to body and frees it. */
static void frame(msg *body, msg *fam)
{
    put_varint(body, fam->len);
    core_sb_add(body, fam->buf ? fam->buf : "", fam->len);
    core_sb_destroy(fam);
    free(fam);
}

enum { COUNTER, GAUGE, SUMMARY, UNTYPED, HISTOGRAM, GAUGE_HISTOGRAM };

static void check_body(msg *body, const char *want)
{
    dump_case c = {body->buf ? body->buf : "", want, body->len};
    if (body->len == 0) {
        char *got = dump_all(MODEL_FORMAT_PROTOBUF, "", 0);
        assert_string_equal(got, want);
        free(got);
    } else
        check_cases(MODEL_FORMAT_PROTOBUF, &c, 1);
    check_prefixes(MODEL_FORMAT_PROTOBUF, c.in, body->len);
    core_sb_destroy(body);
}

/* ---- The Go client's encoding */

static const char families_want[] =
    "HELP http_requests_total \"Requests \\\\ served.\\nSecond line.\"\n"
    "TYPE http_requests_total counter\n"
    "SERIES http_requests_total{code=\"200\",method=\"GET\"} 1027 # {trace_id=\"abc123\"} 1 "
    "@1600000000500\n"
    "SERIES http_requests_total{code=\"500\",method=\"POST\"} 3 @1395066363000\n"
    "HELP temperature \"A gauge with odd values.\"\n"
    "TYPE temperature gauge\n"
    "SERIES temperature{where=\"in \\\"quotes\\\"\"} NaN\n"
    "SERIES temperature{where=\"back\\\\slash\"} +Inf\n"
    "SERIES temperature{where=\"new\\nline\"} -Inf\n"
    "SERIES temperature{where=\"ünïcödé ☃\"} -1.5e-07\n"
    "SERIES temperature{where=\"\"} 1.2345678901234567e+300\n"
    "SERIES temperature{} 0.1\n"
    "HELP untyped_thing \"\"\n"
    "TYPE untyped_thing unknown\n"
    "SERIES untyped_thing{} 42\n"
    "HELP rpc_duration_seconds \"RPC latency.\"\n"
    "TYPE rpc_duration_seconds summary\n"
    "SERIES rpc_duration_seconds{service=\"a\",quantile=\"0.01\"} 3102\n"
    "SERIES rpc_duration_seconds{service=\"a\",quantile=\"0.5\"} 4773\n"
    "SERIES rpc_duration_seconds{service=\"a\",quantile=\"0.99\"} 76656\n"
    "SERIES rpc_duration_seconds_sum{service=\"a\"} 1.7560473e+07\n"
    "SERIES rpc_duration_seconds_count{service=\"a\"} 2693\n"
    "SERIES rpc_duration_seconds_sum{service=\"b\"} 0\n"
    "SERIES rpc_duration_seconds_count{service=\"b\"} 0\n"
    "HELP request_size_bytes \"Sizes.\"\n"
    "TYPE request_size_bytes histogram\n"
    "SERIES request_size_bytes_bucket{path=\"/x\",le=\"0.005\"} 24054 # {trace_id=\"t1\"} 0.0042 "
    "@1600000001500\n"
    "SERIES request_size_bytes_bucket{path=\"/x\",le=\"0.25\"} 33444\n"
    "SERIES request_size_bytes_bucket{path=\"/x\",le=\"2.5\"} 100392 # "
    "{trace_id=\"t2\",span=\"s\"} 1.7\n"
    "SERIES request_size_bytes_bucket{path=\"/x\",le=\"10\"} 129000\n"
    "SERIES request_size_bytes_bucket{path=\"/x\",le=\"1.0000005e+06\"} 129389\n"
    "SERIES request_size_bytes_bucket{path=\"/x\",le=\"+Inf\"} 144320\n"
    "SERIES request_size_bytes_sum{path=\"/x\"} 53423.5\n"
    "SERIES request_size_bytes_count{path=\"/x\"} 144320\n"
    "EOF\n";

static void test_go_client_encoding(void **state)
{
    size_t len;
    char *doc = read_data("families.pb", &len);
    dump_case c = {doc, families_want, len};
    check_cases(MODEL_FORMAT_PROTOBUF, &c, 1);
    check_prefixes(MODEL_FORMAT_PROTOBUF, doc, len);
    free(doc);
}

/* Every byte replaced by a few values: the parser ends in EOF or ERROR
 * without reading out of bounds. */
static void test_corruptions(void **state)
{
    static const unsigned char values[] = {0x00, 0x01, 0x02, 0x05, 0x07, 0x0a, 0x7f, 0x80, 0xff};
    size_t len;
    char *doc = read_data("families.pb", &len);
    for (size_t i = 0; i < len; i++)
        for (size_t v = 0; v < sizeof values; v++) {
            char *copy = exact_copy(doc, len);
            copy[i] = (char)values[v];
            char *got = dump_all(MODEL_FORMAT_PROTOBUF, copy, len);
            assert_true(strstr(got, "EOF\n") != NULL || strstr(got, "ERROR ") != NULL);
            free(got);
            free(copy);
        }
    free(doc);
}

/* ---- Hand-encoded messages */

static void test_counter_with_exemplar(void **state)
{
    msg body = CORE_SB_INIT;
    msg *ts = var(var(m(), 1, 1600000000), 2, 123456789);
    msg *ex =
        sub(dbl(sub(sub(m(), 1, label("trace_id", "t")), 1, label("span", "s")), 2, 0.5), 3, ts);
    msg *metric = sub(sub(m(), 1, label("a", "b")), 3, sub(dbl(m(), 1, 17), 2, ex));
    /* An exemplar with no labels (the fuzzer's first find). */
    msg *bare = sub(m(), 3, sub(dbl(m(), 1, 2), 2, dbl(m(), 2, 1)));
    frame(&body, sub(sub(family("c_total", "Help.", COUNTER), 4, metric), 4, bare));
    check_body(&body,
               "HELP c_total \"Help.\"\nTYPE c_total counter\n"
               "SERIES c_total{a=\"b\"} 17 # {trace_id=\"t\",span=\"s\"} 0.5 @1600000000123\n"
               "SERIES c_total{} 2 # {} 1\nEOF\n");
}

static void test_all_types(void **state)
{
    msg body = CORE_SB_INIT;
    frame(&body, sub(family("g", "", GAUGE), 4, sub(var(m(), 6, 5), 2, dbl(m(), 1, -2.5))));
    frame(&body,
          sub(family("u", "", UNTYPED), 4, sub(var(m(), 6, (uint64_t)-7), 5, dbl(m(), 1, 3))));
    msg *q = sub(sub(m(), 3, dbl(dbl(m(), 1, 0.5), 2, 10)), 3, dbl(dbl(m(), 1, 0.999), 2, 20));
    frame(&body, sub(family("s", "", SUMMARY), 4, sub(m(), 4, dbl(var(q, 1, 9), 2, 99.5))));
    frame(&body, sub(family("s2", "", SUMMARY), 4, sub(m(), 4, var(m(), 1, 1))));
    msg *h = var(dbl(m(), 2, 1.5), 1, 4);
    sub(h, 3, dbl(var(m(), 1, 1), 2, 0.005));
    sub(h, 3, dbl(var(m(), 1, 2), 2, 1));
    sub(h, 3, dbl(var(m(), 1, 3), 2, 1e6));
    frame(&body, sub(family("h", "", HISTOGRAM), 4, sub(sub(m(), 1, label("x", "y")), 7, h)));
    msg *gh = var(dbl(m(), 2, 0), 1, 2);
    sub(gh, 3, dbl(var(m(), 1, 1), 2, 1e-7));
    sub(gh, 3, dbl(var(m(), 1, 2), 2, INFINITY));
    sub(gh, 3, dbl(var(m(), 1, 3), 2, 5)); /* after +Inf: dropped */
    frame(&body, sub(family("gh", "", GAUGE_HISTOGRAM), 4, sub(m(), 7, gh)));
    /* A histogram without buckets still has its +Inf one; float counts win. */
    msg *fh = dbl(dbl(m(), 4, 2.5), 2, 1);
    sub(fh, 3, dbl(dbl(var(m(), 1, 7), 4, 0.5), 2, 1));
    frame(&body, sub(family("fh", "", HISTOGRAM), 4, sub(m(), 7, fh)));
    frame(&body, sub(family("e", "", HISTOGRAM), 4, sub(m(), 7, m())));
    check_body(&body,
               "HELP g \"\"\nTYPE g gauge\nSERIES g{} -2.5 @5\n"
               "HELP u \"\"\nTYPE u unknown\nSERIES u{} 3 @-7\n"
               "HELP s \"\"\nTYPE s summary\n"
               "SERIES s{quantile=\"0.5\"} 10\nSERIES s{quantile=\"0.999\"} 20\n"
               "SERIES s_sum{} 99.5\nSERIES s_count{} 9\n"
               "HELP s2 \"\"\nTYPE s2 summary\nSERIES s2_sum{} 0\nSERIES s2_count{} 1\n"
               "HELP h \"\"\nTYPE h histogram\n"
               "SERIES h_bucket{x=\"y\",le=\"0.005\"} 1\nSERIES h_bucket{x=\"y\",le=\"1\"} 2\n"
               "SERIES h_bucket{x=\"y\",le=\"1e+06\"} 3\nSERIES h_bucket{x=\"y\",le=\"+Inf\"} 4\n"
               "SERIES h_sum{x=\"y\"} 1.5\nSERIES h_count{x=\"y\"} 4\n"
               "HELP gh \"\"\nTYPE gh gaugehistogram\n"
               "SERIES gh_bucket{le=\"1e-07\"} 1\nSERIES gh_bucket{le=\"+Inf\"} 2\n"
               "SERIES gh_sum{} 0\nSERIES gh_count{} 2\n"
               "HELP fh \"\"\nTYPE fh histogram\n"
               "SERIES fh_bucket{le=\"1\"} 0.5\nSERIES fh_bucket{le=\"+Inf\"} 2.5\n"
               "SERIES fh_sum{} 1\nSERIES fh_count{} 2.5\n"
               "HELP e \"\"\nTYPE e histogram\n"
               "SERIES e_bucket{le=\"+Inf\"} 0\nSERIES e_sum{} 0\nSERIES e_count{} 0\nEOF\n");
}

/* Families without metrics give nothing; the unit gives a UNIT entry; the
 * type defaults to counter; fields may come in any order. */
static void test_families(void **state)
{
    msg body = CORE_SB_INIT;
    frame(&body, m());
    frame(&body, family("nometrics", "x", GAUGE));
    msg *f = sub(m(), 4, sub(m(), 3, dbl(m(), 1, 1)));
    str(var(str(str(f, 5, "seconds"), 2, "late help"), 3, COUNTER), 1, "late_seconds");
    frame(&body, f);
    frame(&body, sub(family("defaulted", NULL, -1), 4, m()));
    frame(&body, sub(sub(family("two", NULL, GAUGE), 4, sub(m(), 1, label("i", "1"))), 4,
                     sub(m(), 1, label("i", "2"))));
    check_body(
        &body,
        "HELP late_seconds \"late help\"\nUNIT late_seconds \"seconds\"\nTYPE late_seconds "
        "counter\n"
        "SERIES late_seconds{} 1\n"
        "HELP defaulted \"\"\nTYPE defaulted counter\nSERIES defaulted{} 0\n"
        "HELP two \"\"\nTYPE two gauge\nSERIES two{i=\"1\"} 0\nSERIES two{i=\"2\"} 0\nEOF\n");
    msg empty = CORE_SB_INIT;
    check_body(&empty, "EOF\n");
}

/* Unknown fields of every wire type are skipped at every level; repeated
 * message fields merge; value messages of other types are not read. */
static void test_unknown_fields_and_merging(void **state)
{
    msg body = CORE_SB_INIT;
    msg *unknown = fix32(dbl(str(var(m(), 99, 300), 98, "zz"), 97, 1), 96, 7);
    msg *lp = raw(label("a", "b"), unknown->buf, unknown->len);
    msg *c1 = raw(dbl(m(), 1, 1), unknown->buf, unknown->len);
    msg *c2 = dbl(m(), 1, 2); /* a second counter field: merged, later value wins */
    msg *metric = raw(sub(sub(sub(m(), 1, lp), 3, c1), 3, c2), unknown->buf, unknown->len);
    sub(metric, 2, raw(m(), "\xff\xff", 2)); /* a gauge in a counter family: not decoded */
    msg *f = raw(sub(family("merged_total", "", COUNTER), 4, metric), unknown->buf, unknown->len);
    frame(&body, f);
    msg *h1 = sub(var(m(), 1, 3), 3, dbl(var(m(), 1, 1), 2, 1));
    msg *h2 = sub(dbl(m(), 2, 4), 3, dbl(var(m(), 1, 2), 2, 2));
    sub(h2, 5, raw(m(), "\x01\x02", 2)); /* native histogram fields: skipped */
    var(h2, 7, 9);
    frame(&body, sub(family("h", "", HISTOGRAM), 4, sub(sub(m(), 7, h1), 7, h2)));
    core_sb_destroy(unknown);
    free(unknown);
    check_body(
        &body,
        "HELP merged_total \"\"\nTYPE merged_total counter\nSERIES merged_total{a=\"b\"} 2\n"
        "HELP h \"\"\nTYPE h histogram\n"
        "SERIES h_bucket{le=\"1\"} 1\nSERIES h_bucket{le=\"2\"} 2\nSERIES h_bucket{le=\"+Inf\"} 3\n"
        "SERIES h_sum{} 4\nSERIES h_count{} 3\nEOF\n");
}

/* ---- Errors, with their byte offsets */

typedef struct pb_error_case {
    const char *in;
    size_t len;
    const char *want;
} pb_error_case;

#define BYTES(s) s, sizeof s - 1

static const pb_error_case raw_errors[] = {
    {BYTES("\x80"), "ERROR in: byte 0: invalid message length\n"},
    {BYTES("\x80\x80\x80\x80\x80\x01"), "ERROR in: byte 0: invalid message length\n"},
    {BYTES("\x0a\x0a\x01"), "ERROR in: byte 0: message length 10 exceeds the 2 bytes left\n"},
    {BYTES("\x02\x0a\x05"), "ERROR in: byte 1: field length exceeds its message\n"},
    {BYTES("\x01\x80"), "ERROR in: byte 1: invalid varint in field key\n"},
    {BYTES("\x01\x00"), "ERROR in: byte 1: invalid field number\n"},
    {BYTES("\x01\x0b"),
     "ERROR in: byte 1: unsupported wire type (groups are not used by metrics.proto)\n"},
    {BYTES("\x01\x0e"),
     "ERROR in: byte 1: unsupported wire type (groups are not used by metrics.proto)\n"},
    {BYTES("\x02\x08\x80"), "ERROR in: byte 1: invalid varint in field value\n"},
    {BYTES("\x0b\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02"),
     "ERROR in: byte 1: invalid varint in field value\n"},
    {BYTES("\x03\x09\x00\x00"), "ERROR in: byte 1: truncated fixed-size field\n"},
    {BYTES("\x03\x0d\x00\x00"), "ERROR in: byte 1: truncated fixed-size field\n"},
    {BYTES("\x02\x08\x01"), "ERROR in: byte 1: MetricFamily.name has wire type 0, want 2\n"},
    {BYTES("\x02\x1a\x00"), "ERROR in: byte 1: MetricFamily.type has wire type 2, want 0\n"},
    {BYTES("\x02\x20\x00"), "ERROR in: byte 1: MetricFamily.metric has wire type 0, want 2\n"},
    /* Valid family, then a truncated one. */
    {BYTES("\x07\x0a\x01\x61\x22\x02\x30\x01\x05\x0a"),
     "HELP a \"\"\nTYPE a counter\nSERIES a{} 0 @1\n"
     "ERROR in: byte 8: message length 5 exceeds the 1 bytes left\n"},
};

static void test_raw_errors(void **state)
{
    for (size_t i = 0; i < sizeof raw_errors / sizeof *raw_errors; i++) {
        char *got = dump_all(MODEL_FORMAT_PROTOBUF, raw_errors[i].in, raw_errors[i].len);
        if (strcmp(got, raw_errors[i].want) != 0)
            fail_msg("case %zu:\n--- want\n%s--- got\n%s", i, raw_errors[i].want, got);
        free(got);
    }
}

/* One family with one metric whose bytes are `metric`, the error wanted. */
static void check_metric_error(msg *metric, int type, const char *want)
{
    msg body = CORE_SB_INIT;
    frame(&body, sub(family("m", NULL, type), 4, metric));
    char *got = dump_all(MODEL_FORMAT_PROTOBUF, body.buf, body.len);
    if (strcmp(got, want) != 0) fail_msg("--- want\n%s--- got\n%s", want, got);
    free(got);
    core_sb_destroy(&body);
}

/* Family bytes: 0 length, 1-3 name "m", 4-5 type, 6-7 metric key and length,
 * so the metric's own fields start at byte 8. */
#define MT "HELP m \"\"\nTYPE m counter\n"

static void test_metric_errors(void **state)
{
    check_metric_error(sub(m(), 1, label("1a", "x")), COUNTER,
                       MT "ERROR in: byte 8: invalid label name \"1a\"\n");
    check_metric_error(sub(m(), 1, label("", "x")), COUNTER,
                       MT "ERROR in: byte 8: invalid label name \"\"\n");
    check_metric_error(sub(m(), 1, label("a", "\xff")), COUNTER,
                       MT "ERROR in: byte 8: invalid UTF-8 in value of label \"a\"\n");
    check_metric_error(sub(sub(m(), 1, label("a", "1")), 1, label("a", "2")), COUNTER,
                       MT "ERROR in: byte 20: duplicate label name \"a\"\n");
    check_metric_error(sub(m(), 1, label("__name__", "x")), COUNTER,
                       MT "ERROR in: byte 12: duplicate label name \"__name__\"\n");
    check_metric_error(var(m(), 1, 1), COUNTER,
                       MT "ERROR in: byte 8: Metric.label has wire type 0, want 2\n");
    check_metric_error(var(m(), 7, 1), COUNTER,
                       MT "ERROR in: byte 8: Metric.histogram has wire type 0, want 2\n");
    check_metric_error(str(m(), 6, ""), COUNTER,
                       MT "ERROR in: byte 8: Metric.timestamp_ms has wire type 2, want 0\n");
    check_metric_error(sub(m(), 3, var(m(), 1, 1)), COUNTER,
                       MT "ERROR in: byte 10: Counter.value has wire type 0, want 1\n");
    check_metric_error(sub(m(), 1, var(m(), 1, 1)), COUNTER,
                       MT "ERROR in: byte 10: LabelPair.name has wire type 0, want 2\n");
    /* Exemplars. */
    msg *ex = sub(sub(m(), 1, label("t", "1")), 1, label("t", "2"));
    check_metric_error(sub(m(), 3, sub(m(), 2, ex)), COUNTER,
                       MT "ERROR in: byte 24: duplicate exemplar label name \"t\"\n");
    msg *ts = sub(m(), 3, var(m(), 1, (uint64_t)INT64_MAX));
    check_metric_error(sub(m(), 3, sub(m(), 2, ts)), COUNTER,
                       MT "ERROR in: byte 12: exemplar timestamp out of range\n");
    check_metric_error(sub(m(), 3, sub(m(), 2, dbl(m(), 3, 1))), COUNTER,
                       MT "ERROR in: byte 12: Exemplar.timestamp has wire type 1, want 2\n");
    /* A user label named like the bucket or quantile label. */
    check_metric_error(
        sub(sub(m(), 1, label("le", "x")), 7, m()), HISTOGRAM,
        "HELP m \"\"\nTYPE m histogram\nERROR in: byte 6: duplicate label name \"le\"\n");
    check_metric_error(
        sub(sub(m(), 1, label("quantile", "x")), 4, sub(m(), 3, dbl(m(), 1, 0.5))), SUMMARY,
        "HELP m \"\"\nTYPE m summary\nERROR in: byte 6: duplicate label name \"quantile\"\n");
    check_metric_error(sub(sub(m(), 1, label("quantile", "x")), 4, m()), SUMMARY,
                       "HELP m \"\"\nTYPE m summary\nSERIES m_sum{quantile=\"x\"} 0\n"
                       "SERIES m_count{quantile=\"x\"} 0\nEOF\n");
    check_metric_error(sub(m(), 7, sub(m(), 3, var(m(), 2, 1))), HISTOGRAM,
                       "HELP m \"\"\nTYPE m histogram\nERROR in: byte 12: Bucket.upper_bound has "
                       "wire type 0, want 1\n");
    check_metric_error(sub(m(), 4, dbl(m(), 1, 1)), SUMMARY,
                       "HELP m \"\"\nTYPE m summary\nERROR in: byte 10: Summary.sample_count has "
                       "wire type 1, want 0\n");
}

static void test_family_errors(void **state)
{
    struct {
        const char *name, *help;
        int type;
        const char *want;
    } cases[] = {
        {"1abc", "", COUNTER, "ERROR in: byte 0: invalid metric name \"1abc\"\n"},
        {"", "", COUNTER, "ERROR in: byte 0: invalid metric name \"\"\n"},
        {"a-b", "", COUNTER, "ERROR in: byte 0: invalid metric name \"a-b\"\n"},
        {"ok", "\xc3(", COUNTER, "ERROR in: byte 0: invalid UTF-8 in the help of metric \"ok\"\n"},
        {"ok", "", 6, "ERROR in: byte 0: unknown metric type 6 for metric \"ok\"\n"},
        {"ok", "", -1, "HELP ok \"\"\nTYPE ok counter\nSERIES ok{} 0\nEOF\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        msg body = CORE_SB_INIT;
        frame(&body, sub(family(cases[i].name, cases[i].help, cases[i].type), 4, m()));
        char *got = dump_all(MODEL_FORMAT_PROTOBUF, body.buf, body.len);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu:\n--- want\n%s--- got\n%s", i, cases[i].want, got);
        free(got);
        core_sb_destroy(&body);
    }
    /* A negative enum value is a 10-byte varint. */
    msg body = CORE_SB_INIT;
    frame(&body, sub(var(str(m(), 1, "n"), 3, (uint64_t)-2), 4, m()));
    char *got = dump_all(MODEL_FORMAT_PROTOBUF, body.buf, body.len);
    assert_string_equal(got, "ERROR in: byte 0: unknown metric type -2 for metric \"n\"\n");
    free(got);
    core_sb_destroy(&body);
    /* A unit that is not UTF-8. */
    frame(&body, sub(str(family("u", NULL, GAUGE), 5, "\xff"), 4, m()));
    got = dump_all(MODEL_FORMAT_PROTOBUF, body.buf, body.len);
    assert_string_equal(got, "ERROR in: byte 0: invalid UTF-8 in the unit of metric \"u\"\n");
    free(got);
    core_sb_destroy(&body);
}

/* The series key, label sets and exemplar of protobuf series. */
static void test_accessors(void **state)
{
    msg body = CORE_SB_INIT;
    msg *ex = dbl(sub(m(), 1, label("trace_id", "x")), 2, 7);
    msg *h = sub(var(m(), 1, 1), 3, sub(dbl(var(m(), 1, 1), 2, 0.25), 3, ex));
    frame(&body, sub(family("h", "", HISTOGRAM), 4, sub(sub(m(), 1, label("z", "1")), 7, h)));
    model_parser *p = model_parser_new(MODEL_FORMAT_PROTOBUF, body.buf, body.len, "pb");
    core_err err;
    assert_int_equal(model_parser_format(p), MODEL_FORMAT_PROTOBUF);
    assert_int_equal(model_parser_next(p, &err), MODEL_ENTRY_HELP);
    assert_false(model_parser_help_escaped(p));
    assert_int_equal(model_parser_next(p, &err), MODEL_ENTRY_TYPE);
    assert_int_equal(model_parser_type(p), MODEL_TYPE_HISTOGRAM);
    assert_int_equal(model_parser_next(p, &err), MODEL_ENTRY_SERIES);
    model_str key = model_parser_series_key(p);
    assert_int_equal(key.len, strlen("h_bucket\xffz\xff"
                                     "1\xffle\xff"
                                     "0.25"));
    assert_memory_equal(key.p,
                        "h_bucket\xffz\xff"
                        "1\xffle\xff"
                        "0.25",
                        key.len);
    core_labels *ls = model_parser_labels_new(p, NULL, &err);
    core_sb s = CORE_SB_INIT;
    core_labels_format(ls, &s);
    assert_string_equal(s.buf, "{__name__=\"h_bucket\", le=\"0.25\", z=\"1\"}");
    free(ls);
    core_labels *el = model_parser_exemplar_labels_new(p, NULL, &err);
    core_sb_reset(&s);
    core_labels_format(el, &s);
    assert_string_equal(s.buf, "{trace_id=\"x\"}");
    free(el);
    assert_false(model_parser_timestamp(p, NULL));
    assert_int_equal(model_parser_next(p, &err), MODEL_ENTRY_SERIES); /* +Inf */
    assert_false(model_parser_exemplar(p, NULL));
    key = model_parser_series_key(p);
    assert_memory_equal(key.p,
                        "h_bucket\xffz\xff"
                        "1\xffle\xff+Inf",
                        key.len);
    assert_int_equal(model_parser_next(p, &err), MODEL_ENTRY_SERIES);
    key = model_parser_series_key(p);
    assert_memory_equal(key.p,
                        "h_sum\xffz\xff"
                        "1",
                        key.len);
    assert_int_equal(model_parser_next(p, &err), MODEL_ENTRY_SERIES);
    assert_int_equal(model_parser_next(p, &err), MODEL_ENTRY_EOF);
    model_parser_free(p);
    core_sb_destroy(&s);
    core_sb_destroy(&body);
}

/* Many labels and buckets grow the arrays; a reset reuses them. */
static void test_growth_and_reset(void **state)
{
    msg body = CORE_SB_INIT;
    msg *metric = m();
    char name[16];
    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof name, "l%d", i);
        sub(metric, 1, label(name, "v"));
    }
    msg *h = var(m(), 1, 100);
    for (int i = 0; i < 100; i++)
        sub(h, 3, dbl(var(m(), 1, (uint64_t)i), 2, i));
    frame(&body, sub(family("big", "", HISTOGRAM), 4, sub(metric, 7, h)));
    model_parser *p = model_parser_new(MODEL_FORMAT_PROTOBUF, body.buf, body.len, NULL);
    for (int round = 0; round < 2; round++) {
        int series = 0;
        model_entry e;
        while ((e = model_parser_next(p, NULL)) > 0)
            if (e == MODEL_ENTRY_SERIES) {
                size_t n;
                model_parser_labels(p, &n);
                assert_int_equal(n, series <= 100 ? 51 : 50);
                series++;
            }
        assert_int_equal(e, MODEL_ENTRY_EOF);
        assert_int_equal(series, 103);
        model_parser_reset(p, MODEL_FORMAT_PROTOBUF, body.buf, body.len, NULL);
    }
    model_parser_free(p);
    core_sb_destroy(&body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_client_encoding),
        cmocka_unit_test(test_corruptions),
        cmocka_unit_test(test_counter_with_exemplar),
        cmocka_unit_test(test_all_types),
        cmocka_unit_test(test_families),
        cmocka_unit_test(test_unknown_fields_and_merging),
        cmocka_unit_test(test_raw_errors),
        cmocka_unit_test(test_metric_errors),
        cmocka_unit_test(test_family_errors),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_growth_and_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
