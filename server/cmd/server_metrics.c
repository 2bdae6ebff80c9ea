/*
 * server_metrics.c - prom-server's /metrics, with upstream's names so the
 * usual Prometheus dashboards and alerts work against it.
 *
 * Build info and HTTP request counts are libprom metrics updated as things
 * happen; the TSDB's and the configuration's figures are read at scrape time
 * by one collector, from tsdb_db_get_stats and the server state, so nothing
 * on the append path pays for them.  The process collector adds process_*.
 */
#include "cmd/server.h"

#include <stdio.h>
#include <string.h>

static int collect(prom_emitter *e, void *userdata)
{
    srv *s = userdata;
    tsdb_db_stats st = tsdb_db_get_stats(s->db);
    static const char *const type_label[] = {"type"};
    static const char *const float_type[] = {"float"};
#define GAUGE(name, help, v)                                        \
    do {                                                            \
        prom_emit_family(e, name, help, PROM_GAUGE, NULL, NULL, 0); \
        prom_emit_value(e, NULL, (double)(v));                      \
    } while (0)
#define COUNTER(name, help, v)                                        \
    do {                                                              \
        prom_emit_family(e, name, help, PROM_COUNTER, NULL, NULL, 0); \
        prom_emit_value(e, NULL, (double)(v));                        \
    } while (0)
    GAUGE("prometheus_tsdb_head_series", "Total number of series in the head block.",
          st.head.series);
    COUNTER("prometheus_tsdb_head_series_created_total",
            "Total number of series created in the head", st.head.series_created);
    COUNTER("prometheus_tsdb_head_series_removed_total",
            "Total number of series removed in the head", st.head.series_removed);
    prom_emit_family(e, "prometheus_tsdb_head_samples_appended_total",
                     "Total number of appended samples.", PROM_COUNTER, NULL, type_label, 1);
    prom_emit_value(e, float_type, (double)st.samples_appended);
    prom_emit_family(e, "prometheus_tsdb_out_of_order_samples_total",
                     "Total number of out of order samples ingestion failed attempts due to out of "
                     "order being disabled.",
                     PROM_COUNTER, NULL, type_label, 1);
    prom_emit_value(e, float_type, (double)st.out_of_order);
    prom_emit_family(e, "prometheus_tsdb_out_of_bound_samples_total",
                     "Total number of out of bound samples ingestion failed attempts with out of "
                     "order support disabled.",
                     PROM_COUNTER, NULL, type_label, 1);
    prom_emit_value(e, float_type, (double)st.out_of_bounds);
    COUNTER("prometheus_tsdb_duplicate_samples_total",
            "Total number of samples with the same timestamp and a different value (ours).",
            st.duplicates);
    GAUGE("prometheus_tsdb_head_min_time",
          "Minimum time bound of the head block. The unit is decided by the library consumer.",
          st.head.mint == INT64_MAX ? 0 : st.head.mint);
    GAUGE("prometheus_tsdb_head_max_time",
          "Maximum timestamp of the head block. The unit is decided by the library consumer.",
          st.head.maxt == INT64_MIN ? 0 : st.head.maxt);
    GAUGE("prometheus_tsdb_blocks_loaded", "Number of currently loaded data blocks", st.blocks);
    COUNTER("prometheus_tsdb_compactions_total",
            "Total number of compactions that were executed for the partition.", st.compactions);
    COUNTER("prometheus_tsdb_compactions_failed_total",
            "Total number of compactions that failed for the partition.", st.compactions_failed);
    COUNTER("prometheus_tsdb_wal_corruptions_total", "Total number of WAL corruptions.",
            st.wal_corruptions);
    COUNTER("prometheus_tsdb_time_retentions_total",
            "The number of times that blocks were deleted because the maximum time limit was "
            "exceeded.",
            st.retention_deleted);
    pthread_mutex_lock(&s->reload_mtx);
    bool ok = s->last_reload_ok;
    int64_t when = s->last_reload_ok_ms;
    pthread_mutex_unlock(&s->reload_mtx);
    GAUGE("prometheus_config_last_reload_successful",
          "Whether the last configuration reload attempt was successful.", ok ? 1 : 0);
    GAUGE("prometheus_config_last_reload_success_timestamp_seconds",
          "Timestamp of the last successful configuration reload.", (double)when / 1000);
    GAUGE("prometheus_ready",
          "Whether Prometheus startup was fully completed and the server is "
          "ready for normal operation.",
          1);
    if (s->api) {
        web_query_stats q;
        web_api_query_stats(s->api, &q);
        GAUGE("prometheus_engine_queries", "The current number of queries being executed.",
              q.active);
        GAUGE("prometheus_engine_queries_concurrent_max", "The max number of concurrent queries.",
              q.max);
        static const char *const slice_label[] = {"slice"};
        static const char *const queue[] = {"queue_time"}, *const inner[] = {"inner_eval"};
        prom_emit_family(e, "prometheus_engine_query_duration_seconds", "Query timings",
                         PROM_SUMMARY, NULL, slice_label, 1);
        prom_emit_summary(e, queue, NULL, NULL, 0, q.queue_seconds, q.queries);
        prom_emit_summary(e, inner, NULL, NULL, 0, q.eval_seconds, q.queries);
    }
    core_arena arena;
    core_arena_init(&arena, 0);
    if (s->scrape) {
        scrape_interval_stat *iv;
        size_t n = scrape_manager_intervals(s->scrape, &arena, &iv);
        static const char *const interval_label[] = {"interval"};
        prom_emit_family(e, "prometheus_target_interval_length_seconds",
                         "Actual intervals between scrapes.", PROM_SUMMARY, NULL, interval_label,
                         1);
        for (size_t i = 0; i < n; i++) {
            char buf[CORE_DURATION_BUFSZ];
            core_duration_format(iv[i].interval_ms, buf);
            const char *v[] = {buf};
            prom_emit_summary(e, v, NULL, NULL, 0, iv[i].sum_seconds, iv[i].count);
        }
    }
    if (s->disc) {
        disc_set_info *sets;
        size_t n = disc_manager_sets(s->disc, &arena, &sets);
        static const char *const sd_labels[] = {"config", "name"};
        prom_emit_family(e, "prometheus_sd_discovered_targets",
                         "Current number of discovered targets.", PROM_GAUGE, NULL, sd_labels, 2);
        pthread_mutex_lock(&s->reload_mtx);
        for (size_t i = 0; i < n; i++) {
            size_t statics = 0; /* static_configs are read directly, not by discovery */
            const cfg_scrape *sc = s->cfg ? cfg_find_job(s->cfg, sets[i].name) : NULL;
            for (size_t g = 0; sc && g < sc->sd.n_static; g++)
                statics += sc->sd.static_configs[g].targets.n;
            const char *v[] = {sets[i].name, "scrape"};
            prom_emit_value(e, v, (double)(sets[i].n_targets + statics));
        }
        pthread_mutex_unlock(&s->reload_mtx);
    }
    if (s->notifier) {
        notifier_stats ns;
        notifier_get_stats(s->notifier, &arena, &ns);
        COUNTER("prometheus_notifications_dropped_total",
                "Total number of alerts dropped due to errors when sending to Alertmanager.",
                ns.dropped);
        GAUGE("prometheus_notifications_queue_length",
              "The number of alert notifications in the queue.", ns.queue_length);
        GAUGE("prometheus_notifications_queue_capacity",
              "The capacity of the alert notifications queue.", ns.queue_capacity);
        GAUGE("prometheus_notifications_alertmanagers_discovered",
              "The number of alertmanagers discovered and active.", ns.n_ams);
        static const char *const am_label[] = {"alertmanager"};
        prom_emit_family(e, "prometheus_notifications_sent_total", "Total number of alerts sent.",
                         PROM_COUNTER, NULL, am_label, 1);
        for (size_t i = 0; i < ns.n_ams; i++)
            prom_emit_value(e, (const char *const[]){ns.ams[i].url}, (double)ns.ams[i].sent);
        prom_emit_family(e, "prometheus_notifications_errors_total",
                         "Total number of sent alerts affected by errors.", PROM_COUNTER, NULL,
                         am_label, 1);
        for (size_t i = 0; i < ns.n_ams; i++)
            prom_emit_value(e, (const char *const[]){ns.ams[i].url}, (double)ns.ams[i].errors);
        prom_emit_family(e, "prometheus_notifications_latency_seconds",
                         "Latency quantiles for sending alert notifications.", PROM_SUMMARY, NULL,
                         am_label, 1);
        for (size_t i = 0; i < ns.n_ams; i++)
            prom_emit_summary(e, (const char *const[]){ns.ams[i].url}, NULL, NULL, 0,
                              ns.ams[i].latency_sum_s, ns.ams[i].latency_count);
    }
    if (s->rules) {
        rules_metrics rm;
        rules_manager_metrics(s->rules, &arena, &rm);
        static const char *const group_label[] = {"rule_group"};
#define PER_GROUP(name, help, type, field)                              \
    do {                                                                \
        prom_emit_family(e, name, help, type, NULL, group_label, 1);    \
        for (size_t i = 0; i < rm.ngroups; i++)                         \
            prom_emit_value(e, (const char *const[]){rm.groups[i].key}, \
                            (double)rm.groups[i].field);                \
    } while (0)
        PER_GROUP("prometheus_rule_group_interval_seconds", "The interval of a rule group.",
                  PROM_GAUGE, interval_seconds);
        PER_GROUP("prometheus_rule_group_iterations_total",
                  "The total number of scheduled rule group evaluations, whether executed or "
                  "missed.",
                  PROM_COUNTER, iterations_total);
        PER_GROUP("prometheus_rule_group_iterations_missed_total",
                  "The total number of rule group evaluations missed due to slow rule group "
                  "evaluation.",
                  PROM_COUNTER, iterations_missed);
        PER_GROUP("prometheus_rule_evaluations_total", "The total number of rule evaluations.",
                  PROM_COUNTER, evaluations_total);
        PER_GROUP("prometheus_rule_evaluation_failures_total",
                  "The total number of rule evaluation failures.", PROM_COUNTER,
                  evaluation_failures);
        PER_GROUP("prometheus_rule_group_last_evaluation_timestamp_seconds",
                  "The timestamp of the last rule group evaluation in seconds.", PROM_GAUGE,
                  last_eval_timestamp_seconds);
        PER_GROUP("prometheus_rule_group_last_duration_seconds",
                  "The duration of the last rule group evaluation.", PROM_GAUGE,
                  last_duration_seconds);
        PER_GROUP("prometheus_rule_group_rules", "The number of rules.", PROM_GAUGE, rules);
        PER_GROUP("prometheus_rule_group_last_evaluation_samples",
                  "The number of samples returned during the last rule group evaluation.",
                  PROM_GAUGE, last_samples);
#undef PER_GROUP
        prom_emit_family(e, "prometheus_rule_evaluation_duration_seconds",
                         "The duration for a rule to execute.", PROM_SUMMARY, NULL, NULL, 0);
        prom_emit_summary(e, NULL, NULL, NULL, 0, rm.rule_eval_seconds_sum, rm.rule_eval_count);
        prom_emit_family(e, "prometheus_rule_group_duration_seconds",
                         "The duration of rule group evaluations.", PROM_SUMMARY, NULL, NULL, 0);
        prom_emit_summary(e, NULL, NULL, NULL, 0, rm.group_eval_seconds_sum, rm.group_eval_count);
    }
    core_arena_destroy(&arena);
#undef GAUGE
#undef COUNTER
    return 0;
}

int srv_metrics_init(srv *s, core_err *err)
{
    s->registry = prom_registry_new();
    static const char *const families[] = {
        "prometheus_tsdb_head_series",
        "prometheus_tsdb_head_series_created_total",
        "prometheus_tsdb_head_series_removed_total",
        "prometheus_tsdb_head_samples_appended_total",
        "prometheus_tsdb_out_of_order_samples_total",
        "prometheus_tsdb_out_of_bound_samples_total",
        "prometheus_tsdb_duplicate_samples_total",
        "prometheus_tsdb_head_min_time",
        "prometheus_tsdb_head_max_time",
        "prometheus_tsdb_blocks_loaded",
        "prometheus_tsdb_compactions_total",
        "prometheus_tsdb_wal_corruptions_total",
        "prometheus_tsdb_time_retentions_total",
        "prometheus_config_last_reload_successful",
        "prometheus_config_last_reload_success_timestamp_seconds",
        "prometheus_ready",
        "prometheus_engine_queries",
        "prometheus_engine_queries_concurrent_max",
        "prometheus_engine_query_duration_seconds",
        "prometheus_target_interval_length_seconds",
        "prometheus_sd_discovered_targets",
        "prometheus_notifications_dropped_total",
        "prometheus_notifications_queue_length",
        "prometheus_notifications_queue_capacity",
        "prometheus_notifications_alertmanagers_discovered",
        "prometheus_notifications_sent_total",
        "prometheus_notifications_errors_total",
        "prometheus_notifications_latency_seconds",
        "prometheus_rule_group_interval_seconds",
        "prometheus_rule_group_iterations_total",
        "prometheus_rule_group_iterations_missed_total",
        "prometheus_rule_evaluations_total",
        "prometheus_rule_evaluation_failures_total",
        "prometheus_rule_group_last_evaluation_timestamp_seconds",
        "prometheus_rule_group_last_duration_seconds",
        "prometheus_rule_group_rules",
        "prometheus_rule_group_last_evaluation_samples",
        "prometheus_rule_evaluation_duration_seconds",
        "prometheus_rule_group_duration_seconds",
    };
    if (prom_collector_register(s->registry, "prom-server", families,
                                sizeof families / sizeof families[0], collect, s) < 0 ||
        prom_process_collector_register(s->registry) < 0)
        return core_err_set(err, "self-metrics: %s", prom_last_error());
    static const char *const build_labels[] = {"branch",   "goarch", "goos",   "goversion",
                                               "revision", "tags",   "version"};
    prom_gauge *bi = prom_gauge_new(&(prom_opts){
        .name = "prometheus_build_info",
        .help = "A metric with a constant '1' value labeled by version, revision, branch, "
                "goversion from which prometheus was built, and the goos and goarch for the build.",
        .labels = build_labels,
        .n_labels = 7,
        .registry = s->registry});
    const core_buildinfo *b = core_buildinfo_get();
    const char *arch = strchr(b->platform, '/');
    char os[32];
    snprintf(os, sizeof os, "%.*s", arch ? (int)(arch - b->platform) : 0, b->platform);
    const char *values[] = {b->branch, arch ? arch + 1 : "", os, b->compiler, b->revision, "",
                            b->version};
    if (!bi || prom_gauge_set(prom_gauge_labels_v(bi, values, 7), 1) < 0)
        return core_err_set(err, "self-metrics: %s", prom_last_error());
    static const char *const req_labels[] = {"code", "handler"};
    s->http_requests = prom_counter_new(&(prom_opts){.name = "prometheus_http_requests_total",
                                                     .help = "Counter of HTTP requests.",
                                                     .labels = req_labels,
                                                     .n_labels = 2,
                                                     .registry = s->registry});
    static const char *const dur_labels[] = {"handler"};
    static const double dur_buckets[] = {0.1, 0.2, 0.4, 1, 3, 8, 20, 60, 120};
    s->http_duration =
        prom_histogram_new(&(prom_opts){.name = "prometheus_http_request_duration_seconds",
                                        .help = "Histogram of latencies for HTTP requests.",
                                        .labels = dur_labels,
                                        .n_labels = 1,
                                        .registry = s->registry},
                           dur_buckets, sizeof dur_buckets / sizeof dur_buckets[0]);
    if (!s->http_requests || !s->http_duration)
        return core_err_set(err, "self-metrics: %s", prom_last_error());
    return 0;
}

void srv_metrics_observe(const char *route, const char *method, int status, double seconds,
                         void *userdata)
{
    (void)method;
    srv *s = userdata;
    char code[8];
    snprintf(code, sizeof code, "%d", status);
    const char *handler = route && route[0] ? route : "/";
    prom_counter_inc(prom_counter_labels(s->http_requests, code, handler, NULL));
    prom_histogram_observe(prom_histogram_labels(s->http_duration, handler, NULL), seconds);
}

void srv_metrics_serve(core_http_req *req, core_http_resp *resp, void *userdata)
{
    srv *s = userdata;
    prom_format f = prom_negotiate(core_http_header(req, "Accept"));
    prom_buffer buf = {0};
    if (prom_render(s->registry, f, NULL, 0, &buf) < 0) {
        core_http_resp_text(resp, 500, "%s\n", prom_last_error());
        return;
    }
    resp->content_type = prom_content_type(f);
    core_sb_add(&resp->body, buf.data, buf.len);
    prom_buffer_free(&buf);
}
