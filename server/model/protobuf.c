/*
 * protobuf.c - delimited io.prometheus.client.MetricFamily messages, read
 * the way Prometheus's protobuf parser presents them in classic mode: as the
 * entries the text parser would give for the same data.
 *
 * The wire format is decoded by hand.  protobuf-c (which the project uses
 * for remote read/write) unpacks a message into a freshly allocated tree and
 * copies every string out of the input; this parser promises zero-copy
 * strings and no allocation per entry, so it walks the bytes itself: a
 * varint reader, a field reader that knows the four wire types, and one
 * small decoder per message type.  Strings are slices of the input.
 *
 * The input is a sequence of [varint length][MetricFamily] records.  For
 * each family with at least one metric, the parser emits HELP, UNIT (when
 * set) and TYPE, then for each metric the series it stands for:
 *
 *   counter, gauge, untyped   name
 *   summary                   name{quantile="q"} per quantile, name_sum, name_count
 *   histogram, gaugehistogram name_bucket{le="b"} per bucket up to the first
 *                             +Inf one, an le="+Inf" bucket with the sample
 *                             count if there was none, name_sum, name_count
 *
 * Field numbers (metrics.proto):
 *   MetricFamily{name=1, help=2, type=3, metric=4, unit=5}
 *   Metric{label=1, gauge=2, counter=3, summary=4, untyped=5, timestamp_ms=6,
 *          histogram=7}
 *   LabelPair{name=1, value=2}   Gauge/Untyped{value=1}
 *   Counter{value=1, exemplar=2, created_timestamp=3}
 *   Summary{sample_count=1, sample_sum=2, quantile=3{quantile=1, value=2},
 *           created_timestamp=4}
 *   Histogram{sample_count=1, sample_sum=2, bucket=3{cumulative_count=1,
 *             upper_bound=2, exemplar=3, cumulative_count_float=4},
 *             sample_count_float=4, native fields 5..14 and 16,
 *             created_timestamp=15}
 *   Exemplar{label=1, value=2, timestamp=3{seconds=1, nanos=2}}
 * Unknown fields are skipped by wire type; a known field with the wrong wire
 * type is an error, as in Go's decoder.  A message field that occurs twice
 * is merged into one (later scalars win, repeated fields append), as
 * protobuf specifies, which falls out of decoding every occurrence into the
 * same struct.  Only the value message that matches the family's type is
 * decoded; the others are skipped.
 *
 * The family is scanned once for name, help, type and unit (they may come
 * after the metrics), then each metric is decoded into the parser's arrays
 * (labels, buckets, quantiles, exemplar labels), which grow to the largest
 * metric seen and are reused.  The names with suffixes and the le/quantile
 * values are written into scratch in the parser.
 */
#include "model/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

enum { PB_FAMILY, PB_UNIT, PB_TYPE, PB_SERIES };

/* MetricFamily.type */
enum { T_COUNTER, T_GAUGE, T_SUMMARY, T_UNTYPED, T_HISTOGRAM, T_GAUGE_HISTOGRAM };

/* A message's bytes not yet read. */
typedef struct pb_in {
    const uint8_t *p, *end;
} pb_in;

typedef struct pb_field {
    uint32_t num;
    int wt;
    uint64_t u;        /* varint, fixed64 or fixed32 payload */
    pb_in sub;         /* length-delimited payload */
    const uint8_t *at; /* the field's first byte */
} pb_field;

/* ---- Wire format */

static size_t off(const model_parser *p, const uint8_t *at)
{
    return (size_t)(at - (const uint8_t *)p->buf);
}

/* Fails at `at` for next_field(); returns -1. */
static int bad(model_parser *p, const uint8_t *at, const char *what)
{
    model_fail_at_byte(p, off(p, at), "%s", what);
    return -1;
}

/* A varint of at most 10 bytes that fits 64 bits. */
static inline bool varint(pb_in *in, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64 && in->p < in->end; shift += 7) {
        uint8_t c = *in->p++;
        if (shift == 63 && c > 1) return false;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (c < 0x80) {
            *v = x;
            return true;
        }
    }
    return false;
}

static uint64_t le_bytes(const uint8_t *s, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | s[i];
    return v;
}

/* Reads the next field of `in`: 1, 0 at the end, -1 after failing. */
static int next_field(model_parser *p, pb_in *in, pb_field *f)
{
    if (in->p >= in->end) return 0;
    f->at = in->p;
    uint64_t key, n;
    if (!varint(in, &key)) return bad(p, f->at, "invalid varint in field key");
    if (key >> 3 == 0 || key >> 3 > 0x1fffffff) return bad(p, f->at, "invalid field number");
    f->num = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    size_t left = (size_t)(in->end - in->p);
    switch (f->wt) {
    case WT_VARINT:
        if (!varint(in, &f->u)) return bad(p, f->at, "invalid varint in field value");
        break;
    case WT_I64:
    case WT_I32:
        n = f->wt == WT_I64 ? 8 : 4;
        if (left < n) return bad(p, f->at, "truncated fixed-size field");
        f->u = le_bytes(in->p, (int)n);
        in->p += n;
        break;
    case WT_LEN:
        if (!varint(in, &n)) return bad(p, f->at, "invalid varint in field length");
        if (n > (uint64_t)(in->end - in->p))
            return bad(p, f->at, "field length exceeds its message");
        f->sub = (pb_in){in->p, in->p + n};
        in->p += n;
        break;
    default: return bad(p, f->at, "unsupported wire type (groups are not used by metrics.proto)");
    }
    return 1;
}

/* Whether field f has wire type wt; fails naming the field if not. */
static bool want(model_parser *p, const pb_field *f, int wt, const char *field)
{
    if (f->wt == wt) return true;
    model_fail_at_byte(p, off(p, f->at), "%s has wire type %d, want %d", field, f->wt, wt);
    return false;
}

static double as_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static model_str as_str(pb_in s)
{
    return (model_str){(const char *)s.p, (size_t)(s.end - s.p)};
}

/* Reads a double field into *d. */
static bool get_double(model_parser *p, const pb_field *f, const char *field, double *d)
{
    if (!want(p, f, WT_I64, field)) return false;
    *d = as_double(f->u);
    return true;
}

/* ---- Messages */

/* LabelPair into l, validated. */
static bool decode_pair(model_parser *p, const pb_field *pf, model_label *l)
{
    pb_in in = pf->sub;
    pb_field f;
    int r;
    l->name = l->value = (model_str){(const char *)in.p, 0};
    l->escaped = false;
    while ((r = next_field(p, &in, &f)) > 0) {
        if (f.num != 1 && f.num != 2) continue;
        if (!want(p, &f, WT_LEN, f.num == 1 ? "LabelPair.name" : "LabelPair.value")) return false;
        *(f.num == 1 ? &l->name : &l->value) = as_str(f.sub);
    }
    l->raw = l->value;
    if (r < 0) return false;
    const char *what = NULL;
    if (!core_label_name_valid(l->name.p, l->name.len))
        what = "invalid label name";
    else if (!model_utf8_valid(l->value.p, l->value.len))
        what = "invalid UTF-8 in value of label";
    if (what == NULL) return true;
    char q[MODEL_QUOTE_BUFSZ];
    model_fail_at_byte(p, off(p, pf->at), "%s %s", what, model_quote(l->name.p, l->name.len, q));
    return false;
}

/* Timestamp{seconds, nanos} as milliseconds. */
static bool decode_timestamp(model_parser *p, const pb_field *tf, int64_t *ms)
{
    pb_in in = tf->sub;
    pb_field f;
    int r;
    int64_t secs = 0, nanos = 0;
    while ((r = next_field(p, &in, &f)) > 0) {
        if (f.num != 1 && f.num != 2) continue;
        if (!want(p, &f, WT_VARINT, f.num == 1 ? "Timestamp.seconds" : "Timestamp.nanos"))
            return false;
        if (f.num == 1)
            secs = (int64_t)f.u;
        else
            nanos = (int32_t)f.u;
    }
    if (r < 0) return false;
    if (!__builtin_mul_overflow(secs, 1000, ms) &&
        !__builtin_add_overflow(*ms, nanos / 1000000, ms))
        return true;
    model_fail_at_byte(p, off(p, tf->at), "exemplar timestamp out of range");
    return false;
}

static bool decode_exemplar(model_parser *p, const pb_field *ef, model_pb_exemplar *ex)
{
    model_pb *pb = &p->pb;
    if (!ex->present) *ex = (model_pb_exemplar){.present = true, .label_off = pb->exlabels.n};
    pb_in in = ef->sub;
    pb_field f;
    int r;
    while ((r = next_field(p, &in, &f)) > 0) {
        switch (f.num) {
        case 1:
            if (!want(p, &f, WT_LEN, "Exemplar.label")) return false;
            if (!decode_pair(p, &f, model_labelvec_push(&pb->exlabels))) return false;
            ex->n_labels++;
            break;
        case 2:
            if (!get_double(p, &f, "Exemplar.value", &ex->value)) return false;
            break;
        case 3:
            if (!want(p, &f, WT_LEN, "Exemplar.timestamp")) return false;
            if (!decode_timestamp(p, &f, &ex->ts)) return false;
            ex->has_ts = true;
            break;
        default: break;
        }
    }
    if (r < 0) return false;
    return ex->n_labels == 0 ||
           model_check_dups(p, pb->exlabels.v + ex->label_off, ex->n_labels, true, off(p, ef->at));
}

/* Gauge, Untyped and Counter: the value, and the counter's exemplar. */
static bool decode_value(model_parser *p, const pb_field *vf)
{
    int type = p->pb.type;
    const char *field = type == T_COUNTER ? "Counter.value"
                        : type == T_GAUGE ? "Gauge.value"
                                          : "Untyped.value";
    pb_in in = vf->sub;
    pb_field f;
    int r;
    while ((r = next_field(p, &in, &f)) > 0) {
        if (f.num == 1) {
            if (!get_double(p, &f, field, &p->pb.value)) return false;
        } else if (f.num == 2 && type == T_COUNTER) {
            if (!want(p, &f, WT_LEN, "Counter.exemplar")) return false;
            if (!decode_exemplar(p, &f, &p->pb.ex)) return false;
        }
    }
    return r == 0;
}

static bool decode_quantile(model_parser *p, const pb_field *qf)
{
    model_pb *pb = &p->pb;
    if (pb->n_quantiles == pb->cap_quantiles) {
        pb->cap_quantiles = pb->cap_quantiles ? pb->cap_quantiles * 2 : 16;
        pb->quantiles = core_reallocarray(pb->quantiles, pb->cap_quantiles, sizeof *pb->quantiles);
    }
    model_pb_quantile *q = &pb->quantiles[pb->n_quantiles++];
    *q = (model_pb_quantile){0, 0};
    pb_in in = qf->sub;
    pb_field f;
    int r;
    while ((r = next_field(p, &in, &f)) > 0) {
        if (f.num == 1 && !get_double(p, &f, "Quantile.quantile", &q->q)) return false;
        if (f.num == 2 && !get_double(p, &f, "Quantile.value", &q->v)) return false;
    }
    return r == 0;
}

static bool decode_summary(model_parser *p, const pb_field *sf)
{
    model_pb *pb = &p->pb;
    pb_in in = sf->sub;
    pb_field f;
    int r;
    while ((r = next_field(p, &in, &f)) > 0) {
        switch (f.num) {
        case 1:
            if (!want(p, &f, WT_VARINT, "Summary.sample_count")) return false;
            pb->count_u = f.u;
            break;
        case 2:
            if (!get_double(p, &f, "Summary.sample_sum", &pb->sum)) return false;
            break;
        case 3:
            if (!want(p, &f, WT_LEN, "Summary.quantile") || !decode_quantile(p, &f)) return false;
            break;
        default: break;
        }
    }
    return r == 0;
}

static bool decode_bucket(model_parser *p, const pb_field *bf)
{
    model_pb *pb = &p->pb;
    if (pb->n_buckets == pb->cap_buckets) {
        pb->cap_buckets = pb->cap_buckets ? pb->cap_buckets * 2 : 16;
        pb->buckets = core_reallocarray(pb->buckets, pb->cap_buckets, sizeof *pb->buckets);
    }
    model_pb_bucket *b = &pb->buckets[pb->n_buckets++];
    *b = (model_pb_bucket){0};
    uint64_t count_u = 0;
    double count_f = 0;
    pb_in in = bf->sub;
    pb_field f;
    int r;
    while ((r = next_field(p, &in, &f)) > 0) {
        switch (f.num) {
        case 1:
            if (!want(p, &f, WT_VARINT, "Bucket.cumulative_count")) return false;
            count_u = f.u;
            break;
        case 2:
            if (!get_double(p, &f, "Bucket.upper_bound", &b->upper)) return false;
            break;
        case 3:
            if (!want(p, &f, WT_LEN, "Bucket.exemplar") || !decode_exemplar(p, &f, &b->ex))
                return false;
            break;
        case 4:
            if (!get_double(p, &f, "Bucket.cumulative_count_float", &count_f)) return false;
            break;
        default: break;
        }
    }
    b->count = count_f != 0 ? count_f : (double)count_u;
    return r == 0;
}

static bool decode_histogram(model_parser *p, const pb_field *hf)
{
    model_pb *pb = &p->pb;
    pb_in in = hf->sub;
    pb_field f;
    int r;
    while ((r = next_field(p, &in, &f)) > 0) {
        switch (f.num) {
        case 1:
            if (!want(p, &f, WT_VARINT, "Histogram.sample_count")) return false;
            pb->count_u = f.u;
            break;
        case 2:
            if (!get_double(p, &f, "Histogram.sample_sum", &pb->sum)) return false;
            break;
        case 3:
            if (!want(p, &f, WT_LEN, "Histogram.bucket") || !decode_bucket(p, &f)) return false;
            break;
        case 4:
            if (!get_double(p, &f, "Histogram.sample_count_float", &pb->count_f)) return false;
            break;
        default: break;
        }
    }
    return r == 0;
}

/* ---- Metrics */

static bool is_histogram(int type)
{
    return type == T_HISTOGRAM || type == T_GAUGE_HISTOGRAM;
}

/* The value field (of Metric) the family's type reads. */
static uint32_t value_field(int type)
{
    switch (type) {
    case T_COUNTER: return 3;
    case T_GAUGE: return 2;
    case T_SUMMARY: return 4;
    case T_UNTYPED: return 5;
    default: return 7;
    }
}

static bool decode_metric_field(model_parser *p, const pb_field *f)
{
    static const char *const names[] = {NULL,
                                        "Metric.label",
                                        "Metric.gauge",
                                        "Metric.counter",
                                        "Metric.summary",
                                        "Metric.untyped",
                                        "Metric.timestamp_ms",
                                        "Metric.histogram"};
    model_pb *pb = &p->pb;
    if (f->num > 7) return true;
    if (!want(p, f, f->num == 6 ? WT_VARINT : WT_LEN, names[f->num])) return false;
    if (f->num == 1) return decode_pair(p, f, model_labelvec_push(&pb->labels));
    if (f->num == 6) {
        pb->ts_ms = (int64_t)f->u;
        return true;
    }
    if (f->num != value_field(pb->type)) return true;
    if (pb->type == T_SUMMARY) return decode_summary(p, f);
    if (is_histogram(pb->type)) return decode_histogram(p, f);
    return decode_value(p, f);
}

/* Drops buckets after the first +Inf one and works out the series count. */
static void plan_series(model_pb *pb)
{
    pb->inf_bucket = false;
    if (pb->type == T_SUMMARY) {
        pb->n_series = pb->n_quantiles + 2;
        return;
    }
    if (!is_histogram(pb->type)) {
        pb->n_series = 1;
        return;
    }
    for (size_t i = 0; i < pb->n_buckets; i++)
        if (isinf(pb->buckets[i].upper) && pb->buckets[i].upper > 0) {
            pb->n_buckets = i + 1;
            pb->inf_bucket = true;
            break;
        }
    pb->n_series = pb->n_buckets + !pb->inf_bucket + 2;
}

static bool decode_metric(model_parser *p, const pb_field *mf)
{
    model_pb *pb = &p->pb;
    pb->labels.n = pb->exlabels.n = pb->n_buckets = pb->n_quantiles = 0;
    pb->ts_ms = 0;
    pb->value = pb->sum = pb->count_f = 0;
    pb->count_u = 0;
    pb->ex = (model_pb_exemplar){0};
    pb->metric_at = mf->at;
    pb_in in = mf->sub;
    pb_field f;
    int r;
    while ((r = next_field(p, &in, &f)) > 0)
        if (!decode_metric_field(p, &f)) return false;
    if (r < 0) return false;
    if (!model_check_dups(p, pb->labels.v, pb->labels.n, false, off(p, mf->at))) return false;
    const char *magic = pb->type == T_SUMMARY ? "quantile" : is_histogram(pb->type) ? "le" : NULL;
    pb->magic_dup = false;
    for (size_t i = 0; magic && i < pb->labels.n; i++)
        if (pb->labels.v[i].name.len == strlen(magic) &&
            memcmp(pb->labels.v[i].name.p, magic, strlen(magic)) == 0)
            pb->magic_dup = true;
    plan_series(pb);
    pb->series = 0;
    return true;
}

/* ---- Series */

/* Sets the current name to the family name plus `suffix`. */
static void set_name(model_parser *p, const char *suffix)
{
    model_pb *pb = &p->pb;
    size_t n = pb->fname.len, s = strlen(suffix);
    if (s == 0) {
        p->mname = pb->fname;
        return;
    }
    if (n + s > pb->name_cap) {
        pb->name_cap = (n + s) * 2;
        pb->name = core_realloc(pb->name, pb->name_cap);
    }
    memcpy(pb->name, pb->fname.p, n);
    memcpy(pb->name + n, suffix, s);
    p->mname = (model_str){pb->name, n + s};
}

/* Adds the le or quantile label with value v after the metric's labels. */
static bool set_magic(model_parser *p, const char *name, double v)
{
    model_pb *pb = &p->pb;
    if (pb->magic_dup) {
        model_fail_at_byte(p, off(p, pb->metric_at), "duplicate label name \"%s\"", name);
        return false;
    }
    model_label *l = model_labelvec_push(&pb->labels);
    pb->labels.n--;
    size_t n = model_format_float(v, pb->magic);
    *l = (model_label){{name, strlen(name)}, {pb->magic, n}, {pb->magic, n}, false};
    p->labels = pb->labels.v;
    p->n_labels = pb->labels.n + 1;
    return true;
}

static void set_exemplar(model_parser *p, const model_pb_exemplar *ex)
{
    if (!ex->present) return;
    p->has_ex = true;
    p->ex_labels = ex->n_labels ? p->pb.exlabels.v + ex->label_off : NULL;
    p->n_ex_labels = ex->n_labels;
    p->ex_value = ex->value;
    p->ex_has_ts = ex->has_ts;
    p->ex_ts = ex->ts;
}

static double hist_count(const model_pb *pb)
{
    return pb->count_f != 0 ? pb->count_f : (double)pb->count_u;
}

/* Series j of a summary or histogram with k quantiles or buckets: the k
 * ones with the magic label, then the synthetic +Inf bucket, _sum, _count. */
static model_entry complex_series(model_parser *p, size_t j)
{
    model_pb *pb = &p->pb;
    bool hist = is_histogram(pb->type);
    size_t k = hist ? pb->n_buckets : pb->n_quantiles;
    if (j < k) {
        set_name(p, hist ? "_bucket" : "");
        if (!hist) {
            p->value = pb->quantiles[j].v;
            return set_magic(p, "quantile", pb->quantiles[j].q) ? MODEL_ENTRY_SERIES
                                                                : MODEL_ENTRY_ERROR;
        }
        p->value = pb->buckets[j].count;
        set_exemplar(p, &pb->buckets[j].ex);
        return set_magic(p, "le", pb->buckets[j].upper) ? MODEL_ENTRY_SERIES : MODEL_ENTRY_ERROR;
    }
    if (hist && !pb->inf_bucket && j == k) {
        set_name(p, "_bucket");
        p->value = hist_count(pb);
        return set_magic(p, "le", INFINITY) ? MODEL_ENTRY_SERIES : MODEL_ENTRY_ERROR;
    }
    bool sum = j == pb->n_series - 2;
    set_name(p, sum ? "_sum" : "_count");
    p->value = sum ? pb->sum : hist ? hist_count(pb) : (double)pb->count_u;
    return MODEL_ENTRY_SERIES;
}

static model_entry emit_series(model_parser *p)
{
    model_pb *pb = &p->pb;
    size_t j = pb->series++;
    p->labels = pb->labels.v;
    p->n_labels = pb->labels.n;
    p->has_ts = pb->ts_ms != 0;
    p->ts = pb->ts_ms;
    if (pb->type == T_SUMMARY || is_histogram(pb->type)) return complex_series(p, j);
    set_name(p, "");
    p->value = pb->value;
    set_exemplar(p, &pb->ex);
    return MODEL_ENTRY_SERIES;
}

/* ---- Families */

static void reset_family(model_pb *pb, const uint8_t *at)
{
    pb->fname = pb->help = pb->unit = (model_str){(const char *)at, 0};
    pb->type = T_COUNTER;
    pb->mcur = NULL;
}

/* Reads name, help, type and unit and finds the first metric. */
static bool scan_family(model_parser *p)
{
    model_pb *pb = &p->pb;
    pb_in in = {pb->fam, pb->fam_end};
    pb_field f;
    int r;
    reset_family(pb, pb->fam);
    while ((r = next_field(p, &in, &f)) > 0) {
        switch (f.num) {
        case 1:
        case 2:
        case 5:
            if (!want(p, &f, WT_LEN,
                      f.num == 1   ? "MetricFamily.name"
                      : f.num == 2 ? "MetricFamily.help"
                                   : "MetricFamily.unit"))
                return false;
            *(f.num == 1 ? &pb->fname : f.num == 2 ? &pb->help : &pb->unit) = as_str(f.sub);
            break;
        case 3:
            if (!want(p, &f, WT_VARINT, "MetricFamily.type")) return false;
            pb->type = (int32_t)f.u;
            break;
        case 4:
            if (!want(p, &f, WT_LEN, "MetricFamily.metric")) return false;
            if (pb->mcur == NULL) pb->mcur = f.at;
            break;
        default: break;
        }
    }
    return r == 0;
}

static bool check_family(model_parser *p, size_t at)
{
    model_pb *pb = &p->pb;
    char q[MODEL_QUOTE_BUFSZ];
    const char *what = NULL;
    if (!core_metric_name_valid(pb->fname.p, pb->fname.len))
        what = "invalid metric name";
    else if (!model_utf8_valid(pb->help.p, pb->help.len))
        what = "invalid UTF-8 in the help of metric";
    else if (!model_utf8_valid(pb->unit.p, pb->unit.len))
        what = "invalid UTF-8 in the unit of metric";
    else if (pb->type < T_COUNTER || pb->type > T_GAUGE_HISTOGRAM) {
        model_fail_at_byte(p, at, "unknown metric type %d for metric %s", pb->type,
                           model_quote(pb->fname.p, pb->fname.len, q));
        return false;
    }
    if (what == NULL) return true;
    model_fail_at_byte(p, at, "%s %s", what, model_quote(pb->fname.p, pb->fname.len, q));
    return false;
}

/* Moves to the next family that has metrics and emits its HELP. */
static model_entry begin_family(model_parser *p)
{
    model_pb *pb = &p->pb;
    const uint8_t *end = (const uint8_t *)p->buf + p->len;
    for (;;) {
        if (p->pos >= p->len) return MODEL_ENTRY_EOF;
        size_t at = p->pos;
        pb_in in = {(const uint8_t *)p->buf + at, end};
        uint64_t n;
        if (!varint(&in, &n) || off(p, in.p) - at > 5)
            return model_fail_at_byte(p, at, "invalid message length");
        if (n > (uint64_t)(end - in.p))
            return model_fail_at_byte(p, at, "message length %llu exceeds the %zu bytes left",
                                      (unsigned long long)n, (size_t)(end - in.p));
        pb->fam = in.p;
        pb->fam_end = in.p + n;
        p->pos = off(p, pb->fam_end);
        if (!scan_family(p)) return MODEL_ENTRY_ERROR;
        if (pb->mcur == NULL) continue;
        if (!check_family(p, at)) return MODEL_ENTRY_ERROR;
        pb->stage = PB_UNIT;
        p->mname = pb->fname;
        p->text = p->text_raw = pb->help;
        return MODEL_ENTRY_HELP;
    }
}

/* Decodes the family's next metric; false at the family's end or on error. */
static bool next_metric(model_parser *p)
{
    model_pb *pb = &p->pb;
    pb_in in = {pb->mcur, pb->fam_end};
    pb_field f;
    int r;
    while ((r = next_field(p, &in, &f)) > 0 && f.num != 4)
        ;
    pb->mcur = in.p;
    return r > 0 && decode_metric(p, &f);
}

static model_entry series(model_parser *p)
{
    model_pb *pb = &p->pb;
    if (pb->series < pb->n_series) return emit_series(p);
    if (next_metric(p)) return emit_series(p);
    if (p->state == MODEL_FAILED) return MODEL_ENTRY_ERROR;
    pb->stage = PB_FAMILY;
    return begin_family(p);
}

static const model_type types[] = {
    [T_COUNTER] = MODEL_TYPE_COUNTER,     [T_GAUGE] = MODEL_TYPE_GAUGE,
    [T_SUMMARY] = MODEL_TYPE_SUMMARY,     [T_UNTYPED] = MODEL_TYPE_UNKNOWN,
    [T_HISTOGRAM] = MODEL_TYPE_HISTOGRAM, [T_GAUGE_HISTOGRAM] = MODEL_TYPE_GAUGEHISTOGRAM,
};

model_entry model_pb_next(model_parser *p)
{
    model_pb *pb = &p->pb;
    switch (pb->stage) {
    case PB_FAMILY: return begin_family(p);
    case PB_UNIT:
        pb->stage = PB_TYPE;
        if (pb->unit.len > 0) {
            p->mname = pb->fname;
            p->text = pb->unit;
            return MODEL_ENTRY_UNIT;
        }
        /* fall through */
    case PB_TYPE:
        pb->stage = PB_SERIES;
        pb->series = pb->n_series = 0;
        p->mname = pb->fname;
        p->type = types[pb->type];
        return MODEL_ENTRY_TYPE;
    default: return series(p);
    }
}

model_str model_pb_series_key(model_parser *p)
{
    core_sb *k = &p->pb.key;
    core_sb_reset(k);
    core_sb_add(k, p->mname.p, p->mname.len);
    for (size_t i = 0; i < p->n_labels; i++) {
        core_sb_addc(k, (char)0xff);
        core_sb_add(k, p->labels[i].name.p, p->labels[i].name.len);
        core_sb_addc(k, (char)0xff);
        core_sb_add(k, p->labels[i].value.p, p->labels[i].value.len);
    }
    return (model_str){k->buf, k->len};
}

void model_pb_reset(model_pb *pb)
{
    pb->stage = PB_FAMILY;
    pb->series = pb->n_series = 0;
}

void model_pb_destroy(model_pb *pb)
{
    free(pb->buckets);
    free(pb->quantiles);
    free(pb->labels.v);
    free(pb->exlabels.v);
    free(pb->name);
    core_sb_destroy(&pb->key);
}
