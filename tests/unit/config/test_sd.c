/*
 * test_sd.c - service discovery configs: static, file, HTTP, DNS and EC2, with
 * upstream's defaults and checks, and the refusal of mechanisms prom-server
 * does not have.
 */
#include "unit/unit.h"

#include "config/config.h"

#include "helpers.h"

#define JOB "scrape_configs:\n  - job_name: a\n"

static void test_defaults(void **state)
{
    (void)state;
    cfg_config *c = load_ok(JOB "    static_configs:\n      - targets: ['h:1', 'h:2']\n"
                                "        labels: {env: prod, 'utf.8': x}\n"
                                "      - targets: []\n"
                                "    file_sd_configs:\n      - files: ['/sd/*.json', /sd/x.YAML]\n"
                                "    http_sd_configs:\n      - url: https://sd.example/targets\n"
                                "    dns_sd_configs:\n      - names: [_x._tcp.example]\n"
                                "      - names: [mx.example]\n        type: mx\n        port: 25\n"
                                "    ec2_sd_configs:\n      - {}\n");
    const cfg_sd *sd = &c->scrape_configs[0].sd;
    assert_int_equal(sd->n_static, 2);
    assert_int_equal(sd->static_configs[0].targets.n, 2);
    assert_string_equal(core_labels_get(sd->static_configs[0].labels, "env"), "prod");
    assert_string_equal(core_labels_get(sd->static_configs[0].labels, "utf.8"), "x");
    assert_int_equal(sd->static_configs[1].labels->len, 0);
    assert_int_equal(sd->file[0].refresh_interval_ms, 5 * CORE_MS_PER_MINUTE);
    assert_int_equal(sd->file[0].files.n, 2);
    assert_int_equal(sd->http[0].refresh_interval_ms, 60 * CORE_MS_PER_SECOND);
    assert_true(sd->http[0].http.follow_redirects);
    assert_string_equal(sd->dns[0].type, "SRV");
    assert_int_equal(sd->dns[0].refresh_interval_ms, 30 * CORE_MS_PER_SECOND);
    assert_int_equal(sd->dns[0].port, 0);
    assert_string_equal(sd->dns[1].type, "mx");
    assert_int_equal(sd->dns[1].port, 25);
    assert_int_equal(sd->ec2[0].port, 80);
    assert_int_equal(sd->ec2[0].refresh_interval_ms, 60 * CORE_MS_PER_SECOND);
    assert_null(sd->ec2[0].region);
    cfg_free(c);

    /* Alertmanagers discover with the same configs; URLs in static targets
     * are fine once relabeling is there to fix them. */
    c = load_ok("alerting:\n  alertmanagers:\n    - file_sd_configs: [{files: [am.yml]}]\n"
                "      relabel_configs: [{target_label: x, replacement: y}]\n"
                "      static_configs: [{targets: ['http://am/']}]\n");
    assert_int_equal(c->alerting.alertmanagers[0].sd.n_file, 1);
    cfg_free(c);
}

static void test_invalid(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {JOB "    static_configs:\n      - targets: ['a:1']\n        lables: {a: b}\n",
         "t.yml:5:9: unknown field \"lables\" in static config"},
        {JOB "    static_configs:\n      - labels: {'': b}\n",
         "t.yml:4:18: \"\" is not a valid label name"},
        {JOB "    file_sd_configs:\n      - files: ['targets.txt']\n",
         "t.yml:4:9: path name \"targets.txt\" is not valid for file discovery"},
        {JOB "    file_sd_configs:\n      - files: ['sd/*/x.json']\n",
         "t.yml:4:9: path name \"sd/*/x.json\" is not valid for file discovery"},
        {JOB "    file_sd_configs:\n      - refresh_interval: 1m\n",
         "t.yml:4:9: file service discovery config must contain at least one path name"},
        {JOB "    file_sd_configs:\n      -\n",
         "t.yml:4:8: empty or null section in file_sd_configs"},
        {JOB "    http_sd_configs:\n      - refresh_interval: 1m\n", "t.yml:4:9: URL is missing"},
        {JOB "    http_sd_configs:\n      - url: ftp://x/\n",
         "t.yml:4:14: URL scheme must be 'http' or 'https'"},
        {JOB "    http_sd_configs:\n      - url: http:///x\n",
         "t.yml:4:14: host is missing in URL"},
        {JOB "    http_sd_configs:\n      - url: http://x/\n        bearer_token: a\n"
             "        bearer_token_file: /b\n",
         "t.yml:4:9: at most one of bearer_token & bearer_token_file must be configured"},
        {JOB "    dns_sd_configs:\n      - type: A\n",
         "t.yml:4:9: DNS-SD config must contain at least one SRV record name"},
        {JOB "    dns_sd_configs:\n      - names: [x]\n        type: AAAA\n",
         "t.yml:4:9: a port is required in DNS-SD configs for all record types except SRV"},
        {JOB "    dns_sd_configs:\n      - names: [x]\n        type: TXT\n",
         "t.yml:5:15: invalid DNS-SD records type TXT"},
        {JOB "    ec2_sd_configs:\n      - filters:\n          - name: tag:x\n",
         "t.yml:5:13: EC2 SD configuration filter values cannot be empty"},
        {JOB "    ec2_sd_configs:\n      - regin: x\n",
         "t.yml:4:9: unknown field \"regin\" in ec2_sd config"},
        {JOB "    ec2_sd_configs:\n      - bearer_token: a\n        bearer_token_file: /b\n",
         "t.yml:4:9: at most one of bearer_token & bearer_token_file must be configured"},
        {JOB "    consul_sd_configs:\n      - server: localhost:8500\n",
         "t.yml:3:5: consul_sd_configs: this service discovery mechanism is not supported by "
         "prom-server (supported: static_configs, file_sd_configs, http_sd_configs, "
         "dns_sd_configs, ec2_sd_configs)"},
        {"alerting:\n  alertmanagers:\n    - static_configs: [{targets: ['http://am/']}]\n",
         "t.yml:3:35: \"http://am/\" is not a valid hostname"},
    };
    check_bad(cases, sizeof cases / sizeof *cases, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
