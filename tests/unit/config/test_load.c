/*
 * test_load.c - prometheus.yml loading: the seed document's configuration
 * snippets, the repository's example, upstream's defaults and its refusals,
 * each with file:line:col.
 *
 * The invalid variants carry upstream 3.x's messages.  A handful were also run
 * through Debian's promtool 2.42 (tests/integration/config_promtool.py does it
 * in ctest); where 2.42, older than 3.x, answers differently the row says so.
 */
#include "unit/unit.h"

#include "config/config.h"

#include "helpers.h"

#include <sys/stat.h>
#include <unistd.h>

/* ---- The seed document's snippets (../shared/seed-overview.md) */

static const char seed_main[] = "global:\n"
                                "  scrape_interval: 15s\n"
                                "  evaluation_interval: 15s\n"
                                "  external_labels:\n"
                                "    monitor: 'example-monitor'\n"
                                "\n"
                                "scrape_configs:\n"
                                "  - job_name: 'prometheus'\n"
                                "    static_configs:\n"
                                "      - targets: ['localhost:9090']\n"
                                "\n"
                                "  - job_name: 'node-exporter'\n"
                                "    static_configs:\n"
                                "      - targets: ['localhost:9100']\n"
                                "\n"
                                "alerting:\n"
                                "  alertmanagers:\n"
                                "    - static_configs:\n"
                                "      - targets: ['localhost:9093']\n";

static const char seed_ec2[] = "scrape_configs:\n"
                               "  - job_name: 'ec2-nodes'\n"
                               "    ec2_sd_configs:\n"
                               "      - region: us-west-2\n"
                               "        access_key: <access_key>\n"
                               "        secret_key: <secret_key>\n"
                               "        port: 9100\n"
                               "    \n"
                               "    relabel_configs:\n"
                               "      - source_labels: [__meta_ec2_tag_Name]\n"
                               "        target_label: instance\n"
                               "      - source_labels: [__meta_ec2_availability_zone]\n"
                               "        target_label: zone\n";

static const char seed_storage[] = "storage:\n"
                                   "  tsdb:\n"
                                   "    path: /data\n"
                                   "    retention.time: 15d\n"
                                   "    retention.size: 512GB\n"
                                   "    wal-compression: true\n"
                                   "    min-block-duration: 2h\n"
                                   "    max-block-duration: 24h\n";

static const char seed_query[] = "query:\n"
                                 "  max-samples: 50000000\n"
                                 "  timeout: 2m\n"
                                 "  max-concurrency: 20\n"
                                 "  lookback-delta: 5m\n";

static const char seed_federate[] = "scrape_configs:\n"
                                    "  - job_name: 'federate'\n"
                                    "    scrape_interval: 15s\n"
                                    "    honor_labels: true\n"
                                    "    metrics_path: '/federate'\n"
                                    "    params:\n"
                                    "      'match[]':\n"
                                    "        - '{job=\"prometheus\"}'\n"
                                    "        - '{__name__=~\"job:.*\"}'\n"
                                    "    static_configs:\n"
                                    "      - targets:\n"
                                    "        - 'prometheus-1:9090'\n"
                                    "        - 'prometheus-2:9090'\n";

static const char seed_alerting[] = "alerting:\n"
                                    "  alert_relabel_configs:\n"
                                    "    - source_labels: [severity]\n"
                                    "      regex: warning|critical\n"
                                    "      action: keep\n"
                                    "  alertmanagers:\n"
                                    "    - scheme: https\n"
                                    "      static_configs:\n"
                                    "        - targets: ['alertmanager:9093']\n";

/* The authentication snippet, placed where prometheus.yml takes it. */
static const char seed_basic_auth[] = "scrape_configs:\n"
                                      "  - job_name: app\n"
                                      "    basic_auth:\n"
                                      "      username: admin\n"
                                      "      password_file: /etc/prometheus/password.txt\n"
                                      "    static_configs:\n"
                                      "      - targets: ['localhost:8000']\n";

static void test_seed_main(void **state)
{
    (void)state;
    cfg_config *c = load_ok(seed_main);
    assert_int_equal(c->global.scrape_interval_ms, 15000);
    assert_int_equal(c->global.evaluation_interval_ms, 15000);
    assert_int_equal(c->global.scrape_timeout_ms, 10000);
    assert_string_equal(core_labels_get(c->global.external_labels, "monitor"), "example-monitor");
    assert_int_equal(c->n_scrape_configs, 2);
    const cfg_scrape *p = cfg_find_job(c, "prometheus");
    assert_non_null(p);
    assert_int_equal(p->sd.n_static, 1);
    assert_string_equal(p->sd.static_configs[0].targets.v[0], "localhost:9090");
    assert_int_equal(p->scrape_interval_ms, 15000);
    assert_non_null(cfg_find_job(c, "node-exporter"));
    assert_null(cfg_find_job(c, "nope"));
    assert_int_equal(c->alerting.n_alertmanagers, 1);
    const cfg_alertmanager *am = &c->alerting.alertmanagers[0];
    assert_string_equal(am->sd.static_configs[0].targets.v[0], "localhost:9093");
    assert_string_equal(am->scheme, "http");
    assert_string_equal(am->api_version, "v2");
    assert_int_equal(am->timeout_ms, 10000);
    cfg_free(c);
}

static void test_seed_ec2(void **state)
{
    (void)state;
    cfg_config *c = load_ok(seed_ec2);
    const cfg_scrape *s = cfg_find_job(c, "ec2-nodes");
    assert_int_equal(s->sd.n_ec2, 1);
    const cfg_ec2_sd *e = &s->sd.ec2[0];
    assert_string_equal(e->region, "us-west-2");
    assert_string_equal(e->access_key, "<access_key>");
    assert_string_equal(e->secret_key, "<secret_key>");
    assert_int_equal(e->port, 9100);
    assert_int_equal(e->refresh_interval_ms, 60000);
    assert_null(e->endpoint);
    assert_int_equal(s->relabel_configs.n, 2);
    const model_relabel_cfg *r = &s->relabel_configs.v[1];
    assert_int_equal(r->n_source_labels, 1);
    assert_string_equal(r->source_labels[0], "__meta_ec2_availability_zone");
    assert_string_equal(r->target_label, "zone");
    assert_int_equal(r->action, MODEL_RELABEL_REPLACE);
    /* The rules run: instance and zone come from the EC2 meta labels. */
    core_label in[] = {{"__address__", "10.0.0.1:9100"},
                       {"__meta_ec2_tag_Name", "web-1"},
                       {"__meta_ec2_availability_zone", "us-west-2b"}};
    core_labels *ls = core_labels_new(in, 3);
    core_labels *out = model_relabel_labels(s->relabel_configs.v, s->relabel_configs.n, ls);
    assert_string_equal(core_labels_get(out, "instance"), "web-1");
    assert_string_equal(core_labels_get(out, "zone"), "us-west-2b");
    free(out);
    free(ls);
    cfg_free(c);
}

static void test_seed_storage_and_query(void **state)
{
    (void)state;
    cfg_config *c = load_ok(seed_storage);
    const cfg_storage *st = &c->storage;
    assert_string_equal(st->path, "/data");
    assert_int_equal(st->retention_time_ms, 15 * CORE_MS_PER_DAY);
    assert_int_equal(st->retention_size_bytes, INT64_C(512) << 30); /* GB is 1024^3 here */
    assert_true(st->wal_compression_set);
    assert_true(st->wal_compression);
    assert_int_equal(st->min_block_duration_ms, 2 * CORE_MS_PER_HOUR);
    assert_int_equal(st->max_block_duration_ms, 24 * CORE_MS_PER_HOUR);
    cfg_free(c);

    c = load_ok(seed_query);
    assert_true(c->query.present);
    assert_int_equal(c->query.max_samples, 50000000);
    assert_int_equal(c->query.timeout_ms, 2 * CORE_MS_PER_MINUTE);
    assert_int_equal(c->query.max_concurrency, 20);
    assert_int_equal(c->query.lookback_delta_ms, 5 * CORE_MS_PER_MINUTE);
    cfg_free(c);

    /* Prometheus refuses both blocks ("field path not found in type
     * config.plain", "field query not found in type config.plain"); in
     * upstream-only mode they are refused here too. */
    static const bad_case upstream[] = {
        {seed_storage, "t.yml:3:5: storage.tsdb.path is a prom-server extension (a config-file "
                       "spelling of a flag); Prometheus refuses it"},
        {seed_query, "t.yml:1:1: the query block is a prom-server extension (a config-file "
                     "spelling of a flag); Prometheus refuses it"},
    };
    check_bad(upstream, 2, CFG_LOAD_UPSTREAM_ONLY);
    /* Upstream's own spelling of retention loads in both modes. */
    static const char nested[] = "storage:\n  tsdb:\n    retention:\n      time: 15d\n"
                                 "      size: 512GB\n    out_of_order_time_window: 10m\n"
                                 "  exemplars:\n    max_exemplars: 10\n";
    core_err err;
    c = cfg_load_string_opts("t.yml", nested, strlen(nested), CFG_LOAD_UPSTREAM_ONLY, &err);
    assert_non_null(c);
    assert_int_equal(c->storage.retention_time_ms, 15 * CORE_MS_PER_DAY);
    assert_int_equal(c->storage.out_of_order_time_window_ms, 10 * CORE_MS_PER_MINUTE);
    assert_int_equal(c->storage.max_exemplars, 10);
    cfg_free(c);
}

static void test_seed_federate_alerting_auth(void **state)
{
    (void)state;
    cfg_config *c = load_ok(seed_federate);
    const cfg_scrape *s = cfg_find_job(c, "federate");
    assert_true(s->honor_labels);
    assert_string_equal(s->metrics_path, "/federate");
    assert_int_equal(s->n_params, 1);
    assert_string_equal(s->params[0].name, "match[]");
    assert_int_equal(s->params[0].values.n, 2);
    assert_string_equal(s->params[0].values.v[0], "{job=\"prometheus\"}");
    assert_string_equal(s->params[0].values.v[1], "{__name__=~\"job:.*\"}");
    assert_int_equal(s->sd.static_configs[0].targets.n, 2);
    cfg_free(c);

    c = load_ok(seed_alerting);
    assert_int_equal(c->alerting.alert_relabel_configs.n, 1);
    assert_int_equal(c->alerting.alert_relabel_configs.v[0].action, MODEL_RELABEL_KEEP);
    assert_true(c->alerting.alert_relabel_configs.v[0].regex_set);
    assert_string_equal(c->alerting.alertmanagers[0].scheme, "https");
    cfg_free(c);

    c = load_ok(seed_basic_auth);
    s = cfg_find_job(c, "app");
    assert_non_null(s->http.basic_auth);
    assert_string_equal(s->http.basic_auth->username, "admin");
    assert_string_equal(s->http.basic_auth->password_file, "/etc/prometheus/password.txt");
    assert_null(s->http.basic_auth->password);
    cfg_free(c);
}

/* Snippets of the seed document that are not prometheus.yml content. */
static void test_seed_refused(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        /* A docker-compose service, not Prometheus configuration (upstream:
         * "field thanos not found in type config.plain"). */
        {"thanos:\n  image: thanosio/thanos:v0.24.0\n  args:\n    - \"sidecar\"\n",
         "t.yml:1:1: unknown field \"thanos\" in configuration"},
        /* The TLS snippet is a web-config.yml (server side); in a scrape
         * config client_auth_type is unknown (upstream refuses it alike). */
        {"scrape_configs:\n  - job_name: tls\n    tls_config:\n"
         "      cert_file: /etc/prometheus/cert.pem\n      key_file: /etc/prometheus/key.pem\n"
         "      client_auth_type: \"RequireAndVerifyClientCert\"\n"
         "      client_ca_file: /etc/prometheus/ca.pem\n",
         "t.yml:6:7: unknown field \"client_auth_type\" in tls_config"},
        /* The rule-file snippets are not prometheus.yml. */
        {"groups:\n- name: example-alert-rules\n  rules: []\n",
         "t.yml:1:1: unknown field \"groups\" in configuration"},
    };
    check_bad(cases, sizeof cases / sizeof *cases, 0);
}

/* examples/prometheus.yml of this repository. */
static void test_example_file(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s", __FILE__);
    char *cut = strstr(path, "tests/unit/config/test_load.c");
    assert_non_null(cut);
    strcpy(cut, "examples/prometheus.yml");
    core_err err;
    cfg_config *c = cfg_load_file(path, &err);
    if (c == NULL) printf("%s\n", err.msg);
    assert_non_null(c);
    assert_string_equal(c->source, path);
    assert_int_equal(c->rule_files.n, 2);
    /* Relative rule files are joined with the file's directory. */
    strcpy(cut, "examples/alerts.yml");
    assert_string_equal(c->rule_files.v[0], path);
    assert_non_null(cfg_find_job(c, "pushgateway"));
    assert_true(cfg_find_job(c, "pushgateway")->honor_labels);
    cfg_free(c);
}

/* ---- Defaults */

static void test_empty_file(void **state)
{
    (void)state;
    cfg_config *c = load_ok("");
    assert_int_equal(c->global.scrape_interval_ms, 60000);
    assert_int_equal(c->global.scrape_timeout_ms, 10000);
    assert_int_equal(c->global.evaluation_interval_ms, 60000);
    assert_int_equal(c->global.metric_name_validation_scheme, MODEL_NAMES_UTF8);
    assert_string_equal(c->global.metric_name_escaping_scheme, "allow-utf-8");
    assert_int_equal(c->global.external_labels->len, 0);
    assert_int_equal(c->n_scrape_configs, 0);
    assert_string_equal(c->otlp.translation_strategy, "UnderscoreEscapingWithSuffixes");
    assert_false(c->query.present);
    cfg_free(c);
    /* `global:` with nothing, or only zero values, keeps the defaults. */
    c = load_ok("global:\n");
    assert_int_equal(c->global.scrape_interval_ms, 60000);
    cfg_free(c);
    c = load_ok("global:\n  scrape_interval: 0s\n");
    assert_int_equal(c->global.scrape_interval_ms, 60000);
    assert_string_equal(c->global.metric_name_escaping_scheme, "allow-utf-8");
    cfg_free(c);
}

static void test_scrape_defaults(void **state)
{
    (void)state;
    cfg_config *c = load_ok("global:\n  scrape_interval: 5s\nscrape_configs:\n  - job_name: a\n");
    /* the global timeout is min(10s, interval) */
    assert_int_equal(c->global.scrape_timeout_ms, 5000);
    const cfg_scrape *s = &c->scrape_configs[0];
    assert_int_equal(s->scrape_interval_ms, 5000);
    assert_int_equal(s->scrape_timeout_ms, 5000);
    assert_string_equal(s->metrics_path, "/metrics");
    assert_string_equal(s->scheme, "http");
    assert_true(s->honor_timestamps);
    assert_false(s->honor_labels);
    assert_true(s->enable_compression);
    assert_true(s->http.follow_redirects);
    assert_true(s->http.enable_http2);
    assert_null(s->http.basic_auth);
    assert_null(s->http.authorization);
    assert_int_equal(s->metric_name_validation_scheme, MODEL_NAMES_UTF8);
    /* With a global block, the global escaping is unset and the scrape
     * config's comes from its validation scheme. */
    assert_null(c->global.metric_name_escaping_scheme);
    assert_string_equal(s->metric_name_escaping_scheme, "allow-utf-8");
    assert_int_equal(s->scrape_protocols.n, 4);
    assert_int_equal(s->scrape_protocols.v[0], CFG_PROTO_OPENMETRICS_1_0_0);
    assert_int_equal(s->scrape_protocols.v[3], CFG_PROTO_PROMETHEUS_TEXT_0_0_4);
    assert_string_equal(cfg_scrape_protocol_header(s->scrape_protocols.v[0]),
                        "application/openmetrics-text;version=1.0.0");
    cfg_free(c);

    /* A shorter job interval caps the inherited timeout; limits, native
     * histograms and protocols come from global. */
    c = load_ok("global:\n  scrape_timeout: 20s\n  scrape_interval: 30s\n  sample_limit: 10\n"
                "  body_size_limit: 1MB\n  scrape_native_histograms: true\n"
                "scrape_configs:\n  - job_name: a\n    scrape_interval: 15s\n"
                "  - job_name: b\n    sample_limit: 5\n    scrape_native_histograms: false\n"
                "    scrape_protocols: [PrometheusText0.0.4]\n");
    s = cfg_find_job(c, "a");
    assert_int_equal(s->scrape_timeout_ms, 15000);
    assert_int_equal(s->sample_limit, 10);
    assert_int_equal(s->body_size_limit, 1 << 20);
    assert_true(s->scrape_native_histograms);
    assert_int_equal(s->scrape_protocols.n, 5);
    assert_int_equal(s->scrape_protocols.v[0], CFG_PROTO_PROMETHEUS_PROTO);
    s = cfg_find_job(c, "b");
    assert_int_equal(s->scrape_timeout_ms, 20000);
    assert_int_equal(s->sample_limit, 5);
    assert_false(s->scrape_native_histograms);
    assert_int_equal(s->scrape_protocols.n, 1);
    cfg_free(c);

    /* Legacy names: escaping follows. */
    c = load_ok("scrape_configs:\n  - job_name: a\n    metric_name_validation_scheme: legacy\n");
    assert_string_equal(c->scrape_configs[0].metric_name_escaping_scheme, "underscores");
    cfg_free(c);
}

static void test_null_values(void **state)
{
    (void)state;
    /* As yaml.v2: a key given without a value sets the zero value, not the
     * default. */
    cfg_config *c = load_ok("scrape_configs:\n  - job_name: a\n    honor_timestamps:\n"
                            "    metrics_path:\n    relabel_configs:\n      - action: drop\n"
                            "        regex:\n");
    const cfg_scrape *s = &c->scrape_configs[0];
    assert_false(s->honor_timestamps);
    assert_string_equal(s->metrics_path, "");
    /* regex: (null) is the empty regex: it matches only an empty value. */
    assert_true(model_regex_match(s->relabel_configs.v[0].regex, "", 0));
    assert_false(model_regex_match(s->relabel_configs.v[0].regex, "x", 1));
    cfg_free(c);
}

static void test_bearer_token_moves(void **state)
{
    (void)state;
    cfg_config *c = load_ok("scrape_configs:\n  - job_name: a\n    bearer_token: tok\n"
                            "  - job_name: b\n    bearer_token_file: /run/token\n"
                            "  - job_name: c\n    authorization:\n      credentials: x\n");
    const cfg_http *h = &cfg_find_job(c, "a")->http;
    assert_non_null(h->authorization);
    assert_string_equal(h->authorization->type, "Bearer");
    assert_string_equal(h->authorization->credentials, "tok");
    assert_null(h->bearer_token);
    h = &cfg_find_job(c, "b")->http;
    assert_string_equal(h->authorization->credentials_file, "/run/token");
    h = &cfg_find_job(c, "c")->http;
    assert_string_equal(h->authorization->type, "Bearer");
    cfg_free(c);
}

static void test_external_labels_env(void **state)
{
    (void)state;
    setenv("CFG_TEST_REGION", "eu-1", 1);
    unsetenv("CFG_TEST_UNSET");
    cfg_config *c = load_ok("global:\n  external_labels:\n    region: ${CFG_TEST_REGION}\n"
                            "    zone: $CFG_TEST_REGION-a\n    cost: $$5\n"
                            "    none: x${CFG_TEST_UNSET}y\n    plain: a$\n");
    const core_labels *l = c->global.external_labels;
    assert_string_equal(core_labels_get(l, "region"), "eu-1");
    assert_string_equal(core_labels_get(l, "zone"), "eu-1-a");
    assert_string_equal(core_labels_get(l, "cost"), "$5");
    assert_string_equal(core_labels_get(l, "none"), "xy");
    assert_string_equal(core_labels_get(l, "plain"), "a$");
    cfg_free(c);
}

/* ---- Refusals */

static void test_invalid(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"scrape_configs:\n  - job_name: a\n    scrape_intervall: 15s\n",
         "t.yml:3:5: unknown field \"scrape_intervall\" in scrape config"},
        {"scrape_configs:\n  - static_configs:\n      - targets: ['a:1']\n",
         "t.yml:2:5: job_name is empty"},
        {"scrape_configs:\n  - job_name: a\n  - job_name: a\n",
         "t.yml:3:15: found multiple scrape configs with job name \"a\""},
        {"scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n",
         "t.yml:4:21: scrape timeout greater than scrape interval for scrape config with job "
         "name \"a\""},
        /* The inherited 10s timeout against a 5s job interval is capped, but an
         * explicit global one is not. */
        {"global:\n  scrape_timeout: 8s\nscrape_configs:\n  - job_name: a\n"
         "    scrape_interval: 5s\n    scrape_timeout: 6s\n",
         "t.yml:6:21: scrape timeout greater than scrape interval for scrape config with job "
         "name \"a\""},
        {"global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n",
         "t.yml:3:19: global scrape timeout greater than scrape interval"},
        {"global:\n  scrape_interval: 15\n",
         "t.yml:2:20: cannot parse \"15\" as a duration in scrape_interval: not a valid duration "
         "string: \"15\""},
        {"scrape_configs:\n  - job_name: a\n    scrape_timeout: -5s\n",
         "t.yml:3:21: cannot parse \"-5s\" as a duration in scrape_timeout: not a valid duration "
         "string: \"-5s\""},
        {"scrape_configs:\n  - job_name: a\n    basic_auth:\n      username: u\n"
         "      password: p\n      password_file: /f\n",
         "t.yml:2:5: at most one of basic_auth password, password_file & password_ref must be "
         "configured"},
        {"scrape_configs:\n  - job_name: a\n    bearer_token: t\n    bearer_token_file: /f\n",
         "t.yml:2:5: at most one of bearer_token & bearer_token_file must be configured"},
        {"scrape_configs:\n  - job_name: a\n    authorization:\n      type: Basic\n",
         "t.yml:2:5: authorization type cannot be set to \"basic\", use \"basic_auth\" instead"},
        {"scrape_configs:\n  - job_name: a\n    basic_auth:\n      username: u\n"
         "    authorization:\n      credentials: x\n",
         "t.yml:2:5: at most one of basic_auth, oauth2 & authorization must be configured"},
        {"scrape_configs:\n  - job_name: a\n    authorization:\n      credentials: x\n"
         "      credentials_file: /f\n",
         "t.yml:2:5: at most one of authorization credentials & credentials_file must be "
         "configured"},
        {"scrape_configs:\n  - job_name: a\n    body_size_limit: 100\n",
         "t.yml:3:22: units: unknown unit  in 100"},
        {"scrape_configs:\n  - job_name: a\n    body_size_limit: 10kB\n",
         "t.yml:3:22: units: unknown unit kB in 10kB"},
        {"scrape_configs:\n  - job_name: a\n    scrape_protocols: [prometheusproto]\n",
         "t.yml:3:24: scrape_protocols: unknown scrape protocol prometheusproto, supported: "
         "[OpenMetricsText0.0.1 OpenMetricsText1.0.0 PrometheusProto PrometheusText0.0.4 "
         "PrometheusText1.0.0] for scrape config with job name \"a\""},
        {"scrape_configs:\n  - job_name: a\n    scrape_protocols: [OpenMetricsText1.0.0, "
         "PrometheusProto, OpenMetricsText1.0.0]\n",
         "t.yml:3:63: duplicated protocol in scrape_protocols, got [OpenMetricsText1.0.0 "
         "PrometheusProto OpenMetricsText1.0.0] for scrape config with job name \"a\""},
        {"global:\n  scrape_protocols: []\n",
         "t.yml:2:21: scrape_protocols cannot be empty for global config"},
        {"scrape_configs:\n  - job_name: a\n    fallback_scrape_protocol: text\n",
         "t.yml:3:31: invalid fallback_scrape_protocol for scrape config with job name \"a\": "
         "unknown scrape protocol text, supported: [OpenMetricsText0.0.1 OpenMetricsText1.0.0 "
         "PrometheusProto PrometheusText0.0.4 PrometheusText1.0.0]"},
        {"scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['http://bad']\n",
         "t.yml:4:19: \"http://bad\" is not a valid hostname"},
        {"scrape_configs:\n  - job_name: a\n    static_configs:\n      -\n",
         "t.yml:4:8: empty or null section in static_configs"},
        {"scrape_configs:\n  -\n", "t.yml:2:4: empty or null scrape config section"},
        {"rule_files:\n  - 'my_rule'\n  - 'my/*/rule'\n",
         "t.yml:3:5: invalid rule file path \"my/*/rule\""},
        {"scrape_config_files:\n  - 'scrape_configs/*/*'\n",
         "t.yml:2:5: invalid scrape config file path \"scrape_configs/*/*\""},
        /* Prometheus 2.42 still accepted v1; 3.x refuses it. */
        {"alerting:\n  alertmanagers:\n    - api_version: v1\n",
         "t.yml:3:20: expected Alertmanager api version to be one of [v2] but got v1"},
        {"alerting:\n  alert_relabel_configs:\n    -\n",
         "t.yml:3:6: empty or null alert relabeling rule"},
        {"alerting:\n  alertmanagers:\n    - relabel_configs:\n        -\n",
         "t.yml:4:10: empty or null Alertmanager target relabeling rule"},
        {"alerting:\n  alertmanagers:\n    - basic_auth: {username: a}\n      sigv4: {}\n",
         "t.yml:3:7: at most one of basic_auth, authorization, oauth2, & sigv4 must be configured"},
        {"global:\n  external_labels:\n    !!binary \"/w==\": value\n",
         "t.yml:3:5: \"\\xff\" is not a valid label name"},
        {"global:\n  external_labels:\n    name: !!binary \"/w==\"\n",
         "t.yml:3:11: \"\\xff\" is not a valid label value"},
        {"global:\n  metric_name_validation_scheme: legacy\n  external_labels:\n    a.b: x\n",
         "t.yml:4:5: \"a.b\" is not a valid label name"},
        {"scrape_configs:\n  - job_name: a\nscrape_configs:\n  - job_name: b\n",
         "t.yml:3:1: field \"scrape_configs\" given twice in configuration (first at line 1)"},
        {"scrape_configs:\n  - job_name: a\n    honor_labels: \"true\"\n",
         "t.yml:3:19: expected a boolean for honor_labels, got the string \"true\""},
        {"scrape_configs:\n  - job_name: a\n    sample_limit: -1\n",
         "t.yml:3:19: cannot unmarshal -1 into an unsigned integer for sample_limit"},
        {"foo: 1\n", "t.yml:1:1: unknown field \"foo\" in configuration"},
        {"- a\n", "t.yml:1:1: expected a mapping at the top of the configuration, got a sequence"},
        {"scrape_configs:\n  - job_name: a\n   scrape_interval: 5s\n",
         "t.yml:3:4: did not find expected '-' indicator (while parsing a block collection that "
         "began at line 2, column 3)"},
        {"global:\n  metric_name_validation_scheme: ascii\n",
         "t.yml:2:34: unrecognized ValidationScheme: \"ascii\""},
        {"global:\n  metric_name_escaping_scheme: dashes\nscrape_configs:\n  - job_name: a\n",
         "t.yml:4:5: unknown global name escaping method specified, must be one of "
         "'allow-utf-8', 'underscores', 'dots', or 'values', got \"dashes\""},
        {"scrape_configs:\n  - job_name: a\n    metric_name_validation_scheme: legacy\n"
         "    metric_name_escaping_scheme: allow-utf-8\n",
         "t.yml:4:34: utf8 metric names requested but validation scheme is not set to UTF8"},
        /* prom-server's own refusals (Prometheus accepts these). */
        {"scrape_configs:\n  - job_name: a\n    scheme: ftp\n",
         "t.yml:3:13: scheme \"ftp\" of a scrape config is not supported: it must be http or "
         "https (Prometheus accepts it and then fails every request)"},
        {"scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs:\n      - role: pod\n",
         "t.yml:3:5: kubernetes_sd_configs: this service discovery mechanism is not supported by "
         "prom-server (supported: static_configs, file_sd_configs, http_sd_configs, "
         "dns_sd_configs, ec2_sd_configs)"},
        {"storage:\n  tsdb:\n    retention:\n      time: 1d\n    retention.time: 2d\n",
         "t.yml:5:5: retention.time given both as retention: and as retention.time"},
        {"storage:\n  tsdb:\n    min-block-duration: 4h\n    max-block-duration: 2h\n",
         "t.yml:4:25: max-block-duration must not be shorter than min-block-duration"},
        {"query:\n  max-concurrency: 0\n", "t.yml:2:20: query.max-concurrency must be positive"},
        {"query:\n  timeout: 2\n",
         "t.yml:2:12: cannot parse \"2\" as a duration in timeout: not a valid duration string: "
         "\"2\""},
        {"storage:\n  tsdb:\n    retention:\n      percentage: 101\n",
         "t.yml:4:19: 'storage.tsdb.retention.percentage' must be in the range [0, 100], got 101"},
        {"storage:\n  tsdb:\n    chunk_encoding:\n      floats: gorilla\n",
         "t.yml:4:15: 'storage.tsdb.chunk_encoding.floats' must be 'xor' or 'xor2', or the field "
         "must be omitted entirely, got \"gorilla\""},
        {"runtime:\n  gc: 1\n", "t.yml:2:3: unknown field \"gc\" in runtime config"},
        {"otlp:\n  promote_all_resource_attributes: true\n  promote_resource_attributes: [a]\n",
         "t.yml:3:32: 'promote_all_resource_attributes' and 'promote_resource_attributes' cannot "
         "be configured simultaneously"},
        {"otlp:\n  promote_resource_attributes: [a, ' a ']\n",
         "t.yml:2:36: invalid 'promote_resource_attributes': duplicated promoted OTel resource "
         "attribute \"a\""},
        {"otlp:\n  translation_strategy: Fancy\n",
         "t.yml:2:3: unsupported OTLP translation strategy \"Fancy\""},
        {"tracing:\n  client_type: http\n", "t.yml:2:3: tracing endpoint must be set"},
        {"tracing:\n  endpoint: x\n  compression: zstd\n",
         "t.yml:3:16: invalid compression type zstd provided, valid options: gzip"},
        {"tracing:\n  endpoint: x\n  headers:\n    Authorization: x\n",
         "t.yml:4:5: custom authorization header configuration is not yet supported"},
    };
    check_bad(cases, sizeof cases / sizeof *cases, 0);
}

static void test_remote(void **state)
{
    (void)state;
    cfg_config *c = load_ok("remote_write:\n  - url: http://a/write\n"
                            "remote_read:\n  - url: http://a/read\n");
    const cfg_remote_write *w = &c->remote_write[0];
    assert_int_equal(w->remote_timeout_ms, 30000);
    assert_string_equal(w->protobuf_message, "prometheus.WriteRequest");
    assert_int_equal(w->queue.capacity, 10000);
    assert_int_equal(w->queue.max_shards, 50);
    assert_int_equal(w->queue.min_shards, 1);
    assert_int_equal(w->queue.max_samples_per_send, 2000);
    assert_int_equal(w->queue.batch_send_deadline_ms, 5000);
    assert_int_equal(w->queue.min_backoff_ms, 30);
    assert_int_equal(w->queue.max_backoff_ms, 5000);
    assert_true(w->metadata.send);
    assert_int_equal(w->metadata.send_interval_ms, 60000);
    assert_false(w->http.enable_http2);
    assert_true(w->http.follow_redirects);
    const cfg_remote_read *r = &c->remote_read[0];
    assert_int_equal(r->remote_timeout_ms, 60000);
    assert_int_equal(r->chunked_read_limit, 50000000);
    assert_true(r->filter_external_labels);
    assert_true(r->http.enable_http2);
    cfg_free(c);

    static const bad_case cases[] = {
        {"remote_write:\n  - name: x\n", "t.yml:2:5: url for remote_write is empty"},
        {"remote_read:\n  - name: x\n", "t.yml:2:5: url for remote_read is empty"},
        {"remote_write:\n  -\n", "t.yml:2:4: empty or null remote write config section"},
        {"remote_write:\n  - url: http://a/\n    headers:\n"
         "      X-Prometheus-Remote-Write-Version: '2'\n",
         "t.yml:4:7: X-Prometheus-Remote-Write-Version is a reserved header. It must not be "
         "changed"},
        {"remote_read:\n  - url: http://a/\n    headers:\n      authorization: x\n",
         "t.yml:4:7: authorization header must be changed via the basic_auth, authorization, "
         "oauth2, sigv4, azuread or google_iam parameter"},
        /* Queue checks are 3.x's; Prometheus 2.42 accepted these. */
        {"remote_write:\n  - url: http://a/\n    queue_config:\n      min_shards: 10\n"
         "      max_shards: 5\n",
         "t.yml:4:7: remote write queue min_shards must not be greater than max_shards"},
        {"remote_write:\n  - url: http://a/\n    queue_config:\n      capacity: 0\n",
         "t.yml:4:7: remote write queue capacity must be positive"},
        {"remote_write:\n  - url: http://a/\n    queue_config:\n      min_backoff: 10s\n",
         "t.yml:4:7: remote write queue max_backoff must not be less than min_backoff"},
        {"remote_write:\n  - url: http://a/\n    protobuf_message: "
         "io.prometheus.writet.v2.Request\n",
         "t.yml:3:23: invalid protobuf_message value: unknown type for remote write protobuf "
         "message io.prometheus.writet.v2.Request, supported: prometheus.WriteRequest, "
         "io.prometheus.write.v2.Request"},
        {"remote_write:\n  - url: http://a/\n    name: q\n  - url: http://b/\n    name: q\n",
         "t.yml:5:11: found multiple remote write configs with job name \"q\""},
        {"remote_read:\n  - url: http://a/\n    name: q\n  - url: http://b/\n    name: q\n",
         "t.yml:5:11: found multiple remote read configs with job name \"q\""},
        {"remote_write:\n  - url: http://a/\n    basic_auth: {username: u}\n"
         "    sigv4: {region: x}\n",
         "t.yml:2:5: at most one of basic_auth, authorization, oauth2, sigv4, azuread or "
         "google_iam must be configured. Currently configured: [basic_auth sigv4]"},
        {"remote_write:\n  - url: http://a/\n    sigv4: {access_key: x}\n",
         "t.yml:3:12: must provide a AWS SigV4 Access key and Secret Key if credentials are "
         "specified in the SigV4 config"},
        {"remote_write:\n  - url: http://a/\n    azuread: {cloud: AzurePublic}\n",
         "t.yml:3:5: azuread: this remote write authentication is not supported by prom-server"},
        {"remote_write:\n  - url: http://a/\n    write_relabel_configs:\n      -\n",
         "t.yml:4:8: empty or null relabeling rule in remote write config"},
    };
    check_bad(cases, sizeof cases / sizeof *cases, 0);
}

/* scrape_config_files: globbed, checked against global, job names unique. */
static void test_scrape_config_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/cfgtestXXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], sub[256];
    snprintf(sub, sizeof sub, "%s/jobs", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(path, sizeof path, "%s/jobs/a.yml", dir);
    FILE *f = fopen(path, "w");
    fputs("scrape_configs:\n  - job_name: extra\n    tls_config:\n      ca_file: ca.pem\n"
          "    static_configs: [{targets: ['x:1']}]\n",
          f);
    fclose(f);
    snprintf(path, sizeof path, "%s/prometheus.yml", dir);
    f = fopen(path, "w");
    fputs("global:\n  scrape_interval: 7s\nscrape_config_files: [jobs/*.yml]\n"
          "scrape_configs:\n  - job_name: main\n",
          f);
    fclose(f);
    core_err err;
    cfg_config *c = cfg_load_file(path, &err);
    if (c == NULL) printf("%s\n", err.msg);
    assert_non_null(c);
    assert_int_equal(c->n_scrape_configs, 2);
    assert_int_equal(c->n_main_scrape_configs, 1);
    const cfg_scrape *s = cfg_find_job(c, "extra");
    assert_non_null(s);
    assert_int_equal(s->scrape_interval_ms, 7000);
    char want[300];
    snprintf(want, sizeof want, "%s/jobs/ca.pem", dir);
    assert_string_equal(s->http.tls.ca_file, want);
    cfg_free(c);

    /* The same job name in the main file and an included one. */
    f = fopen(path, "w");
    fputs("scrape_config_files: [jobs/*.yml]\nscrape_configs:\n  - job_name: extra\n", f);
    fclose(f);
    c = cfg_load_file(path, &err);
    assert_null(c);
    snprintf(want, sizeof want,
             "%s/jobs/a.yml:2:15: found multiple scrape configs with job name \"extra\", first "
             "found in main config file",
             dir);
    assert_string_equal(err.msg, want);

    /* An unreadable file. */
    snprintf(want, sizeof want, "open %s/missing.yml: No such file or directory", dir);
    snprintf(path, sizeof path, "%s/missing.yml", dir);
    assert_null(cfg_load_file(path, &err));
    assert_string_equal(err.msg, want);

    snprintf(path, sizeof path, "%s/jobs/a.yml", dir);
    unlink(path);
    rmdir(sub);
    snprintf(path, sizeof path, "%s/prometheus.yml", dir);
    unlink(path);
    rmdir(dir);
}

static void test_relative_paths(void **state)
{
    (void)state;
    char dir[] = "/tmp/cfgtestXXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/p.yml", dir);
    FILE *f = fopen(path, "w");
    fputs("global:\n  query_log_file: logs/q.log\nrule_files: ['../rules/*.yml', /abs/r.yml]\n"
          "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password_file: pw}\n"
          "    file_sd_configs: [{files: ['./sd/*.json']}]\n",
          f);
    fclose(f);
    core_err err;
    cfg_config *c = cfg_load_file(path, &err);
    assert_non_null(c);
    char want[300];
    snprintf(want, sizeof want, "%s/logs/q.log", dir);
    assert_string_equal(c->global.query_log_file, want);
    assert_string_equal(c->rule_files.v[0], "/tmp/rules/*.yml");
    assert_string_equal(c->rule_files.v[1], "/abs/r.yml");
    snprintf(want, sizeof want, "%s/pw", dir);
    assert_string_equal(c->scrape_configs[0].http.basic_auth->password_file, want);
    snprintf(want, sizeof want, "%s/sd/*.json", dir);
    assert_string_equal(c->scrape_configs[0].sd.file[0].files.v[0], want);
    cfg_free(c);
    /* From a string there is no directory: paths stay as written. */
    c = load_ok("rule_files: [r.yml]\n");
    assert_string_equal(c->rule_files.v[0], "r.yml");
    cfg_free(c);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_main),
        cmocka_unit_test(test_seed_ec2),
        cmocka_unit_test(test_seed_storage_and_query),
        cmocka_unit_test(test_seed_federate_alerting_auth),
        cmocka_unit_test(test_seed_refused),
        cmocka_unit_test(test_example_file),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_scrape_defaults),
        cmocka_unit_test(test_null_values),
        cmocka_unit_test(test_bearer_token_moves),
        cmocka_unit_test(test_external_labels_env),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_remote),
        cmocka_unit_test(test_scrape_config_files),
        cmocka_unit_test(test_relative_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
