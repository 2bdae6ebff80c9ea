/*
 * Unit tests for client/encode.c and client/encode_proto.c (the exposition
 * encoders), with client/buf.c and client/error.c they stand on.
 *
 * One set of families covering every type and the odd corners (escaping,
 * UTF-8, no labels, empty help, no children, NaN and infinities, exemplars,
 * _created, units, counters with and without _total, counts past 2^53) is
 * rendered in each format:
 *   - text and OpenMetrics are compared with golden/encode_text.txt and
 *     golden/encode_openmetrics.txt.  The text golden is the output of
 *     prometheus/common's expfmt 0.39 (Go) for the same families (info and
 *     stateset given to it as the gauges they become), plus the HELP and
 *     TYPE of the family without children, which MetricFamilyToText refuses.
 *     The OpenMetrics golden is expfmt 0.39's output too, plus what that
 *     version cannot write and newer expfmt or client_python do (# UNIT,
 *     _created, info, stateset, a counter not ending in _total), and with
 *     the exemplar timestamp printed from the double the view holds rather
 *     than from Go's nanoseconds;
 *   - protobuf is read back with protobuf-c and checked field by field
 *     against the views.  (When the goldens were made, Go's pbutil also read
 *     this output back and expfmt printed it as exactly the text golden.)
 * golden/make_golden.go is the Go program the goldens came from.
 */
#include "unit/unit.h"

#include "internal.h"

#include <math.h>
#include <pthread.h>

#include "proto/metrics.pb-c.h"

/* ---- The families */

typedef struct fixture {
    pm_family_view family;
    const pm_metric_view *metrics;
    size_t n_metrics;
} fixture;

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const code_method[] = {"code", "method"};
static const char *const get_200[] = {"200", "GET"};
static const char *const post_500[] = {"500", "POST"};
static const prom_label trace_abc[] = {{"trace_id", "abc123"}};
static const pm_exemplar_view requests_exemplar = {trace_abc, 1, 1, 1700000000.123};
static const pm_metric_view requests[] = {
    {.label_values = get_200,
     .value = 1027,
     .exemplar = &requests_exemplar,
     .created = 1699999000.5},
    {.label_values = post_500, .value = 3, .created = NAN},
};

/* An exemplar without labels: protobuf carries it, OpenMetrics leaves it out. */
static const pm_exemplar_view bare_exemplar = {NULL, 0, 2, NAN};
static const pm_metric_view jobs[] = {
    {.value = 0, .exemplar = &bare_exemplar, .created = 1700000000},
};

static const char *const location[] = {"location"};
static const char *const loc_escaped[] = {"a\\b\"c\nd"};
static const char *const loc_utf8[] = {"z\xc3\xbcrich \xe2\x98\x83"};
static const char *const loc_empty[] = {""};
static const char *const loc_x[] = {"x"};
static const char *const loc_y[] = {"y"};
static const char *const loc_z[] = {"z"};
static const pm_metric_view temperatures[] = {
    {.label_values = loc_escaped, .value = -3.5, .created = NAN},
    {.label_values = loc_utf8, .value = NAN, .created = NAN},
    {.label_values = loc_empty, .value = INFINITY, .created = NAN},
    {.label_values = loc_x, .value = -INFINITY, .created = NAN},
    {.label_values = loc_y, .value = 1e-7, .created = NAN},
    {.label_values = loc_z, .value = 123456789, .created = NAN},
};

static const pm_metric_view up[] = {{.value = 1, .created = NAN}};

static const char *const label_a[] = {"a"};
static const char *const a1[] = {"1"};
static const char *const a2[] = {"2"};
static const char *const a3[] = {"3"};
static const pm_metric_view legacy[] = {
    {.label_values = a1, .value = 42, .created = NAN},
    {.label_values = a2, .value = 0.1 + 0.2, .created = NAN},
    {.label_values = a3, .value = -0.0, .created = NAN},
};

static const char *const handler[] = {"handler"};
static const char *const h_api[] = {"/api"};
static const char *const h_root[] = {"/"};
static const double default_bounds[] = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, INFINITY};
static const uint64_t api_counts[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1024};
static const uint64_t zero_counts[12] = {0};
static const prom_label trace_xyz[] = {{"trace_id", "xyz"}};
static const prom_label trace_inf[] = {{"trace_id", "inf"}, {"user", "u\"1"}};
static const pm_exemplar_view ex_quarter = {trace_xyz, 1, 0.2, NAN};
static const pm_exemplar_view ex_inf = {trace_inf, 2, 15.5, 1700000001};
static const pm_exemplar_view *const api_exemplars[] = {NULL, NULL, NULL, NULL, NULL, &ex_quarter,
                                                        NULL, NULL, NULL, NULL, NULL, &ex_inf};
static const pm_metric_view durations[] = {
    {.label_values = h_api,
     .n_buckets = 12,
     .bounds = default_bounds,
     .cumulative = api_counts,
     .bucket_exemplars = api_exemplars,
     .sum = 53.1,
     .count = 1024,
     .created = 1699990000.25},
    {.label_values = h_root,
     .n_buckets = 12,
     .bounds = default_bounds,
     .cumulative = zero_counts,
     .sum = 0,
     .count = 0,
     .created = NAN},
};

/* Counts past 2^53: text prints them as Go's float64 conversion does. */
static const double size_bounds[] = {1, 2.5, 1e6, INFINITY};
static const uint64_t size_counts[] = {1, 2, 3, 9007199254740993};
static const pm_metric_view payload_sizes[] = {
    {.n_buckets = 4,
     .bounds = size_bounds,
     .cumulative = size_counts,
     .sum = 1e7,
     .count = 9007199254740993,
     .created = NAN},
};

static const char *const service[] = {"service"};
static const char *const svc_db[] = {"db"};
static const double objectives[] = {0.5, 0.9, 0.99};
static const double latency_values[] = {0.012, 0.05, NAN};
static const pm_metric_view latencies[] = {
    {.label_values = svc_db,
     .n_quantiles = 3,
     .quantiles = objectives,
     .quantile_values = latency_values,
     .sum = 1234.5,
     .count = 100,
     .created = 1700000000.5},
};

static const pm_metric_view gc_pauses[] = {{.sum = 0, .count = 0, .created = NAN}};

static const char *const env[] = {"env"};
static const char *const env_prod[] = {"prod"};
static const prom_label build_labels[] = {{"revision", "abc"}, {"version", "1.2.3"}};
static const pm_metric_view builds[] = {
    {.label_values = env_prod, .info_labels = build_labels, .n_info_labels = 2, .created = NAN},
};

static const char *const region[] = {"region"};
static const char *const region_eu[] = {"eu"};
static const char *const region_us[] = {"us"};
static const char *const states[] = {"a", "b", "c"};
static const uint8_t eu_states[] = {1, 0, 0};
static const uint8_t us_states[] = {0, 0, 1};
static const pm_metric_view feature_states[] = {
    {.label_values = region_eu,
     .states = states,
     .state_values = eu_states,
     .n_states = 3,
     .created = NAN},
    {.label_values = region_us,
     .states = states,
     .state_values = us_states,
     .n_states = 3,
     .created = NAN},
};

static const fixture fixtures[] = {
    {{"http_requests_total", "Total HTTP requests.", NULL, PROM_COUNTER, code_method, 2},
     requests,
     COUNT(requests)},
    {{"jobs", "Jobs \\ done\nsince \"start\".", NULL, PROM_COUNTER, NULL, 0}, jobs, COUNT(jobs)},
    {{"temperature_celsius",
      "Temperature \xe2\x98\x83 in \xc2\xb0"
      "C.",
      "celsius", PROM_GAUGE, location, 1},
     temperatures,
     COUNT(temperatures)},
    {{"up", "", NULL, PROM_GAUGE, NULL, 0}, up, COUNT(up)},
    {{"legacy_metric", "An untyped metric.", NULL, PROM_UNTYPED, label_a, 1},
     legacy,
     COUNT(legacy)},
    {{"request_duration_seconds", "Request duration.", "seconds", PROM_HISTOGRAM, handler, 1},
     durations,
     COUNT(durations)},
    {{"payload_size", "Sizes.", NULL, PROM_HISTOGRAM, NULL, 0},
     payload_sizes,
     COUNT(payload_sizes)},
    {{"rpc_latency_seconds", "RPC latency.", NULL, PROM_SUMMARY, service, 1},
     latencies,
     COUNT(latencies)},
    {{"gc_pause_seconds", "GC pauses.", NULL, PROM_SUMMARY, NULL, 0}, gc_pauses, COUNT(gc_pauses)},
    {{"build", "Build information.", NULL, PROM_INFO, env, 1}, builds, COUNT(builds)},
    {{"feature_state", "Feature states.", NULL, PROM_STATESET, region, 1},
     feature_states,
     COUNT(feature_states)},
    {{"empty_gauge", "No children.", NULL, PROM_GAUGE, NULL, 0}, NULL, 0},
};

/* ---- Rendering and golden files */

static void render(prom_format format, const fixture *fx, size_t n, prom_buffer *out)
{
    pm_buf w = {out, false};
    pm_enc e;
    pm_enc_init(&e, format, &w);
    for (size_t i = 0; i < n; i++) {
        pm_enc_family_begin(&e, &fx[i].family);
        for (size_t j = 0; j < fx[i].n_metrics; j++)
            pm_enc_metric(&e, &fx[i].family, &fx[i].metrics[j]);
        pm_enc_family_end(&e, &fx[i].family);
    }
    pm_enc_finish(&e);
    assert_false(w.failed);
}

static char *read_golden(const char *name, size_t *len)
{
    const char *src = getenv("PROM_SOURCE_DIR");
    assert_non_null(src);
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/unit/client/golden/%s", src, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) fail_msg("cannot open %s", path);
    static char data[1 << 16];
    *len = fread(data, 1, sizeof data - 1, f);
    data[*len] = '\0';
    fclose(f);
    return data;
}

/* Fails naming the first line that differs. */
static void assert_golden(const prom_buffer *got, const char *name)
{
    size_t len;
    const char *want = read_golden(name, &len);
    if (got->len == len && memcmp(got->data, want, len) == 0) return;
    size_t i = 0, line = 1, start = 0;
    for (; i < len && i < got->len && got->data[i] == want[i]; i++)
        if (want[i] == '\n') {
            line++;
            start = i + 1;
        }
    fail_msg("%s differs at line %zu:\n  got:  %.*s\n  want: %.*s", name, line,
             (int)strcspn(got->data + start, "\n"), got->data + start,
             (int)strcspn(want + start, "\n"), want + start);
}

static void test_text_golden(void **state)
{
    prom_buffer out = {0};
    render(PROM_FORMAT_TEXT, fixtures, COUNT(fixtures), &out);
    assert_golden(&out, "encode_text.txt");
    prom_buffer_free(&out);
}

static void test_openmetrics_golden(void **state)
{
    prom_buffer out = {0};
    render(PROM_FORMAT_OPENMETRICS, fixtures, COUNT(fixtures), &out);
    assert_golden(&out, "encode_openmetrics.txt");
    prom_buffer_free(&out);
}

/* A reused buffer gets the same bytes, and an encoder run appends to it. */
static void test_buffer_reuse(void **state)
{
    prom_buffer first = {0}, again = {0};
    render(PROM_FORMAT_TEXT, fixtures, COUNT(fixtures), &first);
    render(PROM_FORMAT_TEXT, fixtures, COUNT(fixtures), &again);
    size_t len = again.len;
    again.len = 0;
    render(PROM_FORMAT_TEXT, fixtures, COUNT(fixtures), &again);
    assert_int_equal(again.len, len);
    assert_memory_equal(again.data, first.data, len);
    assert_int_equal(again.data[again.len], '\0');
    prom_buffer_free(&first);
    prom_buffer_free(&again);
}

/* ---- Protobuf, read back */

typedef Io__Prometheus__Client__MetricFamily pb_family;
typedef Io__Prometheus__Client__Metric pb_metric;
typedef Io__Prometheus__Client__LabelPair pb_label;
typedef Io__Prometheus__Client__Exemplar pb_exemplar;
typedef Io__Prometheus__Client__Timestamp pb_timestamp;

static uint64_t read_varint(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    fail_msg("bad varint");
    return 0;
}

static void assert_double_same(double got, double want)
{
    if (isnan(want))
        assert_true(isnan(got));
    else
        assert_memory_equal(&got, &want, sizeof got); /* tells -0 from 0 */
}

static void assert_timestamp(const pb_timestamp *t, double want)
{
    if (isnan(want)) {
        assert_null(t);
        return;
    }
    assert_non_null(t);
    assert_true(t->nanos >= 0 && t->nanos < 1000000000);
    assert_true(fabs((double)t->seconds + t->nanos / 1e9 - want) < 1e-6);
}

static void assert_label(const pb_label *l, const char *name, const char *value)
{
    assert_string_equal(l->name, name);
    assert_string_equal(l->value, value);
}

/* The family's labels, then `extra`. */
static void assert_labels(const pb_metric *pm, const pm_family_view *f, const pm_metric_view *m,
                          const prom_label *extra, size_t n_extra)
{
    assert_int_equal(pm->n_label, f->n_labels + n_extra);
    for (size_t i = 0; i < f->n_labels; i++)
        assert_label(pm->label[i], f->label_names[i], m->label_values[i]);
    for (size_t i = 0; i < n_extra; i++)
        assert_label(pm->label[f->n_labels + i], extra[i].name, extra[i].value);
}

static void assert_exemplar(const pb_exemplar *x, const pm_exemplar_view *want)
{
    if (want == NULL) {
        assert_null(x);
        return;
    }
    assert_non_null(x);
    assert_int_equal(x->n_label, want->n_labels);
    for (size_t i = 0; i < want->n_labels; i++)
        assert_label(x->label[i], want->labels[i].name, want->labels[i].value);
    assert_true(x->has_value);
    assert_double_same(x->value, want->value);
    assert_timestamp(x->timestamp, want->timestamp);
}

static void assert_only(const pb_metric *pm, const void *present)
{
    const void *fields[] = {pm->counter, pm->gauge, pm->summary, pm->untyped, pm->histogram};
    for (size_t i = 0; i < COUNT(fields); i++)
        assert_true(fields[i] == present || fields[i] == NULL);
    assert_non_null(present);
    assert_false(pm->has_timestamp_ms);
}

static void assert_gauge(const pb_metric *pm, double want)
{
    assert_only(pm, pm->gauge);
    assert_true(pm->gauge->has_value);
    assert_double_same(pm->gauge->value, want);
}

static void assert_histogram(const pb_metric *pm, const pm_metric_view *m)
{
    assert_only(pm, pm->histogram);
    const Io__Prometheus__Client__Histogram *h = pm->histogram;
    assert_int_equal(h->sample_count, m->count);
    assert_double_same(h->sample_sum, m->sum);
    assert_timestamp(h->created_timestamp, m->created);
    size_t k = 0;
    for (size_t i = 0; i < m->n_buckets; i++) {
        const pm_exemplar_view *x = m->bucket_exemplars ? m->bucket_exemplars[i] : NULL;
        if (isinf(m->bounds[i]) && x == NULL) continue; /* implied by sample_count */
        assert_true(k < h->n_bucket);
        assert_int_equal(h->bucket[k]->cumulative_count, m->cumulative[i]);
        assert_double_same(h->bucket[k]->upper_bound, m->bounds[i]);
        assert_exemplar(h->bucket[k]->exemplar, x);
        k++;
    }
    assert_int_equal(h->n_bucket, k);
}

static void assert_summary(const pb_metric *pm, const pm_metric_view *m)
{
    assert_only(pm, pm->summary);
    const Io__Prometheus__Client__Summary *s = pm->summary;
    assert_int_equal(s->sample_count, m->count);
    assert_double_same(s->sample_sum, m->sum);
    assert_timestamp(s->created_timestamp, m->created);
    assert_int_equal(s->n_quantile, m->n_quantiles);
    for (size_t i = 0; i < m->n_quantiles; i++) {
        assert_double_same(s->quantile[i]->quantile, m->quantiles[i]);
        assert_double_same(s->quantile[i]->value, m->quantile_values[i]);
    }
}

/* Checks the metrics of one view (several for a stateset) from *k on. */
static void assert_metric(const pb_family *pf, size_t *k, const pm_family_view *f,
                          const pm_metric_view *m)
{
    if (f->type == PROM_STATESET) {
        for (size_t i = 0; i < m->n_states; i++) {
            prom_label state = {f->name, m->states[i]};
            assert_labels(pf->metric[*k], f, m, &state, 1);
            assert_gauge(pf->metric[(*k)++], m->state_values[i]);
        }
        return;
    }
    const pb_metric *pm = pf->metric[(*k)++];
    assert_labels(pm, f, m, f->type == PROM_INFO ? m->info_labels : NULL,
                  f->type == PROM_INFO ? m->n_info_labels : 0);
    switch (f->type) {
    case PROM_COUNTER:
        assert_only(pm, pm->counter);
        assert_double_same(pm->counter->value, m->value);
        assert_exemplar(pm->counter->exemplar, m->exemplar);
        assert_timestamp(pm->counter->created_timestamp, m->created);
        break;
    case PROM_GAUGE: assert_gauge(pm, m->value); break;
    case PROM_UNTYPED:
        assert_only(pm, pm->untyped);
        assert_double_same(pm->untyped->value, m->value);
        break;
    case PROM_HISTOGRAM: assert_histogram(pm, m); break;
    case PROM_SUMMARY: assert_summary(pm, m); break;
    case PROM_INFO: assert_gauge(pm, 1); break;
    case PROM_STATESET: break;
    }
}

static size_t proto_metric_count(const fixture *fx)
{
    if (fx->family.type != PROM_STATESET) return fx->n_metrics;
    size_t n = 0;
    for (size_t i = 0; i < fx->n_metrics; i++)
        n += fx->metrics[i].n_states;
    return n;
}

static void assert_family(const pb_family *pf, const fixture *fx)
{
    const pm_family_view *f = &fx->family;
    char name[256];
    snprintf(name, sizeof name, "%s%s", f->name, f->type == PROM_INFO ? "_info" : "");
    assert_string_equal(pf->name, name);
    assert_string_equal(pf->help, f->help);
    assert_true(pf->has_type);
    const int types[] = {
        [PROM_COUNTER] = IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER,
        [PROM_GAUGE] = IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE,
        [PROM_HISTOGRAM] = IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM,
        [PROM_SUMMARY] = IO__PROMETHEUS__CLIENT__METRIC_TYPE__SUMMARY,
        [PROM_UNTYPED] = IO__PROMETHEUS__CLIENT__METRIC_TYPE__UNTYPED,
        [PROM_INFO] = IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE,
        [PROM_STATESET] = IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE,
    };
    assert_int_equal(pf->type, types[f->type]);
    if (f->unit == NULL)
        assert_null(pf->unit);
    else
        assert_string_equal(pf->unit, f->unit);
    assert_int_equal(pf->n_metric, proto_metric_count(fx));
    size_t k = 0;
    for (size_t i = 0; i < fx->n_metrics; i++)
        assert_metric(pf, &k, f, &fx->metrics[i]);
}

static void test_protobuf_reads_back(void **state)
{
    prom_buffer out = {0};
    render(PROM_FORMAT_PROTOBUF, fixtures, COUNT(fixtures), &out);
    const uint8_t *p = (const uint8_t *)out.data, *end = p + out.len;
    size_t i = 0;
    while (p < end) {
        size_t len = read_varint(&p, end);
        assert_true(len <= (size_t)(end - p));
        pb_family *pf = io__prometheus__client__metric_family__unpack(NULL, len, p);
        assert_non_null(pf);
        assert_true(i < COUNT(fixtures));
        assert_family(pf, &fixtures[i++]);
        io__prometheus__client__metric_family__free_unpacked(pf, NULL);
        p += len;
    }
    assert_int_equal(i, COUNT(fixtures));
    prom_buffer_free(&out);
}

/* A family is one message: packing the whole tree with protobuf-c must give
 * the bytes the encoder built piece by piece. */
static void test_protobuf_bytes_match_whole_message(void **state)
{
    prom_buffer out = {0};
    render(PROM_FORMAT_PROTOBUF, fixtures, COUNT(fixtures), &out);
    const uint8_t *p = (const uint8_t *)out.data, *end = p + out.len;
    while (p < end) {
        size_t len = read_varint(&p, end);
        pb_family *pf = io__prometheus__client__metric_family__unpack(NULL, len, p);
        assert_non_null(pf);
        assert_int_equal(io__prometheus__client__metric_family__get_packed_size(pf), len);
        uint8_t *again = malloc(len);
        io__prometheus__client__metric_family__pack(pf, again);
        assert_memory_equal(again, p, len);
        free(again);
        io__prometheus__client__metric_family__free_unpacked(pf, NULL);
        p += len;
    }
    prom_buffer_free(&out);
}

/* ---- Odd but valid input */

static void test_histogram_without_inf_bucket(void **state)
{
    static const double bounds[] = {1};
    static const uint64_t counts[] = {2};
    static const pm_metric_view m[] = {
        {.n_buckets = 1,
         .bounds = bounds,
         .cumulative = counts,
         .sum = 3,
         .count = 5,
         .created = NAN},
        {.n_buckets = 0, .sum = 0.5, .count = 1, .created = NAN},
    };
    const fixture fx = {{"h", NULL, NULL, PROM_HISTOGRAM, NULL, 0}, m, 2};
    prom_buffer out = {0};
    render(PROM_FORMAT_TEXT, &fx, 1, &out);
    assert_string_equal(out.data, "# TYPE h histogram\n"
                                  "h_bucket{le=\"1\"} 2\n"
                                  "h_bucket{le=\"+Inf\"} 5\n"
                                  "h_sum 3\n"
                                  "h_count 5\n"
                                  "h_bucket{le=\"+Inf\"} 1\n"
                                  "h_sum 0.5\n"
                                  "h_count 1\n");
    out.len = 0;
    render(PROM_FORMAT_OPENMETRICS, &fx, 1, &out);
    assert_string_equal(out.data, "# TYPE h histogram\n"
                                  "h_bucket{le=\"1.0\"} 2\n"
                                  "h_bucket{le=\"+Inf\"} 5\n"
                                  "h_sum 3.0\n"
                                  "h_count 5\n"
                                  "h_bucket{le=\"+Inf\"} 1\n"
                                  "h_sum 0.5\n"
                                  "h_count 1\n"
                                  "# EOF\n");
    prom_buffer_free(&out);
}

static void test_empty_exposition(void **state)
{
    prom_buffer out = {0};
    render(PROM_FORMAT_OPENMETRICS, NULL, 0, &out);
    assert_string_equal(out.data, "# EOF\n");
    out.len = 0;
    render(PROM_FORMAT_TEXT, NULL, 0, &out);
    assert_int_equal(out.len, 0);
    render(PROM_FORMAT_PROTOBUF, NULL, 0, &out);
    assert_int_equal(out.len, 0);
    prom_buffer_free(&out);
}

/* A family with no children is still a message, with no metric field. */
static void test_protobuf_empty_family(void **state)
{
    const fixture fx = {{"nothing", "", NULL, PROM_UNTYPED, NULL, 0}, NULL, 0};
    prom_buffer out = {0};
    render(PROM_FORMAT_PROTOBUF, &fx, 1, &out);
    /* name (1), help (2, empty but present), type (3) = UNTYPED */
    const char want[] = "\x0d\x0a\x07nothing\x12\x00\x18\x03";
    assert_int_equal(out.len, sizeof want - 1);
    assert_memory_equal(out.data, want, out.len);
    prom_buffer_free(&out);
}

static void test_failed_output_stays_failed(void **state)
{
    prom_buffer out = {0};
    pm_buf w = {&out, true};
    for (int format = PROM_FORMAT_TEXT; format <= PROM_FORMAT_PROTOBUF; format++) {
        pm_enc e;
        pm_enc_init(&e, (prom_format)format, &w);
        for (size_t i = 0; i < COUNT(fixtures); i++) {
            pm_enc_family_begin(&e, &fixtures[i].family);
            for (size_t j = 0; j < fixtures[i].n_metrics; j++)
                pm_enc_metric(&e, &fixtures[i].family, &fixtures[i].metrics[j]);
            pm_enc_family_end(&e, &fixtures[i].family);
        }
        pm_enc_finish(&e);
    }
    assert_true(w.failed);
    assert_int_equal(out.len, 0);
    assert_null(out.data);
}

/* A protobuf family whose scratch space failed marks the output failed and
 * writes nothing of it. */
static void test_protobuf_scratch_failure(void **state)
{
    prom_buffer out = {0};
    pm_buf w = {&out, false};
    pm_enc e;
    pm_enc_init(&e, PROM_FORMAT_PROTOBUF, &w);
    pm_enc_family_begin(&e, &fixtures[0].family);
    e.scratch_w.failed = true;
    pm_enc_metric(&e, &fixtures[0].family, &fixtures[0].metrics[0]);
    pm_enc_family_end(&e, &fixtures[0].family);
    pm_enc_finish(&e);
    assert_true(w.failed);
    assert_int_equal(out.len, 0);
    prom_buffer_free(&out);
}

/* ---- buf.c */

static void test_buf_appends_and_grows(void **state)
{
    prom_buffer b = {0};
    pm_buf w = {&b, false};
    pm_buf_adds(&w, "ab");
    pm_buf_addc(&w, 'c');
    pm_buf_add(&w, "dexx", 2);
    pm_buf_add(&w, NULL, 0);
    assert_int_equal(b.len, 5);
    assert_string_equal(b.data, "abcde");
    for (int i = 0; i < 10000; i++)
        pm_buf_add(&w, "0123456789", 10);
    assert_int_equal(b.len, 100005);
    assert_true(b.cap > b.len);
    assert_int_equal(b.data[b.len], '\0');
    assert_memory_equal(b.data + 99995, "0123456789", 10);
    assert_true(pm_buf_reserve(&w, 1000));
    assert_true(b.cap >= b.len + 1000);
    assert_false(w.failed);
    prom_buffer_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    prom_buffer_free(&b);
    prom_buffer_free(NULL);
}

static void test_buf_u64(void **state)
{
    prom_buffer b = {0};
    pm_buf w = {&b, false};
    pm_buf_add_u64(&w, 0);
    pm_buf_addc(&w, ' ');
    pm_buf_add_u64(&w, 42);
    pm_buf_addc(&w, ' ');
    pm_buf_add_u64(&w, UINT64_MAX);
    assert_string_equal(b.data, "0 42 18446744073709551615");
    prom_buffer_free(&b);
}

static void test_buf_failed_ignores_appends(void **state)
{
    prom_buffer b = {0};
    pm_buf w = {&b, false};
    pm_buf_adds(&w, "kept");
    w.failed = true;
    pm_buf_adds(&w, "dropped");
    pm_buf_add_u64(&w, 7);
    assert_false(pm_buf_reserve(&w, 1));
    assert_string_equal(b.data, "kept");
    prom_buffer_free(&b);
}

/* A size that cannot be allocated fails the buffer instead of aborting. */
static void test_buf_impossible_reserve(void **state)
{
    prom_buffer b = {0};
    pm_buf w = {&b, false};
    pm_buf_adds(&w, "x");
    assert_false(pm_buf_reserve(&w, SIZE_MAX - 1));
    assert_true(w.failed);
    pm_buf_adds(&w, "y");
    assert_string_equal(b.data, "x");
    prom_buffer_free(&b);
}

/* ---- error.c */

static void test_error_message(void **state)
{
    assert_int_equal(pm_error(PROM_EINVAL, "bad name \"%s\"", "2xx"), PROM_EINVAL);
    assert_string_equal(prom_last_error(), "bad name \"2xx\"");
    char longer[2000];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(pm_error(PROM_ENOMEM, "%s", longer), PROM_ENOMEM);
    size_t n = strlen(prom_last_error());
    assert_true(n >= 255 && n < sizeof longer - 1);
}

static void *other_thread(void *arg)
{
    *(bool *)arg = prom_last_error()[0] == '\0';
    pm_error(PROM_EIO, "from the other thread");
    return NULL;
}

static void test_error_is_per_thread(void **state)
{
    pm_error(PROM_EEXIST, "mine");
    bool other_was_empty = false;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_thread, &other_was_empty), 0);
    pthread_join(t, NULL);
    assert_true(other_was_empty);
    assert_string_equal(prom_last_error(), "mine");
}

static void test_status_strings(void **state)
{
    for (int s = PROM_ESTATE; s <= PROM_OK; s++) {
        assert_non_null(prom_status_string(s));
        assert_string_not_equal(prom_status_string(s), "unknown status");
    }
    assert_string_equal(prom_status_string(PROM_EINVAL), "invalid argument");
    assert_string_equal(prom_status_string(12345), "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_golden),
        cmocka_unit_test(test_openmetrics_golden),
        cmocka_unit_test(test_buffer_reuse),
        cmocka_unit_test(test_protobuf_reads_back),
        cmocka_unit_test(test_protobuf_bytes_match_whole_message),
        cmocka_unit_test(test_histogram_without_inf_bucket),
        cmocka_unit_test(test_empty_exposition),
        cmocka_unit_test(test_protobuf_empty_family),
        cmocka_unit_test(test_failed_output_stays_failed),
        cmocka_unit_test(test_protobuf_scratch_failure),
        cmocka_unit_test(test_buf_appends_and_grows),
        cmocka_unit_test(test_buf_u64),
        cmocka_unit_test(test_buf_failed_ignores_appends),
        cmocka_unit_test(test_buf_impossible_reserve),
        cmocka_unit_test(test_error_message),
        cmocka_unit_test(test_error_is_per_thread),
        cmocka_unit_test(test_status_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
