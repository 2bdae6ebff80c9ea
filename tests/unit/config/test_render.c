/*
 * test_render.c - the config written back as /api/v1/status/config shows it.
 *
 * The expected text for the seed document's prometheus.yml is what Prometheus
 * 3.x prints for it: the layout was checked against Debian's Prometheus 2.42
 * status page for the same file (same order and styles; 3.x adds the native
 * histogram, protocol, escaping and OTLP fields shown here).
 */
#include "unit/unit.h"

#include "config/config.h"

#include "helpers.h"

static const char seed_main[] = "global:\n"
                                "  scrape_interval: 15s\n"
                                "  evaluation_interval: 15s\n"
                                "  external_labels:\n"
                                "    monitor: 'example-monitor'\n"
                                "scrape_configs:\n"
                                "  - job_name: 'prometheus'\n"
                                "    static_configs:\n"
                                "      - targets: ['localhost:9090']\n"
                                "alerting:\n"
                                "  alertmanagers:\n"
                                "    - static_configs:\n"
                                "      - targets: ['localhost:9093']\n";

static const char seed_main_rendered[] = "global:\n"
                                         "  scrape_interval: 15s\n"
                                         "  scrape_timeout: 10s\n"
                                         "  evaluation_interval: 15s\n"
                                         "  external_labels:\n"
                                         "    monitor: example-monitor\n"
                                         "  metric_name_validation_scheme: utf8\n"
                                         "  scrape_native_histograms: false\n"
                                         "  extra_scrape_metrics: false\n"
                                         "runtime:\n"
                                         "  gogc: 75\n"
                                         "alerting:\n"
                                         "  alertmanagers:\n"
                                         "  - follow_redirects: true\n"
                                         "    enable_http2: true\n"
                                         "    scheme: http\n"
                                         "    timeout: 10s\n"
                                         "    api_version: v2\n"
                                         "    static_configs:\n"
                                         "    - targets:\n"
                                         "      - localhost:9093\n"
                                         "scrape_configs:\n"
                                         "- job_name: prometheus\n"
                                         "  honor_timestamps: true\n"
                                         "  track_timestamps_staleness: false\n"
                                         "  scrape_interval: 15s\n"
                                         "  scrape_timeout: 10s\n"
                                         "  scrape_protocols:\n"
                                         "  - OpenMetricsText1.0.0\n"
                                         "  - OpenMetricsText0.0.1\n"
                                         "  - PrometheusText1.0.0\n"
                                         "  - PrometheusText0.0.4\n"
                                         "  scrape_native_histograms: false\n"
                                         "  always_scrape_classic_histograms: false\n"
                                         "  convert_classic_histograms_to_nhcb: false\n"
                                         "  metrics_path: /metrics\n"
                                         "  scheme: http\n"
                                         "  enable_compression: true\n"
                                         "  metric_name_validation_scheme: utf8\n"
                                         "  metric_name_escaping_scheme: allow-utf-8\n"
                                         "  extra_scrape_metrics: false\n"
                                         "  follow_redirects: true\n"
                                         "  enable_http2: true\n"
                                         "  static_configs:\n"
                                         "  - targets:\n"
                                         "    - localhost:9090\n"
                                         "storage:\n"
                                         "  tsdb:\n"
                                         "    retention: {}\n"
                                         "otlp:\n"
                                         "  translation_strategy: UnderscoreEscapingWithSuffixes\n"
                                         "  label_name_underscore_sanitization: true\n"
                                         "  label_name_preserve_multiple_underscores: true\n";

static char *render(const cfg_config *c)
{
    core_sb out = CORE_SB_INIT;
    cfg_render(c, &out);
    return core_sb_detach(&out, NULL);
}

static void test_seed_main(void **state)
{
    (void)state;
    unsetenv("GOGC");
    cfg_config *c = load_ok(seed_main);
    char *text = render(c);
    assert_string_equal(text, seed_main_rendered);
    free(text);
    cfg_free(c);
}

static bool contains(const char *hay, const char *needle)
{
    bool ok = strstr(hay, needle) != NULL;
    if (!ok) printf("missing:\n%s\nin:\n%s\n", needle, hay);
    return ok;
}

static void test_secrets(void **state)
{
    (void)state;
    cfg_config *c = load_ok(
        "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password: hunter2}\n"
        "  - job_name: b\n    bearer_token: tok123\n"
        "  - job_name: c\n    oauth2: {client_id: i, client_secret: cs456, token_url: http://t/}\n"
        "    tls_config: {cert: CERT, key: KEY789}\n"
        "    http_headers: {X-A: {secrets: [hs1]}}\n"
        "  - job_name: d\n    ec2_sd_configs: [{region: r, access_key: AK, secret_key: SK0}]\n"
        "remote_write:\n  - url: http://u:pw@h/\n    sigv4: {access_key: a, secret_key: SK1}\n");
    char *text = render(c);
    static const char *const leaked[] = {"hunter2", "tok123", "cs456", "KEY789",
                                         "hs1",     "SK0",    "SK1",   "pw@"};
    for (size_t i = 0; i < sizeof leaked / sizeof *leaked; i++) {
        if (strstr(text, leaked[i]) != NULL) printf("secret %s shown:\n%s\n", leaked[i], text);
        assert_null(strstr(text, leaked[i]));
    }
    assert_true(contains(text, "  basic_auth:\n    username: u\n    password: <secret>\n"));
    assert_true(contains(text, "  authorization:\n    type: Bearer\n    credentials: <secret>\n"));
    assert_true(contains(text, "    client_secret: <secret>\n"));
    assert_true(contains(text, "  tls_config:\n    cert: CERT\n    key: <secret>\n"));
    assert_true(contains(text, "    secret_key: <secret>\n"));
    /* A password in a URL is shown as upstream's config.URL shows it. */
    assert_true(contains(text, "- url: http://u:xxxxx@h/\n"));
    /* The loaded config keeps the real values. */
    assert_string_equal(cfg_find_job(c, "a")->http.basic_auth->password, "hunter2");
    free(text);
    cfg_free(c);
}

static void test_relabel_and_quoting(void **state)
{
    (void)state;
    cfg_config *c = load_ok("scrape_configs:\n  - job_name: a\n    relabel_configs:\n"
                            "      - source_labels: [a, b]\n        target_label: t\n"
                            "      - regex: (.*)\n        target_label: u\n"
                            "        replacement: 'true'\n"
                            "      - separator: ''\n        target_label: v\n"
                            "        replacement: '10'\n"
                            "      - target_label: w\n        replacement: '{x=\"1\"}'\n"
                            "      - target_label: x\n        replacement: '2024-01-02'\n"
                            "      - target_label: y\n        replacement: '1:20'\n"
                            "      - target_label: z\n        replacement: 'a: b'\n");
    char *text = render(c);
    /* The default regex is left out; one given, even (.*), is shown. */
    assert_true(contains(text, "  - source_labels: [a, b]\n    separator: ;\n    target_label: t\n"
                               "    replacement: $1\n    action: replace\n"));
    assert_true(contains(text, "  - separator: ;\n    regex: (.*)\n    target_label: u\n"
                               "    replacement: \"true\"\n"));
    assert_true(
        contains(text, "  - separator: \"\"\n    target_label: v\n    replacement: \"10\"\n"));
    assert_true(contains(text, "    replacement: '{x=\"1\"}'\n"));
    assert_true(contains(text, "    replacement: \"2024-01-02\"\n"));
    assert_true(contains(text, "    replacement: \"1:20\"\n"));
    assert_true(contains(text, "    replacement: 'a: b'\n"));
    free(text);
    cfg_free(c);
}

/* Rendered text loads again and renders the same. */
static void test_round_trip(void **state)
{
    (void)state;
    static const char full[] =
        "global:\n  scrape_interval: 30s\n  scrape_timeout: 20s\n  rule_query_offset: 10s\n"
        "  external_labels: {region: eu-1, b: 'true'}\n  body_size_limit: 10MB\n"
        "  sample_limit: 50000\n  scrape_protocols: [PrometheusText0.0.4, OpenMetricsText1.0.0]\n"
        "rule_files: [rules/*.yml]\n"
        "scrape_configs:\n"
        "  - job_name: node\n    honor_timestamps: false\n    scrape_interval: 10s\n"
        "    scheme: https\n    body_size_limit: 1536B\n"
        "    params: {module: [if_mib], 'match[]': ['{job=\"x\"}']}\n"
        "    tls_config: {ca_file: /ca.pem, insecure_skip_verify: true, min_version: TLS12}\n"
        "    proxy_url: http://proxy:3128\n    no_proxy: localhost\n"
        "    http_headers: {X-B: {values: [b]}, X-A: {values: [a], files: [/h]}}\n"
        "    file_sd_configs: [{files: ['/t/*.json'], refresh_interval: 2m}]\n"
        "    http_sd_configs: [{url: 'http://sd:8080/x'}]\n"
        "    dns_sd_configs: [{names: [_x._tcp.example], type: SRV}]\n"
        "    ec2_sd_configs: [{region: eu-west-1, port: 9100, filters: [{name: 'tag:a', "
        "values: [b]}]}]\n"
        "    static_configs: [{targets: ['h:1'], labels: {dc: x}}]\n"
        "    relabel_configs:\n      - {action: hashmod, source_labels: [a], modulus: 4, "
        "target_label: t}\n      - {action: labelmap, regex: 'm_(.+)'}\n"
        "    metric_relabel_configs: [{action: drop, source_labels: [__name__], regex: 'go_.*'}]\n"
        "alerting:\n  alert_relabel_configs: [{action: keep, source_labels: [s], regex: x}]\n"
        "  alertmanagers: [{scheme: https, path_prefix: /am, timeout: 5s, "
        "static_configs: [{targets: ['am:9093']}]}]\n"
        "remote_write:\n  - url: http://r/w\n    name: rw\n    queue_config: {max_shards: 5}\n"
        "    metadata_config: {send: false}\n"
        "remote_read:\n  - url: http://r/r\n    read_recent: true\n"
        "storage:\n  tsdb:\n    out_of_order_time_window: 30m\n    retention: {time: 30d, size: "
        "1GB}\n"
        "    path: /data\n    wal-compression: false\n"
        "tracing:\n  endpoint: localhost:4317\n  sampling_fraction: 0.25\n"
        "otlp:\n  promote_resource_attributes: [service.name]\n"
        "query:\n  timeout: 2m\n  max-samples: 1000\n";
    cfg_config *c = load_ok(full);
    char *one = render(c);
    cfg_free(c);
    c = load_ok(one);
    char *two = render(c);
    assert_string_equal(one, two);
    /* Maps come out with sorted keys, sizes and durations in upstream's forms. */
    assert_true(contains(one, "  http_headers:\n    X-A:\n"));
    assert_true(contains(one, "  params:\n    match[]:\n    - '{job=\"x\"}'\n    module:\n"));
    assert_true(contains(one, "  body_size_limit: 10MiB\n"));
    assert_true(contains(one, "  body_size_limit: 1KiB512B\n"));
    assert_true(contains(one, "    retention:\n      time: 30d\n      size: 1GiB\n"));
    assert_true(contains(one, "    path: /data\n    wal-compression: false\n"));
    assert_true(contains(one, "query:\n  max-samples: 1000\n  timeout: 2m\n"));
    assert_true(contains(one, "  dns_sd_configs:\n  - names:\n    - _x._tcp.example\n"
                              "    refresh_interval: 30s\n    type: SRV\n    port: 0\n"));
    free(one);
    free(two);
    cfg_free(c);
}

static void test_bytes(void **state)
{
    (void)state;
    static const struct {
        int64_t v;
        const char *want;
    } cases[] = {
        {0, "0B"},          {1, "1B"},           {1024, "1KiB"},
        {1536, "1KiB512B"}, {10 << 20, "10MiB"}, {INT64_C(3) << 40, "3TiB"},
        {-2048, "-2KiB"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        core_sb s = CORE_SB_INIT;
        cfg_format_bytes(cases[i].v, &s);
        assert_string_equal(s.buf, cases[i].want);
        core_sb_destroy(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_main),
        cmocka_unit_test(test_secrets),
        cmocka_unit_test(test_relabel_and_quoting),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
