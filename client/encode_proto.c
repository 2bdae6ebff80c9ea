/*
 * encode_proto.c - the protobuf exposition format: each family is one
 * io.prometheus.client.MetricFamily message (proto/metrics.proto, packed by
 * protobuf-c), preceded by its length as a varint ("delimited"), which is what
 * client_golang serves for
 * application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited.
 *
 * The registry hands over one metric at a time and its views need not outlive
 * the call, so a family is not gathered into one message tree.  Instead the
 * family's bytes are built in e->scratch piece by piece: a MetricFamily with
 * only name, help and type packed at the start, each Metric packed on arrival
 * as one more field 4 entry, a MetricFamily with only the unit at the end.
 * Concatenated messages merge, so this is the very message packing it whole
 * would give, and in the same field order.  Only then is the length known and
 * written to the output before the bytes.
 *
 * A Metric's structs (label pairs, buckets, quantiles, exemplars, timestamps)
 * are carved from e->work, sized up front for the metric and reused for the
 * next, so steady scrapes do not allocate.
 *
 * As client_golang does: histograms leave out the +Inf bucket (its count is
 * sample_count) unless it carries an exemplar; every label pair is sent, also
 * with an empty value.  Info and stateset, which the format lacks, become
 * gauges as in the text format: <name>_info with the info labels and value 1,
 * and one metric per state with the label <name>="<state>" and value 1 or 0.
 * Timestamps (exemplars, created_timestamp) are sent when not NaN.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

#include "proto/metrics.pb-c.h"

typedef Io__Prometheus__Client__MetricFamily pb_family;
typedef Io__Prometheus__Client__Metric pb_metric;
typedef Io__Prometheus__Client__LabelPair pb_label;
typedef Io__Prometheus__Client__Counter pb_counter;
typedef Io__Prometheus__Client__Gauge pb_gauge;
typedef Io__Prometheus__Client__Untyped pb_untyped;
typedef Io__Prometheus__Client__Summary pb_summary;
typedef Io__Prometheus__Client__Quantile pb_quantile;
typedef Io__Prometheus__Client__Histogram pb_histogram;
typedef Io__Prometheus__Client__Bucket pb_bucket;
typedef Io__Prometheus__Client__Exemplar pb_exemplar;
typedef Io__Prometheus__Client__Timestamp pb_timestamp;

#define FIELD_METRIC_TAG ((4 << 3) | 2) /* MetricFamily.metric, length-delimited */

/* ---- Writing bytes */

static void add_varint(pm_buf *w, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v != 0);
    pm_buf_add(w, b, n);
}

/* Appends msg packed, which is `size` bytes. */
static void add_packed(pm_buf *w, const ProtobufCMessage *msg, size_t size)
{
    if (!pm_buf_reserve(w, size)) return;
    prom_buffer *b = w->b;
    protobuf_c_message_pack(msg, (uint8_t *)b->data + b->len);
    b->len += size;
}

static void add_message(pm_buf *w, const ProtobufCMessage *msg)
{
    add_packed(w, msg, protobuf_c_message_get_packed_size(msg));
}

/* ---- The structs of one metric, carved from e->work */

typedef struct pool {
    pb_label *labels;
    pb_label **label_ptrs;
    size_t n_labels; /* used so far */
    pb_exemplar *exemplars;
    size_t n_exemplars;
    pb_timestamp *timestamps;
    size_t n_timestamps;
    pb_bucket *buckets;
    pb_bucket **bucket_ptrs;
    pb_quantile *quantiles;
    pb_quantile **quantile_ptrs;
} pool;

static const pm_exemplar_view *bucket_exemplar(const pm_metric_view *m, size_t i)
{
    return m->bucket_exemplars == NULL ? NULL : m->bucket_exemplars[i];
}

/* How many label pairs the metric's exemplars have in all. */
static size_t exemplar_labels(const pm_metric_view *m)
{
    size_t n = m->exemplar != NULL ? m->exemplar->n_labels : 0;
    for (size_t i = 0; i < m->n_buckets; i++)
        if (bucket_exemplar(m, i) != NULL) n += bucket_exemplar(m, i)->n_labels;
    return n;
}

/* Reserves `size` bytes at *off, keeping every piece aligned for any struct. */
static size_t carve(size_t *off, size_t size)
{
    const size_t align = _Alignof(max_align_t);
    size_t at = *off;
    *off += (size + align - 1) / align * align;
    return at;
}

/* Sizes the pool for metric m (bounds that no use below can exceed: every
 * label pair the metric and its exemplars may have, an exemplar for the
 * counter or each bucket, a timestamp for each exemplar and the creation) and
 * makes room for it in e->work. */
static bool pool_init(pool *p, pm_enc *e, const pm_family_view *f, const pm_metric_view *m)
{
    size_t n_labels = f->n_labels + m->n_info_labels + 1 + exemplar_labels(m);
    size_t n_exemplars = m->n_buckets + 1;
    size_t off = 0;
    size_t labels = carve(&off, n_labels * sizeof(pb_label));
    size_t label_ptrs = carve(&off, n_labels * sizeof(pb_label *));
    size_t exemplars = carve(&off, n_exemplars * sizeof(pb_exemplar));
    size_t timestamps = carve(&off, (n_exemplars + 1) * sizeof(pb_timestamp));
    size_t buckets = carve(&off, m->n_buckets * sizeof(pb_bucket));
    size_t bucket_ptrs = carve(&off, m->n_buckets * sizeof(pb_bucket *));
    size_t quantiles = carve(&off, m->n_quantiles * sizeof(pb_quantile));
    size_t quantile_ptrs = carve(&off, m->n_quantiles * sizeof(pb_quantile *));

    pm_buf w = {&e->work, false};
    e->work.len = 0;
    if (!pm_buf_reserve(&w, off)) return false;
    char *base = e->work.data;
    *p = (pool){
        .labels = (pb_label *)(base + labels),
        .label_ptrs = (pb_label **)(base + label_ptrs),
        .exemplars = (pb_exemplar *)(base + exemplars),
        .timestamps = (pb_timestamp *)(base + timestamps),
        .buckets = (pb_bucket *)(base + buckets),
        .bucket_ptrs = (pb_bucket **)(base + bucket_ptrs),
        .quantiles = (pb_quantile *)(base + quantiles),
        .quantile_ptrs = (pb_quantile **)(base + quantile_ptrs),
    };
    return true;
}

static void pool_label(pool *p, const char *name, const char *value)
{
    pb_label *l = &p->labels[p->n_labels];
    io__prometheus__client__label_pair__init(l);
    l->name = (char *)name;
    l->value = (char *)value;
    p->label_ptrs[p->n_labels++] = l;
}

/* Seconds as a google.protobuf.Timestamp (zero fields left out, as proto3
 * writes them); NULL for NaN or what does not fit. */
static pb_timestamp *pool_timestamp(pool *p, double seconds)
{
    if (!(fabs(seconds) < 9e18)) return NULL;
    double s = floor(seconds);
    int32_t nanos = (int32_t)llround((seconds - s) * 1e9);
    if (nanos >= 1000000000) {
        s += 1;
        nanos -= 1000000000;
    }
    pb_timestamp *t = &p->timestamps[p->n_timestamps++];
    io__prometheus__client__timestamp__init(t);
    t->has_seconds = s != 0;
    t->seconds = (int64_t)s;
    t->has_nanos = nanos != 0;
    t->nanos = nanos;
    return t;
}

static pb_exemplar *pool_exemplar(pool *p, const pm_exemplar_view *v)
{
    if (v == NULL) return NULL;
    pb_exemplar *x = &p->exemplars[p->n_exemplars++];
    io__prometheus__client__exemplar__init(x);
    x->label = &p->label_ptrs[p->n_labels];
    x->n_label = v->n_labels;
    for (size_t i = 0; i < v->n_labels; i++)
        pool_label(p, v->labels[i].name, v->labels[i].value);
    x->has_value = true;
    x->value = v->value;
    x->timestamp = pool_timestamp(p, v->timestamp);
    return x;
}

/* The metric's label pairs: the family's, then `extra`. */
static void set_labels(pb_metric *pm, pool *p, const pm_family_view *f, const pm_metric_view *m,
                       const prom_label *extra, size_t n_extra)
{
    pm->label = &p->label_ptrs[p->n_labels];
    pm->n_label = n_extra;
    for (size_t i = 0; i < f->n_labels; i++) {
        if (m->label_values[i] == NULL) /* this metric lacks the label */
            continue;
        pool_label(p, f->label_names[i], m->label_values[i]);
        pm->n_label++;
    }
    for (size_t i = 0; i < n_extra; i++)
        pool_label(p, extra[i].name, extra[i].value);
}

/* ---- One Metric per type, packed into the family as soon as it is built */

static void add_metric_field(pm_enc *e, const pb_metric *pm)
{
    size_t size = io__prometheus__client__metric__get_packed_size(pm);
    add_varint(&e->scratch_w, FIELD_METRIC_TAG);
    add_varint(&e->scratch_w, size);
    add_packed(&e->scratch_w, &pm->base, size);
}

static void add_gauge(pm_enc *e, pool *p, const pm_family_view *f, const pm_metric_view *m,
                      const prom_label *extra, size_t n_extra, double v)
{
    pb_metric pm = IO__PROMETHEUS__CLIENT__METRIC__INIT;
    pb_gauge g = IO__PROMETHEUS__CLIENT__GAUGE__INIT;
    set_labels(&pm, p, f, m, extra, n_extra);
    g.has_value = true;
    g.value = v;
    pm.gauge = &g;
    add_metric_field(e, &pm);
}

static void add_counter(pm_enc *e, pool *p, const pm_family_view *f, const pm_metric_view *m)
{
    pb_metric pm = IO__PROMETHEUS__CLIENT__METRIC__INIT;
    pb_counter c = IO__PROMETHEUS__CLIENT__COUNTER__INIT;
    set_labels(&pm, p, f, m, NULL, 0);
    c.has_value = true;
    c.value = m->value;
    c.exemplar = pool_exemplar(p, m->exemplar);
    c.created_timestamp = pool_timestamp(p, m->created);
    pm.counter = &c;
    add_metric_field(e, &pm);
}

static void add_untyped(pm_enc *e, pool *p, const pm_family_view *f, const pm_metric_view *m)
{
    pb_metric pm = IO__PROMETHEUS__CLIENT__METRIC__INIT;
    pb_untyped u = IO__PROMETHEUS__CLIENT__UNTYPED__INIT;
    set_labels(&pm, p, f, m, NULL, 0);
    u.has_value = true;
    u.value = m->value;
    pm.untyped = &u;
    add_metric_field(e, &pm);
}

static void add_summary(pm_enc *e, pool *p, const pm_family_view *f, const pm_metric_view *m)
{
    pb_metric pm = IO__PROMETHEUS__CLIENT__METRIC__INIT;
    pb_summary s = IO__PROMETHEUS__CLIENT__SUMMARY__INIT;
    set_labels(&pm, p, f, m, NULL, 0);
    s.has_sample_count = true;
    s.sample_count = m->count;
    s.has_sample_sum = true;
    s.sample_sum = m->sum;
    for (size_t i = 0; i < m->n_quantiles; i++) {
        pb_quantile *q = &p->quantiles[i];
        io__prometheus__client__quantile__init(q);
        q->has_quantile = true;
        q->quantile = m->quantiles[i];
        q->has_value = true;
        q->value = m->quantile_values[i];
        p->quantile_ptrs[i] = q;
    }
    s.quantile = p->quantile_ptrs;
    s.n_quantile = m->n_quantiles;
    s.created_timestamp = pool_timestamp(p, m->created);
    pm.summary = &s;
    add_metric_field(e, &pm);
}

/* The buckets that go into the message: all but a +Inf one without exemplar. */
static size_t set_buckets(pool *p, const pm_metric_view *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_buckets; i++) {
        const pm_exemplar_view *x = bucket_exemplar(m, i);
        if (m->bounds[i] == INFINITY && x == NULL) continue;
        pb_bucket *b = &p->buckets[n];
        io__prometheus__client__bucket__init(b);
        b->has_cumulative_count = true;
        b->cumulative_count = m->cumulative[i];
        b->has_upper_bound = true;
        b->upper_bound = m->bounds[i];
        b->exemplar = pool_exemplar(p, x);
        p->bucket_ptrs[n++] = b;
    }
    return n;
}

static void add_histogram(pm_enc *e, pool *p, const pm_family_view *f, const pm_metric_view *m)
{
    pb_metric pm = IO__PROMETHEUS__CLIENT__METRIC__INIT;
    pb_histogram h = IO__PROMETHEUS__CLIENT__HISTOGRAM__INIT;
    set_labels(&pm, p, f, m, NULL, 0);
    h.has_sample_count = true;
    h.sample_count = m->count;
    h.has_sample_sum = true;
    h.sample_sum = m->sum;
    h.n_bucket = set_buckets(p, m);
    h.bucket = p->bucket_ptrs;
    h.created_timestamp = pool_timestamp(p, m->created);
    pm.histogram = &h;
    add_metric_field(e, &pm);
}

/* One gauge per state; the pool is refilled for each. */
static void add_stateset(pm_enc *e, pool *p, const pm_family_view *f, const pm_metric_view *m)
{
    for (size_t i = 0; i < m->n_states; i++) {
        prom_label state = {f->name, m->states[i]};
        p->n_labels = 0;
        add_gauge(e, p, f, m, &state, 1, m->state_values[i] ? 1 : 0);
    }
}

void pm_proto_metric(pm_enc *e, const pm_family_view *f, const pm_metric_view *m)
{
    pool p;
    if (!pool_init(&p, e, f, m)) {
        e->scratch_w.failed = true;
        return;
    }
    switch (f->type) {
    case PROM_COUNTER: add_counter(e, &p, f, m); break;
    case PROM_GAUGE: add_gauge(e, &p, f, m, NULL, 0, m->value); break;
    case PROM_UNTYPED: add_untyped(e, &p, f, m); break;
    case PROM_HISTOGRAM: add_histogram(e, &p, f, m); break;
    case PROM_SUMMARY: add_summary(e, &p, f, m); break;
    case PROM_INFO: add_gauge(e, &p, f, m, m->info_labels, m->n_info_labels, 1); break;
    case PROM_STATESET: add_stateset(e, &p, f, m); break;
    }
}

/* ---- Families */

static Io__Prometheus__Client__MetricType proto_type(prom_type t)
{
    switch (t) {
    case PROM_COUNTER: return IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER;
    case PROM_HISTOGRAM: return IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM;
    case PROM_SUMMARY: return IO__PROMETHEUS__CLIENT__METRIC_TYPE__SUMMARY;
    case PROM_UNTYPED: return IO__PROMETHEUS__CLIENT__METRIC_TYPE__UNTYPED;
    default: return IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE; /* info and stateset too */
    }
}

/* The family's name in e->work: "<name>_info" for an info family. */
static const char *family_name(pm_enc *e, const pm_family_view *f)
{
    if (f->type != PROM_INFO) return f->name;
    pm_buf w = {&e->work, false};
    e->work.len = 0;
    pm_buf_adds(&w, f->name);
    pm_buf_adds(&w, "_info");
    if (w.failed) e->scratch_w.failed = true;
    return w.failed ? f->name : e->work.data;
}

void pm_proto_family_begin(pm_enc *e, const pm_family_view *f)
{
    pb_family head = IO__PROMETHEUS__CLIENT__METRIC_FAMILY__INIT;
    e->scratch.len = 0;
    e->scratch_w = (pm_buf){&e->scratch, false};
    head.name = (char *)family_name(e, f);
    head.help = (char *)f->help;
    head.has_type = true;
    head.type = proto_type(f->type);
    add_message(&e->scratch_w, &head.base);
}

void pm_proto_family_end(pm_enc *e, const pm_family_view *f)
{
    if (f->unit != NULL) {
        pb_family tail = IO__PROMETHEUS__CLIENT__METRIC_FAMILY__INIT;
        tail.unit = (char *)f->unit;
        add_message(&e->scratch_w, &tail.base);
    }
    if (e->scratch_w.failed) {
        e->out->failed = true;
        return;
    }
    add_varint(e->out, e->scratch.len);
    pm_buf_add(e->out, e->scratch.data, e->scratch.len);
}
