/*
 * load.c - prometheus.yml: the top level, global, scrape configs, alerting,
 * remote write and read, storage, tracing, OTLP, and prom-server's query
 * block.
 *
 * One pass over the document in file order, after `global` (which every scrape
 * config takes defaults from) has been read first.  Each section is decoded as
 * upstream's UnmarshalYAML decodes it and checked at once as its Validate
 * checks it, while the YAML nodes are at hand to put a line and column on the
 * message.  When a file has several mistakes, the one reported may therefore
 * differ from the one upstream reports first; each message is upstream's.
 *
 * scrape_config_files are globbed and loaded after the main file, each
 * scrape config checked against the main file's global block and job names
 * kept unique across all files, as upstream's GetScrapeConfigs does at every
 * (re)load.
 */
#include "config/internal.h"

#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#define SECONDS(n) ((int64_t)(n)*CORE_MS_PER_SECOND)

/* ---- Scrape protocols */

static const char *const proto_names[CFG_PROTO_COUNT] = {
    [CFG_PROTO_PROMETHEUS_PROTO] = "PrometheusProto",
    [CFG_PROTO_OPENMETRICS_1_0_0] = "OpenMetricsText1.0.0",
    [CFG_PROTO_OPENMETRICS_0_0_1] = "OpenMetricsText0.0.1",
    [CFG_PROTO_PROMETHEUS_TEXT_1_0_0] = "PrometheusText1.0.0",
    [CFG_PROTO_PROMETHEUS_TEXT_0_0_4] = "PrometheusText0.0.4",
};

static const char *const proto_headers[CFG_PROTO_COUNT] = {
    [CFG_PROTO_PROMETHEUS_PROTO] = "application/vnd.google.protobuf;"
                                   "proto=io.prometheus.client.MetricFamily;encoding=delimited",
    [CFG_PROTO_OPENMETRICS_1_0_0] = "application/openmetrics-text;version=1.0.0",
    [CFG_PROTO_OPENMETRICS_0_0_1] = "application/openmetrics-text;version=0.0.1",
    [CFG_PROTO_PROMETHEUS_TEXT_1_0_0] = "text/plain;version=1.0.0",
    [CFG_PROTO_PROMETHEUS_TEXT_0_0_4] = "text/plain;version=0.0.4",
};

const char *cfg_scrape_protocol_name(cfg_scrape_protocol p)
{
    return (unsigned)p < CFG_PROTO_COUNT ? proto_names[p] : "";
}

const char *cfg_scrape_protocol_header(cfg_scrape_protocol p)
{
    return (unsigned)p < CFG_PROTO_COUNT ? proto_headers[p] : "";
}

#define SUPPORTED_PROTOCOLS                                                           \
    "[OpenMetricsText0.0.1 OpenMetricsText1.0.0 PrometheusProto PrometheusText0.0.4 " \
    "PrometheusText1.0.0]"

static int proto_lookup(const char *s)
{
    for (int i = 0; i < CFG_PROTO_COUNT; i++)
        if (strcmp(s, proto_names[i]) == 0) return i;
    return -1;
}

/* Upstream's validateAcceptScrapeProtocols; `suffix` ends messages. */
static int protocols_check(dec *d, const ynode *at, const cfg_strs *raw, cfg_protocols *out,
                           const char *suffix)
{
    if (raw->n == 0) return dec_fail(d, at, "scrape_protocols cannot be empty%s", suffix);
    out->n = 0;
    for (size_t i = 0; i < raw->n; i++) {
        const ynode *item = at != NULL && at->kind == CORE_YAML_SEQ ? at->items[i] : at;
        for (size_t j = 0; j < i; j++) {
            if (strcasecmp(raw->v[j], raw->v[i]) == 0) {
                core_sb all = CORE_SB_INIT;
                for (size_t k = 0; k < raw->n; k++) {
                    if (k) core_sb_addc(&all, ' ');
                    core_sb_adds(&all, raw->v[k]);
                }
                int rc = dec_fail(d, item, "duplicated protocol in scrape_protocols, got [%s]%s",
                                  all.buf, suffix);
                core_sb_destroy(&all);
                return rc;
            }
        }
        int p = proto_lookup(raw->v[i]);
        if (p < 0)
            return dec_fail(
                d, item,
                "scrape_protocols: unknown scrape protocol %s, supported: " SUPPORTED_PROTOCOLS
                "%s",
                raw->v[i], suffix);
        out->v[out->n++] = (cfg_scrape_protocol)p;
    }
    return 0;
}

static void protocols_default(cfg_protocols *p, bool proto_first)
{
    static const cfg_scrape_protocol def[] = {
        CFG_PROTO_OPENMETRICS_1_0_0, CFG_PROTO_OPENMETRICS_0_0_1, CFG_PROTO_PROMETHEUS_TEXT_1_0_0,
        CFG_PROTO_PROMETHEUS_TEXT_0_0_4};
    p->n = 0;
    if (proto_first) p->v[p->n++] = CFG_PROTO_PROMETHEUS_PROTO;
    for (size_t i = 0; i < 4; i++)
        p->v[p->n++] = def[i];
}

/* ---- Shared pieces */

static int validation_scheme(dec *d, const ynode *v, bool *set, model_name_scheme *out)
{
    const char *s;
    if (dec_str(d, v, "metric_name_validation_scheme", &s) < 0) return -1;
    if (s[0] == '\0') {
        *set = false;
        return 0;
    }
    if (strcmp(s, "utf8") == 0) {
        *out = MODEL_NAMES_UTF8;
    } else if (strcmp(s, "legacy") == 0) {
        *out = MODEL_NAMES_LEGACY;
    } else {
        return dec_fail(d, v, "unrecognized ValidationScheme: %s", dec_quote(d, s));
    }
    *set = true;
    return 0;
}

static bool escaping_known(const char *s)
{
    return strcmp(s, "allow-utf-8") == 0 || strcmp(s, "underscores") == 0 ||
           strcmp(s, "dots") == 0 || strcmp(s, "values") == 0;
}

/* The key list of a struct with inline HTTP client settings (and SD). */
static const char **keys_with(dec *d, const char *const own[], bool http, bool sd)
{
    size_t n = 0;
    for (size_t i = 0; own[i]; i++)
        n++;
    if (http)
        for (size_t i = 0; cfg_http_keys[i]; i++)
            n++;
    if (sd)
        for (size_t i = 0; cfg_sd_keys[i]; i++)
            n++;
    const char **k = core_arena_calloc(d->a, n + 1, sizeof *k);
    n = 0;
    for (size_t i = 0; own[i]; i++)
        k[n++] = own[i];
    if (http)
        for (size_t i = 0; cfg_http_keys[i]; i++)
            k[n++] = cfg_http_keys[i];
    if (sd)
        for (size_t i = 0; cfg_sd_keys[i]; i++)
            k[n++] = cfg_sd_keys[i];
    return k;
}

/* An SD mechanism upstream has and prom-server not: named before the strict
 * key check would call it unknown. */
static int unsupported_sd(dec *d, const ynode *map)
{
    for (size_t i = 0; i < dec_pairs(map); i++)
        if (cfg_sd_any_unsupported_key(dec_key(map, i)))
            return cfg_sd_field(d, dec_key(map, i), dec_keynode(map, i), dec_val(map, i),
                                &(cfg_sd){0});
    return 0;
}

static int scheme_check(dec *d, const ynode *at, const char *scheme, const char *what)
{
    if (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) return 0;
    return dec_fail(d, at,
                    "scheme %s of %s is not supported: it must be http or https (Prometheus "
                    "accepts it and then fails every request)",
                    dec_quote(d, scheme), what);
}

/* ---- global */

typedef struct global_state {
    bool given; /* a non-empty global block */
} global_state;

static int decode_global(dec *d, const ynode *n, cfg_global *g)
{
    static const char *const keys[] = {
        "scrape_interval",
        "scrape_timeout",
        "scrape_protocols",
        "evaluation_interval",
        "rule_query_offset",
        "query_log_file",
        "scrape_failure_log_file",
        "external_labels",
        "body_size_limit",
        "sample_limit",
        "target_limit",
        "label_limit",
        "label_name_length_limit",
        "label_value_length_limit",
        "keep_dropped_targets",
        "metric_name_validation_scheme",
        "metric_name_escaping_scheme",
        "scrape_native_histograms",
        "convert_classic_histograms_to_nhcb",
        "always_scrape_classic_histograms",
        "extra_scrape_metrics",
        NULL,
    };
    if (dec_check(d, n, keys, "global config") < 0) return -1;
    /* A block starts from zero values; an all-zero block is the default
     * (upstream's isZero check). */
    cfg_global z = {0};
    bool scheme_set = false, nonzero = false;
    cfg_strs protos = {0};
    bool protos_given = false;
    const ynode *timeout_node = NULL, *protos_node = NULL, *labels_node = NULL;
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        int rc = 0;
        if (strcmp(k, "scrape_interval") == 0)
            rc = dec_duration(d, v, k, &z.scrape_interval_ms);
        else if (strcmp(k, "scrape_timeout") == 0) {
            rc = dec_duration(d, v, k, &z.scrape_timeout_ms);
            timeout_node = v;
        } else if (strcmp(k, "evaluation_interval") == 0)
            rc = dec_duration(d, v, k, &z.evaluation_interval_ms);
        else if (strcmp(k, "rule_query_offset") == 0)
            rc = dec_duration(d, v, k, &z.rule_query_offset_ms);
        else if (strcmp(k, "query_log_file") == 0)
            rc = dec_opt_str(d, v, k, &z.query_log_file);
        else if (strcmp(k, "scrape_failure_log_file") == 0)
            rc = dec_opt_str(d, v, k, &z.scrape_failure_log_file);
        else if (strcmp(k, "body_size_limit") == 0)
            rc = dec_bytes(d, v, k, &z.body_size_limit);
        else if (strcmp(k, "sample_limit") == 0)
            rc = dec_uint(d, v, k, &z.sample_limit);
        else if (strcmp(k, "target_limit") == 0)
            rc = dec_uint(d, v, k, &z.target_limit);
        else if (strcmp(k, "label_limit") == 0)
            rc = dec_uint(d, v, k, &z.label_limit);
        else if (strcmp(k, "label_name_length_limit") == 0)
            rc = dec_uint(d, v, k, &z.label_name_length_limit);
        else if (strcmp(k, "label_value_length_limit") == 0)
            rc = dec_uint(d, v, k, &z.label_value_length_limit);
        else if (strcmp(k, "keep_dropped_targets") == 0)
            rc = dec_uint(d, v, k, &z.keep_dropped_targets);
        else if (strcmp(k, "metric_name_validation_scheme") == 0)
            rc = validation_scheme(d, v, &scheme_set, &z.metric_name_validation_scheme);
        else if (strcmp(k, "metric_name_escaping_scheme") == 0)
            rc = dec_opt_str(d, v, k, &z.metric_name_escaping_scheme);
        else if (strcmp(k, "scrape_native_histograms") == 0)
            rc = dec_bool(d, v, k, &z.scrape_native_histograms);
        else if (strcmp(k, "convert_classic_histograms_to_nhcb") == 0)
            rc = dec_bool(d, v, k, &z.convert_classic_histograms_to_nhcb);
        else if (strcmp(k, "always_scrape_classic_histograms") == 0)
            rc = dec_bool(d, v, k, &z.always_scrape_classic_histograms);
        else if (strcmp(k, "extra_scrape_metrics") == 0)
            rc = dec_bool(d, v, k, &z.extra_scrape_metrics);
        else if (strcmp(k, "scrape_protocols") == 0) {
            rc = dec_strs(d, v, k, &protos);
            protos_given = !core_yaml_is_null(v);
            protos_node = v;
        } else if (strcmp(k, "external_labels") == 0) {
            labels_node = v;
        }
        if (rc < 0) return -1;
        /* isZero: a pointer field given (even false) is not zero. */
        if (!core_yaml_is_null(v) &&
            (strcmp(k, "scrape_native_histograms") == 0 || strcmp(k, "extra_scrape_metrics") == 0))
            nonzero = true;
    }
    if (!scheme_set) z.metric_name_validation_scheme = MODEL_NAMES_UTF8;

    cfg_kvs labels = {0};
    if (dec_kvs(d, labels_node, "external_labels", &labels) < 0) return -1;
    for (size_t i = 0; i < labels.n; i++) {
        const char *name = labels.v[i].key, *value = labels.v[i].value;
        if (!model_label_name_valid(z.metric_name_validation_scheme, name, strlen(name)))
            return dec_fail(d, dec_keynode(labels_node, i), "%s is not a valid label name",
                            dec_quote(d, name));
        uint32_t r;
        for (size_t k = 0, len = strlen(value); k < len;) {
            size_t sz = model_utf8_decode(value + k, len - k, &r);
            if (sz == 0)
                return dec_fail(d, dec_val(labels_node, i), "%s is not a valid label value",
                                dec_quote(d, value));
            k += sz;
        }
    }

    nonzero = nonzero || labels.n > 0 || z.scrape_interval_ms || z.scrape_timeout_ms ||
              z.evaluation_interval_ms || z.rule_query_offset_ms || z.query_log_file ||
              z.scrape_failure_log_file || protos_given || z.convert_classic_histograms_to_nhcb ||
              z.always_scrape_classic_histograms || z.body_size_limit || z.sample_limit ||
              z.target_limit || z.label_limit || z.label_name_length_limit ||
              z.label_value_length_limit || z.keep_dropped_targets || scheme_set ||
              z.metric_name_escaping_scheme;

    if (z.scrape_interval_ms == 0) z.scrape_interval_ms = SECONDS(60);
    if (z.scrape_timeout_ms > z.scrape_interval_ms)
        return dec_fail(d, timeout_node, "global scrape timeout greater than scrape interval");
    if (z.scrape_timeout_ms == 0)
        z.scrape_timeout_ms =
            z.scrape_interval_ms < SECONDS(10) ? z.scrape_interval_ms : SECONDS(10);
    if (z.evaluation_interval_ms == 0) z.evaluation_interval_ms = SECONDS(60);
    if (protos_given &&
        protocols_check(d, protos_node, &protos, &z.scrape_protocols, " for global config") < 0)
        return -1;

    core_label *pairs = core_arena_calloc(d->a, labels.n + 1, sizeof *pairs);
    for (size_t i = 0; i < labels.n; i++)
        pairs[i] = (core_label){labels.v[i].key, labels.v[i].value};
    z.external_labels = core_labels_new_in(d->a, pairs, labels.n);

    if (!nonzero) return 1; /* the defaults stay */
    *g = z;
    return 0;
}

static void global_defaults(dec *d, cfg_global *g)
{
    memset(g, 0, sizeof *g);
    g->scrape_interval_ms = SECONDS(60);
    g->scrape_timeout_ms = SECONDS(10);
    g->evaluation_interval_ms = SECONDS(60);
    g->metric_name_validation_scheme = MODEL_NAMES_UTF8;
    g->metric_name_escaping_scheme = "allow-utf-8";
    g->external_labels = core_labels_new_in(d->a, NULL, 0);
}

/* ---- scrape_configs */

typedef struct scrape_state {
    const ynode *node;
    cfg_strs protocols;
    bool protocols_given;
    const char *fallback;
    const ynode *protocols_node, *fallback_node, *timeout_node, *scheme_node;
    const ynode *relabel_node, *metric_relabel_node, *validation_node, *escaping_node;
    bool native_set, always_set, convert_set, extra_set, validation_set;
} scrape_state;

static int decode_scrape(dec *d, const ynode *n, cfg_scrape *s, scrape_state *st)
{
    static const char *const own[] = {
        "job_name",
        "honor_labels",
        "honor_timestamps",
        "track_timestamps_staleness",
        "params",
        "scrape_interval",
        "scrape_timeout",
        "scrape_protocols",
        "fallback_scrape_protocol",
        "scrape_native_histograms",
        "always_scrape_classic_histograms",
        "convert_classic_histograms_to_nhcb",
        "scrape_failure_log_file",
        "metrics_path",
        "scheme",
        "enable_compression",
        "body_size_limit",
        "sample_limit",
        "target_limit",
        "label_limit",
        "label_name_length_limit",
        "label_value_length_limit",
        "native_histogram_bucket_limit",
        "native_histogram_min_bucket_factor",
        "keep_dropped_targets",
        "metric_name_validation_scheme",
        "metric_name_escaping_scheme",
        "extra_scrape_metrics",
        "relabel_configs",
        "metric_relabel_configs",
        NULL,
    };
    memset(st, 0, sizeof *st);
    st->node = n;
    s->metrics_path = "/metrics";
    s->scheme = "http";
    s->honor_timestamps = true;
    s->enable_compression = true;
    cfg_http_defaults(&s->http);
    if (unsupported_sd(d, n) < 0) return -1;
    if (dec_check(d, n, keys_with(d, own, true, true), "scrape config") < 0) return -1;
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        int rc = cfg_http_field(d, k, v, &s->http);
        if (rc == 0) rc = cfg_sd_field(d, k, dec_keynode(n, i), v, &s->sd);
        if (rc < 0) return -1;
        if (rc > 0) continue;
        if (strcmp(k, "job_name") == 0)
            rc = dec_str(d, v, k, &s->job_name);
        else if (strcmp(k, "honor_labels") == 0)
            rc = dec_bool(d, v, k, &s->honor_labels);
        else if (strcmp(k, "honor_timestamps") == 0)
            rc = dec_bool(d, v, k, &s->honor_timestamps);
        else if (strcmp(k, "track_timestamps_staleness") == 0)
            rc = dec_bool(d, v, k, &s->track_timestamps_staleness);
        else if (strcmp(k, "params") == 0) {
            size_t np = dec_pairs(v);
            if (!core_yaml_is_null(v) && v->kind != CORE_YAML_MAP)
                return dec_fail(d, v, "expected a mapping for params");
            s->params = core_arena_calloc(d->a, np + 1, sizeof *s->params);
            s->n_params = np;
            for (size_t j = 0; j < np && rc == 0; j++) {
                rc = dec_str(d, dec_keynode(v, j), k, &s->params[j].name);
                if (rc == 0) rc = dec_strs(d, dec_val(v, j), k, &s->params[j].values);
            }
        } else if (strcmp(k, "scrape_interval") == 0)
            rc = dec_duration(d, v, k, &s->scrape_interval_ms);
        else if (strcmp(k, "scrape_timeout") == 0) {
            rc = dec_duration(d, v, k, &s->scrape_timeout_ms);
            st->timeout_node = v;
        } else if (strcmp(k, "scrape_protocols") == 0) {
            rc = dec_strs(d, v, k, &st->protocols);
            st->protocols_given = !core_yaml_is_null(v);
            st->protocols_node = v;
        } else if (strcmp(k, "fallback_scrape_protocol") == 0) {
            rc = dec_opt_str(d, v, k, &st->fallback);
            st->fallback_node = v;
        } else if (strcmp(k, "scrape_native_histograms") == 0) {
            rc = dec_bool(d, v, k, &s->scrape_native_histograms);
            st->native_set = !core_yaml_is_null(v);
        } else if (strcmp(k, "always_scrape_classic_histograms") == 0) {
            rc = dec_bool(d, v, k, &s->always_scrape_classic_histograms);
            st->always_set = !core_yaml_is_null(v);
        } else if (strcmp(k, "convert_classic_histograms_to_nhcb") == 0) {
            rc = dec_bool(d, v, k, &s->convert_classic_histograms_to_nhcb);
            st->convert_set = !core_yaml_is_null(v);
        } else if (strcmp(k, "extra_scrape_metrics") == 0) {
            rc = dec_bool(d, v, k, &s->extra_scrape_metrics);
            st->extra_set = !core_yaml_is_null(v);
        } else if (strcmp(k, "scrape_failure_log_file") == 0)
            rc = dec_opt_str(d, v, k, &s->scrape_failure_log_file);
        else if (strcmp(k, "metrics_path") == 0)
            rc = dec_str(d, v, k, &s->metrics_path);
        else if (strcmp(k, "scheme") == 0) {
            rc = dec_str(d, v, k, &s->scheme);
            st->scheme_node = v;
        } else if (strcmp(k, "enable_compression") == 0)
            rc = dec_bool(d, v, k, &s->enable_compression);
        else if (strcmp(k, "body_size_limit") == 0)
            rc = dec_bytes(d, v, k, &s->body_size_limit);
        else if (strcmp(k, "sample_limit") == 0)
            rc = dec_uint(d, v, k, &s->sample_limit);
        else if (strcmp(k, "target_limit") == 0)
            rc = dec_uint(d, v, k, &s->target_limit);
        else if (strcmp(k, "label_limit") == 0)
            rc = dec_uint(d, v, k, &s->label_limit);
        else if (strcmp(k, "label_name_length_limit") == 0)
            rc = dec_uint(d, v, k, &s->label_name_length_limit);
        else if (strcmp(k, "label_value_length_limit") == 0)
            rc = dec_uint(d, v, k, &s->label_value_length_limit);
        else if (strcmp(k, "native_histogram_bucket_limit") == 0)
            rc = dec_uint(d, v, k, &s->native_histogram_bucket_limit);
        else if (strcmp(k, "native_histogram_min_bucket_factor") == 0)
            rc = dec_double(d, v, k, &s->native_histogram_min_bucket_factor);
        else if (strcmp(k, "keep_dropped_targets") == 0)
            rc = dec_uint(d, v, k, &s->keep_dropped_targets);
        else if (strcmp(k, "metric_name_validation_scheme") == 0) {
            rc = validation_scheme(d, v, &st->validation_set, &s->metric_name_validation_scheme);
            st->validation_node = v;
        } else if (strcmp(k, "metric_name_escaping_scheme") == 0) {
            rc = dec_opt_str(d, v, k, &s->metric_name_escaping_scheme);
            st->escaping_node = v;
        } else if (strcmp(k, "relabel_configs") == 0) {
            rc = cfg_relabels_decode(d, v, "empty or null target relabeling rule in scrape config",
                                     &s->relabel_configs);
            st->relabel_node = v;
        } else if (strcmp(k, "metric_relabel_configs") == 0) {
            rc = cfg_relabels_decode(d, v, "empty or null metric relabeling rule in scrape config",
                                     &s->metric_relabel_configs);
            st->metric_relabel_node = v;
        }
        if (rc < 0) return -1;
    }
    if (s->job_name == NULL || s->job_name[0] == '\0') {
        const ynode *jn = core_yaml_get(n, "job_name");
        return dec_fail(d, jn != NULL ? jn : n, "job_name is empty");
    }
    if (cfg_http_validate(d, n, &s->http) < 0) return -1;
    if (s->relabel_configs.n == 0 && cfg_sd_check_static(d, n, &s->sd) < 0) return -1;
    return 0;
}

/* Upstream's ScrapeConfig.Validate with the global defaults. */
static int validate_scrape(dec *d, cfg_scrape *s, scrape_state *st, const cfg_global *g)
{
    const char *job = dec_quote(d, s->job_name);
    char suffix[CORE_ERR_MAX];
    snprintf(suffix, sizeof suffix, " for scrape config with job name %s", job);
    if (s->scrape_interval_ms == 0) s->scrape_interval_ms = g->scrape_interval_ms;
    if (s->scrape_timeout_ms > s->scrape_interval_ms)
        return dec_fail(d, st->timeout_node,
                        "scrape timeout greater than scrape interval for scrape config with job "
                        "name %s",
                        job);
    if (s->scrape_timeout_ms == 0)
        s->scrape_timeout_ms = g->scrape_timeout_ms < s->scrape_interval_ms ? g->scrape_timeout_ms
                                                                            : s->scrape_interval_ms;
    if (s->body_size_limit == 0) s->body_size_limit = g->body_size_limit;
    if (s->sample_limit == 0) s->sample_limit = g->sample_limit;
    if (s->target_limit == 0) s->target_limit = g->target_limit;
    if (s->label_limit == 0) s->label_limit = g->label_limit;
    if (s->label_name_length_limit == 0) s->label_name_length_limit = g->label_name_length_limit;
    if (s->label_value_length_limit == 0) s->label_value_length_limit = g->label_value_length_limit;
    if (s->keep_dropped_targets == 0) s->keep_dropped_targets = g->keep_dropped_targets;
    if (s->scrape_failure_log_file == NULL) s->scrape_failure_log_file = g->scrape_failure_log_file;
    if (!st->native_set) s->scrape_native_histograms = g->scrape_native_histograms;
    if (!st->extra_set) s->extra_scrape_metrics = g->extra_scrape_metrics;

    if (st->protocols_given) {
        if (protocols_check(d, st->protocols_node, &st->protocols, &s->scrape_protocols, suffix) <
            0)
            return -1;
    } else if (g->scrape_protocols.n > 0) {
        s->scrape_protocols = g->scrape_protocols;
    } else {
        protocols_default(&s->scrape_protocols, s->scrape_native_histograms);
    }
    if (st->fallback != NULL) {
        int p = proto_lookup(st->fallback);
        if (p < 0)
            return dec_fail(d, st->fallback_node,
                            "invalid fallback_scrape_protocol for scrape config with job name %s: "
                            "unknown scrape protocol %s, supported: " SUPPORTED_PROTOCOLS,
                            job, st->fallback);
        s->has_fallback_protocol = true;
        s->fallback_scrape_protocol = (cfg_scrape_protocol)p;
    }

    bool local_unset = !st->validation_set;
    if (local_unset) s->metric_name_validation_scheme = g->metric_name_validation_scheme;
    const char *gesc = g->metric_name_escaping_scheme;
    if (gesc == NULL)
        gesc =
            g->metric_name_validation_scheme == MODEL_NAMES_LEGACY ? "underscores" : "allow-utf-8";
    else if (!escaping_known(gesc))
        return dec_fail(d, st->node,
                        "unknown global name escaping method specified, must be one of "
                        "'allow-utf-8', 'underscores', 'dots', or 'values', got %s",
                        dec_quote(d, gesc));
    if (s->metric_name_escaping_scheme == NULL) {
        if (local_unset)
            s->metric_name_escaping_scheme = gesc;
        else if (s->metric_name_validation_scheme == MODEL_NAMES_LEGACY)
            s->metric_name_escaping_scheme = "underscores";
        else
            s->metric_name_escaping_scheme = "allow-utf-8";
    }
    const ynode *esc_at = st->escaping_node ? st->escaping_node : st->node;
    if (strcmp(s->metric_name_escaping_scheme, "allow-utf-8") == 0) {
        if (s->metric_name_validation_scheme != MODEL_NAMES_UTF8)
            return dec_fail(d, esc_at,
                            "utf8 metric names requested but validation scheme is not set to UTF8");
    } else if (!escaping_known(s->metric_name_escaping_scheme)) {
        return dec_fail(d, esc_at,
                        "unknown scrape config name escaping method specified, must be one of "
                        "'allow-utf-8', 'underscores', 'dots', or 'values', got %s",
                        dec_quote(d, s->metric_name_escaping_scheme));
    }
    if (!st->convert_set)
        s->convert_classic_histograms_to_nhcb = g->convert_classic_histograms_to_nhcb;
    if (!st->always_set) s->always_scrape_classic_histograms = g->always_scrape_classic_histograms;

    if (cfg_relabels_validate(d, st->relabel_node, &s->relabel_configs,
                              s->metric_name_validation_scheme) < 0)
        return -1;
    if (cfg_relabels_validate(d, st->metric_relabel_node, &s->metric_relabel_configs,
                              s->metric_name_validation_scheme) < 0)
        return -1;
    if (scheme_check(d, st->scheme_node ? st->scheme_node : st->node, s->scheme,
                     "a scrape config") < 0)
        return -1;
    s->scrape_failure_log_file = dec_path(d, s->scrape_failure_log_file);
    cfg_http_join_paths(d, &s->http);
    return 0;
}

/* Where a job name was first seen, for duplicates across files. */
typedef struct job_seen {
    const char *name;
    const char *where; /* NULL: the main file */
} job_seen;

typedef struct jobs {
    job_seen *v;
    size_t n, cap;
} jobs;

static const job_seen *jobs_find(const jobs *j, const char *name)
{
    for (size_t i = 0; i < j->n; i++)
        if (strcmp(j->v[i].name, name) == 0) return &j->v[i];
    return NULL;
}

static void jobs_add(jobs *j, const char *name, const char *where)
{
    if (j->n == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 16;
        j->v = core_reallocarray(j->v, j->cap, sizeof *j->v);
    }
    j->v[j->n++] = (job_seen){name, where};
}

/* Decodes a scrape_configs sequence into cfg (appending), validating each. */
static int decode_scrape_list(dec *d, const ynode *n, jobs *seen, const char *where)
{
    size_t cnt;
    if (dec_seq(d, n, "scrape_configs", &cnt) < 0) return -1;
    cfg_config *cfg = d->cfg;
    size_t base = cfg->n_scrape_configs;
    cfg_scrape *grown = core_arena_calloc(d->a, base + cnt + 1, sizeof *grown);
    if (base) memcpy(grown, cfg->scrape_configs, base * sizeof *grown);
    cfg->scrape_configs = grown;
    for (size_t i = 0; i < cnt; i++) {
        const ynode *item = n->items[i];
        if (core_yaml_is_null(item))
            return dec_fail(d, item, "empty or null scrape config section");
        cfg_scrape *s = &cfg->scrape_configs[cfg->n_scrape_configs++];
        scrape_state st;
        if (decode_scrape(d, item, s, &st) < 0) return -1;
        if (validate_scrape(d, s, &st, &cfg->global) < 0) return -1;
        const job_seen *prev = jobs_find(seen, s->job_name);
        const ynode *jn = core_yaml_get(item, "job_name");
        if (prev != NULL && where == NULL)
            return dec_fail(d, jn, "found multiple scrape configs with job name %s",
                            dec_quote(d, s->job_name));
        if (prev != NULL)
            return dec_fail(
                d, jn, "found multiple scrape configs with job name %s, first found in %s",
                dec_quote(d, s->job_name), prev->where ? prev->where : "main config file");
        jobs_add(seen, s->job_name, where);
    }
    return 0;
}

/* ---- alerting */

static int decode_alertmanager(dec *d, const ynode *n, cfg_alertmanager *am, model_name_scheme sch)
{
    static const char *const own[] = {
        "sigv4",       "scheme",          "path_prefix",           "timeout",
        "api_version", "relabel_configs", "alert_relabel_configs", NULL};
    am->scheme = "http";
    am->path_prefix = "";
    am->timeout_ms = SECONDS(10);
    am->api_version = "v2";
    cfg_http_defaults(&am->http);
    if (unsupported_sd(d, n) < 0) return -1;
    if (dec_check(d, n, keys_with(d, own, true, true), "alertmanager config") < 0) return -1;
    const ynode *rel = NULL, *arel = NULL, *scheme_node = n;
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        int rc = cfg_http_field(d, k, v, &am->http);
        if (rc == 0) rc = cfg_sd_field(d, k, dec_keynode(n, i), v, &am->sd);
        if (rc < 0) return -1;
        if (rc > 0) continue;
        if (strcmp(k, "sigv4") == 0)
            rc = cfg_sigv4_decode(d, v, &am->sigv4);
        else if (strcmp(k, "scheme") == 0) {
            rc = dec_str(d, v, k, &am->scheme);
            scheme_node = v;
        } else if (strcmp(k, "path_prefix") == 0)
            rc = dec_str(d, v, k, &am->path_prefix);
        else if (strcmp(k, "timeout") == 0)
            rc = dec_duration(d, v, k, &am->timeout_ms);
        else if (strcmp(k, "api_version") == 0) {
            rc = dec_str(d, v, k, &am->api_version);
            if (rc == 0 && !core_yaml_is_null(v) && strcmp(am->api_version, "v2") != 0)
                rc =
                    dec_fail(d, v, "expected Alertmanager api version to be one of [v2] but got %s",
                             am->api_version);
        } else if (strcmp(k, "relabel_configs") == 0) {
            rc = cfg_relabels_decode(d, v, "empty or null Alertmanager target relabeling rule",
                                     &am->relabel_configs);
            rel = v;
        } else if (strcmp(k, "alert_relabel_configs") == 0) {
            rc = cfg_relabels_decode(d, v, "empty or null Alertmanager alert relabeling rule",
                                     &am->alert_relabel_configs);
            arel = v;
        }
        if (rc < 0) return -1;
    }
    if (cfg_http_validate(d, n, &am->http) < 0) return -1;
    bool auth = am->http.basic_auth || am->http.authorization || am->http.oauth2;
    if (auth && am->sigv4 != NULL)
        return dec_fail(d, n,
                        "at most one of basic_auth, authorization, oauth2, & sigv4 must be "
                        "configured");
    if (am->relabel_configs.n == 0 && cfg_sd_check_static(d, n, &am->sd) < 0) return -1;
    if (cfg_relabels_validate(d, arel, &am->alert_relabel_configs, sch) < 0) return -1;
    if (cfg_relabels_validate(d, rel, &am->relabel_configs, sch) < 0) return -1;
    if (scheme_check(d, scheme_node, am->scheme, "an alertmanager config") < 0) return -1;
    cfg_http_join_paths(d, &am->http);
    return 0;
}

static int decode_alerting(dec *d, const ynode *n, cfg_alerting *al, model_name_scheme sch)
{
    static const char *const keys[] = {"alert_relabel_configs", "alertmanagers", NULL};
    memset(al, 0, sizeof *al);
    if (dec_check(d, n, keys, "alerting config") < 0) return -1;
    const ynode *rel = NULL;
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        if (strcmp(k, "alert_relabel_configs") == 0) {
            if (cfg_relabels_decode(d, v, "empty or null alert relabeling rule",
                                    &al->alert_relabel_configs) < 0)
                return -1;
            rel = v;
        } else {
            size_t cnt;
            if (dec_seq(d, v, k, &cnt) < 0) return -1;
            al->alertmanagers = core_arena_calloc(d->a, cnt + 1, sizeof *al->alertmanagers);
            for (size_t j = 0; j < cnt; j++) {
                if (core_yaml_is_null(v->items[j]))
                    return dec_fail(d, v->items[j], "empty or null alertmanager config");
                al->n_alertmanagers = j + 1;
                if (decode_alertmanager(d, v->items[j], &al->alertmanagers[j], sch) < 0) return -1;
            }
        }
    }
    return cfg_relabels_validate(d, rel, &al->alert_relabel_configs, sch);
}

/* ---- remote_write, remote_read */

static const char *const remote_reserved[] = {
    "host",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "www-authenticate",
    "accept-encoding",
    "x-prometheus-remote-write-version",
    "x-prometheus-remote-read-version",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    NULL,
};

static int remote_headers(dec *d, const ynode *n, const cfg_kvs *h, bool tracing)
{
    for (size_t i = 0; i < h->n; i++) {
        const char *name = h->v[i].key;
        const ynode *at = dec_keynode(n, i);
        if (strcasecmp(name, "authorization") == 0)
            return dec_fail(d, at, "%s",
                            tracing ? "custom authorization header configuration is not yet "
                                      "supported"
                                    : "authorization header must be changed via the basic_auth, "
                                      "authorization, oauth2, sigv4, azuread or google_iam "
                                      "parameter");
        for (size_t r = 0; remote_reserved[r] != NULL; r++)
            if (strcasecmp(name, remote_reserved[r]) == 0)
                return dec_fail(d, at, "%s is a reserved header. It must not be changed", name);
    }
    return 0;
}

static int decode_queue(dec *d, const ynode *n, cfg_queue *q)
{
    static const char *const keys[] = {"capacity",
                                       "max_shards",
                                       "min_shards",
                                       "max_samples_per_send",
                                       "batch_send_deadline",
                                       "min_backoff",
                                       "max_backoff",
                                       "retry_on_http_429",
                                       "sample_age_limit",
                                       NULL};
    if (core_yaml_is_null(n)) {
        memset(q, 0, sizeof *q); /* yaml.v2: null gives the zero struct */
        return 0;
    }
    if (dec_check(d, n, keys, "queue_config") < 0) return -1;
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        int rc;
        if (strcmp(k, "capacity") == 0)
            rc = dec_int(d, v, k, &q->capacity);
        else if (strcmp(k, "max_shards") == 0)
            rc = dec_int(d, v, k, &q->max_shards);
        else if (strcmp(k, "min_shards") == 0)
            rc = dec_int(d, v, k, &q->min_shards);
        else if (strcmp(k, "max_samples_per_send") == 0)
            rc = dec_int(d, v, k, &q->max_samples_per_send);
        else if (strcmp(k, "batch_send_deadline") == 0)
            rc = dec_duration(d, v, k, &q->batch_send_deadline_ms);
        else if (strcmp(k, "min_backoff") == 0)
            rc = dec_duration(d, v, k, &q->min_backoff_ms);
        else if (strcmp(k, "max_backoff") == 0)
            rc = dec_duration(d, v, k, &q->max_backoff_ms);
        else if (strcmp(k, "retry_on_http_429") == 0)
            rc = dec_bool(d, v, k, &q->retry_on_http_429);
        else
            rc = dec_duration(d, v, k, &q->sample_age_limit_ms);
        if (rc < 0) return -1;
    }
    return 0;
}

static int decode_metadata(dec *d, const ynode *n, cfg_metadata *m)
{
    static const char *const keys[] = {"send", "send_interval", "max_samples_per_send", NULL};
    if (core_yaml_is_null(n)) {
        memset(m, 0, sizeof *m);
        return 0;
    }
    if (dec_check(d, n, keys, "metadata_config") < 0) return -1;
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        int rc = strcmp(k, "send") == 0            ? dec_bool(d, v, k, &m->send)
                 : strcmp(k, "send_interval") == 0 ? dec_duration(d, v, k, &m->send_interval_ms)
                                                   : dec_int(d, v, k, &m->max_samples_per_send);
        if (rc < 0) return -1;
    }
    return 0;
}

static int decode_remote_write(dec *d, const ynode *n, cfg_remote_write *w, model_name_scheme sch)
{
    static const char *const own[] = {
        "url",
        "remote_timeout",
        "headers",
        "write_relabel_configs",
        "name",
        "send_exemplars",
        "send_native_histograms",
        "round_robin_dns",
        "protobuf_message",
        "failed_request_logging",
        "queue_config",
        "metadata_config",
        "sigv4",
        "azuread",
        "google_iam",
        NULL,
    };
    w->remote_timeout_ms = SECONDS(30);
    w->protobuf_message = "prometheus.WriteRequest";
    w->queue = (cfg_queue){.capacity = 10000,
                           .max_shards = 50,
                           .min_shards = 1,
                           .max_samples_per_send = 2000,
                           .batch_send_deadline_ms = SECONDS(5),
                           .min_backoff_ms = 30,
                           .max_backoff_ms = SECONDS(5)};
    w->metadata =
        (cfg_metadata){.send = true, .send_interval_ms = SECONDS(60), .max_samples_per_send = 2000};
    cfg_http_defaults(&w->http);
    w->http.enable_http2 = false;
    if (dec_check(d, n, keys_with(d, own, true, false), "remote write config") < 0) return -1;
    const ynode *rel = NULL, *headers = NULL, *queue = n;
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        int rc = cfg_http_field(d, k, v, &w->http);
        if (rc < 0) return -1;
        if (rc > 0) continue;
        if (strcmp(k, "url") == 0)
            rc = dec_opt_str(d, v, k, &w->url);
        else if (strcmp(k, "remote_timeout") == 0)
            rc = dec_duration(d, v, k, &w->remote_timeout_ms);
        else if (strcmp(k, "headers") == 0) {
            rc = dec_kvs(d, v, k, &w->headers);
            headers = v;
        } else if (strcmp(k, "write_relabel_configs") == 0) {
            rc = cfg_relabels_decode(d, v, "empty or null relabeling rule in remote write config",
                                     &w->write_relabel_configs);
            rel = v;
        } else if (strcmp(k, "name") == 0)
            rc = dec_opt_str(d, v, k, &w->name);
        else if (strcmp(k, "send_exemplars") == 0)
            rc = dec_bool(d, v, k, &w->send_exemplars);
        else if (strcmp(k, "send_native_histograms") == 0)
            rc = dec_bool(d, v, k, &w->send_native_histograms);
        else if (strcmp(k, "round_robin_dns") == 0)
            rc = dec_bool(d, v, k, &w->round_robin_dns);
        else if (strcmp(k, "failed_request_logging") == 0)
            rc = dec_bool(d, v, k, &w->failed_request_logging);
        else if (strcmp(k, "protobuf_message") == 0) {
            rc = dec_str(d, v, k, &w->protobuf_message);
            if (rc == 0 && strcmp(w->protobuf_message, "prometheus.WriteRequest") != 0 &&
                strcmp(w->protobuf_message, "io.prometheus.write.v2.Request") != 0)
                rc = dec_fail(d, v,
                              "invalid protobuf_message value: unknown type for remote write "
                              "protobuf message %s, supported: prometheus.WriteRequest, "
                              "io.prometheus.write.v2.Request",
                              w->protobuf_message);
        } else if (strcmp(k, "queue_config") == 0) {
            rc = decode_queue(d, v, &w->queue);
            queue = v;
        } else if (strcmp(k, "metadata_config") == 0)
            rc = decode_metadata(d, v, &w->metadata);
        else if (strcmp(k, "sigv4") == 0)
            rc = cfg_sigv4_decode(d, v, &w->sigv4);
        else if (!core_yaml_is_null(v))
            rc =
                dec_fail(d, dec_keynode(n, i),
                         "%s: this remote write authentication is not supported by prom-server", k);
        if (rc < 0) return -1;
    }
    if (w->url == NULL && core_yaml_get(n, "url") == NULL)
        return dec_fail(d, n, "url for remote_write is empty");
    if (w->url == NULL) w->url = "";
    if (headers != NULL && remote_headers(d, headers, &w->headers, false) < 0) return -1;
    if (cfg_http_validate(d, n, &w->http) < 0) return -1;
    const cfg_queue *q = &w->queue;
    const char *qerr = q->max_shards <= 0   ? "remote write queue max_shards must be positive"
                       : q->min_shards <= 0 ? "remote write queue min_shards must be positive"
                       : q->min_shards > q->max_shards
                           ? "remote write queue min_shards must not be greater than max_shards"
                       : q->max_samples_per_send <= 0
                           ? "remote write queue max_samples_per_send must be positive"
                       : q->capacity <= 0 ? "remote write queue capacity must be positive"
                       : q->max_backoff_ms < q->min_backoff_ms
                           ? "remote write queue max_backoff must not be less than min_backoff"
                           : NULL;
    if (qerr != NULL) return dec_fail(d, queue, "%s", qerr);
    const char *auth[4];
    size_t na = 0;
    if (w->http.basic_auth) auth[na++] = "basic_auth";
    if (w->http.authorization) auth[na++] = "authorization";
    if (w->http.oauth2) auth[na++] = "oauth2";
    if (w->sigv4) auth[na++] = "sigv4";
    if (na > 1) {
        core_sb list = CORE_SB_INIT;
        for (size_t i = 0; i < na; i++) {
            if (i) core_sb_addc(&list, ' ');
            core_sb_adds(&list, auth[i]);
        }
        int rc = dec_fail(d, n,
                          "at most one of basic_auth, authorization, oauth2, sigv4, azuread or "
                          "google_iam must be configured. Currently configured: [%s]",
                          list.buf);
        core_sb_destroy(&list);
        return rc;
    }
    if (cfg_relabels_validate(d, rel, &w->write_relabel_configs, sch) < 0) return -1;
    cfg_http_join_paths(d, &w->http);
    return 0;
}

static int decode_remote_read(dec *d, const ynode *n, cfg_remote_read *r)
{
    static const char *const own[] = {
        "url",  "remote_timeout",    "chunked_read_limit",     "headers", "read_recent",
        "name", "required_matchers", "filter_external_labels", NULL};
    r->remote_timeout_ms = SECONDS(60);
    r->chunked_read_limit = 50000000;
    r->filter_external_labels = true;
    cfg_http_defaults(&r->http);
    if (dec_check(d, n, keys_with(d, own, true, false), "remote read config") < 0) return -1;
    const ynode *headers = NULL;
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        int rc = cfg_http_field(d, k, v, &r->http);
        if (rc < 0) return -1;
        if (rc > 0) continue;
        if (strcmp(k, "url") == 0)
            rc = dec_opt_str(d, v, k, &r->url);
        else if (strcmp(k, "remote_timeout") == 0)
            rc = dec_duration(d, v, k, &r->remote_timeout_ms);
        else if (strcmp(k, "chunked_read_limit") == 0)
            rc = dec_uint(d, v, k, &r->chunked_read_limit);
        else if (strcmp(k, "headers") == 0) {
            rc = dec_kvs(d, v, k, &r->headers);
            headers = v;
        } else if (strcmp(k, "read_recent") == 0)
            rc = dec_bool(d, v, k, &r->read_recent);
        else if (strcmp(k, "name") == 0)
            rc = dec_opt_str(d, v, k, &r->name);
        else if (strcmp(k, "filter_external_labels") == 0)
            rc = dec_bool(d, v, k, &r->filter_external_labels);
        else {
            rc = dec_kvs(d, v, k, &r->required_matchers);
            for (size_t j = 0; rc == 0 && j < r->required_matchers.n; j++) {
                const char *name = r->required_matchers.v[j].key;
                if (!model_label_name_valid(MODEL_NAMES_UTF8, name, strlen(name)))
                    rc = dec_fail(d, dec_keynode(v, j), "%s is not a valid label name",
                                  dec_quote(d, name));
            }
        }
        if (rc < 0) return -1;
    }
    if (r->url == NULL && core_yaml_get(n, "url") == NULL)
        return dec_fail(d, n, "url for remote_read is empty");
    if (r->url == NULL) r->url = "";
    if (headers != NULL && remote_headers(d, headers, &r->headers, false) < 0) return -1;
    if (cfg_http_validate(d, n, &r->http) < 0) return -1;
    cfg_http_join_paths(d, &r->http);
    return 0;
}

/* ---- storage, query (extensions described in config.h) */

static int extension(dec *d, const ynode *keynode, const char *what)
{
    if (!(d->flags & CFG_LOAD_UPSTREAM_ONLY)) return 0;
    return dec_fail(d, keynode,
                    "%s is a prom-server extension (a config-file spelling of a flag); Prometheus "
                    "refuses it",
                    what);
}

static int decode_tsdb(dec *d, const ynode *n, cfg_storage *s)
{
    static const char *const keys[] = {
        "out_of_order_time_window",
        "stale_series_compaction_threshold",
        "chunk_encoding",
        "retention",
        "path",
        "retention.time",
        "retention.size",
        "wal-compression",
        "min-block-duration",
        "max-block-duration",
        NULL,
    };
    if (dec_check(d, n, keys, "tsdb config") < 0) return -1;
    const ynode *nested = NULL;
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *kn = dec_keynode(n, i), *v = dec_val(n, i);
        int rc = 0;
        if (strcmp(k, "out_of_order_time_window") == 0) {
            rc = dec_duration(d, v, k, &s->out_of_order_time_window_ms);
        } else if (strcmp(k, "stale_series_compaction_threshold") == 0) {
            rc = dec_double(d, v, k, &s->stale_series_compaction_threshold);
        } else if (strcmp(k, "chunk_encoding") == 0) {
            static const char *const ck[] = {"floats", NULL};
            rc = dec_check(d, v, ck, "chunk_encoding");
            const ynode *f = core_yaml_get(v, "floats");
            if (rc == 0 && f != NULL) rc = dec_opt_str(d, f, "floats", &s->chunk_encoding_floats);
            if (rc == 0 && s->chunk_encoding_floats != NULL &&
                strcmp(s->chunk_encoding_floats, "xor") != 0 &&
                strcmp(s->chunk_encoding_floats, "xor2") != 0)
                rc =
                    dec_fail(d, f,
                             "'storage.tsdb.chunk_encoding.floats' must be 'xor' or 'xor2', or the "
                             "field must be omitted entirely, got %s",
                             dec_quote(d, s->chunk_encoding_floats));
        } else if (strcmp(k, "retention") == 0) {
            static const char *const rk[] = {"time", "size", "percentage", NULL};
            nested = kn;
            rc = dec_check(d, v, rk, "retention config");
            for (size_t j = 0; rc == 0 && j < dec_pairs(v); j++) {
                const char *rkk = dec_key(v, j);
                const ynode *rv = dec_val(v, j);
                if (strcmp(rkk, "time") == 0)
                    rc = dec_duration(d, rv, rkk, &s->retention_time_ms);
                else if (strcmp(rkk, "size") == 0) {
                    rc = dec_bytes(d, rv, rkk, &s->retention_size_bytes);
                    if (rc == 0 && s->retention_size_bytes < 0) {
                        core_sb b = CORE_SB_INIT;
                        cfg_format_bytes(s->retention_size_bytes, &b);
                        rc = dec_fail(d, rv,
                                      "'storage.tsdb.retention.size' must be greater than or "
                                      "equal to 0, got %s",
                                      b.buf);
                        core_sb_destroy(&b);
                    }
                } else {
                    rc = dec_double(d, rv, rkk, &s->retention_percentage);
                    if (rc == 0 && (s->retention_percentage < 0 || s->retention_percentage > 100))
                        rc = dec_fail(d, rv,
                                      "'storage.tsdb.retention.percentage' must be in the range "
                                      "[0, 100], got %g",
                                      s->retention_percentage);
                }
            }
        } else {
            /* prom-server's spellings of --storage.tsdb.* */
            char what[64];
            snprintf(what, sizeof what, "storage.tsdb.%s", k);
            if (extension(d, kn, what) < 0) return -1;
            if (strcmp(k, "path") == 0) {
                rc = dec_opt_str(d, v, k, &s->path);
            } else if (strcmp(k, "retention.time") == 0) {
                rc = dec_duration(d, v, k, &s->retention_time_ms);
            } else if (strcmp(k, "retention.size") == 0) {
                rc = dec_bytes(d, v, k, &s->retention_size_bytes);
                if (rc == 0 && s->retention_size_bytes < 0)
                    rc = dec_fail(d, v, "retention.size must not be negative");
            } else if (strcmp(k, "wal-compression") == 0) {
                rc = dec_bool(d, v, k, &s->wal_compression);
                s->wal_compression_set = true;
            } else if (strcmp(k, "min-block-duration") == 0) {
                rc = dec_duration(d, v, k, &s->min_block_duration_ms);
            } else {
                rc = dec_duration(d, v, k, &s->max_block_duration_ms);
            }
        }
        if (rc < 0) return -1;
    }
    if (nested != NULL) {
        for (size_t i = 0; i < dec_pairs(n); i++)
            if (strncmp(dec_key(n, i), "retention.", 10) == 0)
                return dec_fail(d, dec_keynode(n, i), "%s given both as retention: and as %s",
                                dec_key(n, i), dec_key(n, i));
    }
    if (s->min_block_duration_ms != 0 && s->max_block_duration_ms != 0 &&
        s->max_block_duration_ms < s->min_block_duration_ms)
        return dec_fail(d, core_yaml_get(n, "max-block-duration"),
                        "max-block-duration must not be shorter than min-block-duration");
    s->path = dec_path(d, s->path);
    return 0;
}

static int decode_storage(dec *d, const ynode *n, cfg_storage *s)
{
    static const char *const keys[] = {"tsdb", "exemplars", NULL};
    if (dec_check(d, n, keys, "storage config") < 0) return -1;
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        if (strcmp(k, "tsdb") == 0) {
            if (decode_tsdb(d, v, s) < 0) return -1;
        } else {
            static const char *const ek[] = {"max_exemplars", NULL};
            if (dec_check(d, v, ek, "exemplars config") < 0) return -1;
            s->max_exemplars = 0;
            const ynode *m = core_yaml_get(v, "max_exemplars");
            if (m != NULL && dec_int(d, m, "max_exemplars", &s->max_exemplars) < 0) return -1;
        }
    }
    return 0;
}

static int decode_query(dec *d, const ynode *keynode, const ynode *n, cfg_query *q)
{
    static const char *const keys[] = {"max-samples", "timeout", "max-concurrency",
                                       "lookback-delta", NULL};
    if (extension(d, keynode, "the query block") < 0) return -1;
    if (dec_check(d, n, keys, "query config") < 0) return -1;
    q->present = true;
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        int rc;
        if (strcmp(k, "max-samples") == 0 || strcmp(k, "max-concurrency") == 0) {
            int64_t *f = k[4] == 's' ? &q->max_samples : &q->max_concurrency;
            rc = dec_int(d, v, k, f);
            if (rc == 0 && *f <= 0) rc = dec_fail(d, v, "query.%s must be positive", k);
        } else {
            int64_t *f = k[0] == 't' ? &q->timeout_ms : &q->lookback_delta_ms;
            rc = dec_duration(d, v, k, f);
            if (rc == 0 && *f <= 0) rc = dec_fail(d, v, "query.%s must be positive", k);
        }
        if (rc < 0) return -1;
    }
    return 0;
}

/* ---- tracing, otlp, runtime */

static int decode_tracing(dec *d, const ynode *n, cfg_tracing *t)
{
    static const char *const keys[] = {"client_type", "endpoint",   "sampling_fraction",
                                       "insecure",    "tls_config", "headers",
                                       "compression", "timeout",    NULL};
    memset(t, 0, sizeof *t);
    t->client_type = "grpc";
    if (core_yaml_is_null(n)) return 0; /* UnmarshalYAML is not called for null */
    t->present = true;
    if (dec_check(d, n, keys, "tracing config") < 0) return -1;
    const ynode *headers = NULL;
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        int rc;
        if (strcmp(k, "client_type") == 0) {
            rc = dec_str(d, v, k, &t->client_type);
            if (rc == 0 && strcmp(t->client_type, "http") != 0 &&
                strcmp(t->client_type, "grpc") != 0)
                rc = dec_fail(d, v,
                              "expected tracing client type to be to be http or grpc, but got %s",
                              t->client_type);
        } else if (strcmp(k, "endpoint") == 0)
            rc = dec_opt_str(d, v, k, &t->endpoint);
        else if (strcmp(k, "sampling_fraction") == 0)
            rc = dec_double(d, v, k, &t->sampling_fraction);
        else if (strcmp(k, "insecure") == 0)
            rc = dec_bool(d, v, k, &t->insecure);
        else if (strcmp(k, "tls_config") == 0)
            rc = cfg_tls_decode(d, v, &t->tls);
        else if (strcmp(k, "headers") == 0) {
            rc = dec_kvs(d, v, k, &t->headers);
            headers = v;
        } else if (strcmp(k, "compression") == 0)
            rc = dec_opt_str(d, v, k, &t->compression);
        else
            rc = dec_duration(d, v, k, &t->timeout_ms);
        if (rc < 0) return -1;
    }
    if (headers != NULL && remote_headers(d, headers, &t->headers, true) < 0) return -1;
    if (t->endpoint == NULL) return dec_fail(d, n, "tracing endpoint must be set");
    if (t->compression != NULL && strcmp(t->compression, "gzip") != 0)
        return dec_fail(d, core_yaml_get(n, "compression"),
                        "invalid compression type %s provided, valid options: gzip",
                        t->compression);
    t->tls.ca_file = dec_path(d, t->tls.ca_file);
    t->tls.cert_file = dec_path(d, t->tls.cert_file);
    t->tls.key_file = dec_path(d, t->tls.key_file);
    return 0;
}

static void otlp_defaults(cfg_otlp *o)
{
    memset(o, 0, sizeof *o);
    o->translation_strategy = "UnderscoreEscapingWithSuffixes";
    o->label_name_underscore_sanitization = true;
    o->label_name_preserve_multiple_underscores = true;
}

static int sanitize_attrs(dec *d, const ynode *n, cfg_strs *attrs, const char *adjective,
                          const char *field)
{
    for (size_t i = 0; i < attrs->n; i++) {
        const char *a = attrs->v[i];
        while (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r')
            a++;
        size_t len = strlen(a);
        while (len > 0 && strchr(" \t\n\r", a[len - 1]) != NULL)
            len--;
        if (len == 0)
            return dec_fail(d, n->items[i], "invalid '%s': empty %s OTel resource attribute", field,
                            adjective);
        attrs->v[i] = core_arena_strndup(d->a, a, len);
        for (size_t j = 0; j < i; j++)
            if (strcmp(attrs->v[j], attrs->v[i]) == 0)
                return dec_fail(d, n->items[i],
                                "invalid '%s': duplicated %s OTel resource attribute %s", field,
                                adjective, dec_quote(d, attrs->v[i]));
    }
    return 0;
}

static int decode_otlp(dec *d, const ynode *n, cfg_otlp *o)
{
    static const char *const keys[] = {
        "promote_all_resource_attributes",
        "promote_resource_attributes",
        "ignore_resource_attributes",
        "translation_strategy",
        "keep_identifying_resource_attributes",
        "convert_histograms_to_nhcb",
        "promote_scope_metadata",
        "label_name_underscore_sanitization",
        "label_name_preserve_multiple_underscores",
        NULL,
    };
    otlp_defaults(o);
    if (core_yaml_is_null(n)) {
        memset(o, 0, sizeof *o); /* null: the zero struct, no UnmarshalYAML */
        o->translation_strategy = "";
        return 0;
    }
    if (dec_check(d, n, keys, "otlp config") < 0) return -1;
    const ynode *promote = NULL, *ignore = NULL;
    for (size_t i = 0; i < dec_pairs(n); i++) {
        const char *k = dec_key(n, i);
        const ynode *v = dec_val(n, i);
        int rc;
        if (strcmp(k, "promote_all_resource_attributes") == 0)
            rc = dec_bool(d, v, k, &o->promote_all_resource_attributes);
        else if (strcmp(k, "promote_resource_attributes") == 0) {
            rc = dec_strs(d, v, k, &o->promote_resource_attributes);
            promote = v;
        } else if (strcmp(k, "ignore_resource_attributes") == 0) {
            rc = dec_strs(d, v, k, &o->ignore_resource_attributes);
            ignore = v;
        } else if (strcmp(k, "translation_strategy") == 0)
            rc = dec_str(d, v, k, &o->translation_strategy);
        else if (strcmp(k, "keep_identifying_resource_attributes") == 0)
            rc = dec_bool(d, v, k, &o->keep_identifying_resource_attributes);
        else if (strcmp(k, "convert_histograms_to_nhcb") == 0)
            rc = dec_bool(d, v, k, &o->convert_histograms_to_nhcb);
        else if (strcmp(k, "promote_scope_metadata") == 0)
            rc = dec_bool(d, v, k, &o->promote_scope_metadata);
        else if (strcmp(k, "label_name_underscore_sanitization") == 0)
            rc = dec_bool(d, v, k, &o->label_name_underscore_sanitization);
        else
            rc = dec_bool(d, v, k, &o->label_name_preserve_multiple_underscores);
        if (rc < 0) return -1;
    }
    if (o->promote_all_resource_attributes) {
        if (o->promote_resource_attributes.n > 0)
            return dec_fail(d, promote,
                            "'promote_all_resource_attributes' and 'promote_resource_attributes' "
                            "cannot be configured simultaneously");
        return sanitize_attrs(d, ignore, &o->ignore_resource_attributes, "ignored",
                              "ignore_resource_attributes");
    }
    if (o->ignore_resource_attributes.n > 0)
        return dec_fail(d, ignore,
                        "'ignore_resource_attributes' cannot be configured unless "
                        "'promote_all_resource_attributes' is true");
    return sanitize_attrs(d, promote, &o->promote_resource_attributes, "promoted",
                          "promote_resource_attributes");
}

static int64_t default_gogc(void)
{
    const char *env = getenv("GOGC");
    if (env != NULL && *env) {
        if (strcasecmp(env, "off") == 0) return -1;
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == '\0') return v;
    }
    return 75;
}

/* upstream's patRulePath: ^[^*]*(\*[^/]*)?$ */
static bool glob_path_ok(const char *s)
{
    const char *star = strchr(s, '*');
    return star == NULL || strchr(star, '/') == NULL;
}

/* ---- The file */

static int load_scrape_config_files(dec *d, jobs *seen)
{
    cfg_config *cfg = d->cfg;
    for (size_t i = 0; i < cfg->scrape_config_files.n; i++) {
        glob_t g;
        int grc = glob(cfg->scrape_config_files.v[i], 0, NULL, &g);
        if (grc == GLOB_NOMATCH) {
            globfree(&g);
            continue;
        }
        if (grc != 0) {
            globfree(&g);
            return core_err_set(d->err, "error retrieving scrape config files for %s: bad pattern",
                                dec_quote(d, cfg->scrape_config_files.v[i]));
        }
        for (size_t f = 0; f < g.gl_pathc; f++) {
            const char *path = g.gl_pathv[f];
            core_yaml_doc *doc = core_yaml_load_file(path, d->err);
            if (doc == NULL) {
                globfree(&g);
                return -1;
            }
            char abs[PATH_MAX];
            const char *where =
                realpath(path, abs) ? core_arena_sprintf(d->a, "\"%s\"", abs) : path;
            char *dir = core_arena_strdup(d->a, path);
            char *slash = strrchr(dir, '/');
            if (slash != NULL)
                *slash = '\0';
            else
                dir = ".";
            dec sub = *d;
            sub.doc = doc;
            sub.dir = dir;
            static const char *const keys[] = {"scrape_configs", NULL};
            const ynode *root = core_yaml_root(doc);
            int rc = dec_check(&sub, root, keys, "scrape config file");
            if (rc == 0)
                rc = decode_scrape_list(&sub, core_yaml_get(root, "scrape_configs"), seen, where);
            core_yaml_free(doc);
            if (rc < 0) {
                globfree(&g);
                return -1;
            }
        }
        globfree(&g);
    }
    return 0;
}

static int decode_root(dec *d, const ynode *root)
{
    static const char *const keys[] = {
        "global",         "runtime", "alerting", "rule_files",   "scrape_config_files",
        "scrape_configs", "storage", "tracing",  "remote_write", "remote_read",
        "otlp",           "query",   NULL,
    };
    cfg_config *cfg = d->cfg;
    if (root != NULL && root->kind != CORE_YAML_MAP && !core_yaml_is_null(root))
        return dec_fail(d, root, "expected a mapping at the top of the configuration, got %s",
                        root->kind == CORE_YAML_SEQ ? "a sequence" : "a scalar");
    if (dec_check(d, root, keys, "configuration") < 0) return -1;

    global_defaults(d, &cfg->global);
    const ynode *g = core_yaml_get(root, "global");
    if (g != NULL && !core_yaml_is_null(g) && decode_global(d, g, &cfg->global) < 0) return -1;
    model_name_scheme sch = cfg->global.metric_name_validation_scheme;
    cfg->runtime_gogc = default_gogc();
    otlp_defaults(&cfg->otlp);
    cfg->tracing.client_type = "";

    jobs seen = {0};
    int rc = 0;
    const ynode *rule_node = NULL, *scf_node = NULL;
    for (size_t i = 0; i < dec_pairs(root) && rc == 0; i++) {
        const char *k = dec_key(root, i);
        const ynode *v = dec_val(root, i);
        if (strcmp(k, "global") == 0) {
            continue;
        } else if (strcmp(k, "runtime") == 0) {
            static const char *const rk[] = {"gogc", NULL};
            rc = dec_check(d, v, rk, "runtime config");
            const ynode *gc = core_yaml_get(v, "gogc");
            int64_t val = 0;
            if (rc == 0 && gc != NULL) rc = dec_int(d, gc, "gogc", &val);
            if (rc == 0 && val != 0) cfg->runtime_gogc = val;
        } else if (strcmp(k, "alerting") == 0) {
            rc = decode_alerting(d, v, &cfg->alerting, sch);
        } else if (strcmp(k, "rule_files") == 0) {
            rc = dec_strs(d, v, k, &cfg->rule_files);
            rule_node = v;
        } else if (strcmp(k, "scrape_config_files") == 0) {
            rc = dec_strs(d, v, k, &cfg->scrape_config_files);
            scf_node = v;
        } else if (strcmp(k, "scrape_configs") == 0) {
            rc = decode_scrape_list(d, v, &seen, NULL);
        } else if (strcmp(k, "storage") == 0) {
            rc = decode_storage(d, v, &cfg->storage);
        } else if (strcmp(k, "tracing") == 0) {
            rc = decode_tracing(d, v, &cfg->tracing);
        } else if (strcmp(k, "remote_write") == 0) {
            size_t cnt;
            rc = dec_seq(d, v, k, &cnt);
            if (rc == 0)
                cfg->remote_write = core_arena_calloc(d->a, cnt + 1, sizeof *cfg->remote_write);
            for (size_t j = 0; rc == 0 && j < cnt; j++) {
                const ynode *item = v->items[j];
                if (core_yaml_is_null(item)) {
                    rc = dec_fail(d, item, "empty or null remote write config section");
                    break;
                }
                cfg->n_remote_write = j + 1;
                rc = decode_remote_write(d, item, &cfg->remote_write[j], sch);
                for (size_t m = 0; rc == 0 && m < j; m++)
                    if (cfg->remote_write[j].name != NULL && cfg->remote_write[m].name != NULL &&
                        strcmp(cfg->remote_write[j].name, cfg->remote_write[m].name) == 0)
                        rc = dec_fail(d, core_yaml_get(item, "name"),
                                      "found multiple remote write configs with job name %s",
                                      dec_quote(d, cfg->remote_write[j].name));
            }
        } else if (strcmp(k, "remote_read") == 0) {
            size_t cnt;
            rc = dec_seq(d, v, k, &cnt);
            if (rc == 0)
                cfg->remote_read = core_arena_calloc(d->a, cnt + 1, sizeof *cfg->remote_read);
            for (size_t j = 0; rc == 0 && j < cnt; j++) {
                const ynode *item = v->items[j];
                if (core_yaml_is_null(item)) {
                    rc = dec_fail(d, item, "empty or null remote read config section");
                    break;
                }
                cfg->n_remote_read = j + 1;
                rc = decode_remote_read(d, item, &cfg->remote_read[j]);
                for (size_t m = 0; rc == 0 && m < j; m++)
                    if (cfg->remote_read[j].name != NULL && cfg->remote_read[m].name != NULL &&
                        strcmp(cfg->remote_read[j].name, cfg->remote_read[m].name) == 0)
                        rc = dec_fail(d, core_yaml_get(item, "name"),
                                      "found multiple remote read configs with job name %s",
                                      dec_quote(d, cfg->remote_read[j].name));
            }
        } else if (strcmp(k, "otlp") == 0) {
            rc = decode_otlp(d, v, &cfg->otlp);
        } else if (strcmp(k, "query") == 0) {
            rc = decode_query(d, dec_keynode(root, i), v, &cfg->query);
        }
    }
    if (rc < 0) {
        free(seen.v);
        return -1;
    }
    for (size_t i = 0; i < cfg->rule_files.n; i++)
        if (!glob_path_ok(cfg->rule_files.v[i])) {
            free(seen.v);
            return dec_fail(d, rule_node->items[i], "invalid rule file path %s",
                            dec_quote(d, cfg->rule_files.v[i]));
        }
    for (size_t i = 0; i < cfg->scrape_config_files.n; i++)
        if (!glob_path_ok(cfg->scrape_config_files.v[i])) {
            free(seen.v);
            return dec_fail(d, scf_node->items[i], "invalid scrape config file path %s",
                            dec_quote(d, cfg->scrape_config_files.v[i]));
        }

    /* Load: external labels get the environment, OTLP's strategy is checked. */
    const core_labels *el = cfg->global.external_labels;
    if (el->len > 0) {
        core_label *pairs = core_arena_calloc(d->a, el->len, sizeof *pairs);
        for (size_t i = 0; i < el->len; i++)
            pairs[i] = (core_label){el->v[i].name, dec_expand_env(d->a, el->v[i].value)};
        cfg->global.external_labels = core_labels_new_in(d->a, pairs, el->len);
    }
    const char *ts = cfg->otlp.translation_strategy;
    const ynode *otlp = core_yaml_get(root, "otlp");
    if (strcmp(ts, "NoTranslation") == 0 || strcmp(ts, "NoUTF8EscapingWithSuffixes") == 0) {
        if (sch == MODEL_NAMES_LEGACY) {
            free(seen.v);
            return dec_fail(d, otlp,
                            "OTLP translation strategy %s is not allowed when UTF8 is disabled",
                            dec_quote(d, ts));
        }
    } else if (ts[0] != '\0' && strcmp(ts, "UnderscoreEscapingWithSuffixes") != 0 &&
               strcmp(ts, "UnderscoreEscapingWithoutSuffixes") != 0) {
        free(seen.v);
        return dec_fail(d, otlp, "unsupported OTLP translation strategy %s", dec_quote(d, ts));
    }

    cfg->global.query_log_file = dec_path(d, cfg->global.query_log_file);
    cfg->global.scrape_failure_log_file = dec_path(d, cfg->global.scrape_failure_log_file);
    dec_join_paths(d, &cfg->rule_files);
    dec_join_paths(d, &cfg->scrape_config_files);
    cfg->n_main_scrape_configs = cfg->n_scrape_configs;
    rc = load_scrape_config_files(d, &seen);
    free(seen.v);
    return rc;
}

static void free_relabels_of(cfg_config *cfg)
{
    for (size_t i = 0; i < cfg->n_scrape_configs; i++) {
        cfg_relabels_free(&cfg->scrape_configs[i].relabel_configs);
        cfg_relabels_free(&cfg->scrape_configs[i].metric_relabel_configs);
    }
    cfg_relabels_free(&cfg->alerting.alert_relabel_configs);
    for (size_t i = 0; i < cfg->alerting.n_alertmanagers; i++) {
        cfg_relabels_free(&cfg->alerting.alertmanagers[i].relabel_configs);
        cfg_relabels_free(&cfg->alerting.alertmanagers[i].alert_relabel_configs);
    }
    for (size_t i = 0; i < cfg->n_remote_write; i++)
        cfg_relabels_free(&cfg->remote_write[i].write_relabel_configs);
}

void cfg_free(cfg_config *cfg)
{
    if (cfg == NULL) return;
    free_relabels_of(cfg);
    core_arena_destroy(&cfg->arena);
    free(cfg);
}

static cfg_config *load_doc(core_yaml_doc *doc, const char *source, const char *dir, unsigned flags,
                            core_err *err)
{
    cfg_config *cfg = core_calloc(1, sizeof *cfg);
    core_arena_init(&cfg->arena, 0);
    cfg->source = core_arena_strdup(&cfg->arena, source);
    dec d = {doc,   err, &cfg->arena, dir != NULL ? core_arena_strdup(&cfg->arena, dir) : NULL,
             flags, cfg};
    int rc = decode_root(&d, core_yaml_root(doc));
    core_yaml_free(doc);
    if (rc < 0) {
        cfg_free(cfg);
        return NULL;
    }
    return cfg;
}

cfg_config *cfg_load_string_opts(const char *name, const char *yaml, size_t len, unsigned flags,
                                 core_err *err)
{
    core_yaml_doc *doc = core_yaml_parse(name, yaml, len, err);
    if (doc == NULL) return NULL;
    return load_doc(doc, name, NULL, flags, err);
}

cfg_config *cfg_load_string(const char *name, const char *yaml, size_t len, core_err *err)
{
    return cfg_load_string_opts(name, yaml, len, 0, err);
}

cfg_config *cfg_load_file_opts(const char *path, unsigned flags, core_err *err)
{
    core_yaml_doc *doc = core_yaml_load_file(path, err);
    if (doc == NULL) return NULL;
    char *dir = core_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    else
        strcpy(dir, ".");
    cfg_config *cfg = load_doc(doc, path, dir, flags, err);
    free(dir);
    return cfg;
}

cfg_config *cfg_load_file(const char *path, core_err *err)
{
    return cfg_load_file_opts(path, 0, err);
}

const cfg_scrape *cfg_find_job(const cfg_config *cfg, const char *job)
{
    for (size_t i = 0; i < cfg->n_scrape_configs; i++)
        if (strcmp(cfg->scrape_configs[i].job_name, job) == 0) return &cfg->scrape_configs[i];
    return NULL;
}
