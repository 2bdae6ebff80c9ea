/*
 * config.h - the door of server/config: prometheus.yml, loaded and checked as
 * Prometheus 3.x loads it.
 *
 * cfg_load_file() reads a prometheus.yml with the schema of upstream's
 * config.Config: every key it knows, its defaults, and the checks its
 * UnmarshalYAML and Validate methods make, so a file Prometheus accepts loads
 * and a file it refuses is refused here, each message starting with
 * "file:line:col: " (upstream names only the file).  Unknown keys are errors,
 * as with upstream's UnmarshalStrict.
 *
 * What the server keeps and uses (scrape configs, relabeling, discovery,
 * rule files, alerting) is decoded into the structs below; remote write and
 * read, OTLP, tracing and runtime settings are decoded and kept for the code
 * that will use them.  Service discovery: static, file, HTTP, DNS and EC2
 * configs are decoded; the other mechanisms upstream has (kubernetes_sd_configs
 * and the like) are refused with a message that says so.
 *
 * Two blocks are prom-server's own, as config-file spellings of command-line
 * flags (the seed document shows them): under `storage: tsdb:` the keys
 * path, retention.time, retention.size, wal-compression, min-block-duration and
 * max-block-duration (--storage.tsdb.*), and a top-level `query:` block with
 * max-samples, timeout, max-concurrency and lookback-delta (--query.*).
 * Prometheus refuses both ("field path not found in type config.plain",
 * "field query not found in type config.plain"); loading with
 * CFG_LOAD_UPSTREAM_ONLY refuses them too, naming the key.  A flag given on
 * the command line should win over these keys.
 *
 * Other deliberate differences from upstream:
 *   - `scheme` of a scrape or alertmanager config must be http or https
 *     (upstream accepts any word and then every scrape fails);
 *   - an unknown service discovery mechanism is refused (see above);
 *   - azuread and google_iam remote write authentication are refused as not
 *     supported;
 *   - duplicate keys in label maps (external_labels, labels of a static
 *     config) are errors, as yaml.v2 makes them.
 *
 * Memory: a cfg_config owns everything it points to (one arena plus the
 * relabel rules); cfg_free() releases it.  Strings are NUL-terminated; an
 * optional string field not given is NULL.  Secrets (passwords, credentials,
 * keys) are kept as given and printed as "<secret>" by cfg_render().
 *
 * Relative file paths (rule_files, scrape_config_files, TLS and credential
 * files, file_sd files, query and scrape-failure logs) are joined with the
 * directory of the file, as upstream's SetDirectory does, when loading from a
 * file.
 */
#ifndef CONFIG_CONFIG_H
#define CONFIG_CONFIG_H

#include "core/core.h"
#include "model/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Small building blocks */

typedef struct cfg_strs {
    const char **v;
    size_t n;
} cfg_strs;

typedef struct cfg_kv {
    const char *key;
    const char *value;
} cfg_kv;

typedef struct cfg_kvs {
    cfg_kv *v; /* in file order */
    size_t n;
} cfg_kvs;

typedef struct cfg_relabels {
    model_relabel_cfg *v;
    size_t n;
} cfg_relabels;

/* ---- Scrape protocols (the Accept header of a scrape) */

typedef enum cfg_scrape_protocol {
    CFG_PROTO_PROMETHEUS_PROTO,
    CFG_PROTO_OPENMETRICS_1_0_0,
    CFG_PROTO_OPENMETRICS_0_0_1,
    CFG_PROTO_PROMETHEUS_TEXT_1_0_0,
    CFG_PROTO_PROMETHEUS_TEXT_0_0_4,
    CFG_PROTO_COUNT
} cfg_scrape_protocol;

typedef struct cfg_protocols {
    cfg_scrape_protocol v[CFG_PROTO_COUNT];
    size_t n; /* 0: not given */
} cfg_protocols;

/* "PrometheusProto", "OpenMetricsText1.0.0", ... as written in the config. */
const char *cfg_scrape_protocol_name(cfg_scrape_protocol p);
/* The media type with parameters, for the Accept header:
 * "application/openmetrics-text;version=1.0.0", ... */
const char *cfg_scrape_protocol_header(cfg_scrape_protocol p);

/* ---- HTTP client settings (prometheus/common's HTTPClientConfig) */

typedef struct cfg_tls {
    const char *ca, *cert, *key; /* key is a secret */
    const char *ca_file, *cert_file, *key_file;
    const char *ca_ref, *cert_ref, *key_ref;
    const char *server_name;
    bool insecure_skip_verify;
    const char *min_version; /* "TLS10" .. "TLS13" or NULL */
    const char *max_version;
} cfg_tls;

typedef struct cfg_basic_auth {
    const char *username, *username_file, *username_ref;
    const char *password, *password_file, *password_ref; /* password is a secret */
} cfg_basic_auth;

typedef struct cfg_authorization {
    const char *type; /* default "Bearer" */
    const char *credentials, *credentials_file, *credentials_ref;
} cfg_authorization;

typedef struct cfg_header {
    const char *name;
    cfg_strs values, secrets, files;
} cfg_header;

typedef struct cfg_proxy {
    const char *proxy_url;
    const char *no_proxy;
    bool proxy_from_environment;
    cfg_header *connect_headers; /* only `secrets` used: values are secrets */
    size_t n_connect_headers;
} cfg_proxy;

typedef struct cfg_oauth2 {
    const char *client_id;
    const char *client_secret, *client_secret_file, *client_secret_ref;
    const char *client_certificate_key_id;
    const char *client_certificate_key, *client_certificate_key_file, *client_certificate_key_ref;
    const char *grant_type, *signature_algorithm, *iss, *audience;
    cfg_kvs claims; /* scalar claims only */
    cfg_strs scopes;
    const char *token_url;
    cfg_kvs endpoint_params;
    cfg_tls tls;
    cfg_proxy proxy;
} cfg_oauth2;

typedef struct cfg_http {
    cfg_basic_auth *basic_auth;       /* NULL: none */
    cfg_authorization *authorization; /* bearer_token(_file) end up here */
    cfg_oauth2 *oauth2;
    cfg_tls tls;
    bool follow_redirects; /* default true */
    bool enable_http2;     /* default true (false for remote write) */
    cfg_proxy proxy;
    cfg_header *headers; /* http_headers */
    size_t n_headers;
    /* The old bearer_token / bearer_token_file as given: loading moves them
     * into `authorization` (type Bearer), as upstream does, and clears them. */
    const char *bearer_token, *bearer_token_file;
} cfg_http;

/* ---- Service discovery */

typedef struct cfg_target_group {
    cfg_strs targets;
    core_labels *labels; /* never NULL */
} cfg_target_group;

typedef struct cfg_file_sd {
    cfg_strs files;              /* globs, joined with the config's directory */
    int64_t refresh_interval_ms; /* default 5m */
} cfg_file_sd;

typedef struct cfg_http_sd {
    const char *url;
    int64_t refresh_interval_ms; /* default 60s */
    cfg_http http;
} cfg_http_sd;

typedef struct cfg_dns_sd {
    cfg_strs names;
    int64_t refresh_interval_ms; /* default 30s */
    const char *type;            /* SRV (default), A, AAAA, MX, NS, as written */
    int port;                    /* required except for SRV */
} cfg_dns_sd;

typedef struct cfg_ec2_filter {
    const char *name;
    cfg_strs values;
} cfg_ec2_filter;

typedef struct cfg_ec2_sd {
    const char *endpoint, *region, *access_key, *secret_key, *profile, *role_arn, *external_id;
    int64_t refresh_interval_ms; /* default 60s */
    int port;                    /* default 80 */
    cfg_ec2_filter *filters;
    size_t n_filters;
    cfg_http http;
} cfg_ec2_sd;

typedef struct cfg_sd {
    cfg_target_group *static_configs;
    size_t n_static;
    cfg_file_sd *file;
    size_t n_file;
    cfg_http_sd *http;
    size_t n_http;
    cfg_dns_sd *dns;
    size_t n_dns;
    cfg_ec2_sd *ec2;
    size_t n_ec2;
} cfg_sd;

/* ---- global */

typedef struct cfg_global {
    int64_t scrape_interval_ms;     /* default 1m */
    int64_t scrape_timeout_ms;      /* default min(10s, scrape_interval) */
    int64_t evaluation_interval_ms; /* default 1m */
    int64_t rule_query_offset_ms;
    const char *query_log_file;
    const char *scrape_failure_log_file;
    core_labels *external_labels; /* never NULL; $VAR / ${VAR} expanded */
    cfg_protocols scrape_protocols;
    int64_t body_size_limit; /* bytes, 0: none */
    uint64_t sample_limit, target_limit, label_limit, label_name_length_limit,
        label_value_length_limit, keep_dropped_targets;
    model_name_scheme metric_name_validation_scheme; /* default utf8 */
    const char *metric_name_escaping_scheme;         /* NULL: not given */
    bool scrape_native_histograms;
    bool convert_classic_histograms_to_nhcb;
    bool always_scrape_classic_histograms;
    bool extra_scrape_metrics;
} cfg_global;

/* ---- scrape_configs */

typedef struct cfg_param {
    const char *name;
    cfg_strs values;
} cfg_param;

typedef struct cfg_scrape {
    const char *job_name;
    bool honor_labels;
    bool honor_timestamps; /* default true */
    bool track_timestamps_staleness;
    cfg_param *params;
    size_t n_params;
    int64_t scrape_interval_ms; /* defaults from global */
    int64_t scrape_timeout_ms;
    cfg_protocols scrape_protocols; /* always filled after loading */
    bool has_fallback_protocol;
    cfg_scrape_protocol fallback_scrape_protocol;
    bool scrape_native_histograms;
    bool always_scrape_classic_histograms;
    bool convert_classic_histograms_to_nhcb;
    const char *scrape_failure_log_file;
    const char *metrics_path; /* default /metrics */
    const char *scheme;       /* default http */
    bool enable_compression;  /* default true */
    int64_t body_size_limit;
    uint64_t sample_limit, target_limit, label_limit, label_name_length_limit,
        label_value_length_limit, keep_dropped_targets;
    uint64_t native_histogram_bucket_limit;
    double native_histogram_min_bucket_factor;
    model_name_scheme metric_name_validation_scheme;
    const char *metric_name_escaping_scheme; /* resolved: allow-utf-8, underscores, ... */
    bool extra_scrape_metrics;
    cfg_http http;
    cfg_relabels relabel_configs;
    cfg_relabels metric_relabel_configs;
    cfg_sd sd;
} cfg_scrape;

/* ---- alerting */

typedef struct cfg_sigv4 {
    const char *region, *access_key, *secret_key, *profile, *role_arn, *external_id, *service;
    bool use_fips_sts_endpoint;
} cfg_sigv4;

typedef struct cfg_alertmanager {
    cfg_http http;
    cfg_sigv4 *sigv4;
    const char *scheme;      /* default http */
    const char *path_prefix; /* default "" */
    int64_t timeout_ms;      /* default 10s */
    const char *api_version; /* v2 (the only one 3.x knows) */
    cfg_relabels relabel_configs;
    cfg_relabels alert_relabel_configs;
    cfg_sd sd;
} cfg_alertmanager;

typedef struct cfg_alerting {
    cfg_relabels alert_relabel_configs;
    cfg_alertmanager *alertmanagers;
    size_t n_alertmanagers;
} cfg_alerting;

/* ---- remote_write / remote_read */

typedef struct cfg_queue {
    int64_t capacity, max_shards, min_shards, max_samples_per_send;
    int64_t batch_send_deadline_ms, min_backoff_ms, max_backoff_ms, sample_age_limit_ms;
    bool retry_on_http_429;
} cfg_queue;

typedef struct cfg_metadata {
    bool send;
    int64_t send_interval_ms;
    int64_t max_samples_per_send;
} cfg_metadata;

typedef struct cfg_remote_write {
    const char *url;
    int64_t remote_timeout_ms; /* default 30s */
    cfg_kvs headers;
    cfg_relabels write_relabel_configs;
    const char *name;
    bool send_exemplars, send_native_histograms, round_robin_dns, failed_request_logging;
    const char *protobuf_message; /* default prometheus.WriteRequest */
    cfg_http http;
    cfg_queue queue;
    cfg_metadata metadata;
    cfg_sigv4 *sigv4;
} cfg_remote_write;

typedef struct cfg_remote_read {
    const char *url;
    int64_t remote_timeout_ms; /* default 1m */
    uint64_t chunked_read_limit;
    cfg_kvs headers;
    bool read_recent;
    const char *name;
    cfg_http http;
    cfg_kvs required_matchers;
    bool filter_external_labels; /* default true */
} cfg_remote_read;

/* ---- storage, query (see the top of this file for the extensions) */

typedef struct cfg_storage {
    /* upstream's storage.tsdb */
    int64_t out_of_order_time_window_ms;
    double stale_series_compaction_threshold;
    const char *chunk_encoding_floats; /* "xor", "xor2" or NULL */
    int64_t retention_time_ms;         /* retention: {time} or retention.time */
    int64_t retention_size_bytes;      /* retention: {size} or retention.size */
    double retention_percentage;
    /* prom-server's storage.tsdb extensions; *_set says whether given */
    const char *path;
    bool wal_compression, wal_compression_set;
    int64_t min_block_duration_ms, max_block_duration_ms;
    /* upstream's storage.exemplars */
    int64_t max_exemplars; /* default 100000 */
} cfg_storage;

typedef struct cfg_query {
    /* 0 / false: not given (the flag or its default applies) */
    int64_t max_samples;
    int64_t timeout_ms;
    int64_t max_concurrency;
    int64_t lookback_delta_ms;
    bool present; /* the block was given */
} cfg_query;

typedef struct cfg_tracing {
    const char *client_type; /* grpc (default) or http */
    const char *endpoint;
    double sampling_fraction;
    bool insecure;
    cfg_tls tls;
    cfg_kvs headers;
    const char *compression;
    int64_t timeout_ms;
    bool present;
} cfg_tracing;

typedef struct cfg_otlp {
    bool promote_all_resource_attributes;
    cfg_strs promote_resource_attributes;
    cfg_strs ignore_resource_attributes;
    const char *translation_strategy; /* default UnderscoreEscapingWithSuffixes */
    bool keep_identifying_resource_attributes;
    bool convert_histograms_to_nhcb;
    bool promote_scope_metadata;
    bool label_name_underscore_sanitization;       /* default true */
    bool label_name_preserve_multiple_underscores; /* default true */
} cfg_otlp;

/* ---- The whole file */

typedef struct cfg_config {
    cfg_global global;
    int64_t runtime_gogc; /* default 75 (Go's GC knob, kept for the API) */
    cfg_alerting alerting;
    cfg_strs rule_files;          /* globs */
    cfg_strs scrape_config_files; /* globs; their scrape configs are appended */
    cfg_scrape *scrape_configs;   /* the main file's, then those of scrape_config_files */
    size_t n_scrape_configs;
    size_t n_main_scrape_configs; /* how many came from the main file */
    cfg_storage storage;
    cfg_tracing tracing;
    cfg_remote_write *remote_write;
    size_t n_remote_write;
    cfg_remote_read *remote_read;
    size_t n_remote_read;
    cfg_otlp otlp;
    cfg_query query;
    const char *source; /* the path loaded, or the name given to cfg_load_string */
    core_arena arena;
} cfg_config;

/* Flags for cfg_load_file_opts / cfg_load_string_opts. */
enum {
    /* Refuse prom-server's extensions (storage.tsdb.path and the like, the
     * query block), so that what loads is exactly what Prometheus loads. */
    CFG_LOAD_UPSTREAM_ONLY = 1 << 0,
};

/* Loads and checks `path`.  Returns a config (free with cfg_free) or NULL with
 * a message such as "prometheus.yml:7:5: unknown field \"scrape_intervall\" in
 * scrape config" or "prometheus.yml:9:20: scrape timeout greater than scrape
 * interval for scrape config with job name \"node\"".  A file that cannot be
 * read: "open prometheus.yml: No such file or directory". */
cfg_config *cfg_load_file(const char *path, core_err *err);
cfg_config *cfg_load_file_opts(const char *path, unsigned flags, core_err *err);

/* Loads YAML text; `name` starts messages.  Relative paths are kept as given
 * (no directory to join them with), scrape_config_files relative to the
 * current directory. */
cfg_config *cfg_load_string(const char *name, const char *yaml, size_t len, core_err *err);
cfg_config *cfg_load_string_opts(const char *name, const char *yaml, size_t len, unsigned flags,
                                 core_err *err);

void cfg_free(cfg_config *cfg);

/* Appends the config as YAML the way upstream's /api/v1/status/config shows
 * it: defaults filled in, keys in upstream's order, zero values left out
 * where upstream leaves them out, secrets as <secret>.  Best effort; it
 * differs in: map keys are sorted bytewise (yaml.v2 compares digit runs as
 * numbers), floats are in their shortest form, and the extension keys are
 * printed only when given.  As upstream, only the main file's scrape configs
 * are shown, not those of scrape_config_files. */
void cfg_render(const cfg_config *cfg, core_sb *out);

/* The scrape config named `job`, or NULL. */
const cfg_scrape *cfg_find_job(const cfg_config *cfg, const char *job);

/* Formats a byte count as upstream's units.Base2Bytes: "10MiB", "1KiB512B". */
void cfg_format_bytes(int64_t bytes, core_sb *out);

#endif
