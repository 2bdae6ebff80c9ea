/*
 * encode.c - the text exposition formats: Prometheus text 0.0.4 and
 * OpenMetrics 1.0.0; and the dispatch of every pm_enc call by format (the
 * protobuf format lives in encode_proto.c).
 *
 * The output is byte for byte what prometheus/common's expfmt writes for the
 * same families (MetricFamilyToText, MetricFamilyToOpenMetrics with its
 * _created and # UNIT options), and for the two types client_golang lacks, as
 * client_python writes them:
 *   - text: info and stateset become gauges (<name>_info{...,info labels} 1,
 *     and <name>{...,<name>="<state>"} 1|0); no exemplars, no _created;
 *     counts are printed as floats, as Go converts them;
 *   - OpenMetrics: a counter's family name loses its "_total" and its samples
 *     gain it; _created follows each counter, histogram and summary child;
 *     exemplars follow counter samples and histogram buckets; counts are
 *     integers, every float has a point or an exponent (1.0, 1e+06).
 * A line is assembled straight into the output buffer: name, labels (the
 * family's, then the ones the type adds: le, quantile, the state or the info
 * labels), value.  Numbers are formatted by fmt.c; nothing is allocated here
 * beyond the growth of the output buffer.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

#include "prom/registry.h"

/* ---- Pieces of a line */

/* Writes s with backslash and newline escaped, and double quotes too when
 * `quotes` is set (label values, OpenMetrics help). */
static void add_escaped(pm_buf *w, const char *s, bool quotes)
{
    const char *special = quotes ? "\\\n\"" : "\\\n";
    for (;;) {
        size_t n = strcspn(s, special);
        pm_buf_add(w, s, n);
        s += n;
        if (*s == '\0') return;
        pm_buf_addc(w, '\\');
        pm_buf_addc(w, *s == '\n' ? 'n' : *s);
        s++;
    }
}

static void add_double(pm_buf *w, double v, bool om)
{
    char num[PM_FMT_BUFSZ];
    pm_buf_add(w, num, om ? pm_fmt_double_om(v, num) : pm_fmt_double(v, num));
}

/* A count: an integer in OpenMetrics, a float64 (as Go converts it) in text. */
static void add_count(pm_buf *w, uint64_t c, bool om)
{
    if (om)
        pm_buf_add_u64(w, c);
    else
        add_double(w, (double)c, false);
}

/* One name="value" with the separator before it ('{' first, then ','). */
static void add_pair(pm_buf *w, char *sep, const char *name, const char *value)
{
    pm_buf_addc(w, *sep);
    pm_buf_adds(w, name);
    pm_buf_add(w, "=\"", 2);
    add_escaped(w, value, true);
    pm_buf_addc(w, '"');
    *sep = ',';
}

/* {family labels...,extra labels...}, or nothing when both are empty. */
static void add_labels(pm_buf *w, const pm_family_view *f, const pm_metric_view *m,
                       const prom_label *extra, size_t n_extra)
{
    char sep = '{';
    for (size_t i = 0; i < f->n_labels; i++)
        if (m->label_values[i] != NULL) /* NULL: this metric lacks the label */
            add_pair(w, &sep, f->label_names[i], m->label_values[i]);
    for (size_t i = 0; i < n_extra; i++)
        add_pair(w, &sep, extra[i].name, extra[i].value);
    if (sep != '{') pm_buf_addc(w, '}');
}

/* "name suffix{labels} ": a line up to its value.  `len` bytes of name. */
static void add_series(pm_buf *w, const char *name, size_t len, const char *suffix,
                       const pm_family_view *f, const pm_metric_view *m, const prom_label *extra,
                       size_t n_extra)
{
    pm_buf_add(w, name, len);
    pm_buf_adds(w, suffix);
    add_labels(w, f, m, extra, n_extra);
    pm_buf_addc(w, ' ');
}

/* " # {labels} value [timestamp]" after an OpenMetrics sample.  Like expfmt,
 * an exemplar without labels is left out. */
static void add_exemplar(pm_buf *w, const pm_exemplar_view *x)
{
    if (x == NULL || x->n_labels == 0) return;
    pm_buf_add(w, " # ", 3);
    char sep = '{';
    for (size_t i = 0; i < x->n_labels; i++)
        add_pair(w, &sep, x->labels[i].name, x->labels[i].value);
    pm_buf_add(w, "} ", 2);
    add_double(w, x->value, true);
    if (!isnan(x->timestamp)) {
        pm_buf_addc(w, ' ');
        add_double(w, x->timestamp, true);
    }
}

/* ---- Names */

static bool has_total_suffix(const char *name, size_t len)
{
    return len >= 6 && memcmp(name + len - 6, "_total", 6) == 0;
}

/* The length of the name OpenMetrics gives the family: a counter without its
 * "_total". */
static size_t om_family_len(const pm_family_view *f)
{
    size_t len = strlen(f->name);
    return f->type == PROM_COUNTER && has_total_suffix(f->name, len) ? len - 6 : len;
}

/* ---- Headers */

static const char *text_type(prom_type t)
{
    switch (t) {
    case PROM_COUNTER: return "counter";
    case PROM_HISTOGRAM: return "histogram";
    case PROM_SUMMARY: return "summary";
    case PROM_UNTYPED: return "untyped";
    default: return "gauge"; /* gauge, and info and stateset as gauges */
    }
}

static const char *om_type(prom_type t)
{
    switch (t) {
    case PROM_COUNTER: return "counter";
    case PROM_HISTOGRAM: return "histogram";
    case PROM_SUMMARY: return "summary";
    case PROM_UNTYPED: return "unknown";
    case PROM_INFO: return "info";
    case PROM_STATESET: return "stateset";
    default: return "gauge";
    }
}

/* "# <what> <name>[_info] " */
static void add_comment_start(pm_buf *w, const char *what, const char *name, size_t len,
                              const char *suffix)
{
    pm_buf_add(w, "# ", 2);
    pm_buf_adds(w, what);
    pm_buf_addc(w, ' ');
    pm_buf_add(w, name, len);
    pm_buf_adds(w, suffix);
    pm_buf_addc(w, ' ');
}

/* # HELP (left out when help is NULL, as Go does for a nil help), # TYPE and,
 * in OpenMetrics, # UNIT. */
static void add_header(pm_buf *w, const pm_family_view *f, bool om)
{
    size_t len = om ? om_family_len(f) : strlen(f->name);
    const char *suffix = !om && f->type == PROM_INFO ? "_info" : "";
    if (f->help != NULL) {
        add_comment_start(w, "HELP", f->name, len, suffix);
        add_escaped(w, f->help, om);
        pm_buf_addc(w, '\n');
    }
    add_comment_start(w, "TYPE", f->name, len, suffix);
    pm_buf_adds(w, om ? om_type(f->type) : text_type(f->type));
    pm_buf_addc(w, '\n');
    if (om && f->unit != NULL) {
        add_comment_start(w, "UNIT", f->name, len, "");
        add_escaped(w, f->unit, true);
        pm_buf_addc(w, '\n');
    }
}

/* ---- Samples */

/* A whole line with a float value: name suffix{labels} value */
static void add_line(pm_buf *w, const char *suffix, const pm_family_view *f,
                     const pm_metric_view *m, const prom_label *extra, size_t n_extra, double v,
                     bool om)
{
    add_series(w, f->name, strlen(f->name), suffix, f, m, extra, n_extra);
    add_double(w, v, om);
    pm_buf_addc(w, '\n');
}

/* <family>_created{labels} <seconds>, when the child knows its creation. */
static void add_created(pm_buf *w, const pm_family_view *f, const pm_metric_view *m)
{
    if (isnan(m->created)) return;
    add_series(w, f->name, om_family_len(f), "_created", f, m, NULL, 0);
    add_double(w, m->created, true);
    pm_buf_addc(w, '\n');
}

/* text: name{labels} value.  OpenMetrics: <family>_total{labels} value
 * [exemplar], then _created. */
static void add_counter(pm_buf *w, const pm_family_view *f, const pm_metric_view *m, bool om)
{
    if (!om) {
        add_line(w, "", f, m, NULL, 0, m->value, false);
        return;
    }
    add_series(w, f->name, om_family_len(f), "_total", f, m, NULL, 0);
    add_double(w, m->value, true);
    add_exemplar(w, m->exemplar);
    pm_buf_addc(w, '\n');
    add_created(w, f, m);
}

static const pm_exemplar_view *bucket_exemplar(const pm_metric_view *m, size_t i)
{
    return m->bucket_exemplars == NULL ? NULL : m->bucket_exemplars[i];
}

/* One _bucket line; le is formatted like every other float of the format. */
static void add_bucket(pm_buf *w, const pm_family_view *f, const pm_metric_view *m, double bound,
                       uint64_t count, const pm_exemplar_view *x, bool om)
{
    char le[PM_FMT_BUFSZ];
    if (om)
        pm_fmt_double_om(bound, le);
    else
        pm_fmt_double(bound, le);
    prom_label label = {"le", le};
    add_series(w, f->name, strlen(f->name), "_bucket", f, m, &label, 1);
    add_count(w, count, om);
    if (om) add_exemplar(w, x);
    pm_buf_addc(w, '\n');
}

/* The lines both histograms and summaries end with: _sum, _count, and in
 * OpenMetrics _created. */
static void add_sum_count(pm_buf *w, const pm_family_view *f, const pm_metric_view *m, bool om)
{
    add_line(w, "_sum", f, m, NULL, 0, m->sum, om);
    add_series(w, f->name, strlen(f->name), "_count", f, m, NULL, 0);
    add_count(w, m->count, om);
    pm_buf_addc(w, '\n');
    if (om) add_created(w, f, m);
}

/* Buckets in order; a +Inf bucket with the total count is added if the view
 * has none, as expfmt does. */
static void add_histogram(pm_buf *w, const pm_family_view *f, const pm_metric_view *m, bool om)
{
    bool inf_seen = false;
    for (size_t i = 0; i < m->n_buckets; i++) {
        add_bucket(w, f, m, m->bounds[i], m->cumulative[i], bucket_exemplar(m, i), om);
        inf_seen = inf_seen || m->bounds[i] == INFINITY;
    }
    if (!inf_seen) add_bucket(w, f, m, INFINITY, m->count, NULL, om);
    add_sum_count(w, f, m, om);
}

static void add_summary(pm_buf *w, const pm_family_view *f, const pm_metric_view *m, bool om)
{
    for (size_t i = 0; i < m->n_quantiles; i++) {
        char q[PM_FMT_BUFSZ];
        if (om)
            pm_fmt_double_om(m->quantiles[i], q);
        else
            pm_fmt_double(m->quantiles[i], q);
        prom_label label = {"quantile", q};
        add_line(w, "", f, m, &label, 1, m->quantile_values[i], om);
    }
    add_sum_count(w, f, m, om);
}

/* <name>{labels...,<name>="<state>"} 1|0 for each state. */
static void add_stateset(pm_buf *w, const pm_family_view *f, const pm_metric_view *m, bool om)
{
    for (size_t i = 0; i < m->n_states; i++) {
        prom_label label = {f->name, m->states[i]};
        add_line(w, "", f, m, &label, 1, m->state_values[i] ? 1 : 0, om);
    }
}

static void add_metric(pm_buf *w, const pm_family_view *f, const pm_metric_view *m, bool om)
{
    switch (f->type) {
    case PROM_COUNTER: add_counter(w, f, m, om); break;
    case PROM_GAUGE:
    case PROM_UNTYPED: add_line(w, "", f, m, NULL, 0, m->value, om); break;
    case PROM_HISTOGRAM: add_histogram(w, f, m, om); break;
    case PROM_SUMMARY: add_summary(w, f, m, om); break;
    case PROM_INFO: add_line(w, "_info", f, m, m->info_labels, m->n_info_labels, 1, om); break;
    case PROM_STATESET: add_stateset(w, f, m, om); break;
    }
}

/* ---- The encoder */

void pm_enc_init(pm_enc *e, prom_format format, pm_buf *out)
{
    memset(e, 0, sizeof *e);
    e->format = format;
    e->out = out;
    e->scratch_w.b = &e->scratch;
}

void pm_enc_family_begin(pm_enc *e, const pm_family_view *f)
{
    if (e->format == PROM_FORMAT_PROTOBUF)
        pm_proto_family_begin(e, f);
    else
        add_header(e->out, f, e->format == PROM_FORMAT_OPENMETRICS);
}

void pm_enc_metric(pm_enc *e, const pm_family_view *f, const pm_metric_view *m)
{
    if (e->format == PROM_FORMAT_PROTOBUF)
        pm_proto_metric(e, f, m);
    else
        add_metric(e->out, f, m, e->format == PROM_FORMAT_OPENMETRICS);
}

void pm_enc_family_end(pm_enc *e, const pm_family_view *f)
{
    if (e->format == PROM_FORMAT_PROTOBUF) pm_proto_family_end(e, f);
}

void pm_enc_finish(pm_enc *e)
{
    if (e->format == PROM_FORMAT_OPENMETRICS) pm_buf_adds(e->out, "# EOF\n");
    prom_buffer_free(&e->scratch);
    prom_buffer_free(&e->work);
}
