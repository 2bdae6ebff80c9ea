/*
 * test_http.c - HTTP client settings inside scrape, alertmanager, remote and
 * SD configs: prometheus/common's HTTPClientConfig, TLSConfig, ProxyConfig,
 * OAuth2 and headers, and SigV4, with their checks and messages.
 */
#include "unit/unit.h"

#include "config/config.h"

#include "helpers.h"

#define JOB "scrape_configs:\n  - job_name: a\n"

static void test_decoded(void **state)
{
    (void)state;
    cfg_config *c = load_ok(JOB "    tls_config:\n      ca: CA\n      cert_file: /c\n"
                                "      key_file: /k\n      server_name: s\n"
                                "      insecure_skip_verify: true\n      min_version: TLS13\n"
                                "      max_version: TLS13\n"
                                "    follow_redirects: false\n    enable_http2: false\n"
                                "    proxy_from_environment: true\n"
                                "    http_headers:\n      X-Tenant:\n        values: [t1, t2]\n"
                                "        files: [/etc/h]\n"
                                "    oauth2:\n      client_id: id\n      client_secret_file: /s\n"
                                "      token_url: https://t/\n      scopes: [a]\n"
                                "      endpoint_params: {p: v}\n      proxy_url: http://p:1\n");
    const cfg_http *h = &c->scrape_configs[0].http;
    assert_string_equal(h->tls.ca, "CA");
    assert_string_equal(h->tls.cert_file, "/c");
    assert_string_equal(h->tls.key_file, "/k");
    assert_string_equal(h->tls.server_name, "s");
    assert_true(h->tls.insecure_skip_verify);
    assert_string_equal(h->tls.min_version, "TLS13");
    assert_false(h->follow_redirects);
    assert_false(h->enable_http2);
    assert_true(h->proxy.proxy_from_environment);
    assert_int_equal(h->n_headers, 1);
    assert_string_equal(h->headers[0].name, "X-Tenant");
    assert_int_equal(h->headers[0].values.n, 2);
    assert_string_equal(h->headers[0].files.v[0], "/etc/h");
    assert_non_null(h->oauth2);
    assert_string_equal(h->oauth2->client_secret_file, "/s");
    assert_string_equal(h->oauth2->proxy.proxy_url, "http://p:1");
    assert_string_equal(h->oauth2->endpoint_params.v[0].value, "v");
    cfg_free(c);

    c = load_ok(JOB "    authorization:\n      type: '  Token  '\n      credentials: x\n");
    assert_string_equal(c->scrape_configs[0].http.authorization->type, "Token");
    cfg_free(c);
}

static void test_invalid(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {JOB "    tls_config:\n      cert_file: /c\n",
         "t.yml:4:7: exactly one of key or key_file must be configured when a client certificate "
         "is configured"},
        {JOB "    tls_config:\n      key: k\n",
         "t.yml:4:7: exactly one of cert or cert_file must be configured when a client key is "
         "configured"},
        {JOB "    tls_config:\n      ca: x\n      ca_file: /y\n",
         "t.yml:4:7: at most one of ca, ca_file & ca_ref must be configured"},
        {JOB "    tls_config:\n      cert: x\n      cert_file: /y\n      key: k\n",
         "t.yml:4:7: at most one of cert, cert_file & cert_ref must be configured"},
        {JOB "    tls_config:\n      min_version: TLS9\n", "t.yml:4:20: unknown TLS version: TLS9"},
        {JOB "    tls_config:\n      client_ca_file: /x\n",
         "t.yml:4:7: unknown field \"client_ca_file\" in tls_config"},
        {JOB "    basic_auth:\n      username: u\n      username_file: /f\n",
         "t.yml:2:5: at most one of basic_auth username, username_file & username_ref must be "
         "configured"},
        {JOB "    basic_auth:\n      user: u\n", "t.yml:4:7: unknown field \"user\" in basic_auth"},
        {JOB "    oauth2:\n      client_id: i\n    bearer_token: t\n",
         "t.yml:2:5: at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be "
         "configured"},
        {JOB "    authorization:\n      credentials: x\n    bearer_token: t\n",
         "t.yml:2:5: authorization is not compatible with bearer_token & bearer_token_file"},
        {JOB "    oauth2:\n      token_url: http://t/\n",
         "t.yml:2:5: oauth2 client_id must be configured"},
        {JOB "    oauth2:\n      client_id: i\n", "t.yml:2:5: oauth2 token_url must be configured"},
        {JOB "    oauth2:\n      client_id: i\n      token_url: http://t/\n"
             "      client_secret: s\n      client_secret_file: /f\n",
         "t.yml:2:5: at most one of oauth2 client_secret, client_secret_file & client_secret_ref "
         "must be configured using grant-type=client_credentials"},
        {JOB "    oauth2:\n      client_id: i\n      token_url: http://t/\n"
             "      grant_type: urn:ietf:params:oauth:grant-type:jwt-bearer\n"
             "      signature_algorithm: HS256\n",
         "t.yml:2:5: valid signature algorithms are RS256, RS384 and RS512"},
        {JOB "    oauth2:\n      client_id: i\n      token_url: http://t/\n"
             "    basic_auth: {username: u}\n",
         "t.yml:2:5: at most one of basic_auth, oauth2 & authorization must be configured"},
        {JOB "    proxy_connect_header:\n      X: [a]\n",
         "t.yml:2:5: if proxy_connect_header is configured, proxy_url or proxy_from_environment "
         "must also be configured"},
        {JOB "    proxy_from_environment: true\n    proxy_url: http://p/\n",
         "t.yml:2:5: if proxy_from_environment is configured, proxy_url must not be configured"},
        {JOB "    proxy_from_environment: true\n    no_proxy: x\n",
         "t.yml:2:5: if proxy_from_environment is configured, no_proxy must not be configured"},
        {JOB "    no_proxy: localhost\n",
         "t.yml:2:5: if no_proxy is configured, proxy_url must also be configured"},
        {JOB "    proxy_url: \"http://a b/\"\n",
         "t.yml:3:16: parse \"http://a b/\": invalid character \" \" in host name"},
        {JOB "    http_headers:\n      user-agent:\n        values: [x]\n",
         "t.yml:4:7: setting header \"User-Agent\" is not allowed"},
        {JOB "    http_headers:\n      X-A:\n        value: [x]\n",
         "t.yml:5:9: unknown field \"value\" in http header"},
        {"alerting:\n  alertmanagers:\n    - sigv4: {region: r, external_id: e}\n",
         "t.yml:3:14: external_id can only be used with role_arn"},
        {"alerting:\n  alertmanagers:\n    - sigv4: {regio: r}\n",
         "t.yml:3:15: unknown field \"regio\" in sigv4"},
    };
    check_bad(cases, sizeof cases / sizeof *cases, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decoded),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
